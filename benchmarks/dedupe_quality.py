"""Quality and speed of the duplicate check (查重) engine on the A-share company list.

    uv run python benchmarks/dedupe_quality.py [--json out.json] [--seed 42] [--held-out 0.2]

Companies are split (seeded) into an indexed set and a held-out set. For every indexed company
the benchmark generates query variants — the full name, region removed / added / bracketed
(full- and half-width), legal-form suffix changed, traditional characters, a one-character typo
(homophone or random character), the short name and the English name — and looks each one up
with the engine (``CandidateIndex`` + ``score``) and, side by side, with a brute-force rapidfuzz
``process.extract`` over every indexed name (the quality ceiling and the speed floor). Held-out
companies' full and short names are the negatives: any 'duplicate' verdict for them is false.

Indexed customers store their full name and English name only (no short name as alias), so the
short-name queries measure abbreviation matching, not alias lookup.

Distinct companies (``--distinct N``, default 24,000; 0 skips it): what an ERP migration of N
customers that are all different companies sees. The rows are made the way
``benchmarks/import_customers.py`` makes its CSV — every A-share company (full name, English name),
then generated ones ([region] brand industry-word suffix, each brand + industry pair used once) — with
the short name as an alias on 30 % of the rows, as there. They are indexed one by one, and each gets
the verdict of a check against the rows before it: every 'possible' or 'duplicate' is a false warning.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import opencc
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kamguard.customers.domain.dedupe import (  # noqa: E402
    PER_KEY_LIMIT,
    CandidateIndex,
    CustomerRecord,
    blocking_keys,
    customer_profile,
    rank_candidates,
    verdict,
)
from kamguard.customers.domain.normalise import (  # noqa: E402
    fold_text,
    has_cjk,
    normalise_company_name,
    strip_punctuation,
)
from kamguard.customers.domain.regions import match_region_prefix, region_of  # noqa: E402

DATASETS = Path(os.environ.get("KAMGUARD_DATASETS", "/work/shared/datasets"))
COMPANIES = DATASETS / "a_share_companies.csv"
BRANDS = DATASETS / "company_name_brand_groundtruth.txt"

FULL_NAME_KINDS = ("full", "region_removed", "region_added", "region_bracket_full", "region_bracket_half",
                   "suffix_changed", "traditional", "typo_homophone", "typo_random")
STOCK_MARKERS = re.compile(r"^(?:\*?S?\*?ST|XD|XR|DR|N|C)(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])-?(?:[AB]|U|W|UW|WD)$")
LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "股份公司")
SUFFIX_SWAPS = ("有限公司", "有限责任公司", "集团有限公司", "股份公司", "")


@dataclass
class Company:
    external_id: str
    name: str
    fullname: str
    enname: str
    area: str


@dataclass
class Query:
    kind: str
    text: str
    truth: str | None  # external id of the indexed company, None for negatives


def load_companies() -> list[Company]:
    with COMPANIES.open(encoding="utf-8") as handle:
        return [Company(row["ts_code"], row["name"], row["fullname"], row["enname"], row["area"])
                for row in csv.DictReader(handle) if row["fullname"]]


def clean_short_name(name: str) -> str:
    """Stock-exchange markers are not part of what a salesperson types (*ST乐通 → 乐通, 万科A → 万科)."""
    return STOCK_MARKERS.sub("", name.replace(" ", ""))


def split_legal(fullname: str) -> tuple[str, str]:
    for form in LEGAL:
        if fullname.endswith(form):
            return fullname[: -len(form)], form
    return fullname, ""


def homophones(companies: list[Company]) -> dict[str, list[str]]:
    by_sound: dict[str, set[str]] = defaultdict(set)
    for company in companies:
        for char in company.fullname:
            if "\u4e00" <= char <= "\u9fff":
                by_sound[lazy_pinyin(char)[0]].add(char)
    return {sound: sorted(chars) for sound, chars in by_sound.items()}


def variants(company: Company, rng: random.Random, sounds: dict[str, list[str]], alphabet: list[str],
             to_traditional: opencc.OpenCC) -> list[Query]:
    truth = company.external_id
    full = company.fullname
    body, legal = split_legal(full)
    region = match_region_prefix(body)
    out = [Query("full", full, truth)]
    # A region that is part of the brand (上海银行, 柳钢 ← 柳州钢铁: the short name contains it) stays.
    short = clean_short_name(company.name)
    region_in_brand = bool(region) and region[:2] in short
    if region and not region_in_brand and len(body) - len(region) >= 2:
        rest = body[len(region):]
        out.append(Query("region_removed", rest + legal, truth))
        out.append(Query("region_bracket_full", f"{rest}（{region.removesuffix('市').removesuffix('省')}）{legal}", truth))
        out.append(Query("region_bracket_half", f"{rest}({region.removesuffix('市').removesuffix('省')}){legal}", truth))
    else:
        area = company.area if company.area and company.area not in body else ""
        if area and not region:
            official = region_of(area)
            prefix = official.name if official is not None and rng.random() < 0.5 else area  # 深圳市 or 深圳
            out.append(Query("region_added", f"{prefix}{full}", truth))
            out.append(Query("region_bracket_full", f"{body}（{area}）{legal}", truth))
            out.append(Query("region_bracket_half", f"{body}({area}){legal}", truth))
    swaps = [swap for swap in SUFFIX_SWAPS if swap != legal]
    out.append(Query("suffix_changed", body + rng.choice(swaps), truth))
    traditional = str(to_traditional.convert(full))
    if traditional != full:
        out.append(Query("traditional", traditional, truth))
    positions = [i for i, char in enumerate(body) if "\u4e00" <= char <= "\u9fff"]
    if positions:
        position = rng.choice(positions)
        original = body[position]
        same_sound = [c for c in sounds.get(lazy_pinyin(original)[0], []) if c != original]
        if same_sound:
            out.append(Query("typo_homophone", body[:position] + rng.choice(same_sound) + body[position + 1:] + legal,
                             truth))
        replacement = rng.choice(alphabet)
        while replacement == original:
            replacement = rng.choice(alphabet)
        out.append(Query("typo_random", body[:position] + replacement + body[position + 1:] + legal, truth))
    if len(short) >= 2:
        out.append(Query("short_name", short, truth))
    if company.enname:
        out.append(Query("english", company.enname, truth))
    return out


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def brand_accuracy() -> dict[str, float | int]:
    total = correct = 0
    for line in BRANDS.read_text(encoding="utf-8").splitlines():
        parts = re.split(r"[\t ]+", line.strip())
        if len(parts) < 2 or not parts[1]:
            continue
        total += 1
        correct += normalise_company_name(parts[0]).brand == parts[1]
    return {"names_with_brand": total, "correct": correct, "accuracy": round(correct / total, 4) if total else 0.0}


@dataclass
class DistinctRow:
    kind: str  # "a_share" or "generated"
    record: CustomerRecord


def distinct_companies(size: int, seed: int) -> list[DistinctRow]:
    """``size`` different companies, made as ``benchmarks/import_customers.py`` makes its CSV."""
    from dedupe_speed import NameMaker, _a_share

    companies = _a_share()
    rng = random.Random(seed)
    rng.shuffle(companies)
    maker = NameMaker(random.Random(seed + 1), companies)
    seen_short: set[str] = set()
    rows: list[DistinctRow] = []
    real = iter(companies)
    while len(rows) < size:
        number = len(rows) + 1
        company = next(real, None)
        if company is not None:
            kind, name, english, short = "a_share", company.name, company.english, company.short
        else:
            while True:
                name, short, _region = maker.name()
                if short not in seen_short:
                    break
            kind, english = "generated", ""
        seen_short.add(short)
        aliases = (short,) if short and rng.random() < 0.3 else ()
        rows.append(DistinctRow(kind, CustomerRecord(external_id=f"C{number:07d}", name=name, aliases=aliases,
                                                     english_names=(english,) if english else ())))
    return rows


def distinct_measure(rows: list[DistinctRow], show: int) -> dict[str, object]:
    """Index the rows one by one; the verdict of each against those before it (all are false warnings)."""
    index = CandidateIndex()
    kinds = {row.record.external_id: row.kind for row in rows}
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    warned: list[dict[str, object]] = []
    cpu: list[float] = []
    for row in rows:
        started = time.thread_time()
        profile = customer_profile(row.record)
        matches = rank_candidates(profile, index.candidate_profiles(profile), limit=5)
        result = verdict(matches)
        cpu.append(time.thread_time() - started)
        index.add(profile)
        verdicts[row.kind][result] += 1
        verdicts["all"][result] += 1
        if result != "unique":
            top = matches[0]
            reasons[top.reasons[0] if top.reasons else "-"] += 1
            pairs[f"{row.kind} ~ {kinds[top.external_id]}"] += 1
            warned.append({"query": row.record.name, "aliases": list(row.record.aliases), "kind": row.kind,
                           "verdict": result, "top": top.as_dict()})
    warned.sort(key=lambda item: -float(item["top"]["score"]))  # type: ignore[index]

    def rates(counts: Counter[str]) -> dict[str, object]:
        n = sum(counts.values())
        return {"rows": n, "possible_rate": round(counts["possible_duplicate"] / n, 4) if n else 0.0,
                "duplicate_rate": round(counts["duplicate"] / n, 4) if n else 0.0,
                "warned_rate": round((n - counts["unique"]) / n, 4) if n else 0.0}

    return {
        "rows": len(rows),
        "by_kind": {kind: rates(counts) for kind, counts in sorted(verdicts.items())},
        "top_reason": dict(reasons.most_common(12)),
        "row_kind_vs_candidate_kind": dict(pairs.most_common()),
        "cpu_p50_ms": round(percentile(cpu, 0.5) * 1000, 3),
        "cpu_p95_ms": round(percentile(cpu, 0.95) * 1000, 3),
        "examples": warned[:show],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--held-out", type=float, default=0.2, help="fraction of companies held out as negatives")
    parser.add_argument("--no-brute-force", action="store_true", help="skip the brute-force scan (faster)")
    parser.add_argument("--simulate-size", type=int, default=0,
                        help="scale the stop-key limit as if the index held this many customers "
                             "(PER_KEY_LIMIT × indexed / size), to see what stop keys cost at that size")
    parser.add_argument("--distinct", type=int, default=24_000,
                        help="distinct companies for the false-warning measure (0 skips it)")
    parser.add_argument("--show", type=int, default=50, help="false warnings printed (highest scores first)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    companies = load_companies()
    rng.shuffle(companies)
    cut = int(len(companies) * (1 - args.held_out))
    indexed, held_out = companies[:cut], companies[cut:]
    sounds = homophones(companies)
    alphabet = sorted({char for company in companies for char in company.fullname if "\u4e00" <= char <= "\u9fff"})
    to_traditional = opencc.OpenCC("s2t")

    # Index.
    started = time.perf_counter()
    per_key_limit = PER_KEY_LIMIT
    if args.simulate_size:
        per_key_limit = max(1, round(PER_KEY_LIMIT * len(indexed) / args.simulate_size))
    index = CandidateIndex(per_key_limit=per_key_limit)
    for company in indexed:
        index.add(customer_profile(CustomerRecord(external_id=company.external_id, name=company.fullname,
                                                  english_names=(company.enname,) if company.enname else ())))
    index_seconds = time.perf_counter() - started
    keys_per_customer = [len(blocking_keys(profile)) for profile in index.profiles()]
    posting_sizes = index.posting_sizes()
    postings = list(posting_sizes.values())
    by_kind: dict[str, list[int]] = defaultdict(list)
    for key, size in posting_sizes.items():
        by_kind[key.split(":", 1)[0]].append(size)
    posting_by_kind = {kind: {"keys": len(sizes), "rows": sum(sizes), "max": max(sizes),
                              "p99": percentile([float(v) for v in sizes], 0.99)}
                       for kind, sizes in sorted(by_kind.items())}

    # Queries.
    queries: list[Query] = []
    for company in indexed:
        queries.extend(variants(company, rng, sounds, alphabet, to_traditional))
    for company in held_out:
        queries.append(Query("negative_full", company.fullname, None))
        short = clean_short_name(company.name)
        if len(short) >= 2:
            queries.append(Query("negative_short", short, None))

    # Brute force: every indexed name (Chinese full names, English names), folded the same way.
    chinese_choices = {c.external_id: strip_punctuation(fold_text(c.fullname)) for c in indexed}
    english_choices = {c.external_id: c.enname.lower() for c in indexed if c.enname}

    stats: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    false_examples: list[dict[str, object]] = []
    candidate_counts: list[int] = []
    for query in queries:
        record = CustomerRecord(external_id="", name=query.text)
        started = time.perf_counter()
        cpu_started = time.thread_time()
        profile = customer_profile(record)
        candidates = index.candidate_profiles(profile)
        matches = rank_candidates(profile, candidates, limit=10, minimum=0.0)
        result = verdict([m for m in matches if m.score >= 0.0])
        elapsed = time.perf_counter() - started
        bucket_cpu = time.thread_time() - cpu_started
        candidate_counts.append(len(candidates))
        ranked = [m.external_id for m in matches]
        bucket = stats[query.kind]
        bucket["latency"].append(elapsed)
        bucket["cpu"].append(bucket_cpu)
        verdicts[query.kind][result] += 1
        if query.truth is not None:
            bucket["r1"].append(float(ranked[:1] == [query.truth]))
            bucket["r5"].append(float(query.truth in ranked[:5]))
        elif result == "duplicate" and len(false_examples) < 20:
            false_examples.append({"query": query.text, "top": matches[0].as_dict()})
        if args.no_brute_force:
            continue
        started = time.perf_counter()
        if has_cjk(query.text):
            found = process.extract(strip_punctuation(fold_text(query.text)), chinese_choices, scorer=fuzz.WRatio,
                                    limit=5)
        else:
            found = process.extract(query.text.lower(), english_choices, scorer=fuzz.WRatio, limit=5)
        bucket["bf_latency"].append(time.perf_counter() - started)
        bf_ranked = [key for _, _, key in found]
        if query.truth is not None:
            bucket["bf_r1"].append(float(bf_ranked[:1] == [query.truth]))
            bucket["bf_r5"].append(float(query.truth in bf_ranked[:5]))

    def summary(kinds: list[str]) -> dict[str, object]:
        merged: dict[str, list[float]] = defaultdict(list)
        counts: Counter[str] = Counter()
        for kind in kinds:
            for name, values in stats[kind].items():
                merged[name].extend(values)
            counts.update(verdicts[kind])
        n = sum(counts.values())
        row: dict[str, object] = {"queries": n}
        for name in ("r1", "r5", "bf_r1", "bf_r5"):
            if merged[name]:
                row[name] = round(statistics.fmean(merged[name]), 4)
        if merged["cpu"]:
            row["cpu_p50_ms"] = round(percentile(merged["cpu"], 0.5) * 1000, 3)
            row["cpu_p95_ms"] = round(percentile(merged["cpu"], 0.95) * 1000, 3)
        for name in ("latency", "bf_latency"):
            if merged[name]:
                row[f"{name}_p50_ms"] = round(percentile(merged[name], 0.5) * 1000, 3)
                row[f"{name}_p95_ms"] = round(percentile(merged[name], 0.95) * 1000, 3)
                row[f"{name}_qps"] = round(len(merged[name]) / sum(merged[name]), 1)
        row["duplicate_rate"] = round(counts["duplicate"] / n, 4) if n else 0.0
        row["possible_rate"] = round(counts["possible_duplicate"] / n, 4) if n else 0.0
        # On true variants: the share that is at least 'possible' (warned or blocked) — the check noticed.
        row["flagged_rate"] = round((counts["duplicate"] + counts["possible_duplicate"]) / n, 4) if n else 0.0
        return row

    kinds = [k for k in (*FULL_NAME_KINDS, "short_name", "english", "negative_full", "negative_short") if k in stats]
    rows = {kind: summary([kind]) for kind in kinds}
    rows["ALL full-name variants"] = summary([k for k in FULL_NAME_KINDS if k in stats])
    rows["ALL negatives"] = summary(["negative_full", "negative_short"])
    rows["ALL queries"] = summary(kinds)

    distinct = distinct_measure(distinct_companies(args.distinct, args.seed), args.show) if args.distinct else None
    if distinct is not None:
        rates: dict[str, Any] = cast(dict[str, Any], distinct["by_kind"])["all"]
        rows["distinct companies"] = {"queries": rates["rows"], "duplicate_rate": rates["duplicate_rate"],
                                      "possible_rate": rates["possible_rate"], "flagged_rate": rates["warned_rate"],
                                      "cpu_p50_ms": distinct["cpu_p50_ms"], "cpu_p95_ms": distinct["cpu_p95_ms"]}

    result_json: dict[str, object] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()},
        "dataset": {"companies": len(companies), "indexed": len(indexed), "held_out": len(held_out),
                    "queries": len(queries), "seed": args.seed},
        "index": {"build_seconds": round(index_seconds, 3),
                  "keys_per_customer_mean": round(statistics.fmean(keys_per_customer), 2),
                  "keys_per_customer_max": max(keys_per_customer),
                  "distinct_keys": len(postings),
                  "posting_max": max(postings), "posting_p99": percentile([float(p) for p in postings], 0.99),
                  "per_key_limit": per_key_limit, "simulated_size": args.simulate_size or None,
                  "posting_by_kind": posting_by_kind,
                  "candidates_per_query_mean": round(statistics.fmean(candidate_counts), 1),
                  "candidates_per_query_p95": percentile([float(c) for c in candidate_counts], 0.95)},
        "brand_extraction": brand_accuracy(),
        "variants": rows,
        "false_duplicate_examples": false_examples,
        "distinct_companies": distinct,
    }

    machine = result_json["machine"]
    print(f"machine: {machine}")  # noqa: T201
    print(f"dataset: {result_json['dataset']}")
    print(f"index:   {result_json['index']}")
    print(f"brand extraction vs ground truth: {result_json['brand_extraction']}")
    header = (f"{'variant':<24}{'n':>6}{'R@1':>7}{'R@5':>7}{'BF R@1':>8}{'BF R@5':>8}{'dup':>7}{'poss':>7}{'flag':>7}"
              f"{'p50 ms':>8}{'p95 ms':>8}{'cpu p50':>8}{'cpu p95':>8}{'q/s':>8}{'BF p50':>8}{'BF p95':>8}{'BF q/s':>8}")
    print(header)
    print("-" * len(header))
    for kind, row in rows.items():
        def cell(name: str, width: int, row: dict[str, object] = row) -> str:
            value = row.get(name)
            return f"{'-':>{width}}" if value is None else f"{value:>{width}}"
        print(f"{kind:<24}{row['queries']:>6}{cell('r1', 7)}{cell('r5', 7)}{cell('bf_r1', 8)}{cell('bf_r5', 8)}"
              f"{cell('duplicate_rate', 7)}{cell('possible_rate', 7)}{cell('flagged_rate', 7)}{cell('latency_p50_ms', 8)}"
              f"{cell('latency_p95_ms', 8)}{cell('cpu_p50_ms', 8)}{cell('cpu_p95_ms', 8)}{cell('latency_qps', 8)}{cell('bf_latency_p50_ms', 8)}"
              f"{cell('bf_latency_p95_ms', 8)}{cell('bf_latency_qps', 8)}")
    if false_examples:
        print("false 'duplicate' verdicts on held-out companies (first 20):")
        for example in false_examples:
            print(f"  {example['query']} -> {example['top']}")
    if distinct is not None:
        print(f"distinct companies, each checked against those before it: {distinct['by_kind']}")
        print(f"  strongest reason of a false warning: {distinct['top_reason']}")
        print(f"  row kind ~ candidate kind: {distinct['row_kind_vs_candidate_kind']}")
        examples = distinct["examples"]
        assert isinstance(examples, list)
        print(f"  false warnings between distinct companies (first {len(examples)}, highest score first):")
        for example in examples:
            top = example["top"]
            print(f"  {top['score']:.2f} {example['query']} {example['aliases'] or ''} ~ {top['name']} "
                  f"{top['reasons']}")
    if args.json:
        args.json.write_text(json.dumps(result_json, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
