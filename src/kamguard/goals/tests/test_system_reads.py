"""The two reads the performance app depends on: exact sums and weighted progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kamguard.goals.models import KeyResult, Objective, ObjectiveStatus, SalesTarget
from kamguard.goals.selectors import okr_progress_for, targets_for

pytestmark = pytest.mark.django_db
D = Decimal


def _target(user, month: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    SalesTarget.objects.create(user=user, month=dt.date.fromisoformat(month + "-01"), amount=D(amount))


def test_targets_for_sums_the_months_in_range_only(world) -> None:  # type: ignore[no-untyped-def]
    _target(world.alice, "2026-01", "100000.50")
    _target(world.alice, "2026-02", "200000.25")
    _target(world.alice, "2026-03", "300000.00")
    _target(world.alice, "2025-12", "999.00")
    _target(world.bob, "2026-02", "50000.00")
    _target(world.carol, "2026-02", "7.00")
    got = targets_for(user_ids=[world.alice.pk, world.bob.pk, world.henry.pk],
                      start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))
    assert got == {world.alice.pk: D("300000.75"), world.bob.pk: D("50000.00")}
    assert targets_for(user_ids=[world.alice.pk], start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)) == {
        world.alice.pk: D("600000.75")}
    assert targets_for(user_ids=[], start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)) == {}


def _objective(owner, start: str, end: str, status: str = ObjectiveStatus.ACTIVE) -> Objective:  # type: ignore[no-untyped-def]
    return Objective.objects.create(title="o", owner_user=owner, period_start=dt.date.fromisoformat(start),
                                    period_end=dt.date.fromisoformat(end), status=status)


def test_okr_progress_for_weights_key_results_across_overlapping_objectives(world) -> None:  # type: ignore[no-untyped-def]
    q1 = _objective(world.alice, "2026-01-01", "2026-03-31")
    KeyResult.objects.create(objective=q1, title="a", start_value=D(0), target_value=D(100), current_value=D(50),
                             weight=D(1))  # 50 %
    KeyResult.objects.create(objective=q1, title="b", start_value=D(20), target_value=D(5), current_value=D(2),
                             weight=D(2))  # below target on a falling KR: clipped to 100 %
    q2 = _objective(world.alice, "2026-04-01", "2026-06-30")
    KeyResult.objects.create(objective=q2, title="c", start_value=D(0), target_value=D(10), current_value=D(1),
                             weight=D(1))  # 10 %, outside the range asked below
    draft = _objective(world.alice, "2026-01-01", "2026-03-31", ObjectiveStatus.DRAFT)
    KeyResult.objects.create(objective=draft, title="d", start_value=D(0), target_value=D(10), current_value=D(0))
    bob = _objective(world.bob, "2026-02-01", "2026-02-28", ObjectiveStatus.DONE)
    KeyResult.objects.create(objective=bob, title="e", start_value=D(0), target_value=D(3), current_value=D(-1),
                             weight=D(1))  # clipped to 0
    _objective(world.henry, "2026-01-01", "2026-03-31")  # no key results: absent
    got = okr_progress_for(user_ids=[world.alice.pk, world.bob.pk, world.henry.pk],
                           start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28))
    assert got == {world.alice.pk: D("83.33"), world.bob.pk: D("0.00")}
    both = okr_progress_for(user_ids=[world.alice.pk], start=dt.date(2026, 3, 31), end=dt.date(2026, 4, 1))
    assert both == {world.alice.pk: D("65.00")}  # (50 + 200 + 10) / 4
