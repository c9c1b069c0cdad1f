"""The review of issue 8, finding by finding: each test failed before its fix.

- a supervisor who is assessed in a period themselves neither scores, calibrates, releases nor signs it off, and
  re-scoring no longer drops the one who scores from the members (HIGH 3);
- posted ids in Unicode digits ("²") are not found, never a 500 (MEDIUM 5);
- a feedback time without a time zone is the current zone's; one before the release is refused (MEDIUM 6);
- huge numbers in a scheme are refused, arithmetic overflow gives no score, and one bad period does not stop
  the nightly re-scoring of the others (MEDIUM 7);
- a write to a scorecard the actor may not see is not found, like an unknown id (LOW 9).
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kamguard.core.errors import NotFound, PermissionRefused
from kamguard.org.models import User
from kamguard.performance import domain, services
from kamguard.performance.models import Calibration, FeedbackMeeting, Period, PeriodStatus, Scheme, Scorecard
from kamguard.performance.tests.conftest import card_of, last_month, released
from kamguard.performance.views import period_actions, scorecard_actions

pytestmark = pytest.mark.django_db
BASE = "/api/v1/performance"
D = Decimal


def _json(client: Any, url: str, body: Any, method: str = "post", **extra: Any) -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **extra)


def _cards(period: Period) -> list[Any]:
    return list(Scorecard.objects.filter(period=period).order_by("user_id").values_list(
        "user_id", "computed_total", "calibrated_total", "rank", "status"))


# ---------------------------------------------------------------- HIGH 3: a member never runs their own period


@pytest.fixture
def tom(world: Any) -> Any:
    """A manager of team A who also holds the supervisor role (under sam)."""
    from conftest import _make_user

    return _make_user("tom", "Tom", ["manager", "supervisor"], department=world.east, team=world.team_a,
                      supervisor=world.sam)


def test_a_supervisor_assessed_in_the_period_takes_none_of_its_steps(world: Any, diana: Any, fake_metrics: Any,
                                                                     monthly: Any, tom: Any) -> None:
    with pytest.raises(PermissionRefused) as err:
        services.period_create(actor=tom, scheme_id=monthly.pk, day=last_month(), team_id=world.team_a.pk)
    assert err.value.code == "period_member"
    period = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=last_month(),
                                    team_id=world.team_a.pk)
    services.period_score(actor=world.sam, period_id=period.pk)
    assert Scorecard.objects.filter(period=period, user=tom).exists()
    before = _cards(period)
    with pytest.raises(PermissionRefused) as err:  # re-scoring would have deleted his own card
        services.period_score(actor=tom, period_id=period.pk)
    assert err.value.code == "period_member"
    bob = card_of(period, world.bob)
    with pytest.raises(PermissionRefused) as err:  # nor does he calibrate a ranked teammate
        services.calibration_record(actor=tom, scorecard_id=bob.pk, after="10", reason="lower my rival")
    assert err.value.code == "period_member"
    with pytest.raises(PermissionRefused):
        services.period_calibration_submit(actor=tom, period_id=period.pk)
    assert _cards(period) == before and Calibration.objects.count() == 0
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.SCORED
    tom_page = User.objects.get(pk=tom.pk)
    assert period_actions(tom_page, Period.objects.get(pk=period.pk)) == []
    assert scorecard_actions(tom_page, card_of(period, world.bob)) & {"manual", "calibrate", "feedback"} == set()
    # the supervisor above them all runs it; tom's card stays
    released(period, world, diana)
    with pytest.raises(PermissionRefused):
        services.feedback_record(actor=tom, scorecard_id=bob.pk, notes="x")
    with pytest.raises(PermissionRefused):
        services.period_sign_off(actor=tom, period_id=period.pk)
    assert FeedbackMeeting.objects.count() == 0
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.FEEDBACK
    assert Scorecard.objects.filter(period=period, user=tom).exists()


# ---------------------------------------------------------------- MEDIUM 5: Unicode digits


def test_unicode_digit_ids_posted_to_the_pages_are_not_found(world: Any, scored_period: Any,
                                                               client_for: Any) -> None:
    sam = client_for(world.person("sam"))
    before = _cards(scored_period)
    for text in ("²", "٣", "9" * 30):
        response = sam.post(f"/performance/periods/{scored_period.pk}/calibration/", {"card": text})
        assert response.status_code == 404, text
    scheme = Scheme.objects.get(code="monthly_percent")
    hanna = client_for(world.person("hanna"))
    for text in ("²", "9" * 30):
        response = hanna.post(f"/performance/schemes/{scheme.pk}/", {"action": "activate", "version": text})
        assert response.status_code == 404, text
    assert _cards(scored_period) == before


# ---------------------------------------------------------------- MEDIUM 6: the feedback meeting's time


def test_feedback_time_without_a_zone_and_before_the_release(world: Any, diana: Any, scored_period: Any,
                                                             client_for: Any) -> None:
    released(scored_period, world, diana)
    sam = client_for(world.person("sam"))
    card = card_of(scored_period, world.alice)
    url = f"{BASE}/scorecards/{card.pk}/feedback"
    for held_at in ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00", "2020-01-01T10:00:00",
                    (timezone.now() + dt.timedelta(days=1)).isoformat()):
        response = _json(sam, url, {"notes": "x", "held_at": held_at})
        assert response.status_code == 422, (held_at, response.content)
        assert [e["field"] for e in response.json()["errors"]] == ["held_at"]
    assert FeedbackMeeting.objects.count() == 0
    naive = timezone.localtime().replace(tzinfo=None, microsecond=0).isoformat()
    response = _json(sam, url, {"notes": "x", "held_at": naive})
    assert response.status_code == 201, response.content
    meeting = FeedbackMeeting.objects.get()
    assert timezone.is_aware(meeting.held_at)
    assert timezone.localtime(meeting.held_at).replace(tzinfo=None).isoformat() == naive
    assert client_for(world.person("sam")).get(f"/performance/scorecards/{card.pk}/").status_code == 200


# ---------------------------------------------------------------- MEDIUM 7: huge numbers


def _spec(**dim0: Any) -> dict[str, Any]:
    spec = copy.deepcopy(domain.spec_to_dict(domain.preset("monthly_percent")))  # type: ignore[arg-type]
    spec["code"] = "probe"
    spec["dimensions"][0].update(dim0)
    return spec


@pytest.mark.parametrize("change,field", [
    ({"formula": "1e999999999 * 1e999999999"}, "dimensions[0].formula"),
    ({"formula": "sales_completion * 10000000000000"}, "dimensions[0].formula"),
    ({"bands": [{"min_value": "1e999999999", "score": "10"}]}, "dimensions[0].bands[0].min_value"),
    ({"bands": [{"min_value": "1e-999999999", "score": "10"}]}, "dimensions[0].bands[0].min_value"),
])
def test_huge_numbers_in_a_scheme_are_refused(world: Any, client_for: Any, change: dict[str, Any],
                                              field: str) -> None:
    count = Scheme.objects.count()
    response = _json(client_for(world.person("hanna")), f"{BASE}/schemes", {"spec": _spec(**change)})
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Scheme.objects.count() == count


def test_overflow_gives_no_value_and_huge_values_still_score() -> None:
    big = domain.formula_parse("a * a * a")
    assert domain.formula_evaluate(big, {"a": D("1e999990")}) is None  # beyond the exponent range: no value
    dim = domain.DimensionSpec(code="x", name_en="x", name_zh="x", weight=D(100), kind="formula",
                               formula="a * 1000000000000 * 1000000000000 * 1000000000000")
    result = domain.dimension_score(dim, {"a": D("2")}, None)
    assert result.value == D("2e36") and result.score == D("100.00")


def test_one_period_that_fails_does_not_stop_the_nightly_rescoring(world: Any, fake_metrics: Any, monthly: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    today = timezone.localdate()
    first = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=today, team_id=world.team_a.pk)
    second = services.period_create(actor=world.sam, scheme_id=monthly.pk, day=today, team_id=world.team_hz.pk)
    real = services.period_score

    def failing(*, actor: Any, period_id: int) -> Period:
        if period_id == first.pk:
            raise decimal.Overflow("a bad scheme")
        return real(actor=actor, period_id=period_id)

    monkeypatch.setattr(services, "period_score", failing)
    assert services.periods_refresh(actor=None, today=today) == [second.pk]
    assert Period.objects.get(pk=second.pk).status == PeriodStatus.SCORED
    assert Period.objects.get(pk=first.pk).status == PeriodStatus.OPEN


# ---------------------------------------------------------------- LOW 9: ids cannot be confirmed by guessing


def test_writes_to_an_unseen_scorecard_are_not_found_like_an_unknown_id(world: Any, diana: Any, scored_period: Any,
                                                                        client_for: Any) -> None:
    released(scored_period, world, diana)
    services.feedback_record(actor=world.sam, scorecard_id=card_of(scored_period, world.bob).pk, notes="x")
    alice = client_for(world.person("alice"))
    bob_card = card_of(scored_period, world.bob).pk
    before = _cards(scored_period)
    meetings = FeedbackMeeting.objects.count()
    for card_id in (bob_card, 999_999):
        assert _json(alice, f"{BASE}/scorecards/{card_id}/acknowledge", {"comment": ""}).status_code == 404
        assert _json(alice, f"{BASE}/scorecards/{card_id}/appeal", {"text": "x"}).status_code == 404
        assert _json(alice, f"{BASE}/scorecards/{card_id}/feedback", {"notes": "x"}).status_code == 404
        assert _json(alice, f"{BASE}/scorecards/{card_id}/manual-scores/attitude", {"score": "50"},
                     method="put").status_code == 404
    with pytest.raises(NotFound):
        services.scorecard_acknowledge(actor=world.alice, scorecard_id=bob_card)
    assert _cards(scored_period) == before and FeedbackMeeting.objects.count() == meetings
