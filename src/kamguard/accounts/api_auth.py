from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

TOKEN_PREFIX = "kg_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenAuth(HttpBearer):
    """Personal access tokens: `Authorization: Bearer kg_…`. Expired or revoked tokens are refused."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from kamguard.accounts.models import AccessToken

        if not token.startswith(TOKEN_PREFIX):
            return None
        found = AccessToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        if found is None or not found.is_usable or not found.user.is_active:
            return None
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            AccessToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        request.kg_token = found  # type: ignore[attr-defined]
        request.kg_token_auth = True  # type: ignore[attr-defined]
        return found.user
