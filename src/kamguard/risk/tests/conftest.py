"""Fixtures for risk: a book of 12 customers with two years of ordinary orders and visits (seeded noise), written
in bulk (it is set-up data, not what is tested), and a planted story — alice's customer C-ACME stops ordering in
the last three 30-day periods while she keeps logging calls with it."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.contracts.models import Order
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer
from kamguard.customers.services.records import customer_create
from kamguard.risk.models import (
    Alert,
    AlertReview,
    Case,
    CaseEntry,
    Penalty,
    RiskScore,
    RiskSettings,
    ScanRun,
)

NAMES = ["上海澄明精密机械有限公司", "杭州远航物流有限公司", "成都天府食品股份有限公司", "南京金陵化工有限公司",
         "苏州恒润电子科技有限公司", "宁波港湾仓储有限公司", "无锡太湖纺织有限公司", "合肥科大讯联软件有限公司",
         "温州瓯江阀门有限公司", "嘉兴南湖新材料有限公司", "常州龙城轨道装备有限公司", "绍兴兰亭酿造有限公司"]


@dataclass
class Book:
    customers: list[Customer]
    acme: Customer  # alice's, the planted collapse
    today: dt.date


def _aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def orders_and_visits(customer: Customer, manager: Any, *, today: dt.date, rng: random.Random, periods: int = 26,
                      stop_orders_from: int | None = None, stop_visits_from: int | None = None,
                      base: float | None = None) -> None:
    """One order and two calls per 30-day period, `periods` back from today; orders (or calls) stop in the last
    `stop_…_from` periods when given."""
    base = base or rng.uniform(40_000, 90_000)
    orders, activities = [], []
    for age in range(periods):
        day = today - dt.timedelta(days=age * 30 + rng.randint(0, 20))
        if stop_orders_from is None or age >= stop_orders_from:
            amount = Decimal(str(round(base * rng.uniform(0.85, 1.15), 2)))
            orders.append(Order(customer=customer, manager=manager, order_date=day, due_on=day + dt.timedelta(days=30),
                                amount=amount, number=f"SO-{customer.pk}-{age}"))
        if stop_visits_from is None or age >= stop_visits_from:
            for k in range(2):
                activities.append(Activity(user=manager, customer=customer, kind="call", status="done",
                                           happened_at=_aware(day - dt.timedelta(days=k * 7)), summary="跟进"))
    Order.objects.bulk_create(orders)
    Activity.objects.bulk_create(activities)


@pytest.fixture
def book(world: Any) -> Book:
    rng = random.Random(42)
    today = timezone.localdate()
    past = today - dt.timedelta(days=900)
    owners = [world.alice, world.bob, world.henry, world.carol]
    customers = []
    for i, name in enumerate(NAMES):
        owner = owners[i % len(owners)]
        customer = customer_create(actor=None, name=name, owner=owner, skip_dedupe=True, created_on=past,
                                   external_id=f"C-{i:02d}" if i else "C-ACME", address=f"上海市示范路{i + 1}号")
        customers.append(customer)
        orders_and_visits(customer, owner, today=today, rng=rng, stop_orders_from=3 if i == 0 else None)
    return Book(customers, customers[0], today)


def risk_state() -> dict[str, Any]:
    """Everything a refused risk request must leave as it was."""
    return {"runs": ScanRun.objects.count(), "scores": RiskScore.objects.count(),
            "alerts": list(Alert.objects.values_list("pk", "status", "case_id").order_by("pk")),
            "reviews": AlertReview.objects.count(),
            "cases": list(Case.objects.values_list("pk", "status", "outcome", "shared_with_id").order_by("pk")),
            "entries": CaseEntry.objects.count(), "penalties": Penalty.objects.count(),
            "settings": list(RiskSettings.objects.values_list("version", "config")),
            "audit": AuditEvent.objects.filter(action__startswith="risk.").exclude(
                action__in=("risk.alert.read", "risk.case.read")).count()}
