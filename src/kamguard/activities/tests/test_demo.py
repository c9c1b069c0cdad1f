"""The demo's visits and contacts: months of history for the managers' customers, a few far-away check-ins and
some without location permission, today's plan — consistent with what the services write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kamguard.activities.models import Activity, Kind, Status
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Contact, Customer, TimelineEntry
from kamguard.demo.activities import BuiltActivities, activities_build
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world
from kamguard.org.models import Region, User

DISTRICTS = ("310101", "310104", "310115", "440106", "440305", "110108")


def _books(world: BuiltWorld) -> None:
    """Three owned customers per manager, owned for 200 days, in a few districts (the demo's customer build
    does this at full size; a small book keeps the test quick)."""
    regions = list(Region.objects.filter(code__in=DISTRICTS))
    since = timezone.now() - dt.timedelta(days=200)
    managers = User.objects.filter(pk__in=[u.pk for u in world.people.values()], is_active=True,
                                   role_assignments__role="manager").distinct().order_by("pk")
    for index, manager in enumerate(managers):
        for n in range(3):
            customer = Customer.objects.create(
                name=f"演示客户{index}-{n}有限公司", owner=manager, owned_since=since, tier="ABC"[(index + n) % 3],
                region=regions[(index + n) % len(regions)], created_on=since.date())
            Contact.objects.create(customer=customer, name=f"联系人{index}-{n}", title="采购经理")


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[BuiltWorld, BuiltActivities]]:
    with django_db_blocker.unblock(), transaction.atomic():
        as_of = timezone.localdate()
        world = world_build(plan_world(seed=42, as_of=as_of))
        _books(world)
        yield world, activities_build(world)
        transaction.set_rollback(True)


def test_history_and_today(db: None, built) -> None:
    _world, result = built
    assert result.visits > 100 and result.contacts > result.visits
    assert 1 <= result.far <= 6 and result.denied >= 1 and result.accompanied >= 1
    assert Activity.objects.filter(kind=Kind.VISIT, is_far=True).count() >= result.far
    assert Activity.objects.filter(location_status="denied").exists()
    today = timezone.localdate()
    assert Activity.objects.filter(planned_on=today, kind=Kind.VISIT, happened_at__isnull=True).count() + \
        result.checked_in_today == result.planned_today > 0
    assert Activity.objects.filter(status=Status.CHECKED_IN).count() == result.checked_in_today > 0
    oldest = Activity.objects.exclude(happened_at=None).order_by("happened_at").values_list("happened_at", flat=True).first()
    assert oldest is not None and oldest < timezone.now() - dt.timedelta(days=60)
    assert not Activity.objects.filter(happened_at__gt=timezone.now()).exists()


def test_history_is_consistent_with_the_services(db: None, built) -> None:
    done = Activity.objects.filter(status=Status.DONE)
    # every activity audited, every done one on its customer's timeline, follow-up at the latest contact
    assert AuditEvent.objects.filter(action__startswith="activities.").count() >= Activity.objects.count()
    assert TimelineEntry.objects.filter(kind__startswith="activities.").count() >= done.count()
    sample = Customer.objects.filter(activities__status=Status.DONE).distinct()[:20]
    for customer in sample:
        latest = customer.activities.filter(status__in=[Status.DONE, Status.CHECKED_IN]).order_by(
            "-happened_at").values_list("happened_at", flat=True).first()
        assert customer.last_followup_at is not None and customer.last_followup_at >= latest
    # a visit is by the customer's owner; accompaniments are confirmed by someone else
    assert not Activity.objects.filter(accompanied_by__isnull=False, accompaniment_confirmed_at__isnull=True,
                                       status=Status.DONE).exists()
    assert not Activity.objects.exclude(accompanied_by__isnull=True).filter(
        accompanied_by=F("user")).exists()


