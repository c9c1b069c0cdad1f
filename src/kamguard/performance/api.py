"""HTTP API of performance management: the same services and selectors as the pages.

Schemes and versions (create with field errors, activate), periods (create, score, hand calibration to the
director, release for feedback, sign off, the team's ranking and grade distribution, the calibration view, the
payroll export), scorecards (yours and those you supervise; the detail explains every dimension in the request's
language), manual scores, calibrations, feedback meetings, acknowledgement or appeal, appeal resolution,
improvement plans and follow-ups, a person's trend. Schema names start with "Perf" (unique across the project).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.core.errors import NotFound
from kamguard.performance import selectors, services
from kamguard.performance.models import (
    Appeal,
    Calibration,
    FeedbackMeeting,
    FollowUp,
    ImprovementPlan,
    Period,
    Scheme,
    SchemeVersion,
    Scorecard,
)

router = Router(tags=["Performance"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


class PerfPageQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- schemes


class PerfVersionOut(Schema):
    id: int
    number: int
    note: str
    created_by_id: int | None
    created_at: dt.datetime
    spec: dict[str, Any]


class PerfSchemeOut(Schema):
    id: int
    code: str
    name_en: str
    name_zh: str
    period_type: str
    is_active: bool
    is_preset: bool
    current_version: int | None


class PerfSchemeDetailOut(PerfSchemeOut):
    versions: list[PerfVersionOut]


def _scheme_out(s: Scheme) -> PerfSchemeOut:
    return PerfSchemeOut(id=s.pk, code=s.code, name_en=s.name_en, name_zh=s.name_zh, period_type=s.period_type,
                         is_active=s.is_active, is_preset=s.is_preset,
                         current_version=s.current_version.number if s.current_version else None)


def _version_out(v: SchemeVersion) -> PerfVersionOut:
    return PerfVersionOut(id=v.pk, number=v.number, note=v.note, created_by_id=v.created_by_id,
                          created_at=v.created_at, spec=v.spec)


def _scheme_detail(viewer: Any, scheme_id: int) -> PerfSchemeDetailOut:
    scheme = selectors.scheme_get(viewer=viewer, scheme_id=scheme_id)
    return PerfSchemeDetailOut(**_scheme_out(scheme).model_dump(),
                               versions=[_version_out(v) for v in selectors.scheme_versions(scheme=scheme)])


@router.get("/schemes", response={200: Page[PerfSchemeOut], **ERRORS}, summary="Assessment schemes")
def scheme_list(request: HttpRequest, query: Query[PerfPageQuery]) -> Any:
    qs = selectors.scheme_list(viewer=api_viewer(request))
    return keyset_page(qs, cursor=query.cursor, limit=query.limit, order=("code", "pk"), serialize=_scheme_out)


class PerfSchemeIn(Schema):
    spec: dict[str, Any] = Field(..., description="The scheme: code, names, period_type, presentation, dimensions "
                                                  "(weights adding to 100, formula or manual with rubric), grades, "
                                                  "coaching_below, incentive_from")
    note: str = Field("", max_length=500)


@router.post("/schemes", response={201: PerfSchemeDetailOut, **ERRORS},
             summary="Create a scheme with its first version (HR, administrators); errors name each field")
def scheme_create(request: HttpRequest, payload: PerfSchemeIn) -> Any:
    viewer = api_viewer(request)
    scheme = services.scheme_create(actor=viewer, spec=payload.spec, note=payload.note)
    return Status(201, _scheme_detail(viewer, scheme.pk))


@router.get("/schemes/{int:scheme_id}", response={200: PerfSchemeDetailOut, **ERRORS},
            summary="A scheme with its versions")
def scheme_get(request: HttpRequest, scheme_id: int) -> Any:
    return _scheme_detail(api_viewer(request), scheme_id)


class PerfVersionIn(PerfSchemeIn):
    activate: bool = False


@router.post("/schemes/{int:scheme_id}/versions", response={201: PerfVersionOut, **ERRORS},
             summary="Add a version (running periods keep theirs); activate it now or later")
def version_create(request: HttpRequest, scheme_id: int, payload: PerfVersionIn) -> Any:
    viewer = api_viewer(request)
    version = services.scheme_version_create(actor=viewer, scheme_id=scheme_id, spec=payload.spec,
                                             note=payload.note, activate=payload.activate)
    return Status(201, _version_out(version))


@router.post("/schemes/{int:scheme_id}/versions/{int:version_id}/activate",
             response={200: PerfSchemeDetailOut, **ERRORS}, summary="Make a version the one new periods use")
def version_activate(request: HttpRequest, scheme_id: int, version_id: int) -> Any:
    viewer = api_viewer(request)
    if not SchemeVersion.objects.filter(pk=version_id, scheme_id=scheme_id).exists():
        raise NotFound()
    services.scheme_version_activate(actor=viewer, version_id=version_id)
    return _scheme_detail(viewer, scheme_id)


# ---------------------------------------------------------------- periods


class PerfPeriodOut(Schema):
    id: int
    scheme_id: int
    scheme_code: str
    version: int
    team_id: int | None
    department_id: int
    start: dt.date
    end: dt.date
    status: str
    calibration_stage: str
    scored_at: dt.datetime | None
    released_at: dt.datetime | None
    signed_off_at: dt.datetime | None


def _period_out(p: Period) -> PerfPeriodOut:
    return PerfPeriodOut(id=p.pk, scheme_id=p.scheme_id, scheme_code=p.scheme.code, version=p.version.number,
                         team_id=p.team_id, department_id=p.department_id, start=p.start, end=p.end, status=p.status,
                         calibration_stage=p.calibration_stage, scored_at=p.scored_at, released_at=p.released_at,
                         signed_off_at=p.signed_off_at)


class PerfPeriodQuery(PerfPageQuery):
    status: Literal["open", "scored", "calibrating", "feedback", "signed_off", ""] = ""
    team_id: int | None = None
    scheme_id: int | None = None


@router.get("/periods", response={200: Page[PerfPeriodOut], **ERRORS},
            summary="Assessment periods you run, supervise or were assessed in (newest first)")
def period_list(request: HttpRequest, query: Query[PerfPeriodQuery]) -> Any:
    qs = selectors.period_list(viewer=api_viewer(request), status=query.status, team_id=query.team_id,
                               scheme_id=query.scheme_id)
    return keyset_page(qs, cursor=query.cursor, limit=query.limit, order=("-start", "-pk"), serialize=_period_out)


class PerfPeriodIn(Schema):
    scheme_id: int
    day: dt.date = Field(..., description="Any day of the period (its month, quarter, half-year or year)")
    team_id: int | None = None
    department_id: int | None = None


@router.post("/periods", response={201: PerfPeriodOut, **ERRORS},
             summary="Open a period for a team or a department (a supervisor over it)")
def period_create(request: HttpRequest, payload: PerfPeriodIn) -> Any:
    viewer = api_viewer(request)
    period = services.period_create(actor=viewer, scheme_id=payload.scheme_id, day=payload.day,
                                    team_id=payload.team_id, department_id=payload.department_id)
    return Status(201, _period_out(selectors.period_get(viewer=viewer, period_id=period.pk)))


@router.get("/periods/{int:period_id}", response={200: PerfPeriodOut, **ERRORS}, summary="One period")
def period_get(request: HttpRequest, period_id: int) -> Any:
    return _period_out(selectors.period_get(viewer=api_viewer(request), period_id=period_id))


def _period_step(request: HttpRequest, period_id: int, step: Any) -> PerfPeriodOut:
    viewer = api_viewer(request)
    step(actor=viewer, period_id=period_id)
    return _period_out(selectors.period_get(viewer=viewer, period_id=period_id))


@router.post("/periods/{int:period_id}/score", response={200: PerfPeriodOut, **ERRORS},
             summary="Compute the metrics and score every member (again, until calibration starts)")
def period_score(request: HttpRequest, period_id: int) -> Any:
    return _period_step(request, period_id, services.period_score)


@router.post("/periods/{int:period_id}/calibration-submit", response={200: PerfPeriodOut, **ERRORS},
             summary="The supervisor's calibration is finished: hand over to the director")
def period_calibration_submit(request: HttpRequest, period_id: int) -> Any:
    return _period_step(request, period_id, services.period_calibration_submit)


@router.post("/periods/{int:period_id}/release", response={200: PerfPeriodOut, **ERRORS},
             summary="The director releases the results for the feedback meetings")
def period_release(request: HttpRequest, period_id: int) -> Any:
    return _period_step(request, period_id, services.period_release)


@router.post("/periods/{int:period_id}/sign-off", response={200: PerfPeriodOut, **ERRORS},
             summary="Sign the period off: its results are frozen")
def period_sign_off(request: HttpRequest, period_id: int) -> Any:
    return _period_step(request, period_id, services.period_sign_off)


class PerfScorecardOut(Schema):
    id: int
    period_id: int
    user_id: int
    user_name: str
    status: str
    computed_total: Decimal | None
    calibrated_total: Decimal | None
    final_total: Decimal | None
    grade: str
    rank: int | None
    complete: bool
    coaching: bool
    incentive: bool
    scored_at: dt.datetime | None


def _card_out(c: Scorecard) -> PerfScorecardOut:
    return PerfScorecardOut(id=c.pk, period_id=c.period_id, user_id=c.user_id, user_name=str(c.user),
                            status=c.status, computed_total=c.computed_total, calibrated_total=c.calibrated_total,
                            final_total=c.final_total, grade=c.grade, rank=c.rank, complete=c.complete,
                            coaching=c.coaching, incentive=c.incentive, scored_at=c.scored_at)


class PerfGradeShareOut(Schema):
    grade: str
    label: str
    count: int
    share: Decimal


class PerfTeamOut(Schema):
    period: PerfPeriodOut
    scorecards: list[PerfScorecardOut]
    distribution: list[PerfGradeShareOut]
    average: Decimal | None


def _shares(items: list[selectors.GradeShare]) -> list[PerfGradeShareOut]:
    return [PerfGradeShareOut(grade=g.grade, label=g.label, count=g.count, share=g.share) for g in items]


@router.get("/periods/{int:period_id}/team", response={200: PerfTeamOut, **ERRORS},
            summary="The team's scorecards ranked, with the grade distribution")
def period_team(request: HttpRequest, period_id: int) -> Any:
    view = selectors.team_view(viewer=api_viewer(request), period_id=period_id)
    return PerfTeamOut(period=_period_out(view.period), scorecards=[_card_out(c) for c in view.scorecards],
                       distribution=_shares(view.distribution), average=view.average)


class PerfCalibrationOut(Schema):
    id: int
    scorecard_id: int
    dimension: str
    before: Decimal | None
    after: Decimal
    total_before: Decimal | None
    total_after: Decimal | None
    grade_before: str
    grade_after: str
    reason: str
    role: str
    by_id: int
    at: dt.datetime


def _calibration_out(e: Calibration) -> PerfCalibrationOut:
    return PerfCalibrationOut(id=e.pk, scorecard_id=e.scorecard_id, dimension=e.dimension, before=e.before,
                              after=e.after, total_before=e.total_before, total_after=e.total_after,
                              grade_before=e.grade_before, grade_after=e.grade_after, reason=e.reason, role=e.role,
                              by_id=e.by_id, at=e.at)


class PerfCalibrationRowOut(Schema):
    scorecard: PerfScorecardOut
    computed_total: Decimal | None
    computed_grade: str
    final_total: Decimal | None
    grade: str
    entries: list[PerfCalibrationOut]


class PerfCalibrationViewOut(Schema):
    period: PerfPeriodOut
    stage: str
    rows: list[PerfCalibrationRowOut]
    before: list[PerfGradeShareOut]
    after: list[PerfGradeShareOut]


@router.get("/periods/{int:period_id}/calibration", response={200: PerfCalibrationViewOut, **ERRORS},
            summary="Before and after calibration per person, and both grade distributions")
def period_calibration(request: HttpRequest, period_id: int) -> Any:
    view = selectors.calibration_view(viewer=api_viewer(request), period_id=period_id)
    return PerfCalibrationViewOut(
        period=_period_out(view.period), stage=view.stage, before=_shares(view.before), after=_shares(view.after),
        rows=[PerfCalibrationRowOut(scorecard=_card_out(r.scorecard), computed_total=r.computed_total,
                                    computed_grade=r.computed_grade, final_total=r.final_total, grade=r.grade,
                                    entries=[_calibration_out(e) for e in r.entries]) for r in view.rows])


class PerfExportQuery(Schema):
    format: Literal["csv", "xlsx"] = "csv"


@router.get("/periods/{int:period_id}/export", response={200: None, **ERRORS},
            summary="Payroll export: person, external id, period, final total, grade, flags (CSV or XLSX)",
            description="Needs the export right. The export is audited.")
def period_export(request: HttpRequest, period_id: int, query: Query[PerfExportQuery]) -> HttpResponse:
    from kamguard.core.io.formats import CONTENT_TYPES, Format

    data, filename, rows = services.payroll_export(actor=api_viewer(request), period_id=period_id, fmt=query.format)
    response = HttpResponse(data, content_type=CONTENT_TYPES[Format(query.format)])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Export-Rows"] = str(rows)
    return response


# ---------------------------------------------------------------- scorecards


class PerfScorecardQuery(PerfPageQuery):
    period_id: int | None = None
    user_id: int | None = None
    mine: bool = False


@router.get("/scorecards", response={200: Page[PerfScorecardOut], **ERRORS},
            summary="Scorecards: yours (once released) and those of the people you supervise")
def scorecard_list(request: HttpRequest, query: Query[PerfScorecardQuery]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.scorecard_list(viewer=viewer, period_id=query.period_id,
                                  user_id=viewer.pk if query.mine else query.user_id)
    return keyset_page(qs, cursor=query.cursor, limit=query.limit, order=("-period_id", "pk"), serialize=_card_out)


class PerfMetricOut(Schema):
    code: str
    name: str
    unit: str
    value: Decimal | None
    explanation: str


class PerfDimensionOut(Schema):
    code: str
    name: str
    kind: str
    weight: Decimal
    value: Decimal | None
    score: Decimal | None
    calibrated_score: Decimal | None
    points: Decimal | None
    band: str
    explanation: str
    no_data: bool
    metrics: list[PerfMetricOut]


class PerfMeetingOut(Schema):
    id: int
    held_at: dt.datetime
    by_id: int
    notes: str


class PerfAppealOut(Schema):
    id: int
    scorecard_id: int
    text: str
    filed_at: dt.datetime
    status: str
    resolved_by_id: int | None
    resolved_at: dt.datetime | None
    resolution: str
    total_before: Decimal | None
    total_after: Decimal | None


class PerfFollowUpOut(Schema):
    id: int
    on: dt.date
    notes: str
    progress: int
    by_id: int


class PerfPlanOut(Schema):
    id: int
    scorecard_id: int
    user_id: int
    goals: str
    start: dt.date
    end: dt.date
    status: str
    started_by_id: int
    outcome: str
    follow_ups: list[PerfFollowUpOut]


class PerfScorecardDetailOut(PerfScorecardOut):
    scheme_name: str
    presentation: str
    grade_label: str
    reweighted: bool
    acknowledged: bool
    dimensions: list[PerfDimensionOut]
    calibrations: list[PerfCalibrationOut]
    meetings: list[PerfMeetingOut]
    appeals: list[PerfAppealOut]
    improvement_plans: list[PerfPlanOut]


def _meeting_out(m: FeedbackMeeting) -> PerfMeetingOut:
    return PerfMeetingOut(id=m.pk, held_at=m.held_at, by_id=m.by_id, notes=m.notes)


def _appeal_out(a: Appeal) -> PerfAppealOut:
    return PerfAppealOut(id=a.pk, scorecard_id=a.scorecard_id, text=a.text, filed_at=a.filed_at, status=a.status,
                         resolved_by_id=a.resolved_by_id, resolved_at=a.resolved_at, resolution=a.resolution,
                         total_before=a.total_before, total_after=a.total_after)


def _follow_up_out(f: FollowUp) -> PerfFollowUpOut:
    return PerfFollowUpOut(id=f.pk, on=f.on, notes=f.notes, progress=f.progress, by_id=f.by_id)


def _plan_out(p: ImprovementPlan) -> PerfPlanOut:
    return PerfPlanOut(id=p.pk, scorecard_id=p.scorecard_id, user_id=p.user_id, goals=p.goals, start=p.start,
                       end=p.end, status=p.status, started_by_id=p.started_by_id, outcome=p.outcome,
                       follow_ups=[_follow_up_out(f) for f in p.follow_ups.all()])


def _detail(viewer: Any, scorecard_id: int) -> PerfScorecardDetailOut:
    d = selectors.scorecard_detail(viewer=viewer, scorecard_id=scorecard_id)
    return PerfScorecardDetailOut(
        **_card_out(d.scorecard).model_dump(), scheme_name=d.scheme_name, presentation=d.presentation,
        grade_label=d.grade_label, reweighted=d.reweighted, acknowledged=d.acknowledged,
        dimensions=[PerfDimensionOut(
            code=x.code, name=x.name, kind=x.kind, weight=x.weight, value=x.value, score=x.score,
            calibrated_score=x.calibrated_score, points=x.points, band=x.band, explanation=x.explanation,
            no_data=x.no_data, metrics=[PerfMetricOut(code=m.code, name=m.name, unit=m.unit, value=m.value,
                                                      explanation=m.explanation) for m in x.metrics])
            for x in d.dimensions],
        calibrations=[_calibration_out(e) for e in d.calibrations], meetings=[_meeting_out(m) for m in d.meetings],
        appeals=[_appeal_out(a) for a in d.appeals], improvement_plans=[_plan_out(p) for p in d.improvement_plans])


@router.get("/scorecards/{int:scorecard_id}", response={200: PerfScorecardDetailOut, **ERRORS},
            summary="A scorecard: each dimension's value, score, band and explanation in your language")
def scorecard_get(request: HttpRequest, scorecard_id: int) -> Any:
    return _detail(api_viewer(request), scorecard_id)


class PerfManualScoreIn(Schema):
    score: Decimal = Field(..., description="0..100, at most two decimals")


@router.put("/scorecards/{int:scorecard_id}/manual-scores/{dimension}",
            response={200: PerfScorecardDetailOut, **ERRORS},
            summary="The supervisor's score of a manual dimension (before calibration)")
def manual_score(request: HttpRequest, scorecard_id: int, dimension: str, payload: PerfManualScoreIn) -> Any:
    viewer = api_viewer(request)
    services.scorecard_manual_score(actor=viewer, scorecard_id=scorecard_id, dimension=dimension[:60],
                                    score=payload.score)
    return _detail(viewer, scorecard_id)


class PerfCalibrationIn(Schema):
    after: Decimal = Field(..., description="The new total (or the dimension's new score), 0..100")
    reason: str = Field("", max_length=10_000)
    dimension: str = Field("", max_length=60, description="Empty: the total")


@router.post("/scorecards/{int:scorecard_id}/calibrations", response={201: PerfCalibrationOut, **ERRORS},
             summary="Calibrate the total or a dimension, with a reason (supervisor first, then the director)")
def calibration_create(request: HttpRequest, scorecard_id: int, payload: PerfCalibrationIn) -> Any:
    entry = services.calibration_record(actor=api_viewer(request), scorecard_id=scorecard_id, after=payload.after,
                                        reason=payload.reason, dimension=payload.dimension)
    return Status(201, _calibration_out(entry))


class PerfFeedbackIn(Schema):
    notes: str = Field("", max_length=10_000)
    held_at: dt.datetime | None = None


@router.post("/scorecards/{int:scorecard_id}/feedback", response={201: PerfMeetingOut, **ERRORS},
             summary="Record the feedback meeting (the person's supervisor, after release)")
def feedback_create(request: HttpRequest, scorecard_id: int, payload: PerfFeedbackIn) -> Any:
    meeting = services.feedback_record(actor=api_viewer(request), scorecard_id=scorecard_id, notes=payload.notes,
                                       held_at=payload.held_at)
    return Status(201, _meeting_out(meeting))


class PerfAcknowledgeIn(Schema):
    comment: str = Field("", max_length=10_000)


@router.post("/scorecards/{int:scorecard_id}/acknowledge", response={200: PerfScorecardDetailOut, **ERRORS},
             summary="Acknowledge your result (after the feedback meeting)")
def scorecard_acknowledge(request: HttpRequest, scorecard_id: int, payload: PerfAcknowledgeIn) -> Any:
    viewer = api_viewer(request)
    services.scorecard_acknowledge(actor=viewer, scorecard_id=scorecard_id, comment=payload.comment)
    return _detail(viewer, scorecard_id)


class PerfAppealIn(Schema):
    text: str = Field("", max_length=10_000)


@router.post("/scorecards/{int:scorecard_id}/appeal", response={201: PerfAppealOut, **ERRORS},
             summary="Appeal your result, saying why (after the feedback meeting)")
def appeal_create(request: HttpRequest, scorecard_id: int, payload: PerfAppealIn) -> Any:
    appeal = services.appeal_file(actor=api_viewer(request), scorecard_id=scorecard_id, text=payload.text)
    return Status(201, _appeal_out(appeal))


class PerfResolveIn(Schema):
    decision: Literal["upheld", "changed"]
    reason: str = Field("", max_length=10_000)
    total: Decimal | None = None


@router.post("/appeals/{int:appeal_id}/resolve", response={200: PerfAppealOut, **ERRORS},
             summary="The director upholds or changes the result, with a reason")
def appeal_resolve(request: HttpRequest, appeal_id: int, payload: PerfResolveIn) -> Any:
    viewer = api_viewer(request)
    if not selectors.scorecard_list(viewer=viewer).filter(appeals__pk=appeal_id).exists():
        raise NotFound()
    appeal = services.appeal_resolve(actor=viewer, appeal_id=appeal_id, decision=payload.decision,
                                     reason=payload.reason, total=payload.total)
    return _appeal_out(appeal)


# ---------------------------------------------------------------- improvement plans, trends


class PerfPlanQuery(PerfPageQuery):
    user_id: int | None = None
    status: Literal["active", "closed", ""] = ""


@router.get("/improvement-plans", response={200: Page[PerfPlanOut], **ERRORS},
            summary="Improvement plans: yours and those of the people you supervise")
def plan_list(request: HttpRequest, query: Query[PerfPlanQuery]) -> Any:
    qs = selectors.improvement_plans(viewer=api_viewer(request), user_id=query.user_id,
                                     status=query.status).prefetch_related("follow_ups")
    return keyset_page(qs, cursor=query.cursor, limit=query.limit, order=("-start", "-pk"), serialize=_plan_out)


class PerfPlanIn(Schema):
    goals: str = Field("", max_length=10_000)
    start: dt.date
    end: dt.date


@router.post("/scorecards/{int:scorecard_id}/improvement-plans", response={201: PerfPlanOut, **ERRORS},
             summary="Start an improvement plan from a released result (the person or their supervisor)")
def plan_create(request: HttpRequest, scorecard_id: int, payload: PerfPlanIn) -> Any:
    viewer = api_viewer(request)
    selectors.scorecard_get(viewer=viewer, scorecard_id=scorecard_id)
    plan = services.improvement_plan_start(actor=viewer, scorecard_id=scorecard_id, goals=payload.goals,
                                           start=payload.start, end=payload.end)
    return Status(201, _plan_out(plan))


@router.get("/improvement-plans/{int:plan_id}", response={200: PerfPlanOut, **ERRORS},
            summary="An improvement plan with its follow-ups")
def plan_get(request: HttpRequest, plan_id: int) -> Any:
    return _plan_out(selectors.improvement_plan_get(viewer=api_viewer(request), plan_id=plan_id))


class PerfFollowUpIn(Schema):
    notes: str = Field("", max_length=10_000)
    progress: int = Field(..., description="0..100")
    on: dt.date | None = None


@router.post("/improvement-plans/{int:plan_id}/follow-ups", response={201: PerfFollowUpOut, **ERRORS},
             summary="Record a follow-up with its progress")
def follow_up_create(request: HttpRequest, plan_id: int, payload: PerfFollowUpIn) -> Any:
    viewer = api_viewer(request)
    selectors.improvement_plan_get(viewer=viewer, plan_id=plan_id)
    item = services.follow_up_add(actor=viewer, plan_id=plan_id, notes=payload.notes, progress=payload.progress,
                                  on=payload.on)
    return Status(201, _follow_up_out(item))


class PerfPlanCloseIn(Schema):
    outcome: str = Field("", max_length=10_000)


@router.post("/improvement-plans/{int:plan_id}/close", response={200: PerfPlanOut, **ERRORS},
             summary="Close an improvement plan with its outcome (the supervisor)")
def plan_close(request: HttpRequest, plan_id: int, payload: PerfPlanCloseIn) -> Any:
    viewer = api_viewer(request)
    selectors.improvement_plan_get(viewer=viewer, plan_id=plan_id)
    services.improvement_plan_close(actor=viewer, plan_id=plan_id, outcome=payload.outcome)
    return _plan_out(selectors.improvement_plan_get(viewer=viewer, plan_id=plan_id))


class PerfTrendOut(Schema):
    period_id: int
    scheme_code: str
    start: dt.date
    end: dt.date
    final_total: Decimal | None
    grade: str
    rank: int | None
    team_size: int


class PerfTrendQuery(Schema):
    scheme_id: int | None = None
    limit: int = Field(12, ge=1, le=60)


@router.get("/people/{int:user_id}/trend", response={200: list[PerfTrendOut], **ERRORS},
            summary="A person's results across periods, oldest first")
def person_trend(request: HttpRequest, user_id: int, query: Query[PerfTrendQuery]) -> Any:
    points = selectors.person_trend(viewer=api_viewer(request), user_id=user_id, scheme_id=query.scheme_id,
                                    limit=query.limit)
    return [PerfTrendOut(period_id=p.period_id, scheme_code=p.scheme_code, start=p.start, end=p.end,
                         final_total=p.final_total, grade=p.grade, rank=p.rank, team_size=p.team_size)
            for p in points]
