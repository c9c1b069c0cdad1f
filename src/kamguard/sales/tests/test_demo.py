"""The demo's pipeline: thirteen months of won, lost and open opportunities with history, quotes, forecasts and
the live cases waiting for approval — consistent with what the services write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from kamguard.activities.models import Activity, Kind, Status
from kamguard.approvals.models import ApprovalRequest
from kamguard.audit.services import chain_verify
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world
from kamguard.demo.sales import BuiltSales, sales_build, summary_lines
from kamguard.org.models import User
from kamguard.sales.models import Forecast, Opportunity, Outcome, Quote, QuoteStatus, StageChange


def _books(world: BuiltWorld) -> None:
    """Four owned customers per manager, owned for 420 days, with one logged visit each."""
    since = timezone.now() - dt.timedelta(days=420)
    managers = User.objects.filter(pk__in=[u.pk for u in world.people.values()], is_active=True,
                                   role_assignments__role="manager").distinct().order_by("pk")
    for index, manager in enumerate(managers):
        for n in range(4):
            customer = Customer.objects.create(name=f"演示客户{index}-{n}有限公司", owner=manager, owned_since=since,
                                               tier="ABC"[(index + n) % 3], created_on=since.date())
            moment = timezone.now() - dt.timedelta(days=30)
            Activity.objects.create(user=manager, customer=customer, kind=Kind.VISIT, status=Status.DONE,
                                    happened_at=moment, checked_in_at=moment)


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[BuiltWorld, BuiltSales]]:
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_build(plan_world(seed=42, as_of=timezone.localdate()))
        _books(world)
        yield world, sales_build(world)
        transaction.set_rollback(True)


def test_pipeline_history(db: None, built) -> None:
    _world, result = built
    assert result.opportunities[Outcome.WON] > 10 and result.opportunities[Outcome.LOST] > 10
    assert result.opportunities[Outcome.OPEN] > 10
    oldest = Opportunity.objects.order_by("created_on").values_list("created_on", flat=True).first()
    assert oldest <= timezone.localdate() - dt.timedelta(days=365)
    lost = Opportunity.objects.filter(outcome=Outcome.LOST)
    assert not lost.filter(lost_reason="").exists() and lost.exclude(competitor="").exists()
    assert not Opportunity.objects.filter(outcome=Outcome.WON, credit_split=[]).exists()
    assert Opportunity.objects.filter(outcome=Outcome.OPEN, stage__code="negotiation").exists()
    assert any("sales:" in line for line in summary_lines(result))


def test_consistent_with_the_services(db: None, built) -> None:
    _world, result = built
    for opp in Opportunity.objects.all()[:200]:
        changes = list(StageChange.objects.filter(opportunity=opp).order_by("changed_at", "pk"))
        assert changes and changes[0].from_stage_id is None and changes[-1].to_stage_id == opp.stage_id
        if opp.stage.code in ("negotiation", "won"):  # the approved quote the stage needs
            assert Quote.objects.filter(opportunity=opp, status=QuoteStatus.APPROVED).exists()
    count = Opportunity.objects.count()
    assert AuditEvent.objects.filter(action="sales.opportunity.create").count() == count
    assert TimelineEntry.objects.filter(kind="sales.opportunity.created").count() == count
    assert TimelineEntry.objects.filter(kind="sales.opportunity.won").count() == result.opportunities[Outcome.WON]
    won_customer = Opportunity.objects.filter(outcome=Outcome.WON).values_list("customer_id", flat=True).first()
    assert Customer.objects.get(pk=won_customer).last_won_at is not None
    assert chain_verify().ok


def test_forecasts_and_live_cases(db: None, built) -> None:
    _world, result = built
    past = Forecast.objects.filter(month__lt=timezone.localdate().replace(day=1))
    assert past.exists() and not past.filter(locked_at__isnull=True).exists()
    assert not past.filter(accuracy_pct__isnull=True).exists()
    assert result.pending_quotes and result.ready_for_contract
    for quote_id in result.pending_quotes:
        assert Quote.objects.get(pk=quote_id).status == QuoteStatus.PENDING
        assert ApprovalRequest.objects.filter(kind="sales.quote", subject_id=quote_id, status="pending").exists()
