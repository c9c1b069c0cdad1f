"""Assessment schemes and scorecards: pure Decimal arithmetic (issue 8, requirements P1-P5).

A scheme (`SchemeSpec`) has dimensions whose weights add up to exactly 100. A dimension is scored on 0..100:
- kind "formula": the formula over metric values; with bands, the first band (highest threshold first) whose
  min_value <= value gives the score (a value below every band scores 0); without bands the value itself,
  clipped to 0..100;
- kind "manual": the score someone gave (0..100, at most two decimals), guided by the rubric. A manual dimension
  may also carry a formula: its value is shown next to the rubric as a reference, it never scores.
A dimension whose formula names a metric without data (or divides by zero), or a manual dimension not scored yet,
has no score: its weight is spread over the scored dimensions in proportion, total = sum(w*s) / sum(w) over the
scored ones (= sum(w*s) / 100 when everything is scored). A scorecard is complete once every manual dimension has
a score; the coaching and incentive flags are raised only on a complete scorecard (a provisional total flags
nobody). Scores, points and totals are rounded half-up to two decimals.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from kamguard.performance.domain.formula import (
    Formula,
    FormulaError,
    formula_evaluate,
    formula_missing,
    formula_numbers,
    formula_parse,
)

PERIOD_TYPES = ("month", "quarter", "half_year", "year")
PRESENTATIONS = ("percent", "points")
KINDS = ("formula", "manual")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
CENT = Decimal("0.01")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
GRADE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+\-]{0,4}$")
_Add = Callable[[str, str, str, str], None]
# Every number of a scheme (weights, thresholds, scores, a formula's constants) lies within ±10^12 and has at most
# 12 decimals: enough for any amount or rate, and never a number the arithmetic or its text form cannot handle.
NUMBER_LIMIT = Decimal(10) ** 12
DECIMALS_LIMIT = 12


def q2(value: Decimal) -> Decimal:
    """Half-up to two decimals."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Band:
    min_value: Decimal
    score: Decimal


@dataclass(frozen=True)
class RubricLevel:
    score: Decimal
    text_en: str
    text_zh: str


@dataclass(frozen=True)
class DimensionSpec:
    code: str
    name_en: str
    name_zh: str
    weight: Decimal
    kind: str  # "formula" | "manual"
    formula: str = ""
    bands: tuple[Band, ...] = ()
    rubric: tuple[RubricLevel, ...] = ()
    description_en: str = ""
    description_zh: str = ""


@dataclass(frozen=True)
class GradeBand:
    grade: str
    min_total: Decimal
    label_en: str
    label_zh: str


@dataclass(frozen=True)
class SchemeSpec:
    code: str
    name_en: str
    name_zh: str
    period_type: str  # "month" | "quarter" | "half_year" | "year"
    presentation: str  # "percent" | "points"
    dimensions: tuple[DimensionSpec, ...]
    grades: tuple[GradeBand, ...]
    coaching_below: Decimal
    incentive_from: Decimal
    description_en: str = ""
    description_zh: str = ""

    def dimension(self, code: str) -> DimensionSpec | None:
        return next((dim for dim in self.dimensions if dim.code == code), None)


@dataclass(frozen=True)
class SpecError:
    field: str  # e.g. "dimensions[2].formula"
    code: str  # e.g. "weights_sum", "unknown_metric", "formula_syntax"
    message_en: str
    message_zh: str


@dataclass(frozen=True)
class DimensionResult:
    code: str
    value: Decimal | None  # the formula's value (a manual dimension's reference value), None = no data
    score: Decimal | None  # 0..100, None = no score (no data / not scored yet)
    band_index: int | None  # the band that gave the score
    missing: tuple[str, ...]  # metric codes without data
    weight: Decimal = ZERO  # the scheme's weight
    effective_weight: Decimal | None = None  # the weight after spreading the unscored ones (None when unscored)
    points: Decimal | None = None  # effective_weight * score / 100 (the 100-point form; they add up to the total)
    division_by_zero: bool = False  # every metric had data but the formula divided by zero


@dataclass(frozen=True)
class ScorecardResult:
    total: Decimal | None
    grade: str | None
    dimensions: tuple[DimensionResult, ...]
    complete: bool
    coaching: bool
    incentive: bool
    scored_weight: Decimal = ZERO  # sum of the weights of the scored dimensions (100 = nothing re-weighted)

    @property
    def reweighted(self) -> bool:
        return self.total is not None and self.scored_weight != HUNDRED


# --- scoring ---------------------------------------------------------------------------------------------------


def _clip(value: Decimal) -> Decimal:
    return max(ZERO, min(HUNDRED, value))


def band_for(bands: tuple[Band, ...], value: Decimal) -> tuple[int | None, Decimal]:
    """(index of the first band whose min_value <= value, its score); (None, 0) below every band."""
    for index, band in enumerate(bands):
        if band.min_value <= value:
            return index, band.score
    return None, ZERO


def dimension_score(
    dim: DimensionSpec, metrics: Mapping[str, Decimal | None], manual: Decimal | None
) -> DimensionResult:
    """One dimension's value and score (see the module docstring). A manual score outside 0..100 is a ValueError:
    check it with manual_score_errors first."""
    value: Decimal | None = None
    missing: tuple[str, ...] = ()
    division_by_zero = False
    if dim.formula:
        formula = formula_parse(dim.formula)
        missing = formula_missing(formula, metrics)
        value = formula_evaluate(formula, metrics)
        division_by_zero = value is None and not missing
        if value is not None:
            value = q2(value) if value.copy_abs() < NUMBER_LIMIT ** 2 else value  # q2 of a huge value is invalid
    if dim.kind == "manual":
        if manual is None:
            return DimensionResult(dim.code, value, None, None, missing, dim.weight, None, None, division_by_zero)
        if manual_score_errors(dim, manual):
            raise ValueError(f"manual score {manual} of {dim.code} is outside 0..100")
        score = q2(Decimal(manual))
        return DimensionResult(dim.code, value, score, None, missing, dim.weight, None, None, division_by_zero)
    if value is None:
        return DimensionResult(dim.code, None, None, None, missing, dim.weight, None, None, division_by_zero)
    if dim.bands:
        band_index, raw = band_for(dim.bands, value)
        score = q2(_clip(raw))
    else:
        band_index, score = None, q2(_clip(value))
    return DimensionResult(dim.code, value, score, band_index, missing, dim.weight, None, None, False)


def scorecard_compute(
    spec: SchemeSpec, metrics: Mapping[str, Decimal | None], manual_scores: Mapping[str, Decimal]
) -> ScorecardResult:
    """Every dimension scored, the weighted total (re-weighted over the scored dimensions), grade and flags."""
    raw = [dimension_score(dim, metrics, manual_scores.get(dim.code)) for dim in spec.dimensions]
    scored_weight = sum((r.weight for r in raw if r.score is not None), ZERO)
    results: list[DimensionResult] = []
    weighted = ZERO
    for r in raw:
        if r.score is None or scored_weight == 0:
            results.append(r)
            continue
        weighted += r.weight * r.score
        results.append(
            DimensionResult(
                r.code,
                r.value,
                r.score,
                r.band_index,
                r.missing,
                r.weight,
                q2(r.weight * HUNDRED / scored_weight),
                q2(r.weight * r.score / scored_weight),
                r.division_by_zero,
            )
        )
    complete = all(r.score is not None for r, dim in zip(raw, spec.dimensions, strict=True) if dim.kind == "manual")
    total = q2(weighted / scored_weight) if scored_weight else None
    grade = grade_for(spec, total) if total is not None else None
    flagged = complete and total is not None
    return ScorecardResult(
        total=total,
        grade=grade,
        dimensions=tuple(results),
        complete=complete,
        coaching=flagged and total is not None and total < spec.coaching_below,
        incentive=flagged and total is not None and total >= spec.incentive_from,
        scored_weight=scored_weight,
    )


def grade_for(spec: SchemeSpec, total: Decimal) -> str | None:
    """The grade of the highest band whose min_total <= total."""
    for band in sorted(spec.grades, key=lambda g: g.min_total, reverse=True):
        if band.min_total <= total:
            return band.grade
    return None


MANUAL_SCORE_MESSAGES_ZH: dict[str, str] = {
    "This dimension is scored from the data, not by hand.": "该维度由数据计算得分,不能手工打分。",
    "The score must be a number between 0 and 100.": "分数必须是 0 到 100 之间的数字。",
    "The score may have at most two decimal places.": "分数最多保留两位小数。",
}


def manual_score_errors(dim: DimensionSpec, score: Decimal) -> list[str]:
    """Why a manual score is refused (English; MANUAL_SCORE_MESSAGES_ZH has the Chinese); [] when it is fine."""
    if dim.kind != "manual":
        return ["This dimension is scored from the data, not by hand."]
    try:
        number = Decimal(score)
    except (InvalidOperation, TypeError, ValueError):
        return ["The score must be a number between 0 and 100."]
    if isinstance(score, bool) or not number.is_finite() or number < 0 or number > HUNDRED:
        return ["The score must be a number between 0 and 100."]
    if number != number.quantize(CENT, rounding=ROUND_HALF_UP):
        return ["The score may have at most two decimal places."]
    return []


def rank(totals: Mapping[int, Decimal | None]) -> dict[int, int]:
    """Competition ranking, 1 = the highest total; equal totals share a rank (1, 1, 3); None totals are unranked."""
    ordered = sorted(((t, key) for key, t in totals.items() if t is not None), key=lambda p: (-p[0], p[1]))
    ranks: dict[int, int] = {}
    previous: Decimal | None = None
    current = 0
    for position, (total, key) in enumerate(ordered, start=1):
        if previous is None or total != previous:
            current = position
            previous = total
        ranks[key] = current
    return ranks


def grade_distribution(grades: Iterable[str | None], spec: SchemeSpec) -> list[tuple[str, int, Decimal]]:
    """(grade, count, share in percent of the graded, one decimal) for every grade of the scheme, best first.
    Ungraded people (None) are left out of the shares; a grade not in the scheme is counted under its own name."""
    counts = Counter(g for g in grades if g is not None)
    graded = sum(counts.values())
    order = [band.grade for band in sorted(spec.grades, key=lambda g: g.min_total, reverse=True)]
    order += sorted(g for g in counts if g not in order)
    one = Decimal("0.1")
    return [
        (
            grade,
            counts.get(grade, 0),
            (Decimal(counts.get(grade, 0)) * HUNDRED / graded).quantize(one, rounding=ROUND_HALF_UP)
            if graded
            else ZERO.quantize(one),
        )
        for grade in order
    ]


# --- validation ------------------------------------------------------------------------------------------------


def number_in_bounds(value: Decimal) -> bool:
    """Finite, |value| <= 10^12 and at most 12 decimals (trailing zeros aside). Never raises, whatever the value."""
    if not value.is_finite():
        return False
    if value.copy_abs() > NUMBER_LIMIT:  # a comparison is exact: no context, no overflow
        return False
    _sign, digits, exponent = value.as_tuple()
    trailing = 0
    for digit in reversed(digits):
        if digit != 0:
            break
        trailing += 1
    return int(exponent) + trailing >= -DECIMALS_LIMIT or not any(digits)


def _two_decimals(value: Decimal) -> bool:
    return value == value.quantize(CENT, rounding=ROUND_HALF_UP)


def scheme_errors(spec: SchemeSpec, known_metrics: frozenset[str]) -> list[SpecError]:
    """Every problem of the scheme, each with its field path; [] when the scheme can be used."""
    errors: list[SpecError] = []

    def add(path: str, code: str, en: str, zh: str) -> None:
        errors.append(SpecError(path, code, en, zh))

    if not CODE_RE.match(spec.code or ""):
        add(
            "code",
            "code_invalid",
            "The code must start with a lowercase letter and use only a-z, 0-9 and _ (at most 50).",
            "代码必须以小写字母开头,只能包含 a-z、0-9 和 _(最多 50 个字符)。",
        )
    for attr, en, zh in (("name_en", "The English name is required.", "英文名称不能为空。"),
                         ("name_zh", "The Chinese name is required.", "中文名称不能为空。")):
        if not str(getattr(spec, attr) or "").strip():
            add(attr, "required", en, zh)
    if spec.period_type not in PERIOD_TYPES:
        add(
            "period_type",
            "choice",
            "The period type must be month, quarter, half_year or year.",
            "考核周期必须是 month、quarter、half_year 或 year。",
        )
    if spec.presentation not in PRESENTATIONS:
        add("presentation", "choice", "The presentation must be percent or points.",
            "展示方式必须是 percent(百分比)或 points(分值)。")
    if not spec.dimensions:
        add("dimensions", "required", "A scheme needs at least one dimension.", "考核方案至少需要一个维度。")
    seen: set[str] = set()
    total_weight = ZERO
    weights_ok = True
    for i, dim in enumerate(spec.dimensions):
        path = f"dimensions[{i}]"
        if not CODE_RE.match(dim.code or ""):
            add(
                f"{path}.code",
                "code_invalid",
                "The code must start with a lowercase letter and use only a-z, 0-9 and _ (at most 50).",
                "代码必须以小写字母开头,只能包含 a-z、0-9 和 _(最多 50 个字符)。",
            )
        elif dim.code in seen:
            add(f"{path}.code", "duplicate_code", f"The dimension code {dim.code} is used twice.",
                f"维度代码 {dim.code} 重复。")
        seen.add(dim.code)
        if not dim.name_en.strip():
            add(f"{path}.name_en", "required", "The English name is required.", "英文名称不能为空。")
        if not dim.name_zh.strip():
            add(f"{path}.name_zh", "required", "The Chinese name is required.", "中文名称不能为空。")
        if not dim.weight.is_finite() or dim.weight <= 0 or dim.weight > HUNDRED or not _two_decimals(dim.weight):
            weights_ok = False
            add(
                f"{path}.weight",
                "weight_range",
                "A weight is a number above 0 and at most 100, with at most two decimals.",
                "权重必须大于 0 且不超过 100,最多两位小数。",
            )
        else:
            total_weight += dim.weight
        if dim.kind not in KINDS:
            add(f"{path}.kind", "choice", "The kind must be formula or manual.",
                "评分方式必须是 formula(公式)或 manual(人工)。")
        _formula_errors(dim, path, known_metrics, add)
        _bands_errors(dim, path, add)
        _rubric_errors(dim, path, add)
    if spec.dimensions and weights_ok and total_weight != HUNDRED:
        add(
            "dimensions",
            "weights_sum",
            f"The weights add up to {total_weight.normalize():f}, not 100.",
            f"各维度权重合计为 {total_weight.normalize():f},必须正好等于 100。",
        )
    _grades_errors(spec, add)
    for attr, en, zh in (
        ("coaching_below", "The coaching threshold", "辅导阈值"),
        ("incentive_from", "The incentive threshold", "激励阈值"),
    ):
        value: Decimal = getattr(spec, attr)
        if not value.is_finite() or value < 0 or value > HUNDRED:
            add(attr, "range", f"{en} must be between 0 and 100.", f"{zh}必须在 0 到 100 之间。")
    if (
        spec.coaching_below.is_finite()
        and spec.incentive_from.is_finite()
        and spec.coaching_below > spec.incentive_from
    ):
        add(
            "coaching_below",
            "thresholds_order",
            "The coaching threshold cannot be above the incentive threshold.",
            "辅导阈值不能高于激励阈值。",
        )
    return errors


def _formula_errors(dim: DimensionSpec, path: str, known: frozenset[str], add: _Add) -> None:
    if dim.kind == "formula" and not dim.formula.strip():
        add(f"{path}.formula", "required", "A formula dimension needs a formula.", "公式维度必须填写公式。")
        return
    if not dim.formula.strip():
        return
    try:
        formula: Formula = formula_parse(dim.formula)
    except FormulaError as exc:
        add(f"{path}.formula", "formula_syntax", exc.message_en, exc.message_zh)
        return
    if not all(number_in_bounds(n) for n in formula_numbers(formula)):
        add(
            f"{path}.formula",
            "number_range",
            "A number in a formula lies between -1000000000000 and 1000000000000, with at most 12 decimals.",
            "公式中的数字须在 -1000000000000 到 1000000000000 之间,最多 12 位小数。",
        )
    for code in sorted(formula.metrics - known):
        add(
            f"{path}.formula",
            "unknown_metric",
            f"The formula names an unknown metric: {code}.",
            f"公式中的指标不存在:{code}。",
        )


def _bands_errors(dim: DimensionSpec, path: str, add: _Add) -> None:
    if dim.bands and dim.kind != "formula":
        add(f"{path}.bands", "bands_not_allowed", "Only a formula dimension has bands.", "只有公式维度可以设置分档。")
        return
    previous: Decimal | None = None
    for j, band in enumerate(dim.bands):
        bpath = f"{path}.bands[{j}]"
        if not band.score.is_finite() or band.score < 0 or band.score > HUNDRED:
            add(f"{bpath}.score", "range", "A band's score must be between 0 and 100.", "分档得分必须在 0 到 100 之间。")
        if not band.min_value.is_finite():
            add(f"{bpath}.min_value", "range", "A band's threshold must be a number.", "分档阈值必须是数字。")
            continue
        if previous is not None and band.min_value >= previous:
            add(
                f"{bpath}.min_value",
                "bands_order",
                "Bands go from the highest threshold down: each threshold must be below the one before.",
                "分档须按阈值从高到低排列:每一档的阈值必须低于上一档。",
            )
        previous = band.min_value


def _rubric_errors(dim: DimensionSpec, path: str, add: _Add) -> None:
    if dim.rubric and dim.kind != "manual":
        add(f"{path}.rubric", "rubric_not_allowed", "Only a manual dimension has a rubric.",
            "只有人工评分维度可以设置评分标准。")
        return
    if dim.kind == "manual" and not dim.rubric:
        add(f"{path}.rubric", "required", "A manual dimension needs a rubric (what each score means).",
            "人工评分维度必须设置评分标准(说明各分数的含义)。")
    scores: set[Decimal] = set()
    for j, level in enumerate(dim.rubric):
        lpath = f"{path}.rubric[{j}]"
        if not level.score.is_finite() or level.score < 0 or level.score > HUNDRED:
            add(f"{lpath}.score", "range", "A rubric score must be between 0 and 100.", "评分标准的分数必须在 0 到 100 之间。")
        elif level.score in scores:
            add(f"{lpath}.score", "duplicate_score", "Two rubric levels have the same score.", "评分标准中有重复的分数。")
        scores.add(level.score)
        if not level.text_en.strip():
            add(f"{lpath}.text_en", "required", "The English text is required.", "英文说明不能为空。")
        if not level.text_zh.strip():
            add(f"{lpath}.text_zh", "required", "The Chinese text is required.", "中文说明不能为空。")


def _grades_errors(spec: SchemeSpec, add: _Add) -> None:
    if not spec.grades:
        add("grades", "required", "A scheme needs grade bands.", "考核方案必须设置等级。")
        return
    letters: set[str] = set()
    previous: Decimal | None = None
    for k, band in enumerate(spec.grades):
        gpath = f"grades[{k}]"
        if not GRADE_RE.match(band.grade or ""):
            add(f"{gpath}.grade", "grade_invalid", "A grade is a short code such as A, B+ or C.",
                "等级代码应为简短字母,如 A、B+、C。")
        elif band.grade in letters:
            add(f"{gpath}.grade", "duplicate_code", f"The grade {band.grade} is used twice.", f"等级 {band.grade} 重复。")
        letters.add(band.grade)
        if not band.label_en.strip():
            add(f"{gpath}.label_en", "required", "The English label is required.", "英文名称不能为空。")
        if not band.label_zh.strip():
            add(f"{gpath}.label_zh", "required", "The Chinese label is required.", "中文名称不能为空。")
        if not band.min_total.is_finite() or band.min_total < 0 or band.min_total > HUNDRED:
            add(f"{gpath}.min_total", "range", "A grade's minimum total must be between 0 and 100.",
                "等级的最低总分必须在 0 到 100 之间。")
            continue
        if previous is not None and band.min_total >= previous:
            add(
                f"{gpath}.min_total",
                "grades_order",
                "Grades go from the best down: each minimum total must be below the one before.",
                "等级须从高到低排列:每一级的最低总分必须低于上一级。",
            )
        previous = band.min_total
    last = spec.grades[-1].min_total
    if last.is_finite() and last != 0:
        add(
            f"grades[{len(spec.grades) - 1}].min_total",
            "grades_floor",
            "The lowest grade must start at 0 so that every total gets a grade.",
            "最低等级的最低总分必须为 0,以保证每个总分都有等级。",
        )


# --- JSON --------------------------------------------------------------------------------------------------------


class SpecFormatError(ValueError):
    """The JSON of a scheme is malformed (a field missing or of the wrong type); `errors` carry the paths."""

    def __init__(self, errors: list[SpecError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in errors))
        self.errors = errors


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value.is_finite() else str(value)


def spec_to_dict(spec: SchemeSpec) -> dict[str, Any]:
    """The scheme as JSON-ready data (Decimals as strings)."""
    return {
        "code": spec.code,
        "name_en": spec.name_en,
        "name_zh": spec.name_zh,
        "description_en": spec.description_en,
        "description_zh": spec.description_zh,
        "period_type": spec.period_type,
        "presentation": spec.presentation,
        "coaching_below": _num(spec.coaching_below),
        "incentive_from": _num(spec.incentive_from),
        "dimensions": [
            {
                "code": d.code,
                "name_en": d.name_en,
                "name_zh": d.name_zh,
                "weight": _num(d.weight),
                "kind": d.kind,
                "formula": d.formula,
                "bands": [{"min_value": _num(b.min_value), "score": _num(b.score)} for b in d.bands],
                "rubric": [{"score": _num(r.score), "text_en": r.text_en, "text_zh": r.text_zh} for r in d.rubric],
                "description_en": d.description_en,
                "description_zh": d.description_zh,
            }
            for d in spec.dimensions
        ],
        "grades": [
            {"grade": g.grade, "min_total": _num(g.min_total), "label_en": g.label_en, "label_zh": g.label_zh}
            for g in spec.grades
        ],
    }


class _Reader:
    def __init__(self) -> None:
        self.errors: list[SpecError] = []

    def fail(self, path: str, en: str, zh: str) -> None:
        self.errors.append(SpecError(path, "format", en, zh))

    def obj(self, data: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            self.fail(path, "An object is expected here.", "此处应为对象。")
            return {}
        return data

    def text(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> str:
        value = data.get(key, None if required else "")
        if value is None or not isinstance(value, str):
            self.fail(f"{path}{key}", "Text is expected here.", "此处应为文本。")
            return ""
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str) -> Decimal:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(f"{path}{key}", "A number is expected here.", "此处应为数字。")
            return ZERO
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{path}{key}", "A number is expected here.", "此处应为数字。")
            return ZERO
        if not number.is_finite():
            self.fail(f"{path}{key}", "A number is expected here.", "此处应为数字。")
            return ZERO
        if not number_in_bounds(number):
            self.fail(f"{path}{key}", "A number between -1000000000000 and 1000000000000 with at most 12 decimals "
                      "is expected here.", "此处应为 -1000000000000 到 1000000000000 之间、最多 12 位小数的数字。")
            return ZERO
        return number

    def items(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> list[Any]:
        value = data.get(key, None if required else [])
        if not isinstance(value, list):
            self.fail(f"{path}{key}", "A list is expected here.", "此处应为列表。")
            return []
        return value


def spec_from_dict(data: Any) -> SchemeSpec:
    """The scheme read back from spec_to_dict's form; SpecFormatError (with paths) when it is malformed.
    The result may still have scheme_errors (weights, metrics…): check them separately."""
    r = _Reader()
    top = r.obj(data, "")
    dims: list[DimensionSpec] = []
    for i, raw in enumerate(r.items(top, "dimensions", "")):
        path = f"dimensions[{i}]."
        d = r.obj(raw, path.rstrip("."))
        bands = tuple(
            Band(r.number(b, "min_value", f"{path}bands[{j}]."), r.number(b, "score", f"{path}bands[{j}]."))
            for j, b in ((j, r.obj(b, f"{path}bands[{j}]")) for j, b in enumerate(r.items(d, "bands", path, False)))
        )
        rubric = tuple(
            RubricLevel(
                r.number(lv, "score", f"{path}rubric[{j}]."),
                r.text(lv, "text_en", f"{path}rubric[{j}]."),
                r.text(lv, "text_zh", f"{path}rubric[{j}]."),
            )
            for j, lv in ((j, r.obj(x, f"{path}rubric[{j}]")) for j, x in enumerate(r.items(d, "rubric", path, False)))
        )
        dims.append(
            DimensionSpec(
                code=r.text(d, "code", path),
                name_en=r.text(d, "name_en", path),
                name_zh=r.text(d, "name_zh", path),
                weight=r.number(d, "weight", path),
                kind=r.text(d, "kind", path),
                formula=r.text(d, "formula", path, False),
                bands=bands,
                rubric=rubric,
                description_en=r.text(d, "description_en", path, False),
                description_zh=r.text(d, "description_zh", path, False),
            )
        )
    grades = tuple(
        GradeBand(
            r.text(g, "grade", f"grades[{k}]."),
            r.number(g, "min_total", f"grades[{k}]."),
            r.text(g, "label_en", f"grades[{k}]."),
            r.text(g, "label_zh", f"grades[{k}]."),
        )
        for k, g in ((k, r.obj(x, f"grades[{k}]")) for k, x in enumerate(r.items(top, "grades", "")))
    )
    spec = SchemeSpec(
        code=r.text(top, "code", ""),
        name_en=r.text(top, "name_en", ""),
        name_zh=r.text(top, "name_zh", ""),
        period_type=r.text(top, "period_type", ""),
        presentation=r.text(top, "presentation", ""),
        dimensions=tuple(dims),
        grades=grades,
        coaching_below=r.number(top, "coaching_below", ""),
        incentive_from=r.number(top, "incentive_from", ""),
        description_en=r.text(top, "description_en", "", False),
        description_zh=r.text(top, "description_zh", "", False),
    )
    if r.errors:
        raise SpecFormatError(r.errors)
    return spec


__all__ = [
    "Band",
    "DimensionResult",
    "DimensionSpec",
    "GradeBand",
    "MANUAL_SCORE_MESSAGES_ZH",
    "RubricLevel",
    "ScorecardResult",
    "SchemeSpec",
    "SpecError",
    "SpecFormatError",
    "band_for",
    "dimension_score",
    "grade_distribution",
    "grade_for",
    "manual_score_errors",
    "number_in_bounds",
    "q2",
    "rank",
    "scheme_errors",
    "scorecard_compute",
    "spec_from_dict",
    "spec_to_dict",
]
