"""What a signal returns: its score and the numbers that explain it, ready to be stored as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Number = int | float | str | None


class SubjectType(StrEnum):
    CUSTOMER = "customer"
    MANAGER = "manager"
    ORDER = "order"


class Signal(StrEnum):
    """The signal codes: stable, stored in evidence, named in the settings."""

    ORDERS_COLLAPSE = "orders_collapse"  # orders collapse while the owner keeps reporting contact
    LATE_STAGE_LOSSES = "late_stage_losses"  # late-stage losses above peers and own history, same competitor
    PRICE_OUTLIER = "price_outlier"  # a price or discount far from the norm for product × tier
    DISCOUNT_CLUSTERING = "discount_clustering"  # discounts clustering just under the approval threshold
    THIRD_PARTY = "third_party"  # payments from, or deliveries to, someone other than the customer
    CONTACT_HIJACK = "contact_hijack"  # contact details changed to the manager's own, decision-makers removed
    RESULTS_ANOMALY = "results_anomaly"  # growth or fall against own baseline and peers, market-adjusted
    DATA_ACCESS = "data_access"  # viewing or exporting far beyond the normal pattern, after notice above all
    HOARDING = "hoarding"  # owned customers left without follow-up
    POST_TRANSFER_DROP = "post_transfer_drop"  # orders fall after a transfer beyond the normal 13–18%


# Which subjects each signal scores directly (roll-ups aside).
SIGNAL_SUBJECTS: dict[Signal, SubjectType] = {
    Signal.ORDERS_COLLAPSE: SubjectType.CUSTOMER,
    Signal.LATE_STAGE_LOSSES: SubjectType.MANAGER,
    Signal.PRICE_OUTLIER: SubjectType.ORDER,
    Signal.DISCOUNT_CLUSTERING: SubjectType.MANAGER,
    Signal.THIRD_PARTY: SubjectType.CUSTOMER,
    Signal.CONTACT_HIJACK: SubjectType.CUSTOMER,
    Signal.RESULTS_ANOMALY: SubjectType.MANAGER,
    Signal.DATA_ACCESS: SubjectType.MANAGER,
    Signal.HOARDING: SubjectType.MANAGER,
    Signal.POST_TRANSFER_DROP: SubjectType.CUSTOMER,
}


@dataclass(frozen=True)
class Ref:
    """A record the evidence rests on, for links: kind (customer, order, payment, delivery, opportunity,
    contact, person, audit_event, ownership_change) and id."""

    kind: str
    id: int
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label}


@dataclass(frozen=True)
class Evidence:
    """One signal's finding about one subject.

    `key` names the explanation (e.g. "orders_collapse.contact_continues"); pages turn it into a sentence in
    the reader's language with `numbers`. `series` holds small labelled series for a chart (e.g. monthly
    orders and contacts). `refs` are the records behind it.
    """

    signal: Signal
    score: float
    key: str
    numbers: Mapping[str, Number] = field(default_factory=dict)
    refs: tuple[Ref, ...] = ()
    series: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    labels: tuple[str, ...] = ()  # the x axis of `series` (e.g. months "2024-01")

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score out of range: {self.score}")

    @property
    def fired(self) -> bool:
        return self.score > 0.0

    def to_json(self) -> dict[str, Any]:
        return {"signal": self.signal.value, "score": round(self.score, 4), "key": self.key,
                "numbers": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.numbers.items()},
                "refs": [r.to_json() for r in self.refs],
                "series": {k: [round(x, 2) for x in v] for k, v in self.series.items()},
                "labels": list(self.labels)}


def quiet(signal: Signal, key: str, **numbers: Number) -> Evidence:
    """A signal that looked and found nothing (score 0), with the numbers it looked at."""
    return Evidence(signal=signal, score=0.0, key=key, numbers=numbers)
