"""Reads of supervision: the basic-data quality score per person and period (D1) and the supervisor's live
view of the day (R1). Both start from the viewer: only people in the viewer's data scope are measured or shown.

The figures come from the other work-record apps through their published selectors (activities, worklogs,
relay, records, meetings). A source whose app does not provide its selector yet is reported as unavailable
(`None`), never as zeros.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.org.domain.roles import Role, Scope
from kamguard.org.models import Team, User
from kamguard.org.scopes import scope_q
from kamguard.supervision.domain.quality import QualityCounts, QualityScore, quality_score

FIELD_ROLES = (Role.MANAGER, Role.SPECIALIST)
LIVE_LIMIT = 50  # rows per live panel


def provided(module: str, name: str) -> Callable[..., Any] | None:
    """The selector `kamguard.<module>.selectors.<name>` when its app provides it, else None."""
    try:
        found = importlib.import_module(f"kamguard.{module}.selectors")
    except ImportError:
        return None
    function = getattr(found, name, None)
    return function if callable(function) else None


def people_in_scope(*, viewer: User) -> QuerySet[User]:
    """The active people the viewer may supervise or see: a manager only themselves, a specialist their team,
    a supervisor their department and below, auditors everyone."""
    return User.objects.filter(scope_q(viewer, owner_path=""), is_active=True).select_related("team").order_by(
        "full_name", "pk")


def field_people(*, viewer: User) -> QuerySet[User]:
    """People in scope who do field work (managers, specialists): the ones whose records are measured."""
    return people_in_scope(viewer=viewer).filter(role_assignments__role__in=[r.value for r in FIELD_ROLES]).filter(
        Q(role_assignments__valid_until__isnull=True) | Q(role_assignments__valid_until__gt=timezone.now())
    ).distinct()


def _narrow(viewer: User, user_ids: Iterable[int]) -> list[int]:
    ids = {int(i) for i in user_ids}
    if not ids:
        return []
    return list(people_in_scope(viewer=viewer).filter(pk__in=ids).values_list("pk", flat=True))


# ---------------------------------------------------------------- the basic-data quality score

def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _activity_counts(ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Any]] | None:
    try:
        from kamguard.activities.models import Activity
    except ImportError:
        return None
    blank_outcome = Q(outcome="")
    blank_next = Q(next_step="")
    visit = Q(kind="visit")
    no_location = visit & ~Q(location_status="ok") & ~Q(location_status="no_reference")
    located = visit & (Q(location_status="ok") | Q(location_status="no_reference"))
    rows = (Activity.objects.filter(user_id__in=ids, status="done", happened_at__gte=_day_start(start),
                                    happened_at__lt=_day_start(end + dt.timedelta(days=1)))
            .values("user_id").annotate(
                done=Count("pk"),
                complete=Count("pk", filter=~blank_outcome & ~blank_next & ~no_location),
                missing_outcome=Count("pk", filter=blank_outcome),
                missing_next=Count("pk", filter=blank_next),
                missing_location=Count("pk", filter=no_location),
                visits=Count("pk", filter=visit),
                located=Count("pk", filter=located),
                far=Count("pk", filter=located & Q(is_far=True)),
            ))
    return {row["user_id"]: dict(row) for row in rows}


def _customer_counts(ids: list[int]) -> dict[int, dict[str, Any]]:
    from kamguard.customers.models import Contact, Customer, CustomerStatus

    has_contact = Exists(Contact.objects.filter(customer=OuterRef("pk"), is_active=True))
    rows = (Customer.objects.filter(owner_id__in=ids, status=CustomerStatus.ACTIVE).annotate(has_contact=has_contact)
            .values("owner_id").annotate(
                total=Count("pk"),
                complete=Count("pk", filter=Q(has_contact=True) & Q(uscc__isnull=False) & ~Q(uscc="")
                               & Q(region__isnull=False) & ~Q(tier="")),
                missing_contacts=Count("pk", filter=Q(has_contact=False)),
                missing_uscc=Count("pk", filter=Q(uscc__isnull=True) | Q(uscc="")),
                missing_region=Count("pk", filter=Q(region__isnull=True)),
            ))
    return {row["owner_id"]: dict(row) for row in rows}


@dataclass(frozen=True)
class PersonQuality:
    person: User
    start: dt.date
    end: dt.date
    score: QualityScore
    sources: dict[str, bool]  # which source apps answered


def quality_counts_for(*, user_ids: Iterable[int], start: dt.date, end: dt.date,
                       logs: Mapping[int, Mapping[str, Any]] | None = None) -> tuple[dict[int, QualityCounts],
                                                                                      dict[str, bool]]:
    """The counts the basic-data quality score is computed from, for each person in `user_ids` over [start, end]
    (inclusive local dates), and which sources were there: a system read with no viewer (the performance app's
    metrics use it; `data_quality` narrows to the viewer first). `logs`: the work logs' `log_quality` of the same
    people and dates when the caller has it already (it is the costliest part)."""
    ids = list(dict.fromkeys(user_ids))
    activities = _activity_counts(ids, start, end)
    customers = _customer_counts(ids)
    if logs is None:
        log_quality = provided("worklogs", "log_quality")
        logs = log_quality(user_ids=ids, start=start, end=end) if log_quality else None
    relay_usage = provided("relay", "usage")
    records_count = provided("records", "records_count")
    relay = relay_usage(user_ids=ids, start=start, end=end) if relay_usage else None
    records = records_count(user_ids=ids, start=start, end=end) if records_count else None
    sources = {"activities": activities is not None, "worklogs": logs is not None, "relay": relay is not None,
               "records": records is not None}
    result: dict[int, QualityCounts] = {}
    for uid in ids:
        a = (activities or {}).get(uid, {})
        c = customers.get(uid, {})
        log = (logs or {}).get(uid, {})
        rel = (relay or {}).get(uid, {})
        rec = (records or {}).get(uid, {})
        result[uid] = QualityCounts(
            activities_done=a.get("done", 0), activities_complete=a.get("complete", 0),
            activities_missing_outcome=a.get("missing_outcome", 0),
            activities_missing_next_step=a.get("missing_next", 0),
            visits_missing_location=a.get("missing_location", 0),
            customers=c.get("total", 0), customers_complete=c.get("complete", 0),
            customers_missing_contacts=c.get("missing_contacts", 0), customers_missing_uscc=c.get("missing_uscc", 0),
            customers_missing_region=c.get("missing_region", 0),
            visits_done=a.get("visits", 0), visits_located=a.get("located", 0), visits_far=a.get("far", 0),
            records=int(rec.get("total", 0)) if records is not None else None,
            records_unclassified=int(rec.get("unclassified", 0)) if records is not None else None,
            logs_due=int(log.get("due", 0)) if logs is not None else None,
            logs_on_time=int(log.get("submitted", 0)) if logs is not None else None,
            logs_late=int(log.get("late", 0)) if logs is not None else None,
            logs_missing=int(log.get("missing", 0)) if logs is not None else None,
            relay_forms=int(rel.get("count", 0)) if relay is not None else None,
            relay_on_time=int(rel.get("on_time", 0)) if relay is not None else None,
        )
    return result, sources


def data_quality(*, viewer: User, user_ids: Iterable[int], start: dt.date, end: dt.date
                 ) -> dict[int, PersonQuality]:
    """The basic-data quality score of each person in `user_ids` the viewer may see, over [start, end]
    (inclusive local dates), explained item by item (see `supervision.domain.quality`). People outside the
    viewer's scope are left out."""
    ids = _narrow(viewer, user_ids)
    if not ids or end < start:
        return {}
    people = {u.pk: u for u in User.objects.filter(pk__in=ids).select_related("team")}
    counts, sources = quality_counts_for(user_ids=ids, start=start, end=end)
    return {uid: PersonQuality(person=people[uid], start=start, end=end, score=quality_score(counts[uid]),
                               sources=sources) for uid in ids}


def person_quality(*, viewer: User, user_id: int, start: dt.date, end: dt.date) -> PersonQuality:
    found = data_quality(viewer=viewer, user_ids=[user_id], start=start, end=end).get(user_id)
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- the live view

LIVE_PAGE = 25  # check-in rows per page
LIVE_PEOPLE = 5000  # at most this many field people counted per team
NO_TEAM = 0  # the `team` of people who are in no team


@dataclass(frozen=True)
class TeamDay:
    """One team's day, counted: what a department's live view shows per team."""

    team_id: int  # NO_TEAM for the people without a team
    name: str  # "" for NO_TEAM
    department: str
    people: int
    checkins: int | None  # None: the activities app does not provide check-ins yet
    on_site: int | None
    far: int | None
    logs: dict[str, int] | None  # submitted, late, missing, not_due; None: work logs not provided yet


@dataclass
class LiveView:
    day: dt.date
    now: dt.datetime
    people: list[User]  # the people whose rows are shown (at most 500); [] when the view is counts per team
    headcount: int  # the field people in view: the chosen team's, else everyone in scope
    teams: list[TeamDay]  # the teams of the people in scope, counted
    team: TeamDay | None  # the team asked for
    by_team: bool  # counts per team instead of rows (a department or more, no team asked for)
    checkins: list[Any] | None  # a page of check-in rows; None: not provided yet, or counts per team
    checkins_page: Page | None
    checkins_total: int | None
    logs: dict[int, str] | None
    relay_waiting: list[Any] | None
    relay_overdue_ids: set[int]
    overdue_actions: list[Any] | None

    @property
    def logs_missing(self) -> list[User]:
        if self.logs is None:
            return []
        return [p for p in self.people if self.logs.get(p.pk) == "missing"]

    @property
    def logs_counts(self) -> dict[str, int]:
        counts = {"submitted": 0, "late": 0, "missing": 0, "not_due": 0}
        for state in (self.logs or {}).values():
            counts[state] = counts.get(state, 0) + 1
        return counts


def _team_days(roster: list[tuple[int, int]], day: dt.date, logs: dict[int, str] | None) -> list[TeamDay]:
    """Counts per team of `roster` ((person, team or NO_TEAM) pairs), by department and team name."""
    checkin_counts = provided("activities", "checkin_counts")
    counts = checkin_counts(user_ids=[pk for pk, _t in roster], day=day) if checkin_counts else None
    members: dict[int, list[int]] = {}
    for pk, team_id in roster:
        members.setdefault(team_id, []).append(pk)
    names = {t.pk: (t.name, t.department.name) for t in
             Team.objects.filter(pk__in=[t for t in members if t != NO_TEAM]).select_related("department")}
    result = []
    for team_id, ids in members.items():
        name, department = names.get(team_id, ("", ""))
        found = [counts.get(pk, {}) for pk in ids] if counts is not None else None
        states: dict[str, int] | None = None
        if logs is not None:
            states = {"submitted": 0, "late": 0, "missing": 0, "not_due": 0}
            for pk in ids:
                state = logs.get(pk)
                if state:
                    states[state] = states.get(state, 0) + 1
        result.append(TeamDay(
            team_id=team_id, name=name, department=department, people=len(ids),
            checkins=None if found is None else sum(c.get("checkins", 0) for c in found),
            on_site=None if found is None else sum(c.get("on_site", 0) for c in found),
            far=None if found is None else sum(c.get("far", 0) for c in found), logs=states))
    result.sort(key=lambda t: (t.team_id == NO_TEAM, t.department, t.name, t.team_id))
    return result


def live_view(*, viewer: User, now: dt.datetime | None = None, team: int | None = None, page: int | str = 1,
              rows: bool | None = None) -> LiveView:
    """The day as it happens for the field people (managers, specialists) in the viewer's scope: a supervisor's
    department, a specialist's team, a manager's own day. Each panel is None when its app does not provide the data
    yet.

    `team` narrows the view to one team of the people in scope (NO_TEAM: those in none); a team with nobody in
    the viewer's scope is NotFound. When the people span several teams and no team is asked for, the view is
    counted per team (`by_team`) and no check-in rows are built — a department's day is over a thousand of them;
    `rows=True` asks for the rows anyway (the API). Rows come a page (`page`, LIVE_PAGE rows) at a time."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    # The field staff (managers, specialists) in scope: not the supervisor, administrators or finance, whose
    # day has no visits or logs to watch.
    field = field_people(viewer=viewer)
    roster = [(pk, team_id or NO_TEAM) for pk, team_id in field.values_list("pk", "team_id")[:LIVE_PEOPLE]]
    if team is not None:
        if team not in {t for _pk, t in roster}:
            raise NotFound()
        roster = [(pk, t) for pk, t in roster if t == team]
        field = field.filter(team__isnull=True) if team == NO_TEAM else field.filter(team_id=team)
    ids = [pk for pk, _t in roster]
    logs_status = provided("worklogs", "logs_status")
    logs = logs_status(user_ids=ids, day=day) if logs_status else None
    teams = _team_days(roster, day, logs)
    by_team = team is None and len(teams) > 1
    show_rows = rows if rows is not None else not by_team
    people = list(field[:500]) if show_rows else []
    # Relay forms and action items are owed by whoever in scope received or was given them — the supervisor
    # included (the team's relay forms mostly go to supervisors). Beyond a department (auditors, administrators)
    # the field staff stand for the company; in one team, its people.
    owing = ids if team is not None or viewer.scope >= Scope.ALL else list(
        people_in_scope(viewer=viewer).values_list("pk", flat=True)[:500])
    checkins_on = provided("activities", "checkins_on")
    checkins: list[Any] | None = None
    checkins_page: Page | None = None
    checkins_total: int | None = None
    if checkins_on and show_rows:
        checkins_page = Paginator(checkins_on(user_ids=ids, day=day), LIVE_PAGE).get_page(page)
        checkins = list(checkins_page.object_list)
        checkins_total = checkins_page.paginator.count
    elif teams and teams[0].checkins is not None:
        checkins_total = sum(t.checkins or 0 for t in teams)
    waiting_for = provided("relay", "waiting_for")
    relay_overdue = provided("relay", "overdue")
    overdue_actions = provided("meetings", "overdue_actions")
    waiting = list(waiting_for(user_ids=owing)[:LIVE_LIMIT]) if waiting_for else None
    overdue_ids = set(relay_overdue(user_ids=owing, now=now).values_list("pk", flat=True)[:LIVE_LIMIT]) \
        if relay_overdue else set()
    actions = list(overdue_actions(user_ids=owing, today=day)[:LIVE_LIMIT]) if overdue_actions else None
    chosen = next((t for t in teams if t.team_id == team), None) if team is not None else None
    return LiveView(day=day, now=now, people=people, headcount=len(ids), teams=teams, team=chosen, by_team=by_team,
                    checkins=checkins, checkins_page=checkins_page, checkins_total=checkins_total, logs=logs,
                    relay_waiting=waiting, relay_overdue_ids=overdue_ids, overdue_actions=actions)
