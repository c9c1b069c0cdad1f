"""Speed of the pure allocation engine (``kamguard.allocation.domain``): decisions per second with a
realistic 500-rule rule set, round-robin balance and replay.

    uv run python benchmarks/allocation_engine.py                      # 200,000 subjects, 500 rules
    uv run python benchmarks/allocation_engine.py --size 20000 --rules 1000 [--json out.json] [--profile]

Target (issue 4): "The pure rule engine: ≥ 50,000 decisions/s with 500 rules"; round-robin imbalance
within a team ≤ 1 customer per period; the same inputs and state give the same decisions.

No database: the engine is pure Python. What is built (seeded, ``--seed``):

1. **Subjects.** The A-share companies in /work/shared/datasets (their area as region — a province-level
   area such as 北京 or 广东 gets one of its districts, a city such as 深圳 one of its districts —
   and their industry), then generated ones up to ``--size``: a district drawn with most weight on the
   coastal provinces, an industry from the same list, size, tier (A 10 %, B 30 %, C 60 %), expected
   value (log-uniform, 10 % unknown), source, channel and a name. Each subject carries its region chain
   (district, city, province), as the app builds it.
2. **The rule set**, written as JSON and read with ``ruleset_parse`` like a saved version: city rules
   (region eq/within a city, some with a tier or size condition) to teams with every strategy;
   province rules with an industry list; industry + expected-value rules to named people; tier A
   key-account rules by value band; size rules that exclude regions; a few rules on source, name or
   channel that no index can narrow (they are tested for every subject); a pool fallback.
3. **People**: 20 teams of 8, capacities per tier (A 60–200, B 300–900, C unlimited or 1,500–3,000),
   current loads, 10 % unavailable (absent, on leave, leaving); three pools.

Measured: the parse and compile of the rule set; ``allocate_many`` over all subjects in batches of
1,000 (throughput, and per-decision p50/p95 from the batch times); then a second run on a fresh copy of
the state timing each ``allocate`` call with perf_counter_ns (per-call p50/p95) — whose decisions must
equal the first run's (replay); outcomes by reason; the rules a subject looks at (the candidates left by
the per-field rule bitmasks) vs. the rule count; round-robin imbalance per team (max − min received through round-robin among the
members available all period; a member at capacity is skipped and loses that turn, so the ≤ 1 target
is checked per period of ``--period`` subjects on the team-periods where round-robin skipped nobody for
capacity); peak RSS; a reference loop (CPU ns per dict lookup) to compare runs under different loads.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import csv
import gc
import hashlib
import io
import math
import pstats
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from common import (
    DATASETS,
    Stopwatch,
    current_rss_mib,
    load_text,
    machine_info,
    peak_rss_mib,
    percentile,
    print_table,
    write_json,
)

from kamguard.allocation.domain.engine import (
    AllocationState,
    Decision,
    Person,
    TeamState,
    allocate,
    allocate_many,
)
from kamguard.allocation.domain.rules import RuleSet, Subject, ruleset_parse
from kamguard.customers.domain.regions import Region, regions_by_name

TARGET_DECISIONS_PER_SECOND = 50_000
COMPANIES = DATASETS / "a_share_companies.csv"
BATCH = 1000
TEAMS = 20
TEAM_SIZE = 8
POOLS = (9001, 9002, 9003)
# Where customers come from: most weight on the coastal provinces, like a real book.
PROVINCE_WEIGHTS = {"44": 14, "32": 11, "33": 10, "31": 9, "11": 8, "37": 7, "35": 5, "51": 5, "42": 4, "43": 3,
                    "12": 3, "41": 3, "34": 3, "50": 2, "61": 2, "21": 2}
SOURCES = ("trade fair", "referral", "website", "cold call", "partner", "exhibition 2026", "")
CHANNELS = ("form", "api", "import", "web", "manual")
SIZES = ("large", "medium", "small", "")
TIERS = (("A", 10), ("B", 30), ("C", 60))
STRATEGY_MIX = ("round_robin", "round_robin", "capacity", "least_loaded", "first_come")


# ---------------------------------------------------------------- regions and subjects


class Geography:
    def __init__(self) -> None:
        regions = {r.code: r for r in regions_by_name().values()}
        self.by_code: dict[str, Region] = regions
        self.districts_of: dict[str, list[str]] = defaultdict(list)  # city or province code -> district codes
        for code, region in sorted(regions.items()):
            if region.level == "district":
                self.districts_of[code[:4] + "00"].append(code)
                self.districts_of[code[:2] + "0000"].append(code)
        self.cities = sorted(c for c, r in regions.items() if r.level == "city" and self.districts_of[c])
        self.provinces = sorted(c for c, r in regions.items() if r.level == "province" and self.districts_of[c])
        self.by_name = regions_by_name()

    def chain(self, code: str) -> tuple[str, ...]:
        codes = [code]
        for parent in (code[:4] + "00", code[:2] + "0000"):
            if parent not in codes and parent in self.by_code:
                codes.append(parent)
        return tuple(codes)

    def district_in(self, rng: random.Random, code: str) -> str:
        districts = self.districts_of.get(code)
        return rng.choice(districts) if districts else code

    def weighted_district(self, rng: random.Random) -> str:
        if rng.random() < 0.8:
            provinces = list(PROVINCE_WEIGHTS)
            province = rng.choices(provinces, weights=[PROVINCE_WEIGHTS[p] for p in provinces])[0] + "0000"
        else:
            province = rng.choice(self.provinces)
        return self.district_in(rng, province)


def _companies() -> list[dict[str, str]]:
    with COMPANIES.open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["fullname"].strip()]


def build_subjects(rng: random.Random, size: int, geo: Geography,
                   companies: list[dict[str, str]]) -> tuple[list[Subject], list[str]]:
    industries = sorted({row["industry"] for row in companies if row["industry"]})
    code_of = {name: f"I{index:03d}" for index, name in enumerate(industries)}
    codes = list(code_of.values())
    tiers, tier_weights = zip(*TIERS, strict=True)
    subjects: list[Subject] = []

    def fields(name: str, industry: str | None) -> dict[str, object]:
        tier = rng.choices(tiers, weights=tier_weights)[0]
        value = None if rng.random() < 0.1 else Decimal(int(10 ** rng.uniform(4, 7.5))).quantize(Decimal("1.00"))
        return {"tier": tier, "size": rng.choice(SIZES), "industry": industry, "source": rng.choice(SOURCES),
                "expected_value": value, "name": name, "channel": rng.choice(CHANNELS)}

    for row in companies:
        if len(subjects) >= size:
            break
        region = geo.by_name.get(row["area"])
        district = geo.district_in(rng, region.code) if region else geo.weighted_district(rng)
        subjects.append(Subject(f"a{row['ts_code']}", fields(row["fullname"], code_of.get(row["industry"])),
                                geo.chain(district)))
    words = ("科技", "贸易", "机械", "电子", "物流", "医药", "化工", "建设", "实业", "银行")
    while len(subjects) < size:
        district = geo.weighted_district(rng)
        name = f"{geo.by_code[district].short or '华'}{rng.choice(words)}{len(subjects)}有限公司"
        subjects.append(Subject(f"g{len(subjects)}", fields(name, rng.choice(codes) if rng.random() < 0.95 else None),
                                geo.chain(district)))
    return subjects, codes


# ---------------------------------------------------------------- people and the rule set


def build_state(rng: random.Random) -> AllocationState:
    people: dict[int, Person] = {}
    teams: dict[int, TeamState] = {}
    for team in range(1, TEAMS + 1):
        members = []
        for seat in range(TEAM_SIZE):
            person_id = team * 100 + seat
            capacity = {"A": rng.randint(60, 200), "B": rng.randint(300, 900),
                        "C": None if rng.random() < 0.5 else rng.randint(1500, 3000)}
            load = {tier: rng.randint(0, int((limit or 1000) * 0.6)) for tier, limit in capacity.items()}
            available = rng.random() >= 0.1
            reason = "" if available else rng.choice(("absent", "on_leave", "leaving"))
            people[person_id] = Person(person_id, team, available, reason, capacity, load)
            members.append(person_id)
        teams[team] = TeamState(team, tuple(members), None, POOLS[team % len(POOLS)])
    return AllocationState(people, teams, set(POOLS))


def build_ruleset(rng: random.Random, count: int, geo: Geography, industries: list[str],
                  state: AllocationState) -> dict[str, Any]:
    """A rule set of ``count`` rules in the JSON form the app stores."""
    hot_provinces = [p + "0000" for p in PROVINCE_WEIGHTS]
    hot_cities = [c for c in geo.cities if c[:2] + "0000" in hot_provinces]
    people = sorted(state.people)
    rules: list[dict[str, Any]] = []

    def team_target() -> dict[str, Any]:
        return {"kind": "team", "id": rng.randint(1, TEAMS), "strategy": rng.choice(STRATEGY_MIX)}

    def person_target() -> dict[str, Any]:
        return {"kind": "person", "id": rng.choice(people), "strategy": ""}

    def cond(field: str, operator: str, value: object) -> dict[str, Any]:
        return {"field": field, "operator": operator, "value": value}

    def amount() -> str:
        return str(int(10 ** rng.uniform(4.5, 7)))

    kinds = ["city"] * 40 + ["province"] * 15 + ["industry"] * 15 + ["key_account"] * 10 + ["size"] * 10 + \
        ["channel"] * 5 + ["open"] * 5
    for index in range(count):
        kind = rng.choice(kinds)
        conditions: list[dict[str, Any]]
        if kind == "city":
            city = rng.choice(hot_cities)
            conditions = [cond("region", rng.choice(("eq", "within")), city)]
            if rng.random() < 0.4:
                conditions.append(cond("tier", "in", sorted(rng.sample(["A", "B", "C"], 2))))
            if rng.random() < 0.3:
                conditions.append(cond("size", "ne", "small"))
            target = team_target()
        elif kind == "province":
            conditions = [cond("region", "within", rng.choice(hot_provinces)),
                          cond("industry", "in", sorted(rng.sample(industries, rng.randint(2, 12))))]
            target = team_target()
        elif kind == "industry":
            conditions = [cond("industry", "eq", rng.choice(industries)), cond("expected_value", "gte", amount())]
            target = person_target()
        elif kind == "key_account":
            low, high = sorted((amount(), amount()), key=Decimal)
            conditions = [cond("tier", "eq", "A"), cond("expected_value", "between", [low, high]),
                          cond("region", "in", sorted(rng.sample(hot_provinces, 3)))]
            target = person_target()
        elif kind == "size":
            conditions = [cond("size", "eq", rng.choice(("large", "medium"))),
                          cond("region", "not_in", sorted(rng.sample(hot_provinces, 4))),
                          cond("tier", "ne", "C")]
            target = team_target()
        elif kind == "channel":
            conditions = [cond("channel", "eq", rng.choice(("web", "api"))), cond("tier", "eq", "C"),
                          cond("expected_value", "lt", amount())]
            target = {"kind": "team", "id": rng.randint(1, TEAMS), "strategy": "first_come"}
        else:  # no index can narrow these: they are tested for every subject
            conditions = [rng.choice((cond("source", "contains", rng.choice(("fair", "partner", "exhibition"))),
                                      cond("name", "contains", rng.choice(("银行", "证券", "保险", "能源"))),
                                      cond("expected_value", "gt", str(int(10 ** rng.uniform(6.5, 7.5))))))]
            target = {"kind": "pool", "id": rng.choice(POOLS), "strategy": ""}
        rules.append({"key": f"{kind}-{index}", "name": f"{kind} rule {index}", "conditions": conditions,
                      "target": target})
    return {"rules": rules, "fallback": {"kind": "pool", "id": POOLS[0], "strategy": ""}}


# ---------------------------------------------------------------- measuring


class Tally:
    """What the checks need from a run's decisions, folded in batch by batch outside the timed calls (an
    intake stream writes each decision away; keeping 200,000 decision objects alive would make the garbage
    collector rescan them all the time, which is the benchmark's cost, not the engine's): a digest of
    every decision (its repr: every field, notes included), outcomes, reasons, round-robin counts."""

    def __init__(self, period: int) -> None:
        self.digest = hashlib.sha256()
        self.count = 0
        self.outcomes: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.period = period
        self.received: dict[int, Counter[int]] = defaultdict(Counter)
        self.capacity_skips: Counter[int] = Counter()
        self.by_period: dict[tuple[int, int], Counter[int]] = defaultdict(Counter)
        self.skipped_periods: set[tuple[int, int]] = set()

    def add(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            self.digest.update(repr(decision).encode())
            self.outcomes[decision.outcome] += 1
            self.reasons[decision.reason_code] += 1
            position = self.count
            self.count += 1
            if decision.strategy != "round_robin" or decision.outcome != "person" or decision.team_id is None:
                continue
            key = (decision.team_id, position // self.period)
            self.received[decision.team_id][decision.person_id or 0] += 1
            self.by_period[key][decision.person_id or 0] += 1
            skips = sum(1 for note in decision.candidates
                        if note.skipped == "at_capacity" and note.rule_key == decision.rule_key)
            self.capacity_skips[decision.team_id] += skips
            if skips:
                self.skipped_periods.add(key)

    def round_robin(self, initial: AllocationState) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Per team, over the whole run: customers received through round-robin by the members available all
        along (max, min, max − min) and how often round-robin skipped someone at capacity. And per period
        (``period`` consecutive subjects): the worst max − min among team-periods without a capacity skip
        (the ≤ 1 target: a member at capacity is skipped and loses that turn) and how many had one."""
        available = {team_id: [pid for pid in team.member_ids if initial.people[pid].available]
                     for team_id, team in initial.teams.items()}
        rows = []
        for team_id in sorted(initial.teams):
            counts = [self.received[team_id][pid] for pid in available[team_id]]
            if any(counts):
                rows.append({"team": team_id, "available": len(counts), "round_robin": sum(counts),
                             "max": max(counts), "min": min(counts), "imbalance": max(counts) - min(counts),
                             "capacity_skips": self.capacity_skips[team_id]})
        clean = [max(c) - min(c) for key, counter in self.by_period.items() if key not in self.skipped_periods
                 if (c := [counter[pid] for pid in available[key[0]]])]
        summary = {"period_subjects": self.period, "team_periods": len(self.by_period),
                   "with_capacity_skips": len(self.skipped_periods),
                   "worst_imbalance_without_capacity_skips": max(clean, default=0),
                   "imbalance_histogram": dict(sorted(Counter(clean).items()))}
        return rows, summary


def run_batches(subjects: list[Subject], ruleset: RuleSet, state: AllocationState,
                tally: Tally | None) -> tuple[list[float], float, float]:
    """allocate_many per batch of 1,000: the seconds per decision of each batch, and the wall and CPU seconds
    of the allocate_many calls (the tally runs between them, untimed)."""
    batch_seconds: list[float] = []
    wall = cpu = 0.0
    gc.collect()
    for start in range(0, len(subjects), BATCH):
        batch = subjects[start:start + BATCH]
        t0, c0 = time.perf_counter(), time.process_time()
        decisions = allocate_many(batch, ruleset, state)
        elapsed = time.perf_counter() - t0
        cpu += time.process_time() - c0
        wall += elapsed
        batch_seconds.append(elapsed / len(batch))
        if tally is not None:
            tally.add(decisions)
    return batch_seconds, wall, cpu


def run_per_call(subjects: list[Subject], ruleset: RuleSet, state: AllocationState, tally: Tally) -> list[float]:
    seconds: list[float] = []
    clock = time.perf_counter_ns
    gc.collect()
    for start in range(0, len(subjects), BATCH):
        decisions = []
        for subject in subjects[start:start + BATCH]:
            t0 = clock()
            decisions.append(allocate(subject, ruleset, state))
            seconds.append((clock() - t0) / 1e9)
        tally.add(decisions)
    return seconds


def run_kept(subjects: list[Subject], ruleset: RuleSet, state: AllocationState) -> tuple[float, float]:
    """One allocate_many over every subject, keeping every decision (as a simulation does): wall, CPU s."""
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    decisions = allocate_many(subjects, ruleset, state)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    del decisions
    gc.collect()
    return wall, cpu


def micro(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in microseconds (summary_ms rounds to 10 µs)."""
    return {"p50_us": round(percentile(seconds, 0.50) * 1e6, 1), "p95_us": round(percentile(seconds, 0.95) * 1e6, 1),
            "p99_us": round(percentile(seconds, 0.99) * 1e6, 1), "max_us": round(max(seconds) * 1e6, 1)}


def reference_loop_ns() -> float:
    """CPU ns per iteration of a fixed pure-Python loop (a dict lookup), best of three: how fast this
    machine runs Python right now, to compare runs taken under different loads."""
    table = {"a": 1}
    best = math.inf
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(1_000_000):
            table.get("a")
        best = min(best, time.process_time() - t0)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200_000, help="subjects to allocate")
    parser.add_argument("--rules", type=int, default=500, help="rules in the rule set (at most 1,000)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--period", type=int, default=10_000, help="subjects per period for the round-robin check")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one batched run")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    clock = Stopwatch()
    geo = Geography()
    subjects, industries = build_subjects(rng, args.size, geo, _companies())
    initial = build_state(rng)
    data = build_ruleset(rng, args.rules, geo, industries, initial)
    build_seconds = clock.seconds()
    rss_before = current_rss_mib()
    calibration = reference_loop_ns()
    gc.collect()
    gc.freeze()  # the subjects and the state built above are not garbage: keep them out of the collector's scans

    t0 = time.perf_counter()
    ruleset = ruleset_parse(data)
    parse_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = ruleset.compiled
    compile_seconds = time.perf_counter() - t0
    candidates = [len(compiled.candidates(s)) for s in subjects[:20_000]]
    matching = [sum(1 for _ in compiled.matching(s)) for s in subjects[:20_000]]

    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        run_batches(subjects[:50_000], ruleset, copy.deepcopy(initial), None)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())

    first = Tally(args.period)
    batch_seconds, total_seconds, cpu_seconds = run_batches(subjects, ruleset, initial.copy(), first)
    second = Tally(args.period)
    call_seconds = run_per_call(subjects, ruleset, initial.copy(), second)
    replay_identical = first.digest.digest() == second.digest.digest() and first.count == second.count
    kept_wall, kept_cpu = run_kept(subjects, ruleset, initial.copy())
    throughput = len(subjects) / total_seconds
    cpu_throughput = len(subjects) / cpu_seconds
    batch = micro(batch_seconds)
    per_call = micro(call_seconds)
    met = throughput >= TARGET_DECISIONS_PER_SECOND
    balance, periods = first.round_robin(initial)
    worst_clean = periods["worst_imbalance_without_capacity_skips"]
    rss_after = current_rss_mib()

    rules_by_kind = Counter(rule["key"].split("-")[0] for rule in data["rules"])
    print_table(f"Allocation engine — {len(subjects):,} subjects, {len(ruleset.rules)} rules, "
                f"{TEAMS} teams of {TEAM_SIZE}; {load_text()}",
                ["measure", "value"],
                [["decisions/s (allocate_many, batches of 1,000)", round(throughput)],
                 ["decisions/s of CPU time (the process's own)", round(cpu_throughput)],
                 ["target ≥ 50,000 decisions/s (wall clock)", "met" if met else "NOT met"],
                 ["per decision p50 / p95 µs (batch mean)", f"{batch['p50_us']:.1f} / {batch['p95_us']:.1f}"],
                 ["per call p50 / p95 / p99 µs", f"{per_call['p50_us']:.1f} / {per_call['p95_us']:.1f} / "
                                                 f"{per_call['p99_us']:.1f}"],
                 ["all decisions kept (a simulation): decisions/s wall / CPU",
                  f"{len(subjects) / kept_wall:,.0f} / {len(subjects) / kept_cpu:,.0f}"],
                 ["parse / compile ms", f"{parse_seconds * 1000:.1f} / {compile_seconds * 1000:.1f}"],
                 ["rules decided by field bitmasks alone / with a name test", f"{len(ruleset.rules) - len(compiled.unindexed)}"
                                                                          f" / {len(compiled.unindexed)}"],
                 ["rules left per subject by the bitmasks (mean, max)", f"{statistics.fmean(candidates):.1f}, {max(candidates)}"],
                 ["matching rules per subject (mean, max)", f"{statistics.fmean(matching):.1f}, {max(matching)}"],
                 ["replay (two runs, identical decisions)", "identical" if replay_identical else "DIFFERENT"],
                 [f"round-robin max − min per team and period of {args.period:,}", f"{worst_clean} (target ≤ 1)"],
                 ["  team-periods checked / skipped (capacity)", f"{periods['team_periods'] - periods['with_capacity_skips']}"
                                                               f" / {periods['with_capacity_skips']}"],
                 ["reference loop ns/iteration (CPU, best of 3)", round(calibration, 1)],
                 ["RSS before / after / peak MiB", f"{rss_before:.0f} / {rss_after:.0f} / {peak_rss_mib():.0f}"],
                 ["data build s", round(build_seconds, 1)]])
    print_table("Outcomes", ["outcome / reason", "decisions", "share %"],
                [[k, v, round(100 * v / first.count, 2)] for k, v in first.outcomes.most_common()]
                + [[f"  {k}", v, round(100 * v / first.count, 2)] for k, v in first.reasons.most_common()])
    print_table(f"Round-robin balance per team over all {first.count:,} subjects (members available all along; "
                "capacity skips make it drift)",
                ["team", "available", "received by round-robin", "max", "min", "max − min", "capacity skips"],
                [[r["team"], r["available"], r["round_robin"], r["max"], r["min"], r["imbalance"],
                  r["capacity_skips"]] for r in balance])
    print_table("Rule set", ["kind", "rules"], sorted(rules_by_kind.items()))

    write_json(args.json, {
        "benchmark": "allocation_engine", "machine": machine_info(),
        "data": {"subjects": len(subjects), "rules": len(ruleset.rules), "teams": TEAMS, "team_size": TEAM_SIZE,
                 "seed": args.seed, "rules_by_kind": dict(rules_by_kind),
                 "unindexed_rules": len(compiled.unindexed)},
        "decisions_per_second": round(throughput), "target_decisions_per_second": TARGET_DECISIONS_PER_SECOND,
        "decisions_per_cpu_second": round(cpu_throughput), "target_met": met,
        "per_decision_batch": batch, "per_call": per_call,
        "kept_decisions_per_second": round(len(subjects) / kept_wall),
        "kept_decisions_per_cpu_second": round(len(subjects) / kept_cpu),
        "parse_ms": round(parse_seconds * 1000, 2), "compile_ms": round(compile_seconds * 1000, 2),
        "candidate_rules_mean": round(statistics.fmean(candidates), 2),
        "matching_rules_mean": round(statistics.fmean(matching), 2),
        "replay_identical": replay_identical, "outcomes": dict(first.outcomes), "reasons": dict(first.reasons),
        "round_robin": balance, "round_robin_periods": periods,
        "reference_loop_ns": round(calibration, 1),
        "memory_mib": {"before": round(rss_before, 1), "after": round(rss_after, 1),
                       "peak": round(peak_rss_mib(), 1)},
    })
    ok = met and replay_identical and worst_clean <= 1 and not math.isnan(throughput)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
