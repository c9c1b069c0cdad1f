"""HTTP API of visits and contacts (mounted at /api/v1/activities/). Validates, calls the services and the
selectors; a service's refusal becomes an RFC 9457 problem (e.g. 409 `not_checked_in` for a check-out before
the check-in)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kamguard.activities import selectors, services
from kamguard.activities.models import Activity
from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page

router = Router(tags=["Visits and contacts"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}

KINDS = Literal["visit", "call", "meeting", "email", "wechat"]


class ActivityOut(Schema):
    id: int
    kind: str
    status: str
    user_id: int
    user_name: str
    customer_id: int
    customer_name: str
    planned_on: dt.date | None
    happened_at: dt.datetime | None
    checked_in_at: dt.datetime | None
    checked_out_at: dt.datetime | None
    latitude: float | None
    longitude: float | None
    distance_m: int | None
    far_threshold_m: int | None
    is_far: bool
    location_status: str
    accompanied_by_id: int | None
    accompaniment_confirmed_at: dt.datetime | None
    summary: str
    outcome: str
    next_step: str
    duration_min: int | None
    contact_ids: list[int]
    other_attendees: str
    cancel_reason: str
    external_id: str | None
    plan_ref: str
    created_at: dt.datetime


def _out(a: Activity, *, contacts: bool = False) -> ActivityOut:
    return ActivityOut(
        id=a.pk, kind=a.kind, status=a.status, user_id=a.user_id, user_name=a.user.full_name,
        customer_id=a.customer_id, customer_name=a.customer.name, planned_on=a.planned_on,
        happened_at=a.happened_at, checked_in_at=a.checked_in_at, checked_out_at=a.checked_out_at,
        latitude=a.checkin_latitude, longitude=a.checkin_longitude, distance_m=a.distance_m,
        far_threshold_m=a.far_threshold_m, is_far=a.is_far, location_status=a.location_status,
        accompanied_by_id=a.accompanied_by_id, accompaniment_confirmed_at=a.accompaniment_confirmed_at,
        summary=a.summary, outcome=a.outcome, next_step=a.next_step, duration_min=a.duration_min,
        contact_ids=sorted(c.pk for c in a.contacts.all()) if contacts else [],
        other_attendees=a.other_attendees, cancel_reason=a.cancel_reason, external_id=a.external_id,
        plan_ref=a.plan_ref, created_at=a.created_at)


def _detail(viewer: Any, activity_id: int) -> ActivityOut:
    return _out(selectors.activity_get(viewer=viewer, activity_id=activity_id), contacts=True)


class ActivityFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    q: str = Field("", max_length=100)
    user_id: int | None = None
    customer_id: int | None = None
    kind: Literal["", "visit", "call", "meeting", "email", "wechat"] = ""
    status: Literal["", "planned", "checked_in", "done", "cancelled"] = ""
    start: dt.date | None = None
    end: dt.date | None = None
    far: bool = False
    mine: bool = False


@router.get("", response={200: Page[ActivityOut], **ERRORS},
            summary="Visits and contacts you may see, most recently recorded first")
def activity_list(request: HttpRequest, filters: Query[ActivityFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.activity_list(viewer=viewer, search=filters.q,
                                 user_id=viewer.pk if filters.mine else filters.user_id,
                                 customer_id=filters.customer_id, kind=filters.kind, status=filters.status,
                                 start=filters.start, end=filters.end, far_only=filters.far)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_out)


@router.get("/{int:activity_id}", response={200: ActivityOut, **ERRORS}, summary="One visit or contact")
def activity_get(request: HttpRequest, activity_id: int) -> Any:
    return _detail(api_viewer(request), activity_id)


class ActivityContactIn(Schema):
    customer_id: int
    kind: Literal["call", "meeting", "email", "wechat"]
    happened_at: dt.datetime
    summary: str = Field(..., max_length=4000)
    duration_min: int | None = Field(None, ge=0, le=1440)
    contact_ids: list[int] = Field(default_factory=list, max_length=50)
    outcome: str = Field("", max_length=4000)
    next_step: str = Field("", max_length=4000)


@router.post("/contacts", response={201: ActivityOut, **ERRORS},
             summary="Record a call, meeting, e-mail or WeChat contact that took place")
def contact_record(request: HttpRequest, payload: ActivityContactIn) -> Any:
    viewer = api_viewer(request)
    activity = services.contact_record(actor=viewer, customer_id=payload.customer_id, kind=payload.kind,
                                       happened_at=payload.happened_at, summary=payload.summary,
                                       duration_min=payload.duration_min, contact_ids=payload.contact_ids,
                                       outcome=payload.outcome, next_step=payload.next_step)
    return Status(201, _detail(viewer, activity.pk))


class ActivityVisitIn(Schema):
    customer_id: int
    planned_on: dt.date
    purpose: str = Field("", max_length=4000)
    contact_ids: list[int] = Field(default_factory=list, max_length=50)
    accompanied_by_id: int | None = None
    plan_ref: str = Field("", max_length=80)


@router.post("/visits", response={201: ActivityOut, **ERRORS}, summary="Plan a visit (ad hoc)")
def visit_plan(request: HttpRequest, payload: ActivityVisitIn) -> Any:
    viewer = api_viewer(request)
    activity = services.visit_plan(actor=viewer, customer_id=payload.customer_id, planned_on=payload.planned_on,
                                   purpose=payload.purpose, plan_ref=payload.plan_ref,
                                   contact_ids=payload.contact_ids, accompanied_by_id=payload.accompanied_by_id)
    return Status(201, _detail(viewer, activity.pk))


class CheckInIn(Schema):
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = Field(None, ge=0)
    location_denied: bool = Field(False, description="The browser refused or could not give a location: the "
                                                     "check-in is recorded without one.")


@router.post("/visits/{int:activity_id}/check-in", response={200: ActivityOut, **ERRORS},
             summary="Check in at a planned visit (time, place, distance to the customer's area)")
def visit_check_in(request: HttpRequest, activity_id: int, payload: CheckInIn) -> Any:
    viewer = api_viewer(request)
    services.visit_check_in(actor=viewer, activity_id=activity_id, latitude=payload.latitude,
                            longitude=payload.longitude, accuracy_m=payload.accuracy_m,
                            location_denied=payload.location_denied)
    return _detail(viewer, activity_id)


class CheckOutIn(Schema):
    outcome: str = Field(..., max_length=4000)
    next_step: str = Field(..., max_length=4000)
    other_attendees: str | None = Field(None, max_length=300)
    contact_ids: list[int] | None = Field(None, max_length=50)


@router.post("/visits/{int:activity_id}/check-out", response={200: ActivityOut, **ERRORS},
             summary="Close a checked-in visit with its outcome and next step")
def visit_check_out(request: HttpRequest, activity_id: int, payload: CheckOutIn) -> Any:
    viewer = api_viewer(request)
    services.visit_check_out(actor=viewer, activity_id=activity_id, outcome=payload.outcome,
                             next_step=payload.next_step, other_attendees=payload.other_attendees,
                             contact_ids=payload.contact_ids)
    return _detail(viewer, activity_id)


class ActivityReasonIn(Schema):
    reason: str = Field(..., max_length=300)


@router.post("/visits/{int:activity_id}/cancel", response={200: ActivityOut, **ERRORS},
             summary="Cancel a planned visit")
def visit_cancel(request: HttpRequest, activity_id: int, payload: ActivityReasonIn) -> Any:
    viewer = api_viewer(request)
    services.visit_plan_cancel(actor=viewer, activity_id=activity_id, reason=payload.reason)
    return _detail(viewer, activity_id)


class AccompanyIn(Schema):
    note: str = Field("", max_length=300)


@router.post("/visits/{int:activity_id}/accompany", response={200: ActivityOut, **ERRORS},
             summary="A supervisor records that they accompanied the visit (陪访)")
def visit_accompany(request: HttpRequest, activity_id: int, payload: AccompanyIn) -> Any:
    viewer = api_viewer(request)
    services.visit_accompany(actor=viewer, activity_id=activity_id, note=payload.note)
    return _detail(viewer, activity_id)
