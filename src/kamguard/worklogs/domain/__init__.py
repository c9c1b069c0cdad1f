"""Pure Python for daily work logs: no Django.

- `deadline_for(day, rule)` — when a day's log is due under a deadline rule;
- `log_state(...)` — "submitted" | "late" | "missing" | "not_due" for one person and day;
- `prefill(...)` — the log template's four sections written from the day's records;
- `quality_summary(...)` — average rating, on-time share and counts over a period;
- `trend_chart(...)` — the geometry of the quality trend's SVG line chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DEFAULT_DUE_TIME = dt.time(20, 0)
DEFAULT_WORKDAYS = "12345"  # ISO weekdays: Monday=1 … Sunday=7

STATE_SUBMITTED = "submitted"
STATE_LATE = "late"
STATE_MISSING = "missing"
STATE_NOT_DUE = "not_due"


@dataclass(frozen=True)
class DeadlineRule:
    """When a day's log is due: `due_time` on the same day (`day_offset` 0) or the next day (1), on `workdays`."""

    due_time: dt.time = DEFAULT_DUE_TIME
    day_offset: int = 0
    workdays: str = DEFAULT_WORKDAYS

    def is_workday(self, day: dt.date) -> bool:
        return str(day.isoweekday()) in self.workdays


def workdays_valid(value: str) -> bool:
    return bool(value) and all(c in "1234567" for c in value) and len(set(value)) == len(value)


def deadline_for(day: dt.date, rule: DeadlineRule) -> dt.datetime:
    """The naive local date-time by which `day`'s log is due."""
    return dt.datetime.combine(day + dt.timedelta(days=rule.day_offset), rule.due_time)


def log_state(*, day: dt.date, rule: DeadlineRule, now: dt.datetime, submitted_at: dt.datetime | None) -> str:
    """The state of one person's log for `day`, all times naive local.

    A submitted log is "late" when it came after the deadline. With no submission, it is "missing" once the
    deadline has passed on a workday, otherwise "not_due" (not yet due, or not a workday).
    """
    deadline = deadline_for(day, rule)
    if submitted_at is not None:
        return STATE_LATE if submitted_at > deadline else STATE_SUBMITTED
    if rule.is_workday(day) and now > deadline:
        return STATE_MISSING
    return STATE_NOT_DUE


def due_days(*, start: dt.date, end: dt.date, rule: DeadlineRule, now: dt.datetime) -> list[dt.date]:
    """The workdays in [start, end] whose deadline has passed at `now`."""
    days = []
    day = start
    while day <= end:
        if rule.is_workday(day) and deadline_for(day, rule) < now:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


# ---------------------------------------------------------------- the template, prefilled

@dataclass(frozen=True)
class DayRecord:
    """One of the day's records as the log template needs it."""

    kind: str  # visit, call, meeting, email, wechat
    kind_label: str
    status: str  # planned, checked_in, done, cancelled
    customer: str
    time: str = ""  # "HH:MM" or ""
    summary: str = ""
    outcome: str = ""
    next_step: str = ""
    accompanied_by: str = ""


@dataclass(frozen=True)
class Prefill:
    today_work: str
    visits: str
    problems: str
    tomorrow_plan: str


@dataclass(frozen=True)
class PrefillLabels:
    """Words the prefill writes, in the user's language (the caller translates)."""

    outcome: str = "Outcome"
    next_step: str = "Next step"
    accompanied: str = "accompanied by"
    planned: str = "planned, not yet done"
    planned_visit: str = "Visit"
    colon: str = ": "  # between a heading and its text ("：" in Chinese)
    separator: str = "; "  # between the parts of one line ("；")
    open_paren: str = " ("  # around a remark ("（" and "）")
    close_paren: str = ")"


def _line(record: DayRecord, labels: PrefillLabels) -> str:
    parts = [p for p in (record.time, record.kind_label, record.customer) if p]
    text = " ".join(parts)
    if record.summary:
        text += f"{labels.colon}{record.summary}"
    if record.accompanied_by:
        text += f"{labels.open_paren}{labels.accompanied} {record.accompanied_by}{labels.close_paren}"
    return text


def prefill(*, today: Iterable[DayRecord], tomorrow: Iterable[DayRecord], labels: PrefillLabels) -> Prefill:
    """The four sections from the day's records: visits in "visits", other contacts in "today's work",
    next steps as a starting point for "problems", and tomorrow's planned visits in "tomorrow's plan"."""
    work: list[str] = []
    visits: list[str] = []
    follow: list[str] = []
    for record in today:
        if record.status == "cancelled":
            continue
        line = _line(record, labels)
        if record.status == "planned":
            line += f"{labels.open_paren}{labels.planned}{labels.close_paren}"
        if record.kind == "visit":
            details = []
            if record.outcome:
                details.append(f"{labels.outcome}{labels.colon}{record.outcome}")
            if record.next_step:
                details.append(f"{labels.next_step}{labels.colon}{record.next_step}")
            visits.append(labels.separator.join([line, *details]))
        else:
            work.append(line)
        if record.next_step:
            follow.append(f"{record.customer}{labels.colon}{record.next_step}")
    plan = [f"{labels.planned_visit} {r.customer}" + (f"{labels.colon}{r.summary}" if r.summary else "")
            for r in tomorrow if r.status == "planned"]

    def numbered(lines: list[str]) -> str:
        return "\n".join(f"{i}. {text}" for i, text in enumerate(lines, 1))

    return Prefill(today_work=numbered(work), visits=numbered(visits), problems="", tomorrow_plan=numbered(plan + follow))


# ---------------------------------------------------------------- quality

@dataclass
class QualitySummary:
    due: int = 0
    submitted: int = 0  # on time
    late: int = 0
    missing: int = 0
    reviewed: int = 0
    excellent: int = 0
    ratings: list[int] = field(default_factory=list)

    @property
    def average_rating(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    @property
    def on_time_share(self) -> float | None:
        """Logs submitted on time over the logs that were due (None when none was due)."""
        return round(self.submitted / self.due, 3) if self.due else None

    def as_dict(self) -> dict[str, object]:
        return {"due": self.due, "submitted": self.submitted, "late": self.late, "missing": self.missing,
                "reviewed": self.reviewed, "excellent": self.excellent, "average_rating": self.average_rating,
                "on_time_share": self.on_time_share}


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class TrendPoint:
    label: str
    value: float | None  # average rating 1–5, None when nothing was rated
    count: int


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str
    value: float
    count: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[ChartPoint]
    path: str
    grid: list[tuple[float, int]]  # (y, rating) for the horizontal lines
    ticks: list[tuple[float, str]]  # (x, label) under the axis
    plot_left: int
    plot_right: int
    plot_bottom: float


def trend_chart(points: Sequence[TrendPoint], *, width: int = 480, height: int = 200) -> Chart:
    """A line through the rated periods (unrated periods leave a gap in the labels but no point)."""
    left, right, top, bottom = 36, width - 12, 12, height - 32
    n = len(points)
    step = (right - left) / (n - 1) if n > 1 else 0.0

    def y_of(value: float) -> float:
        return round(bottom - (value - 1) / 4 * (bottom - top), 1)

    drawn: list[ChartPoint] = []
    ticks: list[tuple[float, str]] = []
    every = max(1, (n + 5) // 6)  # about six labels: readable on a phone
    for i, p in enumerate(points):
        x = round(left + i * step, 1) if n > 1 else (left + right) / 2
        if i % every == 0 or i == n - 1:
            ticks.append((x, p.label))
        if p.value is not None:
            drawn.append(ChartPoint(x=x, y=y_of(p.value), label=p.label, value=p.value, count=p.count))
    path = " ".join(f"{'M' if i == 0 else 'L'}{pt.x} {pt.y}" for i, pt in enumerate(drawn))
    grid = [(y_of(r), r) for r in range(1, 6)]
    return Chart(width=width, height=height, points=drawn, path=path, grid=grid, ticks=ticks, plot_left=left,
                 plot_right=right, plot_bottom=bottom)
