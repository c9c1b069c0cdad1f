"""The log template prefilled from the day's records (activities.selectors.day_records): contacts in today's
work, visits with outcome and next step, tomorrow's planned visits in tomorrow's plan; the pure formatter too."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.activities.services import contact_record, visit_plan
from kamguard.activities.tests.conftest import book  # noqa: F401 - customers for alice
from kamguard.worklogs import selectors
from kamguard.worklogs.domain import DayRecord, PrefillLabels, prefill

pytestmark = pytest.mark.django_db


def test_prefill_pure():
    today = [DayRecord(kind="visit", kind_label="拜访", status="done", customer="甲公司", time="09:30",
                       summary="谈二期", outcome="认可方案", next_step="发报价"),
             DayRecord(kind="call", kind_label="电话", status="done", customer="乙公司", summary="催款"),
             DayRecord(kind="visit", kind_label="拜访", status="cancelled", customer="丙公司")]
    tomorrow = [DayRecord(kind="visit", kind_label="拜访", status="planned", customer="丁公司", summary="送样")]
    chinese = PrefillLabels(outcome="结果", next_step="下一步", planned_visit="拜访", colon="：", separator="；",
                            open_paren="（", close_paren="）")
    result = prefill(today=today, tomorrow=tomorrow, labels=chinese)
    assert result.visits == "1. 09:30 拜访 甲公司：谈二期；结果：认可方案；下一步：发报价"
    assert result.today_work == "1. 电话 乙公司：催款"
    assert "丙公司" not in result.visits + result.today_work
    assert result.tomorrow_plan.splitlines() == ["1. 拜访 丁公司：送样", "2. 甲公司：发报价"]
    # English punctuation by default
    english = prefill(today=today, tomorrow=tomorrow, labels=PrefillLabels())
    assert english.visits == "1. 09:30 拜访 甲公司: 谈二期; Outcome: 认可方案; Next step: 发报价"


def test_prefill_from_activities(world, book, client_for):  # noqa: F811
    today = timezone.localdate()
    now = timezone.localtime()
    at = now - dt.timedelta(minutes=5) if (now.hour, now.minute) >= (0, 6) else now  # still today
    contact_record(actor=world.alice, customer_id=book.alpha.pk, kind="call", happened_at=at, summary="电话确认交期")
    visit_plan(actor=world.alice, customer_id=book.gamma.pk, planned_on=today + dt.timedelta(days=1),
               purpose="送样品")
    result = selectors.log_prefill(user=world.alice, day=today)
    assert "上海腾达电子科技有限公司" in result.today_work and "电话确认交期" in result.today_work
    assert "上海浦江物流有限公司" in result.tomorrow_plan
    # bob's template knows nothing of alice's day
    assert selectors.log_prefill(user=world.bob, day=today).today_work == ""
    # the page shows it before anything is saved
    body = client_for(world.person("alice")).get("/worklogs/").content.decode()
    assert "电话确认交期" in body
