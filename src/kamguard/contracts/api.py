"""HTTP API of contracts, orders, deliveries, payments (回款), receivables, data-quality findings and ERP intake.

Creating orders and payments is idempotent: an `external_id` already known returns the existing record (200)
when the request says the same, 409 when it says something else; an `Idempotency-Key` header replays the first
answer to the same request. The ERP webhook is signed (HMAC-SHA256 over timestamp + "." + body) — see
docs/contracts.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from kamguard.contracts import selectors, services
from kamguard.contracts.models import (
    Contract,
    DataQualityFinding,
    Delivery,
    IdempotencyRecord,
    Order,
    Payment,
    WebhookSecret,
)
from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page, problem_response
from kamguard.core.errors import Conflict, NotFound
from kamguard.core.io.runner import import_run

router = Router(tags=["Contracts, orders and payments"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 413, 422): ProblemDetail}
Money = Decimal


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- contracts


class LineIn(Schema):
    product: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=300)
    quantity: Decimal = Decimal(1)
    unit_price: Decimal


class ScheduleIn(Schema):
    due_on: dt.date
    amount: Decimal
    note: str = Field("", max_length=200)


class ContractIn(Schema):
    customer_id: int
    title: str = Field(..., max_length=200)
    amount: Decimal | None = None
    manager_id: int | None = None
    opportunity_id: int | None = None
    terms: str = Field("", max_length=20000)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    currency: str = Field("CNY", min_length=3, max_length=3)
    lines: list[LineIn] | None = None
    schedule: list[ScheduleIn] = []


class ContractPatch(Schema):
    title: str | None = Field(None, max_length=200)
    amount: Decimal | None = None
    terms: str | None = Field(None, max_length=20000)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    manager_id: int | None = None
    lines: list[LineIn] | None = None
    schedule: list[ScheduleIn] | None = None


class LineOut(Schema):
    product: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


class ScheduleOut(Schema):
    due_on: dt.date
    amount: Decimal
    note: str


class ContractAttachmentOut(Schema):
    id: int
    filename: str
    file_type: str
    size: int
    uploaded_at: dt.datetime


class ContractOut(Schema):
    id: int
    number: str
    title: str
    customer_id: int
    customer_name: str
    opportunity_id: int | None
    manager_id: int
    manager_name: str
    status: str
    amount: Decimal
    currency: str
    terms: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    signed_on: dt.date | None
    paid: Decimal
    lines: list[LineOut]
    schedule: list[ScheduleOut]
    attachments: list[ContractAttachmentOut]
    created_at: dt.datetime


def _contract_out(c: Contract) -> dict[str, Any]:
    return {"id": c.pk, "number": c.number, "title": c.title, "customer_id": c.customer_id,
            "customer_name": c.customer.name, "opportunity_id": c.opportunity_id, "manager_id": c.manager_id,
            "manager_name": c.manager.full_name, "status": c.status, "amount": c.amount, "currency": c.currency,
            "terms": c.terms, "starts_on": c.starts_on, "ends_on": c.ends_on, "signed_on": c.signed_on,
            "paid": selectors.contract_paid(c),
            "lines": [{"product": x.product, "description": x.description, "quantity": x.quantity,
                       "unit_price": x.unit_price, "amount": x.amount} for x in c.lines.all()],
            "schedule": [{"due_on": s.due_on, "amount": s.amount, "note": s.note} for s in c.schedule.all()],
            "attachments": [{"id": a.pk, "filename": a.filename, "file_type": a.file_type, "size": a.size,
                             "uploaded_at": a.uploaded_at} for a in c.attachments.all()],
            "created_at": c.created_at}


class ContractFilter(ListParams):
    search: str = Field("", max_length=100)
    status: str = Field("", max_length=10)
    customer_id: int | None = None
    manager_id: int | None = None


@router.get("/contracts", response={200: Page[ContractOut], **ERRORS}, summary="Contracts you may see")
def contract_list(request: HttpRequest, filters: Query[ContractFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.contract_list(viewer=viewer, search=filters.search, status=filters.status,
                                 customer_id=filters.customer_id, manager_id=filters.manager_id)
    return keyset_page(qs.prefetch_related("lines", "schedule", "attachments"), cursor=filters.cursor,
                       limit=filters.limit, order=("-pk",), serialize=_contract_out)


@router.post("/contracts", response={201: ContractOut, **ERRORS}, summary="Create a draft contract",
             description="From an opportunity without `lines`, the lines of its approved quote are copied. The payment "
                         "schedule's instalments must add up to the amount.")
def contract_create(request: HttpRequest, payload: ContractIn) -> Any:
    viewer = api_viewer(request)
    data = payload.dict()
    lines = data.pop("lines")
    schedule = data.pop("schedule")
    contract = services.contract_create(actor=viewer, lines=lines, schedule=schedule, **data)
    return Status(201, _contract_out(selectors.contract_get(viewer=viewer, contract_id=contract.pk)))


@router.get("/contracts/{int:contract_id}", response={200: ContractOut, **ERRORS}, summary="One contract")
def contract_get(request: HttpRequest, contract_id: int) -> Any:
    return _contract_out(selectors.contract_get(viewer=api_viewer(request), contract_id=contract_id))


@router.patch("/contracts/{int:contract_id}", response={200: ContractOut, **ERRORS},
              summary="Change a draft or rejected contract (409 contract_locked while awaiting approval)")
def contract_update(request: HttpRequest, contract_id: int, payload: ContractPatch) -> Any:
    viewer = api_viewer(request)
    data = payload.dict(exclude_unset=True)
    lines = data.pop("lines", None)
    schedule = data.pop("schedule", None)
    services.contract_update(actor=viewer, contract_id=contract_id, lines=lines, schedule=schedule, **data)
    return _contract_out(selectors.contract_get(viewer=viewer, contract_id=contract_id))


@router.post("/contracts/{int:contract_id}/submit", response={200: ContractOut, **ERRORS},
             summary="Send for approval (the approval engine picks the chain; locked while pending)")
def contract_submit(request: HttpRequest, contract_id: int) -> Any:
    viewer = api_viewer(request)
    services.contract_submit(actor=viewer, contract_id=contract_id)
    return _contract_out(selectors.contract_get(viewer=viewer, contract_id=contract_id))


class SignIn(Schema):
    signed_on: dt.date | None = None


@router.post("/contracts/{int:contract_id}/sign", response={200: ContractOut, **ERRORS},
             summary="Record the signing of an approved contract (wins its opportunity)")
def contract_sign(request: HttpRequest, contract_id: int, payload: SignIn) -> Any:
    viewer = api_viewer(request)
    services.contract_sign(actor=viewer, contract_id=contract_id, signed_on=payload.signed_on)
    return _contract_out(selectors.contract_get(viewer=viewer, contract_id=contract_id))


class ContractReasonIn(Schema):
    reason: str = Field(..., max_length=2000)


@router.post("/contracts/{int:contract_id}/cancel", response={200: ContractOut, **ERRORS}, summary="Cancel a contract")
def contract_cancel(request: HttpRequest, contract_id: int, payload: ContractReasonIn) -> Any:
    viewer = api_viewer(request)
    services.contract_cancel(actor=viewer, contract_id=contract_id, reason=payload.reason)
    return _contract_out(selectors.contract_get(viewer=viewer, contract_id=contract_id))


@router.post("/contracts/{int:contract_id}/attachments", response={201: ContractAttachmentOut, **ERRORS},
             summary="Attach a file (PDF, PNG, JPEG, DOCX, XLSX by content; at most 20 MB)")
def attachment_add(request: HttpRequest, contract_id: int, file: File[UploadedFile]) -> Any:
    viewer = api_viewer(request)
    if (file.size or 0) > services.rules.ATTACHMENT_MAX_BYTES:
        return problem_response(request, status=413, title=_("The file is larger than 20 MB."), code="file_too_large")
    attachment = services.attachment_add(actor=viewer, contract_id=contract_id, filename=file.name or "",
                                         data=file.read())
    return Status(201, {"id": attachment.pk, "filename": attachment.filename, "file_type": attachment.file_type,
                        "size": attachment.size, "uploaded_at": attachment.uploaded_at})


@router.get("/attachments/{int:attachment_id}", response={200: None, **ERRORS},
            summary="Download an attachment (audited)")
def attachment_get(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment, data = services.attachment_open(actor=api_viewer(request), attachment_id=attachment_id)
    response = HttpResponse(data, content_type=services.rules.ATTACHMENT_TYPES[attachment.file_type])
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(attachment.filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# ---------------------------------------------------------------- idempotency


def _request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _idempotent(request: HttpRequest, endpoint: str, payload: dict[str, Any],
                create: Callable[[], tuple[int, dict[str, Any]]]) -> Any:
    key = (request.headers.get("Idempotency-Key") or "").strip()[:120]
    viewer = api_viewer(request)
    if not key:
        status, body = create()
        return Status(status, body)
    digest = _request_hash(payload)
    found = IdempotencyRecord.objects.filter(user=viewer, endpoint=endpoint, key=key).first()
    if found is not None:
        if found.request_hash != digest:
            raise Conflict(_("This Idempotency-Key was used for a different request."), code="idempotency_key_reused")
        return Status(found.status_code, found.response)
    try:
        with transaction.atomic():
            status, body = create()
            IdempotencyRecord.objects.create(user=viewer, endpoint=endpoint, key=key, request_hash=digest,
                                             status_code=status, response=json.loads(json.dumps(body, default=str)))
    except IntegrityError as exc:  # the same key at the same moment: the other request won
        raise Conflict(code="idempotency_key_in_use") from exc
    return Status(status, body)


# ---------------------------------------------------------------- orders


class OrderLineIn(Schema):
    product: str = Field(..., min_length=1, max_length=120)
    quantity: Decimal = Decimal(1)
    unit_price: Decimal


class OrderIn(Schema):
    customer_id: int
    order_date: dt.date
    amount: Decimal | None = None
    lines: list[OrderLineIn] | None = None
    contract_id: int | None = None
    manager_id: int | None = None
    delivery_address: str = Field("", max_length=300)
    due_on: dt.date | None = None
    currency: str = Field("CNY", min_length=3, max_length=3)
    external_id: str | None = Field(None, min_length=1, max_length=64)
    number: str = Field("", max_length=64)


class OrderOut(Schema):
    id: int
    external_id: str | None
    number: str
    customer_id: int
    customer_name: str
    contract_id: int | None
    manager_id: int | None
    source: str
    status: str
    order_date: dt.date
    due_on: dt.date
    amount: Decimal
    currency: str
    delivery_address: str


def _order_out(o: Order) -> dict[str, Any]:
    return {"id": o.pk, "external_id": o.external_id, "number": o.number, "customer_id": o.customer_id,
            "customer_name": o.customer.name, "contract_id": o.contract_id, "manager_id": o.manager_id,
            "source": o.source, "status": o.status, "order_date": o.order_date, "due_on": o.due_on,
            "amount": o.amount, "currency": o.currency, "delivery_address": o.delivery_address}


class OrderFilter(ListParams):
    search: str = Field("", max_length=100)
    customer_id: int | None = None
    manager_id: int | None = None
    contract_id: int | None = None
    status: str = Field("", max_length=10)
    source: str = Field("", max_length=10)


@router.get("/orders", response={200: Page[OrderOut], **ERRORS}, summary="Orders you may see")
def order_list(request: HttpRequest, filters: Query[OrderFilter]) -> Any:
    qs = selectors.order_list(viewer=api_viewer(request), search=filters.search, customer_id=filters.customer_id,
                              manager_id=filters.manager_id, contract_id=filters.contract_id, status=filters.status,
                              source=filters.source)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_order_out)


def _same_order(order: Order, payload: OrderIn) -> bool:
    return (order.customer_id == payload.customer_id and order.order_date == payload.order_date
            and (payload.amount is None or order.amount == payload.amount))


@router.post("/orders", response={200: OrderOut, 201: OrderOut, **ERRORS},
             summary="Record an order (idempotent by external_id or Idempotency-Key)",
             description="201 when created; 200 with the existing order when `external_id` is known and the request "
                         "agrees with it; 409 `external_id_conflict` when it does not.")
def order_create(request: HttpRequest, payload: OrderIn) -> Any:
    viewer = api_viewer(request)

    def create() -> tuple[int, dict[str, Any]]:
        if payload.external_id:
            existing = Order.objects.filter(external_id=payload.external_id).first()
            if existing is not None:
                order = selectors.order_get(viewer=viewer, order_id=existing.pk)
                if not _same_order(order, payload):
                    raise Conflict(_("An order with this external_id exists with other values."),
                                   code="external_id_conflict")
                return 200, _order_out(order)
        data = payload.dict()
        lines = data.pop("lines")
        try:
            order = services.order_create(actor=viewer, lines=lines, **data)
        except IntegrityError as exc:
            raise Conflict(code="external_id_conflict") from exc
        return 201, _order_out(selectors.order_get(viewer=viewer, order_id=order.pk))

    return _idempotent(request, "orders", payload.dict(), create)


@router.get("/orders/{int:order_id}", response={200: OrderOut, **ERRORS}, summary="One order")
def order_get(request: HttpRequest, order_id: int) -> Any:
    return _order_out(selectors.order_get(viewer=api_viewer(request), order_id=order_id))


@router.post("/orders/{int:order_id}/cancel", response={200: OrderOut, **ERRORS}, summary="Cancel an unpaid order")
def order_cancel(request: HttpRequest, order_id: int, payload: ContractReasonIn) -> Any:
    viewer = api_viewer(request)
    services.order_cancel(actor=viewer, order_id=order_id, reason=payload.reason)
    return _order_out(selectors.order_get(viewer=viewer, order_id=order_id))


class DeliveryIn(Schema):
    address: str = Field(..., max_length=300)
    shipped_on: dt.date
    delivered_on: dt.date | None = None
    note: str = Field("", max_length=300)


class DeliveryOut(Schema):
    id: int
    order_id: int
    address: str
    shipped_on: dt.date
    delivered_on: dt.date | None
    note: str


def _delivery_out(d: Delivery) -> dict[str, Any]:
    return {"id": d.pk, "order_id": d.order_id, "address": d.address, "shipped_on": d.shipped_on,
            "delivered_on": d.delivered_on, "note": d.note}


@router.post("/orders/{int:order_id}/deliveries", response={201: DeliveryOut, **ERRORS},
             summary="Record a delivery (an address never seen for the customer is a data-quality finding)")
def delivery_create(request: HttpRequest, order_id: int, payload: DeliveryIn) -> Any:
    delivery = services.delivery_record(actor=api_viewer(request), order_id=order_id, **payload.dict())
    return Status(201, _delivery_out(delivery))


class DeliveryFilter(ListParams):
    order_id: int | None = None
    customer_id: int | None = None


@router.get("/deliveries", response={200: Page[DeliveryOut], **ERRORS}, summary="Deliveries you may see")
def delivery_list(request: HttpRequest, filters: Query[DeliveryFilter]) -> Any:
    qs = selectors.delivery_list(viewer=api_viewer(request), order_id=filters.order_id,
                                 customer_id=filters.customer_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_delivery_out)


# ---------------------------------------------------------------- payments


class PaymentIn(Schema):
    customer_id: int
    paid_on: dt.date
    amount: Decimal
    order_id: int | None = None
    contract_id: int | None = None
    payer_name: str = Field("", max_length=200)
    payer_account: str = Field("", max_length=64)
    over_reason: str = Field("", max_length=300)
    currency: str = Field("CNY", min_length=3, max_length=3)
    external_id: str | None = Field(None, min_length=1, max_length=64)


class AllocationOut(Schema):
    order_id: int | None
    contract_id: int | None
    amount: Decimal


class PaymentOut(Schema):
    id: int
    external_id: str | None
    customer_id: int
    customer_name: str
    manager_id: int | None
    paid_on: dt.date
    amount: Decimal
    currency: str
    payer_name: str
    payer_account: str
    over_reason: str
    status: str
    confirmed_by_id: int | None
    confirmed_at: dt.datetime | None
    decision_note: str
    allocations: list[AllocationOut]


def _payment_out(p: Payment) -> dict[str, Any]:
    return {"id": p.pk, "external_id": p.external_id, "customer_id": p.customer_id, "customer_name": p.customer.name,
            "manager_id": p.manager_id, "paid_on": p.paid_on, "amount": p.amount, "currency": p.currency,
            "payer_name": p.payer_name, "payer_account": p.payer_account, "over_reason": p.over_reason,
            "status": p.status, "confirmed_by_id": p.confirmed_by_id, "confirmed_at": p.confirmed_at,
            "decision_note": p.decision_note,
            "allocations": [{"order_id": a.order_id, "contract_id": a.contract_id, "amount": a.amount}
                            for a in p.allocations.all()]}


class PaymentFilter(ListParams):
    status: str = Field("", max_length=10)
    customer_id: int | None = None
    manager_id: int | None = None
    search: str = Field("", max_length=100)


@router.get("/payments", response={200: Page[PaymentOut], **ERRORS}, summary="Payments you may see")
def payment_list(request: HttpRequest, filters: Query[PaymentFilter]) -> Any:
    qs = selectors.payment_list(viewer=api_viewer(request), status=filters.status, customer_id=filters.customer_id,
                                manager_id=filters.manager_id, search=filters.search)
    return keyset_page(qs.prefetch_related("allocations"), cursor=filters.cursor, limit=filters.limit,
                       order=("-pk",), serialize=_payment_out)


def _same_payment(payment: Payment, payload: PaymentIn) -> bool:
    return (payment.customer_id == payload.customer_id and payment.paid_on == payload.paid_on
            and payment.amount == payload.amount)


@router.post("/payments", response={200: PaymentOut, 201: PaymentOut, **ERRORS},
             summary="Record a payment received (idempotent by external_id or Idempotency-Key)",
             description="Matched to `order_id`, `contract_id` or the customer's oldest dues. More than is due needs "
                         "`over_reason` (else 422 overpayment). Finance confirms it afterwards.")
def payment_create(request: HttpRequest, payload: PaymentIn) -> Any:
    viewer = api_viewer(request)

    def create() -> tuple[int, dict[str, Any]]:
        if payload.external_id:
            existing = Payment.objects.filter(external_id=payload.external_id).first()
            if existing is not None:
                payment = selectors.payment_get(viewer=viewer, payment_id=existing.pk)
                if not _same_payment(payment, payload):
                    raise Conflict(_("A payment with this external_id exists with other values."),
                                   code="external_id_conflict")
                return 200, _payment_out(payment)
        try:
            payment = services.payment_record(actor=viewer, **payload.dict())
        except IntegrityError as exc:
            raise Conflict(code="external_id_conflict") from exc
        return 201, _payment_out(selectors.payment_get(viewer=viewer, payment_id=payment.pk))

    return _idempotent(request, "payments", payload.dict(), create)


@router.get("/payments/queue", response={200: Page[PaymentOut], **ERRORS},
            summary="Payments awaiting finance's confirmation, oldest first")
def payment_queue(request: HttpRequest, params: Query[ListParams]) -> Any:
    qs = selectors.confirmation_queue(viewer=api_viewer(request))
    return keyset_page(qs.prefetch_related("allocations"), cursor=params.cursor, limit=params.limit,
                       order=("paid_on", "pk"), serialize=_payment_out)


@router.get("/payments/{int:payment_id}", response={200: PaymentOut, **ERRORS}, summary="One payment")
def payment_get(request: HttpRequest, payment_id: int) -> Any:
    return _payment_out(selectors.payment_get(viewer=api_viewer(request), payment_id=payment_id))


class ConfirmIn(Schema):
    approve: bool = True
    note: str = Field("", max_length=300)


@router.post("/payments/{int:payment_id}/confirm", response={200: PaymentOut, **ERRORS},
             summary="Finance confirms or rejects a payment (not the person who recorded it)")
def payment_confirm(request: HttpRequest, payment_id: int, payload: ConfirmIn) -> Any:
    viewer = api_viewer(request)
    services.payment_confirm(actor=viewer, payment_id=payment_id, approve=payload.approve, note=payload.note)
    return _payment_out(selectors.payment_get(viewer=viewer, payment_id=payment_id))


# ---------------------------------------------------------------- receivables, findings, figures


class AgeingOut(Schema):
    key: int | None
    name: str
    current: Decimal
    d0_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    overdue: Decimal
    total: Decimal


@router.get("/receivables", response={200: list[AgeingOut], **ERRORS},
            summary="Receivables by ageing bucket, per customer or per manager")
def receivables(request: HttpRequest, group: Literal["customer", "manager"] = "customer",
                as_of: dt.date | None = None) -> Any:
    return selectors.receivables(viewer=api_viewer(request), group=group, today=as_of)


class FindingOut(Schema):
    id: int
    kind: str
    subject: str
    customer_id: int | None
    manager_id: int | None
    details: dict[str, Any]
    detected_at: dt.datetime
    status: str
    resolution_note: str
    resolved_by_id: int | None
    resolved_at: dt.datetime | None


def _finding_out(f: DataQualityFinding) -> dict[str, Any]:
    return {"id": f.pk, "kind": f.kind, "subject": f.subject, "customer_id": f.customer_id,
            "manager_id": f.manager_id, "details": f.details, "detected_at": f.detected_at, "status": f.status,
            "resolution_note": f.resolution_note, "resolved_by_id": f.resolved_by_id, "resolved_at": f.resolved_at}


class FindingFilter(ListParams):
    kind: str = Field("", max_length=20)
    status: str = Field("", max_length=10)
    customer_id: int | None = None


@router.get("/findings", response={200: Page[FindingOut], **ERRORS}, summary="Data-quality findings you may see")
def finding_list(request: HttpRequest, filters: Query[FindingFilter]) -> Any:
    qs = selectors.findings(viewer=api_viewer(request), kind=filters.kind or None, status=filters.status,
                            customer_id=filters.customer_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_finding_out)


class ContractNoteIn(Schema):
    note: str = Field(..., max_length=2000)


@router.post("/findings/{int:finding_id}/resolve", response={200: FindingOut, **ERRORS},
             summary="Resolve a finding with a note")
def finding_resolve(request: HttpRequest, finding_id: int, payload: ContractNoteIn) -> Any:
    return _finding_out(services.finding_resolve(actor=api_viewer(request), finding_id=finding_id, note=payload.note))


class ContractFiguresOut(Schema):
    user_id: int
    contracts_signed: int
    contracts_value: Decimal
    payments_received: Decimal


@router.get("/week-figures", response={200: list[ContractFiguresOut], **ERRORS},
            summary="Contracts signed and payments received per manager between two dates")
def week_figures(request: HttpRequest, start: dt.date, end: dt.date) -> Any:
    figures = selectors.week_figures(viewer=api_viewer(request), start=start, end=end)
    return [{"user_id": k, **v} for k, v in sorted(figures.items())]


# ---------------------------------------------------------------- webhook secrets and the webhook


class SecretIn(Schema):
    name: str = Field(..., max_length=80)


class SecretOut(Schema):
    id: int
    name: str
    hint: str
    is_active: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    secret: str | None = None


def _secret_out(s: WebhookSecret, plain: str | None = None) -> dict[str, Any]:
    return {"id": s.pk, "name": s.name, "hint": s.hint, "is_active": s.is_active, "created_at": s.created_at,
            "last_used_at": s.last_used_at, "secret": plain}


@router.get("/webhook-secrets", response={200: list[SecretOut], **ERRORS}, summary="ERP webhook secrets (admins)")
def secret_list(request: HttpRequest) -> Any:
    viewer = api_viewer(request)
    services._require_admin(viewer)
    return [_secret_out(s) for s in selectors.webhook_secrets()]


@router.post("/webhook-secrets", response={201: SecretOut, **ERRORS},
             summary="Create a webhook secret: its value is in this answer only")
def secret_create(request: HttpRequest, payload: SecretIn) -> Any:
    secret, plain = services.webhook_secret_create(actor=api_viewer(request), name=payload.name)
    return Status(201, _secret_out(secret, plain))


@router.post("/webhook-secrets/{int:secret_id}/revoke", response={200: SecretOut, **ERRORS},
             summary="Revoke a webhook secret")
def secret_revoke(request: HttpRequest, secret_id: int) -> Any:
    return _secret_out(services.webhook_secret_revoke(actor=api_viewer(request), secret_id=secret_id))


class WebhookReportOut(Schema):
    kind: str
    written: bool
    counts: dict[str, int]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


@router.post("/webhooks/erp", auth=None, response={200: WebhookReportOut, **ERRORS},
             summary="ERP webhook: orders or payments, signed with a shared secret",
             description="Headers `X-KAMGuard-Timestamp` (Unix seconds, within 5 minutes) and `X-KAMGuard-Signature` "
                         "(`sha256=` + hex HMAC-SHA256 of timestamp + '.' + body). Body: {\"kind\": \"orders\" | "
                         "\"payments\", \"rows\": [{…columns of the import format…}]}. Idempotent by external_id. "
                         "400 for a missing or old timestamp or a bad body, 401 for a bad signature: nothing written.")
def webhook_erp(request: HttpRequest) -> Any:
    body = request.body
    try:
        services.webhook_verify(timestamp=request.headers.get("X-KAMGuard-Timestamp", ""),
                                signature=request.headers.get("X-KAMGuard-Signature", ""), body=body)
    except services.WebhookRefused as exc:
        return problem_response(request, status=exc.status, title=exc.message, code=exc.code)
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return problem_response(request, status=400, title=_("The body is not JSON."), code="body_invalid")
    if not isinstance(message, dict) or message.get("kind") not in services.WEBHOOK_KINDS \
            or not isinstance(message.get("rows"), list) or not all(isinstance(r, dict) for r in message["rows"]):
        return problem_response(request, status=400, code="body_invalid",
                                title=_('The body must be {"kind": "orders" or "payments", "rows": [objects]}.'))
    data = "\n".join(json.dumps(row, ensure_ascii=False, default=str) for row in message["rows"]).encode()
    if not message["rows"]:
        return {"kind": message["kind"], "written": False, "counts": {}, "errors": [], "warnings": []}
    report = import_run(actor=None, kind=message["kind"], data=data, filename="webhook.jsonl", file_format="jsonl",
                        atomic=bool(message.get("atomic")))
    out = report.as_dict()
    return {"kind": out["kind"], "written": out["written"], "counts": out["counts"], "errors": out["errors"],
            "warnings": out["warnings"]}


__all__ = ["router", "NotFound"]
