"""The data as it stood on a date, read in bulk into the engine's plain `Dataset`.

Nothing dated after the as-of date is used: orders by order date, payments by payment date, deliveries by
shipping date, activities by when they took place, opportunities by their closing date, quotes by submission,
owners from the ownership ledger's effective times, contact changes and sensitive reads from the audit trail's
times, resignation notices by the day notice was given. (Records are judged by the business dates they carry, so
history imported later is evaluated where it belongs.)

Every source is read with one query streamed in chunks, never one query per customer or person. The big ones are
set-based: orders are summed per customer, credited manager and 30-day bucket in SQL (the bucket a `CASE` over the
buckets' first days), follow-up activities counted per customer and bucket (the buckets' first local midnights, so
day boundaries are the local time zone's on SQLite and PostgreSQL alike), and the order lines that make the price
norms counted per product, tier and price (a few thousand rows for millions of lines); only the lines of the
judged window are read one by one, and only those far from their norm are kept. These rows are read as the driver
returns them (`_rows`), without Django's per-row converters.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate
from django.db.models.sql.constants import MULTI
from django.utils import timezone

from kamguard.activities.models import FOLLOWUP_STATUSES, Activity
from kamguard.contracts.models import Delivery, Order, OrderLine, OrderStatus, Payment, PaymentStatus
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Contact, Customer, CustomerStatus, OwnershipChange, OwnershipKind
from kamguard.org.models import Region, User
from kamguard.risk.domain.config import RiskConfig
from kamguard.risk.domain.engine import (
    BUCKET_DAYS,
    CustomerInfo,
    Dataset,
    PersonInfo,
    Transfer,
    bucket_start,
)
from kamguard.risk.domain.signals import (
    ClosedOpportunity,
    ContactChange,
    DeliveryParty,
    PaymentParty,
    PriceLine,
    PriceSample,
    QuoteDiscount,
    identity_key,
    price_key,
    price_norms,
    price_z,
)
from kamguard.sales.models import Opportunity, Outcome, Quote, Stage, StageChange

CHUNK = 5000
LIVE_CUSTOMER_STATUSES = (CustomerStatus.ACTIVE, CustomerStatus.DORMANT)
TRANSFER_KINDS = (OwnershipKind.TRANSFER, OwnershipKind.HANDOVER, OwnershipKind.DISPUTE, OwnershipKind.RECLAIM,
                  OwnershipKind.RELEASE)
# Sensitive reads in the audit trail: personal data revealed, exports, downloads, and any recorded view.
ACCESS_Q = (Q(action="pii.revealed") | Q(action__endswith=".exported") | Q(action__endswith=".downloaded")
            | Q(action__endswith=".download") | Q(action__endswith=".viewed"))
CONTACT_FIELDS = ("phone", "email", "wechat", "is_decision_maker", "is_active")


def day_end(day: dt.date) -> dt.datetime:
    """The first moment after `day` in the local time zone (filters use `< day_end`)."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


def _day_reader() -> Callable[[Any], dt.date]:
    """A fast `local_day` for moments as the driver returns them: aware datetimes (PostgreSQL), naive UTC datetimes
    or ISO texts (SQLite)."""
    zone = timezone.get_current_timezone()
    aware = settings.USE_TZ

    def read(value: Any) -> dt.date:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if not aware:
            return value.date() if value.tzinfo is None else value.astimezone(zone).date()
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(zone).date()

    return read


def _rows(queryset: QuerySet[Any, Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of a `values_list` query as the database driver returns them, streamed in chunks (server-side on
    PostgreSQL), without Django's per-row converters: for ids, counts, float sums and texts, and for dates and
    moments read with care (`_day_reader`, `_date`). An empty `__in` gives no rows."""
    compiler = queryset.query.get_compiler(using=queryset.db)  # Django 5.2 selects in values_list's order
    for chunk in compiler.execute_sql(MULTI, chunked_fetch=True, chunk_size=CHUNK):
        yield from chunk


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _bucket_case(lookup: str, starts: list[tuple[int, Any]]) -> Case:
    """SQL: the bucket a date or moment falls in, given each bucket's first day or first moment; -1 before them."""
    return Case(*[When(**{f"{lookup}__gte": start}, then=Value(index)) for index, start in reversed(starts)],
                default=Value(-1), output_field=IntegerField())


def data_bounds() -> tuple[dt.date | None, dt.date | None]:
    """The earliest and latest business dates of the data the engine reads (orders, activities, closed
    opportunities, payments); (None, None) when there is none."""
    days: list[dt.date] = []
    orders = Order.objects.aggregate(first=Min("order_date"), last=Max("order_date"))
    payments = Payment.objects.aggregate(first=Min("paid_on"), last=Max("paid_on"))
    opportunities = Opportunity.objects.aggregate(first=Min("closed_on"), last=Max("closed_on"))
    activities = Activity.objects.filter(happened_at__isnull=False).aggregate(first=Min("happened_at"),
                                                                            last=Max("happened_at"))
    for row in (orders, payments, opportunities):
        days += [d for d in (row["first"], row["last"]) if d is not None]
    days += [local_day(d) for d in (activities["first"], activities["last"]) if d is not None]
    if not days:
        return None, None
    return min(days), max(days)


def _provinces() -> dict[int, int]:
    """Every region's province (a province is its own)."""
    rows = list(Region.objects.values_list("pk", "parent_id", "level"))
    parent = {pk: parent_id for pk, parent_id, _level in rows}
    level = {pk: lvl for pk, _parent, lvl in rows}
    result: dict[int, int] = {}
    for pk in parent:
        node: int | None = pk
        hops = 0
        while node is not None and level.get(node) != "province" and hops < 5:
            node = parent.get(node)
            hops += 1
        result[pk] = node if node is not None else pk
    return result


def _owners_as_of(end: dt.datetime) -> dict[int, tuple[int | None, dt.date | None]]:
    """customer → (owner, owned since) from the ledger as it stood at `end`."""
    last: dict[int, tuple[int | None, Any]] = {}
    rows = (OwnershipChange.objects.filter(effective_at__lt=end).order_by("customer_id", "effective_at", "pk")
            .values_list("customer_id", "to_owner_id", "effective_at"))
    for customer_id, to_owner, effective_at in _rows(rows):
        last[customer_id] = (to_owner, effective_at)
    read = _day_reader()
    return {customer_id: (to_owner, read(effective_at) if to_owner else None)
            for customer_id, (to_owner, effective_at) in last.items()}


@dataclass
class Basis:
    """The heavy sums of a full load, kept for the incremental update after an import (see `scan`): orders per
    customer and per credited manager and bucket, each customer's last follow-up, and the counted price samples of
    the norm window — of the orders up to `last_order_id` and the activities up to `last_activity_id`."""

    as_of: dt.date
    buckets: int
    last_order_id: int
    last_activity_id: int
    customer_orders: dict[int, list[float]]
    manager_orders: dict[int, list[float]]
    last_followup: dict[int, dt.date]
    samples: list[PriceSample]


def basis_pack(basis: Basis) -> bytes:
    """The basis as compressed bytes: a JSON header (dates, ids, price samples) and arrays of ids and floats."""
    n = basis.buckets
    customers, managers, followed = list(basis.customer_orders), list(basis.manager_orders), list(basis.last_followup)
    parts: list[array[Any]] = [array("q", customers), array("d", chain.from_iterable(basis.customer_orders[c] for c in customers)),
             array("q", managers), array("d", chain.from_iterable(basis.manager_orders[m] for m in managers)),
             array("q", followed), array("q", (basis.last_followup[c].toordinal() for c in followed))]
    header = json.dumps({
        "as_of": basis.as_of.isoformat(), "buckets": n, "last_order_id": basis.last_order_id,
        "last_activity_id": basis.last_activity_id, "byteorder": sys.byteorder,
        "sizes": [len(part) for part in parts],
        "samples": [[x.product, x.tier, x.unit_price, x.list_price, x.discount_pct, x.lines] for x in basis.samples]},
        ensure_ascii=False).encode()
    return zlib.compress(b"".join([len(header).to_bytes(8, "little"), header, *(p.tobytes() for p in parts)]), 1)


def basis_unpack(packed: bytes) -> Basis:
    raw = memoryview(zlib.decompress(packed))
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(bytes(raw[8:8 + size]))
    at = 8 + size
    parts: list[array[Any]] = []
    for code, count in zip("qdqdqq", header["sizes"], strict=True):
        part = array(code)
        part.frombytes(raw[at:at + count * part.itemsize])
        if header["byteorder"] != sys.byteorder:
            part.byteswap()
        parts.append(part)
        at += count * part.itemsize
    n = header["buckets"]
    customers, customer_values, managers, manager_values, followed, days = parts
    return Basis(
        dt.date.fromisoformat(header["as_of"]), n, header["last_order_id"], header["last_activity_id"],
        {c: customer_values[i * n:(i + 1) * n].tolist() for i, c in enumerate(customers)},
        {m: manager_values[i * n:(i + 1) * n].tolist() for i, m in enumerate(managers)},
        {c: dt.date.fromordinal(d) for c, d in zip(followed, days, strict=True)},
        [PriceSample(*row) for row in header["samples"]])


def _chunks(ids: Collection[int], size: int = 1000) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def _scoped(queryset: QuerySet[Any, Any], lookup: str, ids: Collection[int] | None) -> Iterator[QuerySet[Any, Any]]:
    """The query as it is (ids None), or once per chunk of `ids` (`lookup`__in)."""
    if ids is None:
        yield queryset
        return
    for part in _chunks(ids):
        yield queryset.filter(**{f"{lookup}__in": part})


def _order_sums(as_of: dt.date, n: int, orders: Q, customer_orders: dict[int, list[float]],
                manager_orders: dict[int, list[float]]) -> None:
    """Add the orders matching `orders` into the series: summed per customer, credited manager and bucket in SQL."""
    order_buckets = _bucket_case("order_date", [(i, bucket_start(as_of, n - i)) for i in range(n)])
    for customer_id, manager_id, index, total in _rows(Order.objects.filter(
            orders, order_date__gte=bucket_start(as_of, n), order_date__lte=as_of).exclude(
            status=OrderStatus.CANCELLED).annotate(bucket=order_buckets).values(
            "customer_id", "manager_id", "bucket").annotate(total=Cast(Sum("amount"), FloatField())).values_list(
            "customer_id", "manager_id", "bucket", "total")):
        if index < 0 or total is None:
            continue
        series = customer_orders.get(customer_id)
        if series is None:
            series = customer_orders[customer_id] = [0.0] * n
        series[index] += total
        if manager_id is not None:
            series = manager_orders.get(manager_id)
            if series is None:
                series = manager_orders[manager_id] = [0.0] * n
            series[index] += total


def _price_tier(as_of: dt.date) -> Case:
    """SQL: the order's customer's tier as the engine sees it (C for customers created after the date)."""
    return Case(When(order__customer__created_on__lte=as_of, then=F("order__customer__tier")), default=Value("C"),
                output_field=CharField())


def _price_samples(as_of: dt.date, config: RiskConfig, orders: Q) -> list[PriceSample]:
    """The order lines of the norm window (of the orders matching `orders`), counted per product, tier and price."""
    return [
        PriceSample(product, customer_tier or "C", float(price), _float(list_price), _float(discount), count)
        for product, customer_tier, price, list_price, discount, count in _rows(
            OrderLine.objects.filter(orders, order__order_date__gte=bucket_start(as_of, config.prices.norm_buckets),
                                     order__order_date__lte=as_of).exclude(order__status=OrderStatus.CANCELLED)
            .annotate(tier=_price_tier(as_of)).values("product", "tier", "unit_price", "list_price", "discount_pct")
            .annotate(count=Count("pk")).values_list("product", "tier", "unit_price", "list_price", "discount_pct",
                                                     "count"))]


def _last_followups(end: dt.datetime, activities: Q, customer_ids: Collection[int] | None) -> dict[int, dt.date]:
    read_day = _day_reader()
    found: dict[int, dt.date] = {}
    for query in _scoped(Activity.objects.filter(activities, status__in=FOLLOWUP_STATUSES, happened_at__lt=end),
                         "customer_id", customer_ids):
        found.update((cid, read_day(last)) for cid, last in _rows(query.values("customer_id").annotate(
            last=Max("happened_at")).values_list("customer_id", "last")) if last is not None)
    return found


def dataset_load(*, as_of: dt.date, config: RiskConfig) -> Dataset:
    """The data as of `as_of`, everyone's."""
    return dataset_load_with_basis(as_of=as_of, config=config)[0]


def dataset_load_with_basis(*, as_of: dt.date, config: RiskConfig, basis: Basis | None = None,
                            customer_ids: Collection[int] | None = None) -> tuple[Dataset, Basis]:
    """The data as of `as_of`, and the heavy sums it rests on (`Basis`).

    Given a `basis` of the same date (from the last full load), the heavy sums are not read again: the orders and
    lines written after it (a higher id) are added to it, and what only the judged customers need — contacts, last
    follow-ups, payments, deliveries, the price lines judged — is read for `customer_ids` alone (everything else,
    small, is read as usual). The customers whose data changed otherwise since the basis must be among
    `customer_ids`; orders edited or cancelled after it are seen by the next full load."""
    n = config.buckets_needed
    end = day_end(as_of)
    provinces = _provinces()
    if basis is not None and (basis.as_of != as_of or basis.buckets != n):
        raise ValueError("the basis is of another date or length")
    scope = None if basis is None else set(customer_ids or ())
    last_order_id = basis.last_order_id if basis else Order.objects.aggregate(last=Max("pk"))["last"] or 0
    last_activity_id = basis.last_activity_id if basis else Activity.objects.aggregate(last=Max("pk"))["last"] or 0

    # ------------------------------------------------------------ customers and their owners as of the date
    owners = _owners_as_of(end)
    read_day = _day_reader()
    if basis is None:
        last_followup = _last_followups(end, Q(pk__lte=last_activity_id), None)
    else:
        last_followup = basis.last_followup
        last_followup.update(_last_followups(end, Q(), scope))
    customers: dict[int, CustomerInfo] = {}
    rows = Customer.objects.filter(created_on__lte=as_of).values_list(
        "pk", "name", "english_name", "aliases", "address", "tier", "industry_id", "region_id", "status",
        "owner_id", "owned_since")
    for (pk, name, english, aliases, address, tier, industry, region, status, current_owner, owned_since
         ) in _rows(rows):
        if isinstance(aliases, str):  # JSON as text from the driver
            aliases = json.loads(aliases) if aliases not in ("[]", "null", "") else None
        owner: int | None = current_owner
        if pk in owners:
            owner, since = owners[pk]
        else:  # no ledger row (data from before the ledger): today's owner is the best we know
            since = read_day(owned_since) if owned_since else None
        names = tuple(x for x in (name, english, *(aliases or [])) if isinstance(x, str) and x)
        customers[pk] = CustomerInfo(
            pk, owner_id=owner, owned_since=since, last_followup=last_followup.get(pk), industry=industry,
            province=provinces.get(region) if region else None, tier=tier or "C", names=names, address=address or "",
            is_live=status in LIVE_CUSTOMER_STATUSES)

    # ------------------------------------------------------------ people
    notices: dict[int, dt.date] = {}
    try:
        from kamguard.allocation.models import DepartureNotice

        notices = dict(DepartureNotice.objects.filter(noticed_on__lte=as_of).values_list("person_id", "noticed_on"))
    except ImportError:  # pragma: no cover - allocation is installed with the product
        pass
    people: dict[int, PersonInfo] = {}
    for pk, phone, email, wechat in User.objects.filter(
            Q(left_on__isnull=True) | Q(left_on__gte=as_of - dt.timedelta(days=365))).values_list(
            "pk", "phone", "email", "wechat").iterator(chunk_size=CHUNK):
        keys = tuple(k for k in (identity_key("phone", phone), identity_key("email", email),
                                 identity_key("wechat", wechat)) if k)
        people[pk] = PersonInfo(pk, keys, notices.get(pk))

    # ------------------------------------------------------------ orders summed per customer, manager and bucket
    if basis is None:
        customer_orders: dict[int, list[float]] = {}
        manager_orders: dict[int, list[float]] = {}
        _order_sums(as_of, n, Q(pk__lte=last_order_id), customer_orders, manager_orders)
    else:
        customer_orders, manager_orders = basis.customer_orders, basis.manager_orders
        _order_sums(as_of, n, Q(pk__gt=last_order_id), customer_orders, manager_orders)

    # ------------------------------------------------------------ contacts (follow-up) counted per customer and bucket
    contact_buckets = config.collapse.recent_buckets + config.collapse.baseline_buckets
    starts = [(i, day_start(bucket_start(as_of, n - i))) for i in range(max(0, n - contact_buckets), n)]
    customer_contacts: dict[int, list[int]] = {}
    for query in _scoped(Activity.objects.filter(
            status__in=FOLLOWUP_STATUSES, happened_at__gte=starts[0][1], happened_at__lt=end), "customer_id", scope):
        for customer_id, index, count in _rows(query.annotate(bucket=_bucket_case("happened_at", starts)).values(
                "customer_id", "bucket").annotate(count=Count("pk")).values_list("customer_id", "bucket", "count")):
            if index >= 0:
                customer_contacts.setdefault(customer_id, [0] * n)[index] += count

    # ------------------------------------------------------------ closed opportunities that reached a late stage
    lp = config.losses
    history_start = bucket_start(as_of, lp.period_buckets + lp.history_buckets)
    late = _late_stage_ids()
    closed = Opportunity.objects.filter(outcome__in=(Outcome.WON, Outcome.LOST), closed_on__gte=history_start,
                                        closed_on__lte=as_of)
    reached = set(StageChange.objects.filter(opportunity__in=closed.values("pk"), to_stage_id__in=late,
                                             changed_at__lt=end).values_list("opportunity_id", flat=True).distinct())
    opportunities = [
        ClosedOpportunity(pk, owner, closed_on, outcome == Outcome.LOST, pk in reached, competitor or "")
        for pk, owner, closed_on, outcome, competitor in closed.values_list(
            "pk", "owner_id", "closed_on", "outcome", "competitor").iterator(chunk_size=CHUNK)
        if closed_on is not None]

    # ------------------------------------------------------------ quotes against the author's authority
    cl = config.clustering
    quotes = [
        QuoteDiscount(pk, owner, float(discount), float(authority))
        for pk, owner, discount, authority in Quote.objects.filter(
            submitted_at__gte=day_start(bucket_start(as_of, cl.window_buckets)), submitted_at__lt=end,
            authority_pct__isnull=False).values_list(
            "pk", "opportunity__owner_id", "max_discount_pct", "authority_pct").iterator(chunk_size=CHUNK)
        if authority is not None]

    # ------------------------------------------------------------ order lines for prices
    # The norms rest on every line of the norm window, read counted per product, tier and price; the lines of the
    # judged window are read one by one and only those far from their norm kept (the engine judges them again).
    pp = config.prices
    if basis is None:
        samples = _price_samples(as_of, config, Q(order__pk__lte=last_order_id))
    else:
        samples = basis.samples + _price_samples(as_of, config, Q(order__pk__gt=last_order_id))
    norms = price_norms(samples, pp)
    price_lines_read = sum(sample.lines for sample in samples)
    price_lines = []
    judged_lines = OrderLine.objects.filter(
        order__order_date__gte=bucket_start(as_of, min(pp.judge_buckets, pp.norm_buckets)),
        order__order_date__lte=as_of).exclude(order__status=OrderStatus.CANCELLED).annotate(tier=_price_tier(as_of))
    for query in (_scoped(judged_lines, "order__customer_id", scope) if norms else ()):
        for pk, order_id, customer_id, product, customer_tier, price, list_price, discount, day in _rows(
                query.values_list("pk", "order_id", "order__customer_id", "product", "tier", "unit_price",
                                  "list_price", "discount_pct", "order__order_date")):
            norm = norms.get(price_key(product, customer_tier or "C"))
            if norm is None:
                continue
            line_price, line_list, line_discount = float(price), _float(list_price), _float(discount)
            z = price_z(line_price, line_list, line_discount, norm)
            if z is not None and abs(z) > pp.z_start:
                price_lines.append(PriceLine(pk, order_id, customer_id, product, customer_tier or "C", line_price,
                                             line_list, line_discount, _date(day)))

    # ------------------------------------------------------------ payers and delivery addresses
    window_start = bucket_start(as_of, config.third_party.window_buckets)
    payments: dict[int, list[PaymentParty]] = defaultdict(list)
    for query in _scoped(Payment.objects.filter(paid_on__gte=window_start, paid_on__lte=as_of).exclude(
            status=PaymentStatus.REJECTED), "customer_id", scope):
        for pk, customer_id, payer, amount in _rows(query.values_list("pk", "customer_id", "payer_name", "amount")):
            payments[customer_id].append(PaymentParty(pk, payer or "", float(amount)))
    deliveries: dict[int, list[DeliveryParty]] = defaultdict(list)
    order_people: dict[int, int | None] = {}
    order_customers: dict[int, int] = {}
    for query in _scoped(Delivery.objects.filter(shipped_on__gte=window_start, shipped_on__lte=as_of),
                         "order__customer_id", scope):
        for pk, order_id, customer_id, manager_id, address in query.values_list(
                "pk", "order_id", "order__customer_id", "order__manager_id", "address").iterator(chunk_size=CHUNK):
            deliveries[customer_id].append(DeliveryParty(pk, order_id, address))
            order_people[order_id] = manager_id
            order_customers[order_id] = customer_id
    known: dict[int, set[str]] = defaultdict(set)
    judged = list(deliveries)
    for start in range(0, len(judged), 1000):
        part = judged[start:start + 1000]
        for customer_id, address in Delivery.objects.filter(
                order__customer_id__in=part, shipped_on__lt=window_start).values_list(
                "order__customer_id", "address").distinct().iterator(chunk_size=CHUNK):
            known[customer_id].add(address)
        for customer_id, address in Order.objects.filter(
                customer_id__in=part, order_date__lt=window_start).exclude(delivery_address="").values_list(
                "customer_id", "delivery_address").distinct().iterator(chunk_size=CHUNK):
            known[customer_id].add(address)
    judged_orders = sorted({line.order_id for line in price_lines})
    for start in range(0, len(judged_orders), 1000):
        for order_id, customer_id, manager_id in Order.objects.filter(
                pk__in=judged_orders[start:start + 1000]).values_list("pk", "customer_id", "manager_id"):
            order_people[order_id] = manager_id
            order_customers[order_id] = customer_id

    # ------------------------------------------------------------ contact changes (from the audit trail)
    hp = config.hijack
    changes = _contact_changes(as_of=as_of, start=day_start(as_of - dt.timedelta(days=hp.window_days - 1)), end=end)
    decision_makers = dict(Contact.objects.filter(is_decision_maker=True, is_active=True,
                                                  customer_id__in={c.customer_id for c in changes}).values(
        "customer_id").annotate(n=Count("pk")).values_list("customer_id", "n"))

    # ------------------------------------------------------------ sensitive reads per person and day
    ap = config.access
    span = ap.baseline_days + ap.recent_days
    access_first = as_of - dt.timedelta(days=span - 1)
    access_daily: dict[int, list[int]] = {}
    for actor_id, day, count in AuditEvent.objects.filter(
            ACCESS_Q, actor_id__isnull=False, occurred_at__gte=day_start(access_first), occurred_at__lt=end).annotate(
            day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone())).values("actor_id", "day").annotate(
            n=Count("pk")).values_list("actor_id", "day", "n").iterator(chunk_size=CHUNK):
        offset = (day - access_first).days
        if 0 <= offset < span:
            access_daily.setdefault(actor_id, [0] * span)[offset] += count

    # ------------------------------------------------------------ transfers and departures
    tr = config.transfer
    transfers = [
        Transfer(pk, customer_id, from_owner, to_owner, local_day(effective_at))
        for pk, customer_id, from_owner, to_owner, effective_at in OwnershipChange.objects.filter(
            kind__in=TRANSFER_KINDS, from_owner__isnull=False,
            effective_at__gte=day_start(bucket_start(as_of, tr.lookback_buckets)), effective_at__lt=end).values_list(
            "pk", "customer_id", "from_owner_id", "to_owner_id", "effective_at").iterator(chunk_size=CHUNK)]

    kept = Basis(as_of, n, last_order_id, last_activity_id, customer_orders, manager_orders, last_followup, samples)
    return Dataset(
        as_of=as_of, buckets=n, customers=customers, people=people, customer_orders=customer_orders,
        customer_contacts=customer_contacts, manager_orders=manager_orders, opportunities=opportunities,
        quotes=quotes, price_lines=price_lines, price_norms=norms, price_lines_read=price_lines_read,
        payments=dict(payments), deliveries=dict(deliveries),
        known_addresses={k: sorted(v) for k, v in known.items()}, order_people=order_people,
        order_customers=order_customers, contact_changes=changes, decision_makers=decision_makers,
        access_daily=access_daily, transfers=transfers, focus=scope), kept


def _late_stage_ids() -> list[int]:
    """The open stages from "proposal" on (by order); without that code, the later half of the open stages."""
    stages = list(Stage.objects.filter(outcome=Outcome.OPEN).order_by("order", "pk").values_list("pk", "code",
                                                                                                 "order"))
    proposal = next((order for _pk, code, order in stages if code == "proposal"), None)
    if proposal is not None:
        return [pk for pk, _code, order in stages if order >= proposal]
    return [pk for pk, _code, _order in stages[len(stages) // 2:]]


def _contact_changes(*, as_of: dt.date, start: dt.datetime, end: dt.datetime) -> list[ContactChange]:
    events = list(AuditEvent.objects.filter(object_type="customers.contact", action="customers.contact.updated",
                                            occurred_at__gte=start, occurred_at__lt=end).values_list(
        "sequence", "object_id", "occurred_at", "actor_id", "changes").iterator(chunk_size=CHUNK))
    contact_ids = {int(object_id) for _s, object_id, _at, _a, _c in events if str(object_id).isdigit()}
    contacts: dict[int, tuple[int, bool]] = {}
    ids = sorted(contact_ids)
    for i in range(0, len(ids), 1000):
        contacts.update({pk: (customer_id, dm) for pk, customer_id, dm in Contact.objects.filter(
            pk__in=ids[i:i + 1000]).values_list("pk", "customer_id", "is_decision_maker")})
    found: list[ContactChange] = []
    for sequence, object_id, occurred_at, actor_id, raw in events:
        if not str(object_id).isdigit() or int(object_id) not in contacts or not isinstance(raw, dict):
            continue
        contact_id = int(object_id)
        customer_id, is_dm = contacts[contact_id]
        dm_change: Any = raw.get("is_decision_maker")
        was_dm = bool(dm_change.get("before")) if isinstance(dm_change, dict) else is_dm
        for field in CONTACT_FIELDS:
            change = raw.get(field)
            if not isinstance(change, dict):
                continue
            found.append(ContactChange(sequence, contact_id, customer_id, local_day(occurred_at), actor_id, field,
                                       change.get("before"), change.get("after"), was_dm))
    return found


__all__ = ["BUCKET_DAYS", "Basis", "basis_pack", "basis_unpack", "data_bounds", "dataset_load", "dataset_load_with_basis", "day_end", "local_day"]
