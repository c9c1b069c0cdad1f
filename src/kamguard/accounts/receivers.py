"""Sign-in events are recorded in the audit trail and in the session list.

These are the only signal receivers in the app: sign-in and sign-out are raised by Django's auth
framework (and axes), not by our services, so listening is the one place to record them.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from kamguard.accounts.middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT, SESSION_TOTP_VERIFIED
from kamguard.accounts.models import UserSession
from kamguard.core.audit import audit_record
from kamguard.core.middleware import client_ip


@receiver(user_logged_in, dispatch_uid="kamguard.accounts.login")
def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    if not request.session.session_key:
        request.session.save()
    now = timezone.now()
    request.session[SESSION_LOGIN_AT] = now.timestamp()
    request.session[SESSION_LAST_SEEN] = now.timestamp()
    with transaction.atomic():
        UserSession.objects.update_or_create(
            session_key=request.session.session_key,
            defaults={"user": user, "ip_address": client_ip(request), "last_seen_at": now,
                      "user_agent": request.META.get("HTTP_USER_AGENT", "")[:400], "ended_at": None,
                      "end_reason": ""},
        )
        audit_record(actor=user, action="auth.login.succeeded", obj=user,
                     reason="password and second factor" if request.session.get(SESSION_TOTP_VERIFIED) else "password")


@receiver(user_logged_out, dispatch_uid="kamguard.accounts.logout")
def _on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or user is None:
        return
    reason = getattr(request, "kg_logout_reason", "") or "signed out"
    key = request.session.session_key
    with transaction.atomic():
        if key:
            UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(
                ended_at=timezone.now(), end_reason=reason)
        audit_record(actor=user, action="auth.logout", obj=user, reason=reason)


@receiver(user_login_failed, dispatch_uid="kamguard.accounts.login_failed")
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                     **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    locked = bool(getattr(request, "axes_locked_out", False))
    # Its own transaction: the event must persist even though the sign-in failed.
    with transaction.atomic():
        audit_record(actor=None, action="auth.login.failed", object_type="org.user", object_id="",
                     object_label=username,
                     reason="locked out" if locked else "wrong second-factor code" if credentials.get(
                         "second_factor") else "wrong username or password")


@receiver(user_locked_out, dispatch_uid="kamguard.accounts.locked_out")
def _on_locked_out(sender: Any, request: HttpRequest | None = None, username: str | None = None,
                   ip_address: str | None = None, **kwargs: Any) -> None:
    with transaction.atomic():
        audit_record(actor=None, action="auth.login.locked_out", object_type="org.user", object_id="",
                     object_label=str(username or "")[:150],
                     reason=f"too many failed sign-ins from {ip_address or 'unknown address'}")
