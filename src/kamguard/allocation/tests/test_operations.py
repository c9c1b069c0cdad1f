"""Capacities, absences, departure notices, team settings, manual re-assignment, simulation, fairness and the
public web form: who may do what, bad input, and that nothing changes on refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from kamguard.allocation.models import (
    Absence,
    AllocationDecision,
    FairnessAlert,
    Intake,
    PersonCapacity,
    TeamAllocationSetting,
)
from kamguard.allocation.services import intake as intake_service
from kamguard.allocation.services.fairness import (
    fairness_alert_acknowledge,
    fairness_check_run,
    fairness_report,
)
from kamguard.allocation.services.intake import intake_submit, web_form_token, web_intake_submit
from kamguard.allocation.services.overrides import customer_reassign
from kamguard.allocation.services.people import (
    absence_add,
    absence_remove,
    capacity_set,
    departure_notice_set,
    team_setting_save,
)
from kamguard.allocation.services.rulesets import rule_set_version_create
from kamguard.allocation.services.simulation import simulation_run
from kamguard.allocation.tests.conftest import lead
from kamguard.core.errors import NotFound, PermissionRefused, RateLimited, ValidationFailed
from kamguard.core.io.formats import FileRejected
from kamguard.customers.models import Customer, OwnershipChange

TODAY = dt.date(2026, 11, 23)


# ---------------------------------------------------------------- people and teams

@pytest.mark.parametrize("persona,allowed", [
    ("sam", True), ("adam", True), ("hanna", True), ("alice", False), ("bob", False), ("carol", False),
    ("audrey", False),
])
def test_who_may_set_capacity_and_absences_of_bob(world, alloc, persona, allowed):
    actor = world.person(persona)
    if allowed:
        capacity_set(actor=actor, person=world.bob, tier="A", capacity=3)
        absence = absence_add(actor=actor, person=world.bob, kind="absent", starts_on=TODAY, ends_on=TODAY)
        absence_remove(actor=actor, absence_id=absence.pk, reason="记录错误")
        assert PersonCapacity.objects.get(person=world.bob, tier="A").capacity == 3
        return
    with pytest.raises(PermissionRefused):
        capacity_set(actor=actor, person=world.bob, tier="A", capacity=3)
    with pytest.raises(PermissionRefused):
        absence_add(actor=actor, person=world.bob, kind="absent", starts_on=TODAY, ends_on=TODAY)
    with pytest.raises(PermissionRefused):
        departure_notice_set(actor=actor, person=world.bob, noticed_on=TODAY)
    assert not PersonCapacity.objects.exists() and not Absence.objects.exists()


def test_a_supervisor_cannot_touch_people_outside_their_scope(world, alloc):
    with pytest.raises(PermissionRefused):
        capacity_set(actor=world.sam, person=world.carol, tier="C", capacity=1)
    assert not PersonCapacity.objects.exists()


@pytest.mark.parametrize("kwargs,field", [
    ({"tier": "Z", "capacity": 1}, "tier"), ({"tier": "A", "capacity": -1}, "capacity"),
    ({"tier": "A", "capacity": "many"}, "capacity"),
])
def test_bad_capacity(world, alloc, kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        capacity_set(actor=world.adam, person=world.bob, **kwargs)
    assert field in caught.value.field_errors


def test_capacity_none_means_unlimited(world, alloc):
    capacity_set(actor=world.adam, person=world.bob, tier="A", capacity=2)
    assert capacity_set(actor=world.adam, person=world.bob, tier="A", capacity=None) is None
    assert not PersonCapacity.objects.exists()


def test_absences_must_be_ordered_and_not_overlap(world, alloc):
    with pytest.raises(ValidationFailed):
        absence_add(actor=world.adam, person=world.bob, kind="absent", starts_on=TODAY, ends_on=TODAY
                    - dt.timedelta(days=1))
    with pytest.raises(ValidationFailed):
        absence_add(actor=world.adam, person=world.bob, kind="holiday", starts_on=TODAY, ends_on=TODAY)
    absence_add(actor=world.adam, person=world.bob, kind="on_leave", starts_on=TODAY, ends_on=TODAY
                + dt.timedelta(days=5))
    with pytest.raises(ValidationFailed):
        absence_add(actor=world.adam, person=world.bob, kind="absent", starts_on=TODAY + dt.timedelta(days=3),
                    ends_on=TODAY + dt.timedelta(days=9))
    assert Absence.objects.count() == 1


def test_team_settings_bounds_and_permissions(world, alloc):
    setting = team_setting_save(actor=world.sam, team=world.team_a, max_gini_count="0.3", max_spread_count=3)
    assert setting.max_gini_count == Decimal("0.300") and setting.pool_id == alloc.team_pool.pk
    with pytest.raises(ValidationFailed):
        team_setting_save(actor=world.sam, team=world.team_a, max_gini_value="1.5")
    with pytest.raises(PermissionRefused):
        team_setting_save(actor=world.sam, team=world.team_cd, max_gini_count="0.1")
    with pytest.raises(PermissionRefused):
        team_setting_save(actor=world.alice, team=world.team_a, max_gini_count="0.9")
    assert TeamAllocationSetting.objects.get(team=world.team_a).max_gini_count == Decimal("0.300")
    assert not TeamAllocationSetting.objects.filter(team=world.team_cd).exists()


# ---------------------------------------------------------------- manual re-assignment

def test_manual_reassignment_needs_a_reason_and_is_logged_as_an_override(world, alloc):
    intake = intake_submit(actor=world.sam, channel="form", fields=lead(region="310115"))
    customer = intake.customer
    assert customer.owner_id == world.alice.pk
    with pytest.raises(ValidationFailed):
        customer_reassign(actor=world.sam, customer_id=customer.pk, new_owner=world.bob, reason="  ")
    for persona in ("alice", "bob", "carol", "audrey"):
        with pytest.raises((PermissionRefused, NotFound)):
            customer_reassign(actor=world.person(persona), customer_id=customer.pk, new_owner=world.bob,
                              reason="我想要")
    with pytest.raises(PermissionRefused):
        customer_reassign(actor=world.sam, customer_id=customer.pk, new_owner=world.carol, reason="跨区")
    assert Customer.objects.get(pk=customer.pk).owner_id == world.alice.pk
    assert not AllocationDecision.objects.filter(is_manual=True).exists()
    row = customer_reassign(actor=world.sam, customer_id=customer.pk, new_owner=world.bob, reason="客户要求王博对接")
    assert row.is_manual and row.reason_code == "manual_override" and row.previous_owner_id == world.alice.pk
    assert Customer.objects.get(pk=customer.pk).owner_id == world.bob.pk
    ledger = OwnershipChange.objects.filter(customer=customer).order_by("pk").last()
    assert ledger.kind == "allocation" and ledger.reason == "客户要求王博对接" and ledger.actor_id == world.sam.pk


# ---------------------------------------------------------------- simulation

def _past_intake(world, count: int) -> None:
    start = timezone.now() - dt.timedelta(days=20)
    for index in range(count):
        intake_submit(actor=None, channel="import", fields=lead(region="310115" if index % 2 else "510104",
                                                                 expected_value=str(100000 * (index + 1))),
                      submitted_at=start + dt.timedelta(hours=index))


def test_simulation_of_a_draft_against_last_months_intake_writes_nothing(world, alloc):
    _past_intake(world, 6)
    rules = alloc.rules(world)
    rules["rules"][1]["target"] = {"kind": "person", "id": world.bob.pk}  # all of Shanghai to bob
    draft = rule_set_version_create(actor=world.adam, rule_set_id=alloc.rule_set.pk, rules=rules)
    counts = (Customer.objects.count(), AllocationDecision.objects.count(), OwnershipChange.objects.count())
    result = simulation_run(actor=world.adam, version_id=draft.pk, months=1)
    assert result.subjects == 6 and result.source == "intake"
    by_person = {p.person_id: p for p in result.people}
    assert by_person[world.bob.pk].count == 3 and by_person[world.bob.pk].count_by_tier == {"C": 3}
    assert by_person[world.carol.pk].count == 3
    assert result.comparison is not None and result.comparison.changes  # differs from the active version
    assert result.figures.gini_count > 0
    assert (Customer.objects.count(), AllocationDecision.objects.count(), OwnershipChange.objects.count()) == counts


def test_simulation_from_a_file_and_files_in_the_wrong_format(world, alloc):
    good = "name,region,tier,expected_value\n上海测试甲有限公司,310115,B,50000\n成都测试乙有限公司,成都市,C,\n"
    result = simulation_run(actor=world.adam, version_id=alloc.version.pk, data=good.encode(), filename="leads.csv")
    assert result.subjects == 2 and result.source == "file"
    with pytest.raises(FileRejected):
        simulation_run(actor=world.adam, version_id=alloc.version.pk, data=b"company\nX\n", filename="leads.csv")
    with pytest.raises(FileRejected):
        simulation_run(actor=world.adam, version_id=alloc.version.pk, data=b"name\nX\n", filename="leads.pdf")
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        simulation_run(actor=world.adam, version_id=alloc.version.pk,
                       data="name,region,tier\n甲,999999,B\n乙,310115,Q\n".encode(), filename="leads.csv")
    assert "row 2" in str(caught.value.message) and "row 3" in str(caught.value.message)


def test_who_may_simulate(world, alloc):
    for persona in ("alice", "sam", "carol"):
        with pytest.raises(PermissionRefused):
            simulation_run(actor=world.person(persona), version_id=alloc.version.pk)
    simulation_run(actor=world.audrey, version_id=alloc.version.pk)  # auditors read everything
    with pytest.raises(ValidationFailed):
        simulation_run(actor=world.adam, version_id=alloc.version.pk, months=0)


# ---------------------------------------------------------------- fairness

def test_fairness_report_and_alerts_are_recorded_once(world, alloc):
    for _ in range(3):
        intake_submit(actor=None, channel="api", fields=lead(region="310115", expected_value="1000"))
    decision = AllocationDecision.objects.order_by("pk").first()
    customer_reassign(actor=world.sam, customer_id=decision.customer_id, new_owner=world.bob, reason="客户指定")
    today = timezone.localdate()
    report = fairness_report(viewer=world.sam, team_id=world.team_a.pk, since=today.replace(day=1), until=today)
    counts = {p.person_id: p.count for p in report.people}
    assert counts == {world.alice.pk: 1, world.bob.pk: 2, world.sue.pk: 1}
    assert report.figures.manual_count == 1 and report.manual_by == [("沈明", 1)]
    assert report.breached == []
    team_setting_save(actor=world.sam, team=world.team_a, max_spread_count=0)
    created = fairness_check_run(on=today)
    assert [a.code for a in created] == ["spread_count"]
    assert fairness_check_run(on=today) == []  # a second run adds nothing
    assert FairnessAlert.objects.count() == 1
    alert = FairnessAlert.objects.get()
    with pytest.raises(NotFound):
        fairness_alert_acknowledge(actor=world.carol, alert_id=alert.pk, note="看过")
    with pytest.raises(ValidationFailed):
        fairness_alert_acknowledge(actor=world.sam, alert_id=alert.pk, note=" ")
    fairness_alert_acknowledge(actor=world.sam, alert_id=alert.pk, note="调整了轮询顺序")
    assert FairnessAlert.objects.get().acknowledged_by_id == world.sam.pk


def test_fairness_report_visibility(world, alloc):
    today = timezone.localdate()
    fairness_report(viewer=world.audrey, team_id=world.team_cd.pk, since=today, until=today)
    fairness_report(viewer=world.alice, team_id=world.team_a.pk, since=today, until=today)  # own team
    for persona, team in (("carol", "team_a"), ("sam", "team_cd"), ("alice", "team_hz")):
        with pytest.raises(NotFound):
            fairness_report(viewer=world.person(persona), team_id=getattr(world, team).pk, since=today, until=today)
    with pytest.raises(ValidationFailed):
        fairness_report(viewer=world.adam, team_id=world.team_a.pk, since=today, until=today - dt.timedelta(days=1))


# ---------------------------------------------------------------- the public web form

def _aged_token(seconds: float) -> str:
    import time

    from django.core import signing

    return signing.dumps({"t": time.time() - seconds}, salt=intake_service.WEB_TOKEN_SALT)


def test_web_form_allocates_like_any_other_channel(world, alloc):
    intake = web_intake_submit(fields=lead(region="310115", contact_name="张先生", contact_phone="13912345678"),
                               ip_address="203.0.113.5", form_token=_aged_token(30))
    assert intake.channel == "web" and intake.outcome == "allocated" and intake.submitted_by is None
    assert intake.customer.contacts.get().phone == "+8613912345678"


def test_web_form_spam_is_recorded_as_rejected_and_creates_nothing(world, alloc):
    honeypot = web_intake_submit(fields=lead(region="310115"), ip_address="203.0.113.6", form_token=_aged_token(30),
                                 honeypot="http://spam.example")
    too_fast = web_intake_submit(fields=lead(region="310115"), ip_address="203.0.113.6", form_token=web_form_token())
    assert honeypot.outcome == too_fast.outcome == "rejected"
    assert not Customer.objects.exists()
    with pytest.raises(ValidationFailed):
        web_intake_submit(fields=lead(), ip_address="203.0.113.6", form_token="forged")


def test_web_form_is_rate_limited_per_address(world, alloc, settings):
    for _ in range(intake_service.WEB_INTAKE_RATE):
        web_intake_submit(fields=lead(region="310115"), ip_address="203.0.113.7", form_token=_aged_token(30),
                          honeypot="bot")
    with pytest.raises(RateLimited):
        web_intake_submit(fields=lead(region="310115"), ip_address="203.0.113.7", form_token=_aged_token(30))
    # another address is not affected
    web_intake_submit(fields=lead(region="310115"), ip_address="203.0.113.8", form_token=_aged_token(30),
                      honeypot="bot")
    assert Intake.objects.count() == intake_service.WEB_INTAKE_RATE + 1
