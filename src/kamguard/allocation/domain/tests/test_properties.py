"""Properties of the engine over generated rule sets, teams and subjects (hypothesis)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kamguard.allocation.domain.engine import AllocationState, Person, TeamState, allocate_many
from kamguard.allocation.domain.fairness import gini
from kamguard.allocation.domain.rules import (
    STRATEGIES,
    Condition,
    Rule,
    RuleSet,
    Subject,
    Target,
    rule_matches,
    ruleset_dump,
    ruleset_parse,
)

CHAINS: list[tuple[str, ...]] = [(), ("440000",), ("440300", "440000"), ("440305", "440300", "440000"),
                                 ("310101", "310100", "310000"), ("110105", "110100", "110000")]
CODES = sorted({code for chain in CHAINS for code in chain})
INDUSTRIES = ["C39", "I65", "K70"]
SOURCES = ["fair", "web", "referral", "Trade Fair"]
AMOUNTS = ["0", "100", "250.50", "1000", "99999.99"]
NAMES = ["深圳华为科技有限公司", "上海浦东发展银行", "北京小米"]
TIERS = ["A", "B", "C"]
SIZES = ["large", "medium", "small", ""]
CHANNELS = ["form", "api", "import", "web", "manual"]
TEAMS = (10, 20, 30)
POOLS = (90, 91)

# Generating states and rule sets costs more than checking them: 75 examples keep the module near 15 s.
ENGINE_RUNS = settings(max_examples=75, deadline=None)


# ---------------------------------------------------------------- generators


def _values(kind: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(kind), min_size=1, max_size=3, unique=True)


def _conditions_for(name: str, choices: list[str], operators: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    def build(operator: str, one: str, many: list[str], flag: bool) -> dict[str, Any]:
        value: object = many if operator in ("in", "not_in") else flag if operator == "is_empty" else one
        return {"field": name, "operator": operator, "value": value}
    return st.builds(build, st.sampled_from(operators), st.sampled_from(choices), _values(choices), st.booleans())


def _amount_condition() -> st.SearchStrategy[dict[str, Any]]:
    def build(operator: str, pair: list[str], flag: bool) -> dict[str, Any]:
        low, high = sorted(pair, key=Decimal)
        value: object = [low, high] if operator == "between" else flag if operator == "is_empty" else low
        return {"field": "expected_value", "operator": operator, "value": value}
    return st.builds(build, st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty"]),
                     st.lists(st.sampled_from(AMOUNTS), min_size=2, max_size=2), st.booleans())


CONDITIONS = st.one_of(
    _conditions_for("region", CODES, ["eq", "ne", "in", "not_in", "within", "is_empty"]),
    _conditions_for("industry", INDUSTRIES, ["eq", "ne", "in", "not_in", "is_empty"]),
    _conditions_for("size", SIZES, ["eq", "ne", "in", "not_in", "is_empty"]),
    _conditions_for("tier", TIERS, ["eq", "ne", "in", "not_in"]),
    _conditions_for("source", SOURCES, ["eq", "ne", "in", "not_in", "is_empty"]),
    st.builds(lambda v: {"field": "source", "operator": "contains", "value": v}, st.sampled_from(["fair", "WEB"])),
    _amount_condition(),
    st.builds(lambda o, v: {"field": "name", "operator": o, "value": v}, st.sampled_from(["eq", "ne", "contains"]),
              st.sampled_from(["科技", "银行", "北京小米"])),
    _conditions_for("channel", CHANNELS, ["eq", "ne", "in", "not_in"]),
)


def _target(people: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda i: {"kind": "person", "id": i, "strategy": ""}, st.sampled_from(people)),
        st.builds(lambda i, s: {"kind": "team", "id": i, "strategy": s}, st.sampled_from(TEAMS),
                  st.sampled_from(STRATEGIES)),
        st.builds(lambda i: {"kind": "pool", "id": i, "strategy": ""}, st.sampled_from([*POOLS, 99])),
    )


@st.composite
def ruleset_data(draw: st.DrawFn, people: list[int] | None = None) -> dict[str, Any]:
    ids = people or list(range(1, 13))
    count = draw(st.integers(0, 8))
    rules = [{"key": f"r{i}", "name": draw(st.sampled_from(["", "华南大客户", "rule"])),
              "conditions": draw(st.lists(CONDITIONS, max_size=3)), "target": draw(_target(ids))}
             for i in range(count)]
    return {"rules": rules, "fallback": draw(_target(ids))}


@st.composite
def people_and_teams(draw: st.DrawFn) -> AllocationState:
    people: dict[int, Person] = {}
    teams: dict[int, TeamState] = {}
    next_id = 1
    for team_id in TEAMS:
        size = draw(st.integers(0, 4))
        ids = list(range(next_id, next_id + size))
        next_id += size
        for person_id in ids:
            available = draw(st.booleans()) or draw(st.booleans())
            reason = "" if available else draw(st.sampled_from(["absent", "on_leave", "leaving", "left", "no_right"]))
            capacity = {tier: draw(st.one_of(st.none(), st.integers(0, 4))) for tier in TIERS}
            load = {tier: draw(st.integers(0, 3)) for tier in TIERS}
            people[person_id] = Person(person_id, team_id, available, reason, capacity, load)
        order = draw(st.permutations(ids))
        cursor = draw(st.one_of(st.none(), st.sampled_from(ids))) if ids else None
        teams[team_id] = TeamState(team_id, tuple(order), cursor, draw(st.sampled_from([None, *POOLS])))
    return AllocationState(people, teams, set(POOLS))


SUBJECTS = st.lists(st.builds(
    lambda i, chain, tier, size, industry, source, amount, name, channel: Subject(
        f"s{i}", {"tier": tier, "size": size, "industry": industry, "source": source,
                  "expected_value": None if amount is None else Decimal(amount), "name": name, "channel": channel},
        chain),
    st.integers(0, 10**6), st.sampled_from(CHAINS), st.sampled_from(TIERS), st.sampled_from(SIZES),
    st.one_of(st.none(), st.sampled_from(INDUSTRIES)), st.sampled_from(["", *SOURCES]),
    st.one_of(st.none(), st.sampled_from(AMOUNTS)), st.sampled_from(NAMES), st.sampled_from(CHANNELS),
), max_size=30)


def _snapshot(state: AllocationState) -> dict[int, dict[str, int]]:
    return {pid: dict(p.load) for pid, p in state.people.items()}


# ---------------------------------------------------------------- properties


@ENGINE_RUNS
@given(data=ruleset_data(), state=people_and_teams(), subjects=SUBJECTS)
def test_every_subject_gets_exactly_one_outcome(data: dict[str, Any], state: AllocationState,
                                                subjects: list[Subject]) -> None:
    before = _snapshot(state)
    decisions = allocate_many(subjects, ruleset_parse(data), state)
    assert [d.subject_ref for d in decisions] == [s.ref for s in subjects]
    for decision in decisions:
        if decision.outcome == "person":
            assert decision.person_id in state.people and decision.pool_id is None
        elif decision.outcome == "pool":
            assert decision.pool_id in state.pools and decision.person_id is None
        else:
            assert decision.outcome == "unallocated" and decision.person_id is None and decision.pool_id is None
        assert sum(note.chosen for note in decision.candidates) == (decision.outcome == "person")
    # the loads grew by exactly the decisions for people
    given_to = Counter((d.person_id, d.tier) for d in decisions if d.outcome == "person")
    for person_id, person in state.people.items():
        for tier, load in person.load.items():
            assert load == before[person_id].get(tier, 0) + given_to[(person_id, tier)]


@ENGINE_RUNS
@given(data=ruleset_data(), state=people_and_teams(), subjects=SUBJECTS)
def test_capacity_is_never_exceeded(data: dict[str, Any], state: AllocationState, subjects: list[Subject]) -> None:
    before = _snapshot(state)
    allocate_many(subjects, ruleset_parse(data), state)
    for person_id, person in state.people.items():
        for tier, limit in person.capacity.items():
            if limit is not None:
                assert person.load.get(tier, 0) <= max(limit, before[person_id].get(tier, 0))


@ENGINE_RUNS
@given(data=ruleset_data(), state=people_and_teams(), subjects=SUBJECTS)
def test_skipped_people_are_never_chosen(data: dict[str, Any], state: AllocationState,
                                         subjects: list[Subject]) -> None:
    for decision in allocate_many(subjects, ruleset_parse(data), state):
        skipped = {note.person_id for note in decision.candidates if note.skipped}
        assert decision.person_id not in skipped
        if decision.person_id is not None:
            person = state.people[decision.person_id]
            assert person.available
            chosen = next(note for note in decision.candidates if note.chosen)
            assert chosen.capacity is None or chosen.load < chosen.capacity


@ENGINE_RUNS
@given(state=people_and_teams(), subjects=SUBJECTS, team=st.sampled_from(TEAMS), split=st.sampled_from(TIERS))
def test_round_robin_balances_available_members_within_one(state: AllocationState, subjects: list[Subject],
                                                           team: int, split: str) -> None:
    # given: no capacities (capacity is the only reason a member may be passed over out of turn); subjects of
    # one tier go to a pool, the rest to the team by round-robin
    for person in state.people.values():
        person.capacity = {}
    ruleset = RuleSet((Rule("elsewhere", "", (Condition("tier", "eq", split),), Target("pool", 90)),
                       Rule("team", "", (), Target("team", team, "round_robin"))), Target("pool", 91))
    # when
    decisions = allocate_many(subjects, ruleset, state)
    # then
    received = Counter(d.person_id for d in decisions if d.outcome == "person")
    available = [pid for pid in state.teams[team].member_ids if state.people[pid].available]
    counts = [received[pid] for pid in available]
    if counts:
        assert max(counts) - min(counts) <= 1
        assert sum(counts) == sum(1 for s in subjects if s.fields["tier"] != split)
    assert set(received) <= set(available)


@ENGINE_RUNS
@given(data=ruleset_data(), state=people_and_teams(), subjects=SUBJECTS)
def test_replay_gives_identical_decisions(data: dict[str, Any], state: AllocationState,
                                          subjects: list[Subject]) -> None:
    ruleset = ruleset_parse(data)
    first_state, second_state = state.copy(), state.copy()
    first = allocate_many(subjects, ruleset, first_state)
    second = allocate_many(subjects, ruleset_parse(ruleset_dump(ruleset)), second_state)
    assert first == second
    assert first_state == second_state


@ENGINE_RUNS
@given(data=ruleset_data())
def test_dump_of_parse_is_the_identity_on_valid_rule_sets(data: dict[str, Any]) -> None:
    ruleset = ruleset_parse(data)
    assert ruleset_dump(ruleset) == data
    assert ruleset_parse(ruleset_dump(ruleset)) == ruleset


@ENGINE_RUNS
@given(data=ruleset_data(), subjects=SUBJECTS)
def test_compiled_matching_agrees_with_plain_matching(data: dict[str, Any], subjects: list[Subject]) -> None:
    ruleset = ruleset_parse(data)
    for subject in subjects:
        expected = [i for i, rule in enumerate(ruleset.rules) if rule_matches(rule, subject)]
        assert list(ruleset.compiled.matching(subject)) == expected


@ENGINE_RUNS
@given(values=st.lists(st.one_of(st.integers(0, 10**6), st.decimals(0, 10**6, places=2)), max_size=50))
def test_gini_is_in_zero_to_one(values: list[int | Decimal]) -> None:
    assert 0.0 <= gini(values) < 1.0


@ENGINE_RUNS
@given(value=st.integers(0, 10**6), count=st.integers(1, 50))
def test_gini_of_equal_values_is_zero(value: int, count: int) -> None:
    assert gini([value] * count) == 0.0
