"""Sign-in, sessions, second factor and access tokens: every write, transactional and audited."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.accounts.api_auth import TOKEN_PREFIX, hash_token
from kamguard.accounts.domain import totp
from kamguard.accounts.models import AccessToken, TOTPDevice, UserSession
from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.sealing import SealBroken
from kamguard.org.domain.roles import Right

if TYPE_CHECKING:
    from kamguard.org.models import User

logger = logging.getLogger(__name__)


TOKEN_SCOPES = ("read", "write")
TOKEN_MAX_DAYS = 365
TOKEN_NAME_MAX = 100


def _session_store() -> type:
    return import_module(settings.SESSION_ENGINE).SessionStore  # type: ignore[no-any-return]


# ---------------------------------------------------------------- sessions

def _session_close(tracked: UserSession, reason: str) -> bool:
    """Delete the Django session and mark the tracked row ended. False if someone else ended it first."""
    updated = UserSession.objects.filter(pk=tracked.pk, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=(reason or "ended")[:100])
    _session_store()(session_key=tracked.session_key).delete()
    return updated == 1


@transaction.atomic
def sessions_end_all(*, actor: User | None, user: User, reason: str = "", except_key: str | None = None) -> int:
    """End every session of `user` at once (forced sign-out). Returns how many were ended.

    Called by the organisation pages and API (an administrator ends a person's sessions) and by
    `org.services.user_update` when a person is deactivated. `except_key` keeps the caller's own session.
    """
    ended = 0
    for tracked in UserSession.objects.filter(user=user, ended_at__isnull=True).exclude(session_key=except_key or ""):
        ended += int(_session_close(tracked, reason or "ended"))
    audit_record(actor=actor, action="auth.sessions_ended", obj=user, reason=reason,
                 changes={"sessions": {"before": ended, "after": 0}, "kept_current": bool(except_key)})
    return ended


def _may_manage(actor: User, owner_id: int) -> bool:
    return actor.pk == owner_id or actor.has_right(Right.MANAGE_USERS)


@transaction.atomic
def session_end(*, actor: User, session_id: int, reason: str = "") -> UserSession:
    """End one session: one's own, or anyone's for a person who manages users. Missing and forbidden look alike."""
    from kamguard.accounts.selectors import session_get_for_change

    tracked = session_get_for_change(viewer=actor, session_id=session_id)
    if not tracked.is_active:
        raise Conflict(_("This session has already ended."), code="session_ended")
    reason = reason or ("signed out by owner" if tracked.user_id == actor.pk else "ended by administrator")
    if not _session_close(tracked, reason):
        raise Conflict(_("This session has already ended."), code="session_ended")
    tracked.refresh_from_db()
    audit_record(actor=actor, action="auth.session.ended", obj=tracked.user, reason=reason,
                 changes={"session": {"before": tracked.pk, "after": None}})
    return tracked


@transaction.atomic
def password_change(*, actor: User, current_password: str, new_password: str, keep_session_key: str | None) -> int:
    """Change one's own password (checked against the current one) and end one's other sessions.

    Returns how many other sessions were ended. Validation and the audit event come from
    `org.services.user_set_password`; the caller keeps its own session with `update_session_auth_hash`.
    """
    from kamguard.org.services import user_set_password

    if not current_password or not actor.check_password(current_password):
        raise ValidationFailed(_("The current password is not right."), code="wrong_password",
                               field_errors={"current_password": [_("Enter your current password.")]})
    if current_password == new_password:
        raise ValidationFailed(field_errors={"new_password": [_("Choose a password different from the current one.")]})
    try:
        user_set_password(actor=actor, user=actor, password=new_password)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, code=exc.code, field_errors={
            "new_password": exc.field_errors.get("password", [])}) from exc
    return sessions_end_all(actor=actor, user=actor, reason="password changed", except_key=keep_session_key)


# ---------------------------------------------------------------- access tokens

def _clean_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    chosen = sorted({str(s).strip() for s in scopes or []})
    unknown = [s for s in chosen if s not in TOKEN_SCOPES]
    if unknown or not chosen:
        raise ValidationFailed(field_errors={"scopes": [
            _("Choose “read”, or “read” and “write”.")]})
    if "write" in chosen and "read" not in chosen:
        chosen = ["read", "write"]  # writing without reading is never useful; say so in the token
    return chosen


@transaction.atomic
def token_create(*, actor: User, name: str, scopes: list[str] | tuple[str, ...] | set[str],
                 expires_in_days: int | None) -> tuple[AccessToken, str]:
    """Create a personal access token for `actor`. The secret is returned once and never stored."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionRefused()
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the token a name that says what it is for, e.g. “ERP sync”.")]
    elif len(name) > TOKEN_NAME_MAX:
        errors["name"] = [_("At most %(max)s characters.") % {"max": TOKEN_NAME_MAX}]
    try:
        chosen = _clean_scopes(scopes)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        chosen = []
    if expires_in_days is None:
        errors["expires_in_days"] = [_("Choose when the token expires (1 to %(max)s days).") % {
            "max": TOKEN_MAX_DAYS}]
    elif not 1 <= int(expires_in_days) <= TOKEN_MAX_DAYS:
        errors["expires_in_days"] = [_("Between 1 and %(max)s days.") % {"max": TOKEN_MAX_DAYS}]
    if errors:
        raise ValidationFailed(field_errors=errors)
    if AccessToken.objects.filter(user=actor, name=name, revoked_at__isnull=True,
                                  expires_at__gt=timezone.now()).exists():
        raise ValidationFailed(field_errors={"name": [
            _("You already have a valid token with this name. Choose another name or revoke the old one.")]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        token = AccessToken.objects.create(
            user=actor, name=name, prefix=secret[:10], token_hash=hash_token(secret), scopes=chosen,
            expires_at=timezone.now() + dt.timedelta(days=int(expires_in_days or 0)),
        )
    except IntegrityError as exc:  # a hash collision: practically impossible, but never a 500
        raise Conflict(_("Could not create the token. Try again.")) from exc
    audit_record(actor=actor, action="auth.token.created", obj=token, object_label=f"{name} ({token.prefix}…)",
                 changes={"name": {"before": None, "after": name}, "scopes": {"before": None, "after": chosen},
                          "expires_at": {"before": None, "after": token.expires_at}})
    return token, secret


@transaction.atomic
def token_revoke(*, actor: User, token_id: int, reason: str = "") -> AccessToken:
    """Revoke a token: one's own, or anyone's for a person who manages users. Revoking twice changes nothing."""
    from kamguard.accounts.selectors import token_get_for_change

    token = token_get_for_change(viewer=actor, token_id=token_id)
    now = timezone.now()
    if AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now) == 1:
        token.revoked_at = now
        audit_record(actor=actor, action="auth.token.revoked", obj=token, reason=reason,
                     object_label=f"{token.name} ({token.prefix}…)",
                     changes={"revoked_at": {"before": None, "after": now}, "owner": token.user_id})
    else:
        token.refresh_from_db()
    return token


# ---------------------------------------------------------------- second factor (TOTP)

def totp_required(user: User) -> bool:
    """Whether the person's roles oblige them to use a second factor."""
    required = set(getattr(settings, "TOTP_REQUIRED_ROLES", []))
    return any(role.value in required for role in user.roles)


def totp_device_confirmed(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def totp_provisioning_uri(device: TOTPDevice) -> str:
    return totp.provisioning_uri(secret=device.shared_secret, account=device.user.get_username(),
                                 issuer=str(getattr(settings, "TOTP_ISSUER", "KAMGuard")))


@transaction.atomic
def totp_enrolment_start(*, actor: User) -> TOTPDevice:
    """A new, unconfirmed authenticator with a fresh secret (reused while enrolment is unfinished)."""
    existing = TOTPDevice.objects.filter(user=actor).first()
    if existing is not None and existing.is_confirmed:
        raise Conflict(_("You already have an authenticator. Reset it first (this needs your password)."),
                       code="totp_already_enrolled")
    if existing is not None:
        if _readable_secret(existing) is None:  # sealed under a key no longer configured: start afresh
            existing.shared_secret = totp.new_secret()
            existing.save(update_fields=["secret"])
        return existing
    try:
        with transaction.atomic():
            device = TOTPDevice(user=actor)
            device.shared_secret = totp.new_secret()
            device.save(force_insert=True)
    except IntegrityError:  # two tabs started enrolment at once: use the one that won
        return TOTPDevice.objects.get(user=actor)
    audit_record(actor=actor, action="auth.totp.enrolment_started", obj=actor)
    return device


def _readable_secret(device: TOTPDevice) -> str | None:
    """The device's secret, or None when no configured key opens it (KAMGUARD_FIELD_KEYS lost the key)."""
    try:
        return device.shared_secret
    except SealBroken:
        logger.error("The authenticator secret of user %s cannot be opened with KAMGUARD_FIELD_KEYS.", device.user_id)
        return None


def _accept_code(device: TOTPDevice, code: str) -> int | None:
    """Consume `code` for `device`: a conditional update, so one code works once even when sent twice at once."""
    secret = _readable_secret(device)
    if secret is None:
        raise Conflict(_("Your authenticator can no longer be checked because the server's keys have changed. Ask an "
                         "administrator to reset your second factor."), code="totp_unreadable")
    step = totp.matching_step(secret=secret, code=code, at=timezone.now().timestamp(),
                              last_used_step=device.last_used_step)
    if step is None:
        return None
    if TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(last_used_step=step) != 1:
        return None
    device.last_used_step = step
    return step


def _code_refused(user: User, action: str) -> ValidationFailed:
    with transaction.atomic():
        audit_record(actor=user, action=action, obj=user, reason="wrong or reused code")
    return ValidationFailed(
        _("This code is not right, or was used already. Enter the current 6-digit code from your authenticator app."),
        code="totp_invalid", field_errors={"code": [_("Wrong or already used code.")]})


def totp_enrolment_confirm(*, actor: User, code: str) -> TOTPDevice:
    """Confirm enrolment with a first code from the app. Wrong codes are audited and refused."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=actor).first()
        if device is None:
            raise NotFound(_("Start enrolment first."))
        if device.is_confirmed:
            raise Conflict(_("Your authenticator is already confirmed."), code="totp_already_enrolled")
        if _accept_code(device, code) is not None:
            device.confirmed_at = timezone.now()
            device.save(update_fields=["confirmed_at"])
            audit_record(actor=actor, action="auth.totp.enrolled", obj=actor)
            return device
    raise _code_refused(actor, "auth.totp.enrolment_failed")


def totp_verify(*, user: User, code: str) -> TOTPDevice:
    """Check the second factor at sign-in. A code is accepted once; failures are audited."""
    with transaction.atomic():
        device = totp_device_confirmed(user)
        if device is None:
            raise NotFound(_("You have no authenticator. Sign in again."))
        if _accept_code(device, code) is not None:
            audit_record(actor=user, action="auth.totp.verified", obj=user)
            return device
    raise _code_refused(user, "auth.totp.failed")


@transaction.atomic
def totp_reset(*, actor: User, password: str) -> None:
    """Remove one's own authenticator, after confirming the password. Required roles must enrol again."""
    if not password or not actor.check_password(password):
        raise ValidationFailed(_("The password is not right."), code="wrong_password",
                               field_errors={"password": [_("Enter your current password.")]})
    deleted, _rows = TOTPDevice.objects.filter(user=actor).delete()
    if deleted:
        audit_record(actor=actor, action="auth.totp.reset", obj=actor,
                     changes={"authenticator": {"before": "enrolled", "after": None}})


@transaction.atomic
def totp_reset_for(*, actor: User, user: User, reason: str) -> None:
    """An administrator removes a person's authenticator (lost phone). The person's sessions end too."""
    if not actor.has_right(Right.MANAGE_USERS):
        raise PermissionRefused(extra={"right": str(Right.MANAGE_USERS)})
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why, e.g. “lost phone, ticket 123”.")]})
    deleted, _rows = TOTPDevice.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=actor, action="auth.totp.reset", obj=user, reason=reason,
                     changes={"authenticator": {"before": "enrolled", "after": None}})
        sessions_end_all(actor=actor, user=user, reason="authenticator reset")
