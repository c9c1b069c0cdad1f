"""The performance demo on the small demo organisation: finished months gone through the whole process, last month
scored from the demo's records and waiting for calibration, and the done-when playable on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from kamguard.demo.build import capabilities_until, world_build
from kamguard.demo.customer_plan import plan_customers
from kamguard.demo.plan import plan_world
from kamguard.org.models import User
from kamguard.performance import selectors, services
from kamguard.performance.demo import performance_build, summary_lines
from kamguard.performance.models import (
    Acknowledgement,
    Appeal,
    Calibration,
    ImprovementPlan,
    Period,
    PeriodStatus,
    Scorecard,
)


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Any, dict[str, int]]]:
    with django_db_blocker.unblock(), transaction.atomic():
        as_of = timezone.localdate()
        plan = plan_world(seed=42, as_of=as_of)
        world = world_build(plan, customers=plan_customers(plan, as_of=as_of, customers_per_manager=2.0),
                            capabilities=capabilities_until("contracts"))
        wired = world.apps.get("performance")
        yield world, wired if wired is not None else performance_build(world)
        transaction.set_rollback(True)


def test_finished_months_went_through_the_whole_process(db: None, built: tuple[Any, dict[str, int]]) -> None:
    world, counts = built
    teams = len([t for t in world.plan.teams if not t.is_bulk])
    assert counts["periods"] == 3 * teams and counts["skipped_teams"] == 0
    assert Period.objects.filter(status=PeriodStatus.SIGNED_OFF).count() == 2 * teams
    assert counts["in_progress"] == teams
    assert Period.objects.filter(status=PeriodStatus.SCORED).count() == teams
    assert Calibration.objects.filter(role="supervisor").exists() and Calibration.objects.filter(role="director").exists()
    assert not Calibration.objects.filter(reason="").exists()
    assert Appeal.objects.count() == 1 and Appeal.objects.get().status == "changed"
    assert Acknowledgement.objects.count() == counts["acknowledged"] > 0
    plan = ImprovementPlan.objects.get()
    assert plan.started_by_id == plan.user_id and plan.follow_ups.count() == counts["follow_ups"]
    assert "performance:" in summary_lines(counts)[0]


def test_scores_come_from_the_records_and_are_explained(db: None, built: tuple[Any, dict[str, int]]) -> None:
    scored = Scorecard.objects.filter(period__status=PeriodStatus.SCORED, computed_total__isnull=False)
    assert scored.exists()
    card = scored.select_related("user").order_by("pk").first()
    assert card is not None
    metrics = card.snapshot["metrics"]
    assert any(m["value"] is not None for m in metrics.values())
    supervisor = card.user.supervisor
    while supervisor is not None and not supervisor.has_role("supervisor"):  # type: ignore[arg-type]
        supervisor = supervisor.supervisor
    assert supervisor is not None
    for lang in ("en", "zh"):
        detail = selectors.scorecard_detail(viewer=supervisor, scorecard_id=card.pk, lang=lang)
        assert all(line.explanation for line in detail.dimensions)


def test_the_done_when_is_playable(db: None, built: tuple[Any, dict[str, int]]) -> None:
    period = Period.objects.filter(status=PeriodStatus.SCORED).select_related("team").order_by("pk").first()
    assert period is not None
    card = Scorecard.objects.filter(period=period, computed_total__isnull=False).select_related("user").order_by(
        "pk").first()
    assert card is not None
    sup = User.objects.filter(department=period.department, role_assignments__role="supervisor").first()
    director = User.objects.filter(department__depth=0, role_assignments__role="supervisor").first()
    assert sup is not None and director is not None
    services.calibration_record(actor=sup, scorecard_id=card.pk, after="77.5", reason="补录的回款凭证已核实")
    services.period_calibration_submit(actor=sup, period_id=period.pk)
    services.period_release(actor=director, period_id=period.pk)
    services.feedback_record(actor=sup, scorecard_id=card.pk, notes="面谈:确认结果与改进方向")
    services.scorecard_acknowledge(actor=card.user, scorecard_id=card.pk)
    plan = services.improvement_plan_start(actor=card.user, scorecard_id=card.pk, goals="提升 A 类客户覆盖率",
                                           start=timezone.localdate(), end=timezone.localdate())
    assert plan.pk and Scorecard.objects.get(pk=card.pk).final_total == 77.5

