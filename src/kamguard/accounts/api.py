"""HTTP API for one's own access: personal access tokens and signed-in sessions.

Everyone sees and changes only their own; a person who manages users (Right.MANAGE_USERS) may also list
and revoke another person's tokens and end their sessions — never create a token for them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kamguard.accounts import selectors, services
from kamguard.accounts.models import AccessToken, UserSession
from kamguard.core.api import Page, ProblemDetail, keyset_page
from kamguard.core.errors import PermissionRefused
from kamguard.org.models import User

router = Router(tags=["access"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}
Scope = Literal["read", "write"]
ORDER = ("-created_at", "-pk")


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


class TokenOut(Schema):
    id: int
    user_id: int
    name: str
    prefix: str = Field(description="The first characters of the secret, to recognise it.")
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    is_usable: bool

    @staticmethod
    def from_model(token: AccessToken) -> TokenOut:
        return TokenOut(id=token.pk, user_id=token.user_id, name=token.name, prefix=token.prefix,
                        scopes=list(token.scopes or []), created_at=token.created_at, expires_at=token.expires_at,
                        last_used_at=token.last_used_at, revoked_at=token.revoked_at, is_usable=token.is_usable)


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="The token itself. Shown only in this response: store it now.")


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, examples=["ERP sync"])
    scopes: list[Scope] = Field(min_length=1, examples=[["read"]])
    expires_in_days: int = Field(ge=1, le=services.TOKEN_MAX_DAYS, examples=[90])


class ListParams(Schema):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)
    user_id: int | None = Field(None, description="Another person's (needs the right to manage users).")


class SessionOut(Schema):
    id: int
    user_id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    ip_address: str | None
    user_agent: str
    is_current: bool

    @staticmethod
    def from_model(tracked: UserSession, current_key: str | None) -> SessionOut:
        return SessionOut(id=tracked.pk, user_id=tracked.user_id, created_at=tracked.created_at,
                          last_seen_at=tracked.last_seen_at, ip_address=tracked.ip_address,
                          user_agent=tracked.user_agent, is_current=bool(current_key)
                          and tracked.session_key == current_key)


class SessionEndedOut(Schema):
    id: int
    ended_at: dt.datetime | None
    end_reason: str


@router.get("/tokens", response={200: Page[TokenOut], **ERRORS}, summary="My access tokens (newest first)")
def token_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    qs = selectors.token_list(viewer=_user(request), user_id=params.user_id)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=ORDER, serialize=TokenOut.from_model)


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS},
             summary="Create an access token for myself (the secret is returned once)")
def token_create(request: HttpRequest, payload: TokenIn) -> Any:
    if getattr(request, "kg_token_auth", False):
        # A token must not breed tokens that outlive it: creating one needs a signed-in person.
        raise PermissionRefused(_("Create tokens from a signed-in browser session, not with another token."),
                                code="token_cannot_create_token")
    token, secret = services.token_create(actor=_user(request), name=payload.name, scopes=list(payload.scopes),
                                          expires_in_days=payload.expires_in_days)
    return Status(201, TokenCreatedOut(**TokenOut.from_model(token).model_dump(), secret=secret))


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS}, summary="Revoke an access token")
def token_revoke(request: HttpRequest, token_id: int) -> Any:
    services.token_revoke(actor=_user(request), token_id=token_id)
    return Status(204, None)


@router.get("/sessions", response={200: Page[SessionOut], **ERRORS},
            summary="My signed-in browser sessions (newest first)")
def session_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    current = request.session.session_key if hasattr(request, "session") else None
    qs = selectors.session_list(viewer=_user(request), user_id=params.user_id)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=ORDER,
                       serialize=lambda s: SessionOut.from_model(s, current))


@router.post("/sessions/{session_id}/end", response={200: SessionEndedOut, **ERRORS},
             summary="End one session (sign that browser out)")
def session_end(request: HttpRequest, session_id: int) -> Any:
    tracked = services.session_end(actor=_user(request), session_id=session_id)
    return SessionEndedOut(id=tracked.pk, ended_at=tracked.ended_at, end_reason=tracked.end_reason)
