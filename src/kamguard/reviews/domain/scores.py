"""Scores of 360 reviews.

A scale answer is 1..5; it maps to 0..100 as (answer - 1) × 25. A submitted review's score is the average of its
scale answers (None when it has none: a free-text-only set). A person's result per source is the average of the
reviews' scores and their count; peers are shown only when at least `PEER_MINIMUM` of them answered, so nobody
can work out what one colleague said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

SCALE_MIN = 1
SCALE_MAX = 5
PEER_MINIMUM = 3
SOURCES: tuple[str, ...] = ("self", "supervisor", "peer", "customer")
_HUNDREDTH = Decimal("0.01")


def scale_valid(value: int) -> bool:
    return SCALE_MIN <= value <= SCALE_MAX


def scale_to_percent(value: int) -> Decimal:
    """1 → 0, 2 → 25, 3 → 50, 4 → 75, 5 → 100."""
    if not scale_valid(value):
        raise ValueError(f"A scale answer is {SCALE_MIN}..{SCALE_MAX}, not {value}.")
    return Decimal((value - SCALE_MIN) * 100) / Decimal(SCALE_MAX - SCALE_MIN)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def review_score(scale_answers: Iterable[int]) -> Decimal | None:
    """The score (0..100) of one submitted review: the average of its scale answers; None without any."""
    values = [scale_to_percent(v) for v in scale_answers]
    if not values:
        return None
    return _round(sum(values, Decimal(0)) / len(values))


def average(values: Iterable[Decimal]) -> Decimal | None:
    items = list(values)
    if not items:
        return None
    return _round(sum(items, Decimal(0)) / len(items))


@dataclass(frozen=True)
class ReviewSummary:
    """One person's 360 result over some cycles.

    `by_source[source] = (average 0..100 or None, number of completed reviews)`; the peers' average is None when
    fewer than three peers' reviews have a score (the count of all completed reviews is still given). `overall` is
    the mean of the shown source averages (each source weighs the same, however many reviewers it had); None when
    nothing is shown.
    """

    overall: Decimal | None
    by_source: dict[str, tuple[Decimal | None, int]] = field(default_factory=dict)

    def shown(self, source: str) -> bool:
        return self.by_source.get(source, (None, 0))[0] is not None


@dataclass(frozen=True)
class Completed:
    """One submitted review: the cycle it belongs to, its source and its score (None: no scale answers)."""

    cycle_id: int
    source: str
    score: Decimal | None


def peers_shown(count: int) -> bool:
    return count >= PEER_MINIMUM


def summarise(reviews: Iterable[Completed]) -> ReviewSummary:
    """A person's summary over their completed reviews. Peers count per cycle: a cycle where fewer than three
    peers' reviews have a score contributes their number but never their scores (pooling cycles must not reveal
    them)."""
    scores: dict[str, list[Decimal]] = {s: [] for s in SOURCES}
    counts: dict[str, int] = dict.fromkeys(SOURCES, 0)
    peers_by_cycle: dict[int, list[Decimal | None]] = {}
    for review in reviews:
        if review.source not in counts:
            continue
        counts[review.source] += 1
        if review.source == "peer":
            peers_by_cycle.setdefault(review.cycle_id, []).append(review.score)
        elif review.score is not None:
            scores[review.source].append(review.score)
    for peer_scores in peers_by_cycle.values():
        scored = [s for s in peer_scores if s is not None]
        if peers_shown(len(scored)):  # reviews without a score must not make two scores look like three
            scores["peer"].extend(scored)
    by_source: dict[str, tuple[Decimal | None, int]] = {}
    for source in SOURCES:
        if counts[source]:
            by_source[source] = (average(scores[source]), counts[source])
    shown = [avg for avg, _n in by_source.values() if avg is not None]
    return ReviewSummary(overall=average(shown), by_source=by_source)


def question_averages(answers: Mapping[int, Iterable[int]]) -> dict[int, Decimal | None]:
    """Per question id, the average (0..100) of its scale answers."""
    return {qid: average(scale_to_percent(v) for v in values) for qid, values in answers.items()}
