"""The whole evaluation over one data set, as of one date: every signal for every subject, combined and ranked.

The scan service loads a `Dataset` (plain data, nothing after the as-of date) and calls `evaluate`; tests and
the scenario generator build data sets by hand. Nothing here reads a database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from kamguard.risk.domain.combine import SubjectScore, rank, subject_score, with_rollup
from kamguard.risk.domain.config import DEFAULT_CONFIG, RiskConfig
from kamguard.risk.domain.evidence import Evidence, Ref, Signal, SubjectType
from kamguard.risk.domain.market import MarketIndex, Segment, segment_levels, weighted_ratio
from kamguard.risk.domain.signals import (
    AccessHistory,
    ClosedOpportunity,
    ContactChange,
    CustomerFlow,
    CustomerParties,
    DeliveryParty,
    ManagerResults,
    OwnedCustomer,
    PaymentParty,
    PriceLine,
    PriceNorm,
    QuoteDiscount,
    TransferFlow,
    contact_hijack,
    data_access,
    discount_clusterings,
    hoarding,
    individual_move,
    late_stage_losses,
    loss_records,
    orders_collapse,
    peer_loss_rates,
    post_transfer_drop,
    price_outliers,
    results_anomaly,
    third_party,
)
from kamguard.risk.domain.stats import mean, median

BUCKET_DAYS = 30


def bucket_index(as_of: dt.date, day: dt.date, count: int) -> int | None:
    """The bucket (0 = oldest of `count`, count − 1 = the 30 days ending on `as_of`) a day falls in; None
    outside the window (after the as-of date or too old)."""
    age = (as_of - day).days
    if age < 0 or age >= count * BUCKET_DAYS:
        return None
    return count - 1 - age // BUCKET_DAYS


def bucket_labels(as_of: dt.date, count: int) -> tuple[str, ...]:
    """The last day of each bucket, oldest first."""
    return tuple((as_of - dt.timedelta(days=(count - 1 - i) * BUCKET_DAYS)).isoformat() for i in range(count))


def bucket_start(as_of: dt.date, buckets: int) -> dt.date:
    """The first day of the last `buckets` buckets."""
    return as_of - dt.timedelta(days=buckets * BUCKET_DAYS - 1)


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    owner_id: int | None = None  # the owner as of the date
    owned_since: dt.date | None = None
    last_followup: dt.date | None = None  # the last contact on or before the date
    industry: int | None = None
    province: int | None = None
    tier: str = "C"
    names: tuple[str, ...] = ()
    address: str = ""
    is_live: bool = True  # active or dormant (closed and merged customers are not judged)


@dataclass(frozen=True)
class PersonInfo:
    id: int
    identities: tuple[str, ...] = ()  # identity keys (phone, e-mail, WeChat): see signals.identity_key
    notice_on: dt.date | None = None  # resignation notice, when given on or before the date
    is_manager: bool = True  # owns customers or is credited with orders


@dataclass(frozen=True)
class Transfer:
    change_id: int
    customer_id: int
    from_owner_id: int | None
    to_owner_id: int | None
    effective_on: dt.date


@dataclass
class Dataset:
    as_of: dt.date
    buckets: int  # length of every order and contact series
    customers: Mapping[int, CustomerInfo] = field(default_factory=dict)
    people: Mapping[int, PersonInfo] = field(default_factory=dict)
    customer_orders: Mapping[int, Sequence[float]] = field(default_factory=dict)
    customer_contacts: Mapping[int, Sequence[int]] = field(default_factory=dict)
    manager_orders: Mapping[int, Sequence[float]] = field(default_factory=dict)  # credited manager
    opportunities: Sequence[ClosedOpportunity] = ()
    quotes: Sequence[QuoteDiscount] = ()
    price_lines: Sequence[PriceLine] = ()
    # The norms per (product, tier) when the loader computed them from the whole norm window (then `price_lines`
    # need only hold the lines that may be judged); None: the norms are made from `price_lines`.
    price_norms: Mapping[tuple[str, str], PriceNorm] | None = None
    price_lines_read: int | None = None  # order lines in the norm window (default: len(price_lines))
    payments: Mapping[int, Sequence[PaymentParty]] = field(default_factory=dict)  # by customer, judged window
    deliveries: Mapping[int, Sequence[DeliveryParty]] = field(default_factory=dict)  # by customer, judged window
    known_addresses: Mapping[int, Sequence[str]] = field(default_factory=dict)  # by customer, before the window
    order_people: Mapping[int, int | None] = field(default_factory=dict)  # order → credited manager
    order_customers: Mapping[int, int] = field(default_factory=dict)  # order → customer
    contact_changes: Sequence[ContactChange] = ()
    decision_makers: Mapping[int, int] = field(default_factory=dict)  # customer → active decision-makers
    access_daily: Mapping[int, Sequence[int]] = field(default_factory=dict)  # person → sensitive reads per day
    transfers: Sequence[Transfer] = ()
    # The customers judged (their signals, their orders'); None: everyone. Market, peers and managers' own signals
    # still rest on everyone's data; a manager's roll-up takes the judged customers' and orders' new scores and, for
    # the others, `known_scores` (what the last full evaluation found).
    focus: Collection[int] | None = None
    known_scores: Sequence[SubjectScore] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.customers or self.customer_orders or self.opportunities or self.quotes
                    or self.access_daily or self.contact_changes)


@dataclass
class Evaluation:
    as_of: dt.date
    scores: list[SubjectScore]  # ranked; only subjects with at least one fired signal
    counts: dict[str, int]  # what was looked at: customers, managers, orders, …

    def of_type(self, subject_type: SubjectType) -> list[SubjectScore]:
        return [s for s in self.scores if s.subject_type == subject_type]


def _zeros(n: int) -> list[float]:
    return [0.0] * n


def evaluate(data: Dataset, config: RiskConfig = DEFAULT_CONFIG) -> Evaluation:
    """Every signal for every subject of `data`, combined with `config`'s weights and ranked."""
    n = data.buckets
    if n < config.buckets_needed:
        raise ValueError(f"the data set has {n} buckets; the configuration needs {config.buckets_needed}")
    labels = bucket_labels(data.as_of, n)
    customer_evidence: dict[int, list[Evidence]] = defaultdict(list)
    customer_person: dict[int, int | None] = {}
    order_evidence: dict[int, list[Evidence]] = defaultdict(list)
    manager_evidence: dict[int, list[Evidence]] = defaultdict(list)

    # ------------------------------------------------------------ the market
    segments: dict[int, tuple[Segment, ...]] = {
        c.id: segment_levels(c.industry, c.province) for c in data.customers.values()}
    series = {cid: list(values) for cid, values in data.customer_orders.items()}
    market = MarketIndex(series=series, segments=segments, length=n, min_members=5)

    # ------------------------------------------------------------ customers
    cp = config.collapse
    new = range(n - cp.recent_buckets, n)
    old = range(n - cp.recent_buckets - cp.baseline_buckets, n - cp.recent_buckets)
    focus = data.focus
    judged = (lambda cid: True) if focus is None else focus.__contains__  # noqa: E731
    ratios: dict[int, float] = {}
    for cid, orders in series.items():
        if not judged(cid):
            continue
        info = data.customers.get(cid)
        if info is not None and not info.is_live:
            continue
        ratio, _segment = market.ratio(cid, new=new, old=old)
        ratios[cid] = ratio
        if not any(orders):
            continue
        contacts = list(data.customer_contacts.get(cid, [0] * n))
        flow = CustomerFlow(cid, orders, contacts, labels, market_ratio=ratio)
        customer_evidence[cid].append(orders_collapse(flow, cp))

    tp = config.third_party
    for cid in set(data.payments) | set(data.deliveries):
        info = data.customers.get(cid)
        if info is None or not judged(cid):
            continue
        known = tuple(a for a in (info.address, *data.known_addresses.get(cid, ())) if a)
        parties = CustomerParties(cid, info.names, known, tuple(data.payments.get(cid, ())),
                                  tuple(data.deliveries.get(cid, ())))
        evidence, strange_orders = third_party(parties, tp)
        customer_evidence[cid].append(evidence)
        for order_id in strange_orders:
            addresses = [d for d in parties.deliveries if d.order_id == order_id]
            order_evidence[order_id].append(Evidence(
                Signal.THIRD_PARTY, 1.0, "third_party.order_address",
                {"address": addresses[0].address if addresses else "", "known_addresses": len(known)},
                refs=(Ref("order", order_id), Ref("customer", cid))))

    staff: dict[str, int] = {}
    for person in data.people.values():
        for key in person.identities:
            if key:
                staff.setdefault(key, person.id)
    by_customer: dict[int, list[ContactChange]] = defaultdict(list)
    for change in data.contact_changes:
        by_customer[change.customer_id].append(change)
    for cid, changes in by_customer.items():
        if not judged(cid):
            continue
        info = data.customers.get(cid)
        evidence = contact_hijack(cid, changes, staff=staff, owner_id=info.owner_id if info else None,
                                  decision_makers_left=data.decision_makers.get(cid, 0), params=config.hijack)
        customer_evidence[cid].append(evidence)

    tr = config.transfer
    best_transfer: dict[int, tuple[Evidence, Transfer]] = {}
    for transfer in data.transfers:
        if not judged(transfer.customer_id):
            continue
        at = bucket_index(data.as_of, transfer.effective_on, n)
        if at is None or n - 1 - at > tr.lookback_buckets:
            continue
        customer_series = series.get(transfer.customer_id)
        if customer_series is None:
            continue
        before_range = range(max(0, at - tr.before_buckets), at)
        after_range = range(at + 1, n)
        ratio, _segment = market.ratio(transfer.customer_id, new=after_range, old=before_range)
        transfer_flow = TransferFlow(transfer.change_id, transfer.customer_id, transfer.from_owner_id, transfer.to_owner_id,
                            transfer.effective_on, [customer_series[i] for i in before_range],
                            [customer_series[i] for i in after_range], market_ratio=ratio)
        found = post_transfer_drop(transfer_flow, tr)
        current = best_transfer.get(transfer.customer_id)
        if current is None or found.score > current[0].score:
            best_transfer[transfer.customer_id] = (found, transfer)
    for cid, (found, transfer) in best_transfer.items():
        customer_evidence[cid].append(found)
        if found.fired:
            customer_person[cid] = transfer.from_owner_id

    # ------------------------------------------------------------ orders
    pp = config.prices
    judged_from = bucket_start(data.as_of, pp.judge_buckets)
    for line, evidence in price_outliers(list(data.price_lines), pp, norms=data.price_norms):
        if (line.order_on is not None and line.order_on < judged_from) or not judged(line.customer_id):
            continue
        order_evidence[line.order_id].append(evidence)

    # ------------------------------------------------------------ managers
    lp = config.losses
    period_start = bucket_start(data.as_of, lp.period_buckets)
    history_start = bucket_start(data.as_of, lp.period_buckets + lp.history_buckets)
    records = loss_records(data.opportunities, period_start=period_start, history_start=history_start,
                           as_of=data.as_of)
    peer_rates = peer_loss_rates(records)
    for manager_id, record in records.items():
        peer_rate, peer_closed = peer_rates[manager_id]
        manager_evidence[manager_id].append(
            late_stage_losses(record, peer_rate=peer_rate, peer_closed=peer_closed, params=lp))

    cl = config.clustering  # the loader reads the window; the quotes given are the ones judged
    for manager_id, clustering in discount_clusterings(list(data.quotes), cl).items():
        manager_evidence[manager_id].append(clustering)

    rp = config.results
    r_new = range(n - rp.recent_buckets, n)
    r_old = range(n - rp.recent_buckets - rp.baseline_buckets, n - rp.recent_buckets)
    owned_by: dict[int, list[CustomerInfo]] = defaultdict(list)
    for info in data.customers.values():
        if info.owner_id is not None and info.is_live:
            owned_by[info.owner_id].append(info)
    manager_results: dict[int, ManagerResults] = {}
    for manager_id, manager_series in data.manager_orders.items():
        pairs = []
        for info in owned_by.get(manager_id, []):
            customer_series = series.get(info.id)
            if not customer_series:
                continue
            weight = mean([customer_series[i] for i in r_old])
            if weight > 0:
                pairs.append((weight, market.ratio(info.id, new=r_new, old=r_old)[0]))
        manager_results[manager_id] = ManagerResults(manager_id, list(manager_series), weighted_ratio(pairs), labels)
    moves = {m: individual_move(r, rp) for m, r in manager_results.items()}
    for manager_id, results in manager_results.items():
        peers = [move for other, move in moves.items() if other != manager_id and move is not None]
        evidence = results_anomaly(results, peers, rp)
        manager_evidence[manager_id].append(evidence)

    ap = config.access
    usual_rates = [mean([float(d) for d in days[:-ap.recent_days]]) for days in data.access_daily.values()
                   if len(days) > ap.recent_days]
    peer_rate = median(usual_rates) if usual_rates else 0.0
    for person_id, days in data.access_daily.items():
        if len(days) <= ap.recent_days:
            continue
        someone = data.people.get(person_id)
        history = AccessHistory(person_id, list(days), someone.notice_on if someone else None, data.as_of, peer_rate)
        manager_evidence[person_id].append(data_access(history, ap))

    hp = config.hoarding
    for owner_id, infos in owned_by.items():
        owned = [OwnedCustomer(i.id, (data.as_of - i.owned_since).days if i.owned_since else 10**4,
                               (data.as_of - i.last_followup).days if i.last_followup else None) for i in infos]
        manager_evidence[owner_id].append(hoarding(owner_id, owned, hp))

    # ------------------------------------------------------------ scores
    weights = config.weights
    scores: list[SubjectScore] = []
    customer_scores: dict[int, SubjectScore] = {}
    for cid, items in customer_evidence.items():
        info = data.customers.get(cid)
        concerned = customer_person.get(cid, info.owner_id if info else None)
        score = subject_score(SubjectType.CUSTOMER, cid, items, weights, manager_id=concerned)
        if score.score > 0:
            customer_scores[cid] = score
    order_scores: dict[int, SubjectScore] = {}
    for order_id, items in order_evidence.items():
        concerned = data.order_people.get(order_id)
        if concerned is None:
            customer = data.customers.get(data.order_customers.get(order_id, -1))
            concerned = customer.owner_id if customer else None
        score = subject_score(SubjectType.ORDER, order_id, items, weights, manager_id=concerned)
        if score.score > 0:
            order_scores[order_id] = score
    related: dict[int, list[SubjectScore]] = defaultdict(list)
    fresh = {s.key for s in (*customer_scores.values(), *order_scores.values())}
    earlier = [s for s in data.known_scores if s.key not in fresh and s.subject_type != SubjectType.MANAGER]
    for score in (*customer_scores.values(), *order_scores.values(), *earlier):
        if score.manager_id is not None:
            related[score.manager_id].append(score)
    manager_scores: list[SubjectScore] = []
    for manager_id in set(manager_evidence) | set(related):
        own = subject_score(SubjectType.MANAGER, manager_id, manager_evidence.get(manager_id, []), weights,
                            manager_id=manager_id)
        total = with_rollup(own, related.get(manager_id, []), weight=config.rollup_weight, top=config.rollup_top)
        if total.score > 0:
            manager_scores.append(total)
    scores = rank([*customer_scores.values(), *order_scores.values(), *manager_scores])
    counts = {"customers": len(data.customers), "people": len(data.people),
              "customers_with_orders": sum(1 for s in series.values() if any(s)),
              "managers_judged": len(set(manager_evidence)), "order_lines": len(data.price_lines) if data.price_lines_read is None else data.price_lines_read,
              "opportunities": len(data.opportunities), "quotes": len(data.quotes),
              "contact_changes": len(data.contact_changes), "transfers": len(data.transfers)}
    return Evaluation(data.as_of, scores, counts)
