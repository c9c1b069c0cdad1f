"""Every write of work logs: one function per use case, keyword-only, transactional, audited.

- `log_save(*, actor, day, today_work, visits, problems, tomorrow_plan, submit=False)` — the author writes (and
  optionally submits) their log for a day: edits the current version in place until it is reviewed; after a
  review a new version starts, so the reviewed one is preserved.
- `log_submit(*, actor, log_id)` — submit a saved draft (late when after the deadline).
- `log_review(*, actor, log_id, version, evaluation, requirements, suggestions, rating, is_excellent)`.
- `deadline_set(*, actor, department, due_time, day_offset, workdays)` / `deadline_remove(*, actor, deadline_id)`.
- `missing_mark(*, today=None, lookback_days=7)` — the daily job: past due logs without a submission become
  "missing" (safe to run twice: a unique row per person and day, conditional updates).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import AuditEntry, audit_record, audit_record_many
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.org.domain.roles import Right
from kamguard.org.models import Department, User
from kamguard.org.scopes import scope_q
from kamguard.worklogs.access import DeadlineBook, log_writers, may_review, may_set_deadline, may_write
from kamguard.worklogs.domain import deadline_for, workdays_valid
from kamguard.worklogs.models import LogDeadline, LogReview, LogStatus, WorkLog, WorkLogVersion

TEXT_FIELDS = ("today_work", "visits", "problems", "tomorrow_plan")
MAX_TEXT = 10_000
MAX_FUTURE_DAYS = 1  # a log may be written for today or tomorrow's date at most (time zones, night shifts)


def _clean(value: str | None) -> str:
    return (value or "").replace("\x00", "").replace("\r\n", "\n").strip()


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _deadline_at(user: User, day: dt.date, book: DeadlineBook | None = None) -> dt.datetime:
    rule = (book or DeadlineBook()).rule_for(user)
    return _aware(deadline_for(day, rule))


def _require_writer(actor: User) -> None:
    if not may_write(actor):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _content_check(texts: dict[str, str], *, submit: bool) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in texts.items():
        if len(value) > MAX_TEXT:
            errors[name] = [_("At most %(n)s characters.") % {"n": MAX_TEXT}]
    if submit:
        if not texts["today_work"] and not texts["visits"]:
            errors.setdefault("today_work", []).append(
                _("Write what you did today (or list your visits) before submitting."))
        if not texts["tomorrow_plan"]:
            errors.setdefault("tomorrow_plan", []).append(_("Write tomorrow's plan before submitting."))
    if errors:
        raise ValidationFailed(field_errors=errors)


def _locked_log(log_id: int, actor: User) -> WorkLog:
    log = WorkLog.objects.select_for_update().filter(pk=log_id).first()
    if log is None or log.user_id != actor.pk:
        raise NotFound()
    return log


def _submit(log: WorkLog, version: WorkLogVersion, now: dt.datetime) -> dict[str, Any]:
    """Mark `log` submitted (first submission decides lateness); returns the audit changes."""
    changes: dict[str, Any] = {}
    if log.status != LogStatus.SUBMITTED:
        late = now > log.deadline_at
        changes = {"status": [log.status, LogStatus.SUBMITTED], "is_late": late}
        log.status = LogStatus.SUBMITTED
        log.submitted_at = now
        log.is_late = late
    version.submitted_at = now
    version.save(update_fields=["submitted_at", "updated_at"])
    return changes


@transaction.atomic
def log_save(*, actor: User, day: dt.date, today_work: str = "", visits: str = "", problems: str = "",
             tomorrow_plan: str = "", submit: bool = False, expected_version: int | None = None) -> WorkLog:
    """Write the actor's own log for `day`. A reviewed current version is never changed: the edit becomes a new
    version. `expected_version` (the version the form was opened on) refuses a stale edit with a Conflict."""
    _require_writer(actor)
    today = timezone.localdate()
    if day > today + dt.timedelta(days=MAX_FUTURE_DAYS):
        raise ValidationFailed(field_errors={"day": [_("A log cannot be written for a day in the future.")]})
    texts = {"today_work": _clean(today_work), "visits": _clean(visits), "problems": _clean(problems),
             "tomorrow_plan": _clean(tomorrow_plan)}
    log = WorkLog.objects.select_for_update().filter(user=actor, day=day).first()
    # A submitted log stays complete: an edit of it is checked as a submission.
    _content_check(texts, submit=submit or (log is not None and log.status == LogStatus.SUBMITTED))
    now = timezone.now()
    created = False
    if log is None:
        try:
            with transaction.atomic():
                log = WorkLog.objects.create(user=actor, day=day, deadline_at=_deadline_at(actor, day))
        except IntegrityError as exc:  # a second tab saved the same day first
            raise Conflict(_("This day's log was just saved elsewhere. Reload and try again."),
                           code="log_exists") from exc
        version = WorkLogVersion.objects.create(log=log, number=1, **texts)
        created = True
        changes: dict[str, Any] = {"day": day.isoformat(), "version": 1}
    else:
        if expected_version is not None and expected_version != log.current_version:
            raise Conflict(_("This log changed since you opened it (now version %(n)s). Reload and try again.")
                           % {"n": log.current_version}, code="stale_version")
        version = log.versions.get(number=log.current_version)
        if LogReview.objects.filter(version=version).exists():
            if all(getattr(version, k) == v for k, v in texts.items()):
                if not submit or log.status == LogStatus.SUBMITTED:
                    return log
            number = log.current_version + 1
            version = WorkLogVersion.objects.create(log=log, number=number, **texts)
            log.current_version = number
            changes = {"version": [number - 1, number], "reason": "edited after review"}
        else:
            changes = {k: "changed" for k in TEXT_FIELDS if getattr(version, k) != texts[k]}
            if not changes and not (submit and log.status != LogStatus.SUBMITTED):
                return log  # nothing to record
            for k, v in texts.items():
                setattr(version, k, v)
            version.save()
    if submit or (log.status == LogStatus.SUBMITTED and not created):
        # Once submitted, every saved edit is submitted too (a new version after review needs a new review).
        changes.update(_submit(log, version, now))
    log.save()
    audit_record(actor=actor, action="worklogs.log.create" if created else "worklogs.log.update", obj=log,
                 object_label=str(log), changes=changes)
    return log


@transaction.atomic
def log_submit(*, actor: User, log_id: int) -> WorkLog:
    _require_writer(actor)
    log = _locked_log(log_id, actor)
    if log.status == LogStatus.SUBMITTED:
        raise Conflict(_("This log has already been submitted."), code="already_submitted")
    version = log.versions.get(number=log.current_version)
    _content_check({k: getattr(version, k) for k in TEXT_FIELDS}, submit=True)
    changes = _submit(log, version, timezone.now())
    log.save()
    audit_record(actor=actor, action="worklogs.log.submit", obj=log, object_label=str(log), changes=changes)
    return log


@transaction.atomic
def log_review(*, actor: User, log_id: int, evaluation: str, requirements: str = "", suggestions: str = "",
               rating: int, is_excellent: bool = False, version: int | None = None) -> LogReview:
    """The supervisor's review of the log's current version (`version`, when given, must still be current)."""
    log = WorkLog.objects.select_for_update().select_related("user").filter(pk=log_id).first()
    if log is None or not User.objects.filter(scope_q(actor, owner_path=""), pk=log.user_id).exists():
        raise NotFound()
    if not may_review(actor, log.user):
        raise PermissionRefused(_("Only the author's supervisor may review this log; nobody reviews their own."),
                                code="not_reviewer", extra={"right": "worklogs.review"})
    if log.status != LogStatus.SUBMITTED:
        raise Conflict(_("Only a submitted log can be reviewed."), code="not_submitted")
    if version is not None and version != log.current_version:
        raise Conflict(_("The author changed this log (now version %(n)s). Read the new version and review it.")
                       % {"n": log.current_version}, code="stale_version")
    texts = {"evaluation": _clean(evaluation), "requirements": _clean(requirements),
             "suggestions": _clean(suggestions)}
    errors: dict[str, list[str]] = {}
    if not texts["evaluation"]:
        errors["evaluation"] = [_("Write a short, specific evaluation.")]
    for name, value in texts.items():
        if len(value) > MAX_TEXT:
            errors.setdefault(name, []).append(_("At most %(n)s characters.") % {"n": MAX_TEXT})
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = [_("Rate the log from 1 (poor) to 5 (excellent).")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    current = log.versions.get(number=log.current_version)
    if LogReview.objects.filter(version=current).exists():
        raise Conflict(_("This version has already been reviewed."), code="already_reviewed")
    try:
        with transaction.atomic():
            review = LogReview.objects.create(version=current, log=log, reviewer=actor, rating=rating,
                                              is_excellent=bool(is_excellent), **texts)
    except IntegrityError as exc:
        raise Conflict(_("This version has already been reviewed."), code="already_reviewed") from exc
    if bool(is_excellent) != log.is_excellent:
        log.is_excellent = bool(is_excellent)
        log.save(update_fields=["is_excellent", "updated_at"])
    audit_record(actor=actor, action="worklogs.log.review", obj=log, object_label=str(log),
                 changes={"version": current.number, "rating": rating, "is_excellent": bool(is_excellent)})
    return review


# ---------------------------------------------------------------- deadlines

@transaction.atomic
def deadline_set(*, actor: User, department: Department | None, due_time: dt.time, day_offset: int = 0,
                 workdays: str = "12345") -> LogDeadline:
    if not may_set_deadline(actor, department):
        raise PermissionRefused(_("Only an administrator, or a supervisor for their own department, may set the "
                                  "log deadline."), extra={"right": "worklogs.deadline"})
    errors: dict[str, list[str]] = {}
    workdays = "".join(sorted(set((workdays or "").strip())))
    if not workdays_valid(workdays):
        errors["workdays"] = [_("Give the workdays as digits 1 (Monday) to 7 (Sunday), e.g. 12345.")]
    if day_offset not in (0, 1):
        errors["day_offset"] = [_("The deadline is on the same day (0) or the next day (1).")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    row = LogDeadline.objects.select_for_update().filter(department=department).first()
    before = {} if row is None else {"due_time": row.due_time.isoformat(), "day_offset": row.day_offset,
                                     "workdays": row.workdays}
    if row is None:
        row = LogDeadline(department=department)
    row.due_time, row.day_offset, row.workdays, row.updated_by = due_time, day_offset, workdays, actor
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        raise Conflict(code="deadline_exists") from exc
    after = {"due_time": due_time.isoformat(), "day_offset": day_offset, "workdays": workdays}
    audit_record(actor=actor, action="worklogs.deadline.set", obj=row,
                 object_label=str(department or _("company-wide")),
                 changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v})
    return row


@transaction.atomic
def deadline_remove(*, actor: User, deadline_id: int) -> None:
    row = LogDeadline.objects.select_related("department").filter(pk=deadline_id).first()
    if row is None:
        raise NotFound()
    if not may_set_deadline(actor, row.department):
        raise PermissionRefused(extra={"right": "worklogs.deadline"})
    audit_record(actor=actor, action="worklogs.deadline.remove", obj=row,
                 object_label=str(row.department or _("company-wide")),
                 changes={"due_time": row.due_time.isoformat(), "day_offset": row.day_offset})
    row.delete()


# ---------------------------------------------------------------- the daily job

def missing_mark(*, today: dt.date | None = None, lookback_days: int = 7) -> int:
    """Mark as missing every log that was due (workday, deadline passed) in the last `lookback_days` days and
    was not submitted: a new "missing" row, or a draft turned "missing" (its content kept). Returns how many
    were marked; a second run marks none."""
    today = today or timezone.localdate()
    now = timezone.now()
    book = DeadlineBook()
    writers = list(User.objects.filter(log_writers()).distinct().only("pk", "department_id", "date_joined",
                                                                        "hired_on", "username", "full_name"))
    marked = 0
    for offset in range(lookback_days, 0, -1):
        day = today - dt.timedelta(days=offset)
        due = []
        for person in writers:
            rule = book.rule_for(person)
            joined = person.hired_on or timezone.localtime(person.date_joined).date()
            deadline = _aware(deadline_for(day, rule))
            if rule.is_workday(day) and deadline < now and day >= joined:
                due.append((person, deadline))
        if due:
            marked += _mark_day(day, due, now)
    return marked


@transaction.atomic
def _mark_day(day: dt.date, due: list[tuple[User, dt.datetime]], now: dt.datetime) -> int:
    ids = [p.pk for p, _d in due]
    existing = set(WorkLog.objects.filter(day=day, user_id__in=ids).values_list("user_id", flat=True))
    new = [WorkLog(user=p, day=day, status=LogStatus.MISSING, deadline_at=d, marked_missing_at=now)
           for p, d in due if p.pk not in existing]
    WorkLog.objects.bulk_create(new, ignore_conflicts=True)
    # Re-read: with ignore_conflicts the primary keys are not returned on every database.
    with_version = WorkLogVersion.objects.filter(log__day=day).values("log_id")
    fresh = list(WorkLog.objects.filter(day=day, user_id__in=[log.user_id for log in new], status=LogStatus.MISSING)
                 .exclude(pk__in=with_version).select_related("user"))
    WorkLogVersion.objects.bulk_create([WorkLogVersion(log=log, number=1) for log in fresh], ignore_conflicts=True)
    drafts = list(WorkLog.objects.filter(day=day, user_id__in=ids, status=LogStatus.DRAFT).values_list("pk",
                                                                                                      flat=True))
    WorkLog.objects.filter(pk__in=drafts, status=LogStatus.DRAFT).update(
        status=LogStatus.MISSING, marked_missing_at=now, updated_at=now)
    turned = list(WorkLog.objects.filter(pk__in=drafts, status=LogStatus.MISSING, marked_missing_at=now)
                  .values_list("pk", flat=True))
    entries = [AuditEntry(action="worklogs.log.mark_missing", object_type="worklogs.worklog", object_id=log.pk,
                          object_label=str(log), changes={"day": day.isoformat()}) for log in fresh]
    entries += [AuditEntry(action="worklogs.log.mark_missing", object_type="worklogs.worklog", object_id=pk,
                           changes={"day": day.isoformat(), "status": ["draft", "missing"]}) for pk in turned]
    if entries:
        audit_record_many(actor=None, entries=entries)
    return len(fresh) + len(turned)
