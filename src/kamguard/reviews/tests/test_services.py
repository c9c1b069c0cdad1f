"""Services of 360 reviews: the circle, question sets, cycles, answering, customer links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import signing
from django.core.cache import cache

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, RateLimited, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.reviews import services
from kamguard.reviews.models import Answer, Assignment, CycleStatus, QuestionSet, ReviewCycle
from kamguard.reviews.selectors import review_summary_for

from .conftest import last_quarter


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English, whatever language an earlier test left active."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _answers(assignment, first=4, second=None, text=""):
    qs = list(assignment.question_set.questions.order_by("position"))
    values = {qs[0].pk: first}
    if second is not None:
        values[qs[1].pk] = second
    if text:
        values[qs[2].pk] = text
    return values


def _circle(cycle, subject):
    return {(a.source, a.reviewer_id or None, a.contact_id or None)
            for a in Assignment.objects.filter(cycle=cycle, subject=subject)}


# ---------------------------------------------------------------- the circle

def test_default_circle(world, cycle, book):
    # Team A has three people (< 4): peers come from the department, without the supervisor.
    assert _circle(cycle, world.alice) == {
        ("self", world.alice.pk, None), ("supervisor", world.sam.pk, None),
        ("peer", world.bob.pk, None), ("peer", world.sue.pk, None), ("peer", world.henry.pk, None),
        ("customer", None, book.zhang.pk), ("customer", None, book.wang.pk)}
    assert ("customer", None, book.wang.pk) in _circle(cycle, world.bob)
    assert not Assignment.objects.filter(cycle=cycle, reviewer=world.carol).exists()


@pytest.mark.parametrize(("source", "who", "contact", "words"), [
    ("peer", "carol", None, "peers are people in the same team"),
    ("peer", "alice", None, "cannot review themselves"),
    ("supervisor", "bob", None, "a supervisor review comes from"),
    ("self", "bob", None, "A self-review is written by"),
    ("customer", None, "liu", "customer reviews come from contacts of customers"),
    ("customer", "bob", None, "answered by a customer contact"),
])
def test_outside_the_circle_is_refused_clearly(world, cycle, book, source, who, contact, words):
    before = Assignment.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_add(actor=world.sam, cycle_id=cycle.pk, subject_id=world.alice.pk, source=source,
                                reviewer_id=world.person(who).pk if who else None,
                                contact_id=getattr(book, contact).pk if contact else None)
    assert exc.value.code == "outside_circle" or "customer contact" in str(exc.value.message)
    assert words in str(exc.value.message)
    assert Assignment.objects.count() == before


def test_team_of_four_keeps_peers_in_the_team(world, sets):
    from kamguard.org.models import User

    extra = User.objects.create(username="tina", full_name="Tina", department=world.east, team=world.team_a,
                                supervisor=world.sam)
    assert set(services.peer_pool(world.alice).values_list("pk", flat=True)) == {world.bob.pk, world.sue.pk, extra.pk}


def test_a_supervisor_whose_scope_covers_the_person_may_review(world, cycle):
    world.alice.supervisor = None
    world.alice.save()
    assert services.circle_refusal(subject=world.alice, source="supervisor", reviewer=world.sam) is None


def test_add_inside_the_circle_and_not_twice(world, cycle, book):
    Assignment.objects.filter(cycle=cycle, subject=world.alice, reviewer=world.bob).delete()
    added = services.assignment_add(actor=world.sam, cycle_id=cycle.pk, subject_id=world.alice.pk, source="peer",
                                    reviewer_id=world.bob.pk)
    assert added.question_set.source == "peer"
    assert AuditEvent.objects.filter(action="reviews.assignment.add", object_id=str(added.pk)).exists()
    with pytest.raises(Conflict):
        services.assignment_add(actor=world.sam, cycle_id=cycle.pk, subject_id=world.alice.pk, source="peer",
                                reviewer_id=world.bob.pk)


# ---------------------------------------------------------------- cycles

def test_cycle_rules(world, sets):
    start, end = last_quarter()
    with pytest.raises(PermissionRefused):
        services.cycle_create(actor=world.alice, name="x", period_start=start, period_end=end)
    with pytest.raises(ValidationFailed) as exc:
        services.cycle_create(actor=world.sam, name="x", period_start=start, period_end=end,
                              subject_ids=[world.carol.pk])
    assert "subjects" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        services.cycle_create(actor=world.sam, name="x", period_start=end, period_end=start)
    assert not ReviewCycle.objects.exists()
    cycle = services.cycle_create(actor=world.sam, name="x", period_start=start, period_end=end,
                                  subject_ids=[world.henry.pk])
    with pytest.raises(ValidationFailed):  # no reviewers yet
        services.cycle_open(actor=world.sam, cycle_id=cycle.pk)
    services.assignments_generate(actor=world.sam, cycle_id=cycle.pk)
    services.cycle_open(actor=world.sam, cycle_id=cycle.pk)
    with pytest.raises(Conflict):
        services.cycle_update(actor=world.sam, cycle_id=cycle.pk, name="y")
    services.cycle_close(actor=world.sam, cycle_id=cycle.pk)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED and cycle.name == "x"
    assert list(AuditEvent.objects.filter(object_id=str(cycle.pk), action__startswith="reviews.cycle").order_by(
        "sequence").values_list("action", flat=True)) == ["reviews.cycle.create", "reviews.cycle.open",
                                                         "reviews.cycle.close"]


def test_only_the_creator_changes_a_cycle(world, cycle):
    from kamguard.org.models import RoleAssignment, User

    other = User.objects.create(username="sid", full_name="Sid", department=world.east)
    RoleAssignment.objects.create(user=other, role="supervisor")
    with pytest.raises(PermissionRefused):
        services.cycle_open(actor=other, cycle_id=cycle.pk)
    with pytest.raises(PermissionRefused):  # not a supervisor at all
        services.cycle_open(actor=world.carol, cycle_id=cycle.pk)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.DRAFT


# ---------------------------------------------------------------- answering

def _open(world, cycle):
    services.cycle_open(actor=world.sam, cycle_id=cycle.pk)


def test_submit_scores_and_stops_a_second_time(world, cycle):
    _open(world, cycle)
    mine = Assignment.objects.get(cycle=cycle, subject=world.alice, source="peer", reviewer=world.bob)
    done = services.assignment_submit(actor=world.bob, assignment_id=mine.pk,
                                      answers=_answers(mine, 5, 3, "More visits"))
    assert done.score == Decimal("75.00") and done.submitted_at
    assert Answer.objects.filter(assignment=mine).count() == 3
    event = AuditEvent.objects.get(action="reviews.assignment.submit", object_id=str(mine.pk))
    assert "More visits" not in str(event.changes)
    with pytest.raises(Conflict) as exc:
        services.assignment_submit(actor=world.bob, assignment_id=mine.pk, answers=_answers(mine, 1))
    assert exc.value.code == "already_submitted"
    mine.refresh_from_db()
    assert mine.score == Decimal("75.00")


@pytest.mark.parametrize("answers", [{"first": 0}, {"first": 6}, {"first": "abc"}, {"first": 2.5}, {"first": None},
                                     {"first": True}])
def test_bad_answers_are_refused_and_nothing_is_written(world, cycle, answers):
    _open(world, cycle)
    mine = Assignment.objects.get(cycle=cycle, subject=world.alice, source="self")
    q1 = mine.question_set.questions.get(position=1)
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_submit(actor=world.alice, assignment_id=mine.pk, answers={q1.pk: answers["first"]})
    assert f"q{q1.pk}" in exc.value.field_errors
    mine.refresh_from_db()
    assert mine.status == "pending" and not Answer.objects.filter(assignment=mine).exists()


def test_unknown_question_and_others_reviews(world, cycle):
    _open(world, cycle)
    mine = Assignment.objects.get(cycle=cycle, subject=world.alice, source="self")
    with pytest.raises(ValidationFailed):
        services.assignment_submit(actor=world.alice, assignment_id=mine.pk, answers={**_answers(mine), 999999: 3})
    with pytest.raises(NotFound):  # someone else's review
        services.assignment_submit(actor=world.bob, assignment_id=mine.pk, answers=_answers(mine))
    assert not Answer.objects.exists()


def test_no_answers_before_open_or_after_close(world, cycle):
    mine = Assignment.objects.get(cycle=cycle, subject=world.alice, source="self")
    with pytest.raises(Conflict):
        services.assignment_submit(actor=world.alice, assignment_id=mine.pk, answers=_answers(mine))
    _open(world, cycle)
    services.cycle_close(actor=world.sam, cycle_id=cycle.pk)
    with pytest.raises(Conflict):
        services.assignment_submit(actor=world.alice, assignment_id=mine.pk, answers=_answers(mine))


# ---------------------------------------------------------------- customer links

def test_customer_link_answers_once(world, cycle, book):
    _open(world, cycle)
    review = Assignment.objects.get(cycle=cycle, subject=world.alice, contact=book.zhang)
    token = services.customer_link_issue(actor=world.sam, assignment_id=review.pk)
    assert services.customer_link_assignment(token).pk == review.pk
    services.customer_answer_submit(token=token, answers=_answers(review, 5), ip_address="10.0.0.1")
    review.refresh_from_db()
    assert review.status == "submitted" and review.score == Decimal("100.00")
    with pytest.raises(Conflict):
        services.customer_answer_submit(token=token, answers=_answers(review, 1), ip_address="10.0.0.1")


def test_customer_link_tampered_expired_or_renewed(world, cycle, book, settings, monkeypatch):
    _open(world, cycle)
    review = Assignment.objects.get(cycle=cycle, subject=world.alice, contact=book.zhang)
    token = services.customer_link_issue(actor=world.sam, assignment_id=review.pk)
    with pytest.raises(NotFound):
        services.customer_answer_submit(token=token[:-2] + "xx", answers=_answers(review), ip_address="10.0.0.2")
    other = Assignment.objects.get(cycle=cycle, subject=world.bob, source="self")
    forged = signing.dumps({"a": other.pk, "n": review.link_nonce}, salt="another salt")
    with pytest.raises(NotFound):
        services.customer_link_assignment(forged)
    monkeypatch.setattr(services, "LINK_MAX_AGE", -1)
    with pytest.raises(ValidationFailed) as exc:
        services.customer_answer_submit(token=token, answers=_answers(review), ip_address="10.0.0.2")
    assert exc.value.code == "link_expired"
    monkeypatch.setattr(services, "LINK_MAX_AGE", 3600)
    renewed = services.customer_link_issue(actor=world.sam, assignment_id=review.pk, renew=True)
    with pytest.raises(NotFound):
        services.customer_link_assignment(token)
    assert services.customer_link_assignment(renewed).pk == review.pk
    review.refresh_from_db()
    assert review.status == "pending" and not Answer.objects.exists()


def test_customer_links_are_rate_limited(world, cycle, book, monkeypatch):
    cache.clear()
    monkeypatch.setattr(services, "PUBLIC_RATE", 2)
    for _ in range(2):
        with pytest.raises(NotFound):
            services.customer_answer_submit(token="nonsense", answers={}, ip_address="10.9.9.9")
    with pytest.raises(RateLimited):
        services.customer_answer_submit(token="nonsense", answers={}, ip_address="10.9.9.9")
    cache.clear()


# ---------------------------------------------------------------- question sets

def test_question_sets_freeze_once_used_and_copy_to_a_new_version(world, cycle):
    peer_set = QuestionSet.objects.get(source="peer", is_active=True)
    with pytest.raises(Conflict) as exc:
        services.question_set_update(actor=world.sam, set_id=peer_set.pk, name="Renamed")
    assert exc.value.code == "question_set_frozen"
    copy = services.question_set_copy(actor=world.sam, set_id=peer_set.pk)
    assert copy.version == 2 and not copy.is_active and copy.questions.count() == 3
    services.question_set_update(actor=world.sam, set_id=copy.pk, questions=[
        {"kind": "scale", "text_en": "Helps the team", "text_zh": "帮助团队"}])
    services.question_set_make_default(actor=world.sam, set_id=copy.pk)
    peer_set.refresh_from_db()
    assert not peer_set.is_active and QuestionSet.objects.get(source="peer", is_active=True) == copy


@pytest.mark.parametrize("questions", [[], [{"kind": "text", "text_en": "a", "text_zh": "b"}],
                                       [{"kind": "scale", "text_en": "only English", "text_zh": ""}],
                                       [{"kind": "stars", "text_en": "a", "text_zh": "b"}]])
def test_question_set_bad_input(world, questions):
    with pytest.raises(ValidationFailed):
        services.question_set_create(actor=world.sam, name="X", source="peer", questions=questions)
    assert not QuestionSet.objects.exists()


def test_question_sets_are_for_admins_and_supervisors(world):
    for who in ("alice", "audrey", "hanna"):
        with pytest.raises(PermissionRefused):
            services.question_set_create(actor=world.person(who), name="X", source="self",
                                         questions=[{"kind": "scale", "text_en": "a", "text_zh": "b"}])
    services.question_set_create(actor=world.adam, name="X", source="self",
                                 questions=[{"kind": "scale", "text_en": "a", "text_zh": "b"}])


# ---------------------------------------------------------------- the peers rule through the system read

def test_peers_need_three_answers(world, cycle):
    _open(world, cycle)
    peers = list(Assignment.objects.filter(cycle=cycle, subject=world.alice, source="peer").order_by("pk"))
    for review, value in zip(peers[:2], (5, 1), strict=True):
        services.assignment_submit(actor=review.reviewer, assignment_id=review.pk, answers=_answers(review, value))
    services.cycle_close(actor=world.sam, cycle_id=cycle.pk)
    start, end = last_quarter()
    summary = review_summary_for(user_ids=[world.alice.pk], start=start, end=end)[world.alice.pk]
    assert summary.by_source == {"peer": (None, 2)}
    ReviewCycle.objects.filter(pk=cycle.pk).update(status="open")
    services.assignment_submit(actor=peers[2].reviewer, assignment_id=peers[2].pk, answers=_answers(peers[2], 3))
    ReviewCycle.objects.filter(pk=cycle.pk).update(status="closed")
    summary = review_summary_for(user_ids=[world.alice.pk], start=start, end=end - dt.timedelta(days=1))
    assert summary[world.alice.pk].by_source == {"peer": (Decimal("50.00"), 3)}
