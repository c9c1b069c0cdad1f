"""Every read of meeting minutes starts from the viewer (see `access` for who sees what).

Contract function for other apps (no viewer: callers narrow `user_ids` themselves):
- `overdue_actions(*, user_ids, today) -> QuerySet[ActionItem]` — open items past their due date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.meetings.access import meeting_visibility_q
from kamguard.meetings.models import ActionItem, ItemStatus, Meeting
from kamguard.org.models import User
from kamguard.org.scopes import scope_q


def meeting_list(*, viewer: User, kind: str = "", search: str = "", start: dt.date | None = None,
                 end: dt.date | None = None, attendee_id: int | None = None, overdue_only: bool = False,
                 unguided_only: bool = False) -> QuerySet[Meeting]:
    qs = Meeting.objects.filter(meeting_visibility_q(viewer)).select_related("organizer", "department")
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(summary__icontains=search) | Q(decisions__icontains=search)
                       | Q(action_items__description__icontains=search)).distinct()
    if start:
        qs = qs.filter(held_at__date__gte=start)
    if end:
        qs = qs.filter(held_at__date__lte=end)
    if attendee_id:
        qs = qs.filter(attendees__pk=attendee_id)
    today = timezone.localdate()
    if overdue_only:
        qs = qs.filter(pk__in=ActionItem.objects.filter(status=ItemStatus.OPEN, due_on__lt=today).values("meeting_id"))
    if unguided_only:
        qs = qs.filter(guidance="")
    return qs.annotate(
        item_count=Count("action_items", distinct=True),
        open_count=Count("action_items", filter=Q(action_items__status=ItemStatus.OPEN), distinct=True),
        overdue_count=Count("action_items", filter=Q(action_items__status=ItemStatus.OPEN,
                                                     action_items__due_on__lt=today), distinct=True),
    ).order_by("-held_at", "-pk")


def meeting_get(*, viewer: User, meeting_id: int) -> Meeting:
    found = (Meeting.objects.filter(meeting_visibility_q(viewer)).select_related("organizer", "chaired_by",
                                                                                 "department")
             .filter(pk=meeting_id).first())
    if found is None:
        raise NotFound()
    return found


def item_list(*, viewer: User, meeting: Meeting) -> QuerySet[ActionItem]:
    return meeting.action_items.select_related("owner", "done_by").order_by("due_on", "pk")


def item_get(*, viewer: User, item_id: int) -> ActionItem:
    found = (ActionItem.objects.filter(Q(meeting__in=Meeting.objects.filter(meeting_visibility_q(viewer))))
             .select_related("meeting", "meeting__organizer", "owner").filter(pk=item_id).first())
    if found is None:
        raise NotFound()
    return found


def my_items(*, viewer: User, status: str = "", team: bool = False, today: dt.date | None = None
             ) -> QuerySet[ActionItem]:
    """The viewer's action items, or (team=True) those of everybody in their data scope."""
    if team:
        qs = ActionItem.objects.filter(scope_q(viewer, owner_path="owner"))
    else:
        qs = ActionItem.objects.filter(owner=viewer)
    today = today or timezone.localdate()
    if status == "overdue":
        qs = qs.filter(status=ItemStatus.OPEN, due_on__lt=today)
    elif status in (ItemStatus.OPEN, ItemStatus.DONE):
        qs = qs.filter(status=status)
    return qs.select_related("meeting", "owner").order_by("status", "due_on", "pk")


def overdue_actions(*, user_ids: Iterable[int], today: dt.date) -> QuerySet[ActionItem]:
    return (ActionItem.objects.filter(owner_id__in=list(user_ids), status=ItemStatus.OPEN, due_on__lt=today)
            .select_related("meeting", "owner").order_by("due_on", "pk"))
