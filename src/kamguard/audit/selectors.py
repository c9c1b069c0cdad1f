"""Reads of the audit trail. Each starts from the viewer: only holders of the audit right see anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.api import keyset_page
from kamguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.org.domain.roles import Right
from kamguard.org.models import User

VERIFIED_ACTION = "audit.chain.verified"


@dataclass(frozen=True)
class EventFilter:
    """What an auditor narrows the trail by. Empty values do not filter."""

    actor: str = ""  # username at the time; "system" for events without a signed-in person
    action: str = ""  # a prefix: "org.user." or a whole code
    object_type: str = ""
    object_id: str = ""
    date_from: dt.date | None = None  # inclusive, in the site's time zone
    date_to: dt.date | None = None  # inclusive
    text: str = ""  # in the object's label or the reason

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, as JSON-ready values (recorded with exports)."""
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items() if v}


# Dates outside these bounds filter nothing (and would overflow when converted to UTC).
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(9998, 12, 31)


def _text(value: str) -> str:
    """Filter text as the databases accept it (PostgreSQL refuses NUL characters)."""
    return value.replace("\x00", "").strip()


def audit_access_require(viewer: User) -> None:
    if not viewer.is_authenticated or not viewer.has_right(Right.VIEW_AUDIT):
        raise PermissionRefused(extra={"right": str(Right.VIEW_AUDIT)})


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def event_list(*, viewer: User, filters: EventFilter | None = None) -> QuerySet[AuditEvent]:
    """The events the viewer may see, narrowed by `filters`, newest first."""
    audit_access_require(viewer)
    filters = filters or EventFilter()
    events = AuditEvent.objects.all()
    actor = _text(filters.actor)
    if actor:
        if actor == "system":
            events = events.filter(actor__isnull=True)
        else:
            ids = list(User.objects.filter(username=actor).values_list("pk", flat=True))
            events = events.filter(actor_id__in=ids)
    if _text(filters.action):
        events = events.filter(action__startswith=_text(filters.action))
    if _text(filters.object_type):
        events = events.filter(object_type=_text(filters.object_type))
    if _text(filters.object_id):
        events = events.filter(object_id=_text(filters.object_id))
    if filters.date_from and EARLIEST_DAY <= filters.date_from <= LATEST_DAY:
        events = events.filter(occurred_at__gte=_day_start(filters.date_from))
    if filters.date_to and EARLIEST_DAY <= filters.date_to <= LATEST_DAY:
        events = events.filter(occurred_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    elif filters.date_to and filters.date_to < EARLIEST_DAY:
        events = events.none()
    text = _text(filters.text)
    if text:
        events = events.filter(Q(object_label__icontains=text) | Q(reason__icontains=text))
    return events.order_by("-sequence")


def event_get(*, viewer: User, event_id: int) -> AuditEvent:
    audit_access_require(viewer)
    if not 0 < event_id < 2**63:
        raise NotFound()
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound()
    return event


def chain_last_verification(*, viewer: User) -> AuditEvent | None:
    """The most recent recorded verification of the chain (by the daily task or an auditor)."""
    audit_access_require(viewer)
    return AuditEvent.objects.filter(action=VERIFIED_ACTION).order_by("-sequence").first()


def event_page(events: QuerySet[AuditEvent], *, cursor: str | None, limit: int, order: tuple[str, ...],
               serialize: Callable[[AuditEvent], Any] | None = None) -> dict[str, Any]:
    """One keyset page of `events`. A cursor that decodes but does not hold a sequence is refused like any bad one."""
    try:
        return keyset_page(events, cursor=cursor, limit=limit, order=order, serialize=serialize)
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a crafted cursor holding text or a huge number
        raise ValidationFailed(field_errors={"cursor": [_("This cursor is not valid; start from the first page.")]}
                               ) from exc
