"""The engine's world, read from the database: people (availability, capacity, load per tier), teams (members,
round-robin cursor, pool), pools; and subjects built from intake fields or customers.

- `state_load(*, ruleset, on=None) -> LoadedState` — everything `ruleset` can reach, as of `on` (today).
- `cursors_commit(*, loaded) -> None` — write the round-robin cursors the engine moved, each by a conditional
  update on its version: a cursor that another worker moved meanwhile raises Conflict (never a double move).
- `subject_build(*, ref, fields, channel="") -> Subject` — `fields` as intake stores them (region and industry
  as codes).
- `region_chain(code) -> tuple[str, ...]` — the code and its ancestors' codes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.allocation.domain.engine import AllocationState, Person, TeamState
from kamguard.allocation.domain.rules import RuleSet as DomainRuleSet
from kamguard.allocation.domain.rules import Subject, Target
from kamguard.allocation.models import (
    Absence,
    DepartureNotice,
    PersonCapacity,
    RoundRobinCursor,
    TeamAllocationSetting,
)
from kamguard.core.errors import Conflict
from kamguard.customers.models import Customer, CustomerStatus, Pool
from kamguard.org.domain.roles import Right, Role, rights_for
from kamguard.org.models import Region, RoleAssignment, Team, User


@dataclass
class LoadedState:
    state: AllocationState
    cursor_versions: dict[int, int] = field(default_factory=dict)  # team id -> cursor row version (0: no row)
    cursors: dict[int, int | None] = field(default_factory=dict)  # team id -> cursor as loaded


def _targets(ruleset: DomainRuleSet) -> list[Target]:
    return [*(rule.target for rule in ruleset.rules), ruleset.fallback]


def people_rights(user_ids: Iterable[int]) -> dict[int, frozenset[Right]]:
    """Everyone's rights in one query (User.rights would query once per person)."""
    now = timezone.now()
    roles: dict[int, set[Role]] = defaultdict(set)
    for user_id, role in RoleAssignment.objects.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=now), user_id__in=list(user_ids)).values_list(
            "user_id", "role"):
        roles[user_id].add(Role(role))
    return {user_id: rights_for(frozenset(r)) for user_id, r in roles.items()}


def state_load(*, ruleset: DomainRuleSet, on: dt.date | None = None) -> LoadedState:
    today = on or timezone.localdate()
    targets = _targets(ruleset)
    team_ids = sorted({t.id for t in targets if t.kind == "team"})
    person_ids = {t.id for t in targets if t.kind == "person"}
    pool_ids = {t.id for t in targets if t.kind == "pool"}
    active_teams = set(Team.objects.filter(pk__in=team_ids, is_active=True).values_list("pk", flat=True))
    members: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in User.objects.filter(team_id__in=active_teams, is_active=True).order_by("pk").values_list(
            "pk", "team_id"):
        members[team_id].append(user_id)
        person_ids.add(user_id)
    team_pools = dict(TeamAllocationSetting.objects.filter(team_id__in=active_teams, pool__isnull=False).values_list(
        "team_id", "pool_id"))
    pool_ids |= set(team_pools.values())
    live_pools = set(Pool.objects.filter(pk__in=pool_ids, is_active=True).values_list("pk", flat=True))

    users = {row["pk"]: row for row in User.objects.filter(pk__in=person_ids).values(
        "pk", "team_id", "is_active", "left_on")}
    rights = people_rights(users)
    absent: dict[int, str] = {}
    for person_id, kind in Absence.objects.filter(person_id__in=users, starts_on__lte=today,
                                                  ends_on__gte=today).values_list("person_id", "kind"):
        absent[person_id] = kind
    leaving = set(DepartureNotice.objects.filter(person_id__in=users, noticed_on__lte=today).values_list(
        "person_id", flat=True))
    capacity: dict[int, dict[str, int | None]] = defaultdict(dict)
    for person_id, tier, limit in PersonCapacity.objects.filter(person_id__in=users).values_list(
            "person_id", "tier", "capacity"):
        capacity[person_id][tier] = limit
    load: dict[int, dict[str, int]] = defaultdict(dict)
    for owner_id, tier, count in Customer.objects.filter(owner_id__in=users, status=CustomerStatus.ACTIVE).order_by(
            ).values("owner_id", "tier").annotate(n=Count("pk")).values_list("owner_id", "tier", "n"):
        load[owner_id][tier] = count

    people: dict[int, Person] = {}
    for person_id, user in users.items():
        reason = ""
        left_on = user["left_on"]
        if not user["is_active"] or (left_on is not None and left_on <= today):
            reason = "left"
        elif Right.EDIT_BUSINESS_DATA not in rights.get(person_id, frozenset()):
            reason = "no_right"
        elif person_id in leaving or left_on is not None:
            reason = "leaving"
        elif person_id in absent:
            reason = absent[person_id]
        people[person_id] = Person(id=person_id, team_id=user["team_id"], available=not reason,
                                   unavailable_reason=reason, capacity=dict(capacity.get(person_id, {})),
                                   load=dict(load.get(person_id, {})))
    cursor_rows = {row["team_id"]: row for row in RoundRobinCursor.objects.filter(team_id__in=active_teams).values(
        "team_id", "last_person_id", "version")}
    teams: dict[int, TeamState] = {}
    loaded = LoadedState(state=AllocationState(people=people, teams=teams, pools=live_pools))
    for team_id in sorted(active_teams):
        cursor_row = cursor_rows.get(team_id)
        cursor = cursor_row["last_person_id"] if cursor_row else None
        teams[team_id] = TeamState(team_id=team_id, member_ids=tuple(members.get(team_id, ())), cursor=cursor,
                                   pool_id=team_pools.get(team_id))
        loaded.cursor_versions[team_id] = cursor_row["version"] if cursor_row else 0
        loaded.cursors[team_id] = cursor
    return loaded


def cursors_commit(*, loaded: LoadedState) -> None:
    """Persist every cursor the engine moved. Each move is `UPDATE … WHERE version = <as loaded>`; a missing
    row is inserted (the one-to-one key refuses a second insert). Either way a worker that loaded a stale
    cursor fails with Conflict and its transaction rolls back."""
    for team_id, team in loaded.state.teams.items():
        if team.cursor == loaded.cursors.get(team_id):
            continue
        version = loaded.cursor_versions.get(team_id, 0)
        if version == 0 and not RoundRobinCursor.objects.filter(team_id=team_id).exists():
            try:
                with transaction.atomic():
                    RoundRobinCursor.objects.create(team_id=team_id, last_person_id=team.cursor, version=1)
            except IntegrityError as exc:
                raise Conflict(_("Another allocation moved the round-robin turn meanwhile. Try again."),
                               code="cursor_moved") from exc
            loaded.cursor_versions[team_id] = 1
        else:
            updated = RoundRobinCursor.objects.filter(team_id=team_id, version=version).update(
                last_person_id=team.cursor, version=version + 1, updated_at=timezone.now())
            if updated != 1:
                raise Conflict(_("Another allocation moved the round-robin turn meanwhile. Try again."),
                               code="cursor_moved")
            loaded.cursor_versions[team_id] = version + 1
        loaded.cursors[team_id] = team.cursor


_REGION_PARENTS: dict[str, str | None] = {}


def region_chain(code: str | None) -> tuple[str, ...]:
    """The code and its ancestors' codes, from every region's parent read once per process (regions are
    reference data loaded by a migration; an unknown code is looked up again, in case it was added since)."""
    if not code:
        return ()
    if code not in _REGION_PARENTS:
        _REGION_PARENTS.update(Region.objects.values_list("code", "parent__code"))
        if code not in _REGION_PARENTS:
            return ()
    chain: list[str] = []
    node: str | None = code
    while node is not None and len(chain) < 6:
        chain.append(node)
        node = _REGION_PARENTS.get(node)
    return tuple(chain)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def subject_build(*, ref: str, fields: Mapping[str, Any], channel: str = "") -> Subject:
    region = str(fields.get("region") or "")
    return Subject(ref=ref, fields={
        "region": region, "industry": str(fields.get("industry") or ""), "size": str(fields.get("size") or ""),
        "tier": str(fields.get("tier") or "C"), "source": str(fields.get("source") or ""),
        "expected_value": _decimal(fields.get("expected_value")), "name": str(fields.get("name") or ""),
        "channel": channel or str(fields.get("channel") or ""),
    }, region_codes=region_chain(region))


def customer_subject(customer: Customer, *, channel: str = "", expected_value: Decimal | None = None) -> Subject:
    """A subject from a stored customer (for re-running allocation on existing customers)."""
    return subject_build(ref=f"customer:{customer.pk}", channel=channel, fields={
        "region": customer.region.code if customer.region_id and customer.region else "",
        "industry": customer.industry.code if customer.industry_id and customer.industry else "",
        "size": customer.size, "tier": customer.tier, "source": customer.source, "name": customer.name,
        "expected_value": expected_value})
