"""Kinds `customers`, `contacts`, `transfers` through the import page and the API: who may, and that a
refusal changes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from kamguard.core.io.tests.test_customers import CONTACTS_CSV, CUSTOMERS_CSV, TRANSFERS_CSV, book_setup
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Contact, Customer, OwnershipChange
from kamguard.org.models import User

PAGE = "/io/"
API_IMPORT = "/api/v1/io/imports/{kind}"
API_EXPORT = "/api/v1/io/exports/{kind}"
FILES = {"customers": CUSTOMERS_CSV, "contacts": CONTACTS_CSV, "transfers": TRANSFERS_CSV}
# Managers import nothing in bulk; the auditor, HR and the administrator do not edit business data.
REFUSED = ["alice", "bob", "carol", "audrey", "hanna", "adam"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def book(world):
    return book_setup(world)


def state() -> tuple[int, int, int, int]:
    return (Customer.objects.count(), Contact.objects.count(), OwnershipChange.objects.count(),
            AuditEvent.objects.exclude(action="permission.refused").count())


def upload(content: str, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode())


@pytest.mark.parametrize("kind", list(FILES))
@pytest.mark.parametrize("persona", REFUSED)
def test_api_refuses_bulk_import_and_export_without_the_rights_and_nothing_changes(book, client_for, kind, persona):
    client = client_for(book.person(persona))
    before = state()
    # when
    imported = client.post(API_IMPORT.format(kind=kind), {"file": upload(FILES[kind], f"{kind}.csv")})
    exported = client.get(API_EXPORT.format(kind=kind))
    # then
    assert imported.status_code == 403 and imported["Content-Type"] == "application/problem+json"
    assert exported.status_code == (200 if persona == "adam" else 403)  # adam has the export right
    assert state()[:3] == before[:3]
    assert AuditEvent.objects.exclude(action__in=["permission.refused", f"{kind}.exported"]).count() == before[3]


@pytest.mark.parametrize("persona", REFUSED)
def test_page_refuses_customer_imports_and_nothing_changes(book, client_for, persona):
    client = client_for(book.person(persona))
    before = state()
    # when
    response = client.post(PAGE, {"kind": "customers", "file": upload(CUSTOMERS_CSV, "customers.csv")})
    # then: refused (403), or for those who may import other kinds (admin, HR) the kind is not offered (422)
    assert response.status_code == (422 if persona in ("adam", "hanna") else 403)
    assert state() == before


def test_a_supervisor_imports_customers_of_their_scope_through_the_api(book, client_for):
    client = client_for(book.person("sam"))
    # when
    response = client.post(API_IMPORT.format(kind="customers"), {"file": upload(CUSTOMERS_CSV, "customers.csv")})
    # then
    body = response.json()
    assert response.status_code == 200 and body["counts"]["created"] == 3, body
    assert AuditEvent.objects.filter(action="customers.customer.created", actor=book.sam).count() == 3
    contacts = client.post(API_IMPORT.format(kind="contacts"), {"file": upload(CONTACTS_CSV, "contacts.csv")}).json()
    transfers = client.post(API_IMPORT.format(kind="transfers"), {"file": upload(TRANSFERS_CSV, "t.csv")}).json()
    assert contacts["counts"]["created"] == 3 and transfers["counts"]["updated"] == 3, (contacts, transfers)


def test_a_supervisor_cannot_give_customers_to_someone_outside_their_scope(book, client_for):
    client = client_for(book.person("sam"))
    content = CUSTOMERS_CSV.replace("U-BOB,2021-03-05", "U-CAROL,2021-03-05")
    # when
    body = client.post(API_IMPORT.format(kind="customers"), {"file": upload(content, "customers.csv")}).json()
    # then
    assert body["counts"]["created"] == 2 and body["errors"][0]["row"] == 3
    assert not Customer.objects.filter(external_id="C-2").exists()


def test_exports_are_scoped_audited_and_masked_for_people(book, client_for):
    from kamguard.core.io.tests.helpers import run

    run("customers", CUSTOMERS_CSV)
    run("contacts", CONTACTS_CSV)
    User.objects.filter(pk=book.sam.pk).update(can_export=True)
    client = client_for(book.person("sam"))
    # when
    response = client.get(API_EXPORT.format(kind="contacts") + "?format=csv")
    # then
    text = response.content.decode()
    assert response.status_code == 200 and "+86139****5678" in text and "+8613912345678" not in text
    assert AuditEvent.objects.filter(action="contacts.exported", actor=book.sam).count() == 1


# ---------------------------------------------------------------- command line

def test_command_imports_as_the_system_and_refuses_a_manager_with_exit_2(book, tmp_path):
    from kamguard.core.io.tests.helpers import write
    from kamguard.core.io.tests.test_cli import kamguard

    path = str(write(tmp_path, "customers.csv", CUSTOMERS_CSV))
    # when
    refused, out = kamguard("kg_import", "customers", path, "--as", "alice")
    # then
    assert refused == 2 and "supervisor" in out and Customer.objects.count() == 0
    assert AuditEvent.objects.filter(action="permission.refused", actor=book.alice).exists()
    status, out = kamguard("kg_import", "customers", path)
    assert status == 0 and Customer.objects.count() == 3
    assert AuditEvent.objects.filter(action="customers.customer.created").first().channel == "cli"
