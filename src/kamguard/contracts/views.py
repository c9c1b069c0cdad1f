"""Pages of contracts, orders, deliveries, payments, receivables, findings and webhook secrets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.contracts import selectors, services
from kamguard.contracts.domain import rules
from kamguard.contracts.forms import (
    LIMIT_CHOICES,
    AttachmentForm,
    ConfirmForm,
    ContractForm,
    DeliveryForm,
    FindingFilterForm,
    NoteForm,
    OrderForm,
    PaymentForm,
    ReasonForm,
    SecretForm,
    SignForm,
)
from kamguard.contracts.models import ContractStatus, OrderSource, OrderStatus, PaymentStatus
from kamguard.core.errors import DomainError, NotFound
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.customers.selectors import customer_list
from kamguard.org.domain.roles import Right, Role, Scope
from kamguard.org.models import User


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _can(viewer: User) -> dict[str, bool]:
    edit = viewer.has_right(Right.EDIT_BUSINESS_DATA)
    return {"edit": edit, "finance": services.is_finance(viewer),
            "resolve": edit and viewer.scope >= Scope.TEAM,
            "secrets": Role.ADMIN in viewer.roles or viewer.has_right(Right.MANAGE_ORG)}


def _customers(viewer: User) -> list[tuple[int, str]]:
    return list(customer_list(viewer=viewer).values_list("pk", "name")[:LIMIT_CHOICES])


def _approval(contract_id: int) -> tuple[Any, str]:
    try:
        get_template("approvals/_status.html")
        from kamguard.approvals.selectors import latest_request_for
    except (TemplateDoesNotExist, ImportError):
        return None, ""
    return latest_request_for(kind=services.APPROVAL_KIND, subject_id=contract_id), "approvals/_status.html"


# ---------------------------------------------------------------- contracts


@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "-created")
    qs = selectors.contract_list(viewer=viewer, search=request.GET.get("q", "")[:100],
                                 status=status if status in ContractStatus.values else "", sort=sort)
    page = paginate(request, qs)
    return render(request, "contracts/contract_list.html", {
        "page": page, "contracts": page.object_list, "total": page.paginator.count, "statuses": ContractStatus.choices,
        "sort": sort, "can": _can(viewer), "tab": "contracts"})


def _contract_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {"title": data["title"], "amount": data.get("amount"), "currency": (data.get("currency") or "CNY"),
            "terms": data.get("terms") or "", "starts_on": data.get("starts_on"), "ends_on": data.get("ends_on"),
            "lines": data.get("lines"), "schedule": data.get("schedule") or []}


def _digits(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _opportunities(viewer: User, also: int | None = None) -> list[tuple[int, str]]:
    """The open opportunities the viewer may see (name · customer) for the contract form, and `also` (the one the
    page came from) whatever its stage."""
    from kamguard.sales.selectors import opportunity_list

    found = opportunity_list(viewer=viewer, outcome="open").select_related("customer")[:LIMIT_CHOICES]
    rows = [(o.pk, f"{o.name} · {o.customer.name}") for o in found]
    if also and all(pk != also for pk, _label in rows):
        extra = opportunity_list(viewer=viewer).select_related("customer").filter(pk=also).first()
        if extra is not None:
            rows.insert(0, (extra.pk, f"{extra.name} · {extra.customer.name}"))
    return rows


def _from_opportunity(viewer: User, opportunity_id: int) -> dict[str, Any]:
    """What a contract drafted from an opportunity starts with: its customer, a title, and the lines and amount of
    its approved quote (shown, so the schedule can be written against them)."""
    from kamguard.sales.selectors import opportunity_list

    opp = opportunity_list(viewer=viewer).filter(pk=opportunity_id).first()
    if opp is None:
        return {}
    lines = services.quote_lines(opp.pk)
    initial: dict[str, Any] = {"customer": opp.customer_id, "opportunity_id": opp.pk, "title": opp.name,
                               "currency": opp.currency or "CNY"}
    if lines:
        initial["lines"] = "\n".join(f"{x['product']} | {x['quantity'].normalize():f} | {x['unit_price']}"
                                     for x in lines)
        initial["amount"] = sum((x["quantity"] * x["unit_price"] for x in lines), Decimal(0)).quantize(
            Decimal("0.01"))
    return initial


@page_view(Right.EDIT_BUSINESS_DATA)
def contract_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    opportunity_id = _digits(request.GET.get("opportunity"))
    initial: dict[str, Any] = {"customer": request.GET.get("customer"), "currency": "CNY"}
    if opportunity_id:
        initial.update(_from_opportunity(viewer, opportunity_id))
    form = ContractForm(request.POST or None, customers=_customers(viewer), initial=initial,
                        opportunities=_opportunities(viewer, also=opportunity_id))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contract = services.contract_create(actor=viewer, customer_id=data["customer"],
                                                opportunity_id=data.get("opportunity_id"), **_contract_kwargs(data))
        except DomainError as exc:
            _rename(exc, {"customer_id": "customer"})
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Contract %(number)s created as a draft.") % {"number": contract.number})
            return redirect("contracts:contract_detail", contract_id=contract.pk)
    cancel = reverse("sales:opportunity_detail", args=[opportunity_id]) if initial.get("opportunity_id") else \
        reverse("contracts:home")
    return render(request, "contracts/form.html", {"form": form, "title": _("New contract"), "tab": "contracts",
                                                   "cancel_url": cancel, "can": _can(viewer)})


def _rename(exc: DomainError, names: dict[str, str]) -> None:
    for old, new in names.items():
        if old in exc.field_errors:
            exc.field_errors[new] = exc.field_errors.pop(old)
    for key in [k for k in exc.field_errors if "." in k]:
        exc.field_errors.setdefault(key.split(".")[0], []).extend(exc.field_errors.pop(key))


@page_view(Right.VIEW_ORG)
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    contract = selectors.contract_get(viewer=viewer, contract_id=contract_id)
    approval, approval_template = _approval(contract.pk)
    can = _can(viewer)
    return render(request, "contracts/contract_detail.html", {
        "contract": contract, "lines": contract.lines.all(), "schedule": contract.schedule.all(),
        "attachments": contract.attachments.select_related("uploaded_by"),
        "orders": selectors.order_list(viewer=viewer, contract_id=contract.pk)[:50],
        "paid": selectors.contract_paid(contract), "approval": approval, "approval_template": approval_template,
        "editable": can["edit"] and contract.status in (ContractStatus.DRAFT, ContractStatus.REJECTED),
        "signable": can["edit"] and contract.status == ContractStatus.APPROVED,
        "cancellable": can["edit"] and contract.status in (ContractStatus.DRAFT, ContractStatus.REJECTED,
                                                           ContractStatus.APPROVED),
        "sign_form": SignForm(initial={"signed_on": timezone.localdate()}), "reason_form": ReasonForm(),
        "attachment_form": AttachmentForm(), "can": can, "tab": "contracts"})


@page_view(Right.EDIT_BUSINESS_DATA)
def contract_edit(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    contract = selectors.contract_get(viewer=viewer, contract_id=contract_id)
    initial = {"title": contract.title, "amount": contract.amount, "currency": contract.currency,
               "terms": contract.terms, "starts_on": contract.starts_on, "ends_on": contract.ends_on,
               "lines": "\n".join(f"{x.product} | {x.quantity.normalize():f} | {x.unit_price}"
                                  for x in contract.lines.all()),
               "schedule": "\n".join(f"{s.due_on.isoformat()} | {s.amount} | {s.note}".rstrip(" |")
                                     for s in contract.schedule.all())}
    form = ContractForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = _contract_kwargs(form.cleaned_data)
        lines = data.pop("lines")
        try:
            services.contract_update(actor=viewer, contract_id=contract.pk, lines=lines if lines is not None else [],
                                     **data)
        except DomainError as exc:
            _rename(exc, {})
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Contract saved."))
            return redirect("contracts:contract_detail", contract_id=contract.pk)
    return render(request, "contracts/form.html", {
        "form": form, "title": _("Edit contract %(number)s") % {"number": contract.number}, "tab": "contracts",
        "cancel_url": f"/contracts/{contract.pk}/", "can": _can(viewer)})


def _act(request: HttpRequest, contract_id: int, action: Any, success: str) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, str(exc.message) + " " + " ".join(str(m) for ms in exc.field_errors.values()
                                                                   for m in ms))
    else:
        messages.success(request, success)
    return redirect("contracts:contract_detail", contract_id=contract_id)


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def contract_submit(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    return _act(request, contract_id, lambda: services.contract_submit(actor=viewer, contract_id=contract_id),
                _("Sent for approval. The contract is locked until it is decided."))


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def contract_sign(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = SignForm(request.POST)
    signed_on = form.cleaned_data["signed_on"] if form.is_valid() else None
    return _act(request, contract_id, lambda: services.contract_sign(actor=viewer, contract_id=contract_id,
                                                                     signed_on=signed_on), _("Contract signed."))


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def contract_cancel(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    return _act(request, contract_id, lambda: services.contract_cancel(
        actor=viewer, contract_id=contract_id, reason=request.POST.get("reason", "")), _("Contract cancelled."))


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def attachment_upload(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
        return redirect("contracts:contract_detail", contract_id=contract_id)
    if (upload.size or 0) > rules.ATTACHMENT_MAX_BYTES:
        messages.error(request, _("The file is larger than 20 MB."))
        return redirect("contracts:contract_detail", contract_id=contract_id)
    return _act(request, contract_id, lambda: services.attachment_add(
        actor=viewer, contract_id=contract_id, filename=upload.name or "", data=upload.read()), _("File attached."))


@page_view(Right.VIEW_ORG)
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment, data = services.attachment_open(actor=_viewer(request), attachment_id=attachment_id)
    response = HttpResponse(data, content_type=rules.ATTACHMENT_TYPES[attachment.file_type])
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename, safe='')}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- orders and deliveries


@page_view(Right.VIEW_ORG)
def order_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", "")
    source = request.GET.get("source", "")
    qs = selectors.order_list(viewer=viewer, search=request.GET.get("q", "")[:100],
                              status=status if status in OrderStatus.values else "",
                              source=source if source in OrderSource.values else "", sort=request.GET.get("sort", ""))
    page = paginate(request, qs)
    return render(request, "contracts/order_list.html", {
        "page": page, "orders": page.object_list, "total": page.paginator.count, "statuses": OrderStatus.choices,
        "sources": OrderSource.choices, "can": _can(viewer), "tab": "orders"})


@page_view(Right.EDIT_BUSINESS_DATA)
def order_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    contracts = selectors.contract_list(viewer=viewer, status=ContractStatus.SIGNED).values_list("pk", "number")[
        :LIMIT_CHOICES]
    customer_id = _digits(request.GET.get("customer"))
    address = customer_list(viewer=viewer).filter(pk=customer_id).values_list("address", flat=True).first() \
        if customer_id else None
    form = OrderForm(request.POST or None, customers=_customers(viewer), contracts=contracts,
                     initial={"customer": customer_id, "contract": request.GET.get("contract"),
                              "order_date": timezone.localdate(), "delivery_address": address or ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.order_create(actor=viewer, customer_id=data["customer"], contract_id=data["contract"],
                                          order_date=data["order_date"], amount=data.get("amount"),
                                          lines=data.get("lines"), number=data.get("number") or "",
                                          delivery_address=data.get("delivery_address") or "",
                                          due_on=data.get("due_on"))
        except DomainError as exc:
            _rename(exc, {"customer_id": "customer", "contract_id": "contract"})
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Order recorded."))
            return redirect("contracts:order_detail", order_id=order.pk)
    return render(request, "contracts/form.html", {"form": form, "title": _("New order"), "tab": "orders",
                                                   "cancel_url": "/contracts/orders/", "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    viewer = _viewer(request)
    order = selectors.order_get(viewer=viewer, order_id=order_id)
    form = DeliveryForm(request.POST or None, initial={"address": order.delivery_address or order.customer.address,
                                                       "shipped_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.delivery_record(actor=viewer, order_id=order.pk, **form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Delivery recorded."))
            return redirect("contracts:order_detail", order_id=order.pk)
    return render(request, "contracts/order_detail.html", {
        "order": order, "lines": order.lines.all(), "deliveries": order.deliveries.select_related("recorded_by"),
        "allocations": order.allocations.select_related("payment"), "form": form, "can": _can(viewer),
        "tab": "orders"})


# ---------------------------------------------------------------- payments


@page_view(Right.VIEW_ORG)
def payment_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", "")
    qs = selectors.payment_list(viewer=viewer, search=request.GET.get("q", "")[:100],
                                status=status if status in PaymentStatus.values else "")
    page = paginate(request, qs)
    return render(request, "contracts/payment_list.html", {
        "page": page, "payments": page.object_list, "total": page.paginator.count, "statuses": PaymentStatus.choices,
        "can": _can(viewer), "tab": "payments", "queue": False})


@page_view(Right.VIEW_ORG)
def payment_queue(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    page = paginate(request, selectors.confirmation_queue(viewer=viewer))
    return render(request, "contracts/payment_list.html", {
        "page": page, "payments": page.object_list, "total": page.paginator.count, "can": _can(viewer),
        "tab": "queue", "queue": True, "confirm_form": ConfirmForm()})


def _payable_orders(viewer: User, customer_id: int | None) -> list[tuple[int, str]]:
    """Orders a payment may be matched to (the customer's when known): number · customer · amount · due date."""
    qs = selectors.order_list(viewer=viewer).exclude(status=OrderStatus.CANCELLED)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return [(o.pk, f"{o} · {o.customer.name} · {o.amount} {o.currency} · {o.due_on:%Y-%m-%d}")
            for o in qs.select_related("customer")[:LIMIT_CHOICES]]


@page_view(Right.EDIT_BUSINESS_DATA)
def payment_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    customer_id = _digits(request.GET.get("customer") or request.POST.get("customer"))
    form = PaymentForm(request.POST or None, customers=_customers(viewer), orders=_payable_orders(viewer, customer_id),
                       initial={"customer": customer_id, "order": _digits(request.GET.get("order")),
                                "paid_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.payment_record(actor=viewer, customer_id=data["customer"], paid_on=data["paid_on"],
                                    amount=data["amount"], order_id=data.get("order"),
                                    payer_name=data.get("payer_name") or "",
                                    payer_account=data.get("payer_account") or "",
                                    over_reason=data.get("over_reason") or "")
        except DomainError as exc:
            _rename(exc, {"customer_id": "customer", "order_id": "order"})
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Payment recorded; finance will confirm it."))
            return redirect("contracts:payment_list")
    return render(request, "contracts/form.html", {"form": form, "title": _("Record a payment"), "tab": "payments",
                                                   "cancel_url": "/contracts/payments/", "can": _can(viewer)})


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def payment_confirm(request: HttpRequest, payment_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = ConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.payment_confirm(actor=viewer, payment_id=payment_id,
                                     approve=form.cleaned_data["decision"] == "confirm",
                                     note=form.cleaned_data.get("note") or "")
        except DomainError as exc:
            if isinstance(exc, NotFound) or exc.status == 403:
                raise
            messages.error(request, str(exc.message) + " " + " ".join(
                str(m) for ms in exc.field_errors.values() for m in ms))
        else:
            messages.success(request, _("Payment confirmed.") if form.cleaned_data["decision"] == "confirm"
                             else _("Payment rejected."))
    return redirect("contracts:payment_queue")


# ---------------------------------------------------------------- receivables, findings


@page_view(Right.VIEW_ORG)
def receivables(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    group = "manager" if request.GET.get("group") == "manager" else "customer"
    rows = selectors.receivables(viewer=viewer, group=group)
    page = paginate(request, rows)
    return render(request, "contracts/receivables.html", {
        "page": page, "rows": page.object_list, "totals": selectors.receivables_totals(rows), "group": group,
        "today": timezone.localdate(), "can": _can(viewer), "tab": "receivables"})


@page_view(Right.VIEW_ORG)
def finding_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    filters = FindingFilterForm(request.GET or None)
    kind = status = ""
    if filters.is_valid():
        kind, status = filters.cleaned_data["kind"], filters.cleaned_data["status"]
    elif not request.GET:
        status = "open"
    page = paginate(request, selectors.findings(viewer=viewer, kind=kind or None, status=status))
    return render(request, "contracts/finding_list.html", {
        "page": page, "findings": page.object_list, "total": page.paginator.count, "filters": filters,
        "status": status, "note_form": NoteForm(), "can": _can(viewer), "tab": "findings"})


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def finding_resolve(request: HttpRequest, finding_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        services.finding_resolve(actor=viewer, finding_id=finding_id, note=request.POST.get("note", ""))
    except DomainError as exc:
        if isinstance(exc, NotFound) or exc.status == 403:
            raise
        messages.error(request, str(exc.message) + " " + " ".join(
            str(m) for ms in exc.field_errors.values() for m in ms))
    else:
        messages.success(request, _("Finding resolved."))
    return redirect("contracts:finding_list")


# ---------------------------------------------------------------- webhook secrets


@page_view(Right.VIEW_ORG)
def secret_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    services._require_admin(viewer)
    form = SecretForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            secret, plain = services.webhook_secret_create(actor=viewer, name=form.cleaned_data["name"])
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            created = {"secret": secret, "plain": plain}
            form = SecretForm()
    return render(request, "contracts/secret_list.html", {
        "secrets": selectors.webhook_secrets(), "form": form, "created": created, "can": _can(viewer),
        "tab": "secrets"})


@require_POST
@page_view(Right.VIEW_ORG)
def secret_revoke(request: HttpRequest, secret_id: int) -> HttpResponse:
    try:
        services.webhook_secret_revoke(actor=_viewer(request), secret_id=secret_id)
    except DomainError as exc:
        if isinstance(exc, NotFound) or exc.status == 403:
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Secret revoked: signatures made with it are refused from now on."))
    return redirect("contracts:secret_list")


# ---------------------------------------------------------------- customer page fragment


@page_view(Right.VIEW_ORG)
def customer_contracts(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The contracts, orders, payments and open findings of one customer, for the customer page (htmx)."""
    viewer = _viewer(request)
    from kamguard.customers.selectors import customer_get

    customer = customer_get(viewer=viewer, customer_id=customer_id)
    receivable = selectors.receivables(viewer=viewer, customer_id=customer.pk)
    return render(request, "contracts/_customer_contracts.html", {
        "customer": customer, **selectors.customer_summary(viewer=viewer, customer_id=customer.pk),
        "receivable": receivable[0] if receivable else None, "can": _can(viewer)})
