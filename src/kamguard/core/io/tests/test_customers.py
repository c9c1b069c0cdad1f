"""Kinds `customers`, `contacts` and `transfers`: the duplicate check per row, idempotence, history dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from kamguard.core.io.runner import export_run
from kamguard.core.io.tests.helpers import audit_count, errors_by_row, jsonl_bytes, run
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Contact, Customer, OwnershipChange, TimelineEntry
from kamguard.customers.selectors import owner_on
from kamguard.customers.services.pools import pool_member_set, pool_save
from kamguard.org.models import Industry, User

CUSTOMERS_HEADER = ("external_id,name,uscc,english_name,aliases,region,address,industry,size,tier,owner,created_on,"
                    "source\n")
CUSTOMERS_CSV = CUSTOMERS_HEADER + (
    "C-1,深圳市腾达电子科技有限公司,91440300MA5FUYN44E,Tengda Electronics,腾达电子|腾达,440300,深圳市南山区科技园,"
    "电子,large,A,U-ALICE,2020-01-10,ERP\n"
    "C-2,成都蜀光机械股份有限公司,,,,,,,medium,B,U-BOB,2021-03-05,ERP\n"
    "C-3,上海浦江物流有限公司,,,,310000,,,small,,,2022-07-01,ERP\n"
)
CONTACTS_HEADER = "external_id,customer,name,title,phone,email,wechat,is_decision_maker\n"
CONTACTS_CSV = CONTACTS_HEADER + (
    "K-1,C-1,张伟,总经理,139 1234 5678,Zhang@Tengda-e.com,zhang_wx,true\n"
    "K-2,C-1,李娜,采购经理,,li@tengda-e.com,,false\n"
    "K-3,C-2,王强,,13800001111,,,\n"
)
TRANSFERS_CSV = """customer,to_owner,effective_on,reason
C-1,,2023-02-01,released in the ERP
C-1,U-BOB,2021-06-01,reorganisation
C-2,U-ALICE,2022-01-15,
"""


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def book(world):
    return book_setup(world)


def book_setup(world):
    """The personas with external ids, one shared pool, one industry."""
    for name in ("alice", "bob", "sue", "henry", "sam", "carol", "adam"):
        User.objects.filter(username=name).update(external_id=f"U-{name.upper()}")
    pool = pool_save(actor=None, name="华东公海")
    for person in (world.alice, world.bob, world.carol):
        pool_member_set(actor=None, pool_id=pool.pk, user=person, is_member=True)
    Industry.objects.get_or_create(code="ELEC", defaults={"name": "电子"})
    return world


def at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(23, 59)))


def owner_name(external_id: str, day: str) -> str | None:
    owner_id = owner_on(customer_id=Customer.objects.get(external_id=external_id).pk, on=at(day))
    return User.objects.get(pk=owner_id).username if owner_id else None


# ---------------------------------------------------------------- customers

def test_customers_are_created_with_owner_pool_region_industry_and_dated_history(book):
    # when
    report = run("customers", CUSTOMERS_CSV)
    # then
    assert (report.created, report.failed, report.written) == (3, 0, True), report.errors
    tengda = Customer.objects.get(external_id="C-1")
    assert tengda.owner.username == "alice" and tengda.uscc == "91440300MA5FUYN44E"
    assert tengda.aliases == ["腾达电子", "腾达"] and tengda.region.code == "440300"
    assert tengda.industry.code == "ELEC" and (tengda.size, tengda.tier, tengda.source) == ("large", "A", "ERP")
    assert tengda.created_on == dt.date(2020, 1, 10)
    pooled = Customer.objects.get(external_id="C-3")
    assert pooled.owner is None and pooled.pool.name == "华东公海" and pooled.tier == "C"
    # the ledger keeps the registration date
    assert owner_name("C-1", "2020-01-09") is None and owner_name("C-1", "2020-01-10") == "alice"
    assert OwnershipChange.objects.filter(kind="import").count() == 3
    assert audit_count("customers.customer.created") == 3


def test_same_file_twice_changes_nothing_and_records_no_event(book):
    run("customers", CUSTOMERS_CSV)
    events, timeline = AuditEvent.objects.count(), TimelineEntry.objects.count()
    # when
    report = run("customers", CUSTOMERS_CSV)
    # then
    assert (report.unchanged, report.total, report.warnings) == (3, 3, [])
    assert (AuditEvent.objects.count(), TimelineEntry.objects.count()) == (events, timeline)


def test_a_changed_row_updates_through_customer_update_and_an_owner_change_through_the_ledger(book):
    run("customers", CUSTOMERS_CSV)
    changed = CUSTOMERS_CSV.replace("large,A,U-ALICE", "medium,A,U-HENRY").replace(",medium,B,U-BOB,", ",medium,A,U-BOB,")
    # when
    report = run("customers", changed)
    # then
    assert (report.updated, report.unchanged) == (2, 1), report.errors
    tengda = Customer.objects.get(external_id="C-1")
    assert tengda.size == "medium" and tengda.owner.username == "henry"
    assert Customer.objects.get(external_id="C-2").tier == "A"
    assert audit_count("customers.customer.updated") == 2 and audit_count("customers.ownership.import") == 4


@pytest.mark.parametrize(("cells", "column", "fragment"), [
    ("X,91440300MA5FUYN44X,,,,,,,,,", "uscc", "check character"),
    (",,,,,,,,,,", "name", "required"),
    ("X,,,,,,,,,U-NOBODY,", "owner", "Unknown person U-NOBODY"),
    ("X,,,,999999,,,,,,", "region", "Unknown region code"),
    ("X,,,,,,钢铁,,,,", "industry", "Unknown industry 钢铁"),
    ("X,,,,,,,huge,,,", "size", "Choose one of"),
    ("X,,,,,,,,Z,,", "tier", "Choose one of"),
    ("X,,,,,,,,,,2020-02-30", "created_on", "not a date"),
    ("X,,,,,,,,,U-AUDREY,", "owner", "Unknown person"),
])
def test_bad_customer_rows_name_the_column_and_reason_and_write_nothing(book, cells, column, fragment):
    before = (Customer.objects.count(), AuditEvent.objects.count())
    name, rest = cells.split(",", 1)
    row = f"C-9,{'宁波甬兴新材料有限公司' if name else ''},{rest}"
    # when
    report = run("customers", CUSTOMERS_HEADER + row + "\n")
    # then
    [(found_column, message)] = errors_by_row(report)[2]
    assert found_column == column and fragment in message
    assert (Customer.objects.count(), AuditEvent.objects.count()) == before


def test_an_owner_who_left_before_created_on_or_has_left_is_a_row_error(book):
    User.objects.filter(username="henry").update(left_on=dt.date(2021, 1, 1), is_active=False)
    content = CUSTOMERS_HEADER + ("C-8,宁波甬兴新材料有限公司,,,,,,,,,U-HENRY,2022-05-01,\n"
                                  "C-9,温州瓯江阀门有限公司,,,,,,,,,U-HENRY,2020-05-01,\n")
    # when
    report = run("customers", content)
    # then
    errors = errors_by_row(report)
    assert errors[2][0][0] == "owner" and "left on 2021-01-01, before 2022-05-01" in errors[2][0][1]
    assert errors[3][0][0] == "owner" and "has left" in errors[3][0][1]
    assert not Customer.objects.filter(external_id__in=["C-8", "C-9"]).exists()


def test_two_rows_of_the_same_company_in_one_file_create_it_once(book):
    content = CUSTOMERS_HEADER + ("C-1,深圳市腾达电子科技有限公司,91440300MA5FUYN44E,,,,,,,,U-ALICE,,\n"
                                  "C-1B,深圳市腾达电子科技有限公司,,,,,,,,,U-BOB,,\n")
    # when
    report = run("customers", content)
    # then
    assert (report.created, report.failed) == (1, 1)
    [(column, message)] = errors_by_row(report)[3]
    assert column == "name" and "C-1 深圳市腾达电子科技有限公司" in message and "row 2 of this file" in message
    assert Customer.objects.count() == 1


def test_a_duplicate_of_a_customer_in_the_database_is_reported(book):
    run("customers", CUSTOMERS_CSV)
    # when: the same USCC under another external id
    report = run("customers", CUSTOMERS_HEADER + "C-NEW,腾达电子（深圳）有限公司,91440300MA5FUYN44E,,,,,,,,U-BOB,,\n")
    # then
    [(column, message)] = errors_by_row(report)[2]
    assert column == "name" and "C-1" in message and "not imported twice" in message
    assert not Customer.objects.filter(external_id="C-NEW").exists()


def test_a_possible_duplicate_needs_a_duplicate_reason(book):
    run("customers", CUSTOMERS_CSV)
    row = "C-NEW,上海浦江国际物流集团,,,,,,,,,U-BOB,,\n"
    # when
    refused = run("customers", CUSTOMERS_HEADER + row)
    # then
    [(column, message)] = errors_by_row(refused)[2]
    assert column == "duplicate_reason" and "C-3 上海浦江物流有限公司" in message, message
    assert not Customer.objects.filter(external_id="C-NEW").exists()
    # and with a reason the row is imported, the reason recorded
    header = CUSTOMERS_HEADER.rstrip("\n") + ",duplicate_reason\n"
    accepted = run("customers", header + row.rstrip("\n") + ",不同法人：集团公司，非子公司\n")
    assert accepted.created == 1 and accepted.warnings == []
    event = AuditEvent.objects.get(action="customers.customer.created", object_id=str(
        Customer.objects.get(external_id="C-NEW").pk))
    assert "不同法人" in event.reason


def test_renaming_a_customer_like_another_one_needs_a_duplicate_reason(book):
    run("customers", CUSTOMERS_CSV)
    renamed = CUSTOMERS_CSV.replace("成都蜀光机械股份有限公司", "上海浦江国际物流集团")
    # when
    report = run("customers", renamed)
    # then
    [(column, message)] = errors_by_row(report)[3]
    assert column == "duplicate_reason" and "C-3" in message
    assert Customer.objects.get(external_id="C-2").name == "成都蜀光机械股份有限公司"


def test_a_customer_for_the_pool_without_any_pool_is_a_row_error(world):
    report = run("customers", CUSTOMERS_HEADER + "C-9,宁波甬兴新材料有限公司,,,,,,,,,,,\n")
    [(column, message)] = errors_by_row(report)[2]
    assert column == "owner" and "pool" in message
    assert not Customer.objects.exists()


def test_atomic_and_dry_run_write_nothing(book):
    content = CUSTOMERS_CSV + "C-9,,,,,,,,,,,,\n"
    events = AuditEvent.objects.count()
    dry = run("customers", content, dry_run=True)
    assert (dry.created, dry.failed, dry.written) == (3, 1, False)
    atomic = run("customers", content, atomic=True)
    assert atomic.written is False
    assert Customer.objects.count() == 0 and AuditEvent.objects.count() == events
    real = run("customers", content)
    assert dry.as_dict() | {"dry_run": False, "written": True} == real.as_dict()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_round_trip_export_then_import_changes_nothing(book, fmt):
    run("customers", CUSTOMERS_CSV)
    run("contacts", CONTACTS_CSV)
    run("transfers", TRANSFERS_CSV)
    events = AuditEvent.objects.count()
    # when
    for kind in ("customers", "contacts", "transfers"):
        exported = export_run(actor=None, kind=kind, file_format=fmt)
        report = run(kind, exported.content, name=f"{kind}.{fmt}")
        # then
        assert report.failed == 0 and report.created == report.updated == 0, (kind, report.errors)
        assert report.unchanged == exported.rows > 0
    assert AuditEvent.objects.filter(action__endswith=".exported").count() == 3
    assert AuditEvent.objects.exclude(action__endswith=".exported").count() == events


def test_export_follows_the_exporters_scope_and_masks_contact_data(book):
    run("customers", CUSTOMERS_CSV)
    run("contacts", CONTACTS_CSV)
    User.objects.filter(username="alice").update(can_export=True)
    alice = User.objects.get(username="alice")
    # when
    customers = export_run(actor=alice, kind="customers", file_format="csv").content.decode()
    contacts = export_run(actor=alice, kind="contacts", file_format="csv").content.decode()
    system = export_run(actor=None, kind="contacts", file_format="csv").content.decode()
    # then: alice sees her own customer and the pool one she is a member of, not bob's
    assert "C-1," in customers and "C-3," in customers and "C-2," not in customers
    assert "+86139****5678" in contacts and "z****@tengda-e.com" in contacts and "+8613912345678" not in contacts
    assert "+8613912345678" in system and "zhang@tengda-e.com" in system and "K-3" in system
    event = AuditEvent.objects.get(action="contacts.exported", actor=alice)
    assert event.changes["rows"]["after"] == 2


# ---------------------------------------------------------------- contacts

def test_contacts_are_created_and_reimported_unchanged(book):
    run("customers", CUSTOMERS_CSV)
    # when
    report = run("contacts", CONTACTS_CSV)
    # then
    assert (report.created, report.failed) == (3, 0), report.errors
    zhang = Contact.objects.get(external_id="K-1")
    assert zhang.customer.external_id == "C-1" and zhang.phone == "+8613912345678"
    assert zhang.email == "zhang@tengda-e.com" and zhang.is_decision_maker
    events = AuditEvent.objects.count()
    again = run("contacts", CONTACTS_CSV)
    assert again.unchanged == 3 and AuditEvent.objects.count() == events
    changed = run("contacts", CONTACTS_CSV.replace("采购经理", "采购总监"))
    assert changed.updated == 1 and Contact.objects.get(external_id="K-2").title == "采购总监"


@pytest.mark.parametrize(("cells", "column", "fragment"), [
    ("C-1,张三,,12345,,,", "phone", "valid phone"),
    ("C-1,张三,,,not-mail,,", "email", "valid e-mail"),
    ("C-404,张三,,,,,", "customer", "Unknown customer C-404"),
    ("C-1,,,,,,", "name", "required"),
    ("C-1,张三,,,,,maybe", "is_decision_maker", "true or false"),
])
def test_bad_contact_rows_name_the_column_and_reason(book, cells, column, fragment):
    run("customers", CUSTOMERS_CSV)
    before = (Contact.objects.count(), AuditEvent.objects.count())
    report = run("contacts", CONTACTS_HEADER + f"K-9,{cells}\n")
    [(found_column, message)] = errors_by_row(report)[2]
    assert found_column == column and fragment in message
    assert (Contact.objects.count(), AuditEvent.objects.count()) == before


def test_masked_contact_values_are_left_unchanged_with_a_warning(book):
    run("customers", CUSTOMERS_CSV)
    run("contacts", CONTACTS_CSV)
    report = run("contacts", CONTACTS_HEADER + "K-1,C-1,张伟,总经理,+86139****5678,z***@tengda-e.com,z******x,true\n")
    assert report.unchanged == 1 and {w.column for w in report.warnings} == {"phone", "email", "wechat"}
    assert Contact.objects.get(external_id="K-1").phone == "+8613912345678"


# ---------------------------------------------------------------- transfers and history

def test_who_owned_it_on_date_d_holds_after_importing_past_transfers(book):
    run("customers", CUSTOMERS_CSV)
    # when: the rows are not in date order in the file
    report = run("transfers", TRANSFERS_CSV)
    # then
    assert (report.updated, report.failed) == (3, 0), report.errors
    assert [owner_name("C-1", d) for d in ("2019-12-31", "2020-01-10", "2021-05-31", "2021-06-01", "2023-01-31",
                                           "2023-02-01")] == [None, "alice", "alice", "bob", "bob", None]
    assert [owner_name("C-2", d) for d in ("2021-03-05", "2022-01-14", "2022-01-15")] == ["bob", "bob", "alice"]
    assert Customer.objects.get(external_id="C-1").owner is None
    assert Customer.objects.get(external_id="C-2").owner.username == "alice"
    assert OwnershipChange.objects.filter(kind="transfer").count() == 3
    # and the same file again changes nothing
    events = AuditEvent.objects.count()
    again = run("transfers", TRANSFERS_CSV)
    assert (again.unchanged, again.failed) == (3, 0) and AuditEvent.objects.count() == events


def test_bad_transfers_are_reported(book):
    run("customers", CUSTOMERS_CSV)
    run("transfers", "customer,to_owner,effective_on\nC-1,U-BOB,2022-01-01\n")
    content = ("customer,to_owner,effective_on,reason\n"
               "C-1,U-HENRY,2021-01-01,too early\n"
               "C-404,U-BOB,2022-02-01,\n"
               "C-2,U-NOBODY,2022-02-01,\n"
               "C-2,U-BOB,2022-02-01,\n"
               "C-2,U-ALICE,2022-13-01,\n")
    # when
    report = run("transfers", content)
    # then
    errors = errors_by_row(report)
    assert errors[2][0][0] == "effective_on" and "2022-01-01" in errors[2][0][1]
    assert errors[3] == [("customer", "Unknown customer C-404: no such external id.")]
    assert errors[4] == [("to_owner", "Unknown person U-NOBODY: no such external id.")]
    assert errors[6][0][0] == "effective_on" and "not a date" in errors[6][0][1]
    assert [r.status for r in report.results if r.row == 5] == ["unchanged"]  # bob owns C-2 already
    assert Customer.objects.get(external_id="C-1").owner.username == "bob"


def test_a_transfer_to_someone_who_had_left_by_then_is_refused(book):
    run("customers", CUSTOMERS_CSV)
    User.objects.filter(username="henry").update(left_on=dt.date(2021, 1, 1), is_active=False)
    report = run("transfers", "customer,to_owner,effective_on\nC-1,U-HENRY,2021-06-01\n")
    [(column, message)] = errors_by_row(report)[2]
    assert column == "to_owner" and "left on 2021-01-01" in message
    assert owner_name("C-1", "2021-06-02") == "alice"


def test_jsonl_import_of_all_three_kinds(book):
    customers = jsonl_bytes([{"external_id": "C-1", "name": "深圳市腾达电子科技有限公司", "owner": "U-ALICE",
                              "created_on": "2020-01-10"}])
    assert run("customers", customers, name="c.jsonl").created == 1
    contacts = jsonl_bytes([{"external_id": "K-1", "customer": "C-1", "name": "张伟", "is_decision_maker": True}])
    assert run("contacts", contacts, name="k.jsonl").created == 1
    transfers = jsonl_bytes([{"customer": "C-1", "to_owner": None, "effective_on": "2024-01-01"}])
    assert run("transfers", transfers, name="t.jsonl").updated == 1


@pytest.mark.django_db
def test_regions_read_at_once_resolve_as_one_by_one():
    # given: a code, an unknown code, a unique name, a name several regions share, an unknown name
    from kamguard.core.io.kinds.common import Problems, RegionLookup
    from kamguard.org.models import Region

    shared = Region.objects.filter(name="朝阳区").count()
    assert shared > 1
    values = ["440300", "999999", "深圳市", "朝阳区", "火星"]
    # when: each resolved one by one and with every region read at once
    answers = []
    for lookup in (RegionLookup(), RegionLookup(preload=True)):
        found = []
        for value in values:
            problems = Problems()
            region = lookup.resolve(value, "region", problems)
            found.append((region.code if region else None, region.full_name if region else None, problems.items))
        answers.append(found)
    # then
    assert answers[0] == answers[1]
    assert answers[0][0][0] == "440300" and answers[0][3][0] is None and "6-digit" in answers[0][3][2][0][1]
