"""Speed of `kamguard import customers FILE`: new rows through customers_create_many (the batch form of
customer_create) with the duplicate check.

    uv run python benchmarks/import_customers.py                      # 100,000 rows on SQLite
    uv run python benchmarks/import_customers.py --size 5000          # while developing
    uv run python benchmarks/import_customers.py --postgres [--json out.json] [--profile]

Target (the issue): "Importing 100,000 customers with the duplicate check: ≥ 2,000 rows/s on SQLite."

1. A CSV of distinct, realistic companies: the A-share companies (full name, English name) from
   /work/shared/datasets, then generated ones — [region] brand industry-word suffix, the way
   benchmarks/dedupe_speed.py makes them — each brand + industry pair used once, so no two rows are the
   same company. 40 % have a valid, unique USCC; most have a region code; owners are 50 managers (20 % of
   the rows go to the shared pool); created_on is spread over ten years.
2. A fresh database (SQLite file under $KAMGUARD_BENCH_DIR, or a PostgreSQL database with --postgres),
   migrated, with one pool, an industry list and the managers.
3. `import_run(actor=None, kind="customers", …)` — what the command calls — on the whole file in one
   run. Timings per 1,000 rows are taken as the import records row results, so the run is the
   real one; SQL statements are counted per table to show where a row's time goes (`--profile` adds a
   cProfile of the run). `--into N` first imports N other customers, so the duplicate check runs against a
   database that already holds them (the rows/s then counts only the timed import).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
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
    CACHE_DIR,
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

TARGET_ROWS_PER_SECOND = 2000
BATCH = 1000
MANAGERS = 50
INDUSTRIES = (("ELEC", "电子"), ("MACH", "机械"), ("CHEM", "化工"), ("LOGI", "物流"), ("MED", "医药"),
              ("SOFT", "软件"), ("TRADE", "贸易"), ("FOOD", "食品"))
TABLE = re.compile(r'(?:from|into|update)\s+"?(\w+)"?', re.IGNORECASE)
HEADER = ("external_id", "name", "uscc", "english_name", "aliases", "region", "address", "industry", "size",
          "tier", "owner", "created_on", "source")


def build_csv(size: int, seed: int) -> bytes:
    from dedupe_speed import NameMaker, _a_share, _uscc

    from kamguard.customers.domain.regions import regions_by_name

    regions = regions_by_name()
    companies = _a_share()
    rng = random.Random(seed)
    rng.shuffle(companies)
    maker = NameMaker(random.Random(seed + 1), companies)
    seen_short: set[str] = set()
    start = dt.date(2015, 1, 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    number = 0
    real = iter(companies)
    while number < size:
        number += 1
        company = next(real, None)
        if company is not None:
            name, english, region_name, short = company.name, company.english, company.area, company.short
        else:
            while True:
                name, short, region_name = maker.name()
                if short not in seen_short:
                    break
            english = ""
        seen_short.add(short)
        region = regions.get(region_name) if region_name else None
        owner = f"U-M{rng.randrange(MANAGERS):02d}" if rng.random() >= 0.2 else ""
        writer.writerow([
            f"C{number:07d}", name, _uscc(number) if company is None and rng.random() < 0.4 else "", english,
            short if rng.random() < 0.3 else "", region.code if region is not None and rng.random() < 0.8 else "",
            "", rng.choice(INDUSTRIES)[1] if rng.random() < 0.7 else "", rng.choice(("large", "medium", "small", "")),
            rng.choice("ABCCC"), owner, (start + dt.timedelta(days=rng.randrange(3650))).isoformat(), "ERP"])
    return out.getvalue().encode()


def prepare() -> None:
    from kamguard.customers.services.pools import pool_save
    from kamguard.org.models import Department, Industry, Team
    from kamguard.org.services import user_create

    department = Department.objects.create(name="销售部", path="/", depth=0, external_id="D-SALES")
    department.path = f"/{department.pk}/"
    department.save()
    team = Team.objects.create(name="一组", department=department)
    for code, name in INDUSTRIES:
        Industry.objects.get_or_create(code=code, defaults={"name": name})
    for number in range(MANAGERS):
        user_create(actor=None, username=f"m{number:02d}", full_name=f"经理{number:02d}", roles=["manager"],
                    external_id=f"U-M{number:02d}", department=department, team=team)
    pool_save(actor=None, name="公海")


class RowClock:
    """Ticks on every row result the import records (created, updated, unchanged or error): the time of every
    BATCH rows, and the SQL statements per table."""

    def __init__(self) -> None:
        self.rows = 0
        self.batch_seconds: list[float] = []
        self.mark = time.perf_counter()
        self.tables: Counter[str] = Counter()
        self.table_seconds: Counter[str] = Counter()
        self.statements = 0

    def tick(self) -> None:
        self.rows += 1
        if self.rows % BATCH == 0:
            now = time.perf_counter()
            self.batch_seconds.append(now - self.mark)
            self.mark = now

    def install(self) -> None:
        from django.db import connection

        from kamguard.core.io.runner import ImportContext

        original = ImportContext.__init__
        clock = self

        class TickingList(list):  # type: ignore[type-arg]
            def append(self, item: Any) -> None:
                super().append(item)
                clock.tick()

        def init(ctx: Any, *args: Any, **kwargs: Any) -> None:
            original(ctx, *args, **kwargs)
            ctx.report.results = TickingList(ctx.report.results)

        ImportContext.__init__ = init  # type: ignore[method-assign]

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            clock.statements += 1
            found = TABLE.search(sql)
            head = sql.lstrip().split(None, 1)[0].upper()
            kind = f"{head} {found.group(1) if found else '-'}"
            clock.tables[kind] += 1
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                clock.table_seconds[kind] += time.perf_counter() - started

        connection.execute_wrappers.append(count)


def print_profile(profiler: cProfile.Profile, path: str | None) -> None:
    """The profile twice: by cumulative time (which calls cost) and by own time (where the CPU goes)."""
    for order in ("cumulative", "tottime"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(35)
        print(stream.getvalue())
    if path:
        profiler.dump_stats(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--into", type=int, default=0, metavar="N",
                        help="import N other customers first (untimed), so the check runs against them")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the import")
    parser.add_argument("--profile-out", metavar="PATH", help="with --profile: also write the raw pstats here")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    return on_fresh_database("postgres" if args.postgres else "sqlite", lambda database: run(args, database), keep=args.keep)


def run(args: argparse.Namespace, database: BenchDatabase) -> int:
    from django.utils import translation

    from kamguard.core.io.runner import import_run

    translation.activate("en")
    watch = Stopwatch()
    migrate()
    prepare()
    setup_seconds = watch.seconds()
    watch = Stopwatch()
    data = build_csv(args.size + args.into, args.seed)
    csv_seconds = watch.seconds()
    if args.into:
        header, *lines = data.decode().splitlines(keepends=True)
        before = import_run(actor=None, kind="customers", data=(header + "".join(lines[:args.into])).encode(),
                            filename="customers-before.csv")
        print(f"{before.created:,} customers in the database before the timed import", flush=True)
        data = (header + "".join(lines[args.into:])).encode()
    (CACHE_DIR / f"import-customers-{args.size}.csv").write_bytes(data)
    clock = RowClock()
    clock.install()
    profiler = cProfile.Profile() if args.profile else None
    print(f"{database_version()}; {args.size:,} rows; {load_text()}", flush=True)
    watch = Stopwatch()
    cpu_start = time.process_time()
    if profiler:
        profiler.enable()
    report = import_run(actor=None, kind="customers", data=data, filename="customers.csv")
    if profiler:
        profiler.disable()
    seconds = watch.seconds()
    cpu_seconds = time.process_time() - cpu_start
    rows_per_second = args.size / seconds
    from kamguard.audit.services import chain_verify

    chain = chain_verify()  # what `kamguard audit verify` checks: the batch's events chained intact
    reasons = Counter(re.sub(r"[^A-Za-z ].*", "", p.message)[:40] or p.message[:40] for p in report.errors)
    batch = summary_ms(clock.batch_seconds or [seconds])
    results = {
        "benchmark": "import_customers", "database": database_version(), "size": args.size, "seed": args.seed,
        "customers_before": args.into,
        "seconds": round(seconds, 2), "rows_per_second": round(rows_per_second, 1),
        "cpu_seconds": round(cpu_seconds, 2), "rows_per_cpu_second": round(args.size / max(cpu_seconds, 1e-9), 1),
        "target_rows_per_second": TARGET_ROWS_PER_SECOND, "target_met": rows_per_second >= TARGET_ROWS_PER_SECOND,
        "batch_1000_p50_ms": batch["p50_ms"], "batch_1000_p95_ms": batch["p95_ms"],
        "peak_rss_mib": round(peak_rss_mib(), 1), "csv_mib": round(len(data) / 2**20, 2),
        "csv_build_seconds": round(csv_seconds, 2), "setup_seconds": round(setup_seconds, 2),
        "created": report.created, "errors": report.failed, "error_reasons": dict(reasons.most_common(5)),
        "sql_per_row": round(clock.statements / max(1, clock.rows), 1),
        "sql_per_row_by_table": {k: round(v / max(1, clock.rows), 2) for k, v in clock.tables.most_common(20)},
        "sql_seconds_by_table": {k: round(v, 2) for k, v in clock.table_seconds.most_common(10)},
        "database_mib": database.size_mib(), "machine": machine_info(),
        "audit_chain_ok": chain.ok, "audit_events": chain.events,
    }
    print_table("Importing customers with the duplicate check", ["measure", "value"], [
        ("audit chain verifies (events)", f"{chain.ok} ({chain.events:,})"),
        ("rows", args.size), ("customers already there", args.into), ("created", report.created), ("row errors", report.failed),
        ("seconds", round(seconds, 1)), ("rows/s", round(rows_per_second, 1)),
        ("CPU seconds (this process)", round(cpu_seconds, 1)),
        ("rows per CPU-second", results["rows_per_cpu_second"]),
        ("target rows/s", TARGET_ROWS_PER_SECOND), ("target met", results["target_met"]),
        ("p50 per 1,000 rows (ms)", batch["p50_ms"]), ("p95 per 1,000 rows (ms)", batch["p95_ms"]),
        ("peak RSS (MiB)", results["peak_rss_mib"]), ("SQL statements per row", results["sql_per_row"]),
    ])
    print_table("SQL statements per row, by statement and table", ["statement", "per row"],
                list(results["sql_per_row_by_table"].items()))
    print_table("Wall-clock seconds in SQL statements, by statement and table (COPY not included)",
                ["statement", "seconds"], list(results["sql_seconds_by_table"].items()))
    if reasons:
        print_table("Row errors", ["reason", "rows"], reasons.most_common(5))
    if profiler:
        print_profile(profiler, args.profile_out)
    write_json(args.json, results)
    return 0 if chain.ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
