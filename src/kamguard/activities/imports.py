"""Kind `activities`: visits and contacts from another system (columns in docs/import-formats.md).

Idempotent by `external_id`: a row already imported is unchanged, a changed row updates the activity (audited).
Imported rows took place already: status "done"; a visit counts as checked in at `happened_at`, with its
distance to the customer's region when the row gives latitude and longitude (far ones flagged as on the page).
New rows go in batches (one insert, one audit batch, their timeline entries, the customers' follow-up).

Who may import: the system, or someone supervising (a department or more) — the rows name other people, who
must be in the importer's scope, as the customers must be visible to them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.activities.models import Activity, Kind
from kamguard.activities.selectors import activity_list
from kamguard.activities.services import (
    MAX_DURATION_MIN,
    TEXT_LIMIT,
    activities_record_many,
    activity_import_update,
)
from kamguard.core.io.kinds.common import EXTERNAL_ID_MAX, Problems
from kamguard.core.io.registry import Kind as IoKind
from kamguard.core.io.registry import kind_register
from kamguard.core.io.report import RowStatus
from kamguard.customers.models import Customer
from kamguard.customers.selectors import customer_visibility_q
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.org.scopes import scope_q

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext

COLUMNS = ("external_id", "user", "customer", "kind", "happened_at", "duration_min", "summary", "latitude",
           "longitude")
BATCH = 500
EXPORT_PREFIX = "kamguard-"


def _datetime(value: str, problems: Problems) -> dt.datetime | None:
    if not value:
        problems.add("happened_at", _("This field is required."))
        return None
    try:
        parsed = parse_datetime(value.replace(" ", "T", 1) if "T" not in value else value)
    except ValueError:
        parsed = None
    if parsed is None:
        problems.add("happened_at", _("%(value)s is not a date-time; write it as ISO 8601 with an offset, e.g. "
                                      "2026-03-31T14:30:00+08:00.") % {"value": value[:40]})
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if parsed > timezone.now() + dt.timedelta(minutes=5):
        problems.add("happened_at", _("%(value)s is in the future.") % {"value": value[:40]})
        return None
    return parsed.astimezone(dt.UTC)


def _number(value: str, column: str, problems: Problems, low: float, high: float) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        problems.add(column, _("%(value)s is not a number between %(low)s and %(high)s.") % {
            "value": value[:40], "low": low, "high": high})
        return None
    return number


class ActivitiesKind(IoKind):
    name = "activities"
    label = gettext_lazy("Visits and contacts")
    columns = COLUMNS
    required = ("external_id", "user", "customer", "kind", "happened_at")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.DEPARTMENT
    field_columns = {"user": "user", "customer": "customer", "kind": "kind", "happened_at": "happened_at",
                     "duration_min": "duration_min", "summary": "summary", "latitude": "latitude",
                     "longitude": "longitude"}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        seen: set[str] = set()
        people: dict[str, User | None] = {}
        customers: dict[str, Customer | None] = {}
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            self._lookups(ctx, chunk, people, customers)
            ids = [row.get("external_id", "").strip() for _n, row in chunk]
            existing = {a.external_id: a for a in Activity.objects.filter(external_id__in=[i for i in ids if i])}
            # Rows this system exported itself (no external id of their own) come back as "kamguard-<id>".
            own = {int(i.removeprefix(EXPORT_PREFIX)): i for i in ids
                   if i.startswith(EXPORT_PREFIX) and i.removeprefix(EXPORT_PREFIX).isdigit() and i not in existing}
            if own:
                for activity in Activity.objects.filter(pk__in=list(own)[:BATCH], external_id__isnull=True):
                    existing[own[activity.pk]] = activity
            new: list[tuple[int, dict[str, Any]]] = []
            for number, row in chunk:
                external_id = row.get("external_id", "").strip()
                parsed = self._parse(ctx, row, people, customers)
                if isinstance(parsed, Problems):
                    ctx.fail(number, external_id, parsed.items)
                    continue
                if external_id in seen:
                    ctx.fail(number, external_id, [("external_id", _(
                        "%(id)s appears twice in the file; keep one row per external id.") % {"id": external_id})])
                    continue
                seen.add(external_id)
                found = existing.get(external_id)
                if found is None:
                    new.append((number, parsed))
                    continue
                ctx.attempt(number, external_id, partial(self._update, ctx, found, parsed))
            if new:
                activities_record_many(actor=ctx.actor, rows=[p for _n, p in new])
                for number, parsed in new:
                    ctx.succeed(number, parsed["external_id"], RowStatus.CREATED)

    @staticmethod
    def _update(ctx: ImportContext, activity: Activity, parsed: dict[str, Any]) -> RowStatus:
        changed = activity_import_update(actor=ctx.actor, activity=activity, row=parsed)
        return RowStatus.UPDATED if changed else RowStatus.UNCHANGED

    @staticmethod
    def _lookups(ctx: ImportContext, chunk: list[tuple[int, dict[str, str]]], people: dict[str, User | None],
                 customers: dict[str, Customer | None]) -> None:
        user_ids = {row.get("user", "").strip() for _n, row in chunk} - set(people) - {""}
        if user_ids:
            qs = User.objects.filter(external_id__in=user_ids)
            if ctx.actor is not None:
                qs = qs.filter(scope_q(ctx.actor, owner_path=""))
            found = {u.external_id: u for u in qs}
            for key in user_ids:
                people[key] = found.get(key)
        customer_ids = {row.get("customer", "").strip() for _n, row in chunk} - set(customers) - {""}
        if customer_ids:
            cqs = Customer.objects.filter(external_id__in=customer_ids).select_related("region", "region__parent")
            if ctx.actor is not None:
                cqs = cqs.filter(customer_visibility_q(ctx.actor))
            found_c = {c.external_id: c for c in cqs}
            for key in customer_ids:
                customers[key] = found_c.get(key)

    @staticmethod
    def _parse(ctx: ImportContext, row: dict[str, str], people: dict[str, User | None],
               customers: dict[str, Customer | None]) -> dict[str, Any] | Problems:
        problems = Problems()
        external_id = row.get("external_id", "").strip()
        if not external_id:
            problems.add("external_id", _("This field is required."))
        elif len(external_id) > EXTERNAL_ID_MAX:
            problems.add("external_id", _("At most %(n)s characters.") % {"n": EXTERNAL_ID_MAX})
        user_ref = row.get("user", "").strip()
        user = people.get(user_ref) if user_ref else None
        if not user_ref:
            problems.add("user", _("This field is required."))
        elif user is None:
            problems.add("user", _("Unknown person %(id)s (no such external id, or outside your scope).") % {
                "id": user_ref})
        customer_ref = row.get("customer", "").strip()
        customer = customers.get(customer_ref) if customer_ref else None
        if not customer_ref:
            problems.add("customer", _("This field is required."))
        elif customer is None:
            problems.add("customer", _("Unknown customer %(id)s (no such external id, or not visible to you).") % {
                "id": customer_ref})
        kind = row.get("kind", "").strip().lower()
        if kind not in Kind.values:
            problems.add("kind", _("%(value)s is not a kind; use one of: %(kinds)s.") % {
                "value": kind[:40], "kinds": ", ".join(Kind.values)})
        happened_at = _datetime(row.get("happened_at", "").strip(), problems)
        if user is not None and happened_at is not None and user.left_on is not None \
                and user.left_on < timezone.localtime(happened_at).date():
            problems.add("user", _("%(name)s left on %(left)s, before this activity.") % {
                "name": user.full_name, "left": user.left_on.isoformat()})
        duration: int | None = None
        raw_duration = row.get("duration_min", "").strip()
        if raw_duration:
            if not raw_duration.isdigit() or int(raw_duration) > MAX_DURATION_MIN:
                problems.add("duration_min", _("Whole minutes between 0 and %(max)s.") % {"max": MAX_DURATION_MIN})
            else:
                duration = int(raw_duration)
        summary = row.get("summary", "").replace("\x00", "").strip()
        if len(summary) > TEXT_LIMIT:
            problems.add("summary", _("At most %(n)s characters.") % {"n": TEXT_LIMIT})
        lat = _number(row.get("latitude", "").strip(), "latitude", problems, -90, 90)
        lon = _number(row.get("longitude", "").strip(), "longitude", problems, -180, 180)
        if (lat is None) != (lon is None) and not problems:
            problems.add("latitude" if lat is None else "longitude", _("Give both latitude and longitude, or neither."))
        if problems:
            return problems
        return {"external_id": external_id, "user": user, "customer": customer, "kind": kind,
                "happened_at": happened_at, "duration_min": duration, "summary": summary, "latitude": lat,
                "longitude": lon}

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        viewer = self.viewer(actor)
        qs = activity_list(viewer=viewer).exclude(happened_at__isnull=True).order_by("happened_at", "pk")
        for activity in qs.iterator(chunk_size=1000):
            yield {
                "external_id": activity.external_id or f"{EXPORT_PREFIX}{activity.pk}",
                "user": activity.user.external_id or activity.user.username,
                "customer": activity.customer.external_id or "",
                "kind": activity.kind,
                "happened_at": activity.happened_at.isoformat() if activity.happened_at else "",
                "duration_min": "" if activity.duration_min is None else str(activity.duration_min),
                "summary": activity.summary,
                "latitude": "" if activity.checkin_latitude is None else str(activity.checkin_latitude),
                "longitude": "" if activity.checkin_longitude is None else str(activity.checkin_longitude),
            }


kind_register(ActivitiesKind())
