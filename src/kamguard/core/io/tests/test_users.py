"""Kind `users`: people through user_create / user_update / user_set_roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from kamguard.core.io.runner import export_run
from kamguard.core.io.tests.helpers import ORG_CSV, USERS_CSV, audit_count, errors_by_row, run
from kamguard.org.models import Grade, User

HEADER = "external_id,username,full_name,role,department,supervisor,email,phone,region,grade,hired_on,left_on\n"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def org(db):
    run("org", ORG_CSV)
    Grade.objects.create(code="P5", name="资深", rank=5)


def roles_of(external_id: str) -> set[str]:
    return set(User.objects.get(external_id=external_id).role_assignments.values_list("role", flat=True))


def test_people_are_created_supervisor_later_in_the_file(org):
    # when
    report = run("users", USERS_CSV)
    # then
    assert (report.created, report.failed) == (2, 0)
    alice = User.objects.get(external_id="U-ALICE")
    assert alice.supervisor.external_id == "U-SAM"
    assert alice.team.external_id == "T-SH" and alice.department.external_id == "D-EAST"  # a team sets both
    assert alice.phone == "+8613800138000" and alice.email == "alice2@example.com"
    assert alice.hired_on == dt.date(2024, 1, 15) and alice.region.code == "310000"
    assert roles_of("U-ALICE") == {"manager"}
    assert not alice.has_usable_password()
    sam = User.objects.get(external_id="U-SAM")
    assert sam.department.external_id == "D-EAST" and sam.team is None
    assert audit_count("org.user.created") == 2


def test_same_file_twice_changes_nothing_and_records_no_event(org):
    run("users", USERS_CSV)
    events = audit_count()
    # when
    report = run("users", USERS_CSV)
    # then
    assert (report.unchanged, report.total) == (2, 2)
    assert audit_count() == events


def test_changed_roles_and_fields_update_through_the_services(org):
    run("users", USERS_CSV)
    changed = USERS_CSV.replace("U-SAM,sam2,沈明,supervisor,D-EAST,,", "U-SAM,sam2,沈明,supervisor|hr,D-EAST,,") \
        .replace(",,2024-01-15,", ",P5,2024-01-15,")
    # when
    report = run("users", changed)
    # then
    assert report.updated == 2
    assert roles_of("U-SAM") == {"supervisor", "hr"}
    assert User.objects.get(external_id="U-ALICE").grade.code == "P5"
    assert audit_count("org.user.roles_changed") == 1 and audit_count("org.user.updated") == 1


def test_a_person_made_their_own_supervisor_is_reported(org):
    report = run("users", HEADER + "U-X,x,某人,manager,D-EAST,U-X,,,,,,\n")
    assert errors_by_row(report)[2] == [("supervisor", "A person cannot be their own supervisor.")]
    assert not User.objects.filter(external_id="U-X").exists()


def test_a_reporting_loop_is_reported_on_every_row_in_it(org):
    content = HEADER + "U-A,a,甲,manager,,U-B,,,,,,\nU-B,b,乙,manager,,U-A,,,,,,\nU-C,c,丙,manager,,,,,,,,\n"
    report = run("users", content)
    errors = errors_by_row(report)
    assert set(errors) == {2, 3} and errors[2][0][0] == "supervisor" and "loop" in errors[2][0][1]
    assert report.created == 1


def test_a_loop_through_the_database_is_refused_by_the_service(org):
    run("users", USERS_CSV)
    report = run("users", HEADER + "U-SAM,sam2,沈明,supervisor,D-EAST,U-ALICE,,,,,,\n")
    assert errors_by_row(report)[2][0][0] == "supervisor"
    assert User.objects.get(external_id="U-SAM").supervisor is None


def test_incompatible_roles_are_a_row_error(org):
    report = run("users", HEADER + "U-X,x,某人,auditor|manager,D-EAST,,,,,,,\nU-Y,y,某乙,manager,D-EAST,,,,,,,\n")
    [(column, message)] = errors_by_row(report)[2]
    assert column == "role" and "segregation of duties" in message
    assert report.created == 1 and not User.objects.filter(external_id="U-X").exists()


@pytest.mark.parametrize(("cells", "column", "fragment"), [
    ("manager,D-EAST,,,,,,2024-13-01,", "hired_on", "not a date"),
    ("manager,D-EAST,,,,,,15/01/2024,", "hired_on", "YYYY-MM-DD"),
    ("wizard,D-EAST,,,,,,,", "role", "Unknown role wizard"),
    (",D-EAST,,,,,,,", "role", "at least one role"),
    ("manager,NOPE,,,,,,,", "department", "Unknown department or team NOPE"),
    ("manager,D-EAST,U-NOBODY,,,,,,", "supervisor", "Unknown person U-NOBODY"),
    ("manager,D-EAST,,,123,,,,", "phone", "valid phone"),
    ("manager,D-EAST,,not-an-email,,,,,", "email", "valid e-mail"),
    ("manager,D-EAST,,,,,G9,,", "grade", "Unknown grade code G9"),
    ("manager,D-EAST,,,,,,2024-06-01,2024-01-01", "left_on", "before the hiring date"),
])
def test_bad_cells_name_the_column_and_nothing_is_written(org, cells, column, fragment):
    before = (User.objects.count(), audit_count())
    report = run("users", HEADER + f"U-X,x,某人,{cells}\n")
    [(found_column, message)] = errors_by_row(report)[2]
    assert found_column == column and fragment in message
    assert (User.objects.count(), audit_count()) == before


def test_incompatible_roles_on_an_existing_person_are_a_row_error_and_change_nothing(org):
    run("users", USERS_CSV)
    events = audit_count()
    report = run("users", USERS_CSV.replace("U-SAM,sam2,沈明,supervisor,D-EAST,,sam2@", "U-SAM,sam2,沈明2,supervisor|auditor,D-EAST,,sam2@"))
    [(column, message)] = errors_by_row(report)[3]
    assert column == "role" and "segregation of duties" in message
    assert roles_of("U-SAM") == {"supervisor"} and User.objects.get(external_id="U-SAM").full_name == "沈明"
    assert audit_count() == events


def test_a_username_taken_by_someone_else_is_a_row_error(org):
    run("users", USERS_CSV)
    report = run("users", HEADER + "U-NEW,alice2,重名,manager,,,,,,,,\n")
    assert errors_by_row(report)[2][0][0] == "username"


def test_left_on_in_the_past_deactivates_the_account_and_ends_sessions(org, client_for):
    run("users", USERS_CSV)
    browser = client_for(User.objects.get(external_id="U-ALICE"))
    assert browser.get("/").status_code == 200
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    # when
    report = run("users", USERS_CSV.replace("2024-01-15,", f"2024-01-15,{yesterday}"))
    # then
    alice = User.objects.get(external_id="U-ALICE")
    assert report.updated == 1 and alice.is_active is False and alice.left_on.isoformat() == yesterday
    assert audit_count("org.user.updated") == 1
    assert browser.get("/").status_code == 302  # signed out: the session ended
    # and a new person who already left is created inactive; a future leaving date leaves the account active
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    run("users", HEADER + f"U-OLD,old,旧人,manager,,,,,,,2020-01-01,2021-01-01\n"
                          f"U-SOON,soon,将走,manager,,,,,,,2020-01-01,{tomorrow}\n")
    assert User.objects.get(external_id="U-OLD").is_active is False
    assert User.objects.get(external_id="U-SOON").is_active is True


def test_masked_contact_values_are_left_unchanged_with_a_warning(org):
    run("users", USERS_CSV)
    report = run("users", USERS_CSV.replace("Alice2@Example.com,138 0013 8000", "a***@example.com,+86138****8000"))
    assert report.unchanged == 2 and {w.column for w in report.warnings} == {"email", "phone"}
    assert User.objects.get(external_id="U-ALICE").phone == "+8613800138000"


def test_absent_columns_are_left_alone(org):
    run("users", USERS_CSV)
    report = run("users", "external_id,username,full_name,role\nU-ALICE,alice2,李爱丽,manager\n")
    alice = User.objects.get(external_id="U-ALICE")
    assert report.unchanged == 1 and alice.supervisor is not None and alice.phone


def test_atomic_and_dry_run_write_nothing(org):
    content = USERS_CSV + "U-X,x,某人,wizard,,,,,,,,\n"
    dry = run("users", content, dry_run=True)
    assert User.objects.count() == 0 and dry.created == 2 and dry.failed == 1
    atomic = run("users", content, atomic=True)
    assert User.objects.count() == 0 and atomic.written is False
    assert audit_count("org.user") == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_round_trip_export_then_import_changes_nothing(org, fmt):
    run("users", USERS_CSV.replace("supervisor,D-EAST", "supervisor|hr,D-EAST").replace(",,2024-01-15,", ",P5,2019-01-15,2020-02-02"))
    assert User.objects.get(external_id="U-ALICE").is_active is False
    exported = export_run(actor=None, kind="users", file_format=fmt)
    events = audit_count()
    # when
    report = run("users", exported.content, name=f"users.{fmt}")
    # then
    assert (report.unchanged, report.total, report.warnings) == (2, 2, [])
    assert audit_count() == events


def test_only_an_administrator_grants_the_administrator_role(world):
    # given: hanna (hr) may manage people but is no administrator
    report = run("users", HEADER + "U-X,x,某人,admin,,,,,,,,\nU-Y,y,某乙,manager,,,,,,,,\n", actor=world.hanna)
    # then
    assert errors_by_row(report)[2][0] == ("role", "Only an administrator can grant the administrator role.")
    assert report.created == 1 and not User.objects.filter(external_id="U-X").exists()


def test_nobody_changes_their_own_roles_by_import(world):
    User.objects.filter(pk=world.adam.pk).update(external_id="U-ADAM")
    adam = world.person("adam")
    report = run("users", HEADER + "U-ADAM,adam,安大明,admin|hr,,,,,,,,\n", actor=adam)
    assert errors_by_row(report)[2][0][0] == "role"
    assert roles_of("U-ADAM") == {"admin"}


def test_export_queries_do_not_grow_with_the_number_of_people(org, django_assert_max_num_queries):
    run("users", USERS_CSV)
    many = HEADER + "".join(f"U-{i},user{i},人{i},manager,T-SH,U-SAM,u{i}@example.com,,,P5,,\n" for i in range(30))
    assert run("users", many).created == 30
    # constant: people, roles, audit (+ the chain lock on PostgreSQL)
    with django_assert_max_num_queries(10):
        exported = export_run(actor=None, kind="users", file_format="csv")
    assert exported.rows == 32
