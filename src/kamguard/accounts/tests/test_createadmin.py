"""`kamguard createadmin`: non-interactive creation, clear errors, non-zero exit."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from kamguard.core.models import AuditEvent
from kamguard.org.domain.roles import Role
from kamguard.org.models import User


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    # Commands speak the site's language (Chinese by default); the assertions below read the English.
    with translation.override("en"):
        yield


def test_messages_follow_the_site_language(world):
    with translation.override("zh-hans"), pytest.raises(CommandError, match="已被占用"):
        call_command("createadmin", username="adam", full_name="x", password="Violet-Harbour-93")


def test_creates_an_administrator_with_the_password_option(db):
    out = io.StringIO()
    call_command("createadmin", username="root", full_name="管理员", email="root@example.com",
                 password="Violet-Harbour-93", stdout=out)
    user = User.objects.get(username="root")
    assert user.has_role(Role.ADMIN) and user.check_password("Violet-Harbour-93") and user.is_active
    assert "root" in out.getvalue()
    assert AuditEvent.objects.filter(action="org.user.created", object_id=str(user.pk)).exists()


def test_reads_the_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("KAMGUARD_ADMIN_PASSWORD", "Quiet-Meadow-58")
    call_command("createadmin", username="ops", full_name="运维", stdout=io.StringIO())
    assert User.objects.get(username="ops").check_password("Quiet-Meadow-58")


def test_refuses_a_taken_username(world):
    with pytest.raises(CommandError, match="already taken"):
        call_command("createadmin", username="Adam", full_name="x", password="Violet-Harbour-93")
    assert User.objects.filter(username__iexact="adam").count() == 1


@pytest.mark.parametrize("password", ["short", "12345678901", "password123"])
def test_refuses_a_weak_password(db, password):
    with pytest.raises(CommandError) as caught:
        call_command("createadmin", username="root", full_name="管理员", password=password)
    assert "password" in str(caught.value)
    assert not User.objects.filter(username="root").exists()


def test_without_a_password_and_no_terminal_it_fails(db, monkeypatch):
    monkeypatch.delenv("KAMGUARD_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="No password given"):
        call_command("createadmin", username="root", full_name="管理员", interactive=False)


def test_prompts_twice_in_a_terminal(db, monkeypatch):
    monkeypatch.delenv("KAMGUARD_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter(["Amber-Forest-61", "Amber-Forest-61"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("createadmin", username="root", full_name="管理员", stdout=io.StringIO())
    assert User.objects.get(username="root").check_password("Amber-Forest-61")


def test_prompted_passwords_must_match(db, monkeypatch):
    monkeypatch.delenv("KAMGUARD_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter(["Amber-Forest-61", "Amber-Forest-62"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="differ"):
        call_command("createadmin", username="root", full_name="管理员")
    assert not User.objects.filter(username="root").exists()
