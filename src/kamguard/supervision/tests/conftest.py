"""Supervision fixtures on top of the organisation personas (see the root conftest).

`field`: alice owns a complete customer (contacts, USCC, region, tier A) and an incomplete one (tier B, nothing
else); bob owns one; carol (outside sam's department) owns one. Today alice checked in at a visit without a
location and checked out with an outcome and next step; she also logged a call without a next step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.activities.services import contact_record, visit_check_in, visit_check_out, visit_plan
from kamguard.customers.models import Customer
from kamguard.customers.services.records import customer_create
from kamguard.org.models import Region


@dataclass
class Field:
    alpha: Customer
    beta: Customer
    gamma: Customer
    delta: Customer
    visit: Activity
    call: Activity


@pytest.fixture
def field(world) -> Field:
    region = Region.objects.filter(code__startswith="31").first()
    alpha = customer_create(actor=world.alice, name="上海申华精密机械有限公司", tier="A", uscc="91310000132200821H",
                            region=region, contacts=[{"name": "张总", "phone": "13912345678"}])
    beta = customer_create(actor=world.alice, name="上海东海船舶配件有限公司", tier="B")
    gamma = customer_create(actor=world.bob, name="上海徐汇云端软件有限公司", tier="C")
    delta = customer_create(actor=world.carol, name="成都蜀光机械股份有限公司", tier="A")
    visit = visit_plan(actor=world.alice, customer_id=alpha.pk, planned_on=timezone.localdate())
    visit_check_in(actor=world.alice, activity_id=visit.pk, location_denied=True)
    visit_check_out(actor=world.alice, activity_id=visit.pk, outcome="确认需求", next_step="下周报价")
    call = contact_record(actor=world.alice, customer_id=beta.pk, kind="call", happened_at=timezone.now(),
                          summary="电话沟通", outcome="客户在比价")
    visit.refresh_from_db()
    return Field(alpha, beta, gamma, delta, visit, call)
