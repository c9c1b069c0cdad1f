"""Helpers for the accounts tests: password sign-in, tokens, codes, audit look-ups."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.test import Client

from kamguard.accounts import services
from kamguard.accounts.models import TOTPDevice
from kamguard.core.models import AuditEvent

PASSWORD = "Correct-Horse-42"  # the personas' password, as in the root conftest.py


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: object):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def code_now(device: TOTPDevice, offset_steps: int = 0) -> str:
    return pyotp.TOTP(device.shared_secret).at(time.time() + 30 * offset_steps)


def enrol(user) -> TOTPDevice:  # type: ignore[no-untyped-def]
    device = services.totp_enrolment_start(actor=user)
    services.totp_enrolment_confirm(actor=user, code=code_now(device))
    device.refresh_from_db()
    return device


def actions(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture
def make_token():  # type: ignore[no-untyped-def]
    def make(user, scopes=("read", "write"), days=30, name="script"):  # type: ignore[no-untyped-def]
        return services.token_create(actor=user, name=name, scopes=list(scopes), expires_in_days=days)

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
