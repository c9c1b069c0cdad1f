"""The demo organisation as a plan: pure data, decided up front from a seed and a scale.

The builders (`kamguard.demo.build`, `kamguard.demo.bulk`) turn a plan into rows by calling the org
services; keeping the decisions here makes the demo deterministic and testable without a database.

At scale 1 the organisation is:

    总公司 (company)                        head: the sales director (销售总监)
      ├─ 华东大区  上海市                    head: a regional supervisor
      │    └─ 上海一组 上海二组 上海三组
      ├─ 华南大区  广东省                    head: a regional supervisor
      │    └─ 广州一组 广州二组 深圳一组
      ├─ 华北大区  北京市                    head: a regional supervisor
      │    └─ 北京一组 北京二组
      ├─ 内部监督部   the internal auditor
      ├─ 财务部       finance
      ├─ 人力资源部   HR
      └─ 信息技术部   the administrator

Each team has 5 key account managers (one of them the team leader) and 1 specialist: 40 managers and
8 specialists. Reporting lines: manager and specialist → team leader → regional supervisor → director.
Two more managers have left (left_on set, deactivated); some people changed roles or teams over time.
At scale N every region has N times as many teams, in more cities; the extra teams are "bulk" teams.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from typing import Any

from kamguard.demo.industries import INDUSTRIES
from kamguard.demo.names import PeopleGenerator, industry_code

DEMO_PASSWORD = "Demo-Pass-2026"  # noqa: S105 - the published password of the demo accounts
MANAGERS_PER_TEAM = 5  # the leader included


@dataclass(frozen=True)
class ReferencePlan:
    kind: str  # "post", "grade" or "industry"
    code: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class DepartmentPlan:
    key: str
    name: str
    parent: str | None
    region_code: str | None


@dataclass(frozen=True)
class TeamPlan:
    key: str
    name: str
    department: str
    region_code: str | None
    leader: str  # a person key
    is_bulk: bool = False


@dataclass(frozen=True)
class PersonPlan:
    key: str
    label: str  # what the login table calls this person, e.g. "manager (team leader)"
    username: str
    full_name: str
    email: str
    phone: str
    roles: tuple[str, ...]
    department: str
    team: str | None
    post: str
    grade: str
    region_code: str | None
    supervisor: str | None
    hired_on: dt.date
    left_on: dt.date | None = None
    can_export: bool = False
    # History, replayed through the services after creation so the audit trail has more than creations.
    first_roles: tuple[str, ...] | None = None  # roles held first; changed to `roles` later
    role_change_reason: str = ""
    first_team: str | None = None  # team first assigned to; moved to `team` later
    is_bulk: bool = False


@dataclass
class WorldPlan:
    seed: int
    scale: int
    company_name: str
    references: list[ReferencePlan] = field(default_factory=list)
    departments: list[DepartmentPlan] = field(default_factory=list)
    teams: list[TeamPlan] = field(default_factory=list)
    people: list[PersonPlan] = field(default_factory=list)
    department_heads: dict[str, str] = field(default_factory=dict)  # department key → person key

    def person(self, key: str) -> PersonPlan:
        return next(p for p in self.people if p.key == key)


POSTS: tuple[tuple[str, str, str, str], ...] = (
    ("KAM", "大客户经理", "Key account manager", "负责大客户的开发、维护与回款，记录拜访和工作日志。"),
    ("KAS", "大客户专员", "Key account specialist", "协助客户经理处理订单、交付、回款和市场信息。"),
    ("DIR", "销售总监", "Sales director", "领导大区与团队，审批、仲裁撞单、考核与辅导。"),
    ("AUD", "内部监督", "Internal auditor", "独立开展审计与风险调查，不编辑业务数据。"),
    ("FIN", "财务", "Finance", "确认回款与应收。"),
    ("HR", "人力资源", "Human resources", "培训、奖惩、离职交接与招聘。"),
    ("ADM", "系统管理员", "System administrator", "维护组织、角色、规则与设置。"),
)

GRADES: tuple[tuple[str, str, int], ...] = (
    ("P1", "P1 助理", 1), ("P2", "P2 专员", 2), ("P3", "P3 中级", 3), ("P4", "P4 高级", 4),
    ("P5", "P5 资深", 5), ("P6", "P6 专家", 6), ("M1", "M1 主管", 11), ("M2", "M2 经理", 12),
    ("M3", "M3 总监", 13),
)

# Regions: (key, department name, official region code, cities as (city name, code)). The first
# cities carry the scale-1 teams; more cities join as the scale grows.
REGIONS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("east", "华东大区", "310000", (("上海", "310000"), ("杭州", "330100"), ("南京", "320100"), ("苏州", "320500"),
                                  ("宁波", "330200"), ("合肥", "340100"))),
    ("south", "华南大区", "440000", (("广州", "440100"), ("深圳", "440300"), ("东莞", "441900"), ("佛山", "440600"),
                                   ("厦门", "350200"), ("福州", "350100"))),
    ("north", "华北大区", "110000", (("北京", "110000"), ("天津", "120000"), ("济南", "370100"), ("青岛", "370200"),
                                   ("石家庄", "130100"), ("太原", "140100"))),
)
# The scale-1 teams: (region key, city, number within the city).
BASE_TEAMS: tuple[tuple[str, str, int], ...] = (
    ("east", "上海", 1), ("east", "上海", 2), ("east", "上海", 3),
    ("south", "广州", 1), ("south", "广州", 2), ("south", "深圳", 1),
    ("north", "北京", 1), ("north", "北京", 2),
)
FUNCTIONS: tuple[tuple[str, str, str, str, str, str], ...] = (
    # (key, department, role, post, grade, label)
    ("audit", "内部监督部", "auditor", "AUD", "M2", "internal auditor"),
    ("finance", "财务部", "finance", "FIN", "P5", "finance"),
    ("hr", "人力资源部", "hr", "HR", "M1", "HR"),
    ("it", "信息技术部", "admin", "ADM", "P6", "administrator"),
)
CHINESE_NUMERALS = "一二三四五六七八九十"


def team_name(city: str, number: int) -> str:
    if number <= len(CHINESE_NUMERALS):
        return f"{city}{CHINESE_NUMERALS[number - 1]}组"
    return f"{city}{number}组"


def plan_world(*, seed: int = 42, scale: int = 1, as_of: dt.date, company_name: str = "总公司",
               taken_usernames: set[str] | frozenset[str] = frozenset()) -> WorldPlan:
    """The whole organisation for `seed` and `scale`; `as_of` anchors hiring and leaving dates."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    people = PeopleGenerator(seed, taken_usernames=taken_usernames)
    plan = WorldPlan(seed=seed, scale=scale, company_name=company_name)
    _plan_references(plan)

    def hired(min_years: float, max_years: float) -> dt.date:
        return as_of - dt.timedelta(days=rng.randint(int(min_years * 365), int(max_years * 365)))

    def add(key: str, label: str, roles: tuple[str, ...], department: str, post: str, grade: str,
            region_code: str | None, supervisor: str | None, hired_on: dt.date, **extra: Any) -> PersonPlan:
        drawn = people.person()
        extra.setdefault("team", None)
        person = PersonPlan(key=key, label=label, username=drawn.username, full_name=drawn.full_name,
                            email=drawn.email, phone=drawn.phone, roles=roles, department=department,
                            post=post, grade=grade, region_code=region_code, supervisor=supervisor,
                            hired_on=hired_on, **extra)
        plan.people.append(person)
        return person

    plan.departments.append(DepartmentPlan("company", company_name, None, None))
    director = add("director", "sales director", ("supervisor",), "company", "DIR", "M3", None, None, hired(10, 14))
    plan.department_heads["company"] = director.key

    # Regional departments and their supervisors (once managers themselves: promoted later).
    for region_key, department_name, region_code, _cities in REGIONS:
        plan.departments.append(DepartmentPlan(region_key, department_name, "company", region_code))
        head = add(f"{region_key}-supervisor", "supervisor", ("supervisor",), region_key, "DIR", "M2", region_code,
                   director.key, hired(6, 12), first_roles=("manager",), role_change_reason="晋升为大区负责人")
        plan.department_heads[region_key] = head.key

    # Teams: the scale-1 teams first, then the bulk teams spread over the region's cities.
    team_specs: list[tuple[str, str, int, bool]] = [(r, c, n, False) for r, c, n in BASE_TEAMS]
    extra_per_region = {key: (scale - 1) * sum(1 for r, _, _ in BASE_TEAMS if r == key) for key, *_ in REGIONS}
    for region_key, _name, _code, cities in REGIONS:
        counts: dict[str, int] = {city: max((n for r, c, n in BASE_TEAMS if r == region_key and c == city), default=0)
                                  for city, _ in cities}
        for index in range(extra_per_region[region_key]):
            city = cities[index % len(cities)][0]
            counts[city] += 1
            team_specs.append((region_key, city, counts[city], True))

    city_codes = {city: code for _, _, _, cities in REGIONS for city, code in cities}

    def plan_team(index: int, region_key: str, city: str, number: int, is_bulk: bool) -> None:
        team_key = f"team-{index + 1}"
        region_code = city_codes[city]
        supervisor_key = plan.department_heads[region_key]
        leader = add(f"{team_key}-leader", "manager (team leader)", ("manager",), region_key, "KAM",
                     rng.choice(("P5", "P6")), region_code, supervisor_key, hired(4, 11), team=team_key,
                     is_bulk=is_bulk)
        plan.teams.append(TeamPlan(team_key, team_name(city, number), region_key, region_code, leader.key, is_bulk))
        for member in range(1, MANAGERS_PER_TEAM):
            add(f"{team_key}-manager-{member}", "manager", ("manager",), region_key, "KAM",
                rng.choice(("P2", "P3", "P3", "P4", "P4")), region_code, leader.key, hired(0.2, 8), team=team_key,
                is_bulk=is_bulk)
        add(f"{team_key}-specialist", "specialist", ("specialist",), region_key, "KAS", rng.choice(("P1", "P2")),
            region_code, leader.key, hired(0.1, 5), team=team_key, is_bulk=is_bulk)

    # The scale-1 world is drawn completely before any bulk team, so its people are the same at every scale.
    for index, (region_key, city, number, is_bulk) in enumerate(team_specs):
        if not is_bulk:
            plan_team(index, region_key, city, number, is_bulk)

    _plan_history(plan, rng, as_of, people)

    # The functional departments, each with its one person reporting to nobody in sales.
    for key, department_name, role, post, grade, label in FUNCTIONS:
        plan.departments.append(DepartmentPlan(key, department_name, "company", None))
        person = add(key, label, (role,), key, post, grade, None, None, hired(2, 9), can_export=role == "admin")
        plan.department_heads[key] = person.key

    for index, (region_key, city, number, is_bulk) in enumerate(team_specs):
        if is_bulk:
            plan_team(index, region_key, city, number, is_bulk)
    return plan


def _plan_references(plan: WorldPlan) -> None:
    for code, name, name_en, description in POSTS:
        plan.references.append(ReferencePlan("post", code, {"name": name, "name_en": name_en,
                                                            "description": description}))
    for code, name, rank in GRADES:
        plan.references.append(ReferencePlan("grade", code, {"name": name, "rank": rank}))
    codes: set[str] = set()
    for name, _count in INDUSTRIES:
        code = industry_code(name)
        while code in codes:
            code = code[:30] + "_2"
        codes.add(code)
        plan.references.append(ReferencePlan("industry", code, {"name": name}))


def _plan_history(plan: WorldPlan, rng: random.Random, as_of: dt.date, generator: PeopleGenerator) -> None:
    """Give the scale-1 world a past: promotions, a transfer between teams, two people who left."""
    base_teams = [t for t in plan.teams if not t.is_bulk]
    people = plan.people
    by_key = {p.key: i for i, p in enumerate(people)}

    def change(key: str, **changes: Any) -> None:
        people[by_key[key]] = replace(people[by_key[key]], **changes)

    # Two managers started as specialists and were promoted.
    for team in base_teams[:2]:
        change(f"{team.key}-manager-1", first_roles=("specialist",), role_change_reason="晋升为大客户经理")
    # One manager moved from the first team to the last (调岗).
    change(f"{base_teams[-1].key}-manager-2", first_team=base_teams[0].key)
    # Two managers left: their leaving date is set and their accounts are deactivated.
    for index, team in enumerate(base_teams[2:4]):
        drawn = generator.person()
        left_on = as_of - dt.timedelta(days=rng.randint(20, 300))
        people.append(PersonPlan(
            key=f"{team.key}-left-{index + 1}", label="manager (left)", username=drawn.username,
            full_name=drawn.full_name, email=drawn.email, phone=drawn.phone, roles=("manager",),
            department=team.department, team=team.key, post="KAM", grade="P3", region_code=team.region_code,
            supervisor=team.leader, hired_on=left_on - dt.timedelta(days=rng.randint(400, 2000)), left_on=left_on,
        ))
