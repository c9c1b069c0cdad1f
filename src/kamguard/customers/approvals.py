"""Customer transfers through the approval engine: the handler of the kind "customers.transfer".

The subject is a `TransferRequest` (its id is the approval's subject id). The default chain — when no policy
of this kind matches — is the requester's supervisor, the rule transfers always had. On approval the owner
changes through `owner_change`, so the ownership ledger names who approved it.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.approvals.domain import SUPERVISOR, StepSpec
from kamguard.approvals.registry import SubjectHandler
from kamguard.core.audit import audit_record
from kamguard.core.errors import PermissionRefused
from kamguard.customers.models import OwnershipKind, RequestStatus, TransferRequest

KIND = "customers.transfer"


def _transfer(subject_id: int) -> TransferRequest:
    return TransferRequest.objects.select_related("customer", "from_owner", "to_owner", "requested_by").get(
        pk=subject_id)


class TransferHandler(SubjectHandler):
    kind = KIND
    label = gettext_lazy("Customer transfer")
    default_steps = (StepSpec(stage=1, approver=SUPERVISOR),)

    def describe(self, subject_id: int) -> str:
        transfer = TransferRequest.objects.select_related("customer", "to_owner").filter(pk=subject_id).first()
        if transfer is None:
            return _("Transfer request #%(id)s") % {"id": subject_id}
        return _("Transfer %(customer)s to %(to)s") % {
            "customer": transfer.customer.name, "to": transfer.to_owner or _("the shared pool")}

    def url(self, subject_id: int) -> str:
        customer_id = TransferRequest.objects.filter(pk=subject_id).values_list("customer_id", flat=True).first()
        return reverse("customers:customer_detail", args=[customer_id]) if customer_id else ""

    def parties(self, subject_id: int) -> tuple[int, ...]:
        row = TransferRequest.objects.filter(pk=subject_id).values_list("requested_by_id", "from_owner_id",
                                                                         "to_owner_id").first()
        return tuple(i for i in (row or ()) if i)

    def check_decide(self, request: Any, *, actor: Any, approve: bool) -> None:
        from kamguard.customers.services.common import visible_customer
        from kamguard.org.scopes import person_in_scope

        transfer = _transfer(request.subject_id)
        visible_customer(actor, transfer.customer_id)
        if approve and transfer.to_owner is not None and not person_in_scope(actor, transfer.to_owner):
            raise PermissionRefused(_("The receiver is outside your scope; their supervisor must decide."),
                                    code="transfer_scope", extra={"right": "transfer.scope"})

    def _close(self, request: Any, *, actor: Any, status: str) -> TransferRequest | None:
        updated = TransferRequest.objects.filter(pk=request.subject_id, status=RequestStatus.PENDING).update(
            status=status, decided_by=actor if status != RequestStatus.CANCELLED else None,
            decided_at=timezone.now(), decision_reason=request.outcome_reason or "", updated_at=timezone.now())
        if updated != 1:
            return None  # closed by another path meanwhile: nothing more to do
        return _transfer(request.subject_id)

    def on_approved(self, request: Any, *, actor: Any) -> None:
        from kamguard.customers.services.ownership import owner_change

        transfer = self._close(request, actor=actor, status=RequestStatus.APPROVED)
        if transfer is None:
            return
        audit_record(actor=actor, action="customers.transfer.approved", obj=transfer, reason=request.outcome_reason,
                     changes={"approval": request.pk, "auto": request.auto})
        owner_change(customer=transfer.customer, expected_owner_id=transfer.from_owner_id,
                     new_owner=transfer.to_owner, kind=OwnershipKind.TRANSFER, actor=transfer.requested_by,
                     approved_by=actor, reason=transfer.reason, reference=f"transfer-request:{transfer.pk}")

    def on_rejected(self, request: Any, *, actor: Any) -> None:
        from kamguard.customers.services.common import timeline_add

        transfer = self._close(request, actor=actor, status=RequestStatus.REJECTED)
        if transfer is None:
            return
        audit_record(actor=actor, action="customers.transfer.rejected", obj=transfer, reason=request.outcome_reason,
                     changes={"approval": request.pk})
        timeline_add(customer=transfer.customer, kind="transfer.rejected", actor=actor,
                     summary=_("Transfer request rejected: %(reason)s") % {"reason": request.outcome_reason})

    def on_withdrawn(self, request: Any, *, actor: Any) -> None:
        transfer = self._close(request, actor=actor, status=RequestStatus.CANCELLED)
        if transfer is None:
            return
        audit_record(actor=actor, action="customers.transfer.cancelled", obj=transfer,
                     changes={"approval": request.pk})
