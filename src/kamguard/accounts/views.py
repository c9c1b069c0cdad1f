"""Sign-in (password, then the second factor), and "My account": sessions, tokens, authenticator."""

from __future__ import annotations

import base64
from typing import Any

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kamguard.accounts import selectors, services
from kamguard.accounts.forms import (
    CodeForm,
    PasswordChangeForm,
    PasswordConfirmForm,
    ReasonForm,
    TokenCreateForm,
)
from kamguard.accounts.middleware import (
    SESSION_ENDED_REASON,
    SESSION_TOTP_VERIFIED,
    session_needs_second_factor,
)
from kamguard.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view
from kamguard.org import selectors as org_selectors
from kamguard.org.domain.roles import Right

# The password step passed, the second factor is still owed: who, with which backend, since when, going where.
PENDING_USER = "kg_pending_user_id"
PENDING_BACKEND = "kg_pending_backend"
PENDING_AT = "kg_pending_at"
PENDING_NEXT = "kg_pending_next"
PENDING_FAILURES = "kg_pending_failures"
PENDING_KEYS = (PENDING_USER, PENDING_BACKEND, PENDING_AT, PENDING_NEXT, PENDING_FAILURES)
PENDING_SECONDS = 5 * 60
PENDING_MAX_FAILURES = 5


def _ended_message(reason: str) -> str:
    if reason == "idle timeout":
        return _("You were signed out after a period without activity. Sign in again.")
    if reason == "absolute timeout":
        return _("Your session reached its maximum length. Sign in again.")
    return _("Your session ended. Sign in again.")


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _pending_clear(request: HttpRequest) -> None:
    for key in PENDING_KEYS:
        request.session.pop(key, None)


# ---------------------------------------------------------------- sign-in

class LoginView(auth_views.LoginView):
    """Step one: username and password (Django's form passes `request` to authenticate, as axes needs).

    A person with a confirmed authenticator is not signed in yet: the session remembers who passed the
    password, and the verify page asks the code. Everyone else is signed in at once (session id rotated).
    """

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        reason = self.request.session.pop(SESSION_ENDED_REASON, "") or getattr(
            self.request, "kg_session_expired", "")
        if reason:
            context["ended_message"] = _ended_message(reason)
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        _pending_clear(self.request)
        if services.totp_device_confirmed(user) is not None:
            self.request.session.cycle_key()  # a fresh id for the half-signed-in state too
            self.request.session[PENDING_USER] = user.pk
            self.request.session[PENDING_BACKEND] = user.backend
            self.request.session[PENDING_AT] = timezone.now().timestamp()
            self.request.session[PENDING_NEXT] = self.get_success_url()
            self.request.session[PENDING_FAILURES] = 0
            return redirect("accounts:totp_verify")
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    pass


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes calls this when (username, address) is locked out."""
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    message = _("Too many failed sign-in attempts for this account from this address. Wait %(minutes)s minutes "
                "and try again, or ask an administrator to unlock it.") % {"minutes": minutes}
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)


@never_cache
def totp_verify(request: HttpRequest) -> HttpResponse:
    """Step two: the code from the authenticator. Also used when a signed-in session owes the second factor."""
    User = get_user_model()  # noqa: N806
    signed_in = request.user.is_authenticated
    user: Any
    if signed_in:
        if session_needs_second_factor(request) != "verify":
            return redirect(_safe_next(request, request.GET.get("next")))
        user = request.user
        next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    else:
        pending_id = request.session.get(PENDING_USER)
        started = float(request.session.get(PENDING_AT, 0))
        user = User.objects.filter(pk=pending_id, is_active=True).first() if pending_id else None
        if user is None or timezone.now().timestamp() - started > PENDING_SECONDS:
            _pending_clear(request)
            messages.info(request, _("Enter your username and password first."))
            return redirect("accounts:login")
        next_url = _safe_next(request, request.session.get(PENDING_NEXT))

    # Wrong codes count towards the same (username, address) lockout as wrong passwords.
    credentials = {"username": user.get_username(), "second_factor": True}
    if request.method == "POST" and AxesProxyHandler.is_locked(request, credentials):
        return _second_step_abandon(request, signed_in, locked=True)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_verify(user=user, code=form.cleaned_data["code"])
        except Conflict as exc:  # the authenticator cannot be checked at all (keys changed): say so, count nothing
            form_apply_error(form, exc)
        except (ValidationFailed, NotFound) as exc:
            form_apply_error(form, exc)
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            failures = int(request.session.get(PENDING_FAILURES, 0)) + 1
            request.session[PENDING_FAILURES] = failures
            if getattr(request, "axes_locked_out", False):
                return _second_step_abandon(request, signed_in, locked=True)
            if failures >= PENDING_MAX_FAILURES:
                return _second_step_abandon(request, signed_in, locked=False)
        else:
            request.session[SESSION_TOTP_VERIFIED] = True
            if not signed_in:
                backend = request.session.get(PENDING_BACKEND)
                _pending_clear(request)
                login(request, user, backend=backend)  # rotates the session id; keeps the flag
            request.session.pop(PENDING_FAILURES, None)
            return redirect(next_url)
    return render(request, "accounts/totp_verify.html", {"form": form, "next": next_url, "signed_in": signed_in})


def _second_step_abandon(request: HttpRequest, signed_in: bool, *, locked: bool) -> HttpResponse:
    """Too many wrong codes: forget who passed the password (or sign out), so the password is asked again."""
    if signed_in:
        request.kg_logout_reason = "too many wrong codes"  # type: ignore[attr-defined]
        logout(request)
    else:
        _pending_clear(request)
    if locked:
        return lockout_response(request)
    messages.error(request, _("Too many wrong codes. Enter your password again."))
    return redirect("accounts:login")


def _qr_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG data: URI (our CSP allows data: images, not inline styles)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


@never_cache
@login_required
def totp_enrol(request: HttpRequest) -> HttpResponse:
    user = request.user
    if services.totp_device_confirmed(user) is not None:  # type: ignore[arg-type]
        messages.info(request, _("You already have an authenticator. To replace it, reset it first."))
        return redirect("accounts:security")
    try:
        device = services.totp_enrolment_start(actor=user)  # type: ignore[arg-type]
    except Conflict as exc:
        messages.error(request, str(exc.message))
        return redirect("accounts:security")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_enrolment_confirm(actor=user, code=form.cleaned_data["code"])  # type: ignore[arg-type]
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            request.session[SESSION_TOTP_VERIFIED] = True
            messages.success(request, _("Your authenticator is set up. From now on, sign-in asks for a code."))
            return redirect(_safe_next(request, request.GET.get("next")))
    uri = services.totp_provisioning_uri(device)
    shared = device.shared_secret
    secret_groups = " ".join(shared[i:i + 4] for i in range(0, len(shared), 4))
    return render(request, "accounts/totp_enrol.html", {
        "form": form, "qr": _qr_data_uri(uri), "secret": secret_groups,
        "required": services.totp_required(user),  # type: ignore[arg-type]
    })


# ---------------------------------------------------------------- my account

def _security_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "sessions": selectors.session_list(viewer=user),  # type: ignore[arg-type]
        "current_key": request.session.session_key,
        "tokens": selectors.token_list(viewer=user)[:100],  # type: ignore[arg-type]
        "device": services.totp_device_confirmed(user),  # type: ignore[arg-type]
        "totp_required": services.totp_required(user),  # type: ignore[arg-type]
        "now": timezone.now(),
        "password_form": PasswordConfirmForm(),
    }


@never_cache
@page_view()
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/security.html", _security_context(request))


@page_view()
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        tracked = services.session_end(actor=request.user, session_id=session_id)  # type: ignore[arg-type]
    except Conflict as exc:
        messages.info(request, str(exc.message))
    else:
        if tracked.session_key == request.session.session_key:
            return redirect("accounts:login")
        messages.success(request, _("The session was ended."))
        if tracked.user_id != request.user.pk:
            return redirect("accounts:person_access", user_id=tracked.user_id)
    return redirect("accounts:security")


@page_view()
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = services.sessions_end_all(actor=request.user, user=request.user,  # type: ignore[arg-type]
                                      reason="signed out by owner", except_key=request.session.session_key)
    messages.success(request, _("%(count)s other sessions were ended.") % {"count": ended})
    return redirect("accounts:security")


@never_cache
@page_view()
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.token_create(
                actor=request.user, name=form.cleaned_data["name"], scopes=form.scopes(),  # type: ignore[arg-type]
                expires_in_days=form.cleaned_data["expires_in_days"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            # Shown once, in this response only: never stored, never redirected through the session.
            response = render(request, "accounts/token_created.html", {"token": token, "secret": secret})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "accounts/token_form.html", {"form": form})


@page_view()
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = services.token_revoke(actor=request.user, token_id=token_id)  # type: ignore[arg-type]
    messages.success(request, _("The token “%(name)s” was revoked. Programs using it are refused from now on.")
                     % {"name": token.name})
    if token.user_id != request.user.pk:
        return redirect("accounts:person_access", user_id=token.user_id)
    return redirect("accounts:security")


@page_view()
@require_POST
def totp_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.totp_reset(actor=request.user, password=form.cleaned_data["password"])  # type: ignore[arg-type]
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            request.session.pop(SESSION_TOTP_VERIFIED, None)
            messages.success(request, _("Your authenticator was removed."))
            if services.totp_required(request.user):  # type: ignore[arg-type]
                return redirect("accounts:totp_enrol")
            return redirect("accounts:security")
    context = _security_context(request)
    context["password_form"] = form
    return render(request, "accounts/security.html", context, status=422)


@never_cache
@page_view()
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ended = services.password_change(
                actor=request.user, current_password=form.cleaned_data["current_password"],  # type: ignore[arg-type]
                new_password=form.cleaned_data["new_password"], keep_session_key=request.session.session_key)
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Your password was changed. %(count)s other sessions were ended.")
                             % {"count": ended})
            return redirect("accounts:security")
    return render(request, "accounts/password_form.html", {"form": form})


# ---------------------------------------------------------------- a person's access (administrators)

@never_cache
@page_view(Right.MANAGE_USERS)
def person_access(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = request.user
    person = org_selectors.user_get(viewer=viewer, user_id=user_id)  # type: ignore[arg-type]
    return render(request, "accounts/person_access.html", {
        "person": person,
        "tokens": selectors.token_list(viewer=viewer, user_id=person.pk)[:100],  # type: ignore[arg-type]
        "sessions": selectors.session_list(viewer=viewer, user_id=person.pk),  # type: ignore[arg-type]
        "device": services.totp_device_confirmed(person),
        "reason_form": ReasonForm(),
        "now": timezone.now(),
    })


@page_view(Right.MANAGE_USERS)
@require_POST
def person_totp_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = request.user
    person = org_selectors.user_get(viewer=viewer, user_id=user_id)  # type: ignore[arg-type]
    form = ReasonForm(request.POST)
    if form.is_valid():
        services.totp_reset_for(actor=viewer, user=person, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
        messages.success(request, _("The authenticator of %(name)s was removed and their sessions ended.")
                         % {"name": person})
    else:
        messages.error(request, _("Give a reason to reset the authenticator."))
    return redirect("accounts:person_access", user_id=person.pk)
