"""Goals fixtures on top of the organisation personas (see the root conftest).

`okr`: team Shanghai A's objective for this quarter (by sam, active, one key result), alice's objective cascading
from it (by alice, active, two key results), bob's own objective (active, one key result).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.goals import services
from kamguard.goals.models import KeyResult, Objective


def quarter() -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    first = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    following = dt.date(first.year + (first.month + 2) // 12, (first.month + 2) % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


@dataclass
class Okr:
    team: Objective
    team_kr: KeyResult
    alice: Objective
    alice_orders: KeyResult
    alice_visits: KeyResult
    bob: Objective
    bob_kr: KeyResult


@pytest.fixture
def okr(world) -> Okr:
    start, end = quarter()
    team = services.objective_create(actor=world.sam, title="上海一组季度回款 600 万", owner_team_id=world.team_a.pk,
                                     period_start=start, period_end=end, measure="ERP 回款")
    team_kr = services.key_result_create(actor=world.sam, objective_id=team.pk, title="回款", unit="万元",
                                         target_value=Decimal(600))
    services.objective_status_set(actor=world.sam, objective_id=team.pk, status="active")
    alice = services.objective_create(actor=world.alice, title="A 类客户回款 300 万", owner_user_id=world.alice.pk,
                                      period_start=start, period_end=end, parent_id=team.pk)
    orders = services.key_result_create(actor=world.alice, objective_id=alice.pk, title="回款", unit="万元",
                                        target_value=Decimal(300), weight=Decimal(3))
    visits = services.key_result_create(actor=world.alice, objective_id=alice.pk, title="拜访 A 类客户", unit="次",
                                        target_value=Decimal(20))
    services.objective_status_set(actor=world.alice, objective_id=alice.pk, status="active")
    bob = services.objective_create(actor=world.bob, title="新客户 5 家", owner_user_id=world.bob.pk,
                                    period_start=start, period_end=end)
    bob_kr = services.key_result_create(actor=world.bob, objective_id=bob.pk, title="新客户", target_value=Decimal(5))
    services.objective_status_set(actor=world.bob, objective_id=bob.pk, status="active")
    return Okr(team, team_kr, alice, orders, visits, bob, bob_kr)
