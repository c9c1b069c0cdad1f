"""HTTP API of allocation: rule sets and versions (draft, diff, activate), simulation, intake, the allocation log
with each decision explained, manual re-assignment, fairness and alerts, capacities and absences.

Thin: validates, resolves references, calls the same services and selectors as the pages. Errors are RFC 9457
problems; a rule set's problems list each one with its path (``rules[2].conditions[0].value``) and code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from kamguard.allocation import selectors
from kamguard.allocation.models import (
    Absence,
    AllocationDecision,
    FairnessAlert,
    Intake,
    PersonCapacity,
    RuleSet,
    RuleSetVersion,
)
from kamguard.allocation.reasons import decision_sentence, skip_label
from kamguard.allocation.services import fairness as fairness_services
from kamguard.allocation.services import intake as intake_services
from kamguard.allocation.services import overrides, people, rulesets, simulation
from kamguard.core.api import Page, ProblemDetail, api_ref, api_viewer, keyset_page
from kamguard.core.errors import NotFound
from kamguard.core.io.formats import FileTooLarge
from kamguard.customers.models import Pool
from kamguard.org.models import Department, User

router = Router(tags=["allocation"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}
MAX_SIMULATION_FILE = 20 * 1024 * 1024




class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- rule sets

class RuleSetOut(Schema):
    id: int
    name: str
    description: str
    department_id: int | None
    is_default: bool
    active_version: int | None
    draft_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


def _rule_set_out(r: RuleSet) -> RuleSetOut:
    return RuleSetOut(id=r.pk, name=r.name, description=r.description, department_id=r.department_id,
                      is_default=r.is_default, active_version=getattr(r, "active_number", None),
                      draft_count=getattr(r, "draft_count", 0) or 0, created_at=r.created_at, updated_at=r.updated_at)


class RuleSetIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    department_id: int | None = None
    is_default: bool = False
    rules: dict[str, Any] | None = Field(None, description="Version 1 as a draft (the rule set JSON, see below)")
    note: str = Field("", max_length=1000)


class RuleSetPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    is_default: bool | None = None
    reason: str = Field("", max_length=1000)


RULES_DESCRIPTION = (
    'The rule set: {"rules": [{"key", "name", "conditions": [{"field", "operator", "value"}], "target": {"kind": '
    '"person"|"team"|"pool", "id", "strategy"}}], "fallback": {"kind", "id", "strategy"}}. Fields: region, industry, '
    "size, tier, source, expected_value, name, channel. Operators: eq, ne, in, not_in, gt, gte, lt, lte, between, "
    "contains, is_empty, within. Team strategies: round_robin, capacity, least_loaded, first_come.")


@router.get("/rule-sets", response={200: Page[RuleSetOut], **ERRORS}, summary="Rule sets (everybody may read them)")
def rule_set_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.rule_set_list(viewer=viewer)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("pk",), serialize=_rule_set_out)


@router.post("/rule-sets", response={201: RuleSetOut, **ERRORS}, summary="Create a rule set (directors, administrators)",
             description=RULES_DESCRIPTION)
def rule_set_create(request: HttpRequest, payload: RuleSetIn) -> Any:
    viewer = api_viewer(request)
    department = api_ref(Department, payload.department_id, "department_id")
    created = rulesets.rule_set_create(actor=viewer, name=payload.name, description=payload.description,
                                       department=department, is_default=payload.is_default, rules=payload.rules,
                                       note=payload.note)
    return Status(201, _rule_set_out(selectors.rule_set_get(viewer=viewer, rule_set_id=created.pk)))


@router.get("/rule-sets/{int:rule_set_id}", response={200: RuleSetOut, **ERRORS}, summary="One rule set")
def rule_set_get(request: HttpRequest, rule_set_id: int) -> Any:
    return _rule_set_out(selectors.rule_set_get(viewer=api_viewer(request), rule_set_id=rule_set_id))


@router.patch("/rule-sets/{int:rule_set_id}", response={200: RuleSetOut, **ERRORS}, summary="Rename, describe, make default")
def rule_set_update(request: HttpRequest, rule_set_id: int, payload: RuleSetPatch) -> Any:
    viewer = api_viewer(request)
    selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    fields = payload.model_dump(exclude_unset=True, exclude={"reason"})
    fields = {k: v for k, v in fields.items() if v is not None}
    rulesets.rule_set_update(actor=viewer, rule_set_id=rule_set_id, reason=payload.reason, **fields)
    return _rule_set_out(selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id))


class RuleSetVersionOut(Schema):
    id: int
    rule_set_id: int
    number: int
    status: str
    rules: dict[str, Any]
    note: str
    based_on_id: int | None
    created_by_id: int | None
    created_at: dt.datetime
    changed_by_id: int | None
    changed_at: dt.datetime | None
    activated_by_id: int | None
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None


def _version_out(v: RuleSetVersion) -> RuleSetVersionOut:
    return RuleSetVersionOut(id=v.pk, rule_set_id=v.rule_set_id, number=v.number, status=v.status, rules=v.rules or {},
                      note=v.note, based_on_id=v.based_on_id, created_by_id=v.created_by_id, created_at=v.created_at,
                      changed_by_id=v.changed_by_id, changed_at=v.changed_at, activated_by_id=v.activated_by_id,
                      activated_at=v.activated_at, retired_at=v.retired_at)


class VersionIn(Schema):
    rules: dict[str, Any] = Field(..., description=RULES_DESCRIPTION)
    note: str = Field("", max_length=1000)
    based_on_id: int | None = None


class VersionPut(Schema):
    rules: dict[str, Any] = Field(..., description=RULES_DESCRIPTION)
    note: str = Field("", max_length=1000)


class AllocationNoteIn(Schema):
    note: str = Field("", max_length=1000)


class AllocationReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)


@router.get("/rule-sets/{int:rule_set_id}/versions", response={200: Page[RuleSetVersionOut], **ERRORS},
            summary="Versions, newest first (drafts only for those who may manage the rule set, and auditors)")
def version_list(request: HttpRequest, rule_set_id: int, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    rule_set = selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    qs = selectors.version_list(viewer=viewer, rule_set=rule_set)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-number",), serialize=_version_out)


@router.post("/rule-sets/{int:rule_set_id}/versions", response={201: RuleSetVersionOut, **ERRORS},
             summary="Write a new draft (checked in full: nothing is saved when any rule is wrong)",
             description=RULES_DESCRIPTION)
def version_create(request: HttpRequest, rule_set_id: int, payload: VersionIn) -> Any:
    viewer = api_viewer(request)
    selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    version = rulesets.rule_set_version_create(actor=viewer, rule_set_id=rule_set_id, rules=payload.rules,
                                               note=payload.note, based_on_id=payload.based_on_id)
    return Status(201, _version_out(version))


@router.get("/versions/{int:version_id}", response={200: RuleSetVersionOut, **ERRORS}, summary="One version")
def version_get(request: HttpRequest, version_id: int) -> Any:
    return _version_out(selectors.version_get(viewer=api_viewer(request), version_id=version_id))


@router.put("/versions/{int:version_id}", response={200: RuleSetVersionOut, **ERRORS}, summary="Change a draft",
            description=RULES_DESCRIPTION)
def version_update(request: HttpRequest, version_id: int, payload: VersionPut) -> Any:
    viewer = api_viewer(request)
    selectors.version_get(viewer=viewer, version_id=version_id)
    return _version_out(rulesets.rule_set_version_update(actor=viewer, version_id=version_id, rules=payload.rules,
                                                         note=payload.note))


@router.post("/versions/{int:version_id}/activate", response={200: RuleSetVersionOut, **ERRORS},
             summary="Activate a draft (the active version is retired)")
def version_activate(request: HttpRequest, version_id: int, payload: AllocationNoteIn) -> Any:
    viewer = api_viewer(request)
    selectors.version_get(viewer=viewer, version_id=version_id)
    return _version_out(rulesets.rule_set_version_activate(actor=viewer, version_id=version_id, note=payload.note))


@router.post("/versions/{int:version_id}/retire", response={200: RuleSetVersionOut, **ERRORS},
             summary="Retire a draft or the active version")
def version_retire(request: HttpRequest, version_id: int, payload: AllocationReasonIn) -> Any:
    viewer = api_viewer(request)
    selectors.version_get(viewer=viewer, version_id=version_id)
    return _version_out(rulesets.rule_set_version_retire(actor=viewer, version_id=version_id, reason=payload.reason))


class RuleChangeOut(Schema):
    key: str
    name: str
    position_before: int | None
    position_after: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class DiffOut(Schema):
    old_id: int | None
    new_id: int
    added: list[RuleChangeOut]
    removed: list[RuleChangeOut]
    changed: list[RuleChangeOut]
    moved: list[RuleChangeOut]
    fallback_changed: bool
    fallback_before: dict[str, Any] | None
    fallback_after: dict[str, Any] | None


@router.get("/rule-sets/{int:rule_set_id}/diff", response={200: DiffOut, **ERRORS},
            summary="What a version changes compared with another (default: the version before it)")
def version_diff(request: HttpRequest, rule_set_id: int, new: int, old: int | None = None) -> Any:
    viewer = api_viewer(request)
    rule_set = selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    versions = selectors.version_list(viewer=viewer, rule_set=rule_set)
    new_version = versions.filter(pk=new).first()
    if new_version is None:
        raise NotFound()
    if old is not None:
        old_version = versions.filter(pk=old).first()
        if old_version is None:
            raise NotFound()
    else:
        old_version = versions.filter(number__lt=new_version.number).first()
    change = rulesets.rule_set_version_diff(old=old_version, new=new_version)

    def rows(items: tuple[rulesets.RuleChange, ...]) -> list[RuleChangeOut]:
        return [RuleChangeOut(key=c.key, name=c.name, position_before=c.position_before,
                              position_after=c.position_after, before=c.before, after=c.after) for c in items]

    return DiffOut(old_id=old_version.pk if old_version else None, new_id=new_version.pk, added=rows(change.added),
                   removed=rows(change.removed), changed=rows(change.changed), moved=rows(change.moved),
                   fallback_changed=change.fallback_changed, fallback_before=change.fallback_before,
                   fallback_after=change.fallback_after)


# ---------------------------------------------------------------- simulation

class SimulationPersonOut(Schema):
    person_id: int
    name: str
    team: str
    count: int
    value: Decimal
    count_by_tier: dict[str, int]
    value_by_tier: dict[str, Decimal]
    active_count: int
    active_value: Decimal


class FairnessFiguresOut(Schema):
    total_count: int
    total_value: Decimal
    gini_count: float
    gini_value: float
    spread_count: list[int]
    manual_share: float


class ChangedOut(Schema):
    subject: str
    active: str
    draft: str


class SimulationOut(Schema):
    version_id: int
    active_version_id: int | None
    source: Literal["intake", "file"]
    since: dt.date | None
    until: dt.date | None
    subjects: int
    people: list[SimulationPersonOut]
    pools: dict[str, list[int]] = Field(description="pool name → [active count, this version's count]")
    unallocated: list[int] = Field(description="[active, this version]")
    figures: FairnessFiguresOut
    active_figures: FairnessFiguresOut | None
    changed: list[ChangedOut]


def _figures_out(f: Any) -> FairnessFiguresOut:
    return FairnessFiguresOut(total_count=f.total_count, total_value=f.total_value, gini_count=f.gini_count,
                      gini_value=f.gini_value, spread_count=list(f.spread_count), manual_share=f.manual_share)


def _simulation_out(r: simulation.SimulationResult) -> SimulationOut:
    return SimulationOut(
        version_id=r.version.pk, active_version_id=r.active_version.pk if r.active_version else None,
        source=r.source, since=r.period[0] if r.period else None,  # type: ignore[arg-type]
        until=r.period[1] if r.period else None, subjects=r.subjects,
        people=[SimulationPersonOut(person_id=p.person_id, name=p.name, team=p.team, count=p.count, value=p.value,
                                    count_by_tier=p.count_by_tier, value_by_tier=p.value_by_tier,
                                    active_count=p.active_count, active_value=p.active_value) for p in r.people],
        pools={name: list(counts) for name, counts in r.pools.items()}, unallocated=list(r.unallocated),
        figures=_figures_out(r.figures), active_figures=_figures_out(r.active_figures) if r.active_figures else None,
        changed=[ChangedOut(subject=str(c["subject"]), active=str(c["active"]), draft=str(c["draft"]))
                 for c in r.changed_subjects])


class SimulateIn(Schema):
    months: int = Field(3, ge=1, le=24)


@router.post("/versions/{int:version_id}/simulate", response={200: SimulationOut, **ERRORS},
             summary="Dry-run a version on the intake of the last N months (nothing is written)")
def version_simulate(request: HttpRequest, version_id: int, payload: SimulateIn) -> Any:
    viewer = api_viewer(request)
    selectors.version_get(viewer=viewer, version_id=version_id)
    return _simulation_out(simulation.simulation_run(actor=viewer, version_id=version_id, months=payload.months))


@router.post("/versions/{int:version_id}/simulate-file", response={200: SimulationOut, 413: ProblemDetail, **ERRORS},
             summary="Dry-run a version on a file of leads (CSV, XLSX or JSON Lines; customer columns)",
             description="Columns: name (required), region, industry, size, tier, source, expected_value. A file in "
                         "the wrong format is refused with 422, naming the row and column.")
def version_simulate_file(request: HttpRequest, version_id: int, file: File[UploadedFile]) -> Any:
    viewer = api_viewer(request)
    selectors.version_get(viewer=viewer, version_id=version_id)
    if (file.size or 0) > MAX_SIMULATION_FILE:
        raise FileTooLarge()
    return _simulation_out(simulation.simulation_run(actor=viewer, version_id=version_id, data=file.read(),
                                                     filename=file.name or ""))


# ---------------------------------------------------------------- intake

class IntakeOut(Schema):
    id: int
    channel: str
    submitted_at: dt.datetime
    submitted_by_id: int | None
    fields: dict[str, Any]
    expected_value: Decimal | None
    dedupe_verdict: str
    outcome: str
    outcome_detail: str
    customer_id: int | None
    duplicate_of_id: int | None
    rule_set_id: int | None
    decided_at: dt.datetime | None
    decision_ids: list[int]


def _intake_out(i: Intake) -> IntakeOut:
    return IntakeOut(id=i.pk, channel=i.channel, submitted_at=i.submitted_at, submitted_by_id=i.submitted_by_id,
                     fields=i.fields or {}, expected_value=i.expected_value, dedupe_verdict=i.dedupe_verdict,
                     outcome=i.outcome, outcome_detail=i.outcome_detail, customer_id=i.customer_id,
                     duplicate_of_id=i.duplicate_of_id, rule_set_id=i.rule_set_id, decided_at=i.decided_at,
                     decision_ids=sorted(d.pk for d in i.decisions.all()))


class IntakeIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    uscc: str | None = Field(None, max_length=30)
    english_name: str | None = Field(None, max_length=300)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    region: str | None = Field(None, max_length=80, description="Region code (GB/T 2260) or exact name")
    address: str | None = Field(None, max_length=300)
    website: str | None = Field(None, max_length=200)
    industry: str | None = Field(None, max_length=120, description="Industry code or exact name")
    size: Literal["", "large", "medium", "small"] = ""
    tier: Literal["A", "B", "C"] = "C"
    source: str | None = Field(None, max_length=60)
    external_id: str | None = Field(None, max_length=64)
    expected_value: Decimal | None = Field(None, ge=0, le=Decimal("9999999999999"))
    contact_name: str | None = Field(None, max_length=120)
    contact_title: str | None = Field(None, max_length=120)
    contact_phone: str | None = Field(None, max_length=32)
    contact_email: str | None = Field(None, max_length=254)
    note: str | None = Field(None, max_length=1000)
    duplicate_reason: str = Field("", max_length=1000,
                                  description="Why this is a different company, when similar customers exist")
    rule_set_id: int | None = Field(None, description="Default: the rule set used for intake")


class IntakeFilter(ListParams):
    outcome: Literal["", "allocated", "pool", "duplicate", "held", "rejected"] = ""
    channel: Literal["", "form", "api", "import", "web", "manual"] = ""
    verdict: Literal["", "unique", "possible_duplicate", "duplicate"] = ""
    q: str = Field("", max_length=100)


def _intake_get(viewer: User, intake_id: int) -> Intake:
    return selectors.intake_get(viewer=viewer, intake_id=intake_id)


@router.get("/intake", response={200: Page[IntakeOut], **ERRORS}, summary="Leads received and what became of them")
def intake_list(request: HttpRequest, filters: Query[IntakeFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.intake_list(viewer=viewer, outcome=filters.outcome, channel=filters.channel, search=filters.q)
    if filters.verdict:
        qs = qs.filter(dedupe_verdict=filters.verdict)
    return keyset_page(qs.prefetch_related("decisions"), cursor=filters.cursor, limit=filters.limit,
                       order=("-submitted_at", "-pk"), serialize=_intake_out)


@router.post("/intake", response={201: IntakeOut, **ERRORS},
             summary="Submit a lead: the duplicate check, then allocation by the active rules",
             description="201 with the outcome: allocated (to a person), pool, duplicate (sent to the existing "
                         "owner's attention), held (similar customers exist and no duplicate_reason was given).")
def intake_create(request: HttpRequest, payload: IntakeIn) -> Any:
    viewer = api_viewer(request)
    fields = payload.model_dump(exclude={"duplicate_reason", "rule_set_id"})
    fields = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in fields.items() if v not in (None, "", [])}
    from kamguard.core.middleware import client_ip

    intake = intake_services.intake_submit(actor=viewer, channel="api", fields=fields,
                                           duplicate_reason=payload.duplicate_reason, ip_address=client_ip(request),
                                           rule_set_id=payload.rule_set_id)
    return Status(201, _intake_out(_intake_get(viewer, intake.pk)))


@router.get("/intake/{int:intake_id}", response={200: IntakeOut, **ERRORS}, summary="One lead")
def intake_get(request: HttpRequest, intake_id: int) -> Any:
    return _intake_out(_intake_get(api_viewer(request), intake_id))


class IntakeReviewIn(Schema):
    action: Literal["proceed", "duplicate", "reject"]
    reason: str = Field(..., min_length=1, max_length=1000)
    duplicate_of_id: int | None = None


@router.post("/intake/{int:intake_id}/review", response={200: IntakeOut, **ERRORS},
             summary="Decide a held lead: proceed (allocate), duplicate (of one of the similar customers) or reject")
def intake_review(request: HttpRequest, intake_id: int, payload: IntakeReviewIn) -> Any:
    viewer = api_viewer(request)
    _intake_get(viewer, intake_id)
    intake = intake_services.intake_review(actor=viewer, intake_id=intake_id, action=payload.action,
                                           reason=payload.reason, duplicate_of_id=payload.duplicate_of_id)
    return _intake_out(_intake_get(viewer, intake.pk))


# ---------------------------------------------------------------- the allocation log

class AllocationCandidateOut(Schema):
    person_id: int
    name: str
    chosen: bool
    skipped: str
    skipped_label: str
    load: int | None = None
    capacity: int | None = None


class DecisionOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    decided_at: dt.datetime
    outcome: str
    person_id: int | None
    pool_id: int | None
    team_id: int | None
    previous_owner_id: int | None
    version_id: int | None
    rule_key: str
    rule_index: int
    strategy: str
    reason_code: str
    reason_params: dict[str, Any]
    tier: str
    size: str
    value: Decimal
    is_manual: bool
    actor_id: int | None
    reason: str
    intake_id: int | None


class DecisionDetailOut(DecisionOut):
    explanation: str
    candidates: list[AllocationCandidateOut]


def _decision_out(d: AllocationDecision) -> DecisionOut:
    return DecisionOut(id=d.pk, customer_id=d.customer_id, customer_name=d.customer.name, decided_at=d.decided_at,
                       outcome=d.outcome, person_id=d.person_id, pool_id=d.pool_id, team_id=d.team_id,
                       previous_owner_id=d.previous_owner_id, version_id=d.version_id, rule_key=d.rule_key,
                       rule_index=d.rule_index, strategy=d.strategy, reason_code=d.reason_code,
                       reason_params=d.reason_params or {}, tier=d.tier, size=d.size, value=d.value,
                       is_manual=d.is_manual, actor_id=d.actor_id, reason=d.reason, intake_id=d.intake_id)


def _decision_detail_out(d: AllocationDecision) -> DecisionDetailOut:
    names = dict(User.objects.filter(pk__in=[c.get("person_id") for c in d.candidates or []])
                 .values_list("pk", "full_name"))
    candidates = [AllocationCandidateOut(person_id=int(c.get("person_id") or 0), name=names.get(c.get("person_id"), ""),
                               chosen=bool(c.get("chosen")), skipped=str(c.get("skipped") or ""),
                               skipped_label=skip_label(str(c.get("skipped") or "")) if c.get("skipped") else "",
                               load=c.get("load"), capacity=c.get("capacity")) for c in d.candidates or []]
    return DecisionDetailOut(**_decision_out(d).model_dump(), explanation=decision_sentence(d), candidates=candidates)


class DecisionFilter(ListParams):
    since: dt.date | None = None
    until: dt.date | None = None
    team_id: int | None = None
    person_id: int | None = None
    customer_id: int | None = None
    version_id: int | None = None
    rule_key: str = Field("", max_length=80)
    manual: bool | None = None


@router.get("/decisions", response={200: Page[DecisionOut], **ERRORS},
            summary="The allocation log, newest first (managers: decisions about their own customers)")
def decision_list(request: HttpRequest, filters: Query[DecisionFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.decision_list(viewer=viewer, customer_id=filters.customer_id, person_id=filters.person_id,
                                 team_id=filters.team_id, version_id=filters.version_id, manual=filters.manual,
                                 since=filters.since, until=filters.until)
    if filters.rule_key:
        qs = qs.filter(rule_key=filters.rule_key)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-decided_at", "-pk"),
                       serialize=_decision_out)


@router.get("/decisions/{int:decision_id}", response={200: DecisionDetailOut, **ERRORS},
            summary="One decision explained: which rule matched, the candidates and why each was or was not chosen")
def decision_get(request: HttpRequest, decision_id: int) -> Any:
    return _decision_detail_out(selectors.decision_get(viewer=api_viewer(request), decision_id=decision_id))


class ReassignIn(Schema):
    to_owner_id: int | None = Field(None, description="Empty: to the pool")
    pool_id: int | None = None
    reason: str = Field(..., min_length=1, max_length=1000)


@router.post("/customers/{int:customer_id}/reassign", response={200: DecisionDetailOut, **ERRORS},
             summary="Re-assign a customer by hand (a reason is required; counted as a manual override)")
def customer_reassign(request: HttpRequest, customer_id: int, payload: ReassignIn) -> Any:
    viewer = api_viewer(request)
    from kamguard.customers import selectors as customer_selectors

    customer_selectors.customer_get(viewer=viewer, customer_id=customer_id)
    decision = overrides.customer_reassign(actor=viewer, customer_id=customer_id,
                                           new_owner=api_ref(User, payload.to_owner_id, "to_owner_id"),
                                           pool=api_ref(Pool, payload.pool_id, "pool_id"), reason=payload.reason)
    return _decision_detail_out(selectors.decision_get(viewer=viewer, decision_id=decision.pk))


# ---------------------------------------------------------------- fairness

class FairnessPersonOut(Schema):
    person_id: int
    name: str
    count: int
    value: Decimal
    count_by_tier: dict[str, int]
    value_by_tier: dict[str, Decimal]
    count_by_size: dict[str, int]
    value_by_size: dict[str, Decimal]
    manual: int


class BoundOut(Schema):
    gini_count: float | None
    gini_value: float | None
    spread_count: int | None


class OverrideByOut(Schema):
    who: str
    count: int


class AlertOut(Schema):
    id: int
    team_id: int
    team_name: str
    period_start: dt.date
    period_end: dt.date
    code: str
    observed: Decimal
    limit: Decimal
    version_id: int | None
    created_at: dt.datetime
    acknowledged_by_id: int | None
    acknowledged_at: dt.datetime | None
    acknowledgement: str


def _alert_out(a: FairnessAlert) -> AlertOut:
    return AlertOut(id=a.pk, team_id=a.team_id, team_name=a.team.name, period_start=a.period_start,
                    period_end=a.period_end, code=a.code, observed=a.observed, limit=a.limit, version_id=a.version_id,
                    created_at=a.created_at, acknowledged_by_id=a.acknowledged_by_id,
                    acknowledged_at=a.acknowledged_at, acknowledgement=a.acknowledgement)


class FairnessOut(Schema):
    team_id: int
    team_name: str
    since: dt.date
    until: dt.date
    people: list[FairnessPersonOut]
    figures: FairnessFiguresOut
    spread_value: list[Decimal]
    manual_by: list[OverrideByOut]
    bound: BoundOut
    breached: list[str]
    alerts: list[AlertOut]


@router.get("/fairness", response={200: FairnessOut, **ERRORS},
            summary="What each person of a team received in a period: counts and values by tier and size, Gini, "
                    "spread, manual overrides")
def fairness_get(request: HttpRequest, team_id: int, since: dt.date | None = None, until: dt.date | None = None) -> Any:
    viewer = api_viewer(request)
    today = timezone.localdate()
    until = until or today
    since = since or until.replace(day=1)
    r = fairness_services.fairness_report(viewer=viewer, team_id=team_id, since=since, until=until)
    return FairnessOut(
        team_id=r.team.pk, team_name=r.team.name, since=r.since, until=r.until,
        people=[FairnessPersonOut(person_id=p.person_id, name=p.name, count=p.count, value=p.value,
                                  count_by_tier=p.count_by_tier, value_by_tier=p.value_by_tier,
                                  count_by_size=p.count_by_size, value_by_size=p.value_by_size, manual=p.manual)
                for p in r.people],
        figures=_figures_out(r.figures), spread_value=list(r.figures.spread_value),
        manual_by=[OverrideByOut(who=str(who), count=n) for who, n in r.manual_by],
        bound=BoundOut(gini_count=r.bound.gini_count, gini_value=r.bound.gini_value,
                       spread_count=r.bound.spread_count),
        breached=list(r.breached), alerts=[_alert_out(a) for a in r.alerts])


class AlertFilter(ListParams):
    open_only: bool = False


@router.get("/fairness/alerts", response={200: Page[AlertOut], **ERRORS}, summary="Fairness alerts of the teams you see")
def alert_list(request: HttpRequest, filters: Query[AlertFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.fairness_alert_list(viewer=viewer, open_only=filters.open_only)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_alert_out)


class AcknowledgeIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000)


@router.post("/fairness/alerts/{int:alert_id}/acknowledge", response={200: AlertOut, **ERRORS},
             summary="Say what was done about a fairness alert (the team's supervisor or an administrator)")
def alert_acknowledge(request: HttpRequest, alert_id: int, payload: AcknowledgeIn) -> Any:
    viewer = api_viewer(request)
    alert = fairness_services.fairness_alert_acknowledge(actor=viewer, alert_id=alert_id, note=payload.note)
    return _alert_out(FairnessAlert.objects.select_related("team").get(pk=alert.pk))


class TeamSettingIn(Schema):
    pool_id: int | None = Field(None, description="The team's pool for first-come allocation")
    max_gini_count: Decimal | None = Field(None, ge=0, le=1)
    max_gini_value: Decimal | None = Field(None, ge=0, le=1)
    max_spread_count: int | None = Field(None, ge=0, le=100000)


class TeamSettingOut(Schema):
    team_id: int
    pool_id: int | None
    max_gini_count: Decimal | None
    max_gini_value: Decimal | None
    max_spread_count: int | None


@router.put("/teams/{int:team_id}/settings", response={200: TeamSettingOut, **ERRORS},
            summary="A team's first-come pool and fairness bounds")
def team_setting_put(request: HttpRequest, team_id: int, payload: TeamSettingIn) -> Any:
    viewer = api_viewer(request)
    team = selectors.fairness_team_list(viewer=viewer).filter(pk=team_id).first()
    if team is None:
        raise NotFound()
    setting = people.team_setting_save(actor=viewer, team=team, pool=api_ref(Pool, payload.pool_id, "pool_id"),
                                       max_gini_count=payload.max_gini_count, max_gini_value=payload.max_gini_value,
                                       max_spread_count=payload.max_spread_count)
    return TeamSettingOut(team_id=team.pk, pool_id=setting.pool_id, max_gini_count=setting.max_gini_count,
                          max_gini_value=setting.max_gini_value, max_spread_count=setting.max_spread_count)


# ---------------------------------------------------------------- capacities and absences

class CapacityOut(Schema):
    person_id: int
    person_name: str
    tier: str
    capacity: int | None


def _capacity_out(c: PersonCapacity) -> CapacityOut:
    return CapacityOut(person_id=c.person_id, person_name=c.person.full_name, tier=c.tier, capacity=c.capacity)


class CapacityFilter(ListParams):
    team_id: int | None = None


@router.get("/capacities", response={200: Page[CapacityOut], **ERRORS},
            summary="Capacities per person and tier of the people you see (no row: unlimited)")
def capacity_list(request: HttpRequest, filters: Query[CapacityFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.capacity_list(viewer=viewer, team_id=filters.team_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("pk",), serialize=_capacity_out)


class CapacityIn(Schema):
    capacity: int | None = Field(None, ge=0, le=100000, description="Empty: unlimited")


def _person(viewer: User, person_id: int) -> User:
    from kamguard.org import selectors as org_selectors

    return org_selectors.user_get(viewer=viewer, user_id=person_id)


@router.put("/people/{int:person_id}/capacity/{tier}", response={200: CapacityOut, **ERRORS},
            summary="Set how many customers of a tier a person may own")
def capacity_put(request: HttpRequest, person_id: int, tier: Literal["A", "B", "C"], payload: CapacityIn) -> Any:
    viewer = api_viewer(request)
    person = _person(viewer, person_id)
    people.capacity_set(actor=viewer, person=person, tier=tier, capacity=payload.capacity)
    return CapacityOut(person_id=person.pk, person_name=person.full_name, tier=tier, capacity=payload.capacity)


class AbsenceOut(Schema):
    id: int
    person_id: int
    person_name: str
    kind: str
    starts_on: dt.date
    ends_on: dt.date
    note: str


def _absence_out(a: Absence) -> AbsenceOut:
    return AbsenceOut(id=a.pk, person_id=a.person_id, person_name=a.person.full_name, kind=a.kind,
                      starts_on=a.starts_on, ends_on=a.ends_on, note=a.note)


class AbsenceFilter(ListParams):
    on: dt.date | None = Field(None, description="Only absences covering this day")


@router.get("/absences", response={200: Page[AbsenceOut], **ERRORS}, summary="Absences of the people you see")
def absence_list(request: HttpRequest, filters: Query[AbsenceFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.absence_list(viewer=viewer, current_on=filters.on)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_absence_out)


class AbsenceIn(Schema):
    person_id: int
    kind: Literal["absent", "on_leave"]
    starts_on: dt.date
    ends_on: dt.date
    note: str = Field("", max_length=300)


@router.post("/absences", response={201: AbsenceOut, **ERRORS},
             summary="Record an absence: allocation skips the person in that period")
def absence_create(request: HttpRequest, payload: AbsenceIn) -> Any:
    viewer = api_viewer(request)
    person = _person(viewer, payload.person_id)
    absence = people.absence_add(actor=viewer, person=person, kind=payload.kind, starts_on=payload.starts_on,
                                 ends_on=payload.ends_on, note=payload.note)
    return Status(201, _absence_out(absence))


@router.delete("/absences/{int:absence_id}", response={204: None, **ERRORS}, summary="Remove an absence")
def absence_delete(request: HttpRequest, absence_id: int, reason: str = "") -> Any:
    viewer = api_viewer(request)
    if not selectors.absence_list(viewer=viewer).filter(pk=absence_id).exists():
        raise NotFound()
    people.absence_remove(actor=viewer, absence_id=absence_id, reason=reason[:1000])
    return Status(204, None)





class DepartureNoticeOut(Schema):
    person_id: int
    person_name: str
    noticed_on: dt.date
    leaves_on: dt.date | None
    note: str


class DepartureNoticeIn(Schema):
    noticed_on: dt.date
    leaves_on: dt.date | None = None
    note: str = Field("", max_length=300)


@router.get("/departure-notices", response={200: Page[DepartureNoticeOut], **ERRORS},
            summary="People in your scope who have given notice (allocation gives them no new customers)")
def departure_notice_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.departure_notice_list(viewer=viewer)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("pk",),
                       serialize=lambda n: DepartureNoticeOut(person_id=n.person_id, person_name=n.person.full_name,
                                                              noticed_on=n.noticed_on, leaves_on=n.leaves_on,
                                                              note=n.note))


@router.put("/people/{int:person_id}/departure-notice", response={200: DepartureNoticeOut, **ERRORS},
            summary="Record that a person has given notice")
def departure_notice_put(request: HttpRequest, person_id: int, payload: DepartureNoticeIn) -> Any:
    viewer = api_viewer(request)
    person = _person(viewer, person_id)
    notice = people.departure_notice_set(actor=viewer, person=person, noticed_on=payload.noticed_on,
                                         leaves_on=payload.leaves_on, note=payload.note)
    return DepartureNoticeOut(person_id=person.pk, person_name=person.full_name, noticed_on=notice.noticed_on,
                              leaves_on=notice.leaves_on, note=notice.note)


@router.delete("/people/{int:person_id}/departure-notice", response={204: None, **ERRORS},
               summary="Withdraw a departure notice (a reason is required)")
def departure_notice_delete(request: HttpRequest, person_id: int, reason: str = "") -> Any:
    viewer = api_viewer(request)
    person = _person(viewer, person_id)
    people.departure_notice_remove(actor=viewer, person=person, reason=reason[:1000])
    return Status(204, None)
