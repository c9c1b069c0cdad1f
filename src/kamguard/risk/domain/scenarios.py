"""Seeded evaluation scenarios: diversion stories planted among realistic noise, as rows of the import formats.

Pure (no Django): `scenario_build(seed=…, customers=…, as_of=…)` returns the rows of every file to import, in the
order they are loaded (`Scenario.phases`), the sensitive reads that no import format carries (`Scenario.reads`,
applied through the services) and the ground truth (`Scenario.truth`), which the loader writes to a file of its
own that the scan never reads. The same seed, size and as-of date give the same rows.

Noise every scenario has: two years of orders with seasonality (a year-end peak, the Spring Festival trough),
per-customer trends and order-to-order spread; irregular small buyers; a market-wide downturn in one industry over
the last three months (all its customers, every province); customers that go bankrupt (orders, payments and
visits all stop); ordinary owner changes followed by the normal 13–18 % dip; payers written as the customer's
short name, a parent group paying for a subsidiary; occasional promotions; ordinary contact edits and a
decision-maker leaving; managers looking up a few phone numbers; ordinary won and lost opportunities.

Patterns planted (`PATTERNS`, each with the signal that should find it):
- `collapse`      a customer's orders stop for three months while its owner keeps logging contact;
- `losses`        a manager loses most late-stage opportunities of the last six months, mostly to one competitor;
- `price`         an order line far below the usual price of that product for that customer tier;
- `third_party`   a customer's recent orders paid by a trading company;
- `hijack`        a decision-maker's phone changed to the owner's own and another decision-maker demoted;
- `results`       a manager's whole book falls by about 40 % while peers in the same markets hold;
- `access`        a manager who gave notice looks up contact details again and again (through the services);
- `hoarding`      a manager sits on customers registered months ago and never followed up;
- `transfer`      after an owner change, a customer's orders fall far beyond the normal dip (the previous owner).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from stdnum.cn import uscc as stdnum_uscc

BUCKET_DAYS = 30
HISTORY_BUCKETS = 25  # what the engine reads back (RiskConfig.buckets_needed)
PAYMENT_BUCKETS = 6  # payments of the last six months (the engine judges three; earlier ones only slow the import)
PATTERNS: dict[str, str] = {
    "collapse": "orders_collapse",
    "losses": "late_stage_losses",
    "price": "price_outlier",
    "third_party": "third_party",
    "hijack": "contact_hijack",
    "results": "results_anomaly",
    "access": "data_access",
    "hoarding": "hoarding",
    "transfer": "post_transfer_drop",
}
# Patterns of the list that no import format can carry: quotes (discount clustering) and deliveries
# (third-party delivery addresses). Reads (data access) are planted through the services instead.
NOT_IMPORTABLE = ("discount_clustering (quotes)", "third_party deliveries (shipments)")

PROVINCES = (("310000", "上海市", "上海"), ("320000", "江苏省", "苏州"), ("330000", "浙江省", "杭州"),
             ("440000", "广东省", "深圳"))
INDUSTRIES = (("EVAL-BLD", "建材", "建材"), ("EVAL-MCH", "机械制造", "机械"), ("EVAL-ELC", "电子电器", "电子"),
              ("EVAL-CHM", "化工", "化工"), ("EVAL-FOD", "食品饮料", "食品"))
DOWNTURN_INDUSTRY = "EVAL-BLD"  # the market-wide downturn of the last three months
PRODUCTS = (("P-SERVO", "伺服电机组件", 12_500), ("P-SENSOR", "工业传感器套件", 3_200),
            ("P-PLC", "PLC 控制柜", 45_000), ("P-PUMP", "液压泵站", 28_000), ("P-SVC", "年度维保服务", 9_800))
TIER_DISCOUNT = {"A": (7.0, 11.0), "B": (4.0, 8.0), "C": (1.0, 5.0)}
MONTHLY = {"A": (80_000.0, 200_000.0), "B": (25_000.0, 80_000.0), "C": (6_000.0, 25_000.0)}
SEASON = {1: 1.25, 2: 0.7, 6: 1.1, 12: 1.2}
COMPETITORS = ("深圳市鑫达科技有限公司", "苏州瑞科自动化有限公司", "杭州中控精工有限公司", "上海协力机电有限公司",
               "广州华拓工业设备有限公司", "南京明远智能装备有限公司")
TRADERS = ("苏州恒通贸易有限公司", "上海嘉禾商贸有限公司", "杭州铭泰供应链管理有限公司", "深圳市金域进出口有限公司")
BRAND_CHARS = "安宝博昌诚达德东丰福光广国海瀚浩和恒宏鸿华辉佳嘉建江金锦京晶俊凯康科蓝力立联隆龙茂美明铭南宁鹏启前强庆荣瑞润森盛世泰腾天通同伟文祥鑫信兴旭雅阳耀一亿益永优宇远跃泽长正志智中众卓"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉宇斌"
LATE_STAGES = ("proposal", "negotiation")
# Synthetic names share cities, industry words and characters, so the duplicate check asks about some of them:
# the file says why each is a different company (its own registration code), as an ERP export would be told to.
DISTINCT = "统一社会信用代码不同，为不同企业"



@dataclass(frozen=True)
class PlantedStory:
    """One planted diversion: what a reviewer should find (`subject_type`, `external_id`), the person
    concerned, and the records that lead to it (`related`: customers and orders of the story)."""

    pattern: str
    signal: str
    subject_type: str  # customer, manager or order
    external_id: str
    person: str  # the manager concerned (users external_id)
    related: tuple[tuple[str, str], ...] = ()  # (subject type, external id)
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {"pattern": self.pattern, "signal": self.signal, "subject_type": self.subject_type,
                "external_id": self.external_id, "person": self.person,
                "related": [list(r) for r in self.related], "note": self.note}


@dataclass(frozen=True)
class PlantedReads:
    """Sensitive reads no import format carries: a resignation notice and contact details revealed."""

    person: str
    reveals: int
    notice_days_ago: int | None = None


@dataclass
class Scenario:
    seed: int
    as_of: dt.date
    customers: int
    phases: list[tuple[str, str, list[dict[str, str]]]] = field(default_factory=list)  # (file stem, kind, rows)
    reads: list[PlantedReads] = field(default_factory=list)
    truth: list[PlantedStory] = field(default_factory=list)
    noise: dict[str, int] = field(default_factory=dict)  # how many of each kind of noise
    industries: tuple[tuple[str, str, str], ...] = INDUSTRIES

    def rows(self, kind: str) -> list[dict[str, str]]:
        return [row for _stem, k, rows in self.phases if k == kind for row in rows]


@dataclass
class _Customer:
    key: str
    name: str
    short: str
    uscc: str
    tier: str
    industry: str
    province: str
    city: str
    address: str
    owner: str
    created_on: dt.date
    base: float
    trend: float
    regular: bool = True
    contacts_per_bucket: float = 1.5
    factor_recent: float = 1.0  # orders over the last three buckets
    stop_age: int | None = None  # bankrupt: nothing at or after this many buckets ago
    transfer_age: int | None = None  # owner change this many buckets ago
    transfer_to: str = ""
    transfer_factor: float = 1.0  # orders after the owner change
    payer: str = ""  # someone else pays the recent orders
    payer_recent_only: bool = True
    follow_up: bool = True
    quiet_age: int | None = None  # no follow-up at or after this many buckets ago
    story: str = ""


def _day(as_of: dt.date, age: int, offset: int) -> dt.date:
    """The day `offset` days into the bucket `age` buckets back (0 = the 30 days ending on as-of)."""
    return as_of - dt.timedelta(days=age * BUCKET_DAYS + (BUCKET_DAYS - 1 - offset))


def _uscc(rng: random.Random, province: str) -> str:
    """A valid unified social credit code (企业 91, the province's code, a random organisation code)."""
    body = "91" + province[:2] + f"{rng.randrange(10**4):04d}" + "".join(
        rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + str(stdnum_uscc.calc_check_digit(body))


def _money(value: float) -> str:
    return f"{value:.2f}"


def scenario_build(*, seed: int, customers: int, as_of: dt.date, stories_per_pattern: int | None = None) -> Scenario:
    """The scenario for `seed` with about `customers` customers, ending the day before `as_of`."""
    if customers < 100:
        raise ValueError("a scenario needs at least 100 customers (markets and peers need members)")
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data
    per_pattern = stories_per_pattern or max(1, round(customers / 250))  # stories: ~4 % of customers
    scenario = Scenario(seed=seed, as_of=as_of, customers=customers)
    last = as_of - dt.timedelta(days=1)  # nothing on the as-of day itself: imports refuse the future

    # ------------------------------------------------------------ organisation and people
    n_managers = max(10, customers // 20)
    teams = max(2, n_managers // 6)
    org = [{"external_id": "EV-SALES", "name": "销售中心", "parent": "", "kind": "department", "region": ""}]
    for t in range(teams):
        province = PROVINCES[t % len(PROVINCES)]
        org.append({"external_id": f"EV-T{t:02d}", "name": f"{province[2]}销售{t + 1}组", "parent": "EV-SALES",
                    "kind": "team", "region": province[0]})
    users = [{"external_id": "EV-SUP", "username": "ev.sup", "full_name": "周总监", "role": "supervisor",
              "department": "EV-SALES", "supervisor": "", "email": "ev.sup@example.com", "phone": "13900000000",
              "region": "", "grade": "", "hired_on": (as_of - dt.timedelta(days=3000)).isoformat(), "left_on": ""}]
    managers: list[str] = []
    phones: dict[str, str] = {}
    names_used: set[str] = set()
    for i in range(n_managers):
        key = f"EV-M{i:03d}"
        while True:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            if name not in names_used:
                names_used.add(name)
                break
        phones[key] = f"1{rng.choice('3578')}{i:03d}{rng.randrange(10**6):06d}"
        users.append({"external_id": key, "username": f"ev.m{i:03d}", "full_name": name, "role": "manager",
                      "department": f"EV-T{i % teams:02d}", "supervisor": "EV-SUP",
                      "email": f"ev.m{i:03d}@example.com", "phone": phones[key], "region": "", "grade": "",
                      "hired_on": (as_of - dt.timedelta(days=rng.randrange(900, 3000))).isoformat(), "left_on": ""})
        managers.append(key)
    team_of = {m: i % teams for i, m in enumerate(managers)}

    # Managers with a manager-level story, and the rest (who own the customer-level stories' customers).
    order = managers[:]
    rng.shuffle(order)
    reserved: dict[str, list[str]] = {}
    each = max(1, min(per_pattern, len(order) // 6))
    for pattern in ("results", "losses", "hoarding", "access"):
        reserved[pattern] = [order.pop() for _ in range(each)]
    ordinary = order

    # ------------------------------------------------------------ customers
    brands: list[str] = []
    seen: set[str] = set()
    while len(brands) < customers + per_pattern * 12 + 10:
        brand = "".join(rng.sample(BRAND_CHARS, 2))
        if brand not in seen and brand[::-1] not in seen:
            seen.add(brand)
            brands.append(brand)
    book: list[_Customer] = []

    def customer_new(owner: str, created_on: dt.date, *, tier: str | None = None) -> _Customer:
        n = len(book)
        tier = tier or rng.choices("ABC", weights=(2, 4, 4))[0]
        code, industry_name, word = rng.choice(INDUSTRIES)
        team_province = PROVINCES[team_of[owner] % len(PROVINCES)] if owner in team_of else rng.choice(PROVINCES)
        province = team_province if rng.random() < 0.8 else rng.choice(PROVINCES)
        brand = brands[n]
        short = f"{brand}{word}"
        name = f"{province[2]}{short}有限公司" if rng.random() < 0.7 else f"{short}股份有限公司"
        low, high = MONTHLY[tier]
        customer = _Customer(
            key=f"EV-C{n:05d}", name=name, short=short, uscc=_uscc(rng, province[0]), tier=tier, industry=code, province=province[0],
            city=province[2], address=f"{province[1]}{province[2]}市{rng.choice('东西南北')}区{brand}路{rng.randrange(1, 400)}号",
            owner=owner, created_on=created_on, base=rng.uniform(low, high), trend=rng.gauss(0.0, 0.12))
        book.append(customer)
        return customer

    old = as_of - dt.timedelta(days=HISTORY_BUCKETS * BUCKET_DAYS + rng.randrange(30, 400))
    for n in range(customers):
        owner = managers[n % n_managers]
        customer = customer_new(owner, old - dt.timedelta(days=rng.randrange(0, 600)))
        if customer.tier == "C" and rng.random() < 0.35:
            customer.regular = False  # orders now and then
        customer.contacts_per_bucket = rng.uniform(0.8, 2.5)

    # ------------------------------------------------------------ noise
    noise: dict[str, int] = {"customers": customers, "managers": n_managers}
    for customer in book:
        if customer.industry == DOWNTURN_INDUSTRY:
            customer.factor_recent = rng.uniform(0.35, 0.65)
    noise["industry_downturn"] = sum(1 for c in book if c.industry == DOWNTURN_INDUSTRY)
    candidates = [c for c in book if c.regular]
    rng.shuffle(candidates)

    def take(count: int, where: list[_Customer]) -> list[_Customer]:
        chosen = [c for c in where if not c.story][:count]
        for c in chosen:
            c.story = "noise"
        return chosen

    for customer in take(max(2, customers // 50), candidates):
        customer.stop_age = rng.randrange(1, 7)  # bankrupt: orders, payments and visits all stop
    noise["bankrupt"] = max(2, customers // 50)
    for customer in take(max(3, customers * 6 // 100), candidates):
        customer.transfer_age = rng.randrange(3, 11)
        customer.transfer_to = rng.choice([m for m in ordinary if m != customer.owner])
        customer.transfer_factor = rng.uniform(0.8, 0.9)  # the normal 13–18 % dip after an owner change
    noise["owner_changes"] = max(3, customers * 6 // 100)
    for customer in take(max(1, customers // 100), candidates):
        customer.payer = f"{customer.city}{customer.short[:2]}控股集团有限公司"  # the parent group pays
        customer.payer_recent_only = False
    noise["group_payer"] = max(1, customers // 100)
    for customer in take(max(1, customers // 60), candidates):
        customer.factor_recent *= rng.uniform(0.55, 0.75)  # a real slowdown, contacts go down too
        customer.contacts_per_bucket *= 0.6
    noise["slowdown"] = max(1, customers // 60)

    # ------------------------------------------------------------ stories on customers
    story_customers = [c for c in candidates if not c.story and c.owner in ordinary and c.tier in "AB"
                       and c.industry != DOWNTURN_INDUSTRY]
    truth: list[PlantedStory] = []
    picked: dict[str, list[_Customer]] = {}
    for pattern in ("collapse", "third_party", "hijack", "price", "transfer"):
        chosen = take(per_pattern, story_customers)
        for c in chosen:
            c.story = pattern
        picked[pattern] = chosen
    for c in picked["collapse"]:
        c.factor_recent = rng.uniform(0.0, 0.08)
        c.contacts_per_bucket = max(c.contacts_per_bucket, 2.0)
        truth.append(PlantedStory("collapse", PATTERNS["collapse"], "customer", c.key, c.owner,
                                  (("manager", c.owner),), "orders stop, the owner keeps logging contact"))
    for c in picked["third_party"]:
        c.payer = rng.choice(TRADERS)
        truth.append(PlantedStory("third_party", PATTERNS["third_party"], "customer", c.key, c.owner,
                                  (("manager", c.owner),), f"recent orders paid by {c.payer}"))
    transfer_people: dict[str, str] = {}
    for c in picked["transfer"]:
        c.transfer_age = rng.randrange(4, 9)
        previous = c.owner
        c.transfer_to = rng.choice([m for m in ordinary if m != previous])
        c.transfer_factor = rng.uniform(0.15, 0.35)
        transfer_people[c.key] = previous
        truth.append(PlantedStory("transfer", PATTERNS["transfer"], "customer", c.key, previous,
                                  (("manager", previous),), "orders fall ~75 % after the owner change"))

    # Manager-level stories.
    for m in reserved["results"]:
        for c in book:
            if c.owner == m and not c.story:
                c.factor_recent *= rng.uniform(0.5, 0.65)
        related = tuple(("customer", c.key) for c in book if c.owner == m)
        truth.append(PlantedStory("results", PATTERNS["results"], "manager", m, m, related,
                                  "the whole book falls ~40 % while peers hold"))
    for m in reserved["hoarding"]:
        hoarded = []
        for _ in range(12):
            c = customer_new(m, as_of - dt.timedelta(days=rng.randrange(150, 330)), tier=rng.choice("BC"))
            c.follow_up = False
            c.regular = False
            c.story = "hoarding"
            c.base *= 0.3
            hoarded.append(c)
        for c in book:
            if c.owner == m and not c.story and rng.random() < 0.5:
                c.quiet_age = 5  # existing customers left alone for five months
                hoarded.append(c)
        truth.append(PlantedStory("hoarding", PATTERNS["hoarding"], "manager", m, m,
                                  tuple(("customer", c.key) for c in hoarded),
                                  "customers registered months ago, never followed up"))

    # ------------------------------------------------------------ customers, contacts
    customer_rows = []
    for c in book:
        customer_rows.append({"external_id": c.key, "name": c.name, "uscc": c.uscc, "english_name": "", "aliases": c.short,
                              "region": c.province, "address": c.address, "industry": c.industry,
                              "size": {"A": "large", "B": "medium", "C": "small"}[c.tier], "tier": c.tier,
                              "owner": c.owner, "created_on": c.created_on.isoformat(), "source": "evaluation",
                              "duplicate_reason": DISTINCT})
    contacts: list[dict[str, str]] = []
    contact_of: dict[str, list[dict[str, str]]] = {}
    for c in book:
        count = 2 if c.story in ("hijack",) or rng.random() < 0.5 else 1
        for k in range(count + (1 if rng.random() < 0.4 else 0)):
            row = {"external_id": f"{c.key}-K{k}", "customer": c.key,
                   "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                   "title": ("采购总监", "总经理", "采购经理", "技术主管")[k % 4],
                   "phone": f"13{rng.randrange(10**9):09d}", "email": "", "wechat": "",
                   "is_decision_maker": "true" if k < count else "false"}
            contacts.append(row)
            contact_of.setdefault(c.key, []).append(row)
    changed: list[dict[str, str]] = []
    for c in picked["hijack"]:
        first, second = contact_of[c.key][0], contact_of[c.key][1]
        changed.append(dict(first, phone=phones[c.owner]))
        changed.append(dict(second, is_decision_maker="false"))
        truth.append(PlantedStory("hijack", PATTERNS["hijack"], "customer", c.key, c.owner, (("manager", c.owner),),
                                  "a decision-maker's phone changed to the owner's, another demoted"))
    edits = 0
    for c in book:
        if c.story == "hijack":
            continue
        rows = contact_of[c.key]
        if rng.random() < 0.05:
            changed.append(dict(rows[0], phone=f"13{rng.randrange(10**9):09d}"))  # an ordinary new number
            edits += 1
        elif rng.random() < 0.015 and sum(r["is_decision_maker"] == "true" for r in rows) >= 2:
            changed.append(dict(rows[1], is_decision_maker="false"))  # a decision-maker left the company
            edits += 1
    noise["contact_edits"] = edits

    # ------------------------------------------------------------ transfers
    transfers = []
    for c in sorted((c for c in book if c.transfer_age is not None), key=lambda c: (c.transfer_age or 0) * -1):
        assert c.transfer_age is not None
        day = _day(as_of, c.transfer_age, 10)
        transfers.append({"customer": c.key, "to_owner": c.transfer_to, "effective_on": day.isoformat(),
                          "reason": "区域调整，客户移交"})
    transfers.sort(key=lambda r: r["effective_on"])

    # ------------------------------------------------------------ orders and payments
    orders: list[dict[str, str]] = []
    payments: list[dict[str, str]] = []
    price_stories: list[tuple[_Customer, str]] = []
    for c in book:
        serial = 0
        start_age = min(HISTORY_BUCKETS - 1, max(0, (as_of - c.created_on).days // BUCKET_DAYS))
        for age in range(start_age, -1, -1):
            if c.stop_age is not None and age < c.stop_age:
                continue
            if c.story == "hoarding" and rng.random() < 0.7:
                continue
            if not c.regular and rng.random() < 0.65:
                continue
            per_bucket = 1 if c.tier == "C" else rng.choice((1, 1, 2) if c.tier == "B" else (1, 2, 3))
            for _ in range(per_bucket):
                day = _day(as_of, age, rng.randrange(BUCKET_DAYS))
                if day > last or day < c.created_on:
                    continue
                factor = SEASON.get(day.month, 1.0) * math.exp(c.trend * (HISTORY_BUCKETS - age) / 12)
                if age < 3:
                    factor *= c.factor_recent
                if c.transfer_age is not None and age < c.transfer_age:
                    factor *= c.transfer_factor
                amount = c.base / per_bucket * factor * math.exp(rng.gauss(0, 0.25))
                affordable = [p for p in PRODUCTS if p[2] <= amount]
                if not affordable:  # smaller than one unit of anything: no order
                    continue
                product = rng.choice(affordable)
                low, high = TIER_DISCOUNT[c.tier]
                discount = rng.uniform(low, high)
                if rng.random() < 0.003:
                    discount = rng.uniform(12.0, 16.0)  # a year-end promotion
                unit = round(product[2] * (1 - discount / 100), 2)
                quantity = max(1, round(amount / unit))
                key = f"{c.key}-O{serial:03d}"
                serial += 1
                total = round(unit * quantity, 2)
                orders.append({"external_id": key, "customer": c.key, "order_date": day.isoformat(),
                               "amount": _money(total), "manager": "", "product": product[1],
                               "quantity": str(quantity), "unit_price": _money(unit),
                               "list_price": _money(product[2]), "discount_pct": f"{discount:.2f}", "currency": "CNY",
                               "delivery_address": c.address, "status": "delivered"})
                paid = day + dt.timedelta(days=rng.randrange(15, 45))
                if paid <= last and age < PAYMENT_BUCKETS and (c.stop_age is None or (as_of - paid).days // BUCKET_DAYS >= c.stop_age):
                    payer = c.name if rng.random() < 0.9 else c.short
                    if c.payer and (not c.payer_recent_only or age < 3):
                        payer = c.payer
                    payments.append({"external_id": f"{key}-PAY", "customer": c.key, "paid_on": paid.isoformat(),
                                     "amount": _money(total), "order": key, "payer_name": payer,
                                     "payer_account": "", "currency": "CNY"})
        if c.story == "price":
            day = _day(as_of, rng.randrange(0, 2), rng.randrange(5, 25))
            day = min(day, last)
            product = PRODUCTS[rng.randrange(len(PRODUCTS))]
            discount = rng.uniform(30.0, 45.0)
            unit = round(product[2] * (1 - discount / 100), 2)
            quantity = rng.randrange(4, 12)
            key = f"{c.key}-O{serial:03d}"
            orders.append({"external_id": key, "customer": c.key, "order_date": day.isoformat(),
                           "amount": _money(unit * quantity), "manager": "", "product": product[1],
                           "quantity": str(quantity), "unit_price": _money(unit), "list_price": _money(product[2]),
                           "discount_pct": f"{discount:.2f}", "currency": "CNY", "delivery_address": c.address,
                           "status": "delivered"})
            price_stories.append((c, key))
    for c, key in price_stories:
        truth.append(PlantedStory("price", PATTERNS["price"], "order", key, c.owner,
                                  (("customer", c.key), ("manager", c.owner)), "a line ~35-45 % under list price"))
    orders.sort(key=lambda r: (r["order_date"], r["external_id"]))
    payments.sort(key=lambda r: (r["paid_on"], r["external_id"]))

    # ------------------------------------------------------------ activities (follow-up)
    activities: list[dict[str, str]] = []
    owner_at: dict[str, list[tuple[int, str]]] = {}
    for c in book:
        owner_at[c.key] = [(HISTORY_BUCKETS, c.owner)]
        if c.transfer_age is not None:
            owner_at[c.key].append((c.transfer_age, c.transfer_to))
    for c in book:
        if not c.follow_up:
            continue
        serial = 0
        for age in range(15, -1, -1):
            if (c.stop_age is not None and age < c.stop_age) or (c.quiet_age is not None and age < c.quiet_age):
                continue
            rate = c.contacts_per_bucket * (0.6 if (c.factor_recent < 0.8 and age < 3 and c.story != "collapse")
                                            else 1.0)
            count = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
            user = [m for a, m in owner_at[c.key] if a > age][-1]
            for _ in range(count):
                day = _day(as_of, age, rng.randrange(BUCKET_DAYS))
                if day > last or day < c.created_on:
                    continue
                moment = dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.randrange(60)))
                activities.append({"external_id": f"{c.key}-A{serial:03d}", "user": user, "customer": c.key,
                                   "kind": rng.choice(("visit", "call", "call", "wechat", "meeting")),
                                   "happened_at": moment.isoformat() + "+08:00",
                                   "duration_min": str(rng.randrange(10, 90)), "summary": "跟进采购计划",
                                   "latitude": "", "longitude": ""})
                serial += 1
    activities.sort(key=lambda r: (r["happened_at"], r["external_id"]))

    # ------------------------------------------------------------ opportunities: reached stage, then outcome
    reached: list[dict[str, str]] = []
    closed: list[dict[str, str]] = []
    by_owner: dict[str, list[_Customer]] = {}
    for c in book:
        if c.story != "hoarding":
            by_owner.setdefault(c.transfer_to or c.owner, []).append(c)
    serial = 0
    for m in managers:
        own = by_owner.get(m) or book[:3]
        planted = m in reserved["losses"]
        plan: list[tuple[int, bool, bool, str]] = []  # (age of close, late stage reached, lost, competitor)
        for _ in range(rng.randrange(8, 13)):
            age = rng.randrange(0, 18)
            late = rng.random() < 0.7
            lost = rng.random() < (0.35 if late else 0.6)
            plan.append((age, late, lost, rng.choice(COMPETITORS) if lost else ""))
        if planted:
            plan = [p for p in plan if p[0] >= 6]
            rival = rng.choice(COMPETITORS)
            for k in range(8):
                lost = k < 7
                plan.append((rng.randrange(0, 6), True, lost, (rival if k < 6 else rng.choice(COMPETITORS))
                             if lost else ""))
        for age, late, lost, competitor in plan:
            c = rng.choice(own)
            key = f"EV-OP{serial:05d}"
            serial += 1
            closed_on = min(last, _day(as_of, age, rng.randrange(BUCKET_DAYS)))
            created_on = max(c.created_on, closed_on - dt.timedelta(days=rng.randrange(30, 150)))
            opportunity_amount = _money(round(c.base * rng.uniform(2, 6), -3))
            base_row = {"external_id": key, "customer": c.key, "owner": m, "name": f"{c.short}产线改造项目{serial}",
                        "stage": rng.choice(LATE_STAGES) if late else "qualified", "amount": opportunity_amount,
                        "currency": "CNY", "created_on": created_on.isoformat(), "closed_on": "", "lost_reason": "",
                        "competitor": ""}
            reached.append(base_row)
            closed.append(dict(base_row, stage="lost" if lost else "won", closed_on=closed_on.isoformat(),
                               lost_reason="competitor" if lost else "", competitor=competitor))
        if planted:
            truth.append(PlantedStory("losses", PATTERNS["losses"], "manager", m, m, (),
                                      "7 of 8 late-stage opportunities lost, 6 to one competitor"))

    # ------------------------------------------------------------ sensitive reads (through the services)
    reads = [PlantedReads(m, rng.randrange(35, 60), rng.randrange(8, 14)) for m in reserved["access"]]
    for m in reserved["access"]:
        truth.append(PlantedStory("access", PATTERNS["access"], "manager", m, m, (),
                                  "contact details revealed again and again after a resignation notice"))
    for m in ordinary:
        if rng.random() < 0.4:
            reads.append(PlantedReads(m, rng.randrange(1, 9)))  # ordinary look-ups
    departing = [m for m in ordinary if rng.random() < 0.08]
    reads.extend(PlantedReads(m, rng.randrange(0, 6), rng.randrange(5, 40)) for m in departing)
    noise["ordinary_departures"] = len(departing)

    scenario.phases = [
        ("org", "org", org), ("users", "users", users), ("customers", "customers", customer_rows),
        ("contacts", "contacts", contacts), ("transfers", "transfers", transfers), ("orders", "orders", orders),
        ("payments", "payments", payments), ("activities", "activities", activities),
        ("opportunities-open", "opportunities", reached), ("opportunities-closed", "opportunities", closed),
        ("contacts-changed", "contacts", changed),
    ]
    scenario.reads = reads
    scenario.truth = sorted(truth, key=lambda s: (s.pattern, s.external_id))
    scenario.noise = noise
    return scenario


__all__ = ["NOT_IMPORTABLE", "PATTERNS", "PlantedReads", "PlantedStory", "Scenario", "scenario_build"]
