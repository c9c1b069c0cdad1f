"""HTTP API of the audit trail (mounted at /api/v1/audit). Only holders of the audit right get anything."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from ninja import Field, Query, Router, Schema

from kamguard.audit import selectors, services
from kamguard.audit.labels import action_label
from kamguard.core.api import Page, ProblemDetail
from kamguard.core.models import AuditEvent
from kamguard.org.models import User

router = Router(tags=["audit"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 422): ProblemDetail}


class EventFilterIn(Schema):
    actor: str = Field("", max_length=150, description="Username at the time; `system` for events without one.")
    action: str = Field("", max_length=80, description="An action code, or its beginning, e.g. `org.user.`.")
    object_type: str = Field("", max_length=80, description="e.g. `org.user`.")
    object_id: str = Field("", max_length=64)
    date_from: dt.date | None = Field(None, description="Inclusive, in the site's time zone.")
    date_to: dt.date | None = Field(None, description="Inclusive, in the site's time zone.")
    q: str = Field("", max_length=200, description="Text in the object's label or the reason.")

    def to_filter(self) -> selectors.EventFilter:
        return selectors.EventFilter(actor=self.actor, action=self.action, object_type=self.object_type,
                                     object_id=self.object_id, date_from=self.date_from, date_to=self.date_to,
                                     text=self.q)


class EventQuery(EventFilterIn):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class ExportQuery(EventFilterIn):
    format: Literal["csv", "xlsx"] = "csv"


class EventOut(Schema):
    id: int
    sequence: int
    occurred_at: dt.datetime
    actor_id: int | None
    actor: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    object_label: str
    changes: dict[str, Any]
    reason: str
    ip_address: str | None
    user_agent: str
    channel: str
    previous_digest: str
    digest: str


def _event_out(e: AuditEvent) -> EventOut:
    return EventOut(id=e.pk, sequence=e.sequence, occurred_at=e.occurred_at, actor_id=e.actor_id, actor=e.actor_label,
                    action=e.action, action_label=action_label(e.action), object_type=e.object_type,
                    object_id=e.object_id, object_label=e.object_label,
                    changes=e.changes if isinstance(e.changes, dict) else {"value": e.changes}, reason=e.reason,
                    ip_address=e.ip_address, user_agent=e.user_agent, channel=e.channel,
                    previous_digest=e.previous_digest, digest=e.digest)


class ChainBreakOut(Schema):
    sequence: int
    id: int
    kind: str
    reason: str


class ChainHeadOut(Schema):
    sequence: int
    digest: str


class VerificationOut(Schema):
    ok: bool
    result: Literal["ok", "broken"]
    events: int = Field(..., description="Intact events, oldest first (all of them when ok).")
    first_bad: ChainBreakOut | None
    head: ChainHeadOut | None = Field(None, description="The last event checked; keep it to detect truncation later.")
    append_only_guard: bool = Field(..., description="Whether the database refuses changes to audit events.")
    verified_at: dt.datetime


@router.get("/events", response={200: Page[EventOut], **ERRORS}, summary="Search the audit trail, newest first")
def events_list(request: HttpRequest, query: Query[EventQuery]) -> Any:
    events = selectors.event_list(viewer=request.user, filters=query.to_filter())  # type: ignore[arg-type]
    return selectors.event_page(events, cursor=query.cursor, limit=query.limit, order=("-sequence",),
                                serialize=_event_out)


@router.get("/events/export", response={200: None, **ERRORS}, summary="Export the filtered events (CSV or XLSX)",
            description="Needs the export right as well as the audit right. The export is itself audited.")
def events_export(request: HttpRequest, query: Query[ExportQuery]) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    export = services.events_export(actor=user, filters=query.to_filter(), file_format=query.format)
    if export.csv_chunks is not None:
        response: HttpResponseBase = StreamingHttpResponse(export.csv_chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    else:
        response = FileResponse(export.file, as_attachment=True, filename=export.filename,
                                content_type=export.content_type)
    response["X-Export-Rows"] = str(export.rows)
    return response


@router.get("/events/{event_id}", response={200: EventOut, **ERRORS}, summary="One audit event")
def events_get(request: HttpRequest, event_id: int) -> Any:
    return _event_out(selectors.event_get(viewer=request.user, event_id=event_id))  # type: ignore[arg-type]


@router.post("/verify", response={200: VerificationOut, **ERRORS}, summary="Verify the hash chain now",
             description="Checks every event and records the result (audit.chain.verified).")
def chain_verify(request: HttpRequest) -> Any:
    result = services.chain_verify_and_record(actor=request.user)  # type: ignore[arg-type]
    return result.as_dict()
