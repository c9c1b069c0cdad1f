"""Speed of the duplicate check (查重) against a large customer table, on SQLite or PostgreSQL.

    uv run python benchmarks/dedupe_speed.py --database sqlite   [--size 1000000] [--queries 1000]
    uv run python benchmarks/dedupe_speed.py --database postgres [--reuse] [--json out.json]

Target (the issue): the full call — ``customers.services.dedupe.customer_dedupe_check(...)`` exactly as
registration calls it (key lookups, loading candidate rows, scoring, verdict) — p50 ≤ 10 ms and
p95 ≤ 50 ms against 1,000,000 customers on the 2-core machine, on both databases; with the memory used.

How the database is built (fast, and NOT through ``customer_create``: registering a million customers
one by one with audit rows and timelines would take hours and is not what is measured):

1. Names are generated from the A-share company list and the brand ground truth in
   ``/work/shared/datasets`` — region prefixes (official city and province names, full or short),
   brand words (real brands, A-share short names, and synthetic brands made of real brand characters),
   industry words and legal-form suffixes. 90 % of the real A-share companies are inserted under
   their full names with their English names; the other 10 % are held out as negatives. 40 % of the
   synthetic companies have a (valid, unique) USCC.
2. The blocking keys are computed with ``customers.domain.dedupe.blocking_keys`` (the function
   ``customer_keys_refresh`` uses), once, into a cache file under the benchmark directory, shared by
   both databases (``--workers`` processes; a few minutes for a million).
3. ``migrate``; ``Customer`` rows are written with ``bulk_create`` in batches; ``DedupeKey`` rows with
   the database's bulk path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) with the key table's
   indexes dropped during the load and re-created after it; then ``ANALYZE`` (PostgreSQL: ``VACUUM
   ANALYZE``, which also sets the visibility map as autovacuum would, for index-only scans).

The database is the benchmark's own (a SQLite file under $TMPDIR/kamguard-bench, or a PostgreSQL
database ``kg_bench_<pid>``), dropped at the end unless ``--reuse``, which keeps it (named after the
size and the key functions' source, so a change in the engine builds a new one) for the next run.
The build runs in a child process, so the peak RSS reported is that of the query process.

Queries are a seeded mix: existing names, existing names with their USCC, variants (short names,
region-prefixed, suffix changed, one-character typos) and new names (held-out A-share companies and
freshly generated names). Besides the call as it is (``current``), the benchmark measures variants of
``DatabaseCandidates`` (``--variants``) and reports how often they agree with the first one listed:

* ``current_t<N>`` — the service with a stop-key limit of N customers per key instead of its
  ``STOP_KEY_LIMIT`` (the engine's PER_KEY_LIMIT, 2,000; e.g. ``current_t500``);
* ``current_c<N>`` — the service scoring the N heaviest candidates instead of 20;
* ``before`` / ``before_t<N>`` — the lookup as it was until the one-query lookup: the query's stop keys
  looked up first (a primary-key query), then ``SUM(CASE key WHEN … THEN weight …)`` over ``key IN (…)``,
  grouped, ranked and limited in the database; stop-key limit PER_KEY_LIMIT (2,000) unless ``_t<N>``.

The stop-key table (``DedupeStopKey``, keys with their customer counts) is rebuilt at the start with
the lowest limit any variant needs, so every variant skips exactly the keys above its own limit.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    CACHE_DIR,
    DATASETS,
    ROOT,
    BenchDatabase,
    Stopwatch,
    current_rss_mib,
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

COMPANIES = DATASETS / "a_share_companies.csv"
BRANDS = DATASETS / "company_name_brand_groundtruth.txt"
DOMAIN = ROOT / "src" / "kamguard" / "customers" / "domain"
STOCK_MARKERS = re.compile(r"^(?:\*?S?\*?ST|XD|XR|DR|N|C)(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])-?(?:[AB]|U|W|UW|WD)$")
SUFFIXES = (("有限公司", 55), ("股份有限公司", 14), ("有限责任公司", 10), ("集团有限公司", 5), ("商行", 3),
            ("经营部", 2), ("科技有限公司", 8), ("", 3))
COMMON_INDUSTRIES = ("科技", "电子", "机械", "贸易", "实业", "投资", "物流", "医药", "化工", "建设", "工程", "信息技术",
                     "网络科技", "新能源", "食品", "服装", "文化传媒", "环保科技", "电气", "新材料", "生物科技", "农业",
                     "房地产开发", "建材", "汽车配件", "教育咨询", "企业管理咨询", "商贸", "餐饮管理", "供应链管理",
                     "电子商务", "机电设备", "装饰工程", "广告", "软件", "智能科技", "包装", "印刷", "家具", "进出口")
BATCH = 5000


# ---------------------------------------------------------------- the data


@dataclass
class Company:
    name: str
    short: str
    area: str
    english: str


def _a_share() -> list[Company]:
    with COMPANIES.open(encoding="utf-8") as handle:
        return [Company(row["fullname"].strip(), STOCK_MARKERS.sub("", row["name"].strip()), row["area"].strip(),
                        row["enname"].strip()) for row in csv.DictReader(handle) if row["fullname"].strip()]


def _brands() -> list[str]:
    brands = []
    for line in BRANDS.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2:
            brands.append(parts[1])
    return brands


class NameMaker:
    """Realistic company names: [region] brand industry suffix."""

    def __init__(self, rng: random.Random, companies: list[Company]) -> None:
        from kamguard.customers.domain.normalise import INDUSTRY_WORDS
        from kamguard.customers.domain.regions import regions_by_name

        self.rng = rng
        regions = {r.code: r for r in regions_by_name().values()}.values()
        self.cities = sorted({r.name for r in regions if r.level == "city"} | {r.short for r in regions
                                                                               if r.level == "city"})
        self.provinces = sorted({r.short for r in regions if r.level == "province"})
        self.real_brands = sorted(set(_brands()) | {c.short for c in companies if 2 <= len(c.short) <= 4})
        self.characters = sorted({ch for brand in self.real_brands for ch in brand if "\u4e00" <= ch <= "\u9fff"})
        self.industries = list(COMMON_INDUSTRIES) * 3 + sorted(w for w in INDUSTRY_WORDS if len(w) >= 2)
        self.suffixes = [s for s, _ in SUFFIXES]
        self.suffix_weights = [w for _, w in SUFFIXES]

    def brand(self) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return self.rng.choice(self.real_brands)
        return "".join(self.rng.choice(self.characters) for _ in range(2 if roll < 0.8 else 3))

    def region(self) -> str:
        roll = self.rng.random()
        if roll < 0.65:
            return self.rng.choice(self.cities)
        if roll < 0.8:
            return self.rng.choice(self.provinces)
        return ""

    def name(self, brand: str | None = None, region: str | None = None) -> tuple[str, str, str]:
        """(full name, brand + industry (a short name), region)."""
        brand = brand or self.brand()
        region = self.region() if region is None else region
        industry = self.rng.choice(self.industries)
        suffix = self.rng.choices(self.suffixes, self.suffix_weights)[0]
        return f"{region}{brand}{industry}{suffix}", f"{brand}{industry}", region


def engine_digest() -> str:
    """Changes when the key functions change: a built database or key cache is for one engine version."""
    digest = hashlib.sha256()
    for name in ("dedupe.py", "normalise.py", "keys.py", "regions.py"):
        digest.update((DOMAIN / name).read_bytes())
    return digest.hexdigest()[:8]


def _uscc(pk: int) -> str:
    from stdnum.cn import uscc

    body = "91110000" + f"{pk:09d}"
    return body + uscc.calc_check_digit(body)


@dataclass
class Plan:
    """The customers to insert (generated lazily from the seed) and the queries to run."""

    size: int
    seed: int

    def customers(self) -> Iterator[tuple[int, str, str, str | None]]:
        """(pk, name, english name, uscc) for every customer, in pk order; deterministic."""
        companies = _a_share()
        rng = random.Random(self.seed)
        rng.shuffle(companies)
        held_out = len(companies) // 10
        pk = 0
        for company in companies[held_out:][: self.size]:
            pk += 1
            yield pk, company.name, company.english, None
        maker = NameMaker(random.Random(self.seed + 1), companies)
        while pk < self.size:
            pk += 1
            name, _short, _region = maker.name()
            yield pk, name, "", _uscc(pk) if maker.rng.random() < 0.4 else None

    def queries(self, count: int) -> list[tuple[str, str, str | None]]:
        """(kind, name, uscc) — a seeded mix of existing names, variants and new names."""
        companies = _a_share()
        rng = random.Random(self.seed)
        rng.shuffle(companies)
        held_out_count = len(companies) // 10
        held_out, inserted = companies[:held_out_count], companies[held_out_count:][: self.size]
        # The synthetic customers, regenerated with their brands (same seed, same order).
        maker = NameMaker(random.Random(self.seed + 1), companies)
        sample_rng = random.Random(self.seed + 2)
        synthetic: list[tuple[int, str, str, str, str | None]] = []
        pk = len(inserted)
        wanted = set(sample_rng.sample(range(pk + 1, self.size + 1), min(count, max(0, self.size - pk))))
        while pk < self.size:
            pk += 1
            name, short, region = maker.name()
            uscc = _uscc(pk) if maker.rng.random() < 0.4 else None
            if pk in wanted:
                synthetic.append((pk, name, short, region, uscc))
        rng = random.Random(self.seed + 3)
        fresh = NameMaker(random.Random(self.seed + 4), companies)
        mix = (("existing", 20), ("existing_uscc", 10), ("short_name", 15), ("region_prefixed", 10),
               ("suffix_changed", 10), ("typo", 10), ("new", 25))
        kinds = [kind for kind, weight in mix for _ in range(weight)]
        rng.shuffle(kinds)  # every hundred checks hold the mix, in no particular order
        chars = maker.characters
        result: list[tuple[str, str, str | None]] = []
        for number in range(count):
            kind = kinds[number % len(kinds)]
            real = rng.random() < 0.5 or not synthetic
            if real:
                company = rng.choice(inserted)
                name, short, area, uscc = company.name, company.short, company.area, None
            else:
                _pk, name, short, area, uscc = rng.choice(synthetic)
            if kind == "existing":
                result.append((kind, name, None))
            elif kind == "existing_uscc":
                if uscc is None:
                    _pk, name, short, area, uscc = rng.choice([s for s in synthetic if s[4]] or synthetic)
                result.append((kind, name, uscc))
            elif kind == "short_name":
                result.append((kind, short, None))
            elif kind == "region_prefixed":
                region = area or rng.choice(maker.cities)
                result.append((kind, f"{region}{short}", None))
            elif kind == "suffix_changed":
                base = name
                for suffix in ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "商行", "经营部"):
                    if base.endswith(suffix):
                        base = base[: -len(suffix)]
                        break
                result.append((kind, base + rng.choice(("有限公司", "股份有限公司", "集团有限公司", "有限责任公司")), None))
            elif kind == "typo":
                positions = [i for i, ch in enumerate(name) if "\u4e00" <= ch <= "\u9fff"][2:-4] or [0]
                at = rng.choice(positions)
                result.append((kind, name[:at] + rng.choice(chars) + name[at + 1:], None))
            else:
                if rng.random() < 0.5:
                    result.append((kind, rng.choice(held_out).name, None))
                else:
                    result.append((kind, fresh.name()[0], None))
        return result


# ---------------------------------------------------------------- keys (computed once, cached on disk)


def _keys_of(chunk: list[tuple[int, str, str, str | None]]) -> list[str]:
    from kamguard.customers.domain.dedupe import CustomerRecord, blocking_keys, customer_profile

    lines = []
    for pk, name, english, uscc in chunk:
        record = CustomerRecord(external_id=str(pk), name=name, english_names=(english,) if english else (), uscc=uscc)
        for key in blocking_keys(customer_profile(record)):
            lines.append(f"{pk}\t{key.key[:160]}\t{key.weight}\n")
    return lines


def _chunks(plan: Plan) -> Iterator[list[tuple[int, str, str, str | None]]]:
    chunk: list[tuple[int, str, str, str | None]] = []
    for row in plan.customers():
        chunk.append(row)
        if len(chunk) == BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def key_cache(plan: Plan, workers: int, forced: str | None = None) -> Path:
    """customer_id<TAB>key<TAB>weight for every customer, computed with the engine's blocking_keys.

    `forced` names a cache file to use whatever engine version made it (its digest is in its name)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if forced:
        return Path(forced)
    path = CACHE_DIR / f"dedupe-keys-{plan.size}-{plan.seed}-{engine_digest()}.tsv"
    if path.exists():
        return path
    larger = sorted((int(p.name.split("-")[2]), p) for p in CACHE_DIR.glob(f"dedupe-keys-*-{plan.seed}-{engine_digest()}.tsv")
                    if int(p.name.split("-")[2]) > plan.size)
    if larger:
        # The first customers of a larger plan are this plan's customers: take its prefix.
        with larger[0][1].open(encoding="utf-8") as source, path.with_suffix(".partial").open("w") as out:
            for line in source:
                if int(line.split("\t", 1)[0]) > plan.size:
                    break
                out.write(line)
        path.with_suffix(".partial").rename(path)
        return path
    watch = Stopwatch()
    partial = path.with_suffix(".partial")
    done = 0
    with partial.open("w", encoding="utf-8") as out:
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for lines in pool.imap(_keys_of, _chunks(plan), chunksize=1):
                    out.writelines(lines)
                    done += BATCH
                    _progress("keys", done, plan.size, watch)
        else:
            for chunk in _chunks(plan):
                out.writelines(_keys_of(chunk))
                done += BATCH
                _progress("keys", done, plan.size, watch)
    partial.rename(path)
    print(f"keys computed in {watch.seconds():.0f} s → {path}", flush=True)
    return path


def _progress(what: str, done: int, total: int, watch: Stopwatch) -> None:
    if done % (BATCH * 20) == 0 or done >= total:
        print(f"  {what}: {min(done, total):,}/{total:,} in {watch.seconds():.0f} s ({load_text()})", flush=True)


# ---------------------------------------------------------------- build (in a child process)


def _key_groups(keys: Path) -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """(customer id, [(key, weight)]) from the key cache, in customer id order."""
    current, group = 0, []
    with keys.open(encoding="utf-8") as handle:
        for line in handle:
            pk_text, key, weight = line.rstrip("\n").split("\t")
            pk = int(pk_text)
            if pk != current and group:
                yield current, group
                group = []
            current = pk
            group.append((key, int(weight)))
    if group:
        yield current, group


def build(plan: Plan, keys: Path) -> dict[str, Any]:
    """Customers with bulk_create, keys with the database's bulk path, the key table's indexes built after."""
    import datetime as dt

    from django.db import connection

    from kamguard.customers.models import Customer, DedupeKey

    watch = Stopwatch()
    migrate()
    print(f"migrated in {watch.seconds():.0f} s", flush=True)
    watch = Stopwatch()
    index = next(i for i in DedupeKey._meta.indexes if i.name == "dedupe_key_lookup_idx")
    unique = next(c for c in DedupeKey._meta.constraints if c.name == "dedupe_key_unique")
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:
            # The SQLite schema editor rebuilds the table to drop a constraint; the unique index stays.
            cursor.execute("DROP INDEX dedupe_key_lookup_idx")
            cursor.execute("PRAGMA synchronous=OFF")
        else:
            cursor.execute("ALTER TABLE customers_dedupekey DROP CONSTRAINT dedupe_key_unique")
            cursor.execute("DROP INDEX dedupe_key_lookup_idx")
    today = dt.date(2026, 1, 1)
    raw = connection.connection
    groups = _key_groups(keys)
    done = rows = 0
    for chunk in _chunks(plan):
        key_rows: list[tuple[int, str, int]] = []
        normalised: dict[int, str] = {}
        last = chunk[-1][0]
        for pk, group in groups:
            for key, weight in group:
                key_rows.append((pk, key, weight))
                if key.startswith("n:") and pk not in normalised:
                    normalised[pk] = key[2:]
            if pk >= last:
                break
        Customer.objects.bulk_create([
            Customer(pk=pk, name=name, english_name=english, uscc=uscc, created_on=today, tier="C",
                     normalised_name=normalised.get(pk, "")[:200])
            for pk, name, english, uscc in chunk], batch_size=1000)
        if sqlite:
            raw.execute("BEGIN")
            raw.executemany("INSERT INTO customers_dedupekey (customer_id, key, weight) VALUES (?, ?, ?)", key_rows)
            raw.execute("COMMIT")
        else:
            with raw.cursor() as cursor, cursor.copy(
                    "COPY customers_dedupekey (customer_id, key, weight) FROM STDIN") as copy:
                for row in key_rows:
                    copy.write_row(row)
        rows += len(key_rows)
        done += len(chunk)
        _progress("customers and keys", done, plan.size, watch)
    print(f"{done:,} customers and {rows:,} keys loaded in {watch.seconds():.0f} s", flush=True)
    index_watch = Stopwatch()
    with connection.schema_editor() as editor:
        editor.add_index(DedupeKey, index)
        if not sqlite:
            editor.add_constraint(DedupeKey, unique)
    with connection.cursor() as cursor:
        if not sqlite:
            cursor.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [plan.size])
        # PostgreSQL: VACUUM sets the visibility map, as autovacuum does on a live table after inserts, so the
        # lookups are index-only scans of (key, customer_id) instead of a heap visit per key row.
        cursor.execute("ANALYZE" if sqlite else "VACUUM ANALYZE")
    print(f"indexes built and analysed in {index_watch.seconds():.0f} s", flush=True)
    return {"customers": plan.size, "keys": rows, "seconds": round(watch.seconds(), 1)}


VARIANT = re.compile(r"^(current|before)(?:_t(\d+))?(?:_c(\d+))?$")


def stop_key_limit() -> int:
    """The service's stop-key limit (STOP_KEY_LIMIT; the engine's PER_KEY_LIMIT for a service without one)."""
    from kamguard.customers.domain.dedupe import PER_KEY_LIMIT
    from kamguard.customers.services import dedupe as service

    return int(getattr(service, "STOP_KEY_LIMIT", PER_KEY_LIMIT))


def variant_limits(variant: str) -> tuple[int, int | None]:
    """(stop-key limit, candidate limit or None for the service's) of a variant name."""
    from kamguard.customers.domain.dedupe import PER_KEY_LIMIT

    match = VARIANT.match(variant)
    assert match is not None, variant
    kind, limit, candidates = match.groups()
    default = stop_key_limit() if kind == "current" else PER_KEY_LIMIT
    return (int(limit) if limit else default), (int(candidates) if candidates else None)


def _before_class() -> Any:
    """The lookup as it was before the one-query lookup (commit d4d4b74), reading the stop-key table at its
    own limit: the query's stop keys first, then SUM(CASE …) over the other keys, in the database."""
    from django.db.models import Case, IntegerField, Sum, Value, When

    from kamguard.customers.domain.dedupe import Profile, blocking_keys
    from kamguard.customers.models import DedupeKey, DedupeStopKey
    from kamguard.customers.services.dedupe import DatabaseCandidates

    class BeforeCandidates(DatabaseCandidates):
        def candidate_ids(self, query: Profile) -> list[int]:
            weights: dict[str, int] = {}
            for key in blocking_keys(query):
                value = key.key[:160]
                weights[value] = max(weights.get(value, 0), key.weight)
            if not weights:
                return []
            for stop in DedupeStopKey.objects.filter(key__in=list(weights), customers__gt=self.per_key_limit
                                                     ).values_list("key", flat=True):
                weights.pop(stop, None)
            if not weights:
                return []
            total = Sum(Case(*[When(key=key, then=Value(weight)) for key, weight in weights.items()],
                             default=Value(0), output_field=IntegerField()))
            rows = (DedupeKey.objects.filter(key__in=list(weights)).exclude(customer_id__in=self.exclude_ids)
                    .values("customer_id").annotate(total=total).order_by("-total", "customer_id")
                    [: self.candidate_limit])
            return [row["customer_id"] for row in rows]

    return BeforeCandidates


def candidate_source(variant: str) -> Any:
    """A CandidateSource for one check with a variant (None: the service's own call)."""
    from kamguard.customers.services.dedupe import DatabaseCandidates

    if variant == "current":
        return None
    limit, candidates = variant_limits(variant)
    cls = _before_class() if variant.startswith("before") else DatabaseCandidates
    return cls(per_key_limit=limit, **({"candidate_limit": candidates} if candidates else {}))


def run_queries(queries: list[tuple[str, str, str | None]], variant: str) -> tuple[list[float], list[float], list[Any]]:
    """Wall time and CPU time of this process (not the PostgreSQL server's) per check, and the answers."""
    from kamguard.customers.domain.dedupe import dedupe_check
    from kamguard.customers.services.dedupe import customer_dedupe_check, query_profile

    seconds, cpu, results = [], [], []
    for _kind, name, uscc in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        source = candidate_source(variant)
        if source is None:
            result = customer_dedupe_check(name=name, uscc=uscc)
        else:
            result = dedupe_check(query_profile(name=name, uscc=uscc), source)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
        results.append(result)
    return seconds, cpu, results


def breakdown(queries: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """Where the current call spends its time (wall clock and CPU of this process: on PostgreSQL the
    difference is mostly the server's work), and how many queries, keys and key rows it reads."""
    from kamguard.customers.domain.dedupe import customer_profile, rank_candidates, verdict
    from kamguard.customers.services import dedupe as service
    from kamguard.customers.services.dedupe import DatabaseCandidates, query_profile

    limit = stop_key_limit()
    phases: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    names = ("normalise the query", "candidate_profiles: SQL (lookup, rows, contacts)",
             "candidate_profiles: normalise candidates", "scoring + verdict")
    # The normalising inside candidate_profiles is timed by wrapping the service's customer_profile.
    normalised = [0.0, 0.0]

    def timed_profile(record: Any) -> Any:
        started = (time.perf_counter(), time.thread_time())
        try:
            return customer_profile(record)
        finally:
            normalised[0] += time.perf_counter() - started[0]
            normalised[1] += time.thread_time() - started[1]

    service.customer_profile = timed_profile
    try:
        for _kind, name, uscc in queries:
            marks = [(time.perf_counter(), time.thread_time())]
            profile = query_profile(name=name, uscc=uscc)
            marks.append((time.perf_counter(), time.thread_time()))
            normalised[:] = [0.0, 0.0]
            profiles = DatabaseCandidates().candidate_profiles(profile)
            marks.append((time.perf_counter(), time.thread_time()))
            verdict(rank_candidates(profile, profiles))
            marks.append((time.perf_counter(), time.thread_time()))
            spans = [(marks[1][0] - marks[0][0], marks[1][1] - marks[0][1]),
                     (marks[2][0] - marks[1][0] - normalised[0], marks[2][1] - marks[1][1] - normalised[1]),
                     (normalised[0], normalised[1]), (marks[3][0] - marks[2][0], marks[3][1] - marks[2][1])]
            for phase, (wall, cpu) in zip(names, spans, strict=True):
                phases[f"{phase} (wall)"].append(wall)
                phases[f"{phase} (CPU)"].append(cpu)
            counts["candidates scored"].append(len(profiles))
            _count(profile, limit, counts)
    finally:
        service.customer_profile = customer_profile
    return {"phases_ms": {k: summary_ms(v) for k, v in phases.items()},
            "counts_mean": {k: round(sum(v) / len(v), 1) for k, v in counts.items()},
            "counts_max": {k: max(v) for k, v in counts.items()}, "stop_key_limit": limit}


def _count(profile: Any, limit: int, counts: dict[str, list[int]]) -> None:
    """Keys, stop keys, key rows read and SQL queries of one check."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kamguard.customers.domain.dedupe import blocking_keys
    from kamguard.customers.models import DedupeKey, DedupeStopKey
    from kamguard.customers.services.dedupe import DatabaseCandidates

    keys = {key.key[:160] for key in blocking_keys(profile)}
    stop = set(DedupeStopKey.objects.filter(key__in=keys, customers__gt=limit).values_list("key", flat=True))
    rows = DedupeKey.objects.filter(key__in=keys - stop).count() if keys - stop else 0
    with CaptureQueriesContext(connection) as captured:
        DatabaseCandidates().candidate_profiles(profile)
    counts["keys per query"].append(len(keys))
    counts["stop keys per query"].append(len(stop))
    counts["key rows read (non-stop keys)"].append(rows)
    counts["SQL queries per call"].append(len(captured.captured_queries))


def key_agreement(sample: int = 500) -> float:
    """Share of the keys today's engine computes for stored customers that the key table holds (1.0 unless
    the table was built by an older engine, see --key-cache)."""
    from kamguard.customers.domain.dedupe import blocking_keys, customer_profile
    from kamguard.customers.models import Customer, DedupeKey
    from kamguard.customers.services.dedupe import _records

    count = Customer.objects.count()
    ids = list(range(1, count + 1, max(1, count // sample)))[:sample]
    stored = set(DedupeKey.objects.filter(customer_id__in=ids).values_list("customer_id", "key"))
    wanted = {(int(r.external_id), k.key[:160]) for r in _records(ids) for k in blocking_keys(customer_profile(r))}
    return len(wanted & stored) / len(wanted) if wanted else 1.0


def _top(result: Any) -> str | None:
    return result.candidates[0].external_id if result.candidates else None


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--size", type=int, default=1_000_000, help="customers in the table (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=1000, help="checks measured (default 1000)")
    parser.add_argument("--warmup", type=int, default=50, help="checks run before measuring (default 50)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2, help="processes computing keys (default 2)")
    parser.add_argument("--reuse", action="store_true", help="keep the built database and use it next time")
    parser.add_argument("--variants", default="current,before",
                        help="comma-separated: current (the service as it is), current_t<N> (stop-key limit N), "
                             "current_c<N> (N candidates), before / before_t<N> (the lookup before the one-query "
                             "lookup); agreement is reported against the first")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--keys-only", action="store_true", help="only compute the key cache (shared by both databases)")
    parser.add_argument("--key-cache", metavar="FILE",
                        help="use this key file even if an older engine made it (the results say how many of "
                             "today's keys it holds)")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    plan = Plan(size=args.size, seed=args.seed)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = {v for v in variants if not VARIANT.match(v)}
    if unknown or args.size < 1000 or args.queries < 1:
        parser.error(f"bad --variants {sorted(unknown)}" if unknown else "--size ≥ 1000 and --queries ≥ 1")

    digest = Path(args.key_cache).stem.rsplit("-", 1)[-1] if args.key_cache else engine_digest()
    reuse_name = f"kg_bench_dedupe_{args.size}_{args.seed}_{digest}" if args.reuse else None
    database = BenchDatabase(args.database, reuse_name=args.database_name or reuse_name)
    if args.keys_only:
        print(key_cache(plan, args.workers, args.key_cache))
        return 0
    if args.build_only:
        setup_django(database.url)
        print(build(plan, key_cache(plan, args.workers, args.key_cache)))
        return 0

    build_info: dict[str, Any] = {"reused": True}
    if not (args.reuse and database.exists()):
        keys = key_cache(plan, args.workers, args.key_cache)  # before the database: shared by both databases
        database.create()
        print(f"building {args.size:,} customers in {database.kind} database {database.name} …", flush=True)
        watch = Stopwatch()
        child = subprocess.run([sys.executable, __file__, "--database", args.database, "--size", str(args.size),  # noqa: S603
                                "--seed", str(args.seed), "--workers", str(args.workers), "--build-only",
                                "--database-name", database.name]
                               + (["--key-cache", args.key_cache] if args.key_cache else []), check=False)
        if child.returncode != 0:
            database.drop()
            print("build failed", file=sys.stderr)
            return 1
        build_info = {"reused": False, "seconds": round(watch.seconds(), 1), "key_cache": str(keys)}
    try:
        setup_django(database.url)
        migrate()  # a reused database may predate a migration
        from kamguard.customers.services import dedupe as service

        # The stop-key table with the counts of every key above the lowest limit a variant uses (what the
        # daily job keeps, at the service's limit).
        lowest = min(variant_limits(v)[0] for v in variants)
        watch = Stopwatch()
        print(f"{service.dedupe_stop_keys_update(threshold=lowest)} stop keys (more than {lowest:,} customers) "
              f"recorded in {watch.seconds():.0f} s", flush=True)
        return measure(args, plan, database, variants, build_info)
    finally:
        if not args.reuse:
            from django.db import connections

            connections.close_all()
            database.drop()


def clear_name_caches() -> None:
    """Empty the engine's caches of normalised names and pinyin (each holds up to tens of thousands of names:
    a variant measured after another would otherwise find the same queries' and candidates' names cached)."""
    from kamguard.customers.domain import dedupe, normalise

    for module in (dedupe, normalise):
        for value in vars(module).values():
            bounded = getattr(value, "cache_parameters", lambda: {})().get("maxsize") is not None  # not the loaders
            if bounded and getattr(value, "__module__", "") == module.__name__:
                value.cache_clear()


def server_memory() -> str:
    """PostgreSQL: shared_buffers and the peak RSS of the server process that ran the checks (it counts the
    shared buffers it touched); empty on SQLite, whose page cache is in this process."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_setting('shared_buffers'), current_setting('work_mem')")
        pid, shared_buffers, work_mem = cursor.fetchone()
    peak = ""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = f", its peak RSS {int(line.split()[1]) / 1024:.0f} MiB"
    except OSError:
        pass
    return f"; PostgreSQL shared_buffers {shared_buffers}, work_mem {work_mem}{peak}"


def measure(args: argparse.Namespace, plan: Plan, database: BenchDatabase, variants: list[str],
            build_info: dict[str, Any]) -> int:
    from kamguard.customers.domain.dedupe import PER_KEY_LIMIT
    from kamguard.customers.models import Customer, DedupeKey, DedupeStopKey

    customers = Customer.objects.count()
    key_rows = DedupeKey.objects.count()
    if customers != args.size:
        print(f"the database has {customers:,} customers, not {args.size:,}: rebuild without --reuse",
              file=sys.stderr)
        return 1
    agreement = key_agreement()
    rss_before = current_rss_mib()
    queries = plan.queries(args.queries + args.warmup)
    warmup, measured = queries[: args.warmup], queries[args.warmup:]
    stop_keys = {str(limit): DedupeStopKey.objects.filter(customers__gt=limit).count()
                 for limit in sorted({variant_limits(v)[0] for v in variants})}
    machine = machine_info()
    version = database_version()
    print(f"\n{version}, {customers:,} customers, {key_rows:,} key rows, {database.size_mib() or 0:,.0f} MiB; "
          f"{len(measured)} checks; {load_text()}; {agreement:.1%} of today's keys of 500 customers are stored",
          flush=True)
    results: dict[str, Any] = {}
    answers: dict[str, list[Any]] = {}
    for variant in variants:
        run_queries(warmup, variant)
        clear_name_caches()  # every variant meets the measured names for the first time, as a new entry would
        gc.collect()
        load_start = os.getloadavg()[0]
        watch = Stopwatch()
        seconds, cpu, answers[variant] = run_queries(measured, variant)
        elapsed = watch.seconds()
        by_kind: dict[str, list[float]] = defaultdict(list)
        for (kind, _name, _uscc), took in zip(measured, seconds, strict=True):
            by_kind[kind].append(took)
        results[variant] = {
            **summary_ms(seconds), "checks": len(seconds), "throughput_per_s": round(len(seconds) / elapsed, 1),
            "cpu_p50_ms": summary_ms(cpu)["p50_ms"], "cpu_p95_ms": summary_ms(cpu)["p95_ms"],
            "verdicts": dict(Counter(a.verdict for a in answers[variant])),
            "by_kind_p50_ms": {k: summary_ms(v)["p50_ms"] for k, v in sorted(by_kind.items())},
            "by_kind_p95_ms": {k: summary_ms(v)["p95_ms"] for k, v in sorted(by_kind.items())},
            "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        }
        first = variants[0]
        if variant != first:
            pairs = list(zip(answers[first], answers[variant], strict=True))
            results[variant]["same_verdict_as_first"] = round(sum(a.verdict == b.verdict for a, b in pairs) / len(pairs), 4)
            results[variant]["same_top_candidate_as_first"] = round(sum(_top(a) == _top(b) for a, b in pairs) / len(pairs), 4)
    clear_name_caches()
    detail = breakdown(measured[: min(200, len(measured))]) if "current" in variants else {}
    peak = peak_rss_mib()
    server = server_memory()
    rows = []
    for variant, r in results.items():
        limit, candidates = variant_limits(variant)
        rows.append([version, f"{customers:,}", variant, f"{limit:,}", candidates or 20, r["checks"], r["p50_ms"],
                     r["p95_ms"], r["p99_ms"], r["throughput_per_s"], r["cpu_p50_ms"], r["cpu_p95_ms"],
                     "–" if variant == variants[0] else f"{r['same_verdict_as_first']:.1%} / "
                                                        f"{r['same_top_candidate_as_first']:.1%}",
                     "{:.1f}–{:.1f}".format(*r["load_average"]),
                     "yes" if r["p50_ms"] <= 10 and r["p95_ms"] <= 50 else "no"])
    print_table(f"Duplicate check speed ({machine['cpus']} cores, {machine['cpu']}; {load_text()}; peak RSS of "
                f"this process {peak:.0f} MiB{server})",
                ["database", "customers", "lookup", "stop-key limit", "candidates", "checks", "p50 ms", "p95 ms",
                 "p99 ms", "checks/s", "CPU p50 ms", "CPU p95 ms", f"same verdict / top as {variants[0]}",
                 "load (1 min)", "target met"], rows)
    if detail:
        print_table("Where the current call spends its time (wall clock and CPU of this process; first 200 checks)",
                    ["phase", "p50 ms", "p95 ms", "mean ms"],
                    [[k, v["p50_ms"], v["p95_ms"], v["mean_ms"]] for k, v in detail["phases_ms"].items()])
        print_table(f"Per call (current; stop-key limit {detail['stop_key_limit']:,})", ["measure", "mean", "max"],
                    [[k, v, detail["counts_max"][k]] for k, v in detail["counts_mean"].items()])
    for variant, r in results.items():
        print(f"{variant}: p50 by kind {r['by_kind_p50_ms']}; verdicts {r['verdicts']}")
    write_json(args.json, {
        "benchmark": "dedupe_speed", "machine": machine, "database": version, "customers": customers,
        "key_rows": key_rows, "database_mib": round(database.size_mib() or 0, 1), "build": build_info,
        "stop_keys": stop_keys, "per_key_limit": PER_KEY_LIMIT, "engine": engine_digest(),
        "stored_keys_matching_engine": agreement, "queries": len(measured),
        "peak_rss_mib": round(peak, 1), "rss_before_queries_mib": round(rss_before, 1), "server_memory": server,
        "variants": variants, "results": results,
        "breakdown": detail, "target": {"p50_ms": 10, "p95_ms": 50},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
