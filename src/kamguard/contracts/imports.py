"""Kinds `orders` and `payments`: ERP intake by file, API or the signed webhook.

Orders are written in batches (one query per batch for customers, people, existing orders, owners on the order
date and known addresses; bulk inserts of orders, lines, timeline entries and audit events; measured in docs/contracts.md,
"Performance"). A row for an unknown customer is reported and kept as a
data-quality finding; a delivery address never seen for the customer is a finding too (the row is imported).
An order without `manager` is credited to whoever owned the customer on `order_date` (the ownership ledger).
Payments are written in batches too (`payments_record_many`: the same checks, matching, overpayment rule,
payer-name findings and audit events as `payment_record`, each payment matched to what the earlier rows left
due); a row that changes a payment already imported goes through `payment_update` on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.contracts import services
from kamguard.contracts.domain import rules
from kamguard.contracts.models import (
    DataQualityFinding,
    FindingKind,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Payment,
)
from kamguard.core.audit import audit_record
from kamguard.core.io.inserts import plain_rows_insert, rows_insert
from kamguard.core.io.kinds.common import Problems, date_parse, keyed_rows
from kamguard.core.io.lookups import keys_in
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import RowInvalid
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.org.scopes import scope_q

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext

BATCH = 2000
ORDER_COLUMNS = ("external_id", "customer", "order_date", "amount", "manager", "product", "quantity", "unit_price",
                 "list_price", "discount_pct", "currency", "delivery_address", "status", "number", "due_on")
PAYMENT_COLUMNS = ("external_id", "customer", "paid_on", "amount", "order", "payer_name", "payer_account",
                   "currency", "over_reason")
NOON = dt.time(12)
ORDER_STATUSES = frozenset(OrderStatus.values)
ORDER_UPDATE_FIELDS = ("customer_id", "manager_id", "order_date", "due_on", "amount", "currency", "delivery_address",
                       "status", "number")


def _money(value: str, column: str, problems: Problems, *, allow_zero: bool = False) -> Decimal | None:
    if not value:
        return None
    try:
        return rules.money(value, allow_zero=allow_zero)
    except rules.MoneyError as exc:
        problems.add(column, _(services.MONEY_MESSAGES[str(exc)]))
        return None


def _decimal(value: str, column: str, problems: Problems, low: Decimal, high: Decimal) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite() or number < low or number > high:
        problems.add(column, _("%(value)s is not a number between %(low)s and %(high)s.") % {
            "value": value, "low": low, "high": high})
        return None
    return number


class _Scope:
    """Whose orders and payments the importing person may write (the system: everyone)."""

    def __init__(self, actor: User | None) -> None:
        self.actor = actor
        self.ids: set[int] | None = None
        if actor is not None:
            self.ids = set(User.objects.filter(scope_q(actor, owner_path="")).values_list("pk", flat=True))

    def allows(self, manager_id: int | None) -> bool:
        if self.ids is None or (self.actor is not None and self.actor.scope == Scope.ALL):
            return True
        return manager_id is not None and manager_id in self.ids


class OrdersKind(Kind):
    name = "orders"
    label = gettext_lazy("Orders (ERP)")
    columns = ORDER_COLUMNS
    required = ("external_id", "customer", "order_date", "amount")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.TEAM
    field_columns = {"customer_id": "customer", "order_date": "order_date", "amount": "amount",
                     "manager_id": "manager", "delivery_address": "delivery_address", "due_on": "due_on"}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        keyed = list(keyed_rows(rows, ctx.fail).items())
        scope = _Scope(ctx.actor)
        people: dict[str, int | None] = {}
        known: dict[int, set[str]] = {}
        for start in range(0, len(keyed), BATCH):
            self._batch(ctx, keyed[start:start + BATCH], scope, people, known)

    def _batch(self, ctx: ImportContext, chunk: list[tuple[str, tuple[int, dict[str, str]]]], scope: _Scope,
               people: dict[str, int | None], known: dict[int, set[str]]) -> None:
        """`known`: the address keys of each customer read so far in this import, with the addresses of the
        orders it created since (a customer whose order is changed by a row is read again)."""
        today = timezone.localdate()
        terms = dt.timedelta(days=services.payment_days())
        existing = {o["external_id"]: o for o in Order.objects.filter(
            keys_in(Order, "external_id", [k for k, _r in chunk])).order_by().values(
            "pk", "external_id", *ORDER_UPDATE_FIELDS)}
        customers = {c["external_id"]: c for c in Customer.objects.filter(keys_in(
            Customer, "external_id", {r.get("customer", "") for _k, (_n, r) in chunk} - {""})).order_by().values(
            "pk", "external_id", "owner_id", "name")}
        wanted = {r.get("manager", "") for _k, (_n, r) in chunk} - set(people) - {""}
        if wanted:
            found = dict(User.objects.filter(keys_in(User, "external_id", wanted)).values_list("external_id", "pk"))
            people.update({key: found.get(key) for key in wanted})
        parsed: list[tuple[int, str, dict[str, Any]]] = []
        lost: list[DataQualityFinding] = []
        for key, (number, row) in chunk:
            problems = Problems()
            values = self._parse(row, problems, today, terms)
            customer = customers.get(row.get("customer", "")) if row.get("customer") else None
            if not row.get("customer"):
                problems.add("customer", _("This field is required."))
            elif customer is None:
                problems.add("customer", _("Unknown customer %(id)s: kept as a data-quality finding.") % {
                    "id": row.get("customer")})
                lost.append(DataQualityFinding(kind=FindingKind.UNKNOWN_CUSTOMER, subject=f"order:{key}"[:120],
                                               details={"row": row, "source": ctx.source}, detected_at=timezone.now()))
            manager_ref = row.get("manager", "")
            if manager_ref and people.get(manager_ref) is None:
                problems.add("manager", _("Unknown person %(id)s: no such external id.") % {"id": manager_ref})
            if problems:
                ctx.fail(number, key, problems.items)
                continue
            assert customer is not None
            values["customer_id"] = customer["pk"]
            values["manager_id"] = people.get(manager_ref) if manager_ref else None
            parsed.append((number, key, values))
        if lost:
            services.findings_add_many(lost)
        for _n, key, values in parsed:  # an existing order keeps its credited manager unless the row names one
            if key in existing and values["manager_id"] is None:
                values["manager_id"] = existing[key]["manager_id"]
        owners = services.owners_on((v["customer_id"], v["order_date"]) for _n, k, v in parsed
                                    if v["manager_id"] is None and k not in existing)
        fallback = {c["pk"]: c["owner_id"] for c in customers.values()}
        known.update(services.known_addresses({v["customer_id"] for _n, k, v in parsed
                                               if k not in existing and v["delivery_address"]} - set(known)))
        new: list[tuple[int, str, _NewOrder, dict[str, Any]]] = []
        findings: list[DataQualityFinding] = []
        stale: set[int] = set()
        for number, key, values in parsed:
            if values["manager_id"] is None and key not in existing:
                owner = owners.get((values["customer_id"], values["order_date"]))
                values["manager_id"] = owner if owner is not None else fallback.get(values["customer_id"])
            if not scope.allows(values["manager_id"]):
                ctx.fail(number, key, [("customer", _("This customer's orders belong to someone outside your "
                                                      "scope."))])
                continue
            current = existing.get(key)
            if current is not None:
                if any(current[f] != values[f] for f in ORDER_UPDATE_FIELDS):
                    ctx.attempt(number, key, partial(self._update, ctx, Order.objects.get(pk=current["pk"]), values))
                    stale.update((current["customer_id"], values["customer_id"]))
                else:
                    ctx.succeed(number, key, RowStatus.UNCHANGED)
                continue
            address = values["delivery_address"]
            akey = rules.address_key(address) if address else ""
            if akey:  # the known addresses were read only for the customers of rows with one
                seen = known[values["customer_id"]]
                if seen and akey not in seen:
                    findings.append(DataQualityFinding(
                        kind=FindingKind.NEW_ADDRESS, subject=f"order:{key}"[:120], customer_id=values["customer_id"],
                        manager_id=values["manager_id"], details={"address": address, "known": len(seen)},
                        detected_at=timezone.now()))
                seen.add(akey)
            new.append((number, key, _NewOrder(key, values), values))
        if new:
            self._write(ctx, new)
        services.findings_add_many(findings)
        for customer_id in stale:  # read again in the next batch, as the changed order now stands
            known.pop(customer_id, None)

    @staticmethod
    def _parse(row: dict[str, str], problems: Problems, today: dt.date, terms: dt.timedelta) -> dict[str, Any]:
        """`terms`: how long after the order its payment is due when the row does not say."""
        order_date = date_parse(row.get("order_date", ""), "order_date", problems)
        if order_date is None and not row.get("order_date"):
            problems.add("order_date", _("This field is required."))
        elif order_date is not None and order_date > today:
            problems.add("order_date", _("%(date)s is in the future.") % {"date": order_date.isoformat()})
        amount = _money(row.get("amount", ""), "amount", problems, allow_zero=True)
        if amount is None and not row.get("amount"):
            problems.add("amount", _("This field is required."))
        quantity = _decimal(row.get("quantity", ""), "quantity", problems, Decimal("0.001"), Decimal("99999999999"))
        unit_price = _money(row.get("unit_price", ""), "unit_price", problems, allow_zero=True)
        list_price = _money(row.get("list_price", ""), "list_price", problems, allow_zero=True)
        discount = _decimal(row.get("discount_pct", ""), "discount_pct", problems, Decimal(0), Decimal(100))
        status = (row.get("status") or "open").strip().lower()
        if status not in ORDER_STATUSES:
            problems.add("status", _("%(value)s is not one of: %(choices)s.") % {
                "value": status, "choices": ", ".join(OrderStatus.values)})
        due_on = date_parse(row.get("due_on", ""), "due_on", problems)
        if due_on is None and order_date is not None:
            due_on = order_date + terms
        elif due_on is not None and order_date is not None and due_on < order_date:
            problems.add("due_on", _("Payment cannot be due before the order."))
        currency = (row.get("currency") or "CNY").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            problems.add("currency", _("A three-letter currency code, e.g. CNY."))
        return {"order_date": order_date, "amount": amount, "quantity": quantity, "unit_price": unit_price,
                "list_price": list_price, "discount_pct": discount, "status": status, "due_on": due_on,
                "currency": currency, "product": (row.get("product") or "").strip()[:120],
                "delivery_address": (row.get("delivery_address") or "").strip()[:300],
                "number": (row.get("number") or "").strip()[:64]}

    @staticmethod
    def _line(order: Order, values: dict[str, Any]) -> OrderLine | None:
        if not values["product"]:
            return None
        quantity, unit_price = _line_price(values)
        return OrderLine(order=order, product=values["product"], quantity=quantity, unit_price=unit_price,
                         list_price=values["list_price"], discount_pct=values["discount_pct"], amount=values["amount"])

    def _write(self, ctx: ImportContext, new: list[tuple[int, str, _NewOrder, dict[str, Any]]]) -> None:
        """Orders, their lines and timeline entries by `core.io.inserts` (no model instances: the import's hot
        path; `COPY` on PostgreSQL, the orders' new ids drawn from the sequence first, multi-row inserts on
        SQLite), and one audit event for the batch listing every order it created (id, external id, customer,
        manager, date, amount)."""
        db = connections[DEFAULT_DB_ALIAS]  # not the `connection` proxy: a thread-local look-up at every use
        ops = db.ops
        now = timezone.now()
        actor_id = ctx.actor.pk if ctx.actor is not None else None
        money = ops.adapt_decimalfield_value
        ids = rows_insert(Order, ("external_id", "number", "customer_id", "contract_id", "manager_id", "source",
                                  "status", "order_date", "due_on", "amount", "currency", "delivery_address",
                                  "created_by_id", "created_at"),
                          [(o.external_id, o.number, o.customer_id, None, o.manager_id, OrderSource.ERP.value,
                            o.status, o.order_date, o.due_on, o.amount, o.currency, o.delivery_address, actor_id, now)
                           for _n, _k, o, _v in new], returning_ids=True)
        for (_n, _k, order, _v), pk in zip(new, ids, strict=True):
            order.pk = pk

        def lines() -> Iterator[tuple[Any, ...]]:  # made while COPY sends the earlier ones
            for _n, _key, order, values in new:
                if values["product"]:
                    quantity, unit_price = _line_price(values)
                    yield (order.pk, values["product"], money(quantity), money(unit_price),
                           money(values["list_price"]) if values["list_price"] is not None else None,
                           money(values["discount_pct"]) if values["discount_pct"] is not None else None,
                           money(values["amount"]))

        if any(values["product"] for _n, _k, _o, values in new):
            _insert(OrderLine, ("order_id", "product", "quantity", "unit_price", "list_price", "discount_pct",
                                "amount"), lines())
        summary = _("Order %(number)s: %(amount)s %(currency)s (ERP)")
        data_field = TimelineEntry._meta.get_field("data")
        moments: dict[dt.date, Any] = {}
        for _n, _k, o, _v in new:
            if o.order_date not in moments:
                moments[o.order_date] = ops.adapt_datetimefield_value(
                    timezone.make_aware(dt.datetime.combine(o.order_date, NOON)))
        _insert(TimelineEntry, ("customer_id", "occurred_at", "kind", "actor_id", "summary", "data"), ((
            o.customer_id, moments[o.order_date], "contracts.order", actor_id,
            (summary % {"number": o.number or o.external_id, "amount": o.amount, "currency": o.currency})[:400],
            data_field.get_db_prep_save({"order_id": o.pk, "amount": str(o.amount)}, db))
            for _n, _k, o, _v in new))
        first, last = new[0][2], new[-1][2]
        audit_record(actor=ctx.actor, action="contracts.order.imported", object_type="contracts.order",
                     object_id=f"{first.pk}-{last.pk}", object_label=f"{first.external_id} … {last.external_id}",
                     reason=ctx.source, changes={"orders": {"before": None, "after": [
                         f"{o.pk} {o.external_id} customer={o.customer_id} manager={o.manager_id} {o.order_date} "
                         f"{o.amount}" for _n, _k, o, _v in new]}, "count": {"before": None, "after": len(new)}})
        for number, key, _order, _values in new:
            ctx.succeed(number, key, RowStatus.CREATED)

    @staticmethod
    def _update(ctx: ImportContext, order: Order, values: dict[str, Any]) -> RowStatus:
        fields = ORDER_UPDATE_FIELDS
        changes = {f: {"before": _plain(getattr(order, f)), "after": _plain(values[f])} for f in fields
                   if getattr(order, f) != values[f]}
        if not changes:
            return RowStatus.UNCHANGED
        if order.allocations.exists() and ("amount" in changes or "customer_id" in changes):
            raise RowInvalid([("amount", _("Payments are matched to this order: its amount and customer stay."))])
        for field in fields:
            setattr(order, field, values[field])
        order.save()
        order.lines.all().delete()
        line = OrdersKind._line(order, values)
        if line is not None:
            line.save()
        audit_record(actor=ctx.actor, action="contracts.order.updated", obj=order, changes=changes, reason=ctx.source)
        return RowStatus.UPDATED

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        from kamguard.contracts.selectors import order_list

        qs = order_list(viewer=self.viewer(actor)).prefetch_related("lines")
        for order in qs.iterator(chunk_size=1000):
            line = next(iter(order.lines.all()), None)
            yield {"external_id": order.external_id or f"kg-order-{order.pk}",
                   "customer": order.customer.external_id or "", "order_date": order.order_date.isoformat(),
                   "amount": str(order.amount), "manager": order.manager.external_id or "" if order.manager else "",
                   "product": line.product if line else "", "quantity": str(line.quantity) if line else "",
                   "unit_price": str(line.unit_price) if line else "",
                   "list_price": str(line.list_price) if line and line.list_price is not None else "",
                   "discount_pct": str(line.discount_pct) if line and line.discount_pct is not None else "",
                   "currency": order.currency, "delivery_address": order.delivery_address, "status": order.status,
                   "number": order.number, "due_on": order.due_on.isoformat()}


class _NewOrder:
    """An order about to be inserted (a plain object: building 10,000 model instances costs more than the insert)."""

    __slots__ = ("amount", "currency", "customer_id", "delivery_address", "due_on", "external_id", "manager_id",
                 "number", "order_date", "pk", "status")

    def __init__(self, key: str, values: dict[str, Any]) -> None:
        self.pk: int | None = None
        self.external_id: str = key
        self.amount: Decimal = values["amount"]
        self.currency: str = values["currency"]
        self.customer_id: int = values["customer_id"]
        self.delivery_address: str = values["delivery_address"]
        self.due_on: dt.date = values["due_on"]
        self.manager_id: int | None = values["manager_id"]
        self.number: str = values["number"]
        self.order_date: dt.date = values["order_date"]
        self.status: str = values["status"]


def _line_price(values: dict[str, Any]) -> tuple[Decimal, Decimal]:
    quantity = values["quantity"] or Decimal(1)
    unit_price = values["unit_price"] if values["unit_price"] is not None else (
        values["amount"] / quantity).quantize(rules.CENT)
    return quantity, unit_price


def _insert(model: Any, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows of values already adapted for the database (`executemany` on SQLite, `COPY` on PostgreSQL)."""
    meta = model._meta
    plain_rows_insert(meta.db_table, [meta.get_field(c).column for c in columns], rows)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class PaymentsKind(Kind):
    name = "payments"
    label = gettext_lazy("Payments received (ERP)")
    columns = PAYMENT_COLUMNS
    required = ("external_id", "customer", "paid_on", "amount")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.TEAM
    field_columns = {"customer_id": "customer", "paid_on": "paid_on", "amount": "amount", "order_id": "order",
                     "over_reason": "over_reason", "payer_name": "payer_name", "payer_account": "payer_account"}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        keyed = list(keyed_rows(rows, ctx.fail).items())
        lost: list[DataQualityFinding] = []
        for start in range(0, len(keyed), BATCH):
            self._batch(ctx, keyed[start:start + BATCH], lost)
        # Outside the rows' savepoints: a refused row for an unknown customer is kept as a finding.
        services.findings_add_many(lost)

    def _batch(self, ctx: ImportContext, chunk: list[tuple[str, tuple[int, dict[str, str]]]],
               lost: list[DataQualityFinding]) -> None:
        """New payments go to `payments_record_many` together (in file order: each is matched to what the
        earlier ones left due); a row changing a payment already imported goes through `payment_update`
        alone, after the new payments before it are written."""
        existing = {p.external_id: p for p in Payment.objects.filter(external_id__in=[k for k, _r in chunk])}
        customers = {k: v for k, v in Customer.objects.filter(external_id__in={
            r.get("customer", "") for _k, (_n, r) in chunk} - {""}).values_list("external_id", "pk") if k}
        orders = {k: v for k, v in Order.objects.filter(external_id__in={
            r.get("order", "") for _k, (_n, r) in chunk} - {""}).values_list("external_id", "pk") if k}
        pending: list[tuple[int, str, services.NewPayment]] = []
        for key, (number, row) in chunk:
            problems = Problems()
            paid_on = date_parse(row.get("paid_on", ""), "paid_on", problems)
            if paid_on is None and not row.get("paid_on"):
                problems.add("paid_on", _("This field is required."))
            amount = _money(row.get("amount", ""), "amount", problems)
            if amount is None and not row.get("amount"):
                problems.add("amount", _("This field is required."))
            customer_id = customers.get(row.get("customer", ""))
            if not row.get("customer"):
                problems.add("customer", _("This field is required."))
            elif customer_id is None:
                problems.add("customer", _("Unknown customer %(id)s: kept as a data-quality finding.") % {
                    "id": row.get("customer", "")})
            order_id = orders.get(row.get("order", "")) if row.get("order") else None
            if row.get("order") and order_id is None:
                problems.add("order", _("Unknown order %(id)s: no such external id.") % {"id": row.get("order")})
            if problems:
                if customer_id is None and row.get("customer"):
                    lost.append(DataQualityFinding(kind=FindingKind.UNKNOWN_CUSTOMER, subject=f"payment:{key}"[:120],
                                                    details={"row": row, "source": ctx.source},
                                                    detected_at=timezone.now()))
                ctx.fail(number, key, problems.items)
                continue
            assert paid_on is not None and amount is not None and customer_id is not None
            current = existing.get(key)
            if current is None:
                pending.append((number, key, services.NewPayment(
                    customer_id=customer_id, paid_on=paid_on, amount=amount, order_id=order_id,
                    payer_name=row.get("payer_name", ""), payer_account=row.get("payer_account", ""),
                    over_reason=row.get("over_reason", ""), currency=row.get("currency") or "CNY", external_id=key)))
                continue
            if (current.customer_id, current.paid_on, current.amount, current.payer_name, current.payer_account) == (
                    customer_id, paid_on, amount, row.get("payer_name", ""), row.get("payer_account", "")):
                ctx.succeed(number, key, RowStatus.UNCHANGED)
                continue
            self._record(ctx, pending)
            pending = []
            ctx.attempt(number, key, partial(self._update, ctx, current, row, customer_id, paid_on, amount, order_id))
        self._record(ctx, pending)

    @staticmethod
    def _record(ctx: ImportContext, pending: list[tuple[int, str, services.NewPayment]]) -> None:
        if not pending:
            return
        results = services.payments_record_many(actor=ctx.actor, items=[item for _n, _k, item in pending])
        for (number, key, _item), result in zip(pending, results, strict=True):
            if isinstance(result, Payment):
                ctx.succeed(number, key, RowStatus.CREATED)
            else:
                ctx.fail(number, key, ctx.domain_problems(result))

    @staticmethod
    def _update(ctx: ImportContext, current: Payment, row: dict[str, str], customer_id: int, paid_on: dt.date,
                amount: Decimal, order_id: int | None) -> RowStatus:
        if current.customer_id != customer_id:
            raise RowInvalid([("customer", _("A payment's customer cannot change."))])
        services.payment_update(actor=ctx.actor, payment_id=current.pk, paid_on=paid_on, amount=amount,
                                payer_name=row.get("payer_name", ""), payer_account=row.get("payer_account", ""),
                                over_reason=row.get("over_reason", ""), order_id=order_id)
        return RowStatus.UPDATED

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        from kamguard.contracts.selectors import payment_list

        for payment in payment_list(viewer=self.viewer(actor)).iterator(chunk_size=1000):
            first = payment.allocations.select_related("order").first()
            yield {"external_id": payment.external_id or f"kg-payment-{payment.pk}",
                   "customer": payment.customer.external_id or "", "paid_on": payment.paid_on.isoformat(),
                   "amount": str(payment.amount),
                   "order": first.order.external_id or "" if first is not None and first.order else "",
                   "payer_name": payment.payer_name, "payer_account": payment.payer_account,
                   "currency": payment.currency, "over_reason": payment.over_reason}


kind_register(OrdersKind())
kind_register(PaymentsKind())
