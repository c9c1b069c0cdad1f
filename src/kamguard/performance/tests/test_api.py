"""The performance API: the whole month through it, problem details, the permission matrix with nothing changed
on refusal, bad input from the issue, both languages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kamguard.core.models import AuditEvent
from kamguard.performance import domain
from kamguard.performance.models import (
    Appeal,
    Calibration,
    FeedbackMeeting,
    ImprovementPlan,
    Period,
    Scheme,
    Scorecard,
)
from kamguard.performance.tests.conftest import card_of, last_month, released

BASE = "/api/v1/performance"
pytestmark = pytest.mark.django_db


def _json(client: Any, method: str, url: str, body: Any = None, **extra: Any) -> Any:
    return getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                   content_type="application/json", **extra)


def _snapshot() -> list[Any]:
    return [Period.objects.count(), Scheme.objects.count(), Calibration.objects.count(),
            FeedbackMeeting.objects.count(), Appeal.objects.count(), ImprovementPlan.objects.count(),
            list(Scorecard.objects.order_by("pk").values_list("calibrated_total", "status", "grade", "rank")),
            list(Period.objects.order_by("pk").values_list("status", "calibration_stage")),
            AuditEvent.objects.filter(action__startswith="performance.").count()]


def test_a_month_end_to_end(world: Any, diana: Any, fake_metrics: Any, monthly: Scheme, client_for: Any) -> None:
    sam, alice, boss = client_for(world.person("sam")), client_for(world.person("alice")), client_for(diana)
    response = _json(sam, "post", f"{BASE}/periods", {"scheme_id": monthly.pk, "day": last_month().isoformat(),
                                                     "team_id": world.team_a.pk})
    assert response.status_code == 201, response.content
    period_id = response.json()["id"]
    assert _json(sam, "post", f"{BASE}/periods", {"scheme_id": monthly.pk, "day": last_month().isoformat(),
                                                 "team_id": world.team_a.pk}).status_code == 409
    response = sam.post(f"{BASE}/periods/{period_id}/score")
    assert response.status_code == 200 and response.json()["status"] == "scored"
    team = sam.get(f"{BASE}/periods/{period_id}/team").json()
    assert [c["rank"] for c in team["scorecards"]] == [1, 1, 3]
    assert sum(g["count"] for g in team["distribution"]) == 3
    bob_card = next(c for c in team["scorecards"] if c["user_id"] == world.bob.pk)
    detail = sam.get(f"{BASE}/scorecards/{bob_card['id']}").json()
    economic = next(d for d in detail["dimensions"] if d["code"] == "economic_results")
    assert economic["band"] and economic["metrics"][0]["explanation"]
    zh = sam.get(f"{BASE}/scorecards/{bob_card['id']}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert next(d for d in zh["dimensions"] if d["code"] == "economic_results")["name"] == "经济业绩"
    # a calibration without a reason is refused with the field named
    response = _json(sam, "post", f"{BASE}/scorecards/{bob_card['id']}/calibrations", {"after": "72", "reason": ""})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "reason"
    response = _json(sam, "post", f"{BASE}/scorecards/{bob_card['id']}/calibrations",
                     {"after": "72", "reason": "A large order was booked a day late"})
    assert response.status_code == 201 and response.json()["role"] == "supervisor"
    assert sam.post(f"{BASE}/periods/{period_id}/calibration-submit").json()["calibration_stage"] == "director"
    assert boss.post(f"{BASE}/periods/{period_id}/release").json()["status"] == "feedback"
    view = sam.get(f"{BASE}/periods/{period_id}/calibration").json()
    assert len(view["rows"]) == 3 and view["stage"] == "director"
    mine = alice.get(f"{BASE}/scorecards?mine=true").json()["items"]
    assert len(mine) == 1
    card_id = mine[0]["id"]
    assert _json(sam, "post", f"{BASE}/scorecards/{card_id}/feedback", {"notes": "Good month"}).status_code == 201
    response = _json(alice, "post", f"{BASE}/scorecards/{card_id}/acknowledge", {"comment": "OK"})
    assert response.status_code == 200 and response.json()["acknowledged"]
    response = _json(alice, "post", f"{BASE}/scorecards/{card_id}/improvement-plans",
                     {"goals": "Raise tier A coverage", "start": "2026-01-01", "end": "2026-03-31"})
    assert response.status_code == 201, response.content
    plan_id = response.json()["id"]
    response = _json(sam, "post", f"{BASE}/improvement-plans/{plan_id}/follow-ups", {"notes": "On track",
                                                                                    "progress": 30})
    assert response.status_code == 201
    assert sam.post(f"{BASE}/periods/{period_id}/sign-off").json()["status"] == "signed_off"
    response = _json(sam, "post", f"{BASE}/scorecards/{bob_card['id']}/feedback", {"notes": "late"})
    assert response.status_code == 409
    trend = alice.get(f"{BASE}/people/{world.alice.pk}/trend").json()
    assert len(trend) == 1 and trend[0]["period_id"] == period_id


def test_scheme_errors_per_field(world: Any, client_for: Any) -> None:
    spec = copy.deepcopy(domain.spec_to_dict(domain.preset("monthly_percent")))  # type: ignore[arg-type]
    spec["code"] = "team_month"
    spec["dimensions"][0]["weight"] = "5"
    spec["dimensions"][2]["formula"] = "tier_coverage + mystery_metric"
    hanna = client_for(world.person("hanna"))
    before = _snapshot()
    response = _json(hanna, "post", f"{BASE}/schemes", {"spec": spec})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert "dimensions[2].formula" in fields and len(fields) >= 2
    assert _snapshot() == before
    spec["dimensions"][0]["weight"] = "20"
    spec["dimensions"][2]["formula"] = "tier_coverage"
    response = _json(hanna, "post", f"{BASE}/schemes", {"spec": spec})
    assert response.status_code == 201 and response.json()["versions"][0]["number"] == 1
    scheme_id = response.json()["id"]
    spec["incentive_from"] = "85"
    response = _json(hanna, "post", f"{BASE}/schemes/{scheme_id}/versions", {"spec": spec, "note": "85"})
    assert response.status_code == 201 and response.json()["number"] == 2
    version_id = response.json()["id"]
    response = hanna.post(f"{BASE}/schemes/{scheme_id}/versions/{version_id}/activate")
    assert response.json()["current_version"] == 2
    assert _json(client_for(world.person("sam")), "post", f"{BASE}/schemes", {"spec": spec}).status_code == 403


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "audrey", "hanna"])
def test_calibration_matrix_changes_nothing(world: Any, diana: Any, scored_period: Any, client_for: Any,
                                           who: str) -> None:
    card = card_of(scored_period, world.bob)
    before = _snapshot()
    response = _json(client_for(world.person(who)), "post", f"{BASE}/scorecards/{card.pk}/calibrations",
                     {"after": "99", "reason": "because"})
    # not found for whoever may not see the card (a refusal would confirm it exists), refused for the readers
    assert response.status_code == (403 if who in ("audrey", "hanna") else 404), response.content
    assert _snapshot()[:-1] == before[:-1]


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "audrey", "hanna"])
def test_period_steps_refused_for_everyone_but_the_supervisor(world: Any, diana: Any, scored_period: Any,
                                                              client_for: Any, who: str) -> None:
    client = client_for(world.person(who))
    before = _snapshot()
    for step in ("score", "calibration-submit", "sign-off"):
        response = client.post(f"{BASE}/periods/{scored_period.pk}/{step}")
        assert response.status_code in (403, 404), (step, response.content)
    assert _snapshot()[:-1] == before[:-1]


def test_visibility_of_scorecards(world: Any, diana: Any, scored_period: Any, client_for: Any) -> None:
    card = card_of(scored_period, world.alice)
    assert client_for(world.person("alice")).get(f"{BASE}/scorecards/{card.pk}").status_code == 404
    released(scored_period, world, diana)
    assert client_for(world.person("alice")).get(f"{BASE}/scorecards/{card.pk}").status_code == 200
    for who in ("bob", "carol"):
        assert client_for(world.person(who)).get(f"{BASE}/scorecards/{card.pk}").status_code == 404
    for who in ("sam", "audrey", "hanna"):
        assert client_for(world.person(who)).get(f"{BASE}/scorecards/{card.pk}").status_code == 200
    assert client_for(world.person("bob")).get(f"{BASE}/periods/{scored_period.pk}/team").status_code == 403
    page = client_for(world.person("audrey")).get(f"{BASE}/scorecards?limit=2").json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client_for(world.person("audrey")).get(f"{BASE}/scorecards?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1


def test_acknowledge_appeal_matrix(world: Any, diana: Any, scored_period: Any, client_for: Any) -> None:
    released(scored_period, world, diana)
    card = card_of(scored_period, world.alice)
    sam = client_for(world.person("sam"))
    _json(sam, "post", f"{BASE}/scorecards/{card.pk}/feedback", {"notes": "Feedback held"})
    before = _snapshot()
    for who in ("bob", "sam", "carol", "audrey"):
        client = client_for(world.person(who))
        assert _json(client, "post", f"{BASE}/scorecards/{card.pk}/acknowledge", {}).status_code in (403, 404)
        assert _json(client, "post", f"{BASE}/scorecards/{card.pk}/appeal", {"text": "no"}).status_code in (403, 404)
    assert _snapshot()[:-1] == before[:-1]
    alice = client_for(world.person("alice"))
    response = _json(alice, "post", f"{BASE}/scorecards/{card.pk}/appeal", {"text": " "})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "text"
    response = _json(alice, "post", f"{BASE}/scorecards/{card.pk}/appeal", {"text": "My March orders are missing"})
    assert response.status_code == 201
    appeal_id = response.json()["id"]
    assert _json(sam, "post", f"{BASE}/appeals/{appeal_id}/resolve",
                 {"decision": "upheld", "reason": "x"}).status_code == 403
    response = _json(client_for(diana), "post", f"{BASE}/appeals/{appeal_id}/resolve",
                     {"decision": "upheld", "reason": "The orders were booked in April"})
    assert response.status_code == 200 and response.json()["status"] == "upheld"


def test_manual_score_out_of_range_is_a_field_error(world: Any, diana: Any, fake_metrics: Any,
                                                    client_for: Any) -> None:
    skills = Scheme.objects.get(code="semiannual_skills")
    sam = client_for(world.person("sam"))
    response = _json(sam, "post", f"{BASE}/periods", {"scheme_id": skills.pk, "day": last_month().isoformat(),
                                                     "team_id": world.team_a.pk})
    assert response.status_code == 201, response.content
    period_id = response.json()["id"]
    assert sam.post(f"{BASE}/periods/{period_id}/score").status_code == 200
    card = Scorecard.objects.filter(period_id=period_id, user=world.alice).get()
    manual = next(d.code for d in domain.preset("semiannual_skills").dimensions  # type: ignore[union-attr]
                  if d.kind == "manual")
    response = _json(sam, "put", f"{BASE}/scorecards/{card.pk}/manual-scores/{manual}", {"score": "150"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "score"
    response = _json(client_for(world.person("alice")), "put",
                     f"{BASE}/scorecards/{card.pk}/manual-scores/{manual}", {"score": "90"})
    assert response.status_code in (403, 404)
    assert Scorecard.objects.get(pk=card.pk).manual_scores == {}
    response = _json(sam, "put", f"{BASE}/scorecards/{card.pk}/manual-scores/{manual}", {"score": "90"})
    assert response.status_code == 200, response.content


def test_payroll_export(world: Any, diana: Any, scored_period: Any, client_for: Any) -> None:
    released(scored_period, world, diana)
    assert client_for(world.person("hanna")).get(f"{BASE}/periods/{scored_period.pk}/export").status_code == 403
    hanna = world.person("hanna")
    hanna.can_export = True
    hanna.save(update_fields=["can_export"])
    response = client_for(hanna).get(f"{BASE}/periods/{scored_period.pk}/export?format=xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert response["X-Export-Rows"] == "3"
    response = client_for(hanna).get(f"{BASE}/periods/{scored_period.pk}/export?format=csv")
    assert response.content.decode().splitlines()[0].startswith("person,external_id")
    assert AuditEvent.objects.filter(action="performance.payroll.export").count() == 2


def test_refusals_and_conflicts_read_in_chinese(world: Any, diana: Any, scored_period: Any, client_for: Any) -> None:
    card = card_of(scored_period, world.bob)
    response = _json(client_for(world.person("henry")), "post", f"{BASE}/scorecards/{card.pk}/calibrations",
                     {"after": "80", "reason": "x"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 404 and response.json()["title"] == "未找到，或您无权访问。"
    response = _json(client_for(world.person("hanna")), "post", f"{BASE}/scorecards/{card.pk}/calibrations",
                     {"after": "80", "reason": "x"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403 and response.json()["title"] == "您无权执行此操作。如有需要，请联系管理员授权。"
    response = client_for(diana).post(f"{BASE}/periods/{scored_period.pk}/release", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 409 and response.json()["title"] == "发布前必须先提交主管校准。"


@pytest.mark.parametrize("who", ["bob", "carol", "audrey", "hanna"])
def test_feedback_release_and_plans_refused_change_nothing(world: Any, diana: Any, scored_period: Any,
                                                          client_for: Any, who: str) -> None:
    sam = client_for(world.person("sam"))
    sam.post(f"{BASE}/periods/{scored_period.pk}/calibration-submit")
    card = card_of(scored_period, world.alice)
    client = client_for(world.person(who))
    assert client.post(f"{BASE}/periods/{scored_period.pk}/release").status_code in (403, 404)
    client_for(diana).post(f"{BASE}/periods/{scored_period.pk}/release")
    _json(sam, "post", f"{BASE}/scorecards/{card.pk}/feedback", {"notes": "held"})
    plan = _json(client_for(world.person("alice")), "post", f"{BASE}/scorecards/{card.pk}/improvement-plans",
                 {"goals": "Cover tier A", "start": "2026-01-01", "end": "2026-02-01"}).json()
    before = _snapshot()
    follow_ups = list(ImprovementPlan.objects.values_list("follow_ups__pk", flat=True))
    assert _json(client, "post", f"{BASE}/scorecards/{card.pk}/feedback", {"notes": "x"}).status_code in (403, 404)
    assert _json(client, "post", f"{BASE}/scorecards/{card.pk}/improvement-plans",
                 {"goals": "x", "start": "2026-01-01", "end": "2026-02-01"}).status_code in (403, 404)
    assert _json(client, "post", f"{BASE}/improvement-plans/{plan['id']}/follow-ups",
                 {"notes": "x", "progress": 10}).status_code in (403, 404)
    assert _json(client, "post", f"{BASE}/improvement-plans/{plan['id']}/close", {}).status_code in (403, 404)
    assert _snapshot()[:-1] == before[:-1]
    assert list(ImprovementPlan.objects.values_list("follow_ups__pk", flat=True)) == follow_ups
    assert ImprovementPlan.objects.get(pk=plan["id"]).status == "active"
