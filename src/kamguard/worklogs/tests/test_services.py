"""Work log services and selectors: saving, submitting (late or on time), versions after review, reviews only by
the author's supervisor, deadlines, the missing-log job (twice safe) and the contract functions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.worklogs import selectors
from kamguard.worklogs.models import LogDeadline, LogReview, LogStatus, WorkLog
from kamguard.worklogs.services import (
    deadline_remove,
    deadline_set,
    log_review,
    log_save,
    log_submit,
    missing_mark,
)
from kamguard.worklogs.tests.conftest import CONTENT, snapshot

pytestmark = pytest.mark.django_db


def _last_workday(before: dt.date) -> dt.date:
    day = before - dt.timedelta(days=1)
    while day.isoweekday() > 5:
        day -= dt.timedelta(days=1)
    return day


def test_save_then_submit_on_time(world):
    # given a deadline far in the future for today
    LogDeadline.objects.create(department=None, due_time=dt.time(23, 59), day_offset=1, workdays="1234567")
    today = timezone.localdate()
    # when alice saves a draft, then submits it
    log = log_save(actor=world.alice, day=today, **CONTENT)
    assert log.status == LogStatus.DRAFT
    log = log_submit(actor=world.alice, log_id=log.pk)
    # then it is submitted on time, one version, audited
    assert log.status == LogStatus.SUBMITTED and not log.is_late
    assert log.versions.count() == 1
    assert AuditEvent.objects.filter(action="worklogs.log.submit", object_id=str(log.pk)).exists()
    assert selectors.logs_status(user_ids=[world.alice.pk], day=today) == {world.alice.pk: "submitted"}


def test_submit_after_deadline_is_late(world):
    day = _last_workday(timezone.localdate())
    log = log_save(actor=world.alice, day=day, submit=True, **CONTENT)
    assert log.is_late
    assert selectors.logs_status(user_ids=[world.alice.pk], day=day)[world.alice.pk] == "late"


def test_submit_needs_work_and_plan_nothing_written(world):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        log_save(actor=world.alice, day=timezone.localdate(), submit=True, today_work="", visits="",
                 tomorrow_plan="")
    assert set(exc.value.field_errors) == {"today_work", "tomorrow_plan"}
    assert snapshot() == before


def test_future_day_refused(world):
    before = snapshot()
    with pytest.raises(ValidationFailed):
        log_save(actor=world.alice, day=timezone.localdate() + dt.timedelta(days=5), **CONTENT)
    assert snapshot() == before


def test_auditor_cannot_write(world):
    before = snapshot()
    with pytest.raises(PermissionRefused):
        log_save(actor=world.audrey, day=timezone.localdate(), **CONTENT)
    assert snapshot() == before


def test_edit_after_review_keeps_reviewed_version(world, submitted):
    review = log_review(actor=world.sam, log_id=submitted.pk, evaluation="客户需求把握准确", rating=4,
                        requirements="报价前先核对库存", suggestions="")
    # when alice edits after the review
    log = log_save(actor=world.alice, day=submitted.day, **{**CONTENT, "problems": "交期问题已协调"})
    # then a new version, the reviewed one unchanged and still reviewed
    assert log.current_version == 2
    v1 = log.versions.get(number=1)
    assert v1.problems == CONTENT["problems"]
    assert review.version_id == v1.pk
    v2 = log.versions.get(number=2)
    assert v2.problems == "交期问题已协调" and v2.submitted_at is not None
    # and the new version waits for a review again
    assert selectors.reviews_waiting(reviewer=world.sam) == 1
    versions = selectors.version_list(log=log)
    assert [v.number for v in versions] == [2, 1] and versions[1].review_or_none == review


def test_edit_before_review_changes_in_place(world, submitted):
    log = log_save(actor=world.alice, day=submitted.day, **{**CONTENT, "problems": "新问题"})
    assert log.current_version == 1 and log.versions.get().problems == "新问题"


def test_stale_edit_refused(world, submitted):
    log_review(actor=world.sam, log_id=submitted.pk, evaluation="好", rating=3)
    log_save(actor=world.alice, day=submitted.day, **{**CONTENT, "problems": "改一"})
    before = snapshot()
    with pytest.raises(Conflict) as exc:
        log_save(actor=world.alice, day=submitted.day, expected_version=1, **{**CONTENT, "problems": "改二"})
    assert exc.value.code == "stale_version"
    assert snapshot() == before


@pytest.mark.parametrize("reviewer", ["alice", "bob", "sue", "carol", "audrey", "adam", "fiona"])
def test_only_the_supervisor_reviews(world, submitted, reviewer):
    before = snapshot()
    with pytest.raises((PermissionRefused, NotFound)):
        log_review(actor=world.person(reviewer), log_id=submitted.pk, evaluation="x", rating=3)
    assert snapshot() == before


def test_supervisor_cannot_review_own_log(world):
    log = log_save(actor=world.sam, day=timezone.localdate(), submit=True, **CONTENT)
    with pytest.raises(PermissionRefused):
        log_review(actor=world.sam, log_id=log.pk, evaluation="x", rating=3)
    assert not LogReview.objects.exists()


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_review_rating_bounds(world, submitted, rating):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        log_review(actor=world.sam, log_id=submitted.pk, evaluation="x", rating=rating)
    assert "rating" in exc.value.field_errors
    assert snapshot() == before


def test_review_twice_conflict_and_excellent(world, submitted):
    log_review(actor=world.sam, log_id=submitted.pk, evaluation="很好", rating=5, is_excellent=True)
    assert WorkLog.objects.get(pk=submitted.pk).is_excellent
    with pytest.raises(Conflict):
        log_review(actor=world.sam, log_id=submitted.pk, evaluation="再评", rating=2)
    # the team (alice's department) sees it; carol (West) does not
    assert list(selectors.excellent_logs(viewer=world.bob)) == [submitted]
    assert not selectors.excellent_logs(viewer=world.carol).exists()
    assert selectors.log_get(viewer=world.bob, log_id=submitted.pk) == submitted
    with pytest.raises(NotFound):
        selectors.log_get(viewer=world.carol, log_id=submitted.pk)


def test_review_a_draft_conflict(world):
    log = log_save(actor=world.alice, day=timezone.localdate(), **CONTENT)
    with pytest.raises(Conflict):
        log_review(actor=world.sam, log_id=log.pk, evaluation="x", rating=3)


def test_visibility(world, submitted):
    assert selectors.log_list(viewer=world.alice).count() == 1
    assert selectors.log_list(viewer=world.bob).count() == 0
    assert selectors.log_list(viewer=world.sue).count() == 1  # specialist: the team
    assert selectors.log_list(viewer=world.sam).count() == 1
    assert selectors.log_list(viewer=world.carol).count() == 0
    assert selectors.log_list(viewer=world.audrey).count() == 1
    assert list(selectors.review_inbox(reviewer=world.sam)) == [submitted]
    assert selectors.reviews_waiting(reviewer=world.alice) == 0


def test_missing_mark_twice_safe(world):
    LogDeadline.objects.create(department=None, due_time=dt.time(20, 0), day_offset=0, workdays="1234567")
    today = timezone.localdate()
    day = today - dt.timedelta(days=2)
    for person in ("alice", "bob", "sue", "henry", "carol"):
        u = world.person(person)
        u.date_joined = timezone.now() - dt.timedelta(days=30)
        u.save()
    log_save(actor=world.alice, day=day, submit=True, **CONTENT)
    draft = log_save(actor=world.bob, day=day, **CONTENT)
    first = missing_mark(today=today, lookback_days=2)
    # day-2 and day-1: five writers each, minus alice's submitted one
    assert first == 9
    assert WorkLog.objects.get(pk=draft.pk).status == LogStatus.MISSING
    assert WorkLog.objects.get(pk=draft.pk).versions.get().today_work == CONTENT["today_work"]
    events = AuditEvent.objects.filter(action="worklogs.log.mark_missing").count()
    assert missing_mark(today=today, lookback_days=2) == 0
    assert AuditEvent.objects.filter(action="worklogs.log.mark_missing").count() == events
    assert selectors.logs_status(user_ids=[world.henry.pk], day=day)[world.henry.pk] == "missing"
    # a late submission of a missing log
    log = log_save(actor=world.henry, day=day, submit=True, **CONTENT)
    assert log.status == LogStatus.SUBMITTED and log.is_late
    quality = selectors.log_quality(user_ids=[world.henry.pk, world.alice.pk], start=day, end=day)
    assert quality[world.henry.pk]["late"] == 1 and quality[world.henry.pk]["missing"] == 0
    assert quality[world.alice.pk]["due"] == 1


def test_deadline_rules(world):
    deadline_set(actor=world.adam, department=None, due_time=dt.time(21, 0), workdays="123456")
    row = deadline_set(actor=world.sam, department=world.east, due_time=dt.time(9, 0), day_offset=1)
    assert selectors.deadline_rule_for(world.alice).due_time == dt.time(9, 0)
    assert selectors.deadline_rule_for(world.carol).due_time == dt.time(21, 0)
    before = LogDeadline.objects.count()
    with pytest.raises(PermissionRefused):
        deadline_set(actor=world.sam, department=world.west, due_time=dt.time(18, 0))
    with pytest.raises(PermissionRefused):
        deadline_set(actor=world.sam, department=None, due_time=dt.time(18, 0))
    with pytest.raises(PermissionRefused):
        deadline_set(actor=world.alice, department=world.east, due_time=dt.time(18, 0))
    with pytest.raises(ValidationFailed):
        deadline_set(actor=world.adam, department=world.east, due_time=dt.time(18, 0), workdays="189")
    assert LogDeadline.objects.count() == before
    assert LogDeadline.objects.get(pk=row.pk).due_time == dt.time(9, 0)
    deadline_remove(actor=world.sam, deadline_id=row.pk)
    assert selectors.deadline_rule_for(world.alice).due_time == dt.time(21, 0)


def test_logs_status_not_due_before_deadline(world):
    LogDeadline.objects.create(department=None, due_time=dt.time(23, 59), day_offset=1, workdays="1234567")
    assert selectors.logs_status(user_ids=[world.bob.pk], day=timezone.localdate()) == {world.bob.pk: "not_due"}


def test_quality_trend_and_average(world, submitted):
    log_review(actor=world.sam, log_id=submitted.pk, evaluation="好", rating=4)
    points = selectors.quality_trend(person=world.alice, weeks=4)
    assert len(points) == 4 and points[-1].value == 4.0 and points[0].value is None
    quality = selectors.log_quality(user_ids=[world.alice.pk], start=submitted.day, end=submitted.day)
    assert quality[world.alice.pk]["average_rating"] == 4.0
    assert quality[world.alice.pk]["reviewed"] == 1


def test_submitted_log_stays_complete(world, submitted):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        log_save(actor=world.alice, day=submitted.day, **{**CONTENT, "tomorrow_plan": ""})
    assert "tomorrow_plan" in exc.value.field_errors
    assert snapshot() == before


def test_unchanged_save_records_nothing(world, submitted):
    before = snapshot()
    log_save(actor=world.alice, day=submitted.day, **CONTENT)
    assert snapshot() == before
