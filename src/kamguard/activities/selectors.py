"""Every read of visits and contacts starts from the viewer: their own activities, those of the people in their
scope (a specialist's team, a supervisor's department, everyone for auditors), the visits they accompanied,
and — for a customer's owner — everything recorded on their customers.

The contract functions other apps call (`day_records`, `visits_done`, `checkins_on`, `checkin_counts`,
`customer_has_visit`, `last_contact_by_customer`) are not narrowed: their callers narrow the people or customers they pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from kamguard.activities.models import FOLLOWUP_STATUSES, Activity, Kind, Status
from kamguard.core.errors import NotFound
from kamguard.customers.selectors import customer_is_visible
from kamguard.org.domain.roles import Scope
from kamguard.org.models import User
from kamguard.org.scopes import NOTHING, scope_q

SORTS = {
    "when": (F("happened_at").asc(nulls_first=True), F("planned_on").asc(nulls_last=True), "pk"),
    "-when": (F("happened_at").desc(nulls_last=True), F("planned_on").desc(nulls_last=True), "-pk"),
    "customer": ("customer__name", "-pk"), "-customer": ("-customer__name", "-pk"),
    "person": ("user__full_name", "-pk"), "-person": ("-user__full_name", "-pk"),
    "kind": ("kind", "-pk"), "-kind": ("-kind", "-pk"),
    "distance": (F("distance_m").asc(nulls_last=True), "-pk"),
    "-distance": (F("distance_m").desc(nulls_last=True), "-pk"),
}


def activity_visibility_q(viewer: User) -> Q:
    if not viewer.is_authenticated or not viewer.is_active:
        return NOTHING
    if viewer.scope == Scope.ALL:
        return Q()
    return scope_q(viewer, owner_path="user") | Q(accompanied_by=viewer) | Q(customer__owner=viewer)


def activity_list(*, viewer: User, search: str = "", user_id: int | None = None, customer_id: int | None = None,
                  kind: str = "", status: str = "", start: dt.date | None = None, end: dt.date | None = None,
                  far_only: bool = False, location_status: str = "", sort: str = "-when") -> QuerySet[Activity]:
    """What the viewer may see, filtered. Dates filter the day it happened (or was planned for)."""
    qs = Activity.objects.filter(activity_visibility_q(viewer)).select_related(
        "user", "customer", "accompanied_by")
    if search:
        term = search.strip()
        qs = qs.filter(Q(customer__name__icontains=term) | Q(summary__icontains=term)
                       | Q(outcome__icontains=term) | Q(user__full_name__icontains=term))
    if user_id:
        qs = qs.filter(user_id=user_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if start is not None:
        qs = qs.filter(Q(happened_at__gte=_day_start(start)) | Q(happened_at__isnull=True, planned_on__gte=start))
    if end is not None:
        qs = qs.filter(Q(happened_at__lt=_day_start(end + dt.timedelta(days=1)))
                       | Q(happened_at__isnull=True, planned_on__lte=end))
    if far_only:
        qs = qs.filter(is_far=True)
    if location_status:
        qs = qs.filter(location_status=location_status)
    return qs.order_by(*SORTS.get(sort, SORTS["-when"]))


def activity_get(*, viewer: User, activity_id: int) -> Activity:
    found = Activity.objects.filter(activity_visibility_q(viewer), pk=activity_id).select_related(
        "user", "customer", "customer__region", "accompanied_by", "recorded_by").first()
    if found is None:
        raise NotFound()
    return found


UPCOMING_IN_SECTION = 3


def customer_activities(*, viewer: User, customer_id: int, limit: int = 10) -> list[Activity]:
    """The customer page's section: up to three visits still planned (soonest first), then the latest that
    took place (newest first), `limit` in all — as the viewer may see them.

    Two reads that each follow the index on (customer, happened_at) and stop after `limit` rows: one ordering
    over both (planned rows have no `happened_at`) would sort every activity of the customer first, which
    for a customer with tens of thousands of them takes seconds (see benchmarks/activity_timeline.py)."""
    if not customer_is_visible(viewer=viewer, customer_id=customer_id):
        raise NotFound()
    base = Activity.objects.filter(activity_visibility_q(viewer), customer_id=customer_id).select_related(
        "user", "customer", "accompanied_by")
    upcoming = list(base.filter(happened_at__isnull=True, status=Status.PLANNED).order_by(
        "planned_on", "pk")[:min(limit, UPCOMING_IN_SECTION)])
    happened = list(base.filter(happened_at__isnull=False).order_by("-happened_at", "-pk")[:limit - len(upcoming)])
    return upcoming + happened


def my_day(*, viewer: User, day: dt.date | None = None) -> dict[str, list[Activity]]:
    """The viewer's own day: visits planned or checked in today, overdue planned visits, recent contacts."""
    day = day or timezone.localdate()
    mine = Activity.objects.filter(user=viewer).select_related("customer", "accompanied_by")
    visits = list(mine.filter(kind=Kind.VISIT).filter(
        Q(planned_on=day, status__in=[Status.PLANNED, Status.CHECKED_IN, Status.DONE])
        | Q(status=Status.CHECKED_IN)
        | Q(happened_at__gte=_day_start(day), happened_at__lt=_day_start(day + dt.timedelta(days=1)))
    ).order_by("status", "planned_on", "pk"))
    overdue = list(mine.filter(kind=Kind.VISIT, status=Status.PLANNED, planned_on__lt=day).order_by("planned_on",
                                                                                                    "pk")[:20])
    upcoming = list(mine.filter(kind=Kind.VISIT, status=Status.PLANNED, planned_on__gt=day).order_by("planned_on",
                                                                                                     "pk")[:10])
    recent = list(mine.exclude(kind=Kind.VISIT).order_by("-happened_at", "-pk")[:10])
    to_confirm = list(Activity.objects.filter(accompanied_by=viewer, accompaniment_confirmed_at__isnull=True,
                                              kind=Kind.VISIT).exclude(status=Status.CANCELLED)
                      .select_related("customer", "user").order_by("planned_on", "pk")[:20])
    return {"visits": visits, "overdue": overdue, "upcoming": upcoming, "recent": recent, "to_confirm": to_confirm}


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return _day_start(day), _day_start(day + dt.timedelta(days=1))


# ---------------------------------------------------------------- contract functions (see /tmp contracts)


def day_records(*, user: User, day: dt.date) -> list[Activity]:
    """What `user` did or planned that day: visits planned for it and everything that took place on it
    (cancelled ones left out), oldest first — the work log's prefill."""
    start, end = _day_bounds(day)
    return list(Activity.objects.filter(user=user).exclude(status=Status.CANCELLED).filter(
        Q(happened_at__gte=start, happened_at__lt=end) | Q(happened_at__isnull=True, planned_on=day)
    ).select_related("customer", "accompanied_by").order_by(F("happened_at").asc(nulls_last=True), "pk"))


def visits_done(*, user_ids: Iterable[int], start: dt.date, end: dt.date) -> QuerySet[Activity]:
    """Done visits by these people that took place in [start, end] (local dates, inclusive)."""
    return Activity.objects.filter(
        user_id__in=list(user_ids), kind=Kind.VISIT, status=Status.DONE,
        happened_at__gte=_day_start(start), happened_at__lt=_day_start(end + dt.timedelta(days=1)),
    ).select_related("customer", "user").order_by("happened_at", "pk")


def checkins_on(*, user_ids: Iterable[int], day: dt.date) -> QuerySet[Activity]:
    """Visits these people checked in on `day` (still there or already done), newest first: the live view."""
    start, end = _day_bounds(day)
    return Activity.objects.filter(
        user_id__in=list(user_ids), kind=Kind.VISIT, checked_in_at__gte=start, checked_in_at__lt=end,
    ).select_related("customer", "user", "accompanied_by").order_by("-checked_in_at", "-pk")


def checkin_counts(*, user_ids: Iterable[int], day: dt.date) -> dict[int, dict[str, int]]:
    """Per person, the visits they checked in on `day`: `checkins` in all, `on_site` (still checked in) and
    `far` (flagged far from the customer). People without a check-in that day are left out. One grouped read
    along the (user, checked_in_at) index, so a department's day is counted without building its rows."""
    ids = list(user_ids)
    if not ids:
        return {}
    start, end = _day_bounds(day)
    rows = Activity.objects.filter(
        user_id__in=ids, kind=Kind.VISIT, checked_in_at__gte=start, checked_in_at__lt=end,
    ).values("user_id").annotate(
        checkins=Count("pk"), on_site=Count("pk", filter=Q(status=Status.CHECKED_IN)),
        far=Count("pk", filter=Q(is_far=True)),
    ).order_by()
    return {row["user_id"]: {"checkins": row["checkins"], "on_site": row["on_site"], "far": row["far"]}
            for row in rows}


def customer_has_visit(*, customer_id: int, since: dt.datetime | dt.date | None = None) -> bool:
    """Whether a done visit of the customer is logged (since `since`, when given)."""
    qs = Activity.objects.filter(customer_id=customer_id, kind=Kind.VISIT, status=Status.DONE)
    if since is not None:
        if not isinstance(since, dt.datetime):
            since = _day_start(since)
        qs = qs.filter(happened_at__gte=since)
    return qs.exists()


def last_contact_by_customer(*, customer_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """The latest visit or contact that took place, per customer (customers without one are left out)."""
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = Activity.objects.filter(customer_id__in=ids, status__in=FOLLOWUP_STATUSES,
                                   happened_at__isnull=False).values("customer_id").annotate(
        last=Max("happened_at")).order_by()
    return {row["customer_id"]: row["last"] for row in rows}


# ---------------------------------------------------------------- page helpers

CHOICE_LIMIT = 500


def customer_choices(*, viewer: User, include_id: int | None = None) -> list[tuple[int, str]]:
    """The customers a person records activities for: those they own or serve on the account team (at most
    500, by name), plus `include_id` when they may see it (a link from a customer's page)."""
    from kamguard.customers.models import AccountTeamMember, Customer, CustomerStatus
    from kamguard.customers.selectors import customer_visibility_q

    today = timezone.localdate()
    team = AccountTeamMember.objects.filter(user=viewer).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=today)).values("customer_id")
    qs = Customer.objects.filter(Q(owner=viewer) | Q(pk__in=team)).exclude(
        status__in=[CustomerStatus.CLOSED, CustomerStatus.MERGED]).order_by("name", "pk")
    rows = list(qs.values_list("pk", "name")[:CHOICE_LIMIT])
    if include_id and include_id not in {pk for pk, _name in rows}:
        extra = Customer.objects.filter(customer_visibility_q(viewer), pk=include_id).values_list("pk", "name").first()
        if extra:
            rows.insert(0, extra)
    return rows


def companion_choices(*, viewer: User) -> list[tuple[int, str]]:
    """Who may accompany the viewer's visits (services.may_accompany): their supervisor first, then their team
    leader and the supervisors of their department."""
    from kamguard.activities.services import may_accompany

    q = Q(pk=viewer.supervisor_id) if viewer.supervisor_id else Q(pk__in=[])
    if viewer.team_id:
        q |= Q(led_teams=viewer.team_id)
    if viewer.department_id:
        q |= Q(department_id=viewer.department_id, role_assignments__role="supervisor")
    found = [(p.pk, p.full_name) for p in User.objects.filter(q, is_active=True).exclude(pk=viewer.pk).select_related(
        "team").distinct().order_by("full_name")[:100] if may_accompany(p, viewer)]
    found.sort(key=lambda item: item[0] != viewer.supervisor_id)
    return found


def people_choices(*, viewer: User) -> list[tuple[int, str]]:
    """The people whose activities the viewer may see (for the list's filter), at most 500."""
    return list(User.objects.filter(scope_q(viewer, owner_path="")).filter(is_active=True).order_by(
        "full_name").values_list("pk", "full_name")[:CHOICE_LIMIT])
