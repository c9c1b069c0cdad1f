"""The demo's goals: targets for every manager over thirteen months and the next, a team objective per team for
last quarter (done) and this one (active), each manager's objective cascading from it, with check-ins; the two
system reads the performance scoring uses find them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world
from kamguard.goals.demo import goals_build, summary_lines
from kamguard.goals.domain.months import add_months, month_start
from kamguard.goals.models import CheckIn, Objective, ObjectiveStatus, SalesTarget
from kamguard.goals.selectors import okr_progress_for, targets_for
from kamguard.org.models import User


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[BuiltWorld, dict[str, int]]]:
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_build(plan_world(seed=42, as_of=timezone.localdate()))
        yield world, goals_build(world)
        transaction.set_rollback(True)


def _managers() -> list[int]:
    return list(User.objects.filter(is_active=True, role_assignments__role="manager").values_list("pk", flat=True))


def test_targets_for_every_manager_and_month(db: None, built) -> None:
    _world, result = built
    managers = _managers()
    this_month = month_start(timezone.localdate())
    first = add_months(this_month, -12)
    assert result["targets"] == SalesTarget.objects.count() == len(managers) * 14
    assert set(SalesTarget.objects.filter(month=this_month).values_list("user_id", flat=True)) == set(managers)
    amounts = list(SalesTarget.objects.values_list("amount", flat=True))
    assert min(amounts) >= Decimal(50_000) and max(amounts) < Decimal(1_000_000)
    assert all(a % 10_000 == 0 for a in amounts)
    assert all(t.set_by_id and t.set_by_id != t.user_id for t in SalesTarget.objects.all()[:50])
    sums = targets_for(user_ids=managers, start=first, end=this_month)
    assert set(sums) == set(managers)
    one = managers[0]
    assert sums[one] == sum(SalesTarget.objects.filter(user_id=one, month__lte=this_month).values_list(
        "amount", flat=True))
    assert AuditEvent.objects.filter(action="goals.target.set").count() == result["targets"]


def test_okrs_cascade_with_check_ins(db: None, built) -> None:
    world, result = built
    today = timezone.localdate()
    teams = Objective.objects.filter(owner_team__isnull=False)
    assert teams.count() == 2 * len(world.teams)
    people = Objective.objects.filter(owner_user__isnull=False)
    assert people.count() == 2 * len(_managers())
    assert not people.filter(parent__isnull=True).exists()
    assert all(o.parent.owner_team_id == o.owner_user.team_id for o in people.select_related("parent", "owner_user"))
    assert set(Objective.objects.filter(period_end__lt=today).values_list("status", flat=True)) == {
        ObjectiveStatus.DONE}
    assert set(Objective.objects.filter(period_end__gte=today).values_list("status", flat=True)) == {
        ObjectiveStatus.ACTIVE}
    assert result["check_ins"] == CheckIn.objects.count() > 0
    assert CheckIn.objects.filter(at__date__lt=today).exists()
    progress = okr_progress_for(user_ids=_managers(), start=today - dt.timedelta(days=120), end=today)
    assert len(progress) == len(_managers())
    assert all(Decimal(0) <= p <= Decimal(100) for p in progress.values())
    assert len(set(progress.values())) > 3
    assert "monthly sales targets" in summary_lines(result)[0]
