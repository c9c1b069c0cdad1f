"""The import and export page. Thin: validates the form, calls the runner, renders the report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kamguard.core.errors import NotFound, PermissionRefused
from kamguard.core.io.formats import FileRejected, FileTooLarge, Format
from kamguard.core.io.forms import ImportForm
from kamguard.core.io.registry import kind_list
from kamguard.core.io.runner import export_allowed, export_run, import_allowed, import_run, size_check
from kamguard.core.pages import page_view
from kamguard.org.domain.roles import Right
from kamguard.org.models import User


@page_view()
def import_export(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    kinds = kind_list()
    # Each kind says who may import it (the organisation: administrators; customers: supervisors).
    import_kinds = [(k.name, str(k.label)) for k in kinds if import_allowed(user, k)]
    may_import = bool(import_kinds)
    may_export = export_allowed(user)
    if not may_import and not may_export:
        raise PermissionRefused(extra={"right": str(Right.MANAGE_ORG)})
    form = ImportForm(kinds=import_kinds)
    report = None
    status = 200
    if request.method == "POST":
        if not may_import:
            raise PermissionRefused(extra={"right": str(Right.MANAGE_ORG)})
        form = ImportForm(request.POST, request.FILES, kinds=import_kinds)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                size_check(upload.size or 0)
                report = import_run(actor=user, kind=form.cleaned_data["kind"], data=upload.read(),
                                    filename=upload.name or "", file_format=form.cleaned_data["file_format"] or None,
                                    dry_run=form.cleaned_data["dry_run"], atomic=form.cleaned_data["atomic"])
            except (FileRejected, FileTooLarge) as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
        else:
            status = 422
    exports = [{"kind": k, "formats": [f.value for f in Format]} for k in kinds] if may_export else []
    return render(request, "core/io/import_export.html", {
        "form": form if may_import else None, "report": report, "exports": exports,
    }, status=status)


@page_view()
def export_download(request: HttpRequest, kind: str) -> HttpResponse:
    file_format = request.GET.get("format", Format.CSV.value)
    if file_format not in {f.value for f in Format}:
        raise NotFound()
    exported = export_run(actor=request.user, kind=kind, file_format=file_format)  # type: ignore[arg-type]
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response
