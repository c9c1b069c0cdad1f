"""The plans API: the same rules as the pages, RFC 9457 errors, nothing written on refusal."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.core.models import AuditEvent
from kamguard.plans import services
from kamguard.plans.domain.months import month_end
from kamguard.plans.models import DailyPlan, MarketingPlan, PlanStatus, PlanVisit

BASE = "/api/v1/plans"


def _snapshot():
    return (MarketingPlan.objects.count(), PlanVisit.objects.count(), DailyPlan.objects.count(),
            Activity.objects.count(), AuditEvent.objects.filter(action__startswith="plans.").count(),
            list(MarketingPlan.objects.values_list("status", "goals", "review_comment", "result_comment")))


def _json(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                   content_type="application/json")


def test_the_whole_month_through_the_api(world, book, client_for):
    alice, sam = client_for(world.person("alice")), client_for(world.person("sam"))
    month = timezone.localdate().replace(day=1)
    # create
    response = _json(alice, "post", f"{BASE}/", {"month": f"{month:%Y-%m}", "goals": "回款", "analysis": "分析",
                                                 "measures": "措施"})
    assert response.status_code == 201, response.content
    plan_id = response.json()["id"]
    # a second plan for the month is a 409
    again = _json(alice, "post", f"{BASE}/", {"month": f"{month:%Y-%m}"})
    assert again.status_code == 409 and again.json()["code"] == "plan_exists"
    # visits and a day
    day = month_end(month)
    response = _json(alice, "post", f"{BASE}/{plan_id}/visits", {"customer_id": book.alpha.pk,
                                                                  "planned_on": day.isoformat()})
    assert response.status_code == 201 and response.json()["activity_id"]
    response = _json(alice, "put", f"{BASE}/{plan_id}/days/{day.isoformat()}", {"content": "拜访"})
    assert response.status_code == 200 and response.json()["content"] == "拜访"
    # submit, review, comment
    assert _json(alice, "post", f"{BASE}/{plan_id}/submit").json()["status"] == "submitted"
    response = _json(sam, "post", f"{BASE}/{plan_id}/review", {"approve": True, "comment": "同意"})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    response = _json(sam, "put", f"{BASE}/{plan_id}/result-comment", {"comment": "好"})
    assert response.status_code == 200 and response.json()["result_comment"] == "好"
    # result
    result = alice.get(f"{BASE}/{plan_id}/result").json()
    assert result["planned"] == 1 and result["planned_done"] == 0 and result["completion_rate"] == 0
    assert {t["tier"] for t in result["tiers"]} >= {"A"}
    # the list
    listed = alice.get(f"{BASE}/?month={month:%Y-%m}").json()
    assert [p["id"] for p in listed["items"]] == [plan_id]


@pytest.mark.parametrize("persona,visible", [("alice", True), ("sue", True), ("sam", True), ("audrey", True),
                                             ("bob", False), ("carol", False)])
def test_read_matrix(world, draft, client_for, persona, visible):
    client = client_for(world.person(persona))
    assert client.get(f"{BASE}/{draft.pk}").status_code == (200 if visible else 404)
    assert client.get(f"{BASE}/{draft.pk}/result").status_code == (200 if visible else 404)
    assert (draft.pk in [p["id"] for p in client.get(f"{BASE}/").json()["items"]]) == visible


@pytest.mark.parametrize("persona", ["bob", "sue", "sam", "carol", "audrey"])
def test_write_matrix(world, book, draft, client_for, persona):
    client = client_for(world.person(persona))
    before = _snapshot()
    day = month_end(draft.month).isoformat()
    for method, url, body in (("patch", f"{BASE}/{draft.pk}", {"goals": "改"}),
                              ("post", f"{BASE}/{draft.pk}/visits", {"customer_id": book.alpha.pk, "planned_on": day}),
                              ("put", f"{BASE}/{draft.pk}/days/{day}", {"content": "x"}),
                              ("post", f"{BASE}/{draft.pk}/submit", None)):
        response = _json(client, method, url, body)
        assert response.status_code in (403, 404), (url, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    assert _snapshot() == before


def test_auditor_cannot_create(world, client_for):
    response = _json(client_for(world.person("audrey")), "post", f"{BASE}/", {"month": "2026-11"})
    assert response.status_code == 403
    assert not MarketingPlan.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "carol", "audrey"])
def test_review_matrix(world, book, draft, client_for, persona):
    services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                            planned_on=month_end(draft.month))
    services.plan_submit(actor=world.alice, plan_id=draft.pk)
    before = _snapshot()
    response = _json(client_for(world.person(persona)), "post", f"{BASE}/{draft.pk}/review",
                     {"approve": True, "comment": ""})
    assert response.status_code in (403, 404)
    assert _snapshot() == before
    assert MarketingPlan.objects.get(pk=draft.pk).status == PlanStatus.SUBMITTED


def test_bad_input(world, book, draft, client_for):
    client = client_for(world.person("alice"))
    before = _snapshot()
    bad = _json(client, "post", f"{BASE}/", {"month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "month"
    outside = (month_end(draft.month) + dt.timedelta(days=1)).isoformat()
    bad = _json(client, "post", f"{BASE}/{draft.pk}/visits", {"customer_id": book.alpha.pk, "planned_on": outside})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "planned_on"
    bad = _json(client, "post", f"{BASE}/{draft.pk}/visits", {"customer_id": book.delta.pk,
                                                               "planned_on": month_end(draft.month).isoformat()})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "customer"
    bad = _json(client, "post", f"{BASE}/{draft.pk}/visits", {"customer_id": "x", "planned_on": "never"})
    assert bad.status_code == 422
    bad = _json(client, "post", f"{BASE}/{draft.pk}/submit")
    assert bad.status_code == 422 and bad.json()["code"] == "plan_incomplete"
    bad = _json(client, "patch", f"{BASE}/{draft.pk}", {"goals": "长" * 10_001})
    assert bad.status_code == 422
    assert _snapshot() == before
