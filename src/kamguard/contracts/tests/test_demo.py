"""The demo's contracts, orders and payments: built on a small demo organisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from kamguard.contracts import selectors
from kamguard.contracts.models import Contract, DataQualityFinding, Order, Payment
from kamguard.core.models import AuditEvent
from kamguard.customers.models import TimelineEntry
from kamguard.demo.build import capabilities_until, world_build
from kamguard.demo.contracts import BuiltContracts, contracts_build, summary_lines
from kamguard.demo.customer_plan import plan_customers
from kamguard.demo.plan import plan_world
from kamguard.demo.tests.conftest import AS_OF


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Any, BuiltContracts]]:
    with django_db_blocker.unblock(), transaction.atomic():
        plan = plan_world(seed=42, as_of=AS_OF)
        world = world_build(plan, customers=plan_customers(plan, as_of=AS_OF, customers_per_manager=3.0),
                            capabilities=capabilities_until("contracts"))
        wired = getattr(world, "apps", {}).get("contracts")  # the demo build runs it once wired in
        yield world, wired if wired is not None else contracts_build(world)
        transaction.set_rollback(True)


def test_demo_history(db: None, built: tuple[Any, BuiltContracts]) -> None:
    world, result = built
    assert result.contracts >= 40 and Contract.objects.filter(status="signed").count() >= 35
    assert Order.objects.filter(source="erp").count() == result.erp_orders >= 390
    assert Payment.objects.filter(status="confirmed").exists() and Payment.objects.filter(status="recorded").exists()
    dates = Order.objects.values_list("order_date", flat=True)
    assert (max(dates) - min(dates)).days >= 300
    assert set(DataQualityFinding.objects.values_list("kind", flat=True)) >= {
        "unknown_customer", "payer_mismatch", "new_address"}
    director = next(u for k, u in world.people.items() if "director" in k) if any(
        "director" in k for k in world.people) else None
    viewer = director or next(iter(world.people.values()))
    assert selectors.receivables(viewer=viewer) is not None
    audrey = [u for u in world.people.values() if u.scope == 4 and not u.has_right("business.edit")]
    if audrey:
        rows = selectors.receivables(viewer=audrey[0])
        assert any(r["overdue"] > 0 for r in rows)
    assert AuditEvent.objects.filter(action="contracts.contract.signed").count() == Contract.objects.filter(
        status="signed").count()
    assert TimelineEntry.objects.filter(kind="contracts.payment").count() == Payment.objects.filter(
        status="confirmed").count()
    assert summary_lines(result)
