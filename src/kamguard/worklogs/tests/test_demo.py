"""The demo's work logs and meeting minutes build on the scale-1 demo organisation: months of logs with late
and missing ones, reviews with ratings, a second version after a review, logs waiting in an inbox; weekly
meetings with action items, most done, some overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.demo.meetings import meetings_build
from kamguard.demo.tests.conftest import demo_world  # noqa: F401 - the module-scoped demo organisation
from kamguard.demo.worklogs import worklogs_build
from kamguard.meetings import selectors as meeting_selectors
from kamguard.meetings.models import ActionItem, Meeting
from kamguard.org.domain.roles import Role
from kamguard.org.models import User
from kamguard.worklogs import selectors
from kamguard.worklogs.models import LogReview, LogStatus, WorkLog, WorkLogVersion


@pytest.mark.django_db
def test_worklogs_and_meetings_demo(demo_world):  # noqa: F811
    built = worklogs_build(demo_world)
    assert built.logs > 500 and built.late > 10 and built.missing > 10 and built.reviews > 300
    assert built.excellent > 0 and built.versions >= 1
    assert WorkLog.objects.filter(status=LogStatus.MISSING).count() == built.missing
    assert WorkLogVersion.objects.filter(number=2).exists()
    # a reviewed version 1 preserved beside its new version
    log = WorkLog.objects.filter(current_version=2).first()
    assert log is not None and LogReview.objects.filter(version__log=log, version__number=1).exists()
    assert set(LogReview.objects.values_list("rating", flat=True)) <= {1, 2, 3, 4, 5}
    assert AuditEvent.objects.filter(action="worklogs.log.review").count() == LogReview.objects.count()
    supervisors = [u for u in User.objects.filter(is_active=True) if Role.SUPERVISOR in u.roles]
    assert any(selectors.reviews_waiting(reviewer=s) for s in supervisors)
    # nobody reviewed their own log
    assert not LogReview.objects.filter(reviewer=F("log__user")).exists()
    writer_ids = list(WorkLog.objects.values_list("user_id", flat=True).distinct())
    today = timezone.localdate()
    quality = selectors.log_quality(user_ids=writer_ids, start=today - dt.timedelta(days=60), end=today)
    assert any(q["average_rating"] for q in quality.values())

    meetings = meetings_build(demo_world)
    assert meetings.meetings > 30 and meetings.items > 60
    assert 0 < meetings.overdue < meetings.items and meetings.done > meetings.items // 2
    assert meetings.guided > 0 and Meeting.objects.exclude(guidance="").count() == meetings.guided
    assert Meeting.objects.filter(kind="monthly").exists() and Meeting.objects.filter(kind="special").exists()
    owners = ActionItem.objects.values_list("owner_id", flat=True)
    assert meeting_selectors.overdue_actions(user_ids=owners, today=today).count() == meetings.overdue
