"""The risk engine's part of `kamguard demo`: a few realistic diversion stories planted among normal noise,
through the services and the import a user would use, then a scan so the dashboard opens on them.

Noise (through the `orders` import, the ERP path): sixteen months of orders for up to 60 ordinary customers, with
a year-end peak, an industry-wide downturn in one industry over the last three months, one customer that goes
bankrupt (orders stop, the record is closed) and one ordinary owner change followed by the normal ~15% dip.

Stories (each names its subject, so a newcomer can look for it):
- `collapse`    a customer's orders stop in the last three months while its owner keeps logging calls with it;
- `third_party` recent orders of a customer delivered to a trading company's warehouse and paid by it;
- `hijack`      a decision-maker's phone changed to the owner's own, another decision-maker demoted;
- `losses`      a manager loses six late-stage opportunities in a row to the same competitor;
- `price`       an order line at a 42% discount where the norm for that product and tier is about 5%;
- `exfiltration` a manager who gave notice twelve days ago reveals contact details again and again;
- `transfer`    a customer handed over seven months ago whose orders then fell by three quarters.

Hook: add ("risk", "kamguard.risk.demo:risk_build") to `CAPABILITY_BUILDERS` in kamguard/demo/build.py, after
"contracts" (it reads the customers, visits, opportunities and orders the earlier builders made).
Reproducible: random.Random(seed), dates relative to timezone.localdate().
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from kamguard.core.errors import DomainError
from kamguard.customers.models import Contact, Customer, CustomerStatus, OwnershipKind
from kamguard.org.models import User
from kamguard.risk.domain.evidence import SubjectType

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

SEED = 7007
BUCKETS = 16  # months of order history (30-day periods)
NOISE_CUSTOMERS = 60
PRODUCTS = (("伺服电机组件", Decimal("12500")), ("工业传感器套件", Decimal("3200")), ("PLC 控制柜", Decimal("45000")))
MONTHLY = {"A": (60_000, 140_000), "B": (25_000, 70_000), "C": (8_000, 30_000)}
COMPETITOR = "深圳市鑫达科技有限公司"
TRADER = "苏州恒通贸易有限公司"
TRADER_ADDRESS = "江苏省苏州市吴中区木渎镇金枫路 18 号 恒通商贸仓库"


@dataclass
class Story:
    key: str
    subject_type: str
    subject_id: int
    label: str
    person_id: int | None
    rank: int | None = None  # its place in the scan's ranked list (1 = highest)
    score: float | None = None


@dataclass
class BuiltRisk:
    stories: list[Story] = field(default_factory=list)
    orders_imported: int = 0
    run_id: int | None = None
    subjects: int = 0
    alerts: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _managers(world: BuiltWorld) -> list[User]:
    found = []
    for person in world.plan.people:
        user = world.people.get(person.key)
        if user is not None and person.left_on is None and "manager" in person.roles and user.is_active:
            found.append(user)
    return sorted(found, key=lambda u: u.pk)


def _row(rows: list[tuple[Any, ...]], key: str, customer: Customer, day: dt.date, product: tuple[str, Decimal],
         quantity: int, discount: float, address: str) -> None:
    name, list_price = product
    unit = (list_price * Decimal(str(1 - discount / 100))).quantize(Decimal("0.01"))
    rows.append((key, customer.external_id, day.isoformat(), f"{unit * quantity}", name, quantity, f"{unit}",
                 f"{list_price}", f"{discount:.2f}", address or customer.address, "delivered"))


def _history(rows: list[tuple[Any, ...]], rng: random.Random, customer: Customer, today: dt.date, *,
             factor: Any = None, start_bucket: int = BUCKETS) -> None:
    """One or two orders per 30-day period, `start_bucket` periods back; `factor(age)` scales the amount (0
    stops the orders)."""
    low, high = MONTHLY.get(customer.tier, MONTHLY["C"])
    base = rng.uniform(low, high)
    for age in range(start_bucket):
        scale = factor(age) if factor is not None else 1.0
        if scale <= 0:
            continue
        day = today - dt.timedelta(days=age * 30 + rng.randint(0, 25))
        if day < customer.created_on:
            continue
        season = 1.25 if day.month in (12, 1) else 1.0
        amount = base * season * scale * rng.uniform(0.85, 1.15)
        product = PRODUCTS[(customer.pk + age) % len(PRODUCTS)]
        quantity = max(1, round(amount / float(product[1])))
        _row(rows, f"RISK-{customer.pk}-{age:02d}", customer, day, product, quantity, rng.uniform(3.0, 8.0),
             customer.address)


def _ensure_external_ids(customers: list[Customer]) -> None:
    missing = [c for c in customers if not c.external_id]
    for customer in missing:
        customer.external_id = f"DEMO-C{customer.pk:06d}"
    if missing:
        Customer.objects.bulk_update(missing, ["external_id"], batch_size=500)


@transaction.atomic
def risk_build(world: BuiltWorld, *, seed: int = SEED) -> BuiltRisk:
    from kamguard.core.io.runner import import_run
    from kamguard.risk.models import ScanKind
    from kamguard.risk.services.scan import scan_run

    started = time.perf_counter()
    built = BuiltRisk()
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    today = timezone.localdate()
    managers = [m for m in _managers(world)
                if Customer.objects.filter(owner=m, status=CustomerStatus.ACTIVE).count() >= 3]
    if len(managers) < 7:
        built.notes.append("fewer than 7 managers with 3 customers: no risk stories planted")
        return built
    m_collapse, m_third, m_hijack, m_losses, m_exfil, m_from, m_to = managers[:7]
    owned = {m.pk: list(Customer.objects.filter(owner=m, status=CustomerStatus.ACTIVE,
                                                created_on__lte=today - dt.timedelta(days=BUCKETS * 30)).order_by(
        "-tier", "pk")) or list(Customer.objects.filter(owner=m, status=CustomerStatus.ACTIVE).order_by("pk"))
        for m in managers}
    c_collapse = owned[m_collapse.pk][0]
    c_third = owned[m_third.pk][0]
    c_hijack = owned[m_hijack.pk][0]
    c_price = owned[m_losses.pk][0]
    c_transfer = owned[m_from.pk][0]
    story_ids = {c.pk for c in (c_collapse, c_third, c_hijack, c_price, c_transfer)}
    noise = list(Customer.objects.filter(owner__isnull=False, status=CustomerStatus.ACTIVE).exclude(
        pk__in=story_ids).order_by("pk")[:NOISE_CUSTOMERS])
    _ensure_external_ids([*noise, c_collapse, c_third, c_hijack, c_price, c_transfer])

    # ------------------------------------------------------------ an ordinary owner change, and the planted one
    from kamguard.customers.services.ownership import owner_change

    moved_at = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=210), dt.time(10)))
    owner_change(customer=c_transfer, expected_owner_id=m_from.pk, new_owner=m_to, kind=OwnershipKind.TRANSFER,
                 actor=None, reason="区域调整，客户移交", effective_at=moved_at)
    churn = noise[-1] if len(noise) > 10 else None
    if churn is not None and churn.owner_id and churn.owner_id != m_to.pk:
        owner_change(customer=churn, expected_owner_id=churn.owner_id, new_owner=m_to, kind=OwnershipKind.TRANSFER,
                     actor=None, reason="区域调整，客户移交", effective_at=moved_at)

    # ------------------------------------------------------------ sixteen months of orders (the ERP import)
    rows: list[tuple[Any, ...]] = []
    industries = Counter(c.industry_id for c in noise if c.industry_id)
    downturn = industries.most_common(2)[-1][0] if len(industries) >= 2 else None
    bankrupt = noise[1] if len(noise) > 5 else None
    for customer in noise:
        if customer is bankrupt:
            _history(rows, rng, customer, today, factor=lambda age: 0.0 if age < 4 else 1.0)
        elif customer.industry_id == downturn:
            _history(rows, rng, customer, today, factor=lambda age: 0.65 if age < 3 else 1.0)
        elif customer is churn:
            _history(rows, rng, customer, today, factor=lambda age: 0.85 if age < 7 else 1.0)
        else:
            _history(rows, rng, customer, today)
    _history(rows, rng, c_collapse, today, factor=lambda age: 0.0 if age < 3 else 1.4)
    _history(rows, rng, c_third, today, factor=lambda age: 0.0 if age < 3 else 1.0)
    _history(rows, rng, c_hijack, today)
    _history(rows, rng, c_price, today)
    _history(rows, rng, c_transfer, today, factor=lambda age: 0.25 if age < 7 else 1.3)
    _row(rows, f"RISK-{c_price.pk}-PRICE", c_price, today - dt.timedelta(days=9), PRODUCTS[0], 6, 42.0,
         c_price.address)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("external_id", "customer", "order_date", "amount", "product", "quantity", "unit_price",
                     "list_price", "discount_pct", "delivery_address", "status"))
    writer.writerows(rows)
    report = import_run(actor=None, kind="orders", data=out.getvalue().encode(), filename="demo-risk-orders.csv")
    built.orders_imported = report.created
    if bankrupt is not None:
        from kamguard.customers.services.records import customer_update

        customer_update(actor=None, customer_id=bankrupt.pk, status=CustomerStatus.CLOSED, reason="破产清算，停止经营")

    # ------------------------------------------------------------ the stories through the services
    _story_collapse(built, rng, m_collapse, c_collapse, today)
    _story_third_party(built, m_third, c_third, today)
    _story_hijack(built, m_hijack, c_hijack)
    _story_losses(built, m_losses, owned[m_losses.pk], today)
    _story_exfiltration(built, m_exfil, owned[m_exfil.pk], today)
    built.stories.append(Story("price", SubjectType.ORDER, 0, f"{c_price.name} RISK-{c_price.pk}-PRICE",
                               m_losses.pk))
    built.stories.append(Story("transfer", SubjectType.CUSTOMER, c_transfer.pk, c_transfer.name, m_from.pk))

    # ------------------------------------------------------------ tonight's scan, already run
    from kamguard.contracts.models import Order

    price_order = Order.objects.filter(external_id=f"RISK-{c_price.pk}-PRICE").values_list("pk", flat=True).first()
    for story in built.stories:
        if story.key == "price" and price_order:
            story.subject_id = price_order
    try:
        outcome = scan_run(actor=None, kind=ScanKind.NIGHTLY)
    except DomainError as error:
        built.notes.append(f"scan: {error.message}")
    else:
        built.run_id, built.subjects, built.alerts = outcome.run.pk, outcome.run.subjects, outcome.alerts_raised
        ranks = {(s.subject_type.value, s.subject_id): (i, s.score)
                 for i, s in enumerate(outcome.evaluation.scores, start=1)}
        for story in built.stories:
            found = ranks.get((str(story.subject_type), story.subject_id))
            if found:
                story.rank, story.score = found[0], round(found[1], 3)
    built.seconds = round(time.perf_counter() - started, 2)
    return built


def _story_collapse(built: BuiltRisk, rng: random.Random, manager: User, customer: Customer,
                    today: dt.date) -> None:
    """The owner keeps logging calls and WeChat messages while the orders have stopped."""
    from kamguard.activities.services import contact_record

    for days in (84, 70, 61, 47, 33, 26, 12, 5):
        when = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days), dt.time(15, rng.randint(0, 59))))
        contact_record(actor=manager, customer_id=customer.pk, kind="call" if days % 2 else "wechat",
                       happened_at=when, summary="跟进项目进展", outcome="客户表示近期采购暂缓",
                       next_step="下月再联系")
    built.stories.append(Story("collapse", SubjectType.CUSTOMER, customer.pk, customer.name, manager.pk))


def _story_third_party(built: BuiltRisk, manager: User, customer: Customer, today: dt.date) -> None:
    """Recent orders shipped to a trading company's warehouse and paid by that company."""
    from kamguard.contracts import services

    for n, days in enumerate((70, 41, 15)):
        day = today - dt.timedelta(days=days)
        order = services.order_create(actor=None, customer_id=customer.pk, order_date=day, number=f"SO-TP-{n}",
                                      lines=[{"product": PRODUCTS[2][0], "quantity": 2, "unit_price": PRODUCTS[2][1]}],
                                      delivery_address=TRADER_ADDRESS, manager_id=manager.pk)
        services.delivery_record(actor=None, order_id=order.pk, address=TRADER_ADDRESS,
                                 shipped_on=day + dt.timedelta(days=3), note="客户要求改发此地址")
        services.payment_record(actor=None, customer_id=customer.pk, paid_on=min(today, day + dt.timedelta(days=10)),
                                amount=order.amount, order_id=order.pk, payer_name=TRADER,
                                payer_account="6222020200112233445")
    built.stories.append(Story("third_party", SubjectType.CUSTOMER, customer.pk, customer.name, manager.pk))


def _story_hijack(built: BuiltRisk, manager: User, customer: Customer) -> None:
    """A decision-maker's phone becomes the owner's own; another decision-maker is demoted."""
    from kamguard.customers.services.records import contact_save

    makers = list(Contact.objects.filter(customer=customer, is_active=True).order_by("-is_decision_maker", "pk"))
    while len(makers) < 2:
        makers.append(contact_save(actor=None, customer_id=customer.pk, name=("王建国", "李敏")[len(makers)],
                                   title=("采购总监", "总经理")[len(makers)], phone=f"1391234567{len(makers)}",
                                   is_decision_maker=True))
    for contact in makers[:2]:
        if not contact.is_decision_maker:
            contact_save(actor=None, customer_id=customer.pk, contact_id=contact.pk, is_decision_maker=True)
    if manager.phone:
        contact_save(actor=manager, customer_id=customer.pk, contact_id=makers[0].pk, phone=manager.phone)
    else:
        contact_save(actor=manager, customer_id=customer.pk, contact_id=makers[0].pk, email=manager.email)
    contact_save(actor=manager, customer_id=customer.pk, contact_id=makers[1].pk, is_decision_maker=False)
    built.stories.append(Story("hijack", SubjectType.CUSTOMER, customer.pk, customer.name, manager.pk))


def _story_losses(built: BuiltRisk, manager: User, customers: list[Customer], today: dt.date) -> None:
    """Six opportunities taken to the proposal stage, then lost to the same competitor."""
    from kamguard.activities.services import visit_check_in, visit_check_out, visit_plan
    from kamguard.sales.services.opportunities import customer_has_visit, opportunity_create, opportunity_move

    lost = 0
    for n in range(6):
        customer = customers[n % len(customers)]
        try:
            if not customer_has_visit(customer.pk):
                visit = visit_plan(actor=manager, customer_id=customer.pk, planned_on=today, purpose="方案交流")
                visit_check_in(actor=manager, activity_id=visit.pk, location_denied=True)
                visit_check_out(actor=manager, activity_id=visit.pk, outcome="客户认可方案", next_step="提交报价")
            opportunity = opportunity_create(actor=manager, customer_id=customer.pk, name=f"{customer.name[:12]} 产线改造项目{n + 1}",
                                             amount=Decimal(300_000 + 50_000 * n))
            opportunity_move(actor=manager, opportunity_id=opportunity.pk, stage="proposal", note="已提交方案")
            opportunity_move(actor=manager, opportunity_id=opportunity.pk, stage="lost", lost_reason="competitor",
                             competitor=COMPETITOR, lost_note="客户选择了价格更低的方案")
            lost += 1
        except DomainError as error:
            built.notes.append(f"losses: {error.message}")
    if lost:
        built.stories.append(Story("losses", SubjectType.MANAGER, manager.pk, manager.full_name, manager.pk))


def _story_exfiltration(built: BuiltRisk, manager: User, customers: list[Customer], today: dt.date) -> None:
    """Notice given twelve days ago; since then, contact details revealed over and over."""
    from kamguard.allocation.services.people import departure_notice_set
    from kamguard.core.audit import AuditEntry, audit_record_many

    departure_notice_set(actor=None, person=manager, noticed_on=today - dt.timedelta(days=12),
                         leaves_on=today + dt.timedelta(days=18), note="个人原因离职")
    contacts = list(Contact.objects.filter(customer__in=customers).order_by("pk")[:40])
    targets: list[Contact | None] = list(contacts) or [None]
    entries = [AuditEntry(action="pii.revealed", object_type="customers.contact",
                          object_id=c.pk if c else "", object_label=str(c) if c else "", reason="phone")
               for c in (targets * (45 // len(targets) + 1))[:45]]
    audit_record_many(actor=manager, entries=entries)
    built.stories.append(Story("exfiltration", SubjectType.MANAGER, manager.pk, manager.full_name, manager.pk))


def summary_lines(built: BuiltRisk) -> list[str]:
    if not built.stories:
        return [f"risk: nothing planted ({'; '.join(built.notes)})"]
    lines = [f"risk: {built.orders_imported} orders of history imported; scan {built.run_id}: {built.subjects} "
             f"subjects with signals, {built.alerts} alerts (Risk → Dashboard). Planted stories:"]
    for story in built.stories:
        place = f"#{story.rank} ({story.score})" if story.rank else "not ranked"
        lines.append(f"  - {story.key}: {story.subject_type} {story.label} — {place}")
    return lines


__all__ = ["BuiltRisk", "risk_build", "summary_lines"]
