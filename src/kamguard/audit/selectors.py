"""Reads of the audit trail. Each starts from the viewer: only holders of the audit right see anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from kamguard.core.errors import NotFound, PermissionRefused
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
    actor = filters.actor.strip()
    if actor:
        if actor == "system":
            events = events.filter(actor__isnull=True)
        else:
            ids = list(User.objects.filter(username=actor).values_list("pk", flat=True))
            events = events.filter(actor_id__in=ids)
    if filters.action.strip():
        events = events.filter(action__startswith=filters.action.strip())
    if filters.object_type.strip():
        events = events.filter(object_type=filters.object_type.strip())
    if filters.object_id.strip():
        events = events.filter(object_id=filters.object_id.strip())
    if filters.date_from:
        events = events.filter(occurred_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        events = events.filter(occurred_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    text = filters.text.strip()
    if text:
        events = events.filter(Q(object_label__icontains=text) | Q(reason__icontains=text))
    return events.order_by("-sequence")


def event_get(*, viewer: User, event_id: int) -> AuditEvent:
    audit_access_require(viewer)
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound()
    return event


def chain_last_verification(*, viewer: User) -> AuditEvent | None:
    """The most recent recorded verification of the chain (by the daily task or an auditor)."""
    audit_access_require(viewer)
    return AuditEvent.objects.filter(action=VERIFIED_ACTION).order_by("-sequence").first()
