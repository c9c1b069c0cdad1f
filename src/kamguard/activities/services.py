"""Every write to visits and contacts: one function per use case, transactional, audited, on the customer's
timeline; contacts that took place count as the customer's follow-up (customers.services.followup).

Who may write: a person records their own activities, for customers they may see, with the right to edit
business data (auditors never). Check-in, check-out and cancelling are for the visit's own person; a
supervisor whose scope covers them confirms that they accompanied a visit (陪访).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.activities.domain.geo import Reference, assess
from kamguard.activities.models import CONTACT_KINDS, Activity, Kind, LocationStatus, Status
from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.customers.models import Contact, Customer
from kamguard.customers.selectors import customer_visibility_q
from kamguard.customers.services.common import timeline_add
from kamguard.customers.services.followup import customer_followup_touch
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import Region, User
from kamguard.org.scopes import person_in_scope

TEXT_LIMIT = 4000
MAX_DURATION_MIN = 24 * 60
# How far back a contact may be recorded by hand (imports may go further).
MAX_BACKDATE_DAYS = 366


# ---------------------------------------------------------------- checks


def _require_writer(actor: User) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionRefused()
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _customer_for(actor: User, customer_id: Any) -> Customer:
    """The customer if `actor` may see it — else a field error (missing and forbidden look the same)."""
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        pk = 0
    found = Customer.objects.filter(customer_visibility_q(actor), pk=pk).select_related("region").first() \
        if pk > 0 else None
    if found is None:
        raise ValidationFailed(field_errors={"customer": [_("Choose a customer you may see.")]})
    return found


def _text(value: Any, field: str, errors: dict[str, list[str]], *, required: bool = False,
          limit: int = TEXT_LIMIT, message: str = "") -> str:
    text = str(value or "").replace("\x00", "").strip()
    if required and not text:
        errors.setdefault(field, []).append(message or _("This field is required."))
    elif len(text) > limit:
        errors.setdefault(field, []).append(_("At most %(n)s characters.") % {"n": limit})
    return text


def _duration(value: Any, errors: dict[str, list[str]]) -> int | None:
    if value in (None, ""):
        return None
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        errors.setdefault("duration_min", []).append(_("Enter whole minutes."))
        return None
    if minutes < 0 or minutes > MAX_DURATION_MIN:
        errors.setdefault("duration_min", []).append(
            _("Between 0 and %(max)s minutes.") % {"max": MAX_DURATION_MIN})
        return None
    return minutes


def _contacts(customer: Customer, contact_ids: Iterable[Any], errors: dict[str, list[str]]) -> list[Contact]:
    ids: set[int] = set()
    for raw in contact_ids or ():
        try:
            ids.add(int(raw))
        except (TypeError, ValueError):
            errors.setdefault("contacts", []).append(_("Choose contacts of this customer."))
            return []
    if not ids:
        return []
    found = list(Contact.objects.filter(customer=customer, pk__in=ids))
    if len(found) != len(ids):
        errors.setdefault("contacts", []).append(_("Choose contacts of this customer."))
    return found


def _own_activity(actor: User, activity_id: Any, *, kind: str | None = None) -> Activity:
    """The actor's own activity (a visit when `kind` says so). Someone who may see it but is not its person
    is refused; someone who may not see it gets NotFound."""
    from kamguard.activities.selectors import activity_visibility_q

    try:
        pk = int(activity_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    found = Activity.objects.filter(activity_visibility_q(actor), pk=pk).select_related(
        "customer", "customer__region", "user").first()
    if found is None:
        raise NotFound()
    _require_writer(actor)
    if found.user_id != actor.pk:
        raise PermissionRefused(_("Only the person whose visit this is may change it."),
                                extra={"right": "activities.own"})
    if kind is not None and found.kind != kind:
        raise Conflict(_("This is not a visit."), code="not_a_visit")
    return found


def _reference(customer: Customer) -> Reference | None:
    """The nearest region with coordinates: the customer's own region, else its parents."""
    region: Region | None = customer.region
    hops = 0
    while region is not None and hops < 4:
        if region.latitude is not None and region.longitude is not None:
            return Reference(latitude=region.latitude, longitude=region.longitude, level=region.level,
                             name=region.name)
        region = region.parent
        hops += 1
    return None


def _label(activity: Activity) -> str:
    return f"{activity.get_kind_display()} · {activity.customer.name}"


def _audit(actor: User | None, action: str, activity: Activity, changes: dict[str, Any], reason: str = "") -> None:
    audit_record(actor=actor, action=f"activities.{action}", obj=activity, object_label=_label(activity),
                 changes=changes, reason=reason)


# ---------------------------------------------------------------- visits


@transaction.atomic
def visit_plan(*, actor: User, customer_id: int, planned_on: dt.date, purpose: str = "", plan_ref: str = "",
               contact_ids: Iterable[int] = (), accompanied_by_id: int | None = None) -> Activity:
    """Plan a visit of `customer_id` on `planned_on` for `actor` (ad hoc, or from the monthly plan with
    `plan_ref`, e.g. "plans:12")."""
    _require_writer(actor)
    customer = _customer_for(actor, customer_id)
    errors: dict[str, list[str]] = {}
    if not isinstance(planned_on, dt.date) or isinstance(planned_on, dt.datetime):
        errors["planned_on"] = [_("Enter a date.")]
    elif planned_on < timezone.localdate() - dt.timedelta(days=31):
        errors["planned_on"] = [_("A visit cannot be planned more than a month in the past.")]
    elif planned_on > timezone.localdate() + dt.timedelta(days=366):
        errors["planned_on"] = [_("A visit can be planned at most a year ahead.")]
    purpose = _text(purpose, "purpose", errors)
    plan_ref = _text(plan_ref, "plan_ref", errors, limit=80)
    contacts = _contacts(customer, contact_ids, errors)
    companion = _companion(actor, accompanied_by_id, errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    activity = Activity.objects.create(
        user=actor, customer=customer, kind=Kind.VISIT, status=Status.PLANNED, planned_on=planned_on,
        summary=purpose, plan_ref=plan_ref, accompanied_by=companion, recorded_by=actor)
    if contacts:
        activity.contacts.set(contacts)
    _audit(actor, "visit.planned", activity, {"planned_on": {"before": None, "after": planned_on},
                                              "plan_ref": {"before": None, "after": plan_ref or None}})
    timeline_add(customer=customer, kind="activities.visit_planned", actor=actor,
                 summary=_("Visit planned for %(day)s by %(person)s") % {"day": planned_on.isoformat(),
                                                                        "person": actor},
                 data={"activity": activity.pk, "planned_on": planned_on.isoformat()})
    return activity


def may_accompany(actor: User, person: User) -> bool:
    """Whether `actor` can accompany `person`'s visits (陪访): not the person themself, with the right to edit
    business data, and their supervisor — the person's supervisor or team leader, or a supervisor whose scope
    covers them. Finance, auditors and administrators see visits but do not accompany them."""
    if actor.pk == person.pk or not actor.is_active or not actor.has_right(Right.EDIT_BUSINESS_DATA):
        return False
    if person.supervisor_id == actor.pk:
        return True
    if person.team_id and person.team is not None and person.team.leader_id == actor.pk:
        return True
    return Role.SUPERVISOR in actor.roles and person_in_scope(actor, person)


def _companion(actor: User, companion_id: Any, errors: dict[str, list[str]]) -> User | None:
    """Who will accompany the visit: a supervisor of the actor (see `may_accompany`)."""
    if companion_id in (None, ""):
        return None
    try:
        pk = int(companion_id)
    except (TypeError, ValueError):
        pk = 0
    found = User.objects.filter(pk=pk, is_active=True).exclude(pk=actor.pk).first() if pk > 0 else None
    if found is None or not may_accompany(found, actor):
        errors.setdefault("accompanied_by", []).append(
            _("Choose a supervisor of yours who can accompany the visit."))
        return None
    return found


@transaction.atomic
def visit_plan_cancel(*, actor: User, activity_id: int, reason: str) -> Activity:
    """Cancel a planned visit (not one checked in or done)."""
    activity = _own_activity(actor, activity_id, kind=Kind.VISIT)
    errors: dict[str, list[str]] = {}
    reason = _text(reason, "reason", errors, required=True, limit=300,
                   message=_("Say why the visit is cancelled."))
    if errors:
        raise ValidationFailed(field_errors=errors)
    updated = Activity.objects.filter(pk=activity.pk, status=Status.PLANNED).update(
        status=Status.CANCELLED, cancel_reason=reason, updated_at=timezone.now())
    if updated != 1:
        raise Conflict(_("Only a planned visit can be cancelled; this one is %(status)s.") % {
            "status": activity.get_status_display()}, code="not_planned")
    activity.refresh_from_db()
    _audit(actor, "visit.cancelled", activity, {"status": {"before": Status.PLANNED, "after": Status.CANCELLED}},
           reason=reason)
    timeline_add(customer=activity.customer, kind="activities.visit_cancelled", actor=actor,
                 summary=_("Planned visit of %(day)s cancelled: %(reason)s") % {
                     "day": activity.planned_on.isoformat() if activity.planned_on else "", "reason": reason},
                 data={"activity": activity.pk})
    return activity


def _float(value: Any, field: str, errors: dict[str, list[str]]) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    if not math.isfinite(number):
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    return number


@transaction.atomic
def visit_check_in(*, actor: User, activity_id: int, latitude: Any = None, longitude: Any = None,
                   accuracy_m: Any = None, location_denied: bool = False,
                   at: dt.datetime | None = None) -> Activity:
    """Check in at a planned visit: the time, the place (when the browser gave it), the distance to the
    customer's region and whether that is far away. Without a location the check-in is recorded as such."""
    activity = _own_activity(actor, activity_id, kind=Kind.VISIT)
    errors: dict[str, list[str]] = {}
    lat = _float(latitude, "latitude", errors)
    lon = _float(longitude, "longitude", errors)
    accuracy = _float(accuracy_m, "accuracy_m", errors)
    if lat is not None and not -90 <= lat <= 90:
        errors.setdefault("latitude", []).append(_("Between -90 and 90."))
    if lon is not None and not -180 <= lon <= 180:
        errors.setdefault("longitude", []).append(_("Between -180 and 180."))
    if (lat is None) != (lon is None):
        errors.setdefault("longitude" if lon is None else "latitude", []).append(
            _("Give both latitude and longitude, or neither."))
    if errors:
        raise ValidationFailed(field_errors=errors)
    now = at or timezone.now()
    result = assess(latitude=lat, longitude=lon, denied=bool(location_denied), reference=_reference(activity.customer))
    values: dict[str, Any] = {
        "status": Status.CHECKED_IN, "checked_in_at": now, "happened_at": now,
        "checkin_latitude": lat if result.location_status not in ("denied",) else None,
        "checkin_longitude": lon if result.location_status not in ("denied",) else None,
        "checkin_accuracy_m": int(min(max(accuracy, 0), 10_000_000)) if accuracy is not None and lat is not None
        else None,
        "distance_m": result.distance_m, "far_threshold_m": result.threshold_m, "is_far": result.is_far,
        "location_status": result.location_status, "updated_at": timezone.now(),
    }
    if Activity.objects.filter(pk=activity.pk, status=Status.PLANNED).update(**values) != 1:
        raise Conflict(_("Only a planned visit can be checked in; this one is %(status)s.") % {
            "status": activity.get_status_display()}, code="not_planned")
    activity.refresh_from_db()
    _audit(actor, "visit.checked_in", activity, {
        "status": {"before": Status.PLANNED, "after": Status.CHECKED_IN},
        "location_status": {"before": None, "after": result.location_status},
        "distance_m": {"before": None, "after": result.distance_m}, "is_far": {"before": None, "after": result.is_far}})
    summary = _("Checked in at a visit")
    if result.is_far:
        summary = _("Checked in at a visit — %(km)s km from the customer's area") % {
            "km": round((result.distance_m or 0) / 1000, 1)}
    elif result.location_status in (LocationStatus.DENIED, LocationStatus.UNAVAILABLE):
        summary = _("Checked in at a visit — without a location")
    timeline_add(customer=activity.customer, kind="activities.visit_checked_in", actor=actor, summary=summary,
                 data={"activity": activity.pk, "distance_m": result.distance_m, "is_far": result.is_far,
                       "location_status": result.location_status}, at=now)
    customer_followup_touch(touches=[(activity.customer_id, now)])
    return activity


@transaction.atomic
def visit_check_out(*, actor: User, activity_id: int, outcome: str, next_step: str,
                    other_attendees: str | None = None, contact_ids: Iterable[int] | None = None,
                    at: dt.datetime | None = None) -> Activity:
    """Close a checked-in visit: an outcome and a next step are required."""
    activity = _own_activity(actor, activity_id, kind=Kind.VISIT)
    if activity.status == Status.PLANNED:
        raise Conflict(_("Check in before checking out: this visit has not been checked in."),
                       code="not_checked_in")
    if activity.status != Status.CHECKED_IN:
        raise Conflict(_("This visit is %(status)s; only a checked-in visit can be checked out.") % {
            "status": activity.get_status_display()}, code="not_checked_in")
    errors: dict[str, list[str]] = {}
    outcome = _text(outcome, "outcome", errors, required=True, message=_("Say what came of the visit."))
    next_step = _text(next_step, "next_step", errors, required=True, message=_("Say what happens next."))
    attendees = _text(other_attendees, "other_attendees", errors, limit=300) if other_attendees is not None else None
    contacts = _contacts(activity.customer, contact_ids, errors) if contact_ids is not None else None
    if errors:
        raise ValidationFailed(field_errors=errors)
    now = at or timezone.now()
    assert activity.checked_in_at is not None
    if now < activity.checked_in_at:
        raise ValidationFailed(field_errors={"at": [_("The check-out cannot be before the check-in.")]})
    values: dict[str, Any] = {
        "status": Status.DONE, "checked_out_at": now, "outcome": outcome, "next_step": next_step,
        "duration_min": min(MAX_DURATION_MIN, int((now - activity.checked_in_at).total_seconds() // 60)),
        "updated_at": timezone.now()}
    if attendees is not None:
        values["other_attendees"] = attendees
    if Activity.objects.filter(pk=activity.pk, status=Status.CHECKED_IN).update(**values) != 1:
        raise Conflict(_("This visit was changed meanwhile; reload it."), code="not_checked_in")
    activity.refresh_from_db()
    if contacts is not None:
        activity.contacts.set(contacts)
    _audit(actor, "visit.checked_out", activity, {"status": {"before": Status.CHECKED_IN, "after": Status.DONE},
                                                  "outcome": {"before": "", "after": outcome},
                                                  "next_step": {"before": "", "after": next_step}})
    timeline_add(customer=activity.customer, kind="activities.visit_done", actor=actor,
                 summary=_("Visit done: %(outcome)s — next: %(next)s") % {"outcome": outcome, "next": next_step},
                 data={"activity": activity.pk}, at=now)
    return activity


@transaction.atomic
def visit_accompany(*, actor: User, activity_id: int, note: str = "") -> Activity:
    """A supervisor records (or confirms) that they accompanied a visit (陪访): someone whose scope covers the
    visit's person, with the right to edit business data, never the person themselves."""
    from kamguard.activities.selectors import activity_visibility_q

    try:
        pk = int(activity_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    activity = Activity.objects.filter(activity_visibility_q(actor), pk=pk).select_related("customer", "user").first()
    if activity is None:
        raise NotFound()
    _require_writer(actor)
    if not may_accompany(actor, activity.user):
        raise PermissionRefused(_("Only a supervisor of the person who made the visit can confirm accompanying it."),
                                extra={"right": "activities.accompany"})
    if activity.kind != Kind.VISIT:
        raise Conflict(_("This is not a visit."), code="not_a_visit")
    if activity.status == Status.CANCELLED:
        raise Conflict(_("This visit was cancelled."), code="cancelled")
    if activity.accompanied_by_id not in (None, actor.pk):
        raise Conflict(_("Someone else is recorded as accompanying this visit."), code="accompanied_by_other")
    if activity.accompaniment_confirmed_at is not None:
        raise Conflict(_("You have already confirmed accompanying this visit."), code="already_confirmed")
    errors: dict[str, list[str]] = {}
    note = _text(note, "note", errors, limit=300)
    if errors:
        raise ValidationFailed(field_errors=errors)
    now = timezone.now()
    if Activity.objects.filter(pk=activity.pk, accompaniment_confirmed_at__isnull=True).update(
            accompanied_by=actor, accompaniment_confirmed_at=now, updated_at=now) != 1:
        raise Conflict(_("You have already confirmed accompanying this visit."), code="already_confirmed")
    before = activity.accompanied_by_id
    activity.refresh_from_db()
    _audit(actor, "visit.accompanied", activity, {"accompanied_by": {"before": before, "after": actor.pk}},
           reason=note)
    timeline_add(customer=activity.customer, kind="activities.visit_accompanied", actor=actor,
                 summary=_("%(supervisor)s accompanied the visit by %(person)s") % {
                     "supervisor": actor, "person": activity.user},
                 data={"activity": activity.pk, "note": note})
    return activity


# ---------------------------------------------------------------- other contacts


def _happened_at(value: Any, errors: dict[str, list[str]], *, max_backdate_days: int | None) -> dt.datetime | None:
    if value in (None, ""):
        errors.setdefault("happened_at", []).append(_("Say when the contact took place."))
        return None
    if not isinstance(value, dt.datetime):
        errors.setdefault("happened_at", []).append(_("Enter a date and time."))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    now = timezone.now()
    if value > now + dt.timedelta(minutes=5):
        errors.setdefault("happened_at", []).append(_("A contact cannot be in the future."))
    elif max_backdate_days is not None and value < now - dt.timedelta(days=max_backdate_days):
        errors.setdefault("happened_at", []).append(
            _("At most %(days)s days in the past.") % {"days": max_backdate_days})
    return value


@transaction.atomic
def contact_record(*, actor: User, customer_id: int, kind: str, happened_at: dt.datetime, summary: str,
                   duration_min: int | None = None, contact_ids: Iterable[int] = (), outcome: str = "",
                   next_step: str = "") -> Activity:
    """Record a call, meeting, e-mail or WeChat contact that took place (status "done")."""
    _require_writer(actor)
    customer = _customer_for(actor, customer_id)
    errors: dict[str, list[str]] = {}
    if kind not in CONTACT_KINDS:
        errors["kind"] = [_("Choose a call, meeting, e-mail or WeChat (visits are planned and checked in).")]
    when = _happened_at(happened_at, errors, max_backdate_days=MAX_BACKDATE_DAYS)
    summary = _text(summary, "summary", errors, required=True, message=_("Say what the contact was about."))
    outcome = _text(outcome, "outcome", errors)
    next_step = _text(next_step, "next_step", errors)
    minutes = _duration(duration_min, errors)
    contacts = _contacts(customer, contact_ids, errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    assert when is not None
    activity = Activity.objects.create(
        user=actor, customer=customer, kind=kind, status=Status.DONE, happened_at=when, summary=summary,
        outcome=outcome, next_step=next_step, duration_min=minutes, recorded_by=actor)
    if contacts:
        activity.contacts.set(contacts)
    _audit(actor, "contact.recorded", activity, {"kind": {"before": None, "after": kind},
                                                 "happened_at": {"before": None, "after": when}})
    timeline_add(customer=customer, kind=f"activities.{kind}",
                 actor=actor, summary=f"{activity.get_kind_display()}: {summary}",
                 data={"activity": activity.pk}, at=when)
    customer_followup_touch(touches=[(customer.pk, when)])
    return activity


# ---------------------------------------------------------------- bulk (imports, demo)


IMPORT_FIELDS = ("user_id", "customer_id", "kind", "happened_at", "duration_min", "summary", "checkin_latitude",
                 "checkin_longitude")


def imported_values(*, customer: Customer, kind: str, happened_at: dt.datetime, latitude: float | None,
                    longitude: float | None) -> dict[str, Any]:
    """The check-in fields of an imported activity: a visit counts as checked in and out at `happened_at`, with
    the distance to the customer's region when the row gives a place; other kinds have no check-in."""
    if kind != Kind.VISIT:
        return {"status": Status.DONE, "checked_in_at": None, "checked_out_at": None, "location_status": "",
                "distance_m": None, "far_threshold_m": None, "is_far": False,
                "checkin_latitude": None, "checkin_longitude": None}
    result = assess(latitude=latitude, longitude=longitude, denied=False, reference=_reference(customer))
    return {"status": Status.DONE, "checked_in_at": happened_at, "checked_out_at": happened_at,
            "location_status": result.location_status, "distance_m": result.distance_m,
            "far_threshold_m": result.threshold_m, "is_far": result.is_far,
            "checkin_latitude": latitude if result.location_status != "unavailable" else None,
            "checkin_longitude": longitude if result.location_status != "unavailable" else None}


@transaction.atomic
def activities_record_many(*, actor: User | None, rows: list[dict[str, Any]]) -> list[Activity]:
    """Create already-validated activities in one go (imports): one bulk insert, one audit batch, their
    timeline entries and the customers' follow-up. Each row: user, customer, kind, happened_at, summary,
    duration_min, latitude, longitude, external_id."""
    from kamguard.core.audit import AuditEntry, audit_record_many
    from kamguard.customers.models import TimelineEntry

    objects = []
    for row in rows:
        customer: Customer = row["customer"]
        objects.append(Activity(
            user=row["user"], customer=customer, kind=row["kind"], happened_at=row["happened_at"],
            summary=row.get("summary", ""), duration_min=row.get("duration_min"),
            external_id=row.get("external_id") or None, recorded_by=actor,
            **imported_values(customer=customer, kind=row["kind"], happened_at=row["happened_at"],
                              latitude=row.get("latitude"), longitude=row.get("longitude"))))
    created = Activity.objects.bulk_create(objects, batch_size=500)
    if created and created[0].pk is None:  # pragma: no cover - both databases return keys
        created = list(Activity.objects.filter(external_id__in=[o.external_id for o in objects]))
    audit_record_many(actor=actor, entries=[AuditEntry(
        action="activities.contact.imported", obj=a, object_label=_label(a),
        changes={"kind": {"before": None, "after": a.kind}, "happened_at": {"before": None, "after": a.happened_at},
                 "external_id": {"before": None, "after": a.external_id}}) for a in created])
    TimelineEntry.objects.bulk_create([TimelineEntry(
        customer_id=a.customer_id, occurred_at=a.happened_at or timezone.now(), kind=f"activities.{a.kind}", actor=a.user,
        summary=f"{a.get_kind_display()}: {a.summary}"[:400], data={"activity": a.pk, "imported": True})
        for a in created], batch_size=500)
    customer_followup_touch(touches=[(a.customer_id, a.happened_at) for a in created if a.happened_at])
    return created


@transaction.atomic
def activity_import_update(*, actor: User | None, activity: Activity, row: dict[str, Any]) -> bool:
    """Apply a changed import row to the activity it names by external id; False when nothing changed."""
    from kamguard.core.audit import diff, snapshot

    customer: Customer = row["customer"]
    values: dict[str, Any] = {
        "user": row["user"], "customer": customer, "kind": row["kind"], "happened_at": row["happened_at"],
        "summary": row.get("summary", ""), "duration_min": row.get("duration_min"),
        **imported_values(customer=customer, kind=row["kind"], happened_at=row["happened_at"],
                          latitude=row.get("latitude"), longitude=row.get("longitude"))}
    fields = list(values)
    before = snapshot(activity, fields)
    for name, value in values.items():
        setattr(activity, name, value)
    changes = diff(before, snapshot(activity, fields))
    if not changes:
        return False
    activity.save()
    _audit(actor, "contact.import_updated", activity, changes)
    if activity.happened_at is not None:
        customer_followup_touch(touches=[(activity.customer_id, activity.happened_at)])
    return True
