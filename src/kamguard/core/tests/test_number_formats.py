"""Amounts on Chinese pages are grouped by thousands with commas (1,234,567.50), as in the ERP and on invoices;
Django's own zh_Hans formats group nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.defaultfilters import floatformat
from django.utils import translation


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_amounts_are_grouped_by_thousands_in_both_languages(language):
    with translation.override(language):
        assert floatformat(Decimal("1234567.5"), "2g") == "1,234,567.50"
        assert floatformat(12345, "0g") == "12,345"
        assert floatformat(Decimal("999.5"), "2g") == "999.50"
