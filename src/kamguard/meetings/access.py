"""Who may see and change meeting minutes.

- See a meeting: whoever wrote the minutes, chaired or attended it, owns one of its action items, or has the
  minutes' author in their data scope (supervisors: their department; auditors: all).
- Change the minutes (and add, edit or remove action items): the author of the minutes, or a supervisor whose
  scope covers them. Read-only roles change nothing.
- Add guidance (the supervisor checks the minutes): a supervisor over the minutes' author.
- Mark an action item done or reopen it: its owner, the minutes' author, or a supervisor over either.
- Attendees and action item owners are chosen among active people in the writer's department (and below) or
  their data scope.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from kamguard.meetings.models import ActionItem, Meeting
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import User
from kamguard.org.scopes import NOTHING, person_in_scope, scope_q


def meeting_visibility_q(viewer: User) -> Q:
    if not viewer.is_authenticated or not viewer.is_active:
        return NOTHING
    scope = scope_q(viewer, owner_path="organizer")
    if not scope:  # everything (an empty Q would vanish in the OR below)
        return scope
    return (scope | Q(organizer=viewer) | Q(chaired_by=viewer)
            | Q(pk__in=Meeting.attendees.through.objects.filter(user_id=viewer.pk).values("meeting_id"))
            | Q(pk__in=ActionItem.objects.filter(owner=viewer).values("meeting_id")))


def may_write(actor: User) -> bool:
    return actor.is_authenticated and actor.has_right(Right.EDIT_BUSINESS_DATA)


def may_edit(actor: User, meeting: Meeting) -> bool:
    if not may_write(actor):
        return False
    if meeting.organizer_id == actor.pk:
        return True
    return Role.SUPERVISOR in actor.roles and person_in_scope(actor, meeting.organizer)


def may_guide(actor: User, meeting: Meeting) -> bool:
    """A supervisor over the minutes' author (not the author)."""
    return (may_write(actor) and Role.SUPERVISOR in actor.roles and meeting.organizer_id != actor.pk
            and person_in_scope(actor, meeting.organizer))


def may_update_item(actor: User, item: ActionItem) -> bool:
    if not may_write(actor):
        return False
    if actor.pk in (item.owner_id, item.meeting.organizer_id):
        return True
    return Role.SUPERVISOR in actor.roles and (person_in_scope(actor, item.owner)
                                               or person_in_scope(actor, item.meeting.organizer))


def people_choosable(actor: User) -> QuerySet[User]:
    q = scope_q(actor, owner_path="")
    if not q:  # everybody
        return User.objects.filter(is_active=True).order_by("full_name")
    q |= Q(pk=actor.pk)
    if actor.department is not None:
        q |= Q(department__path__startswith=actor.department.path)
    return User.objects.filter(q, is_active=True).distinct().order_by("full_name")
