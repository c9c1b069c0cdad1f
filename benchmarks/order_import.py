"""Speed of `kamguard import orders FILE`: ERP orders through the `orders` kind (bulk batches: customers, people,
existing orders, owners on the order date and known addresses read once per batch; orders, lines, timeline
entries and audit events written in bulk).

    uv run python benchmarks/order_import.py                      # 100,000 rows on SQLite
    uv run python benchmarks/order_import.py --size 20000         # while developing
    uv run python benchmarks/order_import.py --postgres [--json out.json] [--profile]

Target (issue 5): "order import ≥ 10,000 rows/s".

1. A fresh database (SQLite file under $KAMGUARD_BENCH_DIR, or a PostgreSQL database with --postgres), migrated,
   with 50 managers and `--customers` customers (bulk-inserted with their ownership ledger; a fifth changed owner
   a year ago, so "the owner on the order date" matters).
2. A CSV of `--size` orders over two years: 30 % name the manager, the rest are credited from the ledger; one
   product line each; a delivery address for 60 % (mostly the customer's own, 2 % never seen → findings); 0.5 %
   name an unknown customer (reported, kept as findings); 0.2 % have a bad amount.
3. `import_run(actor=None, kind="orders", …)` — what the command calls — on the whole file, timed; then the same
   file again (every row unchanged: the idempotent path), timed.
4. Payments (`--payments`, default a fifth of `--size`; 0 to skip): a CSV of payments received for the imported
   orders' customers — 60 % name an order (part of it or all), the rest are matched to the customer's oldest
   dues; 3 % pay more than is due with a reason, 1 % without one (refused); 3 % come from a payer who is not
   the customer (findings); 0.5 % name an unknown customer — imported with `import_run(kind="payments")`, timed,
   then again (all unchanged).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import io
import os
import pstats
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

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
    write_json,
)

TARGET_ROWS_PER_SECOND = 10_000
MANAGERS = 50
HEADER = ("external_id", "customer", "order_date", "amount", "manager", "product", "quantity", "unit_price",
          "currency", "delivery_address", "status")
PRODUCTS = ("数控机床主轴", "伺服电机", "工业传感器", "PLC 控制器", "液压泵", "安装调试服务", "年度维保")
CITIES = ("上海市浦东新区", "杭州市西湖区", "苏州市工业园区", "南京市江宁区", "宁波市鄞州区", "合肥市高新区")


def prepare(customers: int, seed: int) -> None:
    from django.utils import timezone

    from kamguard.customers.models import Customer, OwnershipChange, OwnershipKind
    from kamguard.org.models import Department, Team
    from kamguard.org.services import user_create

    department = Department.objects.create(name="销售部", path="/", depth=0, external_id="D-SALES")
    department.path = f"/{department.pk}/"
    department.save()
    team = Team.objects.create(name="一组", department=department)
    people = [user_create(actor=None, username=f"m{n:02d}", full_name=f"经理{n:02d}", roles=["manager"],
                          external_id=f"U-M{n:02d}", department=department, team=team) for n in range(MANAGERS)]
    rng = random.Random(seed)
    now = timezone.now()
    registered = now - dt.timedelta(days=1500)
    rows = []
    for n in range(customers):
        owner = rng.choice(people)
        rows.append(Customer(external_id=f"C{n:07d}", name=f"客户{n:07d}有限公司", normalised_name=f"客户{n:07d}",
                             address=f"{rng.choice(CITIES)}{rng.randrange(1, 999)}号", created_on=registered.date(),
                             owner=owner, owned_since=registered))
    created = Customer.objects.bulk_create(rows, batch_size=2000)
    ledger = []
    for customer in created:
        ledger.append(OwnershipChange(customer=customer, to_owner_id=customer.owner_id, kind=OwnershipKind.IMPORT,
                                      effective_at=registered))
        if rng.random() < 0.2:
            ledger.append(OwnershipChange(customer=customer, from_owner_id=customer.owner_id,
                                          to_owner_id=rng.choice(people).pk, kind=OwnershipKind.IMPORT,
                                          effective_at=now - dt.timedelta(days=365)))
    OwnershipChange.objects.bulk_create(ledger, batch_size=2000)


def build_csv(size: int, customers: int, seed: int) -> bytes:
    from kamguard.customers.models import Customer

    addresses = dict(Customer.objects.values_list("external_id", "address"))
    rng = random.Random(seed)
    today = dt.date.today()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for n in range(size):
        customer = f"C{rng.randrange(customers):07d}"
        if rng.random() < 0.005:
            customer = f"X{n:07d}"
        quantity = rng.randrange(1, 50)
        price = rng.randrange(100, 50000)
        amount = f"{quantity * price}.00" if rng.random() >= 0.002 else "-1"
        address = ""
        if rng.random() < 0.6:
            address = addresses.get(customer, "") if rng.random() >= 0.02 else f"{rng.choice(CITIES)}新仓库{n}号"
        writer.writerow([f"SO{n:08d}", customer, (today - dt.timedelta(days=rng.randrange(730))).isoformat(), amount,
                         f"U-M{rng.randrange(MANAGERS):02d}" if rng.random() < 0.3 else "", rng.choice(PRODUCTS),
                         quantity, f"{price}.00", "CNY", address, rng.choice(("open", "open", "delivered"))])
    return out.getvalue().encode()


PAYMENT_HEADER = ("external_id", "customer", "paid_on", "amount", "order", "payer_name", "payer_account", "currency",
                  "over_reason")


def build_payments_csv(size: int, seed: int) -> bytes:
    """Payments for orders the order import created (see the module's docstring, step 4)."""
    from kamguard.contracts.models import Order

    rng = random.Random(seed + 1)
    orders = list(Order.objects.values_list("external_id", "customer__external_id", "customer__name", "amount",
                                            "order_date").order_by("pk"))
    rng.shuffle(orders)
    today = dt.date.today()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYMENT_HEADER)
    for n in range(size):
        external_id, customer, name, amount, order_date = orders[n % len(orders)]
        paid_on = min(today, order_date + dt.timedelta(days=rng.randrange(0, 90)))
        roll = rng.random()
        order, reason = (external_id if rng.random() < 0.6 else ""), ""
        paying = amount if rng.random() < 0.5 else (amount / 3).quantize(Decimal("0.01"))
        if roll < 0.03:
            paying, reason = amount * 2 + 1, "预付下期货款"
        elif roll < 0.04:
            paying = amount * 2 + 1
        if rng.random() < 0.005:
            customer = f"X{n:07d}"
        payer = name if rng.random() >= 0.03 else f"代付{rng.randrange(1000)}贸易有限公司"
        writer.writerow([f"PAY{n:08d}", customer, paid_on.isoformat(), max(paying, Decimal("0.01")), order, payer,
                         f"6222{n:08d}", "CNY", reason])
    return out.getvalue().encode()


def time_payments(size: int, seed: int) -> dict[str, object]:
    from kamguard.contracts.models import DataQualityFinding, Payment, PaymentAllocation
    from kamguard.core.io.runner import import_run

    data = build_payments_csv(size, seed)
    findings = DataQualityFinding.objects.count()
    watch = Stopwatch()
    cpu = time.process_time()
    report = import_run(actor=None, kind="payments", data=data, filename="payments.csv")
    seconds, cpu = watch.seconds(), time.process_time() - cpu
    watch = Stopwatch()
    again = import_run(actor=None, kind="payments", data=data, filename="payments.csv")
    again_seconds = watch.seconds()
    return {"payments_size": size, "payments_seconds": round(seconds, 2),
            "payments_rows_per_second": round(size / seconds, 1), "payments_cpu_seconds": round(cpu, 2),
            "payments_rows_per_cpu_second": round(size / max(cpu, 1e-9), 1), "payments_created": report.created,
            "payments_errors": report.failed, "payments_stored": Payment.objects.count(),
            "payment_allocations": PaymentAllocation.objects.count(),
            "payments_findings": DataQualityFinding.objects.count() - findings,
            "payments_reimport_seconds": round(again_seconds, 2),
            "payments_reimport_rows_per_second": round(size / again_seconds, 1),
            "payments_reimport_unchanged": again.unchanged}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="order rows in the file")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--payments", type=int, default=None, help="payment rows (default: a fifth of --size)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the import")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    return on_fresh_database("postgres" if args.postgres else "sqlite", lambda database: run(args, database),
                             keep=args.keep)


def run(args: argparse.Namespace, database: BenchDatabase) -> int:
    from django.utils import translation

    from kamguard.contracts.models import DataQualityFinding, Order
    from kamguard.core.io.runner import import_run

    translation.activate("en")
    watch = Stopwatch()
    migrate()
    prepare(args.customers, args.seed)
    setup_seconds = watch.seconds()
    data = build_csv(args.size, args.customers, args.seed)
    print(f"{database_version()}; {args.size:,} rows, {args.customers:,} customers; {load_text()}", flush=True)
    profiler = cProfile.Profile() if args.profile else None
    watch = Stopwatch()
    cpu_start = time.process_time()
    if profiler:
        profiler.enable()
    report = import_run(actor=None, kind="orders", data=data, filename="orders.csv")
    if profiler:
        profiler.disable()
    seconds = watch.seconds()
    cpu_seconds = time.process_time() - cpu_start
    watch = Stopwatch()
    again = import_run(actor=None, kind="orders", data=data, filename="orders.csv")
    again_seconds = watch.seconds()
    rate = args.size / seconds
    from kamguard.core.io.formats import Format, table_read

    parse_cpu = time.process_time()
    table_read(data, Format.CSV)
    parse_cpu = time.process_time() - parse_cpu
    order_findings = DataQualityFinding.objects.count()
    orders_stored = Order.objects.count()
    payments_size = args.size // 5 if args.payments is None else args.payments
    payments = time_payments(payments_size, args.seed) if payments_size else {}
    results = {
        **payments,
        "benchmark": "order_import", "database": database_version(), "size": args.size,
        "customers": args.customers, "seed": args.seed, "seconds": round(seconds, 2),
        "rows_per_second": round(rate, 1), "cpu_seconds": round(cpu_seconds, 2),
        "rows_per_cpu_second": round(args.size / max(cpu_seconds, 1e-9), 1),
        "file_parsing_cpu_seconds": round(parse_cpu, 2),
        "target_rows_per_second": TARGET_ROWS_PER_SECOND, "target_met": rate >= TARGET_ROWS_PER_SECOND,
        "created": report.created, "errors": report.failed, "orders": orders_stored,
        "findings": order_findings,
        "reimport_seconds": round(again_seconds, 2), "reimport_rows_per_second": round(args.size / again_seconds, 1),
        "reimport_unchanged": again.unchanged, "peak_rss_mib": round(peak_rss_mib(), 1),
        "csv_mib": round(len(data) / 2**20, 2), "setup_seconds": round(setup_seconds, 2),
        "database_mib": database.size_mib(), "load": load_text(), "machine": machine_info(),
    }
    print_table("Importing ERP orders", ["measure", "value"], [
        ("rows", args.size), ("created", report.created), ("row errors", report.failed),
        ("findings kept", results["findings"]), ("seconds", round(seconds, 2)), ("rows/s", round(rate, 1)),
        ("CPU seconds (this process)", round(cpu_seconds, 2)),
        ("rows per CPU-second", results["rows_per_cpu_second"]),
        ("of the CPU seconds: reading the CSV (core.io)", results["file_parsing_cpu_seconds"]),
        ("target rows/s", TARGET_ROWS_PER_SECOND),
        ("target met", results["target_met"]), ("re-import seconds (all unchanged)", round(again_seconds, 2)),
        ("re-import rows/s", results["reimport_rows_per_second"]), ("peak RSS (MiB)", results["peak_rss_mib"]),
    ])
    if payments:
        print_table("Importing ERP payments", ["measure", "value"], [
            ("rows", payments["payments_size"]), ("created", payments["payments_created"]),
            ("row errors", payments["payments_errors"]), ("allocations", payments["payment_allocations"]),
            ("findings kept", payments["payments_findings"]), ("seconds", payments["payments_seconds"]),
            ("rows/s", payments["payments_rows_per_second"]), ("CPU seconds", payments["payments_cpu_seconds"]),
            ("rows per CPU-second", payments["payments_rows_per_cpu_second"]),
            ("re-import rows/s (all unchanged)", payments["payments_reimport_rows_per_second"])])
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(30)
        print(stream.getvalue())
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
