from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.worklogs.models import LogReview, WorkLog, WorkLogVersion


def snapshot() -> tuple[int, int, int, int]:
    """Rows that a refused or invalid request must leave unchanged."""
    return (WorkLog.objects.count(), WorkLogVersion.objects.count(), LogReview.objects.count(),
            AuditEvent.objects.filter(action__startswith="worklogs.").count())


CONTENT = {"today_work": "1. 整理华东区重点客户档案", "visits": "1. 拜访上海宏达机械,确认二期需求",
           "problems": "客户对交期有顾虑", "tomorrow_plan": "1. 跟进宏达报价"}


@pytest.fixture
def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


@pytest.fixture
def submitted(world):
    """alice's log for today, submitted."""
    from kamguard.worklogs.services import log_save

    return log_save(actor=world.alice, day=timezone.localdate(), submit=True, **CONTENT)
