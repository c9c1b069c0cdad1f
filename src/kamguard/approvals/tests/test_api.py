"""/api/v1/approvals/: inbox, requests, detail, decide, withdraw, policies CRUD, delegations — permission
matrices that check nothing changed on refusal, and bad input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.approvals import services
from kamguard.approvals.domain import ApprovalFacts
from kamguard.approvals.models import ApprovalPolicy, ApprovalRequest, ApprovalStep, Delegation
from kamguard.approvals.tests.conftest import KIND
from kamguard.core.models import AuditEvent

pytestmark = pytest.mark.django_db
API = "/api/v1/approvals"


def _json(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def pending(world, policy, thing):
    return services.approval_submit(actor=world.alice, kind=KIND, subject_id=9,
                                    facts=ApprovalFacts(amount=Decimal("200000"), tier="A"), summary="合同 9")


def _state(request):
    return (ApprovalRequest.objects.get(pk=request.pk).status,
            list(ApprovalStep.objects.filter(request=request).order_by("pk").values_list("status", flat=True)),
            AuditEvent.objects.filter(action__startswith="approvals.").count())


def test_inbox_and_detail(world, pending, client_for):
    sam = client_for(world.person("sam"))
    items = sam.get(f"{API}/inbox").json()["items"]
    assert [i["request"]["id"] for i in items] == [pending.pk] and items[0]["overdue"] is False
    assert client_for(world.person("fiona")).get(f"{API}/inbox").json()["items"] == []
    detail = sam.get(f"{API}/requests/{pending.pk}").json()
    assert detail["can_decide"] is True and detail["subject_url"] == "/things/9/"
    assert [(s["stage"], s["approver_type"], s["status"]) for s in detail["steps"]] == [
        (1, "supervisor", "pending"), (2, "finance", "waiting")]
    assert [e["action"] for e in detail["history"]] == ["submitted"]
    mine = client_for(world.person("alice")).get(f"{API}/requests", {"mine": "true"}).json()["items"]
    assert [r["id"] for r in mine] == [pending.pk]


@pytest.mark.parametrize(("persona", "see"), [
    ("alice", 200), ("sam", 200), ("bob", 404), ("carol", 404), ("audrey", 200), ("adam", 200), ("fiona", 200)])
def test_detail_matrix(world, pending, client_for, persona, see):
    assert client_for(world.person(persona)).get(f"{API}/requests/{pending.pk}").status_code == see


@pytest.mark.parametrize(("persona", "status", "code"), [
    ("alice", 403, "self_approval"), ("bob", 404, "not_found"), ("carol", 404, "not_found"),
    ("audrey", 403, "not_your_step"), ("adam", 403, "not_your_step"), ("fiona", 403, "not_your_step"),
    ("henry", 404, "not_found")])
def test_decide_matrix_refusals_change_nothing(world, pending, client_for, persona, status, code):
    before = _state(pending)
    response = _json(client_for(world.person(persona)), "post", f"{API}/requests/{pending.pk}/decide",
                     {"approve": True})
    assert response.status_code == status
    assert response.json()["code"] == code
    assert _state(pending) == before


def test_serial_chain_through_the_api(world, pending, client_for, thing):
    sam, fiona = client_for(world.person("sam")), client_for(world.person("fiona"))
    no_reason = _json(sam, "post", f"{API}/requests/{pending.pk}/decide", {"approve": False, "reason": " "})
    assert no_reason.status_code == 422 and "reason" in json.dumps(no_reason.json())
    ok = _json(sam, "post", f"{API}/requests/{pending.pk}/decide", {"approve": True})
    assert ok.status_code == 200 and ok.json()["status"] == "pending" and ok.json()["current_stage"] == 2
    # sam decided stage 1: he cannot decide again (not his step)
    assert _json(sam, "post", f"{API}/requests/{pending.pk}/decide", {"approve": True}).status_code == 403
    done = _json(fiona, "post", f"{API}/requests/{pending.pk}/decide", {"approve": True, "reason": "财务同意"})
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert thing.calls == [("approved", 9, world.fiona.pk)]
    again = _json(fiona, "post", f"{API}/requests/{pending.pk}/decide", {"approve": False, "reason": "x"})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"


def test_withdraw(world, pending, client_for, thing):
    before = _state(pending)
    refused = _json(client_for(world.person("sam")), "post", f"{API}/requests/{pending.pk}/withdraw", {})
    assert refused.status_code == 403 and _state(pending) == before
    done = _json(client_for(world.person("alice")), "post", f"{API}/requests/{pending.pk}/withdraw",
                 {"reason": "重报"})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"


def test_policies_crud_admin_only(world, thing, client_for):
    body = {"name": "折扣", "kind": KIND, "priority": 5, "min_discount_pct": "15", "tiers": "A",
            "steps": [{"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "director"}]}
    for persona in ("sam", "alice", "audrey", "fiona"):
        client = client_for(world.person(persona))
        assert _json(client, "post", f"{API}/policies", body).status_code == 403
    assert not ApprovalPolicy.objects.exists()
    adam = client_for(world.person("adam"))
    created = _json(adam, "post", f"{API}/policies", body)
    assert created.status_code == 201 and created.json()["version"] == 1
    pid = created.json()["id"]
    assert client_for(world.person("alice")).get(f"{API}/policies").json()["items"][0]["id"] == pid
    assert _json(client_for(world.person("sam")), "patch", f"{API}/policies/{pid}", {"priority": 1}).status_code == 403
    changed = _json(adam, "patch", f"{API}/policies/{pid}", {"min_discount_pct": "20"})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert _json(client_for(world.person("sam")), "delete", f"{API}/policies/{pid}").status_code == 403
    off = adam.delete(f"{API}/policies/{pid}")
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert ApprovalPolicy.objects.get().version == 3


@pytest.mark.parametrize("bad", [
    {"min_discount_pct": "120"}, {"min_amount": "-1"}, {"steps": [{"stage": 1, "approver": "boss"}]},
    {"kind": "nope"}, {"steps": [{"stage": 1, "approver": "role", "role": ""}]}, {"tiers": "Z"},
    {"min_amount": "10", "max_amount": "5"}, {"name": ""}])
def test_policy_bad_input(world, thing, client_for, bad):
    body = {"name": "p", "kind": KIND, **bad}
    response = _json(client_for(world.person("adam")), "post", f"{API}/policies", body)
    assert response.status_code == 422
    assert not ApprovalPolicy.objects.exists()


def test_delegations_api(world, thing, client_for):
    today = timezone.localdate()
    sam = client_for(world.person("sam"))
    body = {"delegate_id": world.henry.pk, "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=1)).isoformat(), "reason": "出差"}
    refused = _json(client_for(world.person("audrey")), "post", f"{API}/delegations", body)
    assert refused.status_code == 403 and not Delegation.objects.exists()
    other = _json(client_for(world.person("bob")), "post", f"{API}/delegations", {**body, "delegator_id": world.sam.pk})
    assert other.status_code == 403 and not Delegation.objects.exists()
    created = _json(sam, "post", f"{API}/delegations", body)
    assert created.status_code == 201 and created.json()["delegate"]["id"] == world.henry.pk
    bad = _json(sam, "post", f"{API}/delegations", {**body, "delegate_id": world.sam.pk})
    assert bad.status_code == 422 and Delegation.objects.count() == 1
    assert [d["id"] for d in client_for(world.person("henry")).get(f"{API}/delegations").json()["items"]] == [
        created.json()["id"]]
    assert client_for(world.person("bob")).get(f"{API}/delegations").json()["items"] == []
    did = created.json()["id"]
    assert _json(client_for(world.person("bob")), "post", f"{API}/delegations/{did}/revoke").status_code == 404
    assert _json(sam, "post", f"{API}/delegations/{did}/revoke").json()["revoked_at"] is not None
    assert _json(sam, "post", f"{API}/delegations/{did}/revoke").status_code == 409
