"""Relay fixtures on top of the organisation personas: a receiving post held by sue (specialist, team A) and
by a West specialist, a routing rule for customer demands to that post, and customers of alice and carol."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from kamguard.customers.models import Customer
from kamguard.org.models import Post, User
from kamguard.relay.models import RelayCategory, RoutingRule


@dataclass
class Desk:
    post: Post
    demand: RelayCategory  # routed to the post
    other: RelayCategory  # no rule: the provider must choose
    rule: RoutingRule
    alpha: Customer  # alice's
    beta: Customer  # carol's
    wes: User  # holds the post in the West


@pytest.fixture
def desk(world) -> Desk:
    from kamguard.org.services import user_create

    post = Post.objects.create(code="KAS", name="大客户专员岗")
    User.objects.filter(pk=world.sue.pk).update(post=post)
    wes = user_create(actor=None, username="wes", full_name="吴思", roles=["specialist"], password="Correct-Horse-42",
                      email="wes@example.com", department=world.west, team=world.team_cd, post=post)
    # (the migration seeds them; a transactional test after another finds the tables flushed)
    demand, _ = RelayCategory.objects.get_or_create(code="demand", defaults={
        "name": "客户需求", "receive_hours": 8, "handle_hours": 48, "feedback_hours": 72})
    other, _ = RelayCategory.objects.get_or_create(code="other", defaults={
        "name": "其他", "receive_hours": 24, "handle_hours": 120, "feedback_hours": 168})
    rule = RoutingRule.objects.create(category=demand, post=post)
    today = timezone.localdate()
    alpha = Customer.objects.create(name="深圳市腾达电子科技有限公司", owner=world.alice, created_on=today, tier="B")
    beta = Customer.objects.create(name="成都蜀光机械股份有限公司", owner=world.carol, created_on=today, tier="A")
    return Desk(post, demand, other, rule, alpha, beta, wes)
