"""Relay API: send (with the refusal of a form sent to nobody), steps, lists, configuration, report."""

from __future__ import annotations

import datetime as dt

import pytest

from kamguard.core.models import AuditEvent
from kamguard.relay import services
from kamguard.relay.models import RelayCategory, RelayForm, RelayStatus, RoutingRule

BASE = "/api/v1/relay"


def send(world, desk, **kw):
    args = {"actor": world.person("alice"), "category_id": desk.demand.pk, "content": "客户下月扩产，需要报价"}
    args.update(kw)
    return services.relay_send(**args)


def test_send_and_work_a_form(world, desk, client_for):
    alice = client_for(world.alice)
    response = alice.post(f"{BASE}/forms", {"category_id": desk.demand.pk, "content": "客户要求加急交货",
                                            "customer_id": desk.alpha.pk}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("XC-") and body["receiver_id"] == world.sue.pk and body["status"] == "sent"
    sue = client_for(world.sue)
    form_id = body["id"]
    assert sue.post(f"{BASE}/forms/{form_id}/receive").json()["status"] == "received"
    handled = sue.post(f"{BASE}/forms/{form_id}/handle", {"handling_opinion": "已协调仓库", "quality": 5},
                       content_type="application/json").json()
    assert handled["status"] == "handled" and handled["quality"] == 5
    done = sue.post(f"{BASE}/forms/{form_id}/feedback", {"feedback": "已发货"}, content_type="application/json")
    assert done.json()["status"] == "fed_back"
    again = sue.post(f"{BASE}/forms/{form_id}/feedback", {"feedback": "再次"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "wrong_state"
    listed = alice.get(f"{BASE}/forms?box=sent").json()
    assert [f["id"] for f in listed["items"]] == [form_id]


def test_a_form_sent_to_nobody_is_a_422_naming_the_receiver(world, desk, client_for):
    response = client_for(world.alice).post(f"{BASE}/forms", {"category_id": desk.other.pk, "content": "内容"},
                                            content_type="application/json")
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "no_receiver" and problem["errors"][0]["field"] == "receiver"
    assert not RelayForm.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"content": "x"}, "category_id"), ({"category_id": 1, "content": ""}, "content"),
    ({"category_id": 1, "content": "x", "receiver_id": 999999}, "receiver"),
])
def test_bad_input(world, desk, client_for, payload, field):
    response = client_for(world.alice).post(f"{BASE}/forms", payload, content_type="application/json")
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not RelayForm.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [
    ("sue", 200), ("alice", 403), ("bob", 404), ("sam", 403), ("audrey", 403), ("carol", 404), ("fiona", 403)])
def test_step_matrix(world, desk, client_for, persona, status):
    form = send(world, desk)
    events = AuditEvent.objects.filter(action="relay.form.receive").count()
    response = client_for(world.person(persona)).post(f"{BASE}/forms/{form.pk}/receive")
    assert response.status_code == status
    form.refresh_from_db()
    if status != 200:
        assert form.status == RelayStatus.SENT
        assert AuditEvent.objects.filter(action="relay.form.receive").count() == events


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("sue", 200), ("sam", 200), ("audrey", 200), ("bob", 404), ("carol", 404)])
def test_read_matrix(world, desk, client_for, persona, status):
    form = send(world, desk)
    assert client_for(world.person(persona)).get(f"{BASE}/forms/{form.pk}").status_code == status


def test_auditor_cannot_send(world, desk, client_for):
    response = client_for(world.audrey).post(f"{BASE}/forms", {"category_id": desk.demand.pk, "content": "x",
                                                               "receiver_id": world.bob.pk},
                                             content_type="application/json")
    assert response.status_code == 403
    assert not RelayForm.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("adam", 201), ("sam", 403), ("alice", 403), ("audrey", 403)])
def test_rule_matrix(world, desk, client_for, persona, status):
    before = RoutingRule.objects.count()
    response = client_for(world.person(persona)).post(f"{BASE}/rules", {"category_id": desk.other.pk,
                                                                        "person_id": world.bob.pk},
                                                      content_type="application/json")
    assert response.status_code == status
    assert RoutingRule.objects.count() == before + (1 if status == 201 else 0)


def test_configuration_endpoints(world, desk, client_for):
    adam = client_for(world.adam)
    cats = adam.get(f"{BASE}/categories").json()
    assert {"demand", "other"} <= {c["code"] for c in cats}
    bad = adam.put(f"{BASE}/categories/{desk.other.pk}", {"code": "other", "name": "其他", "receive_hours": 48,
                                                         "handle_hours": 24, "feedback_hours": 72},
                   content_type="application/json")
    assert bad.status_code == 422
    assert RelayCategory.objects.get(pk=desk.other.pk).receive_hours == 24
    assert adam.get(f"{BASE}/rules").json()[0]["post_id"] == desk.post.pk
    assert adam.delete(f"{BASE}/rules/{desk.rule.pk}").status_code == 204


def test_report_endpoint(world, desk, client_for):
    send(world, desk)
    report = client_for(world.sam).get(f"{BASE}/report").json()
    assert report["totals"]["sent"] == 1
    assert client_for(world.carol).get(f"{BASE}/report").json()["totals"]["sent"] == 0
    assert client_for(world.sam).get(f"{BASE}/report?day=bad").status_code == 422


def test_a_relay_time_without_a_zone_is_local_time(world, desk, client_for):
    from django.utils import timezone

    local = (timezone.localtime() - dt.timedelta(days=1)).replace(microsecond=0, tzinfo=None)
    response = client_for(world.alice).post(f"{BASE}/forms", {
        "category_id": desk.demand.pk, "content": "补录", "relayed_at": local.isoformat()},
        content_type="application/json")
    assert response.status_code == 201
    form = RelayForm.objects.get()
    assert timezone.localtime(form.relayed_at).replace(tzinfo=None) == local
