"""The activities API: permission matrix (owner alice, teammate bob, specialist sue, supervisor sam, outsider carol,
auditor audrey), nothing changed on refusal, RFC 9457 problems for bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.activities import services
from kamguard.activities.models import Activity, Status
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry

API = "/api/v1/activities"


def _problem(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    if code:
        assert body["code"] == code, body
    return body


@pytest.fixture
def visit(world, book):
    return services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=timezone.localdate(),
                               purpose="介绍新品")


def _state():
    return (Activity.objects.count(), list(Activity.objects.values_list("status", "outcome").order_by("pk")),
            AuditEvent.objects.exclude(action="permission.refused").count(), TimelineEntry.objects.count(),
            list(Customer.objects.values_list("last_followup_at", flat=True).order_by("pk")))


@pytest.mark.parametrize("persona,sees", [("alice", True), ("bob", False), ("sue", True), ("sam", True),
                                          ("carol", False), ("audrey", True), ("henry", False)])
def test_read_matrix(world, visit, client_for, persona, sees):
    client = client_for(world.person(persona))
    listed = [a["id"] for a in client.get(API).json()["items"]]
    assert (visit.pk in listed) is sees
    response = client.get(f"{API}/{visit.pk}")
    if sees:
        assert response.status_code == 200 and response.json()["customer_name"] == "上海腾达电子科技有限公司"
    else:
        _problem(response, 404, "not_found")


@pytest.mark.parametrize("persona,status", [("bob", 404), ("sue", 403), ("sam", 403), ("carol", 404),
                                            ("audrey", 403)])
def test_write_matrix_refuses_everyone_but_the_visits_person(world, visit, client_for, persona, status):
    client = client_for(world.person(persona))
    before = _state()
    _problem(client.post(f"{API}/visits/{visit.pk}/check-in", {"latitude": 31.23, "longitude": 121.48},
                         content_type="application/json"), status)
    _problem(client.post(f"{API}/visits/{visit.pk}/cancel", {"reason": "x"}, content_type="application/json"),
             status)
    assert _state() == before


@pytest.mark.parametrize("persona,ok", [("alice", True), ("bob", False), ("carol", False), ("audrey", False)])
def test_plan_and_record_matrix(world, book, client_for, persona, ok):
    client = client_for(world.person(persona))
    before = _state()
    planned = client.post(f"{API}/visits", {"customer_id": book.alpha.pk, "planned_on": str(timezone.localdate())},
                          content_type="application/json")
    recorded = client.post(f"{API}/contacts", {"customer_id": book.alpha.pk, "kind": "call", "summary": "电话",
                                               "happened_at": timezone.now().isoformat()},
                           content_type="application/json")
    if ok:
        assert planned.status_code == 201 and planned.json()["status"] == "planned"
        assert recorded.status_code == 201 and recorded.json()["status"] == "done"
    else:
        expected = 403 if persona == "audrey" else 422
        _problem(planned, expected)
        _problem(recorded, expected)
        assert _state() == before


def test_full_visit_through_the_api(world, visit, client_for):
    client = client_for(world.alice)
    early = client.post(f"{API}/visits/{visit.pk}/check-out", {"outcome": "x", "next_step": "y"},
                        content_type="application/json")
    _problem(early, 409, "not_checked_in")
    assert Activity.objects.get(pk=visit.pk).status == Status.PLANNED
    checked = client.post(f"{API}/visits/{visit.pk}/check-in", {"location_denied": True},
                          content_type="application/json").json()
    assert checked["status"] == "checked_in" and checked["location_status"] == "denied"
    missing = client.post(f"{API}/visits/{visit.pk}/check-out", {"outcome": "", "next_step": " "},
                          content_type="application/json")
    body = _problem(missing, 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"outcome", "next_step"}
    contact = Customer.objects.get(pk=visit.customer_id).contacts.first()
    done = client.post(f"{API}/visits/{visit.pk}/check-out", {"outcome": "同意试用", "next_step": "下周签约",
                                                               "contact_ids": [contact.pk]},
                       content_type="application/json").json()
    assert done["status"] == "done" and done["contact_ids"] == [contact.pk]
    # the supervisor confirms accompanying it; a teammate cannot
    _problem(client_for(world.bob).post(f"{API}/visits/{visit.pk}/accompany", {},
                                        content_type="application/json"), 404)
    confirmed = client_for(world.sam).post(f"{API}/visits/{visit.pk}/accompany", {"note": "陪访"},
                                           content_type="application/json").json()
    assert confirmed["accompanied_by_id"] == world.sam.pk and confirmed["accompaniment_confirmed_at"]


def test_bad_input_is_a_problem_and_writes_nothing(world, visit, client_for):
    client = client_for(world.alice)
    before = _state()
    _problem(client.post(f"{API}/visits/{visit.pk}/check-in", {"latitude": 123, "longitude": 500},
                         content_type="application/json"), 422, "validation_failed")
    _problem(client.post(f"{API}/contacts", {"customer_id": visit.customer_id, "kind": "fax", "summary": "x",
                                             "happened_at": "soon"}, content_type="application/json"), 422)
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()
    body = _problem(client.post(f"{API}/contacts", {"customer_id": visit.customer_id, "kind": "call",
                                                    "summary": "x", "happened_at": future},
                                content_type="application/json"), 422)
    assert body["errors"][0]["field"] == "happened_at"
    _problem(client.post(f"{API}/visits", {"customer_id": visit.customer_id, "planned_on": "2020-01-01"},
                         content_type="application/json"), 422)
    _problem(client.get(f"{API}?cursor=garbage"), 422)
    assert _state() == before


def test_keyset_pages(world, book, client_for):
    for i in range(5):
        services.contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="call",
                                happened_at=timezone.now() - dt.timedelta(hours=i), summary=f"第{i}次")
    client = client_for(world.alice)
    first = client.get(f"{API}?limit=3&kind=call").json()
    second = client.get(f"{API}?limit=3&kind=call&cursor={first['next_cursor']}").json()
    ids = [a["id"] for a in first["items"] + second["items"]]
    assert len(ids) == 5 == len(set(ids)) and second["next_cursor"] is None


@pytest.mark.parametrize("persona", ["fiona", "hanna", "adam"])
def test_company_wide_roles_read_but_only_finance_records(world, visit, client_for, book, persona):
    client = client_for(world.person(persona))
    assert visit.pk in [a["id"] for a in client.get(API).json()["items"]]
    before = _state()
    response = client.post(f"{API}/contacts", {"customer_id": book.alpha.pk, "kind": "call", "summary": "财务对账",
                                               "happened_at": timezone.now().isoformat()},
                           content_type="application/json")
    if persona == "fiona":
        assert response.status_code == 201 and response.json()["user_id"] == world.fiona.pk
    else:
        _problem(response, 403, "permission_denied")
        assert _state() == before
    # nobody but the visit's person checks in; an auditor or HR cannot confirm accompanying it either
    _problem(client.post(f"{API}/visits/{visit.pk}/check-in", {}, content_type="application/json"), 403)
    _problem(client.post(f"{API}/visits/{visit.pk}/accompany", {}, content_type="application/json"), 403)
