"""Checks every sales service shares: who may edit an opportunity, who configures sales, clean values."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from kamguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from kamguard.core.fields import clean_decimal
from kamguard.org.domain.roles import Right
from kamguard.org.models import User
from kamguard.sales.models import Opportunity
from kamguard.sales.selectors import opportunity_visibility_q

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("99999999999999.99")


def visible_opportunity(actor: User, opportunity_id: int, *, for_update: bool = False) -> Opportunity:
    qs = Opportunity.objects.filter(opportunity_visibility_q(actor), pk=opportunity_id)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    found = qs.select_related("customer", "owner", "stage").first()
    if found is None:
        raise NotFound()
    return found


def may_edit(actor: User | None, opportunity: Opportunity) -> bool:
    return bool(actor is not None and actor.is_active and actor.has_right(Right.EDIT_BUSINESS_DATA)
                and opportunity.owner_id == actor.pk)


def require_owner(actor: User, opportunity: Opportunity) -> None:
    """Only the opportunity's owner changes it (with the right to edit business data)."""
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    if opportunity.owner_id != actor.pk:
        raise PermissionRefused(_("Only the opportunity's owner may change it."), code="not_owner",
                                extra={"right": "sales.opportunity.edit"})


def may_configure(actor: User | None) -> bool:
    return bool(actor is not None and actor.is_active and actor.has_right(Right.MANAGE_ORG))


def require_configure(actor: User | None) -> None:
    """Stages, products, the discount authority table and the settings: administrators (or the system itself,
    actor None: migrations, the demo)."""
    if actor is not None and not may_configure(actor):
        raise PermissionRefused(extra={"right": str(Right.MANAGE_ORG)})


def clean_text(value: Any, *, field: str, max_length: int, required: bool = False) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if required and not text:
        raise ValidationFailed(field_errors={field: [_("This field is required.")]}, code="required")
    if len(text) > max_length:
        raise ValidationFailed(field_errors={field: [_("At most %(n)d characters.") % {"n": max_length}]},
                               code="too_long")
    return text


def clean_amount(value: Any, *, field: str, required: bool = False, allow_none: bool = False) -> Decimal | None:
    """A money amount: a number, not negative, at most two decimals' worth (rounded)."""
    if value is None or value == "":
        if required:
            raise ValidationFailed(field_errors={field: [_("This field is required.")]}, code="required")
        return None if allow_none else Decimal(0)
    amount = clean_decimal(value, field, maximum=None)
    if amount < 0:
        raise ValidationFailed(field_errors={field: [_("Amounts cannot be negative.")]}, code="negative_amount")
    if amount > MAX_AMOUNT:
        raise ValidationFailed(field_errors={field: [_("The amount is too large.")]}, code="amount_too_large")
    return amount.quantize(Decimal("0.01"))


def clean_currency(value: Any, *, default: str = "CNY") -> str:
    text = str(value or "").strip().upper() or default
    if not CURRENCY_RE.match(text):
        raise ValidationFailed(field_errors={"currency": [_("Use a three-letter currency code such as CNY.")]},
                               code="bad_currency")
    return text


def clean_probability(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(field_errors={"probability": [_("A whole number from 0 to 100.")]},
                               code="bad_probability") from None
    if not 0 <= number <= 100:
        raise ValidationFailed(field_errors={"probability": [_("A whole number from 0 to 100.")]},
                               code="bad_probability")
    return number
