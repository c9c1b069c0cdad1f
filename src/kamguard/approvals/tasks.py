"""Background jobs for approvals: load what is needed and call a service; safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def approval_reminders() -> dict[str, int]:
    """Hourly: remind approvers of steps due within a few hours and flag overdue steps (each once, by a
    conditional update), by e-mail to people who have one; the inbox shows overdue steps anyway."""
    from kamguard.approvals.services import approval_reminders_run

    report = approval_reminders_run()
    return {"reminded": len(report["reminded"]), "overdue": len(report["overdue"])}
