"""HTTP API for data exchange: upload a file to import, download an export. Thin: the runner does the work."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, UploadedFile

from kamguard.core.api import ProblemDetail
from kamguard.core.io.runner import export_run, import_authorise, import_run, size_check

router = Router(tags=["data exchange"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 413, 422): ProblemDetail}
FormatCode = Literal["csv", "xlsx", "jsonl"]


class CountsOut(Schema):
    total: int
    created: int
    updated: int
    unchanged: int
    error: int


class RowOut(Schema):
    row: int
    external_id: str
    status: Literal["created", "updated", "unchanged", "error"]


class ProblemOut(Schema):
    row: int | None
    column: str | None
    message: str


class ImportReportOut(Schema):
    kind: str
    format: FormatCode
    dry_run: bool
    atomic: bool
    written: bool
    counts: CountsOut
    rows: list[RowOut]
    errors: list[ProblemOut]
    warnings: list[ProblemOut]


@router.post("/imports/{kind}", response={200: ImportReportOut, **ERRORS},
             summary="Import a CSV, XLSX or JSON Lines file",
             description="Idempotent by external_id. 200 with `errors` listing bad rows (the good rows are imported "
                         "unless `atomic`); 422 when the file cannot be read (nothing imported); 413 when too large.")
def import_create(request: HttpRequest, kind: str, file: File[UploadedFile], dry_run: Form[bool] = False,
                  atomic: Form[bool] = False, format: Form[FormatCode | None] = None) -> Any:  # noqa: A002
    import_authorise(request.user, kind)  # type: ignore[arg-type]
    size_check(file.size or 0)
    report = import_run(actor=request.user, kind=kind, data=file.read(), filename=file.name or "",  # type: ignore[arg-type]
                        file_format=format, dry_run=dry_run, atomic=atomic)
    return report.as_dict()


@router.get("/exports/{kind}", response={200: None, **ERRORS}, summary="Export every record of a kind you may see",
            description="Needs the export right. Contact data is masked. Every export is recorded in the audit trail.")
def export_get(request: HttpRequest, kind: str, format: FormatCode = "csv") -> HttpResponse:  # noqa: A002
    exported = export_run(actor=request.user, kind=kind, file_format=format)  # type: ignore[arg-type]
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response
