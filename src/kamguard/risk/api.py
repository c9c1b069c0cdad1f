"""HTTP API of the risk engine: scores, alerts and investigations, for the people allowed to see them.

Risk is seen by internal auditors and administrators (403 for everyone else); a person never sees alerts or cases
about themselves (404, as for a record that does not exist); a supervisor reads a case once an auditor shares it.
Reviews, cases and penalties are written by auditors only. Every read of an alert's evidence or of a case is
audited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from kamguard.contracts.domain.rules import ATTACHMENT_MAX_BYTES, ATTACHMENT_TYPES
from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page, problem_response
from kamguard.core.errors import NotFound
from kamguard.risk import selectors
from kamguard.risk.domain.config import config_to_mapping
from kamguard.risk.explain import evidence_view
from kamguard.risk.models import Alert, Case, CaseEntry, Penalty, RiskScore, ScanKind, ScanRun
from kamguard.risk.services import access
from kamguard.risk.services import alerts as alert_services
from kamguard.risk.services import cases as case_services
from kamguard.risk.services.config import settings_get, settings_update
from kamguard.risk.services.scan import scan_run

router = Router(tags=["Risk"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 413, 422): ProblemDetail}


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


class RiskEvidenceOut(Schema):
    signal: str
    label: str
    score: float
    contribution: float | None = None
    key: str
    text: str
    numbers: dict[str, Any]
    refs: list[dict[str, Any]]
    series: dict[str, list[float]]
    labels: list[str]


def _evidence(signals: list[dict[str, Any]], contributions: dict[str, float]) -> list[dict[str, Any]]:
    return [evidence_view(item, contributions) for item in signals]


# ---------------------------------------------------------------- scans and scores


class RiskRunOut(Schema):
    id: int
    as_of: dt.date
    kind: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    subjects: int
    alerts_raised: int
    raises_alerts: bool
    settings_version: int
    counts: dict[str, Any]
    message: str


def _run_out(run: ScanRun) -> dict[str, Any]:
    return {"id": run.pk, "as_of": run.as_of, "kind": run.kind, "status": run.status, "started_at": run.started_at,
            "finished_at": run.finished_at, "subjects": run.subjects, "alerts_raised": run.alerts_raised,
            "raises_alerts": run.raises_alerts, "settings_version": run.settings_version, "counts": run.counts,
            "message": run.message}


class RiskScanIn(Schema):
    as_of: dt.date | None = None


@router.post("/scans", response={201: RiskRunOut, **ERRORS}, summary="Scan now (auditors and administrators)",
             description="Evaluates the data as it stood on `as_of` (today by default; nothing after it is used), "
                         "stores the ranked scores and, for today, raises alerts. 422 `no_data`, "
                         "`as_of_before_data` or `as_of_in_future` when it cannot give a result.")
def scan_create(request: HttpRequest, payload: RiskScanIn) -> Any:
    outcome = scan_run(actor=api_viewer(request), as_of=payload.as_of, kind=ScanKind.MANUAL)
    return Status(201, _run_out(outcome.run))


@router.get("/scans", response={200: Page[RiskRunOut], **ERRORS}, summary="Scans, latest first")
def scan_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    access.require_view(viewer)
    return keyset_page(selectors.run_list(viewer=viewer), cursor=params.cursor, limit=params.limit, order=("-pk",),
                       serialize=_run_out)


class RiskScoreOut(Schema):
    rank: int
    subject_type: str
    subject_id: int
    external_id: str
    name: str
    person_id: int | None
    team_id: int | None
    region_id: int | None
    score: float
    rollup: float
    signals: list[RiskEvidenceOut]
    related: list[dict[str, Any]]


def _score_out(s: RiskScore) -> dict[str, Any]:
    return {"rank": s.rank, "subject_type": s.subject_type, "subject_id": s.subject_id, "external_id": s.external_id,
            "name": s.label, "person_id": s.person_id, "team_id": s.team_id, "region_id": s.region_id,
            "score": s.score, "rollup": s.rollup, "signals": _evidence(s.signals, s.contributions),
            "related": s.related}


class RiskScoreFilter(ListParams):
    run_id: int | None = None
    subject_type: str = Field("", pattern="^(|customer|manager|order)$")


@router.get("/scores", response={200: Page[RiskScoreOut], **ERRORS}, summary="The ranked scores of a scan",
            description="The latest full scan unless `run_id` names another; highest score first, each with every "
                        "signal that fired and its evidence.")
def score_list(request: HttpRequest, filters: Query[RiskScoreFilter]) -> Any:
    viewer = api_viewer(request)
    access.require_view(viewer)
    run = selectors.latest_run(raising=False) if filters.run_id is None else \
        selectors.run_list(viewer=viewer).filter(pk=filters.run_id).first()
    if filters.run_id is not None and run is None:
        raise NotFound()
    qs = selectors.score_list(viewer=viewer, run=run, subject_type=filters.subject_type)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("rank",), serialize=_score_out)


# ---------------------------------------------------------------- alerts


class RiskAlertOut(Schema):
    id: int
    subject_type: str
    subject_id: int
    external_id: str
    name: str
    person_id: int | None
    team_id: int | None
    region_id: int | None
    score: float
    peak_score: float
    status: str
    status_reason: str
    first_seen_on: dt.date
    last_seen_on: dt.date
    case_id: int | None
    signals: list[RiskEvidenceOut]


def _alert_out(a: Alert) -> dict[str, Any]:
    return {"id": a.pk, "subject_type": a.subject_type, "subject_id": a.subject_id, "external_id": a.external_id,
            "name": a.label, "person_id": a.person_id, "team_id": a.team_id, "region_id": a.region_id,
            "score": a.score, "peak_score": a.peak_score, "status": a.status, "status_reason": a.status_reason,
            "first_seen_on": a.first_seen_on, "last_seen_on": a.last_seen_on, "case_id": a.case_id,
            "signals": _evidence(a.signals, a.contributions)}


class RiskAlertFilter(ListParams):
    status: str = Field("", pattern="^(|open|suppressed|confirmed|false)$")
    subject_type: str = Field("", pattern="^(|customer|manager|order)$")
    signal: str = Field("", max_length=40)
    team_id: int | None = None
    region_id: int | None = None
    min_score: float | None = Field(None, ge=0, le=1)
    search: str = Field("", max_length=100)


@router.get("/alerts", response={200: Page[RiskAlertOut], **ERRORS}, summary="The alert inbox, highest score first")
def alert_list(request: HttpRequest, filters: Query[RiskAlertFilter]) -> Any:
    viewer = api_viewer(request)
    access.require_view(viewer)
    qs = selectors.alert_list(viewer=viewer, status=filters.status, subject_type=filters.subject_type,
                              signal=filters.signal, team_id=filters.team_id, region_id=filters.region_id,
                              min_score=filters.min_score, search=filters.search)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-score", "-pk"), serialize=_alert_out)


@router.get("/alerts/{int:alert_id}", response={200: RiskAlertOut, **ERRORS}, summary="One alert with its evidence (audited)")
def alert_get(request: HttpRequest, alert_id: int) -> Any:
    viewer = api_viewer(request)
    access.require_view(viewer)
    alert = selectors.alert_get(viewer=viewer, alert_id=alert_id)
    alert_services.alert_read_record(actor=viewer, alert=alert)
    return _alert_out(alert)


class RiskReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class RiskFeedbackIn(Schema):
    feedback: str = Field(..., max_length=2000)


def _alert_after(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return _alert_out(selectors.alert_get(viewer=api_viewer(request), alert_id=alert_id))


@router.post("/alerts/{int:alert_id}/suppress", response={200: RiskAlertOut, **ERRORS},
             summary="Suppress an open alert (a reason is required)")
def alert_suppress(request: HttpRequest, alert_id: int, payload: RiskReasonIn) -> Any:
    alert_services.alert_suppress(actor=api_viewer(request), alert_id=alert_id, reason=payload.reason)
    return _alert_after(request, alert_id)


@router.post("/alerts/{int:alert_id}/confirm", response={200: RiskAlertOut, **ERRORS}, summary="Confirm an alert")
def alert_confirm(request: HttpRequest, alert_id: int, payload: RiskReasonIn) -> Any:
    alert_services.alert_confirm(actor=api_viewer(request), alert_id=alert_id, reason=payload.reason)
    return _alert_after(request, alert_id)


@router.post("/alerts/{int:alert_id}/false", response={200: RiskAlertOut, **ERRORS},
             summary="Mark a false alarm, with feedback kept for tuning")
def alert_false(request: HttpRequest, alert_id: int, payload: RiskFeedbackIn) -> Any:
    alert_services.alert_mark_false(actor=api_viewer(request), alert_id=alert_id, feedback=payload.feedback)
    return _alert_after(request, alert_id)


@router.post("/alerts/{int:alert_id}/reopen", response={200: RiskAlertOut, **ERRORS}, summary="Reopen a decided alert")
def alert_reopen(request: HttpRequest, alert_id: int, payload: RiskReasonIn) -> Any:
    alert_services.alert_reopen(actor=api_viewer(request), alert_id=alert_id, reason=payload.reason)
    return _alert_after(request, alert_id)


# ---------------------------------------------------------------- cases


class RiskEntryOut(Schema):
    id: int
    kind: str
    at: dt.datetime
    author_id: int | None
    text: str
    interviewee: str
    data: dict[str, Any]


class RiskPenaltyOut(Schema):
    id: int
    case_id: int
    person_id: int
    kind: str
    amount: Decimal | None
    currency: str
    effective_on: dt.date
    note: str
    recorded_by_id: int
    recorded_at: dt.datetime


class RiskAttachmentOut(Schema):
    id: int
    filename: str
    description: str
    file_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime


class RiskCaseOut(Schema):
    id: int
    number: str
    title: str
    person_id: int
    customer_id: int | None
    status: str
    outcome: str
    outcome_note: str
    opened_by_id: int
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    shared_with_id: int | None
    alert_ids: list[int]


class RiskCaseDetailOut(RiskCaseOut):
    entries: list[RiskEntryOut]
    attachments: list[RiskAttachmentOut]
    penalties: list[RiskPenaltyOut]


def _entry_out(e: CaseEntry) -> dict[str, Any]:
    return {"id": e.pk, "kind": e.kind, "at": e.at, "author_id": e.author_id, "text": e.text,
            "interviewee": e.interviewee, "data": e.data}


def _penalty_out(p: Penalty) -> dict[str, Any]:
    return {"id": p.pk, "case_id": p.case_id, "person_id": p.person_id, "kind": p.kind, "amount": p.amount,
            "currency": p.currency, "effective_on": p.effective_on, "note": p.note, "recorded_by_id": p.recorded_by_id,
            "recorded_at": p.recorded_at}


def _case_out(c: Case) -> dict[str, Any]:
    return {"id": c.pk, "number": c.number, "title": c.title, "person_id": c.person_id, "customer_id": c.customer_id,
            "status": c.status, "outcome": c.outcome, "outcome_note": c.outcome_note, "opened_by_id": c.opened_by_id,
            "opened_at": c.opened_at, "closed_at": c.closed_at, "shared_with_id": c.shared_with_id,
            "alert_ids": list(c.alerts.values_list("pk", flat=True))}


def _case_detail(request: HttpRequest, case_id: int, *, record: bool = False) -> dict[str, Any]:
    viewer = api_viewer(request)
    case = selectors.case_get(viewer=viewer, case_id=case_id)
    if record:
        case_services.case_read_record(actor=viewer, case=case)
    return {**_case_out(case), "entries": [_entry_out(e) for e in selectors.case_entries(case)],
            "attachments": [{"id": a.pk, "filename": a.filename, "description": a.description,
                             "file_type": a.file_type, "size": a.size, "sha256": a.sha256,
                             "uploaded_at": a.uploaded_at} for a in case.attachments.all()],
            "penalties": [_penalty_out(p) for p in case.penalties.all()]}


class RiskCaseFilter(ListParams):
    status: str = Field("", pattern="^(|open|closed)$")
    outcome: str = Field("", pattern="^(|cleared|policy_violation|confirmed_diversion)$")
    person_id: int | None = None
    search: str = Field("", max_length=100)


@router.get("/cases", response={200: Page[RiskCaseOut], **ERRORS}, summary="Investigations you may see")
def case_list(request: HttpRequest, filters: Query[RiskCaseFilter]) -> Any:
    qs = selectors.case_list(viewer=api_viewer(request), status=filters.status, outcome=filters.outcome,
                             person_id=filters.person_id, search=filters.search)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-pk",), serialize=_case_out)


class RiskCaseIn(Schema):
    alert_ids: list[int] = []
    person_id: int | None = None
    title: str = Field("", max_length=200)
    note: str = Field("", max_length=20000)


@router.post("/cases", response={201: RiskCaseDetailOut, **ERRORS}, summary="Open an investigation (auditors)")
def case_create(request: HttpRequest, payload: RiskCaseIn) -> Any:
    case = case_services.case_open(actor=api_viewer(request), alert_ids=payload.alert_ids,
                                   person_id=payload.person_id, title=payload.title, note=payload.note)
    return Status(201, _case_detail(request, case.pk))


@router.get("/cases/{int:case_id}", response={200: RiskCaseDetailOut, **ERRORS}, summary="One investigation (audited)")
def case_get(request: HttpRequest, case_id: int) -> Any:
    return _case_detail(request, case_id, record=True)


class RiskNoteIn(Schema):
    text: str = Field(..., max_length=20000)


class RiskInterviewIn(Schema):
    interviewee: str = Field(..., max_length=200)
    text: str = Field(..., max_length=20000)
    held_on: dt.date | None = None


class RiskCloseIn(Schema):
    outcome: str = Field("", max_length=20)
    findings: str = Field("", max_length=20000)


class RiskPenaltyIn(Schema):
    kind: str = Field(..., max_length=12)
    amount: Decimal | None = None
    effective_on: dt.date
    note: str = Field(..., max_length=20000)
    currency: str = Field("CNY", min_length=3, max_length=3)


@router.post("/cases/{int:case_id}/notes", response={201: RiskCaseDetailOut, **ERRORS}, summary="Add a note")
def case_note(request: HttpRequest, case_id: int, payload: RiskNoteIn) -> Any:
    case_services.case_note_add(actor=api_viewer(request), case_id=case_id, text=payload.text)
    return Status(201, _case_detail(request, case_id))


@router.post("/cases/{int:case_id}/interviews", response={201: RiskCaseDetailOut, **ERRORS},
             summary="Add interview notes")
def case_interview(request: HttpRequest, case_id: int, payload: RiskInterviewIn) -> Any:
    case_services.case_interview_add(actor=api_viewer(request), case_id=case_id, interviewee=payload.interviewee,
                                     text=payload.text, held_on=payload.held_on)
    return Status(201, _case_detail(request, case_id))


@router.post("/cases/{int:case_id}/attachments", response={201: RiskAttachmentOut, **ERRORS},
             summary="Attach an evidence file (PDF, PNG, JPEG, DOCX, XLSX by content; at most 20 MB)")
def case_attachment(request: HttpRequest, case_id: int, file: File[UploadedFile], description: str = "") -> Any:
    viewer = api_viewer(request)
    if (file.size or 0) > ATTACHMENT_MAX_BYTES:
        return problem_response(request, status=413, title=_("The file is larger than 20 MB."), code="file_too_large")
    a = case_services.case_attachment_add(actor=viewer, case_id=case_id, filename=file.name or "", data=file.read(),
                                          description=description)
    return Status(201, {"id": a.pk, "filename": a.filename, "description": a.description, "file_type": a.file_type,
                        "size": a.size, "sha256": a.sha256, "uploaded_at": a.uploaded_at})


@router.get("/attachments/{int:attachment_id}", response={200: None, **ERRORS},
            summary="Download an evidence file (audited)")
def attachment_get(request: HttpRequest, attachment_id: int) -> HttpResponse:
    from urllib.parse import quote

    attachment, data = case_services.case_attachment_open(actor=api_viewer(request), attachment_id=attachment_id)
    response = HttpResponse(data, content_type=ATTACHMENT_TYPES.get(attachment.file_type, "application/octet-stream"))
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename, safe='')}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post("/cases/{int:case_id}/close", response={200: RiskCaseDetailOut, **ERRORS},
             summary="Close with an outcome (cleared, policy_violation, confirmed_diversion) and the findings")
def case_close(request: HttpRequest, case_id: int, payload: RiskCloseIn) -> Any:
    case_services.case_close(actor=api_viewer(request), case_id=case_id, outcome=payload.outcome,
                             findings=payload.findings)
    return _case_detail(request, case_id)


@router.post("/cases/{int:case_id}/reopen", response={200: RiskCaseDetailOut, **ERRORS}, summary="Reopen a closed case")
def case_reopen(request: HttpRequest, case_id: int, payload: RiskReasonIn) -> Any:
    case_services.case_reopen(actor=api_viewer(request), case_id=case_id, reason=payload.reason)
    return _case_detail(request, case_id)


@router.post("/cases/{int:case_id}/share", response={200: RiskCaseDetailOut, **ERRORS},
             summary="Let the person's supervisor read the case")
def case_share(request: HttpRequest, case_id: int, payload: RiskReasonIn) -> Any:
    case_services.case_share(actor=api_viewer(request), case_id=case_id, note=payload.reason)
    return _case_detail(request, case_id)


@router.post("/cases/{int:case_id}/unshare", response={200: RiskCaseDetailOut, **ERRORS},
             summary="Withdraw the supervisor's access")
def case_unshare(request: HttpRequest, case_id: int, payload: RiskReasonIn) -> Any:
    case_services.case_unshare(actor=api_viewer(request), case_id=case_id, reason=payload.reason)
    return _case_detail(request, case_id)


@router.post("/cases/{int:case_id}/penalties", response={201: RiskPenaltyOut, **ERRORS},
             summary="Enter a penalty in the rewards-and-penalties register (closed cases with a violation)")
def case_penalty(request: HttpRequest, case_id: int, payload: RiskPenaltyIn) -> Any:
    penalty = case_services.penalty_record(actor=api_viewer(request), case_id=case_id, kind=payload.kind,
                                           amount=payload.amount, effective_on=payload.effective_on,
                                           note=payload.note, currency=payload.currency)
    return Status(201, _penalty_out(penalty))


@router.get("/penalties", response={200: Page[RiskPenaltyOut], **ERRORS},
            summary="The rewards-and-penalties register entries of the cases you may see")
def penalty_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    access.require_view(viewer)
    return keyset_page(selectors.penalty_list(viewer=viewer), cursor=params.cursor, limit=params.limit,
                       order=("-pk",), serialize=_penalty_out)


# ---------------------------------------------------------------- settings and dashboard


class RiskSettingsOut(Schema):
    version: int
    config: dict[str, Any]
    overrides: dict[str, Any]


class RiskSettingsIn(Schema):
    weights: dict[str, Any] | None = None
    thresholds: dict[str, Any] | None = None
    rollup: dict[str, Any] | None = None
    params: dict[str, dict[str, Any]] | None = None
    reason: str = Field("", max_length=2000)


def _settings_out() -> dict[str, Any]:
    row, config = settings_get()
    return {"version": row.version, "config": config_to_mapping(config), "overrides": row.config}


@router.get("/settings", response={200: RiskSettingsOut, **ERRORS}, summary="Weights, thresholds and parameters")
def settings_read(request: HttpRequest) -> Any:
    access.require_view(api_viewer(request))
    return _settings_out()


@router.patch("/settings", response={200: RiskSettingsOut, **ERRORS},
              summary="Change weights, thresholds or parameters (only the parts given)",
              description="422 `negative_weight` for a negative weight; every problem is named by its path "
                          "(e.g. `weights.hoarding`). Nothing is saved unless all of it is valid.")
def settings_change(request: HttpRequest, payload: RiskSettingsIn) -> Any:
    data = payload.dict(exclude_none=True)
    reason = data.pop("reason", "")
    settings_update(actor=api_viewer(request), changes=data, reason=reason)
    return _settings_out()


class RiskHeatCellOut(Schema):
    team: str
    region: str
    managers: int
    flagged: int
    top: float


class RiskDashboardOut(Schema):
    run: RiskRunOut | None
    open_alerts: int
    suppressed: int
    open_cases: int
    by_signal: dict[str, int]
    heat_map: list[RiskHeatCellOut]
    trend: list[dict[str, Any]]


@router.get("/dashboard", response={200: RiskDashboardOut, **ERRORS},
            summary="Heat map by team and region, trend over the scans, open alerts by signal")
def dashboard(request: HttpRequest) -> Any:
    viewer = api_viewer(request)
    access.require_view(viewer)
    board = selectors.dashboard(viewer=viewer)
    return {"run": _run_out(board.run) if board.run else None, "open_alerts": board.open_alerts,
            "suppressed": board.suppressed, "open_cases": board.open_cases, "by_signal": dict(board.by_signal),
            "heat_map": [{"team": c.team, "region": c.region, "managers": c.managers, "flagged": c.flagged,
                          "top": c.top} for c in board.cells.values()],
            "trend": [{**t, "as_of": t["as_of"].isoformat()} for t in board.trend]}
