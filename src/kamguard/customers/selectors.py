"""Every read of customers starts from the user: owned and shared customers in their data scope, pool
customers of the pools they belong to, and customers whose account team they are on."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.customers.models import (
    AccountTeamMember,
    Customer,
    CustomerStatus,
    OwnershipChange,
    OwnershipDispute,
    Pool,
    PoolMembership,
    TransferRequest,
)
from kamguard.org.domain.roles import Scope
from kamguard.org.models import User
from kamguard.org.scopes import NOTHING, scope_q

CUSTOMER_OBJECT_TYPE = "customers.customer"

CUSTOMER_SORTS = {
    "name": "name", "-name": "-name", "tier": "tier", "-tier": "-tier", "owner": "owner__full_name",
    "-owner": "-owner__full_name", "followup": "last_followup_at", "-followup": "-last_followup_at",
    "created": "created_on", "-created": "-created_on",
}


def customer_visibility_q(user: User) -> Q:
    """The customers `user` may see."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.scope == Scope.ALL:
        return Q()
    q = scope_q(user, owner_path="owner", object_type=CUSTOMER_OBJECT_TYPE)
    today = timezone.localdate()
    q |= Q(Exists(AccountTeamMember.objects.filter(customer=OuterRef("pk"), user=user).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=today))))
    q |= Q(owner__isnull=True) & Q(Exists(PoolMembership.objects.filter(pool=OuterRef("pool"), user=user)))
    return q


def customer_list(*, viewer: User, search: str = "", owner_id: int | None = None, pool_id: int | None = None,
                  tier: str = "", status: str = CustomerStatus.ACTIVE, in_pool: bool | None = None,
                  team_id: int | None = None, sort: str = "name") -> QuerySet[Customer]:
    qs = Customer.objects.filter(customer_visibility_q(viewer)).select_related(
        "owner", "owner__team", "pool", "region", "industry")
    if search:
        term = search.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(uscc__iexact=term) | Q(external_id__iexact=term)
                       | Q(english_name__icontains=term))
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(owner__team_id=team_id)
    if pool_id:
        qs = qs.filter(pool_id=pool_id)
    if tier:
        qs = qs.filter(tier=tier)
    if status:
        qs = qs.filter(status=status)
    if in_pool is not None:
        qs = qs.filter(owner__isnull=in_pool)
    return qs.order_by(CUSTOMER_SORTS.get(sort, "name"), "pk")


def customer_get(*, viewer: User, customer_id: int) -> Customer:
    found = customer_list(viewer=viewer, status="").filter(pk=customer_id).first()
    if found is None:
        raise NotFound()
    return found


def customer_is_visible(*, viewer: User, customer_id: int) -> bool:
    return Customer.objects.filter(customer_visibility_q(viewer), pk=customer_id).exists()


def pool_list(*, viewer: User) -> QuerySet[Pool]:
    qs = Pool.objects.select_related("region", "department")
    if viewer.scope < Scope.DEPARTMENT:
        qs = qs.filter(memberships__user=viewer)
    return qs.distinct().order_by("name")


def pool_get(*, viewer: User, pool_id: int) -> Pool:
    found = pool_list(viewer=viewer).filter(pk=pool_id).first()
    if found is None:
        raise NotFound()
    return found


def ownership_history(*, viewer: User, customer: Customer) -> QuerySet[OwnershipChange]:
    if not customer_is_visible(viewer=viewer, customer_id=customer.pk):
        raise NotFound()
    return OwnershipChange.objects.filter(customer=customer).select_related(
        "from_owner", "to_owner", "actor", "approved_by").order_by("effective_at", "pk")


def owner_on(*, customer_id: int, on: dt.datetime) -> int | None:
    """Who owned the customer at `on` (None: nobody, i.e. in the pool or not yet registered)."""
    change = OwnershipChange.objects.filter(customer_id=customer_id, effective_at__lte=on).order_by(
        "-effective_at", "-pk").values("to_owner_id").first()
    return change["to_owner_id"] if change else None


def transfer_request_list(*, viewer: User, status: str = "") -> QuerySet[TransferRequest]:
    visible = Customer.objects.filter(customer_visibility_q(viewer)).values("pk")
    qs = TransferRequest.objects.filter(Q(customer__in=visible) | Q(requested_by=viewer) | Q(to_owner=viewer))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("customer", "from_owner", "to_owner", "requested_by", "decided_by").order_by(
        "-created_at")


def dispute_list(*, viewer: User, status: str = "") -> QuerySet[OwnershipDispute]:
    """Disputes the viewer takes part in, arbitrates, or may see through their scope."""
    visible = Customer.objects.filter(customer_visibility_q(viewer)).values("pk")
    qs = OwnershipDispute.objects.filter(Q(customer__in=visible) | Q(claimant=viewer) | Q(owner=viewer)
                                         | Q(arbiter=viewer))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("customer", "claimant", "owner", "arbiter").order_by("-created_at")
