"""Read-only reports and page reads over customers. Like the selectors, each starts from the viewer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from kamguard.core.errors import PermissionRefused
from kamguard.customers.models import Customer, DisputeOutcome, DisputeStatus, TimelineEntry
from kamguard.customers.selectors import customer_is_visible, dispute_list
from kamguard.org.domain.roles import Scope
from kamguard.org.models import User

PERIODS = ("month", "quarter")


def dispute_report_allowed(viewer: User) -> bool:
    """Supervisors, administrators and auditors: anyone whose scope is a department or wider."""
    return viewer.is_authenticated and viewer.is_active and viewer.scope >= Scope.DEPARTMENT


def period_of(day: dt.date, period: str) -> str:
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


@dataclass
class DisputeReportRow:
    period: str
    side: str  # "owner" or "claimant": whose team the row counts
    team: str
    filed: int = 0
    pending: int = 0
    withdrawn: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o: 0 for o in DisputeOutcome.values})
    decide_days_total: float = 0.0
    decided: int = 0

    @property
    def average_days_to_decide(self) -> float | None:
        return round(self.decide_days_total / self.decided, 1) if self.decided else None

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "side": self.side, "team": self.team, "filed": self.filed,
                "pending": self.pending, "withdrawn": self.withdrawn, **{f"outcome_{k}": v for k, v in
                                                                          self.outcomes.items()},
                "decided": self.decided, "average_days_to_decide": self.average_days_to_decide}


def dispute_report(*, viewer: User, period: str = "month", start: dt.date | None = None,
                   end: dt.date | None = None) -> list[DisputeReportRow]:
    """Disputes by the team of the owner and by the team of the claimant, per month or quarter: how many
    were filed, how each was decided and how long deciding took — to review the allocation rules.

    Counts only disputes the viewer may see (selectors.dispute_list)."""
    if not dispute_report_allowed(viewer):
        raise PermissionRefused(extra={"right": "customers.dispute_report"})
    if period not in PERIODS:
        period = "month"
    qs = dispute_list(viewer=viewer)
    if start is not None:
        qs = qs.filter(created_at__date__gte=start)
    if end is not None:
        qs = qs.filter(created_at__date__lte=end)
    rows: dict[tuple[str, str, str], DisputeReportRow] = {}
    values = qs.order_by().values_list("created_at", "decided_at", "status", "outcome", "owner__team__name",
                                       "claimant__team__name")
    for created_at, decided_at, status, outcome, owner_team, claimant_team in values:
        label = period_of(timezone.localtime(created_at).date(), period)
        for side, team in (("owner", owner_team), ("claimant", claimant_team)):
            key = (label, side, team or "")
            row = rows.get(key)
            if row is None:
                row = rows[key] = DisputeReportRow(period=label, side=side, team=team or "")
            row.filed += 1
            if status == DisputeStatus.DECIDED and outcome in row.outcomes:
                row.outcomes[outcome] += 1
                if decided_at is not None:
                    row.decided += 1
                    row.decide_days_total += (decided_at - created_at).total_seconds() / 86400
            elif status == DisputeStatus.WITHDRAWN:
                row.withdrawn += 1
            else:
                row.pending += 1
    return sorted(rows.values(), key=lambda r: (r.period, r.side != "owner", r.team))


def merged_family_ids(customer: Customer) -> list[int]:
    """The customer and every record merged into it, directly or through earlier merges."""
    ids = [customer.pk]
    frontier = [customer.pk]
    seen = set(ids)
    while frontier:
        found = list(Customer.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        frontier = [i for i in found if i not in seen]
        seen.update(frontier)
        ids.extend(frontier)
    return ids


def customer_timeline(*, viewer: User, customer: Customer) -> QuerySet[TimelineEntry]:
    """The complete timeline, newest first; a merge survivor shows its merged records' entries too."""
    if not customer_is_visible(viewer=viewer, customer_id=customer.pk):
        from kamguard.core.errors import NotFound

        raise NotFound()
    return TimelineEntry.objects.filter(customer_id__in=merged_family_ids(customer)).select_related(
        "actor", "customer").order_by("-occurred_at", "-pk")
