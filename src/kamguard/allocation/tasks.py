"""Background jobs for allocation: load what is needed and call a service; safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def fairness_check() -> int:
    """The daily fairness check: an alert per team, month and breached bound (never twice)."""
    from kamguard.allocation.services.fairness import fairness_check_run

    return len(fairness_check_run())
