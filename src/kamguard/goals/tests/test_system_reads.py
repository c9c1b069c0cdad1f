"""The reads the performance app depends on: exact sums, the months with a target, weighted progress as it stood."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.goals import services
from kamguard.goals.models import CheckIn, KeyResult, Objective, ObjectiveStatus, SalesTarget
from kamguard.goals.selectors import okr_progress_for, progress_of, target_months_for, targets_for

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


def test_target_months_for_names_the_months_the_period_touches_that_have_a_target(world) -> None:  # type: ignore[no-untyped-def]
    _target(world.alice, "2026-10", "100000.00")
    _target(world.alice, "2026-12", "0.00")
    _target(world.alice, "2027-01", "5.00")
    _target(world.bob, "2026-09", "5.00")
    got = target_months_for(user_ids=[world.alice.pk, world.bob.pk], start=dt.date(2026, 10, 15),
                            end=dt.date(2026, 12, 31))
    assert got == {world.alice.pk: {dt.date(2026, 10, 1), dt.date(2026, 12, 1)}}


LONG_AGO = timezone.make_aware(dt.datetime(2025, 12, 1, 9))


def _at(day: str, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)))


def _objective(owner, start: str, end: str, status: str = ObjectiveStatus.ACTIVE,  # type: ignore[no-untyped-def]
               created: dt.datetime = LONG_AGO) -> Objective:
    o = Objective.objects.create(title="o", owner_user=owner, period_start=dt.date.fromisoformat(start),
                                 period_end=dt.date.fromisoformat(end), status=status)
    Objective.objects.filter(pk=o.pk).update(created_at=created)
    return o


def _kr(objective: Objective, start: str, target: str, value: str | None, weight: str = "1",
        at: dt.datetime = LONG_AGO, created: dt.datetime = LONG_AGO) -> KeyResult:
    """A key result with (when `value` is given) one check-in recorded `at`; its current value is `value`."""
    kr = KeyResult.objects.create(objective=objective, title="kr", start_value=D(start), target_value=D(target),
                                  current_value=D(value if value is not None else start), weight=D(weight))
    KeyResult.objects.filter(pk=kr.pk).update(created_at=created)
    if value is not None:
        CheckIn.objects.create(key_result=kr, value=D(value), by=objective.owner_user, at=at)
    return kr


def test_okr_progress_for_weights_key_results_across_overlapping_objectives(world) -> None:  # type: ignore[no-untyped-def]
    q1 = _objective(world.alice, "2026-01-01", "2026-03-31")
    _kr(q1, "0", "100", "50")  # 50 %
    _kr(q1, "20", "5", "2", weight="2")  # below target on a falling KR: clipped to 100 %
    q2 = _objective(world.alice, "2026-04-01", "2026-06-30")
    _kr(q2, "0", "10", "1")  # 10 %, outside the range asked below
    draft = _objective(world.alice, "2026-01-01", "2026-03-31", ObjectiveStatus.DRAFT)
    _kr(draft, "0", "10", None)
    bob = _objective(world.bob, "2026-02-01", "2026-02-28", ObjectiveStatus.DONE)
    _kr(bob, "0", "3", "-1")  # clipped to 0
    _objective(world.henry, "2026-01-01", "2026-03-31")  # no key results: absent
    got = okr_progress_for(user_ids=[world.alice.pk, world.bob.pk, world.henry.pk],
                           start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28))
    assert got == {world.alice.pk: D("83.33"), world.bob.pk: D("0.00")}
    both = okr_progress_for(user_ids=[world.alice.pk], start=dt.date(2026, 3, 31), end=dt.date(2026, 4, 1))
    assert both == {world.alice.pk: D("65.00")}  # (50 + 200 + 10) / 4


def test_okr_progress_for_reads_the_key_results_as_they_stood_at_the_end_of_the_period(world) -> None:  # type: ignore[no-untyped-def]
    """Nothing recorded after a period can change its score (review HIGH 2): a November objective created in
    December does not count for November, nor does a key result added later; a check-in counts up to the last
    moment of the period's last day (local time) and a later one does not."""
    nov_start, nov_end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    backdated = _objective(world.alice, "2026-11-01", "2026-11-30", created=_at("2026-12-07"))
    _kr(backdated, "0", "1", "1", at=_at("2026-12-07"), created=_at("2026-12-07"))
    assert okr_progress_for(user_ids=[world.alice.pk], start=nov_start, end=nov_end) == {}

    mine = _objective(world.bob, "2026-11-01", "2026-11-30", created=_at("2026-10-30"))
    kr = _kr(mine, "0", "10", "4", at=_at("2026-11-20"), created=_at("2026-10-30"))  # 40 % on 20 Nov
    CheckIn.objects.create(key_result=kr, value=D(6), by=world.bob,
                           at=timezone.make_aware(dt.datetime(2026, 11, 30, 23, 59, 59)))  # 60 %, still November
    CheckIn.objects.create(key_result=kr, value=D(10), by=world.bob, at=_at("2026-12-01", 0))  # after the period
    KeyResult.objects.filter(pk=kr.pk).update(current_value=D(10))
    _kr(mine, "0", "10", "10", at=_at("2026-12-02"), created=_at("2026-12-02"))  # added after the period
    untouched = _kr(mine, "0", "5", None, created=_at("2026-11-02"))  # never checked in: its start value, 0 %
    KeyResult.objects.filter(pk=untouched.pk).update(current_value=D(5))
    assert okr_progress_for(user_ids=[world.bob.pk], start=nov_start, end=nov_end) == {world.bob.pk: D("30.00")}
    # the pages keep showing where things stand now
    assert progress_of([mine])[mine.pk] == D("100.00")


def test_okr_progress_for_a_period_ending_today_counts_today(world) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    o = _objective(world.alice, (today - dt.timedelta(days=10)).isoformat(), today.isoformat(),
                   created=timezone.now())
    _kr(o, "0", "4", "3", at=timezone.now(), created=timezone.now())
    assert okr_progress_for(user_ids=[world.alice.pk], start=today - dt.timedelta(days=10), end=today) == {
        world.alice.pk: D("75.00")}


def test_a_key_result_created_with_a_value_reached_records_it_as_a_check_in(world) -> None:  # type: ignore[no-untyped-def]
    o = services.objective_create(actor=world.alice, title="Now", period_start=timezone.localdate(),
                                  period_end=timezone.localdate(), owner_user_id=world.alice.pk)
    kr = services.key_result_create(actor=world.alice, objective_id=o.pk, title="half", target_value="10",
                                    current_value="5")
    services.objective_status_set(actor=world.alice, objective_id=o.pk, status="active")
    assert list(kr.check_ins.values_list("value", "by_id")) == [(D(5), world.alice.pk)]
    assert okr_progress_for(user_ids=[world.alice.pk], start=timezone.localdate(), end=timezone.localdate()) == {
        world.alice.pk: D("50.00")}
