"""HTTP API of approvals: my inbox, my requests, a request with its chain and history, decide, withdraw,
policies (administrators change them; everybody who reads the organisation may read them), delegations.

Thin: validates, calls the same services and selectors as the pages. Errors are RFC 9457 problems.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from kamguard.approvals import selectors, services
from kamguard.approvals.models import ApprovalPolicy, ApprovalRequest, ApprovalStep, Delegation
from kamguard.approvals.registry import handler_for
from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.core.errors import NotFound

router = Router(tags=["Approvals"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- shapes

class PersonRef(Schema):
    id: int
    name: str


def _person(user: Any) -> PersonRef | None:
    return PersonRef(id=user.pk, name=str(user)) if user is not None else None


class StepOut(Schema):
    id: int
    stage: int
    approver_type: str
    approver: PersonRef | None
    role: str
    status: str
    due_at: dt.datetime | None
    overdue: bool
    decided_by: PersonRef | None
    on_behalf_of: PersonRef | None
    decided_at: dt.datetime | None
    reason: str


class ApprovalEventOut(Schema):
    at: dt.datetime
    action: str
    actor: PersonRef | None
    on_behalf_of: PersonRef | None
    reason: str


class RequestOut(Schema):
    id: int
    kind: str
    subject_id: int
    subject_url: str
    summary: str
    status: str
    auto: bool
    requested_by: PersonRef
    created_at: dt.datetime
    decided_at: dt.datetime | None
    outcome_reason: str
    policy_id: int | None
    policy_version: int | None
    current_stage: int


class RequestDetailOut(RequestOut):
    facts: dict[str, Any]
    steps: list[StepOut]
    history: list[ApprovalEventOut]
    can_decide: bool
    can_withdraw: bool


class InboxItemOut(Schema):
    step_id: int
    request: RequestOut
    due_at: dt.datetime | None
    overdue: bool
    on_behalf_of: PersonRef | None


def _step_out(s: ApprovalStep, now: dt.datetime) -> StepOut:
    return StepOut(id=s.pk, stage=s.stage, approver_type=s.approver_type, approver=_person(s.approver), role=s.role,
                   status=s.status, due_at=s.due_at, overdue=bool(s.status == "pending" and s.due_at and s.due_at <= now),
                   decided_by=_person(s.decided_by), on_behalf_of=_person(s.on_behalf_of), decided_at=s.decided_at,
                   reason=s.reason)


def _request_out(r: ApprovalRequest) -> RequestOut:
    handler = handler_for(r.kind)
    return RequestOut(id=r.pk, kind=r.kind, subject_id=r.subject_id,
                      subject_url=handler.url(r.subject_id) if handler else "", summary=r.summary, status=r.status,
                      auto=r.auto, requested_by=_person(r.requested_by), created_at=r.created_at,  # type: ignore[arg-type]
                      decided_at=r.decided_at, outcome_reason=r.outcome_reason, policy_id=r.policy_id,
                      policy_version=r.policy_version, current_stage=r.current_stage)


def _detail_out(viewer: Any, r: ApprovalRequest) -> RequestDetailOut:
    now = timezone.now()
    step, _behalf = services.acting_step(r, viewer)
    base = _request_out(r).dict()
    return RequestDetailOut(
        **base, facts=r.facts, steps=[_step_out(s, now) for s in selectors.request_steps(request=r)],
        history=[ApprovalEventOut(at=e.at, action=e.action, actor=_person(e.actor), on_behalf_of=_person(e.on_behalf_of),
                          reason=e.reason) for e in selectors.request_history(request=r)],
        can_decide=step is not None and viewer.pk != r.requested_by_id,
        can_withdraw=r.status == "pending" and r.requested_by_id == viewer.pk)


def _get(viewer: Any, request_id: int) -> ApprovalRequest:
    found = selectors.request_detail(viewer=viewer, request_id=request_id)
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- inbox and requests

@router.get("/inbox", response={200: Page[InboxItemOut], **ERRORS},
            summary="Steps waiting for my decision (mine, my role's, and those delegated to me)")
def inbox(request: HttpRequest, params: Query[ListParams], overdue: bool = False, q: str = "",
          kind: str = "") -> Any:
    viewer = api_viewer(request)
    now = timezone.now()
    qs = selectors.inbox(viewer=viewer, overdue_only=overdue, search=q[:100], kind=kind[:60], now=now)

    def serialize(s: ApprovalStep) -> InboxItemOut:
        behalf = s.approver if s.approver_id and s.approver_id != viewer.pk else None
        return InboxItemOut(step_id=s.pk, request=_request_out(s.request), due_at=s.due_at,
                            overdue=bool(s.due_at and s.due_at <= now), on_behalf_of=_person(behalf))

    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("due_at", "pk"), serialize=serialize)


@router.get("/requests", response={200: Page[RequestOut], **ERRORS},
            summary="Requests I may see (mine=true: only those I filed)")
def request_list(request: HttpRequest, params: Query[ListParams], mine: bool = False,
                 status: Literal["", "pending", "approved", "rejected", "withdrawn"] = "", kind: str = "",
                 q: str = "") -> Any:
    viewer = api_viewer(request)
    qs = selectors.my_requests(viewer=viewer, status=status) if mine else selectors.request_list(
        viewer=viewer, status=status, kind=kind[:60], search=q[:100])
    if mine and kind:
        qs = qs.filter(kind=kind[:60])
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-pk",), serialize=_request_out)


@router.get("/requests/{int:request_id}", response={200: RequestDetailOut, **ERRORS},
            summary="One request with its chain and full history")
def request_detail(request: HttpRequest, request_id: int) -> Any:
    viewer = api_viewer(request)
    return _detail_out(viewer, _get(viewer, request_id))


class ApprovalDecideIn(Schema):
    approve: bool
    reason: str = Field("", max_length=2000, description="Required to reject")


@router.post("/requests/{int:request_id}/decide", response={200: RequestDetailOut, **ERRORS},
             summary="Approve or reject the step waiting for me")
def decide(request: HttpRequest, request_id: int, payload: ApprovalDecideIn) -> Any:
    viewer = api_viewer(request)
    decided = services.approval_decide(actor=viewer, request_id=request_id, approve=payload.approve,
                                       reason=payload.reason)
    return _detail_out(viewer, _get(viewer, decided.pk))


class WithdrawIn(Schema):
    reason: str = Field("", max_length=2000)


@router.post("/requests/{int:request_id}/withdraw", response={200: RequestDetailOut, **ERRORS},
             summary="Withdraw my pending request")
def withdraw(request: HttpRequest, request_id: int, payload: WithdrawIn) -> Any:
    viewer = api_viewer(request)
    done = services.approval_withdraw(actor=viewer, request_id=request_id, reason=payload.reason)
    return _detail_out(viewer, _get(viewer, done.pk))


# ---------------------------------------------------------------- policies

class PolicyStepIO(Schema):
    stage: int = Field(..., ge=1, le=20)
    approver: Literal["supervisor", "director", "finance", "role", "person"]
    role: str = Field("", max_length=32)
    user_id: int | None = None


class PolicyOut(Schema):
    id: int
    name: str
    kind: str
    priority: int
    is_active: bool
    min_amount: Decimal | None
    max_amount: Decimal | None
    min_discount_pct: Decimal | None
    tiers: str
    steps: list[dict[str, Any]]
    due_hours: int
    version: int
    description: str
    updated_at: dt.datetime


def _policy_out(p: ApprovalPolicy) -> PolicyOut:
    return PolicyOut(id=p.pk, name=p.name, kind=p.kind, priority=p.priority, is_active=p.is_active,
                     min_amount=p.min_amount, max_amount=p.max_amount, min_discount_pct=p.min_discount_pct,
                     tiers=p.tiers, steps=list(p.steps or []), due_hours=p.due_hours, version=p.version,
                     description=p.description, updated_at=p.updated_at)


class PolicyIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    kind: str = Field(..., min_length=1, max_length=60)
    priority: int = Field(100, ge=0, le=100000)
    is_active: bool = True
    min_amount: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    max_amount: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    min_discount_pct: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    tiers: str = Field("", max_length=20)
    steps: list[PolicyStepIO] = Field(default_factory=list, max_length=6)
    due_hours: int = Field(48, ge=1, le=1440)
    description: str = Field("", max_length=2000)


class PolicyPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    priority: int | None = Field(None, ge=0, le=100000)
    is_active: bool | None = None
    min_amount: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    max_amount: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    min_discount_pct: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    tiers: str | None = Field(None, max_length=20)
    steps: list[PolicyStepIO] | None = Field(None, max_length=6)
    due_hours: int | None = Field(None, ge=1, le=1440)
    description: str | None = Field(None, max_length=2000)


@router.get("/policies", response={200: Page[PolicyOut], **ERRORS}, summary="Approval policies")
def policy_list(request: HttpRequest, params: Query[ListParams], kind: str = "", active: bool | None = None) -> Any:
    viewer = api_viewer(request)
    qs = selectors.policy_list(viewer=viewer, kind=kind[:60], active=active)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("pk",), serialize=_policy_out)


@router.post("/policies", response={201: PolicyOut, **ERRORS}, summary="Create a policy (administrators)")
def policy_create(request: HttpRequest, payload: PolicyIn) -> Any:
    viewer = api_viewer(request)
    data = payload.dict()
    data["steps"] = [s for s in data["steps"]]
    return Status(201, _policy_out(services.policy_create(actor=viewer, **data)))


@router.get("/policies/{int:policy_id}", response={200: PolicyOut, **ERRORS}, summary="One policy")
def policy_get(request: HttpRequest, policy_id: int) -> Any:
    found = selectors.policy_list(viewer=api_viewer(request)).filter(pk=policy_id).first()
    if found is None:
        raise NotFound()
    return _policy_out(found)


@router.patch("/policies/{int:policy_id}", response={200: PolicyOut, **ERRORS},
              summary="Change a policy (administrators): its version goes up by one")
def policy_update(request: HttpRequest, policy_id: int, payload: PolicyPatch) -> Any:
    viewer = api_viewer(request)
    data = payload.dict(exclude_unset=True)
    return _policy_out(services.policy_update(actor=viewer, policy_id=policy_id, **data))


@router.delete("/policies/{int:policy_id}", response={200: PolicyOut, **ERRORS},
               summary="Switch a policy off (administrators; policies are never deleted: requests name them)")
def policy_delete(request: HttpRequest, policy_id: int) -> Any:
    viewer = api_viewer(request)
    return _policy_out(services.policy_deactivate(actor=viewer, policy_id=policy_id))


# ---------------------------------------------------------------- delegations

class DelegationOut(Schema):
    id: int
    delegator: PersonRef
    delegate: PersonRef
    starts_on: dt.date
    ends_on: dt.date
    kinds: str
    reason: str
    revoked_at: dt.datetime | None


def _delegation_out(d: Delegation) -> DelegationOut:
    return DelegationOut(id=d.pk, delegator=_person(d.delegator), delegate=_person(d.delegate),  # type: ignore[arg-type]
                         starts_on=d.starts_on, ends_on=d.ends_on, kinds=d.kinds, reason=d.reason,
                         revoked_at=d.revoked_at)


class DelegationIn(Schema):
    delegate_id: int
    starts_on: dt.date
    ends_on: dt.date
    kinds: str = Field("", max_length=300, description="Comma-separated kinds; empty: all")
    reason: str = Field("", max_length=300)
    delegator_id: int | None = Field(None, description="Someone else's (people administrators only)")


@router.get("/delegations", response={200: Page[DelegationOut], **ERRORS},
            summary="My delegations, given and received")
def delegation_list(request: HttpRequest, params: Query[ListParams], current: bool = False) -> Any:
    qs = selectors.delegation_list(viewer=api_viewer(request), current_only=current)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-pk",), serialize=_delegation_out)


@router.post("/delegations", response={201: DelegationOut, **ERRORS}, summary="Delegate my approvals for a period")
def delegation_create(request: HttpRequest, payload: DelegationIn) -> Any:
    viewer = api_viewer(request)
    created = services.delegation_create(actor=viewer, delegate_id=payload.delegate_id, starts_on=payload.starts_on,
                                         ends_on=payload.ends_on, kinds=payload.kinds, reason=payload.reason,
                                         delegator_id=payload.delegator_id)
    return Status(201, _delegation_out(Delegation.objects.select_related("delegator", "delegate").get(pk=created.pk)))


@router.post("/delegations/{int:delegation_id}/revoke", response={200: DelegationOut, **ERRORS},
             summary="Revoke a delegation")
def delegation_revoke(request: HttpRequest, delegation_id: int) -> Any:
    viewer = api_viewer(request)
    done = services.delegation_revoke(actor=viewer, delegation_id=delegation_id)
    return _delegation_out(Delegation.objects.select_related("delegator", "delegate").get(pk=done.pk))
