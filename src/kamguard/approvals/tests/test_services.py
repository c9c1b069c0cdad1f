"""The engine: policy choice, chain resolution, decisions, segregation of duties, delegation, reminders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from kamguard.approvals import selectors, services
from kamguard.approvals.domain import ApprovalFacts
from kamguard.approvals.models import ApprovalPolicy, ApprovalRequest, ApprovalStep, Delegation
from kamguard.approvals.tests.conftest import KIND
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.org.models import RoleAssignment, RoleConflict

pytestmark = pytest.mark.django_db


def submit(world, amount="5000", subject_id=1, actor=None):
    return services.approval_submit(actor=actor or world.alice, kind=KIND, subject_id=subject_id,
                                    facts=ApprovalFacts(amount=Decimal(amount), tier="A"), summary="A thing")


def test_no_matching_policy_is_approved_automatically_and_recorded(world, policy, thing):
    request = submit(world, amount="10")
    assert (request.status, request.auto, request.policy_id) == ("approved", True, None)
    assert thing.calls == [("approved", 1, world.alice.pk)]
    assert not request.steps.exists()
    assert AuditEvent.objects.filter(action="approvals.request.auto_approved", object_id=str(request.pk)).exists()
    assert list(request.events.values_list("action", flat=True)) == ["auto_approved"]


def test_small_amount_goes_to_the_supervisor_and_locks_the_subject(world, policy, thing):
    request = submit(world)
    assert request.status == "pending" and request.policy_id == policy["small"].pk
    step = request.steps.get()
    assert (step.approver_id, step.status, step.stage) == (world.sam.pk, "pending", 1)
    assert step.due_at is not None
    assert selectors.is_locked(kind=KIND, subject_id=1)
    assert selectors.pending_request_for(kind=KIND, subject_id=1) == request
    assert [s.pk for s in selectors.inbox(viewer=world.sam)] == [step.pk]
    assert not selectors.inbox(viewer=world.bob).exists()
    done = services.approval_decide(actor=world.sam, request_id=request.pk, approve=True, reason="ok")
    assert done.status == "approved" and done.decided_by_id == world.sam.pk
    assert thing.calls == [("approved", 1, world.sam.pk)]
    assert not selectors.is_locked(kind=KIND, subject_id=1)
    assert selectors.latest_request_for(kind=KIND, subject_id=1) == done


def test_big_amount_is_serial_supervisor_then_finance(world, policy, thing):
    request = submit(world, amount="200000")
    steps = list(request.steps.order_by("stage"))
    assert [(s.stage, s.approver_id, s.role, s.status) for s in steps] == [
        (1, world.sam.pk, "", "pending"), (2, None, "finance", "waiting")]
    assert not selectors.inbox(viewer=world.fiona).exists()  # not finance's turn yet
    with pytest.raises(PermissionRefused) as caught:
        services.approval_decide(actor=world.fiona, request_id=request.pk, approve=True)
    assert caught.value.code == "not_your_step"
    services.approval_decide(actor=world.sam, request_id=request.pk, approve=True)
    assert thing.calls == []
    assert selectors.inbox(viewer=world.fiona).count() == 1
    done = services.approval_decide(actor=world.fiona, request_id=request.pk, approve=True)
    assert done.status == "approved" and thing.calls == [("approved", 1, world.fiona.pk)]


def test_parallel_stage_needs_all(world, thing):
    services.policy_create(actor=world.adam, name="Both", kind=KIND, steps=[
        {"stage": 1, "approver": "supervisor"}, {"stage": 1, "approver": "finance"}])
    request = submit(world)
    assert sorted(request.steps.values_list("status", flat=True)) == ["pending", "pending"]
    services.approval_decide(actor=world.fiona, request_id=request.pk, approve=True)
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"
    services.approval_decide(actor=world.sam, request_id=request.pk, approve=True)
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"


def test_reject_needs_a_reason_and_nothing_changes_without_one(world, policy, thing):
    request = submit(world)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.approval_decide(actor=world.sam, request_id=request.pk, approve=False, reason="  ")
    assert "reason" in caught.value.field_errors
    assert request.steps.get().status == "pending" and AuditEvent.objects.count() == events
    done = services.approval_decide(actor=world.sam, request_id=request.pk, approve=False, reason="价格太低")
    assert done.status == "rejected" and done.outcome_reason == "价格太低"
    assert thing.calls == [("rejected", 1, world.sam.pk)]


def test_requester_and_parties_can_never_approve(world, policy, thing):
    thing.party_ids[1] = (world.sam.pk,)
    request = submit(world, actor=world.bob)
    # sam made the thing: the chain skips him; nobody else above bob → any supervisor with bob in scope
    step = request.steps.get()
    assert step.approver_id is None and step.role == "supervisor"
    for actor in (world.bob, world.sam):
        with pytest.raises(PermissionRefused) as caught:
            services.approval_decide(actor=actor, request_id=request.pk, approve=True)
        assert caught.value.code == "self_approval"
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_supervisor_requesting_cannot_approve_own(world, policy, thing):
    request = submit(world, actor=world.sam)
    with pytest.raises(PermissionRefused) as caught:
        services.approval_decide(actor=world.sam, request_id=request.pk, approve=True)
    assert caught.value.code == "self_approval"


def test_auditor_outsider_and_other_supervisor_are_refused(world, policy, thing):
    request = submit(world)
    with pytest.raises(PermissionRefused):
        services.approval_decide(actor=world.audrey, request_id=request.pk, approve=True)
    with pytest.raises(NotFound):
        services.approval_decide(actor=world.carol, request_id=request.pk, approve=True)
    with pytest.raises(NotFound):  # a manager sees only their own
        services.approval_decide(actor=world.bob, request_id=request.pk, approve=True)
    assert ApprovalStep.objects.get(request=request).status == "pending"


def test_incompatible_roles_are_refused(world, thing):
    services.policy_create(actor=world.adam, name="Finance", kind=KIND, steps=[{"approver": "finance"}])
    request = submit(world)
    # fiona was given the manager role before the conflict was declared (finance ≠ manager is seeded)
    RoleAssignment.objects.create(user=world.fiona, role="manager")
    # seeded by org's migration (a transactional test elsewhere may have flushed it)
    RoleConflict.objects.get_or_create(role_a="finance", role_b="manager",
                                       defaults={"reason": "Whoever sells cannot confirm the payment for the sale."})
    with pytest.raises(PermissionRefused) as caught:
        services.approval_decide(actor=world.person("fiona"), request_id=request.pk, approve=True)
    assert caught.value.code == "role_conflict"
    assert "finance" in str(caught.value.message) and "manager" in str(caught.value.message)


def test_deciding_a_decided_request_is_a_conflict(world, policy, thing):
    request = submit(world)
    services.approval_decide(actor=world.sam, request_id=request.pk, approve=True)
    with pytest.raises(Conflict) as caught:
        services.approval_decide(actor=world.sam, request_id=request.pk, approve=False, reason="x")
    assert caught.value.code == "already_decided"
    assert thing.calls == [("approved", 1, world.sam.pk)]


def test_stale_revision_loses(world, policy, thing):
    """Two decisions read the same revision: the second one's conditional update changes nothing."""
    request = submit(world)
    ApprovalRequest.objects.filter(pk=request.pk).update(revision=5)  # someone decided in between
    stale = ApprovalRequest.objects.get(pk=request.pk)
    stale.revision = 4
    from unittest import mock

    with mock.patch.object(services, "_visible_request", return_value=stale), pytest.raises(Conflict):
        services.approval_decide(actor=world.sam, request_id=request.pk, approve=True)
    assert ApprovalStep.objects.get(request=request).status == "pending"


def test_second_pending_request_for_a_subject_is_refused(world, policy, thing):
    submit(world)
    with pytest.raises(Conflict) as caught:
        submit(world)
    assert caught.value.code == "approval_pending"
    assert ApprovalRequest.objects.count() == 1


def test_withdraw_only_by_requester(world, policy, thing):
    request = submit(world)
    with pytest.raises(PermissionRefused):
        services.approval_withdraw(actor=world.sam, request_id=request.pk, reason="")
    done = services.approval_withdraw(actor=world.alice, request_id=request.pk, reason="改了")
    assert done.status == "withdrawn" and thing.calls == [("withdrawn", 1, world.alice.pk)]
    assert request.steps.get().status == "skipped"
    with pytest.raises(Conflict):
        services.approval_withdraw(actor=world.alice, request_id=request.pk)


def test_delegate_acts_on_behalf_of(world, policy, thing):
    today = timezone.localdate()
    services.delegation_create(actor=world.sam, delegate_id=world.henry.pk, starts_on=today,
                               ends_on=today + dt.timedelta(days=3), reason="出差")
    request = submit(world)
    assert [s.request_id for s in selectors.inbox(viewer=world.henry)] == [request.pk]
    services.approval_decide(actor=world.henry, request_id=request.pk, approve=True, reason="代批")
    step = request.steps.get()
    assert (step.decided_by_id, step.on_behalf_of_id) == (world.henry.pk, world.sam.pk)
    assert request.events.filter(action="step_approved", on_behalf_of=world.sam).exists()


def test_delegate_who_is_the_requester_cannot_approve(world, policy, thing):
    today = timezone.localdate()
    services.delegation_create(actor=world.sam, delegate_id=world.alice.pk, starts_on=today, ends_on=today)
    request = submit(world)
    with pytest.raises(PermissionRefused) as caught:
        services.approval_decide(actor=world.alice, request_id=request.pk, approve=True)
    assert caught.value.code == "self_approval"


def test_delegation_bad_input(world, thing):
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as caught:
        services.delegation_create(actor=world.sam, delegate_id=world.sam.pk, starts_on=today, ends_on=today)
    assert "delegate" in caught.value.field_errors
    with pytest.raises(ValidationFailed) as caught:
        services.delegation_create(actor=world.sam, delegate_id=world.henry.pk, starts_on=today,
                                   ends_on=today - dt.timedelta(days=1))
    assert "ends_on" in caught.value.field_errors
    with pytest.raises(ValidationFailed):
        services.delegation_create(actor=world.sam, delegate_id=world.audrey.pk, starts_on=today, ends_on=today)
    services.delegation_create(actor=world.sam, delegate_id=world.henry.pk, starts_on=today, ends_on=today)
    with pytest.raises(ValidationFailed) as caught:
        services.delegation_create(actor=world.sam, delegate_id=world.bob.pk, starts_on=today, ends_on=today)
    assert caught.value.code == "delegation_overlap"
    with pytest.raises(PermissionRefused):
        services.delegation_create(actor=world.bob, delegate_id=world.henry.pk, starts_on=today, ends_on=today,
                                   delegator_id=world.sam.pk)
    assert Delegation.objects.count() == 1


def test_absent_supervisor_without_delegate_is_skipped(world, thing):
    from kamguard.allocation.models import Absence

    world.east.head = world.sam
    world.east.save()
    world.company.head = world.adam  # an admin cannot approve business data: skipped too
    world.company.save()
    services.policy_create(actor=world.adam, name="Sup", kind=KIND, steps=[{"approver": "supervisor"}])
    today = timezone.localdate()
    Absence.objects.create(person=world.sam, kind="absent", starts_on=today, ends_on=today)
    request = submit(world)
    step = request.steps.get()
    assert (step.approver_id, step.role) == (None, "supervisor")


def test_director_is_the_head_above(world, thing):
    world.east.head = world.sam
    world.east.save()
    world.company.head = world.fiona
    world.company.save()
    services.policy_create(actor=world.adam, name="Two", kind=KIND, steps=[
        {"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "director"}])
    request = submit(world)
    assert list(request.steps.order_by("stage").values_list("approver_id", flat=True)) == [world.sam.pk,
                                                                                          world.fiona.pk]


def test_same_person_twice_in_a_chain_is_kept_once(world, thing):
    services.policy_create(actor=world.adam, name="Twice", kind=KIND, steps=[
        {"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "person", "user_id": world.sam.pk}])
    request = submit(world)
    assert list(request.steps.values_list("approver_id", flat=True)) == [world.sam.pk]


def test_reminders_and_overdue_are_sent_once(world, policy, thing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(world)
    assert len(mail.outbox) == 1 and "A thing" in mail.outbox[0].subject  # the approver is told at once
    step = request.steps.get()
    mail.outbox.clear()
    soon = step.due_at - dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.approval_reminders_run(now=soon)
    assert first["reminded"] == [step.pk] and len(mail.outbox) == 1 and mail.outbox[0].to == ["sam@example.com"]
    assert services.approval_reminders_run(now=soon) == {"reminded": [], "overdue": []}
    late = step.due_at + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approval_reminders_run(now=late)["overdue"] == [step.pk]
    assert services.approval_reminders_run(now=late)["overdue"] == []
    assert len(mail.outbox) == 2
    assert [s.pk for s in selectors.inbox(viewer=world.sam, overdue_only=True, now=late)] == [step.pk]


def test_policy_admin_only_versioned_and_validated(world, thing):
    with pytest.raises(PermissionRefused):
        services.policy_create(actor=world.sam, name="x", kind=KIND)
    with pytest.raises(ValidationFailed) as caught:
        services.policy_create(actor=world.adam, name="", kind="nope", min_discount_pct="120",
                               min_amount="10", max_amount="5", steps=[{"approver": "boss"}], tiers="D")
    assert set(caught.value.field_errors) >= {"name", "kind", "min_discount_pct", "max_amount", "steps", "tiers"}
    assert not ApprovalPolicy.objects.exists()
    p = services.policy_create(actor=world.adam, name="p", kind=KIND, tiers="a, b")
    assert (p.version, p.tiers) == (1, "A,B")
    p = services.policy_update(actor=world.adam, policy_id=p.pk, min_discount_pct="10")
    assert p.version == 2
    event = AuditEvent.objects.filter(action="approvals.policy.changed").get()
    assert event.changes["version"] == {"before": 1, "after": 2}
    p = services.policy_deactivate(actor=world.adam, policy_id=p.pk)
    assert (p.is_active, p.version) == (False, 3)


def test_handler_failure_rolls_everything_back(world, policy, thing):
    request = submit(world)
    thing.fail_on_approve = True
    events = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        services.approval_decide(actor=world.sam, request_id=request.pk, approve=True)
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"
    assert request.steps.get().status == "pending"
    assert AuditEvent.objects.count() == events


def test_unknown_kind_and_bad_facts(world, thing):
    with pytest.raises(ValidationFailed) as caught:
        services.approval_submit(actor=world.alice, kind="x.y", subject_id=1, facts=ApprovalFacts(), summary="")
    assert caught.value.code == "unknown_kind"
    with pytest.raises(ValidationFailed):
        services.approval_submit(actor=world.alice, kind=KIND, subject_id=1,
                                 facts=ApprovalFacts(discount_pct=Decimal("101")), summary="")
    with pytest.raises(PermissionRefused):
        services.approval_submit(actor=world.audrey, kind=KIND, subject_id=1, facts=ApprovalFacts(), summary="")
    assert not ApprovalRequest.objects.exists()


def test_reminder_task_runs_the_service(world, policy, thing):
    from kamguard.approvals.tasks import approval_reminders

    submit(world)
    ApprovalStep.objects.update(due_at=timezone.now() - dt.timedelta(minutes=5))
    assert approval_reminders.call() == {"reminded": 0, "overdue": 1}
    assert approval_reminders.call() == {"reminded": 0, "overdue": 0}
