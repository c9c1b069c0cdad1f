"""Goals services: targets (single and bulk), objectives, key results and check-ins — who may, what is
validated, what is audited, and that nothing changes on refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.goals import services
from kamguard.goals.domain.months import add_months, month_start
from kamguard.goals.models import CheckIn, KeyResult, Objective, SalesTarget
from kamguard.goals.services import TargetChange

from .conftest import quarter

pytestmark = pytest.mark.django_db


def _state():
    return (list(SalesTarget.objects.values_list("user_id", "month", "amount", "note").order_by("pk")),
            list(Objective.objects.values_list("title", "status", "parent_id", "period_end").order_by("pk")),
            list(KeyResult.objects.values_list("title", "current_value", "target_value").order_by("pk")),
            CheckIn.objects.count(), AuditEvent.objects.filter(action__startswith="goals.").count())


def _month(n: int = 0) -> dt.date:
    return add_months(month_start(timezone.localdate()), n)


# ---------------------------------------------------------------------------------------------------- targets


def test_supervisor_sets_changes_and_removes_a_target_with_before_and_after(world) -> None:
    target = services.target_set(actor=world.sam, user_id=world.alice.pk, month=_month(), amount="300000",
                                 note="季度冲刺")
    assert target is not None and target.amount == D("300000.00") and target.set_by_id == world.sam.pk
    event = AuditEvent.objects.filter(action="goals.target.set").latest("sequence")
    assert event.changes == {"target": {"before": None, "after": {"amount": "300000.00", "note": "季度冲刺"}}}
    services.target_set(actor=world.sam, user_id=world.alice.pk, month=_month(), amount=D("350000.5"),
                        note="季度冲刺")
    event = AuditEvent.objects.filter(action="goals.target.set").latest("sequence")
    assert event.changes["target"]["before"]["amount"] == "300000.00"
    assert event.changes["target"]["after"]["amount"] == "350000.50"
    count = AuditEvent.objects.count()
    services.target_set(actor=world.sam, user_id=world.alice.pk, month=_month(), amount="350000.50", note="季度冲刺")
    assert AuditEvent.objects.count() == count  # unchanged: no event
    assert services.target_set(actor=world.sam, user_id=world.alice.pk, month=_month(), amount=None) is None
    assert not SalesTarget.objects.exists()
    removed = AuditEvent.objects.filter(action="goals.target.remove").latest("sequence")
    assert removed.changes["target"]["after"] is None


@pytest.mark.parametrize("actor,person", [("alice", "alice"), ("alice", "bob"), ("bob", "alice"),
                                          ("sue", "alice"), ("carol", "alice"), ("audrey", "alice"),
                                          ("hanna", "alice"), ("fiona", "alice"), ("sam", "sam"),
                                          ("sam", "carol")])
def test_only_a_supervisor_of_the_person_sets_targets(world, actor, person) -> None:
    before = _state()
    with pytest.raises(PermissionRefused):
        services.target_set(actor=world.person(actor), user_id=world.person(person).pk, month=_month(),
                            amount="1000")
    with pytest.raises((PermissionRefused, ValidationFailed)):
        services.targets_set_bulk(actor=world.person(actor), changes=[
            TargetChange(user_id=world.person(person).pk, month=_month(), amount=D(1000))])
    assert _state() == before


@pytest.mark.parametrize("amount,month,field", [
    ("-1", None, "amount"), ("abc", None, "amount"), ("1.234", None, "amount"), ("NaN", None, "amount"),
    ("1e20", None, "amount"), ("100", dt.date(2026, 3, 15), "month"), ("100", dt.date(1990, 1, 1), "month"),
])
def test_bad_targets_are_refused_with_the_field_named(world, amount, month, field) -> None:
    before = _state()
    with pytest.raises(ValidationFailed) as info:
        services.target_set(actor=world.sam, user_id=world.alice.pk, month=month or _month(), amount=amount)
    assert field in info.value.field_errors
    assert _state() == before


def test_unknown_person(world) -> None:
    with pytest.raises(ValidationFailed) as info:
        services.target_set(actor=world.sam, user_id=999_999, month=_month(), amount="1")
    assert "user" in info.value.field_errors


def test_bulk_is_all_or_nothing_and_names_each_bad_entry(world) -> None:
    services.target_set(actor=world.sam, user_id=world.bob.pk, month=_month(), amount="5")
    before = _state()
    with pytest.raises(ValidationFailed) as info:
        services.targets_set_bulk(actor=world.sam, changes=[
            TargetChange(user_id=world.alice.pk, month=_month(), amount=D(100)),
            TargetChange(user_id=world.alice.pk, month=_month(1), amount=D(-1)),
            TargetChange(user_id=world.carol.pk, month=_month(), amount=D(1)),
            TargetChange(user_id=world.alice.pk, month=_month(), amount=D(7)),
            TargetChange(user_id=world.bob.pk, month=_month(), amount=None),
        ])
    assert set(info.value.field_errors) == {"entries[1].amount", "entries[2].user_id", "entries[3].month"}
    assert _state() == before
    counts = services.targets_set_bulk(actor=world.sam, changes=[
        TargetChange(user_id=world.alice.pk, month=_month(m), amount=D(100_000 + m)) for m in range(3)
    ] + [TargetChange(user_id=world.bob.pk, month=_month(), amount=None),
         TargetChange(user_id=world.henry.pk, month=_month(), amount=None)])
    assert counts == {"set": 3, "removed": 1, "unchanged": 1}
    assert sorted(SalesTarget.objects.values_list("amount", flat=True)) == [D(100_000), D(100_001), D(100_002)]
    assert AuditEvent.objects.filter(action="goals.target.set").count() == 4  # bob's first one + 3


# ------------------------------------------------------------------------------------------------ objectives


def test_objective_life_cycle_and_audit(world) -> None:
    start, end = quarter()
    objective = services.objective_create(actor=world.alice, title=" 新客户开发 ", owner_user_id=world.alice.pk,
                                          period_start=start, period_end=end, measure="签约 3 家")
    assert objective.title == "新客户开发" and objective.status == "draft" and objective.deadline == end
    with pytest.raises(ValidationFailed) as info:
        services.objective_status_set(actor=world.alice, objective_id=objective.pk, status="active")
    assert info.value.code == "no_key_results"
    kr = services.key_result_create(actor=world.alice, objective_id=objective.pk, title="签约", target_value="3")
    services.objective_status_set(actor=world.alice, objective_id=objective.pk, status="active")
    entry = services.check_in(actor=world.alice, key_result_id=kr.pk, value="2", confidence=7, note="两家已签")
    kr.refresh_from_db()
    assert kr.current_value == D(2) and entry.by_id == world.alice.pk
    event = AuditEvent.objects.filter(action="goals.key_result.check_in").latest("sequence")
    assert event.changes["current_value"] == {"before": "0.00", "after": "2.00"}
    services.objective_status_set(actor=world.alice, objective_id=objective.pk, status="done")
    with pytest.raises(Conflict):
        services.check_in(actor=world.alice, key_result_id=kr.pk, value="3")
    with pytest.raises(Conflict):
        services.objective_update(actor=world.alice, objective_id=objective.pk, title="改")
    with pytest.raises(Conflict):
        services.objective_status_set(actor=world.alice, objective_id=objective.pk, status="draft")
    services.objective_status_set(actor=world.alice, objective_id=objective.pk, status="active")
    assert list(AuditEvent.objects.filter(action="goals.objective.status").values_list(
        "changes__status__after", flat=True).order_by("sequence")) == ["active", "done", "active"]


def test_supervisor_writes_for_the_person_and_the_team(world, okr) -> None:
    services.check_in(actor=world.sam, key_result_id=okr.alice_orders.pk, value="120")
    services.objective_update(actor=world.sam, objective_id=okr.alice.pk, measure="ERP 回款记录")
    start, end = quarter()
    made = services.objective_create(actor=world.sam, title="给亨利", owner_user_id=world.henry.pk,
                                     period_start=start, period_end=end)
    assert made.owner_user_id == world.henry.pk
    services.check_in(actor=world.sam, key_result_id=okr.team_kr.pk, value="100")


@pytest.mark.parametrize("persona", ["bob", "sue", "henry", "carol", "audrey", "hanna"])
def test_others_cannot_touch_alices_objective(world, okr, persona) -> None:
    actor = world.person(persona)
    before = _state()
    calls = [
        lambda: services.check_in(actor=actor, key_result_id=okr.alice_orders.pk, value="1"),
        lambda: services.objective_update(actor=actor, objective_id=okr.alice.pk, title="x"),
        lambda: services.objective_status_set(actor=actor, objective_id=okr.alice.pk, status="cancelled"),
        lambda: services.key_result_create(actor=actor, objective_id=okr.alice.pk, title="x", target_value="1"),
        lambda: services.key_result_update(actor=actor, key_result_id=okr.alice_visits.pk, title="x"),
        lambda: services.key_result_delete(actor=actor, key_result_id=okr.alice_visits.pk),
    ]
    for call in calls:
        with pytest.raises((PermissionRefused, NotFound)):
            call()
    assert _state() == before


@pytest.mark.parametrize("persona", ["alice", "bob", "henry", "carol", "audrey"])
def test_only_the_teams_supervisor_writes_the_team_objective(world, okr, persona) -> None:
    actor = world.person(persona)
    before = _state()
    with pytest.raises((PermissionRefused, NotFound)):
        services.check_in(actor=actor, key_result_id=okr.team_kr.pk, value="1")
    with pytest.raises((PermissionRefused, NotFound)):
        services.objective_update(actor=actor, objective_id=okr.team.pk, title="x")
    start, end = quarter()
    with pytest.raises(PermissionRefused):
        services.objective_create(actor=actor, title="t", owner_team_id=world.team_a.pk, period_start=start,
                                  period_end=end)
    assert _state() == before


def test_team_leader_writes_the_team_objective(world, okr) -> None:
    world.team_a.leader = world.bob
    world.team_a.save()
    services.check_in(actor=world.person("bob"), key_result_id=okr.team_kr.pk, value="10")


def test_nobody_writes_objectives_for_people_they_do_not_supervise(world) -> None:
    start, end = quarter()
    for actor, owner in (("alice", "bob"), ("sam", "carol"), ("carol", "alice")):
        with pytest.raises(PermissionRefused):
            services.objective_create(actor=world.person(actor), title="t", owner_user_id=world.person(owner).pk,
                                      period_start=start, period_end=end)
    assert not Objective.objects.exists()


def test_objective_validation(world, okr) -> None:
    start, end = quarter()
    cases = [
        ({"title": " "}, "title"),
        ({"period_end": start - dt.timedelta(days=1)}, "period_end"),
        ({"deadline": end + dt.timedelta(days=1)}, "deadline"),
        ({"parent_id": okr.bob.pk}, "parent"),  # a person's objective is no parent
        ({"parent_id": 999_999}, "parent"),
        ({"period_start": start - dt.timedelta(days=1), "parent_id": okr.team.pk}, "period_start"),
    ]
    for change, field in cases:
        kwargs = {"title": "t", "owner_user_id": world.alice.pk, "period_start": start, "period_end": end,
                  **change}
        with pytest.raises(ValidationFailed) as info:
            services.objective_create(actor=world.alice, **kwargs)
        assert field in info.value.field_errors, (change, info.value.field_errors)
    with pytest.raises(ValidationFailed) as info:  # henry's team is not team A
        services.objective_create(actor=world.sam, title="t", owner_user_id=world.henry.pk, period_start=start,
                                  period_end=end, parent_id=okr.team.pk)
    assert "parent" in info.value.field_errors
    with pytest.raises(ValidationFailed) as info:
        services.objective_create(actor=world.sam, title="t", period_start=start, period_end=end)
    assert "owner" in info.value.field_errors
    with pytest.raises(ValidationFailed):  # a team objective may not shrink below its children
        services.objective_update(actor=world.sam, objective_id=okr.team.pk, period_end=end - dt.timedelta(days=5))


def test_key_result_validation_and_the_last_one(world, okr) -> None:
    for kwargs, field in (({"target_value": "0"}, "target_value"), ({"target_value": "5", "weight": "0"}, "weight"),
                          ({"target_value": "x"}, "target_value"),
                          ({"target_value": "5", "due_date": dt.date(1999, 1, 1)}, "due_date")):
        with pytest.raises(ValidationFailed) as info:
            services.key_result_create(actor=world.alice, objective_id=okr.alice.pk, title="k", **kwargs)
        assert field in info.value.field_errors
    with pytest.raises(ValidationFailed):
        services.check_in(actor=world.alice, key_result_id=okr.alice_orders.pk, value="1", confidence=11)
    with pytest.raises(Conflict):
        services.key_result_delete(actor=world.bob, key_result_id=okr.bob_kr.pk)
    services.key_result_delete(actor=world.alice, key_result_id=okr.alice_visits.pk)
    assert not KeyResult.objects.filter(pk=okr.alice_visits.pk).exists()
    assert AuditEvent.objects.filter(action="goals.key_result.delete").count() == 1
