"""Kind `org`: departments and teams through the org services."""

from __future__ import annotations

import pytest
from django.utils import translation

from kamguard.core.io.registry import UnknownKind
from kamguard.core.io.runner import export_run
from kamguard.core.io.tests.helpers import ORG_CSV, audit_count, errors_by_row, jsonl_bytes, run, xlsx_bytes
from kamguard.org.models import Department, Team


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_parents_later_in_the_file_are_created_first(db):
    # when
    report = run("org", ORG_CSV)
    # then
    assert (report.created, report.failed, report.written) == (3, 0, True)
    hq = Department.objects.get(external_id="D-HQ")
    east = Department.objects.get(external_id="D-EAST")
    team = Team.objects.get(external_id="T-SH")
    assert east.parent == hq and east.path == f"{hq.path}{east.pk}/" and east.region.code == "310000"
    assert team.department == east and team.region.name == "上海市"
    assert audit_count("org.department.created") == 2 and audit_count("org.team.created") == 1


def test_same_file_twice_changes_nothing_and_records_no_event(db):
    run("org", ORG_CSV)
    events = audit_count()
    # when
    report = run("org", ORG_CSV)
    # then
    assert (report.unchanged, report.created, report.updated) == (3, 0, 0)
    assert audit_count() == events


def test_changed_row_updates_through_the_service_and_is_audited(db):
    run("org", ORG_CSV)
    changed = ORG_CSV.replace("华东销售部,D-HQ", "华东大区,D-HQ").replace("T-SH,上海一组,D-EAST,team,310000",
                                                                         "T-SH,上海一组,D-HQ,team,")
    # when
    report = run("org", changed)
    # then
    assert (report.updated, report.unchanged) == (2, 1)
    assert Department.objects.get(external_id="D-EAST").name == "华东大区"
    team = Team.objects.get(external_id="T-SH")
    assert team.department.external_id == "D-HQ" and team.region is None
    assert audit_count("org.department.updated") == 1 and audit_count("org.team.updated") == 1


def test_cycles_are_reported_on_every_row_in_them_and_the_rest_is_imported(db):
    content = """external_id,name,parent
A,甲,B
B,乙,C
C,丙,A
S,自己,S
U,下级,A
OK,正常,
"""
    # when
    report = run("org", content)
    # then
    errors = errors_by_row(report)
    assert set(errors) == {2, 3, 4, 5, 6}
    assert all(column == "parent" for row in errors.values() for column, _m in row)
    assert "loop" in errors[2][0][1] and "A (row 2)" in errors[2][0][1]
    assert "own parent" in errors[5][0][1]
    assert report.created == 1 and list(Department.objects.values_list("external_id", flat=True)) == ["OK"]


def test_moving_a_department_under_its_own_child_is_refused_by_the_service(db):
    run("org", ORG_CSV)
    # when: the file makes HQ a child of EAST, and EAST is not in the file
    report = run("org", "external_id,name,parent\nD-HQ,总公司,D-EAST\n")
    # then
    assert errors_by_row(report)[2][0][0] == "parent"
    assert Department.objects.get(external_id="D-HQ").parent is None


@pytest.mark.parametrize(("row", "column", "fragment"), [
    ("T2,团队,,team,", "parent", "needs a parent department"),
    ("T2,团队,T-SH,team,", "parent", "is a team"),
    ("D2,部门,NOPE,department,", "parent", "Unknown department NOPE"),
    ("D2,部门,D-HQ,division,", "kind", "department or team"),
    ("D2,部门,D-HQ,department,朝阳区", "region", "6-digit code"),
    ("D2,部门,D-HQ,department,999999", "region", "Unknown region code"),
    ("D-EAST,华东销售部,D-HQ,team,", "kind", "cannot change its kind"),
    (",无编号,D-HQ,department,", "external_id", "required"),
    ("D2,,D-HQ,department,", "name", "required"),
])
def test_bad_rows_name_the_column_and_reason(db, row, column, fragment):
    run("org", ORG_CSV)
    before = (Department.objects.count(), Team.objects.count(), audit_count())
    # when
    report = run("org", f"external_id,name,parent,kind,region\n{row}\n")
    # then
    [(found_column, message)] = errors_by_row(report)[2]
    assert found_column == column and fragment in message
    assert (Department.objects.count(), Team.objects.count(), audit_count()) == before


def test_duplicate_external_id_in_the_file_is_reported_on_the_repeat(db):
    report = run("org", "external_id,name\nA,甲\nA,乙\n")
    assert report.created == 1 and errors_by_row(report)[3][0][0] == "external_id"


def test_unknown_columns_are_ignored_with_a_warning(db):
    report = run("org", "external_id,name,colour\nA,甲,red\n")
    assert report.created == 1 and [(w.column, w.row) for w in report.warnings] == [("colour", None)]


def test_atomic_writes_nothing_when_a_row_is_bad(db):
    # when
    report = run("org", ORG_CSV + "BAD,坏,NOPE,department,\n", atomic=True)
    # then
    assert report.failed == 1 and report.created == 3 and report.written is False
    assert Department.objects.count() == 0 and Team.objects.count() == 0 and audit_count() == 0


def test_atomic_writes_everything_when_all_rows_are_good(db):
    report = run("org", ORG_CSV, atomic=True)
    assert report.written and Department.objects.count() == 2


def test_dry_run_writes_nothing_and_reports_what_a_real_run_reports(db):
    content = ORG_CSV + "BAD,坏,NOPE,department,\n"
    # when
    dry = run("org", content, dry_run=True)
    # then
    assert dry.written is False and Department.objects.count() == 0 and audit_count() == 0
    real = run("org", content)
    assert dry.as_dict() | {"dry_run": False, "written": True} == real.as_dict()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_round_trip_export_then_import_changes_nothing(db, tmp_path, fmt):
    run("org", ORG_CSV)
    exported = export_run(actor=None, kind="org", file_format=fmt)
    assert exported.rows == 3
    events = audit_count()
    # when
    report = run("org", exported.content, name=f"org.{fmt}")
    # then
    assert (report.unchanged, report.total) == (3, 3)
    assert audit_count() == events


def test_xlsx_and_jsonl_imports(db):
    report = run("org", xlsx_bytes([["external_id", "name", "parent"], ["A", "甲", None], ["B", "乙", "A"]]),
                 name="org.xlsx")
    assert report.created == 2
    report = run("org", jsonl_bytes([{"external_id": "C", "name": "丙", "parent": "B", "kind": "team"}]),
                 name="org.jsonl")
    assert report.created == 1 and Team.objects.get(external_id="C").department.external_id == "B"


def test_unknown_kind_is_refused(db):
    with pytest.raises(UnknownKind):
        run("customers-v2", ORG_CSV)
