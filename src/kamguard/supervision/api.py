"""HTTP API of supervision: the live view of the day and the basic-data quality scores, for the people in the
caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kamguard.core.api import ProblemDetail, api_viewer
from kamguard.core.errors import ValidationFailed
from kamguard.supervision import selectors
from kamguard.supervision.explain import item_explanation

router = Router(tags=["Supervision"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}
MAX_PERIOD_DAYS = 366


class CheckinOut(Schema):
    activity_id: int
    user_id: int
    customer_id: int
    customer_name: str
    checked_in_at: dt.datetime | None
    status: str
    location_status: str
    distance_m: int | None
    is_far: bool
    accompanied_by_id: int | None


class RelayOut(Schema):
    id: int
    number: str
    provider_id: int
    receiver_id: int | None
    status: str
    overdue: bool


class ActionOut(Schema):
    id: int
    owner_id: int
    description: str
    due_on: dt.date


class TeamDayOut(Schema):
    team_id: int = Field(description="0: the people in no team")
    name: str
    department: str
    people: int
    checkins: int | None = Field(None, description="null: visits are not available")
    on_site: int | None = None
    far: int | None = None
    logs: dict[str, int] | None = Field(None, description="submitted, late, missing, not_due; null: not available")


class LiveParams(Schema):
    team: int | None = Field(None, ge=0, description="One team of the people you see (0: those in no team)")
    page: int = Field(1, ge=1, description=f"Page of check-ins, {selectors.LIVE_PAGE} a page, newest first")


class LiveOut(Schema):
    day: dt.date
    now: dt.datetime
    people: list[int]
    teams: list[TeamDayOut] = Field(description="The teams of the people in view, counted")
    checkins_total: int | None = None
    page: int = 1
    pages: int = 1
    checkins: list[CheckinOut] | None = Field(None, description="null: visits are not available")
    logs: dict[str, str] | None = Field(None, description="person id → submitted, late, missing or not_due")
    relay_waiting: list[RelayOut] | None = None
    overdue_actions: list[ActionOut] | None = None


@router.get("/live", response={200: LiveOut, **ERRORS},
            summary="The day as it happens for the people you see: check-ins, logs, relay forms, overdue actions",
            description="Counts per team of the people you see, and a page of their check-ins (or one team's).")
def live(request: HttpRequest, params: Query[LiveParams]) -> Any:
    view = selectors.live_view(viewer=api_viewer(request), team=params.team, page=params.page, rows=True)
    return LiveOut(
        day=view.day, now=view.now, people=[p.pk for p in view.people],
        teams=[TeamDayOut(team_id=t.team_id, name=t.name, department=t.department, people=t.people,
                          checkins=t.checkins, on_site=t.on_site, far=t.far, logs=t.logs) for t in view.teams],
        checkins_total=view.checkins_total,
        page=view.checkins_page.number if view.checkins_page else 1,
        pages=view.checkins_page.paginator.num_pages if view.checkins_page else 1,
        checkins=None if view.checkins is None else [CheckinOut(
            activity_id=a.pk, user_id=a.user_id, customer_id=a.customer_id, customer_name=a.customer.name,
            checked_in_at=a.checked_in_at, status=a.status, location_status=a.location_status,
            distance_m=a.distance_m, is_far=a.is_far, accompanied_by_id=a.accompanied_by_id) for a in view.checkins],
        logs=None if view.logs is None else {str(k): v for k, v in view.logs.items()},
        relay_waiting=None if view.relay_waiting is None else [RelayOut(
            id=f.pk, number=f.number, provider_id=f.provider_id, receiver_id=f.receiver_id, status=f.status,
            overdue=f.pk in view.relay_overdue_ids) for f in view.relay_waiting],
        overdue_actions=None if view.overdue_actions is None else [ActionOut(
            id=i.pk, owner_id=i.owner_id, description=i.description, due_on=i.due_on) for i in view.overdue_actions],
    )


class QualityParams(Schema):
    start: dt.date | None = Field(None, description="Default: the first day of this month")
    end: dt.date | None = Field(None, description="Default: today")
    user_id: list[int] = Field([], description="Default: the field staff (managers, specialists) you see")


class QualityItemOut(Schema):
    key: str
    dimension: str
    weight: int
    numerator: int
    denominator: int
    available: bool
    applies: bool
    share: float | None
    points: float | None
    details: dict[str, int]
    explanation: str


class SupervisionQualityOut(Schema):
    user_id: int
    user_name: str
    start: dt.date
    end: dt.date
    score: float | None
    grade: str
    items: list[QualityItemOut]


@router.get("/quality", response={200: list[SupervisionQualityOut], **ERRORS},
            summary="Basic-data quality scores (complete, correct, classified, kept on time), item by item")
def quality(request: HttpRequest, params: Query[QualityParams]) -> Any:
    viewer = api_viewer(request)
    today = timezone.localdate()
    start = params.start or today.replace(day=1)
    end = params.end or today
    if end < start:
        raise ValidationFailed(field_errors={"end": [_("The end is before the start.")]})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(field_errors={"end": [_("At most %(n)s days.") % {"n": MAX_PERIOD_DAYS}]})
    ids = params.user_id or list(selectors.field_people(viewer=viewer).values_list("pk", flat=True)[:300])
    scores = selectors.data_quality(viewer=viewer, user_ids=ids, start=start, end=end)
    return [SupervisionQualityOut(
        user_id=uid, user_name=str(q.person), start=q.start, end=q.end, score=q.score.score, grade=q.score.grade,
        items=[QualityItemOut(key=i.key, dimension=i.dimension, weight=i.weight, numerator=i.numerator,
                       denominator=i.denominator, available=i.available, applies=i.applies,
                       share=None if i.share is None else round(i.share, 4), points=i.points, details=i.details,
                       explanation=item_explanation(i)) for i in q.score.items])
        for uid, q in sorted(scores.items(), key=lambda kv: str(kv[1].person))]
