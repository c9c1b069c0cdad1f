"""The supervisor's live view (R1) against a large activity table: today's check-ins, work logs submitted and
missing, relay forms waiting and overdue, overdue action items — for one department.

    uv run python benchmarks/live_view.py                          # 5,000,000 activities on SQLite
    uv run python benchmarks/live_view.py --postgres --json out.json
    uv run python benchmarks/live_view.py --size 200000 --repeat 100   # a quick run

Target (issue 6): "With 5,000,000 activities: … the supervisor's live view p95 ≤ 150 ms on PostgreSQL and
SQLite."

1. A fresh database (SQLite file under $KAMGUARD_BENCH_DIR, or a PostgreSQL database with --postgres),
   migrated; DEPARTMENTS departments under a company, each with a supervisor and TEAMS teams of PEOPLE
   managers; CUSTOMERS_PER_PERSON customers per manager.
2. `--size` activities written in bulk (executemany on SQLite, COPY on PostgreSQL; then ANALYZE): visits and
   other contacts spread over the last two years (`--days`), mostly done, with outcomes; today, two or three
   visits per manager, about half already checked in (some far away). Beside them, for the work-record apps
   that provide tables: 60 days of work logs per manager (some late, today's partly missing), relay forms
   (a share still open, some overdue) and meetings with action items (some overdue).
3. Timed, `--repeat` times each, as one department's supervisor (about TEAMS × PEOPLE people), whose view is
   counted per team, and for one of the department's teams (`team=`, its rows):
   - `supervision.selectors.live_view(viewer=…)`: every query of the live view, evaluated;
   - the polled fragment `/supervision/live/` (and `?team=`) through Django's test client (selector plus
     rendering).
   p50/p95/p99 and calls per second; the target is met when every p95 is within 150 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    summary_ms,
    write_json,
)

TARGET_P95_MS = 150.0
DEPARTMENTS = 10
TEAMS = 5
PEOPLE = 10
CUSTOMERS_PER_PERSON = 20
CHUNK = 50_000
OUTCOMES = ("客户认可方案，同意安排技术交流", "价格仍有分歧，保持跟进", "确认本月底前支付货款", "客户同意小批量试用")
NEXT_STEPS = ("下周发送报价", "月底再次拜访", "两周后电话回访", "申请特价审批")


# ---------------------------------------------------------------- the organisation and customers

def prepare() -> dict[str, Any]:
    from kamguard.customers.models import Customer
    from kamguard.org.models import Department, RoleAssignment, Team, User

    company = Department.objects.create(name="总公司", path="/", depth=0)
    company.path = f"/{company.pk}/"
    company.save()
    supervisors: list[User] = []
    managers: list[User] = []
    departments = []
    first_teams: list[Team] = []
    for d in range(DEPARTMENTS):
        department = Department.objects.create(name=f"大区{d + 1}", parent=company, depth=1, path="")
        department.path = f"{company.path}{department.pk}/"
        department.save()
        departments.append(department)
        supervisor = User.objects.create(username=f"s{d:02d}", full_name=f"主管{d + 1}", department=department,
                                         password="!")  # noqa: S106 - unusable: nobody signs in
        supervisors.append(supervisor)
        teams = [Team.objects.create(name=f"{d + 1}-{t + 1}组", department=department) for t in range(TEAMS)]
        first_teams = first_teams or teams
        managers.extend(User.objects.bulk_create([
            User(username=f"m{d:02d}{t}{p}", full_name=f"经理{d + 1}-{t + 1}-{p + 1}", department=department, team=team,
                 supervisor=supervisor, password="!")  # noqa: S106
            for t, team in enumerate(teams) for p in range(PEOPLE)]))
    RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="supervisor") for u in supervisors]
                                       + [RoleAssignment(user=u, role="manager") for u in managers])
    today = dt.date.today()
    customers = Customer.objects.bulk_create([
        Customer(name=f"客户{m.pk}-{n}有限公司", normalised_name=f"客户{m.pk}-{n}", owner=m, tier="ABC"[n % 3],
                 created_on=today - dt.timedelta(days=800))
        for m in managers for n in range(CUSTOMERS_PER_PERSON)], batch_size=5000)
    books: dict[int, list[int]] = {}
    for customer in customers:
        assert customer.owner_id is not None
        books.setdefault(customer.owner_id, []).append(customer.pk)
    return {"supervisors": supervisors, "managers": managers, "books": books, "teams": first_teams}


# ---------------------------------------------------------------- bulk rows

def _columns(model: Any) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _defaults(fields: list[Any], now: dt.datetime) -> dict[str, Any]:
    from django.db.models.fields import NOT_PROVIDED

    values: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values[f.attname] = now
        elif f.default is not NOT_PROVIDED:
            values[f.attname] = f.get_default()
        elif f.null:
            values[f.attname] = None
        else:
            values[f.attname] = ""
    return values


def bulk_write(model: Any, rows: Any, *, total: int | None = None, label: str = "") -> int:
    """Insert dicts (attname → value) fast: COPY on PostgreSQL, executemany on SQLite, in chunks."""
    from django.db import connection, transaction

    fields = _columns(model)
    now = dt.datetime.now(dt.UTC)
    base = _defaults(fields, now)
    table = model._meta.db_table
    columns = [f.column for f in fields]
    names = [f.attname for f in fields]
    written = 0
    chunk: list[tuple[Any, ...]] = []
    started = time.perf_counter()

    def flush() -> None:
        nonlocal written
        if not chunk:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                quoted = ", ".join(f'"{c}"' for c in columns)
                with cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                    for row in chunk:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                quoted = ", ".join(f'"{c}"' for c in columns)
                cursor.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',  # noqa: S608
                                   [tuple(_sqlite(v) for v in row) for row in chunk])
        written += len(chunk)
        chunk.clear()
        if total and label and written % (CHUNK * 10) == 0:
            rate = written / max(time.perf_counter() - started, 1e-9)
            print(f"  {label}: {written:,} / {total:,} ({rate:,.0f} rows/s)", flush=True)

    for values in rows:
        merged = {**base, **values}
        chunk.append(tuple(merged[n] for n in names))
        if len(chunk) >= CHUNK:
            flush()
    flush()
    return written


def _sqlite(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def activity_rows(size: int, days: int, world: dict[str, Any], rng: random.Random) -> Any:
    """History spread over `days`, then today's plan: 2–3 visits per manager, about half checked in."""
    now = dt.datetime.now(dt.UTC)
    managers = world["managers"]
    books = world["books"]
    from django.utils import timezone

    today = timezone.localdate()
    today_start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    today_rows = []
    for manager in managers:
        for n in range(rng.randint(2, 3)):
            customer = rng.choice(books[manager.pk])
            row: dict[str, Any] = {"user_id": manager.pk, "customer_id": customer, "kind": "visit",
                                   "status": "planned", "planned_on": today, "summary": "按月度计划拜访",
                                   "recorded_by_id": manager.pk, "created_at": now, "updated_at": now}
            if n == 0 and rng.random() < 0.6:
                at = min(today_start + dt.timedelta(hours=9, minutes=rng.randint(0, 180)), now)
                far = rng.random() < 0.05
                row.update(status="checked_in", checked_in_at=at, happened_at=at, location_status="ok",
                           checkin_latitude=31.23, checkin_longitude=121.47, distance_m=80_000 if far else 300,
                           far_threshold_m=5000, is_far=far)
            today_rows.append(row)
    history = size - len(today_rows)
    span = days * 86400
    for i in range(history):
        manager = managers[i % len(managers)]
        customer = books[manager.pk][rng.randrange(CUSTOMERS_PER_PERSON)]
        at = today_start - dt.timedelta(seconds=rng.randrange(1, span))
        if rng.random() < 0.35:
            row = {"user_id": manager.pk, "customer_id": customer, "kind": "visit", "status": "done",
                   "planned_on": at.date(), "happened_at": at, "checked_in_at": at,
                   "checked_out_at": at + dt.timedelta(minutes=50), "location_status": "ok",
                   "checkin_latitude": 31.2, "checkin_longitude": 121.4, "distance_m": 250, "far_threshold_m": 5000,
                   "summary": "拜访", "outcome": rng.choice(OUTCOMES), "next_step": rng.choice(NEXT_STEPS),
                   "duration_min": 50, "recorded_by_id": manager.pk, "created_at": at, "updated_at": at}
        else:
            row = {"user_id": manager.pk, "customer_id": customer, "kind": rng.choice(("call", "wechat", "email")),
                   "status": "done", "happened_at": at, "summary": "电话沟通", "outcome": rng.choice(OUTCOMES),
                   "recorded_by_id": manager.pk, "created_at": at, "updated_at": at}
        yield row
    yield from today_rows


def other_records(world: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Work logs, relay forms, meetings with action items, where those apps provide the tables."""
    from django.apps import apps
    from django.utils import timezone

    today = timezone.localdate()
    now = timezone.now()
    managers = world["managers"]
    written: dict[str, Any] = {}
    try:
        WorkLog = apps.get_model("worklogs", "WorkLog")  # noqa: N806
        rows = []
        for manager in managers:
            for back in range(1, 61):
                day = today - dt.timedelta(days=back)
                if day.weekday() >= 5 or rng.random() < 0.05:
                    continue
                late = rng.random() < 0.1
                deadline = timezone.make_aware(dt.datetime.combine(day, dt.time(20, 0)))
                rows.append({"user_id": manager.pk, "day": day, "deadline_at": deadline, "status": "submitted",
                             "submitted_at": deadline + dt.timedelta(hours=2 if late else -1), "is_late": late})
            if rng.random() < 0.5:
                deadline = timezone.make_aware(dt.datetime.combine(today, dt.time(20, 0)))
                rows.append({"user_id": manager.pk, "day": today, "deadline_at": deadline, "status": "submitted",
                             "submitted_at": now, "is_late": False})
        written["work_logs"] = bulk_write(WorkLog, rows)
    except Exception as exc:  # noqa: BLE001 - a table whose shape changed is reported, not fatal
        written["work_logs"] = f"skipped: {exc}"
    try:
        Category = apps.get_model("relay", "RelayCategory")  # noqa: N806
        RelayForm = apps.get_model("relay", "RelayForm")  # noqa: N806
        category = Category.objects.first() or Category.objects.create(
            **{k: v for k, v in {"code": "market", "name": "市场信息"}.items()
               if k in {f.name for f in Category._meta.fields}})
        rows = []
        for n in range(len(managers) * 40):
            provider = managers[n % len(managers)]
            receiver = world["supervisors"][n % len(world["supervisors"])]
            at = now - dt.timedelta(hours=rng.randint(1, 24 * 90))
            status = "fed_back" if rng.random() < 0.9 else rng.choice(("sent", "received"))
            rows.append({"number": f"XX{n:08d}", "year": at.year, "sequence": n + 1, "provider_id": provider.pk,
                         "relayed_at": at, "category_id": category.pk, "content": "竞品降价信息",
                         "receiver_id": receiver.pk, "status": status,
                         "received_at": at + dt.timedelta(hours=1) if status != "sent" else None,
                         "receive_due": at + dt.timedelta(hours=8), "handle_due": at + dt.timedelta(hours=48),
                         "feedback_due": at + dt.timedelta(hours=96)})
        written["relay_forms"] = bulk_write(RelayForm, rows)
    except Exception as exc:  # noqa: BLE001
        written["relay_forms"] = f"skipped: {exc}"
    try:
        Meeting = apps.get_model("meetings", "Meeting")  # noqa: N806
        ActionItem = apps.get_model("meetings", "ActionItem")  # noqa: N806
        meetings = Meeting.objects.bulk_create([
            Meeting(kind="weekly", title=f"周例会 {n}", held_at=now - dt.timedelta(days=7 * n),
                    organizer=world["supervisors"][n % len(world["supervisors"])]) for n in range(200)])
        rows = []
        for n in range(len(managers) * 10):
            meeting = meetings[n % len(meetings)]
            done = rng.random() < 0.8
            rows.append({"meeting_id": meeting.pk, "description": "跟进重点客户回款", "owner_id": managers[n % len(managers)].pk,
                         "due_on": today - dt.timedelta(days=rng.randint(-10, 60)), "status": "done" if done else "open",
                         "done_at": now if done else None})
        written["action_items"] = bulk_write(ActionItem, rows)
    except Exception as exc:  # noqa: BLE001
        written["action_items"] = f"skipped: {exc}"
    return written


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# ---------------------------------------------------------------- measuring

def phase_times(viewer: Any, *, repeat: int) -> dict[str, float]:
    """p50 of each part of the live view on its own: who is in scope, then each app's selector."""
    from django.utils import timezone

    from kamguard.supervision import selectors
    from kamguard.supervision.selectors import provided

    now = timezone.now()
    day = timezone.localdate()
    ids = list(selectors.people_in_scope(viewer=viewer).values_list("pk", flat=True)[:500])
    parts: dict[str, Any] = {
        "people in scope": lambda: list(selectors.people_in_scope(viewer=viewer)[:500]),
        "activities.checkin_counts": lambda: provided("activities", "checkin_counts")(user_ids=ids, day=day),
        "activities.checkins_on (a team, 25)": lambda: list(provided("activities", "checkins_on")(
            user_ids=ids[:PEOPLE], day=day)[:25]),
        "worklogs.logs_status": lambda: provided("worklogs", "logs_status")(user_ids=ids, day=day),
        "relay.waiting_for": lambda: list(provided("relay", "waiting_for")(user_ids=ids)[:50]),
        "relay.overdue": lambda: list(provided("relay", "overdue")(user_ids=ids, now=now).values_list("pk", flat=True)[:50]),
        "meetings.overdue_actions": lambda: list(provided("meetings", "overdue_actions")(user_ids=ids, today=day)[:50]),
    }
    result = {}
    for name, call in parts.items():
        try:
            seconds = []
            for _ in range(repeat):
                mark = time.perf_counter()
                call()
                seconds.append(time.perf_counter() - mark)
            result[name] = summary_ms(seconds)["p50_ms"]
        except TypeError:  # the app does not provide it
            result[name] = float("nan")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=5_000_000, help="activities")
    parser.add_argument("--days", type=int, default=730, help="history spread over this many days")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls of each kind")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    return on_fresh_database("postgres" if args.postgres else "sqlite", lambda database: run(args, database),
                             keep=args.keep)


def _client_for(user: Any) -> Any:
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    session = client.session
    session["kg_totp_verified"] = True
    session.save()
    return client


def run(args: argparse.Namespace, database: BenchDatabase) -> int:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import setup_test_environment

    from kamguard.activities.models import Activity
    from kamguard.supervision.selectors import live_view

    rng = random.Random(args.seed)
    watch = Stopwatch()
    migrate()
    world = prepare()
    print(f"{database_version()}; writing {args.size:,} activities; {load_text()}", flush=True)
    write = Stopwatch()
    bulk_write(Activity, activity_rows(args.size, args.days, world, rng), total=args.size, label="activities")
    write_seconds = write.seconds()
    others = other_records(world, rng)
    analyze()
    build_seconds = watch.seconds()
    activities = Activity.objects.count()
    supervisor = world["supervisors"][0]
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    client = _client_for(supervisor)

    team = world["teams"][0].pk if world.get("teams") else None

    def selector_call(team: int | None = None) -> dict[str, int]:
        view = live_view(viewer=supervisor, team=team)
        return {"people": view.headcount, "checkins": view.checkins_total or 0,
                "missing_logs": view.logs_counts["missing"], "relay_waiting": len(view.relay_waiting or []),
                "overdue_actions": len(view.overdue_actions or [])}

    def page_call(team: int | None = None) -> None:
        url = "/supervision/live/" + (f"?team={team}" if team else "")
        response = client.get(url, HTTP_HX_REQUEST="true")
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    shape = selector_call()
    phases = phase_times(supervisor, repeat=max(5, args.repeat // 10))
    settings.DEBUG = True
    reset_queries()
    selector_call()
    queries = len(connection.queries)
    settings.DEBUG = False
    results: dict[str, dict[str, float]] = {}
    throughput: dict[str, float] = {}
    print(f"timing as {supervisor.full_name} ({shape['people']} people); {load_text()}", flush=True)
    calls: list[tuple[str, Any]] = [("selector", selector_call), ("page", page_call)]
    if team:
        calls += [("team selector", lambda: selector_call(team)), ("team page", lambda: page_call(team))]
    for name, call in calls:
        for _ in range(args.warmup):
            call()
        seconds = []
        started = time.perf_counter()
        for _ in range(args.repeat):
            mark = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - mark)
        throughput[name] = args.repeat / (time.perf_counter() - started)
        results[name] = summary_ms(seconds)
    met = all(r["p95_ms"] <= TARGET_P95_MS for r in results.values())
    payload = {
        "benchmark": "live_view", "database": database_version(), "activities": activities, "days": args.days,
        "departments": DEPARTMENTS, "people": len(world["managers"]) + len(world["supervisors"]),
        "customers": sum(len(b) for b in world["books"].values()), "other_records": others,
        "viewer_people": shape["people"], "shape": shape, "queries_per_view": queries, "repeat": args.repeat,
        "selector": results["selector"], "page": results["page"],
        "team_selector": results.get("team selector"), "team_page": results.get("team page"),
        "phase_p50_ms": phases, "calls_per_second": {k: round(v, 1) for k, v in throughput.items()},
        "target_p95_ms": TARGET_P95_MS, "target_met": met, "write_seconds": round(write_seconds, 1),
        "activities_per_second_written": round(args.size / max(write_seconds, 1e-9)),
        "build_seconds": round(build_seconds, 1), "database_mib": database.size_mib(),
        "peak_rss_mib": round(peak_rss_mib(), 1), "machine": machine_info(),
    }
    print_table(f"Supervisor's live view — {database_version()}, {activities:,} activities", ["measure", "value"], [
        ("people in the supervisor's scope", shape["people"]),
        ("check-ins today / logs missing / relay waiting / overdue actions",
         f"{shape['checkins']} / {shape['missing_logs']} / {shape['relay_waiting']} / {shape['overdue_actions']}"),
        ("SQL queries per view", queries),
        ("selector p50 / p95 / p99 (ms)",
         f"{results['selector']['p50_ms']} / {results['selector']['p95_ms']} / {results['selector']['p99_ms']}"),
        ("page p50 / p95 / p99 (ms)",
         f"{results['page']['p50_ms']} / {results['page']['p95_ms']} / {results['page']['p99_ms']}"),
        *((f"{name} p50 / p95 / p99 (ms), one team of {PEOPLE}",
           f"{results[name]['p50_ms']} / {results[name]['p95_ms']} / {results[name]['p99_ms']}")
          for name in ("team selector", "team page") if name in results),
        *((f"  of which {name} p50 (ms)", value) for name, value in phases.items()),
        ("calls/s selector / page", f"{throughput['selector']:.1f} / {throughput['page']:.1f}"),
        ("target p95 (ms)", TARGET_P95_MS), ("target met", met),
        ("other records", ", ".join(f"{k} {v}" for k, v in others.items())),
        ("activities written per second", payload["activities_per_second_written"]),
        ("build seconds", payload["build_seconds"]),
        ("database size (MiB)", round(database.size_mib() or 0, 1)),
        ("peak RSS (MiB)", payload["peak_rss_mib"]), ("machine", load_text()),
    ])
    write_json(args.json, payload)
    return 0 if met else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
