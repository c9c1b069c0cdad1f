"""Approval pages: inbox, requests, detail with decide/withdraw, policies, delegations; permission matrices;
bad input; both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.approvals import services
from kamguard.approvals.domain import ApprovalFacts
from kamguard.approvals.models import ApprovalPolicy, ApprovalRequest, ApprovalStep, Delegation
from kamguard.approvals.tests.conftest import KIND
from kamguard.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(world, policy, thing):
    return services.approval_submit(actor=world.alice, kind=KIND, subject_id=7,
                                    facts=ApprovalFacts(amount=Decimal("5000"), tier="A"), summary="报价 7 折扣 12%")


def _state(request):
    return (ApprovalRequest.objects.get(pk=request.pk).status,
            list(ApprovalStep.objects.filter(request=request).values_list("status", flat=True)),
            AuditEvent.objects.filter(action__startswith="approvals.step").count())


def test_inbox_shows_what_waits_for_me(world, pending, client_for):
    sam = client_for(world.person("sam"))
    body = sam.get("/approvals/").content.decode()
    assert "报价 7 折扣 12%" in body and f"/approvals/{pending.pk}/" in body
    assert "报价 7" not in client_for(world.person("alice")).get("/approvals/").content.decode()
    assert "报价 7" in sam.get("/approvals/", {"q": "报价"}).content.decode()
    assert "报价 7" not in sam.get("/approvals/", {"q": "合同"}).content.decode()
    assert "报价 7" not in sam.get("/approvals/", {"overdue": "1"}).content.decode()
    ApprovalStep.objects.filter(request=pending).update(due_at=timezone.now() - dt.timedelta(hours=1))
    overdue = sam.get("/approvals/", {"overdue": "1"}).content.decode()
    assert "报价 7" in overdue and "badge warn" in overdue


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("sam", 200), ("bob", 404), ("carol", 404), ("audrey", 200), ("adam", 200), ("fiona", 200)])
def test_detail_matrix(world, pending, client_for, persona, status):
    response = client_for(world.person(persona)).get(f"/approvals/{pending.pk}/")
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "报价 7" in body
        assert ('name="decision"' in body) == (persona == "sam")
        assert (f"/approvals/{pending.pk}/withdraw/" in body) == (persona == "alice")


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("carol", 404), ("audrey", 403), ("adam", 403), ("fiona", 403), ("henry", 404)])
def test_decide_matrix_refusals_change_nothing(world, pending, client_for, persona, status):
    before = _state(pending)
    response = client_for(world.person(persona)).post(f"/approvals/{pending.pk}/decide/", {"decision": "approve"})
    assert response.status_code == status
    assert _state(pending) == before


def test_supervisor_approves_and_rejection_needs_a_reason(world, pending, client_for, thing):
    sam = client_for(world.person("sam"))
    sam.cookies["kamguard_language"] = "en"
    before = _state(pending)
    response = sam.post(f"/approvals/{pending.pk}/decide/", {"decision": "reject", "reason": ""})
    assert response.status_code == 422 and _state(pending) == before
    assert thing.calls == []
    response = sam.post(f"/approvals/{pending.pk}/decide/", {"decision": "approve", "reason": "可以"})
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=pending.pk).status == "approved"
    again = sam.post(f"/approvals/{pending.pk}/decide/", {"decision": "reject", "reason": "x"})
    assert again.status_code == 422 and "already decided" in again.content.decode()
    body = sam.get(f"/approvals/{pending.pk}/").content.decode()
    assert "可以" in body and "Request approved" in body


def test_withdraw_matrix(world, pending, client_for):
    for persona, status in (("sam", 403), ("bob", 404), ("audrey", 403)):
        assert client_for(world.person(persona)).post(f"/approvals/{pending.pk}/withdraw/").status_code == status
        assert ApprovalRequest.objects.get(pk=pending.pk).status == "pending"
    assert client_for(world.person("alice")).post(f"/approvals/{pending.pk}/withdraw/",
                                                  {"reason": "改价"}).status_code == 302
    assert ApprovalRequest.objects.get(pk=pending.pk).status == "withdrawn"


def test_my_requests_and_all_requests(world, pending, client_for):
    alice = client_for(world.person("alice"))
    assert "报价 7" in alice.get("/approvals/mine/").content.decode()
    assert "报价 7" not in client_for(world.person("bob")).get("/approvals/mine/").content.decode()
    assert "报价 7" not in client_for(world.person("bob")).get("/approvals/requests/").content.decode()
    assert "报价 7" in client_for(world.person("audrey")).get("/approvals/requests/").content.decode()
    assert "报价 7" not in alice.get("/approvals/mine/", {"status": "approved"}).content.decode()


def test_policy_pages_admin_only(world, thing, client_for):
    for persona in ("sam", "alice", "audrey"):
        client = client_for(world.person(persona))
        assert client.get("/approvals/policies/").status_code == 200
        assert client.get("/approvals/policies/new/").status_code == 403
        assert client.post("/approvals/policies/new/", {"name": "x", "kind": KIND, "priority": 1,
                                                        "due_hours": 1}).status_code == 403
    assert not ApprovalPolicy.objects.exists()
    adam = client_for(world.person("adam"))
    assert adam.get("/approvals/policies/new/").status_code == 200
    data = {"name": "大额", "kind": KIND, "priority": 10, "min_amount": "100000", "due_hours": 24, "is_active": "on",
            "tiers": ["A", "B"], "step1_approver": "supervisor", "step2_approver": "finance",
            "step3_approver": "director", "step3_parallel": "on"}
    assert adam.post("/approvals/policies/new/", data).status_code == 302
    policy = ApprovalPolicy.objects.get()
    assert policy.steps == [{"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "finance"},
                            {"stage": 2, "approver": "director"}]
    assert policy.tiers == "A,B"
    edit = adam.get(f"/approvals/policies/{policy.pk}/edit/").content.decode()
    assert "大额" in edit
    data["min_amount"] = "200000"
    assert adam.post(f"/approvals/policies/{policy.pk}/edit/", data).status_code == 302
    policy.refresh_from_db()
    assert (policy.version, policy.min_amount) == (2, Decimal("200000"))
    bad = adam.post("/approvals/policies/new/", {**data, "step1_approver": "role", "step1_role": "",
                                                 "min_amount": "10", "max_amount": "5"})
    assert bad.status_code == 200 and ApprovalPolicy.objects.count() == 1
    assert "errorlist" in bad.content.decode()


def test_delegation_page(world, thing, client_for):
    sam = client_for(world.person("sam"))
    today = timezone.localdate()
    response = sam.post("/approvals/delegations/", {"delegate": world.henry.pk, "starts_on": today.isoformat(),
                                                    "ends_on": (today + dt.timedelta(days=2)).isoformat(),
                                                    "reason": "出差"})
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert "出差" in client_for(world.person("henry")).get("/approvals/delegations/").content.decode()
    assert "出差" not in client_for(world.person("bob")).get("/approvals/delegations/").content.decode()
    bad = sam.post("/approvals/delegations/", {"delegate": world.sam.pk, "starts_on": today.isoformat(),
                                               "ends_on": today.isoformat()})
    assert bad.status_code == 422 and Delegation.objects.count() == 1
    assert client_for(world.person("audrey")).post("/approvals/delegations/", {
        "delegate": world.henry.pk, "starts_on": today.isoformat(), "ends_on": today.isoformat()}).status_code == 403
    assert client_for(world.person("bob")).post(f"/approvals/delegations/{delegation.pk}/revoke/").status_code == 404
    assert Delegation.objects.get().revoked_at is None
    assert sam.post(f"/approvals/delegations/{delegation.pk}/revoke/").status_code == 302
    assert Delegation.objects.get().revoked_at is not None


def test_status_include_renders_for_subject_pages(world, pending, rf):
    from django.template.loader import render_to_string

    request = rf.get("/things/7/")
    request.user = world.person("sam")
    html = render_to_string("approvals/_status.html", {"approval": pending, "request": request})
    assert 'value="approve"' in html and f"/approvals/{pending.pk}/decide/" in html
    request.user = world.person("alice")
    html = render_to_string("approvals/_status.html", {"approval": pending, "request": request})
    assert 'value="approve"' not in html and "沈明" in html
    assert render_to_string("approvals/_status.html", {"approval": None, "request": request}).strip() == ""


def test_pages_in_chinese(world, pending, client_for):
    sam = client_for(world.person("sam"))
    sam.cookies["kamguard_language"] = "zh-hans"
    body = sam.get("/approvals/").content.decode()
    assert "等待我审批" in body
    detail = sam.get(f"/approvals/{pending.pk}/").content.decode()
    assert "审批链" in detail and "Chain" not in detail


def test_the_decision_says_what_happened_next(world, thing, client_for):
    # given: a big thing — the supervisor, then finance (policy "Big things")
    from kamguard.approvals.services import policy_create

    policy_create(actor=world.adam, name="Big things", kind=KIND, priority=10, min_amount="100000",
                  steps=[{"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "finance"}])
    request = services.approval_submit(actor=world.alice, kind=KIND, subject_id=8,
                                       facts=ApprovalFacts(amount=Decimal("200000")), summary="大额 8")
    # the requester is told the chain decides, and gets no decision form
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    mine = client_for(world.person("alice")).get(f"/approvals/{request.pk}/", **english).content.decode()
    assert 'name="decision"' not in mine and "never you" in mine
    # and a decision she forges anyway is refused with the reason, in place, audited, nothing changed
    refusals = AuditEvent.objects.filter(action="permission.refused").count()
    forged = client_for(world.person("alice")).post(f"/approvals/{request.pk}/decide/",
                                                    {"decision": "approve", "reason": "自批"}, **english)
    assert forged.status_code == 403 and "someone else must decide it" in forged.content.decode()
    assert AuditEvent.objects.filter(action="permission.refused").count() == refusals + 1
    assert _state(request)[0] == "pending" and not ApprovalStep.objects.filter(request=request,
                                                                               decided_by=world.alice).exists()
    # when: the supervisor approves
    sam = client_for(world.person("sam"))
    response = sam.post(f"/approvals/{request.pk}/decide/", {"decision": "approve", "reason": "可以"}, follow=True,
                        **english)
    # then: the page names who decides next (the finance role, in words), and the request is still pending
    page = response.content.decode()
    assert "now waits for" in page and "Finance" in page and "finance</" not in page
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"
    done = client_for(world.person("fiona")).post(f"/approvals/{request.pk}/decide/",
                                                  {"decision": "approve", "reason": ""}, follow=True, **english)
    assert "the request is approved" in done.content.decode()
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"
