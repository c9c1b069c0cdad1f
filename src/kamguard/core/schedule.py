"""Periodic jobs. The scheduler enqueues each job once per period: a unique row per (job, period) makes
several schedulers on several machines safe — the second insert fails and that scheduler skips."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from kamguard.core.models import PeriodicRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task_path: str  # "module:attribute" of a django-tasks Task
    period: str  # "hourly" or "daily"
    at_hour: int = 0  # daily jobs: the local hour from which they may run

    def period_key(self, now: dt.datetime) -> str | None:
        """The period `now` falls in, or None when the job is not due yet in this period."""
        local = timezone.localtime(now)
        if self.period == "hourly":
            return local.strftime("%Y-%m-%dT%H")
        if self.period == "daily":
            if local.hour < self.at_hour:
                return None
            return local.strftime("%Y-%m-%d")
        raise ValueError(f"unknown period {self.period!r}")

    def load_task(self) -> Any:
        module, _, attribute = self.task_path.partition(":")
        return getattr(import_module(module), attribute)


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("sessions.clear_expired", "kamguard.core.tasks:clear_expired_sessions", "hourly"),
    PeriodicJob("audit.chain_verify", "kamguard.audit.tasks:audit_chain_verify", "daily", at_hour=2),
    PeriodicJob("customers.pool_reclaim", "kamguard.customers.tasks:pool_reclaim", "daily", at_hour=1),
    PeriodicJob("customers.dedupe_stop_keys", "kamguard.customers.tasks:dedupe_stop_keys_rebuild", "daily", at_hour=3),
    PeriodicJob("allocation.fairness_check", "kamguard.allocation.tasks:fairness_check", "daily", at_hour=4),
    PeriodicJob("risk.scan_nightly", "kamguard.risk.tasks:risk_scan_nightly", "daily", at_hour=4),
    PeriodicJob("performance.nightly", "kamguard.performance.tasks:performance_nightly", "daily", at_hour=6),
    PeriodicJob("approvals.reminders", "kamguard.approvals.tasks:approval_reminders", "hourly"),
    PeriodicJob("worklogs.missing_mark", "kamguard.worklogs.tasks:missing_mark", "daily", at_hour=1),
    PeriodicJob("sales.forecasts_lock", "kamguard.sales.tasks:forecasts_lock", "daily", at_hour=1),
    PeriodicJob("sales.pipeline_rebuild", "kamguard.sales.tasks:pipeline_rebuild", "daily", at_hour=3),
    PeriodicJob("sales.forecast_accuracy", "kamguard.sales.tasks:forecast_accuracy", "daily", at_hour=5),
    PeriodicJob("relay.daily_report", "kamguard.relay.tasks:relay_daily_report", "daily", at_hour=6),
)


def enqueue_due_jobs(*, now: dt.datetime | None = None, jobs: tuple[PeriodicJob, ...] = JOBS) -> list[str]:
    """Enqueue every job due now that no scheduler has enqueued for this period. Returns the names enqueued."""
    now = now or timezone.now()
    enqueued: list[str] = []
    for job in jobs:
        key = job.period_key(now)
        if key is None:
            continue
        try:
            task = job.load_task()
        except (ImportError, AttributeError):
            logger.exception("Periodic job %s names a task that cannot be loaded: %s", job.name, job.task_path)
            continue
        try:
            with transaction.atomic():
                run = PeriodicRun.objects.create(job=job.name, period_key=key)
                result = task.enqueue()
                run.task_result_id = str(getattr(result, "id", ""))[:64]
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another scheduler enqueued it for this period
        enqueued.append(job.name)
        logger.info("Enqueued %s for %s", job.name, key)
    return enqueued
