"""Every write to goals: one function per use case, keyword-only with `actor` first, transactional, audited with
before and after. Who may do what is in `goals.access`.

Targets: `target_set` (one person, one month; amount None removes it), `targets_set_bulk` (many cells at once,
all or nothing, e.g. a team × months grid).
Objectives: `objective_create`, `objective_update`, `objective_status_set`; key results: `key_result_create`,
`key_result_update`, `key_result_delete`; `check_in` records a value (and moves the key result's current value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import AuditEntry, audit_record, audit_record_many
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.fields import clean_decimal, clean_text
from kamguard.goals import access
from kamguard.goals.domain.months import add_months, month_start
from kamguard.goals.models import CheckIn, KeyResult, Objective, ObjectiveStatus, SalesTarget
from kamguard.org.models import Team, User

AMOUNT_MAX = Decimal("99999999999999.99")
VALUE_MAX = Decimal("99999999999999.99")
TITLE_LIMIT = 200
TEXT_LIMIT = 5000
NOTE_LIMIT = 300
BULK_LIMIT = 5000
YEARS_BACK = 5
YEARS_AHEAD = 2


def _clean(value: str | None, field: str, limit: int = TEXT_LIMIT, *, required: bool = False) -> str:
    return clean_text(value, field, limit, required=required)


def _decimal(value: Any, field: str, *, minimum: Decimal | None = None, maximum: Decimal = VALUE_MAX) -> Decimal:
    number = clean_decimal(value, field, maximum=None)
    if minimum is not None and number < minimum:
        message = (_("The amount cannot be negative.") if minimum == 0
                   else _("At least %(min)s.") % {"min": minimum})
        raise ValidationFailed(field_errors={field: [message]})
    if abs(number) > maximum:
        raise ValidationFailed(field_errors={field: [_("At most %(max)s.") % {"max": maximum}]})
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(field_errors={field: [_("At most two decimal places.")]})
    return number.quantize(Decimal("0.01"))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# ---------------------------------------------------------------------------------------------------- targets


def _month_checked(month: dt.date, field: str = "month") -> dt.date:
    if month.day != 1:
        raise ValidationFailed(field_errors={field: [_("Give the month as YYYY-MM (its first day).")]})
    this_month = month_start(timezone.localdate())
    if not (add_months(this_month, -12 * YEARS_BACK) <= month <= add_months(this_month, 12 * YEARS_AHEAD)):
        raise ValidationFailed(field_errors={field: [_("Targets can be set from %(back)s years back to %(ahead)s "
                                                       "years ahead.") % {"back": YEARS_BACK, "ahead": YEARS_AHEAD}]})
    return month


def _person(user_id: int, field: str = "user") -> User:
    person = User.objects.filter(pk=user_id).select_related("department", "team").first()
    if person is None:
        raise ValidationFailed(field_errors={field: [_("No such person: %(id)s.") % {"id": user_id}]})
    return person


def _require_supervisor_of(actor: User, person: User) -> None:
    if actor.pk == person.pk:
        raise PermissionRefused(_("You cannot set your own targets; your supervisor does."), code="own_target",
                                extra={"right": "goals.targets"})
    if not access.may_supervise(actor, person):
        raise PermissionRefused(_("Only a supervisor of %(person)s may set their targets.") % {"person": person},
                                extra={"right": "goals.targets"})


@dataclass(frozen=True)
class TargetChange:
    user_id: int
    month: dt.date
    amount: Decimal | None  # None removes the month's target
    note: str = ""


def _apply_target(actor: User, person: User, change: TargetChange) -> tuple[SalesTarget | None, AuditEntry | None]:
    existing = SalesTarget.objects.select_for_update().filter(user=person, month=change.month).first()
    before = {"amount": _money(existing.amount), "note": existing.note} if existing else None
    if change.amount is None:
        if existing is None:
            return None, None
        label = f"{person} {change.month:%Y-%m}"
        object_id = existing.pk
        existing.delete()
        return None, AuditEntry(action="goals.target.remove", object_type="goals.salestarget", object_id=object_id,
                                object_label=label, changes={"target": {"before": before, "after": None}})
    if existing is None:
        existing = SalesTarget.objects.create(user=person, month=change.month, amount=change.amount, set_by=actor,
                                              note=change.note)
    elif existing.amount == change.amount and existing.note == change.note:
        return existing, None
    else:
        existing.amount, existing.note, existing.set_by = change.amount, change.note, actor
        existing.save(update_fields=["amount", "note", "set_by", "updated_at"])
    after = {"amount": _money(existing.amount), "note": existing.note}
    return existing, AuditEntry(action="goals.target.set", obj=existing,
                                object_label=f"{person} {change.month:%Y-%m}",
                                changes={"target": {"before": before, "after": after}})


@transaction.atomic
def target_set(*, actor: User, user_id: int, month: dt.date, amount: Decimal | str | None, note: str = ""
               ) -> SalesTarget | None:
    """Set (or with amount None, remove) a person's sales target for a month. Only their supervisor."""
    person = _person(user_id)
    _require_supervisor_of(actor, person)
    month = _month_checked(month)
    value = None if amount is None or amount == "" else _decimal(amount, "amount", minimum=Decimal(0),
                                                                 maximum=AMOUNT_MAX)
    change = TargetChange(user_id=person.pk, month=month, amount=value, note=_clean(note, "note", NOTE_LIMIT))
    target, entry = _apply_target(actor, person, change)
    if entry is not None:
        audit_record_many(actor=actor, entries=[entry])
    return target


@transaction.atomic
def targets_set_bulk(*, actor: User, changes: Sequence[TargetChange]) -> dict[str, int]:
    """Set many targets at once (a team × months grid, an import through the API): every cell is checked
    first and nothing is written unless all are valid. Field errors are named `entries[i].<field>`.
    Returns {"set": n, "removed": n, "unchanged": n}."""
    if not access.is_supervisor(actor):
        raise PermissionRefused(_("Only supervisors set sales targets."), extra={"right": "goals.targets"})
    if len(changes) > BULK_LIMIT:
        raise ValidationFailed(field_errors={"entries": [_("At most %(n)s entries at once.") % {"n": BULK_LIMIT}]})
    errors: dict[str, list[str]] = {}
    people = {p.pk: p for p in User.objects.filter(pk__in={c.user_id for c in changes}).select_related(
        "department", "team")}
    allowed: dict[int, bool] = {}
    cleaned: list[tuple[User, TargetChange]] = []
    seen: set[tuple[int, dt.date]] = set()
    for i, change in enumerate(changes):
        prefix = f"entries[{i}]"
        person = people.get(change.user_id)
        if person is None:
            errors.setdefault(f"{prefix}.user_id", []).append(_("No such person: %(id)s.") % {"id": change.user_id})
            continue
        if person.pk not in allowed:
            allowed[person.pk] = access.may_supervise(actor, person)
        if not allowed[person.pk]:
            errors.setdefault(f"{prefix}.user_id", []).append(
                _("%(person)s is not among the people you supervise.") % {"person": person})
            continue
        try:
            month = _month_checked(change.month, f"{prefix}.month")
            amount = None if change.amount is None else _decimal(change.amount, f"{prefix}.amount",
                                                                 minimum=Decimal(0), maximum=AMOUNT_MAX)
            note = _clean(change.note, f"{prefix}.note", NOTE_LIMIT)
        except ValidationFailed as exc:
            for key, messages in exc.field_errors.items():
                errors.setdefault(key, []).extend(messages)
            continue
        if (person.pk, month) in seen:
            errors.setdefault(f"{prefix}.month", []).append(
                _("%(person)s's %(month)s appears twice.") % {"person": person, "month": f"{month:%Y-%m}"})
            continue
        seen.add((person.pk, month))
        cleaned.append((person, TargetChange(user_id=person.pk, month=month, amount=amount, note=note)))
    if errors:
        raise ValidationFailed(_("Some targets are not valid; nothing was saved."), field_errors=errors)
    counts = {"set": 0, "removed": 0, "unchanged": 0}
    entries: list[AuditEntry] = []
    for person, change in cleaned:
        _target, entry = _apply_target(actor, person, change)
        if entry is None:
            counts["unchanged"] += 1
            continue
        counts["removed" if change.amount is None else "set"] += 1
        entries.append(entry)
    audit_record_many(actor=actor, entries=entries)
    return counts


# ------------------------------------------------------------------------------------------------ objectives

STATUS_FLOW: dict[str, tuple[str, ...]] = {
    ObjectiveStatus.DRAFT: (ObjectiveStatus.ACTIVE, ObjectiveStatus.CANCELLED),
    ObjectiveStatus.ACTIVE: (ObjectiveStatus.DONE, ObjectiveStatus.CANCELLED),
    ObjectiveStatus.DONE: (ObjectiveStatus.ACTIVE,),
    ObjectiveStatus.CANCELLED: (ObjectiveStatus.DRAFT,),
}
OPEN_STATUSES = (ObjectiveStatus.DRAFT, ObjectiveStatus.ACTIVE)


def _objective_for(actor: User, objective_id: int, *, lock: bool = False) -> Objective:
    qs = Objective.objects.filter(access.objectives_visible(actor), pk=objective_id)
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.select_related("owner_user", "owner_team", "owner_team__department", "parent").first()
    if found is None:
        raise NotFound()
    return found


def _require_write(actor: User, objective: Objective) -> None:
    if not access.may_write_objective(actor, objective):
        if objective.owner_team_id is not None:
            message = _("Only the team's supervisor may change a team's objective.")
        else:
            message = _("Only the objective's owner and their supervisor may change it.")
        raise PermissionRefused(message, extra={"right": "goals.objective.edit"})


def _require_open(objective: Objective) -> None:
    if objective.status not in OPEN_STATUSES:
        raise Conflict(_("This objective is %(status)s: reopen it to change it.") % {
            "status": objective.get_status_display()}, code="objective_closed")


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    errors: dict[str, list[str]] = {}
    if start is None:
        errors["period_start"] = [_("This field is required.")]
    if end is None:
        errors["period_end"] = [_("This field is required.")]
    if start and end and end < start:
        errors["period_end"] = [_("The period cannot end before it starts.")]
    if start and end and (end - start).days > 366 * 2:
        errors["period_end"] = [_("A period is at most two years long.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    assert start is not None and end is not None
    return start, end


def _check_deadline(deadline: dt.date | None, start: dt.date, end: dt.date) -> None:
    if deadline is not None and not (start <= deadline <= end):
        raise ValidationFailed(field_errors={"deadline": [_("The deadline lies within the period (%(start)s – "
                                                            "%(end)s).") % {"start": start, "end": end}]})


def _check_parent(actor: User, parent_id: int | None, *, owner_user: User | None, owner_team: Team | None,
                  start: dt.date, end: dt.date, self_id: int | None = None) -> Objective | None:
    if parent_id is None:
        return None
    parent = Objective.objects.filter(access.objectives_visible(actor), pk=parent_id).select_related(
        "owner_team").first()
    if parent is None:
        raise ValidationFailed(field_errors={"parent": [_("No such objective, or you cannot see it.")]})
    if owner_team is not None:
        raise ValidationFailed(field_errors={"parent": [_("A team's objective does not cascade from another; "
                                                          "people's objectives cascade from their team's.")]})
    if parent.owner_team_id is None:
        raise ValidationFailed(field_errors={"parent": [_("A person's objective cascades from a team's objective.")]})
    if owner_user is not None and parent.owner_team_id != owner_user.team_id:
        raise ValidationFailed(field_errors={"parent": [_("Choose an objective of %(person)s's own team.") % {
            "person": owner_user}]})
    if parent.status == ObjectiveStatus.CANCELLED:
        raise ValidationFailed(field_errors={"parent": [_("That objective was cancelled.")]})
    if start < parent.period_start or end > parent.period_end:
        raise ValidationFailed(field_errors={"period_start": [_("The period lies within the team objective's "
                                                               "(%(start)s – %(end)s).") % {
            "start": parent.period_start, "end": parent.period_end}]})
    if self_id is not None and parent.pk == self_id:
        raise ValidationFailed(field_errors={"parent": [_("An objective cannot contribute to itself.")]})
    return parent


def _snapshot(o: Objective) -> dict[str, Any]:
    return {"title": o.title, "description": o.description, "measure": o.measure, "relevance": o.relevance,
            "period_start": o.period_start.isoformat(), "period_end": o.period_end.isoformat(),
            "deadline": o.deadline.isoformat() if o.deadline else None, "parent": o.parent_id, "status": o.status}


@transaction.atomic
def objective_create(*, actor: User, title: str, period_start: dt.date | None, period_end: dt.date | None,
                     owner_user_id: int | None = None, owner_team_id: int | None = None,
                     parent_id: int | None = None, description: str = "", measure: str = "", relevance: str = "",
                     deadline: dt.date | None = None) -> Objective:
    """A new objective (a draft) for oneself, a person one supervises, or a team one leads."""
    if not access.may_edit(actor):
        raise PermissionRefused(extra={"right": "business.edit"})
    if (owner_user_id is None) == (owner_team_id is None):
        raise ValidationFailed(field_errors={"owner": [_("Choose either a person or a team as the owner.")]})
    owner_user: User | None = None
    owner_team: Team | None = None
    if owner_user_id is not None:
        owner_user = _person(owner_user_id, "owner_user")
        if owner_user.pk != actor.pk and not access.may_supervise(actor, owner_user):
            raise PermissionRefused(_("You may write objectives for yourself and the people you supervise."),
                                    extra={"right": "goals.objective.create"})
    else:
        owner_team = Team.objects.filter(pk=int(owner_team_id or 0)).select_related("department").first()
        if owner_team is None:
            raise ValidationFailed(field_errors={"owner_team": [_("No such team: %(id)s.") % {"id": owner_team_id}]})
        if not access.may_lead_team(actor, owner_team):
            raise PermissionRefused(_("Only the team's supervisor may write the team's objectives."),
                                    extra={"right": "goals.objective.create"})
    title = _clean(title, "title", TITLE_LIMIT, required=True)
    start, end = _period(period_start, period_end)
    _check_deadline(deadline, start, end)
    parent = _check_parent(actor, parent_id, owner_user=owner_user, owner_team=owner_team, start=start, end=end)
    objective = Objective.objects.create(
        title=title, description=_clean(description, "description"), measure=_clean(measure, "measure"),
        relevance=_clean(relevance, "relevance"), owner_user=owner_user, owner_team=owner_team, parent=parent,
        period_start=start, period_end=end, deadline=deadline or end, created_by=actor)
    audit_record(actor=actor, action="goals.objective.create", obj=objective,
                 changes={"objective": {"before": None, "after": {
                     **_snapshot(objective), "owner_user": owner_user.pk if owner_user else None,
                     "owner_team": owner_team.pk if owner_team else None}}})
    return objective


UNSET: Any = object()


@transaction.atomic
def objective_update(*, actor: User, objective_id: int, title: str | None = None, description: str | None = None,
                     measure: str | None = None, relevance: str | None = None,
                     period_start: dt.date | None = None, period_end: dt.date | None = None,
                     deadline: dt.date | None = UNSET, parent_id: int | None = UNSET) -> Objective:
    """Change an open objective's text, period, deadline or parent (None clears the parent)."""
    objective = _objective_for(actor, objective_id, lock=True)
    _require_write(actor, objective)
    _require_open(objective)
    before = _snapshot(objective)
    if title is not None:
        objective.title = _clean(title, "title", TITLE_LIMIT, required=True)
    for name, value in (("description", description), ("measure", measure), ("relevance", relevance)):
        if value is not None:
            setattr(objective, name, _clean(value, name))
    start, end = _period(period_start or objective.period_start, period_end or objective.period_end)
    objective.period_start, objective.period_end = start, end
    if deadline is not UNSET:
        objective.deadline = deadline or end
    _check_deadline(objective.deadline, start, end)
    if parent_id is not UNSET:
        objective.parent = _check_parent(actor, parent_id, owner_user=objective.owner_user,
                                         owner_team=objective.owner_team, start=start, end=end,
                                         self_id=objective.pk)
    elif objective.parent_id is not None:
        _check_parent(actor, objective.parent_id, owner_user=objective.owner_user, owner_team=objective.owner_team,
                      start=start, end=end, self_id=objective.pk)
    if objective.owner_team_id is not None and (period_start or period_end):
        outside = objective.children.exclude(status=ObjectiveStatus.CANCELLED).exclude(
            period_start__gte=start, period_end__lte=end)
        if outside.exists():
            raise ValidationFailed(field_errors={"period_start": [_("Objectives that cascade from this one lie "
                                                                   "outside the new period.")]})
    after = _snapshot(objective)
    changes = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changes:
        objective.save()
        audit_record(actor=actor, action="goals.objective.update", obj=objective, changes=changes)
    return objective


@transaction.atomic
def objective_status_set(*, actor: User, objective_id: int, status: str, reason: str = "") -> Objective:
    """Move an objective along draft → active → done (or cancelled; done reopens to active, cancelled to
    draft). Activating needs at least one key result."""
    objective = _objective_for(actor, objective_id, lock=True)
    _require_write(actor, objective)
    if status not in ObjectiveStatus.values:
        raise ValidationFailed(field_errors={"status": [_("Unknown status.")]})
    if status == objective.status:
        return objective
    if status not in STATUS_FLOW[objective.status]:
        raise Conflict(_("An objective that is %(current)s cannot become %(new)s.") % {
            "current": objective.get_status_display(), "new": ObjectiveStatus(status).label},
            code="status_not_allowed")
    if status == ObjectiveStatus.ACTIVE and not objective.key_results.exists():
        raise ValidationFailed(_("Add at least one measurable key result before activating the objective."),
                               code="no_key_results", field_errors={"status": [_("Add a key result first.")]})
    before = objective.status
    objective.status = status
    objective.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="goals.objective.status", obj=objective,
                 reason=_clean(reason, "reason", NOTE_LIMIT),
                 changes={"status": {"before": before, "after": status}})
    return objective


# ------------------------------------------------------------------------------------------------ key results


def _kr_snapshot(kr: KeyResult) -> dict[str, Any]:
    return {"title": kr.title, "unit": kr.unit, "start_value": _money(kr.start_value),
            "target_value": _money(kr.target_value), "current_value": _money(kr.current_value),
            "weight": _money(kr.weight), "due_date": kr.due_date.isoformat() if kr.due_date else None}


def _kr_for(actor: User, key_result_id: int, *, lock: bool = False) -> KeyResult:
    qs = KeyResult.objects.filter(pk=key_result_id)
    if lock:
        qs = qs.select_for_update(of=("self",))
    kr = qs.first()
    if kr is None:
        raise NotFound()
    kr.objective = _objective_for(actor, kr.objective_id, lock=lock)
    return kr


def _kr_validate(kr: KeyResult) -> None:
    errors: dict[str, list[str]] = {}
    if kr.target_value == kr.start_value:
        errors["target_value"] = [_("The target must differ from the start value.")]
    if kr.weight <= 0:
        errors["weight"] = [_("The weight must be greater than zero.")]
    objective = kr.objective
    if kr.due_date is not None and not (objective.period_start <= kr.due_date <= objective.period_end):
        errors["due_date"] = [_("The due date lies within the objective's period (%(start)s – %(end)s).") % {
            "start": objective.period_start, "end": objective.period_end}]
    if errors:
        raise ValidationFailed(field_errors=errors)


@transaction.atomic
def key_result_create(*, actor: User, objective_id: int, title: str, target_value: Decimal | str,
                      start_value: Decimal | str = "0", current_value: Decimal | str | None = None,
                      unit: str = "", weight: Decimal | str = "1", due_date: dt.date | None = None) -> KeyResult:
    objective = _objective_for(actor, objective_id, lock=True)
    _require_write(actor, objective)
    _require_open(objective)
    start = _decimal(start_value, "start_value")
    kr = KeyResult(objective=objective, title=_clean(title, "title", TITLE_LIMIT, required=True),
                   unit=_clean(unit, "unit", 20), start_value=start,
                   target_value=_decimal(target_value, "target_value"),
                   current_value=start if current_value in (None, "") else _decimal(current_value, "current_value"),
                   weight=_decimal(weight, "weight", maximum=Decimal(1000)), due_date=due_date or objective.deadline)
    _kr_validate(kr)
    kr.save()
    if kr.current_value != kr.start_value:  # a value already reached is a check-in (what okr_progress_for reads)
        CheckIn.objects.create(key_result=kr, value=kr.current_value, by=actor, at=timezone.now())
    audit_record(actor=actor, action="goals.key_result.create", obj=kr,
                 changes={"key_result": {"before": None, "after": {**_kr_snapshot(kr), "objective": objective.pk}}})
    return kr


@transaction.atomic
def key_result_update(*, actor: User, key_result_id: int, title: str | None = None, unit: str | None = None,
                      start_value: Decimal | str | None = None, target_value: Decimal | str | None = None,
                      weight: Decimal | str | None = None, due_date: dt.date | None = UNSET) -> KeyResult:
    """Change a key result's definition (its current value moves by check-ins only)."""
    kr = _kr_for(actor, key_result_id, lock=True)
    _require_write(actor, kr.objective)
    _require_open(kr.objective)
    before = _kr_snapshot(kr)
    if title is not None:
        kr.title = _clean(title, "title", TITLE_LIMIT, required=True)
    if unit is not None:
        kr.unit = _clean(unit, "unit", 20)
    if start_value is not None:
        kr.start_value = _decimal(start_value, "start_value")
    if target_value is not None:
        kr.target_value = _decimal(target_value, "target_value")
    if weight is not None:
        kr.weight = _decimal(weight, "weight", maximum=Decimal(1000))
    if due_date is not UNSET:
        kr.due_date = due_date
    _kr_validate(kr)
    after = _kr_snapshot(kr)
    changes = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changes:
        kr.save()
        audit_record(actor=actor, action="goals.key_result.update", obj=kr, changes=changes)
    return kr


@transaction.atomic
def key_result_delete(*, actor: User, key_result_id: int, reason: str = "") -> None:
    """Remove a key result of an open objective with its check-ins (an active objective keeps at least one)."""
    kr = _kr_for(actor, key_result_id, lock=True)
    objective = kr.objective
    _require_write(actor, objective)
    _require_open(objective)
    if objective.status == ObjectiveStatus.ACTIVE and objective.key_results.count() <= 1:
        raise Conflict(_("An active objective keeps at least one key result."), code="last_key_result")
    audit_record(actor=actor, action="goals.key_result.delete", obj=kr, reason=_clean(reason, "reason", NOTE_LIMIT),
                 changes={"key_result": {"before": {**_kr_snapshot(kr), "check_ins": kr.check_ins.count()},
                                         "after": None}})
    kr.delete()


@transaction.atomic
def check_in(*, actor: User, key_result_id: int, value: Decimal | str, confidence: int | None = None,
             note: str = "") -> CheckIn:
    """Record where a key result stands: its current value becomes `value`. Active objectives only."""
    kr = _kr_for(actor, key_result_id, lock=True)
    _require_write(actor, kr.objective)
    if kr.objective.status != ObjectiveStatus.ACTIVE:
        raise Conflict(_("Check in on an active objective (this one is %(status)s).") % {
            "status": kr.objective.get_status_display()}, code="objective_not_active")
    number = _decimal(value, "value")
    if confidence is not None and not (0 <= confidence <= 10):
        raise ValidationFailed(field_errors={"confidence": [_("Confidence runs from 0 to 10.")]})
    entry = CheckIn.objects.create(key_result=kr, value=number, confidence=confidence,
                                   note=_clean(note, "note"), by=actor, at=timezone.now())
    before = kr.current_value
    kr.current_value = number
    kr.save(update_fields=["current_value", "updated_at"])
    audit_record(actor=actor, action="goals.key_result.check_in", obj=kr,
                 changes={"current_value": {"before": _money(before), "after": _money(number)},
                          "confidence": {"before": None, "after": confidence}, "check_in": {"before": None,
                                                                                            "after": entry.pk}})
    return entry
