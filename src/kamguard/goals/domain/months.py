"""Months as first days, and parsing "YYYY-MM"."""

from __future__ import annotations

import datetime as dt
import re

MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-01)?\s*$")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    following = add_months(month_start(day), 1)
    return following - dt.timedelta(days=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every first day from `first`'s month to `last`'s month, inclusive."""
    out: list[dt.date] = []
    current, end = month_start(first), month_start(last)
    while current <= end:
        out.append(current)
        current = add_months(current, 1)
    return out


def parse_month(text: str) -> dt.date | None:
    """ "2026-03" or "2026-03-01" → 2026-03-01; None for anything else (a day other than the first included)."""
    found = MONTH_RE.match(text or "")
    if not found:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 2999):
        return None
    return dt.date(year, month, 1)
