"""The bulk customer builder: the extra customers of a scaled demo (`kamguard demo --scale N`, N > 1).

Why it exists: `customers.services.records.customer_create` costs a few dozen queries per customer (the
duplicate check, the key table, the ledger, the timeline, two audit events), so 30,000 customers would take
most of an hour. The scale-1 customers and their whole history still go through the services
(`kamguard.demo.customer_build`); only the bulk teams' customers come here, in batches of `BATCH_SIZE`, drawn
one at a time from `kamguard.demo.customer_plan.bulk_customer_plans`, so memory stays flat at any scale.

What it writes, per customer, is what `customer_create(..., skip_dedupe=True)` writes: the `Customer` row
(normalised name, region, industry, pool, owner and `owned_since` from the registration date), its contacts
(phones in E.164), one `OwnershipChange` of kind "registered" in the ledger, one "customer.registered"
timeline entry and its duplicate-check keys (`DedupeKey`, computed by the domain's `blocking_keys`, the
same function `customer_keys_refresh` uses). Owned bulk customers get a recent `last_followup_at` (see
`customer_build` on follow-ups). The bulk teams' people join their region's pool (`PoolMembership` rows).

The audit trail gets SUMMARY events, not one per row: one `customers.customer.bulk_created` event per batch
(at most 500 customers: their ids and count, the reason "demo bulk builder", recorded as the system) and one `customers.pool.members_added` event per
pool listing the people added. On a busy machine one chained audit event costs 5-25 ms, so one per row
would add ten minutes to `--scale 50` for rows no person entered. The chain stays complete and verifiable:
every bulk row is named by exactly one summary event, written through `kamguard.core.audit.audit_record`.
"""

from __future__ import annotations

import datetime as dt
import random
from itertools import islice
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.customers.domain.dedupe import CustomerRecord, blocking_keys, customer_profile
from kamguard.customers.domain.keys import normalise_phone
from kamguard.customers.domain.normalise import normalise_company_name
from kamguard.customers.models import (
    Contact,
    Customer,
    DedupeKey,
    OwnershipChange,
    OwnershipKind,
    PoolMembership,
    TimelineEntry,
)
from kamguard.demo.bulk import BULK_REASON
from kamguard.demo.customer_plan import CustomerPlan, bulk_customer_plans
from kamguard.org.models import Industry, Region

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld
    from kamguard.demo.customer_build import BuiltCustomers

BATCH_SIZE = 500


@transaction.atomic
def bulk_customers_create(world: BuiltWorld, built: BuiltCustomers) -> int:
    """Create the bulk teams' pool memberships and customers. Returns how many customers were created."""
    leaders = {t.leader for t in world.plan.teams}
    for region, pool in built.pools.items():
        people = [p for p in world.plan.people if p.is_bulk and p.left_on is None and p.department == region]
        if not people:
            continue
        rows = [PoolMembership(pool=pool, user=world.people[p.key], is_admin=p.key in leaders) for p in people]
        PoolMembership.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        audit_record(actor=None, action="customers.pool.members_added", obj=pool, reason=BULK_REASON, changes={
            "members": {"before": None, "after": [r.user_id for r in rows]},
            "admins": {"before": None, "after": [r.user_id for r in rows if r.is_admin]}})
    regions = {r.code: r for r in Region.objects.all().only("pk", "code")}
    industries = {i.name: i for i in Industry.objects.all()}
    used = set(Customer.objects.values_list("name", flat=True))
    plans = bulk_customer_plans(world.plan, as_of=built.plan.as_of, per_manager=built.plan.bulk_per_manager,
                                skip_names=frozenset(used))
    rng = random.Random(world.plan.seed * 31 + 7)  # noqa: S311 - reproducible demo data, not secrets
    created = 0
    while batch := list(islice(plans, BATCH_SIZE)):
        created += _batch_create(world, built, batch, regions, industries, rng)
    return created


def _batch_create(world: BuiltWorld, built: BuiltCustomers, batch: list[CustomerPlan], regions: dict[str, Region],
                  industries: dict[str, Industry], rng: random.Random) -> int:
    now = timezone.now()
    customers = []
    for plan in batch:
        registrar = world.people[plan.registrar]
        owner = world.people[plan.owner] if plan.owner else None
        registered = timezone.make_aware(dt.datetime.combine(plan.created_on, dt.time(9, 0)))
        customers.append(Customer(
            name=plan.name, normalised_name=_normalised(plan.name), uscc=plan.uscc,
            english_name=plan.english_name, aliases=list(plan.aliases), region=regions.get(plan.region_code),
            website=plan.website, industry=industries.get(plan.industry), size=plan.size, tier=plan.tier,
            source=plan.source, created_on=plan.created_on, created_by=registrar, owner=owner,
            pool=built.pools[plan.region], owned_since=registered if owner else None,
            last_followup_at=max(registered, now - dt.timedelta(days=rng.randint(1, 20))) if owner else None))
    Customer.objects.bulk_create(customers, batch_size=BATCH_SIZE)
    if any(c.pk is None for c in customers):  # a backend that returns no ids: look them up by name
        by_name = dict(Customer.objects.filter(name__in=[c.name for c in customers]).values_list("name", "pk"))
        for customer in customers:
            customer.pk = by_name[customer.name]
    contacts: list[Contact] = []
    ledger: list[OwnershipChange] = []
    timeline: list[TimelineEntry] = []
    keys: list[DedupeKey] = []
    registered_summary = _("Registered by %(who)s")
    first_registration = _("first registration")
    for customer, plan in zip(customers, batch, strict=True):
        rows = [Contact(customer=customer, name=c.name, title=c.title, phone=normalise_phone(c.phone) or "",
                        email=c.email, is_decision_maker=c.is_decision_maker) for c in plan.contacts]
        contacts.extend(rows)
        registered = timezone.make_aware(dt.datetime.combine(plan.created_on, dt.time(9, 0)))
        ledger.append(OwnershipChange(customer=customer, from_owner=None, to_owner=customer.owner,
                                      kind=OwnershipKind.REGISTERED, effective_at=registered,
                                      reason=first_registration, actor=customer.created_by))
        timeline.append(TimelineEntry(customer=customer, occurred_at=registered, kind="customer.registered",
                                      actor=customer.created_by,
                                      summary=registered_summary % {"who": customer.created_by}))
        record = CustomerRecord(external_id=str(customer.pk), name=customer.name, aliases=tuple(customer.aliases),
                                english_names=(customer.english_name,) if customer.english_name else (),
                                uscc=customer.uscc, phones=tuple(r.phone for r in rows if r.phone),
                                emails=(*(r.email for r in rows if r.email), customer.website))
        keys.extend(DedupeKey(customer=customer, key=key.key[:160], weight=key.weight)
                    for key in blocking_keys(customer_profile(record)))
    Contact.objects.bulk_create(contacts, batch_size=BATCH_SIZE)
    OwnershipChange.objects.bulk_create(ledger, batch_size=BATCH_SIZE)
    TimelineEntry.objects.bulk_create(timeline, batch_size=BATCH_SIZE)
    DedupeKey.objects.bulk_create(keys, batch_size=2000, ignore_conflicts=True)
    ids = [c.pk for c in customers]
    audit_record(actor=None, action="customers.customer.bulk_created", object_type="customers.customer",
                 object_label=f"{len(ids)} customers", reason=BULK_REASON,
                 changes={"customers": {"before": None, "after": ids}, "count": {"before": 0, "after": len(ids)}})
    return len(customers)


def _normalised(name: str) -> str:
    return normalise_company_name(name).full[:200]
