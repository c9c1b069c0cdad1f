"""Intake: every lead gets exactly one outcome; the engine's decision lands as an owner, a ledger row, a log row
and an audit event; duplicates go to the existing owner; possible duplicates wait for review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.allocation.models import AllocationDecision, Intake, RoundRobinCursor
from kamguard.allocation.services.intake import intake_review, intake_submit
from kamguard.allocation.services.people import absence_add, capacity_set, departure_notice_set
from kamguard.allocation.tests.conftest import lead
from kamguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, OwnershipChange, TimelineEntry
from kamguard.customers.services.records import customer_create


def _owner(customer_id: int) -> int | None:
    return Customer.objects.filter(pk=customer_id).values_list("owner_id", flat=True).get()


def test_round_robin_goes_round_the_team_and_every_step_is_explained(world, alloc):
    # given four Shanghai leads
    owners = []
    for _ in range(4):
        intake = intake_submit(actor=world.sam, channel="form", fields=lead(region="310115", tier="B"))
        # then each becomes a customer owned by the next member, with the ledger, the log and the audit event
        assert intake.outcome == "allocated"
        owners.append(intake.customer.owner_id)
        decision = AllocationDecision.objects.get(intake=intake)
        assert decision.rule_key == "shanghai" and decision.strategy == "round_robin"
        assert decision.reason_code == "round_robin_next"
        assert decision.version_id == alloc.version.pk
        assert [c["chosen"] for c in decision.candidates].count(True) == 1
        change = OwnershipChange.objects.get(customer=intake.customer)
        assert change.kind == "allocation" and change.to_owner_id == decision.person_id
        assert AuditEvent.objects.filter(action="allocation.intake.allocated", object_id=str(intake.pk)).exists()
        assert TimelineEntry.objects.filter(customer=intake.customer, kind="allocation.decided").exists()
        assert "上海" in intake.outcome_detail
    assert owners == [world.alice.pk, world.bob.pk, world.sue.pk, world.alice.pk]
    assert RoundRobinCursor.objects.get(team=world.team_a).version == 4


def test_key_account_goes_to_the_named_person_unless_absent(world, alloc):
    intake = intake_submit(actor=world.sam, channel="api", fields=lead(region="310115", tier="A",
                                                                        expected_value="1200000"))
    assert intake.customer.owner_id == world.henry.pk
    decision = AllocationDecision.objects.get(intake=intake)
    assert decision.reason_code == "rule_person" and decision.value == 1200000
    today = timezone.localdate()
    absence_add(actor=world.sam, person=world.henry, kind="on_leave", starts_on=today, ends_on=today)
    # when henry is on leave, the next matching rule (Shanghai round-robin) decides, and the log says why
    second = intake_submit(actor=world.sam, channel="api", fields=lead(region="310115", tier="A"))
    decision = AllocationDecision.objects.get(intake=second)
    assert second.customer.owner_id == world.alice.pk
    assert {"person_id": world.henry.pk, "skipped": "on_leave"}.items() <= decision.candidates[0].items()


def test_leaving_and_at_capacity_people_are_skipped_to_the_fallback(world, alloc):
    capacity_set(actor=world.adam, person=world.carol, tier="C", capacity=0)
    intake = intake_submit(actor=world.sam, channel="form", fields=lead(region="510104"))
    assert intake.outcome == "pool" and intake.customer.owner_id is None
    assert intake.customer.pool_id == alloc.pool.pk
    decision = AllocationDecision.objects.get(intake=intake)
    assert decision.reason_code == "all_skipped_fallback"
    assert decision.candidates == [{"person_id": world.carol.pk, "chosen": False, "skipped": "at_capacity", "load": 0,
                                    "capacity": 0, "detail": "", "rule_key": "sichuan"}]
    departure_notice_set(actor=world.adam, person=world.henry, noticed_on=timezone.localdate())
    second = intake_submit(actor=world.sam, channel="form", fields=lead(tier="A"))
    assert second.customer.owner_id is None  # henry leaving, no region: the fallback pool
    assert AllocationDecision.objects.get(intake=second).candidates[0]["skipped"] == "leaving"


def test_duplicate_goes_to_the_existing_owner_never_a_second_owner(world, alloc):
    existing = customer_create(actor=world.carol, name="深圳市腾达电子科技有限公司", uscc="91440300MA5FUYN44E",
                               pool=alloc.pool)
    customers_before = Customer.objects.count()
    intake = intake_submit(actor=world.sam, channel="import",
                           fields=lead("深圳市腾达电子科技有限公司", region="310115", uscc="91440300MA5FUYN44E"))
    assert intake.outcome == "duplicate" and intake.duplicate_of_id == existing.pk and intake.customer is None
    assert Customer.objects.count() == customers_before
    assert _owner(existing.pk) == world.carol.pk
    assert OwnershipChange.objects.filter(customer=existing).count() == 1
    entry = TimelineEntry.objects.get(customer=existing, kind="intake.duplicate")
    assert entry.data["intake"] == intake.pk
    assert not AllocationDecision.objects.filter(intake=intake).exists()
    assert not RoundRobinCursor.objects.exists()  # the engine never ran


def test_possible_duplicate_is_held_then_reviewed(world, alloc):
    customer_create(actor=world.alice, name="上海浦江物流有限公司", pool=alloc.pool)
    held = intake_submit(actor=world.bob, channel="form", fields=lead("上海浦疆物流有限公司", region="310115"))
    assert held.outcome == "held" and held.customer is None
    assert held.dedupe_verdict == "possible_duplicate" and held.dedupe_candidates
    # an outsider cannot review it; the reason is required
    with pytest.raises(PermissionRefused):
        intake_review(actor=world.carol, intake_id=held.pk, action="proceed", reason="不同公司")
    with pytest.raises(ValidationFailed):
        intake_review(actor=world.sam, intake_id=held.pk, action="proceed", reason=" ")
    assert Intake.objects.get(pk=held.pk).outcome == "held"
    done = intake_review(actor=world.sam, intake_id=held.pk, action="proceed", reason="股份公司是另一家法人")
    assert done.outcome == "allocated" and done.customer is not None and done.reviewed_by_id == world.sam.pk
    assert TimelineEntry.objects.filter(customer=done.customer, kind="customer.possible_duplicate").exists()
    with pytest.raises(Conflict):
        intake_review(actor=world.sam, intake_id=held.pk, action="reject", reason="再来一次")


def test_possible_duplicate_with_a_reason_goes_straight_through(world, alloc):
    customer_create(actor=world.alice, name="上海浦江物流有限公司", pool=alloc.pool)
    intake = intake_submit(actor=world.bob, channel="form", duplicate_reason="另一家法人",
                           fields=lead("上海浦疆物流有限公司", region="310115"))
    assert intake.outcome == "allocated"


@pytest.mark.parametrize("fields,field", [
    ({"name": " "}, "name"),
    ({"name": "上海某某有限公司", "uscc": "91440300MA5FUYN44X"}, "uscc"),
    ({"name": "上海某某有限公司", "tier": "Z"}, "tier"),
    ({"name": "上海某某有限公司", "region": "999999"}, "region"),
    ({"name": "上海某某有限公司", "industry": "no-such"}, "industry"),
    ({"name": "上海某某有限公司", "expected_value": "lots"}, "expected_value"),
    ({"name": "上海某某有限公司", "contact_phone": "12"}, "contact_phone"),
    ({"name": "上海某某有限公司", "colour": "red"}, "colour"),
])
def test_bad_lead_is_refused_with_the_field_and_nothing_is_created(world, alloc, fields, field):
    before = Customer.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        intake_submit(actor=world.sam, channel="form", fields=fields)
    assert field in caught.value.field_errors
    assert Customer.objects.count() == before and not Intake.objects.exists()


def test_bad_lead_from_the_api_is_recorded_as_rejected(world, alloc):
    with pytest.raises(ValidationFailed) as caught:
        intake_submit(actor=world.sam, channel="api", fields={"name": ""})
    rejected = Intake.objects.get(pk=caught.value.extra["intake_id"])
    assert rejected.outcome == "rejected" and "name" in rejected.outcome_detail


@pytest.mark.parametrize("persona", ["audrey", "adam", "hanna"])
def test_people_without_the_right_to_edit_business_data_cannot_submit(world, alloc, persona):
    with pytest.raises(PermissionRefused):
        intake_submit(actor=world.person(persona), channel="form", fields=lead(region="310115"))
    assert not Intake.objects.exists() and not AllocationDecision.objects.exists()


def test_unknown_channel_is_refused(world, alloc):
    with pytest.raises(ValidationFailed):
        intake_submit(actor=world.sam, channel="fax", fields=lead())


def test_without_an_active_version_leads_wait_in_the_default_pool(world, alloc):
    from kamguard.allocation.services.rulesets import rule_set_version_retire

    rule_set_version_retire(actor=world.adam, version_id=alloc.version.pk, reason="重写中")
    intake = intake_submit(actor=world.sam, channel="form", fields=lead(region="310115"))
    assert intake.outcome == "pool" and intake.customer.owner_id is None
    assert AllocationDecision.objects.get(intake=intake).reason_code == "no_active_rule_set"


def test_backdated_intake_is_dated_in_the_ledger(world, alloc):
    when = timezone.now() - dt.timedelta(days=40)
    intake = intake_submit(actor=None, channel="import", fields=lead(region="310115"), submitted_at=when)
    decision = AllocationDecision.objects.get(intake=intake)
    assert decision.decided_at == when
    assert intake.customer.created_on == timezone.localdate(when)
