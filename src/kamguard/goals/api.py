"""HTTP API of goals: the same services and selectors as the pages, RFC 9457 problem details on errors.

Targets: list (keyset), set or remove one person's month, bulk (all or nothing).
Objectives: list (keyset, filters), create, read (with key results, progress and cascading objectives), change,
status; key results: add, change, remove; check-ins: list, record. A team's OKR tree with rolled-up progress.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.core.errors import ValidationFailed
from kamguard.goals import selectors, services
from kamguard.goals.domain.months import parse_month
from kamguard.goals.models import CheckIn, KeyResult, Objective, SalesTarget

router = Router(tags=["Goals, OKRs and targets"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


def _month(text: str | None, field: str = "month", *, required: bool = False) -> dt.date | None:
    if not text:
        if required:
            raise ValidationFailed(field_errors={field: [_("Enter a month as YYYY-MM.")]})
        return None
    month = parse_month(text)
    if month is None:
        raise ValidationFailed(field_errors={field: [_("Enter a month as YYYY-MM.")]})
    return month


# ---------------------------------------------------------------------------------------------------- targets


class TargetOut(Schema):
    id: int
    user_id: int
    user_name: str
    month: str
    amount: Decimal
    note: str
    set_by_id: int | None
    updated_at: dt.datetime


def _target_out(t: SalesTarget) -> TargetOut:
    return TargetOut(id=t.pk, user_id=t.user_id, user_name=str(t.user), month=f"{t.month:%Y-%m}", amount=t.amount,
                     note=t.note, set_by_id=t.set_by_id, updated_at=t.updated_at)


class TargetFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    user_id: int | None = None
    team_id: int | None = None
    from_month: str | None = Field(None, max_length=10, description="YYYY-MM, inclusive")
    to_month: str | None = Field(None, max_length=10, description="YYYY-MM, inclusive")


@router.get("/targets", response={200: Page[TargetOut], **ERRORS},
            summary="Sales targets: yours and those of the people your scope covers")
def target_list(request: HttpRequest, filters: Query[TargetFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.target_list(viewer=viewer, user_id=filters.user_id, team_id=filters.team_id,
                               start=_month(filters.from_month, "from_month"), end=_month(filters.to_month, "to_month"))
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-month", "pk"), serialize=_target_out)


class TargetIn(Schema):
    amount: Decimal | None = Field(..., description="CNY, ≥ 0; null removes the month's target")
    note: str = Field("", max_length=300)


@router.put("/targets/{int:user_id}/{month}", response={200: TargetOut, 204: None, **ERRORS},
            summary="Set (or with amount null, remove) a person's target for a month (their supervisor)")
def target_set(request: HttpRequest, user_id: int, month: str, payload: TargetIn) -> Any:
    viewer = api_viewer(request)
    parsed = _month(month, required=True)
    assert parsed is not None
    saved = services.target_set(actor=viewer, user_id=user_id, month=parsed, amount=payload.amount, note=payload.note)
    if saved is None:
        return Status(204, None)
    return _target_out(SalesTarget.objects.select_related("user").get(pk=saved.pk))


class TargetEntryIn(Schema):
    user_id: int
    month: str = Field(..., max_length=10, description="YYYY-MM")
    amount: Decimal | None = Field(..., description="null removes the month's target")
    note: str = Field("", max_length=300)


class TargetBulkIn(Schema):
    entries: list[TargetEntryIn] = Field(..., max_length=services.BULK_LIMIT)


class TargetBulkOut(Schema):
    set: int
    removed: int
    unchanged: int


@router.post("/targets/bulk", response={200: TargetBulkOut, **ERRORS},
             summary="Set many targets at once: all valid or nothing saved (errors name entries[i].field)")
def target_bulk(request: HttpRequest, payload: TargetBulkIn) -> Any:
    viewer = api_viewer(request)
    errors: dict[str, list[str]] = {}
    changes: list[services.TargetChange] = []
    for i, entry in enumerate(payload.entries):
        month = parse_month(entry.month)
        if month is None:
            errors[f"entries[{i}].month"] = [_("Enter a month as YYYY-MM.")]
            continue
        changes.append(services.TargetChange(user_id=entry.user_id, month=month, amount=entry.amount,
                                             note=entry.note))
    if errors:
        raise ValidationFailed(_("Some targets are not valid; nothing was saved."), field_errors=errors)
    return services.targets_set_bulk(actor=viewer, changes=changes)


# ------------------------------------------------------------------------------------------------ objectives


class KeyResultOut(Schema):
    id: int
    objective_id: int
    title: str
    unit: str
    start_value: Decimal
    target_value: Decimal
    current_value: Decimal
    weight: Decimal
    due_date: dt.date | None
    progress: Decimal


class ObjectiveOut(Schema):
    id: int
    title: str
    description: str
    measure: str
    relevance: str
    owner_user_id: int | None
    owner_team_id: int | None
    owner_name: str
    parent_id: int | None
    period_start: dt.date
    period_end: dt.date
    deadline: dt.date | None
    status: Literal["draft", "active", "done", "cancelled"]
    progress: Decimal | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ObjectiveDetailOut(ObjectiveOut):
    key_results: list[KeyResultOut]
    children: list[ObjectiveOut]


def _kr_out(view: selectors.KeyResultView) -> KeyResultOut:
    kr = view.kr
    return KeyResultOut(id=kr.pk, objective_id=kr.objective_id, title=kr.title, unit=kr.unit,
                        start_value=kr.start_value, target_value=kr.target_value, current_value=kr.current_value,
                        weight=kr.weight, due_date=kr.due_date, progress=view.progress)


def _objective_out(o: Objective, progress: Decimal | None) -> ObjectiveOut:
    return ObjectiveOut(id=o.pk, title=o.title, description=o.description, measure=o.measure, relevance=o.relevance,
                        owner_user_id=o.owner_user_id, owner_team_id=o.owner_team_id,
                        owner_name=str(o.owner_user or o.owner_team), parent_id=o.parent_id,
                        period_start=o.period_start, period_end=o.period_end, deadline=o.deadline,
                        status=o.status, progress=progress,  # type: ignore[arg-type]
                        created_at=o.created_at, updated_at=o.updated_at)


def _detail(viewer: Any, objective_id: int) -> ObjectiveDetailOut:
    objective = selectors.objective_get(viewer=viewer, objective_id=objective_id)
    children = list(selectors.objective_list(viewer=viewer).filter(parent=objective))
    progress = selectors.progress_of([objective, *children])
    base = _objective_out(objective, progress[objective.pk]).model_dump()
    return ObjectiveDetailOut(**base, key_results=[_kr_out(v) for v in selectors.key_results_of(objective)],
                              children=[_objective_out(c, progress[c.pk]) for c in children])


class ObjectiveFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    owner_user_id: int | None = None
    team_id: int | None = Field(None, description="the team's own objectives")
    members: bool = Field(False, description="with team_id: its members' objectives too")
    status: Literal["draft", "active", "done", "cancelled", ""] = ""
    on: dt.date | None = Field(None, description="objectives whose period contains this day")
    q: str = Field("", max_length=100, description="words in the title or description")


@router.get("/objectives", response={200: Page[ObjectiveOut], **ERRORS},
            summary="Objectives you may read: yours, your team's, and those your scope covers")
def objective_list(request: HttpRequest, filters: Query[ObjectiveFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.objective_list(viewer=viewer, owner_user_id=filters.owner_user_id, team_id=filters.team_id,
                                  status=filters.status, on=filters.on, query=filters.q.strip(),
                                  include_team_members=filters.members)
    page = keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-period_start", "pk"))
    progress = selectors.progress_of(page["items"])
    page["items"] = [_objective_out(o, progress[o.pk]) for o in page["items"]]
    return page


class ObjectiveIn(Schema):
    title: str = Field(..., max_length=200)
    owner_user_id: int | None = None
    owner_team_id: int | None = None
    parent_id: int | None = None
    period_start: dt.date
    period_end: dt.date
    deadline: dt.date | None = None
    description: str = Field("", max_length=5000)
    measure: str = Field("", max_length=5000, description="how we know it is achieved")
    relevance: str = Field("", max_length=5000, description="why it matters")


@router.post("/objectives", response={201: ObjectiveDetailOut, **ERRORS},
             summary="A new objective (draft) for yourself, a person you supervise or a team you lead")
def objective_create(request: HttpRequest, payload: ObjectiveIn) -> Any:
    viewer = api_viewer(request)
    objective = services.objective_create(actor=viewer, **payload.model_dump())
    return Status(201, _detail(viewer, objective.pk))


@router.get("/objectives/{int:objective_id}", response={200: ObjectiveDetailOut, **ERRORS},
            summary="One objective with its key results, progress and the objectives cascading from it")
def objective_get(request: HttpRequest, objective_id: int) -> Any:
    return _detail(api_viewer(request), objective_id)


class ObjectivePatch(Schema):
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    measure: str | None = Field(None, max_length=5000)
    relevance: str | None = Field(None, max_length=5000)
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    deadline: dt.date | None = None
    parent_id: int | None = None


@router.patch("/objectives/{int:objective_id}", response={200: ObjectiveDetailOut, **ERRORS},
              summary="Change an open objective (owner, their supervisor; a team's: the team's supervisor)")
def objective_update(request: HttpRequest, objective_id: int, payload: ObjectivePatch) -> Any:
    viewer = api_viewer(request)
    services.objective_update(actor=viewer, objective_id=objective_id, **payload.model_dump(exclude_unset=True))
    return _detail(viewer, objective_id)


class StatusIn(Schema):
    status: Literal["draft", "active", "done", "cancelled"]
    reason: str = Field("", max_length=300)


@router.post("/objectives/{int:objective_id}/status", response={200: ObjectiveDetailOut, **ERRORS},
             summary="draft → active (needs a key result) → done; cancel; reopen")
def objective_status(request: HttpRequest, objective_id: int, payload: StatusIn) -> Any:
    viewer = api_viewer(request)
    services.objective_status_set(actor=viewer, objective_id=objective_id, status=payload.status,
                                  reason=payload.reason)
    return _detail(viewer, objective_id)


class KeyResultIn(Schema):
    title: str = Field(..., max_length=200)
    unit: str = Field("", max_length=20)
    start_value: Decimal = Decimal(0)
    target_value: Decimal
    current_value: Decimal | None = None
    weight: Decimal = Decimal(1)
    due_date: dt.date | None = None


def _kr_view(kr: KeyResult) -> KeyResultOut:
    from kamguard.goals.domain.progress import kr_progress, quantize

    return _kr_out(selectors.KeyResultView(kr=kr, progress=quantize(kr_progress(kr.start_value, kr.target_value,
                                                                                 kr.current_value))))


@router.post("/objectives/{int:objective_id}/key-results", response={201: KeyResultOut, **ERRORS},
             summary="Add a measurable key result to an open objective")
def key_result_create(request: HttpRequest, objective_id: int, payload: KeyResultIn) -> Any:
    viewer = api_viewer(request)
    kr = services.key_result_create(actor=viewer, objective_id=objective_id, **payload.model_dump())
    return Status(201, _kr_view(kr))


class KeyResultPatch(Schema):
    title: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, max_length=20)
    start_value: Decimal | None = None
    target_value: Decimal | None = None
    weight: Decimal | None = None
    due_date: dt.date | None = None


@router.patch("/key-results/{int:key_result_id}", response={200: KeyResultOut, **ERRORS},
              summary="Change a key result's definition (the current value moves by check-ins)")
def key_result_update(request: HttpRequest, key_result_id: int, payload: KeyResultPatch) -> Any:
    viewer = api_viewer(request)
    kr = services.key_result_update(actor=viewer, key_result_id=key_result_id,
                                    **payload.model_dump(exclude_unset=True))
    return _kr_view(kr)


@router.delete("/key-results/{int:key_result_id}", response={204: None, **ERRORS},
               summary="Remove a key result with its check-ins (an active objective keeps one)")
def key_result_delete(request: HttpRequest, key_result_id: int) -> Any:
    services.key_result_delete(actor=api_viewer(request), key_result_id=key_result_id)
    return Status(204, None)


class CheckInOut(Schema):
    id: int
    key_result_id: int
    value: Decimal
    confidence: int | None
    note: str
    by_id: int
    by_name: str
    at: dt.datetime


def _check_in_out(c: CheckIn) -> CheckInOut:
    return CheckInOut(id=c.pk, key_result_id=c.key_result_id, value=c.value, confidence=c.confidence, note=c.note,
                      by_id=c.by_id, by_name=str(c.by), at=c.at)


class CheckInFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


@router.get("/key-results/{int:key_result_id}/check-ins", response={200: Page[CheckInOut], **ERRORS},
            summary="A key result's check-ins, newest first")
def check_in_list(request: HttpRequest, key_result_id: int, filters: Query[CheckInFilter]) -> Any:
    qs = selectors.check_in_list(viewer=api_viewer(request), key_result_id=key_result_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-at", "-pk"), serialize=_check_in_out)


class KeyResultCheckInIn(Schema):
    value: Decimal
    confidence: int | None = Field(None, ge=0, le=10)
    note: str = Field("", max_length=5000)


@router.post("/key-results/{int:key_result_id}/check-ins", response={201: CheckInOut, **ERRORS},
             summary="Check in: where the key result stands now (active objectives)")
def check_in_create(request: HttpRequest, key_result_id: int, payload: KeyResultCheckInIn) -> Any:
    viewer = api_viewer(request)
    entry = services.check_in(actor=viewer, key_result_id=key_result_id, value=payload.value,
                              confidence=payload.confidence, note=payload.note)
    return Status(201, _check_in_out(CheckIn.objects.select_related("by").get(pk=entry.pk)))


class TreeChildOut(Schema):
    objective: ObjectiveOut
    rolled_up: Decimal | None


class TreeOut(Schema):
    objective: ObjectiveOut
    rolled_up: Decimal | None
    children: list[TreeChildOut]


class TeamTreeOut(Schema):
    team_id: int
    team_name: str
    objectives: list[TreeOut]


@router.get("/teams/{int:team_id}/tree", response={200: TeamTreeOut, **ERRORS},
            summary="The team's OKR tree: its objectives, the people's cascading from them, rolled-up progress")
def team_tree(request: HttpRequest, team_id: int, on: dt.date | None = None) -> Any:
    team, nodes = selectors.team_tree(viewer=api_viewer(request), team_id=team_id, on=on)
    return TeamTreeOut(team_id=team.pk, team_name=team.name, objectives=[
        TreeOut(objective=_objective_out(n.objective, n.own), rolled_up=n.rolled,
                children=[TreeChildOut(objective=_objective_out(c.objective, c.own), rolled_up=c.rolled)
                          for c in n.children]) for n in nodes])
