"""The API: the same rules as the pages (403 for people who do not see risk, 404 for a case or alert about
oneself or not shared), problem details for bad input, and nothing changed on refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from kamguard.risk.models import Alert, AlertStatus, Case
from kamguard.risk.services import cases as case_services
from kamguard.risk.tests.conftest import Book, risk_state
from kamguard.risk.tests.test_reviews_and_cases import make_alert

API = "/api/v1/risk"
PERSONAS = ("alice", "bob", "sam", "carol", "audrey", "adam")


def post(client: Any, url: str, data: Any) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


@pytest.mark.parametrize("persona", PERSONAS)
def test_reads_only_for_auditors_and_admins(world: Any, client_for: Any, persona: str) -> None:
    alert = make_alert(world, world.alice)
    client = client_for(world.person(persona))
    sees = persona in ("audrey", "adam")
    for url in (f"{API}/alerts", f"{API}/alerts/{alert.pk}", f"{API}/scans", f"{API}/scores", f"{API}/settings",
                f"{API}/dashboard", f"{API}/penalties"):
        response = client.get(url)
        assert response.status_code == (200 if sees else 403), (url, response.status_code)
        if not sees:
            assert response["Content-Type"] == "application/problem+json"
    cases = client.get(f"{API}/cases")
    assert cases.status_code == 200 and cases.json()["items"] == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_alert_decisions(world: Any, client_for: Any, persona: str) -> None:
    alert = make_alert(world, world.alice)
    client = client_for(world.person(persona))
    before = risk_state()
    response = post(client, f"{API}/alerts/{alert.pk}/false", {"feedback": "客户破产"})
    if persona == "audrey":
        assert response.status_code == 200 and response.json()["status"] == "false"
    else:
        assert response.status_code in (403, 404) and risk_state() == before


def test_alert_detail_and_list(world: Any, client_for: Any) -> None:
    alert = make_alert(world, world.alice)
    make_alert(world, world.bob, subject_id=2, score=0.6)
    client = client_for(world.person("audrey"))
    listing = client.get(f"{API}/alerts", {"limit": 1})
    assert listing.status_code == 200
    first = listing.json()
    assert [a["id"] for a in first["items"]] == [alert.pk] and first["next_cursor"]
    second = client.get(f"{API}/alerts", {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [a["subject_id"] for a in second["items"]] == [2]
    detail = client.get(f"{API}/alerts/{alert.pk}").json()
    assert detail["signals"][0]["signal"] == "orders_collapse" and detail["signals"][0]["label"]
    missing = post(client, f"{API}/alerts/{alert.pk}/suppress", {"reason": ""})
    assert missing.status_code == 422 and missing.json()["code"] == "reason_required"


def test_case_life_cycle(world: Any, client_for: Any) -> None:
    alert = make_alert(world, world.alice)
    client = client_for(world.person("audrey"))
    created = post(client, f"{API}/cases", {"alert_ids": [alert.pk], "note": "线索"})
    assert created.status_code == 201
    case_id = created.json()["id"]
    assert created.json()["person_id"] == world.alice.pk and created.json()["alert_ids"] == [alert.pk]
    assert post(client, f"{API}/cases/{case_id}/interviews",
                {"interviewee": "王经理", "text": "确认报价异常"}).status_code == 201
    no_outcome = post(client, f"{API}/cases/{case_id}/close", {"outcome": "", "findings": "x"})
    assert no_outcome.status_code == 422 and no_outcome.json()["code"] == "outcome_required"
    assert Case.objects.get().status == "open"
    closed = post(client, f"{API}/cases/{case_id}/close", {"outcome": "policy_violation", "findings": "越权折扣"})
    assert closed.status_code == 200 and closed.json()["outcome"] == "policy_violation"
    assert Alert.objects.get().status == AlertStatus.CONFIRMED
    penalty = post(client, f"{API}/cases/{case_id}/penalties",
                   {"kind": "demotion", "effective_on": timezone.localdate().isoformat(), "note": "降一级"})
    assert penalty.status_code == 201 and penalty.json()["amount"] is None
    register = client.get(f"{API}/penalties").json()["items"]
    assert [p["kind"] for p in register] == ["demotion"]


def test_case_visibility_in_the_api(world: Any, client_for: Any) -> None:
    alert = make_alert(world, world.alice)
    case = case_services.case_open(actor=world.person("audrey"), alert_ids=[alert.pk])
    for persona in ("alice", "bob", "sam", "carol"):
        client = client_for(world.person(persona))
        assert client.get(f"{API}/cases/{case.pk}").status_code == 404
        before = risk_state()
        assert post(client, f"{API}/cases/{case.pk}/notes", {"text": "x"}).status_code in (403, 404)
        assert risk_state() == before
    case_services.case_share(actor=world.person("audrey"), case_id=case.pk)
    assert client_for(world.person("sam")).get(f"{API}/cases/{case.pk}").status_code == 200
    assert client_for(world.person("alice")).get(f"{API}/cases/{case.pk}").status_code == 404


def test_settings_api(world: Any, client_for: Any) -> None:
    client = client_for(world.person("adam"))
    before = risk_state()
    bad = client.patch(f"{API}/settings", json.dumps({"weights": {"hoarding": -1}, "params": {"hoarding": {
        "share_full": 0.1}}}), content_type="application/json")
    assert bad.status_code == 422 and bad.json()["code"] == "negative_weight"
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"weights.hoarding", "params.hoarding.share_full"}
    assert risk_state() == before
    good = client.patch(f"{API}/settings", json.dumps({"thresholds": {"order": 0.7}, "reason": "减少噪音"}),
                        content_type="application/json")
    assert good.status_code == 200 and good.json()["config"]["thresholds"]["order"] == 0.7
    assert client_for(world.person("alice")).patch(f"{API}/settings", json.dumps({"weights": {"hoarding": 0}}),
                                                   content_type="application/json").status_code == 403


def test_scan_api(book: Book, world: Any, client_for: Any) -> None:
    client = client_for(world.person("audrey"))
    early = post(client, f"{API}/scans", {"as_of": "2001-01-01"})
    assert early.status_code == 422 and early.json()["code"] == "as_of_before_data"
    created = post(client, f"{API}/scans", {})
    assert created.status_code == 201 and created.json()["alerts_raised"] >= 1
    scores = client.get(f"{API}/scores", {"subject_type": "customer"}).json()["items"]
    assert scores[0]["external_id"] == "C-ACME" and scores[0]["signals"][0]["text"]
    board = client.get(f"{API}/dashboard").json()
    assert board["open_alerts"] >= 1 and board["heat_map"] and board["trend"]
    assert post(client_for(world.person("bob")), f"{API}/scans", {}).status_code == 403
