"""Committed allocation: leads through intake — the duplicate check, the rule engine, the customer, its ledger,
timeline and key rows, the intake and decision log rows, the audit events, the round-robin cursors — on a real
database.

    uv run python benchmarks/allocation_commit.py                     # 20,000 leads on SQLite
    uv run python benchmarks/allocation_commit.py --postgres --json out.json
    uv run python benchmarks/allocation_commit.py --size 2000 --single 50   # while developing

Target (issue 4): "Committed allocation, with ledger and audit rows: ≥ 2,000 customers/s on SQLite and on
PostgreSQL."

1. A fresh database (SQLite file under $KAMGUARD_BENCH_DIR, or a PostgreSQL database with --postgres),
   migrated; one department with TEAMS teams of PEOPLE managers, capacities for a third of the people, a
   pool, and an active rule set: tier A with expected value ≥ 2,000,000 to a senior manager, then one rule per
   province (round-robin, capacity or least-loaded by turns; every fifth a first-come pool), fallback the pool.
2. `--size` distinct, realistic leads (A-share companies, then generated [region] brand industry-word names,
   each short name once), each in a district of one of the provinces (10 % elsewhere: the fallback), tiers
   A/B/C, expected values; `--into` leads first (untimed), so the duplicate check runs against them.
3. Timed: `intake_submit_many(actor=None, channel="import", …)` — the batch path imports and integrations
   use — in batches of 1,000 (customers/s overall, p50/p95 per batch); then `--single` leads one by one
   through `intake_submit` (the path of a form or the API: p50/p95 per lead). Checked afterwards: one
   decision and one `allocation` ledger row per customer, no customer with two owners, round-robin within one.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import (
    BenchDatabase,
    Stopwatch,
    database_version,
    load_text,
    machine_info,
    migrate,
    on_fresh_database,
    peak_rss_mib,
    print_table,
    summary_ms,
    write_json,
)

TARGET_PER_SECOND = 2000
BATCH = 1000
TEAMS = 20
PEOPLE = 8
PROVINCES = ("310000", "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
             "440000", "450000", "500000", "510000", "520000", "530000", "610000", "110000", "120000", "130000")
STRATEGIES = ("round_robin", "capacity", "least_loaded", "round_robin", "first_come")


def prepare() -> dict[str, Any]:
    from kamguard.allocation.services.people import capacity_set, team_setting_save
    from kamguard.allocation.services.rulesets import rule_set_create, rule_set_version_activate
    from kamguard.customers.services.pools import pool_save
    from kamguard.org.models import Department, Region, RoleAssignment, Team, User

    department = Department.objects.create(name="销售部", path="/", depth=0)
    department.path = f"/{department.pk}/"
    department.save()
    pool = pool_save(actor=None, name="公海", department=department)
    teams = [Team.objects.create(name=f"{n + 1}组", department=department) for n in range(TEAMS)]
    users = User.objects.bulk_create([
        User(username=f"m{t:02d}{p}", full_name=f"经理{t:02d}-{p}", department=department, team=team,
             password="!")  # noqa: S106 - an unusable password: benchmark people never sign in
        for t, team in enumerate(teams) for p in range(PEOPLE)])
    RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="manager") for u in users])
    for number, user in enumerate(users):
        if number % 3 == 0:
            capacity_set(actor=None, person=user, tier="A", capacity=400 + number)
            capacity_set(actor=None, person=user, tier="B", capacity=2000 + 10 * number)
    rules: list[dict[str, Any]] = [{"key": "key-account", "name": "A 类大客户", "conditions": [
        {"field": "tier", "operator": "eq", "value": "A"},
        {"field": "expected_value", "operator": "gte", "value": "2000000"}],
        "target": {"kind": "person", "id": users[0].pk}}]
    for number, (team, province) in enumerate(zip(teams, PROVINCES, strict=True)):
        strategy = STRATEGIES[number % len(STRATEGIES)]
        if strategy == "first_come":
            team_setting_save(actor=None, team=team, pool=pool)
        rules.append({"key": f"p{province}", "name": f"省份 {province}", "conditions": [
            {"field": "region", "operator": "within", "value": province}],
            "target": {"kind": "team", "id": team.pk, "strategy": strategy}})
    rule_set = rule_set_create(actor=None, name="基准规则", is_default=True,
                               rules={"rules": rules, "fallback": {"kind": "pool", "id": pool.pk}})
    rule_set_version_activate(actor=None, version_id=rule_set.versions.get().pk)
    districts: dict[str, list[str]] = {p: [] for p in PROVINCES}
    for code, city_parent, province_parent in Region.objects.filter(level="district").values_list(
            "code", "parent__code", "parent__parent__code"):
        for parent in (city_parent, province_parent):
            if parent in districts:
                districts[parent].append(code)
    others = list(Region.objects.filter(level="district").exclude(
        code__regex=r"^(" + "|".join(p[:2] for p in PROVINCES) + ")").values_list("code", flat=True)[:200])
    return {"districts": districts, "others": others, "pool": pool.pk}


def build_leads(count: int, seed: int, world: dict[str, Any]) -> list[dict[str, Any]]:
    from dedupe_speed import NameMaker, _a_share

    rng = random.Random(seed)
    companies = _a_share()
    rng.shuffle(companies)
    maker = NameMaker(random.Random(seed + 1), companies)
    seen: set[str] = set()
    real = iter(companies)
    leads = []
    provinces = [p for p in PROVINCES if world["districts"][p]]
    while len(leads) < count:
        company = next(real, None)
        if company is not None:
            name, short = company.name, company.short
        else:
            name, short, _region = maker.name()
        if short in seen or name in seen:
            continue
        seen.update((short, name))
        region = rng.choice(world["others"]) if rng.random() < 0.1 else rng.choice(
            world["districts"][rng.choice(provinces)])
        tier = rng.choices("ABC", weights=(10, 30, 60))[0]
        low, high = {"A": (600_000, 5_000_000), "B": (150_000, 900_000), "C": (10_000, 200_000)}[tier]
        leads.append({"name": name, "region": region, "tier": tier,
                      "size": {"A": "large", "B": "medium", "C": "small"}[tier],
                      "expected_value": str(rng.randrange(low, high, 1000)), "source": "ERP"})
    return leads


class StatementCounter:
    """SQL statements executed while installed, per statement kind and table."""

    TABLE = re.compile(r'(?:from|into|update)\s+"?(\w+)"?', re.IGNORECASE)

    def __init__(self) -> None:
        self.total = 0
        self.tables: Counter[str] = Counter()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.total += 1
        found = self.TABLE.search(sql)
        head = sql.lstrip().split(None, 1)[0].upper()
        self.tables[f"{head} {found.group(1) if found else '-'}"] += 1
        return execute(sql, params, many, context)

    def install(self) -> None:
        from django.db import connection

        connection.execute_wrappers.append(self)

    def uninstall(self) -> None:
        from django.db import connection

        connection.execute_wrappers.remove(self)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--into", type=int, default=0, metavar="N", help="N leads first, untimed")
    parser.add_argument("--single", type=int, default=200, help="leads timed one by one through intake_submit")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed batches")
    parser.add_argument("--profile-out", metavar="PATH", help="with --profile: also write the raw pstats here")
    args = parser.parse_args()
    return on_fresh_database("postgres" if args.postgres else "sqlite", lambda database: run(args, database), keep=args.keep)


def run(args: argparse.Namespace, database: BenchDatabase) -> int:
    from django.db.models import Count
    from django.utils import translation

    from kamguard.allocation.models import AllocationDecision, Intake
    from kamguard.allocation.services.batch import Lead, intake_submit_many
    from kamguard.allocation.services.intake import intake_submit
    from kamguard.core.models import AuditEvent
    from kamguard.customers.models import Customer, OwnershipChange
    from kamguard.customers.services.bulk import BatchCache

    translation.activate("en")
    watch = Stopwatch()
    migrate()
    world = prepare()
    setup_seconds = watch.seconds()
    leads = build_leads(args.into + args.size + args.single, args.seed, world)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    moments = [start + dt.timedelta(seconds=30 * i) for i in range(len(leads))]
    cache = BatchCache()
    if args.into:
        intake_submit_many(actor=None, channel="import", leads=[
            Lead(fields=f, submitted_at=m) for f, m in zip(leads[:args.into], moments, strict=False)], cache=cache)
        print(f"{args.into:,} leads allocated before the timed run", flush=True)
    timed = leads[args.into:args.into + args.size]
    timed_moments = moments[args.into:args.into + args.size]
    before = (Customer.objects.count(), AuditEvent.objects.count(), OwnershipChange.objects.count())
    print(f"{database_version()}; {args.size:,} leads in batches of {BATCH:,}; {load_text()}", flush=True)
    batch_seconds: list[float] = []
    outcomes: Counter[str] = Counter()
    statements = StatementCounter()
    statements.install()
    profiler = cProfile.Profile() if args.profile else None
    cpu_start = time.process_time()
    watch = Stopwatch()
    if profiler:
        profiler.enable()
    for offset in range(0, len(timed), BATCH):
        mark = time.perf_counter()
        results = intake_submit_many(actor=None, channel="import", cache=cache, leads=[
            Lead(fields=f, submitted_at=m) for f, m in zip(timed[offset:offset + BATCH],
                                                            timed_moments[offset:offset + BATCH], strict=True)])
        batch_seconds.append(time.perf_counter() - mark)
        outcomes.update(r.intake.outcome if r.intake else "error" for r in results)
    if profiler:
        profiler.disable()
    seconds = watch.seconds()
    cpu_seconds = time.process_time() - cpu_start
    statements.uninstall()
    created = Customer.objects.count() - before[0]
    per_second = created / seconds
    audit_rows = AuditEvent.objects.count() - before[1]
    ledger_rows = OwnershipChange.objects.count() - before[2]

    single_seconds: list[float] = []
    for fields, moment in zip(leads[args.into + args.size:], moments[args.into + args.size:], strict=True):
        mark = time.perf_counter()
        intake_submit(actor=None, channel="api", fields=fields, submitted_at=moment)
        single_seconds.append(time.perf_counter() - mark)

    # Checks: one decision and one allocation ledger row per allocated lead; nobody owns a customer twice.
    decisions = AllocationDecision.objects.filter(intake__isnull=False).count()
    allocated = Intake.objects.filter(outcome__in=["allocated", "pool"]).count()
    ledger_allocation = OwnershipChange.objects.filter(kind="allocation").count()
    two_owner_customers = OwnershipChange.objects.values("customer").annotate(n=Count("pk")).filter(n__gt=1).count()
    from kamguard.audit.services import chain_verify

    chain = chain_verify()  # what `kamguard audit verify` checks
    batch = summary_ms(batch_seconds)
    single = summary_ms(single_seconds) if single_seconds else {"p50_ms": 0.0, "p95_ms": 0.0}
    results_json = {
        "benchmark": "allocation_commit", "database": database_version(), "size": args.size, "into": args.into,
        "seed": args.seed, "teams": TEAMS, "people": TEAMS * PEOPLE, "rules": len(PROVINCES) + 1,
        "seconds": round(seconds, 2), "customers": created, "customers_per_second": round(per_second, 1),
        "cpu_seconds": round(cpu_seconds, 2), "customers_per_cpu_second": round(created / max(cpu_seconds, 1e-9), 1),
        "target_per_second": TARGET_PER_SECOND, "target_met": per_second >= TARGET_PER_SECOND,
        "batch_1000_p50_ms": batch["p50_ms"], "batch_1000_p95_ms": batch["p95_ms"],
        "single_leads": len(single_seconds), "single_p50_ms": single["p50_ms"], "single_p95_ms": single["p95_ms"],
        "outcomes": dict(outcomes), "audit_rows": audit_rows, "ledger_rows": ledger_rows,
        "sql_per_customer": round(statements.total / max(1, created), 2),
        "sql_per_customer_by_table": {k: round(v / max(1, created), 3) for k, v in statements.tables.most_common(20)},
        "checks": {"decisions": decisions, "allocated_or_pooled": allocated, "allocation_ledger_rows": ledger_allocation,
                   "customers_with_two_ledger_rows": two_owner_customers, "audit_chain_ok": chain.ok,
                   "audit_events": chain.events},
        "setup_seconds": round(setup_seconds, 2), "peak_rss_mib": round(peak_rss_mib(), 1),
        "database_mib": database.size_mib(), "machine": machine_info(),
    }
    print_table("Committed allocation (intake_submit_many, batches of 1,000)", ["measure", "value"], [
        ("leads", args.size), ("leads before (untimed)", args.into), ("customers created", created),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))),
        ("audit rows / ledger rows written", f"{audit_rows} / {ledger_rows}"),
        ("seconds", round(seconds, 1)), ("customers/s", round(per_second, 1)),
        ("CPU seconds (this process)", round(cpu_seconds, 1)),
        ("customers per CPU-second", results_json["customers_per_cpu_second"]),
        ("target customers/s", TARGET_PER_SECOND), ("target met", results_json["target_met"]),
        ("p50 / p95 per 1,000 (ms)", f"{batch['p50_ms']} / {batch['p95_ms']}"),
        ("one by one (intake_submit): leads", len(single_seconds)),
        ("one by one p50 / p95 (ms)", f"{single['p50_ms']} / {single['p95_ms']}"),
        ("checks: decisions = allocated + pooled", f"{decisions} = {allocated}"),
        ("checks: customers with a second ledger row", two_owner_customers),
        ("checks: audit chain verifies (events)", f"{chain.ok} ({chain.events:,})"),
        ("SQL statements per customer (batches)", results_json["sql_per_customer"]),
        ("peak RSS (MiB)", results_json["peak_rss_mib"]),
    ])
    print_table("SQL statements per customer in the batches, by statement and table", ["statement", "per customer"],
                list(results_json["sql_per_customer_by_table"].items()))
    if profiler:
        for order in ("cumulative", "tottime"):
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(35)
            print(stream.getvalue())
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
    write_json(args.json, results_json)
    return 0 if decisions == allocated and two_owner_customers == 0 and chain.ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
