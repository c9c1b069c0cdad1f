"""Every read of goals.

Three system reads for the performance app (no viewer: the performance app decides who sees a scorecard):
- `targets_for(*, user_ids, start, end) -> dict[int, Decimal]`: the sum of each person's monthly sales targets
  whose month (its first day) lies in [start, end]; people without a target are absent.
- `target_months_for(*, user_ids, start, end) -> dict[int, set[date]]`: which of the calendar months [start, end]
  touches each person has a target for (a sum over only some of them is no target for the period).
- `okr_progress_for(*, user_ids, start, end) -> dict[int, Decimal]`: 0..100, the weight-averaged progress of the
  key results of each person's active or done objectives whose period overlaps [start, end]; absent when none.
  It reads the key results as they stood at the end of `end`: objectives and key results created later are left
  out and each value is its latest check-in by then (the start value when none), so work recorded after the
  period cannot raise its score. The goals pages show current progress (current_value).

Everything else starts from the viewer and is narrowed to their data scope (org.scopes.scope_q): their own
targets and objectives, their team's objectives, and those of the people and teams their scope covers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.goals import access
from kamguard.goals.domain.months import add_months, month_start
from kamguard.goals.domain.progress import Node, kr_progress, quantize, weighted_progress
from kamguard.goals.models import (
    COUNTED_STATUSES,
    CheckIn,
    KeyResult,
    Objective,
    ObjectiveStatus,
    SalesTarget,
)
from kamguard.org.models import Team, User
from kamguard.org.scopes import scope_q


def targets_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, Decimal]:
    rows = (SalesTarget.objects.filter(user_id__in=list(user_ids), month__gte=start, month__lte=end)
            .values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total"))
    return {user_id: Decimal(total) for user_id, total in rows if total is not None}


def target_months_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, set[dt.date]]:
    """The months (their first days) of every calendar month [start, end] touches that each person has a
    target for; people without any are absent."""
    out: dict[int, set[dt.date]] = defaultdict(set)
    for user_id, month in SalesTarget.objects.filter(
            user_id__in=list(user_ids), month__gte=month_start(start), month__lte=end).values_list("user_id", "month"):
        out[user_id].add(month)
    return dict(out)


def okr_progress_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, Decimal]:
    """As things stood at the end of `end` (local time): objectives and key results created after it do not
    count, and each key result's value is that of its latest check-in recorded by then (its start value when
    none) — so nothing done after a period can change its score."""
    cutoff = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    value_then = Subquery(CheckIn.objects.filter(key_result=OuterRef("pk"), at__lt=cutoff)
                          .order_by("-at", "-pk").values("value")[:1])
    rows = KeyResult.objects.filter(
        objective__owner_user_id__in=list(user_ids), objective__status__in=COUNTED_STATUSES,
        objective__period_start__lte=end, objective__period_end__gte=start,
        objective__created_at__lt=cutoff, created_at__lt=cutoff,
    ).annotate(value_then=Coalesce(value_then, F("start_value"), output_field=DecimalField(max_digits=16, decimal_places=2))).values_list(
        "objective__owner_user_id", "start_value", "target_value", "value_then", "weight")
    per_user: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for user_id, s, t, c, w in rows.iterator(chunk_size=5000):
        per_user[user_id].append((kr_progress(s, t, c), w))
    out: dict[int, Decimal] = {}
    for user_id, items in per_user.items():
        value = weighted_progress(items)
        if value is not None:
            out[user_id] = quantize(value)
    return out


# ------------------------------------------------------------------------------------------- the viewer's reads


def target_list(*, viewer: User, user_id: int | None = None, team_id: int | None = None,
                start: dt.date | None = None, end: dt.date | None = None) -> QuerySet[SalesTarget]:
    """Targets of the people the viewer's scope covers (their own included), newest month first."""
    qs = SalesTarget.objects.filter(scope_q(viewer, owner_path="user")).select_related("user", "user__team",
                                                                                       "set_by")
    if user_id:
        qs = qs.filter(user_id=user_id)
    if team_id:
        qs = qs.filter(user__team_id=team_id)
    if start:
        qs = qs.filter(month__gte=start)
    if end:
        qs = qs.filter(month__lte=end)
    return qs.order_by("-month", "user__full_name", "pk")


def people_visible(*, viewer: User) -> QuerySet[User]:
    return User.objects.filter(scope_q(viewer, owner_path=""), is_active=True).select_related("team")


def teams_for_grid(*, viewer: User) -> QuerySet[Team]:
    """Teams whose targets grid the viewer may open: those they manage, or any they read (read-only)."""
    return Team.objects.filter(access.teams_visible(viewer) | access.teams_led(viewer), is_active=True).select_related(
        "department").order_by("name", "pk").distinct()


@dataclass(frozen=True)
class TargetGrid:
    team: Team
    months: list[dt.date]
    people: list[User]
    cells: dict[tuple[int, dt.date], SalesTarget]
    editable: set[int]  # the people whose targets the viewer may set
    totals_by_month: dict[dt.date, Decimal]
    totals_by_person: dict[int, Decimal]


def target_grid(*, viewer: User, team_id: int, first: dt.date, months: int) -> TargetGrid:
    """A team's members × months with their targets, as far as the viewer may see them."""
    team = teams_for_grid(viewer=viewer).filter(pk=team_id).first()
    if team is None:
        raise NotFound()
    month_list = [add_months(month_start(first), i) for i in range(months)]
    people = list(people_visible(viewer=viewer).filter(team=team).order_by("full_name", "pk"))
    rows = SalesTarget.objects.filter(user__in=people, month__gte=month_list[0], month__lte=month_list[-1])
    cells = {(t.user_id, t.month): t for t in rows}
    editable = {p.pk for p in people if access.may_supervise(viewer, p)} if access.is_supervisor(viewer) else set()
    by_month: dict[dt.date, Decimal] = defaultdict(Decimal)
    by_person: dict[int, Decimal] = defaultdict(Decimal)
    for (user_id, month), target in cells.items():
        by_month[month] += target.amount
        by_person[user_id] += target.amount
    return TargetGrid(team=team, months=month_list, people=people, cells=cells, editable=editable,
                      totals_by_month=dict(by_month), totals_by_person=dict(by_person))


def objective_list(*, viewer: User, owner_user_id: int | None = None, team_id: int | None = None,
                   status: str = "", on: dt.date | None = None, query: str = "",
                   include_team_members: bool = False) -> QuerySet[Objective]:
    """Objectives the viewer reads. `team_id`: the team's own objectives (and, with include_team_members, its
    members' too); `on`: objectives whose period contains that day."""
    qs = Objective.objects.filter(access.objectives_visible(viewer)).select_related(
        "owner_user", "owner_team", "parent")
    if owner_user_id:
        qs = qs.filter(owner_user_id=owner_user_id)
    if team_id:
        qs = qs.filter(Q(owner_team_id=team_id) | Q(owner_user__team_id=team_id)) if include_team_members else \
            qs.filter(owner_team_id=team_id)
    if status:
        qs = qs.filter(status=status)
    if on:
        qs = qs.filter(period_start__lte=on, period_end__gte=on)
    if query:
        qs = qs.filter(Q(title__icontains=query) | Q(description__icontains=query))
    return qs.order_by("-period_start", "pk")


def objective_get(*, viewer: User, objective_id: int) -> Objective:
    found = objective_list(viewer=viewer).filter(pk=objective_id).first()
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class KeyResultView:
    kr: KeyResult
    progress: Decimal


def key_results_of(objective: Objective) -> list[KeyResultView]:
    """Call after `objective_get` (which checked the viewer may see it)."""
    return [KeyResultView(kr=kr, progress=quantize(kr_progress(kr.start_value, kr.target_value, kr.current_value)))
            for kr in objective.key_results.order_by("pk")]


def progress_of(objectives: Sequence[Objective]) -> dict[int, Decimal | None]:
    """Each objective's own progress (weighted over its key results), in one query."""
    items: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    rows = KeyResult.objects.filter(objective__in=[o.pk for o in objectives]).values_list(
        "objective_id", "start_value", "target_value", "current_value", "weight")
    for objective_id, s, t, c, w in rows:
        items[objective_id].append((kr_progress(s, t, c), w))
    out: dict[int, Decimal | None] = {}
    for o in objectives:
        value = weighted_progress(items.get(o.pk, []))
        out[o.pk] = None if value is None else quantize(value)
    return out


def check_in_history(*, key_result_ids: Sequence[int], limit: int = 200) -> QuerySet[CheckIn]:
    """Check-ins of key results the caller already checked the viewer may see, newest first."""
    return CheckIn.objects.filter(key_result_id__in=list(key_result_ids)).select_related("by", "key_result")[:limit]


def check_in_list(*, viewer: User, key_result_id: int) -> QuerySet[CheckIn]:
    kr = KeyResult.objects.filter(pk=key_result_id).first()
    if kr is None:
        raise NotFound()
    objective_get(viewer=viewer, objective_id=kr.objective_id)
    return CheckIn.objects.filter(key_result=kr).select_related("by")


@dataclass
class TreeNode:
    objective: Objective
    own: Decimal | None
    rolled: Decimal | None
    children: list[TreeNode] = field(default_factory=list)


def team_tree(*, viewer: User, team_id: int, on: dt.date | None = None) -> tuple[Team, list[TreeNode]]:
    """The team's objectives (those whose period contains `on`, or all when None) with the objectives that
    cascade from them (those the viewer may read) and the rolled-up progress over all of them; cancelled ones
    left out."""
    team = Team.objects.filter(access.teams_visible(viewer), pk=team_id).first()
    if team is None:
        raise NotFound()
    roots = list(objective_list(viewer=viewer, team_id=team.pk).exclude(status=ObjectiveStatus.CANCELLED)
                 .filter(**({"period_start__lte": on, "period_end__gte": on} if on else {})))
    # The roll-up counts every cascading objective (the team's figure is the same for everyone); the tree lists
    # only those the viewer may read.
    children = list(Objective.objects.filter(parent__in=roots).exclude(status=ObjectiveStatus.CANCELLED)
                    .select_related("owner_user").order_by("owner_user__full_name", "pk"))
    readable = set(objective_list(viewer=viewer).filter(pk__in=[c.pk for c in children]).values_list("pk", flat=True))
    kr_rows: dict[int, list[tuple[Decimal, Decimal, Decimal, Decimal]]] = defaultdict(list)
    for objective_id, s, t, c, w in KeyResult.objects.filter(
            objective__in=[o.pk for o in roots + children]).values_list(
            "objective_id", "start_value", "target_value", "current_value", "weight"):
        kr_rows[objective_id].append((s, t, c, w))
    by_parent: dict[int, list[Objective]] = defaultdict(list)
    for child in children:
        by_parent[child.parent_id or 0].append(child)
    out: list[TreeNode] = []
    for root in roots:
        node = Node(key=root.pk, key_results=kr_rows.get(root.pk, []),
                    children=[Node(key=c.pk, key_results=kr_rows.get(c.pk, [])) for c in by_parent[root.pk]])
        child_views = [TreeNode(objective=c, own=_q(n.own_progress()), rolled=_q(n.rolled_up()))
                       for c, n in zip(by_parent[root.pk], node.children, strict=True) if c.pk in readable]
        out.append(TreeNode(objective=root, own=_q(node.own_progress()), rolled=_q(node.rolled_up()),
                            children=child_views))
    return team, out


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else quantize(value)
