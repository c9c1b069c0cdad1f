"""Session policy for signed-in browsers: idle and absolute timeouts, then the second factor.

One middleware (listed once in settings) applies both, in this order:
1. Timeouts. A session idle longer than SESSION_IDLE_SECONDS, or older than SESSION_COOKIE_AGE since
   sign-in, is signed out; the person lands on the sign-in page with a note saying why. Sessions ended
   by an administrator are deleted from the session store, so they are already anonymous here.
2. Second factor. A person with a confirmed authenticator, or holding a role in TOTP_REQUIRED_ROLES,
   must have passed the second factor in this session (`kg_totp_verified`). Pages redirect to the
   verify or enrolment page; only those pages, sign-out, static files and language switching stay
   open. API requests made with such a session are treated as anonymous (401); requests with an
   access token are not affected (the token is the program's equivalent of both factors).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from kamguard.accounts.models import TOTPDevice, UserSession

SESSION_LOGIN_AT = "kg_login_at"
SESSION_LAST_SEEN = "kg_last_seen"
SESSION_TOTP_VERIFIED = "kg_totp_verified"
SESSION_ENDED_REASON = "kg_ended_reason"
LAST_SEEN_WRITE_EVERY = 60  # seconds: do not write the session on every request

OPEN_URL_NAMES = ("accounts:login", "accounts:logout", "accounts:totp_verify", "accounts:totp_enrol")


def session_needs_second_factor(request: HttpRequest) -> str:
    """'' when the session may proceed; 'verify' or 'enrol' when the second factor is still owed."""
    user = request.user
    if request.session.get(SESSION_TOTP_VERIFIED):
        return ""
    if TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():  # type: ignore[misc]
        return "verify"
    required = set(getattr(settings, "TOTP_REQUIRED_ROLES", []))
    if required and any(role.value in required for role in user.roles):  # type: ignore[union-attr]
        return "enrol"
    return ""


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_paths: tuple[str, ...] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and hasattr(request, "session") and user.is_authenticated:
            if self._enforce_timeouts(request):
                return self.get_response(request)
            owed = session_needs_second_factor(request)
            if owed:
                refused = self._second_factor_owed(request, owed)
                if refused is not None:
                    return refused
        return self.get_response(request)

    # ------------------------------------------------------------ timeouts

    def _enforce_timeouts(self, request: HttpRequest) -> bool:
        """Sign out an expired session. True when it was signed out."""
        session = request.session
        now = timezone.now().timestamp()
        login_at = session.get(SESSION_LOGIN_AT)
        last_seen = session.get(SESSION_LAST_SEEN)
        if login_at is None or last_seen is None:  # a session from before these keys existed: start counting
            session[SESSION_LOGIN_AT] = float(login_at or now)
            session[SESSION_LAST_SEEN] = now
            return False
        reason = ""
        if now - float(login_at) > settings.SESSION_COOKIE_AGE:
            reason = "absolute timeout"
        elif now - float(last_seen) > settings.SESSION_IDLE_SECONDS:
            reason = "idle timeout"
        if reason:
            key = session.session_key
            if key:
                UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(
                    ended_at=timezone.now(), end_reason=reason)
            request.kg_logout_reason = reason  # type: ignore[attr-defined]  # read by the logout receiver
            logout(request)
            request.session[SESSION_ENDED_REASON] = reason
            request.kg_session_expired = reason  # type: ignore[attr-defined]
            return True
        if now - float(last_seen) >= LAST_SEEN_WRITE_EVERY:
            session[SESSION_LAST_SEEN] = now
            if session.session_key:
                UserSession.objects.filter(session_key=session.session_key, ended_at__isnull=True).update(
                    last_seen_at=timezone.now())
        return False

    # ------------------------------------------------------------ second factor

    def _open_path(self, path: str) -> bool:
        if self._open_paths is None:
            self._open_paths = tuple(reverse(name) for name in OPEN_URL_NAMES)
        static = "/" + str(settings.STATIC_URL).lstrip("/")
        return path in self._open_paths or path.startswith(static) or path.startswith("/i18n/")

    def _second_factor_owed(self, request: HttpRequest, owed: str) -> HttpResponse | None:
        path = request.path_info
        if path.startswith("/api/"):
            # Not signed in as far as the API is concerned; a bearer token still authenticates.
            request.user = AnonymousUser()
            return None
        if self._open_path(path):
            return None
        target = reverse("accounts:totp_verify" if owed == "verify" else "accounts:totp_enrol")
        if request.method == "GET":
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
