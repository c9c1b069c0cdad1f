"""Signals into scores: per customer, per manager and per order, and their ranking.

A subject's score is the noisy-OR of its weighted signals, 1 − Π(1 − wᵢ·sᵢ): each signal can raise it but
never past 1, a weight of 0 switches a signal off, and the contribution of each signal (wᵢ·sᵢ) explains the
total. A manager's score adds their riskiest customers and orders (the top few, scaled by the roll-up weight)
the same way, so one strongly diverted customer is enough to put its manager on the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kamguard.risk.domain.evidence import Evidence, Signal, SubjectType
from kamguard.risk.domain.stats import clamp

SUBJECT_ORDER = {SubjectType.CUSTOMER: 0, SubjectType.MANAGER: 1, SubjectType.ORDER: 2}


def noisy_or(values: Iterable[float]) -> float:
    remaining = 1.0
    for value in values:
        remaining *= 1.0 - clamp(value)
    return 1.0 - remaining


def contributions(evidence: Sequence[Evidence], weights: Mapping[Signal, float]) -> dict[str, float]:
    """Each fired signal's weighted strength (the strongest finding when a signal appears twice)."""
    found: dict[str, float] = {}
    for item in evidence:
        weight = weights.get(item.signal, 0.0)
        if weight < 0:
            raise ValueError(f"negative weight for {item.signal.value}")
        value = clamp(weight * item.score)
        if value > 0:
            found[item.signal.value] = max(found.get(item.signal.value, 0.0), value)
    return found


def combine(evidence: Sequence[Evidence], weights: Mapping[Signal, float]) -> float:
    return noisy_or(contributions(evidence, weights).values())


def rollup(scores: Iterable[float], *, weight: float, top: int) -> float:
    """What a manager's riskiest related subjects add: the noisy-OR of the top `top` scores, times `weight`."""
    if weight < 0:
        raise ValueError("negative roll-up weight")
    best = sorted((clamp(s) for s in scores), reverse=True)[:max(top, 0)]
    return clamp(weight) * noisy_or(best)


@dataclass(frozen=True)
class Related:
    subject_type: SubjectType
    subject_id: int
    score: float


@dataclass(frozen=True)
class SubjectScore:
    subject_type: SubjectType
    subject_id: int
    score: float
    evidence: tuple[Evidence, ...]  # the fired signals, strongest contribution first
    contributions: Mapping[str, float] = field(default_factory=dict)
    manager_id: int | None = None  # the person the finding is about (a customer's owner, an order's manager)
    rollup: float = 0.0  # managers: what their customers and orders added
    related: tuple[Related, ...] = ()  # managers: the customers and orders rolled up, riskiest first

    @property
    def key(self) -> tuple[SubjectType, int]:
        return (self.subject_type, self.subject_id)


def subject_score(subject_type: SubjectType, subject_id: int, evidence: Sequence[Evidence],
                  weights: Mapping[Signal, float], *, manager_id: int | None = None) -> SubjectScore:
    fired = [e for e in evidence if e.fired]
    parts = contributions(fired, weights)
    ordered = tuple(sorted(fired, key=lambda e: (-parts.get(e.signal.value, 0.0), e.signal.value)))
    return SubjectScore(subject_type, subject_id, noisy_or(parts.values()), ordered, parts, manager_id)


def with_rollup(own: SubjectScore, related: Sequence[SubjectScore], *, weight: float, top: int) -> SubjectScore:
    """A manager's score with their related customers' and orders' scores rolled in."""
    ranked = sorted(related, key=lambda s: (-s.score, SUBJECT_ORDER[s.subject_type], s.subject_id))
    added = rollup([s.score for s in ranked], weight=weight, top=top)
    return SubjectScore(own.subject_type, own.subject_id, noisy_or([own.score, added]), own.evidence,
                        own.contributions, own.manager_id, added,
                        tuple(Related(s.subject_type, s.subject_id, s.score) for s in ranked[:20]))


def rank(scores: Iterable[SubjectScore]) -> list[SubjectScore]:
    """Highest score first; ties by subject type (customer, manager, order) then id, so the order is stable."""
    return sorted(scores, key=lambda s: (-round(s.score, 9), SUBJECT_ORDER[s.subject_type], s.subject_id))
