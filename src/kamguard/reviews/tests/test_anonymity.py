"""Peers stay anonymous: no live results while a cycle is open (a moving average would give away the reviewer who
just answered), the three-peer minimum per question and per scored review, and answers in ASCII digits only."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from kamguard.core.models import AuditEvent
from kamguard.org.services import user_create
from kamguard.reviews import selectors, services
from kamguard.reviews.domain.scores import Completed, summarise
from kamguard.reviews.models import Answer, Assignment, AssignmentStatus

from .conftest import last_quarter

pytestmark = pytest.mark.django_db
BASE = "/api/v1/reviews"


def _json(client, method, url, body=None, lang="en"):
    return getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                   content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang)


@pytest.fixture
def alice_cycle(world, sets, book):
    """An open cycle for alice alone with four peers (bob, sue, henry and pete)."""
    user_create(actor=None, username="pete", full_name="彭涛", roles=["manager"], email="pete@example.com",
                department=world.east, team=world.team_hz, supervisor=world.sam)
    start, end = last_quarter()
    made = services.cycle_create(actor=world.sam, name="Q", period_start=start, period_end=end,
                                 subject_ids=[world.alice.pk])
    services.assignments_generate(actor=world.sam, cycle_id=made.pk)
    services.cycle_open(actor=world.sam, cycle_id=made.pk)
    return made


def _peers(cycle):
    return list(Assignment.objects.filter(cycle=cycle, source="peer").select_related(
        "reviewer", "question_set").order_by("pk"))


def _questions(review):
    return list(review.question_set.questions.order_by("position"))


def test_no_result_while_open_so_a_late_peer_cannot_be_worked_out(world, client_for, alice_cycle):
    """The reviewer's probe: sam polled the results after each peer; after the 4th (named with its time in the
    reviewers' list) the peer average dropped from 100 to 75, giving away a score of 0. Now nobody sees any
    score while the cycle is open, and the list gives no time of submission."""
    peers = _peers(alice_cycle)
    assert len(peers) >= 4
    readers = {name: client_for(world.person(name)) for name in ("sam", "hanna", "audrey")}
    url = f"{BASE}/cycles/{alice_cycle.pk}/results/{world.alice.pk}"
    for review, value in zip(peers[:4], (5, 5, 5, 1), strict=True):
        services.assignment_submit(actor=review.reviewer, assignment_id=review.pk,
                                   answers={str(_questions(review)[0].pk): value})
        for name, client in readers.items():
            refused = _json(client, "get", url)
            assert refused.status_code == 403, name
            assert refused.json()["code"] == "cycle_not_closed" and "average" not in refused.content.decode()
            page = client.get(reverse("reviews:result", args=[alice_cycle.pk, world.alice.pk]))
            assert page.status_code == 403, name
        listing = _json(readers["sam"], "get", f"{BASE}/cycles/{alice_cycle.pk}/assignments").json()["items"]
        assert all(row["submitted_at"] is None for row in listing)
        # Sam may still chase who has not answered: statuses and counts per source stay.
        assert sum(row["status"] == "submitted" for row in listing if row["source"] == "peer") >= 1
        detail = _json(readers["sam"], "get", f"{BASE}/cycles/{alice_cycle.pk}").json()
        assert detail["subjects"][0]["results_visible"] is False
    # Who would never see the results still gets nothing at all.
    for name in ("bob", "carol"):
        assert _json(client_for(world.person(name)), "get", url).status_code == 404
    services.cycle_close(actor=world.sam, cycle_id=alice_cycle.pk)
    # After the close: the same readers as before (the person, sam, HR, auditors), one final average.
    for name in ("alice", "sam", "hanna", "audrey"):
        found = _json(client_for(world.person(name)), "get", url)
        assert found.status_code == 200, name
        peer = next(s for s in found.json()["sources"] if s["source"] == "peer")
        assert peer["average"] == "75.00" and peer["answered"] == 4
    listing = _json(readers["sam"], "get", f"{BASE}/cycles/{alice_cycle.pk}/assignments").json()["items"]
    assert sum(row["submitted_at"] is not None for row in listing) == 4
    for name in ("bob", "carol"):
        assert _json(client_for(world.person(name)), "get", url).status_code == 404


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_result_refusal_while_open_says_why_in_both_languages(world, client_for, alice_cycle, lang):
    refused = _json(client_for(world.sam), "get", f"{BASE}/cycles/{alice_cycle.pk}/results/{world.alice.pk}",
                    lang=lang).json()
    assert refused["detail"] == ("评价周期关闭后才能查看结果。" if lang == "zh-hans"
                                 else "Results are shown once the cycle is closed.")


def test_a_question_fewer_than_three_peers_answered_is_not_shown(world, client_for, alice_cycle):
    """The reviewer's probe: three peers answer, only one answers the optional question, and alice saw that
    peer's answer ("Shares what they know 0.00, answered 1"). The same holds for a comment two peers wrote."""
    for i, review in enumerate(_peers(alice_cycle)[:3]):
        q1, q2, q3 = _questions(review)
        answers = {str(q1.pk): 3}
        if i == 0:
            answers[str(q2.pk)] = 1
        if i < 2:
            answers[str(q3.pk)] = f"secret comment {i}"
        services.assignment_submit(actor=review.reviewer, assignment_id=review.pk, answers=answers)
    services.cycle_close(actor=world.sam, cycle_id=alice_cycle.pk)
    alice = client_for(world.alice)
    result = _json(alice, "get", f"{BASE}/cycles/{alice_cycle.pk}/results/{world.alice.pk}").json()
    peer = next(s for s in result["sources"] if s["source"] == "peer")
    by_text = {q["text"]: q for q in peer["questions"]}
    assert by_text["Keeps promises"]["shown"] and by_text["Keeps promises"]["average"] == "50.00"
    optional = by_text["Shares what they know"]
    assert not optional["shown"] and optional["average"] is None and optional["answered"] == 1
    comments = by_text["What should they do more of?"]
    assert not comments["shown"] and comments["texts"] == [] and comments["answered"] == 2
    assert "secret comment" not in json.dumps(result)
    body = alice.get(reverse("reviews:result", args=[alice_cycle.pk, world.alice.pk]),
                     HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "secret comment" not in body and "Fewer than three peers answered — not shown." in body


def test_peer_average_needs_three_scored_reviews(world, client_for, alice_cycle):
    """Three peers answered but one wrote only a comment: the average of the other two is not shown."""
    peers = _peers(alice_cycle)[:3]
    peers[0].question_set.questions.update(required=False)  # a set where every question is optional
    for i, review in enumerate(peers):
        q1, _q2, q3 = _questions(review)
        answers = {str(q3.pk): "only a comment"} if i == 2 else {str(q1.pk): 5 if i == 0 else 1}
        services.assignment_submit(actor=review.reviewer, assignment_id=review.pk, answers=answers)
    assert [r.score for r in _peers(alice_cycle)[:3]] == [Decimal("100.00"), Decimal("0.00"), None]
    services.cycle_close(actor=world.sam, cycle_id=alice_cycle.pk)
    found = selectors.result_for(viewer=world.alice, cycle_id=alice_cycle.pk, subject_id=world.alice.pk)
    peer = next(s for s in found.sources if s.source == "peer")
    assert peer.answered == 3 and peer.average is None
    assert found.summary.by_source["peer"] == (None, 3)
    summary = selectors.review_summary_for(user_ids=[world.alice.pk], start=alice_cycle.period_start,
                                           end=alice_cycle.period_end)
    assert summary[world.alice.pk].by_source["peer"] == (None, 3)


def test_summary_counts_only_scored_peer_reviews() -> None:
    rows = [Completed(cycle_id=1, source="peer", score=Decimal(100)),
            Completed(cycle_id=1, source="peer", score=Decimal(0)),
            Completed(cycle_id=1, source="peer", score=None)]
    summary = summarise(rows)
    assert summary.by_source["peer"] == (None, 3) and summary.overall is None
    summary = summarise([*rows, Completed(cycle_id=1, source="peer", score=Decimal(50))])
    assert summary.by_source["peer"] == (Decimal("50.00"), 4)


@pytest.mark.parametrize("value", ["²", "٣", "３", "03", "3.0"])
def test_non_ascii_digit_answers_are_refused_not_500(world, client_for, alice_cycle, value):
    """"²".isdigit() is True but int("²") raises: the API, the public link and the page answered 500."""
    mine = Assignment.objects.get(cycle=alice_cycle, source="self")
    q1 = _questions(mine)[0]
    before = AuditEvent.objects.count()
    alice = client_for(world.alice)
    response = _json(alice, "post", f"{BASE}/mine/{mine.pk}/submit", {"answers": {str(q1.pk): value}})
    assert response.status_code == 422 and f"q{q1.pk}" in json.dumps(response.json())
    page = alice.post(reverse("reviews:answer", args=[mine.pk]), {f"q{q1.pk}": value}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 422 and "1 to 5" in page.content.decode()
    customer = Assignment.objects.filter(cycle=alice_cycle, source="customer").first()
    token = services.customer_link_issue(actor=world.sam, assignment_id=customer.pk)
    before = AuditEvent.objects.count()
    public = _json(Client(), "post", f"{BASE}/public/{token}",
                   {"answers": {str(_questions(customer)[0].pk): value}})
    assert public.status_code == 422
    assert not Answer.objects.exists() and AuditEvent.objects.count() == before
    assert not Assignment.objects.filter(cycle=alice_cycle, status=AssignmentStatus.SUBMITTED).exists()
