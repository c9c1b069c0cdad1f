"""Every read of the risk engine, starting from the viewer: risk is seen by internal auditors and administrators,
never by the person it concerns; a supervisor reads a case only once an auditor shared it.

- `latest_run`, `run_list`
- `score_list(viewer, run, …)` — the ranked scores of a run
- `alert_list(viewer, …)`, `alert_get`, `alert_reviews`
- `case_list(viewer, …)`, `case_get`, `case_entries`, `penalty_list`
- `dashboard(viewer)` — the heat map by team and region, the trend, open alerts by signal
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from kamguard.core.errors import NotFound
from kamguard.org.models import Region, Team
from kamguard.risk.models import (
    Alert,
    AlertReview,
    AlertStatus,
    Case,
    CaseEntry,
    Penalty,
    RiskScore,
    ScanRun,
    ScanStatus,
)
from kamguard.risk.services.access import (
    alert_visibility_q,
    case_visibility_q,
    may_view_risk,
    score_visibility_q,
)

ALERT_SORTS = {"score": "score", "-score": "-score", "seen": "last_seen_on", "-seen": "-last_seen_on",
               "first": "first_seen_on", "-first": "-first_seen_on", "subject": "subject_type",
               "-subject": "-subject_type"}
CASE_SORTS = {"opened": "opened_at", "-opened": "-opened_at", "number": "number", "-number": "-number"}


def latest_run(*, raising: bool = True) -> ScanRun | None:
    qs = ScanRun.objects.filter(status=ScanStatus.DONE, scope={})
    if raising:
        qs = qs.filter(raises_alerts=True)
    return qs.order_by("-as_of", "-started_at", "-pk").first()


def run_list(*, viewer: Any) -> QuerySet[ScanRun]:
    if not may_view_risk(viewer):
        return ScanRun.objects.none()
    return ScanRun.objects.select_related("started_by").order_by("-started_at", "-pk")


def score_list(*, viewer: Any, run: ScanRun | None, subject_type: str = "", search: str = "") -> QuerySet[RiskScore]:
    if run is None:
        return RiskScore.objects.none()
    qs = RiskScore.objects.filter(score_visibility_q(viewer), run=run).select_related("person", "team", "region")
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    if search:
        term = search.strip()
        qs = qs.filter(Q(label__icontains=term) | Q(external_id__iexact=term))
    return qs.order_by("rank")


def alert_list(*, viewer: Any, status: str = "", subject_type: str = "", signal: str = "", team_id: int | None = None,
               region_id: int | None = None, min_score: float | None = None, search: str = "",
               sort: str = "-score") -> QuerySet[Alert]:
    qs = Alert.objects.filter(alert_visibility_q(viewer)).select_related("person", "team", "region", "case")
    if status:
        qs = qs.filter(status=status)
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    if signal:
        # The signal codes are stored in `contributions` as keys; a JSON key lookup works on both databases.
        qs = qs.filter(contributions__has_key=signal)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if region_id:
        qs = qs.filter(region_id=region_id)
    if min_score is not None:
        qs = qs.filter(score__gte=min_score)
    if search:
        term = search.strip()
        qs = qs.filter(Q(label__icontains=term) | Q(external_id__iexact=term) | Q(person__full_name__icontains=term))
    return qs.order_by(ALERT_SORTS.get(sort, "-score"), "-pk")


def alert_get(*, viewer: Any, alert_id: int) -> Alert:
    found = alert_list(viewer=viewer).filter(pk=alert_id).select_related("first_run", "last_run", "reviewed_by").first()
    if found is None:
        raise NotFound()
    return found


def alert_reviews(alert: Alert) -> QuerySet[AlertReview]:
    return alert.reviews.select_related("reviewer").order_by("-decided_at", "-pk")


def case_list(*, viewer: Any, status: str = "", outcome: str = "", search: str = "", person_id: int | None = None,
              sort: str = "-opened") -> QuerySet[Case]:
    qs = Case.objects.filter(case_visibility_q(viewer)).select_related("person", "customer", "opened_by",
                                                                       "shared_with")
    if status:
        qs = qs.filter(status=status)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if person_id:
        qs = qs.filter(person_id=person_id)
    if search:
        term = search.strip()
        qs = qs.filter(Q(number__icontains=term) | Q(title__icontains=term) | Q(person__full_name__icontains=term))
    return qs.order_by(CASE_SORTS.get(sort, "-opened_at"), "-pk")


def case_get(*, viewer: Any, case_id: int) -> Case:
    found = case_list(viewer=viewer).filter(pk=case_id).select_related("closed_by").first()
    if found is None:
        raise NotFound()
    return found


def case_entries(case: Case) -> QuerySet[CaseEntry]:
    return case.entries.select_related("author").order_by("at", "pk")


def penalty_list(*, viewer: Any, person_id: int | None = None) -> QuerySet[Penalty]:
    """The rewards-and-penalties register entries of the cases the viewer may see."""
    visible = Case.objects.filter(case_visibility_q(viewer)).values("pk") if viewer is not None else None
    qs = Penalty.objects.select_related("person", "case", "recorded_by")
    if visible is not None:
        qs = qs.filter(case__in=visible)
    if person_id:
        qs = qs.filter(person_id=person_id)
    return qs.order_by("-effective_on", "-pk")


# ---------------------------------------------------------------- the dashboard


@dataclass
class HeatCell:
    team: str
    region: str
    managers: int = 0
    flagged: int = 0
    top: float = 0.0


@dataclass
class Dashboard:
    run: ScanRun | None
    open_alerts: int = 0
    suppressed: int = 0
    open_cases: int = 0
    by_signal: list[tuple[str, int]] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], HeatCell] = field(default_factory=dict)
    trend: list[dict[str, Any]] = field(default_factory=list)
    top: list[RiskScore] = field(default_factory=list)


def dashboard(*, viewer: Any, trend_runs: int = 30) -> Dashboard:
    """What the risk dashboard shows: the latest full scan's managers in a team × region heat map (highest score
    and how many are over the threshold), the trend over the last scans, open alerts by signal."""
    if not may_view_risk(viewer):
        return Dashboard(run=None)
    run = latest_run()
    board = Dashboard(run=run)
    alerts = Alert.objects.filter(alert_visibility_q(viewer))
    counts = dict(alerts.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    board.open_alerts = counts.get(AlertStatus.OPEN, 0)
    board.suppressed = counts.get(AlertStatus.SUPPRESSED, 0)
    board.open_cases = Case.objects.filter(case_visibility_q(viewer), status="open").count()
    by_signal: dict[str, int] = defaultdict(int)
    for contributions in alerts.filter(status=AlertStatus.OPEN).values_list("contributions", flat=True)[:5000]:
        for signal in (contributions or {}):
            by_signal[signal] += 1
    board.by_signal = sorted(by_signal.items(), key=lambda item: (-item[1], item[0]))
    if run is not None:
        threshold = float((run.config.get("thresholds") or {}).get("manager", 0.5))
        managers = RiskScore.objects.filter(score_visibility_q(viewer), run=run, subject_type="manager")
        team_names = dict(Team.objects.values_list("pk", "name"))
        rows = list(managers.values_list("team_id", "region_id", "score"))
        region_names = dict(Region.objects.filter(pk__in={r for _t, r, _s in rows if r}).values_list("pk", "name"))
        for team_id, region_id, score in rows:
            team = team_names.get(team_id, "—") if team_id else "—"
            region = region_names.get(region_id, "—") if region_id else "—"
            cell = board.cells.setdefault((team, region), HeatCell(team, region))
            cell.managers += 1
            cell.flagged += int(score >= threshold)
            cell.top = max(cell.top, score)
        board.teams = sorted({c.team for c in board.cells.values()})
        board.regions = sorted({c.region for c in board.cells.values()})
        board.top = list(score_list(viewer=viewer, run=run)[:10])
    runs = list(ScanRun.objects.filter(status=ScanStatus.DONE, scope={}).order_by("-as_of", "-pk")[:trend_runs])
    runs.reverse()
    if runs:
        thresholds = {r.pk: (r.config.get("thresholds") or {}) for r in runs}
        stats: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for run_id, subject_type, score in RiskScore.objects.filter(
                score_visibility_q(viewer), run__in=runs).values_list("run_id", "subject_type", "score"):
            limit = float(thresholds[run_id].get(subject_type, 0.5))
            if score >= limit:
                stats[run_id][subject_type] += 1
        board.trend = [{"run": r.pk, "as_of": r.as_of, "customer": stats[r.pk]["customer"],
                        "manager": stats[r.pk]["manager"], "order": stats[r.pk]["order"]} for r in runs]
    return board


__all__ = ["alert_get", "alert_list", "case_get", "case_list", "dashboard", "latest_run", "score_list"]
