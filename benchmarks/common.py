"""Shared helpers for the performance benchmarks: Django set-up per database, benchmark databases,
machine information, percentiles, tables and JSON results.

A benchmark process works on one database, chosen before Django starts (`setup_django`), so each
database is measured in its own process (benchmarks/run starts one per database).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

PG_SERVER = os.environ.get("KAMGUARD_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DATASETS = Path(os.environ.get("KAMGUARD_DATASETS", "/work/shared/datasets"))
CACHE_DIR = Path(os.environ.get("KAMGUARD_BENCH_DIR", Path(tempfile.gettempdir()) / "kamguard-bench"))


# ---------------------------------------------------------------- databases


def _psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(["psql", f"{PG_SERVER}/{database}", "-v", "ON_ERROR_STOP=1", "-Atqc", sql],  # noqa: S603,S607
                          check=True, capture_output=True, text=True).stdout.strip()


class BenchDatabase:
    """A database of the benchmark's own: a SQLite file under CACHE_DIR, or a PostgreSQL database on
    PG_SERVER. `reuse_name` keeps it between runs (it is neither dropped nor rebuilt if it exists);
    otherwise it is named after the process and dropped by `drop()`."""

    def __init__(self, kind: str, *, reuse_name: str | None = None) -> None:
        if kind not in ("sqlite", "postgres"):
            raise SystemExit(f"unknown database {kind!r}: sqlite or postgres")
        self.kind = kind
        self.reuse = reuse_name is not None
        name = reuse_name or f"kg_bench_{os.getpid()}"
        self.name = name
        if kind == "sqlite":
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            self.path = CACHE_DIR / f"{name}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            self.path = None
            self.url = f"{PG_SERVER}/{name}"

    def exists(self) -> bool:
        if self.kind == "sqlite":
            assert self.path is not None
            return self.path.exists()
        return _psql(f"select 1 from pg_database where datname = '{self.name}'") == "1"

    def create(self) -> None:
        """A fresh, empty database (an existing one of the same name is dropped first)."""
        self.drop()
        if self.kind == "postgres":
            _psql(f'create database "{self.name}" encoding \'UTF8\' template template0')

    def drop(self) -> None:
        if self.kind == "sqlite":
            assert self.path is not None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            _psql(f'drop database if exists "{self.name}" with (force)')

    def size_mib(self) -> float | None:
        if self.kind == "sqlite":
            assert self.path is not None
            return sum(Path(f"{self.path}{s}").stat().st_size for s in ("", "-wal")
                       if Path(f"{self.path}{s}").exists()) / 2**20
        try:
            return int(_psql(f"select pg_database_size('{self.name}')")) / 2**20
        except (subprocess.CalledProcessError, ValueError):
            return None


def setup_django(database_url: str) -> None:
    """Configure Django for one database (kamguard.settings.base, like `kamguard`) and start it."""
    os.environ["KAMGUARD_DATABASE_URL"] = database_url
    os.environ.setdefault("KAMGUARD_SECRET_KEY", "benchmark-secret-key-not-for-production-0123456789")
    os.environ.setdefault("KAMGUARD_DATA_DIR", str(CACHE_DIR / "data"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kamguard.settings.base"
    Path(os.environ["KAMGUARD_DATA_DIR"], "static").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


def on_fresh_database(engine: str, body: Callable[[BenchDatabase], int], *, keep: bool = False) -> int:
    """Create a benchmark database (`sqlite` or `postgres`), point Django at it, run `body` and drop the
    database afterwards, whatever happened (unless `keep`). Returns what `body` returns."""
    database = BenchDatabase(engine)
    database.create()
    try:
        setup_django(database.url)
        return body(database)
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            database.drop()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


# ---------------------------------------------------------------- machine and measurements


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{total_kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu": model, "memory": memory,
            "python": platform.python_version(), "system": platform.platform(terse=True),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f} on {os.cpu_count()} cores"


def peak_rss_mib() -> float:
    """The process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(seconds, 0.50) * 1000, 2), "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 2), "max_ms": round(max(seconds) * 1000, 2),
            "mean_ms": round(statistics.fmean(seconds) * 1000, 2)}


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {target}")
