"""Build the demo's contracts, orders, deliveries and payments (回款) for the demo organisation: 13 months of
history through the contract services, plus an ERP extract imported through the `orders` kind (the bulk path).

Who does what: managers draft their contracts (signed in the past: the approval of historical contracts is not
replayed, the signing is recorded with its date, audit event and timeline entry); the team's specialist records
orders, deliveries and payments; finance confirms payments (a few wait in finance's queue). Some receivables are
left overdue, and the data shows three findings: an ERP order for an unknown customer, a payer who is not the
customer, a delivery to an address never seen for the customer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from kamguard.contracts import services
from kamguard.contracts.models import Contract, ContractStatus, Order
from kamguard.core.audit import audit_record
from kamguard.core.io.runner import import_run
from kamguard.customers.models import Customer, CustomerStatus
from kamguard.customers.services.common import timeline_add
from kamguard.org.models import User

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

SEED = 2026
MONTHS = 13
CONTRACTS = 48
ERP_ORDERS = 400
PRODUCTS = (("数控机床主轴", Decimal("68000")), ("伺服电机组件", Decimal("12500")), ("工业传感器套件", Decimal("3200")),
            ("PLC 控制柜", Decimal("45000")), ("安装调试服务", Decimal("18000")), ("年度维保服务", Decimal("36000")))
TERMS = "1. 交货期：合同签订后 30 日内。\n2. 付款方式：按付款计划电汇。\n3. 质保期：验收合格后 12 个月。"


@dataclass
class BuiltContracts:
    contracts: int = 0
    orders: int = 0
    erp_orders: int = 0
    deliveries: int = 0
    payments: int = 0
    confirmed: int = 0
    findings: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _people(world: BuiltWorld) -> tuple[list[User], dict[int, User], User | None]:
    """Active managers, the specialist of each team (by team id), and a finance person."""
    managers, specialists = [], {}
    finance = None
    for person in world.plan.people:
        user = world.people.get(person.key)
        if user is None or person.left_on is not None:
            continue
        if "manager" in person.roles:
            managers.append(user)
        elif "specialist" in person.roles and user.team_id:
            specialists[user.team_id] = user
        elif "finance" in person.roles and finance is None:
            finance = user
    return managers, specialists, finance


def _day_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


@transaction.atomic
def contracts_build(world: BuiltWorld, *, seed: int = SEED) -> BuiltContracts:
    started = time.perf_counter()
    built = BuiltContracts()
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    today = timezone.localdate()
    managers, specialists, finance = _people(world)
    customers = list(Customer.objects.filter(owner__in=managers, status=CustomerStatus.ACTIVE,
                                             created_on__lte=today - dt.timedelta(days=60)).select_related(
        "owner").order_by("pk"))
    if not customers or finance is None:
        built.notes.append("no customers owned by managers, or no finance person: nothing built")
        return built
    chosen = rng.sample(customers, min(CONTRACTS, len(customers)))
    start = today - dt.timedelta(days=MONTHS * 30)
    odd_address_done = False
    for number, customer in enumerate(chosen):
        manager = customer.owner
        assert manager is not None
        specialist = specialists.get(manager.team_id or 0, manager)
        signed_on = _day_between(rng, max(start, customer.created_on), today - dt.timedelta(days=20))
        picks = [(name, price, rng.randint(1, 6)) for name, price in rng.sample(PRODUCTS, rng.randint(1, 3))]
        lines = [{"product": name, "quantity": quantity, "unit_price": price} for name, price, quantity in picks]
        total = sum((price * quantity for _name, price, quantity in picks), Decimal(0))
        first = (total * Decimal("0.3")).quantize(Decimal("0.01"))
        schedule = [{"due_on": signed_on + dt.timedelta(days=15), "amount": first, "note": "预付款"},
                    {"due_on": signed_on + dt.timedelta(days=75), "amount": total - first, "note": "验收后尾款"}]
        contract = services.contract_create(actor=manager, customer_id=customer.pk, lines=lines, schedule=schedule,
                                            title=f"{customer.name[:20]} {signed_on.year}年设备采购合同",
                                            terms=TERMS, starts_on=signed_on,
                                            ends_on=signed_on + dt.timedelta(days=365))
        if number % 8 == 7:  # a few still drafts
            built.contracts += 1
            continue
        Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED, signed_on=signed_on)
        audit_record(actor=manager, action="contracts.contract.signed", obj=contract, reason="demo history",
                     changes={"status": {"before": ContractStatus.DRAFT, "after": ContractStatus.SIGNED},
                              "signed_on": {"before": None, "after": signed_on.isoformat()}})
        timeline_add(customer=customer, kind="contracts.signed", actor=manager,
                     summary=f"合同 {contract.number} 已签订：{total} CNY", data={"contract_id": contract.pk},
                     at=timezone.make_aware(dt.datetime.combine(signed_on, dt.time(15))))
        built.contracts += 1
        order_date = min(today, signed_on + dt.timedelta(days=rng.randint(1, 10)))
        order = services.order_create(actor=specialist, customer_id=customer.pk, contract_id=contract.pk,
                                      order_date=order_date, number=f"SO-{order_date:%Y%m}-{number:03d}",
                                      delivery_address=customer.address)
        built.orders += 1
        shipped = min(today, order_date + dt.timedelta(days=rng.randint(3, 20)))
        address = customer.address or "上海市浦东新区张江高科技园区碧波路 690 号"
        services.delivery_record(actor=specialist, order_id=order.pk, address=address, shipped_on=shipped,
                                 delivered_on=min(today, shipped + dt.timedelta(days=2)))
        built.deliveries += 1
        if not odd_address_done:  # a second shipment to an address never seen for this customer: a finding
            odd_address_done = True
            services.delivery_record(actor=specialist, order_id=order.pk, shipped_on=shipped,
                                     address="江苏省昆山市花桥镇商务大道 88 号（临时仓库）", note="部分发货")
            built.deliveries += 1
        if (today - order_date).days < 20 or number % 5 == 4:  # recent ones unpaid; some left overdue
            continue
        paid_on = min(today, order_date + dt.timedelta(days=rng.randint(10, 60)))
        full = (today - order_date).days > 90 and rng.random() < 0.8
        amount = order.amount if full else (order.amount * Decimal("0.3")).quantize(Decimal("0.01"))
        payer = "深圳市宏达贸易有限公司" if number == 5 else customer.name  # a payer who is not the customer
        payment = services.payment_record(actor=specialist, customer_id=customer.pk, paid_on=paid_on,
                                          amount=amount, order_id=order.pk, payer_name=payer,
                                          payer_account=f"6222{rng.randrange(10**12):012d}")
        built.payments += 1
        if number % 7 != 6:  # a few wait in finance's queue
            services.payment_confirm(actor=finance, payment_id=payment.pk)
            built.confirmed += 1
    built.erp_orders = _erp_orders(rng, customers, today)
    built.orders += built.erp_orders
    built.findings = services.DataQualityFinding.objects.count()
    built.seconds = round(time.perf_counter() - started, 2)
    return built


def _erp_orders(rng: random.Random, customers: list[Customer], today: dt.date) -> int:
    """An ERP extract of small repeat orders over the months, through the `orders` import (the bulk path),
    with one row for a customer the ERP knows and KAMGuard does not."""
    with_ids = [c for c in customers if c.external_id]
    if not with_ids:
        for customer in customers:
            customer.external_id = f"DEMO-C{customer.pk:06d}"
        Customer.objects.bulk_update(customers, ["external_id"], batch_size=500)
        with_ids = customers
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("external_id", "customer", "order_date", "amount", "product", "quantity", "unit_price",
                     "delivery_address", "status", "number"))
    start = today - dt.timedelta(days=MONTHS * 30)
    for n in range(ERP_ORDERS):
        customer = rng.choice(with_ids)
        name, price = rng.choice(PRODUCTS[1:3])
        quantity = rng.randint(1, 12)
        day = _day_between(rng, max(start, customer.created_on), today)
        writer.writerow((f"ERP-SO-{n:05d}", customer.external_id, day.isoformat(), f"{price * quantity}", name,
                         quantity, f"{price}", customer.address, rng.choice(("open", "delivered", "delivered")),
                         f"ERP{day:%Y%m}{n:05d}"))
    writer.writerow(("ERP-SO-99999", "ERP-UNKNOWN-0042", today.isoformat(), "8800", "工业传感器套件", 1, "8800",
                     "", "open", "ERP-UNKNOWN"))
    report = import_run(actor=None, kind="orders", data=out.getvalue().encode(), filename="demo-erp-orders.csv")
    return report.created


def summary_lines(built: BuiltContracts) -> list[str]:
    return [f"contracts: {built.contracts} contracts, {built.orders} orders ({built.erp_orders} from the ERP "
            f"import), {built.deliveries} deliveries, {built.payments} payments ({built.confirmed} confirmed by "
            f"finance, the rest in finance's queue), {built.findings} data-quality findings (Sales → Contracts and "
            f"orders → Findings)."]


__all__ = ["BuiltContracts", "contracts_build", "summary_lines", "Order"]
