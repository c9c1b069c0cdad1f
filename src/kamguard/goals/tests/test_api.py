"""The goals API: the same rules as the services, RFC 9457 errors, nothing written on refusal."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.goals.domain.months import add_months, month_start
from kamguard.goals.models import CheckIn, KeyResult, Objective, SalesTarget

from .conftest import quarter

pytestmark = pytest.mark.django_db
BASE = "/api/v1/goals"


def _json(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                   content_type="application/json")


def _state():
    return (list(SalesTarget.objects.values_list("user_id", "month", "amount").order_by("pk")),
            list(Objective.objects.values_list("title", "status", "measure").order_by("pk")),
            list(KeyResult.objects.values_list("title", "current_value", "weight").order_by("pk")),
            CheckIn.objects.count(), AuditEvent.objects.filter(action__startswith="goals.").count())


def _fields(response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


def _m(n: int = 0) -> str:
    return f"{add_months(month_start(timezone.localdate()), n):%Y-%m}"


def test_targets_through_the_api(world, client_for):
    sam, alice = client_for(world.person("sam")), client_for(world.person("alice"))
    response = _json(sam, "put", f"{BASE}/targets/{world.alice.pk}/{_m()}", {"amount": "250000.00", "note": "n"})
    assert response.status_code == 200, response.content
    assert D(response.json()["amount"]) == D(250000) and response.json()["month"] == _m()
    response = _json(sam, "post", f"{BASE}/targets/bulk", {"entries": [
        {"user_id": world.alice.pk, "month": _m(1), "amount": "1"},
        {"user_id": world.bob.pk, "month": _m(), "amount": "2"}]})
    assert response.json() == {"set": 2, "removed": 0, "unchanged": 0}
    mine = alice.get(f"{BASE}/targets").json()["items"]
    assert sorted(t["month"] for t in mine) == [_m(), _m(1)]
    page = sam.get(f"{BASE}/targets?limit=2").json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = sam.get(f"{BASE}/targets?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {t["id"] for t in page["items"] + rest["items"]} == set(SalesTarget.objects.values_list("pk", flat=True))
    assert len(sam.get(f"{BASE}/targets?from_month={_m(1)}").json()["items"]) == 1
    assert _json(sam, "put", f"{BASE}/targets/{world.alice.pk}/{_m()}", {"amount": None}).status_code == 204
    assert SalesTarget.objects.count() == 2


@pytest.mark.parametrize("persona,sees", [("alice", True), ("bob", False), ("sue", True), ("sam", True),
                                          ("carol", False), ("audrey", True), ("hanna", True)])
def test_target_read_matrix(world, client_for, persona, sees):
    from kamguard.goals.services import target_set
    target_set(actor=world.sam, user_id=world.alice.pk, month=month_start(timezone.localdate()), amount="9")
    items = client_for(world.person(persona)).get(f"{BASE}/targets").json()["items"]
    assert (world.alice.pk in [t["user_id"] for t in items]) == sees


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "audrey", "hanna"])
def test_target_write_matrix(world, client_for, persona):
    client = client_for(world.person(persona))
    before = _state()
    response = _json(client, "put", f"{BASE}/targets/{world.alice.pk}/{_m()}", {"amount": "1"})
    assert response.status_code == 403 and response.headers["Content-Type"].startswith("application/problem+json")
    response = _json(client, "post", f"{BASE}/targets/bulk", {"entries": [
        {"user_id": world.alice.pk, "month": _m(), "amount": "1"}]})
    assert response.status_code in (403, 422)
    assert _state() == before


@pytest.mark.parametrize("url,body,field", [
    ("{alice}/{m}", {"amount": "-5"}, "amount"),
    ("{alice}/2026-13", {"amount": "5"}, "month"),
    ("{alice}/march", {"amount": "5"}, "month"),
    ("{carol}/{m}", {"amount": "5"}, None),
])
def test_target_bad_input(world, client_for, url, body, field):
    sam = client_for(world.person("sam"))
    before = _state()
    response = _json(sam, "put", f"{BASE}/targets/" + url.format(alice=world.alice.pk, carol=world.carol.pk, m=_m()),
                     body)
    if field is None:
        assert response.status_code == 403
    else:
        assert response.status_code == 422, response.content
        assert field in _fields(response)
    bulk = _json(sam, "post", f"{BASE}/targets/bulk", {"entries": [
        {"user_id": world.alice.pk, "month": "2026/01", "amount": "5"}]})
    assert bulk.status_code == 422 and "entries[0].month" in _fields(bulk)
    assert _state() == before


def test_okr_through_the_api(world, client_for):
    sam, alice = client_for(world.person("sam")), client_for(world.person("alice"))
    start, end = quarter()
    team = _json(sam, "post", f"{BASE}/objectives", {"title": "团队回款", "owner_team_id": world.team_a.pk,
                                                      "period_start": start.isoformat(),
                                                      "period_end": end.isoformat()})
    assert team.status_code == 201, team.content
    team_id = team.json()["id"]
    kr = _json(sam, "post", f"{BASE}/objectives/{team_id}/key-results", {"title": "回款", "target_value": "100"})
    assert kr.status_code == 201 and kr.json()["progress"] == "0.00" or D(kr.json()["progress"]) == 0
    assert _json(sam, "post", f"{BASE}/objectives/{team_id}/status", {"status": "active"}).json()["status"] == "active"
    mine = _json(alice, "post", f"{BASE}/objectives", {"title": "我的回款", "owner_user_id": world.alice.pk,
                                                        "parent_id": team_id, "period_start": start.isoformat(),
                                                        "period_end": end.isoformat(), "measure": "ERP"})
    assert mine.status_code == 201, mine.content
    mine_id = mine.json()["id"]
    kr2 = _json(alice, "post", f"{BASE}/objectives/{mine_id}/key-results",
                {"title": "回款", "target_value": "40", "start_value": "0", "unit": "万元", "weight": "2"}).json()
    _json(alice, "post", f"{BASE}/objectives/{mine_id}/status", {"status": "active"})
    check = _json(alice, "post", f"{BASE}/key-results/{kr2['id']}/check-ins",
                  {"value": "10", "confidence": 6, "note": "进展"})
    assert check.status_code == 201 and check.json()["by_id"] == world.alice.pk
    detail = alice.get(f"{BASE}/objectives/{mine_id}").json()
    assert D(detail["progress"]) == D(25) and D(detail["key_results"][0]["current_value"]) == D(10)
    patched = _json(alice, "patch", f"{BASE}/objectives/{mine_id}", {"measure": "ERP 回款"})
    assert patched.status_code == 200 and patched.json()["measure"] == "ERP 回款"
    assert _json(alice, "patch", f"{BASE}/key-results/{kr2['id']}", {"weight": "3"}).json()["weight"] in ("3.00", "3")
    tree = sam.get(f"{BASE}/teams/{world.team_a.pk}/tree").json()
    assert tree["objectives"][0]["objective"]["id"] == team_id
    assert D(tree["objectives"][0]["rolled_up"]) == D("12.50")  # (0 + 25) / 2
    assert [c["objective"]["id"] for c in tree["objectives"][0]["children"]] == [mine_id]
    history = alice.get(f"{BASE}/key-results/{kr2['id']}/check-ins").json()["items"]
    assert [h["note"] for h in history] == ["进展"]
    listed = sam.get(f"{BASE}/objectives?status=active&limit=1").json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    again = sam.get(f"{BASE}/objectives?status=active&limit=1&cursor={listed['next_cursor']}").json()
    assert {listed["items"][0]["id"], again["items"][0]["id"]} == {team_id, mine_id}
    assert [o["id"] for o in sam.get(f"{BASE}/objectives?q=我的").json()["items"]] == [mine_id]
    assert [o["id"] for o in sam.get(f"{BASE}/objectives?team_id={world.team_a.pk}").json()["items"]] == [team_id]
    both = sam.get(f"{BASE}/objectives?team_id={world.team_a.pk}&members=true").json()["items"]
    assert {o["id"] for o in both} == {team_id, mine_id}


@pytest.mark.parametrize("persona,status", [("alice", 200), ("bob", 404), ("sue", 200), ("sam", 200),
                                            ("henry", 404), ("carol", 404), ("audrey", 200), ("hanna", 200)])
def test_objective_read_matrix(world, okr, client_for, persona, status):
    client = client_for(world.person(persona))
    assert client.get(f"{BASE}/objectives/{okr.alice.pk}").status_code == status
    assert client.get(f"{BASE}/key-results/{okr.alice_orders.pk}/check-ins").status_code == status
    ids = [o["id"] for o in client.get(f"{BASE}/objectives?limit=200").json()["items"]]
    assert (okr.alice.pk in ids) == (status == 200)
    team_visible = persona not in ("carol", "henry")
    assert client.get(f"{BASE}/objectives/{okr.team.pk}").status_code == (200 if team_visible else 404)


@pytest.mark.parametrize("persona", ["bob", "sue", "henry", "carol", "audrey", "hanna"])
def test_objective_write_matrix(world, okr, client_for, persona):
    client = client_for(world.person(persona))
    before = _state()
    start, end = quarter()
    for method, url, body in (
        ("patch", f"/objectives/{okr.alice.pk}", {"title": "x"}),
        ("post", f"/objectives/{okr.alice.pk}/status", {"status": "cancelled"}),
        ("post", f"/objectives/{okr.alice.pk}/key-results", {"title": "x", "target_value": "1"}),
        ("patch", f"/key-results/{okr.alice_orders.pk}", {"weight": "9"}),
        ("delete", f"/key-results/{okr.alice_visits.pk}", None),
        ("post", f"/key-results/{okr.alice_orders.pk}/check-ins", {"value": "5"}),
        ("post", "/objectives", {"title": "x", "owner_user_id": world.alice.pk, "period_start": start.isoformat(),
                                 "period_end": end.isoformat()}),
    ):
        response = _json(client, method, BASE + url, body)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    assert _state() == before


def test_objective_bad_input(world, okr, client_for):
    alice = client_for(world.person("alice"))
    before = _state()
    start, end = quarter()
    bad = [
        ("post", "/objectives", {"title": "", "owner_user_id": world.alice.pk, "period_start": start.isoformat(),
                                 "period_end": end.isoformat()}, "title"),
        ("post", "/objectives", {"title": "t", "owner_user_id": world.alice.pk, "period_start": end.isoformat(),
                                 "period_end": start.isoformat()}, "period_end"),
        ("post", "/objectives", {"title": "t", "owner_user_id": world.alice.pk, "period_start": "2026-02-30",
                                 "period_end": end.isoformat()}, None),
        ("post", f"/objectives/{okr.alice.pk}/key-results", {"title": "t", "target_value": "0"}, "target_value"),
        ("post", f"/key-results/{okr.alice_orders.pk}/check-ins", {"value": "1", "confidence": 12}, None),
        ("post", f"/key-results/{okr.alice_orders.pk}/check-ins", {"value": "abc"}, None),
        ("post", f"/objectives/{okr.alice.pk}/status", {"status": "archived"}, None),
    ]
    for method, url, body, field in bad:
        response = _json(alice, method, BASE + url, body)
        assert response.status_code == 422, (url, body, response.content)
        if field:
            assert field in _fields(response), response.json()
    conflict = _json(alice, "post", f"{BASE}/objectives/{okr.alice.pk}/status", {"status": "draft"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "status_not_allowed"
    assert _state() == before
