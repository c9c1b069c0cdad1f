"""A scaled demo: the bulk teams' customers come from the bulk customer builder, with the same rows."""

from __future__ import annotations

from kamguard.audit.services import chain_verify
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Contact, Customer, DedupeKey, OwnershipChange, PoolMembership
from kamguard.customers.services.ownership import pool_reclaim_run
from kamguard.demo.build import world_build
from kamguard.demo.bulk import BULK_REASON
from kamguard.demo.customer_plan import plan_customers
from kamguard.demo.plan import plan_world
from kamguard.demo.tests.conftest import AS_OF


def _last_owner(customer_id: int) -> int | None:
    last = OwnershipChange.objects.filter(customer_id=customer_id).order_by("-effective_at", "-pk").first()
    assert last is not None
    return last.to_owner_id


def test_scaled_world_uses_the_bulk_customer_builder(db: None) -> None:
    # given / when: scale 2 with a small book
    plan = plan_world(seed=5, scale=2, as_of=AS_OF)
    world = world_build(plan, customers=plan_customers(plan, as_of=AS_OF, customers_per_manager=3))
    built = world.customers
    assert built is not None
    # then: the bulk teams' managers own bulk customers of their region's pool
    assert built.bulk_customers == round(15 * 3) + round(15 * 3) + round(10 * 3)
    # one summary audit event per batch names every bulk customer exactly once
    bulk_events = AuditEvent.objects.filter(action="customers.customer.bulk_created", reason=BULK_REASON)
    bulk_ids = [i for event in bulk_events for i in event.changes["customers"]["after"]]
    assert len(bulk_ids) == len(set(bulk_ids)) == built.bulk_customers
    assert Customer.objects.filter(intakes__isnull=True).count() == len(built.customers) + built.bulk_customers
    service_built = set(AuditEvent.objects.filter(action="customers.customer.created").values_list(
        "object_id", flat=True))
    assert not {str(i) for i in bulk_ids} & service_built
    bulk = Customer.objects.filter(pk__in=bulk_ids)
    assert Contact.objects.filter(customer__in=bulk).exists()
    assert DedupeKey.objects.filter(customer__in=bulk).values("customer").distinct().count() == len(bulk_ids)
    for customer_id, owner_id in bulk.values_list("pk", "owner_id"):
        assert _last_owner(customer_id) == owner_id
    bulk_people = {world.people[p.key].pk for p in plan.people if p.is_bulk}
    assert set(bulk.exclude(owner__isnull=True).values_list("owner_id", flat=True)) <= bulk_people
    assert PoolMembership.objects.filter(user_id__in=bulk_people).count() == len(bulk_people)
    added = AuditEvent.objects.filter(action="customers.pool.members_added", reason=BULK_REASON)
    assert sorted(i for e in added for i in e.changes["members"]["after"]) == sorted(bulk_people)
    # the reclaim job leaves the recently followed-up bulk customers alone
    assert not set(pool_reclaim_run().reclaimed) & set(bulk_ids)
    assert chain_verify().ok
