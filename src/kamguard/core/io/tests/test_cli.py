"""`kamguard import` / `kamguard export`: summary, --json, exit status 0 / 1 / 2, --as."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import translation

from kamguard.core.io.tests.helpers import ORG_CSV, USERS_CSV, audit_count, write
from kamguard.core.models import AuditEvent
from kamguard.org.models import Department, User


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def kamguard(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue() + f"\nerror: {exc}"
    return 0, out.getvalue()


def test_import_all_good_exits_0_with_a_summary(db, tmp_path):
    status, out = kamguard("kg_import", "org", str(write(tmp_path, "org.csv", ORG_CSV)))
    assert status == 0
    assert "created" in out and "3" in out
    assert AuditEvent.objects.filter(action="org.department.created").first().channel == "cli"


def test_import_with_bad_rows_exits_1_and_names_row_and_column(db, tmp_path):
    path = write(tmp_path, "org.csv", ORG_CSV + "BAD,坏,NOPE,department,\n")
    status, out = kamguard("kg_import", "org", str(path))
    assert status == 1
    assert "row 5, column parent: Unknown department NOPE" in out
    assert Department.objects.count() == 2


def test_json_report(db, tmp_path):
    path = write(tmp_path, "org.csv", ORG_CSV + "BAD,坏,NOPE,department,\n")
    status, out = kamguard("kg_import", "org", str(path), "--json", "--dry-run")
    report = json.loads(out.split("\nerror:")[0])
    assert status == 1 and report["dry_run"] is True and report["written"] is False
    assert report["counts"] == {"total": 4, "created": 3, "updated": 0, "unchanged": 0, "error": 1}
    assert report["errors"] == [{"row": 5, "column": "parent", "message": "Unknown department NOPE: no such external id."}]
    assert Department.objects.count() == 0


def test_format_option_overrides_the_extension(db, tmp_path):
    path = write(tmp_path, "org.txt", ORG_CSV)
    assert kamguard("kg_import", "org", str(path))[0] == 2
    assert kamguard("kg_import", "org", str(path), "--format", "csv")[0] == 0


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("org.csv", "名字\n甲\n".encode("gb18030"), "not UTF-8"),
    ("org.xlsx", b"not a workbook", "Excel"),
    ("org.jsonl", b'{"external_id": "A", "name": "x"}\nnot json\n', "Line 2"),
    ("org.csv", b"external_id,parent\nA,\n", "Required columns are missing: name"),
])
def test_file_level_errors_exit_2_and_write_nothing(db, tmp_path, name, content, fragment):
    status, out = kamguard("kg_import", "org", str(write(tmp_path, name, content)))
    assert status == 2 and fragment in out
    assert Department.objects.count() == 0 and audit_count() == 0


def test_unknown_kind_missing_file_and_oversize_exit_2(db, tmp_path):
    path = write(tmp_path, "org.csv", ORG_CSV)
    assert kamguard("kg_import", "planets", str(path))[0] == 2
    assert kamguard("kg_import", "org", str(tmp_path / "missing.csv"))[0] == 2
    with override_settings(IMPORT_MAX_BYTES=10):
        status, out = kamguard("kg_import", "org", str(path))
    assert status == 2 and "limit" in out and Department.objects.count() == 0


def test_as_a_person_without_the_right_is_refused(world, tmp_path):
    path = write(tmp_path, "org.csv", ORG_CSV)
    before = Department.objects.count()
    status, _out = kamguard("kg_import", "org", str(path), "--as", "alice")
    assert status == 2 and Department.objects.count() == before
    refusal = AuditEvent.objects.get(action="permission.refused")
    assert refusal.actor == world.alice and refusal.object_id == "import org"
    assert kamguard("kg_import", "org", str(path), "--as", "nobody")[0] == 2
    status, out = kamguard("kg_import", "org", str(path), "--as", "adam")
    # the world already has a root department named 总公司: the service refuses a second one
    assert status == 1 and "row 4, column name" in out and "row 3, column parent" in out
    status, _out = kamguard("kg_import", "org", str(write(tmp_path, "o2.csv", "external_id,name\nD-NEW,新部门\n")),
                            "--as", "adam")
    assert status == 0
    assert AuditEvent.objects.get(action="org.department.created").actor_label == "adam"


def test_export_as_system_is_unmasked_and_audited(db, tmp_path):
    kamguard("kg_import", "org", str(write(tmp_path, "org.csv", ORG_CSV)))
    kamguard("kg_import", "users", str(write(tmp_path, "users.csv", USERS_CSV)))
    target = tmp_path / "out.jsonl"
    status, out = kamguard("kg_export", "users", str(target))
    assert status == 0 and "Exported 2" in out
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {r["phone"] for r in rows} == {"+8613800138000", "+8613900000001"}
    event = AuditEvent.objects.get(action="users.exported")
    assert event.changes["format"]["after"] == "jsonl" and event.changes["rows"]["after"] == 2
    assert event.actor_label == "system"


def test_export_as_a_person_needs_the_export_right_and_masks(world, tmp_path):
    status, _out = kamguard("kg_export", "users", str(tmp_path / "u.csv"), "--as", "alice")
    assert status == 2 and not (tmp_path / "u.csv").exists()
    assert not AuditEvent.objects.filter(action="users.exported").exists()
    status, _out = kamguard("kg_export", "users", str(tmp_path / "u.csv"), "--as", "adam")
    text = (tmp_path / "u.csv").read_text(encoding="utf-8")
    assert status == 0 and "alice@example.com" not in text and ",alice,李爱丽,manager,,,a****@example.com,+86138****8000," in text
    assert User.objects.get(username="alice").email == "alice@example.com"
