"""The import/export page and the API: permission matrix (refusals change nothing), reports, file errors."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import translation

from kamguard.core.io.tests.helpers import ORG_CSV, USERS_CSV, run
from kamguard.core.models import AuditEvent
from kamguard.org.models import Department, Team, User

PAGE = "/io/"
API_IMPORT = "/api/v1/io/imports/{kind}"
API_EXPORT = "/api/v1/io/exports/{kind}"
REFUSED = ["alice", "bob", "carol", "audrey"]
# Department names not already in the personas' world.
NEW_ORG_CSV = ORG_CSV.replace("总公司", "集团总部").replace("华东销售部", "华东大区")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def state() -> tuple[int, int, int, int]:
    """Everything an import could change, and every audit event except the refusal records."""
    return (Department.objects.count(), Team.objects.count(), User.objects.count(),
            AuditEvent.objects.exclude(action="permission.refused").count())


def upload(content: str | bytes, name: str = "org.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


# ---------------------------------------------------------------- page

@pytest.mark.parametrize("persona", REFUSED)
def test_page_refuses_people_without_import_or_export_right_and_nothing_changes(world, client_for, persona):
    client = client_for(world.person(persona))
    before = state()
    # when
    get = client.get(PAGE)
    post = client.post(PAGE, {"kind": "org", "file": upload(NEW_ORG_CSV)})
    download = client.get("/io/export/users/?format=csv")
    # then
    assert (get.status_code, post.status_code, download.status_code) == (403, 403, 403)
    assert state() == before
    assert AuditEvent.objects.filter(action="permission.refused").count() == 3


def test_supervisor_may_import_customers_only_and_the_organisation_is_refused(world, client_for):
    client = client_for(world.person("sam"))
    before = state()
    page = client.get(PAGE)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'value="customers"' in body and 'value="org"' not in body and 'value="users"' not in body
    post = client.post(PAGE, {"kind": "org", "file": upload(NEW_ORG_CSV)})
    assert post.status_code == 422  # not a kind offered to them
    assert state() == before


def test_admin_imports_through_the_page_and_sees_counts_errors_and_warnings(world, client_for):
    client = client_for(world.adam)
    client.cookies["kamguard_language"] = "en"
    assert client.get(PAGE).status_code == 200
    content = NEW_ORG_CSV.replace("external_id,name,parent,kind,region", "external_id,name,parent,kind,region,colour") \
        .replace("\n", ",\n") + "BAD,坏,NOPE,department,,\n"
    # when
    response = client.post(PAGE, {"kind": "org", "file": upload(content)})
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-count="created">3<' in body and 'data-count="error">1<' in body
    assert "Unknown department NOPE" in body and "colour" in body
    assert Department.objects.filter(external_id="D-EAST").exists()
    assert AuditEvent.objects.filter(action="org.department.created").first().channel == "web"


def test_page_dry_run_and_atomic_write_nothing(world, client_for):
    client = client_for(world.adam)
    client.cookies["kamguard_language"] = "en"
    before = state()
    dry = client.post(PAGE, {"kind": "org", "file": upload(NEW_ORG_CSV), "dry_run": "on"})
    atomic = client.post(PAGE, {"kind": "org", "file": upload(NEW_ORG_CSV + "BAD,坏,NOPE,,\n"), "atomic": "on"})
    assert dry.status_code == 200 and 'data-count="created">3<' in dry.content.decode()
    assert atomic.status_code == 200 and "Nothing was written" in atomic.content.decode()
    assert state() == before


@pytest.mark.parametrize(("content", "name", "status"), [
    ("名字\n".encode("gb18030"), "org.csv", 422),
    (b"broken", "org.xlsx", 422),
    (b"external_id\nA\n", "org.csv", 422),
    (b"external_id,name\nA,x\n", "org.pdf", 422),
])
def test_page_rejects_malformed_files_with_a_4xx_and_writes_nothing(world, client_for, content, name, status):
    client = client_for(world.adam)
    before = state()
    response = client.post(PAGE, {"kind": "org", "file": upload(content, name)})
    assert response.status_code == status and 'role="alert"' in response.content.decode()
    assert state() == before


@override_settings(IMPORT_MAX_BYTES=20)
def test_page_rejects_oversize_uploads(world, client_for):
    client = client_for(world.adam)
    before = state()
    response = client.post(PAGE, {"kind": "org", "file": upload(NEW_ORG_CSV)})
    assert response.status_code == 413 and state() == before


def test_export_download_is_audited_and_masked(world, client_for):
    response = client_for(world.adam).get("/io/export/users/?format=csv")
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="users.csv"'
    assert "alice@example.com" not in text and "+86138****8000" in text
    event = AuditEvent.objects.get(action="users.exported")
    assert event.actor == world.adam and event.changes["rows"]["after"] == 10


def test_export_download_unknown_kind_or_format_is_404(world, client_for):
    client = client_for(world.adam)
    assert client.get("/io/export/planets/").status_code == 404
    assert client.get("/io/export/users/?format=pdf").status_code == 404
    assert not AuditEvent.objects.filter(action__endswith=".exported").exists()


def test_a_supervisor_with_the_export_right_exports_only_their_scope_and_cannot_import_people(world, client_for):
    User.objects.filter(pk=world.sam.pk).update(can_export=True)
    client = client_for(world.person("sam"))
    before = state()
    page = client.get(PAGE).content.decode()
    assert 'value="customers"' in page and 'value="org"' not in page  # customers yes, the organisation no
    assert client.post(PAGE, {"kind": "org", "file": upload(NEW_ORG_CSV)}).status_code == 422
    assert client.post(API_IMPORT.format(kind="org"), {"file": upload(NEW_ORG_CSV)}).status_code == 403
    assert state() == before
    text = client.get("/io/export/users/?format=csv").content.decode()
    assert ",alice," in text and ",henry," in text and ",carol," not in text and ",adam," not in text


# ---------------------------------------------------------------- API

@pytest.mark.parametrize("persona", REFUSED)
def test_api_refuses_import_and_export_and_nothing_changes(world, client_for, persona):
    client = client_for(world.person(persona))
    before = state()
    imported = client.post(API_IMPORT.format(kind="org"), {"file": upload(NEW_ORG_CSV)})
    exported = client.get(API_EXPORT.format(kind="users"))
    assert (imported.status_code, exported.status_code) == (403, 403)
    assert imported["Content-Type"] == "application/problem+json" and imported.json()["status"] == 403
    assert state() == before


def test_api_import_reports_bad_rows_with_200(world, client_for):
    response = client_for(world.adam).post(API_IMPORT.format(kind="org"),
                                           {"file": upload(NEW_ORG_CSV + "BAD,坏,NOPE,department,\n")},
                                           HTTP_ACCEPT_LANGUAGE="en")
    body = response.json()
    assert response.status_code == 200
    assert body["counts"]["created"] == 3 and body["counts"]["error"] == 1
    assert body["errors"] == [{"row": 5, "column": "parent", "message": "Unknown department NOPE: no such external id."}]
    assert [r["status"] for r in body["rows"]] == ["created", "created", "created", "error"]


def test_api_dry_run_and_atomic(world, client_for):
    client = client_for(world.adam)
    before = state()
    dry = client.post(API_IMPORT.format(kind="org"), {"file": upload(NEW_ORG_CSV), "dry_run": "true"}).json()
    atomic = client.post(API_IMPORT.format(kind="org"),
                         {"file": upload(NEW_ORG_CSV + "BAD,坏,NOPE,,\n"), "atomic": "true"}).json()
    assert dry["dry_run"] and not dry["written"] and dry["counts"]["created"] == 3
    assert atomic["atomic"] and not atomic["written"]
    assert state() == before


@pytest.mark.parametrize(("content", "name", "code"), [
    (b'{"external_id": "A", "name": "x"}\n{oops\n', "org.jsonl", "not_jsonl"),
    (b"\xef\xbb\xbfexternal_id,parent\nA,\n", "org.csv", "column_missing"),
    (b"PK\x03\x04broken", "org.xlsx", "not_xlsx"),
])
def test_api_bad_file_is_422_problem_and_nothing_is_written(world, client_for, content, name, code):
    client = client_for(world.adam)
    before = state()
    response = client.post(API_IMPORT.format(kind="org"), {"file": upload(content, name)})
    assert response.status_code == 422 and response.json()["code"] == code
    assert state() == before


def test_api_oversize_unknown_kind_and_bad_format(world, client_for):
    client = client_for(world.adam)
    with override_settings(IMPORT_MAX_BYTES=20):
        assert client.post(API_IMPORT.format(kind="org"), {"file": upload(NEW_ORG_CSV)}).status_code == 413
    assert client.post(API_IMPORT.format(kind="planets"), {"file": upload(NEW_ORG_CSV)}).status_code == 404
    assert client.get(API_EXPORT.format(kind="users") + "?format=pdf").status_code == 422


def test_api_users_import_with_a_bom_and_export_round_trip(world, client_for):
    client = client_for(world.adam)
    run("org", NEW_ORG_CSV)
    response = client.post(API_IMPORT.format(kind="users"), {"file": upload(b"\xef\xbb\xbf" + USERS_CSV.encode())})
    assert response.status_code == 200 and response.json()["counts"]["created"] == 2
    exported = client.get(API_EXPORT.format(kind="users") + "?format=jsonl")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/x-ndjson")
    rows = {r["username"]: r for r in map(json.loads, exported.content.decode().splitlines())}
    assert rows["alice2"]["supervisor"] == "U-SAM" and rows["alice2"]["phone"] == "+86138****8000"
    # masked contact data imported back changes nothing
    again = client.post(API_IMPORT.format(kind="users"), {"file": upload(exported.content, "users.jsonl")}).json()
    by_id = {r["external_id"]: r["status"] for r in again["rows"]}
    assert by_id["U-ALICE"] == "unchanged" and by_id["U-SAM"] == "unchanged"


def test_openapi_documents_the_data_exchange_endpoints(world, client_for):
    schema = client_for(world.adam).get("/api/v1/openapi.json").json()
    assert "/api/v1/io/imports/{kind}" in schema["paths"] and "/api/v1/io/exports/{kind}" in schema["paths"]
    assert "multipart/form-data" in schema["paths"]["/api/v1/io/imports/{kind}"]["post"]["requestBody"]["content"]
