"""Pages of the risk engine: the dashboard, the alert inbox and an alert's evidence, investigations, the
penalties register, scans and settings. Risk is for internal auditors and administrators; a supervisor reaches
a case once an auditor shares it. Every refusal is a 403 page (audited), every missing or hidden record a 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.core.errors import DomainError, NotFound, PermissionRefused
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org.domain.roles import Right
from kamguard.org.models import Team, User
from kamguard.risk import charts, selectors
from kamguard.risk.explain import (
    SIGNAL_LABELS,
    contact_field_label,
    evidence_view,
    ref_kind_label,
    signal_label,
)
from kamguard.risk.forms import (
    AlertFilterForm,
    AttachmentForm,
    CaseFilterForm,
    CaseOpenForm,
    CloseForm,
    FeedbackForm,
    InterviewForm,
    NoteForm,
    PenaltyForm,
    ReasonForm,
    ScanForm,
    SettingsForm,
)
from kamguard.risk.models import AlertStatus, Case, CaseOutcome, CaseStatus, ScanKind
from kamguard.risk.services import access
from kamguard.risk.services import alerts as alert_services
from kamguard.risk.services import cases as case_services
from kamguard.risk.services.config import settings_get, settings_update
from kamguard.risk.services.scan import scan_run

REF_URLS = {"customer": ("customers:customer_detail", "customer_id"),
            "order": ("contracts:order_detail", "order_id"),
            "opportunity": ("sales:opportunity_detail", "opportunity_id"),
            "quote": ("sales:quote_detail", "quote_id"),
            "person": ("org:user_detail", "user_id")}
SUBJECT_URLS = {"customer": "customer", "order": "order", "manager": "person"}


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_view(viewer: User) -> None:
    access.require_view(viewer)


def _can(viewer: User) -> dict[str, bool]:
    return {"view": access.may_view_risk(viewer), "investigate": access.may_investigate(viewer),
            "configure": access.may_configure(viewer)}


def ref_url(kind: str, pk: Any) -> str | None:
    target = REF_URLS.get(kind)
    if target is None:
        return None
    try:
        return reverse(target[0], kwargs={target[1]: int(pk)})
    except (NoReverseMatch, TypeError, ValueError):
        return None


def subject_url(subject_type: str, subject_id: Any) -> str | None:
    return ref_url(SUBJECT_URLS.get(subject_type, ""), subject_id)


def _ref_label(ref: dict[str, Any]) -> str:
    """A contact's reference names the changed field ("phone"): shown as the field's label with the contact's id."""
    label = ref.get("label")
    if label and ref.get("kind") == "contact":
        return f"#{ref.get('id')} {contact_field_label(str(label))}"
    return str(label or f"#{ref.get('id')}")


def _evidence(signals: list[dict[str, Any]], contributions: dict[str, float]) -> list[dict[str, Any]]:
    shown = []
    for item in signals:
        view = evidence_view(item, contributions)
        view["links"] = [{"kind": ref_kind_label(str(ref.get("kind"))), "label": _ref_label(ref),
                          "url": ref_url(str(ref.get("kind")), ref.get("id"))} for ref in view["refs"]]
        series = view["series"]
        if series.get("orders"):
            labels = view["labels"] or [str(i + 1) for i in range(len(series["orders"]))]
            view["chart"] = charts.bars_and_line(labels, list(series["orders"]), list(series.get("contacts") or []))
        elif series.get("events"):
            values = list(series["events"])
            view["chart"] = charts.bars_and_line([str(i + 1) for i in range(len(values))], values, None)
        shown.append(view)
    return shown


# ---------------------------------------------------------------- dashboard


@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    board = selectors.dashboard(viewer=viewer)
    trend = None
    if board.trend:
        trend = charts.lines([str(t["as_of"]) for t in board.trend],
                             {name: [float(t[name]) for t in board.trend] for name in ("customer", "manager", "order")},
                             {"customer": "#1f4e79", "manager": "#b42318", "order": "#b7791f"})
    return render(request, "risk/dashboard.html", {
        "board": board, "heat": charts.heat_map(board.teams, board.regions, board.cells) if board.cells else None,
        "trend": trend, "signals": [(signal_label(code), code, count) for code, count in board.by_signal],
        "top": [{"score": s, "url": subject_url(s.subject_type, s.subject_id)} for s in board.top],
        "scan_form": ScanForm(), "can": _can(viewer), "tab": "dashboard"})


# ---------------------------------------------------------------- alerts


@page_view(Right.VIEW_ORG)
def alert_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = AlertStatus.OPEN
    filters = AlertFilterForm(data)
    values: dict[str, Any] = filters.cleaned_data if filters.is_valid() else {"status": AlertStatus.OPEN}
    team = request.GET.get("team", "")
    sort = request.GET.get("sort", "-score")
    qs = selectors.alert_list(viewer=viewer, status=values.get("status") or "",
                              subject_type=values.get("subject_type") or "", signal=values.get("signal") or "",
                              min_score=values.get("min_score"), search=values.get("q") or "",
                              team_id=int(team) if team.isdigit() else None, sort=sort)
    page = paginate(request, qs)
    rows = [{"alert": a, "url": subject_url(a.subject_type, a.subject_id),
             "signals": [signal_label(code) for code in sorted(a.contributions, key=lambda c: -a.contributions[c])]}
            for a in page.object_list]
    return render(request, "risk/alert_list.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "filters": filters, "sort": sort,
        "teams": Team.objects.filter(is_active=True).values_list("pk", "name"), "team": team,
        "reason_form": ReasonForm(), "feedback_form": FeedbackForm(), "can": _can(viewer), "tab": "alerts"})


@page_view(Right.VIEW_ORG)
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    alert = selectors.alert_get(viewer=viewer, alert_id=alert_id)
    alert_services.alert_read_record(actor=viewer, alert=alert)
    related = [{"type": r["type"], "id": r["id"], "score": r["score"], "url": subject_url(r["type"], r["id"])}
               for r in alert.related]
    return render(request, "risk/alert_detail.html", {
        "alert": alert, "evidence": _evidence(alert.signals, alert.contributions),
        "subject_url": subject_url(alert.subject_type, alert.subject_id),
        "person_url": ref_url("person", alert.person_id) if alert.person_id else None, "related": related,
        "reviews": selectors.alert_reviews(alert), "reason_form": ReasonForm(), "feedback_form": FeedbackForm(),
        "can": _can(viewer), "tab": "alerts"})


def _alert_action(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    viewer = _viewer(request)
    target = request.POST.get("next") or reverse("risk:alert_detail", args=[alert_id])
    if not target.startswith("/") or target.startswith("//"):
        target = reverse("risk:alert_detail", args=[alert_id])
    try:
        if action == "suppress":
            alert_services.alert_suppress(actor=viewer, alert_id=alert_id, reason=request.POST.get("reason", ""))
            messages.success(request, _("Alert suppressed."))
        elif action == "confirm":
            alert_services.alert_confirm(actor=viewer, alert_id=alert_id, reason=request.POST.get("reason", ""))
            messages.success(request, _("Alert confirmed."))
        elif action == "false":
            alert_services.alert_mark_false(actor=viewer, alert_id=alert_id,
                                            feedback=request.POST.get("feedback", ""))
            messages.success(request, _("Marked as a false alarm; the feedback is kept for tuning."))
        else:
            alert_services.alert_reopen(actor=viewer, alert_id=alert_id, reason=request.POST.get("reason", ""))
            messages.success(request, _("Alert reopened."))
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            raise
        messages.error(request, " ".join([str(exc.message), *[str(m) for ms in exc.field_errors.values() for m in ms
                                                             if str(m) != str(exc.message)]]))
    return redirect(target)


@require_POST
@page_view(Right.VIEW_ORG)
def alert_suppress(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_action(request, alert_id, "suppress")


@require_POST
@page_view(Right.VIEW_ORG)
def alert_confirm(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_action(request, alert_id, "confirm")


@require_POST
@page_view(Right.VIEW_ORG)
def alert_false(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_action(request, alert_id, "false")


@require_POST
@page_view(Right.VIEW_ORG)
def alert_reopen(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_action(request, alert_id, "reopen")


@require_POST
@page_view(Right.VIEW_ORG)
def alert_case_open(request: HttpRequest, alert_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        case = case_services.case_open(actor=viewer, alert_ids=[alert_id], note=request.POST.get("note", ""))
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            raise
        messages.error(request, str(exc.message))
        return redirect("risk:alert_detail", alert_id=alert_id)
    messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
    return redirect("risk:case_detail", case_id=case.pk)


# ---------------------------------------------------------------- cases


@page_view(Right.VIEW_ORG)
def case_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    filters = CaseFilterForm(request.GET)
    values: dict[str, Any] = filters.cleaned_data if filters.is_valid() else {}
    qs = selectors.case_list(viewer=viewer, status=values.get("status") or "", outcome=values.get("outcome") or "",
                             search=values.get("q") or "", sort=request.GET.get("sort", "-opened"))
    page = paginate(request, qs)
    return render(request, "risk/case_list.html", {
        "page": page, "cases": page.object_list, "total": page.paginator.count, "filters": filters,
        "can": _can(viewer), "tab": "cases"})


def _people_for_case(viewer: User) -> list[tuple[int, str]]:
    return [(pk, f"{name} ({username})") for pk, name, username in User.objects.filter(is_active=True).exclude(
        pk=viewer.pk).order_by("full_name").values_list("pk", "full_name", "username")[:2000]]


@page_view(Right.VIEW_ORG)
def case_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    access.require_investigator(viewer)
    form = CaseOpenForm(request.POST or None, people=_people_for_case(viewer))
    if request.method == "POST" and form.is_valid():
        try:
            case = case_services.case_open(actor=viewer, person_id=form.cleaned_data["person"],
                                           title=form.cleaned_data.get("title") or "",
                                           note=form.cleaned_data.get("note") or "")
        except DomainError as exc:
            if isinstance(exc, PermissionRefused):
                raise
            exc.field_errors = {("person" if k == "person_id" else k): v for k, v in exc.field_errors.items()}
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect("risk:case_detail", case_id=case.pk)
    return render(request, "risk/form.html", {"form": form, "title": _("New investigation"), "tab": "cases",
                                              "cancel_url": reverse("risk:case_list")})


def _case_page(request: HttpRequest, case: Case, viewer: User, **forms: Any) -> HttpResponse:
    can = _can(viewer)
    writable = can["investigate"]
    return render(request, "risk/case_detail.html", {
        "case": case, "entries": selectors.case_entries(case), "attachments": case.attachments.select_related(
            "uploaded_by"), "alerts": [{"alert": a, "url": reverse("risk:alert_detail", args=[a.pk])}
                                       for a in selectors.alert_list(viewer=viewer, status="").filter(case=case)],
        "penalties": case.penalties.select_related("recorded_by"), "can": can, "writable": writable,
        "is_open": case.status == CaseStatus.OPEN,
        "may_penalise": writable and case.status == CaseStatus.CLOSED and case.outcome in (
            CaseOutcome.POLICY_VIOLATION, CaseOutcome.CONFIRMED_DIVERSION),
        "note_form": forms.get("note_form") or NoteForm(), "interview_form": forms.get("interview_form") or InterviewForm(),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(),
        "close_form": forms.get("close_form") or CloseForm(), "penalty_form": forms.get("penalty_form") or PenaltyForm(),
        "reason_form": ReasonForm(), "person_url": ref_url("person", case.person_id),
        "customer_url": ref_url("customer", case.customer_id) if case.customer_id else None, "tab": "cases"},
        status=422 if any(f is not None and f.errors for f in forms.values()) else 200)


@page_view(Right.VIEW_ORG)
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    viewer = _viewer(request)
    case = selectors.case_get(viewer=viewer, case_id=case_id)
    case_services.case_read_record(actor=viewer, case=case)
    return _case_page(request, case, viewer)


def _case_form_post(request: HttpRequest, case_id: int, form: Any, name: str, apply: Any, done: str) -> HttpResponse:
    viewer = _viewer(request)
    case = selectors.case_get(viewer=viewer, case_id=case_id)
    access.require_investigator(viewer)
    if form.is_valid():
        try:
            apply(viewer, form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, PermissionRefused):
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("risk:case_detail", case_id=case_id)
    return _case_page(request, case, viewer, **{name: form})


@require_POST
@page_view(Right.VIEW_ORG)
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_form_post(request, case_id, NoteForm(request.POST), "note_form",
                           lambda actor, data: case_services.case_note_add(actor=actor, case_id=case_id,
                                                                           text=data["text"]), _("Note added."))


@require_POST
@page_view(Right.VIEW_ORG)
def case_interview(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_form_post(request, case_id, InterviewForm(request.POST), "interview_form",
                           lambda actor, data: case_services.case_interview_add(
                               actor=actor, case_id=case_id, interviewee=data["interviewee"], text=data["text"],
                               held_on=data.get("held_on")), _("Interview notes added."))


@require_POST
@page_view(Right.VIEW_ORG)
def case_attachment(request: HttpRequest, case_id: int) -> HttpResponse:
    def apply(actor: User, data: dict[str, Any]) -> None:
        upload = data["file"]
        case_services.case_attachment_add(actor=actor, case_id=case_id, filename=upload.name or "",
                                          data=upload.read(), description=data.get("description") or "")

    return _case_form_post(request, case_id, AttachmentForm(request.POST, request.FILES), "attachment_form", apply,
                           _("Evidence attached."))


@require_POST
@page_view(Right.VIEW_ORG)
def case_close(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_form_post(request, case_id, CloseForm(request.POST), "close_form",
                           lambda actor, data: case_services.case_close(
                               actor=actor, case_id=case_id, outcome=data.get("outcome") or "",
                               findings=data.get("findings") or ""), _("Case closed."))


@require_POST
@page_view(Right.VIEW_ORG)
def case_penalty(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_form_post(request, case_id, PenaltyForm(request.POST), "penalty_form",
                           lambda actor, data: case_services.penalty_record(
                               actor=actor, case_id=case_id, kind=data["kind"], amount=data.get("amount"),
                               effective_on=data["effective_on"], note=data["note"]),
                           _("Penalty entered in the rewards and penalties register."))


def _case_action(request: HttpRequest, case_id: int, action: Any, done: str) -> HttpResponse:
    viewer = _viewer(request)
    try:
        action(viewer)
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return redirect("risk:case_detail", case_id=case_id)


@require_POST
@page_view(Right.VIEW_ORG)
def case_share(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_action(request, case_id, lambda actor: case_services.case_share(
        actor=actor, case_id=case_id, note=request.POST.get("reason", "")), _("Shared with the supervisor."))


@require_POST
@page_view(Right.VIEW_ORG)
def case_unshare(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_action(request, case_id, lambda actor: case_services.case_unshare(
        actor=actor, case_id=case_id, reason=request.POST.get("reason", "")), _("Sharing withdrawn."))


@require_POST
@page_view(Right.VIEW_ORG)
def case_reopen(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_action(request, case_id, lambda actor: case_services.case_reopen(
        actor=actor, case_id=case_id, reason=request.POST.get("reason", "")), _("Case reopened."))


@page_view(Right.VIEW_ORG)
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    from kamguard.contracts.domain.rules import ATTACHMENT_TYPES

    attachment, data = case_services.case_attachment_open(actor=_viewer(request), attachment_id=attachment_id)
    response = HttpResponse(data, content_type=ATTACHMENT_TYPES.get(attachment.file_type, "application/octet-stream"))
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename, safe='')}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@page_view(Right.VIEW_ORG)
def penalty_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    page = paginate(request, selectors.penalty_list(viewer=viewer))
    return render(request, "risk/penalty_list.html", {"page": page, "penalties": page.object_list,
                                                      "total": page.paginator.count, "can": _can(viewer),
                                                      "tab": "penalties"})


# ---------------------------------------------------------------- scans and settings


@page_view(Right.VIEW_ORG)
def run_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    page = paginate(request, selectors.run_list(viewer=viewer))
    return render(request, "risk/run_list.html", {"page": page, "runs": page.object_list,
                                                  "total": page.paginator.count, "scan_form": ScanForm(),
                                                  "can": _can(viewer), "tab": "runs"})


@page_view(Right.VIEW_ORG)
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    run = selectors.run_list(viewer=viewer).filter(pk=run_id).first()
    if run is None:
        raise NotFound()
    subject_type = request.GET.get("type", "")
    page = paginate(request, selectors.score_list(viewer=viewer, run=run, subject_type=subject_type,
                                                  search=request.GET.get("q", "")[:100]), per_page=50)
    rows = [{"score": s, "url": subject_url(s.subject_type, s.subject_id),
             "signals": [signal_label(str(x.get("signal"))) for x in s.signals]} for s in page.object_list]
    return render(request, "risk/run_detail.html", {"run": run, "page": page, "rows": rows,
                                                    "total": page.paginator.count, "subject_type": subject_type,
                                                    "can": _can(viewer), "tab": "runs"})


@require_POST
@page_view(Right.VIEW_ORG)
def scan_start(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    access.require_configure(viewer)
    form = ScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the date as YYYY-MM-DD."))
        return redirect("risk:run_list")
    try:
        outcome = scan_run(actor=viewer, as_of=form.cleaned_data.get("as_of"), kind=ScanKind.MANUAL)
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            raise
        messages.error(request, str(exc.message))
        return redirect("risk:run_list")
    messages.success(request, _("Scan done: %(subjects)s subjects with signals, %(alerts)s alerts raised.") % {
        "subjects": outcome.run.subjects, "alerts": outcome.alerts_raised})
    return redirect("risk:run_detail", run_id=outcome.run.pk)


@page_view(Right.VIEW_ORG)
def settings_page(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    _require_view(viewer)
    row, config = settings_get()
    form = SettingsForm(request.POST or None, config=config)
    status = 200
    if request.method == "POST":
        access.require_configure(viewer)
        if form.is_valid():
            try:
                settings_update(actor=viewer, changes=form.changes(), reason=form.cleaned_data.get("reason") or "")
            except DomainError as exc:
                if isinstance(exc, PermissionRefused):
                    raise
                form_apply_error(form, exc)
                status = 422
            else:
                messages.success(request, _("Risk settings saved; the next scan uses them."))
                return redirect("risk:settings")
        else:
            status = 422
    return render(request, "risk/settings.html", {"form": form, "row": row, "can": _can(viewer), "tab": "settings",
                                                  "signal_labels": SIGNAL_LABELS}, status=status)

