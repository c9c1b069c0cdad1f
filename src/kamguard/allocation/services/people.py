"""What allocation knows about people and teams: capacities, absences, departure notices, team settings.

Public (keyword-only, audited, transactional):
- `capacity_set(*, actor, person, tier, capacity: int | None) -> PersonCapacity | None` — None: unlimited
  (the row is removed).
- `absence_add(*, actor, person, kind, starts_on, ends_on, note="") -> Absence`
- `absence_remove(*, actor, absence_id, reason="") -> None`
- `departure_notice_set(*, actor, person, noticed_on, leaves_on=None, note="") -> DepartureNotice`
- `departure_notice_remove(*, actor, person, reason) -> None`
- `team_setting_save(*, actor, team, pool=..., max_gini_count=..., max_gini_value=..., max_spread_count=...)
  -> TeamAllocationSetting` — only the keywords given change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kamguard.allocation.models import (
    Absence,
    AbsenceKind,
    DepartureNotice,
    PersonCapacity,
    TeamAllocationSetting,
)
from kamguard.allocation.services.common import require_person_manager, require_team_manager
from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import NotFound, ValidationFailed
from kamguard.customers.models import Pool, Tier
from kamguard.org.models import Team, User

MAX_CAPACITY = 100000
UNSET: Any = object()


@transaction.atomic
def capacity_set(*, actor: User | None, person: User, tier: str, capacity: int | None) -> PersonCapacity | None:
    require_person_manager(actor, person)
    if tier not in Tier.values:
        raise ValidationFailed(field_errors={"tier": [_("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Tier.values)}]})
    if capacity is not None:
        try:
            capacity = int(capacity)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(field_errors={"capacity": [_("Enter a whole number, or leave it empty for "
                                                                "no limit.")]}) from exc
        if capacity < 0 or capacity > MAX_CAPACITY:
            raise ValidationFailed(field_errors={"capacity": [_("Between 0 and %(max)s.") % {"max": MAX_CAPACITY}]})
    current = PersonCapacity.objects.filter(person=person, tier=tier).first()
    before = current.capacity if current else None
    if capacity is None:
        if current is not None:
            current.delete()
        row = None
    else:
        row, _created = PersonCapacity.objects.update_or_create(
            person=person, tier=tier, defaults={"capacity": capacity, "updated_by": actor})
    if before != capacity:
        audit_record(actor=actor, action="allocation.capacity.set", obj=person, object_label=str(person),
                     changes={f"capacity_{tier}": {"before": before, "after": capacity}})
    return row


def _clean_dates(starts_on: Any, ends_on: Any) -> tuple[dt.date, dt.date]:
    errors: dict[str, list[str]] = {}
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = [_("Enter the first day.")]
    if not isinstance(ends_on, dt.date):
        errors["ends_on"] = [_("Enter the last day.")]
    if not errors and ends_on < starts_on:
        errors["ends_on"] = [_("The last day is before the first day.")]
    if not errors and (ends_on - starts_on).days > 366:
        errors["ends_on"] = [_("An absence lasts at most a year; record a departure instead.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    return starts_on, ends_on


@transaction.atomic
def absence_add(*, actor: User | None, person: User, kind: str, starts_on: dt.date, ends_on: dt.date,
                note: str = "") -> Absence:
    require_person_manager(actor, person)
    if kind not in AbsenceKind.values:
        raise ValidationFailed(field_errors={"kind": [_("Choose absent or on leave.")]})
    starts_on, ends_on = _clean_dates(starts_on, ends_on)
    overlap = Absence.objects.filter(person=person, starts_on__lte=ends_on, ends_on__gte=starts_on).first()
    if overlap is not None:
        raise ValidationFailed(field_errors={"starts_on": [
            _("%(person)s is already away from %(start)s to %(end)s.") % {
                "person": person, "start": overlap.starts_on, "end": overlap.ends_on}]})
    absence = Absence.objects.create(person=person, kind=kind, starts_on=starts_on, ends_on=ends_on,
                                     note=(note or "").strip()[:300], created_by=actor)
    audit_record(actor=actor, action="allocation.absence.added", obj=absence, object_label=str(person),
                 changes=diff({}, snapshot(absence, ("person", "kind", "starts_on", "ends_on", "note"))))
    return absence


@transaction.atomic
def absence_remove(*, actor: User | None, absence_id: int, reason: str = "") -> None:
    absence = Absence.objects.select_related("person").filter(pk=absence_id).first()
    if absence is None:
        raise NotFound()
    require_person_manager(actor, absence.person)
    before = snapshot(absence, ("person", "kind", "starts_on", "ends_on", "note"))
    audit_record(actor=actor, action="allocation.absence.removed", obj=absence, object_label=str(absence.person),
                 changes=diff(before, {}), reason=reason)
    absence.delete()


@transaction.atomic
def departure_notice_set(*, actor: User | None, person: User, noticed_on: dt.date, leaves_on: dt.date | None = None,
                         note: str = "") -> DepartureNotice:
    """From `noticed_on` allocation gives the person no new customers (reason `leaving`)."""
    require_person_manager(actor, person)
    if not isinstance(noticed_on, dt.date):
        raise ValidationFailed(field_errors={"noticed_on": [_("Enter the day notice was given.")]})
    if leaves_on is not None and leaves_on < noticed_on:
        raise ValidationFailed(field_errors={"leaves_on": [_("The last day is before the notice.")]})
    current = DepartureNotice.objects.filter(person=person).first()
    fields = ("noticed_on", "leaves_on", "note")
    before = snapshot(current, fields) if current else {}
    notice, _created = DepartureNotice.objects.update_or_create(
        person=person, defaults={"noticed_on": noticed_on, "leaves_on": leaves_on, "note": (note or "").strip()[:300],
                                 "created_by": actor})
    changes = diff(before, snapshot(notice, fields))
    if changes:
        audit_record(actor=actor, action="allocation.departure_notice.set", obj=notice, object_label=str(person),
                     changes=changes)
    return notice


@transaction.atomic
def departure_notice_remove(*, actor: User | None, person: User, reason: str) -> None:
    require_person_manager(actor, person)
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why the notice is withdrawn.")]})
    notice = DepartureNotice.objects.filter(person=person).first()
    if notice is None:
        raise NotFound()
    audit_record(actor=actor, action="allocation.departure_notice.removed", obj=notice, object_label=str(person),
                 changes=diff(snapshot(notice, ("noticed_on", "leaves_on")), {}), reason=reason.strip())
    notice.delete()


def _bound(value: Any, field: str, *, integer: bool = False) -> Any:
    if value in (None, ""):
        return None
    if integer:
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(field_errors={field: [_("Enter a whole number.")]}) from exc
        if number < 0 or number > MAX_CAPACITY:
            raise ValidationFailed(field_errors={field: [_("Between 0 and %(max)s.") % {"max": MAX_CAPACITY}]})
        return number
    try:
        decimal = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(field_errors={field: [_("Enter a number between 0 and 1.")]}) from exc
    if not decimal.is_finite() or decimal < 0 or decimal > 1:
        raise ValidationFailed(field_errors={field: [_("Enter a number between 0 and 1.")]})
    return decimal.quantize(Decimal("0.001"))


SETTING_FIELDS = ("pool", "max_gini_count", "max_gini_value", "max_spread_count")


@transaction.atomic
def team_setting_save(*, actor: User | None, team: Team, pool: Pool | None = UNSET, max_gini_count: Any = UNSET,
                      max_gini_value: Any = UNSET, max_spread_count: Any = UNSET) -> TeamAllocationSetting:
    require_team_manager(actor, team)
    setting, _created = TeamAllocationSetting.objects.get_or_create(team=team)
    before = snapshot(setting, SETTING_FIELDS)
    if pool is not UNSET:
        if pool is not None and not pool.is_active:
            raise ValidationFailed(field_errors={"pool": [_("This pool is closed; choose an active one.")]})
        setting.pool = pool
    if max_gini_count is not UNSET:
        setting.max_gini_count = _bound(max_gini_count, "max_gini_count")
    if max_gini_value is not UNSET:
        setting.max_gini_value = _bound(max_gini_value, "max_gini_value")
    if max_spread_count is not UNSET:
        setting.max_spread_count = _bound(max_spread_count, "max_spread_count", integer=True)
    setting.updated_by = actor
    setting.save()
    changes = diff(before, snapshot(setting, SETTING_FIELDS))
    if changes:
        audit_record(actor=actor, action="allocation.team_setting.saved", obj=setting, object_label=str(team),
                     changes=changes)
    return setting
