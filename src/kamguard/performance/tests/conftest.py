"""Fixtures of the performance process tests (also usable by the page tests).

- `diana`: the director — supervisor role in the company department, above sam's East department;
- `fake_metrics`: stands in for `performance.metrics.metrics_compute` with fixed values per person
  (`fake_metrics.values[user_id] = {code: Decimal|None}`), so a test knows each total;
- `scored_period`: the monthly_percent preset's period of last month for team A (alice, bob, sue), scored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kamguard.org.models import User

D = Decimal

GOOD = {"sales_completion": D("105"), "forecast_accuracy": D("90"), "tier_coverage": D("95"), "disputes": D("0"),
        "followup_frequency": D("3"), "visit_count": D("20"), "policy_compliance": D("92"), "data_quality": D("88")}
WEAK = {"sales_completion": D("62"), "forecast_accuracy": None, "tier_coverage": D("50"), "disputes": D("1"),
        "followup_frequency": D("1"), "visit_count": D("4"), "policy_compliance": D("70"), "data_quality": D("60")}


@dataclass(frozen=True)
class FakeValue:
    value: Decimal | None
    inputs: dict[str, str]


@dataclass
class FakeMetrics:
    values: dict[int, dict[str, Decimal | None]] = field(default_factory=dict)
    default: dict[str, Decimal | None] = field(default_factory=lambda: dict(GOOD))
    calls: int = 0

    def __call__(self, user_ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Any]]:
        self.calls += 1
        out = {}
        for uid in user_ids:
            metrics = self.values.get(uid, self.default)
            out[uid] = {code: FakeValue(v, {"sales": "120000", "target": "100000", "reason": "no_forecast"}
                                        if v is None or code == "sales_completion" else {})
                        for code, v in metrics.items()}
        return out


@pytest.fixture
def diana(world: Any) -> User:
    from kamguard.org.services import user_create

    return user_create(actor=None, username="diana", full_name="丁黛安", roles=["supervisor"],
                       password="Correct-Horse-42", email="diana@example.com",  # noqa: S106
                       department=world.company)


@pytest.fixture
def fake_metrics(monkeypatch: pytest.MonkeyPatch, world: Any) -> FakeMetrics:
    fake = FakeMetrics()
    fake.values[world.bob.pk] = dict(WEAK)
    monkeypatch.setattr("kamguard.performance.services._metrics", fake)
    return fake


def last_month() -> dt.date:
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@pytest.fixture
def monthly(db: None) -> Any:
    from kamguard.performance.models import Scheme

    return Scheme.objects.get(code="monthly_percent")


@pytest.fixture
def scored_period(world: Any, diana: User, fake_metrics: FakeMetrics, monthly: Any) -> Any:
    from kamguard.performance import services

    period = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(),
                                    team_id=world.team_a.pk)
    return services.period_score(actor=world.sam, period_id=period.pk)


def card_of(period: Any, user: User) -> Any:
    from kamguard.performance.models import Scorecard

    return Scorecard.objects.get(period=period, user=user)


def released(period: Any, world: Any, diana: User) -> Any:
    """Calibration handed over and the period released for feedback."""
    from kamguard.performance import services

    services.period_calibration_submit(actor=world.sam, period_id=period.pk)
    return services.period_release(actor=diana, period_id=period.pk)
