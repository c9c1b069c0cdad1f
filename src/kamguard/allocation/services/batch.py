"""Many leads at once: the batch form of `intake_submit` for imports and integrations.

- `intake_submit_many(*, actor, channel, leads: Sequence[Lead], rule_set_id=None, cache=None)
  -> list[IntakeResult]` — one result per lead, in order: `intake` (its outcome, customer, decision) or
  `error` (the `ValidationFailed` of a bad lead; nothing is recorded for it). Same rules as `intake_submit`,
  same writes (customer, contact, ledger kind `allocation`, timeline, dedupe keys, intake, decision log,
  audit events, round-robin cursors), but per batch of BATCH_SIZE leads: the state is loaded once, the
  engine decides every lead in order on it, the customers are written by `customers_create_many` (bulk
  inserts, one audit chain lock), and the intake and decision rows by `bulk_create`.

Call inside a transaction (an import's) or not (each batch is then its own). Each batch takes the allocation
lock first, so it never interleaves with single intakes. When the duplicate check refuses some leads of a
batch (a duplicate, or a possible duplicate without a reason), the batch's writes are undone and redone
without them, so the refused leads consume no round-robin turn and no capacity; those leads then go through
the single path (`intake_submit`'s), which sends a duplicate to its owner's attention and holds a possible
duplicate for review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from kamguard.allocation.domain.engine import AllocationState, Decision, allocate
from kamguard.allocation.models import (
    AllocationDecision,
    DecisionOutcome,
    Intake,
    IntakeOutcome,
    RuleSet,
    RuleSetVersion,
    VersionStatus,
)
from kamguard.allocation.reasons import Names, decision_sentence
from kamguard.allocation.services.common import allocation_lock
from kamguard.allocation.services.intake import _decide, _require_submit, _rule_set, intake_fields_clean
from kamguard.allocation.services.rulesets import version_ruleset
from kamguard.allocation.services.state import LoadedState, cursors_commit, state_load, subject_build
from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.core.errors import DomainError, ValidationFailed
from kamguard.customers.models import Customer, OwnershipKind, Pool, TimelineEntry
from kamguard.customers.services.bulk import BatchCache, CustomerInput, CustomerOutcome, customers_create_many
from kamguard.org.models import Industry, Region, User

BATCH_SIZE = 1000


@dataclass
class Lead:
    fields: dict[str, Any]
    duplicate_reason: str = ""
    submitted_at: dt.datetime | None = None
    ip_address: str | None = None


@dataclass
class IntakeResult:
    lead: Lead
    intake: Intake | None = None
    error: DomainError | None = None


@dataclass
class _Pending:
    position: int
    lead: Lead
    clean: dict[str, Any]
    submitted_at: dt.datetime
    decision: Decision | None = None
    owner: User | None = None
    outcome: CustomerOutcome | None = None


class _Refused(Exception):
    def __init__(self, positions: set[int]) -> None:
        self.positions = positions


@dataclass
class _Lookups:
    users: dict[int, User] = field(default_factory=dict)
    pools: dict[int, Pool] = field(default_factory=dict)
    industries: dict[str, Industry] = field(default_factory=dict)

    def user(self, pk: int) -> User:
        if pk not in self.users:
            self.users[pk] = User.objects.select_related("department").get(pk=pk)
        return self.users[pk]

    def pool(self, pk: int) -> Pool:
        if pk not in self.pools:
            self.pools[pk] = Pool.objects.get(pk=pk)
        return self.pools[pk]

    def industry(self, code: str) -> Industry | None:
        if code not in self.industries:
            found = Industry.objects.filter(code=code).first()
            if found is None:
                return None
            self.industries[code] = found
        return self.industries[code]


def intake_submit_many(*, actor: User | None, channel: str, leads: Sequence[Lead], rule_set_id: int | None = None,
                       cache: BatchCache | None = None) -> list[IntakeResult]:
    _require_submit(actor, channel)
    rule_set = _rule_set(rule_set_id)
    cache = cache or BatchCache()
    lookups = _Lookups()
    results = [IntakeResult(lead=lead) for lead in leads]
    # Who is away or leaving is read for the day each lead was submitted, as the single path reads it: the
    # leads are decided day by day (in one batch when they are all of one day, the usual case).
    now = timezone.now()
    by_day: dict[dt.date, list[IntakeResult]] = {}
    for result in results:
        by_day.setdefault(timezone.localdate(result.lead.submitted_at or now), []).append(result)
    for day in sorted(by_day):
        group = by_day[day]
        for start in range(0, len(group), BATCH_SIZE):
            _batch(actor=actor, channel=channel, rule_set=rule_set, results=group[start:start + BATCH_SIZE],
                   cache=cache, lookups=lookups, on=day)
    return results


def _batch(*, actor: User | None, channel: str, rule_set: RuleSet | None, results: list[IntakeResult],
           cache: BatchCache, lookups: _Lookups, on: dt.date | None = None) -> None:
    pending: list[_Pending] = []
    now = timezone.now()
    for position, result in enumerate(results):
        try:
            clean = intake_fields_clean(dict(result.lead.fields))
        except ValidationFailed as exc:
            result.error = exc
            continue
        pending.append(_Pending(position, result.lead, clean, result.lead.submitted_at or now))
    pending.sort(key=lambda p: (p.submitted_at, p.position))
    with transaction.atomic():
        allocation_lock()
        version = RuleSetVersion.objects.filter(rule_set=rule_set, status=VersionStatus.ACTIVE).first() \
            if rule_set is not None else None
        ruleset = version_ruleset(version) if version is not None else None
        loaded = state_load(ruleset=ruleset, on=on) if ruleset is not None else None
        refused: set[int] = set()
        while True:
            accepted = [p for p in pending if p.position not in refused]
            try:
                with transaction.atomic():
                    state = _decide_all(accepted, ruleset, loaded, channel, lookups)
                    _create_customers(accepted, cache)
                    newly = {p.position for p in accepted if p.outcome is None or p.outcome.error is not None}
                    if newly:
                        raise _Refused(newly)
                    break
            except _Refused as exc:
                refused |= exc.positions
                cache.profiles.clear()  # it remembered customers the rollback just removed
        if loaded is not None and state is not None:
            loaded.state = state
            cursors_commit(loaded=loaded)
        _write_log(actor=actor, channel=channel, rule_set=rule_set, version=version, accepted=accepted,
                   results=results)
        # The refused leads one by one, after the batch (a duplicate may be of a lead just written).
        for item in sorted((p for p in pending if p.position in refused), key=lambda p: p.submitted_at):
            intake = Intake(channel=channel, submitted_at=item.submitted_at, submitted_by=actor, fields=item.clean,
                            expected_value=Decimal(item.clean["expected_value"]) if item.clean.get(
                                "expected_value") else None, ip_address=item.lead.ip_address,
                            duplicate_reason=(item.lead.duplicate_reason or "").strip(), rule_set=rule_set)
            try:
                with transaction.atomic():
                    results[item.position].intake = _decide(intake=intake, actor=actor, rule_set=rule_set)
            except DomainError as exc:
                results[item.position].error = exc


def _decide_all(accepted: list[_Pending], ruleset: Any, loaded: LoadedState | None, channel: str,
                lookups: _Lookups) -> AllocationState | None:
    """The engine on a copy of the loaded state, lead by lead (a retry starts again from the loaded state)."""
    if ruleset is None or loaded is None:
        for item in accepted:
            item.decision, item.owner, item.outcome = None, None, None
        return None
    state = loaded.state.copy()
    for item in accepted:
        subject = subject_build(ref=f"lead:{item.position}", fields=item.clean, channel=channel)
        item.decision = allocate(subject, ruleset, state)
        item.owner = lookups.user(item.decision.person_id) if item.decision.person_id is not None else None
        item.outcome = None
    return state


def _create_customers(accepted: list[_Pending], cache: BatchCache) -> None:
    wanted = {item.clean["region"] for item in accepted if item.clean.get("region")} - set(cache.regions)
    if wanted:
        cache.regions.update({r.code: r for r in Region.objects.filter(code__in=wanted).select_related(
            "parent__parent")})
    inputs = []
    for item in accepted:
        clean = item.clean
        fields: dict[str, Any] = {k: clean[k] for k in ("uscc", "english_name", "aliases", "address", "website",
                                                        "size", "tier", "source", "external_id") if clean.get(k)}
        if clean.get("industry"):
            fields["industry"] = None
        decision = item.decision
        if item.owner is None and decision is not None and decision.pool_id is not None:
            fields["pool"] = None  # set below (a model instance)
        inputs.append(CustomerInput(
            ref=item.position, name=clean["name"], fields=fields, owner=item.owner, to_pool=item.owner is None,
            created_on=_created_on(item.submitted_at), region=cache.region(clean["region"]) if clean.get(
                "region") else None, duplicate_reason=(item.lead.duplicate_reason or "").strip(),
            contacts=[{k: clean[f"contact_{k}"] for k in ("name", "title", "phone", "email")
                       if clean.get(f"contact_{k}")}] if clean.get("contact_name") else []))
    industries = {i.code: i for i in Industry.objects.filter(code__in={a.clean.get("industry") for a in accepted})}
    pools = {p.pk: p for p in Pool.objects.filter(pk__in={i.decision.pool_id for i in accepted
                                                            if i.decision is not None and i.decision.pool_id})}
    for item, customer_input in zip(accepted, inputs, strict=True):
        if item.owner is not None:
            pool = _department_pool(item.owner, cache)
            if pool is not None:
                customer_input.fields["pool"] = pool
        if "industry" in customer_input.fields:
            customer_input.fields["industry"] = industries.get(item.clean["industry"])
        if "pool" in customer_input.fields and item.decision is not None and item.decision.pool_id is not None:
            customer_input.fields["pool"] = pools.get(item.decision.pool_id)
    outcomes = customers_create_many(actor=None, inputs=inputs, kind=OwnershipKind.ALLOCATION, cache=cache)
    for item, outcome in zip(accepted, outcomes, strict=True):
        item.outcome = outcome


def _department_pool(owner: User, cache: BatchCache) -> Pool | None:
    """The pool `customer_create` would give an owner's customer when a department pool contains the owner's
    department (the deepest); None: let `customers_create_many` choose (by region, then the first pool)."""
    if not owner.department_id:
        return None
    key = (owner.department_id, "department")
    if key not in cache.pools:
        department = owner.department
        found = None
        for pool in Pool.objects.filter(is_active=True, department__isnull=False).select_related(
                "department").order_by("-department__depth", "pk"):
            if department is not None and pool.department is not None and department.path.startswith(
                    pool.department.path):
                found = pool
                break
        cache.pools[key] = found
    return cache.pools[key]


def _created_on(moment: dt.datetime) -> dt.date | None:
    day = timezone.localdate(moment)
    return day if day != timezone.localdate() else None


def _write_log(*, actor: User | None, channel: str, rule_set: RuleSet | None, version: RuleSetVersion | None,
               accepted: list[_Pending], results: list[IntakeResult]) -> None:
    if not accepted:
        return
    decided = timezone.now()
    similar = _similar_found(accepted)
    intakes = []
    for item in accepted:
        assert item.outcome is not None and item.outcome.customer is not None
        found = similar.get(item.outcome.customer.pk)
        intakes.append(Intake(
            channel=channel, submitted_at=item.submitted_at, submitted_by=actor, fields=item.clean,
            expected_value=Decimal(item.clean["expected_value"]) if item.clean.get("expected_value") else None,
            ip_address=item.lead.ip_address, dedupe_verdict="possible_duplicate" if found is not None else "unique",
            dedupe_candidates=found or [],
            duplicate_reason=(item.lead.duplicate_reason or "").strip(), rule_set=rule_set,
            outcome=IntakeOutcome.ALLOCATED if item.owner is not None else IntakeOutcome.POOL,
            customer=item.outcome.customer, decided_at=decided))
    Intake.objects.bulk_create(intakes, batch_size=500)
    rows = []
    for item, intake in zip(accepted, intakes, strict=True):
        customer: Customer = intake.customer  # type: ignore[assignment]
        rows.append(_decision_row(item, intake, customer, version))
    AllocationDecision.objects.bulk_create(rows, batch_size=500)
    names = Names().load(people=[r.person_id for r in rows], teams=[r.team_id for r in rows],
                         pools=[r.pool_id for r in rows])
    rules_json = version.rules if version is not None else None
    timeline = []
    entries = []
    for item, intake, row in zip(accepted, intakes, rows, strict=True):
        sentence = decision_sentence(row, names=names, rules=rules_json)
        intake.outcome_detail = sentence[:2000]
        customer = row.customer
        timeline.append(TimelineEntry(customer=customer, occurred_at=item.submitted_at, kind="allocation.decided",
                                      actor=None, summary=sentence[:400],
                                      data={"decision": row.pk, "reason_code": row.reason_code}))
        entries.append(AuditEntry(
            action="allocation.intake.allocated", obj=intake, object_label=customer.name,
            reason=intake.duplicate_reason, changes={
                "outcome": {"before": None, "after": intake.outcome},
                "customer": {"before": None, "after": customer.pk},
                "owner": {"before": None, "after": row.person_id}, "pool": {"before": None, "after": row.pool_id},
                "rule": {"before": None, "after": row.rule_key or "fallback"},
                "version": {"before": None, "after": version.number if version else None}}))
        results[item.position].intake = intake
    Intake.objects.bulk_update(intakes, ["outcome_detail"], batch_size=500)
    TimelineEntry.objects.bulk_create(timeline, batch_size=500)
    audit_record_many(actor=actor, entries=entries)


def _similar_found(accepted: list[_Pending]) -> dict[int, list[dict[str, Any]]]:
    """The similar customers the check found for the leads registered despite them (the batch registration
    notes them on the new customer's timeline), shaped as the single path records them on the intake; a lead
    not among these was unique (a batch registers no other: it refuses duplicates and unexplained similars)."""
    ids = [item.outcome.customer.pk for item in accepted if (item.lead.duplicate_reason or "").strip()
           and item.outcome is not None and item.outcome.customer is not None]
    if not ids:
        return {}
    found = dict(TimelineEntry.objects.filter(customer_id__in=ids, kind="customer.possible_duplicate").values_list(
        "customer_id", "data"))
    wanted = {c for data in found.values() for c in (data or {}).get("candidates") or [] if isinstance(c, int)}
    names = dict(Customer.objects.filter(pk__in=wanted).values_list("pk", "name"))
    return {customer_id: [{"customer_id": c, "name": names.get(c, ""), "score": None, "reasons": []}
                          if isinstance(c, int) else {"customer_id": None, "name": str(c), "score": None, "reasons": []}
                          for c in (data or {}).get("candidates") or []]
            for customer_id, data in found.items()}


def _decision_row(item: _Pending, intake: Intake, customer: Customer,
                  version: RuleSetVersion | None) -> AllocationDecision:
    value = intake.expected_value or Decimal(0)
    decision = item.decision
    if decision is None:
        return AllocationDecision(
            customer=customer, intake=intake, version=None, rule_key="", rule_index=-1, strategy="", candidates=[],
            reason_code="no_active_rule_set", reason_params={"pool_id": customer.pool_id},
            outcome=DecisionOutcome.UNALLOCATED, pool_id=customer.pool_id, tier=customer.tier, size=customer.size,
            value=value, decided_at=item.submitted_at)
    candidates = [{"person_id": n.person_id, "chosen": n.chosen, "skipped": n.skipped, "load": n.load,
                   "capacity": n.capacity, "detail": n.detail, "rule_key": n.rule_key} for n in decision.candidates]
    params = {str(k): (v if isinstance(v, int | str | float | bool) or v is None else str(v))
              for k, v in decision.reason_params.items()}
    owner = item.owner
    return AllocationDecision(
        customer=customer, intake=intake, version=version, rule_key=decision.rule_key,
        rule_index=decision.rule_index, strategy=decision.strategy, candidates=candidates,
        reason_code=decision.reason_code, reason_params=params, outcome=decision.outcome, person=owner,
        pool_id=customer.pool_id if owner is None else decision.pool_id,
        team_id=owner.team_id if owner is not None else decision.team_id, tier=customer.tier, size=customer.size,
        value=value, decided_at=item.submitted_at)
