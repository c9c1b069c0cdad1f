"""The data as it stood on a date, read in bulk into the engine's plain `Dataset`.

Nothing dated after the as-of date is used: orders by order date, payments by payment date, deliveries by
shipping date, activities by when they took place, opportunities by their closing date, quotes by submission,
owners from the ownership ledger's effective times, contact changes and sensitive reads from the audit trail's
times, resignation notices by the day notice was given. (Records are judged by the business dates they carry, so
history imported later is evaluated where it belongs.)

Every source is read with one query streamed in chunks (`values_list(...).iterator()`), never one query per
customer or person; series are summed into 30-day buckets in Python as the rows stream past.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate
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
    bucket_index,
    bucket_start,
)
from kamguard.risk.domain.signals import (
    ClosedOpportunity,
    ContactChange,
    DeliveryParty,
    PaymentParty,
    PriceLine,
    QuoteDiscount,
    identity_key,
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
    owners: dict[int, tuple[int | None, dt.date | None]] = {}
    rows = (OwnershipChange.objects.filter(effective_at__lt=end).order_by("customer_id", "effective_at", "pk")
            .values_list("customer_id", "to_owner_id", "effective_at"))
    for customer_id, to_owner, effective_at in rows.iterator(chunk_size=CHUNK):
        owners[customer_id] = (to_owner, local_day(effective_at) if to_owner else None)
    return owners


def dataset_load(*, as_of: dt.date, config: RiskConfig) -> Dataset:
    n = config.buckets_needed
    end = day_end(as_of)
    first_day = bucket_start(as_of, n)
    provinces = _provinces()

    # ------------------------------------------------------------ customers and their owners as of the date
    owners = _owners_as_of(end)
    last_followup = {
        cid: local_day(last) for cid, last in Activity.objects.filter(
            status__in=FOLLOWUP_STATUSES, happened_at__lt=end).values("customer_id").annotate(
            last=Max("happened_at")).values_list("customer_id", "last").iterator(chunk_size=CHUNK)}
    customers: dict[int, CustomerInfo] = {}
    rows = Customer.objects.filter(created_on__lte=as_of).values_list(
        "pk", "name", "english_name", "aliases", "address", "tier", "industry_id", "region_id", "status",
        "owner_id", "owned_since")
    for (pk, name, english, aliases, address, tier, industry, region, status, current_owner, owned_since
         ) in rows.iterator(chunk_size=CHUNK):
        owner: int | None = current_owner
        if pk in owners:
            owner, since = owners[pk]
        else:  # no ledger row (data from before the ledger): today's owner is the best we know
            since = local_day(owned_since) if owned_since else None
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

    # ------------------------------------------------------------ orders in buckets
    customer_orders: dict[int, list[float]] = {}
    manager_orders: dict[int, list[float]] = {}
    for customer_id, manager_id, day, amount in Order.objects.filter(
            order_date__gte=first_day, order_date__lte=as_of).exclude(status=OrderStatus.CANCELLED).values_list(
            "customer_id", "manager_id", "order_date", "amount").iterator(chunk_size=CHUNK):
        index = bucket_index(as_of, day, n)
        if index is None:
            continue
        value = float(amount)
        customer_orders.setdefault(customer_id, [0.0] * n)[index] += value
        if manager_id is not None:
            manager_orders.setdefault(manager_id, [0.0] * n)[index] += value

    # ------------------------------------------------------------ contacts (follow-up) in buckets
    contact_buckets = config.collapse.recent_buckets + config.collapse.baseline_buckets
    customer_contacts: dict[int, list[int]] = {}
    for customer_id, happened_at in Activity.objects.filter(
            status__in=FOLLOWUP_STATUSES, happened_at__gte=day_start(bucket_start(as_of, contact_buckets)),
            happened_at__lt=end).values_list("customer_id", "happened_at").iterator(chunk_size=CHUNK):
        if happened_at is None:
            continue
        index = bucket_index(as_of, local_day(happened_at), n)
        if index is not None:
            customer_contacts.setdefault(customer_id, [0] * n)[index] += 1

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
    pp = config.prices
    price_lines = []
    for pk, order_id, customer_id, product, price, list_price, discount, day in OrderLine.objects.filter(
            order__order_date__gte=bucket_start(as_of, pp.norm_buckets), order__order_date__lte=as_of).exclude(
            order__status=OrderStatus.CANCELLED).values_list(
            "pk", "order_id", "order__customer_id", "product", "unit_price", "list_price", "discount_pct",
            "order__order_date").iterator(chunk_size=CHUNK):
        info = customers.get(customer_id)
        price_lines.append(PriceLine(pk, order_id, customer_id, product, info.tier if info else "C", float(price),
                                     float(list_price) if list_price is not None else None,
                                     float(discount) if discount is not None else None, day))

    # ------------------------------------------------------------ payers and delivery addresses
    window_start = bucket_start(as_of, config.third_party.window_buckets)
    payments: dict[int, list[PaymentParty]] = defaultdict(list)
    for pk, customer_id, payer, amount in Payment.objects.filter(
            paid_on__gte=window_start, paid_on__lte=as_of).exclude(status=PaymentStatus.REJECTED).values_list(
            "pk", "customer_id", "payer_name", "amount").iterator(chunk_size=CHUNK):
        payments[customer_id].append(PaymentParty(pk, payer or "", float(amount)))
    deliveries: dict[int, list[DeliveryParty]] = defaultdict(list)
    order_people: dict[int, int | None] = {}
    order_customers: dict[int, int] = {}
    for pk, order_id, customer_id, manager_id, address in Delivery.objects.filter(
            shipped_on__gte=window_start, shipped_on__lte=as_of).values_list(
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
    for order_id, customer_id, manager_id in Order.objects.filter(
            pk__in=[line.order_id for line in price_lines if line.order_on and line.order_on >= bucket_start(
                as_of, pp.judge_buckets)]).values_list("pk", "customer_id", "manager_id").iterator(chunk_size=CHUNK):
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

    return Dataset(
        as_of=as_of, buckets=n, customers=customers, people=people, customer_orders=customer_orders,
        customer_contacts=customer_contacts, manager_orders=manager_orders, opportunities=opportunities,
        quotes=quotes, price_lines=price_lines, payments=dict(payments), deliveries=dict(deliveries),
        known_addresses={k: sorted(v) for k, v in known.items()}, order_people=order_people,
        order_customers=order_customers, contact_changes=changes, decision_makers=decision_makers,
        access_daily=access_daily, transfers=transfers)


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


__all__ = ["BUCKET_DAYS", "data_bounds", "dataset_load", "day_end", "local_day"]
