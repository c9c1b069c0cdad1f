"""The audit writer: one event per call, chained, in the caller's transaction; the table is append-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from kamguard.audit.services import chain_verify
from kamguard.core import audit as writer
from kamguard.core.audit import (
    GUARD_SQL,
    append_only_guard_install,
    append_only_guard_installed,
    append_only_guard_remove,
    audit_record,
)
from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
from kamguard.core.domain.audit_chain import GENESIS
from kamguard.core.models import AppendOnlyError, AuditEvent

from .conftest import raw_sql


def test_events_are_chained_in_sequence(chain):
    # when
    events = chain(3)
    # then
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].previous_digest == GENESIS
    assert events[1].previous_digest == events[0].digest
    assert events[2].previous_digest == events[1].digest
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_record_outside_any_transaction_commits_on_its_own():
    # given: autocommit, no atomic block around the call
    assert connection.get_autocommit() and not connection.in_atomic_block
    # when
    first = audit_record(actor=None, action="test.one")
    second = audit_record(actor=None, action="test.two")
    # then: both stored, chained, and the connection is back in autocommit
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", "action")) == [
        (1, "test.one"), (2, "test.two")]
    assert second.previous_digest == first.digest
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_event_is_rolled_back_with_the_change_it_describes(chain):
    # given
    chain(2)
    # when: a service fails after recording
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="test.doomed")
        raise RuntimeError("the change failed")
    # then: no trace of it, and the next event continues the chain without a gap
    assert not AuditEvent.objects.filter(action="test.doomed").exists()
    event = audit_record(actor=None, action="test.after")
    assert event.sequence == 3
    assert chain_verify().ok


def test_records_who_where_and_when(world):
    # given: a request from a browser
    token = set_request_meta(RequestMeta(ip="203.0.113.9", user_agent="Mozilla/5.0 测试", channel="web"))
    try:
        before = dt.datetime.now(tz=dt.UTC)
        # when
        event = audit_record(actor=world.adam, action="org.user.updated", obj=world.alice,
                             changes={"phone": {"before": "1", "after": "2"}}, reason="corrected")
    finally:
        reset_request_meta(token)
    # then
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id == world.adam.pk and stored.actor_label == "adam"
    assert (stored.object_type, stored.object_id, stored.object_label) == ("org.user", str(world.alice.pk), "李爱丽")
    assert stored.changes == {"phone": {"before": "1", "after": "2"}}
    assert (stored.reason, stored.ip_address, stored.user_agent, stored.channel) == (
        "corrected", "203.0.113.9", "Mozilla/5.0 测试", "web")
    assert stored.occurred_at.utcoffset() == dt.timedelta(0) and stored.occurred_at >= before


def test_hostile_input_is_stored_safely_and_still_verifies(db):
    # given: a spoofed forwarded address, NUL characters, over-long values, values jsonb would rewrite
    token = set_request_meta(RequestMeta(ip="not-an-ip, 1.2.3.4", user_agent="x\x00" * 300, channel="api"))
    try:
        event = audit_record(
            actor=None, action="test.hostile", object_type="t" * 200, object_id="9" * 100, object_label="\x00" + "名" * 400,
            changes={"big": 1e20, "nan": float("nan"), "when": dt.date(2026, 1, 2), "set": {3, 1, 2}, "nul": "a\x00b"},
            reason="r\x00")
    finally:
        reset_request_meta(token)
    # then: nothing the database refuses, nothing that reads back differently
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip_address is None
    assert "\x00" not in stored.user_agent and len(stored.user_agent) <= 400
    assert len(stored.object_type) == 80 and len(stored.object_id) == 64 and len(stored.object_label) == 300
    assert stored.changes == {"big": 10**20, "nan": "nan", "when": "2026-01-02", "set": [1, 2, 3], "nul": "ab"}
    assert chain_verify().ok


def test_ipv6_is_stored_in_the_form_the_database_returns(db):
    token = set_request_meta(RequestMeta(ip="2001:DB8::0001", channel="web"))
    try:
        audit_record(actor=None, action="test.v6")
    finally:
        reset_request_meta(token)
    assert AuditEvent.objects.get().ip_address == "2001:db8::1"
    assert chain_verify().ok


def test_action_code_is_required(db):
    with pytest.raises(ValueError):
        audit_record(actor=None, action="")
    with pytest.raises(ValueError):
        audit_record(actor=None, action="x" * 81)
    assert not AuditEvent.objects.exists()


def test_application_cannot_change_or_delete_events(chain):
    # given
    event = chain(1)[0]
    # when / then: every ORM path refuses
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["reason"])
    assert AuditEvent.objects.get(pk=event.pk).reason == "reason 1"


def test_database_refuses_update_and_delete_from_any_client(chain):
    # given
    chain(2)
    assert append_only_guard_installed()
    # when / then: raw SQL, as a script or a careless DBA would send it
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_sql("UPDATE core_auditevent SET reason = 'rewritten' WHERE sequence = 1")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_sql("DELETE FROM core_auditevent WHERE sequence = 2")
    # then: nothing changed
    assert list(AuditEvent.objects.order_by("sequence").values_list("reason", flat=True)) == ["reason 1", "reason 2"]
    assert chain_verify().ok


def test_guard_in_code_matches_the_migration(db):
    """`flush` and post_migrate reinstall the guard from kamguard.core.audit: it must be the migration's."""
    import importlib

    migration = importlib.import_module("kamguard.core.migrations.0003_auditevent_append_only")
    assert migration.SQL[connection.vendor]["install"] == GUARD_SQL[connection.vendor]["install"]
    assert migration.SQL[connection.vendor]["remove"] == GUARD_SQL[connection.vendor]["remove"]
    # and removing then reinstalling leaves the same guard
    append_only_guard_remove()
    assert not append_only_guard_installed()
    append_only_guard_install()
    assert append_only_guard_installed()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_restores_the_guard(chain):
    from django.core.management import call_command

    # given
    chain(2)
    # when
    call_command("flush", interactive=False, verbosity=0)
    # then
    assert not AuditEvent.objects.exists()
    assert append_only_guard_installed()


def test_sqlite_without_immediate_transactions_is_refused(db, settings, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    from django.core.exceptions import ImproperlyConfigured

    options = dict(connection.settings_dict["OPTIONS"])
    options["transaction_mode"] = "DEFERRED"
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    with pytest.raises(ImproperlyConfigured, match="IMMEDIATE"):
        writer.chain_lock()


@pytest.mark.django_db(transaction=True)
def test_migrate_restores_a_lost_guard_but_respects_migrating_back():
    from django.core.management import call_command

    # given: the guard was lost (SQLite drops triggers when a migration remakes the table)
    append_only_guard_remove()
    # when
    call_command("migrate", verbosity=0)
    # then
    assert append_only_guard_installed()
    # and migrating below the guard's migration removes it for good, until migrated forward again
    call_command("migrate", "core", "0002", verbosity=0)
    assert not append_only_guard_installed()
    call_command("migrate", verbosity=0)
    assert append_only_guard_installed()


# ---------------------------------------------------------------- batches

@pytest.mark.django_db
def test_a_batch_is_chained_like_single_events_and_verifies(chain, world):
    # given: two events already in the chain
    before = chain(2)
    entries = [writer.AuditEntry(action="test.batch", object_type="thing", object_id=i, object_label=f"thing {i}",
                                 changes={"n": {"before": None, "after": i}}, reason="bulk")
               for i in range(1, 1201)]
    # when
    events = writer.audit_record_many(actor=world.alice, entries=entries)
    # then: consecutive sequences continuing the chain, each digest covering its predecessor, all stored
    start = before[-1].sequence + 1
    assert [e.sequence for e in events] == list(range(start, start + 1200))
    assert events[0].previous_digest == before[-1].digest
    assert all(b.previous_digest == a.digest for a, b in zip(events, events[1:], strict=False))
    stored = AuditEvent.objects.filter(action="test.batch").order_by("sequence")
    assert stored.count() == 1200
    assert stored.last().object_id == "1200" and stored.last().actor_id == world.alice.pk
    assert chain_verify().ok


@pytest.mark.django_db
def test_a_batch_with_a_bad_action_writes_nothing(chain):
    chain(1)
    count = AuditEvent.objects.count()
    with pytest.raises(ValueError, match="action"):
        writer.audit_record_many(actor=None, entries=[writer.AuditEntry(action="test.ok"), writer.AuditEntry(action="")])
    assert AuditEvent.objects.count() == count
    assert writer.audit_record_many(actor=None, entries=[]) == []


@pytest.mark.django_db
def test_a_batch_returns_the_events_as_stored(chain, world):
    # given: events with every kind of value the writer stores (JSON, text with a NUL, an address, a reason)
    token = set_request_meta(RequestMeta(ip="2001:DB8::1", user_agent="pytest", channel="web"))
    try:
        events = writer.audit_record_many(actor=world.alice, entries=[
            writer.AuditEntry(action="test.batch", obj=world.bob, reason="why\x00 not",
                              changes={"when": {"before": None, "after": dt.date(2026, 3, 31)},
                                       "names": {"before": ["a"], "after": ["a", "b"]}}),
            writer.AuditEntry(action="test.batch", object_type="thing", object_id=7, object_label="thing 7")])
    finally:
        reset_request_meta(token)
    # then: each returned event is its stored row, field by field, with its primary key
    fields = [f.attname for f in AuditEvent._meta.concrete_fields]
    for event in events:
        stored = AuditEvent.objects.get(pk=event.pk)
        assert [getattr(event, name) for name in fields] == [getattr(stored, name) for name in fields]
        assert not event._state.adding
    assert events[0].ip_address == "2001:db8::1" and events[0].reason == "why not"
    assert events[0].changes["when"]["after"] == "2026-03-31"
    assert chain_verify().ok


def test_the_batch_columns_are_the_model_fields_in_order():
    # The writer builds the returned events positionally: the id, then these columns.
    assert writer._EVENT_COLUMNS == tuple(f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key)
