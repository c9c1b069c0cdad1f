from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.meetings.models import ActionItem, Meeting


def snapshot() -> tuple[int, int, list[tuple[int, str, str]], int]:
    """What a refused or invalid request must leave unchanged."""
    return (Meeting.objects.count(), ActionItem.objects.count(),
            list(ActionItem.objects.order_by("pk").values_list("pk", "status", "description")),
            AuditEvent.objects.filter(action__startswith="meetings.").count())


@pytest.fixture
def weekly(world):
    """alice's minutes of the team's weekly meeting: bob and sue attend; one item for bob overdue, one for alice."""
    from kamguard.meetings.services import meeting_create

    today = timezone.localdate()
    return meeting_create(
        actor=world.alice, kind="weekly", title="上海一组周例会", held_at=timezone.now() - dt.timedelta(days=7),
        location="3楼会议室", attendee_ids=[world.bob.pk, world.sue.pk], summary="回顾上周拜访",
        decisions="1. 本周完成A类客户全覆盖\n2. 周五前提交报价",
        items=[{"description": "跟进宏达机械报价", "owner_id": world.bob.pk, "due_on": today - dt.timedelta(days=2)},
               {"description": "整理客户档案", "owner_id": world.alice.pk, "due_on": today + dt.timedelta(days=3)}])
