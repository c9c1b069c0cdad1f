"""Each signal on its own, without a database: it fires on the pattern it is named after, stays quiet on the
look-alikes of normal business (bankruptcy, a market-wide fall, a small customer), and explains itself."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamguard.risk.domain import signals as s
from kamguard.risk.domain.evidence import Signal

AS_OF = dt.date(2025, 6, 30)


# ---------------------------------------------------------------- orders collapse while contact continues


def flow(orders_base: float, orders_recent: float, contacts_base: int, contacts_recent: int,
         market: float = 1.0) -> s.CustomerFlow:
    return s.CustomerFlow(7, [orders_base] * 12 + [orders_recent] * 3, [contacts_base] * 12 + [contacts_recent] * 3,
                          market_ratio=market)


def test_collapse_fires_when_orders_stop_and_visits_go_on() -> None:
    evidence = s.orders_collapse(flow(100_000, 5_000, 3, 4))
    assert evidence.signal is Signal.ORDERS_COLLAPSE
    assert evidence.key == "orders_collapse.contact_continues"
    assert evidence.score == 1.0
    assert evidence.numbers["drop"] == pytest.approx(0.95)
    assert evidence.series["orders"][-1] == 5_000 and evidence.series["contacts"][-1] == 4


def test_collapse_quiet_when_contact_stops_too_bankruptcy() -> None:
    evidence = s.orders_collapse(flow(100_000, 0, 3, 0))
    assert evidence.score == 0 and evidence.key == "orders_collapse.contact_stopped"


def test_collapse_quiet_when_the_whole_market_fell() -> None:
    evidence = s.orders_collapse(flow(100_000, 40_000, 3, 3, market=0.45))
    assert evidence.score == 0 and evidence.key == "orders_collapse.market"
    assert evidence.numbers["adjusted_drop"] == pytest.approx(1 - 0.4 / 0.45)


def test_collapse_still_fires_beyond_the_market() -> None:
    evidence = s.orders_collapse(flow(100_000, 5_000, 3, 3, market=0.7))
    assert evidence.score > 0.9


def test_collapse_ignores_small_customers() -> None:
    evidence = s.orders_collapse(flow(1_000, 0, 3, 3))
    assert evidence.score == 0 and evidence.key == "orders_collapse.too_small"


def test_collapse_needs_enough_buckets() -> None:
    with pytest.raises(ValueError, match="buckets"):
        s.orders_collapse(s.CustomerFlow(1, [1.0] * 3, [1] * 3))


@given(st.floats(0, 200_000), st.floats(0, 200_000), st.integers(0, 10), st.integers(0, 10),
       st.floats(0.05, 3))
def test_collapse_score_in_range_and_zero_without_contact(base: float, recent: float, cb: int, cr: int,
                                                         market: float) -> None:
    evidence = s.orders_collapse(flow(base, recent, cb, cr, market))
    assert 0.0 <= evidence.score <= 1.0
    if cr == 0:
        assert evidence.score == 0.0


@given(st.floats(10_000, 200_000), st.floats(0, 1), st.floats(0, 1))
def test_collapse_deeper_drop_never_scores_lower(base: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert s.orders_collapse(flow(base, base * low, 3, 3)).score >= s.orders_collapse(flow(base, base * high, 3, 3)).score


# ---------------------------------------------------------------- late-stage losses


def opp(i: int, owner: int, lost: bool, competitor: str = "", days_ago: int = 30, late: bool = True
        ) -> s.ClosedOpportunity:
    return s.ClosedOpportunity(i, owner, AS_OF - dt.timedelta(days=days_ago), lost, late, competitor)


def test_loss_records_split_period_and_history_and_skip_early_stages() -> None:
    opps = [opp(1, 1, True, "华为", 10), opp(2, 1, False, days_ago=20), opp(3, 1, True, days_ago=300),
            opp(4, 1, True, "X", 10, late=False), opp(5, 1, True, days_ago=900)]
    records = s.loss_records(opps, period_start=AS_OF - dt.timedelta(days=179),
                             history_start=AS_OF - dt.timedelta(days=539), as_of=AS_OF)
    record = records[1]
    assert (record.late_closed, record.late_lost, record.history_closed, record.history_lost) == (2, 1, 1, 1)
    assert record.competitors == {"华为": 1}


def test_late_losses_to_one_competitor_fire_above_peers() -> None:
    record = s.LossRecord(1, late_closed=8, late_lost=7, history_closed=8, history_lost=2,
                          competitors={"深圳某某科技": 6, "其他": 1})
    evidence = s.late_stage_losses(record, peer_rate=0.3, peer_closed=100)
    assert evidence.key == "late_stage_losses.same_competitor"
    assert evidence.score > 0.9
    assert evidence.numbers["top_competitor"] == "深圳某某科技" and evidence.numbers["top_competitor_losses"] == 6


def test_late_losses_quiet_when_it_is_their_usual_rate() -> None:
    # Always losing most late deals (a hard segment): above peers but not above their own history.
    record = s.LossRecord(1, late_closed=8, late_lost=6, history_closed=20, history_lost=15)
    assert s.late_stage_losses(record, peer_rate=0.3, peer_closed=100).score == 0


def test_late_losses_need_enough_closed() -> None:
    record = s.LossRecord(1, late_closed=2, late_lost=2)
    assert s.late_stage_losses(record, peer_rate=0.3, peer_closed=100).key == "late_stage_losses.too_few"


def test_competitor_concentration_adds_to_a_high_rate() -> None:
    spread = s.LossRecord(1, 10, 6, competitors={"a": 2, "b": 2, "c": 2})
    focused = s.LossRecord(1, 10, 6, competitors={"a": 6})
    assert s.late_stage_losses(focused, peer_rate=0.3, peer_closed=50).score > \
        s.late_stage_losses(spread, peer_rate=0.3, peer_closed=50).score


def test_competitor_names_compared_loosely() -> None:
    assert s.competitor_key(" 华为 技术（深圳）") == s.competitor_key("华为技术(深圳)")


# ---------------------------------------------------------------- prices and discounts


def lines(product: str = "P1", tier: str = "A", n: int = 12, discount: float = 5.0) -> list[s.PriceLine]:
    return [s.PriceLine(i, 100 + i, 1, product, tier, 95.0, 100.0, discount + (i % 3) * 0.5) for i in range(n)]


def test_price_far_below_the_norm_fires_per_line() -> None:
    data = lines() + [s.PriceLine(99, 999, 5, "P1", "A", 60.0, 100.0, 40.0)]
    found = s.price_outliers(data)
    assert [(line.line_id, e.key) for line, e in found] == [(99, "price_outlier.below_norm")]
    evidence = found[0][1]
    assert evidence.score == 1.0 and evidence.numbers["norm_discount"] == pytest.approx(5.5)


def test_price_norm_is_per_tier() -> None:
    # 40% is normal for tier C here, so a tier C line at 40% is not an outlier even though tier A gets 5%.
    data = lines() + lines("P1", "C", discount=40.0) + [s.PriceLine(99, 999, 5, "P1", "C", 60.0, 100.0, 40.0)]
    assert s.price_outliers(data) == []


def test_price_without_list_price_compares_with_the_median() -> None:
    data = [s.PriceLine(i, i, 1, "P2", "B", 100.0) for i in range(10)] + [s.PriceLine(50, 50, 1, "P2", "B", 50.0)]
    found = s.price_outliers(data)
    assert [line.line_id for line, _e in found] == [50]
    assert found[0][1].numbers["discount"] == pytest.approx(50.0)


def test_small_groups_have_no_norm() -> None:
    data = lines(n=4) + [s.PriceLine(99, 999, 5, "P1", "A", 10.0, 100.0, 90.0)]
    assert s.price_outliers(data) == []


def quote(i: int, manager: int, discount: float, threshold: float = 10.0) -> s.QuoteDiscount:
    return s.QuoteDiscount(i, manager, discount, threshold)


def test_discounts_clustering_just_under_the_threshold() -> None:
    peers = [quote(100 + i, 2 + i % 4, d) for i, d in enumerate([1, 3, 4, 5, 6, 2, 7, 3, 12, 15, 5, 4, 2, 6, 1])]
    own = [quote(i, 1, d) for i, d in enumerate([9.5, 9.8, 10.0, 9.0, 9.9, 7.0])]
    evidence = s.discount_clustering(1, own + peers)
    assert evidence.key == "discount_clustering.under_threshold" and evidence.score > 0.8
    assert evidence.numbers["just_under"] == 5 and evidence.numbers["basis"] == "peers"
    assert len(evidence.refs) == 5


def test_discounts_spread_out_are_normal() -> None:
    own = [quote(i, 1, d) for i, d in enumerate([1, 3, 5, 7, 9, 2])]
    assert s.discount_clustering(1, own).score == 0


def test_discount_above_the_threshold_is_not_just_under() -> None:
    assert not s.just_under(quote(1, 1, 10.5), 2.0) and s.just_under(quote(1, 1, 10.0), 2.0)
    assert not s.just_under(quote(1, 1, 0.0, threshold=1.0), 2.0)


# ---------------------------------------------------------------- payer or delivery address


def parties(payments: tuple[s.PaymentParty, ...] = (), deliveries: tuple[s.DeliveryParty, ...] = ()
            ) -> s.CustomerParties:
    return s.CustomerParties(1, ("上海澄明精密机械有限公司",), ("上海市浦东新区张江路100号",), payments, deliveries)


def test_third_party_payer_fires_by_share_of_money() -> None:
    evidence, orders = s.third_party(parties(payments=(
        s.PaymentParty(1, "上海澄明精密机械有限公司", 50_000), s.PaymentParty(2, "苏州恒通贸易有限公司", 50_000))))
    assert evidence.key == "third_party.payer" and evidence.score == 1.0
    assert evidence.numbers["payers"] == "苏州恒通贸易有限公司" and orders == ()


def test_own_payer_and_known_address_are_quiet() -> None:
    evidence, orders = s.third_party(parties(
        payments=(s.PaymentParty(1, "上海澄明精密机械", 10_000), s.PaymentParty(2, "", 5_000)),
        deliveries=(s.DeliveryParty(1, 10, "上海市 浦东新区张江路100号 3号门"),)))
    assert evidence.score == 0 and orders == ()


def test_deliveries_to_a_new_address_name_their_orders() -> None:
    evidence, orders = s.third_party(parties(deliveries=(
        s.DeliveryParty(1, 10, "上海市浦东新区张江路100号"), s.DeliveryParty(2, 11, "江苏省昆山市花桥镇商务大道8号"))))
    assert evidence.key == "third_party.address" and orders == (11,)
    assert evidence.numbers["delivery_share"] == 0.5


# ---------------------------------------------------------------- contact details and decision-makers


STAFF = {s.identity_key("phone", "13800138000"): 1, s.identity_key("email", "bob@corp.cn"): 2}


def change(field: str, before: object, after: object, actor: int | None = 1, contact: int = 5,
           was_dm: bool = True) -> s.ContactChange:
    return s.ContactChange(1, contact, 9, AS_OF, actor, field, before, after, was_dm)  # type: ignore[arg-type]


def test_phone_changed_to_the_owners_own() -> None:
    evidence = s.contact_hijack(9, [change("phone", "13912345678", "+86 138-0013-8000")], staff=STAFF, owner_id=1,
                                decision_makers_left=1)
    assert evidence.key == "contact_hijack.own_identity" and evidence.score == 1.0
    assert evidence.numbers["to_owner"] == 1


def test_email_changed_to_a_colleagues() -> None:
    evidence = s.contact_hijack(9, [change("email", "wang@client.cn", "BOB@corp.cn", actor=3)], staff=STAFF,
                                owner_id=1, decision_makers_left=1)
    assert evidence.key == "contact_hijack.colleague_identity" and evidence.score == pytest.approx(0.8)


def test_decision_makers_removed() -> None:
    changes = [change("is_decision_maker", True, False, contact=5), change("is_active", True, False, contact=6)]
    evidence = s.contact_hijack(9, changes, staff=STAFF, owner_id=1, decision_makers_left=0)
    assert evidence.key == "contact_hijack.decision_makers_removed" and evidence.score == 1.0
    some_left = s.contact_hijack(9, changes[:1], staff=STAFF, owner_id=1, decision_makers_left=2)
    assert 0 < some_left.score < evidence.score


def test_ordinary_contact_edits_are_quiet() -> None:
    changes = [change("phone", "13912345678", "13912345679"), change("is_active", True, False, was_dm=False),
               change("is_decision_maker", False, True)]
    assert s.contact_hijack(9, changes, staff=STAFF, owner_id=1, decision_makers_left=1).score == 0


def test_identity_keys() -> None:
    assert s.identity_key("phone", "+86 138 0013 8000") == s.identity_key("phone", "13800138000")
    assert s.identity_key("phone", "0086-13800138000") == "phone:13800138000"
    assert s.identity_key("phone", "12") == "" and s.identity_key("email", " ") == ""


# ---------------------------------------------------------------- results against own baseline and peers


def results(base: float, recent: float, market: float = 1.0) -> s.ManagerResults:
    return s.ManagerResults(1, [base] * 12 + [recent] * 3, market_ratio=market)


PEERS = [-0.1, 0.05, 0.0, 0.1, -0.05, 0.02, -0.02, 0.08]


def test_results_fall_far_beyond_peers() -> None:
    evidence = s.results_anomaly(results(100_000, 30_000), PEERS)
    assert evidence.key == "results_anomaly.fall" and evidence.score > 0.9
    assert evidence.numbers["own_change"] == pytest.approx(-0.7)


def test_results_fall_with_the_market_is_normal() -> None:
    evidence = s.results_anomaly(results(100_000, 60_000, market=0.62), PEERS)
    assert evidence.score == 0 and evidence.key == "results_anomaly.normal"


def test_growth_counts_less_than_a_fall() -> None:
    growth = s.results_anomaly(results(100_000, 100_000 * 1.6), PEERS, s.ResultsParams(z_full=20))
    fall = s.results_anomaly(results(100_000, 100_000 / 1.6), PEERS, s.ResultsParams(z_full=20))
    assert growth.key == "results_anomaly.growth" and 0 < growth.score < fall.score


def test_results_need_peers_and_size() -> None:
    assert s.results_anomaly(results(100_000, 0), PEERS[:2]).key == "results_anomaly.too_few_peers"
    assert s.results_anomaly(results(1_000, 0), PEERS).key == "results_anomaly.too_small"


# ---------------------------------------------------------------- data access


def test_exports_after_notice_fire_at_a_lower_bar() -> None:
    usual = [2] * 90
    recent = [5] * 14  # 2.5× the usual rate
    spike = s.data_access(s.AccessHistory(1, usual + recent, as_of=AS_OF))
    after = s.data_access(s.AccessHistory(1, usual + recent, notice_on=AS_OF - dt.timedelta(days=10), as_of=AS_OF))
    assert spike.score == 0 and spike.key == "data_access.normal"
    assert after.key == "data_access.after_notice" and after.score > 0.3


def test_access_far_beyond_normal() -> None:
    evidence = s.data_access(s.AccessHistory(1, [1] * 90 + [30] * 14))
    assert evidence.key == "data_access.spike" and evidence.score == 1.0


def test_a_few_events_never_fire() -> None:
    assert s.data_access(s.AccessHistory(1, [0] * 90 + [0] * 13 + [9])).key == "data_access.few"


def test_someone_new_is_compared_with_everyone() -> None:
    quiet = s.data_access(s.AccessHistory(1, [0] * 90 + [6] * 14, peer_rate=5.0))
    assert quiet.score == 0


# ---------------------------------------------------------------- hoarding


def test_hoarding_many_stale_customers() -> None:
    owned = [s.OwnedCustomer(i, 400, None if i % 2 else 200) for i in range(10)] + [s.OwnedCustomer(99, 400, 3)]
    evidence = s.hoarding(1, owned)
    assert evidence.key == "hoarding.stale_customers" and evidence.numbers["stale"] == 10
    assert evidence.score == 1.0 and len(evidence.refs) == 10


def test_new_customers_are_not_hoarded_yet() -> None:
    owned = [s.OwnedCustomer(i, 10, None) for i in range(10)]
    assert s.hoarding(1, owned).score == 0


def test_a_few_stale_customers_scale_down() -> None:
    owned = [s.OwnedCustomer(1, 400, None), s.OwnedCustomer(2, 400, 5)]
    evidence = s.hoarding(1, owned)
    assert 0 < evidence.score < 0.5


# ---------------------------------------------------------------- drop after a transfer


def transfer(before: float, after: float, market: float = 1.0, after_buckets: int = 4) -> s.TransferFlow:
    return s.TransferFlow(1, 2, 3, 4, AS_OF - dt.timedelta(days=150), [before] * 12, [after] * after_buckets, market)


def test_normal_drop_after_a_transfer_is_quiet() -> None:
    evidence = s.post_transfer_drop(transfer(100_000, 84_000))
    assert evidence.score == 0 and evidence.key == "post_transfer_drop.within_normal"
    assert evidence.numbers["normal_drop_high"] == 0.18


def test_drop_beyond_normal_fires_and_names_both_owners() -> None:
    evidence = s.post_transfer_drop(transfer(100_000, 30_000))
    assert evidence.key == "post_transfer_drop.beyond_normal" and evidence.score > 0.9
    assert {(r.kind, r.label) for r in evidence.refs} >= {("person", "from"), ("person", "to")}


def test_drop_explained_by_the_market_is_quiet() -> None:
    assert s.post_transfer_drop(transfer(100_000, 55_000, market=0.6)).score == 0


def test_too_early_after_the_transfer() -> None:
    assert s.post_transfer_drop(transfer(100_000, 0, after_buckets=1)).key == "post_transfer_drop.too_early"


def test_one_big_order_then_nothing_is_not_a_collapse() -> None:
    orders = [0.0] * 14 + [0.0]
    orders[2] = 600_000.0  # one project order in the baseline, nothing else
    evidence = s.orders_collapse(s.CustomerFlow(1, orders, [2] * 15))
    assert evidence.score == 0 and evidence.key == "orders_collapse.irregular"
    assert evidence.numbers["active_buckets"] == 1


def test_deliveries_are_not_judged_without_any_known_address() -> None:
    parties = s.CustomerParties(1, ("某某公司",), (), (), (s.DeliveryParty(1, 10, "上海市某路 1 号"),))
    evidence, orders = s.third_party(parties)
    assert evidence.score == 0 and orders == () and evidence.numbers["orders_delivered"] == 0


def test_transfer_of_an_irregular_customer_is_not_judged() -> None:
    flow = s.TransferFlow(1, 2, 3, 4, AS_OF, [0.0] * 11 + [500_000.0], [0.0] * 4)
    assert s.post_transfer_drop(flow).key == "post_transfer_drop.irregular"


# ---------------------------------------------------------------- the same findings from counted data (the scan's shapes)


@given(st.lists(st.tuples(st.sampled_from([1.0, 2.5, 3.0, 7.25, 100.0]), st.integers(0, 4)), min_size=1, max_size=12))
def test_weighted_median_is_the_median_written_out(counted: list[tuple[float, int]]) -> None:
    from kamguard.risk.domain.stats import mad, median, weighted_mad, weighted_median

    written = [value for value, count in counted for _ in range(count)]
    if not written:
        with pytest.raises(ValueError):
            weighted_median(counted)
        return
    assert weighted_median(counted) == median(written)
    assert weighted_mad(counted) == mad(written)


def test_price_norms_from_counted_samples_equal_those_from_the_lines() -> None:
    data = (lines() + lines("p1 ", "A", n=5, discount=6.0) + lines("P2", "B", n=9, discount=3.0)
            + [s.PriceLine(90 + i, 900 + i, 5, "P2", "B", 80.0 + i) for i in range(4)]
            + [s.PriceLine(99, 999, 5, "P1", "A", 60.0, 100.0, 40.0)])
    counted: dict[tuple[str, str, float, float | None, float | None], int] = {}
    for line in data:
        key = (line.product, line.tier, line.unit_price, line.list_price, line.discount_pct)
        counted[key] = counted.get(key, 0) + 1
    samples = [s.PriceSample(*key, lines=count) for key, count in counted.items()]
    assert len(samples) < len(data)
    assert s.price_norms(samples) == s.price_norms(data)
    outlier = data[-1]
    found = s.price_outliers([outlier], norms=s.price_norms(samples))
    assert [(line, evidence.score, evidence.numbers) for line, evidence in found] == [
        (line, evidence.score, evidence.numbers) for line, evidence in s.price_outliers(data) if line == outlier]
    z = s.price_z(outlier.unit_price, outlier.list_price, outlier.discount_pct, s.price_norms(samples)[("p1", "A")])
    assert z is not None and z > s.PriceParams().z_start


def test_everyones_clustering_and_peer_loss_rates_at_once_equal_one_by_one() -> None:
    quotes = [quote(i, 1 + i % 5, d) for i, d in enumerate([9.5, 3, 9.8, 4, 12, 9.9, 1, 8.5, 9.0, 2] * 3)]
    quotes.append(quote(99, 6, 1.0, threshold=1.5))  # judged by nobody: its threshold is inside the band
    together = s.discount_clusterings(quotes)
    assert together == {m: s.discount_clustering(m, quotes) for m in range(1, 7)}
    records = {m: s.LossRecord(m, late_closed=3 + m, late_lost=m) for m in range(1, 6)}
    assert s.peer_loss_rates(records) == {m: s.peer_loss_rate(records, m) for m in records}
