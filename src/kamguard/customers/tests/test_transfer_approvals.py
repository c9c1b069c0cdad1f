"""Transfer requests run through the approval engine (kind "customers.transfer")."""

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.approvals import selectors as approval_selectors
from kamguard.approvals import services as approvals
from kamguard.approvals.models import ApprovalRequest
from kamguard.core.errors import Conflict, NotFound, PermissionRefused
from kamguard.customers.models import Customer, OwnershipChange, RequestStatus, TransferRequest
from kamguard.customers.services import ownership

KIND = "customers.transfer"


def _owner(customer):
    return Customer.objects.get(pk=customer.pk).owner_id


def test_request_opens_an_approval_for_the_requesters_supervisor(world, book):
    transfer = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk,
                                                 to_owner_id=world.bob.pk, reason="alice 调岗")
    approval = approval_selectors.pending_request_for(kind=KIND, subject_id=transfer.pk)
    assert approval is not None and approval.requested_by_id == world.alice.pk and approval.facts["tier"] == "B"
    assert list(approval.steps.values_list("approver_id", flat=True)) == [world.sam.pk]
    assert approval_selectors.is_locked(kind=KIND, subject_id=transfer.pk)
    # deciding in the approvals inbox applies the transfer, the ledger names the approver
    approvals.approval_decide(actor=world.sam, request_id=approval.pk, approve=True, reason="同意")
    assert _owner(book.alpha) == world.bob.pk
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by_id, transfer.decision_reason) == (
        RequestStatus.APPROVED, world.sam.pk, "同意")
    change = OwnershipChange.objects.filter(customer=book.alpha).latest("effective_at")
    assert (change.approved_by_id, change.reference) == (world.sam.pk, f"transfer-request:{transfer.pk}")


def test_rejection_and_cancel_close_both(world, book):
    transfer = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk,
                                                 to_owner_id=world.bob.pk, reason="x")
    ownership.transfer_request_decide(actor=world.sam, request_id=transfer.pk, approve=False, reason="不同意")
    transfer.refresh_from_db()
    assert transfer.status == RequestStatus.REJECTED and _owner(book.alpha) == world.alice.pk
    assert ApprovalRequest.objects.get(kind=KIND, subject_id=transfer.pk).status == "rejected"
    again = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk, to_owner_id=None,
                                              reason="y")
    ownership.transfer_request_cancel(actor=world.alice, request_id=again.pk)
    again.refresh_from_db()
    assert again.status == RequestStatus.CANCELLED
    assert ApprovalRequest.objects.get(kind=KIND, subject_id=again.pk).status == "withdrawn"
    with pytest.raises(Conflict):
        ownership.transfer_request_decide(actor=world.sam, request_id=again.pk, approve=True)


def test_delegate_decides_on_behalf_of_the_supervisor(world, book):
    today = timezone.localdate()
    approvals.delegation_create(actor=world.sam, delegate_id=world.henry.pk, starts_on=today,
                                ends_on=today + dt.timedelta(days=1))
    transfer = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk,
                                                 to_owner_id=world.bob.pk, reason="休假")
    approval = approval_selectors.pending_request_for(kind=KIND, subject_id=transfer.pk)
    # henry (a manager) cannot see alice's customer: the handler refuses before anything is written
    with pytest.raises(NotFound):
        approvals.approval_decide(actor=world.henry, request_id=approval.pk, approve=True)
    assert _owner(book.alpha) == world.alice.pk
    assert approval.steps.get().status == "pending"


def test_a_policy_without_steps_applies_the_transfer_at_once(world, book):
    approvals.policy_create(actor=world.adam, name="C-tier free", kind=KIND, tiers="B", steps=[])
    transfer = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk,
                                                 to_owner_id=world.bob.pk, reason="小客户")
    assert transfer.status == RequestStatus.APPROVED and _owner(book.alpha) == world.bob.pk
    assert ApprovalRequest.objects.get(kind=KIND, subject_id=transfer.pk).auto is True


def test_a_transfer_filed_before_the_engine_gets_an_approval_when_decided(world, book):
    legacy = TransferRequest.objects.create(customer=book.alpha, from_owner=world.alice, to_owner=world.bob,
                                            requested_by=world.alice, reason="旧")
    with pytest.raises(PermissionRefused):
        ownership.transfer_request_decide(actor=world.alice, request_id=legacy.pk, approve=True)
    ownership.transfer_request_decide(actor=world.sam, request_id=legacy.pk, approve=True)
    assert _owner(book.alpha) == world.bob.pk


def test_transfer_pages_show_the_chain_and_who_decides(world, book, client_for):
    transfer = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk,
                                                 to_owner_id=world.bob.pk, reason="页面")
    approval = approval_selectors.pending_request_for(kind=KIND, subject_id=transfer.pk)
    sam, alice = client_for(world.person("sam")), client_for(world.person("alice"))
    assert f"/customers/transfers/{transfer.pk}/decide/" in sam.get("/customers/transfers/").content.decode()
    listing = alice.get("/customers/transfers/").content.decode()
    assert f"/customers/transfers/{transfer.pk}/decide/" not in listing and f"/approvals/{approval.pk}/" in listing
    page = sam.get(f"/customers/transfers/{transfer.pk}/decide/").content.decode()
    assert "沈明" in page and f"/approvals/{approval.pk}/" in page
    assert alice.get(f"/customers/transfers/{transfer.pk}/decide/").status_code == 403
    assert client_for(world.person("henry")).get(f"/customers/transfers/{transfer.pk}/decide/").status_code == 404
    assert sam.post(f"/customers/transfers/{transfer.pk}/decide/", {"approve": "1", "reason": "好"}).status_code == 302
    assert _owner(book.alpha) == world.bob.pk
