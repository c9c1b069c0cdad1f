"""Months as plans use them: a plan belongs to the first day of its month."""

from __future__ import annotations

import calendar
import datetime as dt


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_parse(text: str) -> dt.date | None:
    """'2026-11' or '2026-11-05' → 2026-11-01; None when it is not a month."""
    text = (text or "").strip()
    try:
        if len(text) == 7:
            year, month = text.split("-")
            return dt.date(int(year), int(month), 1)
        return month_start(dt.date.fromisoformat(text))
    except ValueError:
        return None


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
