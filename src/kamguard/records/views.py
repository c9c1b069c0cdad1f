"""Records pages: work records by category and customer, upload, a record with its files (downloads checked and
audited), editing by the keeper; market information list and form.

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.domain.roles import Right
from kamguard.org.models import User
from kamguard.records import selectors, services
from kamguard.records.forms import AddFilesForm, MarketForm, RecordForm, UploadForm
from kamguard.records.models import MarketInfoKind, RecordCategory

UNCLASSIFIED = "none"


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _files_field(error: ValidationFailed) -> ValidationFailed:
    """The service names the files `files`; the form's input is `upload` (`files` is taken by Django's forms)."""
    if "files" in error.field_errors:
        error.field_errors["upload"] = error.field_errors.pop("files")
    return error


def _common(viewer: User) -> dict[str, Any]:
    return {"can_edit": viewer.has_right(Right.EDIT_BUSINESS_DATA)}


@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    raw_category = request.GET.get("category", "")
    category: str | None = None
    if raw_category == UNCLASSIFIED:
        category = ""
    elif raw_category in RecordCategory.values:
        category = raw_category
    customer_id = _int(request.GET.get("customer"))
    qs = selectors.record_list(viewer=viewer, search=request.GET.get("q", "")[:100], category=category,
                               customer_id=customer_id, plan_ref=request.GET.get("plan", "")[:64])
    page = paginate(request, qs)
    customer = None
    if customer_id:
        from kamguard.customers.selectors import customer_list

        customer = customer_list(viewer=viewer, status="").filter(pk=customer_id).first()
    return render(request, "records/home.html", {
        "page": page, "records": page.object_list, "total": page.paginator.count, "categories": RecordCategory.choices,
        "category": raw_category, "unclassified": UNCLASSIFIED, "customer": customer, **_common(viewer)})


@page_view(Right.EDIT_BUSINESS_DATA)
def upload(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    initial = {"customer": request.GET.get("customer", ""), "plan_ref": request.GET.get("plan", "")[:64]}
    form = UploadForm(request.POST or None, request.FILES or None, viewer=viewer, initial=initial,
                      current_plan_ref=initial["plan_ref"])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = services.record_create(
                actor=viewer, title=data["title"], category=data["category"], description=data["description"],
                record_on=data["record_on"], customer_id=data["customer"], plan_ref=data["plan_ref"],
                files=data["upload"])
        except ValidationFailed as exc:
            form_apply_error(form, _files_field(exc))
        else:
            messages.success(request, _("Record kept."))
            return redirect("records:detail", record_id=record.pk)
    return render(request, "records/upload.html", {"form": form, **_common(viewer)},
                  status=422 if form.is_bound else 200)


@page_view(Right.VIEW_ORG)
def detail(request: HttpRequest, record_id: int) -> HttpResponse:
    viewer = _viewer(request)
    record = selectors.record_get(viewer=viewer, record_id=record_id)
    return _detail(request, viewer, record, AddFilesForm())


def _detail(request: HttpRequest, viewer: User, record: Any, files_form: AddFilesForm, status: int = 200,
            ) -> HttpResponse:
    keeper = record.owner_id == viewer.pk and viewer.has_right(Right.EDIT_BUSINESS_DATA)
    from kamguard.plans.selectors import plan_for_reference

    plan = plan_for_reference(viewer=viewer, reference=record.plan_ref) if record.plan_ref else None
    return render(request, "records/detail.html", {
        "r": record, "plan": plan, "attachments": record.attachments.all(), "keeper": keeper,
        "files_form": files_form}, status=status)


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def files_add(request: HttpRequest, record_id: int) -> HttpResponse:
    viewer = _viewer(request)
    record = selectors.record_get(viewer=viewer, record_id=record_id)
    form = AddFilesForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(actor=viewer, record_id=record.pk, files=form.cleaned_data["upload"])
        except ValidationFailed as exc:
            form_apply_error(form, _files_field(exc))
        else:
            messages.success(request, _("Files added."))
            return redirect("records:detail", record_id=record.pk)
    return _detail(request, viewer, record, form, status=422)


@page_view(Right.EDIT_BUSINESS_DATA)
def edit(request: HttpRequest, record_id: int) -> HttpResponse:
    viewer = _viewer(request)
    record = selectors.record_get(viewer=viewer, record_id=record_id)
    if record.owner_id != viewer.pk:
        raise PermissionRefused(_("Only the person who keeps this record can change it."), code="not_keeper")
    initial = {"title": record.title, "category": record.category, "record_on": record.record_on,
               "customer": record.customer_id or "", "plan_ref": record.plan_ref, "description": record.description}
    form = RecordForm(request.POST or None, viewer=viewer, initial=initial, current_plan_ref=record.plan_ref)
    if record.customer_id and record.customer:
        choices = form.fields["customer"].choices  # type: ignore[attr-defined]
        if str(record.customer_id) not in {str(k) for k, _v in choices}:
            form.fields["customer"].choices = [*choices, (str(record.customer_id), record.customer.name)]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_update(actor=viewer, record_id=record.pk, title=data["title"], category=data["category"],
                                   description=data["description"], record_on=data["record_on"],
                                   customer_id=data["customer"], plan_ref=data["plan_ref"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Record saved."))
            return redirect("records:detail", record_id=record.pk)
    return render(request, "records/edit.html", {"form": form, "r": record, "title": _("Change the record")},
                  status=422 if form.is_bound else 200)


@page_view(Right.VIEW_ORG)
def download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment, handle = services.attachment_open(viewer=_viewer(request), attachment_id=attachment_id)
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response  # type: ignore[return-value]


@page_view(Right.VIEW_ORG)
def customer_section(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer page's panel (loaded by htmx from records/_customer_panel.html): its latest records and
    market information."""
    from kamguard.customers.selectors import customer_get

    viewer = _viewer(request)
    customer = customer_get(viewer=viewer, customer_id=customer_id)
    records = selectors.record_list(viewer=viewer, customer_id=customer.pk)
    market_items = selectors.market_list(viewer=viewer, customer_id=customer.pk)
    return render(request, "records/_customer_section.html", {
        "customer": customer, "records": records[:5], "records_total": records.count(),
        "market_items": market_items[:5], "market_total": market_items.count(), **_common(viewer)})


# ---------------------------------------------------------------- market information

@page_view(Right.VIEW_ORG)
def market(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    kind = request.GET.get("kind", "")
    qs = selectors.market_list(viewer=viewer, search=request.GET.get("q", "")[:100],
                               kind=kind if kind in MarketInfoKind.values else "",
                               customer_id=_int(request.GET.get("customer")))
    page = paginate(request, qs)
    return render(request, "records/market.html", {
        "page": page, "items": page.object_list, "total": page.paginator.count, "kinds": MarketInfoKind.choices,
        "kind": kind, **_common(viewer)})


@page_view(Right.EDIT_BUSINESS_DATA)
def market_new(request: HttpRequest) -> HttpResponse:
    return _market_form(request, None)


@page_view(Right.EDIT_BUSINESS_DATA)
def market_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    return _market_form(request, item_id)


def _market_form(request: HttpRequest, item_id: int | None) -> HttpResponse:
    viewer = _viewer(request)
    item = selectors.market_get(viewer=viewer, item_id=item_id) if item_id else None
    initial: dict[str, Any] = {"customer": request.GET.get("customer", "")}
    if item is not None:
        if item.reporter_id != viewer.pk:
            raise PermissionRefused(_("Only the person who reported this can change it."), code="not_reporter")
        initial = {"kind": item.kind, "title": item.title, "content": item.content, "customer": item.customer_id or "",
                   "competitor": item.competitor, "product": item.product, "source": item.source,
                   "observed_on": item.observed_on}
    form = MarketForm(request.POST or None, viewer=viewer, initial=initial)
    if item is not None and item.customer_id and item.customer:
        choices = form.fields["customer"].choices  # type: ignore[attr-defined]
        if str(item.customer_id) not in {str(k) for k, _v in choices}:
            form.fields["customer"].choices = [*choices, (str(item.customer_id), item.customer.name)]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["customer_id"] = data.pop("customer")
        try:
            if item is None:
                services.market_create(actor=viewer, **data)
            else:
                services.market_update(actor=viewer, item_id=item.pk, **data)
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Market information saved."))
            return redirect("records:market")
    title = _("Report market information") if item is None else _("Change market information")
    return render(request, "records/market_form.html", {"form": form, "title": title, "item": item},
                  status=422 if form.is_bound else 200)
