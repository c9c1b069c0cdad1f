"""Pieces every customer service uses: the ledger, the timeline, access checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import NotFound, PermissionRefused
from kamguard.customers.models import Customer, OwnershipChange, TimelineEntry
from kamguard.customers.selectors import customer_visibility_q
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User


def timeline_add(*, customer: Customer, kind: str, actor: User | None, summary: str, data: dict[str, Any] | None = None,
                 at: dt.datetime | None = None) -> TimelineEntry:
    return TimelineEntry.objects.create(customer=customer, occurred_at=at or timezone.now(), kind=kind,
                                        actor=actor, summary=summary[:400], data=data or {})


def ledger_append(*, customer: Customer, from_owner_id: int | None, to_owner_id: int | None, kind: str,
                  actor: User | None, reason: str = "", approved_by: User | None = None,
                  effective_at: dt.datetime | None = None, reference: str = "") -> OwnershipChange:
    """Record one owner change in the ownership ledger, the audit trail and the customer's timeline."""
    change = OwnershipChange.objects.create(
        customer=customer, from_owner_id=from_owner_id, to_owner_id=to_owner_id, kind=kind,
        effective_at=effective_at or timezone.now(), reason=reason, actor=actor, approved_by=approved_by,
        reference=reference)
    names = dict(User.objects.filter(pk__in=[i for i in (from_owner_id, to_owner_id) if i]).values_list(
        "pk", "full_name"))
    audit_record(actor=actor, action=f"customers.ownership.{kind}", obj=customer, reason=reason,
                 changes={"owner": {"before": from_owner_id, "after": to_owner_id},
                          **({"approved_by": {"before": None, "after": approved_by.pk}} if approved_by else {})})
    summary = _("Owner: %(before)s → %(after)s") % {
        "before": names.get(from_owner_id, _("shared pool")) if from_owner_id else _("shared pool"),
        "after": names.get(to_owner_id, _("shared pool")) if to_owner_id else _("shared pool")}
    timeline_add(customer=customer, kind=f"ownership.{kind}", actor=actor, summary=summary,
                 data={"from": from_owner_id, "to": to_owner_id, "reason": reason}, at=change.effective_at)
    return change


def visible_customer(actor: User, customer_id: int, *, for_update: bool = False) -> Customer:
    """The customer if `actor` may see it; NotFound otherwise (missing and forbidden look the same)."""
    qs = Customer.objects.filter(customer_visibility_q(actor), pk=customer_id)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    found = qs.select_related("pool", "owner").first()
    if found is None:
        raise NotFound()
    return found


def require_edit(actor: User | None, customer: Customer) -> None:
    """Who may change a customer's record: its owner, an account-team member, or someone whose scope covers
    the owner's team (specialist, supervisor, admin) — always with the right to edit business data."""
    if actor is None:
        return
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    if customer.owner_id == actor.pk or actor.scope >= Scope.TEAM:
        return
    if customer.team_members.filter(user=actor).exists():
        return
    if customer.owner_id is None and customer.pool is not None and customer.pool.memberships.filter(
            user=actor, is_admin=True).exists():
        return
    raise PermissionRefused(_("Only the owner, the account team or a supervisor may change this customer."),
                            extra={"right": "customer.edit"})


def is_supervising(actor: User) -> bool:
    return actor.scope >= Scope.DEPARTMENT and actor.has_right(Right.EDIT_BUSINESS_DATA)
