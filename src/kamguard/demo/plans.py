"""Build the demo's monthly marketing plans (月度营销计划): for every active key account manager, the last three
months (approved, with the supervisor's comments on the plan and on plan versus actual), this month (approved,
submitted and waiting, or returned for changes) and, for a few, next month as a draft.

Run after `kamguard.demo.activities`: past months' visit plans point at the visits the activities demo wrote
(most planned visits done as planned, a few missed and cancelled); this month's remaining days are planned
through `plan_visit_add`, so each creates its planned visit through `activities.services.visit_plan` with
`plan_ref="plans:<item id>"`. Plans, submissions, reviews and comments go through the plan services; past
months' items, which the activities app no longer accepts as new plans (more than a month back), are written in
bulk with their audit events.

Reproducible: random.Random(seed), dates relative to timezone.localdate().
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from kamguard.activities.models import Activity, Kind, Status
from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.customers.models import Customer, CustomerStatus
from kamguard.org.domain.roles import Scope
from kamguard.org.models import User
from kamguard.plans import services
from kamguard.plans.domain.months import month_add, month_end, month_start
from kamguard.plans.models import MarketingPlan, PlanStatus, PlanVisit

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

PAST_MONTHS = 3
PLANNED_SHARE = 0.8  # of a past month's done visits, the share that was in the plan
MISSED_PER_MONTH = (0, 3)  # planned visits that did not happen (cancelled), per past month

GOALS = (
    "本月销售回款目标 {amount} 万元，新签合同 {contracts} 份；重点推进 {customer} 的年度框架协议。",
    "完成销量 {amount} 万元；A 类客户每月拜访不少于 2 次，新开发客户 {contracts} 家。",
    "回款 {amount} 万元，清理 60 天以上应收；{customer} 试用转正式订单。",
)
ANALYSES = (
    "上月完成率 {rate}%，主要差距在 {customer}：采购计划推迟。行业整体需求回暖，竞争对手以低价抢占中小客户，"
    "我方优势在交付周期和售后服务。",
    "重点客户需求稳定，{customer} 新任采购总监关注综合成本；竞品报价低约 5%，但质量投诉较多。"
    "本月是客户预算编制期，是推进年度协议的关键窗口。",
    "区域内新增两家潜在大客户；老客户中 {customer} 回款偏慢，需关注资金状况。上月拜访覆盖率不足，B 类客户跟进偏少。",
)
MEASURES = (
    "1. 针对 {customer} 准备综合成本对比方案，月中前面谈采购与技术负责人；\n2. A 类客户每两周拜访一次，邀请主管陪访；\n"
    "3. 逾期回款客户每周电话跟进，月底前上门对账。",
    "1. 组织一次新品技术交流会，邀请重点客户参加；\n2. 对价格敏感客户申请阶梯价格；\n3. 每周五整理竞品信息并填写信息传递表。",
    "1. 为 {customer} 制定试用跟踪计划，每周回访；\n2. B 类客户本月至少拜访一次；\n3. 配合专员完成订单交付与回款催收。",
)
DAY_PLANS = (
    "上午拜访 {customer}，下午整理报价并提交审批。", "电话回访 B 类客户，更新客户资料。",
    "陪同技术人员到 {customer} 做方案交流。", "参加部门周例会，汇报本周拜访情况。", "跟进 {customer} 回款，上门对账。",
)
REVIEW_OK = ("计划目标明确，措施具体，同意。注意 A 类客户拜访频次。", "同意。{customer} 是本月重点，需要支持时及时提出。",
             "同意执行。回款目标偏保守，争取超额完成。")
REVIEW_RETURN = ("营销分析过于笼统，请补充重点客户的具体情况和竞品动态后重新提交。",
                 "拜访计划未覆盖全部 A 类客户，请补充后重新提交。")
RESULT_COMMENTS = (
    "本月计划执行较好，完成率 {rate}%。计划外拜访较多，说明计划编制还不够细，下月请提前规划。",
    "完成率 {rate}%，A 类客户服务标准基本达标；{customer} 的跟进要加强，下月作为重点。",
    "完成率 {rate}%，偏低。拜访取消较多，请在日志中说明原因，下月计划要更贴合客户实际安排。",
)


@dataclass
class BuiltPlans:
    plans: int = 0
    by_status: dict[str, int] | None = None
    visits: int = 0
    planned_through_service: int = 0


def _reviewer(manager: User) -> User | None:
    """The nearest supervisor up the reporting line who may review the manager's plan."""
    node, hops = manager.supervisor, 0
    while node is not None and hops < 5:
        if node.is_active and node.scope >= Scope.DEPARTMENT:
            return node
        node, hops = node.supervisor, hops + 1
    return None


def _text(rng: random.Random, templates: tuple[str, ...], customers: list[Customer], **values: object) -> str:
    name = rng.choice(customers).name if customers else "重点客户"
    return rng.choice(templates).format(customer=name, amount=rng.randint(30, 300), contracts=rng.randint(1, 5),
                                        rate=values.get("rate", rng.randint(60, 95)))


def _managers(world: BuiltWorld) -> list[User]:
    keys = [p.key for p in world.plan.people if not p.is_bulk and "manager" in p.roles and p.left_on is None]
    ids = [world.people[k].pk for k in keys if k in world.people]
    return list(User.objects.filter(pk__in=ids, is_active=True).select_related("supervisor").order_by("pk"))


def _backdate(plan: MarketingPlan, *, submitted: dt.datetime | None = None, reviewed: dt.datetime | None = None,
              commented: dt.datetime | None = None) -> None:
    values: dict[str, dt.datetime] = {}
    if submitted:
        values["submitted_at"] = submitted
    if reviewed:
        values["reviewed_at"] = reviewed
    if commented:
        values["result_comment_at"] = commented
    if values:
        MarketingPlan.objects.filter(pk=plan.pk).update(**values)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _past_items(manager: User, plan: MarketingPlan, rng: random.Random, book: list[Customer],
                until: dt.date) -> int:
    """Link most of the month's done visits (up to `until`) to the plan, add a few missed visits (cancelled)."""
    start = plan.month
    done = list(Activity.objects.filter(
        user=manager, kind=Kind.VISIT, status=Status.DONE, plan_ref="",
        happened_at__gte=_at(start, 0), happened_at__lt=_at(until + dt.timedelta(days=1), 0)).order_by("happened_at"))
    chosen = [a for a in done if rng.random() < PLANNED_SHARE]
    items: list[PlanVisit] = []
    seen: set[tuple[int, dt.date]] = set()
    links: list[tuple[PlanVisit, Activity]] = []
    for activity in chosen:
        assert activity.happened_at is not None
        day = timezone.localtime(activity.happened_at).date()
        if (activity.customer_id, day) in seen:
            continue
        seen.add((activity.customer_id, day))
        item = PlanVisit(plan=plan, customer_id=activity.customer_id, planned_on=day, purpose=activity.summary[:300])
        items.append(item)
        links.append((item, activity))
    missed: list[tuple[PlanVisit, Activity]] = []
    for _ in range(rng.randint(*MISSED_PER_MONTH) if book else 0):
        customer = rng.choice(book)
        day = start + dt.timedelta(days=rng.randint(0, (until - start).days))
        if (customer.pk, day) in seen:
            continue
        seen.add((customer.pk, day))
        item = PlanVisit(plan=plan, customer=customer, planned_on=day, purpose="例行拜访")
        activity = Activity(user=manager, customer=customer, kind=Kind.VISIT, status=Status.CANCELLED,
                            planned_on=day, summary="例行拜访", cancel_reason=rng.choice(
                                ("客户临时出差，改期", "客户内部会议冲突", "当天处理紧急订单交付")), recorded_by=manager)
        items.append(item)
        missed.append((item, activity))
    PlanVisit.objects.bulk_create(items)
    Activity.objects.bulk_create([a for _, a in missed])
    for item, activity in [*links, *missed]:
        activity.plan_ref = item.plan_ref
        item.activity_id = activity.pk
    Activity.objects.bulk_update([a for _, a in [*links, *missed]], ["plan_ref"])
    PlanVisit.objects.bulk_update(items, ["activity_id"])
    audit_record_many(actor=manager, entries=[AuditEntry(
        action="plans.visit.add", obj=plan, changes={"visit": {"before": None, "after": {
            "item": item.pk, "customer": item.customer_id, "day": item.planned_on.isoformat(),
            "activity": item.activity_id}}}) for item in items])
    return len(items)


def _days(manager: User, plan: MarketingPlan, rng: random.Random, book: list[Customer], days: list[dt.date]) -> None:
    for day in days:
        if day.weekday() < 5:
            services.daily_plan_save(actor=manager, plan_id=plan.pk, day=day, content=_text(rng, DAY_PLANS, book))


@transaction.atomic
def plans_build(world: BuiltWorld, *, seed: int | None = None) -> BuiltPlans:
    started = time.perf_counter()
    rng = random.Random(world.plan.seed * 6151 + 29 if seed is None else seed)  # noqa: S311 - demo data
    built = BuiltPlans()
    today = timezone.localdate()
    this_month = month_start(today)
    for index, manager in enumerate(_managers(world)):
        reviewer = _reviewer(manager)
        book = list(Customer.objects.filter(owner=manager, status=CustomerStatus.ACTIVE).order_by("pk")[:40])
        key_accounts = [c for c in book if c.tier == "A"] or book
        # the last three months: approved, with comments on the plan and on its results
        for back in range(PAST_MONTHS, 0, -1):
            month = month_add(this_month, -back)
            plan = services.plan_create(actor=manager, month=month, goals=_text(rng, GOALS, key_accounts),
                                        analysis=_text(rng, ANALYSES, key_accounts),
                                        measures=_text(rng, MEASURES, key_accounts))
            built.visits += _past_items(manager, plan, rng, book, month_end(month))
            _days(manager, plan, rng, book, [month + dt.timedelta(days=d) for d in rng.sample(range(0, 20), 4)])
            if not plan.visits.exists() or reviewer is None:
                continue
            services.plan_submit(actor=manager, plan_id=plan.pk)
            services.plan_review(actor=reviewer, plan_id=plan.pk, approve=True,
                                 comment=_text(rng, REVIEW_OK, key_accounts))
            from kamguard.plans.selectors import plan_result

            rate = plan_result(viewer=reviewer, plan_id=plan.pk).actual.completion_rate or 0
            services.plan_result_comment(actor=reviewer, plan_id=plan.pk,
                                         comment=_text(rng, RESULT_COMMENTS, key_accounts, rate=round(rate * 100)))
            _backdate(plan, submitted=_at(month - dt.timedelta(days=2), 17), reviewed=_at(month - dt.timedelta(days=1), 10),
                      commented=_at(month_add(month, 1) + dt.timedelta(days=2), 11))
        # this month: the days gone by from the visits done, the rest planned through the services
        plan = services.plan_create(actor=manager, month=this_month, goals=_text(rng, GOALS, key_accounts),
                                    analysis=_text(rng, ANALYSES, key_accounts),
                                    measures=_text(rng, MEASURES, key_accounts))
        if today > this_month:
            built.visits += _past_items(manager, plan, rng, book, today - dt.timedelta(days=1))
        remaining = [today + dt.timedelta(days=d) for d in range((month_end(this_month) - today).days + 1)]
        workdays = [d for d in remaining if d.weekday() < 5] or remaining
        for customer in rng.sample(book, min(len(book), 4)):
            day = rng.choice(workdays)
            if PlanVisit.objects.filter(plan=plan, customer=customer, planned_on=day).exists():
                continue
            services.plan_visit_add(actor=manager, plan_id=plan.pk, customer_id=customer.pk, planned_on=day,
                                    purpose="按月度计划拜访")
            built.visits += 1
            built.planned_through_service += 1
        _days(manager, plan, rng, book, sorted(rng.sample(workdays, min(3, len(workdays)))))
        if plan.visits.exists() and reviewer is not None:
            services.plan_submit(actor=manager, plan_id=plan.pk)
            _backdate(plan, submitted=_at(this_month - dt.timedelta(days=1), 18))
            fate = index % 4
            if fate in (0, 1):
                services.plan_review(actor=reviewer, plan_id=plan.pk, approve=True,
                                     comment=_text(rng, REVIEW_OK, key_accounts))
                _backdate(plan, reviewed=_at(this_month, 9))
            elif fate == 2:
                services.plan_review(actor=reviewer, plan_id=plan.pk, approve=False,
                                     comment=rng.choice(REVIEW_RETURN))
            # fate 3: submitted, waiting for the supervisor
        # next month: a draft for every third manager
        if index % 3 == 0:
            services.plan_create(actor=manager, month=month_add(this_month, 1),
                                 goals=_text(rng, GOALS, key_accounts))
    built.plans = MarketingPlan.objects.count()
    built.by_status = {s: MarketingPlan.objects.filter(status=s).count() for s in PlanStatus.values}
    built.visits = PlanVisit.objects.count()
    world.timings["plans"] = time.perf_counter() - started
    return built


def summary_lines(built: BuiltPlans) -> list[str]:
    statuses = ", ".join(f"{n} {s}" for s, n in (built.by_status or {}).items() if n)
    return [f"{built.plans} monthly marketing plans ({statuses}) with {built.visits} planned visits, "
            f"{built.planned_through_service} of them planned this month through the services"]
