"""Scoring: bands, clipping, re-weighting, grades, flags, ranking, distribution, validation and JSON round-trip."""

import dataclasses
from decimal import Decimal as D

import pytest

from kamguard.performance.domain import (
    METRICS,
    PRESETS,
    Band,
    DimensionSpec,
    GradeBand,
    RubricLevel,
    SchemeSpec,
    SpecFormatError,
    dimension_score,
    grade_distribution,
    manual_score_errors,
    metric_explain,
    preset,
    rank,
    scheme_errors,
    scorecard_compute,
    spec_from_dict,
    spec_to_dict,
)
from kamguard.performance.domain.scoring import MANUAL_SCORE_MESSAGES_ZH

KNOWN = frozenset(METRICS)
GRADES = (
    GradeBand("A", D(90), "Excellent", "优秀"),
    GradeBand("B", D(75), "Good", "良好"),
    GradeBand("C", D(0), "Other", "其他"),
)
RUBRIC = (RubricLevel(D(90), "Great", "很好"), RubricLevel(D(50), "Weak", "较弱"))


def fdim(code, weight, formula, bands=()):
    return DimensionSpec(code, code, code, D(weight), "formula", formula=formula, bands=bands)


def mdim(code, weight, formula=""):
    return DimensionSpec(code, code, code, D(weight), "manual", formula=formula, rubric=RUBRIC)


def scheme(*dims, grades=GRADES, coaching=60, incentive=90):
    return SchemeSpec("s", "S", "方案", "month", "percent", tuple(dims), grades, D(coaching), D(incentive))


BANDS = (Band(D(100), D(100)), Band(D(90), D(80)), Band(D(50), D(40)))


@pytest.mark.parametrize(
    ("value", "score", "band_index"),
    [(D(120), D(100), 0), (D(100), D(100), 0), (D("99.99"), D(80), 1), (D(90), D(80), 1), (D(50), D(40), 2),
     (D(49), D(0), None)],
)
def test_bands_first_threshold_not_above_the_value_gives_the_score(value, score, band_index):
    result = dimension_score(fdim("d", 100, "sales_completion", BANDS), {"sales_completion": value}, None)
    assert (result.value, result.score, result.band_index) == (value, score, band_index)


@pytest.mark.parametrize(("value", "score"), [(D(-5), D(0)), (D("55.555"), D("55.56")), (D(130), D(100))])
def test_without_bands_the_value_is_clipped_to_0_100(value, score):
    result = dimension_score(fdim("d", 100, "x"), {"x": value}, None)
    assert result.score == score


def test_dimension_without_data_names_the_missing_metrics():
    result = dimension_score(fdim("d", 100, "min(a, b)"), {"a": D(1), "b": None}, None)
    assert (result.value, result.score, result.missing) == (None, None, ("b",))
    zero = dimension_score(fdim("d", 100, "a / b"), {"a": D(1), "b": D(0)}, None)
    assert (zero.score, zero.missing, zero.division_by_zero) == (None, (), True)


def test_manual_dimension_scores_by_hand_and_shows_its_reference_value():
    dim = mdim("m", 100, formula="data_quality")
    unscored = dimension_score(dim, {"data_quality": D(70)}, None)
    assert (unscored.value, unscored.score) == (D(70), None)
    scored = dimension_score(dim, {"data_quality": D(70)}, D("85.5"))
    assert (scored.value, scored.score) == (D(70), D("85.50"))
    with pytest.raises(ValueError):
        dimension_score(dim, {}, D(101))


def test_total_grade_and_points_when_everything_is_scored():
    spec = scheme(fdim("a", 60, "x"), mdim("b", 40))
    result = scorecard_compute(spec, {"x": D(80)}, {"b": D(95)})
    assert result.total == D("86.00")  # (60*80 + 40*95) / 100
    assert result.grade == "B"
    assert result.complete and not result.reweighted
    assert [d.points for d in result.dimensions] == [D("48.00"), D("38.00")]
    assert [d.effective_weight for d in result.dimensions] == [D("60.00"), D("40.00")]
    assert not result.coaching and not result.incentive


def test_weight_of_a_dimension_without_data_is_spread_in_proportion():
    spec = scheme(fdim("a", 50, "x"), fdim("b", 30, "y"), fdim("c", 20, "z"))
    result = scorecard_compute(spec, {"x": D(100), "y": D(50), "z": None}, {})
    assert result.total == D("81.25")  # (50*100 + 30*50) / 80
    assert result.scored_weight == D(80)
    assert result.reweighted
    assert [d.effective_weight for d in result.dimensions] == [D("62.50"), D("37.50"), None]
    assert result.dimensions[2].missing == ("z",)
    assert sum(d.points for d in result.dimensions if d.points is not None) == result.total


def test_incomplete_until_every_manual_dimension_is_scored_and_flags_wait():
    spec = scheme(fdim("a", 50, "x"), mdim("b", 50))
    provisional = scorecard_compute(spec, {"x": D(20)}, {})
    assert provisional.total == D("20.00")
    assert not provisional.complete
    assert not provisional.coaching  # a provisional total flags nobody
    final = scorecard_compute(spec, {"x": D(20)}, {"b": D(40)})
    assert final.complete and final.total == D("30.00") and final.coaching and final.grade == "C"


def test_no_score_at_all_gives_no_total():
    result = scorecard_compute(scheme(fdim("a", 100, "x")), {}, {})
    assert (result.total, result.grade, result.coaching, result.incentive) == (None, None, False, False)
    assert result.complete


@pytest.mark.parametrize(
    ("score", "coaching", "incentive", "grade"),
    [(D("59.99"), True, False, "C"), (D(60), False, False, "C"), (D("89.99"), False, False, "B"),
     (D(90), False, True, "A")],
)
def test_flags_at_their_thresholds(score, coaching, incentive, grade):
    result = scorecard_compute(scheme(fdim("a", 100, "x")), {"x": score}, {})
    assert (result.coaching, result.incentive, result.grade) == (coaching, incentive, grade)


def test_manual_score_errors():
    dim = mdim("m", 100)
    assert manual_score_errors(dim, D(0)) == []
    assert manual_score_errors(dim, D(100)) == []
    assert manual_score_errors(dim, D("99.25")) == []
    assert manual_score_errors(dim, D("100.01")) == ["The score must be a number between 0 and 100."]
    assert manual_score_errors(dim, D(-1)) == ["The score must be a number between 0 and 100."]
    assert manual_score_errors(dim, D("NaN")) == ["The score must be a number between 0 and 100."]
    assert manual_score_errors(dim, D("50.125")) == ["The score may have at most two decimal places."]
    assert manual_score_errors(fdim("f", 100, "x"), D(50)) == ["This dimension is scored from the data, not by hand."]
    for message in ("The score must be a number between 0 and 100.", "The score may have at most two decimal places.",
                    "This dimension is scored from the data, not by hand."):
        assert message in MANUAL_SCORE_MESSAGES_ZH


def test_rank_ties_share_and_none_is_unranked():
    ranks = rank({1: D(80), 2: D(95), 3: D(80), 4: None, 5: D(70)})
    assert ranks == {2: 1, 1: 2, 3: 2, 5: 4}
    assert rank({}) == {}


def test_grade_distribution_over_the_graded():
    rows = grade_distribution(["A", "B", "B", None, "C"], scheme(fdim("a", 100, "x")))
    assert rows == [("A", 1, D("25.0")), ("B", 2, D("50.0")), ("C", 1, D("25.0"))]
    assert grade_distribution([], scheme(fdim("a", 100, "x")))[0] == ("A", 0, D("0.0"))


def codes(errors):
    return [(e.field, e.code) for e in errors]


def test_a_valid_scheme_has_no_errors():
    assert scheme_errors(scheme(fdim("a", 60, "sales_completion", BANDS), mdim("b", 40)), KNOWN) == []


def test_weights_not_adding_up_to_100():
    errors = scheme_errors(scheme(fdim("a", 60, "visit_count"), fdim("b", "39.5", "visit_count")), KNOWN)
    assert codes(errors) == [("dimensions", "weights_sum")]
    assert "99.5" in errors[0].message_en and "99.5" in errors[0].message_zh


def test_every_problem_with_its_path():
    bad = SchemeSpec(
        code="Bad Code",
        name_en="",
        name_zh="方案",
        period_type="week",
        presentation="stars",
        dimensions=(
            fdim("a", 0, "no_such_metric + visit_count"),
            fdim("a", 50, "visit_count **"),
            DimensionSpec("c", "c", "c", D(50), "formula", formula="visit_count",
                          bands=(Band(D(10), D(50)), Band(D(20), D(120)))),
            DimensionSpec("d", "d", "d", D(10), "manual", rubric=(RubricLevel(D(150), "x", "x"),)),
            DimensionSpec("e", "e", "e", D(10), "manual"),
            DimensionSpec("f", "f", "f", D(10), "guess", formula="visit_count", rubric=RUBRIC),
        ),
        grades=(GradeBand("A", D(50), "A", "甲"), GradeBand("A", D(60), "B", "乙")),
        coaching_below=D(95),
        incentive_from=D(120),
    )
    found = codes(scheme_errors(bad, KNOWN))
    for expected in [
        ("code", "code_invalid"),
        ("name_en", "required"),
        ("period_type", "choice"),
        ("presentation", "choice"),
        ("dimensions[0].weight", "weight_range"),
        ("dimensions[0].formula", "unknown_metric"),
        ("dimensions[1].code", "duplicate_code"),
        ("dimensions[1].formula", "formula_syntax"),
        ("dimensions[2].bands[1].min_value", "bands_order"),
        ("dimensions[2].bands[1].score", "range"),
        ("dimensions[3].rubric[0].score", "range"),
        ("dimensions[4].rubric", "required"),
        ("dimensions[5].kind", "choice"),
        ("dimensions[5].rubric", "rubric_not_allowed"),
        ("grades[1].grade", "duplicate_code"),
        ("grades[1].min_total", "grades_order"),
        ("grades[1].min_total", "grades_floor"),
        ("incentive_from", "range"),
    ]:
        assert expected in found, expected
    # the weights are not summed while one of them is itself wrong
    assert ("dimensions", "weights_sum") not in found
    for error in scheme_errors(bad, KNOWN):
        assert error.message_en and error.message_zh


def test_unknown_metric_message_names_it_in_both_languages():
    [error] = scheme_errors(scheme(fdim("a", 100, "min(sales_completion, sales_complete)")), KNOWN)
    assert (error.field, error.code) == ("dimensions[0].formula", "unknown_metric")
    assert "sales_complete" in error.message_en and "sales_complete" in error.message_zh


def test_thresholds_in_order_and_bands_only_on_formulas():
    spec = scheme(
        DimensionSpec("m", "m", "m", D(100), "manual", rubric=RUBRIC, bands=BANDS), coaching=80, incentive=70
    )
    found = codes(scheme_errors(spec, KNOWN))
    assert ("dimensions[0].bands", "bands_not_allowed") in found
    assert ("coaching_below", "thresholds_order") in found


def test_json_round_trip_of_every_preset():
    for spec in PRESETS:
        data = spec_to_dict(spec)
        assert spec_from_dict(data) == spec
        assert all(isinstance(d["weight"], str) for d in data["dimensions"])


def test_malformed_json_is_refused_with_paths():
    data = spec_to_dict(PRESETS[0])
    data["dimensions"][1]["weight"] = "ten"
    data["dimensions"][2]["bands"] = "none"
    data["grades"][0]["min_total"] = True
    del data["name_zh"]
    with pytest.raises(SpecFormatError) as caught:
        spec_from_dict(data)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"dimensions[1].weight", "dimensions[2].bands", "grades[0].min_total", "name_zh"}
    with pytest.raises(SpecFormatError):
        spec_from_dict([])
    numbers = spec_to_dict(PRESETS[0])
    numbers["dimensions"][0]["weight"] = 20  # JSON numbers are accepted too
    assert spec_from_dict(numbers) == PRESETS[0]


def test_presets_match_the_sources_and_pass_validation():
    assert [p.code for p in PRESETS] == [
        "monthly_percent", "quarterly_100", "semiannual_skills", "annual_comprehensive", "kpi_okr"]
    for spec in PRESETS:
        assert scheme_errors(spec, KNOWN) == [], spec.code
        assert spec.name_zh and spec.name_en
        for dim in spec.dimensions:
            assert dim.name_zh and dim.description_zh and dim.description_en
            for level in dim.rubric:
                assert level.text_en and level.text_zh
    monthly = preset("monthly_percent")
    assert monthly is not None and monthly.period_type == "month" and monthly.presentation == "percent"
    weights = {d.code: d.weight for d in monthly.dimensions}
    assert set(weights) == {"economic_results", "forecast_accuracy", "customer_management", "marketing_service",
                            "system_execution", "basic_data"}
    top = max(weights.values())
    assert {c for c, w in weights.items() if w == top} == {"customer_management", "marketing_service"}
    quarterly = preset("quarterly_100")
    assert quarterly is not None and quarterly.presentation == "points" and quarterly.period_type == "quarter"
    assert [d.code for d in quarterly.dimensions] == [d.code for d in monthly.dimensions]
    skills = preset("semiannual_skills")
    assert skills is not None and skills.period_type == "half_year"
    assert [d.code for d in skills.dimensions] == ["required_knowledge", "system_use", "tools", "analysis"]
    assert all(d.kind == "manual" and len(d.rubric) >= 3 for d in skills.dimensions)
    annual = preset("annual_comprehensive")
    assert annual is not None and annual.period_type == "year"
    assert {d.kind for d in annual.dimensions} == {"formula", "manual"}
    kpi = preset("kpi_okr")
    assert kpi is not None and any("okr_progress" in d.formula for d in kpi.dimensions)
    assert preset("nope") is None


def test_monthly_preset_scores_a_realistic_month():
    monthly = preset("monthly_percent")
    assert monthly is not None
    metrics = {
        "sales_completion": D("104"),  # band 100 -> 95
        "forecast_accuracy": D("82.5"),
        "tier_coverage": D(90), "disputes": D(1),  # 80
        "followup_frequency": D(2), "visit_count": D(15),  # 50 + 30 = 80
        "policy_compliance": D(100),
        "data_quality": None,  # no data: its 10 spread over the other 90
    }
    result = scorecard_compute(monthly, metrics, {})
    # (20*95 + 10*82.5 + 25*80 + 25*80 + 10*100) / 90 = 7725 / 90
    assert result.total == D("85.83")
    assert result.grade == "B"
    assert result.dimensions[-1].score is None and result.dimensions[-1].missing == ("data_quality",)


def test_metric_catalogue_explains_values_and_missing_data():
    assert set(METRICS) >= {
        "sales_amount", "sales_target", "sales_completion", "margin_rate", "collection_rate", "forecast_accuracy",
        "tier_coverage", "followup_frequency", "visit_count", "data_quality", "late_logs", "missing_logs",
        "violations", "policy_compliance", "log_quality", "plan_completion", "disputes", "transfers_out",
        "satisfaction", "okr_progress", "review_360"}
    for metric in METRICS.values():
        assert metric.unit in {"%", "count", "CNY", "score"}
        assert metric.name_zh and metric.explain_zh
    text = metric_explain("sales_completion", D(80), {"sales": "80000.00", "target": "100000.00"})
    assert text == "80000.00 CNY of orders against a target of 100000.00 CNY."
    assert "100000.00" in metric_explain("sales_completion", D(80), {"sales": "80000.00", "target": "100000.00"}, "zh")
    assert metric_explain("satisfaction", None, {"reason": "no_survey"}) == "No customer answered a satisfaction survey."
    assert metric_explain("satisfaction", None, {"reason": "no_survey"}, "zh-hans") == "没有客户回答满意度问卷。"
    assert "?" in metric_explain("sales_completion", D(1), {})  # a missing input never raises


def test_specs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS[0].code = "x"  # type: ignore[misc]
