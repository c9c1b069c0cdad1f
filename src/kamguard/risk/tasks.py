"""Background jobs of the risk engine: call a service; safe to run twice (a second scan of the same day only
refreshes the same alerts)."""

from __future__ import annotations

from django_tasks import task


@task()
def risk_scan_nightly() -> int:
    """Nightly: the full scan of today's data. Returns the run's id (0 when there is no data yet)."""
    from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
    from kamguard.core.errors import ValidationFailed
    from kamguard.risk.models import ScanKind
    from kamguard.risk.services.scan import scan_run

    token = set_request_meta(RequestMeta(channel="task"))
    try:
        return int(scan_run(actor=None, kind=ScanKind.NIGHTLY).run.pk or 0)
    except ValidationFailed:  # no data yet: nothing to scan, nothing lost
        return 0
    finally:
        reset_request_meta(token)


@task()
def risk_scan_after_import(customer_ids: list[int] | None = None, since: str | None = None) -> int:
    """After an import of orders, payments, activities or opportunities: refresh the scores and alerts of the
    customers it touched (and their managers) — given by id, or as those written since `since` (ISO time, taken
    just before the import). Returns the run's id (0 when there is nothing to scan)."""
    import datetime as dt

    from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
    from kamguard.core.errors import ValidationFailed
    from kamguard.risk.models import ScanKind
    from kamguard.risk.services.scan import customers_touched_since, scan_run

    if customer_ids is None and since:
        customer_ids = customers_touched_since(dt.datetime.fromisoformat(since))
    if not customer_ids:
        return 0
    token = set_request_meta(RequestMeta(channel="task"))
    try:
        return int(scan_run(actor=None, kind=ScanKind.IMPORT, customer_ids=customer_ids).run.pk or 0)
    except ValidationFailed:
        return 0
    finally:
        reset_request_meta(token)
