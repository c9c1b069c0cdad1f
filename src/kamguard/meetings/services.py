"""Every write of meeting minutes: keyword-only, transactional, audited.

- `meeting_create(*, actor, kind, title, held_at, ..., attendee_ids, items)` — the minutes with their action
  items (each {"description", "owner_id", "due_on"}).
- `meeting_update(*, actor, meeting_id, **fields)`; `meeting_delete(*, actor, meeting_id, reason)`.
- `item_add(*, actor, meeting_id, description, owner_id, due_on)`; `item_update(*, actor, item_id, ...)`.
- `meeting_guide(*, actor, meeting_id, guidance)` — a supervisor over the minutes' author checks them and writes
  guidance (source 001 §3.2: 定期检查会议记录并给予指导).
- `item_done(*, actor, item_id, note)` (open → done, the note is required); `item_reopen(*, actor, item_id, reason)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.meetings.access import (
    may_edit,
    may_guide,
    may_update_item,
    may_write,
    meeting_visibility_q,
    people_choosable,
)
from kamguard.meetings.models import ActionItem, ItemStatus, Meeting, MeetingKind
from kamguard.org.domain.roles import Right
from kamguard.org.models import Department, User

MAX_TEXT = 20_000
MAX_ITEMS = 50


def _clean(value: Any) -> str:
    return str(value or "").replace("\x00", "").replace("\r\n", "\n").strip()


def _refuse_unless_writer(actor: User) -> None:
    if not may_write(actor):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _people(actor: User, ids: Iterable[int], field: str) -> list[User]:
    wanted = {int(i) for i in ids}
    found = list(people_choosable(actor).filter(pk__in=wanted))
    missing = wanted - {u.pk for u in found}
    if missing:
        raise ValidationFailed(field_errors={field: [_("Choose people from your department or your team "
                                                     "(not found: %(ids)s).") % {"ids": ", ".join(map(str,
                                                                                                     sorted(missing)))}]})
    return found


def _item_check(actor: User, item: dict[str, Any], field: str) -> tuple[str, User, dt.date]:
    errors: list[str] = []
    description = _clean(item.get("description"))
    if not description:
        errors.append(_("Describe the action."))
    elif len(description) > 500:
        errors.append(_("At most %(n)s characters.") % {"n": 500})
    due_on = item.get("due_on")
    if not isinstance(due_on, dt.date):
        errors.append(_("Give the due date."))
    owner_id = item.get("owner_id")
    owner = people_choosable(actor).filter(pk=owner_id).first() if owner_id else None
    if owner is None:
        errors.append(_("Choose the owner among the people of your department or team."))
    if errors:
        raise ValidationFailed(field_errors={field: errors})
    assert owner is not None and isinstance(due_on, dt.date)
    return description, owner, due_on


def _fields_check(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "kind" in fields:
        if fields["kind"] not in MeetingKind.values:
            errors["kind"] = [_("Choose daily, weekly, monthly or special.")]
        clean["kind"] = fields["kind"]
    if "title" in fields:
        clean["title"] = _clean(fields["title"])
        if not clean["title"]:
            errors["title"] = [_("Give the meeting a title.")]
        elif len(clean["title"]) > 200:
            errors["title"] = [_("At most %(n)s characters.") % {"n": 200}]
    if "held_at" in fields:
        held_at = fields["held_at"]
        if not isinstance(held_at, dt.datetime):
            errors["held_at"] = [_("Give the date and time of the meeting.")]
        else:
            held_at = timezone.make_aware(held_at) if timezone.is_naive(held_at) else held_at
            if held_at > timezone.now() + dt.timedelta(days=1):
                errors["held_at"] = [_("Minutes are written for a meeting that took place, not a future one.")]
            clean["held_at"] = held_at
    for name, limit in (("location", 200), ("other_attendees", 500), ("summary", MAX_TEXT),
                        ("decisions", MAX_TEXT)):
        if name in fields:
            clean[name] = _clean(fields[name])
            if len(clean[name]) > limit:
                errors[name] = [_("At most %(n)s characters.") % {"n": limit}]
    if errors:
        raise ValidationFailed(field_errors=errors)
    return clean


@transaction.atomic
def meeting_create(*, actor: User, kind: str, title: str, held_at: dt.datetime, location: str = "",
                   department: Department | None = None, chaired_by_id: int | None = None,
                   attendee_ids: Iterable[int] = (), other_attendees: str = "", summary: str = "",
                   decisions: str = "", items: Iterable[dict[str, Any]] = ()) -> Meeting:
    _refuse_unless_writer(actor)
    clean = _fields_check({"kind": kind, "title": title, "held_at": held_at, "location": location,
                           "other_attendees": other_attendees, "summary": summary, "decisions": decisions})
    attendees = _people(actor, attendee_ids, "attendee_ids")
    chair = _people(actor, [chaired_by_id], "chaired_by_id")[0] if chaired_by_id else None
    items = list(items)
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(field_errors={"items": [_("At most %(n)s action items.") % {"n": MAX_ITEMS}]})
    checked = [_item_check(actor, item, f"items[{i}]") for i, item in enumerate(items)]
    meeting = Meeting.objects.create(organizer=actor, chaired_by=chair,
                                     department=department or actor.department, **clean)
    meeting.attendees.set(attendees)
    for description, owner, due_on in checked:
        ActionItem.objects.create(meeting=meeting, description=description, owner=owner, due_on=due_on)
    audit_record(actor=actor, action="meetings.meeting.create", obj=meeting,
                 changes={"kind": clean["kind"], "title": clean["title"], "attendees": [u.pk for u in attendees],
                          "items": len(checked)})
    return meeting


def _meeting_for_edit(actor: User, meeting_id: int) -> Meeting:
    _refuse_unless_writer(actor)
    meeting = Meeting.objects.filter(meeting_visibility_q(actor)).select_related("organizer").filter(
        pk=meeting_id).first()
    if meeting is None:
        raise NotFound()
    if not may_edit(actor, meeting):
        raise PermissionRefused(_("Only whoever wrote the minutes, or their supervisor, may change them."),
                                extra={"right": "meetings.edit"})
    return meeting


@transaction.atomic
def meeting_update(*, actor: User, meeting_id: int, attendee_ids: Iterable[int] | None = None,
                   chaired_by_id: int | None = None, **fields: Any) -> Meeting:
    meeting = _meeting_for_edit(actor, meeting_id)
    allowed = {"kind", "title", "held_at", "location", "other_attendees", "summary", "decisions"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Not a field of the minutes.")] for k in unknown})
    clean = _fields_check(fields)
    changes: dict[str, Any] = {}
    for name, value in clean.items():
        if getattr(meeting, name) != value:
            changes[name] = [str(getattr(meeting, name)), str(value)] if name in ("kind", "title", "held_at") \
                else "changed"
            setattr(meeting, name, value)
    if chaired_by_id is not None:
        chair = _people(actor, [chaired_by_id], "chaired_by_id")[0]
        if chair.pk != meeting.chaired_by_id:
            changes["chaired_by"] = [meeting.chaired_by_id, chair.pk]
            meeting.chaired_by = chair
    if attendee_ids is not None:
        attendees = _people(actor, attendee_ids, "attendee_ids")
        before = set(meeting.attendees.values_list("pk", flat=True))
        after = {u.pk for u in attendees}
        if before != after:
            meeting.attendees.set(attendees)
            changes["attendees"] = [sorted(before), sorted(after)]
    if changes:
        meeting.save()
        audit_record(actor=actor, action="meetings.meeting.update", obj=meeting, changes=changes)
    return meeting


@transaction.atomic
def meeting_delete(*, actor: User, meeting_id: int, reason: str) -> None:
    meeting = _meeting_for_edit(actor, meeting_id)
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed(field_errors={"reason": [_("Say why the minutes are deleted.")]})
    if meeting.action_items.filter(status=ItemStatus.DONE).exists():
        raise Conflict(_("Some action items are already done: the minutes are kept as the record of them."),
                       code="items_done")
    audit_record(actor=actor, action="meetings.meeting.delete", obj=meeting, reason=reason,
                 changes={"title": meeting.title, "items": meeting.action_items.count()})
    meeting.delete()


@transaction.atomic
def item_add(*, actor: User, meeting_id: int, description: str, owner_id: int, due_on: dt.date) -> ActionItem:
    meeting = _meeting_for_edit(actor, meeting_id)
    if meeting.action_items.count() >= MAX_ITEMS:
        raise ValidationFailed(field_errors={"description": [_("At most %(n)s action items.") % {"n": MAX_ITEMS}]})
    text, owner, due = _item_check(actor, {"description": description, "owner_id": owner_id, "due_on": due_on},
                                   "description")
    item = ActionItem.objects.create(meeting=meeting, description=text, owner=owner, due_on=due)
    audit_record(actor=actor, action="meetings.item.create", obj=item,
                 changes={"meeting": meeting.pk, "owner": owner.pk, "due_on": due.isoformat()})
    return item


def _item_for(actor: User, item_id: int) -> ActionItem:
    _refuse_unless_writer(actor)
    item = (ActionItem.objects.select_for_update().filter(pk=item_id)
            .filter(meeting__in=Meeting.objects.filter(meeting_visibility_q(actor))).first())
    if item is None:
        raise NotFound()
    return ActionItem.objects.select_related("meeting", "meeting__organizer", "owner").get(pk=item.pk)


@transaction.atomic
def item_update(*, actor: User, item_id: int, description: str | None = None, owner_id: int | None = None,
                due_on: dt.date | None = None) -> ActionItem:
    """Change what, who or when (the minutes' author or their supervisor)."""
    item = _item_for(actor, item_id)
    if not may_edit(actor, item.meeting):
        raise PermissionRefused(_("Only whoever wrote the minutes, or their supervisor, may change an action."),
                                extra={"right": "meetings.edit"})
    text, owner, due = _item_check(actor, {"description": item.description if description is None else description,
                                           "owner_id": item.owner_id if owner_id is None else owner_id,
                                           "due_on": item.due_on if due_on is None else due_on}, "description")
    changes: dict[str, Any] = {}
    for name, value, shown in (("description", text, text), ("owner", owner, owner.pk),
                               ("due_on", due, due.isoformat())):
        old = getattr(item, name)
        if old != value:
            changes[name] = [old.pk if isinstance(old, User) else str(old), shown]
            setattr(item, name, value)
    if changes:
        item.save()
        audit_record(actor=actor, action="meetings.item.update", obj=item, changes=changes)
    return item


@transaction.atomic
def item_done(*, actor: User, item_id: int, note: str) -> ActionItem:
    item = _item_for(actor, item_id)
    if not may_update_item(actor, item):
        raise PermissionRefused(_("Only the action's owner, the minutes' author or their supervisor may close it."),
                                extra={"right": "meetings.item"})
    note = _clean(note)
    if not note:
        raise ValidationFailed(field_errors={"note": [_("Say what was done (the execution note).")]})
    if len(note) > 2000:
        raise ValidationFailed(field_errors={"note": [_("At most %(n)s characters.") % {"n": 2000}]})
    now = timezone.now()
    updated = ActionItem.objects.filter(pk=item.pk, status=ItemStatus.OPEN).update(
        status=ItemStatus.DONE, done_at=now, done_by=actor, done_note=note, updated_at=now)
    if not updated:
        raise Conflict(_("This action is already done."), code="already_done")
    item.refresh_from_db()
    late = item.due_on < timezone.localtime(now).date()
    audit_record(actor=actor, action="meetings.item.done", obj=item,
                 changes={"status": ["open", "done"], "late": late}, reason=note)
    return item


@transaction.atomic
def item_reopen(*, actor: User, item_id: int, reason: str) -> ActionItem:
    item = _item_for(actor, item_id)
    if not may_update_item(actor, item):
        raise PermissionRefused(extra={"right": "meetings.item"})
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed(field_errors={"reason": [_("Say why the action is reopened.")]})
    updated = ActionItem.objects.filter(pk=item.pk, status=ItemStatus.DONE).update(
        status=ItemStatus.OPEN, done_at=None, done_by=None, updated_at=timezone.now())
    if not updated:
        raise Conflict(_("This action is still open."), code="already_open")
    item.refresh_from_db()
    audit_record(actor=actor, action="meetings.item.reopen", obj=item, changes={"status": ["done", "open"]},
                 reason=reason)
    return item


@transaction.atomic
def meeting_guide(*, actor: User, meeting_id: int, guidance: str) -> Meeting:
    _refuse_unless_writer(actor)
    meeting = Meeting.objects.filter(meeting_visibility_q(actor)).select_related("organizer").filter(
        pk=meeting_id).first()
    if meeting is None:
        raise NotFound()
    if not may_guide(actor, meeting):
        raise PermissionRefused(_("Only a supervisor over whoever wrote the minutes may add guidance."),
                                extra={"right": "meetings.guide"})
    text = _clean(guidance)
    if not text:
        raise ValidationFailed(field_errors={"guidance": [_("Write the guidance.")]})
    if len(text) > 5000:
        raise ValidationFailed(field_errors={"guidance": [_("At most %(n)s characters.") % {"n": 5000}]})
    before = meeting.guidance
    meeting.guidance, meeting.guided_by, meeting.guided_at = text, actor, timezone.now()
    meeting.save(update_fields=["guidance", "guided_by", "guided_at", "updated_at"])
    audit_record(actor=actor, action="meetings.meeting.guide", obj=meeting,
                 changes={"guidance": ["changed" if before else "", "set"]})
    return meeting
