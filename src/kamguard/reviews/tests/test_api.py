"""The reviews API: the whole cycle, the circle, the peers' rule, links, refusals that change nothing."""

from __future__ import annotations

import json

import pytest

from kamguard.core.models import AuditEvent
from kamguard.reviews import services
from kamguard.reviews.models import Answer, Assignment, QuestionSet, ReviewCycle

from .conftest import QUESTIONS, last_quarter

BASE = "/api/v1/reviews"


def _json(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                   content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def _answers(review, value):
    q1 = review.question_set.questions.get(position=1)
    return {"answers": {str(q1.pk): value}}


def test_the_whole_cycle_through_the_api(world, client_for, sets, book, client):
    sam, alice = client_for(world.person("sam")), client_for(world.person("alice"))
    start, end = last_quarter()
    response = _json(sam, "post", f"{BASE}/cycles", {"name": "Q", "period_start": start.isoformat(),
                                                      "period_end": end.isoformat(), "subject_ids": [world.alice.pk]})
    assert response.status_code == 201, response.content
    cycle_id = response.json()["id"]
    made = _json(sam, "post", f"{BASE}/cycles/{cycle_id}/assignments/generate").json()
    assert {a["source"] for a in made} == {"self", "supervisor", "peer", "customer"}
    refused = _json(sam, "post", f"{BASE}/cycles/{cycle_id}/assignments",
                    {"subject_id": world.alice.pk, "source": "peer", "reviewer_id": world.carol.pk})
    assert refused.status_code == 422 and refused.json()["code"] == "outside_circle"
    assert "outside" in refused.json()["detail"] or "outside" in json.dumps(refused.json())
    assert _json(sam, "post", f"{BASE}/cycles/{cycle_id}/open").json()["status"] == "open"

    pending = _json(alice, "get", f"{BASE}/mine").json()["items"]
    assert [p["source"] for p in pending] == ["self"]
    mine = _json(alice, "get", f"{BASE}/mine/{pending[0]['id']}").json()
    assert len(mine["questions"]) == 3
    bad = _json(alice, "post", f"{BASE}/mine/{mine['id']}/submit", {"answers": {str(mine["questions"][0]["id"]): 6}})
    assert bad.status_code == 422
    ok = _json(alice, "post", f"{BASE}/mine/{mine['id']}/submit", {"answers": {str(mine["questions"][0]["id"]): 5}})
    assert ok.status_code == 200 and ok.json()["answers"][0]["scale"] == 5
    again = _json(alice, "post", f"{BASE}/mine/{mine['id']}/submit", {"answers": {str(mine["questions"][0]["id"]): 1}})
    assert again.status_code == 409 and again.json()["code"] == "already_submitted"

    customer = next(a for a in made if a["source"] == "customer")
    link = _json(sam, "post", f"{BASE}/assignments/{customer['id']}/link").json()
    token = link["url"].rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"{BASE}/public/{token}").json()["status"] == "pending"
    assert client.get(f"{BASE}/public/{token}x").status_code == 404
    review = Assignment.objects.get(pk=customer["id"])
    posted = client.post(f"{BASE}/public/{token}", data=json.dumps(_answers(review, 4)),
                         content_type="application/json")
    assert posted.status_code == 200 and posted.json()["status"] == "submitted"

    # Before the cycle closes, nobody sees results, not even sam; after, alice and sam do, peers not shown.
    assert _json(alice, "get", f"{BASE}/cycles/{cycle_id}/results/{world.alice.pk}").status_code == 403
    early = _json(sam, "get", f"{BASE}/cycles/{cycle_id}/results/{world.alice.pk}")
    assert early.status_code == 403 and early.json()["code"] == "cycle_not_closed"
    _json(sam, "post", f"{BASE}/cycles/{cycle_id}/close")
    assert _json(alice, "get", f"{BASE}/cycles/{cycle_id}/results/{world.alice.pk}").status_code == 200
    result = _json(sam, "get", f"{BASE}/cycles/{cycle_id}/results/{world.alice.pk}").json()
    by = {s["source"]: s for s in result["sources"]}
    assert by["self"]["average"] == "100.00" and by["customer"]["average"] == "75.00"
    assert by["peer"]["shown"] is False
    assert ReviewCycle.objects.get(pk=cycle_id).status == "closed"


def test_peers_never_one_by_one_through_the_api(world, client_for, cycle):
    services.cycle_open(actor=world.sam, cycle_id=cycle.pk)
    peers = list(Assignment.objects.filter(cycle=cycle, subject=world.alice, source="peer").order_by("pk"))
    for review, value in zip(peers, (5, 1, 3), strict=True):
        response = _json(client_for(review.reviewer), "post", f"{BASE}/mine/{review.pk}/submit",
                         _answers(review, value))
        assert response.status_code == 200
    sam = client_for(world.person("sam"))
    listing = _json(sam, "get", f"{BASE}/cycles/{cycle.pk}/assignments").json()["items"]
    assert all(set(row) >= {"status"} and "score" not in row and "answers" not in row for row in listing)
    services.cycle_close(actor=world.sam, cycle_id=cycle.pk)
    result = _json(sam, "get", f"{BASE}/cycles/{cycle.pk}/results/{world.alice.pk}").json()
    peer = next(s for s in result["sources"] if s["source"] == "peer")
    assert peer["shown"] and peer["average"] == "50.00" and peer["answered"] == 3
    assert "reviewer" not in json.dumps(peer)
    # A peer cannot read the person's results, nor another peer's review.
    bob = client_for(world.person("bob"))
    assert _json(bob, "get", f"{BASE}/cycles/{cycle.pk}/results/{world.alice.pk}").status_code == 404
    other = next(p for p in peers if p.reviewer_id != world.bob.pk)
    assert _json(bob, "get", f"{BASE}/mine/{other.pk}").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("bob", 403), ("carol", 403), ("audrey", 403)])
def test_cycle_writes_refused_change_nothing(world, client_for, cycle, who, status):
    client = client_for(world.person(who))
    before = (Assignment.objects.count(), AuditEvent.objects.filter(action__startswith="reviews.").count())
    first = Assignment.objects.filter(cycle=cycle).first()
    calls = [("post", f"{BASE}/cycles/{cycle.pk}/open", None),
             ("post", f"{BASE}/cycles/{cycle.pk}/assignments/generate", None),
             ("delete", f"{BASE}/assignments/{first.pk}", None),
             ("post", f"{BASE}/cycles/{cycle.pk}/assignments",
              {"subject_id": world.alice.pk, "source": "peer", "reviewer_id": world.bob.pk})]
    for method, url, body in calls:
        assert _json(client, method, url, body).status_code in (status, 404), url
    cycle.refresh_from_db()
    assert cycle.status == "draft"
    assert (Assignment.objects.count(),
            AuditEvent.objects.filter(action__startswith="reviews.").count()) == before


@pytest.mark.parametrize(("who", "code"), [("sam", 201), ("adam", 201), ("alice", 403), ("audrey", 403),
                                           ("hanna", 403)])
def test_question_set_create_matrix(world, client_for, who, code):
    response = _json(client_for(world.person(who)), "post", f"{BASE}/question-sets",
                     {"name": "Extra", "source": "peer", "questions": QUESTIONS})
    assert response.status_code == code
    assert QuestionSet.objects.filter(name="Extra").exists() == (code == 201)


def test_question_set_frozen_through_the_api(world, client_for, cycle):
    sam = client_for(world.person("sam"))
    used = QuestionSet.objects.get(source="self", is_active=True)
    response = _json(sam, "patch", f"{BASE}/question-sets/{used.pk}", {"name": "Renamed"})
    assert response.status_code == 409 and response.json()["code"] == "question_set_frozen"
    copy = _json(sam, "post", f"{BASE}/question-sets/{used.pk}/copy").json()
    assert copy["version"] == 2 and not copy["frozen"]
    listing = _json(sam, "get", f"{BASE}/question-sets?limit=2").json()
    assert len(listing["items"]) == 2 and listing["next_cursor"]
    nxt = _json(sam, "get", f"{BASE}/question-sets?limit=2&cursor={listing['next_cursor']}").json()
    assert {s["id"] for s in nxt["items"]}.isdisjoint({s["id"] for s in listing["items"]})


def test_cycle_list_scope(world, client_for, cycle):
    assert [c["id"] for c in _json(client_for(world.person("sam")), "get", f"{BASE}/cycles").json()["items"]] == [
        cycle.pk]
    assert _json(client_for(world.person("audrey")), "get", f"{BASE}/cycles").json()["items"]
    assert _json(client_for(world.person("carol")), "get", f"{BASE}/cycles").json()["items"] == []
    # A draft cycle is not shown to the people it reviews yet.
    assert _json(client_for(world.person("alice")), "get", f"{BASE}/cycles").json()["items"] == []
    assert not Answer.objects.exists()


@pytest.mark.parametrize("value", [0, 6, "abc", 2.5, "", None, True])
def test_bad_scores_through_the_api_change_nothing(world, client_for, cycle, value):
    services.cycle_open(actor=world.sam, cycle_id=cycle.pk)
    review = Assignment.objects.get(cycle=cycle, subject=world.alice, source="self")
    response = _json(client_for(world.person("alice")), "post", f"{BASE}/mine/{review.pk}/submit",
                     _answers(review, value))
    assert response.status_code == 422, response.content
    review.refresh_from_db()
    assert review.status == "pending" and not Answer.objects.exists()
