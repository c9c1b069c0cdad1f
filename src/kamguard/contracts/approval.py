"""The contract as a subject of the approval engine (kind "contracts.contract")."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kamguard.contracts.models import Contract
from kamguard.contracts.services import APPROVAL_KIND, contract_decided


def _handler_class() -> Any:
    from kamguard.approvals.domain import SUPERVISOR, StepSpec
    from kamguard.approvals.registry import SubjectHandler

    class ContractHandler(SubjectHandler):  # type: ignore[misc,valid-type]
        kind = APPROVAL_KIND
        label = _("Contract")
        # Without a policy for the amount and tier, a contract still needs the manager's supervisor (S4).
        default_steps = (StepSpec(stage=1, approver=SUPERVISOR),)

        def describe(self, subject_id: int) -> str:
            contract = Contract.objects.filter(pk=subject_id).select_related("customer").first()
            if contract is None:
                return str(_("(deleted contract)"))
            return f"{contract.number} · {contract.customer.name} · {contract.amount} {contract.currency}"

        def url(self, subject_id: int) -> str:
            return reverse("contracts:contract_detail", args=[subject_id])

        def parties(self, subject_id: int) -> tuple[int, ...]:
            contract = Contract.objects.filter(pk=subject_id).values("created_by_id", "manager_id").first()
            if contract is None:
                return ()
            return tuple(sorted({pk for pk in (contract["created_by_id"], contract["manager_id"]) if pk}))

        def on_approved(self, request: Any, *, actor: Any) -> None:
            contract_decided(contract_id=request.subject_id, approved=True, actor=actor)

        def on_rejected(self, request: Any, *, actor: Any) -> None:
            contract_decided(contract_id=request.subject_id, approved=False, actor=actor)

        def on_withdrawn(self, request: Any, *, actor: Any) -> None:
            contract_decided(contract_id=request.subject_id, approved=None, actor=actor)

    return ContractHandler


def register() -> None:
    try:
        from kamguard.approvals.registry import subject_register
    except ImportError:  # the engine's registry not there yet: contracts stay drafts until it is
        return
    subject_register(_handler_class()())
