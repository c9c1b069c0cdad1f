"""Contracts through the approval engine: submit, locked while pending, decided by the supervisor (never by the
author), then signed."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.approvals.selectors import latest_request_for
from kamguard.approvals.services import approval_decide, approval_withdraw
from kamguard.contracts import services
from kamguard.contracts.models import Contract, ContractStatus
from kamguard.contracts.tests.conftest import Book
from kamguard.core.errors import Conflict, DomainError


def _draft(world: Any, book: Book) -> Contract:
    return services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="年度合同", amount="50000")


def test_submit_lock_approve_sign(world: Any, book: Book) -> None:
    contract = services.contract_submit(actor=world.alice, contract_id=_draft(world, book).pk)
    assert contract.status == ContractStatus.PENDING
    with pytest.raises(Conflict) as caught:
        services.contract_update(actor=world.alice, contract_id=contract.pk, title="改")
    assert caught.value.code == "contract_locked"
    request = latest_request_for(kind=services.APPROVAL_KIND, subject_id=contract.pk)
    assert request is not None and request.status == "pending"
    with pytest.raises(DomainError):  # the author never approves
        approval_decide(actor=world.alice, request_id=request.pk, approve=True, reason="ok")
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.PENDING
    assert not book.acme.timeline.filter(kind="contracts.approved").exists()
    approval_decide(actor=world.sam, request_id=request.pk, approve=True, reason="同意")
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.APPROVED
    # the approval is part of the customer's story, with who gave it
    entry = book.acme.timeline.get(kind="contracts.approved")
    assert entry.actor_id == world.sam.pk and contract.number in entry.summary
    signed = services.contract_sign(actor=world.alice, contract_id=contract.pk, signed_on=timezone.localdate())
    assert signed.status == ContractStatus.SIGNED


def test_reject_then_change_and_withdraw(world: Any, book: Book) -> None:
    contract = services.contract_submit(actor=world.alice, contract_id=_draft(world, book).pk)
    request = latest_request_for(kind=services.APPROVAL_KIND, subject_id=contract.pk)
    assert request is not None
    approval_decide(actor=world.sam, request_id=request.pk, approve=False, reason="金额过高")
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.REJECTED
    assert book.acme.timeline.filter(kind="contracts.rejected", actor=world.sam).count() == 1
    services.contract_update(actor=world.alice, contract_id=contract.pk, amount="40000")
    services.contract_submit(actor=world.alice, contract_id=contract.pk)
    second = latest_request_for(kind=services.APPROVAL_KIND, subject_id=contract.pk)
    assert second is not None and second.pk != request.pk
    approval_withdraw(actor=world.alice, request_id=second.pk, reason="再改")
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.DRAFT
    assert book.acme.timeline.filter(kind__in=["contracts.approved", "contracts.rejected"]).count() == 1


def test_detail_page_shows_approval(world: Any, book: Book, client_for: Any) -> None:
    contract = services.contract_submit(actor=world.alice, contract_id=_draft(world, book).pk)
    page = client_for(world.person("sam")).get(reverse("contracts:contract_detail", args=[contract.pk]))
    assert page.status_code == 200
