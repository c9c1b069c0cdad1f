"""Kind `activities`: idempotent by external id, bad rows reported by row and column, good rows kept."""

from __future__ import annotations

import pytest

from kamguard.activities.models import Activity, Status
from kamguard.core.errors import PermissionRefused
from kamguard.core.io.runner import export_run, import_run
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.org.models import User

HEADER = "external_id,user,customer,kind,happened_at,duration_min,summary,latitude,longitude\n"


@pytest.fixture
def keyed(world, book):
    User.objects.filter(pk=world.alice.pk).update(external_id="U-ALICE")
    User.objects.filter(pk=world.carol.pk).update(external_id="U-CAROL")
    Customer.objects.filter(pk=book.alpha.pk).update(external_id="C-ALPHA")
    Customer.objects.filter(pk=book.beta.pk).update(external_id="C-BETA")
    return book


def _file(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


GOOD = (
    "A-1,U-ALICE,C-ALPHA,call,2026-01-05T10:00:00+08:00,15,电话沟通,,",
    "A-2,U-ALICE,C-ALPHA,visit,2026-01-06T14:30:00+08:00,60,拜访,30.57,104.07",
)


def test_import_creates_and_is_idempotent(world, keyed) -> None:
    data = _file(*GOOD, "A-3,U-ALICE,C-ALPHA,fax,2026-01-06T14:30:00+08:00,,x,,",
                 "A-4,U-NOBODY,C-ALPHA,call,tomorrow,abc,x,95,",
                 "A-5,U-ALICE,C-ALPHA,call,2099-01-01T00:00:00Z,,x,,")
    report = import_run(actor=world.sam, kind="activities", data=data, filename="a.csv")
    assert {r.row: r.status for r in report.results} == {2: "created", 3: "created", 4: "error", 5: "error",
                                                           6: "error"}
    problems = {(e.row, e.column) for e in report.errors}
    assert {(4, "kind"), (5, "user"), (5, "happened_at"), (5, "duration_min"), (5, "latitude"),
            (6, "happened_at")} <= problems
    visit = Activity.objects.get(external_id="A-2")
    assert visit.status == Status.DONE and visit.is_far and visit.checked_in_at == visit.happened_at
    assert TimelineEntry.objects.filter(kind__startswith="activities.", customer=keyed.alpha).count() == 2
    assert Customer.objects.get(pk=keyed.alpha.pk).last_followup_at == visit.happened_at
    events = AuditEvent.objects.count()
    again = import_run(actor=world.sam, kind="activities", data=_file(*GOOD), filename="a.csv")
    assert {r.status for r in again.results} == {"unchanged"}
    assert Activity.objects.count() == 2 and AuditEvent.objects.count() == events
    changed = import_run(actor=world.sam, kind="activities",
                         data=_file(GOOD[0].replace("电话沟通", "电话沟通报价")), filename="a.csv")
    assert changed.results[0].status == "updated"
    assert Activity.objects.get(external_id="A-1").summary == "电话沟通报价"


def test_import_scope_and_rights(world, keyed) -> None:
    with pytest.raises(PermissionRefused):
        import_run(actor=world.alice, kind="activities", data=_file(*GOOD), filename="a.csv")
    with pytest.raises(PermissionRefused):
        import_run(actor=world.audrey, kind="activities", data=_file(*GOOD), filename="a.csv")
    # sam may not name carol (outside his department) nor her customer
    report = import_run(actor=world.sam, kind="activities",
                        data=_file("B-1,U-CAROL,C-BETA,call,2026-01-05T10:00:00+08:00,,x,,"), filename="a.csv")
    assert {(e.row, e.column) for e in report.errors} == {(2, "user"), (2, "customer")}
    assert not Activity.objects.exists()


def test_dry_run_writes_nothing_and_duplicate_rows_refused(world, keyed) -> None:
    report = import_run(actor=world.sam, kind="activities", data=_file(*GOOD), filename="a.csv", dry_run=True)
    assert report.created == 2 and not Activity.objects.exists()
    report = import_run(actor=world.sam, kind="activities", data=_file(GOOD[0], GOOD[0]), filename="a.csv")
    assert [(e.row, e.column) for e in report.errors] == [(3, "external_id")]
    assert Activity.objects.count() == 1


def test_export_round_trip(world, keyed) -> None:
    import_run(actor=None, kind="activities", data=_file(*GOOD), filename="a.csv")
    exported = export_run(actor=None, kind="activities", file_format="csv")
    text = exported.content.decode("utf-8-sig")
    assert "A-1" in text and "C-ALPHA" in text
    report = import_run(actor=None, kind="activities", data=text.encode(), filename="a.csv")
    assert {r.status for r in report.results} == {"unchanged"}
