"""Precision and recall of a ranked list against the planted ground truth, at inspection budgets.

An inspection budget of p % means a reviewer looks at the top ⌈p × customers⌉ subjects of the ranked list
(customers, managers and orders together, as the alert inbox shows them).

- **Recall** of a pattern: the share of its planted stories whose own subject (the customer, manager or order
  named in the ground truth) is within the budget.
- **Precision**: the share of the inspected subjects that lead to a planted story — the story's subject, the
  person concerned, or a record listed with the story (its customer, the customers of a manager's book).
- **Precision of a pattern**: the same, over the inspected subjects whose strongest signal is the pattern's signal
  (how often that signal, when it puts a subject in front of a reviewer, is right). None when none are inspected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BUDGETS = (0.05, 0.10, 0.20)


@dataclass(frozen=True)
class Ranked:
    subject_type: str
    external_id: str
    score: float
    top_signal: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Ranked:
        signals = row.get("signals") or []
        top = max(signals, key=lambda s: float(s.get("contribution") or 0.0), default=None)
        return cls(str(row["subject_type"]), str(row["external_id"]), float(row["score"]),
                   str(top["signal"]) if top else "")


@dataclass
class PatternResult:
    pattern: str
    signal: str
    planted: int
    found: int
    recall: float
    inspected: int  # inspected subjects whose strongest signal is this pattern's
    precision: float | None
    ranks: list[int | None] = field(default_factory=list)  # each story's rank (None: not ranked)


@dataclass
class BudgetResult:
    budget: float
    inspected: int
    relevant: int
    precision: float
    recall: float
    patterns: dict[str, PatternResult]


def budget_size(budget: float, customers: int) -> int:
    return max(1, math.ceil(round(budget * customers, 6)))


def evaluate_ranking(ranked: Sequence[Ranked], truth: Iterable[Mapping[str, Any]], *, customers: int,
                     budgets: Sequence[float] = BUDGETS) -> list[BudgetResult]:
    stories = list(truth)
    rank_of: dict[tuple[str, str], int] = {}
    for i, row in enumerate(ranked, start=1):
        rank_of.setdefault((row.subject_type, row.external_id), i)
    relevant: set[tuple[str, str]] = set()
    for story in stories:
        relevant.add((story["subject_type"], story["external_id"]))
        relevant.add(("manager", story["person"]))
        relevant.update((str(t), str(e)) for t, e in story.get("related", []))
    patterns = sorted({(s["pattern"], s["signal"]) for s in stories})
    results = []
    for budget in budgets:
        size = budget_size(budget, customers)
        top = ranked[:size]
        hits = [(r.subject_type, r.external_id) in relevant for r in top]
        per: dict[str, PatternResult] = {}
        for pattern, signal in patterns:
            own = [s for s in stories if s["pattern"] == pattern]
            ranks = [rank_of.get((s["subject_type"], s["external_id"])) for s in own]
            found = sum(1 for r in ranks if r is not None and r <= size)
            mine = [hit for r, hit in zip(top, hits, strict=True) if r.top_signal == signal]
            per[pattern] = PatternResult(pattern, signal, len(own), found, found / len(own) if own else 0.0,
                                         len(mine), (sum(mine) / len(mine)) if mine else None, ranks)
        found_all = sum(p.found for p in per.values())
        results.append(BudgetResult(budget, len(top), sum(hits), sum(hits) / len(top) if top else 0.0,
                                    found_all / len(stories) if stories else 0.0, per))
    return results


def results_json(results: Sequence[BudgetResult]) -> list[dict[str, Any]]:
    return [{"budget": r.budget, "inspected": r.inspected, "relevant": r.relevant, "precision": round(r.precision, 3),
             "recall": round(r.recall, 3),
             "patterns": {p.pattern: {"signal": p.signal, "planted": p.planted, "found": p.found,
                                      "recall": round(p.recall, 3), "inspected": p.inspected,
                                      "precision": None if p.precision is None else round(p.precision, 3),
                                      "ranks": p.ranks} for p in r.patterns.values()}} for r in results]
