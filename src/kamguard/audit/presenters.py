"""How an event is shown: labels for codes, and its changes as rows of (field, before, after)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kamguard.audit.labels import action_label, field_label, object_type_label
from kamguard.core.models import AuditEvent


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    before: str
    after: str


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def change_rows(event: AuditEvent) -> list[ChangeRow]:
    changes = event.changes if isinstance(event.changes, dict) else {"": event.changes}
    rows = []
    for name, value in changes.items():
        if isinstance(value, dict) and set(value) <= {"before", "after"} and value:
            before, after = value.get("before"), value.get("after")
        else:
            before, after = None, value
        rows.append(ChangeRow(name, field_label(event.object_type, name), _shown(before), _shown(after)))
    return rows


def event_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "event": event,
        "action_label": action_label(event.action),
        "labelled": action_label(event.action) != event.action,
        "object_type_label": object_type_label(event.object_type) if event.object_type else "",
    }
