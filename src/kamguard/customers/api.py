"""HTTP API of customers and ownership. Validates, resolves references, calls services and selectors; a
service's error becomes an RFC 9457 problem (the duplicate check's also carries its `candidates`)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import PROBLEM_CONTENT_TYPE, Page, ProblemDetail, api_ref, api_viewer, keyset_page
from kamguard.core.errors import DomainError, NotFound, ValidationFailed
from kamguard.customers import reports, selectors
from kamguard.customers.models import (
    Contact,
    Customer,
    OwnershipChange,
    OwnershipDispute,
    Pool,
    PoolMembership,
    TransferRequest,
)
from kamguard.customers.services import disputes, ownership, pools, records
from kamguard.customers.services.dedupe import candidates_for_viewer, customer_dedupe_check
from kamguard.customers.services.records import DuplicateCustomer, PossibleDuplicate
from kamguard.org.domain.masking import mask
from kamguard.org.models import Industry, Region, User

router = Router(tags=["customers"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}
CONTACT_PII = ("phone", "email", "wechat")




def _region(code: str | None) -> Region | None:
    if not code:
        return None
    found = Region.objects.filter(code=code).first()
    if found is None:
        raise ValidationFailed(field_errors={"region_code": [_("No such region: %(code)s.") % {"code": code}]})
    return found


class CandidateOut(Schema):
    customer_id: int | None
    name: str
    score: float
    reasons: list[str]
    owner: str
    owner_team: str
    visible: bool
    claim_token: str = ""


def _dedupe_problem(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """The duplicate check's refusal as a problem: what exists and who owns it, as the viewer may see it."""
    body: dict[str, Any] = {
        "type": f"https://kamguard.invalid/problems/{exc.code}", "title": str(exc.message), "status": exc.status,
        "detail": str(exc.message), "instance": request.path, "code": exc.code,
        "verdict": exc.extra.get("verdict", "duplicate" if isinstance(exc, DuplicateCustomer) else "possible"),
        "candidates": [{k: c.get(k) for k in CandidateOut.model_fields} for c in exc.extra.get("candidates") or []],
    }
    errors = [{"field": f, "message": str(m)} for f, msgs in exc.field_errors.items() for m in msgs]
    if errors:
        body["errors"] = errors
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=exc.status, content_type=PROBLEM_CONTENT_TYPE)


# ---------------------------------------------------------------- schemas

class ContactOut(Schema):
    id: int
    name: str
    title: str
    phone: str
    email: str
    wechat: str
    is_decision_maker: bool
    is_active: bool
    masked: bool


class TeamMemberOut(Schema):
    user_id: int
    name: str
    role: str
    credit_share: Decimal
    start_on: dt.date
    end_on: dt.date | None


class CustomerOut(Schema):
    id: int
    external_id: str | None
    name: str
    uscc: str | None
    english_name: str
    aliases: list[str]
    region_code: str | None
    address: str
    website: str
    industry_id: int | None
    size: str
    tier: str
    status: str
    owner_id: int | None
    owner_name: str | None
    pool_id: int | None
    owned_since: dt.datetime | None
    protected_until: dt.datetime | None
    is_locked: bool
    created_on: dt.date
    merged_into_id: int | None


class CustomerDetailOut(CustomerOut):
    contacts: list[ContactOut]
    account_team: list[TeamMemberOut]


def _customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=c.pk, external_id=c.external_id, name=c.name, uscc=c.uscc, english_name=c.english_name,
        aliases=list(c.aliases or []), region_code=c.region.code if c.region_id and c.region else None,
        address=c.address, website=c.website, industry_id=c.industry_id, size=c.size, tier=c.tier, status=c.status,
        owner_id=c.owner_id, owner_name=c.owner.full_name if c.owner_id and c.owner else None, pool_id=c.pool_id,
        owned_since=c.owned_since, protected_until=c.protected_until, is_locked=c.is_locked, created_on=c.created_on,
        merged_into_id=c.merged_into_id)


def _customer_detail_out(viewer: User, c: Customer) -> CustomerDetailOut:
    team = list(c.team_members.select_related("user").order_by("pk"))
    today = timezone.localdate()
    insider = c.owner_id == viewer.pk or any(m.user_id == viewer.pk and (m.end_on is None or m.end_on >= today)
                                             for m in team)
    contacts = [_contact_out(ct, insider) for ct in c.contacts.order_by("pk")]
    return CustomerDetailOut(
        **_customer_out(c).model_dump(), contacts=contacts,
        account_team=[TeamMemberOut(user_id=m.user_id, name=m.user.full_name, role=m.role,
                                    credit_share=m.credit_share, start_on=m.start_on, end_on=m.end_on) for m in team])


def _contact_out(c: Contact, insider: bool) -> ContactOut:
    pii = {f: (getattr(c, f) or "") if insider else mask(f, getattr(c, f) or "") for f in CONTACT_PII}
    return ContactOut(id=c.pk, name=c.name, title=c.title, is_decision_maker=c.is_decision_maker,
                      is_active=c.is_active, masked=not insider, **pii)


class ContactIn(Schema):
    name: str = Field(..., max_length=120)
    title: str = Field("", max_length=120)
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    wechat: str = Field("", max_length=64)
    is_decision_maker: bool = False
    external_id: str | None = Field(None, max_length=64)


class ContactPatch(Schema):
    name: str | None = Field(None, max_length=120)
    title: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    wechat: str | None = Field(None, max_length=64)
    is_decision_maker: bool | None = None
    is_active: bool | None = None


class CustomerIn(Schema):
    name: str = Field(..., max_length=200)
    uscc: str | None = Field(None, max_length=30)
    english_name: str = Field("", max_length=300)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    region_code: str | None = Field(None, max_length=12)
    address: str = Field("", max_length=300)
    website: str = Field("", max_length=200)
    industry_id: int | None = None
    size: Literal["", "large", "medium", "small"] = ""
    tier: Literal["A", "B", "C"] = "C"
    pool_id: int | None = None
    owner_id: int | None = None
    to_pool: bool = False
    external_id: str | None = Field(None, max_length=64)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)
    duplicate_reason: str = Field("", max_length=1000)


class CustomerPatch(Schema):
    name: str | None = Field(None, max_length=200)
    uscc: str | None = Field(None, max_length=30)
    english_name: str | None = Field(None, max_length=300)
    aliases: list[str] | None = Field(None, max_length=20)
    region_code: str | None = Field(None, max_length=12)
    address: str | None = Field(None, max_length=300)
    website: str | None = Field(None, max_length=200)
    industry_id: int | None = None
    size: Literal["", "large", "medium", "small"] | None = None
    tier: Literal["A", "B", "C"] | None = None
    status: Literal["active", "dormant", "closed"] | None = None
    pool_id: int | None = None
    external_id: str | None = Field(None, max_length=64)
    reason: str = Field("", max_length=1000)
    duplicate_reason: str = Field("", max_length=1000)


class CustomerFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    q: str = Field("", max_length=100)
    owner_id: int | None = None
    team_id: int | None = None
    pool_id: int | None = None
    tier: Literal["", "A", "B", "C"] = ""
    status: Literal["", "active", "dormant", "closed", "merged"] = "active"
    in_pool: bool | None = None
    mine: bool = False


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- customers

@router.get("", response={200: Page[CustomerOut], **ERRORS}, summary="List customers you may see")
def customer_list(request: HttpRequest, filters: Query[CustomerFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.customer_list(viewer=viewer, search=filters.q, owner_id=viewer.pk if filters.mine else
                                 filters.owner_id, pool_id=filters.pool_id, tier=filters.tier, status=filters.status,
                                 in_pool=filters.in_pool, team_id=filters.team_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("pk",), serialize=_customer_out)


class DedupeIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    uscc: str | None = Field(None, max_length=30)
    english_name: str = Field("", max_length=300)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    phones: list[str] = Field(default_factory=list, max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)


class DedupeOut(Schema):
    verdict: Literal["duplicate", "possible", "unique"] | str
    candidates: list[CandidateOut]


@router.post("/dedupe-check", response={200: DedupeOut, **ERRORS},
             summary="Check a customer for duplicates before registering it")
def dedupe_check(request: HttpRequest, payload: DedupeIn) -> Any:
    """Candidates outside your scope show only their name and owner: never their id or details."""
    viewer = api_viewer(request)
    from kamguard.customers.domain.keys import normalise_phone, normalise_uscc

    result = customer_dedupe_check(
        name=payload.name, uscc=normalise_uscc(payload.uscc) if payload.uscc else None,
        english_name=payload.english_name, aliases=payload.aliases,
        phones=[p for p in (normalise_phone(x) for x in payload.phones) if p], emails=payload.emails)
    views = [v.as_dict() for v in candidates_for_viewer(viewer=viewer, result=result)]
    return DedupeOut(verdict=result.verdict, candidates=[CandidateOut(**{k: v[k] for k in CandidateOut.model_fields})
                                                         for v in views])


@router.post("", response={201: CustomerDetailOut, **ERRORS}, summary="Register a customer (with the duplicate check)")
def customer_create(request: HttpRequest, payload: CustomerIn) -> Any:
    viewer = api_viewer(request)
    fields: dict[str, Any] = {
        "uscc": payload.uscc, "english_name": payload.english_name, "aliases": payload.aliases,
        "address": payload.address, "website": payload.website, "size": payload.size, "tier": payload.tier,
        "external_id": payload.external_id,
        "industry": api_ref(Industry, payload.industry_id, "industry_id"),
    }
    if payload.pool_id is not None:
        fields["pool"] = api_ref(Pool, payload.pool_id, "pool_id")
    owner = api_ref(User, payload.owner_id, "owner_id")
    try:
        customer = records.customer_create(
            actor=viewer, name=payload.name, owner=owner, to_pool=payload.to_pool,
            contacts=[c.model_dump() for c in payload.contacts], duplicate_reason=payload.duplicate_reason,
            region=_region(payload.region_code), **fields)
    except (DuplicateCustomer, PossibleDuplicate) as exc:
        return _dedupe_problem(request, exc)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer.pk) if selectors.customer_is_visible(
        viewer=viewer, customer_id=customer.pk) else customer
    return Status(201, _customer_detail_out(viewer, customer))


@router.get("/{int:customer_id}", response={200: CustomerDetailOut, **ERRORS}, summary="One customer")
def customer_get(request: HttpRequest, customer_id: int) -> Any:
    viewer = api_viewer(request)
    return _customer_detail_out(viewer, selectors.customer_get(viewer=viewer, customer_id=customer_id))


@router.patch("/{int:customer_id}", response={200: CustomerDetailOut, **ERRORS}, summary="Change a customer")
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    viewer = api_viewer(request)
    selectors.customer_get(viewer=viewer, customer_id=customer_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    duplicate_reason = data.pop("duplicate_reason", "")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key == "industry_id":
            fields["industry"] = api_ref(Industry, value, key)
        elif key == "pool_id":
            fields["pool"] = api_ref(Pool, value, key)
        elif key == "region_code":
            fields["region"] = _region(value)
        elif key == "name" and value is None:
            raise ValidationFailed(field_errors={"name": [_("This field is required.")]})
        else:
            fields[key] = value
    try:
        records.customer_update(actor=viewer, customer_id=customer_id, reason=reason,
                                duplicate_reason=duplicate_reason, **fields)
    except (DuplicateCustomer, PossibleDuplicate) as exc:
        return _dedupe_problem(request, exc)
    return _customer_detail_out(viewer, selectors.customer_get(viewer=viewer, customer_id=customer_id))


@router.post("/{int:customer_id}/contacts", response={201: ContactOut, **ERRORS}, summary="Add a contact")
def contact_create(request: HttpRequest, customer_id: int, payload: ContactIn) -> Any:
    viewer = api_viewer(request)
    contact = records.contact_save(actor=viewer, customer_id=customer_id, **payload.model_dump())
    return Status(201, _contact_out(contact, True))


@router.patch("/{int:customer_id}/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS}, summary="Change a contact")
def contact_update(request: HttpRequest, customer_id: int, contact_id: int, payload: ContactPatch) -> Any:
    viewer = api_viewer(request)
    fields = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    contact = records.contact_save(actor=viewer, customer_id=customer_id, contact_id=contact_id, **fields)
    return _contact_out(contact, True)


class TeamMemberIn(Schema):
    role: str = Field(..., max_length=60)
    credit_share: Decimal = Field(..., ge=0, le=100)
    end_on: dt.date | None = None
    reason: str = Field("", max_length=1000)


@router.put("/{int:customer_id}/team/{int:user_id}", response={200: TeamMemberOut, **ERRORS},
            summary="Add or change an account-team member")
def team_member_set(request: HttpRequest, customer_id: int, user_id: int, payload: TeamMemberIn) -> Any:
    viewer = api_viewer(request)
    member = records.account_team_set(actor=viewer, customer_id=customer_id,
                                      user=api_ref(User, user_id, "user_id"), role=payload.role,
                                      credit_share=payload.credit_share, end_on=payload.end_on, reason=payload.reason)
    return TeamMemberOut(user_id=member.user_id, name=member.user.full_name, role=member.role,
                         credit_share=member.credit_share, start_on=member.start_on, end_on=member.end_on)


@router.delete("/{int:customer_id}/team/{int:user_id}", response={204: None, **ERRORS},
               summary="Remove an account-team member")
def team_member_remove(request: HttpRequest, customer_id: int, user_id: int, reason: str = "") -> Any:
    records.account_team_remove(actor=api_viewer(request), customer_id=customer_id, user_id=user_id, reason=reason[:1000])
    return Status(204, None)


# ---------------------------------------------------------------- ownership

class ReasonIn(Schema):
    reason: str = Field("", max_length=1000)


class LockIn(Schema):
    locked: bool
    reason: str = Field("", max_length=1000)


class TransferIn(Schema):
    to_owner_id: int | None = None
    reason: str = Field(..., max_length=1000)


class MergeIn(Schema):
    merged_id: int
    reason: str = Field(..., max_length=1000)


@router.post("/{int:customer_id}/claim", response={200: CustomerOut, **ERRORS}, summary="Claim from the shared pool")
def customer_claim(request: HttpRequest, customer_id: int) -> Any:
    customer = ownership.customer_claim(actor=api_viewer(request), customer_id=customer_id)
    return _customer_out(customer)


@router.post("/{int:customer_id}/release", response={200: CustomerOut, **ERRORS}, summary="Release to the shared pool")
def customer_release(request: HttpRequest, customer_id: int, payload: ReasonIn) -> Any:
    return _customer_out(ownership.customer_release(actor=api_viewer(request), customer_id=customer_id,
                                                    reason=payload.reason))


@router.post("/{int:customer_id}/lock", response={200: CustomerOut, **ERRORS}, summary="Lock or unlock against reclaim")
def customer_lock(request: HttpRequest, customer_id: int, payload: LockIn) -> Any:
    return _customer_out(ownership.customer_lock(actor=api_viewer(request), customer_id=customer_id,
                                                 locked=payload.locked, reason=payload.reason))


@router.post("/{int:customer_id}/transfer", response={200: CustomerOut, **ERRORS},
             summary="Transfer directly (supervisors)")
def customer_transfer(request: HttpRequest, customer_id: int, payload: TransferIn) -> Any:
    return _customer_out(ownership.customer_transfer(actor=api_viewer(request), customer_id=customer_id,
                                                     to_owner_id=payload.to_owner_id, reason=payload.reason))


@router.post("/{int:customer_id}/merge", response={200: CustomerOut, **ERRORS},
             summary="Merge a duplicate into this customer (supervisors)")
def customer_merge(request: HttpRequest, customer_id: int, payload: MergeIn) -> Any:
    return _customer_out(records.customer_merge(actor=api_viewer(request), survivor_id=customer_id,
                                                merged_id=payload.merged_id, reason=payload.reason))


class LedgerEntryOut(Schema):
    effective_at: dt.datetime
    kind: str
    from_owner_id: int | None
    to_owner_id: int | None
    actor_id: int | None
    approved_by_id: int | None
    reason: str
    reference: str


class LedgerOut(Schema):
    customer_id: int
    on: dt.date | None = None
    owner_on: int | None = None
    owner_on_name: str | None = None
    chain: list[LedgerEntryOut]


def _ledger_entry(c: OwnershipChange) -> LedgerEntryOut:
    return LedgerEntryOut(effective_at=c.effective_at, kind=c.kind, from_owner_id=c.from_owner_id,
                          to_owner_id=c.to_owner_id, actor_id=c.actor_id, approved_by_id=c.approved_by_id,
                          reason=c.reason, reference=c.reference)


@router.get("/{int:customer_id}/ownership", response={200: LedgerOut, **ERRORS},
            summary="The ownership ledger; with ?on=DATE also who owned it at the end of that day")
def ownership_ledger(request: HttpRequest, customer_id: int, on: dt.date | None = None) -> Any:
    viewer = api_viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    chain = [_ledger_entry(c) for c in selectors.ownership_history(viewer=viewer, customer=customer)]
    out = LedgerOut(customer_id=customer.pk, chain=chain)
    if on is not None:
        owner_id = selectors.owner_on(customer_id=customer.pk,
                                      on=timezone.make_aware(dt.datetime.combine(on, dt.time.max)))
        out.on, out.owner_on = on, owner_id
        out.owner_on_name = User.objects.filter(pk=owner_id).values_list("full_name", flat=True).first() \
            if owner_id else None
    return out


class TimelineOut(Schema):
    id: int
    customer_id: int
    occurred_at: dt.datetime
    kind: str
    actor_id: int | None
    summary: str


@router.get("/{int:customer_id}/timeline", response={200: Page[TimelineOut], **ERRORS},
            summary="The timeline, newest first (a merge survivor includes its merged records)")
def customer_timeline(request: HttpRequest, customer_id: int, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    qs = reports.customer_timeline(viewer=viewer, customer=customer)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-occurred_at", "-pk"),
                       serialize=lambda e: TimelineOut(id=e.pk, customer_id=e.customer_id, occurred_at=e.occurred_at,
                                                       kind=e.kind, actor_id=e.actor_id, summary=e.summary))


# ---------------------------------------------------------------- transfer requests

class TransferRequestIn(Schema):
    customer_id: int
    to_owner_id: int | None = None
    reason: str = Field(..., max_length=1000)


class TransferRequestOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    from_owner_id: int | None
    to_owner_id: int | None
    requested_by_id: int
    reason: str
    status: str
    decided_by_id: int | None
    decided_at: dt.datetime | None
    decision_reason: str
    created_at: dt.datetime


def _transfer_out(r: TransferRequest) -> TransferRequestOut:
    return TransferRequestOut(id=r.pk, customer_id=r.customer_id, customer_name=r.customer.name,
                              from_owner_id=r.from_owner_id, to_owner_id=r.to_owner_id,
                              requested_by_id=r.requested_by_id, reason=r.reason, status=r.status,
                              decided_by_id=r.decided_by_id, decided_at=r.decided_at,
                              decision_reason=r.decision_reason, created_at=r.created_at)


class DecideIn(Schema):
    approve: bool
    reason: str = Field("", max_length=1000)


@router.post("/transfer-requests", response={201: TransferRequestOut, **ERRORS}, summary="Request a transfer")
def transfer_request_create(request: HttpRequest, payload: TransferRequestIn) -> Any:
    created = ownership.transfer_request_create(actor=api_viewer(request), customer_id=payload.customer_id,
                                                to_owner_id=payload.to_owner_id, reason=payload.reason)
    return Status(201, _transfer_out(created))


@router.get("/transfer-requests", response={200: Page[TransferRequestOut], **ERRORS},
            summary="Transfer requests you made, receive, or may decide")
def transfer_request_list(request: HttpRequest, params: Query[ListParams],
                          status: Literal["", "pending", "approved", "rejected", "cancelled"] = "") -> Any:
    qs = selectors.transfer_request_list(viewer=api_viewer(request), status=status)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-pk",), serialize=_transfer_out)


@router.post("/transfer-requests/{int:request_id}/decide", response={200: TransferRequestOut, **ERRORS},
             summary="Approve or reject (a supervisor who is not a party)")
def transfer_request_decide(request: HttpRequest, request_id: int, payload: DecideIn) -> Any:
    decided = ownership.transfer_request_decide(actor=api_viewer(request), request_id=request_id,
                                                approve=payload.approve, reason=payload.reason)
    return _transfer_out(decided)


@router.post("/transfer-requests/{int:request_id}/cancel", response={200: TransferRequestOut, **ERRORS},
             summary="Cancel your own pending request")
def transfer_request_cancel(request: HttpRequest, request_id: int) -> Any:
    cancelled = ownership.transfer_request_cancel(actor=api_viewer(request), request_id=request_id)
    return _transfer_out(TransferRequest.objects.select_related("customer").get(pk=cancelled.pk))


# ---------------------------------------------------------------- disputes

class DisputeIn(Schema):
    customer_id: int | None = Field(None, description="A customer you can see; or use claim_token.")
    claim_token: str = Field("", max_length=500, description="From a duplicate check's candidate outside your scope.")
    evidence: str = Field(..., max_length=5000)
    first_contact_on: dt.date | None = None
    contacts_known: str = Field("", max_length=2000)


class DisputeOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    claimant_id: int
    owner_id: int | None
    arbiter_id: int | None
    claim_first_contact_on: dt.date | None
    claim_evidence: str
    claim_contacts_known: str
    answer: str
    answer_first_contact_on: dt.date | None
    answered_at: dt.datetime | None
    deadline: dt.date
    overdue: bool
    status: str
    outcome: str
    decision_reason: str
    decided_at: dt.datetime | None
    claimant_share: Decimal | None
    created_at: dt.datetime


def _dispute_out(d: OwnershipDispute) -> DisputeOut:
    is_open = d.status in ("open", "answered")
    return DisputeOut(
        id=d.pk, customer_id=d.customer_id, customer_name=d.customer.name, claimant_id=d.claimant_id,
        owner_id=d.owner_id, arbiter_id=d.arbiter_id, claim_first_contact_on=d.claim_first_contact_on,
        claim_evidence=d.claim_evidence, claim_contacts_known=d.claim_contacts_known, answer=d.answer,
        answer_first_contact_on=d.answer_first_contact_on, answered_at=d.answered_at, deadline=d.deadline,
        overdue=is_open and d.deadline < timezone.localdate(), status=d.status, outcome=d.outcome,
        decision_reason=d.decision_reason, decided_at=d.decided_at, claimant_share=d.claimant_share,
        created_at=d.created_at)


def _dispute_get(viewer: User, dispute_id: int) -> OwnershipDispute:
    found = selectors.dispute_list(viewer=viewer).filter(pk=dispute_id).first()
    if found is None:
        raise NotFound()
    return found


class AnswerIn(Schema):
    answer: str = Field(..., max_length=5000)
    first_contact_on: dt.date | None = None


class DisputeDecideIn(Schema):
    outcome: Literal["keep", "transfer", "share", "pool"]
    reason: str = Field(..., max_length=5000)
    claimant_share: Decimal | None = Field(None, ge=0, le=100)


@router.post("/disputes", response={201: DisputeOut, **ERRORS}, summary="File an ownership claim")
def dispute_file(request: HttpRequest, payload: DisputeIn) -> Any:
    viewer = api_viewer(request)
    dispute = disputes.dispute_file(actor=viewer, customer_id=payload.customer_id, claim_token=payload.claim_token,
                                    evidence=payload.evidence,
                                    first_contact_on=payload.first_contact_on, contacts_known=payload.contacts_known)
    return Status(201, _dispute_out(_dispute_get(viewer, dispute.pk)))


@router.get("/disputes", response={200: Page[DisputeOut], **ERRORS},
            summary="Disputes where you are claimant, owner or arbiter, or that your scope covers")
def dispute_list(request: HttpRequest, params: Query[ListParams],
                 status: Literal["", "open", "answered", "decided", "withdrawn"] = "") -> Any:
    qs = selectors.dispute_list(viewer=api_viewer(request), status=status)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-pk",), serialize=_dispute_out)


class ReportRowOut(Schema):
    period: str
    side: str
    team: str
    filed: int
    pending: int
    withdrawn: int
    outcome_keep: int
    outcome_transfer: int
    outcome_share: int
    outcome_pool: int
    decided: int
    average_days_to_decide: float | None


@router.get("/disputes/report", response={200: list[ReportRowOut], **ERRORS},
            summary="Disputes by team of the owner and of the claimant, per month or quarter")
def dispute_report(request: HttpRequest, period: Literal["month", "quarter"] = "month",
                   start: dt.date | None = None, end: dt.date | None = None) -> Any:
    rows = reports.dispute_report(viewer=api_viewer(request), period=period, start=start, end=end)
    return [ReportRowOut(**row.as_dict()) for row in rows]  # type: ignore[arg-type]


@router.get("/disputes/{int:dispute_id}", response={200: DisputeOut, **ERRORS}, summary="One dispute")
def dispute_get(request: HttpRequest, dispute_id: int) -> Any:
    return _dispute_out(_dispute_get(api_viewer(request), dispute_id))


@router.post("/disputes/{int:dispute_id}/answer", response={200: DisputeOut, **ERRORS}, summary="The owner answers")
def dispute_answer(request: HttpRequest, dispute_id: int, payload: AnswerIn) -> Any:
    viewer = api_viewer(request)
    disputes.dispute_answer(actor=viewer, dispute_id=dispute_id, answer=payload.answer,
                            first_contact_on=payload.first_contact_on)
    return _dispute_out(_dispute_get(viewer, dispute_id))


@router.post("/disputes/{int:dispute_id}/decide", response={200: DisputeOut, **ERRORS}, summary="The arbiter decides")
def dispute_decide(request: HttpRequest, dispute_id: int, payload: DisputeDecideIn) -> Any:
    viewer = api_viewer(request)
    disputes.dispute_decide(actor=viewer, dispute_id=dispute_id, outcome=payload.outcome, reason=payload.reason,
                            claimant_share=payload.claimant_share)
    return _dispute_out(_dispute_get(viewer, dispute_id))


@router.post("/disputes/{int:dispute_id}/withdraw", response={200: DisputeOut, **ERRORS},
             summary="The claimant withdraws")
def dispute_withdraw(request: HttpRequest, dispute_id: int) -> Any:
    viewer = api_viewer(request)
    disputes.dispute_withdraw(actor=viewer, dispute_id=dispute_id)
    return _dispute_out(_dispute_get(viewer, dispute_id))


# ---------------------------------------------------------------- pools

class PoolMemberOut(Schema):
    user_id: int
    name: str
    is_admin: bool


class PoolOut(Schema):
    id: int
    name: str
    region_code: str | None
    department_id: int | None
    is_active: bool
    max_owned_a: int | None
    max_owned_b: int | None
    max_owned_c: int | None
    max_claims_per_day: int | None
    cooldown_days: int
    protection_days: int
    reclaim_no_followup_days_a: int | None
    reclaim_no_followup_days_b: int | None
    reclaim_no_followup_days_c: int | None
    reclaim_no_deal_days_a: int | None
    reclaim_no_deal_days_b: int | None
    reclaim_no_deal_days_c: int | None
    warn_days_before: int
    max_locks: int


class PoolDetailOut(PoolOut):
    members: list[PoolMemberOut]


def _pool_out(p: Pool) -> PoolOut:
    from kamguard.customers.services.pools import RULE_FIELDS

    return PoolOut(id=p.pk, name=p.name, region_code=p.region.code if p.region_id and p.region else None,
                   department_id=p.department_id, is_active=p.is_active,
                   **{f: getattr(p, f) for f in RULE_FIELDS})


class PoolIn(Schema):
    """Rules are plain integers: the service refuses negative days and limits with a message."""

    name: str | None = Field(None, max_length=120)
    region_code: str | None = Field(None, max_length=12)
    department_id: int | None = None
    is_active: bool | None = None
    max_owned_a: int | None = None
    max_owned_b: int | None = None
    max_owned_c: int | None = None
    max_claims_per_day: int | None = None
    cooldown_days: int | None = None
    protection_days: int | None = None
    reclaim_no_followup_days_a: int | None = None
    reclaim_no_followup_days_b: int | None = None
    reclaim_no_followup_days_c: int | None = None
    reclaim_no_deal_days_a: int | None = None
    reclaim_no_deal_days_b: int | None = None
    reclaim_no_deal_days_c: int | None = None
    warn_days_before: int | None = None
    max_locks: int | None = None


def _pool_fields(payload: PoolIn) -> dict[str, Any]:
    from kamguard.org.models import Department

    fields: dict[str, Any] = {}
    for key, value in payload.dict(exclude_unset=True).items():
        if key == "region_code":
            fields["region"] = _region(value)
        elif key == "department_id":
            fields["department"] = api_ref(Department, value, key)
        elif key == "is_active" and value is None:
            continue
        else:
            fields[key] = value
    return fields


@router.get("/pools", response={200: Page[PoolOut], **ERRORS}, summary="Shared pools you belong to (all, for supervisors)")
def pool_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    qs = selectors.pool_list(viewer=api_viewer(request))
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("pk",), serialize=_pool_out)


@router.post("/pools", response={201: PoolDetailOut, **ERRORS}, summary="Create a shared pool")
def pool_create(request: HttpRequest, payload: PoolIn) -> Any:
    viewer = api_viewer(request)
    if not payload.name:
        raise ValidationFailed(field_errors={"name": [_("This field is required.")]})
    pool = pools.pool_save(actor=viewer, **_pool_fields(payload))
    return Status(201, _pool_detail(pool))


def _pool_detail(pool: Pool) -> PoolDetailOut:
    members = [PoolMemberOut(user_id=m.user_id, name=m.user.full_name, is_admin=m.is_admin)
               for m in PoolMembership.objects.filter(pool=pool).select_related("user").order_by("pk")]
    return PoolDetailOut(**_pool_out(pool).model_dump(), members=members)


@router.get("/pools/{int:pool_id}", response={200: PoolDetailOut, **ERRORS}, summary="One shared pool with its members")
def pool_get(request: HttpRequest, pool_id: int) -> Any:
    return _pool_detail(selectors.pool_get(viewer=api_viewer(request), pool_id=pool_id))


@router.patch("/pools/{int:pool_id}", response={200: PoolDetailOut, **ERRORS}, summary="Change a pool's rules")
def pool_update(request: HttpRequest, pool_id: int, payload: PoolIn) -> Any:
    viewer = api_viewer(request)
    selectors.pool_get(viewer=viewer, pool_id=pool_id)
    pool = pools.pool_save(actor=viewer, pool_id=pool_id, **_pool_fields(payload))
    return _pool_detail(pool)


class PoolMemberIn(Schema):
    is_admin: bool = False


@router.put("/pools/{int:pool_id}/members/{int:user_id}", response={200: PoolDetailOut, **ERRORS},
            summary="Add a member or change whether they administer the pool")
def pool_member_set(request: HttpRequest, pool_id: int, user_id: int, payload: PoolMemberIn) -> Any:
    viewer = api_viewer(request)
    pool = selectors.pool_get(viewer=viewer, pool_id=pool_id)
    pools.pool_member_set(actor=viewer, pool_id=pool.pk, user=api_ref(User, user_id, "user_id"), is_member=True,
                          is_admin=payload.is_admin)
    return _pool_detail(pool)


@router.delete("/pools/{int:pool_id}/members/{int:user_id}", response={200: PoolDetailOut, **ERRORS},
               summary="Remove a member")
def pool_member_remove(request: HttpRequest, pool_id: int, user_id: int) -> Any:
    viewer = api_viewer(request)
    pool = selectors.pool_get(viewer=viewer, pool_id=pool_id)
    pools.pool_member_set(actor=viewer, pool_id=pool.pk, user=api_ref(User, user_id, "user_id"), is_member=False)
    return _pool_detail(pool)

