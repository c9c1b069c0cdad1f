"""The background jobs: scoring a period and the nightly continuation of running cycles, each safe twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kamguard.performance import services
from kamguard.performance.models import Period, PeriodStatus, Scorecard
from kamguard.performance.tasks import performance_nightly, performance_period_score
from kamguard.performance.tests.conftest import last_month

pytestmark = pytest.mark.django_db


def test_period_score_task_is_safe_twice_and_stops_at_calibration(world: Any, fake_metrics: Any,
                                                                  monthly: Any) -> None:
    period = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(), team_id=world.team_a.pk)
    assert performance_period_score.call(period.pk) == 3
    assert performance_period_score.call(period.pk) == 3
    assert Scorecard.objects.filter(period=period).count() == 3
    card = Scorecard.objects.filter(period=period).first()
    assert card is not None
    services.calibration_record(actor=world.sam, scorecard_id=card.pk, after="50", reason="checked")
    assert performance_period_score.call(period.pk) == 0
    assert performance_period_score.call(999_999) == 0


def test_nightly_opens_the_next_month_once_and_refreshes_it(world: Any, fake_metrics: Any, monthly: Any) -> None:
    services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(), team_id=world.team_a.pk)
    first = performance_nightly.call()
    last_ended_recently = timezone.localdate() - (timezone.localdate().replace(day=1) - dt.timedelta(days=1)) \
        <= dt.timedelta(days=10)
    assert first["opened"] == 1 and first["refreshed"] == (2 if last_ended_recently else 1)
    current = Period.objects.get(start=timezone.localdate().replace(day=1))
    assert current.team_id == world.team_a.pk and current.status == PeriodStatus.SCORED
    second = performance_nightly.call()
    assert second["opened"] == 0
    assert Period.objects.count() == 2
    # a cycle whose next period has not started yet is left alone
    assert services.periods_continue(today=current.start - dt.timedelta(days=1)) == []
