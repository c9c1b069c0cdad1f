"""Second factor: enrolment with a QR code, the second sign-in step, no code twice, required roles."""

from __future__ import annotations

import base64
import time

import pyotp
import pytest
from django.test import Client

from kamguard.accounts import services
from kamguard.accounts.domain import totp
from kamguard.accounts.models import TOTPDevice, UserSession
from kamguard.accounts.tests.conftest import PASSWORD, actions, bearer, code_now, enrol, sign_in
from kamguard.core.errors import ValidationFailed

# ---------------------------------------------------------------- the pure core

def test_matching_step_accepts_the_current_and_neighbouring_codes_once():
    secret = totp.new_secret()
    now = 1_800_000_000.0
    step = int(now // 30)
    code = pyotp.TOTP(secret).at(now)
    assert totp.matching_step(secret=secret, code=code, at=now) == step
    assert totp.matching_step(secret=secret, code=f"{code[:3]} {code[3:]}", at=now) == step
    assert totp.matching_step(secret=secret, code=code, at=now + 30) == step  # one step of clock drift
    assert totp.matching_step(secret=secret, code=code, at=now + 90) is None  # too old
    assert totp.matching_step(secret=secret, code=code, at=now, last_used_step=step) is None  # used
    assert totp.matching_step(secret=secret, code="12345", at=now) is None
    assert totp.matching_step(secret=secret, code="", at=now) is None


# ---------------------------------------------------------------- enrolment

def test_enrolment_page_shows_qr_and_key_without_inline_script_or_style(world, client_for):
    client = client_for(world.bob)
    response = client.get("/accounts/security/authenticator/")
    assert response.status_code == 200
    body = response.content.decode()
    device = TOTPDevice.objects.get(user=world.bob)
    assert not device.is_confirmed
    assert device.shared_secret[:4] in body and device.secret not in body
    marker = 'src="data:image/svg+xml;base64,'
    assert marker in body
    encoded = body.split(marker, 1)[1].split('"', 1)[0]
    assert base64.b64decode(encoded).startswith(b"<svg")
    assert "<script>" not in body and "style=" not in body
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_enrolment_is_confirmed_with_a_code(world, client_for):
    client = client_for(world.bob)
    client.get("/accounts/security/authenticator/")
    device = TOTPDevice.objects.get(user=world.bob)

    wrong = client.post("/accounts/security/authenticator/", {"code": "000000"})
    assert wrong.status_code == 200 and not TOTPDevice.objects.get(pk=device.pk).is_confirmed
    assert actions("auth.totp.enrolment_failed")

    response = client.post("/accounts/security/authenticator/", {"code": code_now(device)})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).is_confirmed
    assert actions("auth.totp.enrolled")[-1].actor_id == world.bob.pk
    assert client.session["kg_totp_verified"] is True


def test_reloading_enrolment_keeps_the_same_secret(world):
    first = services.totp_enrolment_start(actor=world.bob)
    assert services.totp_enrolment_start(actor=world.bob).secret == first.secret


# ---------------------------------------------------------------- sign-in with a second factor

def test_sign_in_asks_the_code_after_the_password(world):
    device = enrol(world.bob)
    client = Client()

    response = sign_in(client, "bob")

    # the password alone does not sign in
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/sessions").status_code == 401
    pending_key = client.cookies["sessionid"].value

    # a wrong code is refused and audited
    wrong = client.post("/accounts/login/verify/", {"code": "123456"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    assert actions("auth.totp.failed")

    # the right code signs in, with a new session id and the flag set
    ok = client.post("/accounts/login/verify/", {"code": code_now(device, 1)})  # enrolment used this step
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert client.session["kg_totp_verified"] is True
    assert client.cookies["sessionid"].value != pending_key
    assert client.get("/").status_code == 200
    assert UserSession.objects.filter(user=world.bob, ended_at__isnull=True).count() == 1
    assert actions("auth.login.succeeded")[-1].reason == "password and second factor"


def test_a_code_cannot_be_used_twice(world):
    device = enrol(world.bob)
    code = code_now(device, offset_steps=1)  # the enrolment used the current step
    first = Client()
    sign_in(first, "bob")
    assert first.post("/accounts/login/verify/", {"code": code}).status_code == 302

    second = Client()
    sign_in(second, "bob")
    replay = second.post("/accounts/login/verify/", {"code": code})
    assert replay.status_code == 200 and "_auth_user_id" not in second.session
    with pytest.raises(ValidationFailed):
        services.totp_verify(user=world.bob, code=code)


def test_wrong_codes_count_towards_the_sign_in_lockout(world, settings):
    device = enrol(world.bob)
    client = Client()
    sign_in(client, "bob")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/accounts/login/verify/", {"code": "000000"}).status_code == 200
    assert actions("auth.login.failed")[-1].reason == "wrong second-factor code"

    # the failure that reaches the limit locks (bob, this address) and forgets the password step
    response = client.post("/accounts/login/verify/", {"code": "000000"})
    assert response.status_code == 429
    assert client.post("/accounts/login/verify/", {"code": code_now(device, 1)}).status_code == 302
    assert "_auth_user_id" not in client.session
    assert sign_in(Client(), "bob").status_code == 429  # the password alone will not do now


def test_a_signed_in_session_is_signed_out_after_too_many_wrong_codes(world, client_for, settings):
    client = client_for(world.bob)
    session = client.session
    session["kg_totp_verified"] = False
    session.save()
    enrol(world.bob)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/accounts/login/verify/", {"code": "000000"}).status_code == 200
    assert client.post("/accounts/login/verify/", {"code": "000000"}).status_code == 429
    assert client.get("/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_verify_page_without_a_password_step_goes_to_sign_in(db):
    response = Client().get("/accounts/login/verify/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_pending_second_step_expires(world, monkeypatch):
    device = enrol(world.bob)
    client = Client()
    sign_in(client, "bob")
    session = client.session
    session["kg_pending_at"] = time.time() - 600
    session.save()
    response = client.post("/accounts/login/verify/", {"code": code_now(device, 1)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_next_is_kept_through_the_second_step(world):
    device = enrol(world.bob)
    client = Client()
    client.post("/accounts/login/?next=/accounts/security/", {"username": "bob", "password": PASSWORD})
    response = client.post("/accounts/login/verify/", {"code": code_now(device, 1)})
    assert response["Location"] == "/accounts/security/"


# ---------------------------------------------------------------- required roles

@pytest.mark.parametrize("name", ["adam", "audrey"])
def test_required_roles_must_enrol_before_anything_else(world, name):
    client = Client()
    response = sign_in(client, name)
    assert response.status_code == 302 and response["Location"] == "/"

    # every page leads to enrolment; the API by session is refused
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith("/accounts/security/authenticator/")
    assert client.get("/accounts/security/").status_code == 302
    assert client.get("/org/people/").status_code == 302
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.post("/api/v1/tokens", {"name": "x", "scopes": ["read"], "expires_in_days": 5},
                       content_type="application/json").status_code == 401
    # the enrolment page, sign-out and language switching stay open
    assert client.get("/accounts/security/authenticator/").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302

    device = TOTPDevice.objects.get(user__username=name)
    assert client.post("/accounts/security/authenticator/", {"code": code_now(device)}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/tokens").status_code == 200


def test_a_manager_without_an_authenticator_is_not_asked(world):
    client = Client()
    sign_in(client, "alice")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/tokens").status_code == 200


def test_a_signed_in_session_that_owes_the_code_is_sent_to_verify(world, client_for):
    # e.g. bob enrolled from another browser: this older session must now pass the code too
    client = client_for(world.bob)
    session = client.session
    session["kg_totp_verified"] = False
    session.save()
    device = enrol(world.bob)
    response = client.get("/accounts/security/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/verify/")
    assert client.post("/accounts/login/verify/?next=/accounts/security/",
                       {"code": code_now(device, 1)})["Location"] == "/accounts/security/"
    assert client.get("/accounts/security/").status_code == 200


def test_token_requests_skip_the_second_factor(world, make_token):
    token, secret = make_token(world.adam)  # adam has no authenticator yet
    assert Client().get("/api/v1/tokens", **bearer(secret)).status_code == 200


# ---------------------------------------------------------------- reset

def test_reset_needs_the_password(world, client_for):
    enrol(world.bob)
    client = client_for(world.bob)

    wrong = client.post("/accounts/security/authenticator/reset/", {"password": "nope"})
    assert wrong.status_code == 422
    assert TOTPDevice.objects.filter(user=world.bob).exists()

    ok = client.post("/accounts/security/authenticator/reset/", {"password": PASSWORD})
    assert ok.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.bob).exists()
    assert actions("auth.totp.reset")[-1].actor_id == world.bob.pk


def test_reset_for_a_required_role_leads_straight_to_enrolment(world, client_for):
    enrol(world.adam)
    client = client_for(world.adam)
    response = client.post("/accounts/security/authenticator/reset/", {"password": PASSWORD})
    assert response["Location"] == "/accounts/security/authenticator/"
    assert client.get("/").status_code == 302


def test_administrator_resets_a_person_authenticator(world, client_for):
    enrol(world.bob)
    bob = client_for(world.bob)
    refused = client_for(world.sam).post(f"/accounts/people/{world.bob.pk}/access/authenticator/reset/",
                                         {"reason": "lost phone"})
    assert refused.status_code == 403 and TOTPDevice.objects.filter(user=world.bob).exists()
    assert bob.get("/").status_code == 200

    response = client_for(world.adam).post(f"/accounts/people/{world.bob.pk}/access/authenticator/reset/",
                                           {"reason": "lost phone, ticket 7"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.bob).exists()
    assert bob.get("/").status_code == 302  # signed out everywhere
    assert actions("auth.totp.reset")[-1].reason == "lost phone, ticket 7"


def test_htmx_requests_owing_the_second_factor_are_told_where_to_go(world):
    client = Client()
    sign_in(client, "adam")
    response = client.get("/org/people/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/security/authenticator/")
