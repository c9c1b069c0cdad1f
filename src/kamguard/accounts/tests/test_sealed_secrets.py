"""Authenticator secrets are stored sealed (core.sealing): a copy of the database does not hold them in clear;
keys rotate with `kamguard reseal`; a secret whose key was removed is a clear refusal, never a 500."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from kamguard.accounts import services
from kamguard.accounts.models import TOTPDevice
from kamguard.accounts.tests.conftest import actions, code_now, enrol, sign_in
from kamguard.core.errors import Conflict
from kamguard.core.sealing import SealBroken, is_sealed, seal, unseal

pytestmark = pytest.mark.django_db

PLAIN = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_the_stored_secret_is_sealed_and_signing_in_still_works(world):
    device = enrol(world.bob)
    stored = TOTPDevice.objects.values_list("secret", flat=True).get(pk=device.pk)
    plain = device.shared_secret
    assert is_sealed(stored) and plain not in stored and len(plain) >= 16
    assert seal(plain) != seal(plain)  # a fresh token each time: equal secrets do not look equal
    client = Client()
    sign_in(client, "bob")
    assert client.post("/accounts/login/verify/", {"code": code_now(device, 1)}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_key_rotation_reseals_every_secret_and_is_audited(world, settings):
    device = enrol(world.bob)
    plain = device.shared_secret
    old = list(settings.FIELD_KEYS)
    with override_settings(FIELD_KEYS=["a-new-long-random-key-0123456789", *old]):
        call_command("reseal")
        rotated = TOTPDevice.objects.get(pk=device.pk).secret
    # only the new key is needed now
    with override_settings(FIELD_KEYS=["a-new-long-random-key-0123456789"]):
        assert unseal(rotated) == plain
    with pytest.raises(SealBroken):
        unseal(rotated)  # the old key alone no longer opens it
    assert actions("auth.secrets.resealed")[-1].changes["authenticators"]["after"] == 1


def test_reseal_refuses_when_a_secret_cannot_be_opened_and_changes_nothing(world):
    device = enrol(world.bob)
    enrol(world.alice)
    with override_settings(FIELD_KEYS=["some-other-key-that-sealed-it-0001"]):
        foreign = seal(PLAIN)
    TOTPDevice.objects.filter(pk=device.pk).update(secret=foreign)
    before = dict(TOTPDevice.objects.values_list("pk", "secret"))
    with pytest.raises(CommandError, match="cannot be opened"):
        call_command("reseal")
    assert dict(TOTPDevice.objects.values_list("pk", "secret")) == before
    assert not actions("auth.secrets.resealed")


def test_a_secret_sealed_with_a_removed_key_is_a_clear_refusal_at_sign_in(world):
    device = enrol(world.bob)
    with override_settings(FIELD_KEYS=["a-key-nobody-configured-0123456789"]):
        with pytest.raises(Conflict) as caught:
            services.totp_verify(user=world.bob, code="123456")
        assert caught.value.code == "totp_unreadable"
        client = Client()
        sign_in(client, "bob")
        page = client.post("/accounts/login/verify/", {"code": "123456"}, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code in (200, 409) and "_auth_user_id" not in client.session
        assert "administrator to reset your second factor" in page.content.decode()
    assert TOTPDevice.objects.get(pk=device.pk).is_confirmed  # nothing was thrown away


def test_an_unfinished_enrolment_under_a_removed_key_starts_afresh(world, client_for):
    device = services.totp_enrolment_start(actor=world.bob)
    with override_settings(FIELD_KEYS=["a-key-nobody-configured-0123456789"]):
        again = services.totp_enrolment_start(actor=world.bob)
        assert again.pk == device.pk and len(again.shared_secret) >= 16


def test_the_migration_seals_plain_secrets_and_can_open_them_again(world):
    from importlib import import_module

    step = import_module("kamguard.accounts.migrations.0003_totp_secret_sealed")
    device = enrol(world.bob)
    TOTPDevice.objects.filter(pk=device.pk).update(secret=PLAIN)
    step.seal_plain(apps, None)
    sealed = TOTPDevice.objects.get(pk=device.pk)
    assert is_sealed(sealed.secret) and sealed.shared_secret == PLAIN
    step.seal_plain(apps, None)  # twice is harmless
    assert TOTPDevice.objects.get(pk=device.pk).shared_secret == PLAIN
    step.open_sealed(apps, None)
    assert TOTPDevice.objects.values_list("secret", flat=True).get(pk=device.pk) == PLAIN
