"""Goals pages: my objectives and targets (and, for supervisors, the team's), an objective with its key results,
check-ins and history, the objective and key result forms, a team's OKR tree, and the targets grid
(team × months).

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.errors import DomainError, PermissionRefused, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.goals import access, selectors, services
from kamguard.goals.domain.months import add_months, month_start, parse_month
from kamguard.goals.forms import CheckInForm, KeyResultForm, ObjectiveForm, StatusForm
from kamguard.goals.models import KeyResult, Objective, ObjectiveStatus
from kamguard.goals.services import STATUS_FLOW, TargetChange
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import Team, User


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(text: str | None) -> int | None:
    """A record id or count from a query or form field; None unless plain ASCII digits that fit a database id
    ("²".isdigit() is true, but int("²") raises)."""
    if not text or not re.fullmatch(r"[0-9]{1,18}", text):
        return None
    return int(text)


def _quarter(day: dt.date) -> tuple[dt.date, dt.date]:
    first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return first, add_months(first, 3) - dt.timedelta(days=1)


@page_view()
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    today = timezone.localdate()
    every_period = bool(request.GET.get("all"))
    mine = list(selectors.objective_list(viewer=viewer, owner_user_id=viewer.pk,
                                         on=None if every_period else today).exclude(
        status=ObjectiveStatus.CANCELLED)[:100])
    team_objectives = list(selectors.objective_list(viewer=viewer, team_id=viewer.team_id, on=today).exclude(
        status=ObjectiveStatus.CANCELLED)) if viewer.team_id else []
    this_month = month_start(today)
    targets = list(selectors.target_list(viewer=viewer, user_id=viewer.pk, start=add_months(this_month, -5),
                                         end=add_months(this_month, 6)))
    context: dict[str, Any] = {
        "mine": mine, "team_objectives": team_objectives, "targets": targets, "today": today,
        "may_create": access.may_edit(viewer), "this_month": this_month, "every_period": every_period,
        "progress": selectors.progress_of(mine + team_objectives),
    }
    teams = list(selectors.teams_for_grid(viewer=viewer))
    if viewer.scope >= Scope.TEAM or any(t.pk != viewer.team_id for t in teams):
        status = request.GET.get("status", "")
        query = request.GET.get("q", "").strip()[:100]
        others = selectors.objective_list(viewer=viewer, status=status if status in ObjectiveStatus.values else "",
                                          query=query, on=None if every_period else today).exclude(
            owner_user=viewer).exclude(owner_team_id=viewer.team_id or 0)
        page = paginate(request, others)
        context.update({"teams": teams, "page": page, "statuses": ObjectiveStatus.choices,
                        "others_progress": selectors.progress_of(list(page.object_list)), "query": query})
    return render(request, "goals/home.html", context)


def _owner_choices(viewer: User) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    if access.may_edit(viewer):
        choices.append((f"u:{viewer.pk}", _("Me (%(name)s)") % {"name": viewer}))
    if access.is_supervisor(viewer):
        for person in selectors.people_visible(viewer=viewer).exclude(pk=viewer.pk).order_by("full_name", "pk")[:500]:
            if access.may_supervise(viewer, person):
                choices.append((f"u:{person.pk}", f"{person}" + (f" · {person.team}" if person.team else "")))
    for team in Team.objects.filter(access.teams_led(viewer), is_active=True).order_by("name", "pk")[:200]:
        choices.append((f"t:{team.pk}", _("Team %(name)s") % {"name": team}))
    return choices


def _parent_choices(viewer: User) -> list[tuple[int, str]]:
    rows = selectors.objective_list(viewer=viewer).filter(owner_team__isnull=False).exclude(
        status=ObjectiveStatus.CANCELLED)[:200]
    return [(o.pk, f"{o.owner_team} · {o.title} ({o.period_start:%Y-%m-%d} – {o.period_end:%Y-%m-%d})") for o in rows]


@page_view(Right.EDIT_BUSINESS_DATA)
def objective_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    owners = _owner_choices(viewer)
    start, end = _quarter(timezone.localdate())
    initial: dict[str, Any] = {"owner": request.GET.get("owner") or f"u:{viewer.pk}", "period_start": start,
                               "period_end": end}
    parent_id = _int(request.GET.get("parent"))
    if parent_id:
        parent = selectors.objective_list(viewer=viewer).filter(pk=parent_id).first()
        if parent is not None:
            initial.update({"parent": parent.pk, "period_start": parent.period_start,
                            "period_end": parent.period_end})
    form = ObjectiveForm(request.POST or None, owners=owners, parents=_parent_choices(viewer), initial=initial)
    if request.method == "POST" and form.is_valid():
        kind, _sep, number = form.cleaned_data["owner"].partition(":")
        data = {k: form.cleaned_data[k] for k in ("title", "description", "measure", "relevance", "period_start",
                                                  "period_end", "deadline")}
        try:
            objective = services.objective_create(
                actor=viewer, owner_user_id=int(number) if kind == "u" else None,
                owner_team_id=int(number) if kind == "t" else None, parent_id=form.cleaned_data["parent"], **data)
        except DomainError as exc:
            if exc.status == 403:
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Objective created as a draft. Add its key results, then activate it."))
            return redirect("goals:objective_detail", objective.pk)
    return render(request, "goals/form.html", {"form": form, "title": _("New objective"),
                                               "cancel_url": reverse("goals:home")},
                  status=422 if request.method == "POST" else 200)


def _require_write(viewer: User, objective: Objective) -> None:
    if not access.may_write_objective(viewer, objective):
        raise PermissionRefused(_("Only the objective's owner and their supervisor may change it."),
                                extra={"right": "goals.objective.edit"})


@page_view(Right.EDIT_BUSINESS_DATA)
def objective_edit(request: HttpRequest, objective_id: int) -> HttpResponse:
    viewer = _viewer(request)
    objective = selectors.objective_get(viewer=viewer, objective_id=objective_id)
    _require_write(viewer, objective)
    initial = {"title": objective.title, "description": objective.description, "measure": objective.measure,
               "relevance": objective.relevance, "period_start": objective.period_start,
               "period_end": objective.period_end, "deadline": objective.deadline, "parent": objective.parent_id}
    parents = [] if objective.is_team else _parent_choices(viewer)
    form = ObjectiveForm(request.POST or None, owners=None, parents=parents, initial=initial)
    if objective.is_team:
        del form.fields["parent"]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if "parent" in data:
            data["parent_id"] = data.pop("parent")
        try:
            services.objective_update(actor=viewer, objective_id=objective.pk, **data)
        except DomainError as exc:
            if exc.status == 403:
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Objective saved."))
            return redirect("goals:objective_detail", objective.pk)
    return render(request, "goals/form.html", {"form": form, "title": _("Edit objective"),
                                               "cancel_url": reverse("goals:objective_detail", args=[objective.pk])},
                  status=422 if request.method == "POST" else 200)


def _detail_context(viewer: User, objective: Objective, **forms: Any) -> dict[str, Any]:
    krs = selectors.key_results_of(objective)
    children = list(selectors.objective_list(viewer=viewer).filter(parent=objective).exclude(
        status=ObjectiveStatus.CANCELLED))
    progress = selectors.progress_of([objective, *children])
    writable = access.may_write_objective(viewer, objective)
    is_open = objective.status in services.OPEN_STATUSES
    context: dict[str, Any] = {
        "objective": objective, "krs": krs, "children": children, "progress": progress,
        "writable": writable, "is_open": is_open,
        "history": list(selectors.check_in_history(key_result_ids=[v.kr.pk for v in krs])),
        "may_add_child": (objective.is_team and objective.status != ObjectiveStatus.CANCELLED
                          and access.may_edit(viewer)),
    }
    if writable:
        if is_open:
            context["kr_form"] = forms.get("kr_form") or KeyResultForm()
        if objective.status == ObjectiveStatus.ACTIVE and krs:
            context["check_in_form"] = forms.get("check_in_form") or CheckInForm(
                key_results=[(v.kr.pk, v.kr.title) for v in krs])
        statuses = [(s, ObjectiveStatus(s).label) for s in STATUS_FLOW[objective.status]]
        form = forms.get("status_form") or StatusForm()
        form.fields["status"].choices = statuses  # type: ignore[union-attr]
        context["status_form"] = form
    return context


@page_view()
def objective_detail(request: HttpRequest, objective_id: int) -> HttpResponse:
    """The objective. POST `action`: kr_add, kr_delete, check_in, status (owner, their supervisor, or for a
    team's objective the team's supervisor)."""
    viewer = _viewer(request)
    objective = selectors.objective_get(viewer=viewer, objective_id=objective_id)
    if request.method != "POST":
        return render(request, "goals/detail.html", _detail_context(viewer, objective))
    _require_write(viewer, objective)
    action = request.POST.get("action", "")
    forms: dict[str, Any] = {}
    url = reverse("goals:objective_detail", args=[objective.pk])
    try:
        if action == "kr_add":
            kr_form = KeyResultForm(request.POST)
            forms["kr_form"] = kr_form
            if kr_form.is_valid():
                try:
                    services.key_result_create(actor=viewer, objective_id=objective.pk, **kr_form.cleaned_data)
                except DomainError as exc:
                    if exc.status in (403, 404):
                        raise
                    form_apply_error(kr_form, exc)
                else:
                    messages.success(request, _("Key result added."))
                    return redirect(url + "#key-results")
        elif action == "kr_delete":
            services.key_result_delete(actor=viewer, key_result_id=_int(request.POST.get("key_result")) or 0)
            messages.success(request, _("Key result removed."))
            return redirect(url + "#key-results")
        elif action == "check_in":
            krs = [(kr.pk, kr.title) for kr in objective.key_results.order_by("pk")]
            ci_form = CheckInForm(request.POST, key_results=krs)
            forms["check_in_form"] = ci_form
            if ci_form.is_valid():
                try:
                    services.check_in(actor=viewer, key_result_id=ci_form.cleaned_data["key_result"],
                                      value=ci_form.cleaned_data["value"],
                                      confidence=ci_form.cleaned_data["confidence"],
                                      note=ci_form.cleaned_data["note"])
                except DomainError as exc:
                    if exc.status in (403, 404):
                        raise
                    form_apply_error(ci_form, exc)
                else:
                    if request.htmx:  # type: ignore[attr-defined]
                        # The form swaps the objective's part of the page in place: show the notice there.
                        objective = selectors.objective_get(viewer=viewer, objective_id=objective_id)
                        return render(request, "goals/detail.html", {
                            **_detail_context(viewer, objective), "notice": _("Check-in recorded.")})
                    messages.success(request, _("Check-in recorded."))
                    return redirect(url + "#key-results")
        elif action == "status":
            status_form = StatusForm(request.POST)
            status_form.fields["status"].choices = ObjectiveStatus.choices  # type: ignore[attr-defined]
            forms["status_form"] = status_form
            if status_form.is_valid():
                try:
                    services.objective_status_set(actor=viewer, objective_id=objective.pk,
                                                  status=status_form.cleaned_data["status"],
                                                  reason=status_form.cleaned_data["reason"])
                except DomainError as exc:
                    if exc.status in (403, 404):
                        raise
                    form_apply_error(status_form, exc)
                else:
                    messages.success(request, _("Status changed."))
                    return redirect(url)
        else:
            messages.error(request, _("Unknown action."))
            return redirect(url)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
        return redirect(url)
    objective = selectors.objective_get(viewer=viewer, objective_id=objective_id)
    # htmx swaps only successful responses: a form with its errors comes back as 200 to it, 422 otherwise.
    return render(request, "goals/detail.html", _detail_context(viewer, objective, **forms),
                  status=200 if request.htmx else 422)  # type: ignore[attr-defined]


@page_view(Right.EDIT_BUSINESS_DATA)
def key_result_edit(request: HttpRequest, key_result_id: int) -> HttpResponse:
    viewer = _viewer(request)
    kr = KeyResult.objects.filter(pk=key_result_id).first()
    objective = selectors.objective_get(viewer=viewer, objective_id=kr.objective_id if kr else 0)
    assert kr is not None
    _require_write(viewer, objective)
    form = KeyResultForm(request.POST or None, initial={
        "title": kr.title, "unit": kr.unit, "start_value": kr.start_value, "target_value": kr.target_value,
        "weight": kr.weight, "due_date": kr.due_date})
    if request.method == "POST" and form.is_valid():
        try:
            services.key_result_update(actor=viewer, key_result_id=kr.pk, **form.cleaned_data)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Key result saved."))
            return redirect(reverse("goals:objective_detail", args=[objective.pk]) + "#key-results")
    return render(request, "goals/form.html", {
        "form": form, "title": _("Edit key result"),
        "cancel_url": reverse("goals:objective_detail", args=[objective.pk])},
        status=422 if request.method == "POST" else 200)


@page_view()
def team_tree(request: HttpRequest, team_id: int) -> HttpResponse:
    viewer = _viewer(request)
    text = request.GET.get("on", "")
    try:
        on = dt.date.fromisoformat(text) if text else timezone.localdate()
    except ValueError:
        on = timezone.localdate()
    team, nodes = selectors.team_tree(viewer=viewer, team_id=team_id, on=None if request.GET.get("all") else on)
    return render(request, "goals/tree.html", {
        "team": team, "nodes": nodes, "on": on, "show_all": bool(request.GET.get("all")),
        "may_create": access.may_lead_team(viewer, team)})


GRID_MONTHS = (3, 6, 12)


@page_view()
def targets(request: HttpRequest) -> HttpResponse:
    """The targets grid: a team's members × months. Supervisors change the cells of the people they supervise
    (all valid or nothing saved); everyone else who may see the team reads it."""
    viewer = _viewer(request)
    teams = list(selectors.teams_for_grid(viewer=viewer))
    params = request.POST if request.method == "POST" else request.GET
    team_id = _int(params.get("team")) or (viewer.team_id if any(t.pk == viewer.team_id for t in teams) else None) \
        or (teams[0].pk if teams else None)
    this_month = month_start(timezone.localdate())
    first = parse_month(params.get("from", "")) or add_months(this_month, -2)
    count = _int(params.get("months")) or 6
    if count not in GRID_MONTHS:
        count = 6
    context: dict[str, Any] = {"teams": teams, "team_id": team_id, "first": first, "count": count,
                               "month_counts": GRID_MONTHS, "errors": {}}
    if team_id is None:
        return render(request, "goals/targets.html", context)
    grid = selectors.target_grid(viewer=viewer, team_id=team_id, first=first, months=count)
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not grid.editable:
            raise PermissionRefused(_("Only a supervisor of these people may set their targets."),
                                    extra={"right": "goals.targets"})
        changes: list[TargetChange] = []
        positions: dict[int, str] = {}
        for person in grid.people:
            if person.pk not in grid.editable:
                continue
            for month in grid.months:
                key = f"t-{person.pk}-{month:%Y-%m}"
                if key not in request.POST:
                    continue
                raw = request.POST.get(key, "").strip().replace(",", "")
                values[key] = raw
                existing = grid.cells.get((person.pk, month))
                current = f"{existing.amount:.2f}" if existing else ""
                if raw == current or (existing and raw and _same(raw, existing.amount)):
                    continue
                positions[len(changes)] = key
                changes.append(TargetChange(user_id=person.pk, month=month, amount=None if raw == "" else raw,  # type: ignore[arg-type]
                                            note=existing.note if existing else ""))
        try:
            counts = services.targets_set_bulk(actor=viewer, changes=changes)
        except ValidationFailed as exc:
            errors: dict[str, list[str]] = {}
            for name, msgs in exc.field_errors.items():
                index = _int(name.removeprefix("entries[").split("]")[0])
                errors[positions.get(index if index is not None else -1, "")] = msgs
            context["errors"] = errors
            context["form_error"] = exc.message
            status = 422
        else:
            messages.success(request, _("Targets saved: %(set)s set, %(removed)s removed.") % counts)
            return redirect(f"{reverse('goals:targets')}?team={team_id}&from={first:%Y-%m}&months={count}")
    rows = []
    for person in grid.people:
        cells = []
        for month in grid.months:
            key = f"t-{person.pk}-{month:%Y-%m}"
            target = grid.cells.get((person.pk, month))
            value = values.get(key, f"{target.amount:.2f}" if target else "")
            cells.append({"key": key, "month": month, "target": target, "value": value,
                          "errors": context["errors"].get(key, [])})
        rows.append({"person": person, "cells": cells, "editable": person.pk in grid.editable,
                     "total": grid.totals_by_person.get(person.pk)})
    context.update({"grid": grid, "rows": rows, "editable": bool(grid.editable),
                    "totals": [grid.totals_by_month.get(m) for m in grid.months],
                    "previous": add_months(first, -count), "next": add_months(first, count)})
    return render(request, "goals/targets.html", context, status=status)


def _same(raw: str, amount: Decimal) -> bool:
    try:
        return Decimal(raw) == amount
    except ArithmeticError:
        return False
