"""Performance pages: my scorecards, a scorecard with every dimension explained, the team's period (ranking, grade
distribution, flags and the supervisor's steps), the calibration view, feedback, acknowledgement and appeal, the
improvement plan, trends across periods, and the assessment schemes with their versions.

Thin views: read through the selectors, write through the services, show a service's error in place. What a
scorecard says comes from its stored snapshot (the metrics with their inputs and each dimension's result), read
in the viewer's language: the scheme's names and the metric catalogue carry both languages.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from kamguard.core.errors import DomainError, NotFound, PermissionRefused
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import User
from kamguard.performance import selectors, services
from kamguard.performance.forms import (
    AcknowledgeForm,
    AppealForm,
    AppealResolveForm,
    CalibrationForm,
    FeedbackForm,
    FollowUpForm,
    ImprovementPlanForm,
    ManualScoresForm,
    PeriodCreateForm,
    PlanCloseForm,
    SchemeVersionForm,
)
from kamguard.performance.models import (
    AppealStatus,
    CalibrationStage,
    Period,
    PeriodStatus,
    PlanStatus,
    Scheme,
    SchemeVersion,
    Scorecard,
    ScorecardStatus,
)

STEPS = (PeriodStatus.OPEN, PeriodStatus.SCORED, PeriodStatus.CALIBRATING, PeriodStatus.FEEDBACK,
         PeriodStatus.SIGNED_OFF)


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- reading in the viewer's language ----------------------------------------------------------------------------

def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _pick(obj: Any, base: str) -> str:
    """`name_zh` on a Chinese page when there is one, else `name_en` (the domain carries both languages)."""
    zh = getattr(obj, f"{base}_zh", "") if not isinstance(obj, dict) else obj.get(f"{base}_zh", "")
    en = getattr(obj, f"{base}_en", "") if not isinstance(obj, dict) else obj.get(f"{base}_en", "")
    return str(zh if _zh() and zh else en)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return _("no data")
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def period_label(period: Period) -> str:
    """A period in words: 2026-11, 2026 Q4, 2026 H2, 2026 (and their Chinese forms)."""
    kind = period.scheme.period_type if period.scheme_id else "month"
    start = period.start
    if kind == "quarter":
        return _("%(year)s Q%(quarter)s") % {"year": start.year, "quarter": (start.month - 1) // 3 + 1}
    if kind == "half_year":
        if start.month <= 6:  # noqa: PLR2004
            return _("%(year)s first half") % {"year": start.year}
        return _("%(year)s second half") % {"year": start.year}
    if kind == "year":
        return _("year %(year)s") % {"year": start.year}
    return _("%(year)s-%(month)02d") % {"year": start.year, "month": start.month}


def _period_view(period: Period) -> dict[str, Any]:
    spec = _spec(period.version)
    return {
        "id": period.pk, "label": period_label(period), "start": period.start, "end": period.end,
        "status": period.status, "status_label": period.get_status_display(),
        "scheme_id": period.scheme_id, "scheme_name": _pick(spec, "name"),
        "version_number": period.version.number, "team_id": period.team_id,
        "team_name": str(period.team.name if period.team is not None else period.department.name),
        "run_by": period.created_by, "presentation": getattr(spec, "presentation", "percent"),
        "calibration_stage": period.calibration_stage,
    }


def _spec(version: SchemeVersion) -> Any:
    """The version's SchemeSpec, parsed once per loaded version object (a request reads it several times)."""
    cached = getattr(version, "_spec_parsed", None)
    if cached is None:
        cached = version.spec_obj()
        version._spec_parsed = cached  # type: ignore[attr-defined]
    return cached


def _metric_defs() -> dict[str, Any]:
    from kamguard.performance.domain import METRICS

    return METRICS


def _metric_name(code: str) -> str:
    from kamguard.performance.domain import metric_name

    return metric_name(code, get_language() or "en")


def _formula_metrics(dim: Any) -> tuple[str, ...]:
    if dim.kind != "formula" or not dim.formula:
        return ()
    from kamguard.performance.domain import FormulaError, formula_parse

    try:
        return tuple(sorted(formula_parse(dim.formula).metrics))
    except FormulaError:
        return ()


def _calibration_view(entry: Any, names: dict[str, str]) -> dict[str, Any]:
    return {"target": names.get(entry.dimension, entry.dimension) if entry.dimension else _("Total"),
            "before": entry.before, "after": entry.after, "reason": entry.reason, "by": entry.by,
            "role": entry.get_role_display(), "at": entry.at, "total_before": entry.total_before,
            "total_after": entry.total_after}


def _dimension_names(spec: Any) -> dict[str, str]:
    return {d.code: _pick(d, "name") for d in spec.dimensions}


def _row_view(card: Scorecard) -> dict[str, Any]:
    return {"id": card.pk, "person": card.user, "total": card.final_total, "computed_total": card.computed_total,
            "calibrated_total": card.calibrated_total, "grade": card.grade, "rank": card.rank,
            "coaching": card.coaching, "incentive": card.incentive, "complete": card.complete,
            "status": card.status, "status_label": card.get_status_display()}


def _card_view(detail: selectors.ScorecardDetail, spec: Any, ranked_of: int) -> dict[str, Any]:
    """The scorecard page's content: the selector's explained dimensions plus the process so far."""
    card = detail.scorecard
    view = _row_view(card)
    names = _dimension_names(spec)
    appeal = detail.appeals[-1] if detail.appeals else None
    ack = card.acknowledgement if detail.acknowledged else None
    plan = detail.improvement_plans[0] if detail.improvement_plans else None
    view.update({
        "period": _period_view(card.period), "grade_label": detail.grade_label, "ranked_of": ranked_of,
        "points": detail.presentation == "points", "computed_at": card.scored_at, "reweighted": detail.reweighted,
        "dims": [{
            "code": d.code, "name": d.name, "weight": d.weight, "kind": d.kind,
            "kind_label": _("from the records") if d.kind == "formula" else _("scored by hand"),
            "value": d.value, "score": d.calibrated_score if d.calibrated_score is not None else d.score,
            "computed_score": d.score, "calibrated": d.calibrated_score is not None, "points": d.points,
            "band": d.band, "explanation": d.explanation,  # the selector names the formula's metrics already
            "metrics": d.metrics,
        } for d in detail.dimensions],
        "calibrations": [_calibration_view(c, names) for c in detail.calibrations],
        "feedback": detail.meetings[-1] if detail.meetings else None,
        "acknowledged_at": ack.at if ack else None, "ack_comment": ack.comment if ack else "",
        "appeal": None if appeal is None else {
            "at": appeal.filed_at, "text": appeal.text, "status": appeal.status,
            "status_label": appeal.get_status_display(), "resolved_at": appeal.resolved_at,
            "resolved_by": appeal.resolved_by, "resolution": appeal.resolution},
        "plan": None if plan is None else {
            "id": plan.pk, "goals": plan.goals, "start": plan.start, "end": plan.end, "by": plan.started_by,
            "outcome": plan.outcome, "closed_at": plan.closed_at,
            "status": plan.status, "status_label": plan.get_status_display(),
            "followups": [{"on": f.on, "progress": f.progress, "notes": f.notes, "by": f.by}
                          for f in plan.follow_ups.all()]},
    })
    return view


# --- charts (SVG geometry only: no inline style or script, the CSP) ---------------------------------------------

def distribution_chart(grades: list[dict[str, Any]], series: tuple[str, str]) -> dict[str, Any]:
    """Grouped columns per grade: computed (series 0) and after calibration (series 1)."""
    width, height, base, top = 420, 190, 160, 16
    most = max([g["before"] for g in grades] + [g["after"] for g in grades] + [1])
    group_w = (width - 20) / max(len(grades), 1)
    bar_w = min(28.0, group_w / 3)
    groups = []
    for index, g in enumerate(grades):
        left = 10 + index * group_w + (group_w - 2 * bar_w - 4) / 2
        bars = []
        for s, key in enumerate(("before", "after")):
            h = (base - top) * g[key] / most
            x = left + s * (bar_w + 4)
            bars.append({"series": s, "name": series[s], "count": g[key], "x": round(x, 1), "w": round(bar_w, 1),
                         "y": round(base - h, 1), "h": round(h, 1), "cx": round(x + bar_w / 2, 1),
                         "label_y": round(base - h - 3, 1)})
        groups.append({"label": g["grade"], "bars": bars, "cx": round(10 + index * group_w + group_w / 2, 1)})
    return {"width": width, "height": height, "base": base, "groups": groups, "series": series}


COLOURS = ("#1f4e8c", "#b42318", "#2e7d4f", "#8a5a00")


def line_chart(labels: list[str], series: list[tuple[str, list[Decimal | None]]]) -> dict[str, Any]:
    """Lines over periods on a 0–100 scale; a period without a total breaks no line, it is skipped."""
    width, height, left, right, top, base = 420, 200, 30, 410, 10, 172
    step = (right - left) / max(len(labels) - 1, 1)

    def y_of(value: Decimal) -> float:
        return round(base - (base - top) * float(max(min(value, Decimal(100)), Decimal(0))) / 100, 1)

    out = []
    for index, (name, values) in enumerate(series):
        dots = [{"x": round(left + i * step if len(labels) > 1 else (left + right) / 2, 1), "y": y_of(v),
                 "value": v, "label": labels[i]} for i, v in enumerate(values) if v is not None]
        out.append({"name": name, "colour": COLOURS[index % len(COLOURS)], "dots": dots,
                    "points": " ".join(f"{d['x']},{d['y']}" for d in dots) if len(dots) > 1 else ""})
    every = max(1, len(labels) // 8)
    return {"width": width, "height": height, "left": left, "right": right,
            "yticks": [{"y": y_of(Decimal(v)), "label": v} for v in (0, 25, 50, 75, 100)],
            "xticks": [{"x": round(left + i * step if len(labels) > 1 else (left + right) / 2, 1), "label": label}
                       for i, label in enumerate(labels) if i % every == 0],
            "series": out if any(s["dots"] for s in out) else []}


def _grades(spec: Any, before: list[Any], after: list[Any]) -> list[dict[str, Any]]:
    """The scheme's grades with how many were in each as computed and after calibration (the selectors count)."""
    minimum = {g.grade: g.min_total for g in spec.grades}
    later = {g.grade: g for g in after}
    return [{"grade": g.grade, "label": g.label, "min_total": minimum.get(g.grade), "before": g.count,
             "before_share": g.share, "after": later[g.grade].count if g.grade in later else 0,
             "after_share": later[g.grade].share if g.grade in later else Decimal(0)} for g in before]


_ID_TEXT = re.compile(r"[0-9]{1,18}")


def _posted_id(text: str) -> int:
    """A posted id: ASCII digits only and within a database integer ("²" passes str.isdigit but not int()),
    0 (no object has it) otherwise."""
    text = text.strip()
    return int(text) if _ID_TEXT.fullmatch(text) else 0


# --- what the viewer may do now (the services decide again on every write) ---------------------------------------

def _may_run_periods(viewer: User) -> bool:
    return viewer.has_role(Role.SUPERVISOR) and viewer.has_right(Right.EDIT_BUSINESS_DATA)


def _calibration_open(viewer: User, period: Period) -> tuple[bool, str]:
    """Whether the viewer may calibrate in this period now, and if not, why (a sentence for the page)."""
    if period.status not in (PeriodStatus.SCORED, PeriodStatus.CALIBRATING):
        if period.status == PeriodStatus.OPEN:
            return False, _("Score the period first.")
        return False, _("Calibration is over for this period.")
    if not viewer.has_right(Right.EDIT_BUSINESS_DATA):
        return False, _("You read this period; you do not calibrate it.")
    if services.is_period_member(viewer, period):
        return False, _("You are assessed in this period yourself: you do not calibrate it.")
    if period.calibration_stage == CalibrationStage.DIRECTOR:
        if services.may_act_as_director(viewer, period):
            return True, ""
        return False, _("The supervisor's calibration is finished: the director calibrates now.")
    if services.is_director(viewer, period.department):
        return False, _("The supervisor calibrates first; you calibrate after the hand-over.")
    if services.may_run_period(viewer, period.department):
        return True, ""
    return False, _("You read this period; you do not calibrate it.")


def period_actions(viewer: User, period: Period) -> list[str]:
    """The steps of the period the viewer may take now, in the order of the process."""
    if not viewer.has_right(Right.EDIT_BUSINESS_DATA) or services.is_period_member(viewer, period):
        return []
    runner = services.may_run_period(viewer, period.department)
    director = services.is_director(viewer, period.department)
    status, stage = period.status, period.calibration_stage
    out = []
    if runner and status in (PeriodStatus.OPEN, PeriodStatus.SCORED):
        out.append("score")
    if runner and not director and status in (PeriodStatus.SCORED, PeriodStatus.CALIBRATING) \
            and stage != CalibrationStage.DIRECTOR:
        out.append("handover")
    if status == PeriodStatus.CALIBRATING and stage == CalibrationStage.DIRECTOR \
            and services.may_act_as_director(viewer, period):
        out.append("release")
    if (runner or director) and status == PeriodStatus.FEEDBACK:
        out.append("sign_off")
    return out


def scorecard_actions(viewer: User, card: Scorecard) -> set[str]:
    """What the viewer may do on this scorecard now."""
    period = card.period
    edit = viewer.has_right(Right.EDIT_BUSINESS_DATA)
    own = card.user_id == viewer.pk
    supervises = edit and services.may_supervise(viewer, card.user)
    judges = supervises and not services.is_period_member(viewer, period)  # never someone assessed alongside
    out: set[str] = set()
    if period.status == PeriodStatus.SIGNED_OFF:
        frozen = True
    else:
        frozen = False
    if judges and not frozen and period.status in (PeriodStatus.OPEN, PeriodStatus.SCORED):
        out.add("manual")
    if judges and not frozen and _calibration_open(viewer, period)[0]:
        out.add("calibrate")
    if judges and period.status == PeriodStatus.FEEDBACK:
        out.add("feedback")
    held = card.meetings.exists()
    if own and period.status == PeriodStatus.FEEDBACK and held:
        if card.status in (ScorecardStatus.RELEASED, ScorecardStatus.RESOLVED):
            out.add("acknowledge")
        if card.status == ScorecardStatus.RELEASED:
            out.add("appeal")
    if judges and period.status == PeriodStatus.FEEDBACK and services.may_act_as_director(viewer, period) \
            and card.appeals.filter(status=AppealStatus.OPEN).exists():
        out.add("resolve")
    if edit and (own or supervises) and period.status in (PeriodStatus.FEEDBACK, PeriodStatus.SIGNED_OFF):
        plan = card.improvement_plans.filter(status=PlanStatus.ACTIVE).first()
        out.add("followup" if plan else "plan")
        if plan is not None and supervises:
            out.add("close")
    return out


# --- home --------------------------------------------------------------------------------------------------------

PERIOD_SORTS = {"-start": ("-start", "-pk"), "start": ("start", "pk"), "status": ("status", "-start"),
                "team": ("team__name", "-start")}


@page_view()
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    mine = []
    for card in selectors.my_scorecards(viewer=viewer).select_related("period__version")[:24]:
        period = _period_view(card.period)
        mine.append(dict(_row_view(card), period_label=period["label"], scheme_name=period["scheme_name"]))
    may_run = _may_run_periods(viewer)
    sees_periods = may_run or selectors.may_read_all(viewer)
    context: dict[str, Any] = {"mine": mine, "sees_periods": sees_periods, "may_run": may_run}
    if sees_periods:
        status = request.GET.get("status", "")
        periods = selectors.period_list(viewer=viewer, status=status if status in PeriodStatus.values else "")
        sort = request.GET.get("sort", "-start")
        periods = periods.annotate(people=Count("scorecards")).order_by(*PERIOD_SORTS.get(sort, PERIOD_SORTS["-start"]))
        page = paginate(request, periods)
        page.object_list = [dict(_period_view(p), people=p.people) for p in page.object_list]
        context.update({
            "page": page, "statuses": PeriodStatus.choices, "status": status, "sort": sort,
            "sorts": [("-start", _("Newest first")), ("start", _("Oldest first")), ("status", _("By status")),
                      ("team", _("By team"))]})
    return render(request, "performance/home.html", context)


# --- periods -----------------------------------------------------------------------------------------------------

def _teams_to_assess(viewer: User) -> list[tuple[str, Any]]:
    """The active teams and departments the viewer runs periods for (their department and below), grouped."""
    from kamguard.org.selectors import department_list, team_list

    own = viewer.department
    if own is None:
        return []
    teams = team_list(viewer=viewer).filter(is_active=True, department__path__startswith=own.path)
    departments = department_list(viewer=viewer).filter(is_active=True, path__startswith=own.path).order_by("path")
    return [(_("Teams"), [(f"t{t.pk}", f"{t.name} · {t.department.name}") for t in teams]),
            (_("Whole departments"), [(f"d{d.pk}", d.name) for d in departments])]


@page_view()
def period_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not _may_run_periods(viewer):
        raise PermissionRefused(_("Only supervisors run assessment periods."), extra={"right": "performance.run"})
    schemes = [(s.pk, s.name_in(get_language())) for s in selectors.scheme_list(viewer=viewer).filter(
        current_version__isnull=False)]
    today = timezone.localdate()
    form = PeriodCreateForm(request.POST or None, schemes=schemes, teams=_teams_to_assess(viewer),
                            initial={"day": (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)})
    if request.method == "POST" and form.is_valid():
        try:
            period = services.period_create(actor=viewer, scheme_id=form.cleaned_data["scheme"],
                                            day=form.cleaned_data["day"], **form.target())
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Period opened. Score it to compute everyone's scorecard from the records."))
            return redirect("performance:period_detail", period.pk)
    return render(request, "performance/form.html", {
        "form": form, "title": _("Run an assessment period"), "cancel_url": "/performance/",
        "submit_label": _("Open the period")}, status=422 if request.method == "POST" else 200)


PERIOD_ACTIONS = {
    "score": "period_score", "handover": "period_calibration_submit", "release": "period_release",
    "sign_off": "period_sign_off",
}


def _period_actions(viewer: User, period: Period) -> list[dict[str, Any]]:
    """The steps the viewer may take now, each with a sentence saying what it does."""
    allowed = period_actions(viewer, period)
    alone = not services.directors_exist(period.department)
    texts = {
        "score": (_("Score the period") if period.status == PeriodStatus.OPEN else _("Score again"),
                  _("Scoring computes every scorecard from the records of the period."), ""),
        "handover": (_("Finish my calibration") if alone else _("Hand over to the director"),
                     _("Calibrate on the calibration page (each change with its reason), then finish: no director "
                       "above this team, so you release the results yourself.") if alone else
                     _("Calibrate on the calibration page (each change with its reason), then hand over: the "
                       "director calibrates after you and releases the results."), ""),
        "release": (_("Release for feedback"), _("Releasing shows each person their scorecard; hold the feedback "
                                                 "meetings then."), _("Release the scorecards to the people?")),
        "sign_off": (_("Sign off"), _("Signing off freezes the results: nothing changes afterwards."),
                     _("Sign off and freeze the results?")),
    }
    return [{"action": a, "label": texts[a][0], "help": texts[a][1], "confirm": texts[a][2],
             "primary": index == 0} for index, a in enumerate(allowed)]


PERIOD_DONE = {
    "score": gettext_noop("Scored: every scorecard was computed from the records."),
    "handover": gettext_noop("Your calibration is finished."),
    "release": gettext_noop("Released: each person now sees their scorecard."),
    "sign_off": gettext_noop("Signed off: the results are frozen."),
}


@page_view()
def period_detail(request: HttpRequest, period_id: int) -> HttpResponse:
    """The team's scorecards for a period. POST `action`: score, handover, release, sign_off."""
    viewer = _viewer(request)
    team = selectors.team_view(viewer=viewer, period_id=period_id)
    period = team.period
    action_error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        name = PERIOD_ACTIONS.get(action)
        if name is None:
            messages.error(request, _("Unknown action."))
            return redirect("performance:period_detail", period.pk)
        try:
            getattr(services, name)(actor=viewer, period_id=period.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            action_error = str(exc.message)
        else:
            messages.success(request, _(PERIOD_DONE[action]))
            return redirect("performance:period_detail", period.pk)
    calibration_view = selectors.calibration_view(viewer=viewer, period_id=period.pk)
    spec = _spec(period.version)
    rows = [_row_view(c) for c in team.scorecards]
    summary = {"people": len(rows), "average": team.average, "coaching": sum(r["coaching"] for r in rows),
               "incentive": sum(r["incentive"] for r in rows)}
    search = request.GET.get("q", "").strip()[:100]
    rows = _matching(rows, search)
    sort = request.GET.get("sort", "rank")
    if sort == "name":
        rows.sort(key=lambda r: str(r["person"]))
    elif sort == "-total":
        rows.sort(key=lambda r: (r["total"] is None, -(r["total"] or 0)))
    grades = _grades(spec, calibration_view.before, calibration_view.after)
    current = STEPS.index(PeriodStatus(period.status))
    return render(request, "performance/period.html", {
        "period": _period_view(period), "page": paginate(request, rows), "q": search, "grades": grades,
        "action_error": action_error, "chart": distribution_chart(grades, (_("Computed"), _("After calibration"))),
        "summary": summary,
        "steps": [{"label": step.label, "current": i == current} for i, step in enumerate(STEPS)],
        "actions": _period_actions(viewer, period), "may_export": viewer.can_export,
    }, status=422 if action_error else 200)


@page_view()
def period_export(request: HttpRequest, period_id: int) -> HttpResponse:
    """The period's results for payroll, as CSV or Excel (the export right, granted person by person; audited)."""
    from kamguard.core.io.formats import CONTENT_TYPES, Format

    viewer = _viewer(request)
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    period = selectors.period_get(viewer=viewer, period_id=period_id)
    data, filename, _rows = services.payroll_export(actor=viewer, period_id=period.pk, fmt=fmt)
    response = HttpResponse(data, content_type=CONTENT_TYPES[Format(fmt)])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- calibration -------------------------------------------------------------------------------------------------

def _matches(user: User, search: str) -> bool:
    return not search or search.lower() in f"{user.full_name} {user.username}".lower()


def _matching(rows: list[dict[str, Any]], search: str) -> list[dict[str, Any]]:
    return [r for r in rows if _matches(r["person"], search)]


def _calibration_place(viewer: User, period_id: int, card_id: int) -> str:
    """The calibration page where the card now is (a calibration can move it in the ranking, so to another page)."""
    from kamguard.core.pages import PAGE_SIZE

    rows = selectors.calibration_view(viewer=viewer, period_id=period_id).rows
    index = next((i for i, r in enumerate(rows) if r.scorecard.pk == card_id), 0)
    return f"/performance/periods/{period_id}/calibration/?page={index // PAGE_SIZE + 1}#card-{card_id}"


@page_view()
def calibration(request: HttpRequest, period_id: int) -> HttpResponse:
    """Everyone in the period, computed against calibrated, with a form per person. POST: card + the form."""
    viewer = _viewer(request)
    view = selectors.calibration_view(viewer=viewer, period_id=period_id)
    period = view.period
    spec = _spec(period.version)
    choices = list(_dimension_names(spec).items())
    may, why_not = _calibration_open(viewer, period)
    posted = 0
    bound: CalibrationForm | None = None
    if request.method == "POST":
        card_text = request.POST.get("card", "")
        posted = _posted_id(card_text)
        if posted not in {row.scorecard.pk for row in view.rows}:
            raise NotFound()
        if not may:
            raise PermissionRefused(why_not, extra={"right": "performance.calibrate"})
        bound = CalibrationForm(request.POST, dimensions=choices, prefix=f"c{posted}")
        if bound.is_valid():
            try:
                services.calibration_record(actor=viewer, scorecard_id=posted,
                                            dimension=bound.cleaned_data["dimension"],
                                            after=bound.cleaned_data["after"], reason=bound.cleaned_data["reason"])
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                form_apply_error(bound, exc)
            else:
                messages.success(request, _("Calibration recorded."))
                return redirect(_calibration_place(viewer, period.pk, posted))
    names = _dimension_names(spec)
    search = request.GET.get("q", "").strip()[:100]
    page = paginate(request, [r for r in view.rows if _matches(r.scorecard.user, search)])
    rows = []
    for row in page.object_list:
        card = row.scorecard
        item = _row_view(card)
        item["computed_grade"] = row.computed_grade
        item["calibrations"] = [_calibration_view(c, names) for c in row.entries]
        if may and card.user_id != viewer.pk:
            item["form"] = bound if card.pk == posted and bound is not None else CalibrationForm(
                dimensions=choices, prefix=f"c{card.pk}")
        rows.append(item)
    grades = _grades(spec, view.before, view.after)
    return render(request, "performance/calibration.html", {
        "period": _period_view(period), "rows": rows, "page": page, "q": search, "grades": grades,
        "may_calibrate": may, "why_not": why_not,
        "stage": period.get_calibration_stage_display() if period.calibration_stage else "",
        "chart": distribution_chart(grades, (_("Computed"), _("After calibration"))),
    }, status=422 if bound is not None else 200)


# --- a scorecard -------------------------------------------------------------------------------------------------

CARD_ACTIONS = ("manual", "feedback", "acknowledge", "appeal", "resolve", "plan", "followup", "close")
_ANCHOR = {"manual": "dimensions", "feedback": "feedback", "acknowledge": "response", "appeal": "response",
           "resolve": "response", "plan": "improvement", "followup": "improvement", "close": "improvement"}


def _manual_dimensions(spec: Any) -> list[dict[str, Any]]:
    return [{"code": d.code, "name": _pick(d, "name"),
             "rubric": [{"score": _fmt(_dec(level.score)), "text": _pick(level, "text")} for level in d.rubric]}
            for d in spec.dimensions if d.kind == "manual"]


def _card_forms(viewer: User, card: Scorecard, spec: Any, allowed: set[str], bound: dict[str, Any]
                ) -> dict[str, Any]:
    """The forms the viewer may use on this scorecard now (the services decide again on submit)."""
    out: dict[str, Any] = {}
    if "manual" in allowed and _manual_dimensions(spec):
        out["manual_form"] = bound.get("manual") or ManualScoresForm(
            dimensions=_manual_dimensions(spec), initial=dict(card.manual_scores or {}))
    if "feedback" in allowed:
        out["feedback_form"] = bound.get("feedback") or FeedbackForm(
            initial={"held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    if "acknowledge" in allowed:
        out["ack_form"] = bound.get("acknowledge") or AcknowledgeForm()
    if "appeal" in allowed:
        out["appeal_form"] = bound.get("appeal") or AppealForm()
    if "resolve" in allowed:
        out["resolve_form"] = bound.get("resolve") or AppealResolveForm()
    if "plan" in allowed:
        today = timezone.localdate()
        out["plan_form"] = bound.get("plan") or ImprovementPlanForm(
            initial={"start": today, "end": today + dt.timedelta(days=90)})
    if "followup" in allowed:
        out["followup_form"] = bound.get("followup") or FollowUpForm(initial={"on": timezone.localdate()})
    if "close" in allowed:
        out["close_form"] = bound.get("close") or PlanCloseForm()
    out["may_calibrate"] = "calibrate" in allowed
    return out


def _manual_save(viewer: User, card: Scorecard, form: ManualScoresForm) -> None:
    """Each manual score that changed, through the service, all or none; an error lands on its dimension."""
    current = {code: _dec(value) for code, value in (card.manual_scores or {}).items()}
    with transaction.atomic():
        failed = False
        for code, score in form.scores().items():
            if current.get(code) == score:
                continue
            try:
                services.scorecard_manual_score(actor=viewer, scorecard_id=card.pk, dimension=code, score=score)
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                for problems in exc.field_errors.values():
                    for message in problems:
                        form.add_error(code, message)
                if not exc.field_errors:
                    form.add_error(code, str(exc.message))
                failed = True
        if failed:
            raise _Shown()


class _Shown(DomainError):
    """The errors are on the form already (and the transaction rolled back)."""

    status = 422


def _card_post(request: HttpRequest, viewer: User, card: Scorecard, spec: Any, action: str) -> Any:
    """Runs one action: None when done, else the bound form carrying the errors."""
    data = request.POST
    form: Any
    if action == "manual":
        form = ManualScoresForm(data, dimensions=_manual_dimensions(spec))
        def call(f: Any) -> None:
            _manual_save(viewer, card, f)
        done = _("Scores saved; the total was computed again.")
    elif action == "feedback":
        form = FeedbackForm(data)
        def call(f: Any) -> None:
            services.feedback_record(actor=viewer, scorecard_id=card.pk, held_at=f.cleaned_data["held_at"],
                                     notes=f.cleaned_data["notes"])
        done = _("Feedback meeting recorded.")
    elif action == "acknowledge":
        form = AcknowledgeForm(data)
        def call(f: Any) -> None:
            services.scorecard_acknowledge(actor=viewer, scorecard_id=card.pk, comment=f.cleaned_data["comment"])
        done = _("You acknowledged the result.")
    elif action == "appeal":
        form = AppealForm(data)
        def call(f: Any) -> None:
            services.appeal_file(actor=viewer, scorecard_id=card.pk, text=f.cleaned_data["text"])
        done = _("Appeal filed: the director will answer it.")
    elif action == "resolve":
        form = AppealResolveForm(data)
        appeal = card.appeals.filter(status=AppealStatus.OPEN).first()
        def call(f: Any) -> None:
            services.appeal_resolve(actor=viewer, appeal_id=appeal.pk if appeal else 0,
                                    decision=f.cleaned_data["decision"], total=f.cleaned_data["total"],
                                    reason=f.cleaned_data["reason"])
        done = _("Appeal answered.")
    elif action == "plan":
        form = ImprovementPlanForm(data)
        def call(f: Any) -> None:
            services.improvement_plan_start(actor=viewer, scorecard_id=card.pk, goals=f.cleaned_data["goals"],
                                            start=f.cleaned_data["start"], end=f.cleaned_data["end"])
        done = _("Improvement plan started.")
    elif action == "close":
        form = PlanCloseForm(data)
        active = card.improvement_plans.filter(status=PlanStatus.ACTIVE).order_by("-created_at").first()
        def call(f: Any) -> None:
            services.improvement_plan_close(actor=viewer, plan_id=active.pk if active else 0,
                                            outcome=f.cleaned_data["outcome"])
        done = _("Improvement plan closed.")
    else:
        form = FollowUpForm(data)
        plan = card.improvement_plans.filter(status=PlanStatus.ACTIVE).order_by("-created_at").first()
        def call(f: Any) -> None:
            services.follow_up_add(actor=viewer, plan_id=plan.pk if plan else 0, on=f.cleaned_data["on"],
                                   progress=f.cleaned_data["progress"], notes=f.cleaned_data["notes"])
        done = _("Follow-up recorded.")
    if form.is_valid():
        try:
            call(form)
        except _Shown:
            pass
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, done)
            return None
    return form


@page_view()
def scorecard_detail(request: HttpRequest, scorecard_id: int) -> HttpResponse:
    """A scorecard. POST `action`: manual, feedback, acknowledge, appeal, resolve, plan, followup."""
    viewer = _viewer(request)
    card = selectors.scorecard_get(viewer=viewer, scorecard_id=scorecard_id)
    spec = _spec(card.period.version)
    allowed = scorecard_actions(viewer, card)
    bound: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in CARD_ACTIONS:
            messages.error(request, _("Unknown action."))
            return redirect("performance:scorecard_detail", card.pk)
        if action not in allowed:
            raise PermissionRefused(_("You may not do this on this scorecard now."),
                                    extra={"right": f"performance.{action}"})
        form = _card_post(request, viewer, card, spec, action)
        if form is None:
            return redirect(f"/performance/scorecards/{card.pk}/#{_ANCHOR[action]}")
        bound[action] = form
    detail = selectors.scorecard_detail(viewer=viewer, scorecard_id=scorecard_id)
    card = detail.scorecard
    allowed = scorecard_actions(viewer, card)
    ranked_of = Scorecard.objects.filter(period_id=card.period_id, rank__isnull=False).count()
    context = {"card": _card_view(detail, spec, ranked_of), **_card_forms(viewer, card, spec, allowed, bound),
               "sees_period": card.user_id != viewer.pk and (_may_run_periods(viewer) or
                                                            selectors.may_read_all(viewer))}
    return render(request, "performance/scorecard.html", context, status=422 if bound else 200)


# --- trends ------------------------------------------------------------------------------------------------------

@page_view()
def person_trend(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = _viewer(request)
    cards = list(selectors.scorecard_list(viewer=viewer, user_id=user_id).select_related("period__version")[:12])
    if not cards and user_id != viewer.pk:
        raise NotFound()
    person = cards[0].user if cards else viewer
    cards.reverse()
    rows = [dict(_row_view(c), period=_period_view(c.period)) for c in cards]
    chart = line_chart([r["period"]["label"] for r in rows], [(_("Total"), [c.final_total for c in cards])])
    return render(request, "performance/trend.html", {
        "title": _("%(person)s · trend") % {"person": person}, "rows": rows, "chart": chart, "person": person})


@page_view()
def team_trend(request: HttpRequest, team_id: int) -> HttpResponse:
    viewer = _viewer(request)
    if not (_may_run_periods(viewer) or selectors.may_read_all(viewer)):
        raise PermissionRefused(_("Only supervisors, HR and auditors see a team's scorecards."),
                                extra={"right": "performance.team"})
    periods = list(selectors.period_list(viewer=viewer, team_id=team_id)[:12])
    if not periods:
        raise NotFound()
    periods.reverse()
    rows = []
    for period in periods:
        totals = [c.final_total for c in selectors.scorecard_list(viewer=viewer, period_id=period.pk)
                  if c.final_total is not None]
        rows.append(dict(_period_view(period), people=len(totals),
                         average=selectors.average_of(totals),
                         best=max(totals) if totals else None, worst=min(totals) if totals else None))
    chart = line_chart([r["label"] for r in rows], [(_("Team average"), [r["average"] for r in rows]),
                                                    (_("Best"), [r["best"] for r in rows]),
                                                    (_("Lowest"), [r["worst"] for r in rows])])
    team = periods[-1].team
    return render(request, "performance/team_trend.html", {
        "title": _("%(team)s · trend") % {"team": team.name if team else ""}, "rows": rows, "chart": chart})


# --- schemes -----------------------------------------------------------------------------------------------------

@page_view()
def scheme_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    schemes = selectors.scheme_list(viewer=viewer)
    rows = []
    for scheme in schemes:
        version = scheme.current_version
        spec = _spec(version) if version else None
        rows.append({"scheme": scheme, "name": scheme.name_in(get_language()), "version": version,
                     "period_type": _period_type_label(scheme.period_type),
                     "dimensions": len(spec.dimensions) if spec else 0})
    from kamguard.performance.domain import PRESETS

    presets = [{"code": p.code, "name": _pick(p, "name"), "period_type": _period_type_label(p.period_type),
                "dimensions": "、".join(_pick(d, "name") for d in p.dimensions)} for p in PRESETS]
    return render(request, "performance/schemes.html", {"rows": rows, "presets": presets,
                                                        "may_edit": services.may_manage_schemes(viewer)})


def _unit_label(unit: str) -> str:
    return {"%": "%", "count": _("a count"), "CNY": _("yuan (CNY)"), "score": _("a score of 0 to 100")}.get(unit, unit)


def _period_type_label(kind: str) -> str:
    return {"month": _("monthly"), "quarter": _("quarterly"), "half_year": _("half-yearly"),
            "year": _("yearly")}.get(kind, kind)


def _spec_view(spec: Any) -> dict[str, Any]:
    dims = []
    for d in spec.dimensions:
        dims.append({"code": d.code, "name": _pick(d, "name"), "weight": d.weight, "kind": d.kind,
                     "formula": d.formula, "description": _pick(d, "description"),
                     "metrics": [_metric_name(c) for c in _formula_metrics(d)],
                     "bands": [{"min": b.min_value, "score": b.score} for b in d.bands],
                     "rubric": [{"score": r.score, "text": _pick(r, "text")} for r in d.rubric]})
    return {"name": _pick(spec, "name"), "period_type": _period_type_label(spec.period_type),
            "presentation": _("100-point form (points per dimension)") if spec.presentation == "points"
            else _("percentage form (score per dimension)"),
            "dims": dims, "coaching_below": spec.coaching_below, "incentive_from": spec.incentive_from,
            "grades": [{"grade": g.grade, "min_total": g.min_total, "label": _pick(g, "label")} for g in spec.grades]}


@page_view()
def scheme_detail(request: HttpRequest, scheme_id: int, number: int | None = None) -> HttpResponse:
    viewer = _viewer(request)
    scheme = selectors.scheme_get(viewer=viewer, scheme_id=scheme_id)
    if request.method == "POST":
        if request.POST.get("action") != "activate":
            messages.error(request, _("Unknown action."))
            return redirect("performance:scheme_detail", scheme.pk)
        version_text = request.POST.get("version", "")
        version_id = _posted_id(version_text)
        if not scheme.versions.filter(pk=version_id).exists():
            raise NotFound()
        services.scheme_version_activate(actor=viewer, version_id=version_id)
        messages.success(request, _("This is now the current version."))
        return redirect("performance:scheme_detail", scheme.pk)
    versions = list(scheme.versions.select_related("created_by").order_by("-number"))
    version = next((v for v in versions if v.number == number), None) if number else scheme.current_version
    if version is None:
        raise NotFound()
    return render(request, "performance/scheme.html", {
        "scheme": scheme, "name": scheme.name_in(get_language()), "version": version, "versions": versions,
        "spec": _spec_view(_spec(version)), "may_edit": services.may_manage_schemes(viewer)})


_PATH = re.compile(r"^(dimensions|grades)\[(\d+)\](?:\.(.*))?$")


def _spec_error_lines(exc: DomainError, submitted: dict[str, Any]) -> list[str]:
    """A scheme's errors, each naming its place in words ("Dimension 3 (客户管理) · formula: …"), in the viewer's
    language (the services give the messages in it)."""
    lines = []
    for field, items in exc.field_errors.items():
        place = _spec_place(field, submitted)
        lines += [f"{place}: {message}" if place else str(message) for message in items]
    return lines


def _spec_place(field: str, submitted: dict[str, Any]) -> str:
    if field in ("spec", "__all__", ""):
        return ""
    match = _PATH.match(field)
    if not match:
        return field
    kind, index, rest = match.group(1), int(match.group(2)), match.group(3) or ""
    found = submitted.get(kind)
    items: list[Any] = found if isinstance(found, list) else []
    item = items[index] if index < len(items) and isinstance(items[index], dict) else {}
    if kind == "dimensions":
        name = str(item.get("name_zh" if _zh() else "name_en") or item.get("code") or "")
        head = _("Dimension %(n)s") % {"n": index + 1} + (f" ({name})" if name else "")
    else:
        head = _("Grade %(n)s") % {"n": index + 1} + (f" ({item.get('grade')})" if item.get("grade") else "")
    return f"{head} · {rest}" if rest else head


@page_view()
def scheme_version_create(request: HttpRequest, scheme_id: int | None = None) -> HttpResponse:
    """A new version of a scheme (or a new scheme, from a preset), written as the scheme's JSON."""
    from kamguard.performance.domain import PRESETS, spec_to_dict

    viewer = _viewer(request)
    if not services.may_manage_schemes(viewer):
        raise PermissionRefused(_("Only HR and administrators change assessment schemes."),
                                extra={"right": "performance.schemes"})
    scheme: Scheme | None = None
    if scheme_id is not None:
        scheme = selectors.scheme_get(viewer=viewer, scheme_id=scheme_id)
        start = scheme.current_version.spec if scheme.current_version else {}
    else:
        preset = next((p for p in PRESETS if p.code == request.GET.get("preset")), PRESETS[0])
        start = spec_to_dict(preset)
        start["code"] = f"{preset.code}_custom"
    form = SchemeVersionForm(request.POST or None, initial={"spec": json.dumps(start, ensure_ascii=False, indent=2)})
    spec_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            if scheme is None:
                created = services.scheme_create(actor=viewer, spec=form.cleaned_data["spec"],
                                                 note=form.cleaned_data["note"])
                messages.success(request, _("Scheme created with its version 1."))
                return redirect("performance:scheme_detail", created.pk)
            version = services.scheme_version_create(actor=viewer, scheme_id=scheme.pk, spec=form.cleaned_data["spec"],
                                                     note=form.cleaned_data["note"],
                                                     activate=form.cleaned_data["activate"])
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            spec_errors = _spec_error_lines(exc, form.cleaned_data["spec"])
            form.add_error("spec", str(exc.message))
        else:
            messages.success(request, _("Version %(n)s saved. Periods opened from now on use the current version; "
                                        "running periods keep theirs.") % {"n": version.number})
            return redirect("performance:scheme_version", version.scheme_id, version.number)
    defs = _metric_defs()
    return render(request, "performance/scheme_form.html", {
        "form": form, "scheme": scheme, "spec_errors": spec_errors,
        "name": scheme.name_in(get_language()) if scheme else "",
        "metrics": [{"code": code, "name": _metric_name(code), "unit": _unit_label(d.unit)} for code, d in defs.items()],
        "presets": [(p.code, _pick(p, "name")) for p in PRESETS],
    }, status=422 if request.method == "POST" else 200)


