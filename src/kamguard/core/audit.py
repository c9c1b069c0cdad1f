"""The audit writer. Every service calls `audit_record` inside its own transaction.

Appending takes a lock so concurrent writers cannot fork the chain: on PostgreSQL a transaction-level
advisory lock; on SQLite the database write lock that `BEGIN IMMEDIATE` already holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction

from kamguard.core.context import current_request_meta
from kamguard.core.domain.audit_chain import GENESIS, event_digest
from kamguard.core.models import AuditEvent

if TYPE_CHECKING:
    from kamguard.org.models import User

AUDIT_LOCK_KEY = 0x4B414D4755415244 & 0x7FFFFFFFFFFFFFFF  # "KAMGUARD"


def _chain_key() -> bytes:
    return str(settings.AUDIT_CHAIN_KEY).encode()


def _json_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


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
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {
        key: {"before": _json_value(before.get(key)), "after": _json_value(after.get(key))}
        for key in keys
        if _json_value(before.get(key)) != _json_value(after.get(key))
    }


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])


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
    """Append one event to the chain, in the caller's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk or ""
        object_label = object_label or str(obj)[:300]
    meta = current_request_meta()
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-sequence").values("sequence", "digest").first()
        sequence = (last["sequence"] + 1) if last else 1
        previous = last["digest"] if last else GENESIS
        event = AuditEvent(
            sequence=sequence,
            occurred_at=_now_utc(),
            actor=actor_obj,
            actor_label=(actor_obj.get_username() if actor_obj else "system")[:200],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_label=object_label[:300],
            changes=_json_value(dict(changes or {})),
            reason=reason or "",
            ip_address=meta.ip,
            user_agent=meta.user_agent,
            channel=meta.channel,
            previous_digest=previous,
        )
        event.digest = event_digest(key=_chain_key(), sequence=sequence, previous_digest=previous,
                                    content=event.chain_content())
        event.save()
    return event


def _now_utc() -> dt.datetime:
    # Microseconds are kept: isoformat round-trips exactly through both databases.
    return dt.datetime.now(tz=dt.UTC)
