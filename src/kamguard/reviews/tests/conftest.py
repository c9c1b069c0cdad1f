"""Review fixtures on top of the organisation personas (see the root conftest).

`sets`: one default question set per source (two scale questions, the second optional, and a free-text one).
`book`: customers — alice owns 申华 (contact 张总, decision-maker) and serves 东海 (owned by bob) on the account
team; carol owns 蜀光 (contact 刘经理). `cycle`: sam's draft cycle over last quarter for alice and bob with the
default circles generated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from kamguard.customers.models import Contact, Customer
from kamguard.customers.services.records import account_team_set, customer_create
from kamguard.reviews import services
from kamguard.reviews.models import QuestionSet, ReviewCycle

QUESTIONS = [
    {"kind": "scale", "text_en": "Keeps promises", "text_zh": "信守承诺", "required": True},
    {"kind": "scale", "text_en": "Shares what they know", "text_zh": "乐于分享", "required": False},
    {"kind": "text", "text_en": "What should they do more of?", "text_zh": "希望其多做些什么？", "required": False},
]


@pytest.fixture
def sets(world) -> dict[str, QuestionSet]:
    return {source: services.question_set_create(actor=None, name=f"Default {source}", source=source,
                                                 questions=QUESTIONS)
            for source in ("self", "supervisor", "peer", "customer")}


@dataclass
class Book:
    shenhua: Customer
    donghai: Customer
    shuguang: Customer
    zhang: Contact
    wang: Contact
    liu: Contact


@pytest.fixture
def book(world) -> Book:
    shenhua = customer_create(actor=world.alice, name="上海申华精密机械有限公司", tier="A",
                              contacts=[{"name": "张总", "is_decision_maker": True}])
    donghai = customer_create(actor=world.bob, name="上海东海船舶配件有限公司", tier="B",
                              contacts=[{"name": "王经理"}])
    shuguang = customer_create(actor=world.carol, name="成都蜀光机械股份有限公司", tier="A",
                               contacts=[{"name": "刘经理"}])
    account_team_set(actor=None, customer_id=donghai.pk, user=world.alice, role="协同", credit_share=Decimal(20))
    return Book(shenhua, donghai, shuguang, shenhua.contacts.get(), donghai.contacts.get(), shuguang.contacts.get())


def last_quarter() -> tuple[dt.date, dt.date]:
    from django.utils import timezone

    today = timezone.localdate()
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = first - dt.timedelta(days=1)
    return dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end


@pytest.fixture
def cycle(world, sets, book) -> ReviewCycle:
    start, end = last_quarter()
    made = services.cycle_create(actor=world.sam, name="Q review", period_start=start, period_end=end,
                                 subject_ids=[world.alice.pk, world.bob.pk])
    services.assignments_generate(actor=world.sam, cycle_id=made.pk)
    return made
