"""Properties of intake against the database (the engine's own properties are in domain/tests): whatever the
capacities and the order of leads, every lead gets exactly one outcome, nobody is given more of a tier than
their capacity, skipped people are never chosen, and round-robin stays within one customer."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamguard.allocation.models import AllocationDecision, Intake
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.services.people import capacity_set
from kamguard.allocation.tests.conftest import COMPANY_NAMES
from kamguard.customers.models import Customer


class _Undo(Exception):
    pass


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(capacities=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=3)), min_size=3, max_size=3),
       tiers=st.lists(st.sampled_from("ABC"), min_size=1, max_size=8))
def test_intake_outcomes_respect_capacity_and_turns(world, alloc, capacities, tiers):
    members = [world.alice, world.bob, world.sue]
    try:
        with transaction.atomic():
            for person, capacity in zip(members, capacities, strict=True):
                for tier in "BC":
                    capacity_set(actor=None, person=person, tier=tier, capacity=capacity)
            # tier A goes to henry by the first rule; B and C to the Shanghai team in turn
            for name, tier in zip(COMPANY_NAMES, tiers, strict=False):
                intake_submit(actor=None, channel="api", fields={"name": name, "region": "310115", "tier": tier})
            intakes = list(Intake.objects.all())
            assert len(intakes) == len(tiers)
            assert all(i.outcome in ("allocated", "pool") for i in intakes)
            assert AllocationDecision.objects.count() == len(tiers)
            for person, capacity in zip(members, capacities, strict=True):
                if capacity is None:
                    continue
                for tier in "BC":
                    assert Customer.objects.filter(owner=person, tier=tier).count() <= capacity
            for decision in AllocationDecision.objects.all():
                chosen = [c for c in decision.candidates if c["chosen"]]
                assert len(chosen) <= 1 and all(not c["skipped"] for c in chosen)
                if chosen:
                    assert chosen[0]["person_id"] == decision.person_id
            unlimited = [p.pk for p, c in zip(members, capacities, strict=True) if c is None]
            if len(unlimited) == 3:
                counts = Counter(AllocationDecision.objects.filter(rule_key="shanghai").values_list(
                    "person_id", flat=True))
                values = [counts.get(p.pk, 0) for p in members]
                assert max(values) - min(values) <= 1
            raise _Undo
    except _Undo:
        pass
