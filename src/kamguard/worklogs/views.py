"""Work log pages: my log for today (prefilled from the day's records) and my past logs; a log with its versions
and reviews (and the review form for the author's supervisor); the review inbox; the team's excellent logs; the
quality trend; the deadline rules. Thin: selectors to read, services to write, errors shown in place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.errors import Conflict, DomainError, NotFound, PermissionRefused
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.models import Department, User
from kamguard.org.scopes import person_in_scope
from kamguard.worklogs import selectors, services
from kamguard.worklogs.access import is_reviewer, log_writers, may_review, may_set_deadline, may_write
from kamguard.worklogs.domain import deadline_for, trend_chart
from kamguard.worklogs.forms import DeadlineForm, LogForm, ReviewForm
from kamguard.worklogs.models import LogDeadline, LogStatus


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context.setdefault("is_reviewer", is_reviewer(_viewer(request)))
    return render(request, template, context)


def _clean_post(request: HttpRequest) -> dict[str, str]:
    return {k: str(v).replace("\x00", "") for k, v in request.POST.items()}


def _day(request: HttpRequest) -> dt.date:
    today = timezone.localdate()
    try:
        day = dt.date.fromisoformat(request.GET.get("day", "") or request.POST.get("day", ""))
    except ValueError:
        return today
    return min(day, today)


@page_view()
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    day = _day(request)
    log = selectors.log_for_day(viewer=viewer, day=day)
    reviewed = False
    if request.method == "POST" and not may_write(viewer):
        raise PermissionRefused()
    if request.method == "POST":
        form = LogForm(_clean_post(request))
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.log_save(actor=viewer, day=day, today_work=data["today_work"],
                                          visits=data["visits"], problems=data["problems"],
                                          tomorrow_plan=data["tomorrow_plan"], submit="submit" in request.POST,
                                          expected_version=data["expected_version"])
            except DomainError as exc:
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Log submitted.") if saved.status == LogStatus.SUBMITTED
                                 else _("Draft saved."))
                return redirect(f"{reverse('worklogs:home')}?day={day.isoformat()}")
    elif log is not None:
        version = selectors.current_version(log=log)
        reviewed = hasattr(version, "review")
        form = LogForm(initial={"today_work": version.today_work, "visits": version.visits,
                                "problems": version.problems, "tomorrow_plan": version.tomorrow_plan,
                                "expected_version": log.current_version})
    else:
        p = selectors.log_prefill(user=viewer, day=day)
        form = LogForm(initial={"today_work": p.today_work, "visits": p.visits, "problems": p.problems,
                                "tomorrow_plan": p.tomorrow_plan})
    rule = selectors.deadline_rule_for(viewer)
    page = paginate(request, selectors.log_list(viewer=viewer, user_id=viewer.pk).exclude(day=day))
    return _render(request, "worklogs/home.html", {
        "day": day, "log": log, "form": form, "reviewed": reviewed, "page": page, "logs": page.object_list,
        "deadline": deadline_for(day, rule), "is_workday": rule.is_workday(day), "may_write": may_write(viewer),
        "is_reviewer": is_reviewer(viewer),
        "waiting": selectors.reviews_waiting(reviewer=viewer) if is_reviewer(viewer) else 0,
        "yesterday": day - dt.timedelta(days=1), "tomorrow": day + dt.timedelta(days=1),
        "today": timezone.localdate()})


@page_view()
def log_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    person = request.GET.get("person", "")
    qs = selectors.log_list(viewer=viewer, user_id=int(person) if person.isdigit() else None,
                            state=request.GET.get("state", ""), search=request.GET.get("q", "").replace("\x00", "")[:100])
    page = paginate(request, qs)
    return _render(request, "worklogs/log_list.html", {
        "page": page, "logs": page.object_list, "people": selectors.people_reviewable(viewer=viewer)[:300]})


@page_view()
def log_detail(request: HttpRequest, log_id: int) -> HttpResponse:
    viewer = _viewer(request)
    log = selectors.log_get(viewer=viewer, log_id=log_id)
    versions = selectors.version_list(log=log)
    current = versions[0]
    can_review = (log.status == LogStatus.SUBMITTED and current.review_or_none is None  # type: ignore[attr-defined]
                  and may_review(viewer, log.user))
    form = None
    if can_review:
        form = ReviewForm(_clean_post(request) if request.method == "POST" else None,
                          initial={"version": current.number})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.log_review(actor=viewer, log_id=log.pk, evaluation=data["evaluation"],
                                    requirements=data["requirements"], suggestions=data["suggestions"],
                                    rating=data["rating"], is_excellent=data["is_excellent"],
                                    version=data["version"])
            except DomainError as exc:
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Review saved."))
                following = selectors.review_inbox(reviewer=viewer).first()
                return redirect("worklogs:log_detail", following.pk) if following else redirect("worklogs:inbox")
    elif request.method == "POST":
        if not may_review(viewer, log.user):
            raise PermissionRefused(_("Only the author's supervisor may review this log; nobody reviews their own."))
        raise Conflict(_("This version has already been reviewed.") if log.status == LogStatus.SUBMITTED
                       else _("Only a submitted log can be reviewed."))
    return _render(request, "worklogs/log_detail.html", {
        "log": log, "versions": versions, "current": current, "form": form, "is_own": log.user_id == viewer.pk})


@page_view()
def inbox(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not is_reviewer(viewer):
        raise PermissionRefused(_("The review inbox is for supervisors."))
    page = paginate(request, selectors.review_inbox(reviewer=viewer))
    return _render(request, "worklogs/inbox.html", {"page": page, "logs": page.object_list})


@page_view()
def excellent(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.excellent_logs(viewer=_viewer(request)))
    logs = list(page.object_list)
    contents = {v.log_id: v for v in _current_versions(logs)}
    for log in logs:
        log.content = contents.get(log.pk)  # type: ignore[attr-defined]
    return _render(request, "worklogs/excellent.html", {"page": page, "logs": logs})


def _current_versions(logs: list) -> list:
    from kamguard.worklogs.models import WorkLogVersion

    if not logs:
        return []
    q = Q()
    for log in logs:
        q |= Q(log_id=log.pk, number=log.current_version)
    return list(WorkLogVersion.objects.filter(q).select_related("review"))


@page_view()
def quality(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    everyone = list(selectors.people_reviewable(viewer=viewer)[:300])
    writers = set(User.objects.filter(log_writers(), pk__in=[p.pk for p in everyone]).values_list("pk", flat=True))
    # the people who write logs (a supervisor's own trend is empty: they review, they do not write)
    people = [p for p in everyone if p.pk in writers] or everyone
    wanted = request.GET.get("person", "")
    default = viewer if viewer.pk in writers or not people else people[0]
    person = next((p for p in people if str(p.pk) == wanted), None) or default
    if person.pk != viewer.pk and not person_in_scope(viewer, person):
        raise NotFound()
    weeks = 12
    points = selectors.quality_trend(person=person, weeks=weeks)
    today = timezone.localdate()
    start = today - dt.timedelta(weeks=weeks)
    ids = sorted(writers) or [viewer.pk]
    table = selectors.log_quality(user_ids=ids, start=start, end=today)
    names = {p.pk: p.full_name for p in everyone}
    names.setdefault(viewer.pk, viewer.full_name)
    rows = sorted(({"person_id": k, "name": names.get(k, ""), **v} for k, v in table.items()),
                  key=lambda r: (-(r["average_rating"] or 0), r["name"]))
    return _render(request, "worklogs/quality.html", {
        "person": person, "people": people, "chart": trend_chart(points), "points": points, "rows": rows,
        "start": start, "end": today, "chart_id": "trend"})


@page_view()
def deadlines(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    allowed = Department.objects.filter(is_active=True)
    if not may_set_deadline(viewer, None):
        allowed = allowed.filter(path__startswith=viewer.department.path) if viewer.department else allowed.none()
    can_set = may_set_deadline(viewer, None) or allowed.exists() and is_reviewer(viewer)
    form = DeadlineForm(_clean_post(request) if request.method == "POST" else None, departments=allowed)
    if request.method == "POST":
        if not can_set:
            raise PermissionRefused()
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.deadline_set(actor=viewer, department=data["department"], due_time=data["due_time"],
                                      day_offset=data["day_offset"], workdays=data["workdays"])
            except DomainError as exc:
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Deadline saved."))
                return redirect("worklogs:deadlines")
    rows = list(selectors.deadline_list(viewer=viewer))
    for row in rows:
        row.may_remove = may_set_deadline(viewer, row.department)  # type: ignore[attr-defined]
    return _render(request, "worklogs/deadlines.html", {"form": form, "rows": rows, "can_set": can_set,
                                                       "mine": selectors.deadline_rule_for(viewer)})


@page_view()
def deadline_remove(request: HttpRequest, deadline_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("worklogs:deadlines")
    if not LogDeadline.objects.filter(pk=deadline_id).exists():
        raise NotFound()
    services.deadline_remove(actor=_viewer(request), deadline_id=deadline_id)
    messages.success(request, _("Deadline removed."))
    return redirect("worklogs:deadlines")
