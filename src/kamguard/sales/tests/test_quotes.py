"""Quotes: line arithmetic and bad input, discount authority by role and grade, approval beyond it (locked while
pending, decided by the supervisor, never by the author), timeline and audit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kamguard.approvals.models import ApprovalRequest
from kamguard.approvals.services import approval_decide, approval_withdraw
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import TimelineEntry
from kamguard.org.models import Grade
from kamguard.sales.models import DiscountAuthority, Quote, QuoteLine, QuoteStatus
from kamguard.sales.selectors import approved_quote, authority_for
from kamguard.sales.services import quote_create, quote_submit, quote_update
from kamguard.sales.services.catalogue import authority_save

pytestmark = pytest.mark.django_db


def _lines(sales, discount="3"):
    return [{"product_id": sales.widget.pk, "quantity": "10", "discount_pct": discount},
            {"product_id": sales.gadget.pk, "quantity": "4"}]


def _counts():
    return Quote.objects.count(), QuoteLine.objects.count(), AuditEvent.objects.count()


def test_quote_lines_are_priced_and_within_authority_approved_at_once(world, sales):
    quote = quote_create(actor=world.alice, opportunity_id=sales.opp.pk, lines=_lines(sales))
    assert quote.status == QuoteStatus.DRAFT and quote.number.startswith("Q")
    lines = list(quote.lines.order_by("position"))
    assert lines[0].unit_price == Decimal("9700.00") and lines[0].line_total == Decimal("97000.00")
    assert lines[1].discount_pct == 0 and lines[1].line_total == Decimal("10000.00")
    assert quote.total == Decimal("107000.00") and quote.list_total == Decimal("110000.00")
    assert quote.max_discount_pct == Decimal("3.00")
    submitted = quote_submit(actor=world.alice, quote_id=quote.pk)
    assert submitted.status == QuoteStatus.APPROVED and submitted.authority_pct == Decimal("5.00")
    assert not ApprovalRequest.objects.exists()
    assert approved_quote(opportunity_id=sales.opp.pk).pk == quote.pk
    assert TimelineEntry.objects.filter(customer=sales.acme, kind="sales.quote.approved").exists()
    with pytest.raises(Conflict) as caught:
        quote_update(actor=world.alice, quote_id=quote.pk, note="x")
    assert caught.value.code == "approved"


@pytest.mark.parametrize("line, code", [
    ({"discount_pct": "120"}, "discount_over_100"),
    ({"discount_pct": "-1"}, "negative_discount"),
    ({"discount_pct": None, "unit_price": "-5"}, "negative_amount"),
    ({"quantity": "0"}, "quantity_not_positive"),
    ({"quantity": "-2"}, "quantity_not_positive"),
    ({"quantity": "x"}, "not_a_number"),
    ({"product_id": 999999}, "unknown_product"),
])
def test_bad_lines_refused_nothing_written(world, sales, line, code):
    raw = {"product_id": sales.widget.pk, "quantity": "1", "discount_pct": "1", **line}
    before = _counts()
    with pytest.raises(ValidationFailed) as caught:
        quote_create(actor=world.alice, opportunity_id=sales.opp.pk, lines=[raw])
    assert caught.value.code == code
    assert any(key.startswith("lines.0") for key in caught.value.field_errors)
    assert _counts() == before


def test_no_lines_refused(world, sales):
    with pytest.raises(ValidationFailed) as caught:
        quote_create(actor=world.alice, opportunity_id=sales.opp.pk, lines=[])
    assert caught.value.code == "no_lines"


def test_only_owner_quotes(world, sales):
    before = _counts()
    for person in (world.bob, world.sue, world.sam, world.audrey, world.fiona):
        with pytest.raises(PermissionRefused):
            quote_create(actor=person, opportunity_id=sales.opp.pk, lines=_lines(sales))
    with pytest.raises(NotFound):
        quote_create(actor=world.carol, opportunity_id=sales.opp.pk, lines=_lines(sales))
    assert _counts() == before


def test_authority_by_role_and_grade(world):
    p5 = Grade.objects.create(code="P5", name="P5", rank=5)
    p7 = Grade.objects.create(code="P7", name="P7", rank=7)
    assert authority_for(world.alice) == Decimal("5.00")
    assert authority_for(world.sam) == Decimal("10.00")
    assert authority_for(world.audrey) == 0
    authority_save(actor=world.adam, role="manager", grade_id=p7.pk, max_discount_pct="8")
    world.alice.grade = p5
    world.alice.save()
    assert authority_for(world.person("alice")) == Decimal("5.00")
    world.alice.grade = p7
    world.alice.save()
    assert authority_for(world.person("alice")) == Decimal("8.00")
    rows = DiscountAuthority.objects.count()
    with pytest.raises(PermissionRefused):
        authority_save(actor=world.sam, role="manager", max_discount_pct="50")
    with pytest.raises(ValidationFailed) as caught:
        authority_save(actor=world.adam, role="specialist", max_discount_pct="101")
    assert caught.value.code == "discount_over_100"
    with pytest.raises(Conflict):
        authority_save(actor=world.adam, role="manager", grade_id=p7.pk, max_discount_pct="9")
    assert DiscountAuthority.objects.count() == rows


def test_beyond_authority_goes_to_the_supervisor_and_is_locked(world, sales):
    quote = quote_create(actor=world.alice, opportunity_id=sales.opp.pk, lines=_lines(sales, discount="12"))
    pending = quote_submit(actor=world.alice, quote_id=quote.pk)
    assert pending.status == QuoteStatus.PENDING
    request = ApprovalRequest.objects.get(kind="sales.quote", subject_id=quote.pk)
    assert pending.approval_request_id == request.pk and request.status == "pending"
    assert request.facts["discount_pct"] == "12.00"
    # locked while pending
    before = _counts()
    with pytest.raises(Conflict) as caught:
        quote_update(actor=world.alice, quote_id=quote.pk, lines=_lines(sales, discount="1"))
    assert caught.value.code == "approval_pending"
    with pytest.raises(Conflict):
        quote_submit(actor=world.alice, quote_id=quote.pk)
    assert _counts() == before
    # the author never approves
    with pytest.raises(PermissionRefused):
        approval_decide(actor=world.alice, request_id=request.pk, approve=True, reason="")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING
    approval_decide(actor=world.sam, request_id=request.pk, approve=True, reason="战略客户")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.APPROVED
    assert TimelineEntry.objects.filter(customer=sales.acme, kind="sales.quote.approved").exists()
    assert AuditEvent.objects.filter(action="sales.quote.approve", object_id=str(quote.pk)).exists()


def test_rejected_quote_can_be_changed_and_resubmitted_withdrawn_back_to_draft(world, sales):
    quote = quote_create(actor=world.alice, opportunity_id=sales.opp.pk, lines=_lines(sales, discount="20"))
    quote_submit(actor=world.alice, quote_id=quote.pk)
    request = ApprovalRequest.objects.get(kind="sales.quote", subject_id=quote.pk)
    approval_decide(actor=world.sam, request_id=request.pk, approve=False, reason="折扣过高")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.REJECTED
    assert approved_quote(opportunity_id=sales.opp.pk) is None
    changed = quote_update(actor=world.alice, quote_id=quote.pk, lines=_lines(sales, discount="15"))
    assert changed.status == QuoteStatus.DRAFT and changed.max_discount_pct == Decimal("15.00")
    quote_submit(actor=world.alice, quote_id=quote.pk)
    second = ApprovalRequest.objects.filter(kind="sales.quote", subject_id=quote.pk, status="pending").get()
    approval_withdraw(actor=world.alice, request_id=second.pk, reason="改方案")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT
