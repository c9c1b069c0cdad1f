"""The demo plan and the name generator: pure Python, no database."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import phonenumbers
import pytest

from kamguard.demo.names import SURNAMES, PeopleGenerator, industry_code
from kamguard.demo.plan import plan_world

AS_OF = dt.date(2026, 11, 23)


def test_same_seed_gives_the_same_world() -> None:
    # given / when
    first = plan_world(seed=7, as_of=AS_OF)
    second = plan_world(seed=7, as_of=AS_OF)
    # then
    assert first.people == second.people
    assert first.teams == second.teams


def test_another_seed_gives_other_people() -> None:
    first = plan_world(seed=1, as_of=AS_OF)
    second = plan_world(seed=2, as_of=AS_OF)
    assert [p.username for p in first.people] != [p.username for p in second.people]
    # but the same shape
    assert Counter(p.label for p in first.people) == Counter(p.label for p in second.people)


def test_default_world_has_the_expected_people() -> None:
    plan = plan_world(seed=42, as_of=AS_OF)
    labels = Counter(p.label for p in plan.people)
    assert labels == {
        "manager": 32, "manager (team leader)": 8, "manager (left)": 2, "specialist": 8, "supervisor": 3,
        "sales director": 1, "internal auditor": 1, "finance": 1, "HR": 1, "administrator": 1,
    }
    assert len(plan.teams) == 8
    assert {d.name for d in plan.departments} >= {"总公司", "华东大区", "华南大区", "华北大区"}


def test_usernames_phones_are_unique_and_valid() -> None:
    plan = plan_world(seed=42, scale=3, as_of=AS_OF)
    usernames = [p.username for p in plan.people]
    phones = [p.phone for p in plan.people]
    assert len(set(usernames)) == len(usernames)
    assert len(set(phones)) == len(phones)
    for person in plan.people:
        assert phonenumbers.is_valid_number(phonenumbers.parse(person.phone, "CN"))
        assert person.username.isascii() and person.username == person.username.lower()
        assert person.email == f"{person.username}@example.com"


def test_taken_usernames_are_avoided() -> None:
    generator = PeopleGenerator(42, taken_usernames={"Wang.Fang"})
    usernames = [generator.person().username for _ in range(1500)]
    assert "wang.fang" not in usernames
    assert len(set(usernames)) == len(usernames)
    # collisions get a number, e.g. wang.fang2
    assert any(name[-1].isdigit() for name in usernames)


def test_names_follow_surname_frequency_with_some_compound_surnames() -> None:
    generator = PeopleGenerator(3)
    names = [generator.person().full_name for _ in range(2000)]
    surnames = Counter(next(s for s, _, _ in sorted(SURNAMES, key=lambda r: -len(r[0])) if n.startswith(s))
                       for n in names)
    assert surnames.most_common(1)[0][0] in {"王", "李", "张"}
    assert sum(surnames[s] for s in ("欧阳", "司马", "上官", "诸葛")) > 0
    assert all(2 <= len(n) <= 4 for n in names)


def test_reporting_lines_have_no_cycles_and_point_upwards() -> None:
    plan = plan_world(seed=42, scale=2, as_of=AS_OF)
    supervisor_of = {p.key: p.supervisor for p in plan.people}
    order = {p.key: i for i, p in enumerate(plan.people)}
    for person in plan.people:
        seen = {person.key}
        node = person.supervisor
        while node is not None:
            assert node not in seen
            seen.add(node)
            node = supervisor_of[node]
        if person.supervisor:
            # a supervisor is planned (and so created) before their reports
            assert order[person.supervisor] < order[person.key]


def test_managers_have_a_team_and_a_supervisor() -> None:
    plan = plan_world(seed=42, as_of=AS_OF)
    team_keys = {t.key for t in plan.teams}
    for person in plan.people:
        if "manager" in person.roles or "specialist" in person.roles:
            assert person.team in team_keys
            assert person.supervisor is not None


def test_scale_multiplies_teams_and_managers() -> None:
    plan = plan_world(seed=42, scale=50, as_of=AS_OF)
    managers = [p for p in plan.people if "manager" in p.roles]
    assert len(plan.teams) == 400
    assert 1900 <= len(managers) <= 2100
    assert len({(t.department, t.name) for t in plan.teams}) == 400
    assert sum(not t.is_bulk for t in plan.teams) == 8


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan_world(seed=1, scale=0, as_of=AS_OF)


def test_industry_codes_are_stable_and_unique() -> None:
    assert industry_code("软件服务") == "ruan_jian_fu_wu"
    plan = plan_world(seed=1, as_of=AS_OF)
    codes = [r.code for r in plan.references if r.kind == "industry"]
    assert len(codes) == len(set(codes)) > 100


def test_hiring_dates_spread_over_years_and_leavers_left_after_joining() -> None:
    plan = plan_world(seed=42, as_of=AS_OF)
    years = {p.hired_on.year for p in plan.people}
    assert len(years) >= 6
    assert all(p.hired_on <= AS_OF for p in plan.people)
    leavers = [p for p in plan.people if p.left_on]
    assert len(leavers) == 2
    assert all(p.hired_on < p.left_on <= AS_OF for p in leavers)


def test_the_scale_1_people_are_the_same_at_every_scale() -> None:
    small = plan_world(seed=42, as_of=AS_OF)
    large = plan_world(seed=42, scale=4, as_of=AS_OF)
    assert [p for p in large.people if not p.is_bulk] == small.people
    assert [t for t in large.teams if not t.is_bulk] == small.teams
