"""The sales pipeline board and the opportunity list (S2) against a large opportunity table.

    uv run python benchmarks/sales_board.py                          # 1,000,000 opportunities on SQLite
    uv run python benchmarks/sales_board.py --postgres --json out.json
    uv run python benchmarks/sales_board.py --size 100000 --repeat 50   # a quick run
    uv run python benchmarks/sales_board.py --postgres --reuse          # build once, keep, time it again later

`--reuse` keeps the built database (`kg_bench_sales_<size>_<seed>`: a PostgreSQL database, or that SQLite file
under $KAMGUARD_BENCH_DIR) and, when it is already there and complete, times it again without rebuilding —
after `migrate` (new indexes and summary tables are built on it as on a live system) and ANALYZE.

Target (issue 5): "With 1,000,000 opportunities …: the pipeline board's and list pages' queries p95 ≤ 200 ms."

1. A fresh database (SQLite file under $KAMGUARD_BENCH_DIR, or a PostgreSQL database with --postgres),
   migrated; DEPARTMENTS departments under a company, each with a supervisor and TEAMS teams of PEOPLE
   managers; CUSTOMERS_PER_PERSON customers per manager; an auditor (scope: everything).
2. `--size` opportunities written in bulk (executemany on SQLite, COPY on PostgreSQL; then ANALYZE), spread
   over the managers' customers and the last two years: about 40 % open at the four open stages, 35 % won,
   25 % lost (with reasons and competitors), amounts from 30,000 to 5,000,000.
3. Timed, `--repeat` times each, as a manager (their own book), a department's supervisor (TEAMS × PEOPLE
   people) and the auditor (every opportunity):
   - board: `sales.selectors.board(viewer=…)` — the open pipeline by stage, person and team and this month's
     won and lost (every query evaluated);
   - list: the list page's queries — `opportunity_list(viewer=…)` paginated as the page does (the count and
     the first 25 rows, newest first), and again filtered by stage and sorted by amount;
   - the pages `/sales/` and `/sales/opportunities/` through Django's test client (queries plus rendering).
   p50/p95/p99 of the wall clock and the benchmark process's CPU time (on SQLite the queries run in this
   process; on PostgreSQL its CPU is Python and the driver only); the target is met when every board and list
   p95 is within 200 ms.
4. `--explain` (PostgreSQL): every query of the board and list calls run again under EXPLAIN ANALYZE, `--repeat`
   times: the server's own planning + execution time per call (p50/p95) — what the queries cost without the
   client and the machine's other work — and the plan of each list query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
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
    setup_django,
    summary_ms,
    write_json,
)

TARGET_P95_MS = 200.0
DEPARTMENTS = 10
TEAMS = 5
PEOPLE = 10
CUSTOMERS_PER_PERSON = 20
CHUNK = 50_000
NAMES = ("智能工厂一期", "产线数字化改造", "仓储系统升级", "设备联网项目", "能耗监测平台", "年度备件采购")
COMPETITORS = ("西门子", "施耐德电气", "华为", "研华科技", "和利时", "")
LOST = ("price", "competitor", "budget", "timing", "product", "no_decision")


def world_read() -> dict[str, Any]:
    """The world `prepare` built, read back from a reused database."""
    from kamguard.customers.models import Customer
    from kamguard.org.models import User

    supervisors = list(User.objects.filter(username__regex=r"^s[0-9]{2}$").order_by("username"))
    managers = list(User.objects.filter(username__regex=r"^m[0-9]{4}$").order_by("pk"))
    books: dict[int, list[int]] = {}
    for pk, owner_id in Customer.objects.filter(owner__in=managers).values_list("pk", "owner_id").order_by("pk"):
        books.setdefault(owner_id, []).append(pk)
    return {"supervisors": supervisors, "managers": managers, "auditor": User.objects.get(username="audit"),
            "books": books}


def prepare() -> dict[str, Any]:
    from kamguard.customers.models import Customer
    from kamguard.org.models import Department, RoleAssignment, Team, User

    company = Department.objects.create(name="总公司", path="/", depth=0)
    company.path = f"/{company.pk}/"
    company.save()
    supervisors: list[User] = []
    managers: list[User] = []
    for d in range(DEPARTMENTS):
        department = Department.objects.create(name=f"大区{d + 1}", parent=company, depth=1, path="")
        department.path = f"{company.path}{department.pk}/"
        department.save()
        supervisor = User.objects.create(username=f"s{d:02d}", full_name=f"主管{d + 1}", department=department,
                                         password="!")  # noqa: S106 - unusable: nobody signs in
        supervisors.append(supervisor)
        teams = [Team.objects.create(name=f"{d + 1}-{t + 1}组", department=department) for t in range(TEAMS)]
        managers.extend(User.objects.bulk_create([
            User(username=f"m{d:02d}{t}{p}", full_name=f"经理{d + 1}-{t + 1}-{p + 1}", department=department, team=team,
                 supervisor=supervisor, password="!")  # noqa: S106
            for t, team in enumerate(teams) for p in range(PEOPLE)]))
    auditor = User.objects.create(username="audit", full_name="审计", department=company, password="!")  # noqa: S106
    RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="supervisor") for u in supervisors]
                                       + [RoleAssignment(user=u, role="manager") for u in managers]
                                       + [RoleAssignment(user=auditor, role="auditor")])
    today = dt.date.today()
    customers = Customer.objects.bulk_create([
        Customer(name=f"客户{m.pk}-{n}有限公司", normalised_name=f"客户{m.pk}-{n}", owner=m, tier="ABC"[n % 3],
                 created_on=today - dt.timedelta(days=800))
        for m in managers for n in range(CUSTOMERS_PER_PERSON)], batch_size=5000)
    books: dict[int, list[int]] = {}
    for customer in customers:
        assert customer.owner_id is not None
        books.setdefault(customer.owner_id, []).append(customer.pk)
    return {"supervisors": supervisors, "managers": managers, "auditor": auditor, "books": books}


def opportunity_rows(size: int, world: dict[str, Any], rng: random.Random) -> Any:
    from django.utils import timezone

    from kamguard.sales.models import Stage

    stages = {s.code: s for s in Stage.objects.all()}
    open_codes = ("lead", "qualified", "proposal", "negotiation")
    managers = world["managers"]
    books = world["books"]
    today = timezone.localdate()
    now = timezone.now()
    for i in range(size):
        manager = managers[i % len(managers)]
        customer = books[manager.pk][rng.randrange(CUSTOMERS_PER_PERSON)]
        created_on = today - dt.timedelta(days=rng.randint(0, 730))
        roll = rng.random()
        amount = round(rng.uniform(30_000, 5_000_000), -3)
        row: dict[str, Any] = {"customer_id": customer, "owner_id": manager.pk, "created_by_id": manager.pk,
                               "name": f"{rng.choice(NAMES)} {i}", "amount": amount, "currency": "CNY",
                               "created_on": created_on, "created_at": now, "updated_at": now,
                               "competitor": rng.choice(COMPETITORS), "credit_split": "[]"}
        if roll < 0.40:
            stage = stages[rng.choice(open_codes)]
            row.update(stage_id=stage.pk, outcome="open", probability=stage.probability,
                       expected_close_on=today + dt.timedelta(days=rng.randint(-10, 120)),
                       stage_changed_at=now - dt.timedelta(days=rng.randint(0, 60)))
        else:
            won = roll < 0.75
            closed_on = min(today, created_on + dt.timedelta(days=rng.randint(10, 200)))
            stage = stages["won" if won else "lost"]
            row.update(stage_id=stage.pk, outcome="won" if won else "lost", probability=100 if won else 0,
                       closed_on=closed_on, lost_reason="" if won else rng.choice(LOST),
                       stage_changed_at=timezone.make_aware(dt.datetime.combine(closed_on, dt.time(12))))
        yield row


def analyze() -> None:
    """ANALYZE; on PostgreSQL VACUUM ANALYZE, which sets the visibility map as autovacuum does on a live table
    (index-only scans for the counts)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def _client_for(user: Any) -> Any:
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    session = client.session
    session["kg_totp_verified"] = True
    session.save()
    return client


def _timed(call: Any, *, repeat: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        call()
    seconds = []
    cpu = []
    for _ in range(repeat):
        mark, cpu_mark = time.perf_counter(), time.process_time()
        call()
        seconds.append(time.perf_counter() - mark)
        cpu.append(time.process_time() - cpu_mark)
    cpu_summary = summary_ms(cpu)
    return {**summary_ms(seconds), "cpu_p50_ms": cpu_summary["p50_ms"], "cpu_p95_ms": cpu_summary["p95_ms"]}


def _explained(call: Any, *, repeat: int) -> dict[str, Any]:
    """The call's queries (SELECTs) run again under EXPLAIN (ANALYZE): the server's planning + execution time for
    the whole call, p50/p95 over `repeat` rounds, and the plans of the last round (PostgreSQL only)."""
    from django.db import connection

    captured: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        call()
    selects = [(sql, params) for sql, params in captured if sql.lstrip().upper().startswith("SELECT")]
    rounds: list[float] = []
    plans: list[dict[str, Any]] = []
    for _ in range(repeat):
        total = 0.0
        plans = []
        with connection.cursor() as cursor:
            for sql, params in selects:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
                raw = cursor.fetchone()[0]
                plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                total += plan["Planning Time"] + plan["Execution Time"]
                plans.append(plan)
        rounds.append(total / 1000)
    summary = summary_ms(rounds)
    return {"db_p50_ms": summary["p50_ms"], "db_p95_ms": summary["p95_ms"], "queries": len(selects),
            "slowest": max(((p["Planning Time"] + p["Execution Time"], sql) for p, (sql, _) in
                            zip(plans, selects, strict=True)), default=(0.0, ""))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="opportunities")
    parser.add_argument("--repeat", type=int, default=100, help="timed calls of each kind")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the built database (kg_bench_sales_<size>_<seed>) and time it again next time")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the database, time nothing")
    parser.add_argument("--explain", action="store_true",
                        help="PostgreSQL: also the server's own time per call (EXPLAIN ANALYZE of its queries)")
    parser.add_argument("--roles", default="manager,supervisor,auditor", help="viewers to time, comma-separated")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    engine = "postgres" if args.postgres else "sqlite"
    if not args.reuse:
        return on_fresh_database(engine, lambda database: run(args, database, built=False), keep=args.keep)
    database = BenchDatabase(engine, reuse_name=f"kg_bench_sales_{args.size}_{args.seed}")
    built = database.exists() and _complete(database, args.size)
    if not built:
        database.create()
    setup_django(database.url)
    try:
        return run(args, database, built=built)
    finally:
        from django.db import connections

        connections.close_all()


COMPLETE_MARK = "kg_bench_sales_complete"


def _complete(database: BenchDatabase, size: int) -> bool:
    """A reused database counts when its build finished (the mark written last holds the size)."""
    if database.kind == "postgres":
        import subprocess

        found = subprocess.run(["psql", database.url, "-Atqc",  # noqa: S603,S607
                                f"select size from {COMPLETE_MARK}"], capture_output=True, text=True).stdout
    else:
        import sqlite3

        assert database.path is not None
        try:
            with sqlite3.connect(database.path) as sqlite:
                found = str(sqlite.execute(f"select size from {COMPLETE_MARK}").fetchone()[0])  # noqa: S608
        except (sqlite3.Error, TypeError):
            found = ""
    return found.strip() == str(size)


def _mark_complete(size: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"create table {COMPLETE_MARK} (size integer)")
        cursor.execute(f"insert into {COMPLETE_MARK} values (%s)", [size])  # noqa: S608


def build(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """The people, customers and `--size` opportunities, the pipeline summaries rebuilt, ANALYZE."""
    from live_view import bulk_write

    from kamguard.sales.models import Opportunity
    from kamguard.sales.services.pipeline import pipeline_rebuild

    watch = Stopwatch()
    world = prepare()
    print(f"{database_version()}; writing {args.size:,} opportunities; {load_text()}", flush=True)
    write = Stopwatch()
    bulk_write(Opportunity, opportunity_rows(args.size, world, rng), total=args.size, label="opportunities")
    world["write_seconds"] = write.seconds()
    rebuild = Stopwatch()
    cells = pipeline_rebuild()
    world["rebuild_seconds"] = rebuild.seconds()
    print(f"pipeline cells rebuilt: {cells:,} in {world['rebuild_seconds']:.1f} s", flush=True)
    analyze()
    world["build_seconds"] = watch.seconds()
    return world


def run(args: argparse.Namespace, database: BenchDatabase, *, built: bool) -> int:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import setup_test_environment

    from kamguard.core.pages import PAGE_SIZE
    from kamguard.sales import selectors
    from kamguard.sales.models import Opportunity

    rng = random.Random(args.seed)
    migrating = Stopwatch()
    migrate()
    migrate_seconds = migrating.seconds()
    if built:
        world = world_read()
        analyze()
        print(f"{database_version()}; reusing {database.name} (migrated in {migrate_seconds:.1f} s, analysed); "
              f"{load_text()}", flush=True)
    else:
        world = build(args, rng)
        if args.reuse:
            _mark_complete(args.size)
    total = Opportunity.objects.count()
    if args.build_only:
        print(f"{total:,} opportunities in {database.name}; {load_text()}")
        return 0
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    viewers = {role: viewer for role, viewer in (("manager", world["managers"][0]),
                                                  ("supervisor", world["supervisors"][0]),
                                                  ("auditor", world["auditor"])) if role in args.roles.split(",")}
    explain = args.explain and connection.vendor == "postgresql"

    def board_call(viewer: Any) -> Any:
        board = selectors.board(viewer=viewer)
        return board.total.count

    def list_call(viewer: Any, **filters: Any) -> Any:
        """As the list page does: the count, then the first page (read in index order when the count is large)."""
        visible = selectors.opportunity_visible(viewer=viewer)
        count = selectors.opportunity_count(viewer=viewer, visible=visible, **filters)
        qs = selectors.opportunity_list(viewer=viewer, large=count > selectors.LARGE_LIST, visible=visible, **filters)
        rows = list(qs[:PAGE_SIZE])
        return count, len(rows)

    results: dict[str, dict[str, dict[str, float]]] = {}
    shapes: dict[str, dict[str, Any]] = {}
    queries: dict[str, dict[str, int]] = {}
    for role, viewer in viewers.items():
        client = _client_for(viewer)

        def page(url: str, client: Any = client) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")

        calls = {
            "board": lambda viewer=viewer: board_call(viewer),
            "list": lambda viewer=viewer: list_call(viewer),
            "list stage+amount": lambda viewer=viewer: list_call(viewer, stage="proposal", sort="-amount"),
            "page /sales/": lambda: page("/sales/"),
            "page /sales/opportunities/": lambda: page("/sales/opportunities/"),
        }
        shapes[role] = {"open_on_board": board_call(viewer), "visible": list_call(viewer)[0]}
        settings.DEBUG = True
        queries[role] = {}
        for name in ("board", "list"):
            reset_queries()
            calls[name]()
            queries[role][name] = len(connection.queries)
        settings.DEBUG = False
        print(f"timing as {role} ({shapes[role]['visible']:,} visible); {load_text()}", flush=True)
        results[role] = {name: _timed(call, repeat=args.repeat, warmup=args.warmup) for name, call in calls.items()}
        if explain:
            for name in ("board", "list", "list stage+amount"):
                explained = _explained(calls[name], repeat=args.repeat)
                slowest_ms, slowest_sql = explained.pop("slowest")
                results[role][name].update(explained)
                print(f"  {role} {name}: server {explained['db_p50_ms']} / {explained['db_p95_ms']} ms over "
                      f"{explained['queries']} queries; slowest {slowest_ms:.1f} ms: {slowest_sql[:160]}", flush=True)
    met = all(r[name]["p95_ms"] <= TARGET_P95_MS for r in results.values() for name in ("board", "list",
                                                                                        "list stage+amount"))
    payload = {
        "benchmark": "sales_board", "database": database_version(), "opportunities": total,
        "people": len(world["managers"]) + len(world["supervisors"]) + 1,
        "customers": sum(len(b) for b in world["books"].values()), "shapes": shapes, "queries": queries,
        "repeat": args.repeat, "results": results, "target_p95_ms": TARGET_P95_MS, "target_met": met,
        "reused": built, "migrate_seconds": round(migrate_seconds, 1),
        **({} if built else {
            "write_seconds": round(world["write_seconds"], 1),
            "pipeline_rebuild_seconds": round(world["rebuild_seconds"], 1),
            "build_seconds": round(world["build_seconds"], 1),
            "opportunities_per_second_written": round(args.size / max(world["write_seconds"], 1e-9))}),
        "database_mib": database.size_mib(), "peak_rss_mib": peak_rss_mib(), "machine": machine_info(),
        "load": load_text(),
    }
    rows = [[role, name, r["p50_ms"], r["p95_ms"], r["p99_ms"], r["cpu_p50_ms"], r["cpu_p95_ms"],
             r.get("db_p50_ms", "-"), r.get("db_p95_ms", "-")] for role, parts in results.items()
            for name, r in parts.items()]
    print_table(f"sales board and list, {total:,} opportunities, {database_version()}",
                ["viewer", "call", "p50 ms", "p95 ms", "p99 ms", "cpu p50", "cpu p95", "server p50", "server p95"],
                rows)
    print(f"visible: {shapes}; queries: {queries}")
    print(f"target p95 ≤ {TARGET_P95_MS:.0f} ms for board and list queries: {'met' if met else 'NOT met'}; "
          f"{load_text()}")
    write_json(args.json, payload)
    return 0 if met else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
