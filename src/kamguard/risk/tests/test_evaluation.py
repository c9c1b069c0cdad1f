"""Evaluation of the risk engine (issue 7, item 6): the seeded scenario generator, the metrics, and a small
scenario loaded through the import framework and scanned, whose planted stories must rank near the top."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kamguard.risk.domain.scenarios import PATTERNS, scenario_build
from kamguard.risk.evaluation.metrics import Ranked, budget_size, evaluate_ranking
from kamguard.risk.evaluation.scenario_files import MANIFEST, TRUTH, csv_bytes, scenario_write

AS_OF = dt.date(2026, 6, 30)


def test_the_generator_is_deterministic_by_seed() -> None:
    first = scenario_build(seed=11, customers=120, as_of=AS_OF)
    again = scenario_build(seed=11, customers=120, as_of=AS_OF)
    other = scenario_build(seed=12, customers=120, as_of=AS_OF)
    assert [csv_bytes(rows) for _s, _k, rows in first.phases] == [csv_bytes(rows) for _s, _k, rows in again.phases]
    assert first.truth == again.truth and first.reads == again.reads
    assert [csv_bytes(rows) for _s, _k, rows in first.phases] != [csv_bytes(rows) for _s, _k, rows in other.phases]


def test_every_pattern_is_planted_and_points_at_records_of_the_files() -> None:
    scenario = scenario_build(seed=3, customers=150, as_of=AS_OF)
    assert {s.pattern for s in scenario.truth} == set(PATTERNS)
    customers = {r["external_id"] for r in scenario.rows("customers")}
    people = {r["external_id"] for r in scenario.rows("users")}
    orders = {r["external_id"] for r in scenario.rows("orders")}
    known = {"customer": customers, "manager": people, "order": orders}
    for story in scenario.truth:
        assert story.external_id in known[story.subject_type], story
        assert story.person in people
        assert story.signal == PATTERNS[story.pattern]
    # Nothing is dated on or after the as-of day (imports refuse the future; the scan reads up to the date).
    assert max(r["order_date"] for r in scenario.rows("orders")) < AS_OF.isoformat()
    assert max(r["happened_at"][:10] for r in scenario.rows("activities")) < AS_OF.isoformat()
    # The noise is there: a downturn, bankruptcies, ordinary owner changes.
    assert scenario.noise["industry_downturn"] > 0 and scenario.noise["bankrupt"] >= 2
    assert len(scenario.rows("transfers")) >= scenario.noise["owner_changes"]


def test_the_ground_truth_is_written_apart_from_what_is_loaded(tmp_path: Path) -> None:
    scenario = scenario_build(seed=5, customers=100, as_of=AS_OF)
    scenario_write(scenario, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    loaded = {f["file"] for f in manifest["files"]}
    assert all(not name.startswith("truth") for name in loaded)
    truth = json.loads((tmp_path / TRUTH).read_text(encoding="utf-8"))
    assert len(truth["stories"]) == len(scenario.truth)
    assert "EV-" not in json.dumps(manifest["noise"])  # the manifest names no planted subject


def test_a_scenario_needs_enough_customers() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        scenario_build(seed=1, customers=20, as_of=AS_OF)


def _story(pattern: str, kind: str, key: str, person: str) -> dict[str, object]:
    return {"pattern": pattern, "signal": PATTERNS[pattern], "subject_type": kind, "external_id": key,
            "person": person, "related": []}


def test_precision_and_recall_at_budgets() -> None:
    ranked = [Ranked("customer", "C1", 0.9, "orders_collapse"), Ranked("customer", "X1", 0.85, "orders_collapse"),
              Ranked("manager", "M1", 0.7, "orders_collapse"), Ranked("order", "O1", 0.6, "price_outlier"),
              Ranked("customer", "X2", 0.5, "third_party")]
    truth = [_story("collapse", "customer", "C1", "M1"), _story("price", "order", "O1", "M2"),
             _story("hijack", "customer", "C9", "M3")]
    assert budget_size(0.10, 20) == 2 and budget_size(0.05, 10) == 1
    small, large = evaluate_ranking(ranked, truth, customers=20, budgets=(0.10, 0.25))
    assert (small.inspected, small.relevant) == (2, 1)
    assert small.precision == 0.5 and small.recall == pytest.approx(1 / 3)
    assert small.patterns["collapse"].recall == 1.0 and small.patterns["collapse"].precision == 0.5
    assert small.patterns["price"].found == 0 and small.patterns["price"].precision is None
    assert small.patterns["hijack"].ranks == [None]
    assert large.inspected == 5 and large.relevant == 3  # the manager concerned counts as a lead
    assert large.recall == pytest.approx(2 / 3) and large.patterns["price"].ranks == [4]


@pytest.mark.django_db
def test_a_small_scenario_imports_cleanly_and_its_stories_rank_at_the_top(tmp_path: Path) -> None:
    from django.utils import timezone

    from kamguard.risk.evaluation.run import evaluation_run

    summary = evaluation_run(seed=21, customers=200, out=tmp_path, as_of=timezone.localdate())
    assert summary["bad_rows"] == 0, [f["errors"][:3] for f in summary["files"] if f["errors"]]
    assert all(f["created"] + f["updated"] == f["rows"] for f in summary["files"])
    by_budget = {b["budget"]: b for b in summary["budgets"]}
    assert by_budget[0.10]["recall"] >= 0.8
    assert by_budget[0.10]["precision"] >= 0.5
    assert by_budget[0.20]["recall"] >= 0.9
    assert (tmp_path / "results.json").exists()


def test_an_irregular_buyers_empty_months_count_for_less_than_a_monthly_buyers() -> None:
    """What the evaluation found: irregular small buyers whose last three months happened to be empty scored as
    high as planted collapses. The chance of that many empty months at the customer's own rate discounts it."""
    from kamguard.risk.domain.signals import CollapseParams, CustomerFlow, orders_collapse

    contacts = [2] * 15
    monthly = [30_000.0] * 12 + [0.0, 0.0, 0.0]
    irregular = [60_000.0 if i % 3 == 0 else 0.0 for i in range(12)] + [0.0, 0.0, 0.0]  # 4 of 12 months
    regular = orders_collapse(CustomerFlow(1, monthly, contacts), CollapseParams())
    sporadic = orders_collapse(CustomerFlow(2, irregular, contacts), CollapseParams())
    assert regular.score == pytest.approx(1.0) and regular.numbers["chance_empty"] == 0.0
    assert sporadic.numbers["chance_empty"] == pytest.approx((8 / 12) ** 3)
    assert sporadic.score == pytest.approx(1 - (8 / 12) ** 3)
    assert 0 < sporadic.score < regular.score
