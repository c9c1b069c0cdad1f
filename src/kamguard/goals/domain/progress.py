"""Progress of key results and objectives, and the roll-up of a cascade: pure arithmetic on Decimals.

- A key result's progress is (current − start) / (target − start) × 100, clipped to 0..100. It works both ways:
  a key result that should go down (start 20 complaints, target 5) progresses as the value falls.
- An objective's own progress is the weighted average of its key results' progress (None without key results).
- Rolled up through a cascade: the average of the objective's own progress (when it has key results) and the
  rolled-up progress of each child objective that has one, each counting once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
ZERO = Decimal(0)
CENT = Decimal("0.01")


def quantize(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def kr_progress(start: Decimal, target: Decimal, current: Decimal) -> Decimal:
    """0..100, unrounded. A key result whose target equals its start is done once the value reaches it."""
    if target == start:
        return HUNDRED if current == target else ZERO
    ratio = (current - start) / (target - start) * HUNDRED
    return max(ZERO, min(HUNDRED, ratio))


def weighted_progress(items: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """The weighted average of (progress, weight) pairs, unrounded; None when there is no positive weight."""
    total_weight = ZERO
    total = ZERO
    for progress, weight in items:
        if weight <= 0:
            continue
        total += progress * weight
        total_weight += weight
    if total_weight == 0:
        return None
    return total / total_weight


@dataclass
class Node:
    """An objective in a cascade: its key results as (start, target, current, weight) and its children."""

    key: int
    key_results: Sequence[tuple[Decimal, Decimal, Decimal, Decimal]] = ()
    children: list[Node] = field(default_factory=list)

    def own_progress(self) -> Decimal | None:
        return weighted_progress((kr_progress(s, t, c), w) for s, t, c, w in self.key_results)

    def rolled_up(self) -> Decimal | None:
        parts = [p for p in [self.own_progress(), *(child.rolled_up() for child in self.children)] if p is not None]
        if not parts:
            return None
        return sum(parts, ZERO) / len(parts)


def validate_key_result(start: Decimal, target: Decimal, weight: Decimal) -> dict[str, str]:
    """Field → problem code: "target_equals_start", "weight_not_positive"."""
    problems: dict[str, str] = {}
    if target == start:
        problems["target_value"] = "target_equals_start"
    if weight <= 0:
        problems["weight"] = "weight_not_positive"
    return problems
