"""Ownership disputes (撞单): a claim with evidence, the owner's answer, arbitration by a supervisor who covers
both people, and an outcome that is carried out and logged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.customers.models import (
    AccountTeamMember,
    Customer,
    CustomerStatus,
    DisputeOutcome,
    DisputeStatus,
    OwnershipDispute,
    OwnershipKind,
)
from kamguard.customers.services.common import timeline_add
from kamguard.org.domain.roles import Right, Role, SelfApprovalError, ensure_not_own_request
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope

DECISION_DAYS = 7


def arbiter_for(*, claimant: User, owner: User) -> User | None:
    """The nearest supervisor up the owner's reporting line whose scope covers both people."""
    seen: set[int] = set()
    candidate = owner.supervisor
    while candidate is not None and candidate.pk not in seen:
        seen.add(candidate.pk)
        if candidate.is_active and candidate.has_role(Role.SUPERVISOR) and person_in_scope(candidate, claimant) \
                and person_in_scope(candidate, owner) and candidate.pk not in (claimant.pk, owner.pk):
            return candidate
        candidate = candidate.supervisor
    for supervisor in User.objects.filter(is_active=True, role_assignments__role=Role.SUPERVISOR).exclude(
            pk__in=[claimant.pk, owner.pk]).select_related("department").order_by("-department__depth", "pk"):
        if person_in_scope(supervisor, claimant) and person_in_scope(supervisor, owner):
            return supervisor
    return None


@transaction.atomic
def dispute_file(*, actor: User, customer_id: int | None = None, claim_token: str = "", evidence: str,
                 first_contact_on: dt.date | None = None, contacts_known: str = "") -> OwnershipDispute:
    """File a claim on a customer someone else owns: one the claimant can see (`customer_id`), or one the
    duplicate check showed them outside their scope (`claim_token`, issued by that check)."""
    from kamguard.customers.selectors import customer_is_visible
    from kamguard.customers.services.dedupe import claim_token_read

    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    if claim_token:
        customer_id = claim_token_read(viewer=actor, token=claim_token)
    elif customer_id is None or not customer_is_visible(viewer=actor, customer_id=customer_id):
        raise NotFound()
    customer = Customer.objects.select_related("owner").filter(pk=customer_id, status=CustomerStatus.ACTIVE).first()
    if customer is None:
        raise NotFound()
    if customer.owner is None:
        raise ValidationFailed(_("Nobody owns this customer: claim it from the pool instead."), code="not_owned")
    if customer.owner_id == actor.pk:
        raise ValidationFailed(_("You own this customer already."), code="already_yours")
    if not (evidence or "").strip():
        raise ValidationFailed(field_errors={"evidence": [
            _("Describe your evidence: first contact, visits, contacts you know, documents.")]})
    if first_contact_on is not None and first_contact_on > timezone.localdate():
        raise ValidationFailed(field_errors={"first_contact_on": [_("This date is in the future.")]})
    arbiter = arbiter_for(claimant=actor, owner=customer.owner)
    try:
        with transaction.atomic():
            dispute = OwnershipDispute.objects.create(
                customer=customer, claimant=actor, owner=customer.owner, arbiter=arbiter,
                claim_first_contact_on=first_contact_on, claim_evidence=evidence.strip(),
                claim_contacts_known=(contacts_known or "").strip(),
                deadline=timezone.localdate() + dt.timedelta(days=DECISION_DAYS))
    except IntegrityError as exc:
        raise Conflict(_("You already have an open claim on this customer."), code="dispute_open") from exc
    audit_record(actor=actor, action="customers.dispute.filed", obj=dispute,
                 changes={"arbiter": {"before": None, "after": arbiter.pk if arbiter else None}})
    timeline_add(customer=customer, kind="dispute.filed", actor=actor,
                 summary=_("Ownership claimed by %(who)s") % {"who": actor})
    return dispute


def _dispute_for(actor: User, dispute_id: int) -> OwnershipDispute:
    from kamguard.customers.selectors import dispute_list

    dispute = dispute_list(viewer=actor).filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound()
    return dispute


@transaction.atomic
def dispute_answer(*, actor: User, dispute_id: int, answer: str, first_contact_on: dt.date | None = None
                   ) -> OwnershipDispute:
    dispute = _dispute_for(actor, dispute_id)
    if dispute.owner_id != actor.pk:
        raise PermissionRefused(_("Only the owner answers a claim."), extra={"right": "dispute.answer"})
    if not (answer or "").strip():
        raise ValidationFailed(field_errors={"answer": [_("Give your side: your contact history and evidence.")]})
    if OwnershipDispute.objects.filter(pk=dispute.pk, status=DisputeStatus.OPEN).update(
            answer=answer.strip(), answer_first_contact_on=first_contact_on, answered_at=timezone.now(),
            status=DisputeStatus.ANSWERED) != 1:
        raise Conflict(_("This claim is no longer waiting for an answer."), code="dispute_state")
    dispute.refresh_from_db()
    audit_record(actor=actor, action="customers.dispute.answered", obj=dispute)
    timeline_add(customer=dispute.customer, kind="dispute.answered", actor=actor, summary=_("Owner answered the claim"))
    return dispute


@transaction.atomic
def dispute_withdraw(*, actor: User, dispute_id: int) -> OwnershipDispute:
    dispute = _dispute_for(actor, dispute_id)
    if dispute.claimant_id != actor.pk:
        raise PermissionRefused(_("Only the claimant can withdraw a claim."), extra={"right": "dispute.withdraw"})
    if OwnershipDispute.objects.filter(pk=dispute.pk, status__in=[DisputeStatus.OPEN, DisputeStatus.ANSWERED]).update(
            status=DisputeStatus.WITHDRAWN, decided_at=timezone.now()) != 1:
        raise Conflict(_("This claim is already closed."), code="dispute_state")
    dispute.refresh_from_db()
    audit_record(actor=actor, action="customers.dispute.withdrawn", obj=dispute)
    timeline_add(customer=dispute.customer, kind="dispute.withdrawn", actor=actor, summary=_("Claim withdrawn"))
    return dispute


@transaction.atomic
def dispute_decide(*, actor: User, dispute_id: int, outcome: str, reason: str,
                   claimant_share: Any = None) -> OwnershipDispute:
    """The arbiter (or another supervisor covering both people) decides after hearing both sides."""
    dispute = _dispute_for(actor, dispute_id)
    if outcome not in DisputeOutcome.values:
        raise ValidationFailed(field_errors={"outcome": [_("Choose one of: %(choices)s.") % {
            "choices": ", ".join(DisputeOutcome.values)}]})
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Explain the decision to both people.")]})
    claimant, owner = dispute.claimant, dispute.owner
    try:
        ensure_not_own_request(requester_id=dispute.claimant_id, approver_id=actor.pk,
                               extra_party_ids=(dispute.owner_id,) if dispute.owner_id else ())
    except SelfApprovalError as exc:
        raise PermissionRefused(_("You are a party to this dispute; another supervisor must decide it."),
                                code="self_approval") from exc
    covers = actor.has_role(Role.SUPERVISOR) and person_in_scope(actor, claimant) and (
        owner is None or person_in_scope(actor, owner))
    if actor.pk != dispute.arbiter_id and not covers:
        raise PermissionRefused(_("Only the arbiter or a supervisor over both people can decide."),
                                extra={"right": "dispute.decide"})
    if dispute.status not in (DisputeStatus.OPEN, DisputeStatus.ANSWERED):
        raise Conflict(_("This dispute is already closed."), code="dispute_state")
    if dispute.status == DisputeStatus.OPEN and dispute.deadline > timezone.localdate():
        raise ValidationFailed(_("The owner has not answered yet. Wait for the answer or until %(date)s.")
                               % {"date": dispute.deadline}, code="await_answer")
    share = None
    if outcome == DisputeOutcome.SHARE:
        share = Decimal(str(claimant_share or "0"))
        if share <= 0 or share > 100:
            raise ValidationFailed(field_errors={"claimant_share": [_("Between 0 and 100.")]})
    if OwnershipDispute.objects.filter(pk=dispute.pk, status__in=[DisputeStatus.OPEN, DisputeStatus.ANSWERED]).update(
            status=DisputeStatus.DECIDED, outcome=outcome, decision_reason=reason.strip(), decided_at=timezone.now(),
            claimant_share=share) != 1:
        raise Conflict(_("This dispute is already closed."), code="dispute_state")
    dispute.refresh_from_db()
    customer = dispute.customer
    reference = f"dispute:{dispute.pk}"
    from kamguard.customers.services.ownership import owner_change

    if outcome == DisputeOutcome.TRANSFER:
        owner_change(customer=customer, expected_owner_id=dispute.owner_id, new_owner=claimant,
                     kind=OwnershipKind.DISPUTE, actor=actor, approved_by=actor, reason=reason, reference=reference)
    elif outcome == DisputeOutcome.POOL:
        owner_change(customer=customer, expected_owner_id=dispute.owner_id, new_owner=None,
                     kind=OwnershipKind.DISPUTE, actor=actor, approved_by=actor, reason=reason, reference=reference)
    elif outcome == DisputeOutcome.SHARE:
        from kamguard.customers.services.records import account_team_set

        AccountTeamMember.objects.filter(customer=customer, user=claimant).delete()
        account_team_set(actor=actor, customer_id=customer.pk, user=claimant, role=_("co-developer (dispute)"),
                         credit_share=share, reason=reason)
    audit_record(actor=actor, action="customers.dispute.decided", obj=dispute, reason=reason,
                 changes={"outcome": {"before": None, "after": outcome}})
    timeline_add(customer=customer, kind="dispute.decided", actor=actor,
                 summary=_("Dispute decided: %(outcome)s") % {"outcome": dispute.get_outcome_display()})
    return dispute
