"""The demo's relay forms: routing rules, months of forms through the right posts, most closed, some late,
some open and overdue; numbers unique and sequential; the audit trail and timelines as the services write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world
from kamguard.demo.relay import BuiltRelay, relay_build
from kamguard.org.models import User
from kamguard.relay import selectors
from kamguard.relay.models import RelayCounter, RelayForm, RelayStatus, RoutingRule


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[BuiltWorld, BuiltRelay]]:
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_build(plan_world(seed=42, as_of=timezone.localdate()))
        since = timezone.now() - dt.timedelta(days=200)
        managers = User.objects.filter(pk__in=[u.pk for u in world.people.values()], is_active=True,
                                       role_assignments__role="manager").distinct().order_by("pk")
        for index, manager in enumerate(managers):
            Customer.objects.create(name=f"演示客户{index}有限公司", owner=manager, owned_since=since,
                                    created_on=since.date())
        yield world, relay_build(world)
        transaction.set_rollback(True)


def test_relay_demo(db: None, built) -> None:
    _world, result = built
    assert result.rules == 5 and RoutingRule.objects.count() == 5
    assert result.forms == RelayForm.objects.count() > 200
    assert result.by_status[RelayStatus.FED_BACK] > result.forms // 2
    assert 0 < result.overdue < result.forms // 5 and result.late_steps > 10
    numbers = list(RelayForm.objects.order_by("relayed_at", "pk").values_list("year", "sequence"))
    for year in {y for y, _ in numbers}:
        sequences = sorted(s for y, s in numbers if y == year)
        assert sequences == list(range(1, len(sequences) + 1))
        assert RelayCounter.objects.get(year=year).last == len(sequences)
    # demands go to the provider's own team specialist
    demand = RelayForm.objects.filter(category__code="demand").select_related("provider", "receiver").first()
    assert demand is not None and demand.receiver.team_id == demand.provider.team_id
    assert demand.receiver_post.code == "KAS"
    assert AuditEvent.objects.filter(action="relay.form.send").count() == result.forms
    assert AuditEvent.objects.filter(action="relay.form.feedback").count() == result.by_status[RelayStatus.FED_BACK]
    assert TimelineEntry.objects.filter(kind="relay.sent").count() == RelayForm.objects.filter(
        customer__isnull=False).count() > 0
    receivers = list(RelayForm.objects.values_list("receiver_id", flat=True).distinct())
    assert selectors.overdue(user_ids=receivers, now=timezone.now()).count() == result.overdue
    report = selectors.daily_report(viewer=None, day=timezone.localdate() - dt.timedelta(days=1))
    assert report["totals"]["open"] == result.open
