"""Activity fixtures on top of the organisation personas (see the root conftest)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kamguard.customers.models import Customer, Pool
from kamguard.customers.services.pools import pool_member_set, pool_save
from kamguard.customers.services.records import customer_create
from kamguard.org.models import Region


@dataclass
class Book:
    pool: Pool
    alpha: Customer  # owned by alice, in Shanghai's Huangpu district
    beta: Customer  # owned by carol (outsider)
    gamma: Customer  # owned by alice, no region (so no place to measure from)
    huangpu: Region


@pytest.fixture
def book(world) -> Book:
    pool = pool_save(actor=None, name="华东公海", cooldown_days=30, protection_days=15,
                     reclaim_no_followup_days_c=30, reclaim_no_followup_days_b=60, warn_days_before=7)
    for person in (world.alice, world.bob, world.henry, world.sue, world.carol):
        pool_member_set(actor=None, pool_id=pool.pk, user=person, is_member=True)
    huangpu = Region.objects.get(code="310101")
    alpha = customer_create(actor=world.alice, name="上海腾达电子科技有限公司", tier="B", pool=pool,
                            region=huangpu,
                            contacts=[{"name": "张总", "phone": "13912345678", "is_decision_maker": True}])
    beta = customer_create(actor=world.carol, name="成都蜀光机械股份有限公司", tier="A", pool=pool)
    gamma = customer_create(actor=world.alice, name="上海浦江物流有限公司", tier="C", pool=pool)
    Customer.objects.filter(pk=gamma.pk).update(region=None)
    gamma.refresh_from_db()
    return Book(pool, alpha, beta, gamma, huangpu)
