"""Review pages: rendering in both languages, the visibility rules, refusals that change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kamguard.core.models import AuditEvent
from kamguard.reviews import services
from kamguard.reviews.models import (
    Answer,
    Assignment,
    AssignmentStatus,
    QuestionSet,
    ReviewCycle,
    ReviewSubject,
)

from .conftest import last_quarter


def _answer_all(cycle, subject, source, values):
    pending = Assignment.objects.filter(cycle=cycle, subject=subject, source=source, status="pending")
    for review, value in zip(pending.order_by("pk"), values, strict=False):
        q1, _q2, q3 = review.question_set.questions.order_by("position")
        answers = {q1.pk: value, q3.pk: f"comment {value} from {review.reviewer}"}
        if review.reviewer_id:
            services.assignment_submit(actor=review.reviewer, assignment_id=review.pk, answers=answers)
        else:
            token = services.customer_link_issue(actor=cycle.created_by, assignment_id=review.pk)
            services.customer_answer_submit(token=token, answers=answers, ip_address="10.1.1.1")


@pytest.fixture
def opened(world, cycle):
    services.cycle_open(actor=world.sam, cycle_id=cycle.pk)
    return cycle


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_pages_render_in_both_languages(world, client_for, opened, lang):
    sam = client_for(world.sam)
    alice = client_for(world.alice)
    mine = Assignment.objects.get(cycle=opened, subject=world.alice, source="self")
    pages = [(sam, reverse("reviews:home")), (sam, reverse("reviews:cycle_detail", args=[opened.pk])),
             (sam, reverse("reviews:cycle_create")), (sam, reverse("reviews:question_sets")),
             (sam, reverse("reviews:question_set_create")),
             (alice, reverse("reviews:home")), (alice, reverse("reviews:answer", args=[mine.pk]))]
    for client, url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
        assert response.status_code == 200, url
    body = alice.get(reverse("reviews:home"), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert ("待填写的评价" if lang == "zh-hans" else "Reviews for you to write") in body
    body = sam.get(reverse("reviews:cycle_detail", args=[opened.pk]), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert ("评价周期关闭后才能查看结果。" if lang == "zh-hans" else "Results are shown once the cycle is closed.") in body
    services.cycle_close(actor=world.sam, cycle_id=opened.pk)
    response = sam.get(reverse("reviews:result", args=[opened.pk, world.alice.pk]), HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200


def test_answer_form_shows_errors_in_place_and_submits_once(world, client_for, opened):
    alice = client_for(world.alice)
    mine = Assignment.objects.get(cycle=opened, subject=world.alice, source="self")
    q1 = mine.question_set.questions.get(position=1)
    url = reverse("reviews:answer", args=[mine.pk])
    response = alice.post(url, {f"q{q1.pk}": "7"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422 and "1 to 5" in response.content.decode()
    response = alice.post(url, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422 and "needs an answer" in response.content.decode()
    assert alice.post(url, {f"q{q1.pk}": "4"}).status_code == 302
    mine.refresh_from_db()
    assert mine.status == AssignmentStatus.SUBMITTED
    response = alice.post(url, {f"q{q1.pk}": "1"})
    assert response.status_code == 409
    assert Answer.objects.filter(assignment=mine).get().scale == 4


def test_peers_hidden_below_three_and_never_one_by_one(world, client_for, opened):
    _answer_all(opened, world.alice, "peer", [5, 1])
    _answer_all(opened, world.alice, "supervisor", [4])
    services.cycle_close(actor=world.sam, cycle_id=opened.pk)
    url = reverse("reviews:result", args=[opened.pk, world.alice.pk])
    body = client_for(world.sam).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Fewer than three peers answered — not shown." in body
    assert "comment 5" not in body and "comment 1" not in body
    assert "comment 4 from" in body  # the supervisor's comment, by source
    ReviewCycle.objects.filter(pk=opened.pk).update(status="open")
    _answer_all(opened, world.alice, "peer", [3])  # the third peer
    ReviewCycle.objects.filter(pk=opened.pk).update(status="closed")
    body = client_for(world.alice).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Fewer than three peers" not in body
    assert "50.00" in body  # (100 + 0 + 50) / 3
    # Comments are listed without their authors' names, in alphabetical order.
    for peer in ("bob", "sue", "henry"):
        assert f"from {world.person(peer)}" in body
    positions = sorted(body.index(f"comment {v} from") for v in (1, 3, 5))
    assert positions == [body.index(f"comment {v} from") for v in (1, 3, 5)]


def test_subject_sees_results_only_after_close(world, client_for, opened):
    url = reverse("reviews:result", args=[opened.pk, world.alice.pk])
    assert client_for(world.alice).get(url).status_code == 403
    services.cycle_close(actor=world.sam, cycle_id=opened.pk)
    assert client_for(world.alice).get(url).status_code == 200


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 404), ("sam", 200), ("carol", 404),
                                             ("audrey", 200), ("hanna", 200)])
def test_result_matrix_after_close(world, client_for, opened, who, status):
    services.cycle_close(actor=world.sam, cycle_id=opened.pk)
    url = reverse("reviews:result", args=[opened.pk, world.alice.pk])
    assert client_for(world.person(who)).get(url).status_code == status


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("bob", 403), ("carol", 404), ("audrey", 403)])
def test_cycle_actions_refused_change_nothing(world, client_for, cycle, who, status):
    url = reverse("reviews:cycle_detail", args=[cycle.pk])
    before = (Assignment.objects.count(), ReviewSubject.objects.count())
    for data in ({"action": "open"}, {"action": "generate"},
                 {"action": "assignment_remove", "assignment": Assignment.objects.first().pk}):
        assert client_for(world.person(who)).post(url, data).status_code in (status, 404)
    cycle.refresh_from_db()
    assert cycle.status == "draft" and (Assignment.objects.count(), ReviewSubject.objects.count()) == before
    assert not AuditEvent.objects.filter(action__startswith="reviews.cycle.open").exists()


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "audrey"])
def test_others_cannot_open_someone_elses_answer_form(world, client_for, opened, who):
    mine = Assignment.objects.get(cycle=opened, subject=world.alice, source="supervisor")
    q1 = mine.question_set.questions.get(position=1)
    response = client_for(world.person(who)).post(reverse("reviews:answer", args=[mine.pk]), {f"q{q1.pk}": "5"})
    assert response.status_code == 404
    assert not Answer.objects.exists()


def test_outside_circle_shown_in_place(world, client_for, cycle):
    response = client_for(world.sam).post(reverse("reviews:cycle_detail", args=[cycle.pk]), {
        "action": "assignment_add", "subject": world.alice.pk, "source": "peer", "reviewer": world.sam.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "outside" in response.content.decode()


def test_cycle_create_page(world, client_for, sets):
    start, end = last_quarter()
    response = client_for(world.sam).post(reverse("reviews:cycle_create"), {
        "name": "Q", "period_start": start.isoformat(), "period_end": end.isoformat(),
        "subjects": [world.alice.pk, world.henry.pk]})
    assert response.status_code == 302
    cycle = ReviewCycle.objects.get()
    assert set(cycle.subjects.values_list("user_id", flat=True)) == {world.alice.pk, world.henry.pk}
    assert client_for(world.alice).get(reverse("reviews:cycle_create")).status_code == 403


def test_public_page(world, client, opened, book):
    review = Assignment.objects.get(cycle=opened, subject=world.alice, contact=book.zhang)
    token = services.customer_link_issue(actor=world.sam, assignment_id=review.pk)
    url = reverse("reviews:public_answer", args=[token])
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200
    assert client.get(url[:-3] + "x/").status_code == 404
    q1 = review.question_set.questions.get(position=1)
    assert client.post(url, {f"q{q1.pk}": "9"}).status_code == 422
    assert client.post(url, {f"q{q1.pk}": "5"}).status_code == 302
    assert client.post(url, {f"q{q1.pk}": "1"}).status_code == 409
    review.refresh_from_db()
    assert review.score == 100


def test_question_set_pages(world, client_for, sets):
    sam = client_for(world.sam)
    response = sam.post(reverse("reviews:question_set_create"), {
        "name": "Team spirit", "source": "peer", "q-TOTAL_FORMS": "2", "q-INITIAL_FORMS": "0",
        "q-0-kind": "scale", "q-0-text_en": "Helps others", "q-0-text_zh": "乐于助人", "q-0-required": "on",
        "q-1-kind": "scale", "q-1-text_en": "", "q-1-text_zh": ""})
    assert response.status_code == 302
    made = QuestionSet.objects.get(name="Team spirit")
    assert list(made.questions.values_list("text_zh", flat=True)) == ["乐于助人"]
    before = QuestionSet.objects.count()
    response = client_for(world.alice).post(reverse("reviews:question_set_create"), {
        "name": "X", "source": "peer", "q-TOTAL_FORMS": "1", "q-INITIAL_FORMS": "0",
        "q-0-kind": "scale", "q-0-text_en": "a", "q-0-text_zh": "b"})
    assert response.status_code == 403 and QuestionSet.objects.count() == before


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("sam", 200), ("carol", 404),
                                             ("audrey", 200)])
def test_cycle_page_matrix(world, client_for, opened, who, status):
    body = client_for(world.person(who)).get(reverse("reviews:cycle_detail", args=[opened.pk]),
                                             HTTP_ACCEPT_LANGUAGE="en")
    assert body.status_code == status
    if who in ("alice", "bob") and status == 200:
        # A person reviewed sees their own row only, and no reviewer list.
        text = body.content.decode()
        other = world.bob if who == "alice" else world.alice
        assert str(other) not in text and "Reviewers" not in text


def test_public_page_expired_or_replaced_link(world, client, opened, book, monkeypatch):
    review = Assignment.objects.get(cycle=opened, subject=world.alice, contact=book.zhang)
    token = services.customer_link_issue(actor=world.sam, assignment_id=review.pk)
    monkeypatch.setattr(services, "LINK_MAX_AGE", -1)
    response = client.get(reverse("reviews:public_answer", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422 and "expired" in response.content.decode()
    monkeypatch.setattr(services, "LINK_MAX_AGE", 3600)
    services.customer_link_issue(actor=world.sam, assignment_id=review.pk, renew=True)
    response = client.get(reverse("reviews:public_answer", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and "no longer valid" in response.content.decode()
