"""The formula language: what it accepts, what it refuses (with the position) and how it evaluates."""

from decimal import Decimal as D

import pytest

from kamguard.performance.domain.formula import (
    MAX_DEPTH,
    MAX_LENGTH,
    FormulaError,
    formula_evaluate,
    formula_missing,
    formula_parse,
)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("42", {}, D(42)),
        ("sales_completion", {"sales_completion": D("87.5")}, D("87.5")),
        ("a + b * 2", {"a": D(1), "b": D(3)}, D(7)),
        ("(a + b) * 2", {"a": D(1), "b": D(3)}, D(8)),
        ("-a + 10", {"a": D(4)}, D(6)),
        ("+a", {"a": D(4)}, D(4)),
        ("a / 3", {"a": D(1)}, D(1) / D(3)),
        ("0.1 + 0.2", {}, D("0.3")),  # decimals read from the text, not through floats
        ("min(sales_completion, 120)", {"sales_completion": D(130)}, D(120)),
        ("max(a, b, c)", {"a": D(1), "b": D(5), "c": D(3)}, D(5)),
        ("min(max(a, 0), 100)", {"a": D(-5)}, D(0)),
        ("1e2 - 1_000", {}, D(-900)),
    ],
)
def test_evaluates_with_decimals(text, values, expected):
    result = formula_evaluate(formula_parse(text), values)
    assert result == expected
    assert isinstance(result, D)


def test_metrics_are_the_names():
    formula = formula_parse("min(tier_coverage - 10 * disputes, max(visit_count, 3))")
    assert formula.metrics == frozenset({"tier_coverage", "disputes", "visit_count"})


def test_missing_metric_or_division_by_zero_gives_no_value():
    formula = formula_parse("a / b + c")
    assert formula_evaluate(formula, {"a": D(1), "b": D(0), "c": D(1)}) is None
    assert formula_evaluate(formula, {"a": D(1), "b": D(2), "c": None}) is None
    assert formula_evaluate(formula, {"a": D(1), "b": D(2)}) is None
    assert formula_missing(formula, {"a": D(1), "b": None}) == ("b", "c")
    assert formula_evaluate(formula, {"a": D(1), "b": D(2), "c": D(1)}) == D("1.5")


@pytest.mark.parametrize(
    ("text", "position", "fragment_en", "fragment_zh"),
    [
        ("a.b", 1, "attribute", "属性"),
        ("x + os.system(1)", 5, "Only min(...) and max(...)", "只能调用"),
        ("abs(a)", 1, "Only min(...) and max(...)", "只能调用"),
        ("a ** 2", 1, "operator **", "运算符 **"),
        ("a // 2", 1, "operator //", "//"),
        ("a % 2", 1, "operator %", "%"),
        ("'text'", 1, "Text", "文本"),
        ("a < b", 1, "comparison", "比较"),
        ("a and b", 1, "and/or", "and/or"),
        ("lambda: 1", 1, "lambda", "lambda"),
        ("a[0]", 1, "Indexing", "下标"),
        ("a if b else c", 1, "conditional", "条件"),
        ("True", 1, "constant", "常量"),
        ("1j", 1, "constant", "常量"),
        ("min(a)", 1, "at least two", "至少"),
        ("max(a, b=1)", 1, "plain arguments", "逗号"),
        ("min(*a)", 1, "plain arguments", "逗号"),
        ("min + 1", 1, "must be called", "括号"),
        ("2 * (a + ", 0, "cannot be read", "无法识别"),
        ("a b", 0, "cannot be read", "无法识别"),
        ("", 0, "empty", "为空"),
        ("   ", 0, "empty", "为空"),
        ("a +\n b", 4, "single line", "一行"),
        ("[a, b]", 1, "construct", "写法"),
        ("{a: 1}", 1, "construct", "写法"),
        ("__import__('os')", 1, "Only min(...) and max(...)", "只能调用"),
        ("(lambda: 1)()", 1, "Only min(...) and max(...)", "只能调用"),
    ],
)
def test_refused_with_position_and_both_languages(text, position, fragment_en, fragment_zh):
    with pytest.raises(FormulaError) as caught:
        formula_parse(text)
    error = caught.value
    assert fragment_en.lower() in error.message_en.lower()
    assert fragment_zh in error.message_zh
    if position:
        assert error.position == position
    else:
        assert error.position >= 0


def test_position_of_a_nested_refusal_counts_leading_spaces():
    with pytest.raises(FormulaError) as caught:
        formula_parse("  a + b.c")
    assert caught.value.position == 7


def test_syntax_error_position_points_into_the_text():
    with pytest.raises(FormulaError) as caught:
        formula_parse("a + * b")
    assert 1 <= caught.value.position <= len("a + * b")
    assert str(caught.value.position) in caught.value.message_en
    assert str(caught.value.position) in caught.value.message_zh


def test_length_and_depth_are_bounded():
    with pytest.raises(FormulaError) as too_long:
        formula_parse("a + " * (MAX_LENGTH // 4) + "a")
    assert "too long" in too_long.value.message_en
    deep = "a"
    for _ in range(MAX_DEPTH + 1):
        deep = f"min({deep}, 1)"
    with pytest.raises(FormulaError) as too_deep:
        formula_parse(deep)
    assert "nested too deeply" in too_deep.value.message_en
    shallow = "a"
    for _ in range(MAX_DEPTH - 2):
        shallow = f"min({shallow}, 1)"
    assert formula_parse(shallow).metrics == {"a"}
    with pytest.raises(FormulaError):
        formula_parse("(" * 300 + "a" + ")" * 300)
    with pytest.raises(FormulaError) as too_many:
        formula_parse("min(" + ",".join(["1"] * 201) + ")")
    assert "too long" in too_many.value.message_en
    assert formula_evaluate(formula_parse("+".join(["a"] * 30)), {"a": D(1)}) == D(30)  # a long flat sum is fine
