"""Build the demo's daily work logs: the deadline rules (company-wide 20:00 Monday to Friday, set by the
administrator; the East region 20:30, set by its supervisor), about three months of logs for every active
manager and specialist — most on time, some late, some missing (marked by the daily job) — written as
Chinese key account managers write them, from the customers each person owns; the regional supervisors'
reviews with evaluation, requirements, suggestions and a 1–5 rating (each person's quality drifting over
the months, a few marked excellent); a few logs edited after their review (a second version); the last
working day's logs waiting in the supervisors' inboxes; today's logs partly drafted.

Volume goes in with bulk inserts, and the audit trail gets one event per log and per review
(`audit_record_many`), as the services would have written.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils import timezone

from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.customers.models import Customer
from kamguard.org.domain.roles import Role
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope
from kamguard.worklogs.access import DeadlineBook
from kamguard.worklogs.domain import deadline_for
from kamguard.worklogs.models import LogReview, LogStatus, WorkLog, WorkLogVersion
from kamguard.worklogs.services import deadline_set, log_review, log_save, missing_mark

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

DAYS = 90
SEED = 2026_02

WORK = ("整理{c}近三个月的订单和回款记录,更新客户档案", "电话回访{c}采购部,确认下季度需求预测",
        "与技术部沟通{c}的定制方案,明确交付时间", "准备{c}的年度合作方案初稿", "在系统中补录{c}的联系人和组织架构",
        "微信跟进{c}项目进度,对方反馈内部仍在比价", "参加部门晨会,领取本周重点客户任务",
        "协助专员核对{c}的应收账款,发出对账函", "整理竞品在{c}的报价信息,填写信息传递表",
        "梳理A类客户本月拜访覆盖情况", "起草{c}的报价单,提交折扣审批")
VISITS = ("拜访{c},与采购经理沟通二期需求;结果:对方认可方案,要求下周提供正式报价;下一步:周三前发报价",
          "拜访{c}设备部,现场了解使用问题;结果:反馈两台设备故障率偏高;下一步:协调售后上门检修",
          "陪同主管拜访{c}总经理,介绍新产品线;结果:客户有意向试用;下一步:安排样品和试用协议",
          "拜访{c}财务,沟通上月回款;结果:承诺月底前付清;下一步:25日再次确认",
          "拜访{c}新任采购总监,建立关系;结果:初步认识,了解决策流程;下一步:约技术交流会")
PROBLEMS = ("{c}对交期有顾虑,需要生产部确认排产", "竞争对手在{c}报价低8%左右,需要申请价格支持",
            "{c}回款周期拉长到90天,存在风险", "部分客户联系人变动,档案信息需要更新", "无",
            "样品库存不足,影响{c}的试用安排")
PLANS = ("1. 上午拜访{c},确认报价细节\n2. 下午整理本周拜访记录", "1. 跟进{c}的试用反馈\n2. 提交信息传递表",
         "1. 电话回访{c}\n2. 参加周例会,汇报重点客户进展", "1. 拜访{c}采购部\n2. 与专员核对发货计划",
         "1. 准备{c}技术交流会材料\n2. 更新客户分级")
EVALUATIONS = {
    5: ("内容具体,拜访目的、结果和下一步清楚,对竞争信息的判断有价值。", "日志完整,问题分析到位,计划可执行。"),
    4: ("拜访记录清楚,下一步明确。", "整体较好,问题描述具体。"),
    3: ("内容基本完整,但拜访结果写得笼统。", "计划偏粗,缺少时间节点。"),
    2: ("日志过于简单,看不出客户的真实需求。", "只写了做了什么,没有结果和下一步。"),
    1: ("内容空洞,与实际工作不符,请重写。",),
}
REQUIREMENTS = ("明天的计划要写到具体客户和时间。", "拜访结果要有客户原话或数据支撑。", "回款风险要每周跟踪。",
                "竞品信息及时填写信息传递表。", "")
SUGGESTIONS = ("可以先约技术负责人,再谈价格。", "建议和专员一起梳理应收账款。", "晨会上分享一下这个客户的打法。", "")


@dataclass
class BuiltWorklogs:
    logs: int = 0
    late: int = 0
    missing: int = 0
    reviews: int = 0
    excellent: int = 0
    versions: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _writers(world: BuiltWorld) -> list[User]:
    people = [User.objects.get(pk=u.pk) for u in world.people.values()]
    return [u for u in people if u.is_active and (Role.MANAGER in u.roles or Role.SPECIALIST in u.roles)]


def _reviewer_for(person: User, supervisors: list[User]) -> User | None:
    """The nearest supervisor over the person: their department's head when a supervisor, else any in scope."""
    in_scope = [s for s in supervisors if s.pk != person.pk and person_in_scope(s, person)]
    if not in_scope:
        return None
    # the narrowest scope first: the longest department path
    return max(in_scope, key=lambda s: len(s.department.path) if s.department else 0)


def _pick(rng: random.Random, options: tuple[str, ...], customer: str) -> str:
    return rng.choice(options).format(c=customer)


def _content(rng: random.Random, customers: list[str], quality: int) -> dict[str, str]:
    def c() -> str:
        return rng.choice(customers)

    n_work = 1 if quality <= 2 else rng.randint(2, 4)
    work = "\n".join(f"{i}. {_pick(rng, WORK, c())}" for i in range(1, n_work + 1))
    visits = "" if quality <= 1 else "\n".join(
        f"{i}. {_pick(rng, VISITS, c())}" for i in range(1, rng.randint(1, 3) + 1))
    if quality <= 2:
        work = rng.choice(("跑客户", "整理资料", "打电话")) + "," + c()
        visits = ""
    return {"today_work": work, "visits": visits, "problems": _pick(rng, PROBLEMS, c()),
            "tomorrow_plan": _pick(rng, PLANS, c())}


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value)


def worklogs_build(world: BuiltWorld) -> BuiltWorklogs:
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data
    built = BuiltWorklogs()
    today = timezone.localdate()
    everyone = [User.objects.get(pk=u.pk) for u in world.people.values()]
    admin = next((u for u in everyone if Role.ADMIN in u.roles and u.is_active), None)
    supervisors = [u for u in everyone if Role.SUPERVISOR in u.roles and u.is_active]
    if admin is not None:
        deadline_set(actor=admin, department=None, due_time=dt.time(20, 0), day_offset=0, workdays="12345")
    east_head = next((s for s in supervisors if s.department and s.department.name.startswith("华东")), None)
    if east_head is not None and east_head.department is not None:
        deadline_set(actor=east_head, department=east_head.department, due_time=dt.time(20, 30), day_offset=0,
                     workdays="12345")
    book = DeadlineBook()
    writers = _writers(world)
    logs: list[WorkLog] = []
    contents: dict[tuple[int, dt.date], dict[str, str]] = {}
    quality_of: dict[tuple[int, dt.date], int] = {}
    last_workday = today - dt.timedelta(days=1)
    while last_workday.isoweekday() > 5:
        last_workday -= dt.timedelta(days=1)
    for person in writers:
        customers = list(Customer.objects.filter(owner=person).values_list("name", flat=True)[:12]) or [
            "上海宏达机械有限公司", "苏州精工电子有限公司", "杭州新源环保科技有限公司"]
        rule = book.rule_for(person)
        diligence = rng.uniform(0.75, 0.97)  # share of days on time
        base = rng.choice((2.6, 3.0, 3.4, 3.8, 4.2))
        drift = rng.uniform(-0.4, 1.0)  # quality over the period (most improve under review)
        start = max(today - dt.timedelta(days=DAYS), person.hired_on or today - dt.timedelta(days=DAYS))
        day = start
        while day < today:
            if rule.is_workday(day):
                deadline = _aware(deadline_for(day, rule))
                roll = rng.random()
                progress = (day - start).days / max(1, (today - start).days)
                quality = max(1, min(5, round(rng.gauss(base + drift * progress, 0.6))))
                if roll < diligence or day == last_workday:
                    submitted = deadline - dt.timedelta(minutes=rng.randint(5, 180))
                    late = False
                elif roll < diligence + (1 - diligence) * 0.6:
                    submitted = deadline + dt.timedelta(minutes=rng.randint(20, 14 * 60))
                    late = True
                else:
                    submitted = None
                    late = False
                if submitted is not None:
                    log = WorkLog(user=person, day=day, status=LogStatus.SUBMITTED, deadline_at=deadline,
                                  submitted_at=submitted, is_late=late)
                    logs.append(log)
                    contents[(person.pk, day)] = _content(rng, customers, quality)
                    quality_of[(person.pk, day)] = quality
            day += dt.timedelta(days=1)
    WorkLog.objects.bulk_create(logs, batch_size=500)
    saved = {(log.user_id, log.day): log for log in WorkLog.objects.filter(
        user__in=writers, day__lt=today).select_related("user")}
    versions = [WorkLogVersion(log=log, number=1, submitted_at=log.submitted_at, **contents[key])
                for key, log in saved.items() if key in contents]
    WorkLogVersion.objects.bulk_create(versions, batch_size=500)
    version_of = {v.log_id: v for v in WorkLogVersion.objects.filter(log__in=saved.values(), number=1)}
    audit_record_many(actor=None, entries=[
        AuditEntry(action="worklogs.log.create", obj=log, object_label=str(log),
                   changes={"day": log.day.isoformat(), "version": 1, "status": ["draft", "submitted"],
                            "is_late": log.is_late, "demo": True})
        for log in saved.values()])
    built.logs = len(saved)
    built.late = sum(1 for log in saved.values() if log.is_late)

    # Reviews: the supervisor reads nearly every log, before the daily meeting the next working morning.
    reviewers = {p.pk: _reviewer_for(p, supervisors) for p in writers}
    reviews: list[LogReview] = []
    excellent_ids: list[int] = []
    for key, log in saved.items():
        reviewer = reviewers.get(log.user_id)
        if reviewer is None or log.day >= last_workday or rng.random() < 0.08:
            continue
        quality = quality_of[key]
        excellent = quality == 5 and rng.random() < 0.35
        reviews.append(LogReview(version=version_of[log.pk], log=log, reviewer=reviewer, rating=quality,
                                 evaluation=rng.choice(EVALUATIONS[quality]), requirements=rng.choice(REQUIREMENTS),
                                 suggestions=rng.choice(SUGGESTIONS), is_excellent=excellent))
        if excellent:
            excellent_ids.append(log.pk)
    LogReview.objects.bulk_create(reviews, batch_size=500)
    WorkLog.objects.filter(pk__in=excellent_ids).update(is_excellent=True)
    by_reviewer: dict[int, list[LogReview]] = defaultdict(list)
    for r in reviews:
        by_reviewer[r.reviewer_id].append(r)
    for reviewer_id, items in by_reviewer.items():
        audit_record_many(actor=User.objects.get(pk=reviewer_id), entries=[
            AuditEntry(action="worklogs.log.review", obj=r.log, object_label=str(r.log),
                       changes={"version": 1, "rating": r.rating, "is_excellent": r.is_excellent, "demo": True})
            for r in items])
    built.reviews = len(reviews)
    built.excellent = len(excellent_ids)

    # A few logs edited after their review: the service keeps the reviewed version and starts version 2.
    reviewed_logs = [r.log for r in reviews[-40:]]
    for log in rng.sample(reviewed_logs, min(4, len(reviewed_logs))):
        v1 = version_of[log.pk]
        log_save(actor=log.user, day=log.day, today_work=v1.today_work, visits=v1.visits,
                 problems=v1.problems + "\n(补充)已与生产部确认,交期可提前一周。", tomorrow_plan=v1.tomorrow_plan)
        built.versions += 1
    # One of them reviewed again through the service.
    second = WorkLog.objects.filter(user__in=writers, current_version=2).first()
    second_reviewer = reviewers.get(second.user_id) if second is not None else None
    if second is not None and second_reviewer is not None:
        log_review(actor=second_reviewer, log_id=second.pk, evaluation="补充内容很及时,交期问题闭环了。",
                   rating=4, requirements="", suggestions="类似问题在晨会上同步给专员。")
        built.reviews += 1

    # Missing logs: the daily job marks them (as the scheduler would have, every morning).
    built.missing = missing_mark(today=today, lookback_days=DAYS)
    # Today: some drafted, a couple already submitted.
    for person in writers[: max(2, len(writers) // 3)]:
        customers = list(Customer.objects.filter(owner=person).values_list("name", flat=True)[:5]) or ["上海宏达机械"]
        content = _content(rng, customers, 4)
        if book.rule_for(person).is_workday(today):
            log_save(actor=person, day=today, submit=rng.random() < 0.3, today_work=content["today_work"],
                     visits=content["visits"], problems=content["problems"], tomorrow_plan=content["tomorrow_plan"])
    built.by_status = {s: WorkLog.objects.filter(user__in=writers, status=s).count() for s in LogStatus.values}
    return built
