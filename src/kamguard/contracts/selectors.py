"""Every read of contracts, orders, deliveries, payments, receivables and findings, narrowed to the viewer:
rows whose credited manager is in the viewer's data scope (own · team · department · all)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from kamguard.contracts.domain import rules
from kamguard.contracts.models import (
    Contract,
    ContractStatus,
    DataQualityFinding,
    Delivery,
    Order,
    Payment,
    PaymentStatus,
    WebhookSecret,
)
from kamguard.contracts.services import dues_for
from kamguard.core.errors import NotFound
from kamguard.customers.selectors import customer_visibility_q
from kamguard.org.domain.roles import Scope
from kamguard.org.models import User
from kamguard.org.scopes import NOTHING, scope_q

CONTRACT_SORTS = {"number": "number", "-number": "-number", "amount": "amount", "-amount": "-amount",
                  "signed": "signed_on", "-signed": "-signed_on", "customer": "customer__name",
                  "-customer": "-customer__name", "created": "created_at", "-created": "-created_at",
                  "status": "status", "-status": "-status"}
ORDER_SORTS = {"date": "order_date", "-date": "-order_date", "amount": "amount", "-amount": "-amount",
               "due": "due_on", "-due": "-due_on", "customer": "customer__name", "-customer": "-customer__name"}


def _q(viewer: Any, path: str = "manager") -> Q:
    if not getattr(viewer, "is_authenticated", False) or not getattr(viewer, "is_active", False):
        return NOTHING
    if viewer.scope == Scope.ALL:
        return Q()
    return scope_q(viewer, owner_path=path)


def contract_list(*, viewer: Any, search: str = "", status: str = "", customer_id: int | None = None,
                  manager_id: int | None = None, opportunity_id: int | None = None,
                  sort: str = "-created") -> QuerySet[Contract]:
    qs = Contract.objects.filter(_q(viewer)).select_related("customer", "manager")
    if search:
        term = search.strip()
        qs = qs.filter(Q(number__icontains=term) | Q(title__icontains=term) | Q(customer__name__icontains=term))
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if manager_id:
        qs = qs.filter(manager_id=manager_id)
    if opportunity_id:
        qs = qs.filter(opportunity_id=opportunity_id)
    return qs.order_by(CONTRACT_SORTS.get(sort, "-created_at"), "-pk")


def contract_get(*, viewer: Any, contract_id: int) -> Contract:
    found = contract_list(viewer=viewer).filter(pk=contract_id).select_related("opportunity").first()
    if found is None:
        raise NotFound()
    return found


def contract_paid(contract: Contract) -> Decimal:
    counted = ~Q(payment__status=PaymentStatus.REJECTED)
    direct = contract.allocations.filter(counted).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    via = Order.objects.filter(contract=contract).aggregate(
        total=Sum("allocations__amount", filter=~Q(allocations__payment__status=PaymentStatus.REJECTED)))["total"]
    return direct + (via or Decimal(0))


def order_list(*, viewer: Any, search: str = "", customer_id: int | None = None, manager_id: int | None = None,
               status: str = "", source: str = "", contract_id: int | None = None, sort: str = "-date"
               ) -> QuerySet[Order]:
    qs = Order.objects.filter(_q(viewer)).select_related("customer", "manager", "contract")
    if search:
        term = search.strip()
        qs = qs.filter(Q(number__icontains=term) | Q(external_id__iexact=term) | Q(customer__name__icontains=term))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if manager_id:
        qs = qs.filter(manager_id=manager_id)
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    if contract_id:
        qs = qs.filter(contract_id=contract_id)
    return qs.order_by(ORDER_SORTS.get(sort, "-order_date"), "-pk")


def order_get(*, viewer: Any, order_id: int) -> Order:
    found = order_list(viewer=viewer).filter(pk=order_id).first()
    if found is None:
        raise NotFound()
    return found


def delivery_list(*, viewer: Any, order_id: int | None = None, customer_id: int | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(_q(viewer, "order__manager")).select_related("order", "order__customer")
    if order_id:
        qs = qs.filter(order_id=order_id)
    if customer_id:
        qs = qs.filter(order__customer_id=customer_id)
    return qs.order_by("-shipped_on", "-pk")


def payment_list(*, viewer: Any, status: str = "", customer_id: int | None = None, manager_id: int | None = None,
                 search: str = "") -> QuerySet[Payment]:
    qs = Payment.objects.filter(_q(viewer)).select_related("customer", "manager", "recorded_by", "confirmed_by")
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if manager_id:
        qs = qs.filter(manager_id=manager_id)
    if search:
        term = search.strip()
        qs = qs.filter(Q(customer__name__icontains=term) | Q(payer_name__icontains=term)
                       | Q(external_id__iexact=term))
    return qs.order_by("-paid_on", "-pk")


def payment_get(*, viewer: Any, payment_id: int) -> Payment:
    found = payment_list(viewer=viewer).filter(pk=payment_id).first()
    if found is None:
        raise NotFound()
    return found


def confirmation_queue(*, viewer: Any) -> QuerySet[Payment]:
    """Payments awaiting finance, oldest first (finance sees them all)."""
    return payment_list(viewer=viewer, status=PaymentStatus.RECORDED).order_by("paid_on", "pk")


def receivables(*, viewer: Any, today: dt.date | None = None, group: str = "customer",
                manager_id: int | None = None, customer_id: int | None = None) -> list[dict[str, Any]]:
    """Outstanding amounts by ageing bucket (not yet due, 0–30, 31–60, 61–90, over 90 days past due), one row per
    customer or per manager, largest overdue first."""
    today = today or timezone.localdate()
    orders = Order.objects.filter(_q(viewer))
    contracts = Contract.objects.filter(_q(viewer), status=ContractStatus.SIGNED)
    if customer_id:
        orders, contracts = orders.filter(customer_id=customer_id), contracts.filter(customer_id=customer_id)
    customer_ids = [row["customer_id"] for row in orders.values("customer_id").union(contracts.values("customer_id"))]
    rows: dict[int | None, dict[str, Any]] = {}
    visible_managers: set[int] | None = None
    if getattr(viewer, "scope", Scope.ALL) < Scope.ALL:
        visible_managers = set(User.objects.filter(scope_q(viewer, owner_path="")).values_list("pk", flat=True))
    for due, info in dues_for(customer_ids=customer_ids):
        if visible_managers is not None and info["manager_id"] not in visible_managers:
            continue
        if manager_id and info["manager_id"] != manager_id:
            continue
        key = info["customer_id"] if group == "customer" else info["manager_id"]
        row = rows.setdefault(key, {"key": key, **{b: Decimal(0) for b in rules.BUCKETS}, "total": Decimal(0)})
        row[rules.ageing_bucket(due.due_on, today)] += due.outstanding
        row["total"] += due.outstanding
    names: dict[int | None, str] = {}
    if group == "customer":
        from kamguard.customers.models import Customer

        names.update(Customer.objects.filter(pk__in=[k for k in rows if k]).values_list("pk", "name"))
    else:
        names.update(User.objects.filter(pk__in=[k for k in rows if k]).values_list("pk", "full_name"))
    result = []
    for key, row in rows.items():
        row["name"] = names.get(key, "—")
        row["overdue"] = row["total"] - row["current"]
        result.append(row)
    return sorted(result, key=lambda r: (-r["overdue"], -r["total"], r["name"]))


def receivables_totals(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {b: sum((r[b] for r in rows), Decimal(0)) for b in (*rules.BUCKETS, "total", "overdue")}


def findings(*, viewer: Any, kind: str | None = None, status: str = "", customer_id: int | None = None
             ) -> QuerySet[DataQualityFinding]:
    """Data-quality findings the viewer may see: those of customers they may see or managers in their scope;
    findings without a customer (an order for an unknown customer) only for people who see everything or
    supervise (department scope and above)."""
    if not getattr(viewer, "is_authenticated", False) or not getattr(viewer, "is_active", False):
        return DataQualityFinding.objects.none()
    qs = DataQualityFinding.objects.select_related("customer", "manager", "resolved_by")
    if viewer.scope < Scope.ALL:
        q = Q(manager__isnull=False) & scope_q(viewer, owner_path="manager")
        if viewer.scope >= Scope.DEPARTMENT:
            q |= Q(customer__isnull=True)
        q |= Q(customer__isnull=False) & Q(customer__in=_visible_customers(viewer))
        qs = qs.filter(q)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-detected_at", "-pk")


def _visible_customers(viewer: User) -> Any:
    from kamguard.customers.models import Customer

    return Customer.objects.filter(customer_visibility_q(viewer)).values("pk")


def week_figures(*, viewer: Any, start: dt.date, end: dt.date) -> dict[int, dict[str, Any]]:
    """Per credited manager (user id): contracts signed in [start, end] (count, value) and payments received
    (confirmed by finance, paid in [start, end]) — only what the viewer may see."""
    figures: dict[int, dict[str, Any]] = defaultdict(lambda: {"contracts_signed": 0, "contracts_value": Decimal(0),
                                                              "payments_received": Decimal(0)})
    for row in Contract.objects.filter(_q(viewer), status=ContractStatus.SIGNED, signed_on__gte=start,
                                       signed_on__lte=end).values("manager_id").annotate(
            n=Count("pk"), value=Sum("amount")):
        figures[row["manager_id"]]["contracts_signed"] = row["n"]
        figures[row["manager_id"]]["contracts_value"] = row["value"] or Decimal(0)
    for manager_id, total in Payment.objects.filter(
            _q(viewer), status=PaymentStatus.CONFIRMED, paid_on__gte=start, paid_on__lte=end,
            manager__isnull=False).values("manager_id").annotate(total=Sum("amount")).values_list("manager_id", "total"):
        figures[manager_id]["payments_received"] = total or Decimal(0)
    return dict(figures)


def customer_summary(*, viewer: Any, customer_id: int) -> dict[str, Any]:
    """What the customer page shows: the customer's contracts, recent orders and payments, open findings."""
    contracts = contract_list(viewer=viewer, customer_id=customer_id)
    return {"contracts": contracts[:20], "orders": order_list(viewer=viewer, customer_id=customer_id)[:10],
            "payments": payment_list(viewer=viewer, customer_id=customer_id)[:10],
            "findings": findings(viewer=viewer, customer_id=customer_id, status="open")[:10]}


def webhook_secrets() -> QuerySet[WebhookSecret]:
    return WebhookSecret.objects.select_related("created_by").order_by("-created_at")
