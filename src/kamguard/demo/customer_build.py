"""Build the demo's pools, customers and ownership history through the customers services.

Each write is made by the person who would make it: the regional supervisor sets up the region's shared pool
and its members; a manager registers their customer (a specialist registers the ones that go straight into the
pool); the owner releases, locks and shares credit; a colleague claims from the pool or files an ownership
claim; the supervisor transfers, decides transfer requests and arbitrates. Most listed companies are
registered with `skip_dedupe=True` (they are known distinct companies, and the check would only cost time);
the invented companies, the first listed companies of each region and the planted near-duplicates go
through the normal duplicate check.

One thing has no service yet: follow-ups come with the work-records feature. Until then the demo sets
`Customer.last_followup_at` directly with a queryset update (no audit event: it is the date a follow-up
service would record), and back-dates each record's `created_at` to its registration date (the demo plays a
company that has used KAMGuard for years), so the reclaim job finds recently followed-up customers, a few to warn about and one
overdue — instead of reclaiming every customer registered long ago.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.utils import timezone

from kamguard.customers.models import (
    Customer,
    CustomerStatus,
    OwnershipDispute,
    Pool,
    RequestStatus,
    TransferRequest,
)
from kamguard.customers.services import disputes, ownership, pools, records
from kamguard.customers.services.dedupe import customer_dedupe_check
from kamguard.demo.customer_plan import CustomerPlan, CustomersPlan, HistoryStep
from kamguard.org.models import Industry, Region, User

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

CHECKED_DUPLICATE_REASON = "已核实：名称相近，但为不同的公司（不同的统一社会信用代码与地址）"


@dataclass
class BuiltCustomers:
    plan: CustomersPlan
    pools: dict[str, Pool] = field(default_factory=dict)  # region key → pool
    customers: dict[str, int] = field(default_factory=dict)  # customer key → primary key
    near_duplicates: list[tuple[int, int]] = field(default_factory=list)  # (original, near-duplicate) ids
    bulk_customers: int = 0


def customers_build(world: BuiltWorld, plan: CustomersPlan) -> BuiltCustomers:
    built = BuiltCustomers(plan)
    started = time.perf_counter()
    codes = {p.region_code for p in plan.pools} | {c.region_code for c in plan.customers}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    industries = {i.name: i for i in Industry.objects.all()}
    for pool_plan in plan.pools:
        creator = world.people[pool_plan.creator]
        pool = pools.pool_save(actor=creator, name=pool_plan.name, region=regions.get(pool_plan.region_code),
                               department=world.departments[pool_plan.department], **pool_plan.rules)
        for member in pool_plan.members:
            pools.pool_member_set(actor=creator, pool_id=pool.pk, user=world.people[member], is_member=True,
                                  is_admin=member in pool_plan.admins)
        built.pools[pool_plan.region] = pool
    world.timings["pools"] = time.perf_counter() - started

    started = time.perf_counter()
    for customer in plan.customers:
        built.customers[customer.key] = _customer_create(world, built, customer, regions, industries)
    world.timings["customers (through the services)"] = time.perf_counter() - started

    started = time.perf_counter()
    for step in plan.history:
        _history_step(world, built, step)
    _followups_set(built)
    world.timings["ownership history"] = time.perf_counter() - started
    return built


def _customer_create(world: BuiltWorld, built: BuiltCustomers, plan: CustomerPlan, regions: dict[str, Region],
                     industries: dict[str, Industry]) -> int:
    registrar = world.people[plan.registrar]
    fields: dict[str, Any] = {
        "actor": registrar, "name": plan.name, "to_pool": plan.owner is None, "created_on": plan.created_on,
        "region": regions.get(plan.region_code), "pool": built.pools[plan.region], "english_name": plan.english_name,
        "aliases": list(plan.aliases), "website": plan.website, "industry": industries.get(plan.industry),
        "size": plan.size, "tier": plan.tier, "source": plan.source, "uscc": plan.uscc,
        "contacts": [{"name": c.name, "title": c.title, "phone": c.phone, "email": c.email,
                      "is_decision_maker": c.is_decision_maker} for c in plan.contacts],
    }
    if plan.near_duplicate_of is not None:
        # The first variant the duplicate check calls a possible duplicate (not a blocked duplicate) of the original.
        for name in plan.name_variants:
            result = customer_dedupe_check(name=name, english_name=plan.english_name, aliases=plan.aliases,
                                           emails=[plan.website])
            if result.verdict != "possible_duplicate":
                continue
            try:
                customer = records.customer_create(**{**fields, "name": name}, duplicate_reason=plan.duplicate_reason)
            except records.DuplicateCustomer:
                continue  # the contacts made it a duplicate after all: try the next variant
            built.near_duplicates.append((built.customers[plan.near_duplicate_of], customer.pk))
            return customer.pk
        customer = records.customer_create(**fields, skip_dedupe=True)  # none was close enough: a plain customer
        return customer.pk
    if not plan.check_duplicates:
        return records.customer_create(**fields, skip_dedupe=True).pk
    try:
        return records.customer_create(**fields).pk
    except records.PossibleDuplicate:
        # What a manager does when the check warns about a different company with a similar name.
        return records.customer_create(**fields, duplicate_reason=CHECKED_DUPLICATE_REASON).pk


def _history_step(world: BuiltWorld, built: BuiltCustomers, step: HistoryStep) -> None:
    actor = world.people[step.actor]
    customer_id = built.customers[step.customer]
    target = world.people[step.target] if step.target else None
    if step.kind == "release":
        ownership.customer_release(actor=actor, customer_id=customer_id, reason=step.reason)
    elif step.kind == "claim":
        ownership.customer_claim(actor=actor, customer_id=customer_id)
    elif step.kind == "transfer":
        ownership.customer_transfer(actor=actor, customer_id=customer_id, to_owner_id=target.pk if target else None,
                                    reason=step.reason)
    elif step.kind == "request":
        request = ownership.transfer_request_create(actor=actor, customer_id=customer_id,
                                                    to_owner_id=target.pk if target else None, reason=step.reason)
        if step.state in ("approved", "rejected") and step.decider:
            ownership.transfer_request_decide(
                actor=world.people[step.decider], request_id=request.pk, approve=step.state == "approved",
                reason="同意：接收人已熟悉客户情况" if step.state == "approved" else
                "客户正处于续约关键期，更换对接人风险较大，暂不移交；下季度再议")
    elif step.kind == "dispute":
        _dispute_replay(world, customer_id, step)
    elif step.kind == "lock":
        ownership.customer_lock(actor=actor, customer_id=customer_id, locked=True, reason=step.reason)
    elif step.kind == "team" and target is not None:
        role, _, reason = step.reason.partition("：")
        records.account_team_set(actor=actor, customer_id=customer_id, user=target, role=role,
                                 credit_share=step.share, reason=reason)
    else:  # pragma: no cover - the plan makes only the kinds above
        raise ValueError(f"Unknown history step {step.kind}")


def _dispute_replay(world: BuiltWorld, customer_id: int, step: HistoryStep) -> None:
    claimant = world.people[step.actor]
    # The claimant learnt of the customer from the duplicate check, which hands out a claim token for it.
    from kamguard.customers.services.dedupe import claim_token_for

    dispute = disputes.dispute_file(actor=claimant, claim_token=claim_token_for(viewer=claimant, customer_id=customer_id),
                                    evidence=step.reason,
                                    first_contact_on=step.first_contact_on,
                                    contacts_known="采购总监、信息中心主任")
    if step.state == "withdrawn":
        disputes.dispute_withdraw(actor=claimant, dispute_id=dispute.pk)
        return
    if step.state == "open":
        return
    owner = User.objects.get(pk=dispute.owner_id or 0)
    first_contact = step.first_contact_on - dt.timedelta(days=120) if step.first_contact_on else None
    disputes.dispute_answer(actor=owner, dispute_id=dispute.pk, first_contact_on=first_contact,
                            answer="该客户由我最早接触并登记，近一年保持每月拜访，附拜访记录与报价单。")
    if step.state in ("share", "transfer") and step.decider:
        disputes.dispute_decide(
            actor=world.people[step.decider], dispute_id=dispute.pk, outcome=step.state,
            claimant_share=step.share or None,
            reason="双方均有有效跟进记录：原负责人保留客户，申请人以协同方式分享业绩。" if step.state == "share" else
            "申请人首次开发并完成首单的证据充分，原负责人登记晚于申请人的首次接触，客户改由申请人负责。")


def _followups_set(built: BuiltCustomers) -> None:
    """Last follow-up dates, set directly: there is no follow-up service before the work-records feature."""
    now = timezone.now()
    by_days: dict[int, list[int]] = {}
    for key, days in built.plan.followup_days.items():
        by_days.setdefault(days, []).append(built.customers[key])
    for days, ids in sorted(by_days.items()):
        when = now - dt.timedelta(days=days)
        # Never before the current owner took over: a customer claimed today has no follow-up yet.
        Customer.objects.filter(pk__in=ids, owner__isnull=False, owned_since__lte=when).update(last_followup_at=when)
    # The demo plays a company that has used KAMGuard for years: each record exists here since its registration
    # date (reclaim never counts neglect from before a record existed, see pool_reclaim_run).
    for customer_id, created_on in Customer.objects.filter(pk__in=built.customers.values()).values_list(
            "pk", "created_on"):
        registered = timezone.make_aware(dt.datetime.combine(created_on, dt.time(9, 0)))
        Customer.objects.filter(pk=customer_id, created_at__gt=registered).update(created_at=registered)


# ---------------------------------------------------------------- what to try

def try_this(world: BuiltWorld, built: BuiltCustomers) -> list[str]:
    """A few things each role can do in the demo right away, from the data as built."""
    lines: list[str] = []
    owners = (Customer.objects.filter(owner__in=[world.people[p.key].pk for p in world.plan.people
                                                 if not p.is_bulk and "manager" in p.roles],
                                      status=CustomerStatus.ACTIVE, owner__is_active=True)
              .values("owner").annotate(n=Count("pk")).order_by("-n", "owner"))
    top = owners.first()
    if top:
        manager = User.objects.get(pk=top["owner"])
        example = Customer.objects.filter(owner=manager).order_by("-tier", "name").values_list("name", flat=True)
        names = list(example[:2])
        lines.append(f"manager {manager.username} ({manager.full_name}) owns {top['n']} customers, e.g. "
                     f"{'、'.join(names)}; they can release one, lock one, or claim from the pool.")
    for pool in built.pools.values():
        free = Customer.objects.filter(pool=pool, owner__isnull=True, status=CustomerStatus.ACTIVE).count()
        lines.append(f"{pool.name}: {free} customers waiting to be claimed (limits: 5 claims a day, "
                     f"30-day cooldown, 15-day protection).")
        break
    dispute = OwnershipDispute.objects.filter(status="open").select_related("owner", "customer").first()
    if dispute and dispute.owner:
        lines.append(f"manager {dispute.owner.username} ({dispute.owner.full_name}) has an ownership claim on "
                     f"{dispute.customer.name} to answer.")
    for supervisor in User.objects.filter(role_assignments__role="supervisor", department__head__isnull=False,
                                          pk__in=[d.head_id for d in world.departments.values()]).distinct():
        to_decide = OwnershipDispute.objects.filter(arbiter=supervisor, status="answered").count()
        requests = TransferRequest.objects.filter(status=RequestStatus.PENDING).filter(
            Q(from_owner__department=supervisor.department) | Q(to_owner__department=supervisor.department)).count()
        if to_decide or requests:
            lines.append(f"supervisor {supervisor.username} ({supervisor.full_name}) has {to_decide} ownership "
                         f"dispute(s) to decide and {requests} transfer request(s) waiting.")
    auditor = next((u for k, u in world.people.items() if k == "audit"), None)
    if auditor:
        lines.append(f"the auditor {auditor.username} ({auditor.full_name}) can open the audit trail: every "
                     "registration, claim, transfer and decision above, by whom; `kamguard audit verify` checks it.")
    if built.near_duplicates:
        first, second = built.near_duplicates[0]
        labels = dict(Customer.objects.filter(pk__in=[first, second]).values_list("pk", "name"))
        lines.append(f"`kamguard dedupe scan --include-possible` lists the {len(built.near_duplicates)} planted "
                     f"near-duplicates, e.g. "
                     f"{labels.get(first)} / {labels.get(second)}.")
    return lines
