"""Build the demo's meeting minutes through the meetings services: every team's weekly meeting for the last
ten weeks (minutes by the team leader, the team attending, decisions and two or three action items for its
members), each region's monthly meeting chaired by its supervisor (who checks most weekly minutes and writes guidance), the last few days' morning meetings of one
team and one special meeting about a payment risk. Most actions are done with an execution note; the recent
ones are open and some are overdue (what the supervisor's live view flags)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from kamguard.customers.models import Customer
from kamguard.meetings.models import ActionItem, ItemStatus
from kamguard.meetings.services import item_done, meeting_create, meeting_guide
from kamguard.org.domain.roles import Role
from kamguard.org.models import User

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

SEED = 2026_04
WEEKS = 10

WEEKLY_DECISIONS = ("本周A类客户拜访覆盖率必须达到100%", "报价超过授权折扣的一律走审批,不得口头承诺",
                    "回款逾期30天以上的客户,每周例会逐一过", "竞品降价信息当天填写信息传递表",
                    "新客户建档后48小时内完成首次拜访", "周五下班前提交下周拜访计划")
ACTIONS = ("跟进{c}二期项目报价", "催收{c}上月货款", "安排{c}技术交流会", "更新{c}联系人档案",
           "陪同主管拜访{c}", "整理{c}竞品报价信息", "确认{c}的交付排期", "提交{c}的合同审批")
DONE_NOTES = ("已完成,客户确认。", "已发送,客户回复本周内反馈。", "已按时完成,详见工作日志。", "款项已到账。",
              "已拜访,纪要已上传。")
GUIDANCE = ("决定写得具体,责任人和期限都清楚。下次把上周安排的完成情况先过一遍。",
            "回款事项要写明金额和客户对接人,便于跟踪。", "纪要偏简单,讨论的难点和对策要记下来。",
            "竞品信息的安排很好,请同步到信息传递表。")
SUMMARIES = ("回顾上周重点客户拜访和报价进展;讨论两个客户的回款风险;布置本周工作。",
             "各人汇报本周拜访情况,专员通报发货和回款;主管点评日志质量。")


@dataclass
class BuiltMeetings:
    meetings: int = 0
    items: int = 0
    done: int = 0
    overdue: int = 0
    guided: int = 0


def _customers(people: list[User]) -> list[str]:
    names = list(Customer.objects.filter(owner__in=people).values_list("name", flat=True)[:30])
    return names or ["上海宏达机械有限公司", "苏州精工电子有限公司", "杭州新源环保科技有限公司"]


def _held(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 30)))


def meetings_build(world: BuiltWorld) -> BuiltMeetings:
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data
    built = BuiltMeetings()
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    supervisors = [u for u in (User.objects.get(pk=p.pk) for p in world.people.values())
                   if u.is_active and Role.SUPERVISOR in u.roles]

    def items_for(members: list[User], held: dt.date, customers: list[str], n: int) -> list[dict]:
        return [{"description": rng.choice(ACTIONS).format(c=rng.choice(customers)), "owner_id": rng.choice(members).pk,
                 "due_on": held + dt.timedelta(days=rng.choice((2, 3, 4, 7)))} for _i in range(n)]

    for team in world.teams.values():
        members = list(User.objects.filter(team=team, is_active=True).order_by("pk"))
        leader = User.objects.filter(pk=team.leader_id, is_active=True).first() if team.leader_id else None
        if leader is None or len(members) < 2:
            continue
        head = next((s for s in supervisors if s.department_id == team.department_id), None)
        customers = _customers(members)
        for week in range(WEEKS, -1, -1):
            held = monday - dt.timedelta(weeks=week)
            if held > today:
                continue
            weekly = meeting_create(
                actor=leader, kind="weekly", title=f"{team.name}第{held.isocalendar()[1]}周例会",
                held_at=_held(held, 8), location="公司三楼会议室", chaired_by_id=leader.pk,
                attendee_ids=[m.pk for m in members if m.pk != leader.pk], summary=rng.choice(SUMMARIES),
                decisions="\n".join(f"{i}. {d}" for i, d in enumerate(rng.sample(WEEKLY_DECISIONS, 2), 1)),
                items=items_for(members, held, customers, rng.randint(2, 3)))
            built.meetings += 1
            if head is not None and week > 0 and rng.random() < 0.6:
                meeting_guide(actor=head, meeting_id=weekly.pk, guidance=rng.choice(GUIDANCE))
                built.guided += 1
        if head is not None and rng.random() < 0.5:
            for back in range(3, 0, -1):
                held = today - dt.timedelta(days=back)
                if held.isoweekday() > 5:
                    continue
                meeting_create(actor=leader, kind="daily", title=f"{team.name}晨会 {held:%m-%d}", held_at=_held(held, 8),
                               chaired_by_id=leader.pk, attendee_ids=[m.pk for m in members if m.pk != leader.pk],
                               decisions="今日重点:拜访计划按日志执行", items=items_for(members, held, customers, 1))
                built.meetings += 1
    for head in supervisors:
        if head.department is None:
            continue
        people = list(User.objects.filter(department=head.department, is_active=True).exclude(pk=head.pk))
        if not people:
            continue
        customers = _customers(people)
        for month_back in (2, 1, 0):
            first = (today.replace(day=1) - dt.timedelta(days=28 * month_back)).replace(day=3)
            if first >= today:
                continue
            meeting_create(actor=head, kind="monthly", title=f"{head.department.name}{first.month}月营销工作会",
                           held_at=_held(first, 14), location="大会议室", chaired_by_id=head.pk,
                           attendee_ids=[p.pk for p in people],
                           summary="通报上月销售和回款完成情况;各团队汇报月度营销计划执行;布置本月重点。",
                           decisions="1. 本月回款目标不低于合同额的85%\n2. 每人本月完成不少于两次陪访",
                           items=items_for(people, first, customers, 3))
            built.meetings += 1
    for head in supervisors:
        people = list(User.objects.filter(department=head.department, is_active=True).exclude(pk=head.pk)[:6])
        if people:
            held = today - dt.timedelta(days=10)
            customer = rng.choice(_customers(people))
            meeting_create(actor=head, kind="special", title=f"{customer}回款风险专项会", held_at=_held(held, 16),
                           chaired_by_id=head.pk, attendee_ids=[p.pk for p in people],
                           summary=f"{customer}货款逾期60天,讨论催收方案和后续供货政策。",
                           decisions="1. 暂停赊销,新订单款到发货\n2. 由客户经理和财务共同上门对账",
                           items=[{"description": f"与财务一起上门对账:{customer}", "owner_id": people[0].pk,
                                   "due_on": held + dt.timedelta(days=5)},
                                  {"description": "起草催款函并提交法务审核", "owner_id": people[-1].pk,
                                   "due_on": held + dt.timedelta(days=7)}])
            built.meetings += 1
            break

    # Execution: most past items done by their owners, the recent ones mostly open (some overdue).
    for item in ActionItem.objects.filter(status=ItemStatus.OPEN).select_related("owner", "meeting").order_by("pk"):
        age = (today - item.due_on).days
        chance = 0.92 if age > 10 else 0.6 if age > 0 else 0.2
        if rng.random() < chance:
            item_done(actor=item.owner, item_id=item.pk, note=rng.choice(DONE_NOTES))
            finished = item.due_on - dt.timedelta(days=rng.choice((0, 0, 1, 2))) if rng.random() < 0.85 \
                else item.due_on + dt.timedelta(days=rng.randint(1, 4))
            ActionItem.objects.filter(pk=item.pk).update(
                done_at=_held(min(finished, today), 17))
    built.items = ActionItem.objects.count()
    built.done = ActionItem.objects.filter(status=ItemStatus.DONE).count()
    built.overdue = ActionItem.objects.filter(status=ItemStatus.OPEN, due_on__lt=today).count()
    return built
