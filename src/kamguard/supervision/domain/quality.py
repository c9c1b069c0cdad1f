"""The basic-data quality score (基础资料管理, D1): are a person's work records complete, correct, classified and
kept on time? Pure arithmetic over counts the selector gathers; every item explains itself by its numbers.

Items (weight out of 100 when every item applies):
    complete    records_complete     done contacts with an outcome and a next step (visits: also a location)   25
    complete    customers_complete   the person's customers with contacts, USCC, tier and region                 20
    correct     checkins_correct     done visits checked in near the customer (location recorded, not far)       15
    classified  records_classified   other records (analyses, reports, cases…) given a category                  10
    kept        logs_on_time         daily work logs submitted by the deadline                                    20
    kept        relay_on_time        information relay forms passed on and handled in time                       10
An item with nothing to measure in the period (no visits, no records…) does not apply: the score is taken over
the items that do, so nobody is marked down for work they had no occasion to record. No item applies → no score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WEIGHTS: dict[str, int] = {
    "records_complete": 25,
    "customers_complete": 20,
    "checkins_correct": 15,
    "records_classified": 10,
    "logs_on_time": 20,
    "relay_on_time": 10,
}
DIMENSIONS: dict[str, str] = {
    "records_complete": "complete",
    "customers_complete": "complete",
    "checkins_correct": "correct",
    "records_classified": "classified",
    "logs_on_time": "kept",
    "relay_on_time": "kept",
}
# Grades of the total: (lowest score, grade).
GRADES: tuple[tuple[float, str], ...] = ((90.0, "excellent"), (75.0, "good"), (60.0, "fair"), (0.0, "poor"))


@dataclass(frozen=True)
class QualityCounts:
    """What one person recorded in the period. `None` for a source that is not available (its app is not
    installed yet): the item is then reported as unavailable rather than scored."""

    activities_done: int = 0
    activities_complete: int = 0
    activities_missing_outcome: int = 0
    activities_missing_next_step: int = 0
    visits_missing_location: int = 0
    customers: int = 0
    customers_complete: int = 0
    customers_missing_contacts: int = 0
    customers_missing_uscc: int = 0
    customers_missing_region: int = 0
    visits_done: int = 0
    visits_located: int = 0  # location recorded at check-in
    visits_far: int = 0
    records: int | None = 0
    records_unclassified: int | None = 0
    logs_due: int | None = 0
    logs_on_time: int | None = 0
    logs_late: int | None = 0
    logs_missing: int | None = 0
    relay_forms: int | None = 0
    relay_on_time: int | None = 0


@dataclass(frozen=True)
class QualityItem:
    key: str
    dimension: str
    weight: int
    numerator: int
    denominator: int
    available: bool = True
    details: dict[str, int] = field(default_factory=dict)

    @property
    def applies(self) -> bool:
        return self.available and self.denominator > 0

    @property
    def share(self) -> float | None:
        return self.numerator / self.denominator if self.applies else None

    @property
    def points(self) -> float | None:
        share = self.share
        return None if share is None else round(share * self.weight, 1)


@dataclass(frozen=True)
class QualityScore:
    items: tuple[QualityItem, ...]

    @property
    def applicable_weight(self) -> int:
        return sum(i.weight for i in self.items if i.applies)

    @property
    def score(self) -> float | None:
        """0–100 over the items that apply; None when none does."""
        weight = self.applicable_weight
        if not weight:
            return None
        earned = sum((i.share or 0.0) * i.weight for i in self.items if i.applies)
        return round(100.0 * earned / weight, 1)

    @property
    def grade(self) -> str:
        score = self.score
        if score is None:
            return "none"
        return next(name for floor, name in GRADES if score >= floor)

    def item(self, key: str) -> QualityItem:
        return next(i for i in self.items if i.key == key)

    def dimension_share(self, dimension: str) -> float | None:
        relevant = [i for i in self.items if i.dimension == dimension and i.applies]
        weight = sum(i.weight for i in relevant)
        if not weight:
            return None
        return sum((i.share or 0.0) * i.weight for i in relevant) / weight


def _item(key: str, numerator: int | None, denominator: int | None, **details: int | None) -> QualityItem:
    available = numerator is not None and denominator is not None
    num = max(0, min(numerator or 0, denominator or 0))
    return QualityItem(key=key, dimension=DIMENSIONS[key], weight=WEIGHTS[key], numerator=num,
                       denominator=max(0, denominator or 0) if available else 0, available=available,
                       details={k: v for k, v in details.items() if v is not None})


def quality_score(counts: QualityCounts) -> QualityScore:
    c = counts
    records_classified = None if c.records is None or c.records_unclassified is None else \
        c.records - c.records_unclassified
    return QualityScore(items=(
        _item("records_complete", c.activities_complete, c.activities_done,
              missing_outcome=c.activities_missing_outcome, missing_next_step=c.activities_missing_next_step,
              missing_location=c.visits_missing_location),
        _item("customers_complete", c.customers_complete, c.customers,
              missing_contacts=c.customers_missing_contacts, missing_uscc=c.customers_missing_uscc,
              missing_region=c.customers_missing_region),
        _item("checkins_correct", c.visits_located - c.visits_far, c.visits_done,
              not_located=c.visits_done - c.visits_located, far=c.visits_far),
        _item("records_classified", records_classified, c.records, unclassified=c.records_unclassified),
        _item("logs_on_time", c.logs_on_time, c.logs_due, late=c.logs_late, missing=c.logs_missing),
        _item("relay_on_time", c.relay_on_time, c.relay_forms),
    ))
