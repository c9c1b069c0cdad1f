"""HTTP API of meeting minutes: list (keyset, search, filter), create, read, update, delete; action items
(add, change, done with a note, reopen) and the caller's own items. Same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.meetings import selectors, services
from kamguard.meetings.domain import is_overdue
from kamguard.meetings.models import ActionItem, Meeting

router = Router(tags=["Meeting minutes"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


class ActionItemOut(Schema):
    id: int
    meeting_id: int
    description: str
    owner_id: int
    owner_name: str
    due_on: dt.date
    status: str
    is_overdue: bool
    done_at: dt.datetime | None
    done_by_id: int | None
    done_note: str


def _item_out(i: ActionItem) -> ActionItemOut:
    return ActionItemOut(id=i.pk, meeting_id=i.meeting_id, description=i.description, owner_id=i.owner_id,
                   owner_name=i.owner.full_name, due_on=i.due_on, status=i.status,
                   is_overdue=is_overdue(status=i.status, due_on=i.due_on, today=timezone.localdate()),
                   done_at=i.done_at, done_by_id=i.done_by_id, done_note=i.done_note)


class MeetingOut(Schema):
    id: int
    kind: str
    title: str
    held_at: dt.datetime
    location: str
    department_id: int | None
    organizer_id: int
    chaired_by_id: int | None
    other_attendees: str
    open_items: int = 0
    overdue_items: int = 0


def _meeting_out(m: Meeting) -> MeetingOut:
    return MeetingOut(id=m.pk, kind=m.kind, title=m.title, held_at=m.held_at, location=m.location,
                      department_id=m.department_id, organizer_id=m.organizer_id, chaired_by_id=m.chaired_by_id,
                      other_attendees=m.other_attendees, open_items=getattr(m, "open_count", 0) or 0,
                      overdue_items=getattr(m, "overdue_count", 0) or 0)


class MeetingDetailOut(MeetingOut):
    attendee_ids: list[int]
    summary: str
    decisions: str
    guidance: str
    guided_by_id: int | None
    guided_at: dt.datetime | None
    items: list[ActionItemOut]


def _detail(m: Meeting, viewer: Any) -> MeetingDetailOut:
    items = [_item_out(i) for i in selectors.item_list(viewer=viewer, meeting=m)]
    base = _meeting_out(m).model_dump()
    base["open_items"] = sum(1 for i in items if i.status == "open")
    base["overdue_items"] = sum(1 for i in items if i.is_overdue)
    return MeetingDetailOut(**base, attendee_ids=sorted(m.attendees.values_list("pk", flat=True)),
                            summary=m.summary, decisions=m.decisions, guidance=m.guidance,
                            guided_by_id=m.guided_by_id, guided_at=m.guided_at, items=items)


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    kind: str = Field("", max_length=10)
    q: str = Field("", max_length=100)
    start: dt.date | None = None
    end: dt.date | None = None
    overdue: bool = Field(False, description="Only minutes with overdue action items")
    unguided: bool = Field(False, description="Only minutes no supervisor has checked yet")


@router.get("/meetings", response={200: Page[MeetingOut], **ERRORS}, summary="Minutes the caller may see")
def meeting_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.meeting_list(viewer=viewer, kind=params.kind, search=params.q, start=params.start,
                                end=params.end, overdue_only=params.overdue, unguided_only=params.unguided)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-held_at", "-pk"),
                       serialize=_meeting_out)


class ItemIn(Schema):
    description: str = Field(..., max_length=500)
    owner_id: int
    due_on: dt.date


class MeetingIn(Schema):
    kind: str = Field(..., description="daily | weekly | monthly | special")
    title: str = Field(..., max_length=200)
    held_at: dt.datetime
    location: str = Field("", max_length=200)
    chaired_by_id: int | None = None
    attendee_ids: list[int] = []
    other_attendees: str = Field("", max_length=500)
    summary: str = Field("", max_length=20000)
    decisions: str = Field("", max_length=20000, description="One decision per line")
    items: list[ItemIn] = []


@router.post("/meetings", response={201: MeetingDetailOut, **ERRORS}, summary="Write the minutes of a meeting")
def meeting_create(request: HttpRequest, payload: MeetingIn) -> Any:
    viewer = api_viewer(request)
    m = services.meeting_create(actor=viewer, kind=payload.kind, title=payload.title, held_at=payload.held_at,
                                location=payload.location, chaired_by_id=payload.chaired_by_id,
                                attendee_ids=payload.attendee_ids, other_attendees=payload.other_attendees,
                                summary=payload.summary, decisions=payload.decisions,
                                items=[i.model_dump() for i in payload.items])
    return Status(201, _detail(selectors.meeting_get(viewer=viewer, meeting_id=m.pk), viewer))


@router.get("/meetings/{int:meeting_id}", response={200: MeetingDetailOut, **ERRORS}, summary="One meeting")
def meeting_get(request: HttpRequest, meeting_id: int) -> Any:
    viewer = api_viewer(request)
    return _detail(selectors.meeting_get(viewer=viewer, meeting_id=meeting_id), viewer)


class MeetingPatch(Schema):
    kind: str | None = None
    title: str | None = Field(None, max_length=200)
    held_at: dt.datetime | None = None
    location: str | None = Field(None, max_length=200)
    chaired_by_id: int | None = None
    attendee_ids: list[int] | None = None
    other_attendees: str | None = Field(None, max_length=500)
    summary: str | None = Field(None, max_length=20000)
    decisions: str | None = Field(None, max_length=20000)


@router.patch("/meetings/{int:meeting_id}", response={200: MeetingDetailOut, **ERRORS}, summary="Change the minutes")
def meeting_update(request: HttpRequest, meeting_id: int, payload: MeetingPatch) -> Any:
    viewer = api_viewer(request)
    fields = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    services.meeting_update(actor=viewer, meeting_id=meeting_id, **fields)
    return _detail(selectors.meeting_get(viewer=viewer, meeting_id=meeting_id), viewer)


class MeetingReasonIn(Schema):
    reason: str = Field(..., max_length=1000)


@router.delete("/meetings/{int:meeting_id}", response={204: None, **ERRORS},
               summary="Delete minutes written by mistake (not once an action is done)")
def meeting_delete(request: HttpRequest, meeting_id: int, payload: MeetingReasonIn) -> Any:
    services.meeting_delete(actor=api_viewer(request), meeting_id=meeting_id, reason=payload.reason)
    return Status(204, None)


class GuidanceIn(Schema):
    guidance: str = Field(..., max_length=5000)


@router.post("/meetings/{int:meeting_id}/guidance", response={200: MeetingDetailOut, **ERRORS},
             summary="A supervisor over the minutes' author checks them and writes guidance")
def meeting_guide(request: HttpRequest, meeting_id: int, payload: GuidanceIn) -> Any:
    viewer = api_viewer(request)
    services.meeting_guide(actor=viewer, meeting_id=meeting_id, guidance=payload.guidance)
    return _detail(selectors.meeting_get(viewer=viewer, meeting_id=meeting_id), viewer)


@router.post("/meetings/{int:meeting_id}/items", response={201: ActionItemOut, **ERRORS}, summary="Add an action item")
def item_add(request: HttpRequest, meeting_id: int, payload: ItemIn) -> Any:
    item = services.item_add(actor=api_viewer(request), meeting_id=meeting_id, description=payload.description,
                             owner_id=payload.owner_id, due_on=payload.due_on)
    return Status(201, _item_out(item))


class ItemParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    status: str = Field("", description="open | done | overdue", max_length=10)
    team: bool = Field(False, description="Everybody in the caller's data scope instead of only the caller")


@router.get("/items", response={200: Page[ActionItemOut], **ERRORS}, summary="The caller's action items (or the team's)")
def my_items(request: HttpRequest, params: Query[ItemParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.my_items(viewer=viewer, status=params.status, team=params.team)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("due_on", "pk"), serialize=_item_out)


class ItemPatch(Schema):
    description: str | None = Field(None, max_length=500)
    owner_id: int | None = None
    due_on: dt.date | None = None
    status: str | None = Field(None, description="done (with note) or open (with reason)")
    note: str = Field("", max_length=2000, description="What was done (required to close)")
    reason: str = Field("", max_length=1000, description="Why it is reopened")


@router.patch("/items/{int:item_id}", response={200: ActionItemOut, **ERRORS},
              summary="Change an action item, close it with an execution note or reopen it")
def item_update(request: HttpRequest, item_id: int, payload: ItemPatch) -> Any:
    viewer = api_viewer(request)
    selectors.item_get(viewer=viewer, item_id=item_id)
    with transaction.atomic():  # a change and a close together: both or neither
        _item_apply(viewer, item_id, payload)
    return _item_out(selectors.item_get(viewer=viewer, item_id=item_id))


def _item_apply(viewer: Any, item_id: int, payload: ItemPatch) -> None:
    if payload.description is not None or payload.owner_id is not None or payload.due_on is not None:
        services.item_update(actor=viewer, item_id=item_id, description=payload.description,
                             owner_id=payload.owner_id, due_on=payload.due_on)
    if payload.status == "done":
        services.item_done(actor=viewer, item_id=item_id, note=payload.note)
    elif payload.status == "open":
        services.item_reopen(actor=viewer, item_id=item_id, reason=payload.reason)
    elif payload.status is not None:
        from kamguard.core.errors import ValidationFailed

        raise ValidationFailed(field_errors={"status": ["open | done"]})
