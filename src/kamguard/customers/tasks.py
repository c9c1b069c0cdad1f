"""Background jobs for customers: load what is needed and call a service; safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def pool_reclaim() -> dict[str, int]:
    """The daily reclaim of neglected customers (with warnings first). Running it twice changes nothing more."""
    from kamguard.customers.services.ownership import pool_reclaim_run

    report = pool_reclaim_run()
    return {"warned": len(report.warned), "reclaimed": len(report.reclaimed)}


@task()
def dedupe_stop_keys_rebuild() -> int:
    """Recount the duplicate check's stop keys (keys too common to tell customers apart). Safe to run twice."""
    from kamguard.customers.services.dedupe import dedupe_stop_keys_update

    return dedupe_stop_keys_update()
