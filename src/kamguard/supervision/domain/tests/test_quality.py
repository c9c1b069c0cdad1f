"""The basic-data quality score, without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kamguard.supervision.domain.quality import WEIGHTS, QualityCounts, quality_score


def test_weights_add_up_to_100():
    assert sum(WEIGHTS.values()) == 100


def test_everything_perfect_is_100():
    counts = QualityCounts(activities_done=4, activities_complete=4, customers=3, customers_complete=3,
                           visits_done=2, visits_located=2, records=1, records_unclassified=0, logs_due=5,
                           logs_on_time=5, relay_forms=2, relay_on_time=2)
    score = quality_score(counts)
    assert score.score == 100.0 and score.grade == "excellent"


def test_items_explain_their_numbers():
    counts = QualityCounts(activities_done=4, activities_complete=1, activities_missing_outcome=2,
                           activities_missing_next_step=3, visits_missing_location=1, visits_done=2, visits_located=1,
                           visits_far=1, logs_due=10, logs_on_time=6, logs_late=3, logs_missing=1)
    score = quality_score(counts)
    records = score.item("records_complete")
    assert (records.numerator, records.denominator, records.share, records.points) == (1, 4, 0.25, 6.2)
    assert records.details == {"missing_outcome": 2, "missing_next_step": 3, "missing_location": 1}
    checkins = score.item("checkins_correct")
    assert (checkins.numerator, checkins.denominator, checkins.details) == (0, 2, {"not_located": 1, "far": 1})
    logs = score.item("logs_on_time")
    assert logs.share == 0.6 and logs.details == {"late": 3, "missing": 1}


def test_items_with_nothing_to_measure_do_not_count():
    # given only logs: 8 of 10 on time
    score = quality_score(QualityCounts(logs_due=10, logs_on_time=8))
    # then the score is the logs' share alone, not 8 * 20 / 100
    assert score.score == 80.0 and score.applicable_weight == WEIGHTS["logs_on_time"]
    assert not score.item("records_complete").applies
    assert score.dimension_share("complete") is None and score.dimension_share("kept") == 0.8


def test_unavailable_sources_are_not_scored_as_zero():
    counts = QualityCounts(activities_done=2, activities_complete=2, records=None, records_unclassified=None,
                           logs_due=None, logs_on_time=None, relay_forms=None, relay_on_time=None)
    score = quality_score(counts)
    assert not score.item("logs_on_time").available
    assert score.score == 100.0


def test_nothing_at_all_has_no_score():
    score = quality_score(QualityCounts())
    assert score.score is None and score.grade == "none"


def test_grades():
    assert quality_score(QualityCounts(logs_due=100, logs_on_time=75)).grade == "good"
    assert quality_score(QualityCounts(logs_due=100, logs_on_time=60)).grade == "fair"
    assert quality_score(QualityCounts(logs_due=100, logs_on_time=59)).grade == "poor"


@given(st.lists(st.integers(0, 50), min_size=12, max_size=12))
def test_score_stays_between_0_and_100(n):
    counts = QualityCounts(activities_done=n[0], activities_complete=n[1], customers=n[2], customers_complete=n[3],
                           visits_done=n[4], visits_located=n[5], visits_far=n[6], records=n[7],
                           records_unclassified=n[8], logs_due=n[9], logs_on_time=n[10], relay_forms=n[11],
                           relay_on_time=n[0])
    score = quality_score(counts)
    assert score.score is None or 0.0 <= score.score <= 100.0
    for item in score.items:
        assert item.share is None or 0.0 <= item.share <= 1.0
