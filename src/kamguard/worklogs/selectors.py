"""Every read of work logs starts from the viewer.

- Logs: the viewer's data scope over the author (a manager: their own; a specialist: their team; a supervisor:
  their department and below; auditors and finance: all). Excellent logs are also shown to the author's
  department colleagues (the team page).
- The review inbox: submitted logs whose current version has no review yet, by people the supervisor may review.

Contract functions for other apps (no viewer: callers narrow `user_ids` themselves):
- `logs_status(*, user_ids, day) -> dict[int, str]` — "submitted" | "late" | "missing" | "not_due"
- `reviews_waiting(*, reviewer) -> int`
- `log_quality(*, user_ids, start, end) -> dict[int, dict]` — due, submitted (on time), late, missing, reviewed,
  excellent, average_rating, on_time_share
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.org.models import User
from kamguard.org.scopes import NOTHING, scope_q
from kamguard.worklogs.access import DeadlineBook, is_reviewer
from kamguard.worklogs.domain import (
    STATE_NOT_DUE,
    DayRecord,
    Prefill,
    PrefillLabels,
    QualitySummary,
    TrendPoint,
    due_days,
    log_state,
    prefill,
    week_start,
)
from kamguard.worklogs.models import LogDeadline, LogReview, LogStatus, WorkLog, WorkLogVersion


def _now_local() -> dt.datetime:
    return timezone.localtime().replace(tzinfo=None)


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value).replace(tzinfo=None) if value is not None else None


def log_visibility_q(viewer: User) -> Q:
    return scope_q(viewer, owner_path="user")


def _either(scope: Q, other: Q) -> Q:
    """scope OR other — an empty scope (everything) stays everything (Q() | x would be just x)."""
    return scope if not scope else scope | other


def _excellent_q(viewer: User) -> Q:
    if not viewer.is_authenticated or not viewer.is_active or viewer.department_id is None:
        return NOTHING
    return Q(is_excellent=True, user__department_id=viewer.department_id)


def log_list(*, viewer: User, user_id: int | None = None, state: str = "", start: dt.date | None = None,
             end: dt.date | None = None, search: str = "") -> QuerySet[WorkLog]:
    qs = WorkLog.objects.filter(log_visibility_q(viewer)).select_related("user")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if state == "late":
        qs = qs.filter(status=LogStatus.SUBMITTED, is_late=True)
    elif state == "submitted":
        qs = qs.filter(status=LogStatus.SUBMITTED, is_late=False)
    elif state in (LogStatus.DRAFT, LogStatus.MISSING):
        qs = qs.filter(status=state)
    elif state == "excellent":
        qs = qs.filter(is_excellent=True)
    if start:
        qs = qs.filter(day__gte=start)
    if end:
        qs = qs.filter(day__lte=end)
    if search:
        matching = WorkLogVersion.objects.filter(
            Q(today_work__icontains=search) | Q(visits__icontains=search) | Q(problems__icontains=search)
            | Q(tomorrow_plan__icontains=search)).values("log_id")
        qs = qs.filter(Q(pk__in=matching) | Q(user__full_name__icontains=search))
    return qs.order_by("-day", "-pk")


def log_get(*, viewer: User, log_id: int) -> WorkLog:
    found = (WorkLog.objects.filter(_either(log_visibility_q(viewer), _excellent_q(viewer))).select_related("user")
             .filter(pk=log_id).first())
    if found is None:
        raise NotFound()
    return found


def log_for_day(*, viewer: User, day: dt.date) -> WorkLog | None:
    return WorkLog.objects.filter(user=viewer, day=day).first()


def version_list(*, log: WorkLog) -> list[WorkLogVersion]:
    """The log's versions, newest first, each with its review (or None). The caller has checked access."""
    versions = list(log.versions.order_by("-number"))
    reviews = {r.version_id: r for r in LogReview.objects.filter(log=log).select_related("reviewer")}
    for v in versions:
        v.review_or_none = reviews.get(v.pk)  # type: ignore[attr-defined]
    return versions


def current_version(*, log: WorkLog) -> WorkLogVersion:
    return log.versions.get(number=log.current_version)


def _unreviewed_current() -> Q:
    reviewed = LogReview.objects.filter(log=OuterRef("pk"), version__number=OuterRef("current_version"))
    return ~Q(Exists(reviewed))


def review_inbox(*, reviewer: User, user_id: int | None = None) -> QuerySet[WorkLog]:
    """Submitted logs waiting for the reviewer, oldest day first (read before the daily meeting)."""
    if not is_reviewer(reviewer):
        return WorkLog.objects.none()
    qs = (WorkLog.objects.filter(log_visibility_q(reviewer), status=LogStatus.SUBMITTED).exclude(user=reviewer)
          .filter(_unreviewed_current()).select_related("user"))
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs.order_by("day", "user__full_name", "pk")


def reviews_waiting(*, reviewer: User) -> int:
    return review_inbox(reviewer=reviewer).count()


def excellent_logs(*, viewer: User) -> QuerySet[WorkLog]:
    """Logs the supervisors marked excellent, shown to the author's department (and to whoever may see them)."""
    return (WorkLog.objects.filter(is_excellent=True).filter(_either(log_visibility_q(viewer), _excellent_q(viewer)))
            .select_related("user").order_by("-day", "-pk"))


def deadline_list(*, viewer: User) -> QuerySet[LogDeadline]:
    return LogDeadline.objects.select_related("department", "updated_by").order_by("department__path")


def deadline_rule_for(user: User) -> Any:
    return DeadlineBook().rule_for(user)


def people_reviewable(*, viewer: User) -> QuerySet[User]:
    """People whose logs the viewer may read as a list (their scope), for the trend and filters."""
    return User.objects.filter(scope_q(viewer, owner_path=""), is_active=True).order_by("full_name")


# ---------------------------------------------------------------- contract functions

def logs_status(*, user_ids: Iterable[int], day: dt.date) -> dict[int, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    book = DeadlineBook()
    departments = dict(User.objects.filter(pk__in=ids).values_list("pk", "department_id"))
    submitted = dict(WorkLog.objects.filter(user_id__in=ids, day=day, status=LogStatus.SUBMITTED)
                     .values_list("user_id", "submitted_at"))
    now = _now_local()
    result: dict[int, str] = {}
    for uid in ids:
        if uid not in departments:
            continue
        rule = book.rule_for_department(departments[uid])
        result[uid] = log_state(day=day, rule=rule, now=now, submitted_at=_local(submitted.get(uid)))
    return result


def log_quality(*, user_ids: Iterable[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Any]]:
    """Per person over [start, end]: logs due (workdays whose deadline passed, from the person's start), on time,
    late, missing, reviewed, excellent, average rating (1–5, None when none was rated) and on-time share."""
    ids = list(user_ids)
    if not ids:
        return {}
    book = DeadlineBook()
    people = {u.pk: u for u in User.objects.filter(pk__in=ids).only("pk", "department_id", "date_joined", "hired_on")}
    summaries = {uid: QualitySummary() for uid in people}
    now = _now_local()
    logs = WorkLog.objects.filter(user_id__in=people, day__gte=start, day__lte=end).values_list(
        "user_id", "day", "status", "is_late", "is_excellent")
    by_person: dict[int, dict[dt.date, tuple[str, bool, bool]]] = defaultdict(dict)
    for uid, day, status, late, excellent in logs:
        by_person[uid][day] = (status, late, excellent)
    for uid, rating in LogReview.objects.filter(log__user_id__in=people, log__day__gte=start,
                                                log__day__lte=end).values_list("log__user_id", "rating"):
        summaries[uid].ratings.append(rating)
        summaries[uid].reviewed += 1
    for uid, person in people.items():
        summary = summaries[uid]
        rule = book.rule_for_department(person.department_id)
        joined = person.hired_on or timezone.localtime(person.date_joined).date()
        due = set(due_days(start=max(start, joined), end=end, rule=rule, now=now))
        own = by_person.get(uid, {})
        for day, (status, late, excellent) in own.items():
            if excellent:
                summary.excellent += 1
            if status == LogStatus.SUBMITTED:
                if late:
                    summary.late += 1
                elif day in due:
                    summary.submitted += 1
        summary.due = len(due)
        summary.missing = sum(1 for day in due if own.get(day, ("", False, False))[0] != LogStatus.SUBMITTED)
    return {uid: s.as_dict() for uid, s in summaries.items()}


def quality_trend(*, person: User, weeks: int = 12, today: dt.date | None = None) -> list[TrendPoint]:
    """The person's average rating per week over the last `weeks` weeks (the caller has checked access)."""
    today = today or timezone.localdate()
    first = week_start(today) - dt.timedelta(weeks=weeks - 1)
    ratings: dict[dt.date, list[int]] = defaultdict(list)
    for day, rating in LogReview.objects.filter(log__user=person, log__day__gte=first).values_list("log__day",
                                                                                                  "rating"):
        ratings[week_start(day)].append(rating)
    points = []
    for i in range(weeks):
        monday = first + dt.timedelta(weeks=i)
        values = ratings.get(monday, [])
        points.append(TrendPoint(label=monday.strftime("%m-%d"),
                                 value=round(sum(values) / len(values), 2) if values else None, count=len(values)))
    return points


__all__ = ["STATE_NOT_DUE", "current_version", "deadline_list", "excellent_logs", "log_get", "log_list",
           "log_prefill", "log_quality", "logs_status", "people_reviewable", "quality_trend", "review_inbox", "reviews_waiting",
           "version_list"]


# ---------------------------------------------------------------- the template, prefilled

def _day_record(activity: Any) -> DayRecord:
    happened = activity.happened_at or activity.checked_in_at
    return DayRecord(
        kind=activity.kind, kind_label=str(activity.get_kind_display()), status=activity.status,
        customer=activity.customer.name, time=timezone.localtime(happened).strftime("%H:%M") if happened else "",
        summary=(activity.summary or "").strip(), outcome=(activity.outcome or "").strip(),
        next_step=(activity.next_step or "").strip(),
        accompanied_by=str(activity.accompanied_by) if activity.accompanied_by_id else "")


def log_prefill(*, user: User, day: dt.date) -> Prefill:
    """The log template for `day` written from the day's records (visits, contacts) and tomorrow's planned
    visits, in the active language."""
    from django.utils.translation import gettext as _
    from django.utils.translation import pgettext

    from kamguard.activities.selectors import day_records

    labels = PrefillLabels(outcome=pgettext("worklogs", "Outcome"), next_step=_("Next step"),
                           accompanied=pgettext("worklogs", "accompanied by"), planned=_("planned, not yet done"),
                           planned_visit=_("Visit"), colon=pgettext("punctuation", ": "),
                           separator=pgettext("punctuation", "; "), open_paren=pgettext("punctuation", " ("),
                           close_paren=pgettext("punctuation", ")"))
    today = [_day_record(a) for a in day_records(user=user, day=day)]
    tomorrow = [_day_record(a) for a in day_records(user=user, day=day + dt.timedelta(days=1))]
    return prefill(today=today, tomorrow=tomorrow, labels=labels)
