"""HTTP API of daily work logs: the log of a day (prefill, save, submit), lists (keyset), versions with their
reviews, the review inbox and reviews, excellent logs, quality and deadlines. Same services and selectors as
the pages; errors are RFC 9457 problems."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from kamguard.core.api import Page, ProblemDetail, api_ref, api_viewer, keyset_page
from kamguard.core.errors import NotFound, ValidationFailed
from kamguard.org.models import Department, User
from kamguard.org.scopes import scope_q
from kamguard.worklogs import selectors, services
from kamguard.worklogs.models import LogDeadline, LogReview, WorkLog, WorkLogVersion

router = Router(tags=["Daily work logs"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    user_id: int | None = None
    state: str = Field("", description="submitted | late | missing | draft | excellent", max_length=20)
    start: dt.date | None = None
    end: dt.date | None = None
    q: str = Field("", max_length=100)


class LogOut(Schema):
    id: int
    user_id: int
    user_name: str
    day: dt.date
    status: str
    state: str = Field(..., description="draft | submitted | late | missing")
    deadline_at: dt.datetime
    submitted_at: dt.datetime | None
    is_late: bool
    is_excellent: bool
    current_version: int


def _log_out(log: WorkLog) -> LogOut:
    return LogOut(id=log.pk, user_id=log.user_id, user_name=log.user.full_name, day=log.day, status=log.status,
                  state=log.state, deadline_at=log.deadline_at, submitted_at=log.submitted_at, is_late=log.is_late,
                  is_excellent=log.is_excellent, current_version=log.current_version)


class ReviewOut(Schema):
    id: int
    version: int
    reviewer_id: int
    reviewer_name: str
    evaluation: str
    requirements: str
    suggestions: str
    rating: int
    is_excellent: bool
    created_at: dt.datetime


def _review_out(r: LogReview, number: int) -> ReviewOut:
    return ReviewOut(id=r.pk, version=number, reviewer_id=r.reviewer_id, reviewer_name=r.reviewer.full_name,
                     evaluation=r.evaluation, requirements=r.requirements, suggestions=r.suggestions,
                     rating=r.rating, is_excellent=r.is_excellent, created_at=r.created_at)


class LogVersionOut(Schema):
    number: int
    today_work: str
    visits: str
    problems: str
    tomorrow_plan: str
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    review: ReviewOut | None


def _version_out(v: WorkLogVersion) -> LogVersionOut:
    review = getattr(v, "review_or_none", None)
    return LogVersionOut(number=v.number, today_work=v.today_work, visits=v.visits, problems=v.problems,
                      tomorrow_plan=v.tomorrow_plan, created_at=v.created_at, updated_at=v.updated_at,
                      submitted_at=v.submitted_at, review=_review_out(review, v.number) if review else None)


class LogDetailOut(LogOut):
    content: LogVersionOut


def _detail(log: WorkLog) -> LogDetailOut:
    versions = selectors.version_list(log=log)
    current = next(v for v in versions if v.number == log.current_version)
    return LogDetailOut(**_log_out(log).model_dump(), content=_version_out(current))


@router.get("/logs", response={200: Page[LogOut], **ERRORS}, summary="Work logs the caller may see, newest day first")
def log_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.log_list(viewer=viewer, user_id=params.user_id, state=params.state, start=params.start,
                            end=params.end, search=params.q)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-day", "-pk"), serialize=_log_out)


class PrefillOut(Schema):
    day: dt.date
    today_work: str
    visits: str
    problems: str
    tomorrow_plan: str


@router.get("/prefill", response={200: PrefillOut, **ERRORS},
            summary="The log template for a day, written from the caller's records of that day")
def log_prefill(request: HttpRequest, day: dt.date | None = None) -> Any:
    viewer = api_viewer(request)
    day = day or timezone.localdate()
    p = selectors.log_prefill(user=viewer, day=day)
    return PrefillOut(day=day, today_work=p.today_work, visits=p.visits, problems=p.problems,
                      tomorrow_plan=p.tomorrow_plan)


class LogIn(Schema):
    day: dt.date
    today_work: str = Field("", max_length=10000)
    visits: str = Field("", max_length=10000)
    problems: str = Field("", max_length=10000)
    tomorrow_plan: str = Field("", max_length=10000)
    submit: bool = False
    expected_version: int | None = Field(None, description="The version you edited; a newer one is a 409")


@router.post("/logs", response={200: LogDetailOut, **ERRORS},
             summary="Save (and optionally submit) the caller's log for a day; after a review, a new version")
def log_save(request: HttpRequest, payload: LogIn) -> Any:
    viewer = api_viewer(request)
    log = services.log_save(actor=viewer, day=payload.day, today_work=payload.today_work, visits=payload.visits,
                            problems=payload.problems, tomorrow_plan=payload.tomorrow_plan, submit=payload.submit,
                            expected_version=payload.expected_version)
    return _detail(selectors.log_get(viewer=viewer, log_id=log.pk))


@router.get("/logs/{int:log_id}", response={200: LogDetailOut, **ERRORS}, summary="One log with its current content")
def log_get(request: HttpRequest, log_id: int) -> Any:
    return _detail(selectors.log_get(viewer=api_viewer(request), log_id=log_id))


@router.post("/logs/{int:log_id}/submit", response={200: LogDetailOut, **ERRORS}, summary="Submit a saved draft")
def log_submit(request: HttpRequest, log_id: int) -> Any:
    viewer = api_viewer(request)
    selectors.log_get(viewer=viewer, log_id=log_id)
    services.log_submit(actor=viewer, log_id=log_id)
    return _detail(selectors.log_get(viewer=viewer, log_id=log_id))


@router.get("/logs/{int:log_id}/versions", response={200: list[LogVersionOut], **ERRORS},
            summary="Every version, newest first, each with its review")
def log_versions(request: HttpRequest, log_id: int) -> Any:
    log = selectors.log_get(viewer=api_viewer(request), log_id=log_id)
    return [_version_out(v) for v in selectors.version_list(log=log)]


class LogReviewIn(Schema):
    evaluation: str = Field(..., max_length=10000)
    requirements: str = Field("", max_length=10000)
    suggestions: str = Field("", max_length=10000)
    rating: int = Field(..., description="1 (poor) to 5 (excellent)")
    is_excellent: bool = False
    version: int | None = Field(None, description="The version you read; a newer one is a 409")


@router.post("/logs/{int:log_id}/review", response={201: ReviewOut, **ERRORS},
             summary="Review the current version (the author's supervisor only)")
def log_review(request: HttpRequest, log_id: int, payload: LogReviewIn) -> Any:
    viewer = api_viewer(request)
    review = services.log_review(actor=viewer, log_id=log_id, evaluation=payload.evaluation,
                                 requirements=payload.requirements, suggestions=payload.suggestions,
                                 rating=payload.rating, is_excellent=payload.is_excellent, version=payload.version)
    return Status(201, _review_out(review, review.version.number))


class InboxParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    user_id: int | None = None


@router.get("/inbox", response={200: Page[LogOut], **ERRORS},
            summary="Logs waiting for the caller's review, oldest day first")
def review_inbox(request: HttpRequest, params: Query[InboxParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.review_inbox(reviewer=viewer, user_id=params.user_id)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("day", "pk"), serialize=_log_out)


@router.get("/excellent", response={200: Page[LogOut], **ERRORS}, summary="Excellent logs shown to the team")
def excellent(request: HttpRequest, cursor: str | None = None, limit: int = 50) -> Any:
    qs = selectors.excellent_logs(viewer=api_viewer(request))
    return keyset_page(qs, cursor=cursor, limit=limit, order=("-day", "-pk"), serialize=_log_out)


def _people_in_scope(viewer: User, user_ids: list[int]) -> list[int]:
    visible = set(User.objects.filter(scope_q(viewer, owner_path=""), pk__in=user_ids).values_list("pk", flat=True))
    hidden = [i for i in user_ids if i not in visible]
    if hidden:
        raise ValidationFailed(field_errors={"user_ids": [
            _("Not among the people you may see: %(ids)s.") % {"ids": ", ".join(map(str, hidden))}]},
            code="not_in_scope")
    return user_ids


class StatusOut(Schema):
    user_id: int
    state: str


@router.get("/status", response={200: list[StatusOut], **ERRORS},
            summary="Each person's log state for a day: submitted, late, missing or not_due (people in scope)")
def status(request: HttpRequest, day: dt.date | None = None, user_ids: list[int] = Query(...)) -> Any:  # noqa: B008
    viewer = api_viewer(request)
    ids = _people_in_scope(viewer, user_ids)
    states = selectors.logs_status(user_ids=ids, day=day or timezone.localdate())
    return [StatusOut(user_id=k, state=v) for k, v in states.items()]


class LogQualityOut(Schema):
    user_id: int
    due: int
    submitted: int
    late: int
    missing: int
    reviewed: int
    excellent: int
    average_rating: float | None
    on_time_share: float | None


@router.get("/quality", response={200: list[LogQualityOut], **ERRORS},
            summary="Log quality per person over a period (people in scope)")
def quality(request: HttpRequest, start: dt.date, end: dt.date, user_ids: list[int] = Query(...)) -> Any:  # noqa: B008
    viewer = api_viewer(request)
    if end < start:
        raise ValidationFailed(field_errors={"end": [_("The end comes before the start.")]})
    ids = _people_in_scope(viewer, user_ids)
    return [LogQualityOut(user_id=k, **v) for k, v in selectors.log_quality(user_ids=ids, start=start, end=end).items()]


class DeadlineOut(Schema):
    id: int
    department_id: int | None
    due_time: dt.time
    day_offset: int
    workdays: str


def _deadline_out(d: LogDeadline) -> DeadlineOut:
    return DeadlineOut(id=d.pk, department_id=d.department_id, due_time=d.due_time, day_offset=d.day_offset,
                       workdays=d.workdays)


@router.get("/deadlines", response={200: list[DeadlineOut], **ERRORS}, summary="The deadline rules")
def deadline_list(request: HttpRequest) -> Any:
    return [_deadline_out(d) for d in selectors.deadline_list(viewer=api_viewer(request))]


class DeadlineIn(Schema):
    department_id: int | None = Field(None, description="Empty: the company-wide deadline")
    due_time: dt.time
    day_offset: int = Field(0, description="0: the same day; 1: the next day")
    workdays: str = Field("12345", max_length=7)

    @field_validator("due_time")
    @classmethod
    def _local_time(cls, value: dt.time) -> dt.time:
        # A deadline is a time of day in the company's time zone: an offset ("Z", "+08:00") has no meaning here.
        if value.tzinfo is not None:
            raise ValueError(_("Give the time without a time zone, e.g. 18:00 (the company's local time)."))
        return value


@router.put("/deadlines", response={200: DeadlineOut, **ERRORS},
            summary="Set the company-wide or a department's deadline (administrators; supervisors for theirs)")
def deadline_set(request: HttpRequest, payload: DeadlineIn) -> Any:
    viewer = api_viewer(request)
    department = api_ref(Department, payload.department_id, "department_id")
    row = services.deadline_set(actor=viewer, department=department, due_time=payload.due_time,
                                day_offset=payload.day_offset, workdays=payload.workdays)
    return _deadline_out(row)


@router.delete("/deadlines/{int:deadline_id}", response={204: None, **ERRORS}, summary="Remove a deadline rule")
def deadline_remove(request: HttpRequest, deadline_id: int) -> Any:
    services.deadline_remove(actor=api_viewer(request), deadline_id=deadline_id)
    return Status(204, None)


__all__ = ["NotFound", "router"]
