"""Fairness monitoring (A4): what each person of a team received in a period, and alerts on breached bounds.

- `fairness_report(*, viewer, team_id, since, until) -> FairnessReport` — from the allocation log: count and
  value per person by tier and size, Gini of counts and values, max–min spread, manual override share and who
  made them, the team's bounds and which are breached. Not a write. Who: see `fairness_visible_team_ids`.
- `fairness_visible_team_ids(viewer) -> set[int] | None` — None: every team (administrators, auditors, scope
  all); a supervisor: the teams of their department and below; anyone else: their own team.
- `fairness_check_run(*, on=None) -> list[FairnessAlert]` — the periodic job: for every team with bounds, the
  current calendar month and the previous one, once the team received at least as many customers as it has
  people (fewer cannot be split evenly); one alert per team, month and breached bound (the unique
  constraint makes a second run, or a second worker, add nothing); figures of an existing alert are refreshed.
- `fairness_alert_acknowledge(*, actor, alert_id, note) -> FairnessAlert` — what was done about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.allocation.domain.fairness import FairnessBound, Figures, Received, fairness_figures
from kamguard.allocation.models import (
    AllocationDecision,
    DecisionOutcome,
    FairnessAlert,
    RuleSetVersion,
    TeamAllocationSetting,
    VersionStatus,
)
from kamguard.allocation.services.common import is_admin, may_manage_team
from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.org.domain.roles import Scope
from kamguard.org.models import Team, User

MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class PersonRow:
    person_id: int
    name: str
    count: int
    value: Decimal
    count_by_tier: dict[str, int]
    value_by_tier: dict[str, Decimal]
    count_by_size: dict[str, int]
    value_by_size: dict[str, Decimal]
    manual: int


@dataclass
class FairnessReport:
    team: Team
    since: dt.date
    until: dt.date
    people: list[PersonRow]
    figures: Figures
    bound: FairnessBound
    breached: list[str]
    manual_by: list[tuple[str, int]]  # (who, how many)
    alerts: list[FairnessAlert]


def fairness_visible_team_ids(viewer: User) -> set[int] | None:
    if not viewer.is_active:
        return set()
    if viewer.scope == Scope.ALL or is_admin(viewer):
        return None
    if viewer.scope >= Scope.DEPARTMENT and viewer.department is not None:
        return set(Team.objects.filter(department__path__startswith=viewer.department.path).values_list(
            "pk", flat=True)) | ({viewer.team_id} if viewer.team_id else set())
    return {viewer.team_id} if viewer.team_id else set()


def _bound(setting: TeamAllocationSetting | None) -> FairnessBound:
    if setting is None:
        return FairnessBound()
    return FairnessBound(
        gini_count=float(setting.max_gini_count) if setting.max_gini_count is not None else None,
        gini_value=float(setting.max_gini_value) if setting.max_gini_value is not None else None,
        spread_count=setting.max_spread_count)


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def team_figures(*, team: Team, since: dt.date, until: dt.date) -> tuple[Figures, list[int], dict[int | None, int]]:
    """Figures of what the team's people received from `since` to `until` (both days included)."""
    rows = AllocationDecision.objects.filter(
        team=team, outcome=DecisionOutcome.PERSON, person__isnull=False, decided_at__gte=_moment(since),
        decided_at__lt=_moment(until + dt.timedelta(days=1))).values_list(
        "person_id", "tier", "size", "value", "is_manual", "actor_id")
    received = [Received(person_id=p, tier=t or "", size=s or "", value=v or Decimal(0), manual=m, by=a)
                for p, t, s, v, m, a in rows]
    members = list(User.objects.filter(team=team, is_active=True).order_by("pk").values_list("pk", flat=True))
    group = list(dict.fromkeys([*members, *sorted({r.person_id for r in received})]))
    figures = fairness_figures(received, group)
    return figures, group, dict(figures.manual_by)


def _check_period(since: dt.date, until: dt.date) -> None:
    if until < since:
        raise ValidationFailed(field_errors={"until": [_("The end is before the start.")]})
    if (until - since).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(field_errors={"until": [_("A report covers at most %(n)s days.") % {
            "n": MAX_PERIOD_DAYS}]})


def fairness_report(*, viewer: User, team_id: int, since: dt.date, until: dt.date) -> FairnessReport:
    visible = fairness_visible_team_ids(viewer)
    if visible is not None and team_id not in visible:
        raise NotFound()
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound()
    _check_period(since, until)
    figures, group, manual_by = team_figures(team=team, since=since, until=until)
    names = dict(User.objects.filter(pk__in=[*group, *[k for k in manual_by if k]]).values_list("pk", "full_name"))
    people = [PersonRow(person_id=p.person_id, name=names.get(p.person_id, str(p.person_id)), count=p.count,
                        value=p.value, count_by_tier=dict(p.count_by_tier), value_by_tier=dict(p.value_by_tier),
                        count_by_size=dict(p.count_by_size), value_by_size=dict(p.value_by_size), manual=p.manual)
              for p in figures.people]
    bound = _bound(TeamAllocationSetting.objects.filter(team=team).first())
    alerts = list(FairnessAlert.objects.filter(team=team, period_start__lte=until, period_end__gte=since).order_by(
        "-period_start", "code"))
    return FairnessReport(team=team, since=since, until=until, people=people, figures=figures, bound=bound,
                          breached=figures.is_unfair(bound), alerts=alerts,
                          manual_by=[(names.get(k, _("the system")) if k else _("the system"), n)
                                     for k, n in manual_by.items()])


def _month(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following - dt.timedelta(days=1)


def _observed(figures: Figures, code: str) -> Decimal:
    if code == "gini_count":
        return Decimal(str(round(figures.gini_count, 3)))
    if code == "gini_value":
        return Decimal(str(round(figures.gini_value, 3)))
    return Decimal(figures.spread_count[2])


def _limit(bound: FairnessBound, code: str) -> Decimal:
    value: Any = getattr(bound, code)
    return Decimal(str(value))


def _figures_json(figures: Figures) -> dict[str, Any]:
    return {"people": {str(p.person_id): {"count": p.count, "value": str(p.value)} for p in figures.people},
            "gini_count": round(figures.gini_count, 4), "gini_value": round(figures.gini_value, 4),
            "spread_count": list(figures.spread_count), "total_count": figures.total_count,
            "manual_share": round(figures.manual_share, 4)}


def fairness_check_run(*, on: dt.date | None = None) -> list[FairnessAlert]:
    """Record an alert for every bound breached this month or last month. Safe to run twice."""
    today = on or timezone.localdate()
    this_month = _month(today)
    last_month = _month(this_month[0] - dt.timedelta(days=1))
    created: list[FairnessAlert] = []
    settings = TeamAllocationSetting.objects.select_related("team").filter(team__is_active=True).exclude(
        max_gini_count=None, max_gini_value=None, max_spread_count=None)
    active_versions = RuleSetVersion.objects.filter(status=VersionStatus.ACTIVE, rule_set__is_default=True)
    version = active_versions.first()
    for setting in settings:
        bound = _bound(setting)
        for start, end in (last_month, this_month):
            figures, group, _manual = team_figures(team=setting.team, since=start, until=min(end, today))
            if figures.total_count < max(len(group), 1):
                continue  # fewer customers than people cannot be split evenly: too early to judge
            for code in figures.is_unfair(bound):
                observed, limit = _observed(figures, code), _limit(bound, code)
                data = _figures_json(figures)
                try:
                    with transaction.atomic():
                        alert = FairnessAlert.objects.create(team=setting.team, period_start=start, period_end=end,
                                                             code=code, observed=observed, limit=limit, figures=data,
                                                             version=version)
                        audit_record(actor=None, action="allocation.fairness.alert", obj=alert,
                                     object_label=f"{setting.team} {start:%Y-%m}",
                                     changes={"code": {"before": None, "after": code},
                                              "observed": {"before": None, "after": str(observed)},
                                              "limit": {"before": None, "after": str(limit)}})
                    created.append(alert)
                except IntegrityError:
                    FairnessAlert.objects.filter(team=setting.team, period_start=start, period_end=end, code=code,
                                                 acknowledged_at__isnull=True).update(
                        observed=observed, limit=limit, figures=data)
    return created


@transaction.atomic
def fairness_alert_acknowledge(*, actor: User, alert_id: int, note: str) -> FairnessAlert:
    alert = FairnessAlert.objects.select_related("team", "team__department").filter(pk=alert_id).first()
    if alert is None:
        raise NotFound()
    if not may_manage_team(actor, alert.team):
        visible = fairness_visible_team_ids(actor)
        if visible is not None and alert.team_id not in visible:
            raise NotFound()
        raise PermissionRefused(_("Only the team's supervisor or an administrator can answer a fairness alert."),
                                extra={"right": "allocation.team"})
    if not (note or "").strip():
        raise ValidationFailed(field_errors={"note": [_("Say what was done about it (e.g. which rule was "
                                                        "adjusted).")]})
    updated = FairnessAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_by=actor, acknowledged_at=timezone.now(), acknowledgement=note.strip())
    if updated != 1:
        raise Conflict(_("This alert was already answered."), code="already_acknowledged")
    alert.refresh_from_db()
    audit_record(actor=actor, action="allocation.fairness.acknowledged", obj=alert, reason=note.strip(),
                 changes={"acknowledged": {"before": False, "after": True}})
    return alert
