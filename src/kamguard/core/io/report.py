"""The result of an import: counts, one status per row, and every problem with its row and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RowStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # None: about the file, e.g. an unknown column
    column: str
    message: str

    def as_text(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column or None, "message": self.message}


@dataclass(frozen=True)
class RowResult:
    row: int
    external_id: str
    status: RowStatus


@dataclass
class ImportReport:
    kind: str
    format: str
    dry_run: bool = False
    atomic: bool = False
    written: bool = False  # False for a dry run, and for an atomic run with bad rows
    results: list[RowResult] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def created(self) -> int:
        return self.count(RowStatus.CREATED)

    @property
    def updated(self) -> int:
        return self.count(RowStatus.UPDATED)

    @property
    def unchanged(self) -> int:
        return self.count(RowStatus.UNCHANGED)

    @property
    def failed(self) -> int:
        return self.count(RowStatus.ERROR)

    @property
    def is_clean(self) -> bool:
        return not self.errors

    def sort(self) -> None:
        self.results.sort(key=lambda r: r.row)
        self.errors.sort(key=lambda p: (p.row or 0, p.column))
        self.warnings.sort(key=lambda p: (p.row or 0, p.column))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "written": self.written,
            "counts": {"total": self.total, "created": self.created, "updated": self.updated,
                       "unchanged": self.unchanged, "error": self.failed},
            "rows": [{"row": r.row, "external_id": r.external_id, "status": r.status.value} for r in self.results],
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
        }
