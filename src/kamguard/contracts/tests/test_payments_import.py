"""The `payments` import's batch path (`payments_record_many`) against the per-row path it replaced: the same file
must leave the same rows (payments, allocations, findings, audit events, receivables) and the same report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.contracts import selectors, services
from kamguard.contracts.imports import PaymentsKind, _money
from kamguard.contracts.models import (
    DataQualityFinding,
    FindingKind,
    Order,
    Payment,
    PaymentAllocation,
    PaymentScheduleItem,
)
from kamguard.contracts.tests.conftest import Book, an_order, signed_contract
from kamguard.core.io.kinds.common import Problems, date_parse, keyed_rows
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import ImportContext, RowInvalid, import_run
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer

HEADER = "external_id,customer,paid_on,amount,order,payer_name,payer_account,currency,over_reason"


def _day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def _per_row_import(self: PaymentsKind, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
    """The import as it was before the batch path (commit 24daafb): each row through `payment_record` /
    `payment_update` in its own savepoint."""
    keyed = keyed_rows(rows, ctx.fail)
    existing = {p.external_id: p for p in Payment.objects.filter(external_id__in=list(keyed))}
    customers = {k: v for k, v in Customer.objects.filter(external_id__in={
        r.get("customer", "") for _n, r in keyed.values()}).values_list("external_id", "pk") if k}
    orders = {k: v for k, v in Order.objects.filter(external_id__in={
        r.get("order", "") for _n, r in keyed.values()} - {""}).values_list("external_id", "pk") if k}
    lost: list[DataQualityFinding] = []

    def apply(key: str, row: dict[str, str], current: Payment | None) -> RowStatus:
        problems = Problems()
        paid_on = date_parse(row.get("paid_on", ""), "paid_on", problems)
        if paid_on is None and not row.get("paid_on"):
            problems.add("paid_on", _("This field is required."))
        amount = _money(row.get("amount", ""), "amount", problems)
        if amount is None and not row.get("amount"):
            problems.add("amount", _("This field is required."))
        customer_id = customers.get(row.get("customer", ""))
        if customer_id is None:
            problems.add("customer", _("Unknown customer %(id)s: kept as a data-quality finding.") % {
                "id": row.get("customer", "")})
        order_id = orders.get(row.get("order", "")) if row.get("order") else None
        if row.get("order") and order_id is None:
            problems.add("order", _("Unknown order %(id)s: no such external id.") % {"id": row.get("order")})
        if problems:
            if customer_id is None and row.get("customer"):
                lost.append(DataQualityFinding(kind=FindingKind.UNKNOWN_CUSTOMER, subject=f"payment:{key}"[:120],
                                                details={"row": row, "source": ctx.source},
                                                detected_at=timezone.now()))
            raise RowInvalid(problems.items)
        assert paid_on is not None and amount is not None and customer_id is not None
        if current is not None:
            if (current.customer_id, current.paid_on, current.amount, current.payer_name, current.payer_account) == (
                    customer_id, paid_on, amount, row.get("payer_name", ""), row.get("payer_account", "")):
                return RowStatus.UNCHANGED
            if current.customer_id != customer_id:
                raise RowInvalid([("customer", _("A payment's customer cannot change."))])
            services.payment_update(actor=ctx.actor, payment_id=current.pk, paid_on=paid_on, amount=amount,
                                    payer_name=row.get("payer_name", ""), payer_account=row.get("payer_account", ""),
                                    over_reason=row.get("over_reason", ""), order_id=order_id)
            return RowStatus.UPDATED
        services.payment_record(actor=ctx.actor, customer_id=customer_id, paid_on=paid_on, amount=amount,
                                order_id=order_id, payer_name=row.get("payer_name", ""),
                                payer_account=row.get("payer_account", ""), over_reason=row.get("over_reason", ""),
                                currency=row.get("currency") or "CNY", external_id=key)
        return RowStatus.CREATED

    for key, (number, row) in keyed.items():
        ctx.attempt(number, key, partial(apply, key, row, existing.get(key)))
    services.findings_add_many(lost)


def _state(since: int) -> dict[str, Any]:
    """What an import wrote, without the ids and times that differ between two runs."""
    payments = dict(Payment.objects.values_list("pk", "external_id"))
    orders = dict(Order.objects.values_list("pk", "external_id"))

    def key(value: str) -> str:  # "o:12" → "o:O-1"
        return f"o:{orders[int(value[2:])]}" if value.startswith("o:") else value

    audit = []
    for event in AuditEvent.objects.filter(sequence__gt=since).order_by("sequence"):
        changes = dict(event.changes)
        if "allocations" in changes:
            changes["allocations"] = {**changes["allocations"], "after": [
                [key(k), v] for k, v in changes["allocations"]["after"]]}
        audit.append((event.action, event.object_type, payments.get(int(event.object_id or 0), event.object_id),
                      event.object_label, event.reason, event.actor_id, changes))
    findings = []
    for f in DataQualityFinding.objects.order_by("kind", "subject"):
        details = dict(f.details)
        if "payment_id" in details:
            details["payment_id"] = payments[details["payment_id"]]
        findings.append((f.kind, f.subject, f.customer_id, f.manager_id, f.status, details))
    return {
        "payments": sorted(Payment.objects.values_list(
            "external_id", "customer_id", "manager_id", "paid_on", "amount", "currency", "payer_name",
            "payer_account", "over_reason", "status", "recorded_by_id", "confirmed_by_id")),
        "allocations": sorted((payments[p], orders.get(o), c, a) for p, o, c, a in PaymentAllocation.objects.values_list(
            "payment_id", "order_id", "contract_id", "amount")),
        "findings": findings, "audit": audit,
        "receivables": sorted(tuple(sorted(r.items())) for r in selectors.receivables(viewer=None)),
    }


def _both_ways(monkeypatch: pytest.MonkeyPatch, actor: Any, data: bytes) -> tuple[Any, Any]:
    """Import `data` per row, note the outcome, roll it back, then import it by the batch path."""
    outcomes = []
    for per_row in (True, False):
        with transaction.atomic():
            since = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
            with monkeypatch.context() as patch:
                if per_row:
                    patch.setattr(PaymentsKind, "import_rows", _per_row_import)
                report = import_run(actor=actor, kind="payments", file_format="csv", data=data)
            outcomes.append(({"results": sorted((r.row, r.external_id, r.status) for r in report.results),
                              "errors": sorted((e.row, e.column, e.message) for e in report.errors)},
                             _state(since)))
            transaction.set_rollback(True)
    return outcomes[0], outcomes[1]


@pytest.fixture
def ledger(world: Any, book: Book) -> dict[str, Any]:
    """Orders of acme (one credited to carol), one of hz, a signed contract of west in two instalments, and a
    payment of hz already imported."""
    for external_id, customer, amount, days, manager in (("O-1", book.acme, "1000", 40, None),
                                                          ("O-2", book.acme, "500", 20, None),
                                                          ("O-3", book.hz, "300", 30, None),
                                                          ("O-4", book.acme, "800", 10, world.carol)):
        order = an_order(customer, amount=amount, days_ago=days,
                         **({"manager_id": manager.pk} if manager else {}))
        Order.objects.filter(pk=order.pk).update(external_id=external_id)
    contract = signed_contract(book.west, world.carol)
    today = timezone.localdate()
    PaymentScheduleItem.objects.filter(contract=contract).delete()
    PaymentScheduleItem.objects.bulk_create([
        PaymentScheduleItem(contract=contract, due_on=today - dt.timedelta(days=60), amount=Decimal("40000.00")),
        PaymentScheduleItem(contract=contract, due_on=today - dt.timedelta(days=30), amount=Decimal("60000.00"))])
    services.payment_record(actor=None, customer_id=book.hz.pk, paid_on=today - dt.timedelta(days=5),
                            amount=Decimal("100"), external_id="P-EX")
    return {"contract": contract}


FILE = "\n".join([
    HEADER,
    f"P-1,C-ACME,{_day(3)},400,O-1,深圳宏达贸易有限公司,6222,CNY,",  # partial, payer mismatch
    f"P-2,C-ACME,{_day(3)},700,O-1,,,CNY,",  # more than the 600 left, no reason
    f"P-3,C-ACME,{_day(3)},700,O-1,上海澄明精密机械有限公司,,CNY,客户预付",  # 600 + 100 unallocated, with a reason
    f"P-4,C-ACME,{_day(2)},200,,,,,",  # oldest dues: O-2 (O-1 is paid now)
    f"P-5,C-WEST,{_day(2)},30000,,,,,",  # first instalment, partly
    f"P-6,C-WEST,{_day(2)},70000,,成都天府食品股份有限公司,,,",  # the rest of both instalments
    f"P-7,C-WEST,{_day(1)},1,,,,,",  # nothing due any more: needs a reason
    f"P-8,C-HZ,{_day(1)},100,O-1,,,,",  # acme's order
    f"P-9,GHOST,{_day(1)},5,,,,,",  # unknown customer: a finding
    f"P-10,C-HZ,{(timezone.localdate() + dt.timedelta(days=2)).isoformat()},10,,,,,",  # in the future
    f"P-11,C-HZ,{_day(1)},0,,,,,",  # zero
    f"P-12,C-HZ,{_day(1)},10,O-X,,,,",  # unknown order
    f"P-13,C-HZ,{_day(1)},150,O-3,杭州远航物流有限公司,,usd,",  # the customer's own name, lower-case currency
    f"P-EX,C-HZ,{_day(5)},120,O-3,,,,",  # changes the payment already imported
    f"P-14,C-HZ,{_day(1)},20,,其他公司,,,",  # after the update: 30 is left due on O-3
    f"P-15,C-ACME,{_day(1)},800,O-4,,,,",  # carol's order of acme
    f"P-3,C-ACME,{_day(1)},1,,,,,",  # the same external id again
    "",
]).encode()


def test_batch_import_writes_what_the_per_row_import_wrote(world: Any, book: Book, ledger: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    per_row, batch = _both_ways(monkeypatch, None, FILE)
    assert batch == per_row
    report, state = batch
    assert [(row, status) for row, _k, status in report["results"]] == [
        (2, "created"), (3, "error"), (4, "created"), (5, "created"), (6, "created"), (7, "created"), (8, "error"),
        (9, "error"), (10, "error"), (11, "error"), (12, "error"), (13, "error"), (14, "created"), (15, "updated"),
        (16, "created"), (17, "created"), (18, "error")]
    assert {(row, column) for row, column, _m in report["errors"]} == {
        (3, "over_reason"), (8, "over_reason"), (9, "order"), (10, "customer"), (11, "paid_on"), (12, "amount"),
        (13, "order"), (18, "external_id")}
    allocations = {(p, o, c is not None, a) for p, o, c, a in state["allocations"]}
    assert ("P-3", "O-1", False, Decimal("600.00")) in allocations
    assert ("P-4", "O-2", False, Decimal("200.00")) in allocations
    assert sum(a for p, _o, _c, a in state["allocations"] if p == "P-6") == Decimal("70000.00")
    assert {(kind, subject) for kind, subject, *_rest in state["findings"]} == {
        ("payer_mismatch", "payment:P-1"), ("payer_mismatch", "payment:P-14"), ("unknown_customer", "payment:P-9")}
    assert [a[0] for a in state["audit"]].count("contracts.payment.recorded") == 8


def test_batch_import_by_a_specialist_same_refusals(world: Any, book: Book, ledger: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """sue (team A) may not see west, and may not record a payment for carol's order of acme."""
    per_row, batch = _both_ways(monkeypatch, world.sue, FILE)
    assert batch == per_row
    report, state = batch
    errors = {(row, column) for row, column, _m in report["errors"]}
    # west and hz are not sue's to see; the update of hz's payment finds nothing she may change; carol's order is
    # outside her team.
    assert errors == {(3, "over_reason"), (6, "customer"), (7, "customer"), (8, "customer"), (9, "customer"),
                      (10, "customer"), (11, "customer"), (12, "amount"), (13, "order"), (14, "customer"), (15, ""),
                      (16, "customer"), (17, ""), (18, "external_id")}
    assert not any(p == "P-15" for p, *_rest in state["payments"])
    assert any(p == "P-4" for p, *_rest in state["payments"])


def test_batch_import_large_file_same_as_per_row(world: Any, book: Book, ledger: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows than a batch: payments spread over three customers' orders and contract, in several batches."""
    from kamguard.contracts import imports

    monkeypatch.setattr(imports, "BATCH", 7)
    lines = [HEADER]
    for n in range(40):
        customer, order = (("C-ACME", ("O-1", "O-2", "")[n % 3]) if n % 4 else ("C-WEST", ""))
        reason = "分批" if n % 5 == 0 else ""
        lines.append(f"Q-{n},{customer},{_day(1 + n % 3)},{50 + 37 * n},{order},,,,{reason}")
    per_row, batch = _both_ways(monkeypatch, None, ("\n".join(lines) + "\n").encode())
    assert batch == per_row
    assert sum(1 for _r, _k, status in batch[0]["results"] if status == "created") > 20
