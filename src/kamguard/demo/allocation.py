"""Build the demo's allocation through the allocation services: team settings and capacities, one absence,
the company's rule set (version 1 active, version 2 a draft waiting to be simulated), a few months of lead
intake through `intake_submit` (every channel; two leads that are already customers go to their owners), one
manual re-assignment with its reason, and the fairness check.

Who does what: the sales director writes and activates the rules and re-assigns; the regional supervisors
set their teams' pools, bounds and capacities and record the absence; leads arrive from the form (a
supervisor), the API and imports (the director's integration), and the public web form (nobody).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from kamguard.allocation.models import Intake, RuleSet, RuleSetVersion
from kamguard.allocation.services.fairness import fairness_check_run
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.services.overrides import customer_reassign
from kamguard.allocation.services.people import absence_add, capacity_set, team_setting_save
from kamguard.allocation.services.rulesets import (
    rule_set_create,
    rule_set_version_activate,
    rule_set_version_create,
)
from kamguard.customers.models import Customer, CustomerStatus
from kamguard.demo.customer_plan import invented_brands
from kamguard.org.models import Industry, User

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

LEADS = 90
INTAKE_DAYS = 100
KEY_ACCOUNT_VALUE = Decimal("2000000")
LEAD_CITIES = (  # (city, region code, weight)
    ("上海", "310115", 18), ("上海", "310104", 8), ("杭州", "330106", 8), ("南京", "320106", 5), ("苏州", "320505", 5),
    ("广州", "440106", 10), ("深圳", "440305", 10), ("佛山", "440604", 3), ("北京", "110108", 12),
    ("天津", "120116", 4), ("济南", "370102", 3), ("成都", "510104", 3), ("武汉", "420106", 2),
)
TRADES = ("科技", "智能装备", "新材料", "医疗器械", "物流", "电子", "环保工程", "食品", "能源", "信息技术", "精密机械",
          "生物科技", "建设工程", "供应链管理")
SOURCES = ("官网咨询", "行业展会", "老客户转介绍", "电话开发", "招投标信息", "渠道伙伴")
CHANNELS = (("form", 35), ("api", 20), ("import", 25), ("web", 20))
ROUND_ROBIN_TEAMS = ("team-1", "team-6", "team-7")


@dataclass
class BuiltAllocation:
    rule_set: RuleSet
    active: RuleSetVersion
    draft: RuleSetVersion
    intakes: dict[str, int] = field(default_factory=dict)  # outcome → count
    override_customer: int | None = None
    alerts: int = 0


def _team(world: BuiltWorld, key: str) -> int:
    return world.teams[key].pk


def rules_for(world: BuiltWorld, *, fallback_pool: int, senior: int) -> dict[str, Any]:
    """The company's rules: key accounts to a senior manager, then regions to teams, then the fallback."""
    def team(key: str, strategy: str) -> dict[str, Any]:
        return {"kind": "team", "id": _team(world, key), "strategy": strategy}

    return {
        "rules": [
            {"key": "key-account", "name": "A 类大客户（预计金额 ≥ 200 万）", "conditions": [
                {"field": "tier", "operator": "eq", "value": "A"},
                {"field": "expected_value", "operator": "gte", "value": str(KEY_ACCOUNT_VALUE)}],
             "target": {"kind": "person", "id": senior}},
            {"key": "trade-fair", "name": "展会线索先到先得", "conditions": [
                {"field": "source", "operator": "eq", "value": "行业展会"},
                {"field": "region", "operator": "within", "value": "310000"}],
             "target": team("team-3", "first_come")},
            {"key": "shanghai", "name": "上海", "conditions": [
                {"field": "region", "operator": "within", "value": "310000"}],
             "target": team("team-1", "round_robin")},
            {"key": "jiangsu-zhejiang", "name": "江浙", "conditions": [
                {"field": "region", "operator": "in", "value": ["320000", "330000"]}],
             "target": team("team-2", "capacity")},
            {"key": "shenzhen", "name": "深圳", "conditions": [
                {"field": "region", "operator": "within", "value": "440300"}],
             "target": team("team-6", "round_robin")},
            {"key": "guangdong", "name": "广东其他地区", "conditions": [
                {"field": "region", "operator": "within", "value": "440000"}],
             "target": team("team-4", "least_loaded")},
            {"key": "beijing-tianjin", "name": "京津", "conditions": [
                {"field": "region", "operator": "in", "value": ["110000", "120000"]}],
             "target": team("team-7", "round_robin")},
            {"key": "north-other", "name": "华北其他地区", "conditions": [
                {"field": "region", "operator": "in", "value": ["130000", "140000", "370000"]}],
             "target": team("team-8", "capacity")},
        ],
        "fallback": {"kind": "pool", "id": fallback_pool},
    }


def _lead_names(count: int, rng: random.Random) -> list[str]:
    """Invented company names whose 字号 appears in no customer's name yet (so the check finds them new)."""
    existing = list(Customer.objects.values_list("name", flat=True))
    brands = [b for b in invented_brands() if not any(b in name for name in existing)]
    rng.shuffle(brands)
    return [f"{{city}}{brand}{rng.choice(TRADES)}有限公司" for brand in brands[:count]]


def _lead(rng: random.Random, template: str, industries: list[str]) -> dict[str, Any]:
    city, region, _weight = rng.choices(LEAD_CITIES, weights=[w for *_, w in LEAD_CITIES])[0]
    tier = rng.choices(("A", "B", "C"), weights=(8, 30, 62))[0]
    low, high = {"A": (600_000, 5_000_000), "B": (150_000, 900_000), "C": (10_000, 200_000)}[tier]
    size = {"A": "large", "B": rng.choice(("large", "medium")), "C": rng.choice(("medium", "small"))}[tier]
    return {"name": template.format(city=city), "region": region, "tier": tier, "size": size,
            "industry": rng.choice(industries), "source": rng.choice(SOURCES),
            "expected_value": str(rng.randrange(low, high, 1000)), "contact_name": rng.choice(
                ("张经理", "王总", "李主任", "刘工", "陈女士", "赵先生", "周总监")),
            "contact_phone": f"139{rng.randrange(10_000_000, 99_999_999)}"}


def allocation_build(world: BuiltWorld) -> BuiltAllocation:
    rng = random.Random(world.plan.seed * 104729 + 3)  # noqa: S311 - reproducible demo data, not secrets
    started = time.perf_counter()
    people = world.people
    director = people["director"]
    pools = world.customers.pools if world.customers else {}
    east_pool = pools["east"]
    today = timezone.localdate()

    # The regional supervisors set up their teams: the first-come pool, and fairness bounds on the teams whose
    # new customers go round in turn (capacity and least-loaded teams even out total loads, not each month's).
    for team_plan in world.plan.teams:
        if team_plan.is_bulk or team_plan.key not in ROUND_ROBIN_TEAMS + ("team-3",):
            continue
        supervisor = people[world.plan.department_heads[team_plan.department]]
        if team_plan.key == "team-3":
            team_setting_save(actor=supervisor, team=world.teams[team_plan.key], pool=pools.get(team_plan.department))
        else:
            team_setting_save(actor=supervisor, team=world.teams[team_plan.key], max_gini_count="0.35",
                              max_gini_value="0.6", max_spread_count=4)
    for team_key in ("team-2", "team-8"):
        team_plan = next(t for t in world.plan.teams if t.key == team_key)
        supervisor = people[world.plan.department_heads[team_plan.department]]
        members = User.objects.filter(team=world.teams[team_key], is_active=True,
                                      role_assignments__role="manager").order_by("pk")
        for index, member in enumerate(members):
            for tier, capacity in (("A", 6 + 2 * index), ("B", 25 + 5 * index), ("C", None)):
                capacity_set(actor=supervisor, person=member, tier=tier, capacity=capacity)
    # One manager of the Shanghai round-robin team is on leave for two weeks.
    on_leave = User.objects.filter(team=world.teams["team-1"], is_active=True,
                                   role_assignments__role="manager").order_by("-pk").first()
    if on_leave is not None:
        absence_add(actor=people["east-supervisor"], person=on_leave, kind="on_leave",
                    starts_on=today - dt.timedelta(days=4), ends_on=today + dt.timedelta(days=10), note="年假")
    world.timings["allocation setup"] = time.perf_counter() - started

    # The director writes the rules, activates them, and starts a second version (a draft to simulate).
    started = time.perf_counter()
    senior = people["team-1-leader"].pk
    rules = rules_for(world, fallback_pool=east_pool.pk, senior=senior)
    rule_set = rule_set_create(actor=director, name="全国线索分配规则", is_default=True, rules=rules,
                               description="新客户按地区分配到团队；A 类大客户给资深经理；无法匹配的进华东公海。",
                               note="首版：按地区、客户级别分配")
    active = rule_set_version_activate(actor=director, version_id=rule_set.versions.get().pk,
                                       note="试运行通过，启用")
    changed = rules_for(world, fallback_pool=east_pool.pk, senior=senior)
    changed["rules"][3]["target"]["strategy"] = "least_loaded"
    changed["rules"].insert(4, {"key": "hangzhou-it", "name": "杭州信息技术行业", "conditions": [
        {"field": "region", "operator": "within", "value": "330100"},
        {"field": "industry", "operator": "in", "value": _it_industries()}],
        "target": {"kind": "team", "id": _team(world, "team-3"), "strategy": "round_robin"}})
    draft = rule_set_version_create(actor=director, rule_set_id=rule_set.pk, rules=changed, based_on_id=active.pk,
                                    note="江浙改为按总量最少分配；杭州信息技术行业交给上海三组")
    world.timings["allocation rules"] = time.perf_counter() - started

    # A few months of leads through intake, oldest first.
    started = time.perf_counter()
    industries = list(Industry.objects.filter(is_active=True).order_by("code").values_list("code", flat=True))
    names = _lead_names(LEADS, rng)
    submitters = {"form": people["east-supervisor"], "api": director, "import": director, "web": None}
    moments = sorted(timezone.now() - dt.timedelta(days=rng.uniform(1, INTAKE_DAYS), hours=rng.uniform(0, 8))
                     for _ in names)
    outcomes: dict[str, int] = {}
    for template, moment in zip(names, moments, strict=False):
        channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
        fields = _lead(rng, template, industries)
        intake = intake_submit(actor=submitters[channel], channel=channel, fields=fields, submitted_at=moment,
                               ip_address=f"198.51.100.{rng.randrange(1, 250)}" if channel == "web" else None)
        outcomes[intake.outcome] = outcomes.get(intake.outcome, 0) + 1
    # Two leads for companies that are customers already: their owners hear of it, nobody else gets them.
    for customer in Customer.objects.filter(owner__isnull=False, status=CustomerStatus.ACTIVE,
                                            owner__is_active=True).order_by("pk")[:2]:
        intake = intake_submit(actor=None, channel="web", fields={"name": customer.name, "source": "官网咨询",
                                                                  "contact_name": "采购部"},
                               submitted_at=timezone.now() - dt.timedelta(days=rng.randint(1, 20)))
        outcomes[intake.outcome] = outcomes.get(intake.outcome, 0) + 1
    world.timings["allocation intake"] = time.perf_counter() - started

    # The director moves one allocated customer by hand, with the reason on record.
    started = time.perf_counter()
    built = BuiltAllocation(rule_set=rule_set, active=active, draft=draft, intakes=outcomes)
    moved = Intake.objects.filter(outcome="allocated", customer__owner__team=world.teams["team-1"]).order_by(
        "submitted_at").select_related("customer").first()
    if moved is not None and moved.customer is not None and moved.customer.owner_id is not None:
        other = User.objects.filter(team=world.teams["team-1"], is_active=True, role_assignments__role="manager"
                                    ).exclude(pk=moved.customer.owner_id).order_by("pk").first()
        if other is not None:
            customer_reassign(actor=director, customer_id=moved.customer.pk, new_owner=other,
                              reason="客户点名要求由原服务过其集团总部的经理对接")
            built.override_customer = moved.customer.pk
    built.alerts = len(fairness_check_run())
    world.timings["allocation override and fairness"] = time.perf_counter() - started
    return built


def _it_industries() -> list[str]:
    codes = list(Industry.objects.filter(name__contains="软件").values_list("code", flat=True)) or list(
        Industry.objects.order_by("code").values_list("code", flat=True)[:1])
    return codes[:5]


def try_this_allocation(built: BuiltAllocation) -> list[str]:
    outcome = ", ".join(f"{n} {o}" for o, n in sorted(built.intakes.items()))
    author = built.active.created_by
    who = f"{author.username} ({author.full_name})" if author is not None else "the sales director"
    return [
        f"{who}, Allocation → Rule sets: “{built.rule_set.name}” — version {built.active.number} active, version "
        f"{built.draft.number} a draft to simulate on last quarter's intake before activating; intake so far: "
        f"{outcome}.",
    ]
