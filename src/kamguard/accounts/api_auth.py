from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from kamguard.core.errors import PermissionRefused

TOKEN_PREFIX = "kg_"  # noqa: S105 - the public prefix, not a secret
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenAuth(HttpBearer):
    """Personal access tokens: `Authorization: Bearer kg_…`. Expired or revoked tokens are refused.

    A token stands in for both factors: requests it authenticates skip the second-factor check.
    A token without the "write" scope may only read (GET, HEAD, OPTIONS): anything else is a 403.
    """

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from kamguard.accounts.models import AccessToken

        if not token.startswith(TOKEN_PREFIX):
            return None
        found = AccessToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        if found is None or not found.is_usable or not found.user.is_active:
            return None
        request.user = found.user
        request.kg_token = found  # type: ignore[attr-defined]
        request.kg_token_auth = True  # type: ignore[attr-defined]
        if request.method not in SAFE_METHODS and "write" not in (found.scopes or []):
            raise PermissionRefused(
                _("This token may only read. Create a token with the “write” scope to change data."),
                code="token_read_only", extra={"right": "token.write"})
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            AccessToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return found.user
