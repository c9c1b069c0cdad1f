"""Idle and absolute session timeouts, and sessions ended by an administrator."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from kamguard.accounts.models import UserSession


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") and not getattr(
                request, "kg_token_auth", False):
            now = timezone.now().timestamp()
            login_at = float(request.session.get("kg_login_at", now))
            last_seen = float(request.session.get("kg_last_seen", now))
            reason = ""
            if now - login_at > settings.SESSION_COOKIE_AGE:
                reason = "absolute timeout"
            elif now - last_seen > settings.SESSION_IDLE_SECONDS:
                reason = "idle timeout"
            if reason:
                key = request.session.session_key
                logout(request)
                if key:
                    UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(
                        ended_at=timezone.now(), end_reason=reason)
                request.kg_session_expired = reason  # type: ignore[attr-defined]
            else:
                request.session["kg_last_seen"] = now
        return self.get_response(request)
