"""The performance process's part of `kamguard demo`: the monthly percentage assessment (the `monthly_percent`
preset) run for every sales team, scored from the demo's own records through the same services a supervisor uses.

- The two months before last are finished: scored, calibrated by the regional supervisor where a score needs it
  (one change per team, with its reason), handed over and, for one person a month, calibrated again by the sales
  director; released; the feedback meetings held; acknowledged by everyone but one manager, who appeals (the
  director resolves it with a reason); the weakest manager of the latest finished month starts an improvement plan
  with two follow-ups; signed off.
- Last month is in progress: scored from the records, not calibrated yet — what a supervisor plays next:
  read the scores and their explanations, calibrate one with a reason, hand over, (the director) release, hold
  the feedback; the manager acknowledges and starts an improvement plan.

Hook: add ("performance", "kamguard.performance.demo:performance_build") to `CAPABILITY_BUILDERS` in
kamguard/demo/build.py after the goals and reviews builders (it reads targets, OKRs, reviews, orders, visits,
logs and forecasts the earlier builders made). Reproducible: dates relative to timezone.localdate(), choices by
rank and id, no randomness. Returns counts by name.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from kamguard.core.errors import DomainError
from kamguard.org.domain.roles import Role
from kamguard.org.models import Department, Team, User
from kamguard.performance import services
from kamguard.performance.models import Appeal, Period, PeriodStatus, Scheme, Scorecard

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

FINISHED_MONTHS = 2
SUPERVISOR_REASON = "客户回款延迟由甲方财务流程导致,已核实补充回款凭证,酌情上调。"
DIRECTOR_REASON = "大区间横向比较后统一尺度:本月重点客户拓展贡献突出。"
APPEAL_TEXT = "本月两笔订单因 ERP 录入延迟记在下月,请核实后调整经济业绩得分。"
APPEAL_REASON = "已与财务核对 ERP 记录:订单确属本月签订,按实际日期调整总分。"
PLAN_GOALS = ("1. 每月拜访全部 A 类客户至少两次,按客户分级服务标准补齐覆盖率;\n"
              "2. 工作日志当天提交,跟进记录写明下一步;\n3. 三个月内把完成率提升到 90% 以上。")


def _month_start(day: dt.date, back: int) -> dt.date:
    first = day.replace(day=1)
    for _ in range(back):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def _supervisor_of(team: Team) -> User | None:
    return User.objects.filter(department=team.department, is_active=True,
                               role_assignments__role=Role.SUPERVISOR).order_by("pk").first()


def _director_over(department: Department) -> User | None:
    ancestors = [int(p) for p in department.path.strip("/").split("/") if p.isdigit() and int(p) != department.pk]
    found = User.objects.filter(department_id__in=ancestors, is_active=True,
                                role_assignments__role=Role.SUPERVISOR).order_by("department__depth", "pk")
    return found.last()  # the nearest ancestor's supervisor


def _teams(world: BuiltWorld) -> list[Team]:
    """The scale-1 teams (a scaled demo's bulk teams are left out: they would only repeat the story slowly)."""
    bulk = {t.key for t in world.plan.teams if t.is_bulk}
    teams = [team for key, team in world.teams.items() if key not in bulk and team.is_active]
    return sorted(teams, key=lambda t: t.pk)


def _run_finished(period: Period, supervisor: User, director: User | None, *, appeal: bool,
                  counts: dict[str, int]) -> Scorecard | None:
    """Calibrate, release, hold the feedback, answer (one appeal), resolve, sign off. Returns the weakest card."""
    cards = list(Scorecard.objects.filter(period=period, computed_total__isnull=False).select_related("user")
                 .order_by("computed_total", "pk"))
    weakest = cards[0] if cards else None
    # the supervisor lifts the weakest a little (a documented late payment), the director tunes the best one
    if weakest is not None and weakest.final_total is not None and weakest.final_total < 96:
        services.calibration_record(actor=supervisor, scorecard_id=weakest.pk, after=weakest.final_total + 4,
                                    reason=SUPERVISOR_REASON)
        counts["calibrations"] += 1
    services.period_calibration_submit(actor=supervisor, period_id=period.pk)
    releaser = director or supervisor
    best = cards[-1] if cards else None
    if director is not None and best is not None and best is not weakest and best.final_total is not None \
            and best.final_total < 98:
        services.calibration_record(actor=director, scorecard_id=best.pk, after=best.final_total + 2,
                                    reason=DIRECTOR_REASON)
        counts["calibrations"] += 1
    services.period_release(actor=releaser, period_id=period.pk)
    # the story happened after the period's end, not today: released on day 3, the meetings on day 4 (a meeting is
    # held after the release, so the release's time is dated back first)
    released_at = timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=3), dt.time(10, 0)))
    Period.objects.filter(pk=period.pk).update(released_at=released_at)
    held = timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=4), dt.time(15, 0)))
    appellant = cards[len(cards) // 2] if appeal and len(cards) > 2 else None
    for card in Scorecard.objects.filter(period=period).select_related("user").order_by("pk"):
        total = card.final_total
        notes = (f"回顾本月结果(总分 {total}),肯定客户维护工作;下月重点:A 类客户覆盖与日志及时性。"
                 if total is not None else "本月数据不足,面谈确认下月目标与记录要求。")
        services.feedback_record(actor=supervisor, scorecard_id=card.pk, notes=notes, held_at=held)
        counts["feedback_meetings"] += 1
        if appellant is not None and card.pk == appellant.pk:
            appeal_row = services.appeal_file(actor=card.user, scorecard_id=card.pk, text=APPEAL_TEXT)
            counts["appeals"] += 1
            new_total = min(Decimal(100), (card.final_total or Decimal(60)) + Decimal(3))
            services.appeal_resolve(actor=releaser, appeal_id=appeal_row.pk, decision="changed",
                                    reason=APPEAL_REASON, total=new_total)
        else:
            services.scorecard_acknowledge(actor=card.user, scorecard_id=card.pk, comment="已面谈,认可本月结果。")
            counts["acknowledged"] += 1
    services.period_sign_off(actor=supervisor, period_id=period.pk)
    return None if weakest is None else Scorecard.objects.select_related("user").get(pk=weakest.pk)


@transaction.atomic
def performance_build(world: BuiltWorld) -> dict[str, int]:
    """Run the monthly assessment of every sales team over the last months (see the module docstring)."""
    counts = {"periods": 0, "scorecards": 0, "calibrations": 0, "feedback_meetings": 0, "acknowledged": 0,
              "appeals": 0, "improvement_plans": 0, "follow_ups": 0, "in_progress": 0, "skipped_teams": 0}
    scheme = Scheme.objects.filter(code="monthly_percent", is_active=True).first()
    if scheme is None:
        return counts
    today = timezone.localdate()
    appeal_done = False
    latest_weak: tuple[Scorecard, User] | None = None
    for team in _teams(world):
        supervisor = _supervisor_of(team)
        if supervisor is None:
            counts["skipped_teams"] += 1
            continue
        director = _director_over(team.department)
        for back in range(FINISHED_MONTHS + 1, 0, -1):
            month = _month_start(today, back)
            try:
                period = services.period_create(actor=supervisor, scheme_id=scheme.pk, day=month, team_id=team.pk)
            except DomainError:
                continue  # built already (a second run) or not possible
            period = services.period_score(actor=supervisor, period_id=period.pk)
            counts["periods"] += 1
            counts["scorecards"] += Scorecard.objects.filter(period=period).count()
            if back == 1:
                counts["in_progress"] += 1
                continue
            weakest = _run_finished(period, supervisor, director, appeal=not appeal_done, counts=counts)
            appeal_done = appeal_done or Appeal.objects.filter(scorecard__period=period).exists()
            if weakest is not None and back == 2 and latest_weak is None:
                latest_weak = (weakest, supervisor)
    if latest_weak is not None:
        card, supervisor = latest_weak
        period_end = Period.objects.values_list("end", flat=True).get(pk=card.period_id)
        start = period_end + dt.timedelta(days=6)
        plan = services.improvement_plan_start(actor=card.user, scorecard_id=card.pk, goals=PLAN_GOALS, start=start,
                                               end=start + dt.timedelta(days=89))
        counts["improvement_plans"] += 1
        for offset, progress, notes in ((7, 20, "已拜访 3 家 A 类客户,补齐两家的联系人信息。"),
                                        (14, 45, "日志均当天提交;A 类客户覆盖 6/9。")):
            on = start + dt.timedelta(days=offset)
            if on > today:
                break
            services.follow_up_add(actor=supervisor, plan_id=plan.pk, notes=notes, progress=progress, on=on)
            counts["follow_ups"] += 1
    counts["signed_off"] = Period.objects.filter(status=PeriodStatus.SIGNED_OFF).count()
    return counts


def summary_lines(built: dict[str, int]) -> list[str]:
    """What `kamguard demo` prints about the performance process."""
    return [f"performance: {built.get('periods', 0)} monthly periods ({built.get('signed_off', 0)} signed off, "
            f"{built.get('in_progress', 0)} scored and waiting for calibration), {built.get('scorecards', 0)} "
            f"scorecards, {built.get('calibrations', 0)} calibrations, {built.get('appeals', 0)} appeal, "
            f"{built.get('improvement_plans', 0)} improvement plan"]
