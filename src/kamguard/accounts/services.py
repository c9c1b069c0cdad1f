"""Sign-in, sessions, second factor and access tokens."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kamguard.accounts.models import UserSession
from kamguard.core.audit import audit_record

if TYPE_CHECKING:
    from kamguard.org.models import User


def _session_store() -> type:
    return import_module(settings.SESSION_ENGINE).SessionStore  # type: ignore[no-any-return]


@transaction.atomic
def sessions_end_all(*, actor: User | None, user: User, reason: str = "", except_key: str | None = None) -> int:
    """End every session of `user` at once (forced sign-out). Returns how many were ended."""
    store = _session_store()
    ended = 0
    for tracked in UserSession.objects.filter(user=user, ended_at__isnull=True).exclude(session_key=except_key or ""):
        store(session_key=tracked.session_key).delete()
        tracked.ended_at = timezone.now()
        tracked.end_reason = (reason or "ended")[:100]
        tracked.save(update_fields=["ended_at", "end_reason"])
        ended += 1
    audit_record(actor=actor, action="auth.sessions_ended", obj=user, reason=reason,
                 changes={"sessions": {"before": ended, "after": 0}})
    return ended
