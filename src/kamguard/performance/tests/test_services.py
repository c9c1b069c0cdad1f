"""The performance process through its services: schemes, periods, scoring, calibration, feedback, appeals,
improvement plans, sign-off; who may do each step, and that a refusal changes nothing."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.org.models import RoleAssignment
from kamguard.performance import domain, selectors, services
from kamguard.performance.models import (
    Appeal,
    Calibration,
    FeedbackMeeting,
    Period,
    PeriodStatus,
    Scheme,
    SchemeVersion,
    Scorecard,
    ScorecardStatus,
)
from kamguard.performance.tests.conftest import card_of, last_month, released

D = Decimal
pytestmark = pytest.mark.django_db


def _spec(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(domain.spec_to_dict(domain.preset("monthly_percent")))  # type: ignore[arg-type]
    spec["code"] = "custom_month"
    spec.update(changes)
    return spec


def _state(period: Period) -> list[Any]:
    return list[Any](Scorecard.objects.filter(period=period).order_by("pk").values_list(
        "computed_total", "calibrated_total", "grade", "rank", "status", "manual_scores")) + [
        tuple(Period.objects.filter(pk=period.pk).values_list("status", "calibration_stage").get()),
        Calibration.objects.count(), FeedbackMeeting.objects.count(), Appeal.objects.count()]


def test_presets_installed_by_the_migration_as_version_1() -> None:
    codes = set(Scheme.objects.filter(is_preset=True).values_list("code", flat=True))
    assert codes == {"monthly_percent", "quarterly_100", "semiannual_skills", "annual_comprehensive", "kpi_okr"}
    for scheme in Scheme.objects.all():
        assert scheme.current_version is not None and scheme.current_version.number == 1
    assert services.presets_install(actor=None) == 0  # idempotent


# ---------------------------------------------------------------- schemes


def test_scheme_create_refuses_weights_that_do_not_add_up(world: Any) -> None:
    spec = _spec()
    spec["dimensions"][0]["weight"] = "30"
    with pytest.raises(ValidationFailed) as err:
        services.scheme_create(actor=world.hanna, spec=spec)
    assert any("100" in m for msgs in err.value.field_errors.values() for m in msgs)
    assert not Scheme.objects.filter(code="custom_month").exists()


def test_scheme_create_names_an_unknown_metric_in_the_users_language(world: Any) -> None:
    spec = _spec()
    spec["dimensions"][1]["formula"] = "forecast_acuracy * 2"
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as err:
        services.scheme_create(actor=world.hanna, spec=spec)
    messages = err.value.field_errors.get("dimensions[1].formula")
    assert messages and "forecast_acuracy" in messages[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in messages[0])
    assert not Scheme.objects.filter(code="custom_month").exists()


def test_scheme_create_refuses_a_malformed_spec_with_its_path(world: Any) -> None:
    spec = _spec()
    del spec["dimensions"][0]["weight"]
    with pytest.raises(ValidationFailed) as err:
        services.scheme_create(actor=world.hanna, spec=spec)
    assert any(key.startswith("dimensions[0]") for key in err.value.field_errors)


@pytest.mark.parametrize("who", ["sam", "alice", "audrey", "carol"])
def test_only_hr_and_admins_manage_schemes(world: Any, who: str) -> None:
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionRefused):
        services.scheme_create(actor=getattr(world, who), spec=_spec())
    assert not Scheme.objects.filter(code="custom_month").exists()
    assert AuditEvent.objects.count() == events


def test_new_version_is_explicit_and_a_running_period_keeps_its_version(world: Any, scored_period: Period,
                                                                        monthly: Scheme) -> None:
    spec = domain.spec_to_dict(domain.preset("monthly_percent"))  # type: ignore[arg-type]
    spec["coaching_below"] = "65"
    version = services.scheme_version_create(actor=world.adam, scheme_id=monthly.pk, spec=spec, note="coaching 65")
    assert version.number == 2
    monthly.refresh_from_db()
    assert monthly.current_version is not None and monthly.current_version.number == 1  # not active until activated
    services.scheme_version_activate(actor=world.hanna, version_id=version.pk)
    monthly.refresh_from_db()
    assert monthly.current_version_id == version.pk
    scored_period.refresh_from_db()
    assert scored_period.version.number == 1
    services.period_score(actor=world.sam, period_id=scored_period.pk)
    assert Period.objects.get(pk=scored_period.pk).version.number == 1
    wrong = dict(spec, code="other")
    with pytest.raises(ValidationFailed) as err:
        services.scheme_version_create(actor=world.adam, scheme_id=monthly.pk, spec=wrong)
    assert "code" in err.value.field_errors
    assert SchemeVersion.objects.filter(scheme=monthly).count() == 2


# ---------------------------------------------------------------- periods and scoring


def test_period_bounds() -> None:
    assert services.period_bounds("month", dt.date(2026, 2, 14)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert services.period_bounds("quarter", dt.date(2026, 5, 3)) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert services.period_bounds("half_year", dt.date(2026, 9, 3)) == (dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    assert services.period_bounds("year", dt.date(2026, 9, 3)) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "audrey", "hanna"])
def test_only_a_supervisor_over_the_team_creates_a_period(world: Any, monthly: Scheme, who: str) -> None:
    with pytest.raises(PermissionRefused):
        services.period_create(actor=getattr(world, who), scheme_id=monthly.pk, day=last_month(),
                               team_id=world.team_a.pk)
    assert not Period.objects.exists()


def test_period_create_refuses_duplicates_and_the_future(world: Any, monthly: Scheme) -> None:
    services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(), team_id=world.team_a.pk)
    with pytest.raises(Conflict):
        services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month() + dt.timedelta(days=3),
                               team_id=world.team_a.pk)
    with pytest.raises(ValidationFailed) as err:
        services.period_create(actor=world.sam, scheme_id=monthly.pk,
                               day=timezone.localdate() + dt.timedelta(days=40), team_id=world.team_a.pk)
    assert "day" in err.value.field_errors
    assert Period.objects.count() == 1


def test_scoring_computes_each_member_ranks_and_keeps_the_snapshot(world: Any, scored_period: Period) -> None:
    cards = {c.user_id: c for c in Scorecard.objects.filter(period=scored_period)}
    assert set(cards) == {world.alice.pk, world.bob.pk, world.sue.pk}
    alice, bob = cards[world.alice.pk], cards[world.bob.pk]
    assert alice.computed_total is not None and bob.computed_total is not None
    assert alice.computed_total > bob.computed_total
    assert alice.rank == 1 and bob.rank == 3 and cards[world.sue.pk].rank == 1  # alice and sue tie
    assert alice.snapshot["metrics"]["sales_completion"]["value"] == "105"
    assert alice.snapshot["metrics"]["sales_completion"]["inputs"]["target"] == "100000"
    # bob has no forecast data: that dimension has no score and its weight is spread over the others
    forecast = next(d for d in bob.dimensions if d["code"] == "forecast_accuracy")
    assert forecast["score"] is None and forecast["missing"] == ["forecast_accuracy"]
    assert bob.coaching and not bob.incentive and alice.incentive
    assert scored_period.status == PeriodStatus.SCORED
    assert AuditEvent.objects.filter(action="performance.period.score").count() == 1


def test_rescoring_is_safe_and_refused_once_calibration_starts(world: Any, scored_period: Period,
                                                                fake_metrics: Any) -> None:
    services.period_score(actor=world.sam, period_id=scored_period.pk)
    assert Scorecard.objects.filter(period=scored_period).count() == 3
    card = card_of(scored_period, world.bob)
    services.calibration_record(actor=world.sam, scorecard_id=card.pk, after=D("61"), reason="Late orders counted")
    with pytest.raises(Conflict):
        services.period_score(actor=world.sam, period_id=scored_period.pk)


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "audrey"])
def test_scoring_refused_for_others(world: Any, scored_period: Period, who: str) -> None:
    before = _state(scored_period)
    with pytest.raises(PermissionRefused):
        services.period_score(actor=getattr(world, who), period_id=scored_period.pk)
    assert _state(scored_period) == before


def test_manual_scores_range_checked_and_never_by_oneself(world: Any, diana: Any, fake_metrics: Any) -> None:
    spec = _spec()
    spec["dimensions"][5] = {"code": "attitude", "name_en": "Attitude", "name_zh": "工作态度", "weight": "10",
                             "kind": "manual", "rubric": [{"score": "100", "text_en": "Model", "text_zh": "模范"},
                                                          {"score": "60", "text_en": "Fair", "text_zh": "一般"}]}
    scheme = services.scheme_create(actor=world.hanna, spec=spec)
    period = services.period_create(actor=world.sam, scheme_id=scheme.pk, day=last_month(), team_id=world.team_a.pk)
    services.period_score(actor=world.sam, period_id=period.pk)
    card = card_of(period, world.alice)
    assert not card.complete and not card.incentive
    with pytest.raises(ValidationFailed) as err:
        services.scorecard_manual_score(actor=world.sam, scorecard_id=card.pk, dimension="attitude", score="120")
    assert "score" in err.value.field_errors
    with pytest.raises(ValidationFailed):
        services.scorecard_manual_score(actor=world.sam, scorecard_id=card.pk, dimension="basic_data", score="80")
    with pytest.raises(NotFound):  # her own card is not hers to see before the release, let alone to score
        services.scorecard_manual_score(actor=world.alice, scorecard_id=card.pk, dimension="attitude", score="100")
    assert card_of(period, world.alice).manual_scores == {}
    services.scorecard_manual_score(actor=world.sam, scorecard_id=card.pk, dimension="attitude", score="100")
    card = card_of(period, world.alice)
    assert card.manual_scores == {"attitude": "100"} and card.complete
    # a person with the supervisor role still cannot score their own scorecard
    RoleAssignment.objects.create(user=world.alice, role="supervisor")
    alice = world.person("alice")
    with pytest.raises((NotFound, PermissionRefused)):
        services.scorecard_manual_score(actor=alice, scorecard_id=card.pk, dimension="attitude", score="60")
    assert card_of(period, world.alice).manual_scores == {"attitude": "100"}


# ---------------------------------------------------------------- calibration


def test_calibration_needs_a_reason_and_a_score_in_range(world: Any, scored_period: Period) -> None:
    card = card_of(scored_period, world.bob)
    before = _state(scored_period)
    with pytest.raises(ValidationFailed) as err:
        services.calibration_record(actor=world.sam, scorecard_id=card.pk, after=D("70"), reason="  ")
    assert "reason" in err.value.field_errors
    with pytest.raises(ValidationFailed) as err:
        services.calibration_record(actor=world.sam, scorecard_id=card.pk, after=D("101"), reason="why")
    assert "after" in err.value.field_errors
    with pytest.raises(ValidationFailed):
        services.calibration_record(actor=world.sam, scorecard_id=card.pk, after="70", reason="x", dimension="nope")
    assert _state(scored_period) == before


@pytest.mark.parametrize("who,error", [("alice", NotFound), ("bob", NotFound), ("carol", NotFound),
                                       ("audrey", PermissionRefused), ("hanna", PermissionRefused)])
def test_calibration_refused_for_others(world: Any, scored_period: Period, who: str, error: type[Exception]) -> None:
    """Refused; NotFound for whoever may not see the card (bob's own is not his before the release)."""
    card = card_of(scored_period, world.bob)
    before = _state(scored_period)
    with pytest.raises(error):
        services.calibration_record(actor=getattr(world, who), scorecard_id=card.pk, after="75", reason="r")
    assert _state(scored_period) == before


def test_supervisor_then_director_calibrate_with_before_after_and_rerank(world: Any, diana: Any,
                                                                         scored_period: Period) -> None:
    bob = card_of(scored_period, world.bob)
    computed = bob.computed_total
    with pytest.raises(Conflict):  # the director waits for the supervisor
        services.calibration_record(actor=diana, scorecard_id=bob.pk, after="80", reason="r")
    entry = services.calibration_record(actor=world.sam, scorecard_id=bob.pk, after="99", reason="Big deal landed",
                                        dimension="economic_results")
    assert entry.role == "supervisor" and entry.total_before == computed
    bob = card_of(scored_period, world.bob)
    assert bob.calibrated_total is not None and bob.calibrated_total > computed
    assert Period.objects.get(pk=scored_period.pk).status == PeriodStatus.CALIBRATING
    services.period_calibration_submit(actor=world.sam, period_id=scored_period.pk)
    with pytest.raises(Conflict):  # the supervisor's turn is over
        services.calibration_record(actor=world.sam, scorecard_id=bob.pk, after="80", reason="r")
    entry = services.calibration_record(actor=diana, scorecard_id=bob.pk, after="95", reason="Best of the region")
    assert entry.role == "director" and entry.before == bob.final_total and entry.after == D("95")
    bob = card_of(scored_period, world.bob)
    assert bob.final_total == D("95") and bob.grade == "A" and bob.rank == 1 and bob.incentive and not bob.coaching
    assert card_of(scored_period, world.alice).rank == 2
    view = selectors.calibration_view(viewer=world.sam, period_id=scored_period.pk)
    row = next(r for r in view.rows if r.scorecard.user_id == world.bob.pk)
    assert row.computed_total == computed and row.final_total == D("95") and len(row.entries) == 2
    assert sum(g.count for g in view.after) == 3


def test_release_by_the_director_only_after_hand_over(world: Any, diana: Any, scored_period: Period) -> None:
    with pytest.raises(Conflict):
        services.period_release(actor=diana, period_id=scored_period.pk)
    services.period_calibration_submit(actor=world.sam, period_id=scored_period.pk)
    with pytest.raises(PermissionRefused):  # a director exists above sam's department
        services.period_release(actor=world.sam, period_id=scored_period.pk)
    services.period_release(actor=diana, period_id=scored_period.pk)
    assert set(Scorecard.objects.filter(period=scored_period).values_list("status", flat=True)) == {"released"}


# ---------------------------------------------------------------- visibility


def test_the_person_sees_their_scorecard_only_once_released(world: Any, diana: Any, scored_period: Period) -> None:
    assert not selectors.my_scorecards(viewer=world.alice).exists()
    assert selectors.scorecard_list(viewer=world.sam, period_id=scored_period.pk).count() == 3
    assert selectors.scorecard_list(viewer=world.carol).count() == 0
    assert selectors.scorecard_list(viewer=world.audrey).count() == 3
    released(scored_period, world, diana)
    mine = list(selectors.my_scorecards(viewer=world.alice))
    assert [c.user_id for c in mine] == [world.alice.pk]
    assert selectors.scorecard_list(viewer=world.bob).count() == 1  # only his own, not alice's
    with pytest.raises(NotFound):
        selectors.scorecard_get(viewer=world.bob, scorecard_id=mine[0].pk)
    with pytest.raises(PermissionRefused):
        selectors.team_view(viewer=world.alice, period_id=scored_period.pk)


def test_detail_explains_each_dimension_in_both_languages(world: Any, scored_period: Period) -> None:
    card = card_of(scored_period, world.bob)
    en = selectors.scorecard_detail(viewer=world.sam, scorecard_id=card.pk, lang="en")
    zh = selectors.scorecard_detail(viewer=world.sam, scorecard_id=card.pk, lang="zh-hans")
    economic = next(d for d in en.dimensions if d.code == "economic_results")
    assert economic.metrics[0].value == D("62") and "100000" in economic.metrics[0].explanation
    assert economic.band and "62" in economic.explanation and "Sales completion" in economic.explanation
    forecast = next(d for d in en.dimensions if d.code == "forecast_accuracy")
    assert forecast.no_data and "No data" in forecast.explanation and en.reweighted
    assert any("\u4e00" <= ch <= "\u9fff" for ch in next(d for d in zh.dimensions
                                                         if d.code == "forecast_accuracy").explanation)
    # with a dimension left out, each scored one's points are its share of the total: they add up to it
    points = [d.points for d in en.dimensions if d.points is not None]
    assert forecast.points is None and len(points) < len(en.dimensions)
    assert abs(sum(points) - en.final_total) <= D("0.01") * len(points)


# ---------------------------------------------------------------- feedback, answers, sign-off


def test_feedback_acknowledge_appeal_resolve_and_sign_off(world: Any, diana: Any, scored_period: Period) -> None:
    released(scored_period, world, diana)
    alice, bob = card_of(scored_period, world.alice), card_of(scored_period, world.bob)
    with pytest.raises(Conflict):  # no feedback meeting yet
        services.scorecard_acknowledge(actor=world.alice, scorecard_id=alice.pk)
    with pytest.raises(NotFound):  # a teammate does not see alice's card
        services.feedback_record(actor=world.bob, scorecard_id=alice.pk, notes="x")
    with pytest.raises(ValidationFailed):
        services.feedback_record(actor=world.sam, scorecard_id=alice.pk, notes=" ")
    services.feedback_record(actor=world.sam, scorecard_id=alice.pk, notes="Strong month; plan the Q1 push.")
    services.feedback_record(actor=world.sam, scorecard_id=bob.pk, notes="Coverage of tier A customers is low.")
    with pytest.raises(NotFound):
        services.scorecard_acknowledge(actor=world.bob, scorecard_id=alice.pk)
    services.scorecard_acknowledge(actor=world.alice, scorecard_id=alice.pk, comment="Agreed")
    assert card_of(scored_period, world.alice).status == ScorecardStatus.ACKNOWLEDGED
    with pytest.raises(ValidationFailed) as err:
        services.appeal_file(actor=world.bob, scorecard_id=bob.pk, text="")
    assert "text" in err.value.field_errors
    appeal = services.appeal_file(actor=world.bob, scorecard_id=bob.pk, text="Two orders were booked late by ERP.")
    with pytest.raises(Conflict):
        services.period_sign_off(actor=world.sam, period_id=scored_period.pk)
    with pytest.raises(PermissionRefused):  # the director resolves
        services.appeal_resolve(actor=world.sam, appeal_id=appeal.pk, decision="upheld", reason="ok")
    with pytest.raises(ValidationFailed):
        services.appeal_resolve(actor=diana, appeal_id=appeal.pk, decision="changed", reason="ok")
    with pytest.raises(ValidationFailed):
        services.appeal_resolve(actor=diana, appeal_id=appeal.pk, decision="changed", reason="", total="70")
    services.appeal_resolve(actor=diana, appeal_id=appeal.pk, decision="changed", reason="ERP dates checked",
                            total="70")
    bob = card_of(scored_period, world.bob)
    assert bob.final_total == D("70") and bob.grade == "C" and bob.status == ScorecardStatus.RESOLVED
    plan = services.improvement_plan_start(actor=world.bob, scorecard_id=bob.pk, goals="Visit every tier A monthly",
                                           start=timezone.localdate(),
                                           end=timezone.localdate() + dt.timedelta(days=60))
    with pytest.raises(PermissionRefused):
        services.follow_up_add(actor=world.carol, plan_id=plan.pk, notes="x", progress=10)
    with pytest.raises(ValidationFailed):
        services.follow_up_add(actor=world.sam, plan_id=plan.pk, notes="x", progress=120)
    services.follow_up_add(actor=world.sam, plan_id=plan.pk, notes="Two of five visited", progress=40)
    services.period_sign_off(actor=world.sam, period_id=scored_period.pk)
    frozen = _state(scored_period)
    for attempt in (
        lambda: services.calibration_record(actor=diana, scorecard_id=bob.pk, after="90", reason="late"),
        lambda: services.feedback_record(actor=world.sam, scorecard_id=bob.pk, notes="again"),
        lambda: services.scorecard_acknowledge(actor=world.bob, scorecard_id=bob.pk),
        lambda: services.period_score(actor=world.sam, period_id=scored_period.pk),
        lambda: services.period_sign_off(actor=world.sam, period_id=scored_period.pk),
    ):
        with pytest.raises(Conflict):
            attempt()
    assert _state(scored_period) == frozen
    # the improvement plan carries on after sign-off
    services.follow_up_add(actor=world.bob, plan_id=plan.pk, notes="Four of five", progress=80)
    flags = selectors.flags_for(user_ids=[world.alice.pk, world.bob.pk, world.carol.pk],
                                period_end=timezone.localdate())
    assert set(flags) == {world.alice.pk, world.bob.pk}
    assert flags[world.alice.pk].incentive and flags[world.bob.pk].signed_off


def test_payroll_export_needs_the_export_right(world: Any, diana: Any, scored_period: Period) -> None:
    released(scored_period, world, diana)
    with pytest.raises(PermissionRefused):
        selectors.payroll_rows(viewer=world.fiona, period_id=scored_period.pk)
    world.fiona.can_export = True
    world.fiona.save(update_fields=["can_export"])
    rows = selectors.payroll_rows(viewer=world.fiona, period_id=scored_period.pk)
    assert {r["username"] for r in rows} == {"alice", "bob", "sue"}
    assert selectors.payroll_export(viewer=world.fiona, period_id=scored_period.pk, fmt="csv").startswith(b"person,")
    assert selectors.payroll_export(viewer=world.fiona, period_id=scored_period.pk, fmt="xlsx")[:2] == b"PK"


def test_without_a_director_the_supervisor_releases(world: Any, fake_metrics: Any, monthly: Scheme) -> None:
    period = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(), team_id=world.team_a.pk)
    services.period_score(actor=world.sam, period_id=period.pk)
    services.period_calibration_submit(actor=world.sam, period_id=period.pk)
    services.period_release(actor=world.sam, period_id=period.pk)
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.FEEDBACK


def test_scoring_with_the_real_metrics_keeps_no_data_as_no_data(world: Any, monthly: Scheme) -> None:
    """No stand-in: performance.metrics reads the (empty) records; nothing is invented."""
    period = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(), team_id=world.team_a.pk)
    services.period_score(actor=world.sam, period_id=period.pk)
    card = card_of(period, world.alice)
    metrics = card.snapshot["metrics"]
    assert set(domain.METRICS) <= set(metrics)
    assert metrics["sales_completion"]["value"] is None and metrics["sales_completion"]["inputs"]["reason"]
    economic = next(d for d in card.dimensions if d["code"] == "economic_results")
    assert economic["score"] is None


def test_a_department_period_covers_its_teams(world: Any, fake_metrics: Any, monthly: Scheme) -> None:
    period = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(),
                                    department_id=world.east.pk)
    services.period_score(actor=world.sam, period_id=period.pk)
    assert set(Scorecard.objects.filter(period=period).values_list("user__username", flat=True)) == {
        "alice", "bob", "sue", "henry"}
    with pytest.raises(PermissionRefused):
        services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(),
                               department_id=world.west.pk)
    with pytest.raises(ValidationFailed):
        services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month())
