"""Reads of sessions and tokens. Everyone sees their own; a person who manages users sees those in their scope."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from kamguard.accounts.models import AccessToken, UserSession
from kamguard.core.errors import NotFound, PermissionRefused
from kamguard.org.domain.roles import Right
from kamguard.org.scopes import scope_q

if TYPE_CHECKING:
    from kamguard.org.models import User


def _owners_visible(viewer: User) -> Q:
    """Rows whose owner the viewer may manage: themselves, plus their scope if they manage users."""
    if not viewer.is_authenticated or not viewer.is_active:
        return Q(pk__in=[])
    mine = Q(user_id=viewer.pk)
    if viewer.has_right(Right.MANAGE_USERS):
        return mine | Q(user__in=viewer.__class__.objects.filter(scope_q(viewer, owner_path="")))
    return mine


def _owner_filter(viewer: User, user_id: int | None) -> Q:
    if user_id is None or user_id == viewer.pk:
        return Q(user_id=viewer.pk)
    if not viewer.has_right(Right.MANAGE_USERS):
        raise PermissionRefused(extra={"right": str(Right.MANAGE_USERS)})
    return Q(user_id=user_id) & _owners_visible(viewer)


def session_active_q(now: dt.datetime | None = None) -> Q:
    """Sessions not ended, not idle too long and not older than the absolute lifetime."""
    now = now or timezone.now()
    return Q(ended_at__isnull=True,
             last_seen_at__gt=now - dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS),
             created_at__gt=now - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE))


def session_list(*, viewer: User, user_id: int | None = None) -> QuerySet[UserSession]:
    """Active sessions of the viewer (or of `user_id`, for a person who manages users), newest first."""
    return UserSession.objects.filter(_owner_filter(viewer, user_id)).filter(session_active_q()).order_by(
        "-created_at", "-pk")


def session_get_for_change(*, viewer: User, session_id: int) -> UserSession:
    found = UserSession.objects.filter(_owners_visible(viewer), pk=session_id).select_related("user").first()
    if found is None:
        raise NotFound()
    return found


def token_list(*, viewer: User, user_id: int | None = None, include_inactive: bool = True) -> QuerySet[AccessToken]:
    """Tokens of the viewer (or of `user_id`, for a person who manages users), newest first."""
    qs = AccessToken.objects.filter(_owner_filter(viewer, user_id))
    if not include_inactive:
        qs = qs.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return qs.order_by("-created_at", "-pk")


def token_get_for_change(*, viewer: User, token_id: int) -> AccessToken:
    found = AccessToken.objects.filter(_owners_visible(viewer), pk=token_id).select_related("user").first()
    if found is None:
        raise NotFound()
    return found
