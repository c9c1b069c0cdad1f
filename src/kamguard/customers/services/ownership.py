"""Owner changes: claim from the pool, release, lock, automatic reclaim, transfers. Every owner change is a
conditional update (`… WHERE owner = expected`) so two writers can never both win, on SQLite and PostgreSQL,
and lands in the ownership ledger."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.customers.models import (
    Customer,
    CustomerStatus,
    OwnershipChange,
    OwnershipKind,
    Pool,
    PoolMembership,
    RequestStatus,
    TransferRequest,
)
from kamguard.customers.services.common import is_supervising, ledger_append, timeline_add, visible_customer
from kamguard.org.domain.roles import Right, SelfApprovalError, ensure_not_own_request
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope

logger = logging.getLogger(__name__)

LOST_KINDS = (OwnershipKind.RELEASE, OwnershipKind.RECLAIM, OwnershipKind.TRANSFER, OwnershipKind.DISPUTE,
              OwnershipKind.HANDOVER)


def _owner_name(user_id: int | None) -> str:
    if user_id is None:
        return _("nobody")
    user = User.objects.filter(pk=user_id).values_list("full_name", flat=True).first()
    return user or _("someone")


def owner_change(*, customer: Customer, expected_owner_id: int | None, new_owner: User | None, kind: str,
                 actor: User | None, reason: str = "", approved_by: User | None = None,
                 protection_days: int | None = None, effective_at: dt.datetime | None = None,
                 reference: str = "") -> Customer:
    """Change the owner if it is still `expected_owner_id`; otherwise Conflict naming the current owner.

    The one place owners change: claims, releases, reclaims, transfers, disputes, merges, imports and later
    allocation and handover all come through here, so the ledger is complete.
    """
    now = timezone.now()
    values: dict[str, object] = {
        "owner": new_owner, "owned_since": (effective_at or now) if new_owner else None,
        "protected_until": (now + dt.timedelta(days=protection_days)) if new_owner and protection_days else None,
        "is_locked": False, "reclaim_warned_at": None, "updated_at": now,
    }
    if new_owner is not None:
        # A new owner's clock starts now: follow-up and deal rules count from the change.
        values["last_followup_at"] = None
    updated = Customer.objects.filter(pk=customer.pk, owner_id=expected_owner_id).update(**values)
    if updated != 1:
        current = Customer.objects.filter(pk=customer.pk).values_list("owner_id", flat=True).first()
        raise Conflict(_("%(owner)s got there first: the customer is now theirs.") % {"owner": _owner_name(current)}
                       if current else _("The customer changed meanwhile. Reload and try again."),
            code="owner_changed", extra={"owner_id": current})
    ledger_append(customer=customer, from_owner_id=expected_owner_id, to_owner_id=new_owner.pk if new_owner else None,
                  kind=kind, actor=actor, reason=reason, approved_by=approved_by, effective_at=effective_at,
                  reference=reference)
    customer.refresh_from_db()
    return customer


# ---------------------------------------------------------------- claim, release, lock

def _claim_checks(actor: User, customer: Customer, pool: Pool, now: dt.datetime) -> None:
    tier = customer.tier
    limit = getattr(pool, f"max_owned_{tier.lower()}", None)
    if limit is not None:
        owned = Customer.objects.filter(owner=actor, tier=tier, status=CustomerStatus.ACTIVE).count()
        if owned >= limit:
            raise ValidationFailed(
                _("You already own %(owned)s tier %(tier)s customers, the most this pool allows (%(limit)s). "
                  "Release one first.") % {"owned": owned, "tier": tier, "limit": limit}, code="claim_limit")
    if pool.max_claims_per_day is not None:
        day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        today = OwnershipChange.objects.filter(to_owner=actor, kind=OwnershipKind.CLAIM,
                                               effective_at__gte=day_start).count()
        if today >= pool.max_claims_per_day:
            raise ValidationFailed(_("You have made %(count)s claims today, the daily limit. Try again tomorrow.")
                                   % {"count": today}, code="daily_claim_limit")
    if pool.cooldown_days:
        since = now - dt.timedelta(days=pool.cooldown_days)
        last_lost = OwnershipChange.objects.filter(customer=customer, from_owner=actor, kind__in=LOST_KINDS,
                                                   effective_at__gt=since).order_by("-effective_at").first()
        if last_lost is not None:
            allowed = timezone.localtime(last_lost.effective_at + dt.timedelta(days=pool.cooldown_days))
            raise ValidationFailed(
                _("You gave up this customer on %(lost)s; you may claim it again from %(allowed)s.")
                % {"lost": f"{timezone.localtime(last_lost.effective_at):%Y-%m-%d}", "allowed": f"{allowed:%Y-%m-%d %H:%M}"},
                code="claim_cooldown")


@transaction.atomic
def customer_claim(*, actor: User, customer_id: int) -> Customer:
    """Claim a customer from a shared pool the actor belongs to. Exactly one of simultaneous claims wins."""
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    # Serialise one person's own claims (limits are counted); other people's claims are not blocked.
    User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()
    # A pool member may learn who took a customer of their pool, even though it is no longer theirs to see.
    customer = Customer.objects.select_related("pool", "owner").filter(
        pk=customer_id, pool__memberships__user=actor).first() or visible_customer(actor, customer_id)
    if customer.owner_id is not None:
        if customer.owner_id == actor.pk:
            raise Conflict(_("You already own this customer."), code="already_yours")
        raise Conflict(_("%(owner)s owns this customer already.") % {"owner": _owner_name(customer.owner_id)},
                       code="already_owned", extra={"owner_id": customer.owner_id})
    if customer.status != CustomerStatus.ACTIVE:
        raise ValidationFailed(_("Only active customers can be claimed."), code="not_active")
    pool = customer.pool
    if pool is None or not pool.is_active:
        raise ValidationFailed(_("This customer is in no open pool."), code="no_pool")
    if not PoolMembership.objects.filter(pool=pool, user=actor).exists():
        raise PermissionRefused(_("You are not a member of the pool %(pool)s.") % {"pool": pool.name},
                                extra={"right": "pool.member"})
    _claim_checks(actor, customer, pool, timezone.now())
    return owner_change(customer=customer, expected_owner_id=None, new_owner=actor, kind=OwnershipKind.CLAIM,
                        actor=actor, protection_days=pool.protection_days)


@transaction.atomic
def customer_release(*, actor: User, customer_id: int, reason: str) -> Customer:
    """The owner gives a customer back to its pool, with a reason."""
    customer = visible_customer(actor, customer_id)
    if customer.owner_id != actor.pk:
        raise PermissionRefused(_("Only the owner can release a customer. A supervisor can transfer it instead."),
                                extra={"right": "customer.owner"})
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why you release this customer.")]})
    if customer.pool_id is None:
        raise ValidationFailed(_("This customer has no pool to return to. Ask a supervisor to assign one."),
                               code="no_pool")
    return owner_change(customer=customer, expected_owner_id=actor.pk, new_owner=None, kind=OwnershipKind.RELEASE,
                        actor=actor, reason=reason.strip())


@transaction.atomic
def customer_lock(*, actor: User, customer_id: int, locked: bool, reason: str = "") -> Customer:
    """Lock an owned customer against automatic reclaim (within the pool's cap on locks), or unlock it."""
    customer = visible_customer(actor, customer_id)
    if customer.owner_id != actor.pk and not is_supervising(actor):
        raise PermissionRefused(_("Only the owner or a supervisor can lock a customer."),
                                extra={"right": "customer.owner"})
    if customer.owner_id is None:
        raise ValidationFailed(_("A customer in the pool cannot be locked."), code="not_owned")
    if customer.is_locked == locked:
        return customer
    if locked and customer.pool is not None:
        held = Customer.objects.filter(owner_id=customer.owner_id, is_locked=True).count()
        if held >= customer.pool.max_locks:
            raise ValidationFailed(_("The owner already has %(count)s locked customers, the most allowed.")
                                   % {"count": held}, code="lock_limit")
    Customer.objects.filter(pk=customer.pk).update(is_locked=locked, updated_at=timezone.now())
    audit_record(actor=actor, action="customers.customer.locked" if locked else "customers.customer.unlocked",
                 obj=customer, changes={"is_locked": {"before": not locked, "after": locked}}, reason=reason)
    timeline_add(customer=customer, kind="customer.locked" if locked else "customer.unlocked", actor=actor,
                 summary=_("Locked against reclaim") if locked else _("Unlocked"))
    customer.refresh_from_db()
    return customer


# ---------------------------------------------------------------- automatic reclaim (a periodic job)

@dataclass
class ReclaimReport:
    warned: list[int] = field(default_factory=list)
    reclaimed: list[int] = field(default_factory=list)


def _deadline_expressions(pool: Pool, tier: str) -> list[tuple[str, int]]:
    rules = []
    followup = getattr(pool, f"reclaim_no_followup_days_{tier.lower()}")
    deal = getattr(pool, f"reclaim_no_deal_days_{tier.lower()}")
    if followup is not None:
        rules.append(("followup", followup))
    if deal is not None:
        rules.append(("deal", deal))
    return rules


def pool_reclaim_run(*, now: dt.datetime | None = None) -> ReclaimReport:
    """Warn owners before reclaim, then return neglected customers to their pools. Safe to run twice: a
    reclaimed customer has no owner any more, and a warning is sent once per ownership."""
    now = now or timezone.now()
    report = ReclaimReport()
    for pool in Pool.objects.filter(is_active=True):
        for tier in ("A", "B", "C"):
            for rule, days in _deadline_expressions(pool, tier):
                # Neglect is counted from the latest of: the ownership, the last follow-up (or won deal), and
                # the moment KAMGuard learnt of the customer — an imported customer owned for years is not
                # neglected before its record existed here.
                anchor = Greatest(F("owned_since"), F("created_at"), Coalesce(
                    F("last_followup_at" if rule == "followup" else "last_won_at"), F("owned_since")))
                base = Customer.objects.filter(
                    pool=pool, tier=tier, owner__isnull=False, is_locked=False, status=CustomerStatus.ACTIVE,
                ).filter(Q(protected_until__isnull=True) | Q(protected_until__lt=now)).annotate(anchor=anchor)
                due = base.filter(anchor__lte=now - dt.timedelta(days=days))
                for customer_id, owner_id in due.values_list("pk", "owner_id"):
                    try:
                        with transaction.atomic():
                            customer = Customer.objects.get(pk=customer_id)
                            owner_change(customer=customer, expected_owner_id=owner_id, new_owner=None,
                                         kind=OwnershipKind.RECLAIM, actor=None,
                                         reason=_("No follow-up for %(days)s days") % {"days": days}
                                         if rule == "followup" else
                                         _("No won deal for %(days)s days") % {"days": days})
                        report.reclaimed.append(customer_id)
                    except Conflict:
                        continue  # changed meanwhile (claimed, transferred, locked): nothing to do
                if pool.warn_days_before:
                    warn_from = now - dt.timedelta(days=days - pool.warn_days_before)
                    for customer_id in base.filter(anchor__lte=warn_from, reclaim_warned_at__isnull=True).exclude(
                            pk__in=report.reclaimed).values_list("pk", flat=True):
                        with transaction.atomic():
                            if Customer.objects.filter(pk=customer_id, reclaim_warned_at__isnull=True).update(
                                    reclaim_warned_at=now) != 1:
                                continue
                            customer = Customer.objects.get(pk=customer_id)
                            audit_record(actor=None, action="customers.customer.reclaim_warned", obj=customer,
                                         reason=f"{rule} {days}d")
                            timeline_add(customer=customer, kind="pool.reclaim_warning", actor=None, summary=_(
                                "Will return to the pool within %(days)s days without follow-up or a won deal.")
                                % {"days": pool.warn_days_before})
                        report.warned.append(customer_id)
    return report


# ---------------------------------------------------------------- transfers

def _target(actor: User, to_owner_id: int | None) -> User | None:
    if to_owner_id is None:
        return None
    target = User.objects.filter(pk=to_owner_id, is_active=True).first()
    if target is None or not person_in_scope(actor, target):
        raise ValidationFailed(field_errors={"to_owner": [_("Choose an active person in your scope.")]})
    if not target.has_right(Right.EDIT_BUSINESS_DATA):
        raise ValidationFailed(field_errors={"to_owner": [_("This person cannot own customers.")]})
    return target


@transaction.atomic
def customer_transfer(*, actor: User, customer_id: int, to_owner_id: int | None, reason: str) -> Customer:
    """A supervisor changes the owner directly (their decision is the approval)."""
    if not is_supervising(actor):
        raise PermissionRefused(_("Only a supervisor can transfer customers directly. File a transfer request."),
                                extra={"right": "customer.transfer"})
    customer = visible_customer(actor, customer_id)
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why the customer changes owner.")]})
    target = _target(actor, to_owner_id)
    if target is not None and target.pk == customer.owner_id:
        raise ValidationFailed(field_errors={"to_owner": [_("This person owns the customer already.")]})
    if target is None and customer.pool_id is None:
        raise ValidationFailed(field_errors={"to_owner": [_("The customer has no pool; choose a person.")]})
    return owner_change(customer=customer, expected_owner_id=customer.owner_id, new_owner=target,
                        kind=OwnershipKind.TRANSFER, actor=actor, reason=reason.strip(), approved_by=actor)


def _transfer_facts(customer: Customer) -> Any:
    from kamguard.approvals.domain import ApprovalFacts

    return ApprovalFacts(tier=customer.tier, customer_id=customer.pk)


@transaction.atomic
def transfer_request_create(*, actor: User, customer_id: int, to_owner_id: int | None, reason: str) -> TransferRequest:
    """File a transfer; it goes through the approval engine (kind "customers.transfer": by default the
    requester's supervisor decides). A policy that asks for no approval applies the transfer at once."""
    from kamguard.approvals.services import approval_submit
    from kamguard.customers.approvals import KIND

    customer = visible_customer(actor, customer_id)
    if customer.owner_id is None:
        raise ValidationFailed(_("The customer is in the pool: claim it instead."), code="not_owned")
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why the customer should change owner.")]})
    target = None
    if to_owner_id is not None:
        target = User.objects.filter(pk=to_owner_id, is_active=True).first()
        if target is None or not target.has_right(Right.EDIT_BUSINESS_DATA):
            raise ValidationFailed(field_errors={"to_owner": [_("Choose an active person who can own customers.")]})
        if target.pk == customer.owner_id:
            raise ValidationFailed(field_errors={"to_owner": [_("This person owns the customer already.")]})
    if TransferRequest.objects.filter(customer=customer, status=RequestStatus.PENDING).exists():
        raise Conflict(_("A transfer of this customer is already waiting for a decision."), code="pending_exists")
    request = TransferRequest.objects.create(customer=customer, from_owner_id=customer.owner_id, to_owner=target,
                                             requested_by=actor, reason=reason.strip())
    audit_record(actor=actor, action="customers.transfer.requested", obj=request, reason=reason,
                 changes={"to_owner": {"before": customer.owner_id, "after": to_owner_id}})
    timeline_add(customer=customer, kind="transfer.requested", actor=actor,
                 summary=_("Transfer requested to %(to)s") % {"to": target or _("shared pool")})
    approval_submit(actor=actor, kind=KIND, subject_id=request.pk, facts=_transfer_facts(customer),
                    summary=_("Transfer %(customer)s to %(to)s: %(reason)s") % {
                        "customer": customer.name, "to": target or _("shared pool"), "reason": reason.strip()})
    request.refresh_from_db()
    return request


def _transfer_approval(actor: User, request: TransferRequest) -> Any:
    """The pending approval of a transfer request (one filed before the engine existed gets one now)."""
    from kamguard.approvals.selectors import pending_request_for
    from kamguard.approvals.services import approval_submit
    from kamguard.customers.approvals import KIND

    approval = pending_request_for(kind=KIND, subject_id=request.pk)
    if approval is None and request.status == RequestStatus.PENDING:
        approval = approval_submit(actor=request.requested_by, kind=KIND, subject_id=request.pk,
                                   facts=_transfer_facts(request.customer), summary=request.reason)
    if approval is None or approval.status != "pending":
        raise Conflict(_("This request was already decided."), code="already_decided")
    return approval


@transaction.atomic
def transfer_request_decide(*, actor: User, request_id: int, approve: bool, reason: str = "") -> TransferRequest:
    """Decide through the approval engine. The requester, the current owner and the receiver can never approve;
    the step's approver (the requester's supervisor by default) or their delegate decides."""
    from kamguard.approvals.services import approval_decide

    request = TransferRequest.objects.select_related("customer", "requested_by").filter(pk=request_id).first()
    if request is None:
        raise NotFound()
    visible_customer(actor, request.customer_id)
    if request.status != RequestStatus.PENDING:
        raise Conflict(_("This request was already decided."), code="already_decided")
    try:
        ensure_not_own_request(requester_id=request.requested_by_id, approver_id=actor.pk,
                               extra_party_ids=tuple(i for i in (request.from_owner_id, request.to_owner_id) if i))
    except SelfApprovalError as exc:
        raise PermissionRefused(_("You are a party to this transfer, so someone else must decide it."),
                                code="self_approval") from exc
    approval = _transfer_approval(actor, request)
    approval_decide(actor=actor, request_id=approval.pk, approve=approve, reason=reason)
    request.refresh_from_db()
    return request


@transaction.atomic
def transfer_request_cancel(*, actor: User, request_id: int) -> TransferRequest:
    """The requester withdraws the transfer (its approval is withdrawn with it)."""
    from kamguard.approvals.selectors import pending_request_for
    from kamguard.approvals.services import approval_withdraw
    from kamguard.customers.approvals import KIND

    request = TransferRequest.objects.filter(pk=request_id, requested_by=actor).first()
    if request is None:
        raise NotFound()
    approval = pending_request_for(kind=KIND, subject_id=request.pk)
    if approval is not None:
        approval_withdraw(actor=actor, request_id=approval.pk, reason=_("Transfer request cancelled"))
        request.refresh_from_db()
        return request
    if TransferRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING).update(
            status=RequestStatus.CANCELLED, decided_at=timezone.now()) != 1:
        raise Conflict(_("This request was already decided."), code="already_decided")
    audit_record(actor=actor, action="customers.transfer.cancelled", obj=request)
    request.refresh_from_db()
    return request
