"""Quotes: lines priced from the catalogue with discounts, then submitted. Within the author's discount authority
(the admin-configured table: role and grade) a quote is approved at once; beyond it the approval engine decides
(`approvals.services.approval_submit`, kind "sales.quote") and the quote is locked while the request is pending.

- `quote_create(*, actor, opportunity_id, lines, valid_until=None, note="", currency="") -> Quote` (a draft)
- `quote_update(*, actor, quote_id, lines=None, valid_until=..., note=None) -> Quote` (draft or rejected only)
- `quote_submit(*, actor, quote_id) -> Quote` (approved at once, or pending with an approval request)
- `quote_decided(*, quote_id, approved, actor, request_id=None, withdrawn=False) -> Quote | None` (the handler)
- `QuoteHandler` — the approval engine's subject handler for "sales.quote" (registered in AppConfig.ready)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, ValidationFailed
from kamguard.core.fields import clean_decimal
from kamguard.customers.services.common import timeline_add
from kamguard.org.models import User
from kamguard.sales.domain import QuoteLineError, price_line, quote_totals
from kamguard.sales.models import Outcome, Product, Quote, QuoteLine, QuoteStatus
from kamguard.sales.selectors import authority_for
from kamguard.sales.services.common import clean_currency, clean_text, require_owner, visible_opportunity

if TYPE_CHECKING:
    from kamguard.approvals.models import ApprovalRequest

QUOTE_KIND = "sales.quote"
MAX_LINES = 200
LINE_MESSAGES = {
    "quantity_not_positive": gettext_lazy("The quantity must be more than zero."),
    "negative_amount": gettext_lazy("Amounts cannot be negative."),
    "negative_discount": gettext_lazy("A discount cannot be negative."),
    "discount_over_100": gettext_lazy("A discount cannot be over 100%."),
}


def _decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return clean_decimal(value, field, maximum=Decimal("1e12"))


def _priced_lines(raw_lines: Any) -> list[tuple[Product, str, Any]]:
    if not isinstance(raw_lines, list | tuple) or not raw_lines:
        raise ValidationFailed(field_errors={"lines": [_("Add at least one line.")]}, code="no_lines")
    if len(raw_lines) > MAX_LINES:
        raise ValidationFailed(field_errors={"lines": [_("At most %(n)d lines.") % {"n": MAX_LINES}]},
                               code="too_many_lines")
    ids = []
    for raw in raw_lines:
        try:
            ids.append(int(raw.get("product_id") or raw.get("product") or 0) if isinstance(raw, dict) else 0)
        except (TypeError, ValueError):
            ids.append(0)
    products = Product.objects.in_bulk([i for i in ids if i])
    result = []
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        if not isinstance(raw, dict):
            raise ValidationFailed(field_errors={prefix: [_("Not a line.")]}, code="bad_line")
        product = products.get(ids[index])
        if product is None or not product.active:
            raise ValidationFailed(field_errors={f"{prefix}.product_id": [_("Choose an active product.")]},
                                   code="unknown_product")
        quantity = _decimal(raw.get("quantity"), f"{prefix}.quantity")
        try:
            priced = price_line(quantity=quantity if quantity is not None else Decimal(0),
                                list_price=product.list_price,
                                discount_pct=_decimal(raw.get("discount_pct"), f"{prefix}.discount_pct"),
                                unit_price=_decimal(raw.get("unit_price"), f"{prefix}.unit_price"))
        except QuoteLineError as error:
            raise ValidationFailed(LINE_MESSAGES[error.code], code=error.code,
                                   field_errors={f"{prefix}.{error.column}": [str(LINE_MESSAGES[error.code])]}
                                   ) from None
        description = clean_text(raw.get("description"), field=f"{prefix}.description", max_length=200)
        result.append((product, description, priced))
    return result


def _write_lines(quote: Quote, priced: list[tuple[Product, str, Any]]) -> None:
    quote.lines.all().delete()
    QuoteLine.objects.bulk_create([
        QuoteLine(quote=quote, position=index, product=product, description=description, quantity=p.quantity,
                  list_price=p.list_price, unit_price=p.unit_price, discount_pct=p.discount_pct,
                  line_total=p.line_total)
        for index, (product, description, p) in enumerate(priced, start=1)])
    totals = quote_totals([p for _product, _description, p in priced])
    quote.list_total, quote.total, quote.max_discount_pct = totals.list_total, totals.total, totals.max_discount_pct


def _clean_valid_until(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(field_errors={"valid_until": [_("Use a date such as 2026-12-31.")]},
                               code="bad_date") from None


def _lines_audit(quote: Quote) -> list[dict[str, Any]]:
    return [{"product": line.product_id, "quantity": str(line.quantity), "unit_price": str(line.unit_price),
             "discount_pct": str(line.discount_pct)} for line in quote.lines.all()]


@transaction.atomic
def quote_create(*, actor: User, opportunity_id: int, lines: Any, valid_until: Any = None, note: str = "",
                 currency: str = "") -> Quote:
    opportunity = visible_opportunity(actor, opportunity_id, for_update=True)
    require_owner(actor, opportunity)
    if opportunity.outcome != Outcome.OPEN:
        raise Conflict(_("Quotes are made for open opportunities."), code="closed")
    priced = _priced_lines(lines)
    quote = Quote(opportunity=opportunity, currency=clean_currency(currency, default=opportunity.currency),
                  valid_until=_clean_valid_until(valid_until), note=clean_text(note, field="note", max_length=2000),
                  created_by=actor, status=QuoteStatus.DRAFT)
    count = Quote.objects.filter(opportunity=opportunity).count()
    for attempt in range(5):
        quote.number = f"Q{opportunity.pk:06d}-{count + 1 + attempt}"
        try:
            with transaction.atomic():
                quote.save()
            break
        except IntegrityError:
            quote.pk = None
    else:  # pragma: no cover - five concurrent quotes on one opportunity
        raise Conflict(code="number_taken")
    _write_lines(quote, priced)
    quote.save(update_fields=["list_total", "total", "max_discount_pct", "updated_at"])
    audit_record(actor=actor, action="sales.quote.create", obj=quote,
                 changes={"opportunity": {"before": None, "after": opportunity.pk},
                          "total": {"before": None, "after": str(quote.total)},
                          "lines": {"before": None, "after": _lines_audit(quote)}})
    return quote


def _editable_quote(actor: User, quote_id: int) -> Quote:
    quote = Quote.objects.select_for_update(of=("self",)).filter(pk=quote_id).first()
    if quote is None:
        raise NotFound()
    opportunity = visible_opportunity(actor, quote.opportunity_id)
    require_owner(actor, opportunity)
    quote.opportunity = opportunity
    if quote.status == QuoteStatus.PENDING or _locked(quote.pk):
        raise Conflict(_("The quote is waiting for approval and cannot be changed."), code="approval_pending")
    if quote.status == QuoteStatus.APPROVED:
        raise Conflict(_("An approved quote cannot be changed; make a new one."), code="approved")
    return quote


def _locked(quote_id: int) -> bool:
    from kamguard.approvals.selectors import is_locked

    return bool(is_locked(kind=QUOTE_KIND, subject_id=quote_id))


@transaction.atomic
def quote_update(*, actor: User, quote_id: int, lines: Any = None, valid_until: Any = ..., note: str | None = None
                 ) -> Quote:
    quote = _editable_quote(actor, quote_id)
    before = {"total": str(quote.total), "lines": _lines_audit(quote), "note": quote.note,
              "valid_until": quote.valid_until}
    if lines is not None:
        _write_lines(quote, _priced_lines(lines))
    if valid_until is not ...:
        quote.valid_until = _clean_valid_until(valid_until)
    if note is not None:
        quote.note = clean_text(note, field="note", max_length=2000)
    if quote.status == QuoteStatus.REJECTED:
        quote.status = QuoteStatus.DRAFT
    quote.save()
    after = {"total": str(quote.total), "lines": _lines_audit(quote), "note": quote.note,
             "valid_until": quote.valid_until}
    audit_record(actor=actor, action="sales.quote.update", obj=quote,
                 changes={k: {"before": before[k], "after": after[k]} for k in before if before[k] != after[k]})
    return quote


def _approved_timeline(quote: Quote, actor: User | None, *, auto: bool) -> None:
    opportunity = quote.opportunity
    summary = (_("Quote %(number)s approved within discount authority: %(total)s %(currency)s, largest discount "
                 "%(discount)s%%") if auto else
               _("Quote %(number)s approved: %(total)s %(currency)s, largest discount %(discount)s%%")) % {
        "number": quote.number, "total": quote.total, "currency": quote.currency, "discount": quote.max_discount_pct}
    timeline_add(customer=opportunity.customer, kind="sales.quote.approved", actor=actor, summary=summary,
                 data={"quote_id": quote.pk, "opportunity_id": opportunity.pk, "total": str(quote.total),
                       "discount_pct": str(quote.max_discount_pct), "within_authority": auto})


@transaction.atomic
def quote_submit(*, actor: User, quote_id: int) -> Quote:
    """Within the author's authority the quote is approved now; beyond it an approval request is made and the
    quote is locked (pending) until the engine decides."""
    quote = _editable_quote(actor, quote_id)
    if quote.status != QuoteStatus.DRAFT:
        raise Conflict(_("Only a draft can be submitted."), code="not_draft")
    if not quote.lines.exists():
        raise ValidationFailed(field_errors={"lines": [_("Add at least one line.")]}, code="no_lines")
    authority = authority_for(actor)
    now = timezone.now()
    if quote.max_discount_pct <= authority:
        updated = Quote.objects.filter(pk=quote.pk, status=QuoteStatus.DRAFT).update(
            status=QuoteStatus.APPROVED, authority_pct=authority, submitted_at=now, submitted_by=actor,
            decided_at=now, updated_at=now)
        if updated != 1:
            raise Conflict(code="moved")
        quote.refresh_from_db()
        audit_record(actor=actor, action="sales.quote.approve", obj=quote, reason="within discount authority",
                     changes={"status": {"before": QuoteStatus.DRAFT, "after": QuoteStatus.APPROVED},
                              "discount_pct": {"before": None, "after": str(quote.max_discount_pct)},
                              "authority_pct": {"before": None, "after": str(authority)}})
        _approved_timeline(quote, actor, auto=True)
        return quote
    from kamguard.approvals.domain import ApprovalFacts
    from kamguard.approvals.services import approval_submit

    updated = Quote.objects.filter(pk=quote.pk, status=QuoteStatus.DRAFT).update(
        status=QuoteStatus.PENDING, authority_pct=authority, submitted_at=now, submitted_by=actor, updated_at=now)
    if updated != 1:
        raise Conflict(code="moved")
    audit_record(actor=actor, action="sales.quote.submit", obj=quote,
                 changes={"status": {"before": QuoteStatus.DRAFT, "after": QuoteStatus.PENDING},
                          "discount_pct": {"before": None, "after": str(quote.max_discount_pct)},
                          "authority_pct": {"before": None, "after": str(authority)}})
    customer = quote.opportunity.customer
    facts = ApprovalFacts(amount=quote.total, discount_pct=quote.max_discount_pct, tier=customer.tier,
                          customer_id=customer.pk,
                          extra={"authority_pct": str(authority), "opportunity_id": quote.opportunity_id,
                                 "list_total": str(quote.list_total), "currency": quote.currency})
    summary = _("Quote %(number)s for %(customer)s: %(total)s %(currency)s, discount %(discount)s%% (authority "
                "%(authority)s%%)") % {"number": quote.number, "customer": customer.name, "total": quote.total,
                                       "currency": quote.currency, "discount": quote.max_discount_pct,
                                       "authority": authority}
    request = approval_submit(actor=actor, kind=QUOTE_KIND, subject_id=quote.pk, facts=facts, summary=summary)
    Quote.objects.filter(pk=quote.pk).update(approval_request_id=request.pk)
    quote.refresh_from_db()
    return quote


def quote_decided(*, quote_id: int, approved: bool, actor: User | None, request_id: int | None = None,
                  withdrawn: bool = False) -> Quote | None:
    """Called by the approval engine inside its deciding transaction: a pending quote becomes approved, rejected
    or (withdrawn) a draft again. Conditional on its being pending, so a repeated call changes nothing."""
    quote = Quote.objects.select_related("opportunity", "opportunity__customer").filter(pk=quote_id).first()
    if quote is None:
        return None
    status = QuoteStatus.APPROVED if approved else (QuoteStatus.DRAFT if withdrawn else QuoteStatus.REJECTED)
    now = timezone.now()
    updated = Quote.objects.filter(pk=quote_id, status=QuoteStatus.PENDING).update(
        status=status, decided_at=now, updated_at=now, **({"approval_request_id": request_id} if request_id else {}))
    if updated != 1:
        return quote
    quote.refresh_from_db()
    verb = {QuoteStatus.APPROVED: "approve", QuoteStatus.REJECTED: "reject", QuoteStatus.DRAFT: "withdraw"}[status]
    audit_record(actor=actor, action=f"sales.quote.{verb}", obj=quote, reason=f"approval:{request_id or ''}",
                 changes={"status": {"before": QuoteStatus.PENDING, "after": status}})
    if approved:
        _approved_timeline(quote, actor, auto=False)
    elif not withdrawn:
        timeline_add(customer=quote.opportunity.customer, kind="sales.quote.rejected", actor=actor,
                     summary=_("Quote %(number)s rejected") % {"number": quote.number},
                     data={"quote_id": quote.pk, "opportunity_id": quote.opportunity_id})
    return quote


def quote_handler() -> Any:
    """The subject handler for "sales.quote" (built lazily so this module imports without the approvals app)."""
    from kamguard.approvals.domain import SUPERVISOR, StepSpec
    from kamguard.approvals.registry import SubjectHandler

    class QuoteHandler(SubjectHandler):
        kind = QUOTE_KIND
        label = gettext_lazy("Quote discount")
        # Beyond authority always needs someone: the author's supervisor, unless a policy says more.
        default_steps = (StepSpec(stage=1, approver=SUPERVISOR),)

        def describe(self, subject_id: int) -> str:
            quote = Quote.objects.select_related("opportunity__customer").filter(pk=subject_id).first()
            if quote is None:
                return f"{self.label} #{subject_id}"
            return _("Quote %(number)s · %(customer)s · %(total)s %(currency)s · discount %(discount)s%%") % {
                "number": quote.number, "customer": quote.opportunity.customer.name, "total": quote.total,
                "currency": quote.currency, "discount": quote.max_discount_pct}

        def url(self, subject_id: int) -> str:
            return reverse("sales:quote_detail", args=[subject_id])

        def parties(self, subject_id: int) -> tuple[int, ...]:
            row = Quote.objects.filter(pk=subject_id).values_list("created_by_id", "submitted_by_id",
                                                                  "opportunity__owner_id").first()
            if not row:
                return ()
            return tuple(sorted({int(v) for v in row if v}))

        def on_approved(self, request: ApprovalRequest, *, actor: User | None) -> None:
            quote_decided(quote_id=request.subject_id, approved=True, actor=actor, request_id=request.pk)

        def on_rejected(self, request: ApprovalRequest, *, actor: User | None) -> None:
            quote_decided(quote_id=request.subject_id, approved=False, actor=actor, request_id=request.pk)

        def on_withdrawn(self, request: ApprovalRequest, *, actor: User | None) -> None:
            quote_decided(quote_id=request.subject_id, approved=False, actor=actor, request_id=request.pk,
                          withdrawn=True)

    return QuoteHandler()
