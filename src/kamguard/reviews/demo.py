"""The 360 reviews' part of `kamguard demo`, through the same services a supervisor, the reviewers and the
customers use.

- Default question sets for the four sources, in English and Chinese.
- Last quarter: a closed cycle for the managers of one or two sales teams (those whose supervisor is a supervisor
  whose scope covers them), with the default circle — self, supervisor, peers, one contact of up to five customers
  each serves — everyone answered (customers through their signed link), so results, the peers' average and the
  `review_360` / `satisfaction` metrics have data.
- This quarter: an open cycle for the same people with about half of the reviews answered, the rest pending — what
  a manager plays next (answer a review on /reviews/), and what the supervisor closes.

Hook: add ("reviews", "kamguard.reviews.demo:reviews_build") to `CAPABILITY_BUILDERS` in kamguard/demo/build.py
(after "sales"/"contracts": it reads the customers and contacts the customers builder made; before
"performance", which reads the reviews). Reproducible: dates relative to timezone.localdate(), answers derived
from ids, no randomness. Returns counts by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from kamguard.core.errors import DomainError
from kamguard.org.models import User
from kamguard.reviews import services
from kamguard.reviews.models import Assignment, AssignmentStatus, QuestionKind, QuestionSet, Source

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

TEAMS = 2
DEFAULT_SETS: dict[str, tuple[str, tuple[tuple[str, str, str, bool], ...]]] = {
    Source.SELF: ("自评 Self-review", (
        (QuestionKind.SCALE, "I know my key accounts' needs and plans", "我了解重点客户的需求和计划", True),
        (QuestionKind.SCALE, "I follow up with customers on time", "我能及时跟进客户", True),
        (QuestionKind.SCALE, "I keep customer data complete and current", "我的客户资料完整、及时更新", True),
        (QuestionKind.TEXT, "What will you do better next period?", "下个周期你打算在哪些方面做得更好？", False),
    )),
    Source.SUPERVISOR: ("上级评价 Supervisor review", (
        (QuestionKind.SCALE, "Reaches the agreed results", "达成约定的业绩", True),
        (QuestionKind.SCALE, "Manages key accounts to the service standard", "按服务标准管理重点客户", True),
        (QuestionKind.SCALE, "Follows the company's rules and processes", "遵守公司制度和流程", True),
        (QuestionKind.TEXT, "Strengths and what to improve", "优点和需要改进之处", False),
    )),
    Source.PEER: ("同事评价 Peer review", (
        (QuestionKind.SCALE, "Shares customer and market information", "分享客户和市场信息", True),
        (QuestionKind.SCALE, "Helps colleagues when asked", "同事需要时乐于帮助", True),
        (QuestionKind.SCALE, "Keeps promises made to the team", "信守对团队的承诺", True),
        (QuestionKind.TEXT, "One thing they should keep doing", "希望他/她继续保持的一点", False),
    )),
    Source.CUSTOMER: ("客户满意度 Customer satisfaction", (
        (QuestionKind.SCALE, "Responds quickly to our requests", "对我们的需求响应及时", True),
        (QuestionKind.SCALE, "Understands our business", "了解我们的业务", True),
        (QuestionKind.SCALE, "Overall, we are satisfied with the service", "总体上我们对服务满意", True),
        (QuestionKind.TEXT, "What could we do better?", "我们还能在哪些方面做得更好？", False),
    )),
}
COMMENTS = ("客户拜访准备充分，沟通及时。", "希望更主动地分享竞品信息。", "跟进记录很清楚，值得学习。",
            "回款跟进可以再紧一些。", "对客户需求理解深入。")


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _quarter(day: dt.date, back: int) -> tuple[dt.date, dt.date]:
    """The first and last day of the quarter `back` quarters before the one of `day`."""
    start = _quarter_start(day)
    for _ in range(back):
        start = _quarter_start(start - dt.timedelta(days=1))
    return start, _quarter_start(start + dt.timedelta(days=100)) - dt.timedelta(days=1)


def _question_sets() -> int:
    made = 0
    for source, (name, questions) in DEFAULT_SETS.items():
        if QuestionSet.objects.filter(source=source, is_active=True).exists():
            continue
        services.question_set_create(actor=None, name=name, source=source, make_default=True, questions=[
            {"kind": kind, "text_en": en, "text_zh": zh, "required": required}
            for kind, en, zh, required in questions])
        made += 1
    return made


def _groups(world: BuiltWorld) -> list[tuple[User, list[User]]]:
    """(supervisor, managers) of up to `TEAMS` teams with at least three active managers whose supervisor runs
    cycles and covers them."""
    by_team: dict[int, list[User]] = {}
    for person in world.plan.people:
        user = world.people.get(person.key)
        if (user is not None and user.is_active and person.left_on is None and "manager" in person.roles
                and user.team_id and user.supervisor_id):
            by_team.setdefault(user.team_id, []).append(user)
    groups: list[tuple[User, list[User]]] = []
    for team_id in sorted(by_team):
        managers = sorted(by_team[team_id], key=lambda u: u.pk)
        supervisor = managers[0].supervisor
        if len(managers) < 3 or supervisor is None or not services.may_run_cycles(supervisor):
            continue
        covered = [m for m in managers if services.circle_refusal(
            subject=m, source=Source.SUPERVISOR, reviewer=supervisor) is None]
        if len(covered) >= 3:
            groups.append((supervisor, covered))
        if len(groups) == TEAMS:
            break
    return groups


def _answers(review: Assignment) -> dict[str, int | str]:
    answers: dict[str, int | str] = {}
    low = review.subject_id % 5 == 0  # one manager in five gets weaker reviews
    for i, q in enumerate(review.question_set.questions.order_by("position")):
        if q.kind == QuestionKind.SCALE:
            answers[str(q.pk)] = (2 if low else 3) + (review.pk + i) % 3
        elif (review.pk + i) % 2 == 0:
            answers[str(q.pk)] = COMMENTS[(review.pk + i) % len(COMMENTS)]
    return answers


def _answer(reviews: Sequence[Assignment], actor_for: dict[int, User]) -> int:
    done = 0
    for review in reviews:
        try:
            if review.source == Source.CUSTOMER:
                token = services.customer_link_issue(actor=actor_for[review.cycle_id], assignment_id=review.pk)
                services.customer_answer_submit(token=token, answers=_answers(review), ip_address=None,
                                                rate_limit=False)
            else:
                assert review.reviewer is not None
                services.assignment_submit(actor=review.reviewer, assignment_id=review.pk, answers=_answers(review))
        except DomainError:
            continue  # e.g. a reviewer without the right to edit business data: the review stays pending
        done += 1
    return done


@transaction.atomic
def reviews_build(world: BuiltWorld) -> dict[str, int]:
    counts = {"question_sets": _question_sets(), "cycles": 0, "assignments": 0, "answered": 0, "pending": 0}
    groups = _groups(world)
    if not groups:
        return counts
    today = timezone.localdate()
    for back, label, closed in ((1, "上季度 360 度评价", True), (0, "本季度 360 度评价", False)):
        start, end = _quarter(today, back)
        for supervisor, managers in groups:
            team = managers[0].team
            cycle = services.cycle_create(actor=supervisor, name=f"{label} · {team}", period_start=start,
                                          period_end=end, subject_ids=[m.pk for m in managers])
            services.assignments_generate(actor=supervisor, cycle_id=cycle.pk)
            services.cycle_open(actor=supervisor, cycle_id=cycle.pk)
            reviews = list(Assignment.objects.filter(cycle=cycle).select_related(
                "reviewer", "subject", "question_set").order_by("pk"))
            counts["cycles"] += 1
            counts["assignments"] += len(reviews)
            # The open cycle: self-reviews and every other review of the first half of the people answered.
            chosen = reviews if closed else [r for r in reviews if r.source == Source.SELF or r.subject_id in {
                m.pk for m in managers[:len(managers) // 2 + 1]}]
            counts["answered"] += _answer(chosen, {cycle.pk: supervisor})
            if closed:
                services.cycle_close(actor=supervisor, cycle_id=cycle.pk)
            counts["pending"] += Assignment.objects.filter(cycle=cycle, status=AssignmentStatus.PENDING).count()
    return counts


def summary_lines(built: dict[str, int]) -> list[str]:
    """What `kamguard demo` prints about the reviews it made."""
    return [f"360 reviews: {built['cycles']} cycles ({built['assignments']} reviews, {built['answered']} answered, "
            f"{built['pending']} pending), {built['question_sets']} question sets — answer yours at /reviews/"]
