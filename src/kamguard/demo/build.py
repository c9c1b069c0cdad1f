"""Build the demo organisation by calling the org services, as the system (actor=None).

Every department, team, reference entry, person, role change, transfer and departure goes through
the same service a user's click would call, so each write is validated and audited exactly as in
production. Only the bulk teams' people of a scaled demo (`--scale N`, N > 1) are written by the
separate bulk builder in `kamguard.demo.bulk`; see its docstring for why and what it writes.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction

from kamguard.demo.customer_build import BuiltCustomers
from kamguard.demo.customer_plan import CustomersPlan
from kamguard.demo.hashers import quick_demo_hashing
from kamguard.demo.plan import DEMO_PASSWORD, PersonPlan, WorldPlan
from kamguard.org import services
from kamguard.org.models import Department, Grade, Industry, Post, Region, Team, User

if TYPE_CHECKING:
    from kamguard.demo.allocation import BuiltAllocation

REFERENCE_MODELS: dict[str, type[Industry] | type[Post] | type[Grade]] = {
    "industry": Industry, "post": Post, "grade": Grade,
}


@dataclass
class BuiltWorld:
    plan: WorldPlan
    departments: dict[str, Department] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    people: dict[str, User] = field(default_factory=dict)  # person key → user, scale-1 people only
    bulk_people: int = 0
    customers: BuiltCustomers | None = None
    allocation: BuiltAllocation | None = None
    # What each later capability's builder made (its Built… summary), by app: approvals, activities, plans, …
    apps: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def team_name(self, person: PersonPlan) -> str:
        return self.teams[person.team].name if person.team else ""


def demo_company_name() -> str:
    """总公司, or a distinct name when a company of that name exists already (a forced build beside real data)."""
    name, number = "总公司", 1
    while Department.objects.filter(parent__isnull=True, name=name).exists():
        number += 1
        name = f"总公司（演示{number}）"
    return name


@transaction.atomic
def world_build(plan: WorldPlan, *, password: str = DEMO_PASSWORD, customers: CustomersPlan | None = None,
                capabilities: tuple[str, ...] | None = None) -> BuiltWorld:
    """Write `plan` into the database, then the `customers` plan if given (pools, customers, their history;
    at scale N > 1 also the bulk customers) and allocation on top of it (rules, capacities, a few months of
    intake: see `kamguard.demo.allocation`). One transaction: a failure leaves nothing half-built.

    `capabilities` names the builders of CAPABILITY_BUILDERS to run after allocation (default: all of them; a
    test of one layer builds only what it stands on, e.g. `capabilities_until("contracts")` or `()`).

    Passwords are hashed at a low Argon2 cost and upgraded at first sign-in: see `kamguard.demo.hashers`.
    """
    with quick_demo_hashing():
        world = _world_build(plan, password=password)
    if customers is not None:
        from kamguard.demo.customer_build import customers_build

        world.customers = customers_build(world, customers)
        if plan.scale > 1:
            from kamguard.demo.customer_bulk import bulk_customers_create

            started = time.perf_counter()
            world.customers.bulk_customers = bulk_customers_create(world, world.customers)
            world.timings["customers (bulk builder)"] = time.perf_counter() - started
        from kamguard.demo.allocation import allocation_build

        world.allocation = allocation_build(world)
        _capabilities_build(world, capabilities)
    return world


# The builders of the capabilities on top of customers, in the order their data depends on each other: approval
# policies before the quotes and contracts that go through them; visits before the plans, logs and live view
# that read them; opportunities before the contracts signed from them.
CAPABILITY_BUILDERS: tuple[tuple[str, str], ...] = (
    ("approvals", "kamguard.demo.approvals:approvals_build"),
    ("activities", "kamguard.demo.activities:activities_build"),
    ("plans", "kamguard.demo.plans:plans_build"),
    ("worklogs", "kamguard.demo.worklogs:worklogs_build"),
    ("meetings", "kamguard.demo.meetings:meetings_build"),
    ("relay", "kamguard.demo.relay:relay_build"),
    ("records", "kamguard.demo.records:records_build"),
    ("sales", "kamguard.demo.sales:sales_build"),
    ("contracts", "kamguard.demo.contracts:contracts_build"),
    ("goals", "kamguard.goals.demo:goals_build"),
    ("reviews", "kamguard.reviews.demo:reviews_build"),
    ("risk", "kamguard.risk.demo:risk_build"),
    ("performance", "kamguard.performance.demo:performance_build"),
)


def capabilities_until(last: str) -> tuple[str, ...]:
    """The capabilities built before `last`, and `last` itself."""
    names = [app for app, _path in CAPABILITY_BUILDERS]
    return tuple(names[:names.index(last) + 1])


def _capabilities_build(world: BuiltWorld, only: tuple[str, ...] | None) -> None:
    from importlib import import_module

    for app, path in CAPABILITY_BUILDERS:
        if only is not None and app not in only:
            continue
        module, _, name = path.partition(":")
        started = time.perf_counter()
        world.apps[app] = getattr(import_module(module), name)(world)
        world.timings[app] = time.perf_counter() - started


def capability_summary(world: BuiltWorld) -> list[str]:
    """One or more lines per capability whose builder module has `summary_lines(built)`: what it made."""
    from importlib import import_module

    lines: list[str] = []
    for app, path in CAPABILITY_BUILDERS:
        built = world.apps.get(app)
        summary = getattr(import_module(path.partition(":")[0]), "summary_lines", None)
        if built is not None and summary is not None:
            lines += summary(built)
    return lines


def _world_build(plan: WorldPlan, *, password: str) -> BuiltWorld:
    world = BuiltWorld(plan)
    started = time.perf_counter()
    references = _references_build(plan)
    regions = {r.code: r for r in Region.objects.filter(code__in={
        code for code in [*(d.region_code for d in plan.departments), *(t.region_code for t in plan.teams)] if code})}
    world.timings["reference lists"] = time.perf_counter() - started

    started = time.perf_counter()
    for department in plan.departments:
        world.departments[department.key] = services.department_create(
            actor=None, name=department.name,
            parent=world.departments[department.parent] if department.parent else None,
            region=regions.get(department.region_code or ""))
    for team in plan.teams:
        world.teams[team.key] = services.team_create(
            actor=None, name=team.name, department=world.departments[team.department],
            region=regions.get(team.region_code or ""))
    world.timings["departments and teams"] = time.perf_counter() - started

    started = time.perf_counter()
    for person in plan.people:
        if not person.is_bulk:
            world.people[person.key] = _person_create(world, person, references, regions, password)
    for person in plan.people:
        if not person.is_bulk:
            _person_history(world, person)
    world.timings["people (through the services)"] = time.perf_counter() - started

    if any(p.is_bulk for p in plan.people):
        from kamguard.demo.bulk import bulk_people_create

        started = time.perf_counter()
        created = bulk_people_create(world, [p for p in plan.people if p.is_bulk], references=references,
                                     regions=regions, password=password)
        world.people.update(created)
        world.bulk_people = len(created)
        world.timings["people (bulk builder)"] = time.perf_counter() - started

    started = time.perf_counter()
    for team in plan.teams:
        world.teams[team.key] = services.team_update(actor=None, team=world.teams[team.key],
                                                     leader=world.people[team.leader], reason="任命团队负责人")
    for key, head in plan.department_heads.items():
        world.departments[key] = services.department_update(actor=None, department=world.departments[key],
                                                            head=world.people[head], reason="任命部门负责人")
    world.timings["leaders and heads"] = time.perf_counter() - started
    return world


def _references_build(plan: WorldPlan) -> dict[tuple[str, str], Industry | Post | Grade]:
    """Posts, grades and industries. Entries that exist already (same code, name or rank) are reused, not changed."""
    existing: dict[tuple[str, str, object], Industry | Post | Grade] = {}
    for kind, model in REFERENCE_MODELS.items():
        for instance in model.objects.all():
            existing[(kind, "code", instance.code)] = instance
            existing[(kind, "name", instance.name)] = instance
            if isinstance(instance, Grade):
                existing[(kind, "rank", instance.rank)] = instance
    result: dict[tuple[str, str], Industry | Post | Grade] = {}
    for reference in plan.references:
        found = (existing.get((reference.kind, "code", reference.code))
                 or existing.get((reference.kind, "name", reference.fields["name"]))
                 or existing.get((reference.kind, "rank", reference.fields.get("rank"))))
        result[(reference.kind, reference.code)] = found or services.reference_save(
            actor=None, kind=reference.kind, code=reference.code, **reference.fields)
    return result


def person_fields(world: BuiltWorld, person: PersonPlan, references: dict[tuple[str, str], Industry | Post | Grade],
                  regions: dict[str, Region], *, team: str | None) -> dict[str, object]:
    """The user_create fields for `person` (shared by the bulk builder so both write the same rows)."""
    supervisor = world.people.get(person.supervisor) if person.supervisor else None
    department = world.departments[person.department]
    if team is not None and team != person.team:  # before a transfer: the first team's department and leader
        first = next(t for t in world.plan.teams if t.key == team)
        department, supervisor = world.departments[first.department], world.people.get(first.leader)
    return {
        "email": person.email, "phone": person.phone, "department": department,
        "team": world.teams[team] if team else None, "post": references[("post", person.post)],
        "grade": references[("grade", person.grade)], "region": regions.get(person.region_code or ""),
        "supervisor": supervisor, "hired_on": person.hired_on, "can_export": person.can_export,
    }


def _person_create(world: BuiltWorld, person: PersonPlan, references: dict[tuple[str, str], Industry | Post | Grade],
                   regions: dict[str, Region], password: str) -> User:
    return services.user_create(
        actor=None, username=person.username, full_name=person.full_name,
        roles=list(person.first_roles or person.roles), password=password,
        **person_fields(world, person, references, regions, team=person.first_team or person.team))


def _person_history(world: BuiltWorld, person: PersonPlan) -> None:
    """Replay what happened to `person` after hiring: promotions, transfers, leaving."""
    user = world.people[person.key]
    if person.first_roles is not None:
        user = services.user_set_roles(actor=None, user=user, roles=list(person.roles),
                                       reason=person.role_change_reason)
    if person.first_team is not None and person.team is not None:
        user = services.user_update(actor=None, user=user, department=world.departments[person.department],
                                    team=world.teams[person.team],
                                    supervisor=world.people[person.supervisor] if person.supervisor else None,
                                    reason=f"调岗：{world.teams[person.first_team].name} → {world.teams[person.team].name}")
    if person.left_on is not None:
        user = services.user_update(actor=None, user=user, left_on=person.left_on, is_active=False,
                                    reason=f"离职（{person.left_on:%Y-%m-%d}）")
    world.people[person.key] = user


def today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
