"""The signals: one pure, parameterised function each, over plain data, returning `Evidence` (a score 0–1 with
the numbers that explain it). None of them decides alone: `combine` weighs them.

Time is counted in buckets of 30 days ending on the scan's date (bucket series are oldest first, the last
bucket ends on the as-of date), so a scan in the middle of a month compares whole periods.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from kamguard.contracts.domain.rules import address_key, payer_matches
from kamguard.risk.domain.evidence import Evidence, Ref, Signal, quiet
from kamguard.risk.domain.stats import (
    clamp,
    mean,
    median,
    ramp,
    rate_z,
    robust_z,
    safe_log_ratio,
    weighted_mad,
    weighted_median,
)

# ---------------------------------------------------------------- 1. orders collapse while contact continues


@dataclass(frozen=True)
class CollapseParams:
    recent_buckets: int = 3  # the recent window (30-day buckets)
    baseline_buckets: int = 12  # the baseline before it
    min_baseline: float = 5000.0  # orders per bucket below which a customer is too small to judge
    min_active_buckets: int = 4  # baseline buckets with orders: a regular customer, not one big one-off order
    drop_start: float = 0.5  # market-adjusted drop where the score starts
    drop_full: float = 0.9  # … and where it is full
    min_recent_contacts: float = 1.0  # contacts per bucket that count as "keeps reporting contact"
    contact_keep_ratio: float = 0.5  # … and at least this share of the baseline's contact rate


@dataclass(frozen=True)
class CustomerFlow:
    """A customer's orders and reported contacts per bucket (oldest first, the same length)."""

    customer_id: int
    orders: Sequence[float]
    contacts: Sequence[int]
    labels: Sequence[str] = ()
    market_ratio: float = 1.0  # the market's recent / baseline (see market.MarketIndex), 1 = flat


def orders_collapse(flow: CustomerFlow, params: CollapseParams = CollapseParams()) -> Evidence:
    """A customer's orders collapse while its owner keeps reporting contact with it.

    Orders and contacts both stopping looks like a customer that closed or went bankrupt, not diversion; a
    market-wide fall (the customer's industry and region) is taken out before judging the drop.
    """
    r, b = params.recent_buckets, params.baseline_buckets
    signal = Signal.ORDERS_COLLAPSE
    if len(flow.orders) < r + b or len(flow.contacts) < r + b:
        raise ValueError("orders_collapse needs recent_buckets + baseline_buckets buckets of orders and contacts")
    orders = list(flow.orders)[-(r + b):]
    contacts = list(flow.contacts)[-(r + b):]
    baseline, recent = mean(orders[:b]), mean(orders[b:])
    baseline_contacts, recent_contacts = mean([float(c) for c in contacts[:b]]), mean([float(c) for c in contacts[b:]])
    numbers = {"baseline_orders": baseline, "recent_orders": recent, "baseline_contacts": baseline_contacts,
               "recent_contacts": recent_contacts, "market_ratio": flow.market_ratio,
               "recent_buckets": r, "baseline_buckets": b}
    if baseline < params.min_baseline:
        return quiet(signal, "orders_collapse.too_small", **numbers, min_baseline=params.min_baseline)
    active = sum(1 for value in orders[:b] if value > 0)
    numbers["active_buckets"] = active
    if active < params.min_active_buckets:
        return quiet(signal, "orders_collapse.irregular", **numbers)
    ratio = recent / baseline
    adjusted = ratio / max(flow.market_ratio, 0.05)
    drop, adjusted_drop = 1.0 - ratio, clamp(1.0 - adjusted)
    numbers |= {"drop": drop, "adjusted_drop": adjusted_drop}
    continues = (recent_contacts >= params.min_recent_contacts
                 and recent_contacts >= params.contact_keep_ratio * baseline_contacts)
    labels = tuple(flow.labels)[-(r + b):] if flow.labels else ()
    series = {"orders": tuple(orders), "contacts": tuple(float(c) for c in contacts)}
    if not continues:
        key = "orders_collapse.contact_stopped" if drop >= params.drop_start else "orders_collapse.normal"
        return Evidence(signal, 0.0, key, numbers, series=series, labels=labels)
    score = ramp(adjusted_drop, params.drop_start, params.drop_full)
    if score == 0.0:
        key = "orders_collapse.market" if drop >= params.drop_start else "orders_collapse.normal"
        return Evidence(signal, 0.0, key, numbers, series=series, labels=labels)
    # A customer that ordered in only some baseline months has empty months by chance: the chance of as many
    # empty recent months as seen, at its baseline rate, discounts the score (1 for a monthly buyer). Without
    # it every irregular buyer whose last three months happened to be empty scored as high as a real collapse.
    empty = sum(1 for value in orders[b:] if value <= 0)
    chance = (1.0 - active / b) ** empty if empty else 0.0
    numbers["chance_empty"] = chance
    score *= 1.0 - chance
    return Evidence(signal, score, "orders_collapse.contact_continues", numbers,
                    refs=(Ref("customer", flow.customer_id),), series=series, labels=labels)


# ---------------------------------------------------------------- 2. late-stage losses


@dataclass(frozen=True)
class LossParams:
    period_buckets: int = 6  # the period judged (30-day buckets up to the as-of date)
    history_buckets: int = 12  # the manager's own history before it
    min_closed: int = 4  # late-stage opportunities closed in the period before a rate means anything
    z_start: float = 1.5
    z_full: float = 3.5
    competitor_min: int = 2  # losses to one competitor before concentration counts
    competitor_share_start: float = 0.4
    competitor_share_full: float = 0.8
    competitor_boost: float = 0.6  # how much of the remaining score concentration on one competitor can add


@dataclass(frozen=True)
class ClosedOpportunity:
    opportunity_id: int
    owner_id: int
    closed_on: dt.date
    is_lost: bool
    reached_late_stage: bool
    competitor: str = ""


@dataclass(frozen=True)
class LossRecord:
    """One manager's late-stage results: in the period judged and in their own history before it."""

    manager_id: int
    late_closed: int
    late_lost: int
    history_closed: int = 0
    history_lost: int = 0
    competitors: Mapping[str, int] = field(default_factory=dict)  # late losses in the period, by competitor
    refs: tuple[Ref, ...] = ()


def competitor_key(name: str) -> str:
    """A competitor's name compared loosely (width and case folded, no spaces or punctuation)."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\W_]+", "", folded)


def loss_records(opportunities: Iterable[ClosedOpportunity], *, period_start: dt.date, history_start: dt.date,
                 as_of: dt.date) -> dict[int, LossRecord]:
    """Late-stage results per owner: `period_start`..`as_of` is judged, `history_start`..`period_start` is
    their own history. Opportunities that never reached a late stage do not count."""
    closed: Counter[int] = Counter()
    lost: Counter[int] = Counter()
    h_closed: Counter[int] = Counter()
    h_lost: Counter[int] = Counter()
    competitors: dict[int, Counter[str]] = {}
    refs: dict[int, list[Ref]] = {}
    names: dict[str, str] = {}
    for opp in opportunities:
        if not opp.reached_late_stage or opp.closed_on > as_of or opp.closed_on < history_start:
            continue
        if opp.closed_on >= period_start:
            closed[opp.owner_id] += 1
            if opp.is_lost:
                lost[opp.owner_id] += 1
                refs.setdefault(opp.owner_id, []).append(Ref("opportunity", opp.opportunity_id, opp.competitor))
                key = competitor_key(opp.competitor)
                if key:
                    names.setdefault(key, opp.competitor.strip())
                    competitors.setdefault(opp.owner_id, Counter())[names[key]] += 1
        else:
            h_closed[opp.owner_id] += 1
            if opp.is_lost:
                h_lost[opp.owner_id] += 1
    owners = set(closed) | set(h_closed)
    return {owner: LossRecord(owner, closed[owner], lost[owner], h_closed[owner], h_lost[owner],
                              dict(competitors.get(owner, Counter())), tuple(refs.get(owner, ())))
            for owner in owners}


def peer_loss_rate(records: Mapping[int, LossRecord], exclude: int) -> tuple[float, int]:
    """The pooled late-stage loss rate of everyone but `exclude`, and how many closed it rests on."""
    closed = sum(r.late_closed for k, r in records.items() if k != exclude)
    lost = sum(r.late_lost for k, r in records.items() if k != exclude)
    return (lost / closed if closed else 0.0), closed


def peer_loss_rates(records: Mapping[int, LossRecord]) -> dict[int, tuple[float, int]]:
    """`peer_loss_rate` for every manager, everyone's totals summed once."""
    closed = sum(r.late_closed for r in records.values())
    lost = sum(r.late_lost for r in records.values())
    rates: dict[int, tuple[float, int]] = {}
    for manager_id, record in records.items():
        others_closed, others_lost = closed - record.late_closed, lost - record.late_lost
        rates[manager_id] = ((others_lost / others_closed if others_closed else 0.0), others_closed)
    return rates


def late_stage_losses(record: LossRecord, *, peer_rate: float, peer_closed: int,
                      params: LossParams = LossParams()) -> Evidence:
    """A manager loses late-stage opportunities at an unusual rate against peers and their own history,
    above all to the same competitor."""
    signal = Signal.LATE_STAGE_LOSSES
    rate = record.late_lost / record.late_closed if record.late_closed else 0.0
    numbers: dict[str, int | float | str | None] = {
        "late_closed": record.late_closed, "late_lost": record.late_lost, "rate": rate, "peer_rate": peer_rate,
        "peer_closed": peer_closed, "history_closed": record.history_closed, "history_lost": record.history_lost}
    if record.late_closed < params.min_closed or peer_closed < params.min_closed:
        return quiet(signal, "late_stage_losses.too_few", **numbers, min_closed=params.min_closed)
    z_peer = rate_z(record.late_lost, record.late_closed, peer_rate)
    z = z_peer
    if record.history_closed >= params.min_closed:
        history_rate = record.history_lost / record.history_closed
        numbers["history_rate"] = history_rate
        z = min(z_peer, rate_z(record.late_lost, record.late_closed, history_rate))
    numbers |= {"z_peer": z_peer, "z": z}
    base = ramp(z, params.z_start, params.z_full)
    top_name, top_count = ("", 0)
    if record.competitors:
        top_name, top_count = max(record.competitors.items(), key=lambda item: (item[1], item[0]))
    share = top_count / record.late_lost if record.late_lost else 0.0
    numbers |= {"top_competitor": top_name, "top_competitor_losses": top_count, "top_competitor_share": share}
    concentration = 0.0
    if top_count >= params.competitor_min:
        concentration = ramp(share, params.competitor_share_start, params.competitor_share_full)
    boost = params.competitor_boost * concentration * ramp(z, 0.5, params.z_start)
    score = clamp(base + (1.0 - base) * boost)
    if score == 0.0:
        return quiet(signal, "late_stage_losses.normal", **numbers)
    key = "late_stage_losses.same_competitor" if concentration > 0 else "late_stage_losses.above_peers"
    return Evidence(signal, score, key, numbers, refs=record.refs[:20])


# ---------------------------------------------------------------- 3a. prices far from the norm


@dataclass(frozen=True)
class PriceParams:
    norm_buckets: int = 12  # order lines of this many buckets make the norm …
    judge_buckets: int = 3  # … and those of the last few are judged
    min_group: int = 8  # order lines of one product and tier before a norm exists
    z_start: float = 3.0
    z_full: float = 6.0
    spread_floor: float = 2.0  # the smallest spread of discounts assumed, in percentage points
    above_norm_factor: float = 0.5  # prices far above the norm count for less than far below


@dataclass(frozen=True)
class PriceLine:
    line_id: int
    order_id: int
    customer_id: int
    product: str
    tier: str
    unit_price: float
    list_price: float | None = None
    discount_pct: float | None = None
    order_on: dt.date | None = None


@dataclass(frozen=True)
class PriceSample:
    """Order lines of one product and customer tier at one price, counted rather than listed: what a norm is made
    of (the scan reads the norm window's lines this way — a few thousand distinct prices for millions of lines)."""

    product: str
    tier: str
    unit_price: float
    list_price: float | None = None
    discount_pct: float | None = None
    lines: int = 1


@dataclass(frozen=True)
class PriceNorm:
    """The norm of one product and customer tier: the reference (median) unit price, and the median and robust
    spread of the lines' discounts."""

    tier: str
    reference: float
    norm: float
    spread: float
    group: int  # order lines with a discount the norm rests on


def price_key(product: str, tier: str) -> tuple[str, str]:
    """Lines of the same product (compared without case and surrounding blanks) and customer tier."""
    return (product.strip().casefold(), tier)


def _discount(unit_price: float, list_price: float | None, discount_pct: float | None,
              reference_price: float | None) -> float | None:
    if discount_pct is not None:
        return discount_pct
    for price in (list_price, reference_price):
        if price is not None and price > 0:
            return 100.0 * (1.0 - unit_price / price)
    return None


def effective_discount(line: PriceLine, reference_price: float | None) -> float | None:
    """The line's discount in percent: as recorded, else against its list price, else against the reference
    price (the median unit price of its product and tier). None when nothing to compare with."""
    return _discount(line.unit_price, line.list_price, line.discount_pct, reference_price)


def price_norms(samples: Iterable[PriceSample | PriceLine], params: PriceParams = PriceParams()
                ) -> dict[tuple[str, str], PriceNorm]:
    """The norm of every product and tier with at least `min_group` lines (with a discount), from order lines
    or from counted samples of them — the same norms either way."""
    groups: dict[tuple[str, str], list[tuple[float, float | None, float | None, int]]] = {}
    for sample in samples:
        count = sample.lines if isinstance(sample, PriceSample) else 1
        groups.setdefault(price_key(sample.product, sample.tier), []).append(
            (sample.unit_price, sample.list_price, sample.discount_pct, count))
    norms: dict[tuple[str, str], PriceNorm] = {}
    for key, members in groups.items():
        if sum(count for *_rest, count in members) < params.min_group:
            continue
        reference = weighted_median([(unit, count) for unit, _list, _pct, count in members])
        values = [(discount, count) for discount, count in (
            (_discount(unit, listed, pct, reference), count) for unit, listed, pct, count in members)
            if discount is not None]
        group = sum(count for _value, count in values)
        if group < params.min_group:
            continue
        norm = weighted_median(values)
        spread = max(weighted_mad(values, norm), params.spread_floor)  # once per group: one reference for all
        norms[key] = PriceNorm(key[1], reference, norm, spread, group)
    return norms


def price_z(unit_price: float, list_price: float | None, discount_pct: float | None, norm: PriceNorm) -> float | None:
    """How far (robust z) a line's discount is from its norm; None when the line has no discount to compare."""
    discount = _discount(unit_price, list_price, discount_pct, norm.reference)
    return None if discount is None else (discount - norm.norm) / norm.spread


def price_outlier(line: PriceLine, norm: PriceNorm, params: PriceParams = PriceParams()) -> Evidence | None:
    """The line's finding when its discount is far from its product and tier's norm (robust z); None otherwise."""
    discount = effective_discount(line, norm.reference)
    if discount is None:
        return None
    z = (discount - norm.norm) / norm.spread
    strength = ramp(abs(z), params.z_start, params.z_full)
    if z < 0:
        strength *= params.above_norm_factor
    if strength <= 0:
        return None
    key = "price_outlier.below_norm" if z > 0 else "price_outlier.above_norm"
    numbers: dict[str, int | float | str | None] = {
        "product": line.product, "tier": norm.tier, "discount": discount, "norm_discount": norm.norm,
        "unit_price": line.unit_price, "reference_price": norm.reference, "z": z, "group": norm.group}
    return Evidence(Signal.PRICE_OUTLIER, strength, key, numbers,
                    refs=(Ref("order", line.order_id), Ref("customer", line.customer_id)))


def price_outliers(lines: Sequence[PriceLine], params: PriceParams = PriceParams(), *,
                   norms: Mapping[tuple[str, str], PriceNorm] | None = None) -> list[tuple[PriceLine, Evidence]]:
    """Order lines whose discount is far from the norm for their product and customer tier (robust z against
    the lines of the group — `norms`, or the norms of `lines` themselves). Only lines that fire are returned,
    group by group."""
    if norms is None:
        norms = price_norms(lines, params)
    groups: dict[tuple[str, str], list[PriceLine]] = {}
    for line in lines:
        groups.setdefault(price_key(line.product, line.tier), []).append(line)
    found: list[tuple[PriceLine, Evidence]] = []
    for key, members in groups.items():
        norm = norms.get(key)
        if norm is None:
            continue
        for line in members:
            evidence = price_outlier(line, norm, params)
            if evidence is not None:
                found.append((line, evidence))
    return found


# ---------------------------------------------------------------- 3b. discounts just under the approval threshold


@dataclass(frozen=True)
class ClusterParams:
    window_buckets: int = 12  # quotes submitted in this many buckets
    band: float = 2.0  # "just under": within this many points below the threshold, up to it
    min_quotes: int = 5
    z_start: float = 2.0
    z_full: float = 4.0
    share_start: float = 0.3
    share_full: float = 0.6


@dataclass(frozen=True)
class QuoteDiscount:
    quote_id: int
    manager_id: int
    discount: float  # the quote's largest line discount, %
    threshold: float  # the discount above which the quote needed approval (the author's authority), %


def just_under(quote: QuoteDiscount, band: float) -> bool:
    return quote.threshold > band and quote.threshold - band <= quote.discount <= quote.threshold and quote.discount > 0


def discount_clustering(manager_id: int, quotes: Sequence[QuoteDiscount],
                        params: ClusterParams = ClusterParams()) -> Evidence:
    """A manager's discounts cluster just under the approval threshold, more than their peers' do."""
    judged = [q for q in quotes if q.threshold > params.band]
    own = [q for q in judged if q.manager_id == manager_id]
    return _clustering(manager_id, own, len(judged) - len(own),
                       sum(1 for q in judged if q.manager_id != manager_id and just_under(q, params.band)), params)


def discount_clusterings(quotes: Sequence[QuoteDiscount], params: ClusterParams = ClusterParams()
                         ) -> dict[int, Evidence]:
    """`discount_clustering` for every manager with quotes, the peers counted once (not once per manager)."""
    judged = [q for q in quotes if q.threshold > params.band]
    own: dict[int, list[QuoteDiscount]] = {}
    for quote in judged:
        own.setdefault(quote.manager_id, []).append(quote)
    under = {m: sum(1 for q in items if just_under(q, params.band)) for m, items in own.items()}
    all_under = sum(under.values())
    return {m: _clustering(m, own.get(m, []), len(judged) - len(own.get(m, [])), all_under - under.get(m, 0), params)
            for m in sorted({q.manager_id for q in quotes})}


def _clustering(manager_id: int, own: list[QuoteDiscount], peer_count: int, peers_under: int,
                params: ClusterParams) -> Evidence:
    signal = Signal.DISCOUNT_CLUSTERING
    own_under = [q for q in own if just_under(q, params.band)]
    share = len(own_under) / len(own) if own else 0.0
    if peer_count >= 2 * params.min_quotes:
        reference, basis = peers_under / peer_count, "peers"
    else:  # too few peers: what evenly spread discounts would put in the band
        reference, basis = mean([params.band / q.threshold for q in own]) if own else 0.0, "uniform"
    numbers: dict[str, int | float | str | None] = {
        "quotes": len(own), "just_under": len(own_under), "share": share, "reference_share": reference,
        "basis": basis, "band": params.band, "peer_quotes": peer_count}
    if len(own) < params.min_quotes:
        return quiet(signal, "discount_clustering.too_few", **numbers, min_quotes=params.min_quotes)
    z = rate_z(len(own_under), len(own), reference)
    numbers["z"] = z
    score = ramp(z, params.z_start, params.z_full) * ramp(share, params.share_start, params.share_full)
    if score == 0.0:
        return quiet(signal, "discount_clustering.normal", **numbers)
    return Evidence(signal, score, "discount_clustering.under_threshold", numbers,
                    refs=tuple(Ref("quote", q.quote_id, f"{q.discount:g}% / {q.threshold:g}%") for q in own_under[:20]))


# ---------------------------------------------------------------- 4. payer or delivery address not the customer's


@dataclass(frozen=True)
class ThirdPartyParams:
    window_buckets: int = 3  # payments and deliveries of this many buckets are judged; earlier ones are known
    share_start: float = 0.1  # share of the period's money (payments) or orders (deliveries) elsewhere
    share_full: float = 0.5
    min_events: int = 1
    address_similarity: float = 90.0  # rapidfuzz partial ratio at or above which two addresses are the same


@dataclass(frozen=True)
class PaymentParty:
    payment_id: int
    payer_name: str
    amount: float


@dataclass(frozen=True)
class DeliveryParty:
    delivery_id: int
    order_id: int
    address: str


@dataclass(frozen=True)
class CustomerParties:
    customer_id: int
    names: tuple[str, ...]  # name, English name, aliases
    known_addresses: tuple[str, ...]  # the customer's address and those delivered to before the period
    payments: tuple[PaymentParty, ...] = ()
    deliveries: tuple[DeliveryParty, ...] = ()


def address_known(address: str, known: Iterable[str], similarity: float) -> bool:
    key = address_key(address)
    if not key:
        return True
    for other in known:
        other_key = address_key(other)
        if not other_key:
            continue
        if key == other_key or key in other_key or other_key in key:
            return True
        if min(len(key), len(other_key)) >= 6 and fuzz.partial_ratio(key, other_key) >= similarity:
            return True
    return False


def third_party(parties: CustomerParties, params: ThirdPartyParams = ThirdPartyParams()
                ) -> tuple[Evidence, tuple[int, ...]]:
    """Payments from, or deliveries to, someone other than the customer. Returns the customer's evidence and
    the orders delivered to an address never seen for the customer (each an order-level finding)."""
    signal = Signal.THIRD_PARTY
    paid = sum(p.amount for p in parties.payments)
    matches: dict[str, bool] = {}  # one customer pays under few names: each judged once
    for payment in parties.payments:
        payer = payment.payer_name
        if payer not in matches:
            matches[payer] = not payer.strip() or payer in parties.names or payer_matches(payer, parties.names)
    foreign = [p for p in parties.payments if not matches[p.payer_name]]
    foreign_paid = sum(p.amount for p in foreign)
    # With no address on record and none delivered to before, there is nothing to compare a delivery with.
    judged_deliveries = parties.deliveries if any(a.strip() for a in parties.known_addresses) else ()
    strange = [d for d in judged_deliveries
               if not address_known(d.address, parties.known_addresses, params.address_similarity)]
    order_ids = {d.order_id for d in judged_deliveries}
    strange_orders = tuple(sorted({d.order_id for d in strange}))
    pay_share = foreign_paid / paid if paid > 0 else 0.0
    delivery_share = len(strange_orders) / len(order_ids) if order_ids else 0.0
    numbers: dict[str, int | float | str | None] = {
        "payments": len(parties.payments), "paid": paid, "third_party_payments": len(foreign),
        "third_party_paid": foreign_paid, "payment_share": pay_share, "orders_delivered": len(order_ids),
        "orders_elsewhere": len(strange_orders), "delivery_share": delivery_share,
        "known_addresses": len(parties.known_addresses),
        "payers": ", ".join(sorted({p.payer_name.strip() for p in foreign}))[:300],
        "addresses": " | ".join(sorted({d.address.strip() for d in strange}))[:300]}
    pay_score = ramp(pay_share, params.share_start, params.share_full) if len(foreign) >= params.min_events else 0.0
    delivery_score = (ramp(delivery_share, params.share_start, params.share_full)
                      if len(strange_orders) >= params.min_events else 0.0)
    score = 1.0 - (1.0 - pay_score) * (1.0 - delivery_score)
    if score == 0.0:
        return quiet(signal, "third_party.none", **numbers), ()
    if pay_score and delivery_score:
        key = "third_party.payer_and_address"
    else:
        key = "third_party.payer" if pay_score else "third_party.address"
    refs = tuple([Ref("payment", p.payment_id, p.payer_name) for p in foreign[:10]]
                 + [Ref("delivery", d.delivery_id, d.address) for d in strange[:10]])
    return Evidence(signal, score, key, numbers, refs=refs), (strange_orders if delivery_score else ())


# ---------------------------------------------------------------- 5. contact details hijacked, decision-makers removed


@dataclass(frozen=True)
class HijackParams:
    window_days: int = 90  # contact changes made in this many days
    own_identity_score: float = 1.0  # a contact's phone or e-mail changed to the owner's (or the editor's) own
    colleague_identity_score: float = 0.8  # … to another employee's
    removals_full: int = 2  # decision-makers removed in the window for a full score
    removal_score: float = 0.8  # the score of removals when decision-makers remain (1.0 when none remain)


IDENTITY_FIELDS = ("phone", "email", "wechat")


@dataclass(frozen=True)
class ContactChange:
    event_id: int
    contact_id: int
    customer_id: int
    at: dt.date
    actor_id: int | None
    field: str  # phone, email, wechat, is_decision_maker, is_active
    before: str | bool | None
    after: str | bool | None
    was_decision_maker: bool = False  # the contact was a decision-maker when the change was made


def identity_key(kind: str, value: object) -> str:
    """A phone, e-mail or WeChat id compared loosely: digits only for phones (without +86), case-folded for the
    others. Empty when there is nothing to compare."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return ""
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        if digits.startswith("0086"):
            digits = digits[4:]
        elif digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        return f"phone:{digits}" if len(digits) >= 7 else ""
    return f"{kind}:{text.casefold()}"


def contact_hijack(customer_id: int, changes: Sequence[ContactChange], *, staff: Mapping[str, int],
                   owner_id: int | None, decision_makers_left: int,
                   params: HijackParams = HijackParams()) -> Evidence:
    """A contact's phone, e-mail or WeChat changed to an employee's own (above all the owner's), or
    decision-makers removed from the customer's contacts. `staff` maps identity keys to person ids."""
    signal = Signal.CONTACT_HIJACK
    hijacks: list[tuple[ContactChange, int]] = []
    removals: list[ContactChange] = []
    for change in changes:
        if change.field in IDENTITY_FIELDS:
            person = staff.get(identity_key(change.field, change.after))
            before_person = staff.get(identity_key(change.field, change.before))
            if person is not None and before_person != person:
                hijacks.append((change, person))
        elif change.field == "is_decision_maker" and change.before is True and change.after is False:
            removals.append(change)
        elif change.field == "is_active" and change.before is True and change.after is False and change.was_decision_maker:
            removals.append(change)
    hijack_score = 0.0
    own = False
    for change, person in hijacks:
        if person == owner_id or person == change.actor_id:
            own = True
            hijack_score = max(hijack_score, params.own_identity_score)
        else:
            hijack_score = max(hijack_score, params.colleague_identity_score)
    removed_contacts = {c.contact_id for c in removals}
    removal_score = 0.0
    if removed_contacts:
        strength = 1.0 if decision_makers_left == 0 else params.removal_score
        removal_score = strength * clamp(len(removed_contacts) / max(params.removals_full, 1))
    score = 1.0 - (1.0 - clamp(hijack_score)) * (1.0 - removal_score)
    numbers: dict[str, int | float | str | None] = {
        "identity_changes": len(hijacks), "to_owner": int(own), "decision_makers_removed": len(removed_contacts),
        "decision_makers_left": decision_makers_left,
        "fields": ", ".join(sorted({c.field for c, _p in hijacks}))}
    if score == 0.0:
        return quiet(signal, "contact_hijack.none", **numbers)
    if hijacks and removed_contacts:
        key = "contact_hijack.identity_and_removal"
    elif hijacks:
        key = "contact_hijack.own_identity" if own else "contact_hijack.colleague_identity"
    else:
        key = "contact_hijack.decision_makers_removed"
    refs = tuple([Ref("contact", c.contact_id, c.field) for c, _p in hijacks]
                 + [Ref("contact", c.contact_id, c.field) for c in removals]
                 + [Ref("person", p) for _c, p in hijacks])
    return Evidence(signal, score, key, numbers, refs=(Ref("customer", customer_id), *refs[:20]))


# ---------------------------------------------------------------- 6. abnormal growth or fall (R2)


@dataclass(frozen=True)
class ResultsParams:
    recent_buckets: int = 3
    baseline_buckets: int = 12
    min_baseline: float = 20000.0  # a manager's orders per bucket below which they are not judged
    min_peers: int = 5
    z_start: float = 2.5
    z_full: float = 5.0
    spread_floor: float = 0.15  # the smallest spread of peers' moves assumed (log scale)
    growth_factor: float = 0.6  # abnormal growth counts for less than an abnormal fall


@dataclass(frozen=True)
class ManagerResults:
    manager_id: int
    orders: Sequence[float]  # credited orders per bucket, oldest first
    market_ratio: float = 1.0  # what their customers' markets did over the same windows
    labels: Sequence[str] = ()


def individual_move(results: ManagerResults, params: ResultsParams = ResultsParams()) -> float | None:
    """log(own recent / own baseline) minus the market's move; None when the manager is too small to judge."""
    r, b = params.recent_buckets, params.baseline_buckets
    values = list(results.orders)[-(r + b):]
    if len(values) < r + b:
        return None
    baseline, recent = mean(values[:b]), mean(values[b:])
    if baseline < params.min_baseline:
        return None
    floor = params.min_baseline / 100.0
    return safe_log_ratio(recent, baseline, floor=floor) - safe_log_ratio(max(results.market_ratio, 0.01), 1.0,
                                                                          floor=0.01)


def results_anomaly(results: ManagerResults, peer_moves: Sequence[float],
                    params: ResultsParams = ResultsParams()) -> Evidence:
    """A manager's results grow or fall abnormally against their own baseline, once the market-wide move of
    their customers' industries and regions is taken out, compared with how far their peers moved."""
    signal = Signal.RESULTS_ANOMALY
    r, b = params.recent_buckets, params.baseline_buckets
    values = list(results.orders)[-(r + b):]
    baseline, recent = mean(values[:b]), mean(values[b:])
    numbers: dict[str, int | float | str | None] = {
        "baseline_orders": baseline, "recent_orders": recent, "own_change": (recent / baseline - 1.0) if baseline else None,
        "market_change": results.market_ratio - 1.0, "peers": len(peer_moves)}
    move = individual_move(results, params)
    labels = tuple(results.labels)[-(r + b):] if results.labels else ()
    series = {"orders": tuple(values)}
    if move is None:
        return quiet(signal, "results_anomaly.too_small", **numbers, min_baseline=params.min_baseline)
    if len(peer_moves) < params.min_peers:
        return quiet(signal, "results_anomaly.too_few_peers", **numbers, min_peers=params.min_peers)
    z = robust_z(move, peer_moves, floor=params.spread_floor)
    numbers |= {"individual_move": move, "peer_median_move": median(peer_moves), "z": z}
    score = ramp(abs(z), params.z_start, params.z_full)
    if z > 0:
        score *= params.growth_factor
    if score == 0.0:
        return Evidence(signal, 0.0, "results_anomaly.normal", numbers, series=series, labels=labels)
    key = "results_anomaly.fall" if z < 0 else "results_anomaly.growth"
    return Evidence(signal, score, key, numbers, refs=(Ref("person", results.manager_id),), series=series,
                    labels=labels)


# ---------------------------------------------------------------- 7. viewing and exporting far beyond normal


@dataclass(frozen=True)
class AccessParams:
    baseline_days: int = 90  # the usual pattern
    recent_days: int = 14  # the days judged
    min_recent_events: int = 10  # fewer sensitive reads than this in the recent window never fire
    ratio_start: float = 3.0  # recent daily rate / usual daily rate where the score starts
    ratio_full: float = 10.0
    notice_ratio_start: float = 1.5  # after a resignation notice the bar is lower …
    notice_ratio_full: float = 4.0
    notice_boost: float = 1.5  # … and the score is raised
    floor_rate: float = 0.5  # the smallest usual daily rate assumed (events per day)


@dataclass(frozen=True)
class AccessHistory:
    person_id: int
    daily: Sequence[int]  # sensitive reads (views, reveals, exports, downloads) per day, oldest first
    notice_on: dt.date | None = None  # the resignation notice, if given on or before the as-of date
    as_of: dt.date | None = None
    peer_rate: float = 0.0  # the usual daily rate of everyone (median), used when the person has no history


def data_access(history: AccessHistory, params: AccessParams = AccessParams()) -> Evidence:
    """Viewing or exporting customer data far beyond a person's normal pattern, above all after a resignation
    notice."""
    signal = Signal.DATA_ACCESS
    days = list(history.daily)
    if len(days) <= params.recent_days:
        raise ValueError("data_access needs more days of history than the recent window")
    baseline_days, recent_days = days[:-params.recent_days], days[-params.recent_days:]
    usual = max(mean([float(d) for d in baseline_days]), history.peer_rate, params.floor_rate)
    recent_total = sum(recent_days)
    rate = recent_total / params.recent_days
    ratio = rate / usual
    after_notice = history.notice_on is not None and (
        history.as_of is None or (history.as_of - history.notice_on).days <= len(days))
    numbers: dict[str, int | float | str | None] = {
        "recent_events": recent_total, "recent_rate": rate, "usual_rate": usual, "ratio": ratio,
        "recent_days": params.recent_days, "after_notice": int(after_notice),
        "notice_on": history.notice_on.isoformat() if history.notice_on else None}
    if recent_total < params.min_recent_events:
        return quiet(signal, "data_access.few", **numbers)
    if after_notice:
        score = ramp(ratio, params.notice_ratio_start, params.notice_ratio_full)
    else:
        score = ramp(ratio, params.ratio_start, params.ratio_full)
    if after_notice:
        score = clamp(score * params.notice_boost)
    if score == 0.0:
        return quiet(signal, "data_access.normal", **numbers)
    key = "data_access.after_notice" if after_notice else "data_access.spike"
    return Evidence(signal, score, key, numbers, refs=(Ref("person", history.person_id),),
                    series={"events": tuple(float(d) for d in days[-60:])})


# ---------------------------------------------------------------- 8. hoarding


@dataclass(frozen=True)
class HoardingParams:
    grace_days: int = 30  # customers owned for less than this are not judged
    stale_days: int = 90  # no follow-up for longer than this: left alone
    min_stale: int = 5  # stale customers for a full score (fewer scale it down)
    share_start: float = 0.3
    share_full: float = 0.7


@dataclass(frozen=True)
class OwnedCustomer:
    customer_id: int
    owned_days: int
    days_since_followup: int | None  # None: never followed up


def hoarding(manager_id: int, owned: Sequence[OwnedCustomer], params: HoardingParams = HoardingParams()) -> Evidence:
    """Owned customers left without follow-up (hoarding a book of customers others could serve)."""
    signal = Signal.HOARDING
    judged = [c for c in owned if c.owned_days >= params.grace_days]
    stale = [c for c in judged if c.days_since_followup is None or c.days_since_followup > params.stale_days]
    share = len(stale) / len(judged) if judged else 0.0
    numbers: dict[str, int | float | str | None] = {
        "owned": len(owned), "judged": len(judged), "stale": len(stale), "share": share,
        "stale_days": params.stale_days}
    score = ramp(share, params.share_start, params.share_full) * clamp(len(stale) / max(params.min_stale, 1))
    if score == 0.0:
        return quiet(signal, "hoarding.normal", **numbers)
    stale_sorted = sorted(stale, key=lambda c: -(c.days_since_followup if c.days_since_followup is not None
                                                 else 10**6))
    return Evidence(signal, score, "hoarding.stale_customers", numbers,
                    refs=tuple(Ref("customer", c.customer_id) for c in stale_sorted[:20]))


# ---------------------------------------------------------------- 9. drop after a transfer beyond the normal


@dataclass(frozen=True)
class TransferParams:
    lookback_buckets: int = 12  # transfers that took effect within this many buckets
    normal_drop_low: float = 0.13  # studies of real sales forces: 13–18% of annual sales after an owner change
    normal_drop_high: float = 0.18
    drop_full: float = 0.6
    before_buckets: int = 12
    min_after_buckets: int = 2
    min_before: float = 5000.0  # orders per bucket before the transfer below which it is not judged
    min_active_before: int = 3  # buckets with orders before the transfer: a regular customer


@dataclass(frozen=True)
class TransferFlow:
    change_id: int
    customer_id: int
    from_owner_id: int | None
    to_owner_id: int | None
    effective_on: dt.date
    before: Sequence[float]  # orders per bucket before the transfer (oldest first)
    after: Sequence[float]  # orders per bucket after it, up to the as-of date
    market_ratio: float = 1.0  # the market's after / before over the same windows


def post_transfer_drop(flow: TransferFlow, params: TransferParams = TransferParams()) -> Evidence:
    """After a transfer or departure, the handed-over customer's orders fall further than the normal drop after
    an owner change (13–18%), once the market's own move is taken out."""
    signal = Signal.POST_TRANSFER_DROP
    before = list(flow.before)[-params.before_buckets:]
    after = list(flow.after)
    before_mean, after_mean = mean(before), mean(after)
    numbers: dict[str, int | float | str | None] = {
        "before_orders": before_mean, "after_orders": after_mean, "after_buckets": len(after),
        "market_ratio": flow.market_ratio, "normal_drop_low": params.normal_drop_low,
        "normal_drop_high": params.normal_drop_high, "effective_on": flow.effective_on.isoformat()}
    if len(after) < params.min_after_buckets or before_mean < params.min_before:
        return quiet(signal, "post_transfer_drop.too_early", **numbers)
    if sum(1 for value in before if value > 0) < params.min_active_before:
        return quiet(signal, "post_transfer_drop.irregular", **numbers)
    drop = 1.0 - after_mean / before_mean
    adjusted = clamp(1.0 - (after_mean / before_mean) / max(flow.market_ratio, 0.05))
    numbers |= {"drop": drop, "adjusted_drop": adjusted}
    score = ramp(adjusted, params.normal_drop_high, params.drop_full)
    if score == 0.0:
        key = "post_transfer_drop.within_normal" if adjusted > 0 else "post_transfer_drop.normal"
        return quiet(signal, key, **numbers)
    refs = [Ref("customer", flow.customer_id), Ref("ownership_change", flow.change_id)]
    if flow.from_owner_id is not None:
        refs.append(Ref("person", flow.from_owner_id, "from"))
    if flow.to_owner_id is not None:
        refs.append(Ref("person", flow.to_owner_id, "to"))
    return Evidence(signal, score, "post_transfer_drop.beyond_normal", numbers, refs=tuple(refs),
                    series={"orders": tuple(before) + tuple(after)})
