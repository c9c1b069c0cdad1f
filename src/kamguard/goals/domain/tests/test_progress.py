from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from kamguard.goals.domain.months import add_months, month_end, months_between, parse_month
from kamguard.goals.domain.progress import Node, kr_progress, quantize, validate_key_result, weighted_progress


@pytest.mark.parametrize("start,target,current,expected", [
    ("0", "100", "50", "50"), ("0", "100", "150", "100"), ("0", "100", "-5", "0"),
    ("20", "5", "11", "60"), ("20", "5", "25", "0"), ("10", "10", "10", "100"), ("10", "10", "9", "0"),
])
def test_kr_progress_clips_and_works_both_ways(start: str, target: str, current: str, expected: str) -> None:
    assert kr_progress(D(start), D(target), D(current)) == D(expected)


def test_weighted_progress() -> None:
    assert weighted_progress([(D(50), D(1)), (D(100), D(3))]) == D("87.5")
    assert weighted_progress([]) is None
    assert weighted_progress([(D(50), D(0))]) is None
    assert quantize(D(250) / D(3)) == D("83.33")


def test_rollup_averages_own_progress_and_children() -> None:
    child_a = Node(key=2, key_results=[(D(0), D(10), D(10), D(1))])  # 100
    child_b = Node(key=3, key_results=[])  # no key results: left out
    child_c = Node(key=4, key_results=[(D(0), D(10), D(0), D(1))])  # 0
    root = Node(key=1, key_results=[(D(0), D(100), D(20), D(1))], children=[child_a, child_b, child_c])  # own 20
    assert root.own_progress() == D(20)
    assert root.rolled_up() == D(40)  # (20 + 100 + 0) / 3
    assert Node(key=9).rolled_up() is None


def test_validate_key_result() -> None:
    assert validate_key_result(D(1), D(1), D(0)) == {"target_value": "target_equals_start",
                                                       "weight": "weight_not_positive"}
    assert validate_key_result(D(0), D(1), D(1)) == {}


def test_months() -> None:
    assert parse_month("2026-03") == dt.date(2026, 3, 1)
    assert parse_month("2026-3-01") == dt.date(2026, 3, 1)
    for bad in ("2026-13", "2026-03-15", "03/2026", "", "abcd-ef"):
        assert parse_month(bad) is None
    assert add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert month_end(dt.date(2028, 2, 10)) == dt.date(2028, 2, 29)
    assert months_between(dt.date(2026, 11, 5), dt.date(2027, 1, 2)) == [
        dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)]
