"""The goals part of `kamguard demo`: sales targets and OKRs for the demo organisation, through the services.

- Sales targets for every active manager for the last twelve months, this month and the next, set by their
  regional supervisor in one bulk call per region (audited like a supervisor's grid). Amounts follow each
  manager's book and order volume: the larger of an estimate from their customers' tiers and 1.1 × their average
  monthly orders so far, with a year-end peak, the Spring Festival dip in February, slow growth and a little
  noise, rounded to 10,000 CNY.
- For the last quarter and this one, a team objective per team (by its regional supervisor) with three key
  results, and each manager's objective cascading from it (by the manager) with two or three key results.
  Last quarter's are done, with final check-ins; this quarter's are active, with check-ins every three weeks
  up to today (dated when they happened).

Hook: add ("goals", "kamguard.goals.demo:goals_build") to `CAPABILITY_BUILDERS` in kamguard/demo/build.py,
after "contracts" and before "risk". Reproducible: random.Random(seed), dates relative to timezone.localdate().
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from kamguard.goals import services
from kamguard.goals.domain.months import add_months, month_start
from kamguard.goals.models import CheckIn, KeyResult, Objective, ObjectiveStatus
from kamguard.goals.services import TargetChange
from kamguard.org.models import Team, User

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

SEED = 8008
TARGET_MONTHS_BACK = 12
TARGET_MONTHS_AHEAD = 1
# A 17-customer book (2 A, 6 B, 9–10 C) comes to about 130,000 CNY a month: in line with what the demo's contracts,
# ERP orders and the risk builder's order history credit a manager (about 120,000–140,000 a month together).
TIER_MONTHLY = {"A": Decimal(25_000), "B": Decimal(9_000), "C": Decimal(3_000)}
FLOOR = Decimal(100_000)
TEN_K = Decimal(10_000)


def _managers(world: BuiltWorld) -> list[User]:
    found = []
    for person in world.plan.people:
        user = world.people.get(person.key)
        if user is not None and person.left_on is None and "manager" in person.roles and user.is_active:
            found.append(user)
    return sorted(found, key=lambda u: u.pk)


def _supervisors(world: BuiltWorld) -> dict[str, User]:
    """Department key → its head, the person who sets targets and writes team objectives there."""
    return {dep: world.people[person] for dep, person in world.plan.department_heads.items() if person in world.people}


def _quarter(day: dt.date) -> tuple[dt.date, dt.date]:
    first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return first, add_months(first, 3) - dt.timedelta(days=1)


def _base_amounts(managers: list[User], today: dt.date) -> dict[int, Decimal]:
    from kamguard.contracts.models import Order
    from kamguard.customers.models import Customer, CustomerStatus

    ids = [m.pk for m in managers]
    estimate: dict[int, Decimal] = defaultdict(Decimal)
    for owner_id, tier, n in Customer.objects.filter(owner_id__in=ids, status=CustomerStatus.ACTIVE).values(
            "owner_id", "tier").annotate(n=Count("pk")).values_list("owner_id", "tier", "n"):
        estimate[owner_id] += TIER_MONTHLY.get(tier, TIER_MONTHLY["C"]) * n
    since = add_months(month_start(today), -12)
    observed = dict(Order.objects.filter(manager_id__in=ids, order_date__gte=since).values("manager_id").annotate(
        total=Sum("amount")).values_list("manager_id", "total"))
    return {pk: max(estimate.get(pk, Decimal(0)), (observed.get(pk) or Decimal(0)) / 12 * Decimal("1.1"), FLOOR)
            for pk in ids}


def _round(amount: Decimal) -> Decimal:
    return ((amount / TEN_K).quantize(Decimal(1), rounding=ROUND_HALF_UP) * TEN_K).quantize(Decimal("0.01"))


def _season(month: dt.date) -> Decimal:
    return {12: Decimal("1.25"), 1: Decimal("1.15"), 2: Decimal("0.75"), 6: Decimal("1.1")}.get(month.month,
                                                                                              Decimal(1))


def _targets(world: BuiltWorld, managers: list[User], rng: random.Random, today: dt.date
             ) -> tuple[int, dict[tuple[int, dt.date], Decimal]]:
    bases = _base_amounts(managers, today)
    this_month = month_start(today)
    months = [add_months(this_month, n) for n in range(-TARGET_MONTHS_BACK, TARGET_MONTHS_AHEAD + 1)]
    supervisors = _supervisors(world)
    department_key = {world.people[p.key].pk: p.department for p in world.plan.people if p.key in world.people}
    by_supervisor: dict[int, tuple[User, list[TargetChange]]] = {}
    amounts: dict[tuple[int, dt.date], Decimal] = {}
    for manager in managers:
        supervisor = supervisors.get(department_key.get(manager.pk, ""))
        if supervisor is None or supervisor.pk == manager.pk:
            continue
        personal = Decimal(str(round(rng.uniform(0.9, 1.2), 3)))
        changes = by_supervisor.setdefault(supervisor.pk, (supervisor, []))[1]
        for index, month in enumerate(months):
            growth = Decimal(1) + Decimal(index) * Decimal("0.008")
            noise = Decimal(str(round(rng.uniform(0.95, 1.05), 3)))
            amount = _round(bases[manager.pk] * personal * _season(month) * growth * noise)
            amounts[(manager.pk, month)] = amount
            note = "春节月份，指标下调" if month.month == 2 else ("年末冲刺" if month.month == 12 else "")
            changes.append(TargetChange(user_id=manager.pk, month=month, amount=amount, note=note))
    count = 0
    for supervisor, changes in by_supervisor.values():
        result = services.targets_set_bulk(actor=supervisor, changes=changes)
        count += result["set"]
    return count, amounts


def _check_in_days(start: dt.date, until: dt.date) -> list[dt.date]:
    days, day = [], start + dt.timedelta(days=20)
    while day <= until:
        days.append(day)
        day += dt.timedelta(days=21)
    return days


def _okrs(world: BuiltWorld, managers: list[User], amounts: dict[tuple[int, dt.date], Decimal],
          rng: random.Random, today: dt.date) -> dict[str, int]:
    supervisors = _supervisors(world)
    team_department = {team.key: team.department for team in world.plan.teams}
    members: dict[int, list[User]] = defaultdict(list)
    for manager in managers:
        if manager.team_id:
            members[manager.team_id].append(manager)
    current = _quarter(today)
    previous = _quarter(current[0] - dt.timedelta(days=1))
    made = {"objectives": 0, "key_results": 0, "check_ins": 0}
    backdate: list[tuple[int, dt.datetime]] = []
    created: list[tuple[int, dt.datetime]] = []  # objectives: set at the start of their period (history)

    def check_ins(actor: User, kr: KeyResult, days: list[dt.date], final: float) -> None:
        span = kr.target_value - kr.start_value
        for i, day in enumerate(days):
            share = Decimal(str(round(final * (i + 1) / len(days), 3)))
            value = (kr.start_value + span * share).quantize(Decimal("0.01"))
            entry = services.check_in(actor=actor, key_result_id=kr.pk, value=value,
                                      confidence=max(0, min(10, round(final * 8 + rng.uniform(-1, 1.5)))),
                                      note=rng.choice(("按计划推进", "重点客户已拜访", "等待客户采购审批", "本月回款到位",
                                                       "竞争对手降价，需跟进", "")))
            moment = timezone.make_aware(dt.datetime.combine(day, dt.time(17, rng.randint(0, 59))))
            backdate.append((entry.pk, moment))
            made["check_ins"] += 1

    for team_key, team in sorted(world.teams.items(), key=lambda kv: kv[1].pk):
        supervisor = supervisors.get(team_department.get(team_key, ""))
        people = members.get(team.pk, [])
        if supervisor is None or not people:
            continue
        team = Team.objects.select_related("department").get(pk=team.pk)
        for start, end in (previous, current):
            done = end < today
            until = min(today, end)
            days = _check_in_days(start, until)
            quarter_months = [add_months(start, n) for n in range(3)]
            team_sales = sum((amounts.get((p.pk, m), Decimal(0)) for p in people for m in quarter_months),
                             Decimal(0))
            label = f"{start.year} 年第 {(start.month - 1) // 3 + 1} 季度"
            objective = services.objective_create(
                actor=supervisor, title=f"{team.name}{label}销售与客户经营目标", owner_team_id=team.pk,
                period_start=start, period_end=end,
                description="完成本季度销售额，巩固 A 类客户，扩大拜访覆盖。",
                measure="以 ERP 订单金额、新签客户数和 A/B 类客户拜访覆盖率衡量。",
                relevance="支撑大区年度销售计划和重点行业布局。")
            team_krs = [
                services.key_result_create(actor=supervisor, objective_id=objective.pk, title="季度销售额",
                                           unit="万元", target_value=(team_sales / TEN_K).quantize(Decimal(1)),
                                           weight=Decimal(3)),
                services.key_result_create(actor=supervisor, objective_id=objective.pk, title="新签 A 类客户",
                                           unit="家", target_value=Decimal(max(2, len(people) // 2))),
                services.key_result_create(actor=supervisor, objective_id=objective.pk,
                                           title="A/B 类客户拜访覆盖率", unit="%", start_value=Decimal(60),
                                           target_value=Decimal(90)),
            ]
            services.objective_status_set(actor=supervisor, objective_id=objective.pk, status="active")
            created.append((objective.pk, timezone.make_aware(dt.datetime.combine(start, dt.time(9)))))
            made["objectives"] += 1
            made["key_results"] += len(team_krs)
            elapsed = 1.0 if done else max(0.0, (until - start).days / max(1, (end - start).days))
            for kr in team_krs:
                if days:
                    check_ins(supervisor, kr, days[-2:], elapsed * rng.uniform(0.75, 1.1))
            for person in people:
                own_sales = sum((amounts.get((person.pk, m), Decimal(0)) for m in quarter_months), Decimal(0))
                mine = services.objective_create(
                    actor=person, title=f"{label}完成个人销售指标并经营好重点客户", owner_user_id=person.pk,
                    parent_id=objective.pk, period_start=start, period_end=end,
                    description="完成季度销售指标，重点客户每月至少拜访一次。",
                    measure="ERP 订单金额；拜访记录。", relevance="对应团队季度目标。")
                krs = [
                    services.key_result_create(actor=person, objective_id=mine.pk, title="季度销售额", unit="万元",
                                               target_value=max(Decimal(1), (own_sales / TEN_K).quantize(Decimal(1))),
                                               weight=Decimal(3)),
                    services.key_result_create(actor=person, objective_id=mine.pk, title="重点客户拜访",
                                               unit="次", target_value=Decimal(rng.choice((18, 24, 30)))),
                ]
                if rng.random() < 0.5:
                    krs.append(services.key_result_create(actor=person, objective_id=mine.pk, title="回款率",
                                                          unit="%", start_value=Decimal(70),
                                                          target_value=Decimal(95)))
                services.objective_status_set(actor=person, objective_id=mine.pk, status="active")
                created.append((mine.pk, timezone.make_aware(dt.datetime.combine(start, dt.time(10)))))
                made["objectives"] += 1
                made["key_results"] += len(krs)
                performance = rng.uniform(0.55, 1.15)
                for kr in krs:
                    if days:
                        check_ins(person, kr, days[-3:], elapsed * performance * rng.uniform(0.9, 1.1))
                if done:
                    services.objective_status_set(actor=person, objective_id=mine.pk, status="done")
            if done:
                services.objective_status_set(actor=supervisor, objective_id=objective.pk, status="done")
    for pk, moment in backdate:
        CheckIn.objects.filter(pk=pk).update(at=moment)
    for pk, moment in created:
        Objective.objects.filter(pk=pk).update(created_at=moment)
        KeyResult.objects.filter(objective_id=pk).update(created_at=moment)
    return made


@transaction.atomic
def goals_build(world: BuiltWorld, *, seed: int = SEED) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    today = timezone.localdate()
    managers = _managers(world)
    targets, amounts = _targets(world, managers, rng, today)
    made = _okrs(world, managers, amounts, rng, today)
    return {"targets": targets, **made,
            "active_objectives": Objective.objects.filter(status=ObjectiveStatus.ACTIVE).count()}


def summary_lines(built: dict[str, Any]) -> list[str]:
    return [f"{built['targets']} monthly sales targets; {built['objectives']} objectives "
            f"({built['active_objectives']} active) with {built['key_results']} key results and "
            f"{built['check_ins']} check-ins"]
