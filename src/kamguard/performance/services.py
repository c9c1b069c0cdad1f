"""Every write of performance management: one function per use case, keyword-only, `actor` first,
transactional, audited in the same transaction. Errors: ValidationFailed (field errors in the user's language),
PermissionRefused, NotFound (also for what the actor may not see), Conflict (wrong step, or signed off).

Who may do what (the rules `may_*` below answer the same questions for the pages):
- schemes: HR and administrators create schemes and versions and activate a version (`may_manage_schemes`);
- a supervisor (the supervisor role, with the person in their department scope, never themselves — `may_supervise`)
  creates periods for teams/departments in their scope (`may_run_period`), scores them (re-scoring allowed until
  calibration starts), gives manual dimension scores, calibrates first, hands over to the director, holds the
  feedback meetings, signs off;
- the director (`is_director`): a supervisor-role person whose department is a strict ancestor of the period's
  department (the head of the sales organisation above the team's department). The director calibrates second,
  releases the period for feedback and resolves appeals. Where no active director exists above a department,
  the supervisor who may run the period does these steps instead (recorded with role "supervisor");
- the person sees their scorecard once released, acknowledges it or appeals (text required), and may start an
  improvement plan and record its follow-ups; their supervisor may too;
- nobody scores, calibrates or resolves their own scorecard. Sign-off freezes the period's scorecards: every later
  write to them is a Conflict (improvement plans and their follow-ups carry on: they are the next cycle's work).

Functions (what they return):
  presets_install(actor=None) -> int (schemes created; idempotent)
  scheme_create(actor, spec: Mapping, note="") -> Scheme (with version 1, current)
  scheme_version_create(actor, scheme_id, spec: Mapping, note="", activate=False) -> SchemeVersion
  scheme_version_activate(actor, version_id) -> Scheme
  period_bounds(period_type, day) -> (start, end)
  period_create(actor, scheme_id, day, team_id=None, department_id=None) -> Period
  period_members(period) -> list[User]
  period_score(actor, period_id) -> Period                    (actor None = the system, e.g. tasks)
  scorecard_manual_score(actor, scorecard_id, dimension, score: Decimal) -> Scorecard
  calibration_record(actor, scorecard_id, after: Decimal, reason, dimension="") -> Calibration
  period_calibration_submit(actor, period_id) -> Period       (supervisor → director)
  period_release(actor, period_id) -> Period                  (→ feedback; scorecards released)
  feedback_record(actor, scorecard_id, notes, held_at=None) -> FeedbackMeeting
  scorecard_acknowledge(actor, scorecard_id, comment="") -> Acknowledgement
  appeal_file(actor, scorecard_id, text) -> Appeal
  appeal_resolve(actor, appeal_id, decision: "upheld"|"changed", reason, total: Decimal|None=None) -> Appeal
  period_sign_off(actor, period_id) -> Period
  improvement_plan_start(actor, scorecard_id, goals, start, end) -> ImprovementPlan
  follow_up_add(actor, plan_id, notes, progress: int, on=None) -> FollowUp
  improvement_plan_close(actor, plan_id, outcome="") -> ImprovementPlan
  periods_continue(actor=None, today=None) -> list[Period]   (the nightly job: next period of running cycles)
  periods_refresh(actor=None, today=None) -> list[int]        (the nightly job: re-score periods in progress)
  payroll_export(actor, period_id, fmt: "csv"|"xlsx") -> (bytes, filename, rows)  (audited; needs can_export)
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.fields import clean_decimal, clean_text
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import Department, Team, User
from kamguard.org.scopes import person_in_scope
from kamguard.performance import domain as scoring
from kamguard.performance.domain.scoring import q2
from kamguard.performance.models import (
    Acknowledgement,
    Appeal,
    AppealStatus,
    Calibration,
    CalibrationRole,
    CalibrationStage,
    FeedbackMeeting,
    FollowUp,
    ImprovementPlan,
    Period,
    PeriodStatus,
    PlanStatus,
    Scheme,
    SchemeVersion,
    Scorecard,
    ScorecardStatus,
)

logger = logging.getLogger(__name__)
TEXT_LIMIT = 10_000
MEMBER_ROLES = (Role.MANAGER, Role.SPECIALIST)
HUNDRED = Decimal(100)


# ---------------------------------------------------------------- helpers


def _clean(value: str | None, field: str, *, required: bool = False, limit: int = TEXT_LIMIT) -> str:
    return clean_text(value, field, limit, required=required)


def _decimal(value: Any, field: str) -> Decimal:
    return clean_decimal(value, field)


def _score_in_range(value: Any, field: str) -> Decimal:
    number = _decimal(value, field)
    if not (Decimal(0) <= number <= HUNDRED):
        raise ValidationFailed(field_errors={field: [_("A score lies between 0 and 100.")]})
    return number.quantize(Decimal("0.01"))


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _q2(value: Decimal | None) -> Decimal | None:
    return None if value is None else q2(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dimension_dict(result: Any, calibrated: Any = None) -> dict[str, Any]:
    """A DimensionResult as stored in `Scorecard.dimensions` (Decimals as strings, None = no data)."""
    return {"code": result.code, "value": _text(result.value), "score": _text(result.score),
            "band_index": result.band_index, "missing": list(result.missing), "weight": _text(result.weight),
            "effective_weight": _text(result.effective_weight), "points": _text(result.points),
            "division_by_zero": bool(result.division_by_zero), "calibrated_score": calibrated}


def _snapshot_dict(values: Mapping[str, Any], start: dt.date, end: dt.date, now: dt.datetime) -> dict[str, Any]:
    """What was computed, kept as it was: {"metrics": {code: {"value": str|None, "inputs": {...}}}, ...}."""
    return {"start": start.isoformat(), "end": end.isoformat(), "computed_at": now.isoformat(),
            "metrics": {code: {"value": _text(v.value), "inputs": dict(v.inputs)} for code, v in sorted(values.items())}}


def _manual_message(message: str, zh: bool) -> str:
    return scoring.MANUAL_SCORE_MESSAGES_ZH.get(message, message) if zh else message


def _lock_period(period_id: int) -> Period:
    found = Period.objects.select_for_update(of=("self",)).filter(pk=period_id).select_related(
        "department", "team", "version", "scheme").first()
    if found is None:
        raise NotFound()
    return found


def _scorecard(scorecard_id: int, actor: User | None) -> tuple[Scorecard, Period]:
    """The scorecard with its period locked (every write to a scorecard serialises on its period). NotFound also
    when the actor may not see it (as for an unknown id: a refusal would confirm that the id exists)."""
    from kamguard.performance import selectors

    cards = Scorecard.objects.all() if actor is None else selectors.scorecard_list(viewer=actor)
    period_id = cards.filter(pk=scorecard_id).values_list("period_id", flat=True).first()
    if period_id is None:
        raise NotFound()
    period = _lock_period(period_id)
    card = Scorecard.objects.select_related("user", "user__department").get(pk=scorecard_id)
    return card, period


def _not_frozen(period: Period) -> None:
    if period.status == PeriodStatus.SIGNED_OFF:
        raise Conflict(_("This period is signed off: its results are frozen."), code="period_signed_off")


def _require_edit(actor: User | None) -> None:
    if actor is not None and not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


# ---------------------------------------------------------------- who may do what


def may_manage_schemes(actor: User) -> bool:
    return bool(actor.is_authenticated and actor.is_active and (actor.has_role(Role.HR) or actor.has_role(Role.ADMIN)))


def may_supervise(actor: User | None, person: User) -> bool:
    """A supervisor-role person with the edit right whose scope covers the person; never the person themselves."""
    if actor is None or not actor.is_authenticated or actor.pk == person.pk:
        return False
    return (actor.has_role(Role.SUPERVISOR) and actor.has_right(Right.EDIT_BUSINESS_DATA)
            and person_in_scope(actor, person))


def _department_covered(actor: User, department: Department) -> bool:
    own = actor.department
    return own is not None and department.path.startswith(own.path)


def may_run_period(actor: User | None, period_department: Department) -> bool:
    """A supervisor whose department scope covers the period's department."""
    if actor is None or not actor.is_authenticated:
        return False
    return (actor.has_role(Role.SUPERVISOR) and actor.has_right(Right.EDIT_BUSINESS_DATA)
            and _department_covered(actor, period_department))


def is_director(actor: User | None, department: Department) -> bool:
    """A supervisor-role person whose own department is a strict ancestor of `department`."""
    if actor is None or not actor.is_authenticated or not actor.has_role(Role.SUPERVISOR):
        return False
    own = actor.department
    return (actor.has_right(Right.EDIT_BUSINESS_DATA) and own is not None and own.pk != department.pk
            and department.path.startswith(own.path))


def directors_exist(department: Department) -> bool:
    ancestors = [int(p) for p in department.path.strip("/").split("/") if p.isdigit() and int(p) != department.pk]
    if not ancestors:
        return False
    return User.objects.filter(
        Q(is_active=True, department_id__in=ancestors, role_assignments__role=Role.SUPERVISOR)
        & (Q(role_assignments__valid_until__isnull=True) | Q(role_assignments__valid_until__gt=timezone.now()))
    ).exists()


def may_act_as_director(actor: User | None, period: Period) -> bool:
    if is_director(actor, period.department):
        return True
    return may_run_period(actor, period.department) and not directors_exist(period.department)


def _require_runner(actor: User | None, period: Period) -> None:
    if actor is None:
        return
    _require_edit(actor)
    if not may_run_period(actor, period.department):
        raise PermissionRefused(_("Only a supervisor over this team may run its assessment."),
                                extra={"right": "performance.run"})


def _require_supervisor_of(actor: User | None, card: Scorecard, what: str) -> None:
    if actor is not None and actor.pk == card.user_id:
        raise PermissionRefused(_("Nobody scores, calibrates or judges their own scorecard."), code="own_scorecard",
                                extra={"right": what})
    if actor is not None and not may_supervise(actor, card.user):
        raise PermissionRefused(_("Only a supervisor of this person may do this."), extra={"right": what})


# ---------------------------------------------------------------- schemes


def _spec_parse(spec: Mapping[str, Any]) -> Any:
    try:
        parsed = scoring.spec_from_dict(dict(spec))
    except scoring.SpecFormatError as exc:
        errors = exc.errors
    else:
        errors = scoring.scheme_errors(parsed, frozenset(scoring.METRICS))
    if errors:
        fields: dict[str, list[str]] = {}
        for error in errors:
            fields.setdefault(error.field or "spec", []).append(error.message_zh if _zh() else error.message_en)
        raise ValidationFailed(field_errors=fields)
    return parsed


def scheme_create(*, actor: User | None, spec: Mapping[str, Any], note: str = "", preset: bool = False) -> Scheme:
    if actor is not None and not may_manage_schemes(actor):
        raise PermissionRefused(extra={"right": "performance.schemes"})
    parsed = _spec_parse(spec)
    note = _clean(note, "note", limit=500)
    try:
        with transaction.atomic():
            scheme = Scheme.objects.create(code=parsed.code, name_en=parsed.name_en, name_zh=parsed.name_zh,
                                           period_type=parsed.period_type, is_preset=preset)
            version = SchemeVersion.objects.create(scheme=scheme, number=1, spec=scoring.spec_to_dict(parsed),
                                                   note=note, created_by=actor)
            scheme.current_version = version
            scheme.save(update_fields=["current_version"])
            audit_record(actor=actor, action="performance.scheme.create", obj=scheme,
                         changes={"version": {"before": None, "after": 1}, "code": {"before": None,
                                                                                     "after": parsed.code}})
    except IntegrityError as exc:
        raise Conflict(_("A scheme with this code exists: add a version to it instead."), code="scheme_exists",
                       field_errors={"code": [_("This code is taken.")]}) from exc
    return scheme


def presets_install(*, actor: User | None = None) -> int:
    """The source's presets as schemes with version 1; schemes whose code exists are left alone."""
    created = 0
    for spec in scoring.PRESETS:
        if Scheme.objects.filter(code=spec.code).exists():
            continue
        scheme_create(actor=actor, spec=scoring.spec_to_dict(spec), note="preset", preset=True)
        created += 1
    return created


@transaction.atomic
def scheme_version_create(*, actor: User | None, scheme_id: int, spec: Mapping[str, Any], note: str = "",
                          activate: bool = False) -> SchemeVersion:
    """A new numbered version of the scheme; running periods keep theirs. The spec's code must be the scheme's."""
    if actor is not None and not may_manage_schemes(actor):
        raise PermissionRefused(extra={"right": "performance.schemes"})
    scheme = Scheme.objects.select_for_update().filter(pk=scheme_id).first()
    if scheme is None:
        raise NotFound()
    parsed = _spec_parse(spec)
    if parsed.code != scheme.code:
        raise ValidationFailed(field_errors={"code": [_("A version keeps its scheme's code (%(code)s).") % {
            "code": scheme.code}]})
    note = _clean(note, "note", limit=500)
    number = (scheme.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = SchemeVersion.objects.create(scheme=scheme, number=number, spec=scoring.spec_to_dict(parsed), note=note,
                                           created_by=actor)
    audit_record(actor=actor, action="performance.scheme.version", obj=scheme,
                 changes={"version": {"before": number - 1, "after": number}}, reason=note)
    if activate:
        _activate(actor, scheme, version)
    return version


def _activate(actor: User | None, scheme: Scheme, version: SchemeVersion) -> None:
    before = scheme.current_version.number if scheme.current_version else None
    parsed = version.spec_obj()
    scheme.current_version = version
    scheme.name_en, scheme.name_zh, scheme.period_type = parsed.name_en, parsed.name_zh, parsed.period_type
    scheme.save(update_fields=["current_version", "name_en", "name_zh", "period_type"])
    audit_record(actor=actor, action="performance.scheme.activate", obj=scheme,
                 changes={"current_version": {"before": before, "after": version.number}})


@transaction.atomic
def scheme_version_activate(*, actor: User | None, version_id: int) -> Scheme:
    if actor is not None and not may_manage_schemes(actor):
        raise PermissionRefused(extra={"right": "performance.schemes"})
    version = SchemeVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    scheme = Scheme.objects.select_for_update(of=("self",)).select_related("current_version").get(
        pk=version.scheme_id)
    if scheme.current_version_id == version.pk:
        return scheme
    _activate(actor, scheme, version)
    return scheme


# ---------------------------------------------------------------- periods


def period_bounds(period_type: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The month, quarter, half-year or year containing `day`."""
    first_month = {"month": day.month, "quarter": (day.month - 1) // 3 * 3 + 1,
                   "half_year": 1 if day.month <= 6 else 7, "year": 1}.get(period_type)
    if first_month is None:
        raise ValidationFailed(field_errors={"period_type": [_("Unknown period type.")]})
    months = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[period_type]
    last_month = first_month + months - 1
    start = dt.date(day.year, first_month, 1)
    end = dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    return start, end


def period_create(*, actor: User | None, scheme_id: int, day: dt.date, team_id: int | None = None,
                  department_id: int | None = None) -> Period:
    """Open the scheme's period containing `day` for a team (or a whole department), on the scheme's current
    version. The period may run now (in progress) or lie in the past; not in the future."""
    _require_edit(actor)
    scheme = Scheme.objects.select_related("current_version").filter(pk=scheme_id, is_active=True).first()
    if scheme is None or scheme.current_version is None:
        raise ValidationFailed(field_errors={"scheme": [_("No such active scheme.")]})
    team = None
    if team_id is not None:
        team = Team.objects.select_related("department").filter(pk=team_id, is_active=True).first()
        if team is None:
            raise ValidationFailed(field_errors={"team": [_("No such team.")]})
        department = team.department
    elif department_id is not None:
        found = Department.objects.filter(pk=department_id, is_active=True).first()
        if found is None:
            raise ValidationFailed(field_errors={"department": [_("No such department.")]})
        department = found
    else:
        raise ValidationFailed(field_errors={"team": [_("Choose a team or a department.")]})
    if actor is not None and not may_run_period(actor, department):
        raise PermissionRefused(_("Only a supervisor over this team may run its assessment."),
                                extra={"right": "performance.run"})
    start, end = period_bounds(scheme.current_version.spec_obj().period_type, day)
    if start > timezone.localdate():
        raise ValidationFailed(field_errors={"day": [_("This period has not started yet.")]})
    if actor is not None and _members_qs(team.pk if team else None, department, start, end).filter(
            pk=actor.pk).exists():
        raise _member_refusal("performance.run")
    try:
        with transaction.atomic():
            period = Period.objects.create(scheme=scheme, version=scheme.current_version, department=department,
                                           team=team, start=start, end=end, created_by=actor)
            audit_record(actor=actor, action="performance.period.create", obj=period,
                         changes={"version": {"before": None, "after": scheme.current_version.number},
                                  "team": {"before": None, "after": team.pk if team else None},
                                  "department": {"before": None, "after": department.pk},
                                  "start": {"before": None, "after": start.isoformat()},
                                  "end": {"before": None, "after": end.isoformat()}})
    except IntegrityError as exc:
        raise Conflict(_("This team already has this period (%(start)s to %(end)s).") % {
            "start": start.isoformat(), "end": end.isoformat()}, code="period_exists",
            field_errors={"day": [_("This period exists already.")]}) from exc
    return period


def _members_qs(team_id: int | None, department: Department, start: dt.date, end: dt.date) -> Any:
    qs = User.objects.filter(
        Q(role_assignments__role__in=[str(r) for r in MEMBER_ROLES])
        & (Q(role_assignments__valid_until__isnull=True) | Q(role_assignments__valid_until__gt=timezone.now())))
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    else:
        qs = qs.filter(department__path__startswith=department.path)
    return qs.filter(Q(left_on__isnull=True) | Q(left_on__gte=start)).filter(
        Q(hired_on__isnull=True) | Q(hired_on__lte=end))


def period_members(period: Period) -> list[User]:
    """The managers and specialists of the team (or the department and below) who worked during the period."""
    return list(_members_qs(period.team_id, period.department, period.start, period.end).distinct().order_by("pk"))


def is_period_member(actor: User | None, period: Period) -> bool:
    """Whether the actor is assessed in the period (a member now, or holding a scorecard in it)."""
    if actor is None or not actor.is_authenticated:
        return False
    return (Scorecard.objects.filter(period_id=period.pk, user_id=actor.pk).exists()
            or _members_qs(period.team_id, period.department, period.start, period.end).filter(pk=actor.pk).exists())


def _require_not_member(actor: User | None, period: Period, what: str) -> None:
    """Nobody runs, scores, calibrates, releases or signs off a period in which they are assessed themselves."""
    if is_period_member(actor, period):
        raise _member_refusal(what)


def _member_refusal(what: str) -> PermissionRefused:
    return PermissionRefused(
        _("You are assessed in this period yourself: its scoring, calibration, release and sign-off are for "
          "a supervisor who is not."), code="period_member", extra={"right": what})


def _results_store(card: Scorecard, spec: Any, result: Any) -> None:
    """Copy a ScorecardResult onto the card (calibrated dimension scores are kept and count in the total)."""
    previous = {d["code"]: d.get("calibrated_score") for d in card.dimensions or []}
    card.dimensions = [_dimension_dict(d, previous.get(d.code)) for d in result.dimensions]
    card.computed_total = _q2(result.total)
    card.complete = result.complete
    _final_fields(card, spec)


def _final_fields(card: Scorecard, spec: Any) -> None:
    total = card.final_total
    card.grade = (scoring.grade_for(spec, total) or "") if total is not None else ""
    flagged = card.complete and total is not None
    card.coaching = bool(flagged and total is not None and total < spec.coaching_below)
    card.incentive = bool(flagged and total is not None and total >= spec.incentive_from)


def _rerank(period: Period) -> None:
    cards = list(Scorecard.objects.filter(period=period).only("pk", "computed_total", "calibrated_total", "rank"))
    ranks = scoring.rank({c.pk: c.final_total for c in cards})
    changed = []
    for card in cards:
        new = ranks.get(card.pk)
        if card.rank != new:
            card.rank = new
            changed.append(card)
    if changed:
        Scorecard.objects.bulk_update(changed, ["rank"])


def _manual_decimals(card: Scorecard) -> dict[str, Decimal]:
    return {code: Decimal(str(value)) for code, value in (card.manual_scores or {}).items()}


def _snapshot_metrics(card: Scorecard) -> dict[str, Decimal | None]:
    metrics = (card.snapshot or {}).get("metrics", {})
    return {code: (None if m.get("value") is None else Decimal(str(m["value"]))) for code, m in metrics.items()}


def _metrics(user_ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Any]]:
    """The metrics of the people over [start, end] (performance.metrics; tests may stand in for it)."""
    from kamguard.performance.metrics import metrics_compute

    return metrics_compute(user_ids=user_ids, start=start, end=end)


@transaction.atomic
def period_score(*, actor: User | None, period_id: int) -> Period:
    """Compute every member's metrics over the period and score them on the period's scheme version. Re-scoring
    refreshes the snapshot and keeps manual scores; allowed until calibration starts (safe to run twice)."""
    period = _lock_period(period_id)
    _require_runner(actor, period)
    _require_not_member(actor, period, "performance.run")
    if period.status not in (PeriodStatus.OPEN, PeriodStatus.SCORED):
        raise Conflict(_("Calibration has started: the period can no longer be re-scored."), code="period_calibrating")
    spec = period.version.spec_obj()
    members = period_members(period)
    ids = [m.pk for m in members]
    values = _metrics(ids, period.start, period.end) if ids else {}
    existing = {c.user_id: c for c in Scorecard.objects.filter(period=period)}
    now = timezone.now()
    to_create: list[Scorecard] = []
    to_update: list[Scorecard] = []
    totals: dict[str, Any] = {}
    for user_id in ids:
        metric_values = values.get(user_id, {})
        card = existing.pop(user_id, None) or Scorecard(period=period, user_id=user_id)
        card.snapshot = _snapshot_dict(metric_values, period.start, period.end, now)
        result = scoring.scorecard_compute(spec, {k: v.value for k, v in metric_values.items()},
                                           _manual_decimals(card))
        _results_store(card, spec, result)
        card.scored_at = now
        (to_update if card.pk else to_create).append(card)
        totals[str(user_id)] = None if card.computed_total is None else str(card.computed_total)
    Scorecard.objects.bulk_create(to_create)
    Scorecard.objects.bulk_update(to_update, ["snapshot", "dimensions", "computed_total", "complete", "grade",
                                              "coaching", "incentive", "scored_at"])
    gone = [c.pk for c in existing.values()]
    if gone:
        Scorecard.objects.filter(pk__in=gone).delete()
    _rerank(period)
    before = period.status
    period.status = PeriodStatus.SCORED
    period.scored_at = now
    period.save(update_fields=["status", "scored_at"])
    audit_record(actor=actor, action="performance.period.score", obj=period,
                 changes={"status": {"before": before, "after": period.status},
                          "totals": {"before": None, "after": totals}, "removed": {"before": gone, "after": None}})
    return period


def _card_results_refresh(card: Scorecard, spec: Any) -> None:
    result = scoring.scorecard_compute(spec, _snapshot_metrics(card), _manual_decimals(card))
    _results_store(card, spec, result)


@transaction.atomic
def scorecard_manual_score(*, actor: User | None, scorecard_id: int, dimension: str, score: Any) -> Scorecard:
    """The supervisor's score of a manual dimension (0..100, the rubric's range), before calibration starts."""
    _require_edit(actor)
    card, period = _scorecard(scorecard_id, actor)
    _not_frozen(period)
    _require_supervisor_of(actor, card, "performance.score")
    _require_not_member(actor, period, "performance.score")
    if period.status not in (PeriodStatus.OPEN, PeriodStatus.SCORED):
        raise Conflict(_("Calibration has started: change scores through a calibration with a reason."),
                       code="period_calibrating")
    spec = period.version.spec_obj()
    dim = next((d for d in spec.dimensions if d.code == dimension), None)
    if dim is None or dim.kind != "manual":
        raise ValidationFailed(field_errors={"dimension": [_("No manual dimension with this code in the scheme.")]})
    number = _decimal(score, "score")
    problems = scoring.manual_score_errors(dim, number)
    if problems:
        raise ValidationFailed(field_errors={"score": [_manual_message(p, _zh()) for p in problems]})
    before = (card.manual_scores or {}).get(dimension)
    card.manual_scores = {**(card.manual_scores or {}), dimension: str(number)}
    total_before = card.computed_total
    _card_results_refresh(card, spec)
    card.save(update_fields=["manual_scores", "dimensions", "computed_total", "complete", "grade", "coaching",
                             "incentive", "updated_at"])
    _rerank(period)
    audit_record(actor=actor, action="performance.scorecard.manual_score", obj=card,
                 changes={f"manual.{dimension}": {"before": before, "after": str(number)},
                          "computed_total": {"before": total_before, "after": card.computed_total}})
    return card


# ---------------------------------------------------------------- calibration


def _recalibrated_total(card: Scorecard, spec: Any) -> Decimal | None:
    weights = {d.code: d.weight for d in spec.dimensions}
    numerator, denominator = Decimal(0), Decimal(0)
    for row in card.dimensions:
        score = row.get("calibrated_score") if row.get("calibrated_score") is not None else row.get("score")
        if score is None:
            continue
        weight = weights.get(row["code"], Decimal(0))
        numerator += weight * Decimal(str(score))
        denominator += weight
    if not denominator:
        return None
    return _q2(numerator / denominator)


@transaction.atomic
def calibration_record(*, actor: User, scorecard_id: int, after: Any, reason: str, dimension: str = ""
                       ) -> Calibration:
    """Change the total (dimension "") or one dimension's score, with a reason. The supervisor calibrates first
    (the period moves to calibrating); after `period_calibration_submit` only the director does. Re-ranks.
    A dimension's calibration recomputes the calibrated total from the dimensions (their calibrated scores where
    given), replacing an earlier direct change of the total; the history keeps both."""
    _require_edit(actor)
    card, period = _scorecard(scorecard_id, actor)
    _not_frozen(period)
    _require_supervisor_of(actor, card, "performance.calibrate")
    _require_not_member(actor, period, "performance.calibrate")
    reason = _clean(reason, "reason", required=True)
    value = _score_in_range(after, "after")
    if period.status not in (PeriodStatus.SCORED, PeriodStatus.CALIBRATING):
        raise Conflict(_("Only a scored period that is not yet released can be calibrated."),
                       code="period_not_calibrating")
    if period.calibration_stage == CalibrationStage.DIRECTOR:
        if not may_act_as_director(actor, period):
            raise Conflict(_("The supervisor's calibration is finished: the director calibrates now."),
                           code="director_stage")
        role = CalibrationRole.DIRECTOR if is_director(actor, period.department) else CalibrationRole.SUPERVISOR
    else:
        if is_director(actor, period.department):
            raise Conflict(_("The supervisor calibrates first; the director calibrates after the hand-over."),
                           code="supervisor_stage")
        role = CalibrationRole.SUPERVISOR
    spec = period.version.spec_obj()
    total_before, grade_before = card.final_total, card.grade
    if dimension:
        row = next((d for d in card.dimensions if d["code"] == dimension), None)
        if row is None:
            raise ValidationFailed(field_errors={"dimension": [_("No dimension with this code in the scheme.")]})
        before = row.get("calibrated_score") if row.get("calibrated_score") is not None else row.get("score")
        row["calibrated_score"] = str(value)
        card.calibrated_total = _recalibrated_total(card, spec)
    else:
        before = total_before
        card.calibrated_total = value
    before_decimal = None if before is None else Decimal(str(before))
    if before_decimal is not None and before_decimal == value:
        raise ValidationFailed(field_errors={"after": [_("The new value is the same as the current one.")]})
    _final_fields(card, spec)
    card.save(update_fields=["dimensions", "calibrated_total", "grade", "coaching", "incentive", "updated_at"])
    entry = Calibration.objects.create(
        scorecard=card, dimension=dimension, before=before_decimal, after=value, total_before=total_before,
        total_after=card.final_total, grade_before=grade_before, grade_after=card.grade, reason=reason, role=role,
        by=actor)
    if period.status != PeriodStatus.CALIBRATING or not period.calibration_stage:
        period.status = PeriodStatus.CALIBRATING
        period.calibration_stage = period.calibration_stage or CalibrationStage.SUPERVISOR
        period.save(update_fields=["status", "calibration_stage"])
    _rerank(period)
    audit_record(actor=actor, action="performance.scorecard.calibrate", obj=card, reason=reason,
                 changes={dimension or "total": {"before": before_decimal, "after": value},
                          "final_total": {"before": total_before, "after": card.final_total},
                          "grade": {"before": grade_before, "after": card.grade}, "role": {"before": None,
                                                                                            "after": role}})
    return entry


@transaction.atomic
def period_calibration_submit(*, actor: User, period_id: int) -> Period:
    """The supervisor's calibration is finished (with or without changes): hand the period to the director."""
    period = _lock_period(period_id)
    _require_runner(actor, period)
    _require_not_member(actor, period, "performance.calibrate")
    _not_frozen(period)
    if period.status not in (PeriodStatus.SCORED, PeriodStatus.CALIBRATING) or \
            period.calibration_stage == CalibrationStage.DIRECTOR:
        raise Conflict(_("Only a scored period in the supervisor's calibration can be handed over."),
                       code="not_supervisor_stage")
    if is_director(actor, period.department):
        raise Conflict(_("The supervisor hands the calibration over, not the director."), code="supervisor_stage")
    if not Scorecard.objects.filter(period=period).exists():
        raise Conflict(_("Score the period first."), code="not_scored")
    before = (period.status, period.calibration_stage)
    period.status, period.calibration_stage = PeriodStatus.CALIBRATING, CalibrationStage.DIRECTOR
    period.save(update_fields=["status", "calibration_stage"])
    audit_record(actor=actor, action="performance.period.calibration_submit", obj=period,
                 changes={"status": {"before": before[0], "after": period.status},
                          "calibration_stage": {"before": before[1], "after": period.calibration_stage}})
    return period


@transaction.atomic
def period_release(*, actor: User, period_id: int) -> Period:
    """The director (or, where there is none above the department, the supervisor) ends calibration and
    releases the scorecards to their people for the feedback meetings."""
    _require_edit(actor)
    period = _lock_period(period_id)
    _not_frozen(period)
    if not may_act_as_director(actor, period):
        raise PermissionRefused(_("Only the director releases the results for feedback."),
                                extra={"right": "performance.release"})
    _require_not_member(actor, period, "performance.release")
    if period.status != PeriodStatus.CALIBRATING or period.calibration_stage != CalibrationStage.DIRECTOR:
        raise Conflict(_("The supervisor's calibration must be handed over before release."),
                       code="not_director_stage")
    now = timezone.now()
    period.status, period.released_at, period.released_by = PeriodStatus.FEEDBACK, now, actor
    period.save(update_fields=["status", "released_at", "released_by"])
    released = Scorecard.objects.filter(period=period).update(status=ScorecardStatus.RELEASED)
    audit_record(actor=actor, action="performance.period.release", obj=period,
                 changes={"status": {"before": PeriodStatus.CALIBRATING, "after": period.status},
                          "scorecards": {"before": None, "after": released}})
    return period


# ---------------------------------------------------------------- feedback, acknowledgement, appeal


def _feedback_stage(period: Period) -> None:
    _not_frozen(period)
    if period.status != PeriodStatus.FEEDBACK:
        raise Conflict(_("The results are not released for feedback yet."), code="not_released")


@transaction.atomic
def feedback_record(*, actor: User, scorecard_id: int, notes: str, held_at: dt.datetime | None = None
                    ) -> FeedbackMeeting:
    _require_edit(actor)
    card, period = _scorecard(scorecard_id, actor)
    _require_supervisor_of(actor, card, "performance.feedback")
    _require_not_member(actor, period, "performance.feedback")
    _feedback_stage(period)
    notes = _clean(notes, "notes", required=True)
    held_at = held_at or timezone.now()
    if timezone.is_naive(held_at):  # a time without a zone is the current time zone's (what a page shows)
        held_at = timezone.make_aware(held_at)
    if held_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(field_errors={"held_at": [_("A meeting is recorded once it was held.")]})
    if period.released_at is not None and held_at < period.released_at - dt.timedelta(minutes=5):
        raise ValidationFailed(field_errors={"held_at": [
            _("A feedback meeting is held after the results were released (%(released)s).") % {
                "released": timezone.localtime(period.released_at).strftime("%Y-%m-%d %H:%M")}]})
    meeting = FeedbackMeeting.objects.create(scorecard=card, held_at=held_at, by=actor, notes=notes)
    audit_record(actor=actor, action="performance.feedback.record", obj=card,
                 changes={"meeting": {"before": None, "after": {"id": meeting.pk, "held_at": held_at.isoformat()}}})
    return meeting


def _own_released(actor: User, card: Scorecard, period: Period) -> None:
    if actor.pk != card.user_id:
        raise PermissionRefused(_("Only the person assessed may answer their scorecard."),
                                extra={"right": "performance.answer"})
    _feedback_stage(period)
    if not card.meetings.exists():
        raise Conflict(_("The feedback meeting has not been held yet."), code="no_feedback")


@transaction.atomic
def scorecard_acknowledge(*, actor: User, scorecard_id: int, comment: str = "") -> Acknowledgement:
    card, period = _scorecard(scorecard_id, actor)
    _own_released(actor, card, period)
    if card.status not in (ScorecardStatus.RELEASED, ScorecardStatus.RESOLVED):
        raise Conflict(_("This scorecard is already answered."), code="already_answered")
    comment = _clean(comment, "comment")
    ack = Acknowledgement.objects.create(scorecard=card, comment=comment)
    before = card.status
    card.status = ScorecardStatus.ACKNOWLEDGED
    card.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="performance.scorecard.acknowledge", obj=card,
                 changes={"status": {"before": before, "after": card.status}})
    return ack


@transaction.atomic
def appeal_file(*, actor: User, scorecard_id: int, text: str) -> Appeal:
    card, period = _scorecard(scorecard_id, actor)
    _own_released(actor, card, period)
    text = _clean(text, "text", required=True)
    if card.status != ScorecardStatus.RELEASED:
        raise Conflict(_("This scorecard is already answered."), code="already_answered")
    appeal = Appeal.objects.create(scorecard=card, text=text, total_before=card.final_total)
    card.status = ScorecardStatus.APPEALED
    card.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="performance.appeal.file", obj=card, reason=text,
                 changes={"status": {"before": ScorecardStatus.RELEASED, "after": card.status}})
    return appeal


@transaction.atomic
def appeal_resolve(*, actor: User, appeal_id: int, decision: str, reason: str, total: Any = None) -> Appeal:
    """The director upholds the result or changes the total (reason required either way)."""
    _require_edit(actor)
    scorecard_id = Appeal.objects.filter(pk=appeal_id).values_list("scorecard_id", flat=True).first()
    if scorecard_id is None:
        raise NotFound()
    card, period = _scorecard(scorecard_id, actor)
    appeal = Appeal.objects.get(pk=appeal_id)
    _require_supervisor_of(actor, card, "performance.appeal")
    _require_not_member(actor, period, "performance.appeal")
    if not may_act_as_director(actor, period):
        raise PermissionRefused(_("Only the director resolves appeals."), extra={"right": "performance.appeal"})
    _feedback_stage(period)
    if appeal.status != AppealStatus.OPEN:
        raise Conflict(_("This appeal is already resolved."), code="appeal_resolved")
    if decision not in (AppealStatus.UPHELD, AppealStatus.CHANGED):
        raise ValidationFailed(field_errors={"decision": [_("Uphold or change the result.")]})
    reason = _clean(reason, "reason", required=True)
    spec = period.version.spec_obj()
    before = card.final_total
    if decision == AppealStatus.CHANGED:
        if total is None or str(total).strip() == "":
            raise ValidationFailed(field_errors={"total": [_("Give the new total.")]})
        value = _score_in_range(total, "total")
        if before is not None and value == before:
            raise ValidationFailed(field_errors={"total": [_("The new value is the same as the current one.")]})
        grade_before = card.grade
        card.calibrated_total = value
        _final_fields(card, spec)
        Calibration.objects.create(scorecard=card, dimension="", before=before, after=value, total_before=before,
                                   total_after=value, grade_before=grade_before, grade_after=card.grade,
                                   reason=reason, by=actor,
                                   role=CalibrationRole.DIRECTOR if is_director(actor, period.department)
                                   else CalibrationRole.SUPERVISOR)
    appeal.status, appeal.resolved_by, appeal.resolved_at = decision, actor, timezone.now()
    appeal.resolution, appeal.total_after = reason, card.final_total
    appeal.save()
    card.status = ScorecardStatus.RESOLVED
    card.save(update_fields=["status", "calibrated_total", "grade", "coaching", "incentive", "updated_at"])
    _rerank(period)
    audit_record(actor=actor, action="performance.appeal.resolve", obj=card, reason=reason,
                 changes={"decision": {"before": AppealStatus.OPEN, "after": decision},
                          "final_total": {"before": before, "after": card.final_total}})
    return appeal


@transaction.atomic
def period_sign_off(*, actor: User, period_id: int) -> Period:
    """Freeze the period: no open appeal may remain. The supervisor or the director signs off."""
    _require_edit(actor)
    period = _lock_period(period_id)
    _not_frozen(period)
    if not (may_run_period(actor, period.department) or is_director(actor, period.department)):
        raise PermissionRefused(_("Only a supervisor over this team may sign the period off."),
                                extra={"right": "performance.sign_off"})
    _require_not_member(actor, period, "performance.sign_off")
    if period.status != PeriodStatus.FEEDBACK:
        raise Conflict(_("Only a period released for feedback can be signed off."), code="not_released")
    if Appeal.objects.filter(scorecard__period=period, status=AppealStatus.OPEN).exists():
        raise Conflict(_("Resolve the open appeals first."), code="open_appeals")
    unanswered = Scorecard.objects.filter(period=period, status=ScorecardStatus.RELEASED).count()
    period.status, period.signed_off_at, period.signed_off_by = PeriodStatus.SIGNED_OFF, timezone.now(), actor
    period.save(update_fields=["status", "signed_off_at", "signed_off_by"])
    audit_record(actor=actor, action="performance.period.sign_off", obj=period,
                 changes={"status": {"before": PeriodStatus.FEEDBACK, "after": period.status},
                          "unanswered": {"before": None, "after": unanswered}})
    return period


# ---------------------------------------------------------------- improvement plans


def _plan_actor(actor: User, person: User) -> None:
    if actor.pk != person.pk and not may_supervise(actor, person):
        raise PermissionRefused(_("Only the person or their supervisor may do this."),
                                extra={"right": "performance.improvement"})


@transaction.atomic
def improvement_plan_start(*, actor: User, scorecard_id: int, goals: str, start: dt.date, end: dt.date
                           ) -> ImprovementPlan:
    _require_edit(actor)
    card, period = _scorecard(scorecard_id, actor)
    _plan_actor(actor, card.user)
    if period.status not in (PeriodStatus.FEEDBACK, PeriodStatus.SIGNED_OFF):
        raise Conflict(_("An improvement plan starts from released results."), code="not_released")
    goals = _clean(goals, "goals", required=True)
    if end < start:
        raise ValidationFailed(field_errors={"end": [_("The end lies on or after the start.")]})
    if (end - start).days > 366:
        raise ValidationFailed(field_errors={"end": [_("A plan lasts at most a year.")]})
    plan = ImprovementPlan.objects.create(scorecard=card, user=card.user, goals=goals, start=start, end=end,
                                          started_by=actor)
    audit_record(actor=actor, action="performance.improvement.start", obj=plan,
                 changes={"goals": {"before": None, "after": goals}, "start": {"before": None, "after": start},
                          "end": {"before": None, "after": end}})
    return plan


def _plan_locked(plan_id: int) -> ImprovementPlan:
    plan = ImprovementPlan.objects.select_for_update(of=("self",)).select_related("user").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound()
    return plan


@transaction.atomic
def follow_up_add(*, actor: User, plan_id: int, notes: str, progress: Any, on: dt.date | None = None) -> FollowUp:
    _require_edit(actor)
    plan = _plan_locked(plan_id)
    _plan_actor(actor, plan.user)
    if plan.status != PlanStatus.ACTIVE:
        raise Conflict(_("This improvement plan is closed."), code="plan_closed")
    notes = _clean(notes, "notes", required=True)
    try:
        percent = int(str(progress).strip())
    except ValueError as exc:
        raise ValidationFailed(field_errors={"progress": [_("Enter a whole number from 0 to 100.")]}) from exc
    if not 0 <= percent <= 100:
        raise ValidationFailed(field_errors={"progress": [_("Enter a whole number from 0 to 100.")]})
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationFailed(field_errors={"on": [_("A follow-up is recorded once it happened.")]})
    item = FollowUp.objects.create(plan=plan, on=on, notes=notes, progress=percent, by=actor)
    audit_record(actor=actor, action="performance.improvement.follow_up", obj=plan,
                 changes={"follow_up": {"before": None, "after": {"id": item.pk, "on": on, "progress": percent}}})
    return item


@transaction.atomic
def improvement_plan_close(*, actor: User, plan_id: int, outcome: str = "") -> ImprovementPlan:
    _require_edit(actor)
    plan = _plan_locked(plan_id)
    if actor.pk == plan.user_id or not may_supervise(actor, plan.user):
        raise PermissionRefused(_("Only the person's supervisor closes an improvement plan."),
                                extra={"right": "performance.improvement"})
    if plan.status != PlanStatus.ACTIVE:
        raise Conflict(_("This improvement plan is closed."), code="plan_closed")
    plan.status, plan.closed_at, plan.outcome = PlanStatus.CLOSED, timezone.now(), _clean(outcome, "outcome")
    plan.save(update_fields=["status", "closed_at", "outcome"])
    audit_record(actor=actor, action="performance.improvement.close", obj=plan,
                 changes={"status": {"before": PlanStatus.ACTIVE, "after": plan.status}})
    return plan


# ---------------------------------------------------------------- the system's periodic work


def periods_continue(*, actor: User | None = None, today: dt.date | None = None) -> list[Period]:
    """Open the next period of every running cycle (a team's or department's latest period of an active scheme
    has ended and the next one has started), on the scheme's current version. Safe to run twice."""
    today = today or timezone.localdate()
    latest: dict[tuple[int, int | None, int], Period] = {}
    for period in Period.objects.filter(scheme__is_active=True).select_related("scheme", "department", "team").order_by(
            "start", "pk"):
        latest[(period.scheme_id, period.team_id, period.department_id)] = period
    opened = []
    for period in latest.values():
        nxt = period.end + dt.timedelta(days=1)
        if nxt > today or (period.team is not None and not period.team.is_active):
            continue
        try:
            opened.append(period_create(actor=actor, scheme_id=period.scheme_id, day=nxt, team_id=period.team_id,
                                        department_id=None if period.team_id else period.department_id))
        except (Conflict, ValidationFailed):
            continue  # already open, or the scheme has no current version
    return opened


def periods_refresh(*, actor: User | None = None, today: dt.date | None = None, grace_days: int = 10) -> list[int]:
    """Re-score the periods not yet in calibration that run now or ended in the last `grace_days` days, so the
    in-progress picture follows the data. Returns their ids."""
    today = today or timezone.localdate()
    ids = list(Period.objects.filter(status__in=[PeriodStatus.OPEN, PeriodStatus.SCORED], start__lte=today,
                                     end__gte=today - dt.timedelta(days=grace_days)).values_list("pk", flat=True))
    done = []
    for period_id in ids:
        try:
            period_score(actor=actor, period_id=period_id)
        except (Conflict, NotFound):
            continue  # calibration started in the meantime, or the period is gone
        except Exception:  # noqa: BLE001 - one period that cannot be scored must not stop the others' re-scoring
            logger.exception("performance: re-scoring period %s failed; the other periods carry on", period_id)
            continue
        done.append(period_id)
    return done


# ---------------------------------------------------------------- export


def payroll_export(*, actor: User, period_id: int, fmt: str) -> tuple[bytes, str, int]:
    """The period's payroll rows as CSV or XLSX (the export right is required); the export is audited.
    Returns (content, file name, number of rows)."""
    from kamguard.performance import selectors

    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed(field_errors={"format": [_("Choose CSV or XLSX.")]})
    rows = selectors.payroll_rows(viewer=actor, period_id=period_id)
    period = Period.objects.select_related("scheme").get(pk=period_id)
    from kamguard.core.io.formats import Format, table_write

    data = table_write(selectors.PAYROLL_COLUMNS, rows, Format(fmt))
    audit_record(actor=actor, action="performance.payroll.export", obj=period,
                 changes={"rows": {"before": None, "after": len(rows)}, "format": {"before": None, "after": fmt}})
    name = f"performance-{period.scheme.code}-{period.start:%Y-%m}-{period.pk}.{fmt}"
    return data, name, len(rows)
