"""The audit writer. Every service calls `audit_record` inside its own transaction.

Appending takes a lock so concurrent writers cannot fork the chain: on PostgreSQL a transaction-level
advisory lock; on SQLite the database write lock that `BEGIN IMMEDIATE` already holds (settings set
`transaction_mode = "IMMEDIATE"`; the writer refuses to run without it). Called outside any
transaction, `audit_record` opens its own, so the lock, the read of the chain's head and the insert
are still one atomic step. The unique sequence is the last line of defence: a second writer that
somehow read the same head fails with an integrity error instead of forking the chain.

The table is append-only: see `AuditEvent` and `append_only_guard_install` (database triggers).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from kamguard.core.context import current_request_meta
from kamguard.core.domain.audit_chain import GENESIS, event_digest
from kamguard.core.io.inserts import rows_insert
from kamguard.core.models import AuditEvent

if TYPE_CHECKING:
    from kamguard.org.models import User

AUDIT_LOCK_KEY = 0x4B414D4755415244 & 0x7FFFFFFFFFFFFFFF  # "KAMGUARD"

# Floats this large come back from PostgreSQL's jsonb as integers; store them as integers from the start.
_EXACT_FLOAT_LIMIT = 2**53


def chain_key() -> bytes:
    return str(settings.AUDIT_CHAIN_KEY).encode()


def _text(value: str, limit: int | None = None) -> str:
    """Text as both databases store it: no NUL characters (PostgreSQL refuses them), within the column size."""
    value = value.replace("\x00", "")
    return value[:limit] if limit is not None else value


def _json_value(value: Any) -> Any:
    # The common cases first: most values are already plain (text, numbers, None, dicts with text keys).
    kind = type(value)
    if kind is str:
        return _text(value) if "\x00" in value else value
    if kind is dict:
        return {(key if type(key) is str and "\x00" not in key else _text(str(key))): _json_value(item)
                for key, item in value.items()}
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _text(value) if "\x00" in value else value
    if isinstance(value, dict):
        return {_text(str(k)): _json_value(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = [_json_value(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) >= _EXACT_FLOAT_LIMIT:
            return int(value)
        return value
    return _text(str(value))


def _ip(value: str | None) -> str | None:
    """The address in the canonical form PostgreSQL's inet returns; None for anything that is not one."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    return str(address)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` on `instance`, ready to be stored as before/after."""
    result: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = _json_value(getattr(instance, attname))
    return result


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Only the fields that changed, as {field: {"before": ..., "after": ...}}."""
    changed: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys([*before.keys(), *after.keys()]):
        old, new = _json_value(before.get(key)), _json_value(after.get(key))
        if old != new:
            changed[key] = {"before": old, "after": new}
    return changed


def chain_lock() -> None:
    """Serialise appends to the chain until the current transaction ends. Call inside `transaction.atomic`."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
    elif connection.vendor == "sqlite":
        mode = str(connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") or "").upper()
        if mode not in {"IMMEDIATE", "EXCLUSIVE"}:
            raise ImproperlyConfigured(
                "The audit trail needs SQLite transactions that take the write lock at BEGIN: set "
                "OPTIONS['transaction_mode'] = 'IMMEDIATE' for the database (kamguard.settings.base does).")
    else:  # pragma: no cover - settings allow only these two
        raise ImproperlyConfigured(f"The audit trail does not support the {connection.vendor} database.")


@dataclass(frozen=True)
class AuditEntry:
    """One event for `audit_record_many`: the same arguments as `audit_record` takes, minus the actor."""

    action: str
    obj: models.Model | None = None
    object_type: str = ""
    object_id: str | int = ""
    object_label: str = ""
    changes: Mapping[str, Any] | None = None
    reason: str = ""


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_label: str = "",
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (or its own, when there is none)."""
    entry = AuditEntry(action=action, obj=obj, object_type=object_type, object_id=object_id,
                       object_label=object_label, changes=changes, reason=reason)
    return audit_record_many(actor=actor, entries=[entry])[0]


_EVENT_COLUMNS = ("sequence", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id",
                  "object_label", "changes", "reason", "ip_address", "user_agent", "channel", "previous_digest",
                  "digest")


def audit_record_many(*, actor: User | None, entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Append several events by one actor, in order: one chain lock, one read of the chain's head and
    multi-row inserts for the lot (what batch services — imports, allocation runs — use instead of a loop of
    `audit_record`). The chain is the same as the loop would write: each digest covers its predecessor."""
    for entry in entries:
        if not entry.action or len(entry.action) > 80:
            raise ValueError("An audit action code is required and has at most 80 characters.")
    if not entries:
        return []
    meta = current_request_meta()
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    actor_id = actor_obj.pk if actor_obj is not None else None
    actor_label = _text(actor_obj.get_username() if actor_obj else "system", 200)
    ip_address = _ip(meta.ip)
    user_agent = _text(meta.user_agent or "", 400)
    channel = _text(meta.channel or "", 16)
    prepared = []
    for entry in entries:
        object_type, object_id, object_label = entry.object_type, entry.object_id, entry.object_label
        if entry.obj is not None:
            object_type = object_type or entry.obj._meta.label_lower
            object_id = object_id or entry.obj.pk or ""
            object_label = object_label or str(entry.obj)
        prepared.append((_text(str(object_type), 80), _text(str(object_id), 64), _text(str(object_label), 300),
                         _json_value(dict(entry.changes or {})), _text(str(entry.reason or "")), entry.action))
    key = chain_key()
    with transaction.atomic():
        chain_lock()
        last = AuditEvent.objects.order_by("-sequence").values("sequence", "digest").first()
        sequence = last["sequence"] if last else 0
        previous = last["digest"] if last else GENESIS
        rows = []
        for object_type, object_id, object_label, stored_changes, reason, action in prepared:
            sequence += 1
            occurred_at = _now_utc()
            content = AuditEvent.chain_content_of({
                "occurred_at": occurred_at, "actor_id": actor_id, "actor_label": actor_label, "action": action,
                "object_type": object_type, "object_id": object_id, "object_label": object_label,
                "changes": stored_changes, "reason": reason, "ip_address": ip_address, "user_agent": user_agent,
                "channel": channel})
            digest = event_digest(key=key, sequence=sequence, previous_digest=previous, content=content)
            rows.append((sequence, occurred_at, actor_id, actor_label, action, object_type, object_id, object_label,
                         stored_changes, reason, ip_address, user_agent, channel, previous, digest))
            previous = digest
        event_class: Any = AuditEvent  # built positionally: the id, then _EVENT_COLUMNS in the model's order
        if len(rows) == 1:
            event = event_class(None, *rows[0])
            event.save(force_insert=True)
            return [event]
        ids = rows_insert(AuditEvent, _EVENT_COLUMNS, rows, returning_ids=True)
    events: list[AuditEvent] = [event_class(pk, *row) for pk, row in zip(ids, rows, strict=True)]
    for event in events:
        event._state.adding = False
        event._state.db = connection.alias
    return events


def _now_utc() -> dt.datetime:
    # Microseconds are kept: isoformat round-trips exactly through both databases.
    return dt.datetime.now(tz=dt.UTC)


# ---------------------------------------------------------------- append-only guard (database triggers)
# The same statements as migration core 0003. They are kept here too so `flush` (which empties every
# table, e.g. between transactional tests) can lift the guard for its own duration and restore it, and so
# a `post_migrate` check can restore a guard that a table rebuild dropped (SQLite drops a table's triggers
# when a migration remakes the table).

GUARD_SQL: dict[str, dict[str, list[str]]] = {
    "sqlite": {
        "install": [
            "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only: UPDATE refused'); END",
            "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only: DELETE refused'); END",
        ],
        "remove": [
            "DROP TRIGGER IF EXISTS core_auditevent_no_update",
            "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
        ],
        "check": ["SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                  "('core_auditevent_no_update', 'core_auditevent_no_delete')"],
    },
    "postgresql": {
        "install": [
            "CREATE OR REPLACE FUNCTION core_auditevent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'core_auditevent is append-only: % refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$",
            "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
            "CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION core_auditevent_refuse_change()",
        ],
        "remove": [
            "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
            "DROP FUNCTION IF EXISTS core_auditevent_refuse_change()",
        ],
        "check": ["SELECT count(*) * 2 FROM pg_trigger WHERE tgname = 'core_auditevent_append_only' "
                  "AND tgrelid = 'core_auditevent'::regclass AND tgenabled <> 'D'"],
    },
}


def append_only_guard_install(conn: BaseDatabaseWrapper | None = None) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        for statement in GUARD_SQL[conn.vendor]["install"]:
            cursor.execute(statement)


def append_only_guard_remove(conn: BaseDatabaseWrapper | None = None) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        for statement in GUARD_SQL[conn.vendor]["remove"]:
            cursor.execute(statement)


def append_only_guard_installed(conn: BaseDatabaseWrapper | None = None) -> bool:
    """True when the database refuses UPDATE and DELETE on the audit table."""
    conn = conn or connection
    if conn.vendor not in GUARD_SQL:
        return False
    with conn.cursor() as cursor:
        cursor.execute(GUARD_SQL[conn.vendor]["check"][0])
        row = cursor.fetchone()
    return bool(row and row[0] == 2)
