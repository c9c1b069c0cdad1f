"""Background jobs for relay forms: load what is needed and call a service; safe to run twice."""

from __future__ import annotations

import datetime as dt

from django_tasks import task


@task()
def relay_daily_report() -> str:
    """Keep yesterday's daily check of relay forms (usage, timeliness, quality). Running it twice keeps one."""
    from django.utils import timezone

    from kamguard.relay.services import daily_report_record

    day = timezone.localdate() - dt.timedelta(days=1)
    return daily_report_record(day=day).day.isoformat()
