"""Every read of approvals, starting from the viewer."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from kamguard.approvals.models import (
    ApprovalEvent,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
    Delegation,
    StepStatus,
)
from kamguard.org.domain.roles import Right
from kamguard.org.models import User
from kamguard.org.scopes import scope_q

NOTHING = Q(pk__in=[])


# ---------------------------------------------------------------- the contract other apps use

def pending_request_for(*, kind: str, subject_id: int) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(kind=kind, subject_id=subject_id, status=ApprovalStatus.PENDING).first()


def latest_request_for(*, kind: str, subject_id: int) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(kind=kind, subject_id=subject_id).order_by("-created_at", "-pk").first()


def is_locked(*, kind: str, subject_id: int) -> bool:
    """True while the subject waits for approval: its app must refuse edits."""
    return ApprovalRequest.objects.filter(kind=kind, subject_id=subject_id, status=ApprovalStatus.PENDING).exists()


# ---------------------------------------------------------------- visibility

def _delegations_to(viewer: User, day: dt.date | None = None) -> list[Delegation]:
    day = day or timezone.localdate()
    return list(Delegation.objects.filter(delegate=viewer, revoked_at__isnull=True, starts_on__lte=day,
                                          ends_on__gte=day))


def _delegated_q(viewer: User, *, prefix: str) -> Q:
    """Steps of the viewer's delegators (for the kinds delegated)."""
    q = NOTHING
    for d in _delegations_to(viewer):
        kinds = [k.strip() for k in d.kinds.split(",") if k.strip()]
        part = Q(**{f"{prefix}approver_id": d.delegator_id})
        if kinds:
            part &= Q(**{f"{prefix}request__kind__in": kinds})
        q |= part
    return q


def request_list(*, viewer: User, status: str = "", kind: str = "", search: str = "") -> QuerySet[ApprovalRequest]:
    """Requests the viewer may see: their own and those in their data scope, plus any they are (or act for) an
    approver of."""
    if not viewer.is_authenticated or not viewer.is_active:
        return ApprovalRequest.objects.none()
    as_approver = ApprovalStep.objects.filter(Q(approver=viewer) | _delegated_q(viewer, prefix="")).values(
        "request_id")
    in_scope = scope_q(viewer, owner_path="requested_by")
    # An empty Q (scope "all") OR-ed with anything is that thing in Django: "all" needs no filter at all.
    qs = ApprovalRequest.objects.all() if not in_scope else ApprovalRequest.objects.filter(
        in_scope | Q(pk__in=as_approver))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(Q(summary__icontains=search) | Q(requested_by__full_name__icontains=search))
    return qs.select_related("requested_by").order_by("-created_at", "-pk")


def request_detail(*, viewer: User, request_id: int) -> ApprovalRequest | None:
    return request_list(viewer=viewer).filter(pk=request_id).first()


def inbox(*, viewer: User, overdue_only: bool = False, search: str = "", kind: str = "",
          now: dt.datetime | None = None) -> QuerySet[ApprovalStep]:
    """Steps waiting for the viewer's decision now: their own, their role's, and their delegators'."""
    if not viewer.is_authenticated or not viewer.is_active or not viewer.has_right(Right.EDIT_BUSINESS_DATA):
        return ApprovalStep.objects.none()
    roles = [r.value for r in viewer.roles]
    by_role = Q(approver__isnull=True, role__in=roles) & scope_q(viewer, owner_path="request__requested_by")
    mine = Q(approver=viewer) | _delegated_q(viewer, prefix="") | by_role
    qs = ApprovalStep.objects.filter(mine, status=StepStatus.PENDING, request__status=ApprovalStatus.PENDING,
                                     stage=F("request__current_stage")).exclude(request__requested_by=viewer)
    if overdue_only:
        qs = qs.filter(due_at__lte=now or timezone.now())
    if kind:
        qs = qs.filter(request__kind=kind)
    if search:
        qs = qs.filter(Q(request__summary__icontains=search) | Q(request__requested_by__full_name__icontains=search))
    return qs.select_related("request__requested_by", "approver").order_by("due_at", "pk")


def inbox_count(*, viewer: User) -> int:
    return inbox(viewer=viewer).count()


def my_requests(*, viewer: User, status: str = "") -> QuerySet[ApprovalRequest]:
    qs = ApprovalRequest.objects.filter(requested_by=viewer)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("requested_by").order_by("-created_at", "-pk")


def request_history(*, request: ApprovalRequest) -> QuerySet[ApprovalEvent]:
    return request.events.select_related("actor", "on_behalf_of", "step").order_by("at", "pk")


def request_steps(*, request: ApprovalRequest) -> QuerySet[ApprovalStep]:
    return request.steps.select_related("approver", "decided_by", "on_behalf_of").order_by("stage", "pk")


# ---------------------------------------------------------------- policies and delegations

def can_manage_policies(viewer: User) -> bool:
    return viewer.is_authenticated and viewer.has_right(Right.MANAGE_ORG)


def policy_list(*, viewer: User, kind: str = "", active: bool | None = None) -> QuerySet[ApprovalPolicy]:
    """Policies are readable by everyone who reads the organisation (transparency), changed by administrators."""
    if not viewer.is_authenticated or not viewer.has_right(Right.VIEW_ORG):
        return ApprovalPolicy.objects.none()
    qs = ApprovalPolicy.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("kind", "priority", "pk")


def delegation_list(*, viewer: User, current_only: bool = False) -> QuerySet[Delegation]:
    """The viewer's delegations (given and received); administrators of people see all."""
    qs = Delegation.objects.select_related("delegator", "delegate")
    if not viewer.has_right(Right.MANAGE_USERS):
        qs = qs.filter(Q(delegator=viewer) | Q(delegate=viewer) | Q(created_by=viewer))
    if current_only:
        today = timezone.localdate()
        qs = qs.filter(revoked_at__isnull=True, ends_on__gte=today)
    return qs.order_by("-starts_on", "-pk")
