"""Claim race: many people claim the same shared-pool customer at the same instant; exactly one may win.

    uv run python benchmarks/claim_race.py --database sqlite   [--trials 200] [--threads 50] [--json out.json]
    uv run python benchmarks/claim_race.py --database postgres

For each trial a fresh customer is put into the shared pool (through ``customer_create``); then
``--threads`` threads, each signed in as a different pool member, call
``customers.services.ownership.customer_claim`` at the same instant (a ``threading.Barrier``), each on its
own database connection. A trial passes when:

* exactly one claim returned the customer, and the customer's owner is that person;
* every other claim raised ``Conflict`` whose message names the winner;
* the ownership ledger has exactly one ``claim`` row for the customer.

Reports trials per second and p50/p95 of a trial (from the barrier to the last thread's answer), and
exits 1 if any trial failed. The database is the benchmark's own (a SQLite file under
$TMPDIR/kamguard-bench, or a PostgreSQL database ``kg_bench_<pid>``), migrated first and dropped at the
end. SQLite runs as configured for production (WAL, ``transaction_mode = IMMEDIATE``, busy timeout).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
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


class Race:
    """`threads` workers waiting at a barrier; the coordinator releases them once per trial."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        self.start = threading.Barrier(len(members) + 1)
        self.done = threading.Barrier(len(members) + 1)
        self.customer_id: int | None = None
        self.outcomes: list[tuple[str, Any]] = [("", None)] * len(members)
        self.stopping = False
        self.workers = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(len(members))]
        for worker in self.workers:
            worker.start()

    def _work(self, index: int) -> None:
        from django.db import connection

        from kamguard.core.errors import Conflict
        from kamguard.customers.services.ownership import customer_claim

        actor = self.members[index]
        try:
            while True:
                self.start.wait()
                if self.stopping:
                    return
                assert self.customer_id is not None
                try:
                    customer = customer_claim(actor=actor, customer_id=self.customer_id)
                    self.outcomes[index] = ("won", customer.owner_id)
                except Conflict as exc:
                    self.outcomes[index] = ("conflict", str(exc.message))
                except Exception as exc:  # noqa: BLE001 - any other failure is reported, not raised
                    self.outcomes[index] = ("error", f"{type(exc).__name__}: {exc}")
                self.done.wait()
        finally:
            connection.close()

    def trial(self, customer_id: int) -> tuple[float, list[tuple[str, Any]]]:
        self.customer_id = customer_id
        self.outcomes = [("", None)] * len(self.members)
        self.start.wait()
        started = time.perf_counter()
        self.done.wait()
        return time.perf_counter() - started, list(self.outcomes)

    def stop(self) -> None:
        self.stopping = True
        self.start.wait()
        for worker in self.workers:
            worker.join(timeout=30)


def world(threads: int) -> tuple[Any, list[Any]]:
    from kamguard.customers.services.pools import pool_member_set, pool_save
    from kamguard.org.models import Department, Team, User
    from kamguard.org.services import user_create

    department = Department.objects.create(name="竞速销售部", path="/", depth=0)
    department.path = f"/{department.pk}/"
    department.save()
    team = Team.objects.create(name="竞速组", department=department)
    pool = pool_save(actor=None, name="竞速公海", cooldown_days=0, protection_days=15)
    members = []
    for number in range(threads):
        # No password: nobody signs in, and 50 password hashes would only slow the set-up.
        user = user_create(actor=None, username=f"racer{number:02d}", full_name=f"竞速经理{number:02d}",
                           roles=["manager"], email=f"racer{number:02d}@example.com", department=department,
                           team=team)
        pool_member_set(actor=None, pool_id=pool.pk, user=user, is_member=True)
        members.append(User.objects.get(pk=user.pk))
    return pool, members


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    args = parser.parse_args()
    if args.trials < 1 or args.threads < 2:
        parser.error("--trials ≥ 1 and --threads ≥ 2")
    def body(database: BenchDatabase) -> int:
        migrate()
        return race(args, database)

    return on_fresh_database(args.database, body)


def race(args: argparse.Namespace, database: BenchDatabase) -> int:
    from kamguard.customers.models import Customer, OwnershipChange, OwnershipKind
    from kamguard.customers.services.records import customer_create

    pool, members = world(args.threads)
    names = {member.pk: member.full_name for member in members}
    version = database_version()
    print(f"{version}: {args.trials} trials × {args.threads} threads; {load_text()}", flush=True)
    racing = Race(members)
    seconds: list[float] = []
    failures: list[str] = []
    winners: Counter[int] = Counter()
    outcome_kinds: Counter[str] = Counter()
    watch = Stopwatch()
    try:
        for trial in range(args.trials):
            customer = customer_create(actor=None, name=f"竞速客户{trial:04d}有限公司", to_pool=True, pool=pool,
                                       skip_dedupe=True)
            took, outcomes = racing.trial(customer.pk)
            seconds.append(took)
            won = [o for o in outcomes if o[0] == "won"]
            lost = [o for o in outcomes if o[0] != "won"]
            outcome_kinds.update(o[0] for o in outcomes)
            owner_id = Customer.objects.filter(pk=customer.pk).values_list("owner_id", flat=True).first()
            claims = OwnershipChange.objects.filter(customer_id=customer.pk, kind=OwnershipKind.CLAIM).count()
            problems = []
            if len(won) != 1:
                problems.append(f"{len(won)} winners")
            elif won[0][1] != owner_id:
                problems.append("the winner is not the owner")
            if claims != 1:
                problems.append(f"{claims} claim rows in the ledger")
            winner_name = names.get(owner_id or 0, "?")
            for kind, detail in lost:
                if kind != "conflict":
                    problems.append(f"a loser got {kind}: {detail}")
                elif winner_name not in detail:
                    problems.append(f"a conflict does not name the winner: {detail}")
            if owner_id:
                winners[owner_id] += 1
            if problems:
                failures.append(f"trial {trial}: " + "; ".join(sorted(set(problems))))
            if (trial + 1) % 50 == 0:
                print(f"  {trial + 1} trials in {watch.seconds():.0f} s ({load_text()})", flush=True)
    finally:
        racing.stop()
    elapsed = watch.seconds()
    summary = summary_ms(seconds)
    machine = machine_info()
    print_table(f"Claim race ({machine['cpus']} cores; {load_text()})",
                ["database", "trials", "threads", "failed trials", "trials/s", "p50 ms", "p95 ms", "p99 ms",
                 "distinct winners", "peak RSS MiB"],
                [[version, args.trials, args.threads, len(failures), round(args.trials / elapsed, 2),
                  summary["p50_ms"], summary["p95_ms"], summary["p99_ms"], len(winners), round(peak_rss_mib())]])
    for failure in failures[:20]:
        print("FAILED", failure)
    print("exactly one winner in every trial" if not failures else f"{len(failures)} trials FAILED")
    write_json(args.json, {
        "benchmark": "claim_race", "machine": machine, "database": version, "trials": args.trials,
        "threads": args.threads, "failed_trials": len(failures), "failures": failures[:100],
        "trials_per_s": round(args.trials / elapsed, 2), "trial": summary, "outcomes": dict(outcome_kinds),
        "distinct_winners": len(winners), "peak_rss_mib": round(peak_rss_mib(), 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
