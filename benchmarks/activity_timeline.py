"""The customer timeline with millions of visits and contacts: how fast a customer's page shows its timeline.

    uv run python benchmarks/activity_timeline.py --database sqlite|postgres [--size 5000000] [--queries 300]
        [--customers N] [--seed 11] [--reuse] [--keep] [--json PATH]

Target (issue 6): with 5,000,000 activities, the customer timeline p95 ≤ 150 ms on SQLite and PostgreSQL.

What is built (seeded), in a database of its own (see common.BenchDatabase; ``--reuse`` keeps it, named
``kg_bench_timeline_<size>_<seed>``, for the next run):

1. **People.** One sales department with 20 teams of 10 managers (200) and a supervisor over them.
2. **Customers.** ``--customers`` (default size / 100) owned by the managers, each in a district with
   coordinates. How many activities a customer has is skewed (Pareto, α 1.2): most have tens, a few have
   thousands — the heavy ones are what a timeline page must not choke on.
3. **Activities.** ``--size`` rows in ``activities_activity`` over three years: visits (30 %, checked in with
   coordinates, distance and far flag; some planned or cancelled), calls, WeChat, e-mails and meetings — by
   the customer's owner; plus **one timeline entry per activity** in ``customers_timelineentry`` (as the
   services write), so the timeline table holds as many rows. Loaded in bulk (``executemany`` on SQLite,
   ``COPY`` on PostgreSQL) with the secondary indexes and, on PostgreSQL, the foreign keys dropped during the
   load and rebuilt after it (the indexes are those of the migrations), then ``ANALYZE``
   (PostgreSQL: ``VACUUM ANALYZE``).

Measured, per query: **the customer page's timeline** exactly as ``customers.views.customer_detail`` reads
it — ``customers.selectors.customer_get`` (the customer as the viewer may see it),
``customers.reports.customer_timeline`` and its first page of 20 through Django's Paginator (the count and the
rows); the same timeline's first API page (``keyset_page``, 50 entries); the customer page's activities
section (``activities.selectors.customer_activities``, 10 rows); and the supervisor's live view as its polled
panels render it (``supervision.views.live_context`` and the template) for the whole department of 200 (counts
per team) and for one team of 10 (its first page of check-in rows), on past days (``--only live`` measures only
the live view, ``--only timeline`` only the timeline reads). Viewers: the customer's owner (a manager)
and the supervisor. Queried customers: ``--queries`` drawn uniformly, plus the 20 customers with the most
entries ("heaviest"). Reports p50/p95/p99/max per read, queries/s, the database size, build time, machine
and load, and the CPU time of the benchmark process per read (``time.process_time``: with SQLite it includes the
database engine, with PostgreSQL not the server) — on a shared machine the wall clock is mostly waiting for a
core; exit status 1 when the timeline p95 target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from common import (
    BenchDatabase,
    Stopwatch,
    database_version,
    load_text,
    machine_info,
    migrate,
    peak_rss_mib,
    print_table,
    setup_django,
    summary_ms,
    write_json,
)

TARGET_P95_MS = 150.0
TEAMS = 20
PER_TEAM = 10
CHUNK = 50_000
ACTIVITY_TABLE = "activities_activity"
TIMELINE_TABLE = "customers_timelineentry"
KINDS = (("visit", 30), ("call", 35), ("wechat", 20), ("email", 10), ("meeting", 5))
SUMMARIES = {"visit": "拜访完成：客户同意试用——下一步：下周报价", "call": "电话: 跟进报价反馈",
             "wechat": "微信: 发送产品资料", "email": "邮件: 发送合同草稿", "meeting": "会面: 方案评审"}
YEARS = 3


# ---------------------------------------------------------------- build


def build(args: argparse.Namespace) -> dict[str, Any]:
    watch = Stopwatch()
    migrate()
    timings: dict[str, float] = {"migrate_s": round(watch.seconds(), 1)}
    watch = Stopwatch()
    people = _people()
    customers = _customers(args, people["managers"])
    timings["people_and_customers_s"] = round(watch.seconds(), 1)
    watch = Stopwatch()
    saved = _indexes_drop()
    timings["drop_indexes_s"] = round(watch.seconds(), 1)
    watch = Stopwatch()
    _activities_load(args, customers)
    timings["load_s"] = round(watch.seconds(), 1)
    watch = Stopwatch()
    _indexes_restore(saved)
    timings["indexes_s"] = round(watch.seconds(), 1)
    watch = Stopwatch()
    _analyze()
    timings["analyze_s"] = round(watch.seconds(), 1)
    return timings


def _people() -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password

    from kamguard.org.models import Department, RoleAssignment, Team, User
    from kamguard.org.services import user_create

    department = Department.objects.create(name="销售部", path="/", depth=0)
    department.path = f"/{department.pk}/"
    department.save()
    supervisor = user_create(actor=None, username="director", full_name="销售总监", roles=["supervisor"],
                             department=department)
    password = make_password(None)
    managers: list[int] = []
    for t in range(TEAMS):
        team = Team.objects.create(name=f"{t + 1}组", department=department)
        users = User.objects.bulk_create([User(
            username=f"m{t:02d}{n}", full_name=f"经理{t:02d}{n}", department=department, team=team,
            supervisor=supervisor, password=password) for n in range(PER_TEAM)])
        RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="manager") for u in users])
        managers.extend(u.pk for u in users)
    return {"supervisor": supervisor.pk, "managers": managers}


def _customers(args: argparse.Namespace, managers: list[int]) -> list[tuple[int, int]]:
    """(customer id, owner id) of every customer."""
    from django.utils import timezone

    from kamguard.customers.models import Customer
    from kamguard.org.models import Region

    rng = random.Random(args.seed)
    districts = list(Region.objects.filter(level="district", latitude__isnull=False).values_list("pk", flat=True))
    since = timezone.now() - dt.timedelta(days=365 * YEARS + 30)
    count = args.customers or max(20, args.size // 100)
    rows = []
    for start in range(0, count, 10_000):
        batch = [Customer(name=f"基准客户{i:07d}有限公司", normalised_name=f"基准客户{i:07d}",
                          owner_id=rng.choice(managers), region_id=rng.choice(districts), tier=rng.choice("ABCCC"),
                          created_on=since.date(), owned_since=since)
                 for i in range(start, min(count, start + 10_000))]
        rows.extend((c.pk, c.owner_id) for c in Customer.objects.bulk_create(batch))
    return rows  # type: ignore[return-value]


def _indexes_drop() -> list[tuple[str, str, str]]:
    """Drop the secondary indexes (and on PostgreSQL the foreign keys) of the two tables; returns how to
    recreate them: (kind, name, definition)."""
    from django.db import connection

    saved: list[tuple[str, str, str]] = []
    with connection.cursor() as cursor:
        for table in (ACTIVITY_TABLE, TIMELINE_TABLE):
            if connection.vendor == "sqlite":
                cursor.execute("select name, sql from sqlite_master where type = 'index' and tbl_name = %s "
                               "and sql is not null", [table])
                for name, sql in cursor.fetchall():
                    if " UNIQUE " in sql.upper():
                        continue
                    saved.append(("index", name, sql))
                    cursor.execute(f'drop index "{name}"')
            else:
                cursor.execute("select conname, pg_get_constraintdef(oid) from pg_constraint "
                               "where conrelid = %s::regclass and contype = 'f'", [table])
                for name, definition in cursor.fetchall():
                    saved.append(("fk", name, f'alter table "{table}" add constraint "{name}" {definition}'))
                    cursor.execute(f'alter table "{table}" drop constraint "{name}"')
                cursor.execute("select indexname, indexdef from pg_indexes where tablename = %s and indexname not in "
                               "(select conname from pg_constraint where conrelid = %s::regclass)", [table, table])
                for name, definition in cursor.fetchall():
                    saved.append(("index", name, definition))
                    cursor.execute(f'drop index "{name}"')
    return saved


def _indexes_restore(saved: list[tuple[str, str, str]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for _kind, _name, definition in sorted(saved, key=lambda item: item[0] != "index"):
            cursor.execute(definition)
        if connection.vendor == "postgresql":
            for table in (ACTIVITY_TABLE, TIMELINE_TABLE):
                cursor.execute(f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"coalesce((select max(id) from {table}), 1))")


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("analyze")
        return
    connection.ensure_connection()
    raw = connection.connection
    autocommit = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"vacuum analyze {ACTIVITY_TABLE}")
            cursor.execute(f"vacuum analyze {TIMELINE_TABLE}")
            cursor.execute("vacuum analyze customers_customer")
    finally:
        raw.autocommit = autocommit


ACTIVITY_COLUMNS = ("id", "created_at", "updated_at", "user_id", "customer_id", "kind", "status", "planned_on",
                    "happened_at", "checked_in_at", "checked_out_at", "checkin_latitude", "checkin_longitude",
                    "checkin_accuracy_m", "distance_m", "far_threshold_m", "is_far", "location_status",
                    "other_attendees", "accompanied_by_id", "accompaniment_confirmed_at", "summary", "outcome",
                    "next_step", "duration_min", "cancel_reason", "external_id", "plan_ref", "recorded_by_id")
TIMELINE_COLUMNS = ("customer_id", "occurred_at", "kind", "actor_id", "summary", "data")


def _rows(args: argparse.Namespace, customers: list[tuple[int, int]]) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Chunks of (activity rows, timeline rows), seeded."""
    from django.utils import timezone

    rng = random.Random(args.seed + 1)
    weights = [rng.paretovariate(1.2) for _ in customers]
    now = timezone.now()
    span = 365 * YEARS * 86400
    kinds = [k for k, _w in KINDS]
    kind_weights = [w for _k, w in KINDS]
    pk = 0
    for start in range(0, args.size, CHUNK):
        n = min(CHUNK, args.size - start)
        picks = rng.choices(customers, weights=weights, k=n)
        chosen_kinds = rng.choices(kinds, weights=kind_weights, k=n)
        activities: list[tuple] = []
        timeline: list[tuple] = []
        for (customer_id, owner_id), kind in zip(picks, chosen_kinds, strict=True):
            pk += 1
            when = now - dt.timedelta(seconds=rng.randrange(span))
            status = "done"
            planned_on = checked_in = checked_out = lat = lon = accuracy = distance = threshold = None
            far = False
            location = ""
            outcome = next_step = ""
            if kind == "visit":
                roll = rng.random()
                planned_on = when.date()
                if roll < 0.03:
                    status, when = "cancelled", None
                elif roll < 0.05:
                    status, when = "planned", None
                else:
                    checked_in, checked_out = when, when + dt.timedelta(minutes=60)
                    lat, lon, accuracy = 31.2 + rng.random() / 10, 121.4 + rng.random() / 10, 25
                    distance, threshold = rng.randrange(100, 20_000), 15_000
                    far, location = distance > threshold, "ok"
                    outcome, next_step = "客户同意试用", "下周报价"
            created = when or now
            activities.append((pk, created, created, owner_id, customer_id, kind, status, planned_on, when,
                               checked_in, checked_out, lat, lon, accuracy, distance, threshold, far, location, "",
                               None, None, SUMMARIES[kind], outcome, next_step, 30, "", None, "", owner_id))
            timeline.append((customer_id, created, f"activities.{kind}", owner_id, SUMMARIES[kind],
                             json.dumps({"activity": pk})))
        yield activities, timeline


def _activities_load(args: argparse.Namespace, customers: list[tuple[int, int]]) -> None:
    from django.db import connection, transaction

    done = 0
    watch = Stopwatch()
    for activities, timeline in _rows(args, customers):
        with transaction.atomic():
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"insert into {ACTIVITY_TABLE} ({', '.join(ACTIVITY_COLUMNS)}) values "
                        f"({', '.join(['%s'] * len(ACTIVITY_COLUMNS))})", activities)
                    cursor.executemany(
                        f"insert into {TIMELINE_TABLE} ({', '.join(TIMELINE_COLUMNS)}) values "
                        f"({', '.join(['%s'] * len(TIMELINE_COLUMNS))})", timeline)
            else:
                connection.ensure_connection()
                with connection.connection.cursor() as cursor:
                    with cursor.copy(f"copy {ACTIVITY_TABLE} ({', '.join(ACTIVITY_COLUMNS)}) from stdin") as copy:
                        for row in activities:
                            copy.write_row(row)
                    with cursor.copy(f"copy {TIMELINE_TABLE} ({', '.join(TIMELINE_COLUMNS)}) from stdin") as copy:
                        for row in timeline:
                            copy.write_row(row)
        done += len(activities)
        if done % 500_000 < CHUNK or done == args.size:
            print(f"  {done:,} activities loaded ({done / max(watch.seconds(), 1e-9):,.0f}/s; {load_text()})",
                  flush=True)


# ---------------------------------------------------------------- measure


def _reads(viewer: Any) -> dict[str, Callable[[int], Any]]:
    from django.core.paginator import Paginator

    from kamguard.activities import selectors as activity_selectors
    from kamguard.core.api import keyset_page
    from kamguard.customers import reports
    from kamguard.customers import selectors as customer_selectors

    def page(customer_id: int) -> Any:
        customer = customer_selectors.customer_get(viewer=viewer, customer_id=customer_id)
        return list(Paginator(reports.customer_timeline(viewer=viewer, customer=customer), 20).get_page(1))

    def api(customer_id: int) -> Any:
        customer = customer_selectors.customer_get(viewer=viewer, customer_id=customer_id)
        return keyset_page(reports.customer_timeline(viewer=viewer, customer=customer), cursor=None, limit=50,
                           order=("-occurred_at", "-pk"))

    def section(customer_id: int) -> Any:
        return activity_selectors.customer_activities(viewer=viewer, customer_id=customer_id, limit=10)

    return {"timeline page (20)": page, "timeline API (50)": api, "activities section (10)": section}


def _live_results(supervisor: Any, managers: dict[int, Any], rng: random.Random, queries: int
                  ) -> list[dict[str, Any]]:
    """The supervisor's live view, as the page's polled panels render it (`supervision.views.live_context` and
    the template): the whole department (counts per team) and one team of 10 (its first page of check-in rows
    and its work logs), each on a day drawn from the last year at 15:00 (the data has ~1,400 check-ins a day)."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.utils import timezone

    from kamguard.supervision.views import live_context

    teams = sorted({m.team_id for m in managers.values()})
    factory = RequestFactory()
    results = []
    for label, pick in (("department of 200, counts per team", lambda n: None),
                        ("team of 10, rows (first page)", lambda n: teams[n % len(teams)])):
        times: list[float] = []
        cpu: list[float] = []
        shape = ""
        for n in range(10 + queries):
            day = timezone.localdate() - dt.timedelta(days=1 + rng.randrange(365))
            now = timezone.make_aware(dt.datetime.combine(day, dt.time(15, 0)))
            team = pick(n)
            request = factory.get("/supervision/live/", {"team": team} if team else {})
            request.user = supervisor
            started, cpu_started = time.perf_counter(), time.process_time()
            context = live_context(supervisor, team=team, now=now)
            html = render_to_string("supervision/_live_panels.html", context, request=request)
            if n >= 10:
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            live = context["live"]
            shape = (f"{len(live.teams)} teams, {live.checkins_total} check-ins, "
                     f"{len(live.checkins or [])} rows, {len(html) // 1024} KiB")
        cpu_stats = summary_ms(cpu)
        results.append({"customers": "-", "viewer": "supervisor", "read": f"live view: {label}", "shape": shape,
                        "queries": len(times), **summary_ms(times), "cpu_p50_ms": cpu_stats["p50_ms"],
                        "cpu_p95_ms": cpu_stats["p95_ms"],
                        "per_second": round(len(times) / max(sum(times), 1e-9), 1)})
        print(f"  live view, {label}: {shape}", flush=True)
    return results


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Count

    from kamguard.customers.models import Customer, TimelineEntry
    from kamguard.org.models import User

    rng = random.Random(args.seed + 2)
    ids = list(Customer.objects.order_by("pk").values_list("pk", "owner_id"))
    uniform = rng.sample(ids, min(args.queries, len(ids)))
    heavy_ids = [row["customer_id"] for row in TimelineEntry.objects.values("customer_id").annotate(
        n=Count("pk")).order_by("-n")[:20]]
    owners = dict(ids)
    heavy = [(cid, owners[cid]) for cid in heavy_ids]
    largest = TimelineEntry.objects.filter(customer_id=heavy_ids[0]).count() if heavy_ids else 0
    supervisor = User.objects.get(username="director")
    managers = {u.pk: u for u in User.objects.filter(pk__in={o for _c, o in ids})}
    results: list[dict[str, Any]] = []
    for sample_name, sample in (("uniform", uniform), ("heaviest 20", heavy)) if args.only != "live" else ():
        for viewer_name in ("owner", "supervisor"):
            for read_name in _reads(supervisor):
                times: list[float] = []
                cpu: list[float] = []
                for warm, (customer_id, owner_id) in enumerate(sample[:10] + sample):
                    viewer = managers[owner_id] if viewer_name == "owner" else supervisor
                    read = _reads(viewer)[read_name]
                    started, cpu_started = time.perf_counter(), time.process_time()
                    read(customer_id)
                    if warm >= min(10, len(sample)):
                        times.append(time.perf_counter() - started)
                        cpu.append(time.process_time() - cpu_started)
                stats = summary_ms(times)
                cpu_stats = summary_ms(cpu)
                results.append({"customers": sample_name, "viewer": viewer_name, "read": read_name,
                                "queries": len(times), **stats, "cpu_p50_ms": cpu_stats["p50_ms"],
                                "cpu_p95_ms": cpu_stats["p95_ms"],
                                "per_second": round(len(times) / max(sum(times), 1e-9), 1)})
    if args.only in ("all", "live"):
        results.extend(_live_results(supervisor, managers, rng, args.queries))
    return {"results": results, "largest_timeline": largest}


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--size", type=int, default=5_000_000, help="activities (and as many timeline entries)")
    parser.add_argument("--customers", type=int, default=0, help="default: size / 100")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep the database and use it next time")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--only", choices=("all", "timeline", "live"), default="all",
                        help="measure only the timeline reads or only the live view")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    database = BenchDatabase(args.database,
                             reuse_name=f"kg_bench_timeline_{args.size}_{args.seed}" if args.reuse else None)
    built = args.reuse and database.exists()
    if not built:
        database.create()
    try:
        setup_django(database.url)
        from django.utils import translation

        translation.activate("en")
        print(f"{database_version()}; {args.size:,} activities; {load_text()}", flush=True)
        timings = {"reused": True} if built else build(args)
        if not built:
            print(f"built in {sum(v for v in timings.values() if isinstance(v, float)):,.0f} s: {timings}", flush=True)
        return report(args, database, timings)
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            database.drop()


def report(args: argparse.Namespace, database: BenchDatabase, timings: dict[str, Any]) -> int:
    from kamguard.activities.models import Activity
    from kamguard.customers.models import Customer, TimelineEntry

    counts = {"activities": Activity.objects.count(), "timeline_entries": TimelineEntry.objects.count(),
              "customers": Customer.objects.count()}
    measured = measure(args)
    rows = [[r["customers"], r["viewer"], r["read"], r["queries"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
             r["max_ms"], r["cpu_p50_ms"], r["cpu_p95_ms"], r["per_second"]] for r in measured["results"]]
    print_table(f"Customer timeline — {database_version()}, {counts['activities']:,} activities, "
                f"{counts['timeline_entries']:,} timeline entries, {counts['customers']:,} customers "
                f"(largest timeline {measured['largest_timeline']:,}); {load_text()}",
                ["customers", "viewer", "read", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU p50", "CPU p95",
                 "reads/s"], rows)
    pages = [r["p95_ms"] for r in measured["results"]
             if r["read"].startswith("timeline page") or r["read"].startswith("live view")]
    worst = max(pages, default=0.0)
    met = worst <= TARGET_P95_MS
    size = database.size_mib()
    print(f"\nworst timeline page or live view p95 {worst:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms): "
          f"{'met' if met else 'MISSED'}; database {size or 0:,.0f} MiB; peak RSS {peak_rss_mib():,.0f} MiB")
    write_json(args.json, {"benchmark": "activity_timeline", "database": database_version(), "size": args.size,
                           "seed": args.seed, **counts, "largest_timeline": measured["largest_timeline"],
                           "build": timings, "database_mib": size, "results": measured["results"],
                           "target_p95_ms": TARGET_P95_MS, "worst_timeline_page_p95_ms": worst, "met": met,
                           "machine": machine_info(), "peak_rss_mib": round(peak_rss_mib(), 1)})
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
