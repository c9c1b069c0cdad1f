"""Plan versus actual: pure arithmetic over what was planned, what was done and the tier service standards.

A planned visit counts as carried out when the visit created for it was done, or when the person did a visit to
the same customer on the planned day (an ad hoc visit recorded instead of checking in the planned one).
A customer meets its tier's service standard when the month's done visits to it reach the standard's
visits per month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedVisit:
    item_id: int
    customer_id: int
    planned_on: dt.date
    activity_id: int | None


@dataclass(frozen=True)
class DoneVisit:
    activity_id: int
    customer_id: int
    day: dt.date


@dataclass(frozen=True)
class TierCoverage:
    tier: str
    visits_per_month: int
    customers: int  # the person's customers of this tier
    covered: int  # of them, those that received the standard's visits this month
    uncovered_ids: tuple[int, ...]

    @property
    def share(self) -> float | None:
        return self.covered / self.customers if self.customers else None


@dataclass(frozen=True)
class PlanActual:
    planned: int
    planned_done: int
    done_total: int  # every done visit in the month, planned or not
    unplanned_done: int
    carried_out_ids: frozenset[int]  # plan items carried out
    tiers: tuple[TierCoverage, ...]

    @property
    def completion_rate(self) -> float | None:
        return self.planned_done / self.planned if self.planned else None


def plan_actual(*, planned: Sequence[PlannedVisit], done: Sequence[DoneVisit],
                owned_tiers: Mapping[int, str], standards: Mapping[str, int]) -> PlanActual:
    """`owned_tiers`: the person's customers (id → tier); `standards`: tier → visits per month."""
    done_ids = {d.activity_id for d in done}
    done_days = {(d.customer_id, d.day) for d in done}
    carried: set[int] = set()
    used_activities: set[int] = set()
    for item in planned:
        if item.activity_id is not None and item.activity_id in done_ids:
            carried.add(item.item_id)
            used_activities.add(item.activity_id)
        elif (item.customer_id, item.planned_on) in done_days:
            carried.add(item.item_id)
            used_activities.update(d.activity_id for d in done
                                   if d.customer_id == item.customer_id and d.day == item.planned_on)
    visits_per_customer = Counter(d.customer_id for d in done)
    tiers = []
    for tier in sorted(standards):
        standard = standards[tier]
        customers = sorted(cid for cid, t in owned_tiers.items() if t == tier)
        uncovered = tuple(cid for cid in customers if visits_per_customer[cid] < standard)
        tiers.append(TierCoverage(tier=tier, visits_per_month=standard, customers=len(customers),
                                  covered=len(customers) - len(uncovered), uncovered_ids=uncovered))
    return PlanActual(planned=len(planned), planned_done=len(carried), done_total=len(done),
                      unplanned_done=len(done_ids - used_activities), carried_out_ids=frozenset(carried),
                      tiers=tuple(tiers))
