"""Fairness of an allocation: who received how many customers and how much value, the Gini coefficient
and the max–min spread, the share of manual overrides, bounds that raise an alert, and the comparison of
a draft rule set's decisions with the active one's (simulation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from kamguard.allocation.domain.engine import Decision

Number = float | int | Decimal


def gini(values: Sequence[Number]) -> float:
    """The Gini coefficient of non-negative values: 0 when all are equal (or there are none, or all are
    zero), approaching 1 when one holds everything; at most 1 - 1/n for n values.

    G = (2 Σ i·x_(i)) / (n Σ x) − (n + 1) / n with x sorted ascending and i from 1; computed in Decimal
    so equal values give exactly 0."""
    if not values:
        return 0.0
    numbers = sorted(Decimal(v) if not isinstance(v, float) else Decimal(repr(v)) for v in values)
    if numbers[0] < 0:
        raise ValueError("gini is defined for non-negative values")
    total = sum(numbers, Decimal(0))
    if total == 0:
        return 0.0
    n = len(numbers)
    weighted = sum((Decimal(i) * x for i, x in enumerate(numbers, start=1)), Decimal(0))
    result = (2 * weighted) / (n * total) - Decimal(n + 1) / n
    return min(max(float(result), 0.0), 1.0 - 1.0 / n)


def spread(values: Sequence[Number]) -> tuple[Number, Number, Number]:
    """(max, min, max − min); (0, 0, 0) for no values."""
    if not values:
        return (0, 0, 0)
    high, low = max(values), min(values)
    return (high, low, high - low)  # type: ignore[operator]


@dataclass(frozen=True)
class Received:
    """One customer a person received in the period: its tier, size and expected value, and whether it was
    a manual re-assignment (``by``: who made it)."""

    person_id: int
    tier: str
    size: str
    value: Decimal
    manual: bool = False
    by: int | None = None


@dataclass(frozen=True)
class PersonFigures:
    person_id: int
    count: int
    value: Decimal
    count_by_tier: Mapping[str, int]
    value_by_tier: Mapping[str, Decimal]
    count_by_size: Mapping[str, int]
    value_by_size: Mapping[str, Decimal]
    manual: int


@dataclass(frozen=True)
class FairnessBound:
    """The most unfairness tolerated; None: not checked."""

    gini_count: float | None = None
    gini_value: float | None = None
    spread_count: int | None = None


@dataclass(frozen=True)
class Figures:
    """Fairness figures over a group of people (those without customers count as zeros)."""

    people: tuple[PersonFigures, ...]
    total_count: int
    total_value: Decimal
    gini_count: float
    gini_value: float
    spread_count: tuple[int, int, int]  # (max, min, max − min)
    spread_value: tuple[Decimal, Decimal, Decimal]
    manual_count: int
    manual_share: float  # manual overrides / received, 0 when nothing was received
    manual_by: Mapping[int | None, int]  # who made the manual overrides (None: unknown), sorted by id
    outside_count: int = 0  # received by people outside the group (not in the figures above)

    def is_unfair(self, bound: FairnessBound) -> list[str]:
        """Codes of the bounds breached: ``gini_count``, ``gini_value``, ``spread_count``."""
        breached = []
        if bound.gini_count is not None and self.gini_count > bound.gini_count:
            breached.append("gini_count")
        if bound.gini_value is not None and self.gini_value > bound.gini_value:
            breached.append("gini_value")
        if bound.spread_count is not None and self.spread_count[2] > bound.spread_count:
            breached.append("spread_count")
        return breached


def fairness_figures(received: Sequence[Received], people: Sequence[int]) -> Figures:
    group = list(dict.fromkeys(people))
    counts: dict[int, dict[str, dict[str, int]]] = {p: {"tier": {}, "size": {}} for p in group}
    values: dict[int, dict[str, dict[str, Decimal]]] = {p: {"tier": {}, "size": {}} for p in group}
    manual: dict[int, int] = dict.fromkeys(group, 0)
    manual_by: dict[int | None, int] = {}
    outside = 0
    for item in received:
        if item.person_id not in counts:
            outside += 1
            continue
        for axis, key in (("tier", item.tier), ("size", item.size)):
            counts[item.person_id][axis][key] = counts[item.person_id][axis].get(key, 0) + 1
            values[item.person_id][axis][key] = values[item.person_id][axis].get(key, Decimal(0)) + item.value
        if item.manual:
            manual[item.person_id] += 1
            manual_by[item.by] = manual_by.get(item.by, 0) + 1
    figures = []
    for person_id in group:
        by_tier, by_size = counts[person_id]["tier"], counts[person_id]["size"]
        value_tier, value_size = values[person_id]["tier"], values[person_id]["size"]
        figures.append(PersonFigures(person_id, sum(by_tier.values()), sum(value_tier.values(), Decimal(0)),
                                     dict(sorted(by_tier.items())), dict(sorted(value_tier.items())),
                                     dict(sorted(by_size.items())), dict(sorted(value_size.items())),
                                     manual[person_id]))
    count_list = [f.count for f in figures]
    value_list = [f.value for f in figures]
    total = sum(count_list)
    manual_total = sum(manual.values())
    high_count, low_count = (max(count_list), min(count_list)) if count_list else (0, 0)
    high_value, low_value = (max(value_list), min(value_list)) if value_list else (Decimal(0), Decimal(0))
    return Figures(
        people=tuple(figures), total_count=total, total_value=sum(value_list, Decimal(0)),
        gini_count=gini(count_list), gini_value=gini([max(v, Decimal(0)) for v in value_list]),
        spread_count=(high_count, low_count, high_count - low_count),
        spread_value=(high_value, low_value, high_value - low_value),
        manual_count=manual_total, manual_share=manual_total / total if total else 0.0,
        manual_by=dict(sorted(manual_by.items(), key=lambda item: (item[0] is None, item[0] or 0))),
        outside_count=outside,
    )


# ---------------------------------------------------------------- simulation


@dataclass(frozen=True)
class PersonDelta:
    person_id: int
    active_count: int
    draft_count: int
    active_value: Decimal
    draft_value: Decimal

    @property
    def count_delta(self) -> int:
        return self.draft_count - self.active_count

    @property
    def value_delta(self) -> Decimal:
        return self.draft_value - self.active_value


@dataclass(frozen=True)
class OutcomeChange:
    """A subject whose outcome differs; a side that did not decide it has outcome ""."""

    subject_ref: str
    active_outcome: str
    active_person_id: int | None
    active_pool_id: int | None
    draft_outcome: str
    draft_person_id: int | None
    draft_pool_id: int | None


@dataclass(frozen=True)
class Comparison:
    people: tuple[PersonDelta, ...]  # by person id
    pools: Mapping[int, tuple[int, int]]  # pool id -> (active count, draft count)
    unallocated: tuple[int, int]  # (active, draft)
    changes: tuple[OutcomeChange, ...]  # in the order of the draft decisions, then active-only subjects
    subjects: int
    draft_counts_by_tier: Mapping[int, Mapping[str, int]] = field(default_factory=dict)


def simulation_compare(active: Sequence[Decision], draft: Sequence[Decision]) -> Comparison:
    """What changes from the active rule set's decisions to the draft's, over the same subjects."""
    counts: dict[int, list[int]] = {}
    values: dict[int, list[Decimal]] = {}
    pools: dict[int, list[int]] = {}
    unallocated = [0, 0]
    by_tier: dict[int, dict[str, int]] = {}
    for side, decisions in enumerate((active, draft)):
        for decision in decisions:
            if decision.outcome == "person" and decision.person_id is not None:
                counts.setdefault(decision.person_id, [0, 0])[side] += 1
                values.setdefault(decision.person_id, [Decimal(0), Decimal(0)])[side] += decision.value
                if side == 1:
                    tiers = by_tier.setdefault(decision.person_id, {})
                    tiers[decision.tier] = tiers.get(decision.tier, 0) + 1
            elif decision.outcome == "pool" and decision.pool_id is not None:
                pools.setdefault(decision.pool_id, [0, 0])[side] += 1
            else:
                unallocated[side] += 1
    people = tuple(PersonDelta(pid, c[0], c[1], values[pid][0], values[pid][1]) for pid, c in sorted(counts.items()))
    before = {d.subject_ref: d for d in active}
    changes: list[OutcomeChange] = []
    seen: set[str] = set()
    for decision in draft:
        seen.add(decision.subject_ref)
        old = before.get(decision.subject_ref)
        if old is None:
            changes.append(OutcomeChange(decision.subject_ref, "", None, None, decision.outcome,
                                         decision.person_id, decision.pool_id))
        elif (old.outcome, old.person_id, old.pool_id) != (decision.outcome, decision.person_id, decision.pool_id):
            changes.append(OutcomeChange(decision.subject_ref, old.outcome, old.person_id, old.pool_id,
                                         decision.outcome, decision.person_id, decision.pool_id))
    for decision in active:
        if decision.subject_ref not in seen:
            changes.append(OutcomeChange(decision.subject_ref, decision.outcome, decision.person_id,
                                         decision.pool_id, "", None, None))
    return Comparison(people, {pool: (c[0], c[1]) for pool, c in sorted(pools.items())},
                      (unallocated[0], unallocated[1]), tuple(changes), len(before.keys() | seen),
                      {pid: dict(sorted(t.items())) for pid, t in sorted(by_tier.items())})
