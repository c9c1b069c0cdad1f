"""Services: contracts, orders, deliveries, payments, receivables, findings, webhook secrets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kamguard.contracts import selectors, services
from kamguard.contracts.domain import rules
from kamguard.contracts.models import (
    Contract,
    ContractStatus,
    DataQualityFinding,
    FindingKind,
    Order,
    Payment,
    PaymentStatus,
)
from kamguard.contracts.tests.conftest import Book, an_order, counts, signed_contract
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import TimelineEntry
from kamguard.customers.services.ownership import customer_transfer

TODAY = dt.date.today


def test_contract_create_with_lines_and_schedule(world: Any, book: Book) -> None:
    today = timezone.localdate()
    contract = services.contract_create(
        actor=world.alice, customer_id=book.acme.pk, title="年度供货合同",
        lines=[{"product": "P-1 主轴", "quantity": "2", "unit_price": "30000"},
               {"product": "P-2 服务", "quantity": "1", "unit_price": "40000"}],
        schedule=[{"due_on": today + dt.timedelta(days=30), "amount": "50000"},
                  {"due_on": today + dt.timedelta(days=90), "amount": "50000"}])
    assert contract.amount == Decimal("100000.00")
    assert contract.status == ContractStatus.DRAFT
    assert contract.manager_id == world.alice.pk
    assert contract.number.startswith("HT")
    assert contract.lines.count() == 2 and contract.schedule.count() == 2
    assert AuditEvent.objects.filter(action="contracts.contract.created", object_id=str(contract.pk)).exists()


@pytest.mark.parametrize(("amount", "code"), [("-5", "amount_negative"), ("0", "amount_invalid"),
                                              ("12.345", "amount_invalid"), ("abc", "amount_invalid")])
def test_contract_bad_amount_refused(world: Any, book: Book, amount: str, code: str) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount=amount)
    assert caught.value.code == code
    assert "amount" in caught.value.field_errors
    assert counts() == before


def test_schedule_must_add_up(world: Any, book: Book) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="1000",
                                 schedule=[{"due_on": TODAY(), "amount": "400"}, {"due_on": TODAY(), "amount": "500"}])
    assert caught.value.code == "schedule_mismatch"
    assert "900" in str(caught.value.message)
    assert counts() == before


def test_lines_and_amount_must_agree(world: Any, book: Book) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="10",
                                 lines=[{"product": "A", "quantity": 1, "unit_price": "11"}])
    assert caught.value.code == "amount_mismatch"


def test_contract_permissions(world: Any, book: Book) -> None:
    with pytest.raises(ValidationFailed):  # bob may not see alice's customer
        services.contract_create(actor=world.bob, customer_id=book.acme.pk, title="x", amount="10")
    with pytest.raises(PermissionRefused):  # auditors edit nothing
        services.contract_create(actor=world.audrey, customer_id=book.acme.pk, title="x", amount="10")
    # the specialist of alice's team and the supervisor may
    assert services.contract_create(actor=world.sue, customer_id=book.acme.pk, title="x", amount="10").manager_id \
        == world.alice.pk
    assert services.contract_create(actor=world.sam, customer_id=book.acme.pk, title="y", amount="10").pk
    with pytest.raises(ValidationFailed):
        services.contract_create(actor=world.sue, customer_id=book.west.pk, title="x", amount="10")


def test_edit_refused_while_pending_and_after_signing(world: Any, book: Book) -> None:
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="10")
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.PENDING)
    with pytest.raises(Conflict) as caught:
        services.contract_update(actor=world.alice, contract_id=contract.pk, title="changed")
    assert caught.value.code == "contract_locked"
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED)
    with pytest.raises(Conflict):
        services.contract_update(actor=world.alice, contract_id=contract.pk, title="changed")
    assert Contract.objects.get(pk=contract.pk).title == "x"


def test_sign_needs_approval_then_timeline(world: Any, book: Book) -> None:
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="10")
    with pytest.raises(Conflict):
        services.contract_sign(actor=world.alice, contract_id=contract.pk)
    services.contract_decided(contract_id=contract.pk, approved=True, actor=world.sam)  # not pending: no change
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.DRAFT
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.PENDING)
    services.contract_decided(contract_id=contract.pk, approved=True, actor=world.sam)
    signed = services.contract_sign(actor=world.alice, contract_id=contract.pk, signed_on=TODAY())
    assert signed.status == ContractStatus.SIGNED and signed.signed_on == TODAY()
    assert TimelineEntry.objects.filter(customer=book.acme, kind="contracts.signed").exists()
    with pytest.raises(ValidationFailed):
        services.contract_sign(actor=world.alice, contract_id=contract.pk, signed_on=TODAY() + dt.timedelta(days=1))


def test_order_credited_to_owner_on_order_date(world: Any, book: Book) -> None:
    customer_transfer(actor=world.sam, customer_id=book.acme.pk, to_owner_id=world.bob.pk, reason="调整")
    old = an_order(book.acme, days_ago=20)
    new = an_order(book.acme, days_ago=0)
    assert old.manager_id == world.alice.pk
    assert new.manager_id == world.bob.pk
    assert old.due_on == old.order_date + dt.timedelta(days=30)
    assert TimelineEntry.objects.filter(customer=book.acme, kind="contracts.order").count() == 2


def test_order_from_contract_takes_its_lines(world: Any, book: Book) -> None:
    contract = signed_contract(book.acme, world.alice, amount="300",
                               lines=[{"product": "A", "quantity": 3, "unit_price": "100"}])
    order = services.order_create(actor=world.sue, customer_id=book.acme.pk, contract_id=contract.pk,
                                  order_date=TODAY())
    assert order.amount == Decimal("300.00") and order.lines.count() == 1
    assert order.source == "contract" and order.manager_id == world.alice.pk
    draft = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="d", amount="1")
    with pytest.raises(ValidationFailed) as caught:
        services.order_create(actor=world.alice, customer_id=book.acme.pk, contract_id=draft.pk, order_date=TODAY())
    assert caught.value.code == "contract_not_signed"


def test_new_delivery_address_is_a_finding(world: Any, book: Book) -> None:
    order = an_order(book.acme, delivery_address="上海市浦东新区张江路 100 号")  # the customer's own address
    assert not DataQualityFinding.objects.exists()
    services.delivery_record(actor=world.sue, order_id=order.pk, address="苏州市工业园区星湖街1号",
                             shipped_on=TODAY(), delivered_on=TODAY())
    finding = DataQualityFinding.objects.get()
    assert finding.kind == FindingKind.NEW_ADDRESS and finding.customer_id == book.acme.pk
    assert Order.objects.get(pk=order.pk).status == "delivered"
    assert TimelineEntry.objects.filter(kind="contracts.delivery").count() == 1


def test_delivery_refused_for_outsider_and_bad_dates(world: Any, book: Book) -> None:
    order = an_order(book.acme)
    before = counts()
    with pytest.raises(NotFound):
        services.delivery_record(actor=world.carol, order_id=order.pk, address="x", shipped_on=TODAY())
    with pytest.raises(ValidationFailed):
        services.delivery_record(actor=world.alice, order_id=order.pk, address="x",
                                 shipped_on=order.order_date - dt.timedelta(days=1))
    assert counts() == before


def test_payment_allocates_oldest_first_and_refuses_overpayment(world: Any, book: Book) -> None:
    first = an_order(book.acme, amount="1000", days_ago=40)
    second = an_order(book.acme, amount="500", days_ago=5)
    payment = services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="1200",
                                      payer_name="上海澄明精密机械有限公司")
    parts = {(a.order_id, a.amount) for a in payment.allocations.all()}
    assert parts == {(first.pk, Decimal("1000.00")), (second.pk, Decimal("200.00"))}
    assert payment.status == PaymentStatus.RECORDED and payment.manager_id == world.alice.pk
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="301")
    assert caught.value.code == "overpayment" and "over_reason" in caught.value.field_errors
    assert counts() == before
    extra = services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="301",
                                    over_reason="客户预付下一单")
    assert sum(a.amount for a in extra.allocations.all()) == Decimal("300.00")


def test_payment_to_a_specific_order_over_its_due(world: Any, book: Book) -> None:
    order = an_order(book.acme, amount="100")
    an_order(book.acme, amount="900")
    with pytest.raises(ValidationFailed):
        services.payment_record(actor=world.alice, customer_id=book.acme.pk, paid_on=TODAY(), amount="150",
                                order_id=order.pk)


def test_negative_payment_refused(world: Any, book: Book) -> None:
    an_order(book.acme)
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.payment_record(actor=world.alice, customer_id=book.acme.pk, paid_on=TODAY(), amount="-1")
    assert caught.value.code == "amount_negative"
    assert counts() == before


def test_payer_mismatch_is_a_finding(world: Any, book: Book) -> None:
    an_order(book.acme, amount="2000")
    services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="500",
                            payer_name="上海澄明精密機械有限公司")  # traditional characters: the same company
    assert not DataQualityFinding.objects.exists()
    services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="500",
                            payer_name="深圳市宏达贸易有限公司")
    finding = DataQualityFinding.objects.get()
    assert finding.kind == FindingKind.PAYER_MISMATCH
    assert finding.details["payer_name"] == "深圳市宏达贸易有限公司"


def test_finance_confirms_not_the_recorder(world: Any, book: Book) -> None:
    an_order(book.acme, amount="2000")
    payment = services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="500")
    for person in (world.alice, world.sue, world.sam, world.audrey):
        with pytest.raises(PermissionRefused):
            services.payment_confirm(actor=person, payment_id=payment.pk)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.RECORDED
    own = services.payment_record(actor=world.fiona, customer_id=book.acme.pk, paid_on=TODAY(), amount="100")
    with pytest.raises(PermissionRefused) as caught:
        services.payment_confirm(actor=world.fiona, payment_id=own.pk)
    assert caught.value.code == "segregation_of_duties"
    confirmed = services.payment_confirm(actor=world.fiona, payment_id=payment.pk)
    assert confirmed.status == PaymentStatus.CONFIRMED and confirmed.confirmed_by_id == world.fiona.pk
    assert TimelineEntry.objects.filter(kind="contracts.payment").count() == 1
    with pytest.raises(Conflict):
        services.payment_confirm(actor=world.fiona, payment_id=payment.pk)
    third = services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=TODAY(), amount="100")
    with pytest.raises(ValidationFailed):
        services.payment_confirm(actor=world.fiona, payment_id=third.pk, approve=False)
    rejected = services.payment_confirm(actor=world.fiona, payment_id=third.pk, approve=False, note="银行退票")
    assert rejected.status == PaymentStatus.REJECTED


def test_receivables_ageing(world: Any, book: Book) -> None:
    today = timezone.localdate()
    an_order(book.acme, amount="100", days_ago=20)  # due in 10 days: current
    an_order(book.acme, amount="200", days_ago=50)  # 20 days past due
    an_order(book.acme, amount="300", days_ago=140)  # 110 days past due
    an_order(book.hz, amount="400", days_ago=80)  # 50 days past due
    rows = {r["name"]: r for r in selectors.receivables(viewer=world.sam, today=today)}
    acme = rows[book.acme.name]
    assert (acme["current"], acme["d0_30"], acme["d90_plus"], acme["total"]) == (
        Decimal(100), Decimal(200), Decimal(300), Decimal(600))
    assert rows[book.hz.name]["d31_60"] == Decimal(400)
    assert [r["name"] for r in selectors.receivables(viewer=world.alice)] == [book.acme.name]
    by_manager = {r["key"]: r for r in selectors.receivables(viewer=world.sam, group="manager")}
    assert by_manager[world.henry.pk]["total"] == Decimal(400)
    assert selectors.receivables(viewer=world.carol) == []


def test_contract_schedule_is_receivable_until_orders(world: Any, book: Book) -> None:
    today = timezone.localdate()
    signed_contract(book.acme, world.alice, amount="1000", schedule=[
        {"due_on": today - dt.timedelta(days=45), "amount": "400"},
        {"due_on": today + dt.timedelta(days=10), "amount": "600"}])
    row = selectors.receivables(viewer=world.alice)[0]
    assert row["d31_60"] == Decimal(400) and row["current"] == Decimal(600)
    services.payment_record(actor=world.alice, customer_id=book.acme.pk, paid_on=today, amount="500")
    row = selectors.receivables(viewer=world.alice)[0]
    assert row["d31_60"] == Decimal(0) and row["current"] == Decimal(500)


def test_week_figures(world: Any, book: Book) -> None:
    today = timezone.localdate()
    contract = signed_contract(book.acme, world.alice, amount="5000")
    Contract.objects.filter(pk=contract.pk).update(signed_on=today)
    signed_contract(book.west, world.carol, amount="7000")
    Contract.objects.filter(customer=book.west).update(signed_on=today)
    payment = services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=today, amount="800")
    services.payment_confirm(actor=world.fiona, payment_id=payment.pk)
    figures = selectors.week_figures(viewer=world.sam, start=today - dt.timedelta(days=6), end=today)
    assert figures[world.alice.pk] == {"contracts_signed": 1, "contracts_value": Decimal("5000.00"),
                                       "payments_received": Decimal("800.00")}
    assert world.carol.pk not in figures
    assert world.carol.pk in selectors.week_figures(viewer=world.audrey, start=today, end=today)


def test_findings_visibility_and_resolution(world: Any, book: Book) -> None:
    services.finding_add(kind=FindingKind.UNKNOWN_CUSTOMER, subject="order:X1", details={"row": {}})
    services.finding_add(kind=FindingKind.PAYER_MISMATCH, subject="payment:1", customer_id=book.acme.pk,
                         manager_id=world.alice.pk)
    assert services.finding_add(kind=FindingKind.UNKNOWN_CUSTOMER, subject="order:X1") is None  # once
    assert selectors.findings(viewer=world.alice).count() == 1
    assert selectors.findings(viewer=world.sam).count() == 2
    assert selectors.findings(viewer=world.carol).count() == 0
    assert selectors.findings(viewer=world.audrey, kind="unknown_customer").count() == 1
    finding = selectors.findings(viewer=world.alice).get()
    with pytest.raises(PermissionRefused):
        services.finding_resolve(actor=world.alice, finding_id=finding.pk, note="ok")
    with pytest.raises(ValidationFailed):
        services.finding_resolve(actor=world.sue, finding_id=finding.pk, note=" ")
    resolved = services.finding_resolve(actor=world.sue, finding_id=finding.pk, note="客户母公司代付，已核实")
    assert resolved.status == "resolved" and resolved.resolved_by_id == world.sue.pk
    with pytest.raises(Conflict):
        services.finding_resolve(actor=world.sue, finding_id=finding.pk, note="again")


def test_attachments_checked_by_content(world: Any, book: Book, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="10")
    with pytest.raises(ValidationFailed) as caught:
        services.attachment_add(actor=world.alice, contract_id=contract.pk, filename="合同.pdf",
                                data=b"MZ\x90\x00 not a pdf")
    assert caught.value.code == "file_type"
    pdf = b"%PDF-1.4\n%...\n"
    attachment = services.attachment_add(actor=world.alice, contract_id=contract.pk, filename="../../合同.pdf", data=pdf)
    assert attachment.filename == "合同.pdf" and attachment.file_type == "pdf"
    assert (tmp_path / "contract-files" / attachment.storage_name).read_bytes() == pdf
    with pytest.raises(NotFound):
        services.attachment_open(actor=world.carol, attachment_id=attachment.pk)
    got, data = services.attachment_open(actor=world.sam, attachment_id=attachment.pk)
    assert data == pdf
    assert AuditEvent.objects.filter(action="contracts.attachment.downloaded", actor=world.sam).count() == 1


def test_webhook_secret_sealed_and_verified(world: Any, settings: Any) -> None:
    with pytest.raises(PermissionRefused):
        services.webhook_secret_create(actor=world.sam, name="ERP")
    secret, plain = services.webhook_secret_create(actor=world.adam, name="金蝶 ERP")
    assert plain not in secret.sealed and secret.hint == plain[-4:]
    body = b'{"kind": "orders", "rows": []}'
    now = timezone.now().timestamp()
    stamp = str(int(now))
    assert services.webhook_verify(timestamp=stamp, signature=rules.webhook_signature(plain, stamp, body),
                                   body=body).pk == secret.pk
    with pytest.raises(services.WebhookRefused) as caught:
        services.webhook_verify(timestamp=stamp, signature=rules.webhook_signature("wrong", stamp, body), body=body)
    assert caught.value.status == 401
    old = str(int(now) - 600)
    with pytest.raises(services.WebhookRefused) as caught:
        services.webhook_verify(timestamp=old, signature=rules.webhook_signature(plain, old, body), body=body)
    assert caught.value.status == 400 and caught.value.code == "timestamp_expired"
    services.webhook_secret_revoke(actor=world.adam, secret_id=secret.pk)
    with pytest.raises(services.WebhookRefused):
        services.webhook_verify(timestamp=stamp, signature=rules.webhook_signature(plain, stamp, body), body=body)
