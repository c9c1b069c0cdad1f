"""Running an import or an export: the one entry point for pages, the API and the commands.

An import runs in one transaction; each row in its own savepoint, so a bad row is undone alone and
reported while the good rows stay. A dry run, and an atomic run with any bad row, roll everything back:
the validation is the real one (the services run), the database is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import DomainError, PermissionRefused
from kamguard.core.io.formats import (
    CONTENT_TYPES,
    FileRejected,
    FileTooLarge,
    Format,
    format_infer,
    table_read,
    table_write,
)
from kamguard.core.io.registry import Kind, kind_get
from kamguard.core.io.report import ImportReport, RowProblem, RowResult, RowStatus

if TYPE_CHECKING:
    from kamguard.org.models import User


class RowInvalid(Exception):
    """Raised by an importer for a row it refuses before calling a service: [(column, message), …]."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{c}: {m}" for c, m in problems))


class ImportContext:
    def __init__(self, *, actor: User | None, kind: Kind, report: ImportReport, columns: list[str],
                 source: str = "") -> None:
        self.actor = actor
        self.kind = kind
        self.report = report
        self.columns = columns
        self.source = source

    def has_column(self, name: str) -> bool:
        return name in self.columns

    def warn(self, row: int | None, column: str, message: str) -> None:
        self.report.warnings.append(RowProblem(row, column, message))

    def fail(self, row: int, external_id: str, problems: list[tuple[str, str]]) -> None:
        for column, message in problems:
            self.report.errors.append(RowProblem(row, column, message))
        self.report.results.append(RowResult(row, external_id, RowStatus.ERROR))

    def succeed(self, row: int, external_id: str, status: RowStatus) -> None:
        """Record a row applied outside `attempt` (by a batch service that reports per row)."""
        self.report.results.append(RowResult(row, external_id, status))

    def attempt(self, row: int, external_id: str, apply: Callable[[], RowStatus]) -> RowStatus:
        """Apply one row in a savepoint; on any refusal undo it and record the reasons."""
        try:
            with transaction.atomic():
                status = apply()
        except RowInvalid as exc:
            self.fail(row, external_id, exc.problems)
            return RowStatus.ERROR
        except DomainError as exc:
            self.fail(row, external_id, self.domain_problems(exc))
            return RowStatus.ERROR
        except DjangoValidationError as exc:
            self.fail(row, external_id, [("", "; ".join(exc.messages))])
            return RowStatus.ERROR
        except DatabaseError as exc:  # a constraint the services did not foresee
            self.fail(row, external_id, [("", _("The database refused this row: %(error)s") % {"error": exc})])
            return RowStatus.ERROR
        self.report.results.append(RowResult(row, external_id, status))
        return status

    def domain_problems(self, exc: DomainError) -> list[tuple[str, str]]:
        mapping = self.kind.field_columns
        problems = [(mapping.get(field, field if field in self.kind.columns else ""), str(message))
                    for field, messages in exc.field_errors.items() for message in messages]
        if exc.code not in ("validation_failed", "error") or not problems:
            # A specific error (e.g. role_conflict) says more in its message than in its field errors.
            column = problems[0][0] if problems else ""
            problems = [(column, str(exc.message))]
        return problems


def import_allowed(actor: User | None, kind: Kind) -> bool:
    return actor is None or (actor.is_active and actor.has_right(kind.import_right)
                             and actor.scope >= kind.import_min_scope)


def export_allowed(actor: User | None) -> bool:
    return actor is None or (actor.is_active and actor.can_export)


def import_authorise(actor: User | None, kind: str) -> Kind:
    """The kind, if it exists (else UnknownKind) and the actor may import it (else PermissionRefused)."""
    spec = kind_get(kind)
    if not import_allowed(actor, spec):
        if actor is not None and actor.has_right(spec.import_right):
            raise PermissionRefused(_("Importing %(kind)s needs a supervisor's scope (a department or more).")
                                    % {"kind": spec.label}, extra={"right": f"{spec.name}.import"})
        raise PermissionRefused(extra={"right": str(spec.import_right)})
    return spec


def import_run(*, actor: User | None, kind: str, data: bytes, filename: str = "", file_format: str | None = None,
               dry_run: bool = False, atomic: bool = False) -> ImportReport:
    """Import `data` as `kind`. File-level problems raise (FileRejected, FileTooLarge); row problems are reported."""
    spec = import_authorise(actor, kind)
    size_check(len(data))
    fmt = format_infer(filename, file_format)
    table = table_read(data, fmt)
    missing = [c for c in spec.required if c not in table.columns]
    if missing:
        raise FileRejected(
            _("Required columns are missing: %(columns)s. The header must name them.") % {"columns": ", ".join(missing)},
            code="column_missing", field_errors={"file": [", ".join(missing)]})
    report = ImportReport(kind=spec.name, format=fmt.value, dry_run=dry_run, atomic=atomic)
    ctx = ImportContext(actor=actor, kind=spec, report=report, columns=table.columns, source=filename)
    for column in table.columns:
        if column and column not in spec.columns:
            ctx.warn(None, column, _("Unknown column, ignored."))
    started = timezone.now()
    with transaction.atomic():
        spec.import_rows(ctx, table.rows)
        rollback = dry_run or (atomic and bool(report.errors))
        if rollback:
            transaction.set_rollback(True)
    report.written = not rollback
    if report.written and spec.name in RISK_SCAN_KINDS and (report.created or report.updated):
        _risk_scan_on_commit(started.isoformat())
    report.sort()
    return report


# Kinds whose rows the risk engine reads: after such an import is committed, the incremental risk scan rescores the
# customers it touched (kamguard.risk.tasks.risk_scan_after_import; docs/risk.md, "Runs").
RISK_SCAN_KINDS = frozenset({"orders", "payments", "activities", "opportunities"})


def _risk_scan_on_commit(since: str) -> None:
    from kamguard.risk.tasks import risk_scan_after_import

    transaction.on_commit(lambda: risk_scan_after_import.enqueue(since=since))


def size_check(size: int) -> None:
    limit = int(settings.IMPORT_MAX_BYTES)
    if size > limit:
        raise FileTooLarge(_("The file is %(size)s bytes; the limit is %(limit)s bytes. Split it and import the parts.")
                           % {"size": size, "limit": limit})


@dataclass(frozen=True)
class ExportFile:
    kind: str
    format: Format
    content: bytes
    rows: int

    @property
    def filename(self) -> str:
        return f"{self.kind}.{self.format.value}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def export_run(*, actor: User | None, kind: str, file_format: str | None = None, filename: str = "") -> ExportFile:
    """Every row of `kind` the actor may see, as a file. Needs the export right; always audited."""
    spec = kind_get(kind)
    if not export_allowed(actor):
        raise PermissionRefused(_("Exporting data is a separate right. Ask an administrator if you need it."),
                                extra={"right": "export"})
    fmt = format_infer(filename, file_format or (None if filename else Format.CSV.value))
    rows: list[dict[str, Any]] = list(spec.export_rows(actor))
    content = table_write(spec.columns, rows, fmt)
    with transaction.atomic():
        audit_record(actor=actor, action=f"{spec.name}.exported", object_type="export", object_id=spec.name,
                     object_label=str(spec.label),
                     changes={"format": {"before": None, "after": fmt.value}, "rows": {"before": None, "after": len(rows)}})
    return ExportFile(kind=spec.name, format=fmt, content=content, rows=len(rows))
