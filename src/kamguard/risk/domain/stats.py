"""Small robust statistics for the signals: nothing here knows about customers or orders."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# The MAD of a normal distribution is 0.6745 standard deviations: dividing by this makes a MAD-based z
# comparable to an ordinary z score.
MAD_SCALE = 1.4826


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    if math.isnan(value):
        return low
    return max(low, min(high, value))


def ramp(value: float, start: float, full: float) -> float:
    """0 at or below `start`, 1 at or above `full`, linear between (`full` must be above `start`)."""
    if full <= start:
        raise ValueError("ramp: full must be greater than start")
    return clamp((value - start) / (full - start))


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of nothing")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def weighted_median(counted: Iterable[tuple[float, int]]) -> float:
    """The median of values given as (value, how many times it occurs) — exactly `median` of the values written
    out, without writing them out (a million order lines at a handful of distinct prices)."""
    pairs = sorted((value, count) for value, count in counted if count > 0)
    total = sum(count for _value, count in pairs)
    if not total:
        raise ValueError("median of nothing")
    low_at, high_at = (total - 1) // 2, total // 2  # positions of the middle value(s) in the written-out order
    low = high = None
    seen = 0
    for value, count in pairs:
        if low is None and seen + count > low_at:
            low = value
        if seen + count > high_at:
            high = value
            break
        seen += count
    assert low is not None and high is not None
    if total % 2:
        return float(high)
    return (low + high) / 2.0


def weighted_mad(counted: Sequence[tuple[float, int]], centre: float | None = None) -> float:
    """`mad` of values given as (value, count)."""
    middle = weighted_median(counted) if centre is None else centre
    return MAD_SCALE * weighted_median([(abs(value - middle), count) for value, count in counted])


def mad(values: Sequence[float], centre: float | None = None) -> float:
    """The median absolute deviation, scaled to a standard deviation."""
    if not values:
        raise ValueError("MAD of nothing")
    middle = median(values) if centre is None else centre
    return MAD_SCALE * median([abs(v - middle) for v in values])


def robust_z(value: float, reference: Sequence[float], *, floor: float) -> float:
    """How many (robust) standard deviations `value` is from the median of `reference`. The spread is at least
    `floor`, so a reference whose values are all alike does not turn a small difference into a huge z."""
    middle = median(reference)
    spread = max(mad(reference, middle), floor)
    return (value - middle) / spread


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def safe_log_ratio(new: float, old: float, *, floor: float) -> float:
    """log(new / old) with both sides at least `floor`, so zeros give a large but finite move."""
    return math.log(max(new, floor) / max(old, floor))


def rate_z(successes: int, trials: int, reference_rate: float) -> float:
    """The z of an observed rate against a reference rate (normal approximation to the binomial), with the
    reference kept away from 0 and 1 so a perfect reference does not make every difference infinite."""
    if trials <= 0:
        return 0.0
    p = min(max(reference_rate, 0.02), 0.98)
    return (successes / trials - p) / math.sqrt(p * (1 - p) / trials)
