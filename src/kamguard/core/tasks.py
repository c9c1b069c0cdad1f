"""Background jobs of the shared kernel. A task loads what it needs and calls a service; running it twice is safe."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django_tasks import task


@task()
def clear_expired_sessions() -> int:
    """Delete expired sessions and mark their tracked rows as ended. Returns how many tracked rows were closed."""
    from django.utils import timezone

    from kamguard.accounts.models import UserSession

    store = import_module(settings.SESSION_ENGINE).SessionStore
    store.clear_expired()
    from django.contrib.sessions.models import Session

    live = Session.objects.filter(expire_date__gt=timezone.now()).values_list("session_key", flat=True)
    return UserSession.objects.filter(ended_at__isnull=True).exclude(session_key__in=live).update(
        ended_at=timezone.now(), end_reason="expired")
