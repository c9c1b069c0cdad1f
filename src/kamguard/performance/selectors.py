"""Every read of performance management starts from the viewer.

Who sees what:
- a person sees their own scorecards once released for feedback (never while being scored or calibrated);
- a supervisor (the supervisor role) sees the scorecards of the people their data scope covers, never their own
  before release;
- HR, finance (payroll) and auditors read everything; everyone else sees only their own released scorecards.

Functions (what they return):
  may_read_all(viewer) -> bool
  scheme_list(viewer) -> QuerySet[Scheme] (every authenticated viewer may read the schemes)
  scheme_get(viewer, scheme_id) -> Scheme;  scheme_versions(scheme) -> QuerySet[SchemeVersion]
  period_list(viewer, status="", team_id=None, scheme_id=None) -> QuerySet[Period] (newest first)
  period_get(viewer, period_id) -> Period
  scorecard_list(viewer, period_id=None, user_id=None, status="") -> QuerySet[Scorecard]
  my_scorecards(viewer) -> QuerySet[Scorecard]
  scorecard_get(viewer, scorecard_id) -> Scorecard
  scorecard_detail(viewer, scorecard_id, lang=None) -> ScorecardDetail (each dimension explained in `lang`)
  team_view(viewer, period_id) -> TeamView (scorecards ranked, grade distribution)
  calibration_view(viewer, period_id) -> CalibrationView (before/after per person, distributions)
  person_trend(viewer, user_id, limit=12) -> list[TrendPoint] (oldest first)
  improvement_plans(viewer, user_id=None, status="") -> QuerySet[ImprovementPlan]
  payroll_rows(viewer, period_id) -> list[dict[str, str]];  payroll_export(viewer, period_id, fmt) -> bytes
  flags_for(user_ids, period_end) -> dict[int, Flags] (the system's read for later issues: no viewer)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import get_language, gettext

from kamguard.core.errors import Conflict, NotFound, PermissionRefused
from kamguard.org.domain.roles import Role
from kamguard.org.models import User
from kamguard.org.scopes import NOTHING, scope_q
from kamguard.performance import domain
from kamguard.performance.models import (
    Acknowledgement,
    ImprovementPlan,
    Period,
    PeriodStatus,
    Scheme,
    SchemeVersion,
    Scorecard,
)

RELEASED = (PeriodStatus.FEEDBACK, PeriodStatus.SIGNED_OFF)
READER_ROLES = (Role.HR, Role.FINANCE, Role.AUDITOR, Role.EXTERNAL_AUDITOR)


def _lang(lang: str | None) -> str:
    return "zh" if (lang or get_language() or "").lower().startswith("zh") else "en"


def may_read_all(viewer: User) -> bool:
    return bool(viewer.is_authenticated and viewer.is_active and any(viewer.has_role(r) for r in READER_ROLES))


def _card_q(viewer: User, prefix: str = "") -> Q:
    """Scorecards (reached through `prefix`) the viewer may see."""
    if not viewer.is_authenticated or not viewer.is_active:
        return NOTHING
    if may_read_all(viewer):
        return ~Q(pk__in=[])
    p = f"{prefix}__" if prefix else ""
    own = Q(**{f"{p}user_id": viewer.pk, f"{p}period__status__in": RELEASED})
    if viewer.has_role(Role.SUPERVISOR):
        others = scope_q(viewer, owner_path=f"{p}user") & ~Q(**{f"{p}user_id": viewer.pk})
        return own | others
    return own


# ---------------------------------------------------------------- schemes


def scheme_list(*, viewer: User, include_inactive: bool = False) -> QuerySet[Scheme]:
    if not viewer.is_authenticated:
        return Scheme.objects.none()
    qs = Scheme.objects.select_related("current_version")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("code", "pk")


def scheme_get(*, viewer: User, scheme_id: int) -> Scheme:
    found = scheme_list(viewer=viewer, include_inactive=True).filter(pk=scheme_id).first()
    if found is None:
        raise NotFound()
    return found


def scheme_versions(*, scheme: Scheme) -> QuerySet[SchemeVersion]:
    return scheme.versions.select_related("created_by").order_by("-number")


# ---------------------------------------------------------------- periods


def _period_q(viewer: User) -> Q:
    if not viewer.is_authenticated or not viewer.is_active:
        return NOTHING
    if may_read_all(viewer):
        return ~Q(pk__in=[])
    q = Q(pk__in=Scorecard.objects.filter(user_id=viewer.pk, period__status__in=RELEASED).values("period_id"))
    if viewer.has_role(Role.SUPERVISOR) and viewer.department is not None:
        q |= Q(department__path__startswith=viewer.department.path)
    return q


def period_list(*, viewer: User, status: str = "", team_id: int | None = None, scheme_id: int | None = None
                ) -> QuerySet[Period]:
    qs = Period.objects.filter(_period_q(viewer)).select_related("scheme", "version", "team", "department")
    if status:
        qs = qs.filter(status=status)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if scheme_id:
        qs = qs.filter(scheme_id=scheme_id)
    return qs.order_by("-start", "-pk")


def period_get(*, viewer: User, period_id: int) -> Period:
    found = period_list(viewer=viewer).filter(pk=period_id).first()
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- scorecards


def scorecard_list(*, viewer: User, period_id: int | None = None, user_id: int | None = None, status: str = ""
                   ) -> QuerySet[Scorecard]:
    qs = Scorecard.objects.filter(_card_q(viewer)).select_related(
        "user", "user__team", "period", "period__scheme", "period__team")
    if period_id:
        qs = qs.filter(period_id=period_id)
    if user_id:
        qs = qs.filter(user_id=user_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-period__start", "period_id", "rank", "user_id")


def my_scorecards(*, viewer: User) -> QuerySet[Scorecard]:
    return scorecard_list(viewer=viewer, user_id=viewer.pk)


def scorecard_get(*, viewer: User, scorecard_id: int) -> Scorecard:
    found = scorecard_list(viewer=viewer).filter(pk=scorecard_id).select_related("period__version").first()
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class MetricLine:
    code: str
    name: str
    unit: str
    value: Decimal | None
    explanation: str


@dataclass(frozen=True)
class DimensionLine:
    code: str
    name: str
    kind: str
    weight: Decimal
    value: Decimal | None
    score: Decimal | None  # as computed (or given by hand)
    calibrated_score: Decimal | None
    points: Decimal | None  # the dimension's share of the total: weight × final score / the scored weight
    band: str  # "≥ 95 → 100" for the band that gave the score, "" otherwise
    explanation: str  # why this score, in the viewer's language
    metrics: list[MetricLine]
    no_data: bool


@dataclass(frozen=True)
class ScorecardDetail:
    scorecard: Scorecard
    scheme_name: str
    presentation: str
    dimensions: list[DimensionLine]
    final_total: Decimal | None
    grade_label: str
    reweighted: bool  # some dimension had no score: the weights were spread over the scored ones
    calibrations: list[Any]
    meetings: list[Any]
    appeals: list[Any]
    acknowledged: bool
    improvement_plans: list[Any]


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _num(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def _formula_in_words(formula: str, lang: str) -> str:
    """The formula with each metric code replaced by the metric's name in `lang`."""
    import re

    return re.sub(r"[a-z][a-z0-9_]*", lambda m: domain.metric_name(m.group(0), lang)
                  if m.group(0) in domain.METRICS else m.group(0), formula)


def _dimension_explanation(dim: Any, row: dict[str, Any], lang: str) -> str:
    zh = lang == "zh"
    score, value = _dec(row.get("score")), _dec(row.get("value"))
    if dim.kind == "manual":
        if score is None:
            return "待主管打分。" if zh else "Waiting for the supervisor's score."
        level = next((lv for lv in dim.rubric if lv.score == score), None)
        text = (level.text_zh if zh else level.text_en) if level else ""
        base = f"主管打分 {_num(score)}" if zh else f"Scored {_num(score)} by the supervisor"
        return f"{base}:{text}" if (text and zh) else (f"{base}: {text}" if text else base + ("。" if zh else "."))
    if score is None:
        if row.get("division_by_zero"):
            return "公式除以零,无法计算:本项不计分,权重分摊给其他维度。" if zh else \
                "The formula divides by zero: no score; its weight is spread over the scored dimensions."
        missing = ", ".join(domain.metric_name(m, lang) for m in row.get("missing", []))
        return (f"无数据({missing}):本项不计分,权重按比例分摊给有分数的维度。" if zh else
                f"No data ({missing}): no score; its weight is spread over the scored dimensions in proportion.")
    formula = _formula_in_words(dim.formula, lang)
    index = row.get("band_index")
    if index is not None and 0 <= index < len(dim.bands):
        band = dim.bands[index]
        return (f"{formula} = {_num(value)},达到 ≥ {_num(band.min_value)} 档,得 {_num(score)} 分。" if zh else
                f"{formula} = {_num(value)}, in the band ≥ {_num(band.min_value)}: score {_num(score)}.")
    return (f"{formula} = {_num(value)},按 0–100 计分:{_num(score)}。" if zh else
            f"{formula} = {_num(value)}, taken as the score on 0–100: {_num(score)}.")


def scorecard_lines(card: Scorecard, spec: Any, lang: str | None = None) -> list[DimensionLine]:
    """Each dimension of the card with its value, score, band and explanation in `lang` ("en"/"zh")."""
    language = _lang(lang)
    rows = {r["code"]: r for r in card.dimensions or []}
    metrics = (card.snapshot or {}).get("metrics", {})
    lines = []
    for dim in spec.dimensions:
        row = rows.get(dim.code, {"code": dim.code})
        codes: list[str] = []
        if dim.kind == "formula" and dim.formula:
            try:
                codes = sorted(domain.formula_parse(dim.formula).metrics)
            except domain.FormulaError:
                codes = []
        metric_lines = []
        for code in codes:
            m = metrics.get(code, {})
            value = _dec(m.get("value"))
            definition = domain.METRICS.get(code)
            metric_lines.append(MetricLine(
                code=code, name=domain.metric_name(code, language), unit=definition.unit if definition else "",
                value=value, explanation=domain.metric_explain(code, value, m.get("inputs", {}), language)))
        score, calibrated = _dec(row.get("score")), _dec(row.get("calibrated_score"))
        final = calibrated if calibrated is not None else score
        index = row.get("band_index")
        band = ""
        if index is not None and 0 <= index < len(dim.bands):
            band = f"≥ {_num(dim.bands[index].min_value)} → {_num(dim.bands[index].score)}"
        lines.append(DimensionLine(
            code=dim.code, name=dim.name_zh if language == "zh" else dim.name_en, kind=dim.kind, weight=dim.weight,
            value=_dec(row.get("value")), score=score, calibrated_score=calibrated, points=final, band=band,
            explanation=_dimension_explanation(dim, row, language), metrics=metric_lines, no_data=final is None))
    # Points are each scored dimension's share of the total: when some have no data their weight is spread over
    # the scored ones in proportion (as the total is), so the points add up to the total.
    scored_weight = sum((line.weight for line in lines if line.points is not None), Decimal(0))
    return [line if line.points is None or not scored_weight else dataclasses.replace(
        line, points=(line.weight * line.points / scored_weight).quantize(Decimal("0.01"))) for line in lines]


def scorecard_detail(*, viewer: User, scorecard_id: int, lang: str | None = None) -> ScorecardDetail:
    card = scorecard_get(viewer=viewer, scorecard_id=scorecard_id)
    spec = card.period.version.spec_obj()
    language = _lang(lang)
    lines = scorecard_lines(card, spec, language)
    grade = next((g for g in spec.grades if g.grade == card.grade), None)
    return ScorecardDetail(
        scorecard=card, scheme_name=spec.name_zh if language == "zh" else spec.name_en,
        presentation=spec.presentation, dimensions=lines, final_total=card.final_total,
        grade_label=(grade.label_zh if language == "zh" else grade.label_en) if grade else "",
        reweighted=any(line.no_data for line in lines),
        calibrations=list(card.calibrations.select_related("by").order_by("at", "pk")),
        meetings=list(card.meetings.select_related("by").order_by("held_at", "pk")),
        appeals=list(card.appeals.select_related("resolved_by").order_by("filed_at", "pk")),
        acknowledged=Acknowledgement.objects.filter(scorecard=card).exists(),
        improvement_plans=list(card.improvement_plans.prefetch_related("follow_ups").order_by("-start", "pk")))


# ---------------------------------------------------------------- team, calibration, trends


@dataclass(frozen=True)
class GradeShare:
    grade: str
    label: str
    count: int
    share: Decimal  # percent of the graded people, one decimal


@dataclass(frozen=True)
class TeamView:
    period: Period
    scorecards: list[Scorecard]  # ranked (unranked last)
    distribution: list[GradeShare]
    average: Decimal | None


def _distribution(grades: Sequence[str | None], spec: Any, lang: str) -> list[GradeShare]:
    labels = {g.grade: (g.label_zh if lang == "zh" else g.label_en) for g in spec.grades}
    return [GradeShare(grade=g, label=labels.get(g, g), count=n, share=s)
            for g, n, s in domain.grade_distribution(grades, spec)]


def _period_for_team_view(viewer: User, period_id: int) -> Period:
    period = period_get(viewer=viewer, period_id=period_id)
    if not (may_read_all(viewer) or viewer.has_role(Role.SUPERVISOR)):
        raise PermissionRefused(_no_team_view(), extra={"right": "performance.team"})
    return period


def _no_team_view() -> str:
    from django.utils.translation import gettext as _

    return _("Only supervisors, HR and auditors see a team's scorecards.")


def average_of(totals: list[Decimal]) -> Decimal | None:
    """The team's average total as every page shows it (two decimals), None for nobody scored."""
    return (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01")) if totals else None


def team_view(*, viewer: User, period_id: int, lang: str | None = None) -> TeamView:
    period = _period_for_team_view(viewer, period_id)
    cards = list(scorecard_list(viewer=viewer, period_id=period.pk))
    cards.sort(key=lambda c: (c.rank is None, c.rank or 0, c.user.full_name, c.pk))
    spec = period.version.spec_obj()
    totals = [c.final_total for c in cards if c.final_total is not None]
    average = average_of(totals)
    return TeamView(period=period, scorecards=cards,
                    distribution=_distribution([c.grade or None for c in cards], spec, _lang(lang)), average=average)


@dataclass(frozen=True)
class CalibrationRow:
    scorecard: Scorecard
    computed_total: Decimal | None
    computed_grade: str
    final_total: Decimal | None
    grade: str
    rank: int | None
    entries: list[Any]


@dataclass(frozen=True)
class CalibrationView:
    period: Period
    rows: list[CalibrationRow]
    before: list[GradeShare]  # distribution of the computed totals
    after: list[GradeShare]  # distribution after calibration
    stage: str


def calibration_view(*, viewer: User, period_id: int, lang: str | None = None) -> CalibrationView:
    period = _period_for_team_view(viewer, period_id)
    spec = period.version.spec_obj()
    cards = list(scorecard_list(viewer=viewer, period_id=period.pk).prefetch_related("calibrations__by"))
    cards.sort(key=lambda c: (c.rank is None, c.rank or 0, c.user.full_name, c.pk))
    rows = []
    for card in cards:
        computed_grade = (domain.grade_for(spec, card.computed_total) or "") if card.computed_total is not None \
            else ""
        rows.append(CalibrationRow(scorecard=card, computed_total=card.computed_total, computed_grade=computed_grade,
                                   final_total=card.final_total, grade=card.grade, rank=card.rank,
                                   entries=list(card.calibrations.all())))
    language = _lang(lang)
    return CalibrationView(period=period, rows=rows,
                           before=_distribution([r.computed_grade or None for r in rows], spec, language),
                           after=_distribution([r.grade or None for r in rows], spec, language),
                           stage=period.calibration_stage)


@dataclass(frozen=True)
class TrendPoint:
    period_id: int
    scheme_code: str
    start: dt.date
    end: dt.date
    final_total: Decimal | None
    grade: str
    rank: int | None
    team_size: int


def person_trend(*, viewer: User, user_id: int, scheme_id: int | None = None, limit: int = 12) -> list[TrendPoint]:
    """The person's results over their last `limit` periods the viewer may see, oldest first (for the chart)."""
    from django.db.models import Count

    qs = scorecard_list(viewer=viewer, user_id=user_id)
    if scheme_id:
        qs = qs.filter(period__scheme_id=scheme_id)
    cards = list(qs.order_by("-period__start", "-pk")[:limit])
    sizes = dict(Scorecard.objects.filter(period_id__in=[c.period_id for c in cards]).values("period_id").annotate(
        n=Count("pk")).values_list("period_id", "n"))
    return [TrendPoint(period_id=c.period_id, scheme_code=c.period.scheme.code, start=c.period.start,
                       end=c.period.end, final_total=c.final_total, grade=c.grade, rank=c.rank,
                       team_size=sizes.get(c.period_id, 0)) for c in reversed(cards)]


def improvement_plans(*, viewer: User, user_id: int | None = None, status: str = "") -> QuerySet[ImprovementPlan]:
    qs = ImprovementPlan.objects.filter(_card_q(viewer, "scorecard")).select_related(
        "user", "started_by", "scorecard__period__scheme")
    if user_id:
        qs = qs.filter(user_id=user_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-start", "-pk")


def improvement_plan_get(*, viewer: User, plan_id: int) -> ImprovementPlan:
    found = improvement_plans(viewer=viewer).filter(pk=plan_id).prefetch_related("follow_ups__by").first()
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- payroll export

PAYROLL_COLUMNS = ("person", "external_id", "username", "team", "scheme", "period_start", "period_end",
                   "final_total", "computed_total", "grade", "rank", "coaching", "incentive", "status",
                   "period_status")


def payroll_rows(*, viewer: User, period_id: int) -> list[dict[str, str]]:
    """One row per scorecard of the period (final total after calibration and appeals); the export right
    (`can_export`) is required, and the period must be released (results are not final before)."""
    if not viewer.can_export:
        raise PermissionRefused(extra={"right": "export"})
    period = period_get(viewer=viewer, period_id=period_id)
    if period.status not in RELEASED:
        raise Conflict(gettext("This period's results are not released yet: they can go to payroll once the director "
                         "has released them."), code="period_not_released")
    cards = list(scorecard_list(viewer=viewer, period_id=period.pk))
    cards.sort(key=lambda c: (c.rank is None, c.rank or 0, c.user_id))

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return [{"person": c.user.full_name or c.user.username, "external_id": c.user.external_id or "",
             "username": c.user.username, "team": str(c.user.team) if c.user.team_id else "",
             "scheme": period.scheme.code, "period_start": period.start.isoformat(),
             "period_end": period.end.isoformat(), "final_total": text(c.final_total),
             "computed_total": text(c.computed_total), "grade": c.grade, "rank": text(c.rank),
             "coaching": "yes" if c.coaching else "no", "incentive": "yes" if c.incentive else "no",
             "status": c.status, "period_status": period.status} for c in cards]


def payroll_export(*, viewer: User, period_id: int, fmt: str) -> bytes:
    """The payroll rows as CSV or XLSX (openpyxl, every cell text)."""
    from kamguard.core.io.formats import Format, table_write

    return table_write(PAYROLL_COLUMNS, payroll_rows(viewer=viewer, period_id=period_id), Format(fmt))


# ---------------------------------------------------------------- flags for later issues


@dataclass(frozen=True)
class Flags:
    coaching: bool
    incentive: bool
    final_total: Decimal | None
    grade: str
    period_id: int
    period_end: dt.date
    scheme_code: str
    signed_off: bool
    reasons: list[str] = field(default_factory=list)


def flags_for(*, user_ids: Sequence[int], period_end: dt.date) -> dict[int, Flags]:
    """The system's read (no viewer): each person's coaching and incentive flags from their latest released
    scorecard whose period ended on or before `period_end`. People without one are absent."""
    ids = [int(i) for i in user_ids]
    if not ids:
        return {}
    cards = Scorecard.objects.filter(user_id__in=ids, period__status__in=RELEASED,
                                     period__end__lte=period_end).select_related("period__scheme").order_by(
        "user_id", "-period__end", "-pk")
    found: dict[int, Flags] = {}
    for card in cards:
        if card.user_id in found:
            continue
        found[card.user_id] = Flags(
            coaching=card.coaching, incentive=card.incentive, final_total=card.final_total, grade=card.grade,
            period_id=card.period_id, period_end=card.period.end, scheme_code=card.period.scheme.code,
            signed_off=card.period.status == PeriodStatus.SIGNED_OFF,
            reasons=[r for r, on in (("coaching", card.coaching), ("incentive", card.incentive)) if on])
    return found
