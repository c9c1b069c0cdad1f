"""Allocation rule sets: the fields a condition may test, parsing with precise problems, the JSON form,
and compiled matching.

A rule set is an ordered list of rules and a fallback. A rule's conditions are ANDed (no conditions
matches everything); the first matching rule whose target can take the subject decides (see
:mod:`kamguard.allocation.domain.engine`).

Matching is compiled once per :class:`RuleSet` object (``RuleSet.compiled``, cached on the object):
``in`` lists become frozensets, region conditions become sets of codes tested against the subject's
chain of codes, decimal bounds are parsed once; and for the fields with few distinct values (region,
industry, size, tier, source, channel) — or few classes of values (expected value: where it falls among
the rule set's bounds) — each value's set of satisfied rules is kept as a bitmask, so a subject's
matching rules are a handful of dictionary lookups and ANDs instead of a pass over all of them. Only
conditions on the name are still tested rule by rule.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Literal, TypeAlias

MAX_RULES = 1000
MAX_CONDITIONS = 50
MAX_LIST_VALUES = 2000
MAX_KEY_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 200

OPERATORS: tuple[str, ...] = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains",
                              "is_empty", "within")
TARGET_KINDS: tuple[str, ...] = ("person", "team", "pool")
STRATEGIES: tuple[str, ...] = ("round_robin", "capacity", "least_loaded", "first_come")

FieldKind: TypeAlias = Literal["region", "code", "choice", "text", "decimal"]
TargetKind: TypeAlias = Literal["person", "team", "pool"]


@dataclass(frozen=True)
class FieldSpec:
    """A customer field a condition may test: the kind of its values and the operators allowed on it.

    ``choices`` lists the allowed values of a choice field."""

    name: str
    kind: FieldKind
    operators: frozenset[str]
    choices: tuple[str, ...] = ()


FIELDS: Mapping[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        # Region: the subject carries its code and every ancestor's, so eq/in/within on a province code
        # match every city and district inside it; ne/not_in are their negations.
        FieldSpec("region", "region", frozenset({"eq", "ne", "in", "not_in", "within", "is_empty"})),
        FieldSpec("industry", "code", frozenset({"eq", "ne", "in", "not_in", "is_empty"})),
        FieldSpec("size", "choice", frozenset({"eq", "ne", "in", "not_in", "is_empty"}),
                  choices=("large", "medium", "small", "")),
        FieldSpec("tier", "choice", frozenset({"eq", "ne", "in", "not_in"}), choices=("A", "B", "C")),
        FieldSpec("source", "text", frozenset({"eq", "ne", "in", "not_in", "contains", "is_empty"})),
        FieldSpec("expected_value", "decimal",
                  frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty"})),
        FieldSpec("name", "text", frozenset({"eq", "ne", "contains", "is_empty"})),
        FieldSpec("channel", "choice", frozenset({"eq", "ne", "in", "not_in"}),
                  choices=("form", "api", "import", "web", "manual")),
    )
}

_REGION_CODE = re.compile(r"[0-9]{2,12}")
_RULE_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# ---------------------------------------------------------------- the rule set


@dataclass(frozen=True)
class Condition:
    """One test on a field. ``value`` after parsing: a string (or Decimal for expected_value) for
    eq/ne/gt/gte/lt/lte/contains/within, a tuple of those for in/not_in, a (low, high) tuple of
    Decimals for between, a bool for is_empty (True: the field is empty; False: it is not)."""

    field: str
    operator: str
    value: object


@dataclass(frozen=True)
class Target:
    """Where a matching subject goes. ``strategy`` only for a team (see STRATEGIES)."""

    kind: TargetKind
    id: int
    strategy: str = ""


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    conditions: tuple[Condition, ...]
    target: Target


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    fallback: Target

    @cached_property
    def compiled(self) -> CompiledRuleSet:
        """The matchers of this rule set, built on first use and kept on the object."""
        return compile_ruleset(self)


@dataclass(frozen=True)
class Subject:
    """The customer or lead being allocated. ``region_codes``: its region's code and every ancestor's
    (``("440305", "440300", "440000")``), empty when the region is unknown. ``fields`` holds the other
    fields by name (see FIELDS); a missing field counts as empty."""

    ref: str
    fields: Mapping[str, object]
    region_codes: tuple[str, ...] = ()


# ---------------------------------------------------------------- problems


PROBLEM_CODES: Mapping[str, str] = {
    "bad_shape": "The value has the wrong shape (an object or a list was expected).",
    "unknown_key": "This entry is not part of a rule set.",
    "bad_key": "A rule needs a key: 1 to 64 characters, letters, digits, '-', '_' or '.'.",
    "duplicate_key": "Two rules have the same key.",
    "bad_name": "A rule's name is text of at most 200 characters.",
    "too_many_rules": "A rule set has at most 1,000 rules.",
    "too_many_conditions": "A rule has at most 50 conditions.",
    "unknown_field": "No customer field of this name can be tested.",
    "unknown_operator": "No such operator.",
    "operator_not_allowed": "This operator cannot be used on this field.",
    "bad_value": "The value does not suit the field and operator.",
    "bad_range": "'between' needs two bounds, the lower first.",
    "empty_list": "'in' and 'not in' need at least one value.",
    "too_many_values": "A list has at most 2,000 values.",
    "bad_target": "The target needs a kind (person, team or pool) and a positive id.",
    "bad_strategy": "A team target needs a strategy: round_robin, capacity, least_loaded or first_come.",
    "strategy_not_allowed": "Only a team target has a strategy.",
    "no_fallback": "A rule set must end in a fallback.",
}


@dataclass(frozen=True)
class RuleProblem:
    """What is wrong and where: ``path`` like ``rules[3].conditions[0].field``; ``code`` one of
    PROBLEM_CODES; ``message`` in English; ``params`` for a translated message."""

    path: str
    code: str
    message: str
    params: Mapping[str, object] = field(default_factory=dict)


class RuleSetInvalid(ValueError):
    """A rule set that cannot be used, with every problem found (not just the first)."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        first = problems[0] if problems else None
        summary = f"{first.path}: {first.message}" if first else "invalid rule set"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(summary + more)


class _Problems:
    def __init__(self) -> None:
        self.items: list[RuleProblem] = []

    def add(self, path: str, code: str, detail: str = "", **params: object) -> None:
        message = PROBLEM_CODES[code] + (f" {detail}" if detail else "")
        self.items.append(RuleProblem(path, code, message, params))


# ---------------------------------------------------------------- parsing


def ruleset_parse(data: object) -> RuleSet:
    """A RuleSet from its JSON form (see ``ruleset_dump``), or RuleSetInvalid listing every problem."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        problems.add("", "bad_shape", "A rule set is an object with 'rules' and 'fallback'.")
        raise RuleSetInvalid(problems.items)
    for extra in sorted(str(k) for k in data if k not in ("rules", "fallback")):
        problems.add(extra, "unknown_key", key=extra)
    raw_rules = data.get("rules", [])
    rules: list[Rule] = []
    if not isinstance(raw_rules, list | tuple):
        problems.add("rules", "bad_shape", "'rules' is a list.")
    elif len(raw_rules) > MAX_RULES:
        problems.add("rules", "too_many_rules", f"This one has {len(raw_rules)}.", count=len(raw_rules),
                     limit=MAX_RULES)
    else:
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            key, rule = _parse_rule(raw, f"rules[{index}]", problems)
            if key is not None:
                if key in seen:
                    problems.add(f"rules[{index}].key", "duplicate_key", f"'{key}' is also rules[{seen[key]}].",
                                 key=key, other=f"rules[{seen[key]}]")
                else:
                    seen[key] = index
            if rule is not None:
                rules.append(rule)
    fallback: Target | None = None
    if data.get("fallback") is None:
        problems.add("fallback", "no_fallback")
    else:
        fallback = _parse_target(data["fallback"], "fallback", problems)
    if problems.items or fallback is None:
        raise RuleSetInvalid(problems.items)
    return RuleSet(tuple(rules), fallback)


def _parse_rule(raw: object, path: str, problems: _Problems) -> tuple[str | None, Rule | None]:
    """The rule's key (when it is a valid key, to find duplicates) and the rule (when all of it is valid)."""
    if not isinstance(raw, Mapping):
        problems.add(path, "bad_shape", "A rule is an object with key, name, conditions and target.")
        return None, None
    before = len(problems.items)
    for extra in sorted(str(k) for k in raw if k not in ("key", "name", "conditions", "target")):
        problems.add(f"{path}.{extra}", "unknown_key", key=extra)
    raw_key = raw.get("key")
    key = raw_key if isinstance(raw_key, str) and _RULE_KEY.fullmatch(raw_key) else None
    if key is None:
        problems.add(f"{path}.key", "bad_key")
    name = raw.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        problems.add(f"{path}.name", "bad_name")
    raw_conditions = raw.get("conditions", [])
    conditions: list[Condition] = []
    if not isinstance(raw_conditions, list | tuple):
        problems.add(f"{path}.conditions", "bad_shape", "'conditions' is a list.")
    elif len(raw_conditions) > MAX_CONDITIONS:
        problems.add(f"{path}.conditions", "too_many_conditions", count=len(raw_conditions), limit=MAX_CONDITIONS)
    else:
        for index, raw_condition in enumerate(raw_conditions):
            condition = _parse_condition(raw_condition, f"{path}.conditions[{index}]", problems)
            if condition is not None:
                conditions.append(condition)
    target = None
    if "target" not in raw:
        problems.add(f"{path}.target", "bad_target", "The rule has no target.")
    else:
        target = _parse_target(raw["target"], f"{path}.target", problems)
    if len(problems.items) > before or target is None or key is None or not isinstance(name, str):
        return key, None
    return key, Rule(key, name, tuple(conditions), target)


def _parse_condition(raw: object, path: str, problems: _Problems) -> Condition | None:
    if not isinstance(raw, Mapping):
        problems.add(path, "bad_shape", "A condition is an object with field, operator and value.")
        return None
    for extra in sorted(str(k) for k in raw if k not in ("field", "operator", "value")):
        problems.add(f"{path}.{extra}", "unknown_key", key=extra)
    name = raw.get("field")
    operator = raw.get("operator")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        problems.add(f"{path}.field", "unknown_field", f"'{name}' is not one of: {', '.join(FIELDS)}.",
                     field=str(name))
    if not isinstance(operator, str) or operator not in OPERATORS:
        problems.add(f"{path}.operator", "unknown_operator", f"'{operator}' is not one of: {', '.join(OPERATORS)}.",
                     operator=str(operator))
        return None
    if spec is None:
        return None
    if operator not in spec.operators:
        problems.add(f"{path}.operator", "operator_not_allowed",
                     f"'{operator}' on {spec.name}; allowed: {', '.join(sorted(spec.operators))}.",
                     field=spec.name, operator=operator, allowed=sorted(spec.operators))
        return None
    value = _parse_value(spec, operator, raw.get("value"), f"{path}.value", problems)
    if value is _INVALID:
        return None
    return Condition(spec.name, operator, value)


_INVALID = object()


def _parse_value(spec: FieldSpec, operator: str, raw: object, path: str, problems: _Problems) -> object:
    if operator == "is_empty":
        if not isinstance(raw, bool):
            problems.add(path, "bad_value", "'is_empty' takes true or false.", field=spec.name, operator=operator)
            return _INVALID
        return raw
    if operator in ("in", "not_in"):
        if not isinstance(raw, list | tuple):
            problems.add(path, "bad_value", f"'{operator}' takes a list.", field=spec.name, operator=operator)
            return _INVALID
        if not raw:
            problems.add(path, "empty_list", field=spec.name, operator=operator)
            return _INVALID
        if len(raw) > MAX_LIST_VALUES:
            problems.add(path, "too_many_values", count=len(raw), limit=MAX_LIST_VALUES)
            return _INVALID
        items = [_parse_scalar(spec, item, f"{path}[{i}]", problems) for i, item in enumerate(raw)]
        if any(item is _INVALID for item in items):
            return _INVALID
        return tuple(items)
    if operator == "between":
        if not isinstance(raw, list | tuple) or len(raw) != 2:
            problems.add(path, "bad_range", "Give a list of two numbers.", field=spec.name)
            return _INVALID
        low = _parse_scalar(spec, raw[0], f"{path}[0]", problems)
        high = _parse_scalar(spec, raw[1], f"{path}[1]", problems)
        if low is _INVALID or high is _INVALID:
            return _INVALID
        assert isinstance(low, Decimal) and isinstance(high, Decimal)
        if low > high:
            problems.add(path, "bad_range", f"{low} is above {high}.", field=spec.name, low=str(low), high=str(high))
            return _INVALID
        return (low, high)
    if operator == "contains":
        if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_TEXT_LENGTH:
            problems.add(path, "bad_value", "'contains' takes non-empty text.", field=spec.name, operator=operator)
            return _INVALID
        return raw
    return _parse_scalar(spec, raw, path, problems)


def _parse_scalar(spec: FieldSpec, raw: object, path: str, problems: _Problems) -> object:
    if spec.kind == "decimal":
        number = _decimal(raw)
        if number is None:
            problems.add(path, "bad_value", f"{spec.name} takes a number (e.g. \"250000.00\"), not {raw!r}.",
                         field=spec.name, value=str(raw))
            return _INVALID
        return number
    if not isinstance(raw, str):
        problems.add(path, "bad_value", f"{spec.name} takes text, not {raw!r}.", field=spec.name, value=str(raw))
        return _INVALID
    if spec.kind == "region" and not _REGION_CODE.fullmatch(raw):
        problems.add(path, "bad_value", f"'{raw}' is not a region code (digits, e.g. 440300).", field=spec.name,
                     value=raw)
        return _INVALID
    if spec.kind == "choice" and raw not in spec.choices:
        problems.add(path, "bad_value", f"'{raw}' is not one of: {', '.join(repr(c) for c in spec.choices)}.",
                     field=spec.name, value=raw, choices=list(spec.choices))
        return _INVALID
    if spec.kind == "code" and (not raw.strip() or len(raw) > MAX_TEXT_LENGTH):
        problems.add(path, "bad_value", f"{spec.name} takes a non-empty code.", field=spec.name, value=raw)
        return _INVALID
    if spec.kind == "text" and len(raw) > MAX_TEXT_LENGTH:
        problems.add(path, "bad_value", f"At most {MAX_TEXT_LENGTH} characters.", field=spec.name, value=raw[:20])
        return _INVALID
    return raw


def _decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, str):
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            return None
    else:  # floats are refused: give decimals as strings
        return None
    return number if number.is_finite() else None


def _parse_target(raw: object, path: str, problems: _Problems) -> Target | None:
    if not isinstance(raw, Mapping):
        problems.add(path, "bad_target", "A target is an object with kind, id and (for a team) strategy.")
        return None
    for extra in sorted(str(k) for k in raw if k not in ("kind", "id", "strategy")):
        problems.add(f"{path}.{extra}", "unknown_key", key=extra)
    kind = raw.get("kind")
    ident = raw.get("id")
    strategy = raw.get("strategy", "") or ""
    ok = True
    if kind not in TARGET_KINDS:
        problems.add(f"{path}.kind", "bad_target", f"'{kind}' is not person, team or pool.", kind=str(kind))
        ok = False
    if isinstance(ident, bool) or not isinstance(ident, int) or ident <= 0:
        problems.add(f"{path}.id", "bad_target", f"'{ident}' is not a positive id.", id=str(ident))
        ok = False
    if not isinstance(strategy, str):
        problems.add(f"{path}.strategy", "bad_strategy", kind=str(kind))
        return None
    if kind == "team" and strategy not in STRATEGIES:
        problems.add(f"{path}.strategy", "bad_strategy", f"Not '{strategy}'." if strategy else "", strategy=strategy)
        ok = False
    elif kind in ("person", "pool") and strategy:
        problems.add(f"{path}.strategy", "strategy_not_allowed", f"A {kind} target has no strategy ('{strategy}').",
                     kind=str(kind), strategy=strategy)
        ok = False
    if not ok:
        return None
    assert kind in ("person", "team", "pool") and isinstance(ident, int)
    return Target(kind, ident, strategy)


def ruleset_validate(ruleset: RuleSet) -> list[RuleProblem]:
    """The problems of a RuleSet built in code rather than parsed (empty when it is valid)."""
    try:
        ruleset_parse(ruleset_dump(ruleset))
    except RuleSetInvalid as invalid:
        return invalid.problems
    return []


# ---------------------------------------------------------------- the JSON form


def ruleset_dump(ruleset: RuleSet) -> dict[str, object]:
    """The JSON form of a rule set: decimals as strings, tuples as lists; ``ruleset_parse`` reads it back."""
    return {"rules": [rule_dump(rule) for rule in ruleset.rules], "fallback": target_dump(ruleset.fallback)}


def rule_dump(rule: Rule) -> dict[str, object]:
    return {"key": rule.key, "name": rule.name,
            "conditions": [{"field": c.field, "operator": c.operator, "value": _dump_value(c.value)}
                           for c in rule.conditions],
            "target": target_dump(rule.target)}


def target_dump(target: Target) -> dict[str, object]:
    return {"kind": target.kind, "id": target.id, "strategy": target.strategy}


def _dump_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_dump_value(item) for item in value]
    return value


# ---------------------------------------------------------------- compiled matching

Predicate: TypeAlias = Callable[[Subject], bool]


# Fields whose conditions are folded into per-value bitmasks: few distinct values in a book of customers, or
# (expected value) few classes of values — where a value falls among the rule set's bounds. Conditions on
# the others (name) are tested rule by rule.
MASKED_FIELDS: tuple[str, ...] = ("region", "industry", "size", "tier", "source", "channel", "expected_value")
# Distinct values remembered per field; beyond it a value's mask is computed on each use (still correct).
MASK_CACHE_LIMIT = 65_536


@dataclass(frozen=True)
class CompiledRule:
    index: int
    rule: Rule
    # The conditions the field masks do not cover (name), tested one by one.
    residual: tuple[Predicate, ...]


class _FieldMasks:
    """For one field: which rules' conditions on that field hold for a given value, as a bitmask (bit i =
    rule i). Rules without a condition on the field are always in. Masks are computed on first sight of
    a value (by running those rules' predicates on it) and remembered."""

    def __init__(self, name: str, rules: Sequence[Rule]) -> None:
        self.name = name
        self.kind = FIELDS[name].kind
        # Decimal fields: every bound any rule compares with, ascending. Two values on the same side of every
        # bound (same insertion point, both equal to it or both not) satisfy the same conditions.
        bounds: set[Decimal] = set()
        for rule in rules:
            for condition in rule.conditions:
                if condition.field == name and self.kind == "decimal":
                    value = condition.value
                    bounds.update(v for v in (value if isinstance(value, tuple) else (value,))
                                  if isinstance(v, Decimal))
        self.bounds = tuple(sorted(bounds))
        self.always = 0
        self.tests: list[tuple[int, tuple[Predicate, ...]]] = []
        for position, rule in enumerate(rules):
            predicates = tuple(_predicate(c) for c in rule.conditions if c.field == name)
            if predicates:
                self.tests.append((1 << position, predicates))
            else:
                self.always |= 1 << position
        self.cache: dict[object, int] = {}

    def mask(self, key: object, probe: Subject) -> int:
        mask = self.always
        for bit, predicates in self.tests:
            for predicate in predicates:
                if not predicate(probe):
                    break
            else:
                mask |= bit
        if len(self.cache) < MASK_CACHE_LIMIT:
            self.cache[key] = mask
        return mask


@dataclass(frozen=True)
class CompiledRuleSet:
    """A rule set ready for fast matching.

    For each of MASKED_FIELDS a bitmask per value says which rules' conditions on that field hold
    (computed once per distinct value and remembered); ANDing a subject's masks leaves exactly the rules
    whose conditions on those fields all hold. Those are walked in rule order, testing only their
    conditions on the remaining field (name), usually none."""

    rules: tuple[CompiledRule, ...]
    masks: tuple[_FieldMasks, ...]  # only the fields some rule tests
    everything: int
    # Rules with conditions no mask covers: what `unindexed` means here (tested one by one).
    unindexed: tuple[int, ...]

    def candidate_mask(self, subject: Subject) -> int:
        """The rules whose conditions on MASKED_FIELDS all hold for the subject, as a bitmask."""
        mask = self.everything
        fields = subject.fields
        for masks in self.masks:
            kind = masks.kind
            if kind == "region":
                codes = subject.region_codes
                if type(codes) is not tuple:  # a list would not do as a key
                    codes = tuple(codes)
                found = masks.cache.get(codes)
                if found is None:
                    found = masks.mask(codes, Subject("", {}, codes))
            elif kind == "decimal":
                number = _as_decimal(fields.get(masks.name))
                key: object = None
                if number is not None:
                    bounds = masks.bounds
                    at = bisect_left(bounds, number)
                    key = (at, at < len(bounds) and bounds[at] == number)
                found = masks.cache.get(key)
                if found is None:
                    found = masks.mask(key, Subject("", {masks.name: number}, ()))
            else:
                # Remembered under the value as given (None and "" both), so the usual case is one lookup.
                value = fields.get(masks.name)
                found = masks.cache.get(value) if value is None or type(value) is str else None
                if found is None:
                    text = _text(value)
                    found = masks.mask(text, Subject("", {masks.name: text}, ()))
                    if value is None:
                        masks.cache[None] = found
            mask &= found
            if not mask:
                return 0
        return mask

    def candidates(self, subject: Subject) -> Sequence[int]:
        """Indexes of the rules that may match (their conditions on MASKED_FIELDS hold), in rule order."""
        mask = self.candidate_mask(subject)
        found = []
        while mask:
            low = mask & -mask
            found.append(low.bit_length() - 1)
            mask ^= low
        return found

    def matching(self, subject: Subject) -> Iterator[int]:
        """Indexes of the rules whose conditions all hold for the subject, in rule order (lazily)."""
        mask = self.candidate_mask(subject)
        rules = self.rules
        while mask:
            low = mask & -mask
            mask ^= low
            index = low.bit_length() - 1
            for predicate in rules[index].residual:
                if not predicate(subject):
                    break
            else:
                yield index

    def first_match(self, subject: Subject) -> int | None:
        for index in self.matching(subject):
            return index
        return None


def rule_matches(rule: Rule, subject: Subject) -> bool:
    """Whether every condition of the rule holds for the subject (the slow, uncompiled path; tests use it
    to check the compiled one)."""
    return all(_predicate(condition)(subject) for condition in rule.conditions)


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    compiled = []
    unindexed = []
    for position, rule in enumerate(ruleset.rules):
        residual = tuple(_predicate(c) for c in rule.conditions if c.field not in MASKED_FIELDS)
        if residual:
            unindexed.append(position)
        compiled.append(CompiledRule(position, rule, residual))
    masks = tuple(m for name in MASKED_FIELDS if (m := _FieldMasks(name, ruleset.rules)).tests)
    return CompiledRuleSet(tuple(compiled), masks, (1 << len(ruleset.rules)) - 1, tuple(unindexed))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _predicate(condition: Condition) -> Predicate:  # noqa: C901 - one branch per field kind and operator
    name, operator, value = condition.field, condition.operator, condition.value
    spec = FIELDS[name]
    if spec.kind == "region":
        if operator == "is_empty":
            wanted = bool(value)
            return lambda s: (not s.region_codes) is wanted
        codes = frozenset(value) if isinstance(value, tuple) else frozenset((value,))
        if operator in ("eq", "in", "within"):
            return lambda s: not codes.isdisjoint(s.region_codes)
        return lambda s: codes.isdisjoint(s.region_codes)  # ne, not_in
    if operator == "is_empty":
        wanted = bool(value)
        return lambda s: (s.fields.get(name) in (None, "")) is wanted
    if spec.kind == "decimal":
        return _decimal_predicate(name, operator, value)
    if operator == "eq":
        return lambda s: _text(s.fields.get(name)) == value
    if operator == "ne":
        return lambda s: _text(s.fields.get(name)) != value
    if operator == "in":
        members = frozenset(value) if isinstance(value, tuple) else frozenset()
        return lambda s: _text(s.fields.get(name)) in members
    if operator == "not_in":
        excluded = frozenset(value) if isinstance(value, tuple) else frozenset()
        return lambda s: _text(s.fields.get(name)) not in excluded
    if operator == "contains":
        needle = str(value).casefold()
        return lambda s: needle in _text(s.fields.get(name)).casefold()
    raise ValueError(f"operator {operator} on {name} cannot be compiled")  # parsing refuses it first


def _as_decimal(raw: object) -> Decimal | None:
    """A subject's expected value as a finite Decimal, or None when it is missing or not a number."""
    if type(raw) is Decimal:
        return raw if raw.is_finite() else None
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        number = Decimal(raw) if isinstance(raw, int) else Decimal(str(raw))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _decimal_predicate(name: str, operator: str, value: object) -> Predicate:
    def number(subject: Subject) -> Decimal | None:
        return _as_decimal(subject.fields.get(name))

    if operator == "between":
        assert isinstance(value, tuple)
        low, high = value
        return lambda s: (n := number(s)) is not None and low <= n <= high
    assert isinstance(value, Decimal)
    bound = value
    if operator == "eq":
        return lambda s: (n := number(s)) is not None and n == bound
    if operator == "ne":
        return lambda s: (n := number(s)) is None or n != bound
    if operator == "gt":
        return lambda s: (n := number(s)) is not None and n > bound
    if operator == "gte":
        return lambda s: (n := number(s)) is not None and n >= bound
    if operator == "lt":
        return lambda s: (n := number(s)) is not None and n < bound
    if operator == "lte":
        return lambda s: (n := number(s)) is not None and n <= bound
    raise ValueError(f"operator {operator} on {name} cannot be compiled")
