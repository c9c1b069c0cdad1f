"""Pages of the audit trail: search and filter, one event's detail, export, and the chain's status."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kamguard.audit import selectors, services
from kamguard.audit.forms import EventFilterForm, ExportForm
from kamguard.audit.labels import action_choices, break_label
from kamguard.audit.presenters import change_rows, event_row
from kamguard.core.audit import append_only_guard_installed
from kamguard.core.errors import ValidationFailed
from kamguard.core.pages import page_view
from kamguard.org.domain.roles import Right
from kamguard.org.models import User

PAGE_SIZE = 50


@page_view(Right.VIEW_AUDIT)
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    form = EventFilterForm(request.GET)
    page: dict[str, object] = {"items": [], "next_cursor": None}
    if form.is_valid():
        events = selectors.event_list(viewer=viewer, filters=form.to_filter())
        order = ("sequence",) if form.cleaned_data.get("sort") == "time" else ("-sequence",)
        try:
            page = selectors.event_page(events, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE,
                                        order=order)
        except ValidationFailed:
            form.add_error(None, _("This page link is out of date; showing the first page."))
            page = selectors.event_page(events, cursor=None, limit=PAGE_SIZE, order=order)
    return render(request, "audit/event_list.html", {
        "form": form,
        "rows": [event_row(e) for e in page["items"]],  # type: ignore[attr-defined]
        "next_cursor": page["next_cursor"],
        "is_first_page": not request.GET.get("cursor"),
        "can_export": viewer.can_export,
        "action_choices": action_choices(),
    })


@page_view(Right.VIEW_AUDIT)
@require_GET
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.event_get(viewer=request.user, event_id=event_id)  # type: ignore[arg-type]
    return render(request, "audit/event_detail.html", {
        "row": event_row(event), "event": event, "changes": change_rows(event),
    })


@page_view(Right.VIEW_AUDIT)
@require_POST
def event_export(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    back = redirect("audit:event_list")
    if not form.is_valid():
        messages.error(request, _("The export was not made: check the filters and the format."))
        return back
    try:
        export = services.events_export(actor=request.user, filters=form.to_filter(),  # type: ignore[arg-type]
                                        file_format=form.cleaned_data["format"])
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
        return back
    if export.csv_chunks is not None:
        response: HttpResponseBase = StreamingHttpResponse(export.csv_chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    else:
        response = FileResponse(export.file, as_attachment=True, filename=export.filename,
                                content_type=export.content_type)
    response["X-Export-Rows"] = str(export.rows)
    return response  # type: ignore[return-value]  # streamed; page_view passes any response through


@page_view(Right.VIEW_AUDIT)
@require_GET
def chain_status(request: HttpRequest) -> HttpResponse:
    last = selectors.chain_last_verification(viewer=request.user)  # type: ignore[arg-type]
    outcome = {}
    if last is not None:
        outcome = {k: v.get("after") for k, v in (last.changes or {}).items() if isinstance(v, dict)}
    return render(request, "audit/chain_status.html", {
        "last": last, "outcome": outcome, "guard_installed": append_only_guard_installed(),
        "break_text": break_label(str(outcome.get("first_bad_kind") or ""), last.reason) if last else "",
    })


@page_view(Right.VIEW_AUDIT)
@require_POST
def chain_verify(request: HttpRequest) -> HttpResponse:
    result = services.chain_verify_and_record(actor=request.user)  # type: ignore[arg-type]
    if result.ok:
        messages.success(request, _("The chain is intact: %(count)s events checked.") % {"count": result.events})
    else:
        assert result.first_bad is not None
        messages.error(request, _("The chain is broken. First bad event: #%(sequence)s (id %(id)s): %(reason)s") % {
            "sequence": result.first_bad.sequence, "id": result.first_bad.row_id,
            "reason": break_label(result.first_bad.kind, result.first_bad.reason)})
    return redirect("audit:chain_status")
