"""Customer fixtures on top of the organisation personas (see the root conftest)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kamguard.customers.models import Customer, Pool
from kamguard.customers.services.pools import pool_member_set, pool_save
from kamguard.customers.services.records import customer_create

VALID_USCC = ["91440300MA5FUYN44E", "91110000100000589A", "91310000132200821H", "914403001922038216"]


@dataclass
class Book:
    pool: Pool
    alpha: Customer  # owned by alice
    beta: Customer  # owned by carol (outsider)
    gamma: Customer  # in the pool


@pytest.fixture
def book(world) -> Book:
    pool = pool_save(actor=None, name="华东公海", cooldown_days=30, protection_days=15, max_owned_a=2,
                     max_claims_per_day=3, reclaim_no_followup_days_c=30, reclaim_no_followup_days_b=60,
                     warn_days_before=7, max_locks=1)
    for person in (world.alice, world.bob, world.henry, world.sue, world.carol):
        pool_member_set(actor=None, pool_id=pool.pk, user=person, is_member=True)
    alpha = customer_create(actor=world.alice, name="深圳市腾达电子科技有限公司", tier="B", pool=pool,
                            contacts=[{"name": "张总", "phone": "13912345678", "email": "zhang@tengda-e.com",
                                       "is_decision_maker": True}])
    beta = customer_create(actor=world.carol, name="成都蜀光机械股份有限公司", tier="A", pool=pool)
    gamma = customer_create(actor=None, name="上海浦江物流有限公司", to_pool=True, pool=pool, tier="C")
    return Book(pool, alpha, beta, gamma)
