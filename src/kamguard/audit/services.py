"""Writes and checks of the audit trail: verifying the chain and exporting events, both audited."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.audit.labels import action_label
from kamguard.audit.selectors import VERIFIED_ACTION, EventFilter, audit_access_require, event_list
from kamguard.core.audit import append_only_guard_installed, audit_record, chain_key, chain_lock
from kamguard.core.domain.audit_chain import ChainBreak, ChainLink, verify_chain
from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.core.models import CHAIN_FIELDS, AuditEvent
from kamguard.org.models import User

CHUNK_SIZE = 2000
EXPORTED_ACTION = "audit.events.exported"
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_MAX_ROWS = 1_000_000  # one XLSX sheet holds 1,048,576 rows


# ---------------------------------------------------------------- verification

@dataclass
class ChainVerification:
    ok: bool
    events: int  # intact events (all of them when ok)
    first_bad: ChainBreak | None
    head_sequence: int | None  # the last event checked, when the chain is intact
    head_digest: str | None  # keep it outside the database: a later run that ends before it shows truncation
    append_only_guard: bool
    verified_at: dt.datetime = field(default_factory=timezone.now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result": "ok" if self.ok else "broken",
            "events": self.events,
            "first_bad": None if self.first_bad is None else {
                "sequence": self.first_bad.sequence, "id": self.first_bad.row_id,
                "kind": self.first_bad.kind, "reason": self.first_bad.reason,
            },
            "head": None if self.head_sequence is None else {
                "sequence": self.head_sequence, "digest": self.head_digest},
            "append_only_guard": self.append_only_guard,
            "verified_at": self.verified_at.astimezone(dt.UTC).isoformat(),
        }


class _Links:
    """The chain read in sequence order from a database cursor, a chunk at a time (flat memory)."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self.last: ChainLink | None = None

    def __iter__(self) -> Iterator[ChainLink]:
        rows = (AuditEvent.objects.order_by("sequence")
                .values_list("id", "sequence", "previous_digest", "digest", *CHAIN_FIELDS)
                .iterator(chunk_size=self.chunk_size))
        for row in rows:
            link = ChainLink(sequence=row[1], previous_digest=row[2], digest=row[3], row_id=row[0],
                             content=AuditEvent.chain_content_of(dict(zip(CHAIN_FIELDS, row[4:], strict=True))))
            self.last = link
            yield link


def chain_verify(*, chunk_size: int = CHUNK_SIZE) -> ChainVerification:
    """Check the whole chain, oldest first. Reads only; see `chain_verify_and_record` for the audited run."""
    links = _Links(chunk_size)
    checked, broken = verify_chain(links, key=chain_key())
    head = links.last if broken is None else None
    return ChainVerification(
        ok=broken is None, events=checked, first_bad=broken,
        head_sequence=head.sequence if head else None, head_digest=head.digest if head else None,
        append_only_guard=append_only_guard_installed(),
    )


def _verification_changes(result: ChainVerification) -> dict[str, Any]:
    outcome = {
        "result": "ok" if result.ok else "broken",
        "events": result.events,
        "first_bad_sequence": result.first_bad.sequence if result.first_bad else None,
        "first_bad_kind": result.first_bad.kind if result.first_bad else None,
        "head_sequence": result.head_sequence,
        "head_digest": result.head_digest,
        "append_only_guard": result.append_only_guard,
    }
    return {key: {"before": None, "after": value} for key, value in outcome.items()}


def chain_verify_and_record(*, actor: User | None, chunk_size: int = CHUNK_SIZE) -> ChainVerification:
    """Verify the chain and record the result as `audit.chain.verified`.

    An auditor's run is always recorded. The scheduled run (no actor) is safe to repeat: when nothing was
    appended since the previous scheduled verification and the outcome is the same, it records nothing new.
    """
    if actor is not None:
        audit_access_require(actor)
    result = chain_verify(chunk_size=chunk_size)
    changes = _verification_changes(result)
    with transaction.atomic():
        chain_lock()
        last = AuditEvent.objects.order_by("-sequence").first()
        if actor is None and last is not None and _same_scheduled_run(last, result, changes):
            return result
        reason = "" if result.first_bad is None else (
            f"first bad event #{result.first_bad.sequence} (id {result.first_bad.row_id}): {result.first_bad.reason}")
        audit_record(actor=actor, action=VERIFIED_ACTION, object_type="core.auditevent",
                     object_id=str(result.first_bad.row_id) if result.first_bad else "",
                     object_label=_("Audit chain"), changes=changes, reason=reason)
    return result


def _same_scheduled_run(last: AuditEvent, result: ChainVerification, changes: dict[str, Any]) -> bool:
    if last.action != VERIFIED_ACTION or last.actor_id is not None:
        return False
    previous = {k: (v or {}).get("after") for k, v in (last.changes or {}).items() if isinstance(v, dict)}
    if previous.get("result") != changes["result"]["after"]:
        return False
    if previous.get("first_bad_sequence") != changes["first_bad_sequence"]["after"]:
        return False
    # Intact: the run just made ended at the previous verification event itself, so nothing came after it.
    # Broken: the same break, and no event appended since the previous verification.
    if result.ok:
        return result.head_sequence == last.sequence
    return True


# ---------------------------------------------------------------- export

@dataclass
class EventExport:
    filename: str
    content_type: str
    rows: int
    file_format: str
    csv_chunks: Iterator[bytes] | None = None  # streamed: CSV
    file: IO[bytes] | None = None  # a temporary file: XLSX


def _export_columns() -> list[str]:
    return [_("Sequence"), _("Time (UTC)"), _("Actor"), _("Action code"), _("Action"), _("Object type"),
            _("Object id"), _("Object"), _("Changes"), _("Reason"), _("IP address"), _("User agent"),
            _("Channel"), _("Digest")]


def _cell(value: Any) -> Any:
    """Values a spreadsheet shows as text, never runs as a formula (CSV/formula injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _export_row(event: AuditEvent) -> list[Any]:
    values = [event.sequence, event.occurred_at.astimezone(dt.UTC).isoformat(), event.actor_label, event.action,
              action_label(event.action), event.object_type, event.object_id, event.object_label,
              json.dumps(event.changes, ensure_ascii=False, sort_keys=True), event.reason, event.ip_address or "",
              event.user_agent, event.channel, event.digest]
    return [_cell(v) for v in values]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_chunks(events: Any) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    yield "\ufeff".encode()  # a byte-order mark, so Excel opens Chinese text as UTF-8
    yield writer.writerow(_export_columns()).encode()
    for event in events.iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow(_export_row(event)).encode()


def _xlsx_file(events: Any) -> IO[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="audit")
    sheet.append(_export_columns())
    for event in events.iterator(chunk_size=CHUNK_SIZE):
        sheet.append(_export_row(event))
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - handed to the response, which closes it
    workbook.save(handle)
    handle.seek(0)
    return handle


def events_export(*, actor: User, filters: EventFilter, file_format: str) -> EventExport:
    """The filtered events as CSV (streamed) or XLSX. Needs the audit right and the export right; audited
    with the filter and the row count before any row leaves."""
    audit_access_require(actor)
    if not actor.can_export:
        raise PermissionRefused(_("Exporting needs the export right. Ask an administrator if you need it."),
                                extra={"right": "export"})
    if file_format not in EXPORT_FORMATS:
        raise ValidationFailed(field_errors={"format": [_("Choose CSV or XLSX.")]})
    with transaction.atomic():
        # The export covers the trail as it stands now: events appended while it streams (this export's
        # own record among them) are not in it, so the recorded count is exact.
        head = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        events = event_list(viewer=actor, filters=filters).filter(sequence__lte=head).order_by("sequence")
        rows = events.count()
        if rows > EXPORT_MAX_ROWS:
            raise ValidationFailed(
                _("%(rows)s events match; at most %(max)s can be exported at once. Narrow the filters "
                  "(for example the date range) and export in parts.") % {"rows": rows, "max": EXPORT_MAX_ROWS},
                code="export_too_large")
        audit_record(actor=actor, action=EXPORTED_ACTION, object_type="core.auditevent",
                     object_label=_("Audit trail"),
                     changes={"filter": {"before": None, "after": filters.as_dict()},
                              "rows": {"before": None, "after": rows},
                              "format": {"before": None, "after": file_format},
                              "through_sequence": {"before": None, "after": head}})
    stamp = timezone.now().astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    filename = f"audit-events-{stamp}.{file_format}"
    if file_format == "csv":
        return EventExport(filename, "text/csv; charset=utf-8", rows, file_format, csv_chunks=_csv_chunks(events))
    return EventExport(filename, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", rows,
                       file_format, file=_xlsx_file(events))
