"""Build the demo's sales pipeline: the product catalogue and the discount authority table (through the
services), thirteen months of opportunities for every active key account manager and the customers they own —
won (credit split from the account team), lost (structured reasons, competitors) and open at every stage —
with their stage history, quotes, the customer timelines and the audit trail, then monthly forecasts (locked
at the cut-off, accuracy computed) and, through the services, a few live cases: quotes beyond the manager's
authority waiting for the supervisor's approval and opportunities ready for a contract.

History is written in bulk — the same rows, stage history, audit events (one batch per manager), timeline
entries and last-won times the services write — because thousands of service calls would slow `kamguard
demo` down. Reproducible: random.Random(seed), dates relative to timezone.localdate().
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.customers.models import AccountTeamMember, Customer, CustomerStatus, TimelineEntry
from kamguard.org.models import Grade, User
from kamguard.sales.domain import add_months, credit_split, month_end, month_start, price_line, quote_totals
from kamguard.sales.models import (
    DiscountAuthority,
    Forecast,
    LostReason,
    Opportunity,
    Outcome,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    Stage,
    StageChange,
)
from kamguard.sales.services.catalogue import authority_save, product_save
from kamguard.sales.services.forecasts import forecast_accuracy_compute, forecasts_lock
from kamguard.sales.services.pipeline import pipeline_rebuild

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

HISTORY_DAYS = 400
MAX_CUSTOMERS_PER_MANAGER = 20
OPPORTUNITIES_PER_CUSTOMER = {"A": (2, 4), "B": (1, 3), "C": (0, 2)}
AMOUNT_RANGE = {"A": (400_000, 5_000_000), "B": (120_000, 1_500_000), "C": (30_000, 400_000)}
PRODUCTS = (  # code, name, English name, unit, list price
    ("GW-100", "工业物联网网关", "Industrial IoT gateway", "台", "12800"),
    ("GW-200", "边缘计算网关（增强版）", "Edge computing gateway", "台", "26800"),
    ("SN-310", "温湿度传感器套件", "Temperature and humidity sensor kit", "套", "1850"),
    ("SN-420", "振动监测传感器", "Vibration sensor", "个", "3600"),
    ("PLC-S7", "可编程控制器模块", "PLC module", "块", "9800"),
    ("MES-STD", "MES 制造执行系统标准版（年费）", "MES standard (annual)", "年", "380000"),
    ("MES-ENT", "MES 制造执行系统企业版（年费）", "MES enterprise (annual)", "年", "960000"),
    ("WMS-STD", "WMS 仓储管理系统（年费）", "WMS (annual)", "年", "260000"),
    ("SVC-IMP", "实施服务", "Implementation services", "人天", "2800"),
    ("SVC-TRN", "培训服务", "Training", "人天", "2200"),
    ("SVC-MNT", "年度运维服务", "Annual maintenance", "年", "120000"),
    ("CAB-50", "工业以太网线缆（50 米）", "Industrial Ethernet cable, 50 m", "卷", "680"),
)
OPPORTUNITY_NAMES = ("智能工厂一期", "产线数字化改造", "仓储系统升级", "设备联网项目", "能耗监测平台", "年度备件采购",
                     "MES 系统扩容", "新厂区自动化", "质量追溯系统", "年度运维续约", "二期扩产配套", "安全生产监测")
COMPETITORS = ("西门子", "施耐德电气", "华为", "研华科技", "和利时", "用友网络", "金蝶", "浪潮", "鼎捷软件")
LOST_WEIGHTS = ((LostReason.PRICE, 30), (LostReason.COMPETITOR, 30), (LostReason.BUDGET, 12),
                (LostReason.TIMING, 12), (LostReason.PRODUCT, 8), (LostReason.NO_DECISION, 5),
                (LostReason.RELATIONSHIP, 3))
LOST_NOTES = {
    LostReason.PRICE: "客户最终选择了报价更低的方案，我方价格高出约 12%。",
    LostReason.COMPETITOR: "竞争对手与客户高层关系更深，提前锁定了方案。",
    LostReason.BUDGET: "客户年度预算被削减，项目取消。",
    LostReason.TIMING: "客户项目推迟到明年，重新立项时再跟进。",
    LostReason.PRODUCT: "客户要求的定制功能我方短期内无法满足。",
    LostReason.NO_DECISION: "客户内部意见不统一，项目搁置。",
    LostReason.RELATIONSHIP: "客户对接人更换，新负责人倾向原有供应商。",
}
OPEN_PATH = ("lead", "qualified", "proposal", "negotiation")


@dataclass
class BuiltSales:
    products: int = 0
    opportunities: dict[str, int] = field(default_factory=dict)  # outcome → count
    quotes: int = 0
    forecasts: int = 0
    pending_quotes: list[int] = field(default_factory=list)
    ready_for_contract: list[int] = field(default_factory=list)  # opportunity ids at negotiation, quote approved


def _managers(world: BuiltWorld) -> list[User]:
    keys = [p.key for p in world.plan.people if not p.is_bulk and "manager" in p.roles and p.left_on is None]
    ids = [world.people[k].pk for k in keys if k in world.people]
    return list(User.objects.filter(pk__in=ids, is_active=True).select_related("supervisor", "grade").order_by("pk"))


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.randint(0, 59))))


def _catalogue() -> list[Product]:
    products = []
    for code, name, name_en, unit, price in PRODUCTS:
        existing = Product.objects.filter(code=code).first()
        products.append(existing or product_save(actor=None, code=code, name=name, name_en=name_en, unit=unit,
                                                 list_price=price, currency="CNY"))
    for role, grade_code, pct, note in (("manager", "P5", "8", "资深客户经理"), ("supervisor", "M3", "15", "销售总监")):
        grade = Grade.objects.filter(code=grade_code).first()
        if grade is not None and not DiscountAuthority.objects.filter(role=role, grade=grade).exists():
            authority_save(actor=None, role=role, grade_id=grade.pk, max_discount_pct=pct, note=note)
    return products


def _amount(rng: random.Random, tier: str) -> Decimal:
    low, high = AMOUNT_RANGE.get(tier, AMOUNT_RANGE["C"])
    return Decimal(round(rng.uniform(low, high), -3))


def _lines(rng: random.Random, products: list[Product], amount: Decimal, max_discount: Decimal
           ) -> list[tuple[Product, Any]]:
    """One to three lines adding up to about `amount`, each with a discount up to `max_discount`."""
    picks = rng.sample(products, rng.randint(1, 3))
    share = amount / len(picks)
    lines = []
    for product in picks:
        quantity = max(Decimal(1), (share / product.list_price).quantize(Decimal(1)))
        discount = Decimal(rng.choice([0, 0, 1, 2, 3, 3, 5])).min(max_discount)
        lines.append((product, price_line(quantity=quantity, list_price=product.list_price, discount_pct=discount)))
    return lines


@transaction.atomic
def sales_build(world: BuiltWorld, *, seed: int | None = None) -> BuiltSales:
    started = time.perf_counter()
    rng = random.Random(world.plan.seed * 6007 + 29 if seed is None else seed)  # noqa: S311 - demo data
    built = BuiltSales()
    today = timezone.localdate()
    products = _catalogue()
    built.products = len(products)
    stages = {s.code: s for s in Stage.objects.all()}
    managers = _managers(world)
    books = {m.pk: list(Customer.objects.filter(owner=m, status=CustomerStatus.ACTIVE).order_by("pk")[
        :MAX_CUSTOMERS_PER_MANAGER]) for m in managers}
    teams: dict[int, list[tuple[int, Decimal, str]]] = defaultdict(list)
    for member in AccountTeamMember.objects.filter(customer_id__in=[c.pk for b in books.values() for c in b]).filter(
            Q(end_on__isnull=True) | Q(end_on__gte=today)):
        teams[member.customer_id].append((member.user_id, member.credit_share, member.role))

    plans: list[dict[str, Any]] = []
    for manager in managers:
        for customer in books[manager.pk]:
            low, high = OPPORTUNITIES_PER_CUSTOMER.get(customer.tier, (0, 2))
            for _n in range(rng.randint(low, high)):
                created_on = today - dt.timedelta(days=rng.randint(3, HISTORY_DAYS))
                age = (today - created_on).days
                roll = rng.random()
                if age > 60 and roll < 0.42:
                    outcome = Outcome.WON
                elif age > 45 and roll < 0.70:
                    outcome = Outcome.LOST
                else:
                    outcome = Outcome.OPEN
                if outcome == Outcome.OPEN:
                    depth = min(rng.choice((0, 1, 1, 2, 2, 3)), max(0, age // 20))
                    path = list(OPEN_PATH[:depth + 1])
                    closed_on = None
                elif outcome == Outcome.WON:
                    path = [*OPEN_PATH, "won"]
                    closed_on = created_on + dt.timedelta(days=rng.randint(40, min(age, 200)))
                else:
                    path = [*OPEN_PATH[:rng.randint(1, 4)], "lost"]
                    closed_on = created_on + dt.timedelta(days=rng.randint(20, min(age, 180)))
                plans.append({"manager": manager, "customer": customer, "created_on": created_on,
                              "closed_on": closed_on, "path": path, "outcome": outcome,
                              "amount": _amount(rng, customer.tier), "name": rng.choice(OPPORTUNITY_NAMES)})

    rows: list[Opportunity] = []
    for plan in plans:
        stage = stages[plan["path"][-1]]
        outcome = plan["outcome"]
        reason = competitor = note = ""
        if outcome == Outcome.LOST:
            reason = rng.choices([r for r, _w in LOST_WEIGHTS], [w for _r, w in LOST_WEIGHTS])[0]
            competitor = rng.choice(COMPETITORS) if reason in (LostReason.COMPETITOR, LostReason.PRICE) else ""
            note = LOST_NOTES[reason]
        elif rng.random() < 0.5:
            competitor = rng.choice(COMPETITORS)
        end = plan["closed_on"] or today
        changed_at = _moment(end if outcome != Outcome.OPEN else plan["created_on"] + dt.timedelta(
            days=min((today - plan["created_on"]).days, 12 * (len(plan["path"]) - 1))), rng)
        expected = None if outcome != Outcome.OPEN else today + dt.timedelta(days=rng.randint(-5, 100))
        split = []
        if outcome == Outcome.WON:
            split = [{"user_id": s.user_id, "share_pct": str(s.share_pct), "amount": str(s.amount), "role": s.role}
                     for s in credit_split(owner_id=plan["manager"].pk, amount=plan["amount"],
                                           team=teams.get(plan["customer"].pk, []))]
        plan["changed_at"] = changed_at
        rows.append(Opportunity(
            customer=plan["customer"], owner=plan["manager"], name=f"{plan['customer'].name[:12]}·{plan['name']}",
            stage=stage, outcome=outcome, amount=plan["amount"], currency="CNY", expected_close_on=expected,
            probability={Outcome.WON: 100, Outcome.LOST: 0}.get(outcome, stage.probability), competitor=competitor,
            lost_reason=reason, lost_note=note, created_on=plan["created_on"], closed_on=plan["closed_on"],
            stage_changed_at=changed_at, credit_split=split, created_by=plan["manager"]))
    created = Opportunity.objects.bulk_create(rows, batch_size=1000)

    history: list[StageChange] = []
    timeline: list[TimelineEntry] = []
    audit: dict[int, list[AuditEntry]] = defaultdict(list)
    quotes: list[tuple[Opportunity, dt.datetime, list[tuple[Product, Any]]]] = []
    last_won: dict[int, dt.datetime] = {}
    for opp, plan in zip(created, plans, strict=True):
        path = plan["path"]
        start = _moment(plan["created_on"], rng)
        span = max(plan["changed_at"] - start, dt.timedelta(hours=1))
        moments = [start + span * i / max(1, len(path) - 1) for i in range(len(path))]
        for index, code in enumerate(path):
            history.append(StageChange(opportunity=opp, from_stage=stages[path[index - 1]] if index else None,
                                       to_stage=stages[code], changed_at=moments[index], changed_by=opp.owner))
            if code == "proposal":  # the quote approved on the way to negotiation
                quotes.append((opp, moments[index] + dt.timedelta(days=2),
                               _lines(rng, products, opp.amount, Decimal(5))))
        timeline.append(TimelineEntry(customer_id=opp.customer_id, occurred_at=start, kind="sales.opportunity.created",
                                      actor_id=opp.owner_id, summary=f"新建商机“{opp.name}”（{stages[path[0]].name_zh}，"
                                      f"{opp.amount} CNY）"[:400], data={"opportunity_id": opp.pk, "stage": path[0]}))
        audit[opp.owner_id].append(AuditEntry(action="sales.opportunity.create", obj=opp, changes={
            "name": {"before": None, "after": opp.name}, "amount": {"before": None, "after": str(opp.amount)},
            "stage": {"before": None, "after": stages[path[0]].pk}, "customer": {"before": None,
                                                                                "after": opp.customer_id}}))
        if opp.outcome != Outcome.OPEN:
            verb = "won" if opp.outcome == Outcome.WON else "lost"
            summary = (f"商机“{opp.name}”赢单：{opp.amount} CNY" if verb == "won" else
                       f"商机“{opp.name}”输单：{opp.get_lost_reason_display()}"
                       + (f"（{opp.competitor}）" if opp.competitor else ""))
            timeline.append(TimelineEntry(customer_id=opp.customer_id, occurred_at=moments[-1],
                                          kind=f"sales.opportunity.{verb}", actor_id=opp.owner_id, summary=summary[:400],
                                          data={"opportunity_id": opp.pk, "lost_reason": opp.lost_reason,
                                                "competitor": opp.competitor}))
            audit[opp.owner_id].append(AuditEntry(action=f"sales.opportunity.{verb}", obj=opp, changes={
                "stage": {"before": stages[path[-2]].pk, "after": opp.stage_id},
                "outcome": {"before": Outcome.OPEN, "after": opp.outcome},
                "closed_on": {"before": None, "after": opp.closed_on}}))
            if opp.outcome == Outcome.WON:
                last_won[opp.customer_id] = max(last_won.get(opp.customer_id, moments[-1]), moments[-1])
        elif len(path) > 1:
            audit[opp.owner_id].append(AuditEntry(action="sales.opportunity.stage", obj=opp, changes={
                "stage": {"before": stages[path[0]].pk, "after": opp.stage_id}}))
    StageChange.objects.bulk_create(history, batch_size=2000)

    quote_rows = []
    for opp, at, lines in quotes:
        totals = quote_totals([p for _product, p in lines])
        quote_rows.append(Quote(opportunity=opp, number=f"Q{opp.pk:06d}-1", status=QuoteStatus.APPROVED,
                                currency="CNY", list_total=totals.list_total, total=totals.total,
                                max_discount_pct=totals.max_discount_pct, authority_pct=Decimal(5),
                                created_by=opp.owner, submitted_by=opp.owner, submitted_at=at, decided_at=at,
                                valid_until=at.date() + dt.timedelta(days=30)))
    saved_quotes = Quote.objects.bulk_create(quote_rows, batch_size=1000)
    QuoteLine.objects.bulk_create([
        QuoteLine(quote=quote, position=position, product=product, quantity=p.quantity, list_price=p.list_price,
                  unit_price=p.unit_price, discount_pct=p.discount_pct, line_total=p.line_total)
        for quote, (_opp, _at, lines) in zip(saved_quotes, quotes, strict=True)
        for position, (product, p) in enumerate(lines, start=1)], batch_size=2000)
    for quote, (_opp, at, _l) in zip(saved_quotes, quotes, strict=True):
        quote.created_at = at - dt.timedelta(days=1)
    Quote.objects.bulk_update(saved_quotes, ["created_at"], batch_size=1000)
    for quote, (opp, at, _l) in zip(saved_quotes, quotes, strict=True):
        timeline.append(TimelineEntry(customer_id=opp.customer_id, occurred_at=at, kind="sales.quote.approved",
                                      actor_id=opp.owner_id, summary=f"报价单 {quote.number} 在折扣权限内直接批准："
                                      f"{quote.total} CNY，最大折扣 {quote.max_discount_pct}%"[:400],
                                      data={"quote_id": quote.pk, "opportunity_id": opp.pk}))
        audit[opp.owner_id].append(AuditEntry(action="sales.quote.approve", obj=quote, reason="within discount authority",
                                              changes={"status": {"before": "draft", "after": "approved"},
                                                       "total": {"before": None, "after": str(quote.total)}}))
    built.quotes = len(saved_quotes)
    TimelineEntry.objects.bulk_create(timeline, batch_size=2000)
    for manager in managers:
        if audit.get(manager.pk):
            audit_record_many(actor=manager, entries=audit[manager.pk])
    for customer_id, when in last_won.items():
        Customer.objects.filter(pk=customer_id).filter(Q(last_won_at__isnull=True) | Q(last_won_at__lt=when)).update(
            last_won_at=when)
    for value in Outcome.values:
        built.opportunities[value] = sum(1 for o in created if o.outcome == value)

    pipeline_rebuild()
    built.forecasts = _forecasts(managers, rng, today)
    _live_cases(managers, books, products, rng, built)
    world.timings["sales"] = time.perf_counter() - started
    return built


def _forecasts(managers: list[User], rng: random.Random, today: dt.date) -> int:
    """Thirteen months of forecasts per manager (commit near what they then won), the current and next month open."""
    this_month = month_start(today)
    won: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    for owner_id, closed_on, amount in Opportunity.objects.filter(
            owner__in=managers, outcome=Outcome.WON, closed_on__isnull=False).values_list("owner_id", "closed_on", "amount"):
        if closed_on is not None:
            won[(owner_id, month_start(closed_on))] += amount
    rows = []
    for manager in managers:
        for back in range(12, -2, -1):
            month = add_months(this_month, -back)
            actual = won.get((manager.pk, month), Decimal(0))
            base = actual if back > 0 else Decimal(rng.randint(3, 12) * 100_000)
            commit = (base * Decimal(rng.uniform(0.7, 1.25))).quantize(Decimal("1000")) if base else Decimal(
                rng.randint(0, 4) * 100_000)
            best = (commit * Decimal(rng.uniform(1.15, 1.6))).quantize(Decimal("1000"))
            submitted = _moment(month.replace(day=min(3, month_end(month).day)), rng) - dt.timedelta(days=5)
            rows.append(Forecast(manager=manager, month=month, commit_amount=commit, best_case_amount=best,
                                 submitted_at=submitted, note=""))
    Forecast.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    forecasts_lock(today=today)
    forecast_accuracy_compute(today=today)
    return len(rows)


def _live_cases(managers: list[User], books: dict[int, list[Customer]], products: list[Product],
                rng: random.Random, built: BuiltSales) -> None:
    """Through the services: for three managers with a supervisor, an opportunity at proposal whose quote is
    beyond their authority (waiting for the supervisor), and one at negotiation ready for a contract."""
    from kamguard.activities.models import Activity, Kind, Status
    from kamguard.sales.services import opportunity_create, opportunity_move, quote_create, quote_submit

    chosen = [m for m in managers if m.supervisor_id and books.get(m.pk)][:3]
    for manager in chosen:
        customer = books[manager.pk][0]
        if not Activity.objects.filter(customer=customer, kind=Kind.VISIT, status=Status.DONE).exists():
            continue  # the stages need a logged visit first (the activities demo logs them)
        manager = User.objects.get(pk=manager.pk)
        pending = opportunity_create(actor=manager, customer_id=customer.pk, name=f"{customer.name[:12]}·年度框架协议",
                                     amount="1800000", expected_close_on=timezone.localdate() + dt.timedelta(days=45),
                                     competitor=rng.choice(COMPETITORS))
        for stage in ("qualified", "proposal"):
            opportunity_move(actor=manager, opportunity_id=pending.pk, stage=stage)
        quote = quote_create(actor=manager, opportunity_id=pending.pk, note="客户要求年度框架价格",
                             lines=[{"product_id": products[5].pk, "quantity": "2", "discount_pct": "12"},
                                    {"product_id": products[8].pk, "quantity": "60", "discount_pct": "12"}])
        if quote_submit(actor=manager, quote_id=quote.pk).status == QuoteStatus.PENDING:
            built.pending_quotes.append(quote.pk)
        ready = opportunity_create(actor=manager, customer_id=customer.pk, name=f"{customer.name[:12]}·设备联网二期",
                                   amount="640000", expected_close_on=timezone.localdate() + dt.timedelta(days=20))
        for stage in ("qualified", "proposal"):
            opportunity_move(actor=manager, opportunity_id=ready.pk, stage=stage)
        small = quote_create(actor=manager, opportunity_id=ready.pk,
                             lines=[{"product_id": products[1].pk, "quantity": "20", "discount_pct": "3"},
                                    {"product_id": products[8].pk, "quantity": "30"}])
        quote_submit(actor=manager, quote_id=small.pk)
        opportunity_move(actor=manager, opportunity_id=ready.pk, stage="negotiation", note="客户确认方案，进入合同谈判")
        built.ready_for_contract.append(ready.pk)


def summary_lines(built: BuiltSales) -> list[str]:
    """What the pipeline holds and where to see it at work: who has a quote to approve, whose deal is ready."""
    from kamguard.approvals.models import ApprovalStep, StepStatus
    from kamguard.sales.services.quotes import QUOTE_KIND

    counts = built.opportunities
    lines = [f"sales: {built.products} products; {sum(counts.values())} opportunities ({counts.get('open', 0)} open, "
             f"{counts.get('won', 0)} won, {counts.get('lost', 0)} lost) over 13 months, {built.quotes} quotes, "
             f"{built.forecasts} monthly forecasts."]
    approvers = sorted(set(ApprovalStep.objects.filter(
        request__kind=QUOTE_KIND, request__subject_id__in=built.pending_quotes, status=StepStatus.PENDING,
        approver__isnull=False).values_list("approver__username", "approver__full_name")))
    if approvers:
        who = ", ".join(f"{username} ({name})" for username, name in approvers)
        lines.append(f"sales: {len(built.pending_quotes)} quotes beyond their owner's discount authority wait for "
                     f"approval — sign in as {who}, Sales → Approvals.")
    ready = list(Opportunity.objects.filter(pk__in=built.ready_for_contract).select_related("owner")
                 .order_by("pk").values_list("owner__username", "name"))
    if ready:
        lines.append("sales: ready for a contract (negotiation, quote approved): "
                     + "; ".join(f"{username}'s “{name}”" for username, name in ready) + ".")
    return lines
