"""Rule sets: parsing with precise problems, the JSON form, and matching (compiled and not)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kamguard.allocation.domain.rules import (
    FIELDS,
    MAX_RULES,
    OPERATORS,
    Condition,
    Rule,
    RuleSet,
    RuleSetInvalid,
    Subject,
    Target,
    rule_matches,
    ruleset_dump,
    ruleset_parse,
    ruleset_validate,
)

POOL = {"kind": "pool", "id": 1, "strategy": ""}


def one_rule(*conditions: dict[str, Any], target: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"rules": [{"key": "r1", "name": "rule one", "conditions": list(conditions),
                       "target": target or {"kind": "person", "id": 7, "strategy": ""}}],
            "fallback": POOL}


def problems_of(data: object) -> list[tuple[str, str]]:
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_parse(data)
    return [(p.path, p.code) for p in caught.value.problems]


def subject(region: tuple[str, ...] = ("440305", "440300", "440000"), **fields: object) -> Subject:
    return Subject("s", fields, region)


# ---------------------------------------------------------------- parsing


def test_a_valid_rule_set_parses_into_dataclasses() -> None:
    data = one_rule({"field": "region", "operator": "within", "value": "440000"},
                    {"field": "expected_value", "operator": "between", "value": ["100", "200.50"]},
                    target={"kind": "team", "id": 3, "strategy": "capacity"})
    ruleset = ruleset_parse(data)
    assert ruleset == RuleSet(
        (Rule("r1", "rule one", (Condition("region", "within", "440000"),
                                 Condition("expected_value", "between", (Decimal("100"), Decimal("200.50")))),
              Target("team", 3, "capacity")),),
        Target("pool", 1))
    assert ruleset_dump(ruleset) == data


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = {"rules": [
        {"key": "a", "conditions": [{"field": "colour", "operator": "eq", "value": "red"}],
         "target": {"kind": "person", "id": 1}},
        {"key": "b", "conditions": [{"field": "tier", "operator": "like", "value": "A"}],
         "target": {"kind": "team", "id": 2}},
    ]}
    assert problems_of(data) == [
        ("rules[0].conditions[0].field", "unknown_field"),
        ("rules[1].conditions[0].operator", "unknown_operator"),
        ("rules[1].target.strategy", "bad_strategy"),
        ("fallback", "no_fallback"),
    ]


@pytest.mark.parametrize(("condition", "code"), [
    ({"field": "colour", "operator": "eq", "value": "x"}, "unknown_field"),
    ({"operator": "eq", "value": "x"}, "unknown_field"),
    ({"field": "tier", "operator": "like", "value": "A"}, "unknown_operator"),
    ({"field": "tier", "value": "A"}, "unknown_operator"),
    ({"field": "tier", "operator": "gt", "value": "A"}, "operator_not_allowed"),
    ({"field": "region", "operator": "contains", "value": "44"}, "operator_not_allowed"),
    ({"field": "expected_value", "operator": "in", "value": ["1"]}, "operator_not_allowed"),
    ({"field": "name", "operator": "between", "value": ["a", "b"]}, "operator_not_allowed"),
    ({"field": "tier", "operator": "eq", "value": "D"}, "bad_value"),
    ({"field": "tier", "operator": "eq", "value": 1}, "bad_value"),
    ({"field": "size", "operator": "in", "value": ["large", "huge"]}, "bad_value"),
    ({"field": "channel", "operator": "eq", "value": "fax"}, "bad_value"),
    ({"field": "region", "operator": "within", "value": "Guangdong"}, "bad_value"),
    ({"field": "region", "operator": "eq", "value": 440000}, "bad_value"),
    ({"field": "industry", "operator": "eq", "value": "  "}, "bad_value"),
    ({"field": "expected_value", "operator": "gt", "value": "lots"}, "bad_value"),
    ({"field": "expected_value", "operator": "gt", "value": 1.5}, "bad_value"),
    ({"field": "expected_value", "operator": "gt", "value": True}, "bad_value"),
    ({"field": "expected_value", "operator": "gt", "value": "NaN"}, "bad_value"),
    ({"field": "expected_value", "operator": "between", "value": ["1"]}, "bad_range"),
    ({"field": "expected_value", "operator": "between", "value": "1-2"}, "bad_range"),
    ({"field": "expected_value", "operator": "between", "value": ["9", "2"]}, "bad_range"),
    ({"field": "tier", "operator": "in", "value": []}, "empty_list"),
    ({"field": "region", "operator": "not_in", "value": []}, "empty_list"),
    ({"field": "tier", "operator": "in", "value": "A"}, "bad_value"),
    ({"field": "name", "operator": "contains", "value": ""}, "bad_value"),
    ({"field": "size", "operator": "is_empty", "value": "yes"}, "bad_value"),
])
def test_a_bad_condition_names_its_problem_and_place(condition: dict[str, Any], code: str) -> None:
    problems = problems_of(one_rule(condition))
    assert len(problems) == 1
    path, found = problems[0]
    assert found == code
    assert path.startswith("rules[0].conditions[0].")


def test_between_with_equal_bounds_is_fine() -> None:
    ruleset = ruleset_parse(one_rule({"field": "expected_value", "operator": "between", "value": ["5", "5"]}))
    assert ruleset.rules[0].conditions[0].value == (Decimal(5), Decimal(5))


@pytest.mark.parametrize(("target", "path", "code"), [
    ({"kind": "robot", "id": 1}, "rules[0].target.kind", "bad_target"),
    ({"kind": "person", "id": 0}, "rules[0].target.id", "bad_target"),
    ({"kind": "person", "id": "7"}, "rules[0].target.id", "bad_target"),
    ({"kind": "person", "id": True}, "rules[0].target.id", "bad_target"),
    ({"kind": "team", "id": 1}, "rules[0].target.strategy", "bad_strategy"),
    ({"kind": "team", "id": 1, "strategy": "lottery"}, "rules[0].target.strategy", "bad_strategy"),
    ({"kind": "person", "id": 1, "strategy": "round_robin"}, "rules[0].target.strategy", "strategy_not_allowed"),
    ({"kind": "pool", "id": 1, "strategy": "first_come"}, "rules[0].target.strategy", "strategy_not_allowed"),
    ("person:1", "rules[0].target", "bad_target"),
])
def test_a_bad_target_names_its_problem(target: object, path: str, code: str) -> None:
    data = one_rule()
    data["rules"][0]["target"] = target
    assert problems_of(data) == [(path, code)]


def test_a_rule_without_target() -> None:
    data = one_rule()
    del data["rules"][0]["target"]
    assert problems_of(data) == [("rules[0].target", "bad_target")]


def test_no_fallback() -> None:
    assert problems_of({"rules": []}) == [("fallback", "no_fallback")]
    assert problems_of({"rules": [], "fallback": None}) == [("fallback", "no_fallback")]


def test_a_bad_fallback() -> None:
    assert problems_of({"rules": [], "fallback": {"kind": "team", "id": 4}}) == [("fallback.strategy", "bad_strategy")]


def test_duplicate_keys_even_when_the_rule_is_otherwise_wrong() -> None:
    rule = {"key": "same", "conditions": [], "target": {"kind": "person", "id": 1}}
    broken = {"key": "same", "conditions": [{"field": "x", "operator": "eq", "value": 1}],
              "target": {"kind": "person", "id": 1}}
    assert problems_of({"rules": [rule, broken], "fallback": POOL}) == [
        ("rules[1].conditions[0].field", "unknown_field"), ("rules[1].key", "duplicate_key")]


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 65, 5])
def test_bad_keys(key: object) -> None:
    data = one_rule()
    data["rules"][0]["key"] = key
    assert problems_of(data) == [("rules[0].key", "bad_key")]


def test_more_than_a_thousand_rules() -> None:
    rules = [{"key": f"r{i}", "name": "", "conditions": [], "target": POOL} for i in range(MAX_RULES + 1)]
    assert problems_of({"rules": rules, "fallback": POOL}) == [("rules", "too_many_rules")]
    assert len(ruleset_parse({"rules": rules[:MAX_RULES], "fallback": POOL}).rules) == MAX_RULES


def test_shapes_and_unknown_entries() -> None:
    assert problems_of([]) == [("", "bad_shape")]
    assert problems_of({"rules": {}, "fallback": POOL}) == [("rules", "bad_shape")]
    assert problems_of({"rules": ["x"], "fallback": POOL}) == [("rules[0]", "bad_shape")]
    assert problems_of({"rules": [], "fallback": POOL, "extra": 1}) == [("extra", "unknown_key")]
    data = one_rule({"field": "tier", "operator": "eq", "value": "A", "note": "?"})
    assert problems_of(data) == [("rules[0].conditions[0].note", "unknown_key")]


def test_problems_carry_a_message_and_parameters_for_translation() -> None:
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_parse(one_rule({"field": "tier", "operator": "gt", "value": "A"}))
    problem = caught.value.problems[0]
    assert "cannot be used on this field" in problem.message
    assert problem.params["field"] == "tier" and problem.params["operator"] == "gt"
    assert "rules[0].conditions[0].operator" in str(caught.value)


def test_every_field_allows_only_known_operators() -> None:
    for spec in FIELDS.values():
        assert spec.operators <= set(OPERATORS)


def test_decimals_are_read_from_strings_and_integers_and_dumped_as_strings() -> None:
    ruleset = ruleset_parse(one_rule({"field": "expected_value", "operator": "gte", "value": 250000}))
    assert ruleset.rules[0].conditions[0].value == Decimal(250000)
    assert ruleset_dump(ruleset)["rules"][0]["conditions"][0]["value"] == "250000"  # type: ignore[index]


def test_validate_a_rule_set_built_in_code() -> None:
    good = RuleSet((Rule("a", "", (Condition("tier", "eq", "A"),), Target("person", 1)),), Target("pool", 2))
    assert ruleset_validate(good) == []
    bad = RuleSet((Rule("a", "", (Condition("tier", "eq", "Z"),), Target("team", 1)),), Target("pool", 2))
    assert [p.code for p in ruleset_validate(bad)] == ["bad_value", "bad_strategy"]


# ---------------------------------------------------------------- matching


CASES: list[tuple[str, str, object, dict[str, Any], tuple[str, ...], bool]] = [
    # field, operator, value, subject fields, region chain, expected
    ("region", "eq", "440000", {}, ("440305", "440300", "440000"), True),
    ("region", "eq", "440300", {}, ("440305", "440300", "440000"), True),
    ("region", "eq", "310000", {}, ("440305", "440300", "440000"), False),
    ("region", "within", "440300", {}, ("440305", "440300", "440000"), True),
    ("region", "within", "440305", {}, ("440300", "440000"), False),  # a city is not inside its district
    ("region", "in", ["310000", "440300"], {}, ("440305", "440300", "440000"), True),
    ("region", "in", ["310000", "110000"], {}, ("440305", "440300", "440000"), False),
    ("region", "ne", "440000", {}, ("440305", "440300", "440000"), False),
    ("region", "ne", "310000", {}, ("440305", "440300", "440000"), True),
    ("region", "not_in", ["310000", "440000"], {}, ("440300", "440000"), False),
    ("region", "not_in", ["310000"], {}, ("440300", "440000"), True),
    ("region", "is_empty", True, {}, (), True),
    ("region", "is_empty", True, {}, ("440000",), False),
    ("region", "is_empty", False, {}, ("440000",), True),
    ("industry", "eq", "C39", {"industry": "C39"}, (), True),
    ("industry", "eq", "C39", {"industry": "C38"}, (), False),
    ("industry", "eq", "C39", {}, (), False),
    ("industry", "ne", "C39", {}, (), True),
    ("industry", "in", ["C38", "C39"], {"industry": "C39"}, (), True),
    ("industry", "not_in", ["C38", "C39"], {"industry": "C39"}, (), False),
    ("industry", "not_in", ["C38", "C39"], {"industry": None}, (), True),
    ("industry", "is_empty", True, {"industry": None}, (), True),
    ("industry", "is_empty", False, {"industry": "C39"}, (), True),
    ("size", "eq", "", {"size": ""}, (), True),
    ("size", "eq", "", {}, (), True),
    ("size", "eq", "large", {"size": "large"}, (), True),
    ("size", "in", ["large", "medium"], {"size": "small"}, (), False),
    ("size", "is_empty", True, {"size": ""}, (), True),
    ("tier", "eq", "A", {"tier": "A"}, (), True),
    ("tier", "ne", "A", {"tier": "B"}, (), True),
    ("tier", "in", ["A", "B"], {"tier": "C"}, (), False),
    ("tier", "not_in", ["A", "B"], {"tier": "C"}, (), True),
    ("source", "eq", "trade fair", {"source": "trade fair"}, (), True),
    ("source", "contains", "FAIR", {"source": "Trade fair 2026"}, (), True),
    ("source", "contains", "fair", {"source": None}, (), False),
    ("source", "is_empty", True, {"source": ""}, (), True),
    ("expected_value", "eq", "100", {"expected_value": Decimal("100.00")}, (), True),
    ("expected_value", "ne", "100", {"expected_value": None}, (), True),
    ("expected_value", "gt", "100", {"expected_value": Decimal("100")}, (), False),
    ("expected_value", "gt", "100", {"expected_value": Decimal("100.01")}, (), True),
    ("expected_value", "gte", "100", {"expected_value": Decimal("100")}, (), True),
    ("expected_value", "lt", "100", {"expected_value": Decimal("99")}, (), True),
    ("expected_value", "lt", "100", {"expected_value": None}, (), False),
    ("expected_value", "lte", "100", {"expected_value": 100}, (), True),
    ("expected_value", "between", ["100", "200"], {"expected_value": Decimal("200")}, (), True),
    ("expected_value", "between", ["100", "200"], {"expected_value": Decimal("200.01")}, (), False),
    ("expected_value", "between", ["100", "200"], {}, (), False),
    ("expected_value", "is_empty", True, {"expected_value": None}, (), True),
    ("expected_value", "is_empty", False, {"expected_value": Decimal(0)}, (), True),
    ("name", "contains", "科技", {"name": "深圳华为科技有限公司"}, (), True),
    ("name", "contains", "银行", {"name": "深圳华为科技有限公司"}, (), False),
    ("name", "eq", "X", {"name": "X"}, (), True),
    ("channel", "eq", "web", {"channel": "web"}, (), True),
    ("channel", "in", ["form", "api"], {"channel": "web"}, (), False),
    ("channel", "not_in", ["form", "api"], {"channel": "web"}, (), True),
    ("channel", "ne", "web", {"channel": "web"}, (), False),
    ("name", "is_empty", True, {"name": ""}, (), True),
    ("name", "ne", "X", {"name": "Y"}, (), True),
    ("size", "ne", "", {"size": None}, (), False),
    ("size", "not_in", ["large"], {"size": "medium"}, (), True),
    ("source", "in", ["fair", "web"], {"source": "web"}, (), True),
    ("source", "ne", "fair", {"source": "fair"}, (), False),
    ("source", "not_in", ["fair", "web"], {"source": "referral"}, (), True),
]


@pytest.mark.parametrize(("name", "operator", "value", "fields", "region", "expected"), CASES)
def test_each_operator_matches_compiled_and_uncompiled_alike(name: str, operator: str, value: object,
                                                             fields: dict[str, Any], region: tuple[str, ...],
                                                             expected: bool) -> None:
    ruleset = ruleset_parse(one_rule({"field": name, "operator": operator, "value": value}))
    candidate = Subject("s", fields, region)
    assert rule_matches(ruleset.rules[0], candidate) is expected
    assert (ruleset.compiled.first_match(candidate) == 0) is expected


def test_every_operator_of_every_field_is_exercised() -> None:
    covered = {(name, operator) for name, operator, *_ in CASES}
    assert covered == {(name, operator) for name, spec in FIELDS.items() for operator in spec.operators}


def test_conditions_are_anded_and_no_conditions_match_everything() -> None:
    ruleset = ruleset_parse({"rules": [
        {"key": "both", "conditions": [{"field": "tier", "operator": "eq", "value": "A"},
                                       {"field": "region", "operator": "within", "value": "440000"}],
         "target": POOL},
        {"key": "all", "conditions": [], "target": POOL},
    ], "fallback": POOL})
    compiled = ruleset.compiled
    assert list(compiled.matching(subject(tier="A"))) == [0, 1]
    assert list(compiled.matching(subject(tier="B"))) == [1]
    assert list(compiled.matching(subject(("310101", "310100", "310000"), tier="A"))) == [1]


def test_matching_keeps_rule_order_across_index_entries() -> None:
    ruleset = ruleset_parse({"rules": [
        {"key": "city", "conditions": [{"field": "region", "operator": "eq", "value": "440300"}], "target": POOL},
        {"key": "industry", "conditions": [{"field": "industry", "operator": "in", "value": ["C39", "I65"]}],
         "target": POOL},
        {"key": "value", "conditions": [{"field": "expected_value", "operator": "gt", "value": "10"}],
         "target": POOL},
        {"key": "province", "conditions": [{"field": "region", "operator": "in", "value": ["440000", "440300"]}],
         "target": POOL},
        {"key": "tier", "conditions": [{"field": "tier", "operator": "eq", "value": "A"},
                                       {"field": "industry", "operator": "eq", "value": "C39"}],
         "target": POOL},
    ], "fallback": POOL})
    found = list(ruleset.compiled.matching(subject(industry="C39", tier="A", expected_value=Decimal(11))))
    assert found == [0, 1, 2, 3, 4]
    found = list(ruleset.compiled.matching(subject(("310000",), industry="I65", tier="A")))
    assert found == [1]


def test_the_compiled_form_is_built_once_per_rule_set() -> None:
    ruleset = ruleset_parse(one_rule({"field": "tier", "operator": "eq", "value": "A"}))
    assert ruleset.compiled is ruleset.compiled


def test_values_of_other_types_match_like_their_text() -> None:
    ruleset = ruleset_parse({"rules": [
        {"key": "code", "conditions": [{"field": "industry", "operator": "eq", "value": "39"}], "target": POOL},
        {"key": "value", "conditions": [{"field": "expected_value", "operator": "gte", "value": "100"}],
         "target": POOL},
    ], "fallback": POOL})
    compiled = ruleset.compiled
    assert list(compiled.matching(subject(industry=39, expected_value=100))) == [0, 1]
    assert list(compiled.matching(subject(industry="39", expected_value="100.5"))) == [0, 1]
    assert list(compiled.matching(subject(industry=None, expected_value="lots"))) == []
    assert list(compiled.matching(subject(expected_value=Decimal("NaN")))) == []
    assert list(compiled.matching(subject(expected_value=True))) == []


def test_matching_stays_right_when_the_mask_cache_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    from kamguard.allocation.domain import rules

    monkeypatch.setattr(rules, "MASK_CACHE_LIMIT", 0)
    ruleset = ruleset_parse({"rules": [
        {"key": "gd", "conditions": [{"field": "region", "operator": "within", "value": "440000"},
                                     {"field": "source", "operator": "contains", "value": "fair"},
                                     {"field": "expected_value", "operator": "between", "value": ["10", "20"]}],
         "target": POOL},
    ], "fallback": POOL})
    for _ in range(2):
        assert ruleset.compiled.first_match(subject(source="Trade Fair", expected_value=Decimal(15))) == 0
        assert ruleset.compiled.first_match(subject(source="Trade Fair", expected_value=Decimal(21))) is None
        assert ruleset.compiled.first_match(subject(("310000",), source="fair", expected_value=Decimal(15))) is None
    assert all(not masks.cache for masks in ruleset.compiled.masks)


def test_expected_value_bounds_are_matched_exactly_at_the_bound() -> None:
    ruleset = ruleset_parse({"rules": [
        {"key": "gt", "conditions": [{"field": "expected_value", "operator": "gt", "value": "100"}], "target": POOL},
        {"key": "eq", "conditions": [{"field": "expected_value", "operator": "eq", "value": "100"}], "target": POOL},
        {"key": "lte", "conditions": [{"field": "expected_value", "operator": "lte", "value": "100"}], "target": POOL},
    ], "fallback": POOL})
    found = {value: list(ruleset.compiled.matching(subject(expected_value=Decimal(value))))
             for value in ("99.99", "100", "100.00", "100.01")}
    assert found == {"99.99": [2], "100": [1, 2], "100.00": [1, 2], "100.01": [0]}


def _with_rule(**changes: object) -> dict[str, Any]:
    data = one_rule({"field": "tier", "operator": "eq", "value": "A"})
    data["rules"][0].update(changes)
    return data


EVERY_PROBLEM: dict[str, object] = {
    "bad_shape": "not a rule set",
    "unknown_key": {"rules": [], "fallback": POOL, "version": 2},
    "bad_key": _with_rule(key="has space"),
    "duplicate_key": {"rules": [_with_rule()["rules"][0], _with_rule()["rules"][0]], "fallback": POOL},
    "bad_name": _with_rule(name="x" * 201),
    "too_many_rules": {"rules": [_with_rule(key=f"r{i}")["rules"][0] for i in range(MAX_RULES + 1)],
                       "fallback": POOL},
    "too_many_conditions": _with_rule(conditions=[{"field": "tier", "operator": "eq", "value": "A"}] * 51),
    "unknown_field": one_rule({"field": "colour", "operator": "eq", "value": "red"}),
    "unknown_operator": one_rule({"field": "tier", "operator": "like", "value": "A"}),
    "operator_not_allowed": one_rule({"field": "tier", "operator": "gt", "value": "A"}),
    "bad_value": one_rule({"field": "tier", "operator": "eq", "value": "Z"}),
    "bad_range": one_rule({"field": "expected_value", "operator": "between", "value": ["2", "1"]}),
    "empty_list": one_rule({"field": "tier", "operator": "in", "value": []}),
    "too_many_values": one_rule({"field": "industry", "operator": "in", "value": [f"I{i}" for i in range(2001)]}),
    "bad_target": _with_rule(target={"kind": "robot", "id": 1}),
    "bad_strategy": _with_rule(target={"kind": "team", "id": 1, "strategy": "lottery"}),
    "strategy_not_allowed": _with_rule(target={"kind": "pool", "id": 1, "strategy": "round_robin"}),
    "no_fallback": {"rules": []},
}


@pytest.mark.parametrize("code", sorted(EVERY_PROBLEM))
def test_each_problem_code_on_its_own(code: str) -> None:
    assert [found for _, found in problems_of(EVERY_PROBLEM[code])] == [code]


def test_every_problem_code_is_exercised() -> None:
    from kamguard.allocation.domain.rules import PROBLEM_CODES

    assert set(EVERY_PROBLEM) == set(PROBLEM_CODES)
