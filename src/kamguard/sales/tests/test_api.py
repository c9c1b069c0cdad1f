"""The sales API with its permission matrix — owner alice, teammate (account team) bob, specialist sue,
supervisor sam, outsider carol, auditor audrey, finance fiona, admin adam — nothing changed on refusal; bad
input is an RFC 9457 problem naming the field and writing nothing."""

from __future__ import annotations

import pytest

from kamguard.approvals.models import ApprovalRequest
from kamguard.core.models import AuditEvent
from kamguard.sales.models import DiscountAuthority, Forecast, Opportunity, Product, Quote, Stage, StageChange

API = "/api/v1/sales"
pytestmark = pytest.mark.django_db


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def _snapshot(opp):
    fresh = Opportunity.objects.get(pk=opp.pk)
    return (fresh.stage_id, fresh.amount, fresh.name, StageChange.objects.count(), Quote.objects.count(),
            AuditEvent.objects.filter(action__startswith="sales.").count())


def test_list_and_detail_follow_the_customer(world, sales, client_for):
    for persona, sees in (("alice", True), ("bob", True), ("sue", True), ("sam", True), ("audrey", True),
                          ("fiona", True), ("carol", False), ("henry", False)):
        client = client_for(world.person(persona))
        items = client.get(f"{API}/opportunities").json()["items"]
        assert [i["id"] for i in items] == ([sales.opp.pk] if sees else []), persona
        detail = client.get(f"{API}/opportunities/{sales.opp.pk}")
        assert detail.status_code == (200 if sees else 404), persona
        if sees:
            body = detail.json()
            assert [h["to_stage"] for h in body["history"]] == ["lead", "qualified"]
            assert {c["user_id"] for c in body["credit_split"]} == {world.alice.pk, world.bob.pk}
            assert body["may_edit"] is (persona == "alice")


def test_only_the_owner_changes_or_moves(world, sales, client_for):
    before = _snapshot(sales.opp)
    for persona, status in (("bob", 403), ("sue", 403), ("sam", 403), ("audrey", 403), ("fiona", 403),
                            ("carol", 404)):
        client = client_for(world.person(persona))
        _problem(client.patch(f"{API}/opportunities/{sales.opp.pk}", {"amount": "1"},
                              content_type="application/json"), status)
        _problem(client.post(f"{API}/opportunities/{sales.opp.pk}/move", {"stage": "lost", "lost_reason": "price"},
                             content_type="application/json"), status)
        _problem(client.post(f"{API}/opportunities/{sales.opp.pk}/quotes",
                             {"lines": [{"product_id": sales.widget.pk, "quantity": "1"}]},
                             content_type="application/json"), status)
    assert _snapshot(sales.opp) == before
    alice = client_for(world.person("alice"))
    changed = alice.patch(f"{API}/opportunities/{sales.opp.pk}", {"amount": "720000", "competitor": "施耐德"},
                          content_type="application/json")
    assert changed.status_code == 200 and changed.json()["amount"] == "720000.00"


def test_create_and_bad_input(world, sales, client_for):
    alice = client_for(world.person("alice"))
    created = alice.post(f"{API}/opportunities", {"customer_id": sales.acme.pk, "name": "二期", "amount": "100"},
                         content_type="application/json")
    assert created.status_code == 201 and created.json()["stage"] == "lead"
    count = Opportunity.objects.count()
    body = _problem(alice.post(f"{API}/opportunities", {"customer_id": sales.acme.pk, "name": "x", "amount": "-3"},
                               content_type="application/json"), 422)
    assert body["code"] == "negative_amount"
    _problem(alice.post(f"{API}/opportunities", {"customer_id": sales.west.pk, "name": "x"},
                        content_type="application/json"), 404)
    _problem(alice.post(f"{API}/opportunities", {"customer_id": sales.acme.pk, "name": "x", "stage": "won"},
                        content_type="application/json"), 422)
    _problem(client_for(world.person("audrey")).post(f"{API}/opportunities",
                                                     {"customer_id": sales.acme.pk, "name": "x"},
                                                     content_type="application/json"), 403)
    assert Opportunity.objects.count() == count


def test_skipped_stage_problem_names_the_missing_steps(world, sales, client_for):
    alice = client_for(world.person("alice"))
    before = _snapshot(sales.opp)
    body = _problem(alice.post(f"{API}/opportunities/{sales.opp.pk}/move", {"stage": "negotiation"},
                               content_type="application/json"), 422)
    assert body["code"] == "required_step_missing"
    assert _snapshot(sales.opp) == before


def test_quote_through_the_api_beyond_authority(world, sales, client_for):
    alice = client_for(world.person("alice"))
    bad = _problem(alice.post(f"{API}/opportunities/{sales.opp.pk}/quotes",
                              {"lines": [{"product_id": sales.widget.pk, "quantity": "1", "discount_pct": "150"}]},
                              content_type="application/json"), 422)
    assert bad["code"] == "discount_over_100"
    assert not Quote.objects.exists()
    made = alice.post(f"{API}/opportunities/{sales.opp.pk}/quotes",
                      {"lines": [{"product_id": sales.widget.pk, "quantity": "2", "discount_pct": "8"}]},
                      content_type="application/json")
    assert made.status_code == 201, made.content
    quote_id = made.json()["id"]
    assert made.json()["total"] == "18400.00"
    _problem(client_for(world.person("bob")).post(f"{API}/quotes/{quote_id}/submit"), 403)
    submitted = alice.post(f"{API}/quotes/{quote_id}/submit")
    assert submitted.json()["status"] == "pending"
    assert ApprovalRequest.objects.filter(kind="sales.quote", subject_id=quote_id, status="pending").exists()
    locked = _problem(alice.patch(f"{API}/quotes/{quote_id}", {"note": "x"}, content_type="application/json"), 409)
    assert locked["code"] == "approval_pending"
    assert client_for(world.person("carol")).get(f"{API}/quotes/{quote_id}").status_code == 404
    assert client_for(world.person("audrey")).get(f"{API}/quotes/{quote_id}").status_code == 200


def test_configuration_by_administrators_only(world, sales, client_for):
    product = {"code": "X-1", "name": "新品", "list_price": "99"}
    stage = {"code": "poc", "name": "Proof of concept", "name_zh": "试点验证", "order": 35, "probability": 60,
             "required_steps": ["visit"]}
    row = {"role": "specialist", "max_discount_pct": "2"}
    counts = (Product.objects.count(), Stage.objects.count(), DiscountAuthority.objects.count())
    for persona in ("alice", "sam", "audrey", "fiona"):
        client = client_for(world.person(persona))
        _problem(client.post(f"{API}/products", product, content_type="application/json"), 403)
        _problem(client.post(f"{API}/stages", stage, content_type="application/json"), 403)
        _problem(client.post(f"{API}/discount-authority", row, content_type="application/json"), 403)
        _problem(client.put(f"{API}/settings", {"forecast_cutoff_day": 9}, content_type="application/json"), 403)
    assert (Product.objects.count(), Stage.objects.count(), DiscountAuthority.objects.count()) == counts
    adam = client_for(world.person("adam"))
    assert adam.post(f"{API}/products", product, content_type="application/json").status_code == 201
    negative = _problem(adam.post(f"{API}/products", {**product, "code": "X-2", "list_price": "-1"},
                                  content_type="application/json"), 422)
    assert negative["code"] == "negative_amount"
    assert adam.post(f"{API}/stages", stage, content_type="application/json").status_code == 201
    over = _problem(adam.post(f"{API}/discount-authority", {**row, "max_discount_pct": "101"},
                              content_type="application/json"), 422)
    assert over["code"] == "discount_over_100"
    assert adam.post(f"{API}/discount-authority", row, content_type="application/json").status_code == 201
    assert client_for(world.person("sue")).get(f"{API}/discount-authority/me").json()["max_discount_pct"] == "2.00"
    seeded = Stage.objects.get(code="won")
    renamed = _problem(adam.put(f"{API}/stages/{seeded.pk}", {**stage, "code": "closed", "outcome": "won"},
                                content_type="application/json"), 422)
    assert renamed["code"] == "validation_failed" or renamed["code"] == "seeded_code"


def test_board_counts_what_the_viewer_sees(world, sales, client_for):
    for persona, count in (("alice", 1), ("sam", 1), ("carol", 0), ("audrey", 1)):
        body = client_for(world.person(persona)).get(f"{API}/board").json()
        assert body["open_count"] == count, persona
        qualified = next(s for s in body["stages"] if s["stage"] == "qualified")
        assert qualified["count"] == count
    body = client_for(world.person("sam")).get(f"{API}/board").json()
    assert body["people"][0]["id"] == world.alice.pk and body["open_amount"] == "500000.00"
    assert body["teams"][0]["name"] == world.team_a.name


def test_forecast_put_and_scope(world, sales, client_for):
    import datetime as dt

    from django.utils import timezone

    from kamguard.sales.domain import add_months, month_start

    month = add_months(month_start(timezone.localdate()), 1)
    alice = client_for(world.person("alice"))
    put = alice.put(f"{API}/forecasts/mine/{month:%Y-%m}", {"commit_amount": "100", "best_case_amount": "200"},
                    content_type="application/json")
    assert put.status_code == 200, put.content
    bad = _problem(alice.put(f"{API}/forecasts/mine/{month:%Y-%m}", {"commit_amount": "300",
                                                                     "best_case_amount": "200"},
                             content_type="application/json"), 422)
    assert bad["code"] == "best_below_commit"
    _problem(alice.put(f"{API}/forecasts/mine/not-a-month", {"commit_amount": "1", "best_case_amount": "2"},
                       content_type="application/json"), 422)
    _problem(client_for(world.person("sam")).put(f"{API}/forecasts/mine/{month:%Y-%m}",
                                                 {"commit_amount": "1", "best_case_amount": "2"},
                                                 content_type="application/json"), 403)
    assert Forecast.objects.count() == 1
    for persona, n in (("alice", 1), ("sam", 1), ("bob", 0), ("carol", 0), ("audrey", 1)):
        assert len(client_for(world.person(persona)).get(f"{API}/forecasts").json()["items"]) == n, persona
    assert dt.date.fromisoformat(put.json()["month"]) == month
