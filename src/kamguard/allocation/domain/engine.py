"""The allocation engine: which person or pool receives a subject, and why.

``allocate`` walks the rules that match the subject in order. A rule's target may fail to take the
subject — every member of its team is absent, on leave, leaving, gone, without the right or at
capacity for the subject's tier; the team has no pool; the pool or person is unknown — and then the
next matching rule is tried, and finally the fallback. When the fallback cannot take it either the
outcome is ``unallocated``. Every person looked at leaves a :class:`CandidateNote`.

The engine is deterministic: no clock, no randomness, no iteration over sets. It mutates the
:class:`AllocationState` it is given (loads, round-robin cursors) exactly as the decision implies, so
running the same subjects against a copy of the same state gives the same decisions (a replay).

Strategies within a team:

* ``round_robin`` — the next available member after the cursor (the last member it chose), in
  member order, wrapping around;
* ``capacity`` — the available member with the lowest load/capacity ratio for the subject's tier
  (an unlimited capacity counts as the team's largest for that tier, or 1 when no member has one, so
  it never outranks everyone); ties by person id;
* ``least_loaded`` — the available member with the lowest total load; ties by person id;
* ``first_come`` — nobody: the subject goes to the team's pool to be claimed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeAlias

from kamguard.allocation.domain.rules import RuleSet, Subject, Target

SKIP_REASONS: tuple[str, ...] = ("absent", "on_leave", "leaving", "left", "no_right", "at_capacity", "unknown")
UNAVAILABLE_REASONS: tuple[str, ...] = ("absent", "on_leave", "leaving", "left", "no_right")

# reason_code of a decision, by target kind/strategy: (through a rule, through the fallback).
_REASONS: Mapping[str, tuple[str, str]] = {
    "person": ("rule_person", "fallback_person"),
    "round_robin": ("round_robin_next", "fallback_round_robin_next"),
    "capacity": ("capacity_lowest_ratio", "fallback_capacity_lowest_ratio"),
    "least_loaded": ("least_loaded", "fallback_least_loaded"),
    "first_come": ("first_come_pool", "fallback_first_come_pool"),
    "pool": ("pool_target", "fallback_pool_target"),
}
REASON_CODES: Mapping[str, str] = {
    "rule_person": "Rule {rule_key} names {person_id}.",
    "round_robin_next": "Rule {rule_key}: next in turn in team {team_id} (round-robin).",
    "capacity_lowest_ratio": "Rule {rule_key}: lowest load for capacity in team {team_id} "
                             "({load} of {capacity} tier {tier}).",
    "least_loaded": "Rule {rule_key}: fewest customers in team {team_id} ({load}).",
    "first_come_pool": "Rule {rule_key}: to team {team_id}'s pool {pool_id}, first come first served.",
    "pool_target": "Rule {rule_key}: to pool {pool_id}.",
    "fallback_person": "No rule matched; the fallback names {person_id}.",
    "fallback_round_robin_next": "No rule matched; fallback team {team_id}, next in turn.",
    "fallback_capacity_lowest_ratio": "No rule matched; fallback team {team_id}, lowest load for capacity.",
    "fallback_least_loaded": "No rule matched; fallback team {team_id}, fewest customers.",
    "fallback_first_come_pool": "No rule matched; to fallback team {team_id}'s pool {pool_id}.",
    "fallback_pool_target": "No rule matched; to the fallback pool {pool_id}.",
    "all_skipped_fallback": "Rules {skipped_rules} matched but nobody there could take it; "
                            "the fallback decided ({fallback_reason}).",
    "unallocated_fallback_failed": "No rule matched and the fallback could not take it ({failure}).",
    "unallocated_all_skipped": "Rules {skipped_rules} matched but nobody there could take it, "
                               "nor the fallback ({failure}).",
}
# Why a target could not take a subject (reason_params["failure"], and per skipped rule).
FAILURES: tuple[str, ...] = ("person_skipped", "all_members_skipped", "no_members", "unknown_team", "no_team_pool",
                             "unknown_pool")

Outcome: TypeAlias = Literal["person", "pool", "unallocated"]


@dataclass
class Person:
    """A possible owner. ``capacity`` per tier (None or missing: unlimited); ``load`` per tier: the
    customers owned now (the engine adds to it as it decides)."""

    id: int
    team_id: int | None
    available: bool = True
    unavailable_reason: str = ""
    capacity: Mapping[str, int | None] = field(default_factory=dict)
    load: dict[str, int] = field(default_factory=dict)

    def total_load(self) -> int:
        return sum(self.load.values())


@dataclass
class TeamState:
    """A team's members in a stable order; ``cursor``: the id of the last person round-robin chose."""

    team_id: int
    member_ids: tuple[int, ...]
    cursor: int | None = None
    pool_id: int | None = None


@dataclass
class AllocationState:
    """People, teams and open pools as the engine sees them. ``skipped_notes`` is a memo of the notes of
    skipped people (a person at capacity or away stays so, with the same load, until the state is rebuilt):
    notes are immutable, so decisions share them. It is not part of what the state means (not compared)."""

    people: dict[int, Person]
    teams: dict[int, TeamState]
    pools: set[int] = field(default_factory=set)
    skipped_notes: dict[tuple[int, str, int, int | None, str], CandidateNote] = field(
        default_factory=dict, repr=False, compare=False)

    def copy(self) -> AllocationState:
        """An independent copy (for a dry run or a replay)."""
        return AllocationState(copy.deepcopy(self.people), copy.deepcopy(self.teams), set(self.pools))


@dataclass(frozen=True)
class CandidateNote:
    """One person looked at: chosen or skipped (``skipped``: one of SKIP_REASONS) or passed over (neither:
    another member ranked first). ``load``/``capacity``: for the subject's tier, before the decision.
    ``rule_key``: the rule whose target was being tried ("" for the fallback). ``score``: what a ranked
    strategy compared (see Person and the module's notes)."""

    person_id: int
    chosen: bool
    skipped: str = ""
    load: int = 0
    capacity: int | None = None
    detail: str = ""
    rule_key: str = ""
    score: float | None = None  # capacity: load/capacity ratio; least_loaded: total load (lowest wins)


@dataclass(frozen=True)
class Decision:
    subject_ref: str
    outcome: Outcome
    person_id: int | None
    pool_id: int | None
    rule_key: str
    rule_index: int  # -1: the fallback (or nothing, when unallocated)
    strategy: str
    candidates: tuple[CandidateNote, ...]
    reason_code: str
    reason_params: Mapping[str, object]
    tier: str = ""
    value: Decimal = Decimal(0)
    team_id: int | None = None


# Notes and decisions are made by the engine many times per second: these build the same frozen dataclass
# instances without the generated __init__, which sets each field through object.__setattr__ (3 to 5 times
# slower for CandidateNote's eight fields). The field lists are checked against the classes at import.
_NOTE_FIELDS = ("person_id", "chosen", "skipped", "load", "capacity", "detail", "rule_key", "score")
_DECISION_FIELDS = ("subject_ref", "outcome", "person_id", "pool_id", "rule_key", "rule_index", "strategy",
                    "candidates", "reason_code", "reason_params", "tier", "value", "team_id")
assert tuple(f.name for f in fields(CandidateNote)) == _NOTE_FIELDS
assert tuple(f.name for f in fields(Decision)) == _DECISION_FIELDS
_new = object.__new__
_set = object.__setattr__


def _skipped(state: AllocationState, person_id: int, reason: str, load: int, capacity: int | None,
             rule_key: str) -> CandidateNote:
    """The note of a skipped person, shared while nothing about it changes."""
    key = (person_id, reason, load, capacity, rule_key)
    note = state.skipped_notes.get(key)
    if note is None:
        if len(state.skipped_notes) >= 100_000:
            state.skipped_notes.clear()
        note = state.skipped_notes[key] = _note(person_id, False, reason, load, capacity, rule_key)
    return note


def _note(person_id: int, chosen: bool, skipped: str, load: int, capacity: int | None, rule_key: str,
          score: float | None = None) -> CandidateNote:
    note: CandidateNote = _new(CandidateNote)
    _set(note, "__dict__", {"person_id": person_id, "chosen": chosen, "skipped": skipped, "load": load,
                            "capacity": capacity, "detail": "", "rule_key": rule_key, "score": score})
    return note


def _make_decision(subject_ref: str, outcome: Outcome, person_id: int | None, pool_id: int | None, rule_key: str,
                   rule_index: int, strategy: str, candidates: tuple[CandidateNote, ...], reason_code: str,
                   reason_params: Mapping[str, object], tier: str, value: Decimal, team_id: int | None) -> Decision:
    decision: Decision = _new(Decision)
    _set(decision, "__dict__", {
        "subject_ref": subject_ref, "outcome": outcome, "person_id": person_id, "pool_id": pool_id,
        "rule_key": rule_key, "rule_index": rule_index, "strategy": strategy, "candidates": candidates,
        "reason_code": reason_code, "reason_params": reason_params, "tier": tier, "value": value,
        "team_id": team_id})
    return decision


class _Attempt:
    """What trying one target gave: a person or pool, or ``unallocated`` with the failure code."""

    __slots__ = ("outcome", "person_id", "pool_id", "team_id", "failure", "params")

    def __init__(self, outcome: Outcome, person_id: int | None = None, pool_id: int | None = None,
                 team_id: int | None = None, failure: str = "", params: dict[str, object] | None = None) -> None:
        self.outcome = outcome
        self.person_id = person_id
        self.pool_id = pool_id
        self.team_id = team_id
        self.failure = failure
        self.params = params if params is not None else {}


def allocate(subject: Subject, ruleset: RuleSet, state: AllocationState) -> Decision:
    """Decide where the subject goes and update ``state`` accordingly (loads, round-robin cursors)."""
    tier = _text(subject.fields.get("tier"))
    notes: list[CandidateNote] = []
    skipped_rules: list[str] = []
    failures: list[str] = []
    compiled = ruleset.compiled
    rules = compiled.rules
    mask = compiled.candidate_mask(subject)
    while mask:  # the candidate rules in order (compiled.matching, inlined)
        low = mask & -mask
        mask ^= low
        index = low.bit_length() - 1
        compiled_rule = rules[index]
        if compiled_rule.residual and not _holds(compiled_rule.residual, subject):
            continue
        rule = compiled_rule.rule
        attempt = _try_target(rule.target, tier, state, notes, rule.key)
        if attempt.outcome != "unallocated":
            return _decision(subject, tier, attempt, rule.target, rule.key, index, notes,
                             _REASONS[_reason_key(rule.target)][0])
        skipped_rules.append(rule.key)
        failures.append(attempt.failure)
    fallback = ruleset.fallback
    attempt = _try_target(fallback, tier, state, notes, "")
    skipped_text = ", ".join(skipped_rules)
    if attempt.outcome != "unallocated":
        reason = _REASONS[_reason_key(fallback)][1]
        if skipped_rules:
            attempt.params.update(fallback_reason=reason, skipped_rules=skipped_text,
                                  skipped_failures=", ".join(failures))
            reason = "all_skipped_fallback"
        return _decision(subject, tier, attempt, fallback, "", -1, notes, reason)
    params: dict[str, object] = {"failure": attempt.failure, "tier": tier}
    if skipped_rules:
        params.update(skipped_rules=skipped_text, skipped_failures=", ".join(failures))
    return _make_decision(subject.ref, "unallocated", None, None, "", -1, fallback.strategy, tuple(notes),
                          "unallocated_all_skipped" if skipped_rules else "unallocated_fallback_failed", params,
                          tier, _value(subject), attempt.team_id)


def _holds(predicates: tuple[Callable[[Subject], bool], ...], subject: Subject) -> bool:
    for predicate in predicates:
        if not predicate(subject):
            return False
    return True


def allocate_many(subjects: Iterable[Subject], ruleset: RuleSet, state: AllocationState) -> list[Decision]:
    """``allocate`` for each subject in turn (each sees the loads and cursors the previous ones left)."""
    return [allocate(subject, ruleset, state) for subject in subjects]


def _decision(subject: Subject, tier: str, attempt: _Attempt, target: Target, rule_key: str, rule_index: int,
              notes: list[CandidateNote], reason: str) -> Decision:
    params = attempt.params
    params["rule_key"] = rule_key
    params["tier"] = tier
    return _make_decision(subject.ref, attempt.outcome, attempt.person_id, attempt.pool_id, rule_key, rule_index,
                          target.strategy, tuple(notes), reason, params, tier, _value(subject), attempt.team_id)


def _reason_key(target: Target) -> str:
    return target.strategy if target.kind == "team" else target.kind


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _value(subject: Subject) -> Decimal:
    raw = subject.fields.get("expected_value")
    if type(raw) is Decimal:
        return raw
    if raw is None or raw == "" or isinstance(raw, bool):
        return Decimal(0)
    if isinstance(raw, Decimal):
        return raw
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return Decimal(0)


def _skip_reason(person: Person, load: int, limit: int | None) -> str:
    """Why the person cannot take a subject whose tier they hold ``load`` of (out of ``limit``), or ""."""
    if not person.available:
        reason = person.unavailable_reason
        return reason if reason in UNAVAILABLE_REASONS else "absent"
    if limit is not None and load >= limit:
        return "at_capacity"
    return ""


def _give(person: Person, tier: str) -> None:
    person.load[tier] = person.load.get(tier, 0) + 1


def _try_target(target: Target, tier: str, state: AllocationState, notes: list[CandidateNote],
                rule_key: str) -> _Attempt:
    if target.kind == "pool":
        if target.id in state.pools:
            return _Attempt("pool", pool_id=target.id, params={"pool_id": target.id})
        return _Attempt("unallocated", failure="unknown_pool")
    if target.kind == "person":
        person = state.people.get(target.id)
        if person is None:
            notes.append(_skipped(state, target.id, "unknown", 0, None, rule_key))
            return _Attempt("unallocated", failure="person_skipped")
        load, limit = person.load.get(tier, 0), person.capacity.get(tier)
        reason = _skip_reason(person, load, limit)
        if reason:
            notes.append(_skipped(state, person.id, reason, load, limit, rule_key))
            return _Attempt("unallocated", failure="person_skipped")
        notes.append(_note(person.id, True, "", load, limit, rule_key))
        _give(person, tier)
        return _Attempt("person", person_id=person.id, team_id=person.team_id,
                        params={"person_id": person.id, "load": load, "capacity": limit})
    team = state.teams.get(target.id)
    if team is None:
        return _Attempt("unallocated", failure="unknown_team")
    if target.strategy == "first_come":
        if team.pool_id is None or team.pool_id not in state.pools:
            return _Attempt("unallocated", team_id=team.team_id, failure="no_team_pool")
        return _Attempt("pool", pool_id=team.pool_id, team_id=team.team_id,
                        params={"pool_id": team.pool_id, "team_id": team.team_id})
    if not team.member_ids:
        return _Attempt("unallocated", team_id=team.team_id, failure="no_members")
    if target.strategy == "round_robin":
        return _round_robin(team, tier, state, notes, rule_key)
    return _ranked(team, target.strategy, tier, state, notes, rule_key)


def _available(person_id: int, tier: str, state: AllocationState, notes: list[CandidateNote],
               rule_key: str) -> Person | None:
    """The team member if they can take a customer of `tier`; otherwise None, with the note saying why not."""
    person = state.people.get(person_id)
    if person is None:
        notes.append(_skipped(state, person_id, "unknown", 0, None, rule_key))
        return None
    load, limit = person.load.get(tier, 0), person.capacity.get(tier)
    reason = _skip_reason(person, load, limit)
    if reason:
        notes.append(_skipped(state, person_id, reason, load, limit, rule_key))
        return None
    return person


def _round_robin(team: TeamState, tier: str, state: AllocationState, notes: list[CandidateNote],
                 rule_key: str) -> _Attempt:
    members = team.member_ids
    previous = team.cursor
    start = 0
    if team.cursor is not None:
        try:
            start = members.index(team.cursor) + 1
        except ValueError:
            start = 0
    count = len(members)
    for step in range(count):
        person_id = members[(start + step) % count]
        person = _available(person_id, tier, state, notes, rule_key)
        if person is None:
            continue
        load, limit = person.load.get(tier, 0), person.capacity.get(tier)
        notes.append(_note(person_id, True, "", load, limit, rule_key))
        _give(person, tier)
        team.cursor = person_id
        return _Attempt("person", person_id=person_id, team_id=team.team_id,
                        params={"person_id": person_id, "team_id": team.team_id, "load": load, "capacity": limit,
                                "after": previous})
    return _Attempt("unallocated", team_id=team.team_id, failure="all_members_skipped")


def _ranked(team: TeamState, strategy: str, tier: str, state: AllocationState, notes: list[CandidateNote],
            rule_key: str) -> _Attempt:
    """capacity or least_loaded: rank every available member, take the first (ties by person id)."""
    people = state.people
    by_capacity = strategy == "capacity"
    largest = 1
    if by_capacity:
        limits = [limit for person_id in team.member_ids if (person := people.get(person_id)) is not None
                  if (limit := person.capacity.get(tier)) is not None]
        largest = max(limits, default=0) or 1
    best: tuple[float, int] | None = None
    best_note = -1
    for person_id in team.member_ids:
        person = _available(person_id, tier, state, notes, rule_key)
        if person is None:
            continue
        load, limit = person.load.get(tier, 0), person.capacity.get(tier)
        # limit is not 0 here: a member with capacity 0 is at capacity.
        score = load / (limit if limit is not None else largest) if by_capacity else float(sum(person.load.values()))
        if best is None or (score, person_id) < best:
            best, best_note = (score, person_id), len(notes)
        notes.append(_note(person_id, False, "", load, limit, rule_key, score))
    if best is not None:
        passed = notes[best_note]
        notes[best_note] = _note(passed.person_id, True, "", passed.load, passed.capacity, rule_key, passed.score)
    if best is None:
        return _Attempt("unallocated", team_id=team.team_id, failure="all_members_skipped")
    score, chosen_id = best
    chosen = people[chosen_id]
    load, limit = chosen.load.get(tier, 0), chosen.capacity.get(tier)
    total = sum(chosen.load.values())
    _give(chosen, tier)
    return _Attempt("person", person_id=chosen_id, team_id=team.team_id,
                    params={"person_id": chosen_id, "team_id": team.team_id, "load": load, "capacity": limit,
                            "total_load": total, "ratio": f"{score:.4f}" if by_capacity else ""})
