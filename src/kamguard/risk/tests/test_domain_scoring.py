"""Configuration, combination, the market index and the whole evaluation, without a database."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamguard.risk.domain import signals as s
from kamguard.risk.domain.combine import combine, noisy_or, rank, rollup, subject_score, with_rollup
from kamguard.risk.domain.config import (
    DEFAULT_CONFIG,
    ConfigError,
    config_from_mapping,
    config_to_mapping,
)
from kamguard.risk.domain.engine import (
    CustomerInfo,
    Dataset,
    PersonInfo,
    Transfer,
    bucket_index,
    bucket_labels,
    evaluate,
)
from kamguard.risk.domain.evidence import Evidence, Signal, SubjectType
from kamguard.risk.domain.market import MarketIndex, segment_levels, weighted_ratio

AS_OF = dt.date(2025, 6, 30)

# ---------------------------------------------------------------- configuration


def test_defaults_round_trip() -> None:
    data = config_to_mapping(DEFAULT_CONFIG)
    assert config_from_mapping(data) == DEFAULT_CONFIG
    assert set(data["weights"]) == {signal.value for signal in Signal}


def test_negative_weight_is_refused_with_its_path() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"weights": {"hoarding": -0.1}})
    assert [(p.path, p.code) for p in caught.value.problems] == [("weights.hoarding", "negative")]


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"weights": {"nope": 1, "hoarding": "abc", "third_party": 1.5},
                             "thresholds": {"customer": 0, "order": True},
                             "rollup": {"top": 0.5},
                             "params": {"orders_collapse": {"drop_start": 0.95, "unknown": 1},
                                        "hoarding": {"min_stale": 0}, "price_outlier": {"z_start": -1}},
                             "extra": 1})
    found = {(p.path, p.code) for p in caught.value.problems}
    assert found == {("weights.nope", "unknown"), ("weights.hoarding", "not_a_number"),
                     ("weights.third_party", "above_one"), ("thresholds.customer", "zero_threshold"),
                     ("thresholds.order", "not_a_number"), ("rollup.top", "not_an_integer"),
                     ("params.orders_collapse.unknown", "unknown"),
                     ("params.orders_collapse.drop_full", "ramp_order"), ("params.hoarding.min_stale", "below_one"),
                     ("params.price_outlier.z_start", "negative"), ("extra", "unknown")}


def test_overrides_keep_the_rest() -> None:
    config = config_from_mapping({"weights": {"hoarding": 0}, "params": {"hoarding": {"stale_days": "120"}}})
    assert config.weights[Signal.HOARDING] == 0 and config.hoarding.stale_days == 120
    assert config.weights[Signal.ORDERS_COLLAPSE] == DEFAULT_CONFIG.weights[Signal.ORDERS_COLLAPSE]
    assert config.collapse == DEFAULT_CONFIG.collapse


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10, 10) | st.text(max_size=5) | st.none())
def test_any_weight_either_parses_within_range_or_is_named(value: object) -> None:
    try:
        config = config_from_mapping({"weights": {"data_access": value}})
    except ConfigError as error:
        assert all(p.path == "weights.data_access" for p in error.problems)
    else:
        assert 0 <= config.weights[Signal.DATA_ACCESS] <= 1


# ---------------------------------------------------------------- combination


def ev(signal: Signal, score: float) -> Evidence:
    return Evidence(signal, score, f"{signal.value}.x")


scores_st = st.lists(st.tuples(st.sampled_from(list(Signal)), st.floats(0, 1)), max_size=10)


@given(scores_st)
def test_combined_score_is_between_the_strongest_and_one(items: list[tuple[Signal, float]]) -> None:
    evidence = [ev(signal, score) for signal, score in items]
    total = combine(evidence, DEFAULT_CONFIG.weights)
    strongest = max((DEFAULT_CONFIG.weights[sig] * sc for sig, sc in items), default=0.0)
    assert strongest - 1e-9 <= total <= 1.0


@given(scores_st, st.sampled_from(list(Signal)), st.floats(0, 1))
def test_another_signal_never_lowers_the_score(items: list[tuple[Signal, float]], signal: Signal,
                                               score: float) -> None:
    evidence = [ev(sig, sc) for sig, sc in items]
    assert combine([*evidence, ev(signal, score)], DEFAULT_CONFIG.weights) >= combine(evidence,
                                                                                     DEFAULT_CONFIG.weights) - 1e-12


@given(scores_st)
def test_zero_weights_switch_everything_off(items: list[tuple[Signal, float]]) -> None:
    assert combine([ev(sig, sc) for sig, sc in items], {signal: 0.0 for signal in Signal}) == 0.0


def test_negative_weight_never_reaches_the_combination_silently() -> None:
    with pytest.raises(ValueError, match="negative weight"):
        combine([ev(Signal.HOARDING, 0.5)], {Signal.HOARDING: -1.0})
    with pytest.raises(ValueError, match="negative"):
        rollup([0.5], weight=-0.1, top=3)


def test_subject_score_explains_contributions_strongest_first() -> None:
    score = subject_score(SubjectType.CUSTOMER, 1, [ev(Signal.HOARDING, 1.0), ev(Signal.CONTACT_HIJACK, 1.0),
                                                    ev(Signal.THIRD_PARTY, 0.0)], DEFAULT_CONFIG.weights)
    assert [e.signal for e in score.evidence] == [Signal.CONTACT_HIJACK, Signal.HOARDING]
    assert score.contributions == {"contact_hijack": 0.9, "hoarding": 0.4}
    assert score.score == pytest.approx(1 - 0.1 * 0.6)


def test_rollup_of_the_riskiest_customers() -> None:
    own = subject_score(SubjectType.MANAGER, 5, [], DEFAULT_CONFIG.weights)
    customers = [subject_score(SubjectType.CUSTOMER, i, [ev(Signal.ORDERS_COLLAPSE, x)], DEFAULT_CONFIG.weights)
                 for i, x in enumerate([1.0, 0.1, 0.0])]
    total = with_rollup(own, customers, weight=0.5, top=1)
    assert total.score == pytest.approx(0.5 * 0.8) and total.related[0].subject_id == 0


@given(st.lists(st.floats(0, 1), max_size=8))
def test_noisy_or_bounds(values: list[float]) -> None:
    assert max(values, default=0.0) - 1e-12 <= noisy_or(values) <= 1.0


def test_rank_is_stable_and_by_score() -> None:
    a = subject_score(SubjectType.ORDER, 1, [ev(Signal.PRICE_OUTLIER, 1.0)], DEFAULT_CONFIG.weights)
    b = subject_score(SubjectType.CUSTOMER, 2, [ev(Signal.THIRD_PARTY, 0.75)], DEFAULT_CONFIG.weights)
    c = subject_score(SubjectType.CUSTOMER, 1, [ev(Signal.ORDERS_COLLAPSE, 0.75)], DEFAULT_CONFIG.weights)
    assert [(x.subject_type, x.subject_id) for x in rank([a, b, c])] == [
        (SubjectType.CUSTOMER, 1), (SubjectType.CUSTOMER, 2), (SubjectType.ORDER, 1)]


# ---------------------------------------------------------------- market and buckets


def test_buckets_end_on_the_as_of_date() -> None:
    assert bucket_index(AS_OF, AS_OF, 3) == 2
    assert bucket_index(AS_OF, AS_OF - dt.timedelta(days=29), 3) == 2
    assert bucket_index(AS_OF, AS_OF - dt.timedelta(days=30), 3) == 1
    assert bucket_index(AS_OF, AS_OF - dt.timedelta(days=90), 3) is None
    assert bucket_index(AS_OF, AS_OF + dt.timedelta(days=1), 3) is None
    assert bucket_labels(AS_OF, 2) == ("2025-05-31", "2025-06-30")


@given(st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)), st.integers(0, 800), st.integers(1, 30))
def test_bucket_index_in_range(as_of: dt.date, age: int, count: int) -> None:
    index = bucket_index(as_of, as_of - dt.timedelta(days=age), count)
    assert index is None or 0 <= index < count
    assert (index is None) == (age >= count * 30)


def test_market_index_leaves_the_customer_out_and_falls_back() -> None:
    series = {i: [100.0, 100.0, 60.0] for i in range(6)}  # the industry fell 40%
    series[99] = [100.0, 100.0, 100.0]  # another industry, flat
    segments = {i: segment_levels(1, 31) for i in range(6)} | {99: segment_levels(2, 31)}
    market = MarketIndex(series=series, segments=segments, length=3, min_members=5)
    ratio, segment = market.ratio(0, new=range(2, 3), old=range(0, 2))
    assert ratio == pytest.approx(0.6) and segment == ("ip", 1, 31)
    ratio, segment = market.ratio(99, new=range(2, 3), old=range(0, 2))
    assert segment == ("all",) and ratio == pytest.approx(0.6)  # industry 2 alone is too small: everyone else


def test_weighted_ratio() -> None:
    assert weighted_ratio([(3.0, 0.5), (1.0, 1.0)]) == pytest.approx(0.625)
    assert weighted_ratio([]) == 1.0


# ---------------------------------------------------------------- the whole evaluation


def world(seed: int = 7) -> Dataset:
    """40 customers of 8 managers with seasonal noise; planted: customer 3 collapses while visited (manager 1),
    the whole industry 2 falls by a third, customer 20 goes bankrupt (orders and visits stop), customer 30's
    contact phone becomes manager 4's own, manager 5 hoards, customer 35 falls 70% after its transfer."""
    rng = random.Random(seed)
    n = 25
    customers = {}
    orders: dict[int, list[float]] = {}
    contacts: dict[int, list[int]] = {}
    for cid in range(40):
        industry = 2 if cid >= 24 and cid < 30 else 1
        owner = cid % 8
        customers[cid] = CustomerInfo(cid, owner_id=owner, owned_since=AS_OF - dt.timedelta(days=900),
                                      last_followup=AS_OF - dt.timedelta(days=rng.randint(1, 20)),
                                      industry=industry, province=31, tier="B", names=(f"客户{cid}有限公司",))
        base = rng.uniform(20_000, 80_000)
        season = [1 + 0.2 * ((i % 12) in (0, 1)) for i in range(n)]
        orders[cid] = [base * season[i] * rng.uniform(0.8, 1.2) for i in range(n)]
        contacts[cid] = [rng.randint(1, 4) for _ in range(n)]
        if industry == 2:
            orders[cid] = [v * (0.65 if i >= n - 3 else 1) for i, v in enumerate(orders[cid])]
    orders[3] = [v * (0.05 if i >= n - 3 else 1) for i, v in enumerate(orders[3])]
    orders[20] = [v * (0.0 if i >= n - 3 else 1) for i, v in enumerate(orders[20])]
    contacts[20] = [c if i < n - 3 else 0 for i, c in enumerate(contacts[20])]
    orders[35] = [v * (0.3 if i >= n - 5 else 1) for i, v in enumerate(orders[35])]
    for cid in range(40):
        if cid % 8 == 5:
            customers[cid] = CustomerInfo(cid, owner_id=5, owned_since=AS_OF - dt.timedelta(days=900),
                                          last_followup=None, industry=1, province=31)
    manager_orders: dict[int, list[float]] = {m: [0.0] * n for m in range(8)}
    for cid, series in orders.items():
        owner = customers[cid].owner_id
        assert owner is not None
        for i, v in enumerate(series):
            manager_orders[owner][i] += v
    people = {m: PersonInfo(m, identities=(s.identity_key("phone", f"1380000000{m}"),)) for m in range(8)}
    changes = [s.ContactChange(1, 300, 30, AS_OF - dt.timedelta(days=5), 6, "phone", "13912345678", "13800000004")]
    transfers = [Transfer(77, 35, 3, 6, AS_OF - dt.timedelta(days=150))]
    return Dataset(AS_OF, n, customers=customers, people=people, customer_orders=orders, customer_contacts=contacts,
                   manager_orders=manager_orders, contact_changes=changes, transfers=transfers)


def test_evaluation_finds_the_planted_customers_and_not_the_noise() -> None:
    result = evaluate(world())
    flagged = {s.subject_id for s in result.of_type(SubjectType.CUSTOMER)
               if s.score >= DEFAULT_CONFIG.thresholds[SubjectType.CUSTOMER]}
    assert flagged == {3, 30, 35}
    by_id = {x.subject_id: x for x in result.of_type(SubjectType.CUSTOMER)}
    assert by_id[3].evidence[0].key == "orders_collapse.contact_continues" and by_id[3].manager_id == 3
    assert by_id[35].manager_id == 3  # the previous owner is the one concerned by a drop after the transfer
    assert 20 not in by_id  # bankrupt: orders and visits both stopped
    assert not any(x in by_id for x in range(24, 30))  # the industry-wide fall


def test_evaluation_ranks_managers_with_their_customers() -> None:
    result = evaluate(world())
    managers = {x.subject_id: x for x in result.of_type(SubjectType.MANAGER)}
    assert managers[3].rollup > 0 and {r.subject_id for r in managers[3].related} >= {3, 35}
    hoarder = managers[5]
    assert any(e.signal is Signal.HOARDING for e in hoarder.evidence)
    assert result.scores == rank(result.scores)


def test_evaluation_uses_the_configuration() -> None:
    config = config_from_mapping({"weights": {"orders_collapse": 0}})
    result = evaluate(world(), config)
    assert 3 not in {x.subject_id for x in result.of_type(SubjectType.CUSTOMER)}


def test_empty_data_set() -> None:
    data = Dataset(AS_OF, 25)
    assert data.is_empty
    assert evaluate(data).scores == []


def test_too_few_buckets_is_an_error() -> None:
    with pytest.raises(ValueError, match="buckets"):
        evaluate(Dataset(AS_OF, 3))
