"""Readers and writers: CSV (UTF-8, with or without BOM), XLSX (first sheet) and JSON Lines.

A reader turns bytes into a `Table`: the header and every non-blank row as a dict of stripped strings,
each with its row number as a person sees it (CSV and XLSX: the header is row 1; JSON Lines: the line).
Anything wrong with the file as a whole raises `FileRejected`; nothing is read half-way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.errors import DomainError, ValidationFailed


class FileRejected(ValidationFailed):
    """The file as a whole cannot be read: nothing was imported."""

    code = "file_invalid"
    default_message = gettext_lazy("The file cannot be read. Check its format and try again.")


class FileTooLarge(DomainError):
    code = "file_too_large"
    status = 413
    default_message = gettext_lazy("The file is too large.")


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"


CONTENT_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.JSONL: "application/x-ndjson; charset=utf-8",
}
EXTENSIONS = {".csv": Format.CSV, ".xlsx": Format.XLSX, ".jsonl": Format.JSONL, ".ndjson": Format.JSONL}


def format_infer(filename: str, explicit: str | None = None) -> Format:
    """The format named explicitly, otherwise the one the file name's extension says."""
    if explicit:
        try:
            return Format(explicit.strip().lower())
        except ValueError:
            raise FileRejected(
                _("Unknown format %(format)s: use csv, xlsx or jsonl.") % {"format": explicit},
                code="format_unknown") from None
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise FileRejected(
        _("Cannot tell the format from the file name %(name)s: name it .csv, .xlsx or .jsonl, or choose the format.")
        % {"name": filename or "?"}, code="format_unknown")


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _header(cells: Sequence[Any]) -> list[str]:
    columns = [_cell_text(c).strip().lower() for c in cells]
    while columns and not columns[-1]:
        columns.pop()
    if not any(columns):
        raise FileRejected(_("The file has no header row. The first row must name the columns."), code="no_header")
    seen: set[str] = set()
    for name in columns:
        if name and name in seen:
            raise FileRejected(_("The column %(column)s appears twice in the header.") % {"column": name},
                               code="duplicate_column")
        seen.add(name)
    return columns


def _cell_text(value: Any) -> str:
    """A cell as text: dates in ISO 8601, whole numbers without '.0', empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, list | tuple):
        return "|".join(_cell_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _clean(value: Any, row: int) -> str:
    text = _cell_text(value).strip()
    if "\x00" in text:
        raise FileRejected(_("Row %(row)s contains a NUL character; the file is damaged or not text.") % {"row": row},
                           code="nul_character")
    return text


def _row_dict(columns: list[str], cells: Sequence[Any], number: int) -> dict[str, str] | None:
    row = {}
    for i, name in enumerate(columns):
        if not name:
            continue
        row[name] = _clean(cells[i], number) if i < len(cells) else ""
    if not any(row.values()):
        return None
    return row


def _csv_rows(table: Table, reader: Iterable[list[str]]) -> None:
    """The CSV rows as `_row_dict` makes them, without its per-cell work: a CSV cell is already text, and the
    whole text was checked for NUL characters, so each cell only needs stripping (the import's hot path)."""
    named = [(i, name) for i, name in enumerate(table.columns) if name]
    names = [name for _i, name in named]
    width = len(table.columns)
    plain = len(named) == width  # no unnamed column to skip
    append = table.rows.append
    for number, cells in enumerate(reader, start=2):
        if len(cells) < width:
            cells = [*cells, *([""] * (width - len(cells)))]
        if plain:
            values = [cell.strip() for cell in cells[:width]]
        else:
            values = [cells[i].strip() for i, _name in named]
        if any(values):
            append((number, dict(zip(names, values, strict=True))))


def _read_csv(data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            _("The file is not UTF-8 text (problem at byte %(position)s). Save it as CSV UTF-8 and try again.")
            % {"position": exc.start}, code="not_utf8") from exc
    if "\x00" in text:
        raise FileRejected(_("The file contains NUL characters; it is not a CSV file."), code="not_csv")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise FileRejected(_("The file is empty."), code="empty")
        table = Table(columns=_header(header))
        _csv_rows(table, reader)
    except csv.Error as exc:
        raise FileRejected(_("The CSV file is malformed near line %(line)s: %(error)s")
                           % {"line": reader.line_num, "error": exc}, code="not_csv") from exc
    return table


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, XML and its own errors for broken files
        raise FileRejected(_("The file is not a readable Excel workbook (.xlsx)."), code="not_xlsx") from exc
    try:
        if not workbook.worksheets:
            raise FileRejected(_("The workbook has no sheet."), code="empty")
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise FileRejected(_("The file is empty."), code="empty")
        table = Table(columns=_header(list(header)))
        for number, cells in enumerate(rows, start=2):
            row = _row_dict(table.columns, list(cells), number)
            if row is not None:
                table.rows.append((number, row))
    except FileRejected:
        raise
    except Exception as exc:  # a workbook that opens but whose sheet XML is broken
        raise FileRejected(_("The file is not a readable Excel workbook (.xlsx)."), code="not_xlsx") from exc
    finally:
        workbook.close()
    return table


def _read_jsonl(data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(_("The file is not UTF-8 text (problem at byte %(position)s).") % {"position": exc.start},
                           code="not_utf8") from exc
    columns: list[str] = []
    objects: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FileRejected(_("Line %(line)s is not valid JSON: %(error)s") % {"line": number, "error": exc.msg},
                               code="not_jsonl") from exc
        if not isinstance(value, dict):
            raise FileRejected(_("Line %(line)s is not a JSON object; each line must be one {…} record.")
                               % {"line": number}, code="not_jsonl")
        normalised = {str(k).strip().lower(): v for k, v in value.items()}
        for key in normalised:
            if key not in columns:
                columns.append(key)
        objects.append((number, normalised))
    if not objects:
        raise FileRejected(_("The file is empty."), code="empty")
    table = Table(columns=columns)
    for number, obj in objects:
        table.rows.append((number, {name: _clean(obj.get(name), number) for name in columns}))
    return table


READERS = {Format.CSV: _read_csv, Format.XLSX: _read_xlsx, Format.JSONL: _read_jsonl}


def table_read(data: bytes, fmt: Format) -> Table:
    return READERS[fmt](data)


# ---------------------------------------------------------------- writers

def _write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") or "" for c in columns])
    return buffer.getvalue().encode("utf-8")


def _write_xlsx(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()

    def text_cell(value: str) -> WriteOnlyCell | None:
        if not value:
            return None
        # Always text: an identifier keeps its leading zeros, and "=…" stays text instead of becoming a formula.
        cell = WriteOnlyCell(sheet, value=str(value))
        cell.data_type = "s"
        return cell

    sheet.append([text_cell(c) for c in columns])
    for row in rows:
        sheet.append([text_cell(row.get(c, "") or "") for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_jsonl(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    lines = [json.dumps({c: (row.get(c) or None) for c in columns}, ensure_ascii=False) for row in rows]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


WRITERS = {Format.CSV: _write_csv, Format.XLSX: _write_xlsx, Format.JSONL: _write_jsonl}


def table_write(columns: Sequence[str], rows: Iterable[Mapping[str, str]], fmt: Format) -> bytes:
    return WRITERS[fmt](columns, rows)
