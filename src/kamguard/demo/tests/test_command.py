"""`kamguard demo` as a management command: refusal on a real database, --no-serve, serving, the 2FA note."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from kamguard.core.management.commands import serve
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer
from kamguard.org.models import Department, User
from kamguard.org.services import user_create


@pytest.fixture
def serve_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record calls to `serve` instead of starting a web server."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serve.Command, "handle", lambda self, *args, **options: calls.append(options))
    return calls


SMALL_BOOK = ("--customers-per-manager", "3")  # every story of the history, a fraction of the customers


def _run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_refuses_a_database_that_already_has_people(db: None, serve_calls: list[dict[str, Any]]) -> None:
    # given: a real organisation with one person
    user_create(actor=None, username="alice", full_name="李爱丽", roles=["manager"])
    events_before = AuditEvent.objects.count()
    # when / then
    with pytest.raises(CommandError, match="already has 1 people"):
        _run("--no-serve")
    # and nothing was written
    assert User.objects.count() == 1
    assert not Department.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert serve_calls == []


@override_settings(TOTP_REQUIRED_ROLES=[])
def test_no_serve_builds_prints_the_logins_and_exits(db: None, serve_calls: list[dict[str, Any]]) -> None:
    output = _run("--no-serve", "--seed", "42", *SMALL_BOOK)
    assert serve_calls == []
    assert User.objects.count() == 58
    assert "Demo-Pass-2026" in output
    admin = User.objects.get(role_assignments__role="admin")
    assert admin.username in output
    for username in User.objects.filter(is_active=True).values_list("username", flat=True):
        assert username in output
    assert "Timing:" in output
    assert "Second factor: off for this demo" in output
    # the customers, and what to try with them
    assert "3 shared pools" in output and "Try this" in output
    assert f"{Customer.objects.filter(intakes__isnull=True).count()} customers" in output  # intake adds leads
    assert "transfer request(s) waiting" in output


def test_serves_after_building_without_migrating_again(db: None, serve_calls: list[dict[str, Any]]) -> None:
    output = _run("--host", "0.0.0.0", "--port", "8123", *SMALL_BOOK)  # noqa: S104 - passed through, never bound here
    assert len(serve_calls) == 1
    assert serve_calls[0]["host"] == "0.0.0.0"  # noqa: S104
    assert serve_calls[0]["port"] == 8123
    assert serve_calls[0]["no_migrate"] is True
    # the test settings require a second factor for admins and auditors: the demo says how to switch it off
    assert "KAMGUARD_TOTP_REQUIRED_ROLES=" in output


def test_force_adds_the_demo_beside_existing_people(db: None, serve_calls: list[dict[str, Any]]) -> None:
    # given: a company and a person whose username the demo would otherwise pick
    existing = user_create(actor=None, username="hu.lin", full_name="胡琳", roles=["manager"])
    Department.objects.create(name="总公司", path="/0/")
    # when
    _run("--no-serve", "--force", *SMALL_BOOK)
    # then: nothing existing was changed, the demo got other names
    assert User.objects.get(pk=existing.pk).full_name == "胡琳"
    assert User.objects.count() == 59
    assert User.objects.filter(username="hu.lin2").exists()
    assert Department.objects.filter(parent__isnull=True, name="总公司（演示2）").exists()


@pytest.mark.parametrize("args", [("--scale", "0"), ("--port", "0"), ("--customers-per-manager", "1"),
                                  ("--database-url", "postgres://nobody@127.0.0.1:1/elsewhere")])
def test_bad_options_are_refused_before_anything_is_written(db: None, args: tuple[str, ...],
                                                            serve_calls: list[dict[str, Any]]) -> None:
    with pytest.raises(CommandError):
        _run(*args)
    assert not User.objects.exists()


def test_refusal_happens_before_migrating(db: None, monkeypatch: pytest.MonkeyPatch,
                                          serve_calls: list[dict[str, Any]]) -> None:
    # given: a database with people, and a record of the commands the demo runs
    user_create(actor=None, username="alice", full_name="李爱丽", roles=["manager"])
    import kamguard.core.management.commands.demo as demo_command

    called: list[str] = []
    monkeypatch.setattr(demo_command, "call_command", lambda name, *a, **k: called.append(name))
    # when
    with pytest.raises(CommandError):
        _run("--no-serve")
    # then: not even migrate ran against it
    assert called == []
