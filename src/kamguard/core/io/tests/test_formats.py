"""Reading and writing files: CSV with and without BOM, XLSX, JSON Lines, and files that cannot be read."""

from __future__ import annotations

import pytest

from kamguard.core.io.formats import FileRejected, Format, format_infer, table_read, table_write
from kamguard.core.io.ordering import order_parents_first
from kamguard.core.io.tests.helpers import jsonl_bytes, xlsx_bytes


def test_csv_with_and_without_bom_reads_the_same():
    plain = "external_id,Name\nA,甲\n\nB,乙\n".encode()
    table = table_read(plain, Format.CSV)
    assert table.columns == ["external_id", "name"]
    assert table.rows == [(2, {"external_id": "A", "name": "甲"}), (4, {"external_id": "B", "name": "乙"})]
    assert table_read(b"\xef\xbb\xbf" + plain, Format.CSV).rows == table.rows


def test_xlsx_first_sheet_dates_and_numbers_become_text():
    import datetime as dt

    data = xlsx_bytes([["external_id", "phone", "hired_on"], ["A", 13800138000, dt.datetime(2024, 1, 15)], [None, None]])
    table = table_read(data, Format.XLSX)
    assert table.rows == [(2, {"external_id": "A", "phone": "13800138000", "hired_on": "2024-01-15"})]


def test_jsonl_keys_become_columns_and_null_is_empty():
    table = table_read(jsonl_bytes([{"external_id": "A", "name": "甲"}, {"external_id": "B", "parent": None}]),
                       Format.JSONL)
    assert table.columns == ["external_id", "name", "parent"]
    assert table.rows[1] == (2, {"external_id": "B", "name": "", "parent": ""})


@pytest.mark.parametrize(("data", "fmt", "code"), [
    ("external_id\n甲\n".encode("gbk"), Format.CSV, "not_utf8"),
    (b"", Format.CSV, "empty"),
    (b"PK\x03\x04 not really a zip", Format.XLSX, "not_xlsx"),
    (b"external_id,name\n", Format.XLSX, "not_xlsx"),
    (b'{"external_id": "A"}\n{"external_id": \n', Format.JSONL, "not_jsonl"),
    (b'["A"]\n', Format.JSONL, "not_jsonl"),
    (b"a,a\n1,2\n", Format.CSV, "duplicate_column"),
    (b'external_id,name\n"A,unterminated\n', Format.CSV, "not_csv"),
    (b'{"external_id": "A\\u0000"}\n', Format.JSONL, "nul_character"),
])
def test_malformed_files_are_rejected_as_a_whole(data, fmt, code):
    with pytest.raises(FileRejected) as caught:
        table_read(data, fmt)
    assert caught.value.code == code
    assert caught.value.status == 422


def test_format_from_extension_or_explicit():
    assert format_infer("people.XLSX") == Format.XLSX
    assert format_infer("people.ndjson") == Format.JSONL
    assert format_infer("people.txt", "csv") == Format.CSV
    with pytest.raises(FileRejected):
        format_infer("people.txt")
    with pytest.raises(FileRejected):
        format_infer("people.csv", "xml")


@pytest.mark.parametrize("fmt", list(Format))
def test_writers_round_trip_through_readers(fmt):
    columns = ["external_id", "name", "parent"]
    rows = [{"external_id": "007", "name": "总公司", "parent": ""}, {"external_id": "B", "name": "乙", "parent": "007"}]
    table = table_read(table_write(columns, rows, fmt), fmt)
    assert [row for _n, row in table.rows] == rows


def test_xlsx_export_keeps_text_that_looks_like_a_formula_as_text():
    from io import BytesIO

    from openpyxl import load_workbook

    data = table_write(["name"], [{"name": "=HYPERLINK(\"http://x\")"}], Format.XLSX)
    cell = load_workbook(BytesIO(data)).worksheets[0]["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_ordering_parents_first_and_loops():
    result = order_parents_first({"c": "b", "b": "a", "a": None, "x": "y", "y": "x", "z": "x", "s": "s", "e": "db"})
    assert result.order.index("a") < result.order.index("b") < result.order.index("c")
    assert "e" in result.order  # a parent outside the file imposes nothing
    assert set(result.cycles) == {"x", "y", "s"}
    assert result.cycles["x"] == ["x", "y"] and result.cycles["s"] == ["s"]
    assert result.below_cycle == {"z": "x"}


def test_csv_rows_as_the_generic_reader_makes_them():
    """The CSV reader's own row loop gives what `_row_dict` gives for every shape of row: an unnamed column
    skipped, short rows filled with empty cells, extra cells ignored, cells stripped, blank rows dropped."""
    import csv
    import io

    from kamguard.core.io.formats import _header, _row_dict

    for text in ("external_id, Name ,,note\n A ,甲,x, n \nB\n,,zzz\nC,乙,,,extra\n \t,\n",
                 "external_id,name\n A , 甲 \nB\n , \nC,乙,extra\n"):
        table = table_read(text.encode(), Format.CSV)
        reader = csv.reader(io.StringIO(text, newline=""))
        columns = _header(next(reader))
        expected = [(n, row) for n, cells in enumerate(reader, start=2)
                    if (row := _row_dict(columns, cells, n)) is not None]
        assert table.columns == columns
        assert table.rows == expected
    assert table_read(b"external_id,,note\n A ,x, n \n,zzz,\n", Format.CSV).rows == [
        (2, {"external_id": "A", "note": "n"})]
