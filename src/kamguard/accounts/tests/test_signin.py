"""Sign-in with a password: hashing, session rotation, audit, and lockout by (username, address)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from kamguard.accounts.models import UserSession
from kamguard.accounts.tests.conftest import actions, sign_in
from kamguard.core.models import AuditEvent


def test_production_hashing_is_argon2():
    from kamguard.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
def test_password_is_stored_with_argon2_and_signs_in(db):
    from kamguard.org.services import user_create

    user = user_create(actor=None, username="nina", full_name="倪娜", roles=["manager"], password="Blue-Lantern-77")
    assert user.password.startswith("argon2$")
    response = sign_in(Client(), "nina", "Blue-Lantern-77")
    assert response.status_code == 302 and response["Location"] == "/"


def test_sign_in_rotates_the_session_id_and_tracks_the_session(world):
    client = Client()
    # given a session that existed before sign-in (e.g. a language choice)
    before = client.session
    before["probe"] = 1
    before.save()
    key_before = client.cookies["sessionid"].value

    # when
    response = sign_in(client, "alice", HTTP_USER_AGENT="pytest-browser")

    # then
    assert response.status_code == 302
    key_after = client.cookies["sessionid"].value
    assert key_after != key_before
    assert not Session.objects.filter(session_key=key_before).exists()
    tracked = UserSession.objects.get(session_key=key_after)
    assert tracked.user == world.alice and tracked.user_agent == "pytest-browser" and tracked.ended_at is None
    assert client.session["probe"] == 1  # data survives the rotation
    event = actions("auth.login.succeeded")[-1]
    assert event.actor_id == world.alice.pk and event.ip_address == "127.0.0.1"
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_and_audited(world):
    client = Client()
    response = sign_in(client, "alice", "wrong-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "error" in response.content.decode()
    event = actions("auth.login.failed")[-1]
    assert event.object_label == "alice" and event.actor is None and event.ip_address == "127.0.0.1"
    assert not actions("auth.login.succeeded")[len(actions("auth.login.succeeded")):]


@pytest.mark.django_db(transaction=True)
def test_failed_sign_in_event_is_committed(world):
    # With real transactions: the failure's audit event is committed, not rolled back with the failed sign-in.
    sign_in(Client(), "bob", "wrong-password")
    assert AuditEvent.objects.filter(action="auth.login.failed", object_label="bob").exists()


def test_lockout_after_repeated_failures_by_username_and_address(world, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "alice", "wrong-password").status_code == 200
    # the failure that reaches the limit locks the pair
    locked = sign_in(client, "alice", "wrong-password")
    assert locked.status_code == 429
    assert "Wait 30 minutes" in sign_in(Client(), "alice", "wrong-password", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # then even the right password is refused from this address, on our lockout page
    response = sign_in(client, "alice")
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="alice", ip_address="127.0.0.1").exists()
    assert actions("auth.login.locked_out")

    # and the lock is for the pair: the same person elsewhere, and others here, still sign in
    assert sign_in(Client(), "alice", REMOTE_ADDR="10.1.2.3").status_code == 302
    assert sign_in(Client(), "bob").status_code == 302


def test_success_resets_the_failure_count(world, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice").status_code == 302
    other = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(other, "alice", "wrong-password")
    assert sign_in(other, "alice").status_code == 302


def test_inactive_person_cannot_sign_in(world):
    from kamguard.org.services import user_update

    user_update(actor=world.adam, user=world.carol, is_active=False, reason="left")
    response = sign_in(Client(), "carol")
    assert response.status_code == 200
    assert not UserSession.objects.filter(user=world.carol, ended_at__isnull=True).exists()


def test_sign_out_ends_the_tracked_session(world):
    client = Client()
    sign_in(client, "bob")
    key = client.cookies["sessionid"].value
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    tracked = UserSession.objects.get(session_key=key)
    assert tracked.ended_at is not None and tracked.end_reason == "signed out"
    assert client.get("/").status_code == 302


def test_sign_in_page_renders_in_both_languages(db):
    client = Client()
    zh = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Username" in en and "Username" not in zh


def test_pages_are_translated_into_chinese(world, client_for):
    client = client_for(world.alice)
    client.cookies["kamguard_language"] = "zh-hans"
    body = client.get("/accounts/security/").content.decode()
    assert "我的会话" in body and "我的访问令牌" in body and "My sessions" not in body
    client.cookies["kamguard_language"] = "en"
    assert "My sessions" in client.get("/accounts/security/").content.decode()


def test_behind_a_trusted_proxy_lockout_and_audit_use_the_forwarded_address(world, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong-password", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.1")
    assert actions("auth.login.failed")[-1].ip_address == "203.0.113.9"
    # same proxy, another client address: not locked
    assert sign_in(Client(), "alice", HTTP_X_FORWARDED_FOR="203.0.113.10", REMOTE_ADDR="10.0.0.1").status_code == 302
    assert sign_in(Client(), "alice", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.1").status_code == 429
