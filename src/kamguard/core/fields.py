"""Checks of plain input fields that every app's services share: one message for one mistake everywhere."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kamguard.core.errors import ValidationFailed


def clean_text(value: str | None, field: str, limit: int, *, required: bool = False) -> str:
    """The text without NUL characters and surrounding blanks; a field error when it is required and empty, or
    longer than `limit` characters."""
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise ValidationFailed(field_errors={field: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationFailed(field_errors={field: [_("At most %(n)s characters.") % {"n": limit}]})
    return text
