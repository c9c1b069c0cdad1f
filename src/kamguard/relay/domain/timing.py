"""When a relay form's steps are due, and whether they were done in time: pure Python."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    receive_hours: int
    handle_hours: int
    feedback_hours: int


@dataclass(frozen=True)
class Dues:
    receive_due: dt.datetime
    handle_due: dt.datetime
    feedback_due: dt.datetime


def dues_for(relayed_at: dt.datetime, limits: Limits) -> Dues:
    """Each step's limit, counted from the relay time."""
    return Dues(receive_due=relayed_at + dt.timedelta(hours=limits.receive_hours),
                handle_due=relayed_at + dt.timedelta(hours=limits.handle_hours),
                feedback_due=relayed_at + dt.timedelta(hours=limits.feedback_hours))


@dataclass(frozen=True)
class StepTimes:
    relayed_at: dt.datetime
    received_at: dt.datetime | None
    handled_at: dt.datetime | None
    fed_back_at: dt.datetime | None
    receive_due: dt.datetime
    handle_due: dt.datetime
    feedback_due: dt.datetime


@dataclass(frozen=True)
class Verdict:
    on_time: bool  # every step so far done within its limit, and the next one not yet late
    overdue: bool  # the step now due is past its limit
    late_steps: tuple[str, ...]  # steps done after their limit


def form_on_time(times: StepTimes, now: dt.datetime) -> Verdict:
    late: list[str] = []
    overdue = False
    for name, done, due in (("received", times.received_at, times.receive_due),
                            ("handled", times.handled_at, times.handle_due),
                            ("fed_back", times.fed_back_at, times.feedback_due)):
        if done is None:
            overdue = due < now
            break
        if done > due:
            late.append(name)
    return Verdict(on_time=not late and not overdue, overdue=overdue, late_steps=tuple(late))


def mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def number_format(prefix: str, year: int, sequence: int) -> str:
    """XC-2026-000123: prefix, year, the year's sequence (six digits, more when a year needs them)."""
    return f"{prefix}-{year}-{sequence:06d}"
