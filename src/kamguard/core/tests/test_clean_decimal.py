"""core.fields.clean_decimal: the one number check of the services (quotes, amounts, targets, key results, scores,
credit shares) — what it accepts, and the field error it gives for everything else."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from kamguard.core.errors import ValidationFailed
from kamguard.core.fields import NUMBER_LIMIT, clean_decimal


@pytest.mark.parametrize("raw, expected", [
    ("12", Decimal("12")), (" 12.50 ", Decimal("12.50")), ("1,200.5", Decimal("1200.5")), (7, Decimal(7)),
    (Decimal("-3.25"), Decimal("-3.25")), ("１２", Decimal("12")), (str(NUMBER_LIMIT), NUMBER_LIMIT),
])
def test_numbers_as_typed_are_read(raw, expected):
    assert clean_decimal(raw, "amount") == expected


@pytest.mark.parametrize("raw", ["", "abc", "NaN", "sNaN", "Infinity", "-inf", None, True, [], "1e", "٫"])
def test_what_is_not_a_number_is_a_field_error(raw):
    with pytest.raises(ValidationFailed) as caught:
        clean_decimal(raw, "amount")
    assert caught.value.code == "not_a_number"
    assert list(caught.value.field_errors) == ["amount"]


def test_too_large_and_too_precise_are_refused_in_the_readers_language():
    with pytest.raises(ValidationFailed) as caught:
        clean_decimal("1e15", "amount")
    assert caught.value.code == "number_too_large"
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as caught:
        clean_decimal("1.234", "amount", places=2)
    assert caught.value.code == "too_many_decimals"
    assert caught.value.field_errors == {"amount": ["最多 2 位小数。"]}
    assert clean_decimal("1e15", "amount", maximum=None) == Decimal("1e15")
    assert clean_decimal("1.20", "amount", places=2) == Decimal("1.20")
