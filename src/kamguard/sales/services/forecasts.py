"""Forecasts (S5): each manager gives, per month, a commit (what they promise to win) and a best case. A month's
forecast can be changed until the cut-off day of that month (settings), then it is locked; after the month the
accuracy is computed from the opportunities won in it (amount of those closed won in the month, owner credited).

- `forecast_submit(*, actor, month, commit_amount, best_case_amount, note="") -> Forecast`
- `forecasts_lock(*, today=None) -> int` (periodic: locks the forecasts whose cut-off has passed)
- `forecast_accuracy_compute(*, today=None) -> int` (periodic: fills actual and accuracy for finished months)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import AuditEntry, audit_record, audit_record_many
from kamguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import User
from kamguard.sales.domain import (
    add_months,
    cutoff_day_of,
    forecast_accuracy,
    forecast_is_open,
    month_end,
    month_start,
)
from kamguard.sales.models import Forecast
from kamguard.sales.selectors import pipeline_for_month, sales_settings, won_by_manager
from kamguard.sales.services.common import clean_amount, clean_text

MONTHS_AHEAD = 12


def _month(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return month_start(value)
    text = str(value or "").strip()
    try:
        if len(text) == 7:
            text += "-01"
        return month_start(dt.date.fromisoformat(text))
    except ValueError:
        raise ValidationFailed(field_errors={"month": [_("Use a month such as 2026-12.")]}, code="bad_month") from None


def may_forecast(actor: User) -> bool:
    return actor.is_active and actor.has_right(Right.EDIT_BUSINESS_DATA) and Role.MANAGER in actor.roles


@transaction.atomic
def forecast_submit(*, actor: User, month: Any, commit_amount: Any, best_case_amount: Any, note: str = "",
                    today: dt.date | None = None) -> Forecast:
    """Give or change the actor's own forecast for `month` until its cut-off."""
    if not may_forecast(actor):
        raise PermissionRefused(_("Only key account managers forecast their own months."), code="not_manager")
    today = today or timezone.localdate()
    first = _month(month)
    cutoff_day = sales_settings().forecast_cutoff_day
    if not forecast_is_open(month=first, today=today, cutoff_day=cutoff_day):
        raise Conflict(_("The forecast for %(month)s was locked on %(day)s.") % {
            "month": first.strftime("%Y-%m"), "day": cutoff_day_of(first, cutoff_day).isoformat()}, code="locked")
    if first > add_months(month_start(today), MONTHS_AHEAD):
        raise ValidationFailed(field_errors={"month": [_("At most twelve months ahead.")]}, code="too_far")
    commit = clean_amount(commit_amount, field="commit_amount", required=True)
    best = clean_amount(best_case_amount, field="best_case_amount", required=True)
    assert commit is not None and best is not None
    if best < commit:
        raise ValidationFailed(field_errors={"best_case_amount": [_("The best case cannot be below the commit.")]},
                               code="best_below_commit")
    text = clean_text(note, field="note", max_length=2000)
    pipeline = pipeline_for_month(manager_id=actor.pk, month=first, month_end=month_end(first))["weighted"]
    now = timezone.now()
    forecast = Forecast.objects.select_for_update().filter(manager=actor, month=first).first()
    if forecast is not None and forecast.locked_at is not None:
        raise Conflict(_("This forecast is locked."), code="locked")
    before = {} if forecast is None else {"commit_amount": str(forecast.commit_amount),
                                          "best_case_amount": str(forecast.best_case_amount), "note": forecast.note}
    if forecast is None:
        forecast = Forecast.objects.create(manager=actor, month=first, commit_amount=commit, best_case_amount=best,
                                           note=text, pipeline_amount=pipeline, submitted_at=now)
    else:
        forecast.commit_amount, forecast.best_case_amount, forecast.note = commit, best, text
        forecast.pipeline_amount, forecast.submitted_at = pipeline, now
        forecast.save()
    after = {"commit_amount": str(commit), "best_case_amount": str(best), "note": text}
    changes = {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}
    audit_record(actor=actor, action="sales.forecast.submit", obj=forecast, changes=changes)
    return forecast


@transaction.atomic
def forecasts_lock(*, today: dt.date | None = None) -> int:
    """Lock every unlocked forecast whose month's cut-off day has passed. Idempotent."""
    today = today or timezone.localdate()
    cutoff_day = sales_settings().forecast_cutoff_day
    due = [f for f in Forecast.objects.filter(locked_at__isnull=True, month__lte=month_start(today)).only(
        "pk", "month", "manager_id") if cutoff_day_of(f.month, cutoff_day) < today]
    if not due:
        return 0
    now = timezone.now()
    locked = Forecast.objects.filter(pk__in=[f.pk for f in due], locked_at__isnull=True).update(locked_at=now)
    audit_record_many(actor=None, entries=[AuditEntry(action="sales.forecast.lock", obj=f,
                                                      changes={"locked_at": {"before": None, "after": now}})
                                           for f in due])
    return locked


@transaction.atomic
def forecast_accuracy_compute(*, today: dt.date | None = None) -> int:
    """For every forecast of a finished month: actual = the amount its manager won in the month (opportunities
    closed won in it), accuracy = 100% less the relative miss. Recomputed while the month is recent (late wins
    entered within the next month still count), then left alone."""
    today = today or timezone.localdate()
    this_month = month_start(today)
    forecasts = list(Forecast.objects.filter(month__lt=this_month).filter(
        computed_at__isnull=True) | Forecast.objects.filter(month=add_months(this_month, -1)))
    if not forecasts:
        return 0
    now = timezone.now()
    entries = []
    by_month: dict[dt.date, list[Forecast]] = {}
    for forecast in forecasts:
        by_month.setdefault(forecast.month, []).append(forecast)
    for month, items in by_month.items():
        won = won_by_manager(manager_ids=[f.manager_id for f in items], start=month, end=month_end(month))
        for forecast in items:
            actual = won.get(forecast.manager_id) or Decimal(0)
            accuracy = forecast_accuracy(commit=forecast.commit_amount, actual=actual)
            if forecast.actual_amount == actual and forecast.accuracy_pct == accuracy:
                continue
            Forecast.objects.filter(pk=forecast.pk).update(actual_amount=actual, accuracy_pct=accuracy,
                                                           computed_at=now, locked_at=forecast.locked_at or now)
            entries.append(AuditEntry(action="sales.forecast.accuracy", obj=forecast, changes={
                "actual_amount": {"before": forecast.actual_amount, "after": str(actual)},
                "accuracy_pct": {"before": forecast.accuracy_pct, "after": str(accuracy)}}))
    audit_record_many(actor=None, entries=entries)
    return len(entries)
