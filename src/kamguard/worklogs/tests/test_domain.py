"""The pure core of work logs, without a database: deadlines, states, quality summary and the chart."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kamguard.worklogs.domain import (
    DeadlineRule,
    QualitySummary,
    TrendPoint,
    deadline_for,
    due_days,
    log_state,
    trend_chart,
    workdays_valid,
)

RULES = st.builds(DeadlineRule, due_time=st.times(), day_offset=st.sampled_from([0, 1]),
                  workdays=st.sampled_from(["12345", "123456", "1234567", "135"]))
DAYS = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))


@given(rule=RULES, day=DAYS, minutes=st.integers(min_value=-3000, max_value=3000))
def test_submitted_log_is_late_exactly_after_the_deadline(rule, day, minutes):
    deadline = deadline_for(day, rule)
    submitted = deadline + dt.timedelta(minutes=minutes)
    state = log_state(day=day, rule=rule, now=submitted + dt.timedelta(days=3), submitted_at=submitted)
    assert state == ("late" if minutes > 0 else "submitted")


@given(rule=RULES, day=DAYS, minutes=st.integers(min_value=-3000, max_value=3000))
def test_unsubmitted_log_missing_only_after_the_deadline_of_a_workday(rule, day, minutes):
    now = deadline_for(day, rule) + dt.timedelta(minutes=minutes)
    state = log_state(day=day, rule=rule, now=now, submitted_at=None)
    assert state == ("missing" if minutes > 0 and rule.is_workday(day) else "not_due")


@given(rule=RULES, start=DAYS, length=st.integers(min_value=0, max_value=40))
def test_due_days_are_workdays_past_their_deadline(rule, start, length):
    end = start + dt.timedelta(days=length)
    now = dt.datetime.combine(end, dt.time(12, 0))
    days = due_days(start=start, end=end, rule=rule, now=now)
    assert all(start <= d <= end and rule.is_workday(d) and deadline_for(d, rule) < now for d in days)
    assert days == sorted(set(days))


def test_next_day_deadline():
    rule = DeadlineRule(due_time=dt.time(9, 0), day_offset=1)
    assert deadline_for(dt.date(2026, 3, 6), rule) == dt.datetime(2026, 3, 7, 9, 0)


def test_workdays_valid():
    assert workdays_valid("12345") and workdays_valid("7")
    assert not workdays_valid("") and not workdays_valid("118") and not workdays_valid("12a")


@given(ratings=st.lists(st.integers(min_value=1, max_value=5), max_size=30),
       due=st.integers(min_value=0, max_value=30), on_time=st.integers(min_value=0, max_value=30))
def test_quality_summary(ratings, due, on_time):
    summary = QualitySummary(due=due, submitted=min(on_time, due), ratings=ratings)
    if ratings:
        assert 1 <= summary.average_rating <= 5
    else:
        assert summary.average_rating is None
    assert summary.on_time_share is None if due == 0 else 0 <= summary.on_time_share <= 1


@given(values=st.lists(st.one_of(st.none(), st.floats(min_value=1, max_value=5)), min_size=1, max_size=26))
def test_chart_points_inside_the_plot(values):
    points = [TrendPoint(label=f"w{i}", value=v, count=1 if v else 0) for i, v in enumerate(values)]
    chart = trend_chart(points)
    assert len(chart.points) == sum(1 for v in values if v is not None)
    for p in chart.points:
        assert chart.plot_left <= p.x <= chart.plot_right
        assert 0 <= p.y <= chart.plot_bottom
    assert chart.path.count("M") == (1 if chart.points else 0)
    assert len(chart.ticks) <= 8
