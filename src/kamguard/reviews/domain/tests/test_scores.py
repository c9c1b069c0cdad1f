from decimal import Decimal

import pytest

from kamguard.reviews.domain.scores import Completed, review_score, scale_to_percent, summarise


def test_scale_maps_one_to_five_onto_zero_to_hundred() -> None:
    assert [scale_to_percent(v) for v in (1, 2, 3, 4, 5)] == [0, 25, 50, 75, 100]
    with pytest.raises(ValueError):
        scale_to_percent(0)
    with pytest.raises(ValueError):
        scale_to_percent(6)


def test_review_score_is_the_average_of_scale_answers() -> None:
    assert review_score([5, 4]) == Decimal("87.50")
    assert review_score([]) is None


def test_two_peers_are_counted_but_not_shown() -> None:
    summary = summarise([Completed(1, "peer", Decimal(100)), Completed(1, "peer", Decimal(0)),
                         Completed(1, "self", Decimal(80))])
    assert summary.by_source["peer"] == (None, 2)
    assert summary.by_source["self"] == (Decimal("80.00"), 1)
    assert summary.overall == Decimal("80.00")


def test_three_peers_are_shown_as_an_average() -> None:
    summary = summarise([Completed(1, "peer", Decimal(100)), Completed(1, "peer", Decimal(50)),
                         Completed(1, "peer", Decimal(0)), Completed(1, "supervisor", Decimal(75))])
    assert summary.by_source["peer"] == (Decimal("50.00"), 3)
    assert summary.overall == Decimal("62.50")


def test_peers_count_per_cycle_so_pooling_cycles_reveals_nobody() -> None:
    # Two peers in one cycle, one in another: three in all, but no cycle reached three.
    summary = summarise([Completed(1, "peer", Decimal(100)), Completed(1, "peer", Decimal(0)),
                         Completed(2, "peer", Decimal(50))])
    assert summary.by_source["peer"] == (None, 3)
    assert summary.overall is None
