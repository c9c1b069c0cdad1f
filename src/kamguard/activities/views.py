"""Pages of visits and contacts, phone first: my day (today's visits with check-in, recent contacts, a quick
contact form), the list with filters, a visit's page with check-in and check-out, and the customer page's
section (an htmx fragment). Every write goes through the services; their refusals show in the form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.activities import selectors, services
from kamguard.activities.domain.geo import FAR_THRESHOLD_M
from kamguard.activities.forms import (
    CheckInForm,
    CheckOutForm,
    ContactForm,
    FilterForm,
    NoteForm,
    ReasonForm,
    VisitPlanForm,
)
from kamguard.activities.models import Activity, Kind, LocationStatus, Status
from kamguard.core.errors import Conflict, DomainError, PermissionRefused, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.domain.roles import Right
from kamguard.org.models import User

SORT_LABELS = ("-when", "when", "customer", "-customer", "person", "kind", "-distance")


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _can_write(viewer: User) -> bool:
    return viewer.has_right(Right.EDIT_BUSINESS_DATA)


def _thresholds() -> list[tuple[str, float]]:
    labels = {"district": _("district"), "city": _("city"), "province": _("province")}
    return [(labels[level], meters / 1000) for level, meters in FAR_THRESHOLD_M.items()]


def _customer_id(request: HttpRequest) -> int | None:
    raw = request.GET.get("customer", "")
    return int(raw) if raw.isdigit() else None


# ---------------------------------------------------------------- my day


@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    day = selectors.my_day(viewer=viewer)
    form = ContactForm(customers=selectors.customer_choices(viewer=viewer), prefix="contact") \
        if _can_write(viewer) else None
    return render(request, "activities/home.html", {
        "day": day, "today": timezone.localdate(), "form": form, "checkin_form": CheckInForm(),
        "can_write": _can_write(viewer), "thresholds": _thresholds()})


@page_view(Right.VIEW_ORG)
def contact_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not _can_write(viewer):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    prefix = "contact" if "contact-customer" in request.POST else None
    customers = selectors.customer_choices(viewer=viewer, include_id=_customer_id(request))
    form = ContactForm(request.POST or None, customers=customers, prefix=prefix,
                       initial={"customer": _customer_id(request)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.contact_record(
                actor=viewer, customer_id=data["customer"], kind=data["kind"], happened_at=data["happened_at"],
                summary=data["summary"], duration_min=data["duration_min"], outcome=data["outcome"],
                next_step=data["next_step"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Recorded: %(kind)s with %(customer)s.") % {
                "kind": activity.get_kind_display(), "customer": activity.customer.name})
            target = request.POST.get("next", "")
            if target == "home":
                return redirect("activities:home")
            return redirect("activities:detail", activity_id=activity.pk)
    return render(request, "activities/contact_form.html", {"form": form, "title": _("Record a contact")})


@page_view(Right.VIEW_ORG)
def visit_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not _can_write(viewer):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    form = VisitPlanForm(request.POST or None,
                         customers=selectors.customer_choices(viewer=viewer, include_id=_customer_id(request)),
                         companions=selectors.companion_choices(viewer=viewer),
                         initial={"customer": _customer_id(request)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.visit_plan(actor=viewer, customer_id=data["customer"], planned_on=data["planned_on"],
                                           purpose=data["purpose"], accompanied_by_id=data["accompanied_by"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Visit planned for %(day)s.") % {"day": activity.planned_on})
            if request.POST.get("start_now") and activity.planned_on == timezone.localdate():
                return redirect("activities:detail", activity_id=activity.pk)
            return redirect("activities:home")
    return render(request, "activities/visit_form.html", {"form": form, "title": _("Plan a visit")})


# ---------------------------------------------------------------- list


@page_view(Right.VIEW_ORG)
def activity_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    people = selectors.people_choices(viewer=viewer)
    filters = FilterForm(request.GET or None, people=people)
    sort = filters.value("sort") if filters.value("sort") in SORT_LABELS else "-when"
    qs = selectors.activity_list(
        viewer=viewer, search=filters.value("q") or "", user_id=filters.value("person"),
        customer_id=filters.value("customer"), kind=filters.value("kind") or "",
        status=filters.value("status") or "", start=filters.value("start"), end=filters.value("end"),
        far_only=bool(filters.value("far")), sort=sort)
    page = paginate(request, qs)
    return render(request, "activities/list.html", {
        "page": page, "activities": page.object_list, "total": page.paginator.count, "people": people,
        "kinds": Kind.choices, "statuses": Status.choices, "sort": sort, "can_write": _can_write(viewer)})


# ---------------------------------------------------------------- one visit or contact


def _plan_of(viewer: User, activity: Activity) -> Any:
    """The monthly plan a planned visit came from (shown as its month, linked), if the viewer may see it."""
    if not activity.plan_ref:
        return None
    from kamguard.plans.selectors import plan_for_reference

    return plan_for_reference(viewer=viewer, reference=activity.plan_ref)


def _detail_context(viewer: User, activity: Activity, **forms_: Any) -> dict[str, Any]:
    mine = activity.user_id == viewer.pk and _can_write(viewer)
    contacts = [(c.pk, f"{c.name} {c.title}".strip()) for c in activity.customer.contacts.filter(is_active=True)]
    can_accompany = (activity.kind == Kind.VISIT and activity.status != Status.CANCELLED
                     and activity.accompaniment_confirmed_at is None
                     and activity.accompanied_by_id in (None, viewer.pk) and services.may_accompany(viewer, activity.user))
    region = activity.customer.region
    return {
        "plan": _plan_of(viewer, activity),
        "activity": activity, "mine": mine, "can_accompany": can_accompany,
        "checkin_form": forms_.get("checkin_form") or CheckInForm(),
        "checkout_form": forms_.get("checkout_form") or CheckOutForm(contacts=contacts),
        "cancel_form": forms_.get("cancel_form") or ReasonForm(),
        "accompany_form": forms_.get("accompany_form") or NoteForm(),
        "error": forms_.get("error"), "contacts": list(activity.contacts.all()), "region": region,
        "thresholds": _thresholds(), "threshold_km": (activity.far_threshold_m or 0) / 1000,
        "distance_km": None if activity.distance_m is None else round(activity.distance_m / 1000, 1),
        "location_problem": activity.location_status in (LocationStatus.DENIED, LocationStatus.UNAVAILABLE),
    }


@page_view(Right.VIEW_ORG)
def detail(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    activity = selectors.activity_get(viewer=viewer, activity_id=activity_id)
    return render(request, "activities/detail.html", _detail_context(viewer, activity))


def _after(request: HttpRequest, activity_id: int, message: str) -> HttpResponse:
    messages.success(request, message)
    if request.POST.get("next") == "home":
        return redirect("activities:home")
    return redirect("activities:detail", activity_id=activity_id)


def _refused_in_place(request: HttpRequest, viewer: User, activity_id: int, exc: DomainError,
                      **forms_: Any) -> HttpResponse:
    activity = selectors.activity_get(viewer=viewer, activity_id=activity_id)
    return render(request, "activities/detail.html",
                  _detail_context(viewer, activity, error=str(exc.message), **forms_),
                  status=exc.status)


@require_POST
@page_view(Right.VIEW_ORG)
def check_in(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = CheckInForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        activity = services.visit_check_in(
            actor=viewer, activity_id=activity_id, latitude=data.get("latitude") or None,
            longitude=data.get("longitude") or None, accuracy_m=data.get("accuracy_m") or None,
            location_denied=(data.get("location_denied") or "") in ("1", "true"))
    except (ValidationFailed, Conflict) as exc:
        return _refused_in_place(request, viewer, activity_id, exc)
    if activity.is_far:
        message = _("Checked in — %(km)s km from the customer's area: flagged as far away.") % {
            "km": round((activity.distance_m or 0) / 1000, 1)}
    elif activity.location_status in (LocationStatus.DENIED, LocationStatus.UNAVAILABLE):
        message = _("Checked in without a location (recorded as such).")
    else:
        message = _("Checked in.")
    return _after(request, activity_id, message)


@require_POST
@page_view(Right.VIEW_ORG)
def check_out(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    activity = selectors.activity_get(viewer=viewer, activity_id=activity_id)
    contacts = [(c.pk, c.name) for c in activity.customer.contacts.filter(is_active=True)]
    form = CheckOutForm(request.POST, contacts=contacts)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.visit_check_out(actor=viewer, activity_id=activity_id, outcome=data["outcome"],
                                     next_step=data["next_step"], other_attendees=data["other_attendees"],
                                     contact_ids=data["contacts"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
            return _refused_in_place(request, viewer, activity_id, exc, checkout_form=form)
        return _after(request, activity_id, _("Visit closed."))
    return render(request, "activities/detail.html", _detail_context(viewer, activity, checkout_form=form),
                  status=422)


@require_POST
@page_view(Right.VIEW_ORG)
def cancel(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        services.visit_plan_cancel(actor=viewer, activity_id=activity_id, reason=form.cleaned_data.get("reason", ""))
    except (ValidationFailed, Conflict) as exc:
        form_apply_error(form, exc)
        return _refused_in_place(request, viewer, activity_id, exc, cancel_form=form)
    return _after(request, activity_id, _("Visit cancelled."))


@require_POST
@page_view(Right.VIEW_ORG)
def accompany(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        services.visit_accompany(actor=viewer, activity_id=activity_id, note=form.cleaned_data.get("note", ""))
    except (ValidationFailed, Conflict) as exc:
        return _refused_in_place(request, viewer, activity_id, exc, accompany_form=form)
    return _after(request, activity_id, _("Recorded: you accompanied this visit."))


# ---------------------------------------------------------------- the customer page's section


@page_view(Right.VIEW_ORG)
def customer_activities(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Recent visits and contacts of a customer (the customer page loads it with htmx, hx-trigger="load").
    A customer the viewer may not see is not found, as on the customer page itself."""
    viewer = _viewer(request)
    recent = selectors.customer_activities(viewer=viewer, customer_id=customer_id, limit=10)
    template = "activities/_customer_activities.html" if getattr(request, "htmx", False) \
        else "activities/customer_activities.html"
    return render(request, template, {"activities": recent, "customer_id": customer_id,
                                      "can_write": _can_write(viewer)})
