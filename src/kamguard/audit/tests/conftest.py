"""Helpers for the audit trail's tests: a small chain, and a way to play a DBA who tampers with it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from kamguard.core.audit import append_only_guard_install, append_only_guard_remove, audit_record
from kamguard.core.models import AuditEvent


@contextlib.contextmanager
def dba_lifts_guard() -> Iterator[None]:
    """Lift the database's append-only guard, as a DBA with full rights can, then put it back.

    The application cannot change an audit event: the database refuses UPDATE and DELETE on core_auditevent
    (migration core 0003). Someone who owns the database can lift that guard first:
      SQLite:      DROP TRIGGER core_auditevent_no_update; DROP TRIGGER core_auditevent_no_delete;
      PostgreSQL:  ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only;
                   (or SET session_replication_role = replica)
    Tests of tampering do exactly that, then edit rows with raw SQL. The hash chain is what catches them.
    (Inside a `db` test this all happens in the test's transaction, which is rolled back afterwards.)
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")
    else:
        append_only_guard_remove()
        try:
            yield
        finally:
            append_only_guard_install()


def raw_sql(sql: str, params: list[object] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


@pytest.fixture
def chain(db: None) -> Callable[[int], list[AuditEvent]]:
    """chain(n) -> n fresh events appended by the real writer (on top of any already there)."""

    def make(n: int) -> list[AuditEvent]:
        return [audit_record(actor=None, action="test.event", object_type="test.thing", object_id=i,
                             object_label=f"thing {i}", changes={"n": {"before": i - 1, "after": i}},
                             reason=f"reason {i}") for i in range(1, n + 1)]

    return make
