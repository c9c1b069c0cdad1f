"""The demo's approvals: policies by kind (quotes by discount and tier, contracts by amount, transfers), a
second policy version, and a delegation — built through the services on the demo organisation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from kamguard.approvals.domain import ApprovalFacts
from kamguard.approvals.models import ApprovalPolicy, Delegation
from kamguard.approvals.services import chain_preview
from kamguard.core.models import AuditEvent
from kamguard.demo.approvals import approvals_build
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[BuiltWorld]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield world_build(plan_world(seed=42, as_of=AS_OF))
        transaction.set_rollback(True)


def test_policies_and_delegation(demo_world, db):
    built = approvals_build(demo_world)
    kinds = set(ApprovalPolicy.objects.values_list("kind", flat=True))
    assert "customers.transfer" in kinds and "sales.quote" in kinds
    assert len(built.policies) == ApprovalPolicy.objects.count()
    assert AuditEvent.objects.filter(action="approvals.policy.created").count() == len(built.policies)
    delegation = Delegation.objects.get(pk=built.delegation)
    assert delegation.delegate == demo_world.people["director"]
    # a manager's tier-A transfer: their regional supervisor, then the director (away supervisor → delegate)
    manager = next(u for k, u in demo_world.people.items() if k.endswith("-manager-1"))
    policy, steps = chain_preview(kind="customers.transfer", facts=ApprovalFacts(tier="A"), requester=manager)
    assert policy is not None and policy.tiers == "A"
    approvers = [approver for _spec, approver, _role in steps]
    assert approvers[-1] == demo_world.people["director"].pk and len(approvers) == 2
    if "contracts.contract" in kinds:
        big = ApprovalPolicy.objects.get(kind="contracts.contract", priority=10)
        assert big.version == 2 and big.due_hours == 36
        _policy, steps = chain_preview(kind="contracts.contract", facts=ApprovalFacts(amount=Decimal("3000000")),
                                       requester=manager)
        assert [spec.approver for spec, _a, _r in steps] == ["supervisor", "director", "finance"]
        assert chain_preview(kind="contracts.contract", facts=ApprovalFacts(amount=Decimal("50000")),
                             requester=manager)[0] is None
    # running it twice adds nothing
    count = ApprovalPolicy.objects.count()
    approvals_build(demo_world)
    assert Delegation.objects.filter(delegator=delegation.delegator).count() == 1
    assert ApprovalPolicy.objects.count() == count
