"""Background jobs for sales: call a service; safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def forecasts_lock() -> int:
    """Daily: lock the forecasts whose month's cut-off day has passed."""
    from kamguard.sales.services.forecasts import forecasts_lock as lock

    return lock()


@task()
def forecast_accuracy() -> int:
    """Daily: actual won amount and accuracy for the forecasts of finished months."""
    from kamguard.sales.services.forecasts import forecast_accuracy_compute

    return forecast_accuracy_compute()


@task()
def pipeline_rebuild() -> int:
    """Nightly: recompute the board's pipeline cells from the opportunities (repairs any drift)."""
    from kamguard.sales.services.pipeline import pipeline_rebuild as rebuild

    return rebuild()
