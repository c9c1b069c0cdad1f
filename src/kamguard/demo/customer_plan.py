"""The demo's customers, shared pools and ownership history as a plan: pure data from a seed (no Django).

The customers are the real listed companies of `data/a_share_companies.csv` (a copy of the columns
ts_code, name, fullname, enname, area and industry of ../shared/datasets/a_share_companies.csv, so the
installed package needs no file outside it), each placed in the sales region its `area` belongs to,
plus invented smaller companies (城市 + 字号 + 行业 + 有限公司). The contacts are invented: Chinese
names, valid mobile numbers and e-mail addresses at `<company>.example` (RFC 2606: never a real mailbox,
and plainly not the real company's).

At scale 1, per sales region: one shared pool (公海) with realistic rules; about 17.5 customers per
active manager — 1 in 7 invented — of which a quarter end in the pool (half registered there by a
specialist, half released by a manager) and the rest are owned, about 13 per manager. Then the history
replayed by `kamguard.demo.customer_build`: releases, claims by colleagues, direct transfers by the
regional supervisors, transfer requests (2 pending, 1 rejected, 1 approved), five ownership disputes
(open, answered, decided "share", decided "transfer", withdrawn), locks, account-team members sharing the
credit and a few planted near-duplicates registered with a reason.

Extra customers of a scaled demo (`--scale N`) are drawn by `bulk_customer_plans`, a generator, so a
scale-50 plan is never held in memory at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from stdnum.cn import uscc as stdnum_uscc

from kamguard.demo.names import PeopleGenerator
from kamguard.demo.plan import REGIONS, PersonPlan, WorldPlan

DATASET = Path(__file__).parent / "data" / "a_share_companies.csv"
CUSTOMERS_PER_MANAGER = 17.5
INVENTED_SHARE = 1 / 7
POOLED_SHARE = 0.25
MAIL_SUFFIX = "example"  # RFC 2606 top-level domain: contacts' addresses can never reach anyone

POOL_NAMES = {"east": "华东公海", "south": "华南公海", "north": "华北公海"}
POOL_RULES: dict[str, int | None] = {
    "max_owned_a": 10, "max_owned_b": 30, "max_owned_c": None, "max_claims_per_day": 5, "cooldown_days": 30,
    "protection_days": 15, "reclaim_no_followup_days_a": 60, "reclaim_no_followup_days_b": 45,
    "reclaim_no_followup_days_c": 30, "warn_days_before": 7, "max_locks": 3,
}
RECLAIM_DAYS = {"A": 60, "B": 45, "C": 30}

# The dataset's `area` → sales region. Areas outside the three regions' home provinces are spread.
REGION_OF_AREA = {
    "上海": "east", "浙江": "east", "江苏": "east", "安徽": "east", "江西": "east",
    "深圳": "south", "广东": "south", "福建": "south", "广西": "south", "海南": "south", "湖南": "south",
    "北京": "north", "天津": "north", "河北": "north", "山东": "north", "山西": "north", "河南": "north",
    "辽宁": "north", "吉林": "north", "黑龙江": "north", "内蒙": "north",
}
SPREAD_ORDER = ("east", "south", "north")
# Official (GB/T 2260) codes of the dataset's areas: provinces, and the city of 深圳.
AREA_CODES = {
    "北京": "110000", "天津": "120000", "河北": "130000", "山西": "140000", "内蒙": "150000", "辽宁": "210000",
    "吉林": "220000", "黑龙江": "230000", "上海": "310000", "江苏": "320000", "浙江": "330000", "安徽": "340000",
    "福建": "350000", "江西": "360000", "山东": "370000", "河南": "410000", "湖北": "420000", "湖南": "430000",
    "广东": "440000", "深圳": "440300", "广西": "450000", "海南": "460000", "重庆": "500000", "四川": "510000",
    "贵州": "520000", "云南": "530000", "西藏": "540000", "陕西": "610000", "甘肃": "620000", "青海": "630000",
    "宁夏": "640000", "新疆": "650000",
}

# Invented companies: 城市 + 字号 + trade word + 有限公司, with the industry it belongs to.
TRADES: tuple[tuple[str, str], ...] = (
    ("软件服务", "软件科技"), ("软件服务", "信息技术"), ("元器件", "电子科技"), ("电气设备", "电气"),
    ("化工原料", "化工"), ("专用机械", "机械设备"), ("汽车配件", "汽车零部件"), ("通信设备", "通信技术"),
    ("医疗保健", "医疗器械"), ("环境保护", "环保科技"), ("建筑工程", "建设工程"), ("机械基件", "精密机械"),
    ("食品", "食品"), ("仓储物流", "供应链管理"), ("仓储物流", "物流"), ("塑料", "塑胶制品"),
    ("家居用品", "家居"), ("广告包装", "包装材料"), ("纺织", "纺织"), ("电器仪表", "仪器仪表"),
    ("IT设备", "智能设备"), ("医药商业", "医药"), ("装修装饰", "装饰工程"), ("商贸代理", "贸易"),
)
BRAND_CHARACTERS = "瑞丰鑫源恒泰宏达嘉诚和信安盛锐博众联创远航美康德润祥福隆昌晟祺睿卓誉铭骏弘坤沃旭晖"

DECISION_TITLES = ("董事长", "总经理", "副总经理", "采购总监", "首席信息官", "财务总监", "运营总监")
OTHER_TITLES = ("采购经理", "信息中心主任", "行政经理", "项目经理", "采购专员", "技术负责人", "商务经理",
                "设备部经理", "供应链经理")
RELEASE_REASONS = (
    "客户近一年无采购计划，释放给同事跟进", "客户已选定竞争对手，短期内无机会", "本人负责客户过多，无法保证拜访频次",
    "客户决策层变动，原有关系失效", "客户业务收缩，需求转向其他区域",
)
TRANSFER_REASONS = (
    "均衡团队负荷：原负责人客户数超出标准", "客户采购中心调整，由熟悉该行业的同事负责",
    "原负责人调整到重点行业项目组", "客户要求更换对接人，经与双方沟通后调整",
)
SOURCES_LISTED = ("上市公司名录", "行业展会", "老客户转介绍", "招投标信息", "官网咨询")
SOURCES_INVENTED = ("行业展会", "电话开发", "老客户转介绍", "网络推广", "渠道伙伴")


@dataclass(frozen=True)
class Company:
    """One row of the dataset."""

    code: str
    short_name: str
    full_name: str
    english_name: str
    area: str
    industry: str


@dataclass(frozen=True)
class ContactPlan:
    name: str
    title: str
    phone: str
    email: str
    is_decision_maker: bool


@dataclass(frozen=True)
class CustomerPlan:
    key: str
    name: str
    region: str  # sales region key: east, south, north
    region_code: str  # official region code of the customer
    industry: str  # industry name (org.Industry)
    tier: str
    size: str
    created_on: dt.date
    registrar: str  # the person key of who registers it
    owner: str | None  # the first owner (the registrar); None: registered straight into the pool
    english_name: str = ""
    aliases: tuple[str, ...] = ()
    website: str = ""
    uscc: str | None = None
    source: str = ""
    contacts: tuple[ContactPlan, ...] = ()
    is_listed: bool = False
    check_duplicates: bool = False  # through the duplicate check; else skip_dedupe (known distinct)
    near_duplicate_of: str | None = None  # a planted near-duplicate of this customer key
    name_variants: tuple[str, ...] = ()  # names to try for a near-duplicate, first that is "possible" wins
    duplicate_reason: str = ""


@dataclass(frozen=True)
class HistoryStep:
    """One thing that happened after registration, replayed through the customers services in order.

    kind: release, claim, transfer, request (state pending/approved/rejected), dispute (state open/answered/
    share/transfer/withdrawn), lock, team.
    """

    kind: str
    customer: str
    actor: str  # the person key who does it
    target: str | None = None  # claim: —; transfer/request: the receiver; team: the member
    reason: str = ""
    state: str = ""
    decider: str | None = None  # request and dispute: the supervisor who decides
    share: int = 0  # team and dispute "share": the credit share in percent
    first_contact_on: dt.date | None = None


@dataclass(frozen=True)
class PoolPlan:
    region: str
    name: str
    department: str  # department key
    region_code: str
    creator: str  # the regional supervisor
    members: tuple[str, ...]
    admins: tuple[str, ...]  # the supervisor and the team leaders (also members)
    rules: dict[str, int | None] = field(default_factory=dict)


@dataclass
class CustomersPlan:
    seed: int
    as_of: dt.date
    pools: list[PoolPlan] = field(default_factory=list)
    customers: list[CustomerPlan] = field(default_factory=list)
    history: list[HistoryStep] = field(default_factory=list)
    followup_days: dict[str, int] = field(default_factory=dict)  # customer key → days since the last follow-up
    final_owner: dict[str, str | None] = field(default_factory=dict)
    bulk_per_manager: float = CUSTOMERS_PER_MANAGER

    def customer(self, key: str) -> CustomerPlan:
        return next(c for c in self.customers if c.key == key)


@lru_cache(maxsize=1)
def companies() -> tuple[Company, ...]:
    """The dataset, in its own order; rows without an area, industry or full name are left out."""
    with DATASET.open(encoding="utf-8", newline="") as handle:
        rows = [Company(r["ts_code"], r["name"], r["fullname"].strip(), r["enname"].strip(), r["area"], r["industry"])
                for r in csv.DictReader(handle)]
    return tuple(r for r in rows if r.area and r.industry and r.full_name)


def region_of(company: Company, index: int) -> str:
    return REGION_OF_AREA.get(company.area) or SPREAD_ORDER[index % len(SPREAD_ORDER)]


def short_alias(short_name: str) -> str:
    """万科A → 万科, *ST海马 → 海马: the name people use, without the listing markers."""
    name = short_name.replace("*ST", "").replace("ST", "").strip()
    if len(name) > 2 and name[-1] in "AB" and not name[-2].isascii():
        name = name[:-1]
    return name


def _slug(text: str) -> str:
    letters = "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore")).lower()
    return "".join(ch for ch in letters if ch.isascii() and ch.isalnum())[:20] or "company"


def _invented_uscc(rng: random.Random, region_code: str) -> str:
    body = "91" + region_code + "".join(rng.choice("0123456789") for _ in range(9))
    code = body + stdnum_uscc.calc_check_digit(body)
    return code if stdnum_uscc.is_valid(code) else _invented_uscc(rng, region_code)


@lru_cache(maxsize=1)
def _dataset_bigrams() -> frozenset[str]:
    grams: set[str] = set()
    for company in companies():
        for text in (company.short_name, company.full_name):
            grams.update(text[i:i + 2] for i in range(len(text) - 1))
    return frozenset(grams)


def invented_brands() -> list[str]:
    """Two-character 字号 that appear in no listed company's name, so an invented company never looks like one."""
    taken = _dataset_bigrams()
    return [a + b for a in BRAND_CHARACTERS for b in BRAND_CHARACTERS if a != b and a + b not in taken]


class _Drawer:
    """Draws the parts of customers: contacts, domains, dates, tiers. Keeps domains and phones distinct."""

    def __init__(self, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(seed * 7919 + 17)  # noqa: S311 - reproducible demo data, not secrets
        self.people = PeopleGenerator(seed * 7919 + 23)
        self.as_of = as_of
        self.domains: set[str] = set()

    def domain(self, name: str) -> str:
        base = _slug(name)
        candidate, number = base, 1
        while candidate in self.domains:
            number += 1
            candidate = f"{base}{number}"
        self.domains.add(candidate)
        return f"{candidate}.{MAIL_SUFFIX}"

    def contacts(self, domain: str) -> tuple[ContactPlan, ...]:
        count = self.rng.choices((1, 2, 3), weights=(40, 40, 20))[0]
        used: set[str] = set()
        rows = []
        for index in range(count):
            name, pinyin, _is_female = self.people.contact()
            local, number = pinyin, 1
            while local in used:
                number += 1
                local = f"{pinyin}{number}"
            used.add(local)
            decides = index == 0 and self.rng.random() < 0.6
            title = self.rng.choice(DECISION_TITLES if decides else OTHER_TITLES)
            rows.append(ContactPlan(name=name, title=title, phone=self.people.mobile(), email=f"{local}@{domain}",
                                    is_decision_maker=decides))
        return tuple(rows)

    def created_on(self, registrar: PersonPlan) -> dt.date:
        since_hired = (self.as_of - registrar.hired_on).days
        latest = max(7, min(3 * 365, since_hired))
        return self.as_of - dt.timedelta(days=self.rng.randint(7, latest))

    def tier_and_size(self, *, listed: bool) -> tuple[str, str]:
        if listed:
            tier = self.rng.choices("ABC", weights=(10, 35, 55))[0]
            size = {"A": "large", "B": self.rng.choice(("large", "large", "medium")),
                    "C": self.rng.choice(("medium", "medium", "large"))}[tier]
        else:
            tier = self.rng.choices("BC", weights=(15, 85))[0]
            size = self.rng.choice(("small", "small", "small", "medium"))
        return tier, size


def _region_people(world: WorldPlan, region: str) -> tuple[list[PersonPlan], list[PersonPlan], PersonPlan]:
    """The region's active scale-1 managers (team leaders included) and specialists, and its supervisor."""
    active = [p for p in world.people if p.department == region and not p.is_bulk and p.left_on is None]
    managers = [p for p in active if "manager" in p.roles and p.team]
    specialists = [p for p in active if "specialist" in p.roles]
    supervisor = world.person(world.department_heads[region])
    return managers, specialists, supervisor


def plan_customers(world: WorldPlan, *, as_of: dt.date, customers_per_manager: float = CUSTOMERS_PER_MANAGER
                   ) -> CustomersPlan:
    """The scale-1 customers, pools and history for the organisation `world` (its seed drives the draws)."""
    drawer = _Drawer(world.seed, as_of)
    rng = drawer.rng
    plan = CustomersPlan(seed=world.seed, as_of=as_of, bulk_per_manager=customers_per_manager)
    by_region: dict[str, list[Company]] = {key: [] for key, *_ in REGIONS}
    for index, company in enumerate(companies()):
        by_region[region_of(company, index)].append(company)
    brands = invented_brands()
    rng.shuffle(brands)
    leaders = {t.leader for t in world.teams}
    counter = 0

    for region, _department_name, _code, cities in REGIONS:
        managers, specialists, supervisor = _region_people(world, region)
        team_members = [p.key for p in (*managers, *specialists)]
        admins = (supervisor.key, *(m.key for m in managers if m.key in leaders))
        plan.pools.append(PoolPlan(region=region, name=POOL_NAMES[region], department=region,
                                   region_code=_code, creator=supervisor.key,
                                   members=tuple(dict.fromkeys((*team_members, *admins))), admins=admins,
                                   rules=dict(POOL_RULES)))
        total = round(len(managers) * customers_per_manager)
        invented = round(total * INVENTED_SHARE)
        listed = rng.sample(by_region[region], total - invented)
        rows: list[CustomerPlan] = []
        for company in listed:
            counter += 1
            tier, size = drawer.tier_and_size(listed=True)
            domain = drawer.domain(short_alias(company.short_name))
            alias = short_alias(company.short_name)
            rows.append(CustomerPlan(
                key=f"c-{counter}", name=company.full_name, region=region, region_code=AREA_CODES[company.area],
                industry=company.industry, tier=tier, size=size, created_on=as_of, registrar="", owner=None,
                english_name=company.english_name, aliases=(alias,) if alias else (), website=domain,
                source=rng.choice(SOURCES_LISTED),
                contacts=drawer.contacts(domain), is_listed=True))
        for _ in range(invented):
            counter += 1
            city, city_code = rng.choice(cities)
            industry, trade = rng.choice(TRADES)
            brand = brands.pop()
            name = f"{city}{brand}{trade}有限公司"
            tier, size = drawer.tier_and_size(listed=False)
            domain = drawer.domain(brand + trade[:2])
            rows.append(CustomerPlan(
                key=f"c-{counter}", name=name, region=region, region_code=city_code, industry=industry, tier=tier,
                size=size, created_on=as_of, registrar="", owner=None, uscc=_invented_uscc(rng, city_code),
                website=domain, source=rng.choice(SOURCES_INVENTED), contacts=drawer.contacts(domain),
                check_duplicates=True))
        rng.shuffle(rows)
        _plan_region(plan, rows, managers, specialists, supervisor, drawer, as_of)
    order = {c.key: i for i, c in enumerate(plan.customers)}
    plan.customers.sort(key=lambda c: (c.created_on, order[c.key]))
    # A handful of listed companies go through the normal duplicate check too (the first of each region).
    seen_regions: dict[str, int] = {}
    for index, customer in enumerate(plan.customers):
        if customer.is_listed and seen_regions.get(customer.region, 0) < 4:
            seen_regions[customer.region] = seen_regions.get(customer.region, 0) + 1
            plan.customers[index] = _replace(customer, check_duplicates=True)
    return plan


def _replace(customer: CustomerPlan, **changes: object) -> CustomerPlan:
    from dataclasses import replace

    return replace(customer, **changes)  # type: ignore[arg-type]


def _plan_region(plan: CustomersPlan, rows: list[CustomerPlan], managers: list[PersonPlan],
                 specialists: list[PersonPlan], supervisor: PersonPlan, drawer: _Drawer, as_of: dt.date) -> None:
    rng = drawer.rng
    region = rows[0].region if rows else ""
    total = len(rows)
    pooled_final = round(total * POOLED_SHARE)
    claimed = min(len(managers), max(2, total // 25))
    released = pooled_final // 2 + claimed // 2
    to_pool = pooled_final + claimed - released
    owner_cycle = 0

    def next_manager() -> PersonPlan:
        nonlocal owner_cycle
        owner_cycle += 1
        return managers[(owner_cycle - 1) % len(managers)]

    registered: list[CustomerPlan] = []
    for index, row in enumerate(rows):
        if index < to_pool and specialists:
            registrar = specialists[index % len(specialists)]
            owner = None
        else:
            registrar = next_manager()
            owner = registrar.key
        registered.append(_replace(row, registrar=registrar.key, owner=owner,
                                   created_on=drawer.created_on(registrar)))
    plan.customers.extend(registered)
    final = {c.key: c.owner for c in registered}
    in_pool_by_specialist = [c for c in registered if c.owner is None]
    owned = [c for c in registered if c.owner is not None]
    release_group, owned = owned[:released], owned[released:]
    history = plan.history
    for customer in release_group:
        history.append(HistoryStep("release", customer.key, customer.owner or "", reason=rng.choice(RELEASE_REASONS)))
        final[customer.key] = None
    # Colleagues claim some of the pool: never the one who released it (the cooldown), at most 2 each today.
    claimable = release_group[: claimed // 2] + in_pool_by_specialist[: claimed - claimed // 2]
    claims_by: dict[str, int] = {}
    for index, customer in enumerate(claimable):
        for offset in range(len(managers)):
            claimer = managers[(index * 3 + offset + 1) % len(managers)]
            if claimer.key != customer.owner and claims_by.get(claimer.key, 0) < 2:
                break
        claims_by[claimer.key] = claims_by.get(claimer.key, 0) + 1
        history.append(HistoryStep("claim", customer.key, claimer.key))
        final[customer.key] = claimer.key

    # The rest of the owned customers are stable; each story below takes its own.
    stable = list(owned)
    rng.shuffle(stable)

    def take(predicate: object = None) -> CustomerPlan:
        for index, customer in enumerate(stable):
            if predicate is None or predicate(customer):  # type: ignore[operator]
                return stable.pop(index)
        return stable.pop()

    def colleague(of: str, *, other_team: bool = False) -> PersonPlan:
        owner = next(m for m in managers if m.key == of)
        choices = [m for m in managers if m.key != of and (not other_team or m.team != owner.team)] or \
            [m for m in managers if m.key != of]
        return rng.choice(choices)

    stories = _REGION_STORIES[region]
    for _ in range(stories.transfers):
        customer = take()
        receiver = colleague(customer.owner or "", other_team=True)
        history.append(HistoryStep("transfer", customer.key, supervisor.key, target=receiver.key,
                                   reason=rng.choice(TRANSFER_REASONS)))
        final[customer.key] = receiver.key
    for state in stories.requests:
        customer = take()
        receiver = colleague(customer.owner or "")
        reason = {"pending": "本人下季度主要负责重点项目，申请将该客户移交给同事跟进",
                  "approved": "客户新设采购中心由同事所在团队对接，申请移交",
                  "rejected": "客户关系维护压力大，申请移交给同事"}[state]
        history.append(HistoryStep("request", customer.key, customer.owner or "", target=receiver.key, reason=reason,
                                   state=state, decider=supervisor.key))
        if state == "approved":
            final[customer.key] = receiver.key
    for state in stories.disputes:
        customer = take()
        claimant = colleague(customer.owner or "")
        first_contact = customer.created_on - dt.timedelta(days=rng.randint(10, 90))
        history.append(HistoryStep("dispute", customer.key, claimant.key, state=state, decider=supervisor.key,
                                   share=30 if state == "share" else 0, first_contact_on=first_contact,
                                   reason=DISPUTE_EVIDENCE[state]))
        if state == "transfer":
            final[customer.key] = claimant.key
    lockers: set[str] = set()
    for _ in range(stories.locks):
        customer = take(lambda c: c.tier in "AB" and c.owner not in lockers)
        lockers.add(customer.owner or "")
        history.append(HistoryStep("lock", customer.key, customer.owner or "",
                                   reason="重点客户续约谈判中，锁定防止回收"))
    for index in range(stories.teams):
        customer = take()
        manager = next(m for m in managers if m.key == customer.owner)
        same_team = [s for s in specialists if s.team == manager.team]
        if index % 2 == 0 and same_team:
            history.append(HistoryStep("team", customer.key, manager.key, target=same_team[0].key, share=20,
                                       reason="商务支持：订单、交付与回款"))
        else:
            history.append(HistoryStep("team", customer.key, manager.key, target=colleague(manager.key).key,
                                       share=30, reason="协同开发：负责客户下属事业部"))
    for index in range(stories.near_duplicates):
        original = take(lambda c: c.is_listed)
        registrar = colleague(original.owner or "")
        company = next(c for c in companies() if c.full_name == original.name)
        other_city = "东莞" if region == "south" else ("苏州" if region == "east" else "天津")
        variants = (f"{original.name}{other_city}分公司", original.name.replace("科技", "信息科技", 1),
                    original.name.replace("股份有限公司", "集团有限公司"), f"{short_alias(company.short_name)}"
                    f"（{other_city}）有限公司")
        domain = drawer.domain(short_alias(company.short_name) + "fen")
        plan.customers.append(CustomerPlan(
            key=f"c-{region}-dup-{index + 1}", name=variants[0], region=region, region_code=original.region_code,
            industry=original.industry, tier="C", size="medium",
            created_on=as_of - dt.timedelta(days=rng.randint(1, 5)), registrar=registrar.key, owner=registrar.key,
            website=domain, source="电话开发", contacts=drawer.contacts(domain), check_duplicates=True,
            near_duplicate_of=original.key, name_variants=tuple(dict.fromkeys(variants)),
            duplicate_reason="分公司独立采购、独立结算，与总部分别签约，单独建档"))
        final[plan.customers[-1].key] = registrar.key
    # Follow-ups: every owned customer was followed up recently, except a few the reclaim job will warn about
    # (inside the warning window) and one it will take back (overdue).
    for key in sorted(k for k, owner in final.items() if owner is not None):
        plan.followup_days[key] = rng.randint(1, 20)
    for index in range(stories.warnings + 1):
        customer = take(lambda c: c.created_on < as_of - dt.timedelta(days=90))
        plan.followup_days[customer.key] = RECLAIM_DAYS[customer.tier] + (-3 if index < stories.warnings else 5)
    plan.final_owner.update(final)


DISPUTE_EVIDENCE = {
    "open": "我在一年前的行业展会上结识了对方采购总监，此后拜访三次并提交过方案，有拜访记录和邮件往来为证。",
    "answered": "对方信息中心主任是我的老客户，上月已约定技术交流，附会议邀请邮件。",
    "share": "客户华南事业部的采购由我一直跟进，已有两次报价记录。",
    "transfer": "该客户由我首次开发并完成首单，登记时系统未查出重复，有合同与回款记录为证。",
    "withdrawn": "我以为该客户尚未登记，经核实对方确属同事的老客户。",
}


@dataclass(frozen=True)
class Stories:
    """What happens in one region after registration."""

    transfers: int
    requests: tuple[str, ...]
    disputes: tuple[str, ...]
    locks: int
    teams: int
    near_duplicates: int
    warnings: int


# The east supervisor has two transfer requests and a dispute to decide; the others have their stories done.
_REGION_STORIES: dict[str, Stories] = {
    "east": Stories(2, ("pending", "pending"), ("open", "answered"), 2, 6, 1, 2),
    "south": Stories(1, ("rejected",), ("share", "withdrawn"), 1, 5, 1, 1),
    "north": Stories(1, ("approved",), ("transfer",), 1, 4, 1, 1),
}


def bulk_customer_plans(world: WorldPlan, *, as_of: dt.date, per_manager: float = CUSTOMERS_PER_MANAGER,
                        skip_names: set[str] | frozenset[str] = frozenset()) -> Iterator[CustomerPlan]:
    """The extra customers of a scaled demo, owned by the bulk teams' managers or in their region's pool.

    Listed companies not used at scale 1 first, then invented ones; drawn one at a time (bounded memory).
    """
    drawer = _Drawer(world.seed + 100_003, as_of)
    rng = drawer.rng
    listed: dict[str, list[Company]] = {key: [] for key, *_ in REGIONS}
    for index, company in enumerate(companies()):
        if company.full_name not in skip_names:
            listed[region_of(company, index)].append(company)
    for rows in listed.values():
        rng.shuffle(rows)
    brands = invented_brands()
    invented_names: set[str] = set()
    counter = 0
    for region, _department_name, _code, cities in REGIONS:
        managers = [p for p in world.people if p.is_bulk and p.department == region and "manager" in p.roles]
        for index in range(round(len(managers) * per_manager)):
            counter += 1
            owner = managers[index % len(managers)]
            pooled = rng.random() < POOLED_SHARE
            if listed[region]:
                company = listed[region].pop()
                tier, size = drawer.tier_and_size(listed=True)
                alias = short_alias(company.short_name)
                domain = drawer.domain(alias)
                yield CustomerPlan(
                    key=f"b-{counter}", name=company.full_name, region=region,
                    region_code=AREA_CODES[company.area], industry=company.industry, tier=tier, size=size,
                    created_on=drawer.created_on(owner), registrar=owner.key, owner=None if pooled else owner.key,
                    english_name=company.english_name, aliases=(alias,) if alias else (), website=domain,
                    source=rng.choice(SOURCES_LISTED), contacts=drawer.contacts(domain), is_listed=True)
                continue
            while True:
                city, city_code = rng.choice(cities)
                industry, trade = rng.choice(TRADES)
                brand = rng.choice(brands)
                name = f"{city}{brand}{trade}有限公司"
                if name not in invented_names:
                    invented_names.add(name)
                    break
            tier, size = drawer.tier_and_size(listed=False)
            domain = drawer.domain(brand + trade[:2])
            yield CustomerPlan(
                key=f"b-{counter}", name=name, region=region, region_code=city_code, industry=industry, tier=tier,
                size=size, created_on=drawer.created_on(owner), registrar=owner.key,
                owner=None if pooled else owner.key, uscc=_invented_uscc(rng, city_code), website=domain,
                source=rng.choice(SOURCES_INVENTED), contacts=drawer.contacts(domain))
