"""Fixtures for contracts: customers of alice (team A), henry (Hangzhou) and carol (West), and helpers that count
what a refused request must leave untouched."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kamguard.contracts import services
from kamguard.contracts.models import (
    Contract,
    ContractStatus,
    DataQualityFinding,
    Delivery,
    Order,
    Payment,
    PaymentAllocation,
)
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.customers.services.records import customer_create


@dataclass
class Book:
    acme: Customer  # alice's
    hz: Customer  # henry's
    west: Customer  # carol's


@pytest.fixture
def book(world: Any) -> Book:
    past = timezone.localdate() - dt.timedelta(days=400)
    acme = customer_create(actor=None, name="上海澄明精密机械有限公司", owner=world.alice, skip_dedupe=True,
                           created_on=past, address="上海市浦东新区张江路100号", external_id="C-ACME")
    hz = customer_create(actor=None, name="杭州远航物流有限公司", owner=world.henry, skip_dedupe=True,
                         created_on=past, external_id="C-HZ")
    west = customer_create(actor=None, name="成都天府食品股份有限公司", owner=world.carol, skip_dedupe=True,
                           created_on=past, external_id="C-WEST")
    return Book(acme, hz, west)


def signed_contract(customer: Customer, manager: Any, amount: str = "100000.00", **fields: Any) -> Contract:
    """A signed contract without going through approvals (for tests of orders and payments)."""
    contract = services.contract_create(actor=None, customer_id=customer.pk, title="框架合同", amount=amount,
                                        manager_id=manager.pk, **fields)
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED,
                                                   signed_on=timezone.localdate() - dt.timedelta(days=100))
    contract.refresh_from_db()
    return contract


def an_order(customer: Customer, amount: str = "1000.00", days_ago: int = 10, **fields: Any) -> Order:
    return services.order_create(actor=None, customer_id=customer.pk, amount=Decimal(amount),
                                 order_date=timezone.localdate() - dt.timedelta(days=days_ago), **fields)


def counts() -> dict[str, Any]:
    """Everything a refused write must leave as it was."""
    return {"contracts": list(Contract.objects.values_list("pk", "status", "amount", "title").order_by("pk")),
            "orders": Order.objects.count(), "deliveries": Delivery.objects.count(),
            "payments": list(Payment.objects.values_list("pk", "status").order_by("pk")),
            "allocations": PaymentAllocation.objects.count(),
            "findings": list(DataQualityFinding.objects.values_list("pk", "status").order_by("pk")),
            "timeline": TimelineEntry.objects.filter(kind__startswith="contracts.").count(),
            "audit": AuditEvent.objects.filter(action__startswith="contracts.").count()}
