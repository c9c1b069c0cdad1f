"""Plan versus actual, without a database."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kamguard.plans.domain.actual import DoneVisit, PlannedVisit, plan_actual
from kamguard.plans.domain.months import month_add, month_end, month_parse, month_start

D = dt.date(2026, 11, 10)


def test_a_planned_visit_is_carried_out_by_its_own_activity_or_a_visit_that_day():
    # given: three planned visits; the first done as planned, the second by an ad hoc visit on the day,
    # the third not at all; plus one unplanned visit
    planned = [PlannedVisit(1, 100, D, 11), PlannedVisit(2, 200, D, 12), PlannedVisit(3, 300, D, 13)]
    done = [DoneVisit(11, 100, D), DoneVisit(21, 200, D), DoneVisit(22, 400, D + dt.timedelta(days=1))]
    # when
    result = plan_actual(planned=planned, done=done, owned_tiers={}, standards={})
    # then
    assert result.carried_out_ids == {1, 2}
    assert (result.planned, result.planned_done, result.done_total, result.unplanned_done) == (3, 2, 3, 1)
    assert result.completion_rate == 2 / 3


def test_a_visit_on_another_day_does_not_carry_out_the_plan():
    result = plan_actual(planned=[PlannedVisit(1, 100, D, None)], done=[DoneVisit(5, 100, D + dt.timedelta(days=1))],
                         owned_tiers={}, standards={})
    assert result.planned_done == 0 and result.completion_rate == 0


def test_no_plan_has_no_completion_rate():
    assert plan_actual(planned=[], done=[], owned_tiers={}, standards={}).completion_rate is None


def test_tier_coverage_counts_customers_that_got_the_standard_visits():
    # given: tier A needs 2 visits a month, tier B 1; customer 1 (A) visited twice, 2 (A) once, 3 (B) once
    done = [DoneVisit(1, 1, D), DoneVisit(2, 1, D), DoneVisit(3, 2, D), DoneVisit(4, 3, D)]
    result = plan_actual(planned=[], done=done, owned_tiers={1: "A", 2: "A", 3: "B", 4: "C"},
                         standards={"A": 2, "B": 1})
    a, b = result.tiers
    assert (a.tier, a.customers, a.covered, a.uncovered_ids, a.share) == ("A", 2, 1, (2,), 0.5)
    assert (b.tier, b.customers, b.covered, b.share) == ("B", 1, 1, 1.0)
    assert [t.tier for t in result.tiers] == ["A", "B"]  # C has no standard


def test_a_tier_without_customers_has_no_share():
    result = plan_actual(planned=[], done=[], owned_tiers={}, standards={"A": 2})
    assert result.tiers[0].share is None


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 28), st.booleans()), max_size=30))
def test_completion_never_exceeds_one(rows):
    planned, done = [], []
    for i, (customer, day, did) in enumerate(rows):
        planned.append(PlannedVisit(i, customer, dt.date(2026, 11, day), 1000 + i))
        if did:
            done.append(DoneVisit(1000 + i, customer, dt.date(2026, 11, day)))
    result = plan_actual(planned=planned, done=done, owned_tiers={}, standards={})
    assert 0 <= result.planned_done <= result.planned
    assert result.unplanned_done == 0


def test_months():
    assert month_start(D) == dt.date(2026, 11, 1)
    assert month_end(dt.date(2028, 2, 3)) == dt.date(2028, 2, 29)
    assert month_parse("2026-12") == dt.date(2026, 12, 1)
    assert month_parse("2026-12-09") == dt.date(2026, 12, 1)
    assert month_parse("2026-13") is None and month_parse("") is None and month_parse("nope") is None
    assert month_add(dt.date(2026, 11, 1), 2) == dt.date(2027, 1, 1)
    assert month_add(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
