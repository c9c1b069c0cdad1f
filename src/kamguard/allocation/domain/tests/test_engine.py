"""The engine: strategies, skip reasons, fallthrough and fallback, explanations, replay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kamguard.allocation.domain.engine import (
    REASON_CODES,
    AllocationState,
    Person,
    TeamState,
    allocate,
    allocate_many,
)
from kamguard.allocation.domain.rules import Condition, Rule, RuleSet, Subject, Target

GD = ("440305", "440300", "440000")
POOL = Target("pool", 90)


def team_state(*people: Person, cursor: int | None = None, pool_id: int | None = 91) -> AllocationState:
    return AllocationState({p.id: p for p in people},
                           {10: TeamState(10, tuple(p.id for p in people), cursor, pool_id)}, {90, 91})


def only(target: Target, fallback: Target = POOL) -> RuleSet:
    return RuleSet((Rule("r", "", (), target),), fallback)


def lead(ref: str = "s1", tier: str = "A", region: tuple[str, ...] = GD, **fields: object) -> Subject:
    return Subject(ref, {"tier": tier, **fields}, region)


# ---------------------------------------------------------------- person and pool targets


def test_a_person_target_takes_the_subject_and_its_load() -> None:
    # given
    state = team_state(Person(1, 10, capacity={"A": 3}, load={"A": 1}))
    # when
    decision = allocate(lead(expected_value=Decimal("5000")), only(Target("person", 1)), state)
    # then
    assert (decision.outcome, decision.person_id, decision.pool_id) == ("person", 1, None)
    assert (decision.rule_key, decision.rule_index, decision.reason_code) == ("r", 0, "rule_person")
    assert decision.candidates[0].chosen and decision.candidates[0].load == 1 and decision.candidates[0].capacity == 3
    assert decision.value == Decimal("5000") and decision.tier == "A" and decision.team_id == 10
    assert state.people[1].load == {"A": 2}


def test_a_pool_target() -> None:
    state = team_state(Person(1, 10))
    decision = allocate(lead(), only(Target("pool", 91)), state)
    assert (decision.outcome, decision.pool_id, decision.reason_code) == ("pool", 91, "pool_target")
    assert decision.candidates == ()
    assert state.people[1].load == {}


@pytest.mark.parametrize("reason", ["absent", "on_leave", "leaving", "left", "no_right"])
def test_each_unavailable_reason_skips_a_person(reason: str) -> None:
    state = team_state(Person(1, 10, available=False, unavailable_reason=reason))
    decision = allocate(lead(), only(Target("person", 1)), state)
    assert decision.outcome == "pool" and decision.pool_id == 90
    assert decision.reason_code == "all_skipped_fallback"
    assert [(n.person_id, n.chosen, n.skipped) for n in decision.candidates] == [(1, False, reason)]
    assert state.people[1].load == {}


def test_an_unavailable_person_without_a_reason_counts_as_absent() -> None:
    state = team_state(Person(1, 10, available=False))
    decision = allocate(lead(), only(Target("person", 1)), state)
    assert decision.candidates[0].skipped == "absent"


def test_at_capacity_for_the_subjects_tier_only() -> None:
    state = team_state(Person(1, 10, capacity={"A": 2, "B": None}, load={"A": 2, "B": 50}))
    assert allocate(lead(tier="A"), only(Target("person", 1)), state).candidates[0].skipped == "at_capacity"
    decision = allocate(lead(tier="B"), only(Target("person", 1)), state)
    assert decision.person_id == 1 and decision.candidates[0].capacity is None
    assert allocate(lead(tier="C"), only(Target("person", 1)), state).person_id == 1


def test_capacity_zero_means_none_of_that_tier() -> None:
    state = team_state(Person(1, 10, capacity={"A": 0}))
    assert allocate(lead(), only(Target("person", 1)), state).candidates[0].skipped == "at_capacity"


def test_an_unknown_person_is_skipped_as_unknown() -> None:
    state = team_state(Person(1, 10))
    decision = allocate(lead(), only(Target("person", 404)), state)
    assert decision.candidates[0].skipped == "unknown" and decision.outcome == "pool"


# ---------------------------------------------------------------- team strategies


def test_round_robin_goes_round_in_member_order_from_the_cursor() -> None:
    state = team_state(Person(3, 10), Person(1, 10), Person(2, 10), cursor=1)
    decisions = allocate_many([lead(f"s{i}") for i in range(5)], only(Target("team", 10, "round_robin")), state)
    assert [d.person_id for d in decisions] == [2, 3, 1, 2, 3]
    assert {d.reason_code for d in decisions} == {"round_robin_next"}
    assert decisions[0].reason_params["after"] == 1
    assert state.teams[10].cursor == 3


def test_round_robin_starts_at_the_first_member_without_a_cursor_or_with_a_stale_one() -> None:
    for cursor in (None, 999):
        state = team_state(Person(5, 10), Person(6, 10), cursor=cursor)
        assert allocate(lead(), only(Target("team", 10, "round_robin")), state).person_id == 5


def test_round_robin_skips_and_notes_unavailable_and_full_members() -> None:
    state = team_state(Person(1, 10), Person(2, 10, available=False, unavailable_reason="on_leave"),
                       Person(3, 10, capacity={"A": 1}, load={"A": 1}), Person(4, 10), cursor=1)
    decision = allocate(lead(), only(Target("team", 10, "round_robin")), state)
    assert decision.person_id == 4
    assert [(n.person_id, n.chosen, n.skipped) for n in decision.candidates] == [
        (2, False, "on_leave"), (3, False, "at_capacity"), (4, True, "")]
    assert state.teams[10].cursor == 4


def test_capacity_weighted_takes_the_lowest_load_for_capacity_ratio() -> None:
    # 1: 4/10 = 0.4, 2: 1/2 = 0.5, 3: 3/10 = 0.3 → 3
    state = team_state(Person(1, 10, capacity={"A": 10}, load={"A": 4}),
                       Person(2, 10, capacity={"A": 2}, load={"A": 1}),
                       Person(3, 10, capacity={"A": 10}, load={"A": 3, "B": 40}))
    decision = allocate(lead(), only(Target("team", 10, "capacity")), state)
    assert decision.person_id == 3 and decision.reason_code == "capacity_lowest_ratio"
    assert [n.chosen for n in decision.candidates] == [False, False, True]
    assert [n.score for n in decision.candidates] == [pytest.approx(0.4), pytest.approx(0.5), pytest.approx(0.3)]


def test_capacity_weighted_ties_go_to_the_lower_person_id() -> None:
    state = team_state(Person(7, 10, capacity={"A": 4}, load={"A": 2}), Person(3, 10, capacity={"A": 2}, load={"A": 1}))
    assert allocate(lead(), only(Target("team", 10, "capacity")), state).person_id == 3


def test_capacity_weighted_counts_an_unlimited_capacity_as_the_largest_in_the_team() -> None:
    # unlimited counts as 10: 6/10 = 0.6 > 5/10 = 0.5
    state = team_state(Person(1, 10, capacity={}, load={"A": 6}), Person(2, 10, capacity={"A": 10}, load={"A": 5}))
    assert allocate(lead(), only(Target("team", 10, "capacity")), state).person_id == 2
    # nobody limited: by load
    state = team_state(Person(1, 10, load={"A": 6}), Person(2, 10, load={"A": 5}))
    assert allocate(lead(), only(Target("team", 10, "capacity")), state).person_id == 2


def test_capacity_weighted_fills_people_in_proportion() -> None:
    state = team_state(Person(1, 10, capacity={"A": 30}), Person(2, 10, capacity={"A": 10}))
    allocate_many([lead(f"s{i}") for i in range(40)], only(Target("team", 10, "capacity")), state)
    assert (state.people[1].load["A"], state.people[2].load["A"]) == (30, 10)
    assert allocate(lead(), only(Target("team", 10, "capacity")), state).outcome == "pool"


def test_least_loaded_counts_every_tier_and_ties_by_id() -> None:
    state = team_state(Person(1, 10, load={"A": 1, "C": 5}), Person(2, 10, load={"B": 3}), Person(3, 10, load={"A": 3}))
    decision = allocate(lead(), only(Target("team", 10, "least_loaded")), state)
    assert decision.person_id == 2 and decision.reason_code == "least_loaded"
    assert decision.reason_params["total_load"] == 3
    assert [n.score for n in decision.candidates] == [6.0, 3.0, 3.0]
    # now 2 and 3 both have 4 → 2
    assert allocate(lead(), only(Target("team", 10, "least_loaded")), state).person_id == 3
    assert allocate(lead(), only(Target("team", 10, "least_loaded")), state).person_id == 2


def test_ranked_strategies_skip_unavailable_members() -> None:
    for strategy in ("capacity", "least_loaded"):
        state = team_state(Person(1, 10, available=False, unavailable_reason="leaving"),
                           Person(2, 10, load={"A": 9}, capacity={"A": 10}))
        decision = allocate(lead(), only(Target("team", 10, strategy)), state)
        assert decision.person_id == 2
        assert [(n.person_id, n.skipped) for n in decision.candidates] == [(1, "leaving"), (2, "")]


def test_first_come_sends_the_subject_to_the_teams_pool() -> None:
    state = team_state(Person(1, 10))
    decision = allocate(lead(), only(Target("team", 10, "first_come")), state)
    assert (decision.outcome, decision.pool_id, decision.reason_code) == ("pool", 91, "first_come_pool")
    assert decision.team_id == 10 and state.people[1].load == {}


def test_first_come_without_a_team_pool_falls_through() -> None:
    state = team_state(Person(1, 10), pool_id=None)
    decision = allocate(lead(), only(Target("team", 10, "first_come")), state)
    assert decision.outcome == "pool" and decision.pool_id == 90
    assert decision.reason_params["skipped_failures"] == "no_team_pool"


def test_an_unknown_team_or_pool_falls_through() -> None:
    state = team_state(Person(1, 10))
    assert allocate(lead(), only(Target("team", 77, "round_robin")), state).reason_params["skipped_failures"] == \
        "unknown_team"
    assert allocate(lead(), only(Target("pool", 77)), state).reason_params["skipped_failures"] == "unknown_pool"


# ---------------------------------------------------------------- fallthrough and fallback


def test_when_everyone_is_skipped_the_next_matching_rule_decides() -> None:
    # given: rule a's team is all away; rule b does not match; rule c names person 5
    state = AllocationState(
        {1: Person(1, 10, available=False, unavailable_reason="absent"),
         2: Person(2, 10, capacity={"A": 0}), 5: Person(5, 20)},
        {10: TeamState(10, (1, 2))}, {90})
    ruleset = RuleSet((
        Rule("a", "", (Condition("region", "within", "440000"),), Target("team", 10, "round_robin")),
        Rule("b", "", (Condition("tier", "eq", "B"),), Target("person", 1)),
        Rule("c", "", (Condition("tier", "eq", "A"),), Target("person", 5)),
    ), POOL)
    # when
    decision = allocate(lead(), ruleset, state)
    # then
    assert (decision.person_id, decision.rule_key, decision.rule_index) == (5, "c", 2)
    assert [(n.person_id, n.skipped, n.rule_key) for n in decision.candidates] == [
        (1, "absent", "a"), (2, "at_capacity", "a"), (5, "", "c")]
    assert state.teams[10].cursor is None


def test_no_rule_matches_the_fallback_decides() -> None:
    state = team_state(Person(1, 10), Person(2, 10))
    ruleset = RuleSet((Rule("sh", "", (Condition("region", "within", "310000"),), Target("person", 2)),),
                      Target("team", 10, "round_robin"))
    decision = allocate(lead(), ruleset, state)
    assert (decision.person_id, decision.rule_key, decision.rule_index) == (1, "", -1)
    assert decision.reason_code == "fallback_round_robin_next" and decision.strategy == "round_robin"


def test_all_matching_rules_skipped_the_fallback_says_so() -> None:
    state = team_state(Person(1, 10, available=False, unavailable_reason="left"))
    decision = allocate(lead(), RuleSet((Rule("x", "", (), Target("person", 1)),), POOL), state)
    assert decision.reason_code == "all_skipped_fallback"
    assert decision.reason_params["fallback_reason"] == "fallback_pool_target"
    assert decision.reason_params["skipped_rules"] == "x"


def test_unallocated_when_the_fallback_cannot_take_it_either() -> None:
    state = team_state(Person(1, 10, available=False, unavailable_reason="left"))
    decision = allocate(lead(), RuleSet((Rule("x", "", (), Target("person", 1)),), Target("person", 1)), state)
    assert (decision.outcome, decision.person_id, decision.pool_id) == ("unallocated", None, None)
    assert decision.reason_code == "unallocated_all_skipped"
    assert [n.rule_key for n in decision.candidates] == ["x", ""]
    decision = allocate(lead(), RuleSet((), Target("team", 10, "least_loaded")), state)
    assert decision.reason_code == "unallocated_fallback_failed"
    assert decision.reason_params["failure"] == "all_members_skipped"


def test_every_reason_code_has_an_english_template() -> None:
    state = team_state(Person(1, 10))
    decision = allocate(lead(), only(Target("team", 10, "capacity")), state)
    assert decision.reason_code in REASON_CODES
    REASON_CODES[decision.reason_code].format(**decision.reason_params)


# ---------------------------------------------------------------- determinism


def test_replay_gives_the_same_decisions_and_leaves_the_original_state_alone() -> None:
    state = team_state(Person(1, 10, capacity={"A": 5}), Person(2, 10, capacity={"A": 3}), Person(3, 10))
    ruleset = RuleSet((Rule("a", "", (Condition("tier", "eq", "A"),), Target("team", 10, "round_robin")),
                       Rule("b", "", (), Target("team", 10, "capacity"))), POOL)
    subjects = [lead(f"s{i}", tier="AB"[i % 2]) for i in range(20)]
    first = allocate_many(subjects, ruleset, state.copy())
    second = allocate_many(subjects, ruleset, state.copy())
    assert first == second
    assert state.people[1].load == {} and state.teams[10].cursor is None
