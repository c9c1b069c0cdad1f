"""The demo's monthly marketing plans: past months approved with comments on the plan and its results, this
month's plans in every state, visit plans that point at real visits, consistent with what the services write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Contact, Customer
from kamguard.demo.activities import activities_build
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world
from kamguard.demo.plans import BuiltPlans, plans_build, summary_lines
from kamguard.org.models import Region, User
from kamguard.plans.domain.months import month_start
from kamguard.plans.models import MarketingPlan, PlanStatus, PlanVisit
from kamguard.plans.selectors import plan_result

DISTRICTS = ("310101", "310104", "310115", "440106", "440305", "110108")


def _books(world: BuiltWorld) -> None:
    regions = list(Region.objects.filter(code__in=DISTRICTS))
    since = timezone.now() - dt.timedelta(days=200)
    managers = User.objects.filter(pk__in=[u.pk for u in world.people.values()], is_active=True,
                                   role_assignments__role="manager").distinct().order_by("pk")
    for index, manager in enumerate(managers):
        for n in range(3):
            customer = Customer.objects.create(
                name=f"演示客户{index}-{n}有限公司", owner=manager, owned_since=since, tier="ABC"[(index + n) % 3],
                region=regions[(index + n) % len(regions)] if regions else None, created_on=since.date())
            Contact.objects.create(customer=customer, name=f"联系人{index}-{n}", title="采购经理")


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[BuiltWorld, BuiltPlans]]:
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_build(plan_world(seed=42, as_of=timezone.localdate()))
        _books(world)
        activities_build(world)
        yield world, plans_build(world)
        transaction.set_rollback(True)


def test_plans_for_past_months_and_this_month(db: None, built) -> None:
    _world, result = built
    this_month = month_start(timezone.localdate())
    assert result.plans > 10
    past = MarketingPlan.objects.filter(month__lt=this_month)
    assert past.exists() and not past.exclude(status=PlanStatus.APPROVED).filter(visits__isnull=False).exists()
    commented = past.exclude(result_comment="")
    assert commented.exists()
    assert all(p.reviewed_by_id and p.result_comment_by_id for p in commented)
    current = MarketingPlan.objects.filter(month=this_month)
    assert {PlanStatus.APPROVED, PlanStatus.SUBMITTED, PlanStatus.RETURNED} <= set(current.values_list("status",
                                                                                                        flat=True))
    assert MarketingPlan.objects.filter(month__gt=this_month, status=PlanStatus.DRAFT).exists()
    assert summary_lines(result)[0].startswith(f"{result.plans} monthly marketing plans")


def test_every_plan_item_points_at_its_visit(db: None, built) -> None:
    _world, result = built
    items = list(PlanVisit.objects.all())
    assert items and result.planned_through_service > 0
    activities = {a.pk: a for a in Activity.objects.filter(pk__in=[i.activity_id for i in items])}
    for item in items:
        activity = activities[item.activity_id]
        assert activity.plan_ref == f"plans:{item.pk}"
        assert activity.customer_id == item.customer_id
    assert AuditEvent.objects.filter(action="plans.visit.add").count() == len(items)


def test_past_results_show_a_realistic_completion(db: None, built) -> None:
    plan = MarketingPlan.objects.filter(month__lt=month_start(timezone.localdate()),
                                        status=PlanStatus.APPROVED).select_related("reviewed_by").first()
    assert plan is not None
    result = plan_result(viewer=plan.reviewed_by, plan_id=plan.pk)
    assert result.actual.planned > 0
    assert 0.5 <= (result.actual.completion_rate or 0) <= 1.0
