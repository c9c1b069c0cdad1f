"""Plan pages: my plans and the team's, the plan editor (goals, analysis, measures, the visit plan by day, daily
plans), submission and the supervisor's review, and plan versus actual with the supervisor's comments.

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.errors import DomainError, PermissionRefused
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.plans import selectors, services
from kamguard.plans.domain.months import month_add, month_parse, month_start
from kamguard.plans.forms import (
    DayPlanForm,
    PlanEditForm,
    PlanForm,
    ResultCommentForm,
    ReviewForm,
    VisitAddForm,
)
from kamguard.plans.models import MarketingPlan, PlanStatus


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _may_write(viewer: User) -> bool:
    return viewer.has_right(Right.EDIT_BUSINESS_DATA)


@page_view()
def plan_home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    month = month_parse(request.GET.get("month", ""))
    mine = selectors.plan_list(viewer=viewer, user_id=viewer.pk)
    this_month = month_start(timezone.localdate())
    has_current = mine.filter(month=this_month).exists()
    context: dict[str, Any] = {
        "mine": list(mine[:24]), "month": month, "this_month": this_month, "next_month": month_add(this_month, 1),
        "may_create": _may_write(viewer), "has_current": has_current,
        "sees_team": viewer.scope >= Scope.TEAM,
    }
    if viewer.scope >= Scope.TEAM:
        team = selectors.plan_list(viewer=viewer, month=month, status=request.GET.get("status", "")).exclude(
            user=viewer)
        context["waiting"] = list(selectors.plans_waiting_review(viewer=viewer)[:50])
        context["page"] = paginate(request, team)
        context["statuses"] = PlanStatus.choices
    return render(request, "plans/home.html", context)


@page_view(Right.EDIT_BUSINESS_DATA)
def plan_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    initial_month = month_parse(request.GET.get("month", "")) or month_start(timezone.localdate())
    form = PlanForm(request.POST or None, initial={"month": f"{initial_month:%Y-%m}"})
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(actor=viewer, month=form.cleaned_data["month"],
                                        goals=form.cleaned_data["goals"], analysis=form.cleaned_data["analysis"],
                                        measures=form.cleaned_data["measures"])
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Plan started. Now plan your visits."))
            return redirect("plans:plan_detail", plan.pk)
    return render(request, "plans/form.html", {"form": form, "title": _("New monthly marketing plan"),
                                               "cancel_url": "/plans/"})


@page_view(Right.EDIT_BUSINESS_DATA)
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    viewer = _viewer(request)
    plan = selectors.plan_get(viewer=viewer, plan_id=plan_id)
    _require_author(viewer, plan)
    form = PlanEditForm(request.POST or None, initial={"goals": plan.goals, "analysis": plan.analysis,
                                                       "measures": plan.measures})
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_update(actor=viewer, plan_id=plan.pk, **form.cleaned_data)
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Plan saved."))
            return redirect("plans:plan_detail", plan.pk)
    return render(request, "plans/form.html", {"form": form, "cancel_url": f"/plans/{plan.pk}/",
                                               "title": _("Plan for %(month)s") % {"month": f"{plan.month:%Y-%m}"}})


AUTHOR_ACTIONS = ("visit_add", "visit_remove", "day_save", "submit")


def _require_author(viewer: User, plan: MarketingPlan) -> None:
    """Refused up front (not as a form error) for anyone but the plan's author."""
    if plan.user_id != viewer.pk or not _may_write(viewer):
        raise PermissionRefused(_("Only the plan's author may change it."), extra={"right": "plans.edit"})


def _customer_choices(viewer: User) -> list[tuple[int, str]]:
    from kamguard.customers.selectors import customer_list

    rows = customer_list(viewer=viewer, owner_id=viewer.pk).values_list("pk", "name", "tier")[:1000]
    return [(pk, f"{name} · {tier}") for pk, name, tier in rows]


def _detail_context(request: HttpRequest, viewer: User, plan: MarketingPlan, **forms: Any) -> dict[str, Any]:
    is_author = plan.user_id == viewer.pk and _may_write(viewer)
    editable = is_author and plan.is_editable
    visits = list(selectors.plan_visits(plan=plan))
    by_day: dict[Any, list[Any]] = {}
    for item in visits:
        by_day.setdefault(item.planned_on, []).append(item)
    may_review = services.may_review(viewer, plan)
    context = {
        "plan": plan, "visits_by_day": sorted(by_day.items()), "visit_count": len(visits),
        "days": list(plan.days.all()), "editable": editable, "is_author": is_author,
        "may_review": may_review and plan.status == PlanStatus.SUBMITTED,
    }
    if editable:
        context["visit_form"] = forms.get("visit_form") or VisitAddForm(customers=_customer_choices(viewer),
                                                                        month=plan.month)
        context["day_form"] = forms.get("day_form") or DayPlanForm()
    if context["may_review"]:
        context["review_form"] = forms.get("review_form") or ReviewForm()
    context["submit_error"] = forms.get("submit_error")
    return context


@page_view()
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan and its editor. POST `action`: visit_add, visit_remove, day_save, submit, review."""
    viewer = _viewer(request)
    plan = selectors.plan_get(viewer=viewer, plan_id=plan_id)
    if request.method != "POST":
        return render(request, "plans/detail.html", _detail_context(request, viewer, plan))
    action = request.POST.get("action", "")
    if action in AUTHOR_ACTIONS:
        _require_author(viewer, plan)
    forms: dict[str, Any] = {}
    try:
        if action == "visit_add":
            form = VisitAddForm(request.POST, customers=_customer_choices(viewer), month=plan.month)
            forms["visit_form"] = form
            if form.is_valid():
                try:
                    services.plan_visit_add(actor=viewer, plan_id=plan.pk, customer_id=form.cleaned_data["customer"],
                                            planned_on=form.cleaned_data["planned_on"],
                                            purpose=form.cleaned_data["purpose"])
                except DomainError as exc:
                    form_apply_error(form, exc)
                else:
                    messages.success(request, _("Visit planned."))
                    return redirect(f"/plans/{plan.pk}/#visits")
        elif action == "visit_remove":
            item = request.POST.get("item", "")
            services.plan_visit_remove(actor=viewer, item_id=int(item) if item.isdigit() else 0,
                                       reason=request.POST.get("reason", ""))
            messages.success(request, _("Visit taken out of the plan."))
            return redirect(f"/plans/{plan.pk}/#visits")
        elif action == "day_save":
            day_form = DayPlanForm(request.POST)
            forms["day_form"] = day_form
            if day_form.is_valid():
                try:
                    services.daily_plan_save(actor=viewer, plan_id=plan.pk, day=day_form.cleaned_data["day"],
                                             content=day_form.cleaned_data["content"])
                except DomainError as exc:
                    form_apply_error(day_form, exc)
                else:
                    messages.success(request, _("Daily plan saved."))
                    return redirect(f"/plans/{plan.pk}/#days")
        elif action == "submit":
            try:
                services.plan_submit(actor=viewer, plan_id=plan.pk)
            except DomainError as exc:
                if exc.status == 403 or exc.status == 404:
                    raise
                forms["submit_error"] = exc
            else:
                messages.success(request, _("Plan submitted to your supervisor."))
                return redirect("plans:plan_detail", plan.pk)
        elif action == "review":
            review_form = ReviewForm(request.POST)
            forms["review_form"] = review_form
            if review_form.is_valid():
                try:
                    services.plan_review(actor=viewer, plan_id=plan.pk,
                                         approve=review_form.cleaned_data["decision"] == "approve",
                                         comment=review_form.cleaned_data["comment"])
                except DomainError as exc:
                    if exc.status == 403:
                        raise
                    form_apply_error(review_form, exc)
                else:
                    messages.success(request, _("Review recorded."))
                    return redirect("plans:plan_detail", plan.pk)
        else:
            messages.error(request, _("Unknown action."))
            return redirect("plans:plan_detail", plan.pk)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
        return redirect("plans:plan_detail", plan.pk)
    plan = selectors.plan_get(viewer=viewer, plan_id=plan_id)
    return render(request, "plans/detail.html", _detail_context(request, viewer, plan, **forms), status=422)


@page_view()
def plan_result(request: HttpRequest, plan_id: int) -> HttpResponse:
    viewer = _viewer(request)
    result = selectors.plan_result(viewer=viewer, plan_id=plan_id)
    plan = result.plan
    may_comment = services.may_review(viewer, plan) and plan.status == PlanStatus.APPROVED
    form = ResultCommentForm(request.POST or None, initial={"comment": plan.result_comment}) if may_comment else None
    status = 200
    if request.method == "POST":
        if form is None:
            services.plan_result_comment(actor=viewer, plan_id=plan.pk, comment=request.POST.get("comment", ""))
        elif form.is_valid():
            try:
                services.plan_result_comment(actor=viewer, plan_id=plan.pk, comment=form.cleaned_data["comment"])
            except DomainError as exc:
                if exc.status == 403:
                    raise
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Comments saved."))
                return redirect("plans:plan_result", plan.pk)
        status = 422
    return render(request, "plans/result.html", {"result": result, "plan": plan, "actual": result.actual,
                                                 "form": form, "today": timezone.localdate()}, status=status)
