"""Visits and contacts: the services and the selectors other apps call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.activities import selectors, services
from kamguard.activities.domain.geo import FAR_THRESHOLD_M, Reference, assess, distance_m
from kamguard.activities.models import Activity, Status
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.customers.services.followup import customer_followup_touch

# Huangpu district centroid (cpca): 31.231739, 121.484428
NEAR = (31.2300, 121.4800)  # a few hundred metres away
FAR = (30.5729, 104.0668)  # Chengdu


def _today() -> dt.date:
    return timezone.localdate()


def test_distance_and_thresholds() -> None:
    assert distance_m(31.23, 121.47, 31.23, 121.47) == 0
    # Shanghai to Chengdu is about 1,660 km
    assert 1_600_000 < distance_m(31.23, 121.47, 30.57, 104.07) < 1_720_000
    ref = Reference(31.23, 121.47, "district")
    assert assess(latitude=31.25, longitude=121.47, denied=False, reference=ref).is_far is False
    far = assess(latitude=31.40, longitude=121.47, denied=False, reference=ref)  # ~19 km
    assert far.is_far and far.threshold_m == FAR_THRESHOLD_M["district"]
    assert assess(latitude=31.40, longitude=121.47, denied=False,
                  reference=Reference(31.23, 121.47, "city")).is_far is False
    assert assess(latitude=None, longitude=None, denied=True, reference=ref).location_status == "denied"
    assert assess(latitude=None, longitude=None, denied=False, reference=ref).location_status == "unavailable"
    assert assess(latitude=1.0, longitude=2.0, denied=False, reference=None).location_status == "no_reference"


def test_visit_lifecycle_near(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today(),
                                purpose="介绍新品", plan_ref="plans:1")
    assert visit.status == Status.PLANNED and visit.plan_ref == "plans:1"
    assert Customer.objects.get(pk=book.alpha.pk).last_followup_at is None  # planned does not count
    visit = services.visit_check_in(actor=world.alice, activity_id=visit.pk, latitude=NEAR[0], longitude=NEAR[1],
                                    accuracy_m=30)
    assert visit.status == Status.CHECKED_IN and visit.location_status == "ok"
    assert visit.distance_m is not None and visit.distance_m < 1000 and not visit.is_far
    assert Customer.objects.get(pk=book.alpha.pk).last_followup_at == visit.checked_in_at
    visit = services.visit_check_out(actor=world.alice, activity_id=visit.pk, outcome="客户有意向",
                                     next_step="下周报价")
    assert visit.status == Status.DONE and visit.outcome == "客户有意向"
    kinds = list(TimelineEntry.objects.filter(customer=book.alpha, kind__startswith="activities.").values_list(
        "kind", flat=True))
    assert set(kinds) == {"activities.visit_planned", "activities.visit_checked_in", "activities.visit_done"}
    assert AuditEvent.objects.filter(action__startswith="activities.visit.").count() == 3
    assert selectors.customer_has_visit(customer_id=book.alpha.pk)
    assert not selectors.customer_has_visit(customer_id=book.alpha.pk,
                                            since=timezone.now() + dt.timedelta(days=1))
    assert [a.pk for a in selectors.visits_done(user_ids=[world.alice.pk], start=_today(), end=_today())] == [
        visit.pk]
    assert [a.pk for a in selectors.checkins_on(user_ids=[world.alice.pk], day=_today())] == [visit.pk]
    assert selectors.last_contact_by_customer(customer_ids=[book.alpha.pk, book.gamma.pk]) == {
        book.alpha.pk: visit.happened_at}
    assert [a.pk for a in selectors.day_records(user=world.alice, day=_today())] == [visit.pk]


def test_far_checkin_flagged_and_no_location_recorded(world, book) -> None:
    far = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    far = services.visit_check_in(actor=world.alice, activity_id=far.pk, latitude=FAR[0], longitude=FAR[1])
    assert far.is_far and far.distance_m and far.distance_m > 1_000_000
    assert far.far_threshold_m == FAR_THRESHOLD_M["district"]
    denied = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    denied = services.visit_check_in(actor=world.alice, activity_id=denied.pk, location_denied=True)
    assert denied.status == Status.CHECKED_IN and denied.location_status == "denied" and not denied.is_far
    noref = services.visit_plan(actor=world.alice, customer_id=book.gamma.pk, planned_on=_today())
    noref = services.visit_check_in(actor=world.alice, activity_id=noref.pk, latitude=NEAR[0], longitude=NEAR[1])
    assert noref.location_status == "no_reference" and noref.distance_m is None
    # the live view's counts: three check-ins today, all still there, one far; nobody else counted
    assert selectors.checkin_counts(user_ids=[world.alice.pk, world.bob.pk], day=_today()) == {
        world.alice.pk: {"checkins": 3, "on_site": 3, "far": 1}}
    services.visit_check_out(actor=world.alice, activity_id=denied.pk, outcome="客户有意向", next_step="下周报价")
    assert selectors.checkin_counts(user_ids=[world.alice.pk], day=_today())[world.alice.pk]["on_site"] == 2
    assert selectors.checkin_counts(user_ids=[world.alice.pk], day=_today() - dt.timedelta(days=1)) == {}
    assert selectors.checkin_counts(user_ids=[], day=_today()) == {}


def test_checkout_before_checkin_refused_nothing_written(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as caught:
        services.visit_check_out(actor=world.alice, activity_id=visit.pk, outcome="x", next_step="y")
    assert caught.value.code == "not_checked_in"
    visit.refresh_from_db()
    assert visit.status == Status.PLANNED and visit.outcome == "" and AuditEvent.objects.count() == events


def test_checkout_needs_outcome_and_next_step(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    services.visit_check_in(actor=world.alice, activity_id=visit.pk)
    with pytest.raises(ValidationFailed) as caught:
        services.visit_check_out(actor=world.alice, activity_id=visit.pk, outcome=" ", next_step="")
    assert set(caught.value.field_errors) == {"outcome", "next_step"}
    assert Activity.objects.get(pk=visit.pk).status == Status.CHECKED_IN


def test_double_checkin_is_a_conflict(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    services.visit_check_in(actor=world.alice, activity_id=visit.pk)
    with pytest.raises(Conflict):
        services.visit_check_in(actor=world.alice, activity_id=visit.pk)


def test_bad_coordinates_refused(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    for lat, lon, field in ((95, 120, "latitude"), ("abc", 120, "latitude"), (31, None, "longitude"),
                            ("nan", "inf", "latitude")):
        with pytest.raises(ValidationFailed) as caught:
            services.visit_check_in(actor=world.alice, activity_id=visit.pk, latitude=lat, longitude=lon)
        assert field in caught.value.field_errors
    assert Activity.objects.get(pk=visit.pk).status == Status.PLANNED


def test_cancel(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    with pytest.raises(ValidationFailed):
        services.visit_plan_cancel(actor=world.alice, activity_id=visit.pk, reason="")
    visit = services.visit_plan_cancel(actor=world.alice, activity_id=visit.pk, reason="客户出差")
    assert visit.status == Status.CANCELLED
    with pytest.raises(Conflict):
        services.visit_check_in(actor=world.alice, activity_id=visit.pk)
    assert selectors.day_records(user=world.alice, day=_today()) == []


@pytest.mark.parametrize("name", ["bob", "sam", "audrey", "sue"])
def test_only_the_visits_person_may_change_it(world, book, name) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    events = AuditEvent.objects.count()
    with pytest.raises((PermissionRefused, NotFound)):
        services.visit_check_in(actor=world.person(name), activity_id=visit.pk)
    with pytest.raises((PermissionRefused, NotFound)):
        services.visit_plan_cancel(actor=world.person(name), activity_id=visit.pk, reason="x")
    assert Activity.objects.get(pk=visit.pk).status == Status.PLANNED and AuditEvent.objects.count() == events


def test_customer_outside_scope_and_auditor_refused(world, book) -> None:
    count = Activity.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.visit_plan(actor=world.alice, customer_id=book.beta.pk, planned_on=_today())
    assert "customer" in caught.value.field_errors
    with pytest.raises(PermissionRefused):
        services.contact_record(actor=world.audrey, customer_id=book.alpha.pk, kind="call",
                                happened_at=timezone.now(), summary="x")
    assert Activity.objects.count() == count


def test_accompanied_visit(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today(),
                                accompanied_by_id=world.sam.pk)
    assert visit.accompanied_by_id == world.sam.pk and visit.accompaniment_confirmed_at is None
    with pytest.raises(PermissionRefused):
        services.visit_accompany(actor=world.alice, activity_id=visit.pk)
    with pytest.raises(NotFound):
        services.visit_accompany(actor=world.carol, activity_id=visit.pk)
    visit = services.visit_accompany(actor=world.sam, activity_id=visit.pk, note="陪同拜访")
    assert visit.accompaniment_confirmed_at is not None
    with pytest.raises(Conflict):
        services.visit_accompany(actor=world.sam, activity_id=visit.pk)
    with pytest.raises(ValidationFailed) as caught:
        services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today(),
                            accompanied_by_id=world.carol.pk)
    assert "accompanied_by" in caught.value.field_errors


def test_contact_record_and_followup_only_forwards(world, book) -> None:
    now = timezone.now()
    call = services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="call",
                                   happened_at=now - dt.timedelta(hours=1), summary="电话沟通报价", duration_min=15)
    assert call.status == Status.DONE
    assert Customer.objects.get(pk=book.alpha.pk).last_followup_at == call.happened_at
    services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="wechat",
                            happened_at=now - dt.timedelta(days=3), summary="微信")
    assert Customer.objects.get(pk=book.alpha.pk).last_followup_at == call.happened_at  # not backwards
    for kind, when, field in (("visit", now, "kind"), ("call", now + dt.timedelta(days=1), "happened_at"),
                              ("call", None, "happened_at")):
        with pytest.raises(ValidationFailed) as caught:
            services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind=kind, happened_at=when,
                                    summary="x")
        assert field in caught.value.field_errors
    with pytest.raises(ValidationFailed) as caught:
        services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="call", happened_at=now,
                                summary="", duration_min=-3)
    assert set(caught.value.field_errors) == {"summary", "duration_min"}
    assert Activity.objects.count() == 2


def test_followup_touch_clears_warning(world, book) -> None:
    now = timezone.now()
    Customer.objects.filter(pk=book.alpha.pk).update(reclaim_warned_at=now - dt.timedelta(days=1))
    assert customer_followup_touch(touches=[(book.alpha.pk, now - dt.timedelta(days=2)),
                                            (book.alpha.pk, now), (book.gamma.pk, now)]) == 2
    alpha = Customer.objects.get(pk=book.alpha.pk)
    assert alpha.last_followup_at == now and alpha.reclaim_warned_at is None
    assert customer_followup_touch(touches=[(book.alpha.pk, now - dt.timedelta(days=5))]) == 0


def test_visibility(world, book) -> None:
    visit = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    seen = {name: selectors.activity_list(viewer=world.person(name)).filter(pk=visit.pk).exists()
            for name in ("alice", "bob", "sue", "sam", "carol", "audrey", "henry")}
    assert seen == {"alice": True, "bob": False, "sue": True, "sam": True, "carol": False, "audrey": True,
                    "henry": False}


def test_customer_section_shows_planned_first_then_the_latest(world, book) -> None:
    now = timezone.now()
    old = services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="call",
                                  happened_at=now - dt.timedelta(days=3), summary="旧")
    new = services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="email",
                                  happened_at=now - dt.timedelta(hours=1), summary="新")
    later = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today() + dt.timedelta(days=5))
    soon = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today() + dt.timedelta(days=1))
    cancelled = services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=_today())
    services.visit_plan_cancel(actor=world.alice, activity_id=cancelled.pk, reason="改期")
    shown = [a.pk for a in selectors.customer_activities(viewer=world.alice, customer_id=book.alpha.pk)]
    assert shown == [soon.pk, later.pk, new.pk, old.pk]
    assert [a.pk for a in selectors.customer_activities(viewer=world.alice, customer_id=book.alpha.pk, limit=3)] == [
        soon.pk, later.pk, new.pk]
    with pytest.raises(NotFound):
        selectors.customer_activities(viewer=world.carol, customer_id=book.alpha.pk)
