"""Simplified Chinese: Django groups nothing (no thousands separator, groups of four). Finance and sales
software here writes amounts with a comma every three digits — 1,234,567.00 元 — as the ERP, the invoices and the
bank statements our users compare them with do. Everything else comes from Django's zh_Hans formats."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
