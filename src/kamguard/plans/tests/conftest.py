"""Plan fixtures on top of the organisation personas (see the root conftest).

`book`: customers — alice owns a tier A (with a contact and USCC) and a tier B one, bob a tier C one, carol
(outside sam's department) a tier A one. `draft`: alice's plan for this month, with goals, analysis, measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from kamguard.customers.models import Customer
from kamguard.customers.services.records import customer_create
from kamguard.plans.domain.months import month_start
from kamguard.plans.models import MarketingPlan
from kamguard.plans.services import plan_create


@dataclass
class Book:
    alpha: Customer  # alice, tier A
    beta: Customer  # alice, tier B
    gamma: Customer  # bob, tier C
    delta: Customer  # carol, tier A


@pytest.fixture
def book(world) -> Book:
    alpha = customer_create(actor=world.alice, name="上海申华精密机械有限公司", tier="A", uscc="91310000132200821H",
                            contacts=[{"name": "张总", "phone": "13912345678", "is_decision_maker": True}])
    beta = customer_create(actor=world.alice, name="上海东海船舶配件有限公司", tier="B")
    gamma = customer_create(actor=world.bob, name="上海徐汇云端软件有限公司", tier="C")
    delta = customer_create(actor=world.carol, name="成都蜀光机械股份有限公司", tier="A")
    return Book(alpha, beta, gamma, delta)


@pytest.fixture
def draft(world, book) -> MarketingPlan:
    return plan_create(actor=world.alice, month=month_start(timezone.localdate()), goals="回款 50 万元",
                       analysis="重点客户需求回暖", measures="每周拜访 A 类客户")
