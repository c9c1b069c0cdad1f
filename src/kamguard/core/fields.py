"""Checks of plain input fields that every app's services share: one message for one mistake everywhere."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

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


#: The largest magnitude a number field takes unless it says otherwise: the money columns hold 14 digits before
#: the point.
NUMBER_LIMIT = Decimal("99999999999999.99")


def clean_decimal(value: Any, field: str, *, maximum: Decimal | None = NUMBER_LIMIT,
                  places: int | None = None) -> Decimal:
    """A number as typed or posted: blanks around it and thousands commas ignored ("1,200.50"), NaN, infinities and
    magnitudes beyond `maximum` (when given) refused, and at most `places` decimals when given. Range rules that belong to the
    field (not negative, a percentage, a score) stay with the caller, in that field's words. Errors carry the
    code `not_a_number`, `number_too_large` or `too_many_decimals`."""
    if isinstance(value, bool):  # True is an int to Python, not a number to a user
        raise ValidationFailed(field_errors={field: [_("Enter a number.")]}, code="not_a_number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(field_errors={field: [_("Enter a number.")]}, code="not_a_number") from None
    if not number.is_finite():
        raise ValidationFailed(field_errors={field: [_("Enter a number.")]}, code="not_a_number")
    if maximum is not None and abs(number) > maximum:
        raise ValidationFailed(field_errors={field: [_("At most %(max)s.") % {"max": maximum}]},
                               code="number_too_large")
    exponent = number.as_tuple().exponent
    if places is not None and isinstance(exponent, int) and exponent < -places:
        raise ValidationFailed(field_errors={field: [_("At most %(n)s decimal places.") % {"n": places}]},
                               code="too_many_decimals")
    return number
