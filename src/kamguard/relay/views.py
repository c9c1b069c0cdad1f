"""Relay pages: my forms (received and sent), a new form, a form with its steps, routing rules, the daily report.

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from kamguard.core.errors import Conflict, NotFound, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.relay import selectors, services
from kamguard.relay.forms import CategoryForm, FeedbackForm, HandleForm, RelayForm, ReportForm, RuleForm
from kamguard.relay.models import RelayCategory, RelayStatus

BOXES = ("received", "sent", "all")


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    box = request.GET.get("box", "received")
    if box not in BOXES or (box == "all" and viewer.scope <= Scope.OWN):
        box = "received"
    status = request.GET.get("status", "")
    if status not in ("open", *RelayStatus.values):
        status = ""
    overdue_only = request.GET.get("overdue") == "1"
    now = timezone.now()
    customer_id = _int(request.GET.get("customer"))
    if customer_id and box != "all" and viewer.scope > Scope.OWN:
        box = "all"
    qs = selectors.form_list(viewer=viewer, box="" if box == "all" else box, status=status,
                             category_id=_int(request.GET.get("category")), search=request.GET.get("q", "")[:100],
                             overdue_only=overdue_only, customer_id=customer_id, now=now)
    page = paginate(request, qs)
    rows = [(f, selectors.form_is_overdue(f, now)) for f in page.object_list]
    counts = {
        "waiting": selectors.waiting_for(user_ids=[viewer.pk]).count(),
        "overdue": selectors.overdue(user_ids=[viewer.pk], now=now).count(),
    }
    return render(request, "relay/home.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "box": box, "status": status,
        "statuses": RelayStatus.choices, "categories": RelayCategory.objects.order_by("code"),
        "overdue_only": overdue_only, "counts": counts, "see_all": viewer.scope > Scope.OWN,
        "can_send": viewer.has_right(Right.EDIT_BUSINESS_DATA), "can_configure": viewer.has_right(Right.MANAGE_ORG)})


@page_view(Right.EDIT_BUSINESS_DATA)
def form_new(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    initial: dict[str, Any] = {}
    if _int(request.GET.get("customer")):
        initial["customer"] = request.GET["customer"]
    form = RelayForm(request.POST or None, viewer=viewer, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = services.relay_send(actor=viewer, category_id=data["category"].pk, content=data["content"],
                                       suggestions=data["suggestions"], receiver_id=data["receiver"],
                                       customer_id=data["customer"], relayed_at=data["relayed_at"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Form %(number)s sent to %(receiver)s.") % {
                "number": sent.number, "receiver": sent.receiver})
            return redirect("relay:detail", form_id=sent.pk)
    return render(request, "relay/form_new.html", {"form": form, "title": _("New relay form")},
                  status=422 if form.is_bound else 200)


@page_view(Right.VIEW_ORG)
def detail(request: HttpRequest, form_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = selectors.form_get(viewer=viewer, form_id=form_id)
    return _detail(request, viewer, form)


def _detail(request: HttpRequest, viewer: User, form: Any, *, handle_form: HandleForm | None = None,
            feedback_form: FeedbackForm | None = None, status: int = 200) -> HttpResponse:
    is_receiver = form.receiver_id == viewer.pk and viewer.has_right(Right.EDIT_BUSINESS_DATA)
    now = timezone.now()
    steps = [
        (pgettext("relay status", "Sent"), form.relayed_at, form.provider, None),
        (pgettext("relay status", "Received"), form.received_at, form.received_by, form.receive_due),
        (pgettext("relay status", "Handled"), form.handled_at, form.handled_by, form.handle_due),
        (pgettext("relay status", "Fed back"), form.fed_back_at, form.fed_back_by, form.feedback_due),
    ]
    step_rows = [{"label": label, "at": at, "by": by, "due": due,
                  "late": bool(due and ((at and at > due) or (not at and due < now)))}
                 for label, at, by, due in steps]
    return render(request, "relay/detail.html", {
        "f": form, "steps": step_rows, "overdue": selectors.form_is_overdue(form, now),
        "may_receive": is_receiver and form.status == RelayStatus.SENT,
        "may_handle": is_receiver and form.status in (RelayStatus.SENT, RelayStatus.RECEIVED),
        "may_feedback": is_receiver and form.status == RelayStatus.HANDLED,
        "handle_form": handle_form or HandleForm(), "feedback_form": feedback_form or FeedbackForm(),
    }, status=status)


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def step(request: HttpRequest, form_id: int, action: str) -> HttpResponse:
    viewer = _viewer(request)
    form = selectors.form_get(viewer=viewer, form_id=form_id)
    handle_form = HandleForm(request.POST) if action == "handle" else None
    feedback_form = FeedbackForm(request.POST) if action == "feedback" else None
    try:
        if action == "receive":
            services.relay_receive(actor=viewer, form_id=form.pk)
            messages.success(request, _("Receipt recorded."))
        elif action == "handle":
            assert handle_form is not None
            if not handle_form.is_valid():
                return _detail(request, viewer, form, handle_form=handle_form, status=422)
            services.relay_handle(actor=viewer, form_id=form.pk, opinion=handle_form.cleaned_data["handling_opinion"],
                                  quality=handle_form.cleaned_data["quality"])
            messages.success(request, _("Handling opinion recorded."))
        elif action == "feedback":
            assert feedback_form is not None
            if not feedback_form.is_valid():
                return _detail(request, viewer, form, feedback_form=feedback_form, status=422)
            services.relay_feedback(actor=viewer, form_id=form.pk, feedback=feedback_form.cleaned_data["feedback"])
            messages.success(request, _("Feedback sent to the provider; the form is closed."))
        else:
            raise NotFound()
    except ValidationFailed as exc:
        target = handle_form or feedback_form
        if target is None:
            raise
        form_apply_error(target, exc)
        return _detail(request, viewer, form, handle_form=handle_form, feedback_form=feedback_form, status=422)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    return redirect("relay:detail", form_id=form.pk)


@page_view(Right.VIEW_ORG)
def customer_section(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer page's panel (loaded by htmx from relay/_customer_panel.html): its latest forms."""
    from kamguard.customers.selectors import customer_get

    viewer = _viewer(request)
    customer = customer_get(viewer=viewer, customer_id=customer_id)
    now = timezone.now()
    qs = selectors.form_list(viewer=viewer, customer_id=customer.pk)
    rows = [(f, selectors.form_is_overdue(f, now)) for f in qs[:5]]
    return render(request, "relay/_customer_section.html", {
        "customer": customer, "rows": rows, "total": qs.count(),
        "can_send": viewer.has_right(Right.EDIT_BUSINESS_DATA)})


# ---------------------------------------------------------------- routing rules (administrators)

@page_view(Right.MANAGE_ORG)
def rules(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    rule_form = RuleForm(request.POST if request.POST.get("kind") == "rule" else None, prefix="rule")
    category_form = CategoryForm(request.POST if request.POST.get("kind") == "category" else None, prefix="cat",
                                 initial={"receive_hours": 24, "handle_hours": 72, "feedback_hours": 120})
    status = 200
    if request.method == "POST":
        target: RuleForm | CategoryForm = rule_form if request.POST.get("kind") == "rule" else category_form
        if target.is_valid():
            data = target.cleaned_data
            try:
                if target is rule_form:
                    services.rule_save(actor=viewer, category_id=data["category"].pk,
                                       department_id=data["department"].pk if data["department"] else None,
                                       post_id=data["post"].pk if data["post"] else None, person_id=data["person"],
                                       position=data["position"] or 0)
                    messages.success(request, _("Routing rule added."))
                else:
                    category_id = _int(request.POST.get("category_id"))
                    services.category_save(actor=viewer, category_id=category_id, **data)
                    messages.success(request, _("Category saved."))
                return redirect("relay:rules")
            except ValidationFailed as exc:
                form_apply_error(target, exc)
        status = 422
    categories = RelayCategory.objects.order_by("code")
    edit_forms = [(c, CategoryForm(prefix=f"c{c.pk}", initial={
        "code": c.code, "name": c.name, "name_en": c.name_en, "receive_hours": c.receive_hours,
        "handle_hours": c.handle_hours, "feedback_hours": c.feedback_hours, "is_active": c.is_active}))
        for c in categories]
    return render(request, "relay/rules.html", {
        "rules": selectors.rules_list(), "categories": categories, "rule_form": rule_form,
        "category_form": category_form, "edit_forms": edit_forms}, status=status)


@require_POST
@page_view(Right.MANAGE_ORG)
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = CategoryForm(request.POST, prefix=f"c{category_id}")
    if form.is_valid():
        try:
            services.category_save(actor=viewer, category_id=category_id, **form.cleaned_data)
            messages.success(request, _("Category saved."))
        except ValidationFailed as exc:
            messages.error(request, "; ".join(str(m) for msgs in exc.field_errors.values() for m in msgs)
                           or str(exc.message))
    else:
        messages.error(request, "; ".join(str(m) for msgs in form.errors.values() for m in msgs))
    return redirect("relay:rules")


@require_POST
@page_view(Right.MANAGE_ORG)
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    services.rule_delete(actor=_viewer(request), rule_id=rule_id)
    messages.success(request, _("Routing rule removed."))
    return redirect("relay:rules")


# ---------------------------------------------------------------- daily report

@page_view(Right.VIEW_ORG)
def report(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = ReportForm(request.GET or None)
    day = timezone.localdate()
    if form.is_bound and form.is_valid() and form.cleaned_data["day"]:
        day = form.cleaned_data["day"]
    data = selectors.daily_report(viewer=viewer, day=day)
    for row in data["providers"]:
        row["on_time_pct"] = round(100 * row["on_time"] / row["sent"]) if row["sent"] else None
    for row in data["receivers"]:
        row["steps_pct"] = round(100 * row["steps_on_time"] / row["steps"]) if row["steps"] else None
    return render(request, "relay/report.html", {
        "form": form, "day": day, "data": data, "previous": day - dt.timedelta(days=1),
        "can_send": viewer.has_right(Right.EDIT_BUSINESS_DATA), "can_configure": viewer.has_right(Right.MANAGE_ORG),
        "next": day + dt.timedelta(days=1) if day < timezone.localdate() else None})
