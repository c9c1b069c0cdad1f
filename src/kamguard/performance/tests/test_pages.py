"""Performance pages: home, the team's period, the calibration view, a scorecard and its process (manual scores,
calibration, feedback, acknowledgement, appeal and its answer, improvement plan and follow-ups), trends, schemes
and their versions, the payroll export. The permission matrix (owner alice, teammate bob, supervisor sam, director
diana, outsider carol, auditor audrey) checks that nothing changed on refusal; bad input is shown in place; both
languages render."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.performance import services
from kamguard.performance.models import (
    Acknowledgement,
    Appeal,
    Calibration,
    FeedbackMeeting,
    FollowUp,
    ImprovementPlan,
    Period,
    PeriodStatus,
    Scheme,
    SchemeVersion,
    Scorecard,
)
from kamguard.performance.tests.conftest import card_of, last_month, released

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _now() -> str:
    """The feedback form's time (a meeting is held after the release, not in the future)."""
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def _state():
    """Everything a refused request must leave as it was."""
    return (list(Period.objects.order_by("pk").values_list("status", "calibration_stage")),
            list(Scorecard.objects.order_by("pk").values_list("status", "computed_total", "calibrated_total", "grade",
                                                              "rank", "manual_scores")),
            Calibration.objects.count(), FeedbackMeeting.objects.count(), Acknowledgement.objects.count(),
            Appeal.objects.count(), ImprovementPlan.objects.count(), FollowUp.objects.count(),
            SchemeVersion.objects.count(), Scheme.objects.count(),
            AuditEvent.objects.filter(action__startswith="performance.").count())


def _card(period, user):
    return card_of(period, user)


# --- both languages, every page -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang,says", [(EN, "Scorecards"), (ZH, "考核")])
def test_every_page_renders_in_both_languages(world, diana, scored_period, client_for, lang, says):
    sam = client_for(world.sam)
    card = _card(scored_period, world.alice)
    scheme = scored_period.scheme
    for url in ("/performance/", f"/performance/periods/{scored_period.pk}/",
                f"/performance/periods/{scored_period.pk}/calibration/", f"/performance/scorecards/{card.pk}/",
                f"/performance/people/{world.alice.pk}/trend/", f"/performance/teams/{world.team_a.pk}/trend/",
                "/performance/schemes/", f"/performance/schemes/{scheme.pk}/", "/performance/periods/new/"):
        response = sam.get(url, **lang)
        assert response.status_code == 200, url
        assert f'lang="{"zh-hans" if lang is ZH else "en"}"' in response.content.decode()
    assert says in sam.get("/performance/", **lang).content.decode()
    hanna = client_for(world.hanna)
    for url in ("/performance/schemes/new/?preset=quarterly_100", f"/performance/schemes/{scheme.pk}/versions/new/"):
        assert hanna.get(url, **lang).status_code == 200


def test_scorecard_explains_each_dimension_in_the_viewers_language(world, diana, scored_period, client_for):
    sam = client_for(world.sam)
    card = _card(scored_period, world.bob)  # bob has no forecast: "no data", never 0
    en = sam.get(f"/performance/scorecards/{card.pk}/", **EN).content.decode()
    zh = sam.get(f"/performance/scorecards/{card.pk}/", **ZH).content.decode()
    assert "Sales completion rate" in en and "120000 CNY of orders against a target of 100000 CNY" in en
    assert "销售完成率" in zh and "订单金额 120000 元，目标 100000 元" in zh.replace(",", "，")
    assert "No locked forecast" in en and "本期没有已锁定并计算准确率的销售预测" in zh
    assert 'data-nodata>no data<' in en  # the forecast dimension: no data shown as such
    forecast = en[en.index('data-dimension="forecast'):] if 'data-dimension="forecast' in en else ""
    assert forecast and "data-nodata" in forecast[:600]
    assert "their weight is spread" in en
    # each formula reads once with the metrics' names: "Ownership disputes", never named twice over
    assert "Ownership disputes" in en and "[Ownership" not in en and "Ownership [" not in en


# --- home ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("persona,sees_period", [("alice", False), ("bob", False), ("sam", True), ("diana", True),
                                                 ("carol", False), ("audrey", True), ("hanna", True)])
def test_home_lists_periods_to_those_who_read_them(world, diana, scored_period, client_for, persona, sees_period):
    user = diana if persona == "diana" else world.person(persona)
    page = client_for(user).get("/performance/").content.decode()
    assert (f"/performance/periods/{scored_period.pk}/" in page) == sees_period
    # nobody sees a scorecard of their own before it is released
    assert "/performance/scorecards/" not in page


def test_home_shows_my_scorecard_once_released(world, diana, scored_period, client_for):
    released(scored_period, world, diana)
    page = client_for(world.alice).get("/performance/").content.decode()
    assert f"/performance/scorecards/{_card(scored_period, world.alice).pk}/" in page
    assert f"/performance/scorecards/{_card(scored_period, world.bob).pk}/" not in page


def test_home_filters_and_paginates_periods(world, diana, scored_period, client_for):
    sam = client_for(world.sam)
    assert f"/performance/periods/{scored_period.pk}/" not in sam.get("/performance/?status=signed_off").content.decode()
    assert f"/performance/periods/{scored_period.pk}/" in sam.get("/performance/?status=scored&sort=team").content.decode()
    assert sam.get("/performance/?page=99&sort=nonsense").status_code == 200


# --- the period: who sees it, who runs it -------------------------------------------------------------------------

@pytest.mark.parametrize("persona,status", [("alice", 404), ("bob", 404), ("sam", 200), ("diana", 200),
                                            ("carol", 404), ("audrey", 200)])
def test_period_page_matrix(world, diana, scored_period, client_for, persona, status):
    user = diana if persona == "diana" else world.person(persona)
    client = client_for(user)
    for url in (f"/performance/periods/{scored_period.pk}/", f"/performance/periods/{scored_period.pk}/calibration/"):
        assert client.get(url).status_code == status, url


def test_period_page_ranks_and_shows_actions_only_to_the_supervisor(world, diana, scored_period, client_for):
    page = client_for(world.sam).get(f"/performance/periods/{scored_period.pk}/", **EN).content.decode()
    alice, bob = _card(scored_period, world.alice), _card(scored_period, world.bob)
    assert page.index(f'data-card="{alice.pk}"') < page.index(f'data-card="{bob.pk}"')  # ranked
    assert 'data-flag="coaching"' in page and 'data-flag="incentive"' in page
    assert 'data-action="score"' in page and 'data-action="handover"' in page
    assert 'data-chart="distribution"' in page
    audit = client_for(world.audrey).get(f"/performance/periods/{scored_period.pk}/").content.decode()
    assert "data-action=" not in audit


@pytest.mark.parametrize("persona,status", [("alice", 404), ("bob", 404), ("carol", 404), ("audrey", 403)])
def test_refused_period_steps_change_nothing(world, diana, scored_period, client_for, persona, status):
    user = world.person(persona)
    before = _state()
    for action in ("score", "handover"):
        response = client_for(user).post(f"/performance/periods/{scored_period.pk}/", {"action": action})
        assert response.status_code == status, action
    assert _state() == before


def test_supervisor_runs_a_period_from_the_page(world, diana, fake_metrics, monthly, client_for):
    sam = client_for(world.sam)
    response = sam.post("/performance/periods/new/", {"scheme": monthly.pk, "team": f"t{world.team_a.pk}",
                                                      "day": last_month().isoformat()})
    period = Period.objects.get(scheme=monthly, team=world.team_a)
    assert response.status_code == 302 and response["Location"] == f"/performance/periods/{period.pk}/"
    response = sam.post(f"/performance/periods/{period.pk}/", {"action": "score"})
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.status == PeriodStatus.SCORED and period.scorecards.count() == 3
    # the same period again: shown on the form, nothing written
    before = _state()
    response = sam.post("/performance/periods/new/", {"scheme": monthly.pk, "team": f"t{world.team_a.pk}",
                                                      "day": last_month().isoformat()}, **ZH)
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert _state() == before


@pytest.mark.parametrize("persona", ["alice", "audrey", "carol"])
def test_only_supervisors_open_periods(world, monthly, client_for, persona):
    before = _state()
    client = client_for(world.person(persona))
    assert client.get("/performance/periods/new/").status_code == 403
    response = client.post("/performance/periods/new/", {"scheme": monthly.pk, "team": f"t{world.team_a.pk}",
                                                         "day": last_month().isoformat()})
    assert response.status_code == 403
    assert _state() == before


def test_period_bad_input_shown_in_place(world, monthly, client_for):
    before = _state()
    response = client_for(world.sam).post("/performance/periods/new/", {"scheme": "", "team": f"t{world.team_cd.pk}",
                                                                        "day": "not a day"}, **ZH)
    page = response.content.decode()
    assert response.status_code == 422 and page.count('class="errorlist"') >= 2
    assert _state() == before


# --- calibration --------------------------------------------------------------------------------------------------

def test_supervisor_calibrates_with_a_reason(world, diana, scored_period, client_for):
    bob = _card(scored_period, world.bob)
    sam = client_for(world.sam)
    response = sam.post(f"/performance/periods/{scored_period.pk}/calibration/",
                        {"card": bob.pk, f"c{bob.pk}-dimension": "", f"c{bob.pk}-after": "65",
                         f"c{bob.pk}-reason": "大客户回款在月初到账"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.calibrated_total == Decimal("65.00") and bob.computed_total < Decimal(65)
    entry = Calibration.objects.get(scorecard=bob)
    assert entry.role == "supervisor" and entry.by_id == world.sam.pk
    page = sam.get(f"/performance/periods/{scored_period.pk}/calibration/", **EN).content.decode()
    assert "大客户回款在月初到账" in page
    card_page = sam.get(f"/performance/scorecards/{bob.pk}/", **EN).content.decode()
    assert "大客户回款在月初到账" in card_page and "65.0" in card_page


@pytest.mark.parametrize("lang,says", [(EN, "Give the reason"), (ZH, "请说明")])
def test_calibration_without_a_reason_is_shown_in_place(world, diana, scored_period, client_for, lang, says):
    bob = _card(scored_period, world.bob)
    before = _state()
    response = client_for(world.sam).post(
        f"/performance/periods/{scored_period.pk}/calibration/",
        {"card": bob.pk, f"c{bob.pk}-dimension": "", f"c{bob.pk}-after": "65", f"c{bob.pk}-reason": " "}, **lang)
    assert response.status_code == 422
    page = response.content.decode()
    form = page[page.index(f'id="card-{bob.pk}"'):]
    assert says in form[:4000]
    assert _state() == before


def test_calibration_out_of_range_and_unknown_dimension(world, diana, scored_period, client_for):
    bob = _card(scored_period, world.bob)
    before = _state()
    sam = client_for(world.sam)
    response = sam.post(f"/performance/periods/{scored_period.pk}/calibration/",
                        {"card": bob.pk, f"c{bob.pk}-dimension": "", f"c{bob.pk}-after": "140",
                         f"c{bob.pk}-reason": "x"})
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    response = sam.post(f"/performance/periods/{scored_period.pk}/calibration/",
                        {"card": bob.pk, f"c{bob.pk}-dimension": "nonsense", f"c{bob.pk}-after": "50",
                         f"c{bob.pk}-reason": "x"})
    assert response.status_code == 422
    assert _state() == before


@pytest.mark.parametrize("persona,status", [("alice", 404), ("bob", 404), ("carol", 404), ("audrey", 403),
                                            ("diana", 403)])
def test_refused_calibrations_change_nothing(world, diana, scored_period, client_for, persona, status):
    user = diana if persona == "diana" else world.person(persona)
    bob = _card(scored_period, world.bob)
    before = _state()
    response = client_for(user).post(f"/performance/periods/{scored_period.pk}/calibration/",
                                     {"card": bob.pk, f"c{bob.pk}-dimension": "", f"c{bob.pk}-after": "99",
                                      f"c{bob.pk}-reason": "自己改"})
    assert response.status_code == status
    assert _state() == before


def test_a_card_of_another_period_is_not_found(world, diana, scored_period, client_for):
    before = _state()
    response = client_for(world.sam).post(f"/performance/periods/{scored_period.pk}/calibration/",
                                          {"card": 999999, "c999999-after": "50", "c999999-reason": "x"})
    assert response.status_code == 404
    assert _state() == before


def test_director_calibrates_after_the_handover_then_releases(world, diana, scored_period, client_for):
    sam, director = client_for(world.sam), client_for(diana)
    assert sam.post(f"/performance/periods/{scored_period.pk}/", {"action": "handover"}).status_code == 302
    # the supervisor's turn is over
    page = sam.get(f"/performance/periods/{scored_period.pk}/calibration/").content.decode()
    assert "c" + str(_card(scored_period, world.bob).pk) + "-reason" not in page
    alice = _card(scored_period, world.alice)
    response = director.post(f"/performance/periods/{scored_period.pk}/calibration/",
                             {"card": alice.pk, f"c{alice.pk}-dimension": "customer_management",
                              f"c{alice.pk}-after": "80", f"c{alice.pk}-reason": "客户投诉一次"})
    assert response.status_code == 302
    assert Calibration.objects.get(scorecard=alice).role == "director"
    page = director.get(f"/performance/periods/{scored_period.pk}/").content.decode()
    assert 'data-action="release"' in page
    assert director.post(f"/performance/periods/{scored_period.pk}/", {"action": "release"}).status_code == 302
    scored_period.refresh_from_db()
    assert scored_period.status == PeriodStatus.FEEDBACK


def test_a_step_out_of_turn_is_shown_on_the_page(world, diana, scored_period, client_for):
    before = _state()
    response = client_for(world.sam).post(f"/performance/periods/{scored_period.pk}/", {"action": "sign_off"}, **EN)
    assert response.status_code == 422 and 'role="alert"' in response.content.decode()
    # the director does not hand over the supervisor's calibration
    response = client_for(diana).post(f"/performance/periods/{scored_period.pk}/", {"action": "handover"}, **ZH)
    assert response.status_code == 422 and 'role="alert"' in response.content.decode()
    assert _state() == before


# --- the scorecard and its process ---------------------------------------------------------------------------------

@pytest.mark.parametrize("persona,before_release,after_release", [
    ("alice", 404, 200), ("bob", 404, 404), ("sam", 200, 200), ("diana", 200, 200), ("carol", 404, 404),
    ("audrey", 200, 200)])
def test_scorecard_matrix(world, diana, scored_period, client_for, persona, before_release, after_release):
    user = diana if persona == "diana" else world.person(persona)
    url = f"/performance/scorecards/{_card(scored_period, world.alice).pk}/"
    assert client_for(user).get(url).status_code == before_release
    released(scored_period, world, diana)
    assert client_for(user).get(url).status_code == after_release


def _feedback(period, world, diana, client_for, person):
    released(period, world, diana)
    card = _card(period, person)
    response = client_for(world.sam).post(f"/performance/scorecards/{card.pk}/", {
        "action": "feedback", "held_at": _now(), "notes": "回款节奏要加快"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return card


def test_feedback_acknowledge_and_improvement_plan(world, diana, scored_period, client_for):
    card = _feedback(scored_period, world, diana, client_for, world.bob)
    bob = client_for(world.bob)
    page = bob.get(f"/performance/scorecards/{card.pk}/", **ZH).content.decode()
    assert "回款节奏要加快" in page and 'value="acknowledge"' in page and 'value="appeal"' in page
    assert bob.post(f"/performance/scorecards/{card.pk}/", {"action": "acknowledge", "comment": "认可"}).status_code == 302
    card.refresh_from_db()
    assert card.status == "acknowledged"
    response = bob.post(f"/performance/scorecards/{card.pk}/", {
        "action": "plan", "goals": "每周拜访 A 类客户两次", "start": "2026-12-01", "end": "2027-02-28"})
    assert response.status_code == 302
    plan = ImprovementPlan.objects.get(scorecard=card)
    response = client_for(world.sam).post(f"/performance/scorecards/{card.pk}/", {
        "action": "followup", "on": "2026-12-05", "progress": "30", "notes": "已拜访两家"})
    assert response.status_code == 302
    assert FollowUp.objects.get(plan=plan).progress == 30
    page = bob.get(f"/performance/scorecards/{card.pk}/", **EN).content.decode()
    assert "每周拜访 A 类客户两次" in page and "已拜访两家" in page


def test_appeal_and_the_directors_answer(world, diana, scored_period, client_for):
    card = _feedback(scored_period, world, diana, client_for, world.bob)
    bob = client_for(world.bob)
    # an empty appeal is shown in place, nothing written
    before = _state()
    response = bob.post(f"/performance/scorecards/{card.pk}/", {"action": "appeal", "text": ""}, **ZH)
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert _state() == before
    assert bob.post(f"/performance/scorecards/{card.pk}/", {"action": "appeal", "text": "预测数据缺失不应扣分"}
                    ).status_code == 302
    # the supervisor cannot answer it where a director exists; the director can
    before = _state()
    response = client_for(world.sam).post(f"/performance/scorecards/{card.pk}/", {
        "action": "resolve", "decision": "changed", "total": "60", "reason": "同意"})
    assert response.status_code == 403
    assert _state() == before
    director = client_for(diana)
    response = director.post(f"/performance/scorecards/{card.pk}/", {
        "action": "resolve", "decision": "changed", "total": "", "reason": "同意"})
    assert response.status_code == 422  # the new total is missing
    response = director.post(f"/performance/scorecards/{card.pk}/", {
        "action": "resolve", "decision": "changed", "total": "60", "reason": "预测系统当月故障"})
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.calibrated_total == Decimal("60.00") and card.status == "resolved"


@pytest.mark.parametrize("persona,action,status", [
    ("alice", "acknowledge", 404), ("carol", "acknowledge", 404), ("audrey", "acknowledge", 403),
    ("sam", "acknowledge", 403), ("bob", "feedback", 403), ("audrey", "feedback", 403),
    ("alice", "feedback", 404), ("audrey", "plan", 403), ("carol", "plan", 404)])
def test_refused_scorecard_actions_change_nothing(world, diana, scored_period, client_for, persona, action, status):
    card = _feedback(scored_period, world, diana, client_for, world.bob)
    user = world.person(persona)
    before = _state()
    data = {"action": action, "comment": "", "held_at": _now(), "notes": "x", "goals": "x",
            "start": "2026-12-01", "end": "2026-12-31"}
    assert client_for(user).post(f"/performance/scorecards/{card.pk}/", data).status_code == status
    assert _state() == before


def test_plan_bad_dates_shown_in_place(world, diana, scored_period, client_for):
    card = _feedback(scored_period, world, diana, client_for, world.bob)
    before = _state()
    response = client_for(world.bob).post(f"/performance/scorecards/{card.pk}/", {
        "action": "plan", "goals": "x", "start": "2027-02-01", "end": "2026-12-01"}, **ZH)
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert _state() == before


def test_manual_scores_with_the_rubric(world, diana, fake_metrics, client_for):
    skills = Scheme.objects.get(code="semiannual_skills")
    period = services.period_create(actor=world.sam, scheme_id=skills.pk, day=last_month(), team_id=world.team_a.pk)
    services.period_score(actor=world.sam, period_id=period.pk)
    card = _card(period, world.alice)
    spec = period.version.spec_obj()
    manual = [d.code for d in spec.dimensions if d.kind == "manual"]
    sam = client_for(world.sam)
    page = sam.get(f"/performance/scorecards/{card.pk}/", **ZH).content.decode()
    assert 'value="manual"' in page
    # out of range: shown on its field, nothing written
    before = _state()
    response = sam.post(f"/performance/scorecards/{card.pk}/", {"action": "manual", manual[0]: "150"}, **ZH)
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert _state() == before
    response = sam.post(f"/performance/scorecards/{card.pk}/", {"action": "manual", **{c: "85" for c in manual}})
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.manual_scores == {c: "85.00" for c in manual} or all(
        Decimal(card.manual_scores[c]) == 85 for c in manual)
    # nobody scores themselves, and the person does not score at all
    before = _state()
    assert client_for(world.alice).post(f"/performance/scorecards/{card.pk}/",
                                        {"action": "manual", manual[0]: "100"}).status_code == 404
    assert _state() == before


# --- trends -------------------------------------------------------------------------------------------------------

def test_trends(world, diana, scored_period, client_for):
    page = client_for(world.sam).get(f"/performance/people/{world.alice.pk}/trend/").content.decode()
    assert 'data-chart="trend"' in page
    assert client_for(world.carol).get(f"/performance/people/{world.alice.pk}/trend/").status_code == 404
    assert client_for(world.alice).get(f"/performance/people/{world.alice.pk}/trend/").status_code == 200
    team = client_for(world.sam).get(f"/performance/teams/{world.team_a.pk}/trend/").content.decode()
    assert 'data-chart="trend"' in team
    # the trend shows the same team average as the period's page (one rounding, in the selector)
    period_page = client_for(world.sam).get(f"/performance/periods/{scored_period.pk}/").content.decode()
    shown = re.search(r'<div class="figure">\s*(?:<[^>]+>)*\s*([0-9.]+)', period_page)
    assert shown and shown.group(1) in team
    assert client_for(world.alice).get(f"/performance/teams/{world.team_a.pk}/trend/").status_code == 403
    assert client_for(world.carol).get(f"/performance/teams/{world.team_a.pk}/trend/").status_code == 403


# --- export -------------------------------------------------------------------------------------------------------

def test_export_needs_the_export_right(world, diana, scored_period, client_for):
    url = f"/performance/periods/{scored_period.pk}/export/"
    assert client_for(world.audrey).get(url + "?format=csv").status_code == 403
    world.audrey.can_export = True
    world.audrey.save(update_fields=["can_export"])
    # not released yet: nothing goes to payroll, and nothing is recorded as exported
    refused = client_for(world.audrey).get(url + "?format=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 409 and "not released yet" in refused.content.decode()
    assert not AuditEvent.objects.filter(action="performance.payroll.export").exists()
    released(scored_period, world, diana)
    response = client_for(world.audrey).get(url + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert AuditEvent.objects.filter(action="performance.payroll.export", actor=world.audrey).count() == 1
    assert world.alice.full_name in response.content.decode("utf-8-sig")
    xlsx = client_for(world.audrey).get(url + "?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client_for(world.carol).get(url).status_code == 404


# --- schemes ------------------------------------------------------------------------------------------------------

def _spec_text(scheme, **change):
    spec = dict(scheme.current_version.spec)
    spec.update(change)
    return json.dumps(spec, ensure_ascii=False)


def test_hr_adds_a_version_and_makes_it_current(world, client_for, monthly):
    hanna = client_for(world.hanna)
    spec = dict(monthly.current_version.spec)
    spec["coaching_below"] = "65"
    response = hanna.post(f"/performance/schemes/{monthly.pk}/versions/new/",
                          {"spec": json.dumps(spec), "note": "辅导线提高到 65"})
    version = SchemeVersion.objects.get(scheme=monthly, number=2)
    assert response.status_code == 302 and response["Location"] == f"/performance/schemes/{monthly.pk}/versions/2/"
    monthly.refresh_from_db()
    assert monthly.current_version.number == 1  # not made current unless asked
    assert hanna.post(f"/performance/schemes/{monthly.pk}/", {"action": "activate", "version": version.pk}
                      ).status_code == 302
    monthly.refresh_from_db()
    assert monthly.current_version_id == version.pk


@pytest.mark.parametrize("lang", [EN, ZH])
def test_scheme_errors_are_named_per_field_in_the_users_language(world, client_for, monthly, lang):
    spec = dict(monthly.current_version.spec)
    dims = [dict(d) for d in spec["dimensions"]]
    dims[0]["weight"] = "50"  # the weights no longer add up to 100
    dims[1] = dict(dims[1], kind="formula", formula="sales_completion + nonsense_metric")
    spec["dimensions"] = dims
    before = _state()
    response = client_for(world.hanna).post(f"/performance/schemes/{monthly.pk}/versions/new/",
                                            {"spec": json.dumps(spec), "note": ""}, **lang)
    assert response.status_code == 422
    page = response.content.decode()
    errors = page[page.index("data-spec-errors"):]
    errors = errors[:errors.index("</ul>")]
    assert "nonsense_metric" in errors
    assert ("Dimension 2" in errors) if lang is EN else ("第 2 个维度" in errors)
    assert _state() == before


def test_scheme_json_that_does_not_parse_is_shown_in_place(world, client_for, monthly):
    before = _state()
    response = client_for(world.hanna).post(f"/performance/schemes/{monthly.pk}/versions/new/",
                                            {"spec": "{\"code\": ", "note": ""}, **ZH)
    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert _state() == before


def test_new_scheme_from_a_preset(world, client_for):
    hanna = client_for(world.hanna)
    page = hanna.get("/performance/schemes/new/?preset=kpi_okr").content.decode()
    assert "kpi_okr_custom" in page
    from kamguard.performance.domain import PRESETS, spec_to_dict

    spec = spec_to_dict(next(p for p in PRESETS if p.code == "kpi_okr"))
    spec["code"] = "kpi_okr_sales"
    response = hanna.post("/performance/schemes/new/", {"spec": json.dumps(spec), "note": "销售部 KPI"})
    scheme = Scheme.objects.get(code="kpi_okr_sales")
    assert response.status_code == 302 and response["Location"] == f"/performance/schemes/{scheme.pk}/"


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey", "carol"])
def test_only_hr_and_administrators_change_schemes(world, client_for, monthly, persona):
    client = client_for(world.person(persona))
    before = _state()
    assert client.get(f"/performance/schemes/{monthly.pk}/versions/new/").status_code == 403
    assert client.post(f"/performance/schemes/{monthly.pk}/versions/new/",
                       {"spec": json.dumps(monthly.current_version.spec), "note": ""}).status_code == 403
    assert client.post("/performance/schemes/new/", {"spec": "{}", "note": ""}).status_code == 403
    version = monthly.current_version
    assert client.post(f"/performance/schemes/{monthly.pk}/", {"action": "activate", "version": version.pk}
                       ).status_code == 403
    assert _state() == before
    assert client.get("/performance/schemes/").status_code == 200  # everyone reads the schemes


# --- no English left on the Chinese pages -------------------------------------------------------------------------

ENGLISH = re.compile(r"\b[A-Za-z][a-z]{3,}(?:\s+[a-z]{2,})*\b")


def _words(html: str) -> set[str]:
    """English words in the page's main text; code (metric codes, JSON keys), the JSON editor and choices aside."""
    main = html[html.index("<main"):]
    main = re.sub(r"<(textarea|code|script|select)[^>]*>.*?</\1>", " ", main, flags=re.S)
    main = re.sub(r'<td class="mono">.*?</td>', " ", main, flags=re.S)
    return set(ENGLISH.findall(re.sub(r"<[^>]+>", " ", main).replace("&nbsp;", " ")))


def test_no_english_left_on_the_chinese_pages(world, diana, scored_period, client_for):
    released(scored_period, world, diana)
    card = _card(scored_period, world.bob)
    scheme = scored_period.scheme_id
    left = {}
    for who, url in (("sam", "/performance/"), ("sam", f"/performance/periods/{scored_period.pk}/"),
                     ("sam", f"/performance/periods/{scored_period.pk}/calibration/"),
                     ("sam", f"/performance/scorecards/{card.pk}/"), ("bob", f"/performance/scorecards/{card.pk}/"),
                     ("bob", "/performance/"), ("sam", f"/performance/people/{world.bob.pk}/trend/"),
                     ("sam", f"/performance/teams/{world.team_a.pk}/trend/"), ("sam", "/performance/periods/new/"),
                     ("hanna", "/performance/schemes/"), ("hanna", f"/performance/schemes/{scheme}/"),
                     ("hanna", f"/performance/schemes/{scheme}/versions/new/"), ("hanna", "/performance/schemes/new/"),
                     ("audrey", "/performance/")):
        words = _words(client_for(world.person(who)).get(url, **ZH).content.decode())
        if words:
            left[f"{who} {url}"] = sorted(words)
    assert not left, left


def test_supervisor_closes_the_plan_and_signs_the_period_off(world, diana, scored_period, client_for):
    card = _feedback(scored_period, world, diana, client_for, world.bob)
    bob, sam = client_for(world.bob), client_for(world.sam)
    assert bob.post(f"/performance/scorecards/{card.pk}/", {"action": "acknowledge", "comment": ""}).status_code == 302
    bob.post(f"/performance/scorecards/{card.pk}/", {"action": "plan", "goals": "提高预测准确率",
                                                     "start": "2026-12-01", "end": "2027-02-28"})
    plan = ImprovementPlan.objects.get(scorecard=card)
    # the person may not close their own plan
    before = _state()
    assert bob.post(f"/performance/scorecards/{card.pk}/", {"action": "close", "outcome": "完成"}).status_code == 403
    assert _state() == before
    assert sam.post(f"/performance/scorecards/{card.pk}/", {"action": "close", "outcome": "预测已按月提交"}
                    ).status_code == 302
    plan.refresh_from_db()
    assert plan.status == "closed" and plan.outcome == "预测已按月提交"
    # sign-off freezes the period: its steps and the scorecards' forms are gone
    assert sam.post(f"/performance/periods/{scored_period.pk}/", {"action": "sign_off"}).status_code == 302
    scored_period.refresh_from_db()
    assert scored_period.status == PeriodStatus.SIGNED_OFF
    page = sam.get(f"/performance/periods/{scored_period.pk}/").content.decode()
    assert "data-action=" not in page
    alice = _card(scored_period, world.alice)
    before = _state()
    response = sam.post(f"/performance/periods/{scored_period.pk}/calibration/",
                        {"card": alice.pk, f"c{alice.pk}-dimension": "", f"c{alice.pk}-after": "50",
                         f"c{alice.pk}-reason": "签核之后"})
    assert response.status_code == 403
    assert sam.post(f"/performance/scorecards/{alice.pk}/", {"action": "feedback", "notes": "x",
                                                            "held_at": _now()}).status_code == 403
    assert _state() == before


def test_period_and_calibration_pages_search_people(world, diana, scored_period, client_for):
    sam = client_for(world.sam)
    alice, bob = _card(scored_period, world.alice), _card(scored_period, world.bob)
    for url in (f"/performance/periods/{scored_period.pk}/", f"/performance/periods/{scored_period.pk}/calibration/"):
        page = sam.get(url, {"q": world.bob.full_name}).content.decode()
        assert f'data-card="{bob.pk}"' in page and f'data-card="{alice.pk}"' not in page, url
        assert "Nobody matches." in sam.get(url, {"q": "nobody-like-this"}, **EN).content.decode()
    # after a calibration the page opens where the person now stands
    response = sam.post(f"/performance/periods/{scored_period.pk}/calibration/",
                        {"card": bob.pk, f"c{bob.pk}-dimension": "", f"c{bob.pk}-after": "99",
                         f"c{bob.pk}-reason": "全年最大单在本月签约"})
    assert response["Location"] == f"/performance/periods/{scored_period.pk}/calibration/?page=1#card-{bob.pk}"


def test_a_whole_department_can_be_assessed(world, diana, fake_metrics, monthly, client_for):
    sam = client_for(world.sam)
    page = sam.get("/performance/periods/new/").content.decode()
    assert f'value="d{world.east.pk}"' in page and f'value="d{world.west.pk}"' not in page
    response = sam.post("/performance/periods/new/", {"scheme": monthly.pk, "team": f"d{world.east.pk}",
                                                      "day": last_month().isoformat()})
    period = Period.objects.get(scheme=monthly, department=world.east, team__isnull=True)
    assert response.status_code == 302 and response["Location"] == f"/performance/periods/{period.pk}/"
    assert sam.get(f"/performance/periods/{period.pk}/").status_code == 200
