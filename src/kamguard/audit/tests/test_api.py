"""The audit API: /api/v1/audit/events (keyset pages), /events/{id}, /events/export, /verify."""

from __future__ import annotations

import csv
import io

from kamguard.core.audit import audit_record
from kamguard.core.models import AuditEvent

from .conftest import dba_lifts_guard, raw_sql

BASE = "/api/v1/audit"


def test_list_pages_newest_first_until_the_end(world, client_for):
    for i in range(7):
        audit_record(actor=world.adam, action="test.api", object_id=i, reason=f"r{i}")
    client = client_for(world.audrey)
    seen, cursor = [], None
    while True:
        params = {"action": "test.api", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"{BASE}/events", params).json()
        seen += [item["sequence"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)


def test_list_item_shape_and_filters(world, client_for):
    audit_record(actor=world.audrey, action="pii.revealed", obj=world.carol, reason="case 12",
                 changes={"field": {"before": None, "after": "phone"}})
    client = client_for(world.audrey)
    body = client.get(f"{BASE}/events", {"actor": "audrey", "action": "pii.", "q": "case 12"},
                      HTTP_ACCEPT_LANGUAGE="en").json()
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert item["action"] == "pii.revealed" and item["action_label"] == "Personal data revealed"
    assert item["actor"] == "audrey" and item["actor_id"] == world.audrey.pk
    assert item["object_type"] == "org.user" and item["object_id"] == str(world.carol.pk)
    assert item["changes"] == {"field": {"before": None, "after": "phone"}}
    assert len(item["digest"]) == 64
    none = client.get(f"{BASE}/events", {"object_type": "org.user", "object_id": "0"}).json()
    assert none == {"items": [], "next_cursor": None}


def test_bad_parameters_are_422_problems(world, client_for):
    client = client_for(world.audrey)
    for params in ({"limit": 0}, {"limit": 1000}, {"date_from": "yesterday"}, {"cursor": "%%%"}):
        response = client.get(f"{BASE}/events", params)
        assert response.status_code == 422, params
        assert response["Content-Type"] == "application/problem+json"


def test_detail_and_missing(world, client_for):
    event = audit_record(actor=None, action="test.one")
    client = client_for(world.audrey)
    body = client.get(f"{BASE}/events/{event.pk}").json()
    assert body["id"] == event.pk and body["sequence"] == event.sequence and body["digest"] == event.digest
    response = client.get(f"{BASE}/events/987654")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_verify_intact_and_broken(world, client_for):
    client = client_for(world.audrey)
    body = client.post(f"{BASE}/verify").json()
    assert body["ok"] is True and body["result"] == "ok" and body["first_bad"] is None
    assert body["events"] == AuditEvent.objects.count() - 1  # all but the record of this run
    assert body["append_only_guard"] is True
    with dba_lifts_guard():
        raw_sql("DELETE FROM core_auditevent WHERE sequence = 3")
    body = client.post(f"{BASE}/verify").json()
    assert body["ok"] is False and body["first_bad"]["sequence"] == 4 and body["first_bad"]["kind"] == "missing"
    assert AuditEvent.objects.order_by("-sequence").first().changes["first_bad_sequence"]["after"] == 4


def test_export_csv_through_the_api(world, client_for):
    client = client_for(world.adam)
    response = client.get(f"{BASE}/events/export", {"format": "csv", "action": "org.user.created"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert response.status_code == 200 and len(rows) == 1 + 10  # the ten personas
    assert AuditEvent.objects.order_by("-sequence").first().action == "audit.events.exported"


def test_unauthenticated_is_401_and_records_nothing(world, client):
    before = AuditEvent.objects.count()
    response = client.get(f"{BASE}/events")
    assert response.status_code == 401
    assert AuditEvent.objects.count() == before


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {f"{BASE}/events", f"{BASE}/events/{{event_id}}", f"{BASE}/events/export", f"{BASE}/verify"} <= set(paths)


def test_hostile_inputs_are_refused_or_ignored_never_a_500(world, client_for):
    import base64
    import json as json_module

    def cursor(value):  # type: ignore[no-untyped-def]
        return base64.urlsafe_b64encode(json_module.dumps(value).encode()).decode().rstrip("=")

    client = client_for(world.audrey)
    for params in ({"cursor": cursor(["abc"])}, {"cursor": cursor([None])}, {"cursor": cursor([[1]])}):
        response = client.get(f"{BASE}/events", params)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "cursor", params
    assert client.get(f"{BASE}/events", {"cursor": cursor([10**40])}).status_code in (200, 422)
    for params in ({"date_from": "0001-01-01"}, {"date_to": "9999-12-31"}, {"action": "%_"}):
        assert client.get(f"{BASE}/events", params).status_code == 200, params
    for params in ({"actor": "a\x00b"}, {"q": "\x00"}, {"object_id": "\x00"}):  # refused at the API's door
        response = client.get(f"{BASE}/events", params)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == next(iter(params)), params
    assert client.get(f"{BASE}/events", {"date_to": "0001-01-01"}).json()["items"] == []
    assert client.get(f"{BASE}/events/{2**63}").status_code == 404
    assert client.get(f"{BASE}/events/0").status_code == 404
