"""One evaluation: generate a scenario, write its files, load them through the import framework into the current
(fresh) database, scan with `kamguard risk scan --as-of DATE --json`, then score the ranked list against the
ground truth — read only after the scan."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path
from typing import Any

from kamguard.risk.domain.scenarios import PATTERNS, scenario_build
from kamguard.risk.evaluation.metrics import BUDGETS, Ranked, evaluate_ranking, results_json
from kamguard.risk.evaluation.scenario_files import TRUTH, scenario_load, scenario_write


def scan_ranked(as_of: dt.date) -> dict[str, Any]:
    """`kamguard risk scan --as-of DATE --json`, parsed."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("risk", "scan", "--as-of", as_of.isoformat(), "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def evaluation_run(*, seed: int, customers: int, out: Path, as_of: dt.date | None = None) -> dict[str, Any]:
    from django.utils import timezone

    as_of = as_of or timezone.localdate()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    scenario = scenario_build(seed=seed, customers=customers, as_of=as_of)
    scenario_write(scenario, out)
    timings["generate_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    loaded = scenario_load(out)
    timings["import_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    scan = scan_ranked(as_of)
    timings["scan_seconds"] = round(time.perf_counter() - started, 2)
    truth = json.loads((out / TRUTH).read_text(encoding="utf-8"))["stories"]  # read only now
    ranked = [Ranked.from_row(row) for row in scan["ranked"]]
    planted = {(s["subject_type"], s["external_id"]) for s in truth}
    results = evaluate_ranking(ranked, truth, customers=customers, budgets=BUDGETS)
    summary = {
        "seed": seed, "customers": customers, "as_of": as_of.isoformat(), "out": str(out),
        "stories": len(truth), "patterns": PATTERNS, "noise": scenario.noise,
        "files": [vars(f) for f in loaded], "bad_rows": sum(f.failed for f in loaded),
        "subjects_ranked": len(ranked), "alerts_raised": scan.get("alerts_raised"), "read": scan.get("read"),
        "timings": timings, "budgets": results_json(results),
        "top": [{"rank": i, "subject_type": r.subject_type, "external_id": r.external_id, "score": round(r.score, 3),
                 "top_signal": r.top_signal, "planted": (r.subject_type, r.external_id) in planted}
                for i, r in enumerate(ranked[:100], start=1)],
        "target": {"budget": 0.10, "recall": 0.8, "precision": 0.5,
                   "met": any(r.budget == 0.10 and r.recall >= 0.8 and r.precision >= 0.5 for r in results)},
    }
    (out / "results.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary
