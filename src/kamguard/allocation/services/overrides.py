"""Manual re-assignment: a person overrides what allocation decided, with a required reason.

- `customer_reassign(*, actor, customer_id, new_owner: User | None, reason, pool=None) -> AllocationDecision`
  — through `owner_change` (ownership ledger kind `allocation`), logged in the allocation log as a manual
  override (counted in the fairness report's override share). `new_owner=None` puts the customer in `pool`
  (or its current pool). A supervisor whose scope covers the customer and the new owner, or an administrator.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.allocation.models import AllocationDecision, DecisionOutcome, Intake
from kamguard.allocation.services.common import allocation_lock, is_admin, is_supervisor
from kamguard.core.audit import audit_record
from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.customers.models import Customer, OwnershipKind, Pool
from kamguard.customers.services.common import visible_customer
from kamguard.customers.services.ownership import owner_change
from kamguard.org.domain.roles import Right
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope


@transaction.atomic
def customer_reassign(*, actor: User, customer_id: int, new_owner: User | None, reason: str,
                      pool: Pool | None = None) -> AllocationDecision:
    if not (is_supervisor(actor) or is_admin(actor)):
        raise PermissionRefused(_("Only a supervisor or an administrator can re-assign a customer."),
                                extra={"right": "allocation.reassign"})
    customer = visible_customer(actor, customer_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(field_errors={"reason": [_("A manual re-assignment needs a reason: say why the "
                                                          "rules' choice is being changed.")]})
    if new_owner is not None:
        if not new_owner.is_active or (new_owner.left_on is not None and new_owner.left_on <= timezone.localdate()):
            raise ValidationFailed(field_errors={"new_owner": [_("This person has left; choose someone who works "
                                                                 "here.")]})
        if not new_owner.has_right(Right.EDIT_BUSINESS_DATA):
            raise ValidationFailed(field_errors={"new_owner": [_("This person may not own customers.")]})
        if not is_admin(actor) and not person_in_scope(actor, new_owner):
            raise PermissionRefused(_("You can only re-assign to people in your scope."),
                                    extra={"right": "allocation.reassign"})
        if new_owner.pk == customer.owner_id:
            raise ValidationFailed(field_errors={"new_owner": [_("%(person)s already owns this customer.") % {
                "person": new_owner}]})
    elif customer.owner_id is None:
        raise ValidationFailed(field_errors={"new_owner": [_("The customer is already in the pool.")]})
    if pool is not None and not pool.is_active:
        raise ValidationFailed(field_errors={"pool": [_("This pool is closed; choose an active one.")]})
    allocation_lock()
    previous = customer.owner_id
    if pool is not None and pool.pk != customer.pool_id:
        Customer.objects.filter(pk=customer.pk).update(pool=pool, updated_at=timezone.now())
        customer.pool = pool
    customer = owner_change(customer=customer, expected_owner_id=previous, new_owner=new_owner,
                            kind=OwnershipKind.ALLOCATION, actor=actor, reason=reason, reference="allocation:manual")
    value = Intake.objects.filter(customer=customer).exclude(expected_value=None).order_by("-submitted_at").values_list(
        "expected_value", flat=True).first() or Decimal(0)
    row = AllocationDecision.objects.create(
        customer=customer, intake=None, version=None, rule_key="", rule_index=-1, strategy="", candidates=[],
        reason_code="manual_override", reason_params={"previous_owner_id": previous},
        outcome=DecisionOutcome.PERSON if new_owner else DecisionOutcome.POOL, person=new_owner,
        previous_owner_id=previous, pool=customer.pool if new_owner is None else None,
        team_id=new_owner.team_id if new_owner else None, tier=customer.tier, size=customer.size, value=value,
        is_manual=True, actor=actor, reason=reason, decided_at=timezone.now())
    audit_record(actor=actor, action="allocation.decision.overridden", obj=row, object_label=customer.name,
                 reason=reason, changes={"owner": {"before": previous, "after": new_owner.pk if new_owner else None},
                                         "customer": {"before": None, "after": customer.pk}})
    return row
