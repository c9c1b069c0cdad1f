"""Speed and memory of the risk scan (issue 7): the full scan, and the incremental update after an import of orders.

    uv run python benchmarks/risk_scan.py                         # full size on SQLite (the build alone takes long)
    uv run python benchmarks/risk_scan.py --postgres              # full size on PostgreSQL
    uv run python benchmarks/risk_scan.py --scale 0.02            # 2 % of every size (what fits a shared machine)
    uv run python benchmarks/risk_scan.py --quick                 # a smoke run: 0.5 %
    uv run python benchmarks/risk_scan.py --scale 0.02 --reuse    # keep the database and reuse it next time
    uv run python benchmarks/risk_scan.py --postgres --reuse --build-only   # build now (long), measure later

Targets (issue 7): a full scan of 2,000 managers, 500,000 customers, 10,000,000 order lines and 5,000,000
activities in ≤ 5 minutes with ≤ 4 GiB of memory (peak RSS), on PostgreSQL and SQLite; the incremental update
after importing 10,000 orders in ≤ 30 s.

1. Build (a child process, so its memory is not counted): a fresh database (SQLite under $KAMGUARD_BENCH_DIR, or
   PostgreSQL with --postgres), migrated; `--scale` × 2,000 managers in teams of 20, × 500,000 customers (an
   industry and a province each, one row each in the ownership ledger), × 5,000,000 orders of two lines each over
   25 months (10,000,000 lines; seasonality and a tenth of customers falling), a payment for every order of the
   last three months, × 5,000,000 follow-up activities, five closed opportunities per manager. Written with
   `bulk_create` in batches — set-up data, not what is measured.
2. Measure (another child process): `scan_run` (what `kamguard risk scan` calls), stored with its scores and
   alerts, `--repeat` times (p50/p95 of the wall clock, order lines read per second, the process's peak RSS);
   then 10,000 orders imported through `import_run` (the ERP import) and the incremental update the import
   enqueues, `risk_scan_after_import` (since the import began), timed on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import (
    BenchDatabase,
    database_version,
    load_text,
    machine_info,
    migrate,
    peak_rss_mib,
    percentile,
    print_table,
    setup_django,
    write_json,
)

FULL = {"managers": 2_000, "customers": 500_000, "order_lines": 10_000_000, "activities": 5_000_000}
TARGET_SCAN_SECONDS = 300
TARGET_RSS_MIB = 4096
TARGET_INCREMENTAL_SECONDS = 30
INCREMENTAL_ORDERS = 10_000
BATCH = 5_000
INDUSTRIES = ("机械制造", "电子电器", "化工", "食品饮料", "建材", "纺织服装", "医药", "汽车零部件")
PROVINCES = ("310000", "320000", "330000", "440000", "370000", "510000")
PRODUCTS = [(f"产品{n:02d}", Decimal(1_000 + 2_500 * n)) for n in range(20)]


def sizes(scale: float) -> dict[str, int]:
    return {k: max(20 if k == "managers" else 100, round(v * scale)) for k, v in FULL.items()}


# ---------------------------------------------------------------- build


def build(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from kamguard.activities.models import Activity
    from kamguard.contracts.models import Order, OrderLine, Payment
    from kamguard.customers.models import Customer, OwnershipChange, OwnershipKind
    from kamguard.org.models import Department, Industry, Region, RoleAssignment, Team, User
    from kamguard.sales.models import Opportunity, Outcome, Stage, StageChange

    n = sizes(args.scale)
    rng = random.Random(args.seed)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    migrate()
    timings["migrate_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    today = timezone.localdate()
    department = Department.objects.create(name="销售中心", path="/", depth=0)
    department.path = f"/{department.pk}/"
    department.save()
    managers: list[int] = []
    for t in range(0, n["managers"], 20):
        team = Team.objects.create(name=f"{t // 20 + 1}组", department=department)
        users = User.objects.bulk_create([User(username=f"m{i:05d}", full_name=f"经理{i:05d}", external_id=f"M{i:05d}",
                                               department=department, team=team, phone=f"139{i:08d}")
                                          for i in range(t, min(n["managers"], t + 20))])
        RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="manager") for u in users])
        managers.extend(u.pk for u in users)
    industries = [Industry.objects.create(code=f"B{i}", name=name).pk for i, name in enumerate(INDUSTRIES)]
    provinces = dict(Region.objects.filter(code__in=PROVINCES).values_list("code", "pk"))
    registered = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=900), dt.time(9)))
    customers: list[tuple[int, int, float, float]] = []  # (id, owner, monthly base, recent factor)
    names: dict[int, str] = {}
    for start in range(0, n["customers"], BATCH):
        with transaction.atomic():
            batch = [Customer(name=f"基准客户{i:07d}有限公司", normalised_name=f"基准客户{i:07d}", external_id=f"C{i:07d}",
                              owner_id=managers[i % len(managers)], industry_id=rng.choice(industries),
                              region_id=provinces[rng.choice(PROVINCES)], tier=rng.choice("ABCCC"),
                              address=f"上海市示范路{i}号", created_on=registered.date(), owned_since=registered)
                     for i in range(start, min(n["customers"], start + BATCH))]
            created = Customer.objects.bulk_create(batch)
            OwnershipChange.objects.bulk_create([OwnershipChange(customer=c, to_owner_id=c.owner_id,
                                                                 kind=OwnershipKind.IMPORT, effective_at=registered)
                                                 for c in created])
            names.update((c.pk, c.name) for c in created)
            customers.extend((c.pk, int(c.owner_id or 0), rng.uniform(5_000, 80_000),
                              rng.uniform(0.3, 0.7) if rng.random() < 0.1 else 1.0) for c in created)
    timings["people_and_customers_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    orders_total = n["order_lines"] // 2
    made = 0
    while made < orders_total:
        with transaction.atomic():
            chunk = min(BATCH, orders_total - made)
            orders, payments = [], []
            for k in range(chunk):
                pk, owner, base, recent = customers[rng.randrange(len(customers))]
                age = rng.randrange(750)
                day = today - dt.timedelta(days=age + 1)
                amount = Decimal(round(base * (1.2 if day.month in (12, 1) else 1.0) * (recent if age < 90 else 1.0)
                                       * rng.uniform(0.7, 1.3), 2)).quantize(Decimal("0.01"))
                orders.append(Order(customer_id=pk, manager_id=owner, order_date=day,
                                    due_on=day + dt.timedelta(days=30), amount=amount, number=f"SO{made + k:09d}"))
            created = Order.objects.bulk_create(orders)
            lines = []
            for order in created:
                for half in (0, 1):
                    name, price = PRODUCTS[(order.pk * 7 + half) % len(PRODUCTS)]
                    discount = Decimal(round(rng.uniform(2, 9), 2))
                    unit = (price * (1 - discount / 100)).quantize(Decimal("0.01"))
                    lines.append(OrderLine(order=order, product=name, quantity=Decimal(1), unit_price=unit,
                                           list_price=price, discount_pct=discount, amount=order.amount / 2))
                if (today - order.order_date).days < 90:
                    payments.append(Payment(customer_id=order.customer_id, amount=order.amount,
                                            paid_on=min(today, order.order_date + dt.timedelta(days=20)),
                                            payer_name=names[order.customer_id]))
            OrderLine.objects.bulk_create(lines)
            Payment.objects.bulk_create(payments)
            made += chunk
    timings["orders_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    made = 0
    while made < n["activities"]:
        with transaction.atomic():
            chunk = min(BATCH, n["activities"] - made)
            rows = []
            for _ in range(chunk):
                pk, owner, _base, _recent = customers[rng.randrange(len(customers))]
                when = timezone.now() - dt.timedelta(days=1 + rng.randrange(480), minutes=rng.randrange(600))
                rows.append(Activity(user_id=owner, customer_id=pk, kind=rng.choice(("call", "meeting", "wechat")),
                                     status="done", happened_at=when, summary="跟进"))
            Activity.objects.bulk_create(rows)
            made += chunk
    timings["activities_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    stages = {s.code: s for s in Stage.objects.all()}
    with transaction.atomic():
        opportunities = []
        for m in managers:
            for k in range(5):
                pk, _owner, base, _recent = customers[rng.randrange(len(customers))]
                lost = rng.random() < 0.4
                closed = today - dt.timedelta(days=1 + rng.randrange(500))
                opportunities.append(Opportunity(
                    customer_id=pk, owner_id=m, name=f"项目{m}-{k}", stage=stages["lost" if lost else "won"],
                    outcome=Outcome.LOST if lost else Outcome.WON, amount=Decimal(round(base * 4, 2)),
                    created_on=closed - dt.timedelta(days=60), closed_on=closed, competitor="某竞争对手" if lost else "",
                    stage_changed_at=timezone.make_aware(dt.datetime.combine(closed, dt.time(12)))))
        created = Opportunity.objects.bulk_create(opportunities)
        StageChange.objects.bulk_create([StageChange(opportunity=o, to_stage=stages["proposal"],
                                                     changed_at=o.stage_changed_at - dt.timedelta(days=20))
                                         for o in created])
    _analyze()
    timings["opportunities_and_analyze_s"] = round(time.perf_counter() - started, 1)
    return {"timings": timings, "sizes": n}


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("analyze")


# ---------------------------------------------------------------- measure


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.utils import timezone

    from kamguard.core.io.runner import import_run
    from kamguard.customers.models import Customer
    from kamguard.risk.models import ScanKind
    from kamguard.risk.services.scan import scan_run
    from kamguard.risk.tasks import risk_scan_after_import

    migrate()  # a reused database may predate the newest migrations
    seconds: list[float] = []
    cpu: list[float] = []
    counts: dict[str, int] = {}
    subjects = alerts = 0
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        outcome = scan_run(actor=None, kind=ScanKind.COMMAND)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        counts, subjects, alerts = outcome.evaluation.counts, outcome.run.subjects, outcome.alerts_raised
    scan_rss = peak_rss_mib()

    rng = random.Random(args.seed + 1)
    total = Customer.objects.count()
    today = timezone.localdate()
    out = io.StringIO()
    out.write("external_id,customer,order_date,amount,product,quantity,unit_price,list_price,discount_pct\n")
    tag = f"{int(time.time()):x}"  # new external ids each run: on a reused database they are new orders again
    for i in range(INCREMENTAL_ORDERS):
        name, price = PRODUCTS[i % len(PRODUCTS)]
        out.write(f"INC{tag}-{i:06d},C{rng.randrange(total):07d},{(today - dt.timedelta(days=rng.randrange(1, 30))).isoformat()},"
                  f"{price * 2},{name},2,{price},{price},0\n")
    started_at = timezone.now()
    started = time.perf_counter()
    report = import_run(actor=None, kind="orders", data=out.getvalue().encode(), filename="incremental.csv")
    import_seconds = time.perf_counter() - started
    started, started_cpu = time.perf_counter(), time.process_time()
    run_id = risk_scan_after_import.call(since=started_at.isoformat())
    incremental_seconds = time.perf_counter() - started
    incremental_cpu = time.process_time() - started_cpu
    from kamguard.risk.models import ScanRun

    run = ScanRun.objects.get(pk=run_id) if run_id else None
    return {"scan_seconds": [round(s, 2) for s in seconds], "scan_p50_s": round(percentile(seconds, 0.5), 2),
            "scan_p95_s": round(percentile(seconds, 0.95), 2), "scan_peak_rss_mib": round(scan_rss, 1),
            "scan_cpu_s": [round(s, 2) for s in cpu], "incremental_cpu_s": round(incremental_cpu, 2),
            "incremental_from_basis": bool(run and (run.scope or {}).get("basis_run")),
            "read": counts, "subjects": subjects, "alerts_raised": alerts,
            "incremental_orders": INCREMENTAL_ORDERS, "incremental_imported": report.created,
            "incremental_import_s": round(import_seconds, 2), "incremental_scan_s": round(incremental_seconds, 2),
            "incremental_customers": (run.scope or {}).get("count") if run else 0,
            "incremental_subjects": run.subjects if run else 0, "peak_rss_mib": round(peak_rss_mib(), 1),
            "load": load_text(), "database": database_version()}


# ---------------------------------------------------------------- driver


def child(phase: str, args: argparse.Namespace, url: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--url", url, "--scale",
               str(args.scale), "--seed", str(args.seed), "--repeat", str(args.repeat)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    sys.stderr.write(done.stderr)
    if done.returncode:
        raise SystemExit(f"the {phase} phase failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the issue's sizes (default 1 = full)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --scale 0.005")
    parser.add_argument("--repeat", type=int, default=1, help="full scans measured (p50/p95 over them)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep the database and use it next time")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--build-only", action="store_true",
                        help="build the database (with --reuse: keep it for a later run) and measure nothing")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--phase", choices=("build", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.scale = 0.005
    if args.phase:
        setup_django(args.url)
        from django.utils import translation

        translation.activate("en")
        result = build(args) if args.phase == "build" else measure(args)
        print(json.dumps(result, default=str))
        return 0
    kind = "postgres" if args.postgres else "sqlite"
    database = BenchDatabase(kind, reuse_name=f"kg_bench_riskscan_{args.scale}_{args.seed}" if args.reuse else None)
    built = args.reuse and database.exists()
    if not built:
        database.create()
    try:
        n = sizes(args.scale)
        print(f"{kind}; scale {args.scale}: {n['managers']:,} managers, {n['customers']:,} customers, "
              f"{n['order_lines']:,} order lines, {n['activities']:,} activities; {load_text()}", flush=True)
        made = {"timings": {"reused": True}, "sizes": n} if built else child("build", args, database.url)
        print(f"built: {made['timings']}", flush=True)
        if args.build_only:
            return 0
        result = child("measure", args, database.url)
        return report(args, database, made, result)
    finally:
        if not (args.keep or args.reuse):
            database.drop()


def report(args: argparse.Namespace, database: BenchDatabase, made: dict[str, Any], result: dict[str, Any]) -> int:
    n = made["sizes"]
    lines = n["order_lines"]
    p50 = result["scan_p50_s"]
    factor = 1 / args.scale if args.scale else 1.0
    results = {
        "benchmark": "risk_scan", "scale": args.scale, "sizes": n, "build": made["timings"], **result,
        "order_lines_per_second": round(lines / max(p50, 1e-9)),
        "linear_full_size_estimate_s": round(p50 * factor, 1),
        "target_scan_s": TARGET_SCAN_SECONDS, "target_rss_mib": TARGET_RSS_MIB,
        "target_incremental_s": TARGET_INCREMENTAL_SECONDS,
        "scan_target_met_at_this_scale": p50 <= TARGET_SCAN_SECONDS and result["scan_peak_rss_mib"] <= TARGET_RSS_MIB,
        "incremental_target_met_at_this_scale": result["incremental_scan_s"] <= TARGET_INCREMENTAL_SECONDS,
        "database_mib": database.size_mib(), "machine": machine_info(),
    }
    print_table(f"Risk scan — {result['database']}, scale {args.scale}", ["measure", "value"], [
        ("managers / customers", f"{n['managers']:,} / {n['customers']:,}"),
        ("order lines / activities", f"{n['order_lines']:,} / {n['activities']:,}"),
        ("full scan p50 / p95 (s)", f"{result['scan_p50_s']} / {result['scan_p95_s']}"),
        ("order lines per second", results["order_lines_per_second"]),
        ("full size if linear (s)", results["linear_full_size_estimate_s"]),
        ("peak RSS of the scan (MiB)", result["scan_peak_rss_mib"]),
        ("subjects stored / alerts raised", f"{result['subjects']:,} / {result['alerts_raised']:,}"),
        ("import of 10,000 orders (s)", result["incremental_import_s"]),
        ("full scan process CPU (s)", result["scan_cpu_s"]),
        ("incremental update after it (s)", f"{result['incremental_scan_s']} (CPU {result['incremental_cpu_s']}; "
                                            f"from the basis: {result['incremental_from_basis']})"),
        ("customers rescored / subjects stored", f"{result['incremental_customers']:,} / "
                                                 f"{result['incremental_subjects']:,}"),
        ("peak RSS of the measuring process (MiB)", result["peak_rss_mib"]),
        ("database (MiB)", round(results["database_mib"] or 0, 1)),
        ("targets", f"scan ≤ {TARGET_SCAN_SECONDS} s, ≤ {TARGET_RSS_MIB} MiB; incremental ≤ "
                    f"{TARGET_INCREMENTAL_SECONDS} s (full size)"),
        ("load", result["load"]),
    ])
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
