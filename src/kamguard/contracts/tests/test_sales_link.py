"""A contract from an opportunity: signing it wins the opportunity (sales.services.opportunity_contract_signed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from kamguard.contracts import services
from kamguard.contracts.models import Contract, ContractStatus
from kamguard.contracts.tests.conftest import Book
from kamguard.sales.models import Opportunity
from kamguard.sales.services import opportunity_create


def test_signing_wins_the_opportunity(world: Any, book: Book) -> None:
    opportunity = opportunity_create(actor=world.alice, customer_id=book.acme.pk, name="二期扩产设备", amount="90000")
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="二期合同",
                                        amount="80000", opportunity_id=opportunity.pk)
    assert contract.opportunity_id == opportunity.pk and contract.lines.count() == 0  # no approved quote yet
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.PENDING)
    services.contract_decided(contract_id=contract.pk, approved=True, actor=world.sam)
    services.contract_sign(actor=world.alice, contract_id=contract.pk, signed_on=timezone.localdate())
    won = Opportunity.objects.get(pk=opportunity.pk)
    assert won.outcome == "won" and won.contract_id == contract.pk
    # what was won is what was signed, not the estimate; the credit split is of that amount
    assert won.amount == Decimal("80000.00")
    assert [Decimal(s["amount"]) for s in won.credit_split] == [Decimal("80000.00")]
