"""Evaluation of the risk engine on a seeded scenario (issue 7, item 6): precision and recall at inspection budgets.

    uv run python benchmarks/risk_evaluation.py --seed 7 --customers 300 --out /tmp/riskeval
    uv run python benchmarks/risk_evaluation.py --postgres --seed 7 --customers 1000 --out /tmp/riskeval-pg
    uv run python benchmarks/risk_evaluation.py --quick            # 200 customers

1. `kamguard.risk.domain.scenarios.scenario_build`: diversion stories of every importable pattern planted among
   noise (seasonality, an industry-wide downturn, bankruptcies, ordinary owner changes, …), written to `--out` as
   CSV files in the import formats, plus `reads.json` (notices and reveals, which no format carries) and the ground
   truth in `--out/truth/` (never read by the loader or the scan).
2. A fresh database (SQLite under $KAMGUARD_BENCH_DIR, or PostgreSQL with --postgres), migrated; every file
   loaded through `import_run` (what `kamguard import KIND FILE` calls), in the manifest's order.
3. `kamguard risk scan --as-of DATE --json`; then the ranked list against the ground truth: recall and precision at
   inspection budgets of 5 %, 10 % and 20 % of the customers, overall and per pattern.

Target (issue 7): recall ≥ 0.8 at 10 % with precision ≥ 0.5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import (
    BenchDatabase,
    database_version,
    load_text,
    machine_info,
    migrate,
    on_fresh_database,
    peak_rss_mib,
    print_table,
    write_json,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--out", help="where the scenario's files, ground truth and results go (default: a new "
                                      "temporary folder)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 customers")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.customers = min(args.customers, 200)
    args.out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="kg-riskeval-"))
    return on_fresh_database("postgres" if args.postgres else "sqlite", lambda database: run(args, database),
                             keep=args.keep)


def run(args: argparse.Namespace, database: BenchDatabase) -> int:
    from django.utils import translation

    from kamguard.risk.evaluation.run import evaluation_run

    translation.activate("en")
    migrate()
    print(f"{database_version()}; seed {args.seed}, {args.customers:,} customers; {load_text()}", flush=True)
    summary = evaluation_run(seed=args.seed, customers=args.customers, out=args.out)
    print_table("Files loaded through the import framework", ["file", "kind", "rows", "created", "updated",
                                                              "bad rows", "seconds"],
                [(f["file"], f["kind"], f["rows"], f["created"], f["updated"], f["failed"], f["seconds"])
                 for f in summary["files"]])
    for f in summary["files"]:
        for error in f["errors"][:5]:
            print(f"  {f['file']}: {error}")
    print_table("Overall", ["budget", "inspected", "relevant", "precision", "recall"],
                [(f"{b['budget']:.0%}", b["inspected"], b["relevant"], b["precision"], b["recall"])
                 for b in summary["budgets"]])
    rows = []
    for pattern in summary["patterns"]:
        cells = [pattern, summary["budgets"][0]["patterns"].get(pattern, {}).get("planted", 0)]
        for b in summary["budgets"]:
            p = b["patterns"].get(pattern)
            cells.append("-" if p is None else f"{p['recall']:.2f} / " + (
                "-" if p["precision"] is None else f"{p['precision']:.2f}"))
        first = summary["budgets"][0]["patterns"].get(pattern)
        cells.append(",".join("-" if r is None else str(r) for r in (first["ranks"] if first else [])))
        rows.append(cells)
    print_table("Per pattern: recall / precision (of the inspected subjects whose strongest signal is the pattern's)",
                ["pattern", "planted", *[f"{b['budget']:.0%}" for b in summary["budgets"]], "ranks"], rows)
    summary.update({"benchmark": "risk_evaluation", "database": database_version(),
                    "peak_rss_mib": round(peak_rss_mib(), 1), "load": load_text(), "machine": machine_info()})
    print(f"\nstories {summary['stories']}, subjects ranked {summary['subjects_ranked']}, bad rows "
          f"{summary['bad_rows']}; timings {summary['timings']}; target met: {summary['target']['met']}; "
          f"files and results in {args.out}")
    write_json(args.json, summary)
    return 0 if summary["bad_rows"] == 0 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
