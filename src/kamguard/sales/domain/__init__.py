"""Pure sales rules: which steps a stage move needs, quote line arithmetic, discount authority, forecast
cut-offs and accuracy. No Django import here (checked by import-linter)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")

STEP_CODES = ("visit", "approved_quote", "amount", "close_date")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- stages -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageInfo:
    code: str
    order: int
    outcome: str  # "open" | "won" | "lost"
    required_steps: tuple[str, ...] = ()


def steps_needed(stages: Sequence[StageInfo], target: StageInfo) -> tuple[str, ...]:
    """The steps an opportunity needs before entering `target`: those of `target` and of every open stage
    before it, so skipping a stage never skips its required step. Losing needs nothing."""
    if target.outcome == "lost":
        return ()
    needed: list[str] = []
    for stage in sorted(stages, key=lambda s: s.order):
        if stage.order > target.order or stage.outcome == "lost":
            continue
        if stage.outcome == "won" and stage.code != target.code:
            continue
        for step in stage.required_steps:
            if step not in needed:
                needed.append(step)
    for step in target.required_steps:
        if step not in needed:
            needed.append(step)
    return tuple(needed)


def missing_steps(needed: Iterable[str], done: set[str]) -> tuple[str, ...]:
    return tuple(step for step in needed if step not in done)


# --- quotes -----------------------------------------------------------------------------------------------


class QuoteLineError(ValueError):
    def __init__(self, column: str, code: str) -> None:
        self.column = column
        self.code = code
        super().__init__(f"{column}: {code}")


@dataclass(frozen=True)
class PricedLine:
    quantity: Decimal
    list_price: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    line_total: Decimal
    list_total: Decimal


def price_line(*, quantity: Decimal, list_price: Decimal, discount_pct: Decimal | None = None,
               unit_price: Decimal | None = None) -> PricedLine:
    """One quote line. The discount decides the unit price; without a discount, the unit price given decides the
    discount (a price above list is no discount). Raises QuoteLineError naming the bad value."""
    if quantity <= 0:
        raise QuoteLineError("quantity", "quantity_not_positive")
    if list_price < 0:
        raise QuoteLineError("list_price", "negative_amount")
    if discount_pct is not None:
        if discount_pct < 0:
            raise QuoteLineError("discount_pct", "negative_discount")
        if discount_pct > HUNDRED:
            raise QuoteLineError("discount_pct", "discount_over_100")
        discount = discount_pct.quantize(CENT, rounding=ROUND_HALF_UP)
        unit = money(list_price * (HUNDRED - discount) / HUNDRED)
    elif unit_price is not None:
        if unit_price < 0:
            raise QuoteLineError("unit_price", "negative_amount")
        unit = money(unit_price)
        if list_price > 0 and unit < list_price:
            discount = ((list_price - unit) * HUNDRED / list_price).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            discount = ZERO
    else:
        unit = money(list_price)
        discount = ZERO
    return PricedLine(quantity=quantity, list_price=money(list_price), unit_price=unit, discount_pct=discount,
                      line_total=money(unit * quantity), list_total=money(list_price * quantity))


@dataclass(frozen=True)
class QuoteTotals:
    list_total: Decimal
    total: Decimal
    max_discount_pct: Decimal
    overall_discount_pct: Decimal


def quote_totals(lines: Sequence[PricedLine]) -> QuoteTotals:
    list_total = sum((line.list_total for line in lines), ZERO)
    total = sum((line.line_total for line in lines), ZERO)
    max_discount = max((line.discount_pct for line in lines), default=ZERO)
    overall = ((list_total - total) * HUNDRED / list_total).quantize(CENT, rounding=ROUND_HALF_UP) \
        if list_total > 0 and total < list_total else ZERO
    return QuoteTotals(list_total=money(list_total), total=money(total), max_discount_pct=max_discount,
                       overall_discount_pct=overall)


# --- discount authority -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityRow:
    role: str  # "" = any role
    grade_rank: int | None  # None = any grade; else this grade and above
    max_discount_pct: Decimal


def discount_authority(rows: Iterable[AuthorityRow], *, roles: Iterable[str], grade_rank: int | None) -> Decimal:
    """The largest discount a person may give without approval: the largest row that matches their roles and
    grade (a row for a grade covers that grade and the ones above it); zero when none matches."""
    held = set(roles)
    best = ZERO
    for row in rows:
        if row.role and row.role not in held:
            continue
        if row.grade_rank is not None and (grade_rank is None or grade_rank < row.grade_rank):
            continue
        best = max(best, row.max_discount_pct)
    return best


# --- credit split -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditShare:
    user_id: int
    share_pct: Decimal
    amount: Decimal
    role: str = ""


def credit_split(*, owner_id: int, amount: Decimal, team: Sequence[tuple[int, Decimal, str]]) -> list[CreditShare]:
    """The owner keeps what the account team's collaborators (user id, share %, role) do not hold; shares over
    100% in total are scaled down so the owner never goes negative."""
    members = [(uid, share, role) for uid, share, role in team if uid != owner_id and share > 0]
    total = sum((share for _uid, share, _role in members), ZERO)
    scale = HUNDRED / total if total > HUNDRED else Decimal(1)
    result: list[CreditShare] = []
    given = ZERO
    for uid, share, role in members:
        pct = (share * scale).quantize(CENT, rounding=ROUND_HALF_UP)
        result.append(CreditShare(user_id=uid, share_pct=pct, amount=money(amount * pct / HUNDRED), role=role))
        given += pct
    owner_pct = max(ZERO, HUNDRED - given)
    owner_amount = money(amount - sum((share.amount for share in result), ZERO))
    return [CreditShare(user_id=owner_id, share_pct=owner_pct, amount=max(ZERO, owner_amount), role="owner"),
            *result]


# --- forecasts --------------------------------------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week `day` is in."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def next_month(month: dt.date) -> dt.date:
    return (month_end(month) + dt.timedelta(days=1)).replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def cutoff_day_of(month: dt.date, cutoff_day: int) -> dt.date:
    """The last day a month's forecast may be changed (it locks at the end of this day)."""
    return month.replace(day=min(max(cutoff_day, 1), calendar.monthrange(month.year, month.month)[1]))


def forecast_is_open(*, month: dt.date, today: dt.date, cutoff_day: int) -> bool:
    return today <= cutoff_day_of(month_start(month), cutoff_day)


def forecast_accuracy(*, commit: Decimal, actual: Decimal) -> Decimal:
    """100% when actual equals commit, falling by the relative miss either way, never below 0:
    accuracy = max(0, 1 - |actual - commit| / max(commit, actual)) × 100. Both zero is 100%."""
    base = max(commit, actual)
    if base <= 0:
        return HUNDRED
    miss = abs(actual - commit) / base
    return max(ZERO, (Decimal(1) - miss) * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
