"""Errors are values users can act on: a stable code, a message that says what to do, and an HTTP status."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    status = 400
    default_message: Any = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, code: str | None = None, field_errors: dict[str, list[str]] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.field_errors = field_errors or {}
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422
    default_message = _("Some values are not valid. Correct the fields shown and try again.")


class NotFound(DomainError):
    """Also raised for objects outside the user's scope: 'missing' and 'forbidden' look the same."""

    code = "not_found"
    status = 404
    default_message = _("Not found, or you do not have access to it.")


class PermissionRefused(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have the right to do this. Ask an administrator if you need it.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("This conflicts with the current state. Reload and try again.")


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    default_message = _("Too many attempts. Wait a while and try again.")
