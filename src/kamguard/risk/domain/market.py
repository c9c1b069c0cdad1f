"""Market-wide moves, to tell them apart from one customer's or one manager's.

`MarketIndex` sums the customers' order series per segment — (industry, province), then industry alone, then
everyone — and answers "how did this customer's market move between two windows?" without the customer itself
(leave-one-out), from the most specific segment that has enough other customers. A whole industry falling 30%
then explains a customer falling 30%; a customer falling 90% while its market falls 30% is still a collapse.
Seasonality cancels the same way: the market's own season is in both windows.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from operator import add

Segment = tuple[Hashable, ...]


def segment_levels(industry: Hashable | None, province: Hashable | None) -> tuple[Segment, ...]:
    """The segments a customer belongs to, most specific first (unknown parts are skipped)."""
    levels: list[Segment] = []
    if industry is not None and province is not None:
        levels.append(("ip", industry, province))
    if industry is not None:
        levels.append(("i", industry))
    levels.append(("all",))
    return tuple(levels)


class MarketIndex:
    """Per-segment sums of equally long bucket series (one per customer), for leave-one-out ratios."""

    def __init__(self, *, series: Mapping[int, Sequence[float]], segments: Mapping[int, Sequence[Segment]],
                 length: int, min_members: int = 5) -> None:
        if min_members < 1:
            raise ValueError("min_members must be at least 1")
        self.length = length
        self.min_members = min_members
        self._series = series
        self._segments = segments
        self._totals: dict[Segment, list[float]] = {}
        self._members: dict[Segment, int] = {}
        self._sums: dict[tuple[Segment, int, int, int], float] = {}
        for customer_id, values in series.items():
            if len(values) != length:
                raise ValueError(f"series of customer {customer_id} has {len(values)} buckets, not {length}")
            if not any(values):
                continue  # a customer with no orders at all tells nothing about its market
            for segment in segments.get(customer_id, (("all",),)):
                total = self._totals.get(segment)
                # element by element, in the same order as a loop would (the same sums to the last bit)
                self._totals[segment] = list(map(add, total if total is not None else [0.0] * length, values))
                self._members[segment] = self._members.get(segment, 0) + 1

    def _window(self, segment: Segment, total: Sequence[float], window: range) -> float:
        """The segment's sum over `window`, computed once (every customer of the segment asks for it)."""
        key = (segment, window.start, window.stop, window.step)
        found = self._sums.get(key)
        if found is None:
            found = self._sums[key] = sum(total[i] for i in window)
        return found

    def ratio(self, customer_id: int, *, new: range, old: range) -> tuple[float, Segment | None]:
        """(mean of `new` buckets / mean of `old` buckets) over the customer's market without the customer; 1.0
        and None when no segment has enough other customers with orders in the old window."""
        own = self._series.get(customer_id, ())
        has_own = bool(own) and any(own)
        for segment in self._segments.get(customer_id, (("all",),)):
            total = self._totals.get(segment)
            if total is None:
                continue
            others = self._members.get(segment, 0) - (1 if has_own else 0)
            if others < self.min_members:
                continue
            new_sum = self._window(segment, total, new) - (sum(own[i] for i in new) if has_own else 0.0)
            old_sum = self._window(segment, total, old) - (sum(own[i] for i in old) if has_own else 0.0)
            if old_sum <= 0 or not new or not old:
                continue
            return (new_sum / len(new)) / (old_sum / len(old)), segment
        return 1.0, None


def weighted_ratio(pairs: Sequence[tuple[float, float]]) -> float:
    """The average of ratios weighted by their weights ((weight, ratio) pairs); 1.0 with no weight."""
    total = sum(weight for weight, _ in pairs if weight > 0)
    if total <= 0:
        return 1.0
    return sum(weight * ratio for weight, ratio in pairs if weight > 0) / total
