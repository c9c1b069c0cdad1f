"""Sign-in events are recorded in the audit trail and in the session list."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from kamguard.accounts.models import UserSession
from kamguard.core.audit import audit_record
from kamguard.core.middleware import client_ip


@receiver(user_logged_in)
def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    if not request.session.session_key:
        request.session.save()
    request.session["kg_login_at"] = timezone.now().timestamp()
    request.session["kg_last_seen"] = timezone.now().timestamp()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={"user": user, "ip_address": client_ip(request),
                  "user_agent": request.META.get("HTTP_USER_AGENT", "")[:400], "ended_at": None},
    )
    audit_record(actor=user, action="auth.login.succeeded", obj=user)


@receiver(user_logged_out)
def _on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or user is None:
        return
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason="signed out")
    audit_record(actor=user, action="auth.logout", obj=user)


@receiver(user_login_failed)
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=None, action="auth.login.failed", object_type="org.user", object_id="",
                 object_label=username, reason="wrong username or password, or locked out")
