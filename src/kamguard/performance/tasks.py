"""Background jobs of performance management: load ids, call a service; safe to run twice.

- `performance_period_score(period_id)`: score one period (e.g. a large department) outside the request;
- `performance_nightly()`: open the next period of every running cycle (a team's monthly assessment continues
  into the new month on the scheme's current version) and re-score the periods in progress or just ended, so
  scorecards follow the data until calibration starts.
Scheduler line (core/schedule.py): PeriodicJob("performance.nightly", "kamguard.performance.tasks:performance_nightly",
"daily", at_hour=6) — after the forecast accuracy (5) and the work-log marks (1) it reads.
"""

from __future__ import annotations

from django_tasks import task


@task()
def performance_period_score(period_id: int) -> int:
    """Score the period as the system. Returns the number of scorecards (0 when the period is missing or its
    calibration has started: nothing to do)."""
    from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
    from kamguard.core.errors import Conflict, NotFound
    from kamguard.performance.models import Scorecard
    from kamguard.performance.services import period_score

    token = set_request_meta(RequestMeta(channel="task"))
    try:
        period_score(actor=None, period_id=period_id)
    except (Conflict, NotFound):
        return 0
    finally:
        reset_request_meta(token)
    return Scorecard.objects.filter(period_id=period_id).count()


@task()
def performance_nightly() -> dict[str, int]:
    """Open the next periods of running cycles, then re-score the periods in progress."""
    from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
    from kamguard.performance.services import periods_continue, periods_refresh

    token = set_request_meta(RequestMeta(channel="task"))
    try:
        opened = periods_continue(actor=None)
        refreshed = periods_refresh(actor=None)
    finally:
        reset_request_meta(token)
    return {"opened": len(opened), "refreshed": len(refreshed)}
