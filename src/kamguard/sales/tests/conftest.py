"""Sales fixtures: alice's customer with bob on its account team (30% credit), carol's customer in the West,
a small catalogue, and an opportunity of alice's at "qualified"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.customers.models import AccountTeamMember, Customer
from kamguard.sales.models import Opportunity, Product
from kamguard.sales.services import opportunity_create, opportunity_move


@dataclass
class Sales:
    acme: Customer
    west: Customer
    bobs: Customer
    widget: Product
    gadget: Product
    opp: Opportunity


@pytest.fixture
def visits(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """Customers with a logged visit: add a customer id to the set (activities.selectors.customer_has_visit)."""
    logged: set[int] = set()
    monkeypatch.setattr("kamguard.sales.services.opportunities.customer_has_visit",
                        lambda customer_id: customer_id in logged)
    return logged


@pytest.fixture
def sales(world, visits) -> Sales:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    acme = Customer.objects.create(name="上海艾克美科技有限公司", owner=world.alice, created_on=today, tier="A",
                                   owned_since=timezone.now(), external_id="C-ACME")
    AccountTeamMember.objects.create(customer=acme, user=world.bob, role="技术支持", credit_share=Decimal("30"),
                                     start_on=today - dt.timedelta(days=10))
    west = Customer.objects.create(name="成都西部电子有限公司", owner=world.carol, created_on=today, tier="B",
                                   external_id="C-WEST")
    bobs = Customer.objects.create(name="上海博远物流有限公司", owner=world.bob, created_on=today, tier="B",
                                   external_id="C-BOB")
    widget = Product.objects.create(code="W-100", name="工业网关", list_price=Decimal("10000.00"), unit="台")
    gadget = Product.objects.create(code="G-200", name="传感器套件", list_price=Decimal("2500.00"), unit="套")
    opp = opportunity_create(actor=world.alice, customer_id=acme.pk, name="智能工厂一期", amount="500000",
                             expected_close_on=today + dt.timedelta(days=30))
    opp = opportunity_move(actor=world.alice, opportunity_id=opp.pk, stage="qualified")
    return Sales(acme, west, bobs, widget, gadget, opp)
