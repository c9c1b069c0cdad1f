"""HTTP API of monthly marketing plans: the same services and selectors as the pages.

Plans: list (yours and those your scope covers), create (your own, one per month), read, change while draft or
returned, visit plan items (each creates a planned visit in activities), daily plans, submit, review (the
person's supervisor), and plan versus actual with the supervisor's comments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.core.errors import NotFound, ValidationFailed
from kamguard.plans import selectors, services
from kamguard.plans.domain.months import month_parse
from kamguard.plans.models import DailyPlan, MarketingPlan, PlanVisit

router = Router(tags=["Monthly marketing plans"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


def _month(text: str | None, field: str = "month") -> dt.date | None:
    if not text:
        return None
    month = month_parse(text)
    if month is None:
        raise ValidationFailed(field_errors={field: [_("Enter a month as YYYY-MM.")]})
    return month


class PlanFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    month: str | None = Field(None, max_length=10, description="YYYY-MM")
    user_id: int | None = None
    status: Literal["draft", "submitted", "approved", "returned", ""] = ""


class VisitOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    planned_on: dt.date
    purpose: str
    activity_id: int | None


class DayOut(Schema):
    day: dt.date
    content: str


class PlanOut(Schema):
    id: int
    user_id: int
    user_name: str
    month: str
    status: str
    goals: str
    analysis: str
    measures: str
    submitted_at: dt.datetime | None
    reviewed_by_id: int | None
    reviewed_at: dt.datetime | None
    review_comment: str
    result_comment: str
    result_comment_by_id: int | None
    result_comment_at: dt.datetime | None
    visit_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class PlanDetailOut(PlanOut):
    visits: list[VisitOut]
    days: list[DayOut]


def _plan_out(p: MarketingPlan) -> PlanOut:
    return PlanOut(id=p.pk, user_id=p.user_id, user_name=str(p.user), month=f"{p.month:%Y-%m}", status=p.status,
                   goals=p.goals, analysis=p.analysis, measures=p.measures, submitted_at=p.submitted_at,
                   reviewed_by_id=p.reviewed_by_id, reviewed_at=p.reviewed_at, review_comment=p.review_comment,
                   result_comment=p.result_comment, result_comment_by_id=p.result_comment_by_id,
                   result_comment_at=p.result_comment_at, visit_count=getattr(p, "visit_count", 0) or 0,
                   created_at=p.created_at, updated_at=p.updated_at)


def _visit_out(v: PlanVisit) -> VisitOut:
    return VisitOut(id=v.pk, customer_id=v.customer_id, customer_name=v.customer.name, planned_on=v.planned_on,
                    purpose=v.purpose, activity_id=v.activity_id)


def _detail(viewer: Any, plan_id: int) -> PlanDetailOut:
    plan = selectors.plan_get(viewer=viewer, plan_id=plan_id)
    base = _plan_out(plan).model_dump()
    return PlanDetailOut(**base, visits=[_visit_out(v) for v in selectors.plan_visits(plan=plan)],
                         days=[DayOut(day=d.day, content=d.content) for d in plan.days.all()])


@router.get("/", response={200: Page[PlanOut], **ERRORS}, summary="Plans: yours and those of the people you see")
def plan_list(request: HttpRequest, filters: Query[PlanFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.plan_list(viewer=viewer, user_id=filters.user_id, month=_month(filters.month),
                             status=filters.status)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-month", "pk"), serialize=_plan_out)


class PlanIn(Schema):
    month: str = Field(..., max_length=10, description="YYYY-MM")
    goals: str = Field("", max_length=10_000)
    analysis: str = Field("", max_length=10_000)
    measures: str = Field("", max_length=10_000)


@router.post("/", response={201: PlanDetailOut, **ERRORS}, summary="Start your plan for a month (one per month)")
def plan_create(request: HttpRequest, payload: PlanIn) -> Any:
    viewer = api_viewer(request)
    month = _month(payload.month)
    if month is None:
        raise ValidationFailed(field_errors={"month": [_("Enter a month as YYYY-MM.")]})
    plan = services.plan_create(actor=viewer, month=month, goals=payload.goals, analysis=payload.analysis,
                                measures=payload.measures)
    return Status(201, _detail(viewer, plan.pk))


@router.get("/{int:plan_id}", response={200: PlanDetailOut, **ERRORS}, summary="One plan with its visits and days")
def plan_get(request: HttpRequest, plan_id: int) -> Any:
    return _detail(api_viewer(request), plan_id)


class PlanPatch(Schema):
    goals: str | None = Field(None, max_length=10_000)
    analysis: str | None = Field(None, max_length=10_000)
    measures: str | None = Field(None, max_length=10_000)


@router.patch("/{int:plan_id}", response={200: PlanDetailOut, **ERRORS},
              summary="Change goals, analysis or measures (the author, while draft or returned)")
def plan_update(request: HttpRequest, plan_id: int, payload: PlanPatch) -> Any:
    viewer = api_viewer(request)
    services.plan_update(actor=viewer, plan_id=plan_id, **payload.model_dump(exclude_unset=True))
    return _detail(viewer, plan_id)


class PlanVisitIn(Schema):
    customer_id: int
    planned_on: dt.date
    purpose: str = Field("", max_length=300)


@router.post("/{int:plan_id}/visits", response={201: VisitOut, **ERRORS},
             summary="Plan a visit: a customer on a day of the plan's month (creates the planned visit)")
def visit_add(request: HttpRequest, plan_id: int, payload: PlanVisitIn) -> Any:
    viewer = api_viewer(request)
    item = services.plan_visit_add(actor=viewer, plan_id=plan_id, customer_id=payload.customer_id,
                                   planned_on=payload.planned_on, purpose=payload.purpose)
    return Status(201, _visit_out(PlanVisit.objects.select_related("customer").get(pk=item.pk)))


class RemoveIn(Schema):
    reason: str = Field("", max_length=300)


@router.delete("/{int:plan_id}/visits/{int:item_id}", response={204: None, **ERRORS},
               summary="Take a visit out of the plan (its planned visit is cancelled)")
def visit_remove(request: HttpRequest, plan_id: int, item_id: int, payload: RemoveIn | None = None) -> Any:
    viewer = api_viewer(request)
    if not PlanVisit.objects.filter(pk=item_id, plan_id=plan_id).exists():
        raise NotFound()
    services.plan_visit_remove(actor=viewer, item_id=item_id, reason=payload.reason if payload else "")
    return Status(204, None)


class DayIn(Schema):
    content: str = Field(..., max_length=10_000, description="Empty removes the day's plan")


@router.put("/{int:plan_id}/days/{day}", response={200: DayOut, 204: None, **ERRORS},
            summary="Write (or, with empty content, remove) the daily plan of a day")
def day_save(request: HttpRequest, plan_id: int, day: dt.date, payload: DayIn) -> Any:
    viewer = api_viewer(request)
    saved: DailyPlan | None = services.daily_plan_save(actor=viewer, plan_id=plan_id, day=day,
                                                       content=payload.content)
    if saved is None:
        return Status(204, None)
    return DayOut(day=saved.day, content=saved.content)


@router.post("/{int:plan_id}/submit", response={200: PlanDetailOut, **ERRORS}, summary="Hand the plan to the supervisor")
def plan_submit(request: HttpRequest, plan_id: int) -> Any:
    viewer = api_viewer(request)
    services.plan_submit(actor=viewer, plan_id=plan_id)
    return _detail(viewer, plan_id)


class PlanReviewIn(Schema):
    approve: bool
    comment: str = Field("", max_length=10_000)


@router.post("/{int:plan_id}/review", response={200: PlanDetailOut, **ERRORS},
             summary="Approve or return a submitted plan (the person's supervisor; comments required to return)")
def plan_review(request: HttpRequest, plan_id: int, payload: PlanReviewIn) -> Any:
    viewer = api_viewer(request)
    services.plan_review(actor=viewer, plan_id=plan_id, approve=payload.approve, comment=payload.comment)
    return _detail(viewer, plan_id)


class CommentIn(Schema):
    comment: str = Field(..., min_length=1, max_length=10_000)


@router.put("/{int:plan_id}/result-comment", response={200: PlanDetailOut, **ERRORS},
            summary="The supervisor's comments on plan versus actual (approved plans)")
def plan_result_comment(request: HttpRequest, plan_id: int, payload: CommentIn) -> Any:
    viewer = api_viewer(request)
    services.plan_result_comment(actor=viewer, plan_id=plan_id, comment=payload.comment)
    return _detail(viewer, plan_id)


class TierOut(Schema):
    tier: str
    visits_per_month: int
    customers: int
    covered: int
    share: float | None
    uncovered_customer_ids: list[int]


class ItemResultOut(Schema):
    id: int
    customer_id: int
    planned_on: dt.date
    carried_out: bool
    activity_status: str


class ResultOut(Schema):
    plan_id: int
    start: dt.date
    end: dt.date
    planned: int
    planned_done: int
    completion_rate: float | None
    visits_done: int
    unplanned_done: int
    tiers: list[TierOut]
    items: list[ItemResultOut]
    result_comment: str


@router.get("/{int:plan_id}/result", response={200: ResultOut, **ERRORS},
            summary="Plan versus actual: visits done against planned, tier service standards covered, completion")
def plan_result(request: HttpRequest, plan_id: int) -> Any:
    result = selectors.plan_result(viewer=api_viewer(request), plan_id=plan_id)
    a = result.actual
    return ResultOut(
        plan_id=result.plan.pk, start=result.start, end=result.end, planned=a.planned, planned_done=a.planned_done,
        completion_rate=None if a.completion_rate is None else round(a.completion_rate, 4),
        visits_done=a.done_total, unplanned_done=a.unplanned_done,
        tiers=[TierOut(tier=t.tier, visits_per_month=t.visits_per_month, customers=t.customers, covered=t.covered,
                       share=None if t.share is None else round(t.share, 4), uncovered_customer_ids=list(t.uncovered_ids))
               for t in a.tiers],
        items=[ItemResultOut(id=r["item"].pk, customer_id=r["item"].customer_id, planned_on=r["item"].planned_on,
                             carried_out=r["carried_out"], activity_status=r["activity_status"]) for r in result.items],
        result_comment=result.plan.result_comment)
