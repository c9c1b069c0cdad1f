"""The demo's pools, customers and ownership history, built through the customers services.

A smaller world than `kamguard demo` (4 customers per manager instead of 17.5) keeps these tests fast; every
story of the history is still there.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest
from django.db import transaction

from kamguard.audit.services import chain_verify
from kamguard.core.models import AuditEvent
from kamguard.customers.models import (
    AccountTeamMember,
    Contact,
    Customer,
    DedupeKey,
    DisputeStatus,
    OwnershipChange,
    OwnershipDispute,
    OwnershipKind,
    Pool,
    PoolMembership,
    RequestStatus,
    TransferRequest,
)
from kamguard.customers.services.dedupe import customer_dedupe_check
from kamguard.customers.services.ownership import pool_reclaim_run
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.customer_build import try_this
from kamguard.demo.customer_plan import REGION_OF_AREA, companies, plan_customers
from kamguard.demo.plan import plan_world
from kamguard.demo.tests.conftest import AS_OF
from kamguard.org.models import User

PER_MANAGER = 4.0


@pytest.fixture(scope="module")
def customer_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[BuiltWorld]:
    """The scale-1 organisation with a small customer book, built once per module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        plan = plan_world(seed=42, as_of=AS_OF)
        # Customers and allocation only: what later capabilities add (visits, pipeline, risk stories with their
        # transfers and contact changes) has its own tests.
        yield world_build(plan, customers=plan_customers(plan, as_of=AS_OF, customers_per_manager=PER_MANAGER),
                          capabilities=())
        transaction.set_rollback(True)


def _planned() -> Any:
    """The customers of the customers plan (the demo's allocation adds customers through lead intake)."""
    return Customer.objects.filter(intakes__isnull=True)


def _last_owner(customer_id: int) -> int | None:
    last = OwnershipChange.objects.filter(customer_id=customer_id).order_by("-effective_at", "-pk").first()
    assert last is not None
    return last.to_owner_id


def test_one_pool_per_region_with_rules_members_and_administrators(db: None, customer_world: BuiltWorld) -> None:
    assert set(Pool.objects.values_list("name", flat=True)) == {"华东公海", "华南公海", "华北公海"}
    east = Pool.objects.get(name="华东公海")
    assert (east.max_owned_a, east.max_claims_per_day, east.cooldown_days, east.protection_days) == (10, 5, 30, 15)
    assert (east.reclaim_no_followup_days_c, east.reclaim_no_followup_days_b,
            east.reclaim_no_followup_days_a) == (30, 45, 60)
    assert (east.warn_days_before, east.max_locks) == (7, 3)
    assert east.department is not None and east.department.name == "华东大区"
    members = PoolMembership.objects.filter(pool=east)
    # 15 active managers and 3 specialists of 华东, plus the supervisor
    assert members.count() == 19
    admins = set(members.filter(is_admin=True).values_list("user__username", flat=True))
    supervisor = east.department.head
    assert supervisor is not None and supervisor.username in admins
    assert len(admins) == 4  # the supervisor and the three team leaders
    # nobody from another region is a member
    assert not members.exclude(user__department=east.department).exists()
    # the regional supervisor set the pool up
    created = AuditEvent.objects.get(action="customers.pool.created", object_id=str(east.pk))
    assert created.actor_id == supervisor.pk


def test_customers_per_region_and_the_pooled_share(db: None, customer_world: BuiltWorld) -> None:
    per_pool = Counter(_planned().values_list("pool__name", flat=True))
    # 15, 15 and 10 active managers, 4 customers each, and one planted near-duplicate per region
    assert per_pool == {"华东公海": 61, "华南公海": 61, "华北公海": 41}
    pooled = _planned().filter(owner__isnull=True).count() / _planned().count()
    assert 0.20 <= pooled <= 0.30
    tiers = Counter(_planned().values_list("tier", flat=True))
    assert tiers["A"] < tiers["B"] < tiers["C"]
    # owners are active managers of the pool's region
    for customer in _planned().filter(owner__isnull=False).select_related("owner", "pool"):
        assert customer.owner is not None and customer.owner.is_active
        assert customer.owner.has_role("manager")  # type: ignore[arg-type]
        assert customer.pool is not None and customer.owner.department_id == customer.pool.department_id


def test_listed_companies_keep_their_real_names_and_region(db: None, customer_world: BuiltWorld) -> None:
    by_name = {c.full_name: c for c in companies()}
    listed = Customer.objects.filter(name__in=by_name).select_related("pool", "industry", "region")
    assert listed.count() >= 120
    home = {"east": "华东公海", "south": "华南公海", "north": "华北公海"}
    for customer in listed:
        company = by_name[customer.name]
        assert customer.english_name == company.english_name
        assert customer.industry is not None and customer.industry.name == company.industry
        assert customer.aliases and customer.aliases[0] in company.short_name
        region = REGION_OF_AREA.get(company.area)
        if region:
            assert customer.pool is not None and customer.pool.name == home[region]
    invented = Customer.objects.exclude(name__in=by_name).filter(uscc__isnull=False)
    assert invented.count() >= 15
    assert all(name.endswith("有限公司") for name in invented.values_list("name", flat=True))


def test_contacts_have_valid_mobiles_and_company_mail(db: None, customer_world: BuiltWorld) -> None:
    planned_contacts = Contact.objects.filter(customer__intakes__isnull=True)
    counts = Counter(planned_contacts.values_list("customer_id", flat=True))
    assert set(counts) == set(_planned().values_list("pk", flat=True))
    assert set(counts.values()) <= {1, 2, 3}
    assert Contact.objects.filter(is_decision_maker=True).exists()
    for phone, email, website in planned_contacts.values_list("phone", "email", "customer__website"):
        assert phone.startswith("+861") and len(phone) == 14
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
        assert email.endswith("@" + website) and website.endswith(".example")
    phones = list(planned_contacts.values_list("phone", flat=True))
    assert len(phones) == len(set(phones))


def test_registration_dates_spread_over_three_years_and_the_ledger_keeps_them(db: None,
                                                                            customer_world: BuiltWorld) -> None:
    dates = list(_planned().values_list("created_on", flat=True))
    assert min(dates) >= AS_OF - dt.timedelta(days=3 * 365) and max(dates) <= AS_OF
    assert len({d.year for d in dates}) >= 3
    for customer in _planned()[:40]:
        first = OwnershipChange.objects.filter(customer=customer).order_by("effective_at", "pk").first()
        assert first is not None and first.kind == OwnershipKind.REGISTERED
        assert first.effective_at.date() == customer.created_on
        assert first.actor_id == customer.created_by_id


def test_every_owner_is_the_last_ledger_entry(db: None, customer_world: BuiltWorld) -> None:
    for customer_id, owner_id in Customer.objects.values_list("pk", "owner_id"):
        assert _last_owner(customer_id) == owner_id, customer_id
    kinds = Counter(OwnershipChange.objects.values_list("kind", flat=True))
    assert kinds[OwnershipKind.REGISTERED] == _planned().count()
    assert kinds[OwnershipKind.RELEASE] > 0 and kinds[OwnershipKind.CLAIM] > 0
    assert kinds[OwnershipKind.TRANSFER] == 5  # 4 direct transfers by supervisors and 1 approved request
    assert kinds[OwnershipKind.DISPUTE] == 1
    # people did it, not the system (allocation is the system's, by the rules)
    assert not OwnershipChange.objects.filter(actor__isnull=True).exclude(kind=OwnershipKind.ALLOCATION).exists()


def test_claims_respect_the_cooldown_and_daily_limit(db: None, customer_world: BuiltWorld) -> None:
    for claim in OwnershipChange.objects.filter(kind=OwnershipKind.CLAIM):
        assert not OwnershipChange.objects.filter(customer=claim.customer, kind=OwnershipKind.RELEASE,
                                                  from_owner=claim.to_owner).exists()
    per_claimer = Counter(OwnershipChange.objects.filter(kind=OwnershipKind.CLAIM).values_list("to_owner", flat=True))
    assert max(per_claimer.values()) <= 5


def test_transfers_by_supervisors_and_requests_in_each_state(db: None, customer_world: BuiltWorld) -> None:
    supervisors = set(User.objects.filter(role_assignments__role="supervisor").values_list("pk", flat=True))
    direct = OwnershipChange.objects.filter(kind=OwnershipKind.TRANSFER, reference="")
    assert direct.count() == 4
    assert set(direct.values_list("actor_id", flat=True)) <= supervisors
    states = Counter(TransferRequest.objects.values_list("status", flat=True))
    assert states == {RequestStatus.PENDING: 2, RequestStatus.REJECTED: 1, RequestStatus.APPROVED: 1}
    rejected = TransferRequest.objects.get(status=RequestStatus.REJECTED)
    assert rejected.decided_by_id in supervisors and rejected.decision_reason
    pending = TransferRequest.objects.filter(status=RequestStatus.PENDING).select_related("customer")
    # both pending requests wait for the same supervisor (华东), who is no party to them
    assert {r.customer.pool.name for r in pending if r.customer.pool} == {"华东公海"}


def test_disputes_in_each_state(db: None, customer_world: BuiltWorld) -> None:
    states = Counter(OwnershipDispute.objects.values_list("status", flat=True))
    assert states == {DisputeStatus.OPEN: 1, DisputeStatus.ANSWERED: 1, DisputeStatus.DECIDED: 2,
                      DisputeStatus.WITHDRAWN: 1}
    outcomes = set(OwnershipDispute.objects.filter(status=DisputeStatus.DECIDED).values_list("outcome", flat=True))
    assert outcomes == {"share", "transfer"}
    shared = OwnershipDispute.objects.get(outcome="share")
    assert AccountTeamMember.objects.filter(customer=shared.customer, user=shared.claimant).exists()
    moved = OwnershipDispute.objects.get(outcome="transfer")
    assert moved.customer.owner_id == moved.claimant_id
    answered = OwnershipDispute.objects.get(status=DisputeStatus.ANSWERED)
    assert answered.arbiter is not None and answered.arbiter.has_role("supervisor")  # type: ignore[arg-type]
    assert answered.answer and answered.claim_evidence


def test_locks_and_account_teams(db: None, customer_world: BuiltWorld) -> None:
    locked = Customer.objects.filter(is_locked=True)
    assert locked.count() == 4
    assert max(Counter(locked.values_list("owner_id", flat=True)).values()) <= 3
    members = AccountTeamMember.objects.select_related("customer")
    assert members.count() >= 15
    for member in members:
        assert member.user_id != member.customer.owner_id
        assert 0 < member.credit_share <= 100


def test_the_reclaim_job_has_warnings_to_give_and_little_to_take(db: None, customer_world: BuiltWorld) -> None:
    # when: the nightly job runs over the demo
    report = pool_reclaim_run()
    # then: a few warnings, one overdue customer back in the pool, and nobody else's book emptied
    assert len(report.warned) == 4
    assert len(report.reclaimed) == 3  # one overdue customer per region
    assert not Customer.objects.filter(pk__in=report.reclaimed, is_locked=True).exists()


def test_near_duplicates_are_registered_with_a_reason_and_found(db: None, customer_world: BuiltWorld) -> None:
    built = customer_world.customers
    assert built is not None and len(built.near_duplicates) == 3
    for original_id, duplicate_id in built.near_duplicates:
        duplicate = Customer.objects.get(pk=duplicate_id)
        event = AuditEvent.objects.get(action="customers.customer.created", object_id=str(duplicate_id))
        assert event.reason  # registered past the warning, with a reason
        result = customer_dedupe_check(name=duplicate.name, exclude_ids=[duplicate_id])
        assert result.verdict == "possible_duplicate"
        assert str(original_id) in {m.external_id for m in result.candidates}
    assert DedupeKey.objects.values("customer").distinct().count() == Customer.objects.count()


def test_the_audit_chain_still_verifies(db: None, customer_world: BuiltWorld) -> None:
    result = chain_verify()
    assert result.ok and result.first_bad is None
    actions = Counter(AuditEvent.objects.values_list("action", flat=True))
    assert actions["customers.customer.created"] == Customer.objects.count()
    assert actions["customers.dispute.filed"] == 5
    assert actions["customers.transfer.requested"] == 4


def test_the_database_matches_the_plan_for_the_seed(db: None, customer_world: BuiltWorld) -> None:
    # given: the same plan drawn again
    plan = plan_world(seed=42, as_of=AS_OF)
    again = plan_customers(plan, as_of=AS_OF, customers_per_manager=PER_MANAGER)
    built = customer_world.customers
    assert built is not None
    # then: it is the plan the world was built from, and the database holds its final owners
    assert again.customers == built.plan.customers and again.history == built.plan.history
    usernames = {p.key: p.username for p in plan.people}
    owners = dict(Customer.objects.values_list("pk", "owner__username"))
    reclaimed_later = 0
    for key, owner in again.final_owner.items():
        reclaimed_later += owners[built.customers[key]] != (usernames[owner] if owner else None)
    assert reclaimed_later == 0


def test_try_this_names_the_people_and_what_waits_for_them(db: None, customer_world: BuiltWorld) -> None:
    built = customer_world.customers
    assert built is not None
    text = "\n".join(try_this(customer_world, built))
    assert "owns" in text and "华东公海" in text
    assert "1 ownership dispute(s) to decide and 2 transfer request(s)" in text
    assert customer_world.people["audit"].username in text
    assert "kamguard dedupe scan" in text


def test_another_seed_gives_another_book_of_the_same_shape() -> None:
    first = plan_customers(plan_world(seed=1, as_of=AS_OF), as_of=AS_OF, customers_per_manager=PER_MANAGER)
    second = plan_customers(plan_world(seed=2, as_of=AS_OF), as_of=AS_OF, customers_per_manager=PER_MANAGER)
    assert [c.name for c in first.customers] != [c.name for c in second.customers]
    assert len(first.customers) == len(second.customers)
    assert Counter(h.kind for h in first.history) == Counter(h.kind for h in second.history)


def test_default_book_is_about_700_customers_a_quarter_pooled() -> None:
    plan = plan_customers(plan_world(seed=42, as_of=AS_OF), as_of=AS_OF)
    assert 650 <= len(plan.customers) <= 750
    listed = sum(c.is_listed for c in plan.customers)
    assert 550 <= listed <= 650
    pooled = sum(owner is None for owner in plan.final_owner.values()) / len(plan.final_owner)
    assert 0.22 <= pooled <= 0.28
    owned = Counter(owner for owner in plan.final_owner.values() if owner)
    assert 9 <= min(owned.values()) and max(owned.values()) <= 17


def test_allocation_rules_and_a_few_months_of_intake(db: None, customer_world: BuiltWorld) -> None:
    from kamguard.allocation.models import AllocationDecision, Intake, RuleSet, RuleSetVersion

    built = customer_world.allocation
    assert built is not None
    rule_set = RuleSet.objects.get(is_default=True)
    assert list(RuleSetVersion.objects.filter(rule_set=rule_set).order_by("number").values_list(
        "number", "status")) == [(1, "active"), (2, "draft")]
    outcomes = Counter(Intake.objects.values_list("outcome", flat=True))
    assert outcomes["duplicate"] == 2 and outcomes["allocated"] > 40 and outcomes["pool"] > 0
    assert set(outcomes) <= {"allocated", "pool", "duplicate", "held"}
    # every lead that became a customer: one decision, registered in the ledger by allocation
    for intake in Intake.objects.filter(customer__isnull=False):
        assert AllocationDecision.objects.filter(intake=intake).count() == 1
        first = OwnershipChange.objects.filter(customer_id=intake.customer_id).order_by("effective_at", "pk").first()
        assert first is not None and first.kind == OwnershipKind.ALLOCATION
    rules_used = set(AllocationDecision.objects.exclude(rule_key="").values_list("rule_key", flat=True))
    assert {"key-account", "shanghai", "trade-fair"} <= rules_used
    override = AllocationDecision.objects.get(is_manual=True)
    assert override.reason and override.actor_id == customer_world.people["director"].pk
    assert chain_verify().ok
