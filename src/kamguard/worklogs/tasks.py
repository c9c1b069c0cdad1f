"""Background jobs for work logs: safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def missing_mark() -> int:
    """Daily: logs due in the last week and not submitted are marked missing (never twice)."""
    from kamguard.worklogs.services import missing_mark as run

    return run()
