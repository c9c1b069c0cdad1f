"""Many leads at once: the batch form of `intake_submit` for imports and integrations.

- `intake_submit_many(*, actor, channel, leads: Sequence[Lead], rule_set_id=None, cache=None)
  -> list[IntakeResult]` — one result per lead, in order: `intake` (its outcome, customer, decision) or
  `error` (the `ValidationFailed` of a bad lead; nothing is recorded for it). Same rules as `intake_submit`,
  same writes (customer, contact, ledger kind `allocation`, timeline, dedupe keys, intake, decision log,
  audit events, round-robin cursors), but per batch of BATCH_SIZE leads: the state is loaded once, the
  engine decides every lead in order on it, the customers are written by `customers_create_many` (bulk
  inserts, one audit chain lock), and the intake and decision rows by `bulk_create`.

Call inside a transaction (an import's) or not (each batch is then its own). Each batch takes the allocation
lock first, so it never interleaves with single intakes. The engine decides only the leads the duplicate
check accepts (`customers_create_many` calls back between its check and its writes), so a refused lead — a
duplicate, or a possible duplicate without a reason — consumes no round-robin turn and no capacity; those
leads then go through the single path (`intake_submit`'s), which sends a duplicate to its owner's attention
and holds a possible duplicate for review. Reference data (regions, industries, pools, people) is read once
per call.
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
from kamguard.allocation.services.intake import (
    ReferenceLookup,
    _decide,
    _require_submit,
    _rule_set,
    intake_fields_clean,
)
from kamguard.allocation.services.rulesets import version_ruleset
from kamguard.allocation.services.state import LoadedState, cursors_commit, state_load, subject_build
from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.core.errors import DomainError, ValidationFailed
from kamguard.core.io.inserts import instances_insert, rows_insert
from kamguard.customers.models import Customer, OwnershipKind, Pool, TimelineEntry
from kamguard.customers.services.bulk import BatchCache, CustomerInput, CustomerOutcome, customers_create_many
from kamguard.org.models import Industry, User

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
    """Reference data for one call, each read once: people, pools, industries, and the region and industry
    codes of the submitted texts (as `intake_fields_clean` resolves them)."""

    users: dict[int, User] = field(default_factory=dict)
    pools: dict[int, Pool | None] = field(default_factory=dict)
    industries: dict[str, Industry | None] = field(default_factory=dict)
    references: ReferenceLookup = field(default_factory=lambda: ReferenceLookup())

    def user(self, pk: int) -> User:
        if pk not in self.users:
            self.users[pk] = User.objects.select_related("department").get(pk=pk)
        return self.users[pk]

    def users_load(self, pks: set[int]) -> None:
        """Read the people not read yet, in one query."""
        wanted = pks - set(self.users)
        if wanted:
            self.users.update(User.objects.select_related("department").in_bulk(wanted))

    def pool(self, pk: int) -> Pool | None:
        if pk not in self.pools:
            self.pools[pk] = Pool.objects.filter(pk=pk).first()
        return self.pools[pk]

    def industry(self, code: str) -> Industry | None:
        if code not in self.industries:
            self.industries[code] = Industry.objects.filter(code=code).first()
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
            clean = intake_fields_clean(dict(result.lead.fields), references=lookups.references)
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
        # Leads that took a decision and then were not registered (only when a write clashed with a concurrent
        # writer and the batch was replayed row by row): undone, and redone without them.
        failed: set[int] = set()
        while True:
            accepted = [p for p in pending if p.position not in failed]
            try:
                with transaction.atomic():
                    decider = _Decider(ruleset, loaded, channel, lookups)
                    _create_customers(accepted, decider, cache)
                    newly = {p.position for p in decider.decided if p.outcome is None or p.outcome.error is not None}
                    if newly:
                        raise _Refused(newly)
                    break
            except _Refused as exc:
                failed |= exc.positions
                cache.profiles.clear()  # it remembered customers the rollback just removed
        if loaded is not None and decider.state is not None:
            loaded.state = decider.state
            cursors_commit(loaded=loaded)
        registered = [p for p in accepted if p.outcome is not None and p.outcome.customer is not None]
        _write_log(actor=actor, channel=channel, rule_set=rule_set, version=version, accepted=registered,
                   results=results)
        # The refused leads one by one, after the batch (a duplicate may be of a lead just written).
        refused = [p for p in pending if p.position in failed or p.outcome is None or p.outcome.customer is None]
        for item in sorted(refused, key=lambda p: p.submitted_at):
            intake = Intake(channel=channel, submitted_at=item.submitted_at, submitted_by=actor, fields=item.clean,
                            expected_value=Decimal(item.clean["expected_value"]) if item.clean.get(
                                "expected_value") else None, ip_address=item.lead.ip_address,
                            duplicate_reason=(item.lead.duplicate_reason or "").strip(), rule_set=rule_set)
            try:
                with transaction.atomic():
                    results[item.position].intake = _decide(intake=intake, actor=actor, rule_set=rule_set)
            except DomainError as exc:
                results[item.position].error = exc


class _Decider:
    """The engine for the leads the duplicate check accepted: called back by `customers_create_many` with their
    inputs, it decides them in order on a fresh copy of the loaded state (a second call starts again) and sets
    each input's owner, or the pool it goes to."""

    def __init__(self, ruleset: Any, loaded: LoadedState | None, channel: str, lookups: _Lookups) -> None:
        self.ruleset, self.loaded, self.channel, self.lookups = ruleset, loaded, channel, lookups
        self.pending: dict[int, _Pending] = {}
        self.decided: list[_Pending] = []
        self.state: AllocationState | None = None

    def __call__(self, inputs: list[CustomerInput]) -> None:
        self.decided = [self.pending[item.ref] for item in inputs]
        self.state = self.loaded.state.copy() if self.ruleset is not None and self.loaded is not None else None
        for item in self.decided:
            if self.state is not None:
                subject = subject_build(ref=f"lead:{item.position}", fields=item.clean, channel=self.channel)
                item.decision = allocate(subject, self.ruleset, self.state)
            else:
                item.decision = None
        self.lookups.users_load({item.decision.person_id for item in self.decided
                                 if item.decision is not None and item.decision.person_id is not None})
        for item, customer_input in zip(self.decided, inputs, strict=True):
            decision = item.decision
            item.owner = self.lookups.user(decision.person_id) if decision is not None and \
                decision.person_id is not None else None
            customer_input.owner, customer_input.to_pool = item.owner, item.owner is None
            # A person's customer goes to the pool customer_create gives it (the department's, the region's);
            # a lead for a pool goes to the decision's pool.
            customer_input.fields.pop("pool", None)
            if item.owner is None and decision is not None and decision.pool_id is not None:
                customer_input.fields["pool"] = self.lookups.pool(decision.pool_id)


def _create_customers(accepted: list[_Pending], decider: _Decider, cache: BatchCache) -> None:
    inputs = []
    for item in accepted:
        clean = item.clean
        fields: dict[str, Any] = {k: clean[k] for k in ("uscc", "english_name", "aliases", "address", "website",
                                                        "size", "tier", "source", "external_id") if clean.get(k)}
        if clean.get("industry"):
            fields["industry"] = decider.lookups.industry(clean["industry"])
        decider.pending[item.position] = item
        item.decision, item.owner, item.outcome = None, None, None
        inputs.append(CustomerInput(
            ref=item.position, name=clean["name"], fields=fields, to_pool=True,
            created_on=_created_on(item.submitted_at), region=cache.region(clean["region"]) if clean.get(
                "region") else None, duplicate_reason=(item.lead.duplicate_reason or "").strip(),
            contacts=[{k: clean[f"contact_{k}"] for k in ("name", "title", "phone", "email")
                       if clean.get(f"contact_{k}")}] if clean.get("contact_name") else []))
    outcomes = customers_create_many(actor=None, inputs=inputs, kind=OwnershipKind.ALLOCATION, cache=cache,
                                     assign=decider)
    for item, outcome in zip(accepted, outcomes, strict=True):
        item.outcome = outcome


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
    rows = []
    for item, intake in zip(accepted, intakes, strict=True):
        customer: Customer = intake.customer  # type: ignore[assignment]
        rows.append(_decision_row(item, intake, customer, version))
    names = Names().load(people=[r.person_id for r in rows], teams=[r.team_id for r in rows],
                         pools=[r.pool_id for r in rows])
    rules_json = version.rules if version is not None else None
    for intake, row in zip(intakes, rows, strict=True):
        # The sentence needs no ids: the intake is inserted with it (no second write of the detail).
        intake.outcome_detail = decision_sentence(row, names=names, rules=rules_json)[:2000]
    instances_insert(intakes)
    instances_insert(rows)
    timeline = []
    entries = []
    for item, intake, row in zip(accepted, intakes, rows, strict=True):
        customer = row.customer
        timeline.append((customer.pk, item.submitted_at, "allocation.decided", None, intake.outcome_detail[:400],
                         {"decision": row.pk, "reason_code": row.reason_code}))
        entries.append(AuditEntry(
            action="allocation.intake.allocated", obj=intake, object_label=customer.name,
            reason=intake.duplicate_reason, changes={
                "outcome": {"before": None, "after": intake.outcome},
                "customer": {"before": None, "after": customer.pk},
                "owner": {"before": None, "after": row.person_id}, "pool": {"before": None, "after": row.pool_id},
                "rule": {"before": None, "after": row.rule_key or "fallback"},
                "version": {"before": None, "after": version.number if version else None}}))
        results[item.position].intake = intake
    rows_insert(TimelineEntry, ("customer_id", "occurred_at", "kind", "actor_id", "summary", "data"), timeline)
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
