"""Pure Python for approvals: no Django.

The facts a subject app hands to the engine, the shape of a policy's chain, and the rules that pick a policy
and order its steps. Everything here is deterministic and testable without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

# Who decides a step.
SUPERVISOR = "supervisor"  # the requester's supervisor (their `supervisor`, else the department head up the tree)
DIRECTOR = "director"  # the head of the department above the supervisor's
FINANCE = "finance"  # anyone holding the finance role: any one of them decides
ROLE = "role"  # anyone holding the named role whose data scope covers the requester: any one decides
PERSON = "person"  # a named person
APPROVER_TYPES = (SUPERVISOR, DIRECTOR, FINANCE, ROLE, PERSON)
TIERS = ("A", "B", "C")
MAX_STEPS = 6


@dataclass(frozen=True)
class ApprovalFacts:
    """What the engine needs to know about a subject to choose a policy."""

    amount: Decimal | None = None
    discount_pct: Decimal | None = None
    tier: str | None = None
    customer_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"amount": None if self.amount is None else str(self.amount),
                "discount_pct": None if self.discount_pct is None else str(self.discount_pct),
                "tier": self.tier, "customer_id": self.customer_id, "extra": dict(self.extra)}


@dataclass(frozen=True)
class StepSpec:
    """One step of a policy's chain. Steps sharing a `stage` run in parallel: all of them must approve."""

    stage: int
    approver: str
    role: str = ""
    user_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"stage": self.stage, "approver": self.approver}
        if self.role:
            data["role"] = self.role
        if self.user_id is not None:
            data["user_id"] = self.user_id
        return data


@dataclass(frozen=True)
class PolicyRule:
    """The conditions of a policy. Empty conditions match everything."""

    min_amount: Decimal | None = None
    max_amount: Decimal | None = None  # exclusive upper bound
    min_discount_pct: Decimal | None = None
    tiers: tuple[str, ...] = ()


def rule_matches(rule: PolicyRule, facts: ApprovalFacts) -> bool:
    if rule.min_amount is not None and (facts.amount is None or facts.amount < rule.min_amount):
        return False
    if rule.max_amount is not None and (facts.amount is None or facts.amount >= rule.max_amount):
        return False
    if rule.min_discount_pct is not None and (facts.discount_pct is None or facts.discount_pct < rule.min_discount_pct):
        return False
    return not (rule.tiers and (facts.tier or "") not in rule.tiers)


def pick_policy(policies: Sequence[tuple[Any, PolicyRule]], facts: ApprovalFacts) -> Any | None:
    """The first policy (in the given order: priority, then id) whose rule matches; None when none does."""
    for policy, rule in policies:
        if rule_matches(rule, facts):
            return policy
    return None


def tiers_parse(text: str) -> tuple[str, ...]:
    found = []
    for part in (text or "").replace("，", ",").split(","):
        token = part.strip().upper()
        if token and token not in found:
            found.append(token)
    return tuple(found)


def steps_parse(data: Any, *, roles: Iterable[str]) -> tuple[list[StepSpec], list[str]]:
    """Validate a chain given as JSON (a list of {stage, approver, role?, user_id?}); return (steps, errors).

    Stages are renumbered 1..n in order, keeping equal stages together (parallel steps).
    """
    errors: list[str] = []
    if data in (None, ""):
        return [], []
    if not isinstance(data, list):
        return [], ["The chain must be a list of steps."]
    if len(data) > MAX_STEPS:
        errors.append(f"At most {MAX_STEPS} steps.")
    known_roles = set(roles)
    raw: list[tuple[int, StepSpec]] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(f"Step {index}: not an object.")
            continue
        approver = str(item.get("approver") or "")
        if approver not in APPROVER_TYPES:
            errors.append(f"Step {index}: unknown approver type {approver!r}.")
            continue
        try:
            stage = int(item.get("stage") or index)
        except (TypeError, ValueError):
            errors.append(f"Step {index}: the stage must be a number.")
            continue
        role = str(item.get("role") or "")
        user_id = item.get("user_id")
        if approver == ROLE and role not in known_roles:
            errors.append(f"Step {index}: choose a role.")
        if approver == PERSON:
            try:
                user_id = int(str(user_id))
            except (TypeError, ValueError):
                errors.append(f"Step {index}: choose a person.")
                continue
        raw.append((stage, StepSpec(stage=stage, approver=approver, role=role if approver == ROLE else "",
                                    user_id=user_id if approver == PERSON else None)))
    ordered = sorted(raw, key=lambda pair: pair[0])  # stable: steps keep their order within a stage
    renumber: dict[int, int] = {}
    steps = []
    for stage, spec in ordered:
        renumber.setdefault(stage, len(renumber) + 1)
        steps.append(StepSpec(stage=renumber[stage], approver=spec.approver, role=spec.role, user_id=spec.user_id))
    return steps, errors


def decimal_or_none(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def stage_outcome(statuses: Iterable[str]) -> str:
    """"rejected" if any step rejected, "approved" when all approved, otherwise "pending"."""
    values = list(statuses)
    if any(s == "rejected" for s in values):
        return "rejected"
    if values and all(s == "approved" for s in values):
        return "approved"
    return "pending"


def dedupe_chain(resolved: Sequence[tuple[int, int | None, str]]) -> list[int]:
    """Indexes of the resolved steps to keep: (stage, approver id or None, role). A named approver appears once
    in a request — the second time would let one person approve twice — so their later steps are dropped."""
    seen: set[int] = set()
    keep = []
    for index, (_stage, approver_id, _role) in enumerate(resolved):
        if approver_id is not None:
            if approver_id in seen:
                continue
            seen.add(approver_id)
        keep.append(index)
    return keep
