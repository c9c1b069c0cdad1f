"""Fairness figures, bounds and the comparison of simulations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kamguard.allocation.domain.engine import Decision
from kamguard.allocation.domain.fairness import (
    FairnessBound,
    Received,
    fairness_figures,
    gini,
    simulation_compare,
    spread,
)


def test_gini_of_known_distributions() -> None:
    assert gini([]) == 0.0
    assert gini([0, 0, 0]) == 0.0
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([Decimal("2.5"), Decimal("2.5")]) == 0.0
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)  # one of four holds everything: 1 - 1/n
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert gini([1.5, 0.5]) == pytest.approx(0.25)


def test_gini_refuses_negative_values() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_spread() -> None:
    assert spread([]) == (0, 0, 0)
    assert spread([3, 9, 4]) == (9, 3, 6)
    assert spread([Decimal("1.5"), Decimal("0.5")]) == (Decimal("1.5"), Decimal("0.5"), Decimal("1.0"))


def received(person: int, tier: str = "A", size: str = "large", value: str = "100", manual: bool = False,
             by: int | None = None) -> Received:
    return Received(person, tier, size, Decimal(value), manual, by)


def test_fairness_figures_per_person_with_zeros_for_those_who_received_nothing() -> None:
    # given
    items = [received(1, "A", "large", "300"), received(1, "B", "small", "50", manual=True, by=9),
             received(2, "A", "large", "100"), received(2, "A", "medium", "100", manual=True, by=None),
             received(2, "C", "", "0"), received(8, "A")]
    # when
    figures = fairness_figures(items, [1, 2, 3])
    # then
    one, two, three = figures.people
    assert (one.person_id, one.count, one.value) == (1, 2, Decimal(350))
    assert one.count_by_tier == {"A": 1, "B": 1} and one.value_by_size == {"large": Decimal(300), "small": Decimal(50)}
    assert (two.count, two.count_by_size, two.manual) == (3, {"": 1, "large": 1, "medium": 1}, 1)
    assert (three.count, three.value, three.count_by_tier) == (0, Decimal(0), {})
    assert figures.total_count == 5 and figures.total_value == Decimal(550)
    assert figures.spread_count == (3, 0, 3)
    assert figures.gini_count == pytest.approx(gini([2, 3, 0]))
    assert figures.gini_value == pytest.approx(gini([350, 200, 0]))
    assert figures.manual_count == 2 and figures.manual_share == pytest.approx(0.4)
    assert figures.manual_by == {9: 1, None: 1}
    assert figures.outside_count == 1


def test_fairness_figures_of_nothing() -> None:
    figures = fairness_figures([], [])
    assert (figures.total_count, figures.gini_count, figures.manual_share, figures.spread_count) == (0, 0.0, 0.0,
                                                                                                    (0, 0, 0))


def test_bounds() -> None:
    figures = fairness_figures([received(1), received(1), received(1), received(2)], [1, 2])
    assert figures.spread_count == (3, 1, 2)
    assert figures.is_unfair(FairnessBound()) == []
    assert figures.is_unfair(FairnessBound(gini_count=0.1, gini_value=0.9, spread_count=1)) == ["gini_count",
                                                                                                "spread_count"]
    assert figures.is_unfair(FairnessBound(gini_count=0.25, spread_count=2)) == []


def decision(ref: str, outcome: str = "person", person: int | None = None, pool: int | None = None,
             value: str = "10", tier: str = "A") -> Decision:
    return Decision(ref, outcome, person, pool, "r", 0, "", (), "rule_person", {}, tier,  # type: ignore[arg-type]
                    Decimal(value))


def test_simulation_compare() -> None:
    active = [decision("a", person=1), decision("b", person=1, value="5"), decision("c", "pool", pool=9),
              decision("d", "unallocated")]
    draft = [decision("a", person=1), decision("b", person=2, value="5", tier="B"), decision("c", person=2),
             decision("d", "pool", pool=9), decision("e", person=3)]
    comparison = simulation_compare(active, draft)
    deltas = {p.person_id: (p.active_count, p.draft_count, p.count_delta, p.value_delta) for p in comparison.people}
    assert deltas == {1: (2, 1, -1, Decimal(-5)), 2: (0, 2, 2, Decimal(15)), 3: (0, 1, 1, Decimal(10))}
    assert comparison.pools == {9: (1, 1)}
    assert comparison.unallocated == (1, 0)
    assert [c.subject_ref for c in comparison.changes] == ["b", "c", "d", "e"]
    assert comparison.changes[-1].active_outcome == ""
    assert comparison.subjects == 5
    assert comparison.draft_counts_by_tier == {1: {"A": 1}, 2: {"A": 1, "B": 1}, 3: {"A": 1}}


def test_simulation_compare_of_identical_runs_changes_nothing() -> None:
    runs = [decision("a", person=1), decision("b", "pool", pool=3)]
    comparison = simulation_compare(runs, list(runs))
    assert comparison.changes == ()
    assert all(p.count_delta == 0 and p.value_delta == 0 for p in comparison.people)
