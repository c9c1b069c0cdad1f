"""Every write of contracts, orders, deliveries, payments and findings: one function per use case, keyword-only,
transactional, audited. `actor=None` is the system (imports, the ERP webhook)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kamguard.contracts.domain import rules
from kamguard.contracts.models import (
    Contract,
    ContractAttachment,
    ContractLine,
    ContractStatus,
    DataQualityFinding,
    Delivery,
    FindingKind,
    FindingStatus,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Payment,
    PaymentAllocation,
    PaymentScheduleItem,
    PaymentStatus,
    WebhookSecret,
)
from kamguard.core.audit import AuditEntry, audit_record, audit_record_many, snapshot
from kamguard.core.errors import Conflict, DomainError, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.io.inserts import instances_insert
from kamguard.core.io.lookups import keys_in
from kamguard.customers.models import Customer, OwnershipChange
from kamguard.customers.selectors import customer_visibility_q
from kamguard.customers.services.common import timeline_add
from kamguard.org.domain.roles import Right, Role, Scope
from kamguard.org.models import User
from kamguard.org.scopes import scope_q

APPROVAL_KIND = "contracts.contract"
PAYMENT_DAYS_DEFAULT = 30
ZERO = Decimal(0)
CONTRACT_FIELDS = ("title", "amount", "currency", "terms", "starts_on", "ends_on", "manager_id", "status",
                   "signed_on", "opportunity_id", "customer_id")
MONEY_MESSAGES = {
    "negative": gettext_noop("The amount cannot be negative."),
    "zero": gettext_noop("The amount must be more than zero."),
    "not_a_number": gettext_noop("Not an amount; write it like 1234.50."),
    "too_large": gettext_noop("The amount is too large."),
    "too_precise": gettext_noop("At most two decimals."),
}


# ---------------------------------------------------------------- helpers


def money_field(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    try:
        return rules.money(value, allow_zero=allow_zero)
    except rules.MoneyError as exc:
        raise ValidationFailed(_(MONEY_MESSAGES[str(exc)]), code="amount_invalid" if str(exc) != "negative"
                               else "amount_negative", field_errors={field: [_(MONEY_MESSAGES[str(exc)])]}) from exc


def quantity_field(value: Any, field: str) -> Decimal:
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(field_errors={field: [_("Not a number.")]}) from exc
    if not quantity.is_finite() or quantity <= 0 or quantity > Decimal("99999999999"):
        raise ValidationFailed(_("The quantity must be more than zero."), code="quantity_invalid",
                               field_errors={field: [_("The quantity must be more than zero.")]})
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ValidationFailed(field_errors={field: [_("At most three decimals.")]})
    return quantity


def payment_days() -> int:
    return int(getattr(settings, "CONTRACTS_PAYMENT_DAYS", PAYMENT_DAYS_DEFAULT))


def visible_q(actor: User | None, path: str = "manager") -> Q:
    """Rows whose credited manager the actor may see (the system sees everything)."""
    if actor is None:
        return Q()
    return scope_q(actor, owner_path=path)


def require_write(actor: User | None, manager_id: int | None) -> None:
    """Writing needs the right to edit business data and the manager in the actor's scope: the manager
    themself, a specialist for their team, a supervisor for their department, finance for everyone."""
    if actor is None:
        return
    if not actor.is_active or not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    if manager_id == actor.pk:
        return
    if actor.scope >= Scope.TEAM and (manager_id is None or User.objects.filter(
            scope_q(actor, owner_path=""), pk=manager_id).exists()):
        return
    raise PermissionRefused(_("Only the manager, a specialist of their team or a supervisor may do this."),
                            extra={"right": "contracts.edit"})


def _customer(actor: User | None, customer_id: int, field: str = "customer_id") -> Customer:
    qs = Customer.objects.filter(pk=customer_id)
    if actor is not None:
        qs = qs.filter(customer_visibility_q(actor))
    found = qs.select_related("owner").first()
    if found is None:
        raise _customer_missing(field)
    return found


def _customer_missing(field: str) -> ValidationFailed:
    return ValidationFailed(field_errors={field: [_("No such customer, or you may not see it.")]})


def _person(pk: int | None, field: str) -> User | None:
    if pk is None:
        return None
    person = User.objects.filter(pk=pk, is_active=True).first()
    if person is None:
        raise ValidationFailed(field_errors={field: [_("No such active person.")]})
    return person


def owners_on(pairs: Iterable[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], int | None]:
    """Who owned each customer at the end of each date, from the ownership ledger (one query for all)."""
    wanted = list(set(pairs))
    if not wanted:
        return {}
    history: dict[int, list[tuple[dt.datetime, int | None]]] = {}
    for customer_id, at, owner_id in OwnershipChange.objects.filter(
            keys_in(OwnershipChange, "customer_id", {c for c, _d in wanted})).order_by("effective_at", "pk").values_list(
            "customer_id", "effective_at", "to_owner_id"):
        history.setdefault(customer_id, []).append((at, owner_id))
    found: dict[tuple[int, dt.date], int | None] = {}
    ends: dict[dt.date, dt.datetime] = {}
    for customer_id, day in wanted:
        end = ends.get(day)
        if end is None:
            end = ends[day] = timezone.make_aware(dt.datetime.combine(day, dt.time.max))
        owner: int | None = None
        for moment, to_owner in history.get(customer_id, ()):
            if moment > end:
                break
            owner = to_owner
        found[(customer_id, day)] = owner
    return found


def _credited(customer: Customer, day: dt.date) -> int | None:
    owner = owners_on([(customer.pk, day)]).get((customer.pk, day))
    return owner if owner is not None else customer.owner_id


def _lines_clean(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for index, line in enumerate(lines):
        product = str(line.get("product") or "").strip()[:120]
        if not product:
            raise ValidationFailed(field_errors={f"lines.{index}.product": [_("This field is required.")]})
        quantity = quantity_field(line.get("quantity", 1), f"lines.{index}.quantity")
        unit_price = money_field(line.get("unit_price"), f"lines.{index}.unit_price", allow_zero=True)
        cleaned.append({"product": product, "description": str(line.get("description") or "")[:300],
                        "quantity": quantity, "unit_price": unit_price,
                        "amount": rules.line_amount(quantity, unit_price)})
    return cleaned


def _schedule_clean(schedule: Sequence[dict[str, Any]], amount: Decimal) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for index, item in enumerate(schedule):
        due_on = item.get("due_on")
        if isinstance(due_on, str):
            try:
                due_on = dt.date.fromisoformat(due_on)
            except ValueError:
                due_on = None
        if not isinstance(due_on, dt.date):
            raise ValidationFailed(field_errors={f"schedule.{index}.due_on": [_("A date is required.")]})
        items.append({"due_on": due_on, "amount": money_field(item.get("amount"), f"schedule.{index}.amount"),
                      "note": str(item.get("note") or "")[:200]})
    problem = rules.schedule_problem(amount, [(i["due_on"], i["amount"]) for i in items])
    if problem == "sum_mismatch":
        total = sum((i["amount"] for i in items), ZERO)
        message = _("The instalments add up to %(sum)s but the contract is for %(amount)s.") % {
            "sum": total, "amount": amount}
        raise ValidationFailed(message, code="schedule_mismatch", field_errors={"schedule": [message]})
    if problem == "not_in_order":
        message = _("List the instalments in the order of their due dates.")
        raise ValidationFailed(message, code="schedule_order", field_errors={"schedule": [message]})
    return items


# ---------------------------------------------------------------- contracts


def contract_for(actor: User | None, contract_id: int) -> Contract:
    found = Contract.objects.filter(visible_q(actor), pk=contract_id).select_related("customer", "manager").first()
    if found is None:
        raise NotFound()
    return found


def quote_lines(opportunity_id: int) -> list[dict[str, Any]]:
    """The lines of the opportunity's approved quote, as contract lines (empty without one)."""
    from kamguard.sales.selectors import approved_quote

    quote = approved_quote(opportunity_id=opportunity_id)
    if quote is None:
        return []
    return [{"product": f"{line.product.code} {line.product.name}".strip(), "description": line.description,
             "quantity": line.quantity, "unit_price": line.unit_price} for line in quote.lines.select_related(
        "product").order_by("position", "pk")]


def _opportunity(customer: Customer, opportunity_id: int | None) -> Any:
    if opportunity_id is None:
        return None
    from kamguard.sales.models import Opportunity

    found = Opportunity.objects.filter(pk=opportunity_id, customer=customer).first()
    if found is None:
        raise ValidationFailed(field_errors={"opportunity_id": [_("No such opportunity of this customer.")]})
    return found


def _write_lines(contract: Contract, lines: list[dict[str, Any]]) -> None:
    contract.lines.all().delete()
    ContractLine.objects.bulk_create([ContractLine(contract=contract, position=i + 1, **line)
                                      for i, line in enumerate(lines)])


def _write_schedule(contract: Contract, items: list[dict[str, Any]]) -> None:
    contract.schedule.all().delete()
    PaymentScheduleItem.objects.bulk_create([PaymentScheduleItem(contract=contract, **item) for item in items])


@transaction.atomic
def contract_create(*, actor: User | None, customer_id: int, title: str, amount: Any = None,
                    manager_id: int | None = None, opportunity_id: int | None = None, terms: str = "",
                    starts_on: dt.date | None = None, ends_on: dt.date | None = None, currency: str = "CNY",
                    lines: Sequence[dict[str, Any]] | None = None, schedule: Sequence[dict[str, Any]] = (),
                    external_id: str | None = None) -> Contract:
    """A draft contract. Created from an opportunity without lines, it takes the lines of the opportunity's
    approved quote; the amount is the lines' total unless given (and then they must agree)."""
    customer = _customer(actor, customer_id)
    opportunity = _opportunity(customer, opportunity_id)
    manager = _person(manager_id, "manager_id") if manager_id else None
    manager_pk = manager.pk if manager else (opportunity.owner_id if opportunity else customer.owner_id) or (
        actor.pk if actor else None)
    if manager_pk is None:
        raise ValidationFailed(field_errors={"manager_id": [_("Name the manager credited with this contract.")]})
    require_write(actor, manager_pk)
    title = (title or "").strip()[:200]
    if not title:
        raise ValidationFailed(field_errors={"title": [_("This field is required.")]})
    if lines is None and opportunity is not None:
        lines = quote_lines(opportunity.pk)
    clean_lines = _lines_clean(lines or [])
    lines_total = sum((line["amount"] for line in clean_lines), ZERO)
    if amount in (None, ""):
        if not clean_lines:
            raise ValidationFailed(field_errors={"amount": [_("Give the amount or the contract's lines.")]})
        total = money_field(lines_total, "amount")
    else:
        total = money_field(amount, "amount")
        if clean_lines and total != lines_total:
            message = _("The lines add up to %(lines)s, not %(amount)s.") % {"lines": lines_total, "amount": total}
            raise ValidationFailed(message, code="amount_mismatch", field_errors={"amount": [message]})
    _dates_check(starts_on, ends_on)
    items = _schedule_clean(schedule, total)
    contract = Contract.objects.create(
        number=f"tmp-{secrets.token_hex(8)}", title=title, customer=customer, opportunity=opportunity,
        manager_id=manager_pk, amount=total, currency=(currency or "CNY").upper()[:3], terms=terms,
        starts_on=starts_on, ends_on=ends_on, created_by=actor, external_id=external_id or None)
    contract.number = f"HT{timezone.localdate():%Y%m}-{contract.pk:06d}"
    contract.save(update_fields=["number"])
    _write_lines(contract, clean_lines)
    _write_schedule(contract, items)
    audit_record(actor=actor, action="contracts.contract.created", obj=contract,
                 changes={k: {"before": None, "after": v} for k, v in snapshot(contract, CONTRACT_FIELDS).items()})
    return contract


def _moment(day: dt.date) -> dt.datetime:
    """When a dated event goes on the customer's timeline: now when it happened today (so it follows what led to
    it), otherwise noon of its day."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def _dates_check(starts_on: dt.date | None, ends_on: dt.date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationFailed(field_errors={"ends_on": [_("The end is before the start.")]})


def _approvals_locked(contract: Contract) -> bool:
    try:
        from kamguard.approvals.selectors import is_locked
    except ImportError:  # pragma: no cover - the engine is part of the product
        return False
    return bool(is_locked(kind=APPROVAL_KIND, subject_id=contract.pk))


def _require_editable(contract: Contract) -> None:
    if contract.status == ContractStatus.PENDING or _approvals_locked(contract):
        raise Conflict(_("The contract is awaiting approval and cannot be changed. Withdraw the request first."),
                       code="contract_locked")
    if contract.status not in (ContractStatus.DRAFT, ContractStatus.REJECTED):
        raise Conflict(_("Only a draft or rejected contract can be changed (this one is %(status)s).") % {
            "status": contract.get_status_display()}, code="contract_not_editable")


@transaction.atomic
def contract_update(*, actor: User | None, contract_id: int, lines: Sequence[dict[str, Any]] | None = None,
                    schedule: Sequence[dict[str, Any]] | None = None, **fields: Any) -> Contract:
    contract = contract_for(actor, contract_id)
    require_write(actor, contract.manager_id)
    _require_editable(contract)
    before = snapshot(contract, CONTRACT_FIELDS)
    allowed = {"title", "amount", "terms", "starts_on", "ends_on", "currency", "manager_id"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(field_errors={k: [_("This field cannot be changed.")] for k in unknown})
    if "title" in fields:
        contract.title = (fields["title"] or "").strip()[:200]
        if not contract.title:
            raise ValidationFailed(field_errors={"title": [_("This field is required.")]})
    if "terms" in fields:
        contract.terms = fields["terms"] or ""
    if "currency" in fields:
        contract.currency = (fields["currency"] or "CNY").upper()[:3]
    for key in ("starts_on", "ends_on"):
        if key in fields:
            setattr(contract, key, fields[key])
    _dates_check(contract.starts_on, contract.ends_on)
    if fields.get("manager_id") and fields["manager_id"] != contract.manager_id:
        manager = _person(fields["manager_id"], "manager_id")
        assert manager is not None
        require_write(actor, manager.pk)
        contract.manager_id = manager.pk
    if lines is not None:
        clean_lines = _lines_clean(lines)
        _write_lines(contract, clean_lines)
        if clean_lines and fields.get("amount") in (None, ""):
            fields["amount"] = sum((line["amount"] for line in clean_lines), ZERO)
    if fields.get("amount") not in (None, ""):
        contract.amount = money_field(fields["amount"], "amount")
    lines_total = contract.lines.aggregate(total=Sum("amount"))["total"]
    if lines_total is not None and lines_total != contract.amount:
        message = _("The lines add up to %(lines)s, not %(amount)s.") % {"lines": lines_total, "amount": contract.amount}
        raise ValidationFailed(message, code="amount_mismatch", field_errors={"amount": [message]})
    if schedule is not None:
        _write_schedule(contract, _schedule_clean(schedule, contract.amount))
    elif contract.schedule.exists():
        _schedule_clean([{"due_on": i.due_on, "amount": i.amount} for i in contract.schedule.all()], contract.amount)
    contract.save()
    audit_record(actor=actor, action="contracts.contract.updated", obj=contract,
                 changes=_diff(before, snapshot(contract, CONTRACT_FIELDS)))
    return contract


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}


@transaction.atomic
def contract_submit(*, actor: User, contract_id: int) -> Contract:
    """Send the contract for approval: locked until decided. When no policy asks for approval it is approved at once."""
    from kamguard.approvals.domain import ApprovalFacts
    from kamguard.approvals.services import approval_submit

    contract = contract_for(actor, contract_id)
    require_write(actor, contract.manager_id)
    _require_editable(contract)
    if contract.schedule.exists():
        _schedule_clean([{"due_on": i.due_on, "amount": i.amount} for i in contract.schedule.all()], contract.amount)
    updated = Contract.objects.filter(pk=contract.pk, status__in=(ContractStatus.DRAFT, ContractStatus.REJECTED)
                                      ).update(status=ContractStatus.PENDING, updated_at=timezone.now())
    if not updated:
        raise Conflict(code="contract_changed")
    audit_record(actor=actor, action="contracts.contract.submitted", obj=contract,
                 changes={"status": {"before": contract.status, "after": ContractStatus.PENDING}})
    facts = ApprovalFacts(amount=contract.amount, discount_pct=None, tier=contract.customer.tier,
                          customer_id=contract.customer_id, extra={"currency": contract.currency})
    approval_submit(actor=actor, kind=APPROVAL_KIND, subject_id=contract.pk, facts=facts,
                    summary=_("Contract %(number)s, %(customer)s, %(amount)s %(currency)s") % {
                        "number": contract.number, "customer": contract.customer.name, "amount": contract.amount,
                        "currency": contract.currency})
    contract.refresh_from_db()
    return contract


def contract_decided(*, contract_id: int, approved: bool | None, actor: User | None) -> None:
    """Called by the approval handler inside the deciding transaction: approved, rejected, or (None) withdrawn."""
    new = ContractStatus.APPROVED if approved else ContractStatus.REJECTED if approved is False else ContractStatus.DRAFT
    if Contract.objects.filter(pk=contract_id, status=ContractStatus.PENDING).update(
            status=new, updated_at=timezone.now()):
        audit_record(actor=actor, action=f"contracts.contract.{'approved' if approved else 'rejected' if approved is False else 'withdrawn'}",
                     object_type="contracts.contract", object_id=contract_id,
                     changes={"status": {"before": ContractStatus.PENDING, "after": new}})
        if approved is not None:  # the decision is part of the customer's story; a withdrawal is not
            contract = Contract.objects.select_related("customer").get(pk=contract_id)
            summary = (_("Contract %(number)s approved: %(amount)s %(currency)s") if approved else
                       _("Contract %(number)s rejected")) % {"number": contract.number, "amount": contract.amount,
                                                             "currency": contract.currency}
            timeline_add(customer=contract.customer, kind=f"contracts.{'approved' if approved else 'rejected'}",
                         actor=actor, summary=summary, data={"contract_id": contract.pk})


@transaction.atomic
def contract_sign(*, actor: User | None, contract_id: int, signed_on: dt.date | None = None) -> Contract:
    contract = contract_for(actor, contract_id)
    require_write(actor, contract.manager_id)
    signed_on = signed_on or timezone.localdate()
    if signed_on > timezone.localdate():
        raise ValidationFailed(field_errors={"signed_on": [_("The signing date cannot be in the future.")]})
    if contract.status != ContractStatus.APPROVED:
        raise Conflict(_("Only an approved contract can be signed (this one is %(status)s).") % {
            "status": contract.get_status_display()}, code="contract_not_approved")
    if not Contract.objects.filter(pk=contract.pk, status=ContractStatus.APPROVED).update(
            status=ContractStatus.SIGNED, signed_on=signed_on, updated_at=timezone.now()):
        raise Conflict(code="contract_changed")
    contract.refresh_from_db()
    audit_record(actor=actor, action="contracts.contract.signed", obj=contract,
                 changes={"status": {"before": ContractStatus.APPROVED, "after": ContractStatus.SIGNED},
                          "signed_on": {"before": None, "after": signed_on.isoformat()}})
    timeline_add(customer=contract.customer, kind="contracts.signed", actor=actor,
                 summary=_("Contract %(number)s signed: %(amount)s %(currency)s") % {
                     "number": contract.number, "amount": contract.amount, "currency": contract.currency},
                 data={"contract_id": contract.pk, "amount": str(contract.amount)})
    if contract.opportunity_id:
        from kamguard.sales.services import opportunity_contract_signed

        opportunity_contract_signed(actor=actor, opportunity_id=contract.opportunity_id, contract_id=contract.pk,
                                    signed_on=signed_on, amount=contract.amount)
    return contract


@transaction.atomic
def contract_cancel(*, actor: User | None, contract_id: int, reason: str) -> Contract:
    contract = contract_for(actor, contract_id)
    require_write(actor, contract.manager_id)
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why.")]})
    if contract.status in (ContractStatus.PENDING, ContractStatus.SIGNED, ContractStatus.CANCELLED):
        raise Conflict(_("A contract awaiting approval, signed or cancelled cannot be cancelled."),
                       code="contract_not_cancellable")
    before = contract.status
    contract.status = ContractStatus.CANCELLED
    contract.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="contracts.contract.cancelled", obj=contract, reason=reason,
                 changes={"status": {"before": before, "after": contract.status}})
    return contract


# ---------------------------------------------------------------- attachments


def attachment_dir() -> Path:
    return Path(settings.DATA_DIR) / "contract-files"


@transaction.atomic
def attachment_add(*, actor: User, contract_id: int, filename: str, data: bytes) -> ContractAttachment:
    contract = contract_for(actor, contract_id)
    require_write(actor, contract.manager_id)
    if contract.status in (ContractStatus.PENDING, ContractStatus.CANCELLED):
        raise Conflict(_("Files cannot be added while the contract awaits approval or after it is cancelled."),
                       code="contract_locked")
    if len(data) > rules.ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(_("The file is larger than 20 MB."), code="file_too_large",
                               field_errors={"file": [_("The file is larger than 20 MB.")]})
    if not data:
        raise ValidationFailed(field_errors={"file": [_("The file is empty.")]})
    kind = rules.attachment_type(data[:4096], filename)
    if kind is None:
        message = _("Only PDF, PNG, JPEG, Word (.docx) and Excel (.xlsx) files, judged by their content.")
        raise ValidationFailed(message, code="file_type", field_errors={"file": [message]})
    storage_name = f"{secrets.token_hex(16)}.{kind}"
    folder = attachment_dir()
    folder.mkdir(parents=True, exist_ok=True)
    attachment = ContractAttachment.objects.create(
        contract=contract, filename=rules.safe_filename(filename), file_type=kind, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), storage_name=storage_name, uploaded_by=actor)
    path = folder / storage_name
    path.write_bytes(data)
    audit_record(actor=actor, action="contracts.attachment.added", obj=contract,
                 changes={"attachment": {"before": None, "after": attachment.filename}, "size": {
                     "before": None, "after": len(data)}})
    return attachment


@transaction.atomic
def attachment_open(*, actor: User, attachment_id: int) -> tuple[ContractAttachment, bytes]:
    """The attachment's bytes for someone who may see its contract; every download is audited."""
    attachment = ContractAttachment.objects.filter(pk=attachment_id).select_related("contract").first()
    if attachment is None:
        raise NotFound()
    contract_for(actor, attachment.contract_id)
    path = attachment_dir() / attachment.storage_name
    if not path.is_file():
        raise NotFound(_("The file is missing from the store."))
    data = path.read_bytes()
    audit_record(actor=actor, action="contracts.attachment.downloaded", obj=attachment.contract,
                 changes={"attachment": {"before": None, "after": attachment.filename}})
    return attachment, data


# ---------------------------------------------------------------- findings


def known_addresses(customer_ids: Iterable[int]) -> dict[int, set[str]]:
    """Address keys seen for each customer: its own address, earlier orders' and deliveries' addresses."""
    ids = list(set(customer_ids))
    known: dict[int, set[str]] = {pk: set() for pk in ids}
    for pk, address in Customer.objects.filter(keys_in(Customer, "id", ids)).exclude(address="").order_by(
            ).values_list("pk", "address"):
        known[pk].add(rules.address_key(address))
    for pk, address in Order.objects.filter(keys_in(Order, "customer_id", ids)).exclude(delivery_address="").values_list(
            "customer_id", "delivery_address").distinct():
        known[pk].add(rules.address_key(address))
    for pk, address in Delivery.objects.filter(order__customer_id__in=ids).values_list(
            "order__customer_id", "address").distinct():
        known[pk].add(rules.address_key(address))
    for value in known.values():
        value.discard("")
    return known


def finding_add(*, kind: str, subject: str, customer_id: int | None = None, manager_id: int | None = None,
                details: dict[str, Any] | None = None) -> DataQualityFinding | None:
    """Record a finding once per (kind, subject); None when it was already recorded."""
    try:
        with transaction.atomic():
            return DataQualityFinding.objects.create(kind=kind, subject=subject[:120], customer_id=customer_id,
                                                     manager_id=manager_id, details=details or {},
                                                     detected_at=timezone.now())
    except IntegrityError:
        return None


def findings_add_many(items: Sequence[DataQualityFinding]) -> None:
    if items:
        DataQualityFinding.objects.bulk_create(items, ignore_conflicts=True, batch_size=500)


def _address_finding(customer: Customer, manager_id: int | None, address: str, subject: str,
                     known: set[str] | None = None) -> None:
    key = rules.address_key(address)
    if not key:
        return
    seen = known if known is not None else known_addresses([customer.pk])[customer.pk]
    if seen and key not in seen:
        finding_add(kind=FindingKind.NEW_ADDRESS, subject=subject, customer_id=customer.pk, manager_id=manager_id,
                    details={"address": address, "known": len(seen)})


def _payer_mismatch(payment: Payment, customer: Customer) -> DataQualityFinding | None:
    """The finding for a payer whose name is none of the customer's (unsaved), or None."""
    names = [customer.name, customer.english_name, *(customer.aliases or [])]
    if not payment.payer_name or rules.payer_matches(payment.payer_name, names):
        return None
    return DataQualityFinding(kind=FindingKind.PAYER_MISMATCH,
                              subject=f"payment:{payment.external_id or payment.pk}"[:120],
                              customer_id=customer.pk, manager_id=payment.manager_id,
                              details={"payer_name": payment.payer_name, "payer_account": payment.payer_account,
                                       "customer_name": customer.name, "amount": str(payment.amount),
                                       "payment_id": payment.pk}, detected_at=timezone.now())


def _payer_finding(payment: Payment, customer: Customer) -> None:
    found = _payer_mismatch(payment, customer)
    if found is not None:
        finding_add(kind=found.kind, subject=found.subject, customer_id=found.customer_id,
                    manager_id=found.manager_id, details=found.details)


@transaction.atomic
def finding_resolve(*, actor: User, finding_id: int, note: str) -> DataQualityFinding:
    from kamguard.contracts.selectors import findings

    finding = findings(viewer=actor).filter(pk=finding_id).first()
    if finding is None:
        raise NotFound()
    if not actor.has_right(Right.EDIT_BUSINESS_DATA) or actor.scope < Scope.TEAM:
        raise PermissionRefused(_("Specialists, supervisors and finance resolve findings."),
                                extra={"right": "contracts.finding.resolve"})
    if not (note or "").strip():
        raise ValidationFailed(field_errors={"note": [_("Say how it was resolved.")]})
    if not DataQualityFinding.objects.filter(pk=finding.pk, status=FindingStatus.OPEN).update(
            status=FindingStatus.RESOLVED, resolved_by=actor, resolved_at=timezone.now(), resolution_note=note[:2000]):
        raise Conflict(_("This finding is already resolved."), code="finding_resolved")
    finding.refresh_from_db()
    audit_record(actor=actor, action="contracts.finding.resolved", obj=finding, reason=note,
                 changes={"status": {"before": FindingStatus.OPEN, "after": FindingStatus.RESOLVED}})
    return finding


# ---------------------------------------------------------------- orders


def order_for(actor: User | None, order_id: int) -> Order:
    found = Order.objects.filter(visible_q(actor), pk=order_id).select_related("customer", "manager", "contract").first()
    if found is None:
        raise NotFound()
    return found


ORDER_FIELDS = ("customer_id", "contract_id", "manager_id", "order_date", "due_on", "amount", "currency",
                "delivery_address", "status", "external_id", "number")


@transaction.atomic
def order_create(*, actor: User | None, customer_id: int, order_date: dt.date, amount: Any = None,
                 lines: Sequence[dict[str, Any]] | None = None, contract_id: int | None = None,
                 manager_id: int | None = None, delivery_address: str = "", due_on: dt.date | None = None,
                 currency: str = "CNY", external_id: str | None = None, number: str = "",
                 source: str = OrderSource.MANUAL) -> Order:
    """An order, from a signed contract (its lines unless others are given) or on its own; credited to the
    contract's manager, else to whoever owned the customer on the order date."""
    customer = _customer(actor, customer_id)
    contract = None
    if contract_id is not None:
        contract = Contract.objects.filter(pk=contract_id, customer=customer).first()
        if contract is None:
            raise ValidationFailed(field_errors={"contract_id": [_("No such contract of this customer.")]})
        if contract.status != ContractStatus.SIGNED:
            raise ValidationFailed(_("Orders come from signed contracts."), code="contract_not_signed",
                                   field_errors={"contract_id": [_("Orders come from signed contracts.")]})
        source = OrderSource.CONTRACT
        if lines is None and amount in (None, ""):
            lines = [{"product": line.product, "quantity": line.quantity, "unit_price": line.unit_price}
                     for line in contract.lines.all()]
    if order_date > timezone.localdate():
        raise ValidationFailed(field_errors={"order_date": [_("The order date cannot be in the future.")]})
    if manager_id is not None:
        manager_pk: int | None = (_person(manager_id, "manager_id") or customer.owner).pk  # type: ignore[union-attr]
    elif contract is not None:
        manager_pk = contract.manager_id
    else:
        manager_pk = _credited(customer, order_date)
    require_write(actor, manager_pk)
    clean_lines = _lines_clean(lines or [])
    lines_total = sum((line["amount"] for line in clean_lines), ZERO)
    if amount in (None, ""):
        if not clean_lines:
            raise ValidationFailed(field_errors={"amount": [_("Give the amount or the order's lines.")]})
        total = money_field(lines_total, "amount")
    else:
        total = money_field(amount, "amount")
        if clean_lines and total != lines_total:
            message = _("The lines add up to %(lines)s, not %(amount)s.") % {"lines": lines_total, "amount": total}
            raise ValidationFailed(message, code="amount_mismatch", field_errors={"amount": [message]})
    if due_on is not None and due_on < order_date:
        raise ValidationFailed(field_errors={"due_on": [_("Payment cannot be due before the order.")]})
    known = known_addresses([customer.pk])[customer.pk]
    order = Order.objects.create(
        external_id=external_id or None, number=number[:64], customer=customer, contract=contract,
        manager_id=manager_pk, source=source, order_date=order_date,
        due_on=due_on or order_date + dt.timedelta(days=payment_days()), amount=total,
        currency=(currency or "CNY").upper()[:3], delivery_address=(delivery_address or "").strip()[:300],
        created_by=actor)
    if not order.number and not order.external_id:  # entered here: numbered like contracts, so people can say it
        order.number = f"DD{order_date:%Y%m}-{order.pk:06d}"
        order.save(update_fields=["number"])
    OrderLine.objects.bulk_create([OrderLine(order=order, product=line["product"], quantity=line["quantity"],
                                             unit_price=line["unit_price"], amount=line["amount"])
                                   for line in clean_lines])
    if order.delivery_address:
        _address_finding(customer, manager_pk, order.delivery_address, f"order:{order.external_id or order.pk}", known)
    audit_record(actor=actor, action="contracts.order.created", obj=order,
                 changes={k: {"before": None, "after": v} for k, v in snapshot(order, ORDER_FIELDS).items()})
    timeline_add(customer=customer, kind="contracts.order", actor=actor,
                 summary=_("Order %(number)s: %(amount)s %(currency)s") % {
                     "number": order.number or order.external_id or order.pk, "amount": order.amount,
                     "currency": order.currency},
                 data={"order_id": order.pk, "amount": str(order.amount)},
                 at=_moment(order_date))
    return order


@transaction.atomic
def order_cancel(*, actor: User | None, order_id: int, reason: str) -> Order:
    order = order_for(actor, order_id)
    require_write(actor, order.manager_id)
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why.")]})
    if order.allocations.exclude(payment__status=PaymentStatus.REJECTED).exists():
        raise Conflict(_("Payments are matched to this order; it cannot be cancelled."), code="order_paid")
    before = order.status
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    audit_record(actor=actor, action="contracts.order.cancelled", obj=order, reason=reason,
                 changes={"status": {"before": before, "after": order.status}})
    return order


@transaction.atomic
def delivery_record(*, actor: User | None, order_id: int, address: str, shipped_on: dt.date,
                    delivered_on: dt.date | None = None, note: str = "") -> Delivery:
    order = order_for(actor, order_id)
    require_write(actor, order.manager_id)
    address = (address or "").strip()[:300]
    if not address:
        raise ValidationFailed(field_errors={"address": [_("This field is required.")]})
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(_("The order is cancelled."), code="order_cancelled")
    if shipped_on < order.order_date:
        raise ValidationFailed(field_errors={"shipped_on": [_("Shipped before the order was placed.")]})
    if delivered_on is not None and delivered_on < shipped_on:
        raise ValidationFailed(field_errors={"delivered_on": [_("Delivered before it was shipped.")]})
    today = timezone.localdate()
    if shipped_on > today or (delivered_on is not None and delivered_on > today):
        raise ValidationFailed(field_errors={"shipped_on": [_("The date cannot be in the future.")]})
    known = known_addresses([order.customer_id])[order.customer_id]
    delivery = Delivery.objects.create(order=order, address=address, shipped_on=shipped_on,
                                       delivered_on=delivered_on, note=(note or "")[:300], recorded_by=actor)
    _address_finding(order.customer, order.manager_id, address, f"delivery:{delivery.pk}", known)
    if delivered_on is not None and order.status == OrderStatus.OPEN:
        order.status = OrderStatus.DELIVERED
        order.save(update_fields=["status"])
    audit_record(actor=actor, action="contracts.delivery.recorded", obj=order,
                 changes={"delivery": {"before": None, "after": {"address": address, "shipped_on": shipped_on.isoformat(),
                                                                  "delivered_on": delivered_on.isoformat()
                                                                  if delivered_on else None}}})
    timeline_add(customer=order.customer, kind="contracts.delivery", actor=actor,
                 summary=_("Delivery of order %(order)s to %(address)s") % {"order": order, "address": address},
                 data={"order_id": order.pk, "delivery_id": delivery.pk},
                 at=_moment(delivered_on or shipped_on))
    return delivery


# ---------------------------------------------------------------- receivables and payments


def dues_for(*, customer_ids: Sequence[int], order_id: int | None = None, contract_id: int | None = None,
             exclude_payment_id: int | None = None) -> list[tuple[rules.Due, dict[str, Any]]]:
    """What is still due, as (Due, info): open orders' outstanding amounts, and the instalments of signed
    contracts without orders (oldest first). Rejected payments count for nothing."""
    counted = ~Q(allocations__payment__status=PaymentStatus.REJECTED)
    if exclude_payment_id:
        counted &= ~Q(allocations__payment_id=exclude_payment_id)
    orders = Order.objects.filter(customer_id__in=customer_ids).exclude(status=OrderStatus.CANCELLED)
    contracts = Contract.objects.filter(customer_id__in=customer_ids, status=ContractStatus.SIGNED,
                                        orders__isnull=True)
    if order_id is not None:
        orders = orders.filter(pk=order_id)
        contracts = contracts.none()
    elif contract_id is not None:
        orders = orders.filter(contract_id=contract_id)
        contracts = contracts.filter(pk=contract_id)
    found: list[tuple[rules.Due, dict[str, Any]]] = []
    order_rows: list[Any] = list(orders.annotate(
        paid=Coalesce(Sum("allocations__amount", filter=counted), ZERO)).values(
        "pk", "amount", "paid", "due_on", "customer_id", "manager_id", "number", "external_id"))
    for row in order_rows:
        outstanding = row["amount"] - row["paid"]
        if outstanding > 0:
            found.append((rules.Due(f"o:{row['pk']}", outstanding, row["due_on"]), {
                "customer_id": row["customer_id"], "manager_id": row["manager_id"],
                "label": row["number"] or row["external_id"] or f"#{row['pk']}", "amount": row["amount"]}))
    contract_rows: list[Any] = list(contracts.annotate(paid=Coalesce(Sum("allocations__amount", filter=counted), ZERO)).values(
        "pk", "amount", "paid", "signed_on", "customer_id", "manager_id", "number").distinct())
    schedules: dict[int, list[PaymentScheduleItem]] = {}
    for item in PaymentScheduleItem.objects.filter(contract_id__in=[r["pk"] for r in contract_rows]).order_by(
            "due_on", "pk"):
        schedules.setdefault(item.contract_id, []).append(item)
    for row in contract_rows:
        paid = row["paid"]
        items = [(i.due_on, i.amount) for i in schedules.get(row["pk"], [])] or [(row["signed_on"], row["amount"])]
        for due_on, amount in items:
            covered = min(paid, amount)
            paid -= covered
            if amount - covered > 0:
                found.append((rules.Due(f"c:{row['pk']}", amount - covered, due_on), {
                    "customer_id": row["customer_id"], "manager_id": row["manager_id"], "label": row["number"],
                    "amount": row["amount"]}))
    return found


def _plan(customer: Customer, amount: Decimal, order_id: int | None, contract_id: int | None,
          exclude_payment_id: int | None = None) -> rules.AllocationPlan:
    dues = [d for d, _i in dues_for(customer_ids=[customer.pk], order_id=order_id, contract_id=contract_id,
                                    exclude_payment_id=exclude_payment_id)]
    return _plan_of(amount, dues)


def _plan_of(amount: Decimal, dues: Iterable[rules.Due]) -> rules.AllocationPlan:
    """The allocation plan over `dues` as `dues_for` lists them (a contract's instalments merged into one due)."""
    merged: dict[str, rules.Due] = {}
    for due in dues:
        if due.key in merged:
            old = merged[due.key]
            merged[due.key] = rules.Due(due.key, old.outstanding + due.outstanding, min(old.due_on, due.due_on))
        else:
            merged[due.key] = due
    return rules.allocation_plan(amount, merged.values())


def _allocate(payment: Payment, plan: rules.AllocationPlan) -> None:
    payment.allocations.all().delete()
    PaymentAllocation.objects.bulk_create([
        PaymentAllocation(payment=payment, amount=part,
                          order_id=int(key[2:]) if key.startswith("o:") else None,
                          contract_id=int(key[2:]) if key.startswith("c:") else None) for key, part in plan.parts])


def _overpayment_check(plan: rules.AllocationPlan, amount: Decimal, over_reason: str) -> None:
    if plan.over and not (over_reason or "").strip():
        message = _("%(amount)s is more than the %(due)s due. Match it to the right order or contract, or give the "
                    "reason for the difference.") % {"amount": amount, "due": plan.total_due}
        raise ValidationFailed(message, code="overpayment", field_errors={"over_reason": [message]})


@transaction.atomic
def payment_record(*, actor: User | None, customer_id: int, paid_on: dt.date, amount: Any,
                   order_id: int | None = None, contract_id: int | None = None, payer_name: str = "",
                   payer_account: str = "", over_reason: str = "", currency: str = "CNY",
                   external_id: str | None = None) -> Payment:
    """A payment (回款) matched to an order, a contract, or the customer's oldest dues; finance confirms it.
    More than what is due needs a reason; a payer who is not the customer is a data-quality finding."""
    customer = _customer(actor, customer_id)
    total = money_field(amount, "amount")
    if paid_on > timezone.localdate():
        raise _paid_in_future()
    manager_pk: int | None
    if order_id is not None:
        order = Order.objects.filter(pk=order_id, customer=customer).first()
        if order is None:
            raise _order_missing()
        manager_pk = order.manager_id
    elif contract_id is not None:
        contract = Contract.objects.filter(pk=contract_id, customer=customer).first()
        if contract is None:
            raise ValidationFailed(field_errors={"contract_id": [_("No such contract of this customer.")]})
        if contract.status != ContractStatus.SIGNED:
            raise ValidationFailed(field_errors={"contract_id": [_("Payments are matched to signed contracts.")]})
        manager_pk = contract.manager_id
    else:
        manager_pk = _credited(customer, paid_on)
    require_write(actor, manager_pk)
    plan = _plan(customer, total, order_id, contract_id)
    _overpayment_check(plan, total, over_reason)
    payment = Payment.objects.create(
        external_id=external_id or None, customer=customer, manager_id=manager_pk, paid_on=paid_on, amount=total,
        currency=(currency or "CNY").upper()[:3], payer_name=(payer_name or "").strip()[:200],
        payer_account=(payer_account or "").strip()[:64], over_reason=(over_reason or "").strip()[:300],
        recorded_by=actor)
    _allocate(payment, plan)
    _payer_finding(payment, customer)
    audit_record(actor=actor, action="contracts.payment.recorded", obj=payment, reason=payment.over_reason,
                 changes={"amount": {"before": None, "after": str(total)},
                          "customer": {"before": None, "after": customer.pk},
                          "allocations": {"before": None, "after": [[k, str(v)] for k, v in plan.parts]},
                          "unallocated": {"before": None, "after": str(plan.unallocated)}})
    return payment


def _paid_in_future() -> ValidationFailed:
    return ValidationFailed(field_errors={"paid_on": [_("The payment date cannot be in the future.")]})


def _order_missing() -> ValidationFailed:
    return ValidationFailed(field_errors={"order_id": [_("No such order of this customer.")]})


@dataclass(frozen=True)
class NewPayment:
    """One payment for `payments_record_many`: `payment_record`'s arguments (no contract: ERP payments name an
    order or nothing)."""

    customer_id: int
    paid_on: dt.date
    amount: Decimal
    order_id: int | None = None
    payer_name: str = ""
    payer_account: str = ""
    over_reason: str = ""
    currency: str = "CNY"
    external_id: str | None = None


class _OpenDues:
    """What the customers of a batch still owe, as `dues_for` lists it, kept up to date as the batch's payments
    are matched: a payment's part of a due lowers that due's first instalments, as the paid sum would when
    `dues_for` is asked again."""

    def __init__(self, customer_ids: Iterable[int]) -> None:
        self.by_customer: dict[int, list[rules.Due]] = {pk: [] for pk in customer_ids}
        for due, info in dues_for(customer_ids=list(self.by_customer)):
            self.by_customer[info["customer_id"]].append(due)

    def plan(self, customer_id: int, order_id: int | None, amount: Decimal) -> rules.AllocationPlan:
        dues = self.by_customer[customer_id]
        if order_id is not None:
            key = f"o:{order_id}"
            dues = [d for d in dues if d.key == key]
        return _plan_of(amount, dues)

    def take(self, customer_id: int, plan: rules.AllocationPlan) -> None:
        dues = self.by_customer[customer_id]
        for key, part in plan.parts:
            left = part
            for index, due in enumerate(dues):
                if left <= 0:
                    break
                if due.key == key:
                    covered = min(left, due.outstanding)
                    left -= covered
                    dues[index] = rules.Due(due.key, due.outstanding - covered, due.due_on)
            dues[:] = [d for d in dues if d.outstanding > 0]


@transaction.atomic
def payments_record_many(*, actor: User | None, items: Sequence[NewPayment]) -> list[Payment | DomainError]:
    """`payment_record` for many payments, in order, with a handful of queries for the lot (the ERP import's
    path): the same checks (the customer visible to the actor, no future date, the order the customer's, the
    credited manager in the actor's scope, more than is due only with a reason), the same matching (each payment
    sees the dues the earlier ones left), rows, findings and audit events. Each item's result is its new payment,
    or the error `payment_record` would have raised for it (nothing written for that item)."""
    if not items:
        return []
    customer_ids = {item.customer_id for item in items}
    visible = Customer.objects.filter(pk__in=customer_ids)
    if actor is not None:
        visible = visible.filter(customer_visibility_q(actor))
    customers = {c.pk: c for c in visible.only("pk", "name", "english_name", "aliases", "owner_id")}
    order_ids = {item.order_id for item in items if item.order_id is not None}
    orders = {pk: (customer_id, manager_id) for pk, customer_id, manager_id in Order.objects.filter(
        pk__in=order_ids).values_list("pk", "customer_id", "manager_id")}
    owners = owners_on((item.customer_id, item.paid_on) for item in items
                       if item.order_id is None and item.customer_id in customers)
    dues = _OpenDues(customers)
    today = timezone.localdate()
    refused_managers: dict[int | None, DomainError | None] = {}
    results: list[Payment | DomainError] = []
    made: list[tuple[Payment, Customer, rules.AllocationPlan]] = []
    for item in items:
        try:
            customer = customers.get(item.customer_id)
            if customer is None:
                raise _customer_missing("customer_id")
            total = money_field(item.amount, "amount")
            if item.paid_on > today:
                raise _paid_in_future()
            manager_pk: int | None
            if item.order_id is not None:
                order = orders.get(item.order_id)
                if order is None or order[0] != customer.pk:
                    raise _order_missing()
                manager_pk = order[1]
            else:
                owner = owners.get((customer.pk, item.paid_on))
                manager_pk = owner if owner is not None else customer.owner_id
            if manager_pk not in refused_managers:
                try:
                    require_write(actor, manager_pk)
                    refused_managers[manager_pk] = None
                except DomainError as exc:
                    refused_managers[manager_pk] = exc
            refused = refused_managers[manager_pk]
            if refused is not None:
                raise refused
            plan = dues.plan(customer.pk, item.order_id, total)
            _overpayment_check(plan, total, item.over_reason)
        except DomainError as exc:
            results.append(exc)
            continue
        dues.take(customer.pk, plan)
        payment = Payment(
            external_id=item.external_id or None, customer_id=customer.pk, manager_id=manager_pk,
            paid_on=item.paid_on, amount=total, currency=(item.currency or "CNY").upper()[:3],
            payer_name=(item.payer_name or "").strip()[:200], payer_account=(item.payer_account or "").strip()[:64],
            over_reason=(item.over_reason or "").strip()[:300], recorded_by=actor)
        made.append((payment, customer, plan))
        results.append(payment)
    instances_insert([payment for payment, _c, _p in made])
    PaymentAllocation.objects.bulk_create([
        PaymentAllocation(payment_id=payment.pk, amount=part,
                          order_id=int(key[2:]) if key.startswith("o:") else None,
                          contract_id=int(key[2:]) if key.startswith("c:") else None)
        for payment, _c, plan in made for key, part in plan.parts], batch_size=500)
    findings_add_many([f for f in (_payer_mismatch(payment, customer) for payment, customer, _p in made)
                       if f is not None])
    audit_record_many(actor=actor, entries=[AuditEntry(
        action="contracts.payment.recorded", obj=payment, reason=payment.over_reason,
        changes={"amount": {"before": None, "after": str(payment.amount)},
                 "customer": {"before": None, "after": customer.pk},
                 "allocations": {"before": None, "after": [[k, str(v)] for k, v in plan.parts]},
                 "unallocated": {"before": None, "after": str(plan.unallocated)}}) for payment, customer, plan in made])
    return results


@transaction.atomic
def payment_update(*, actor: User | None, payment_id: int, paid_on: dt.date, amount: Any, payer_name: str = "",
                   payer_account: str = "", over_reason: str = "", order_id: int | None = None) -> Payment:
    """Change a payment finance has not confirmed yet (an ERP row sent again with other values)."""
    payment = Payment.objects.filter(visible_q(actor), pk=payment_id).select_related("customer").first()
    if payment is None:
        raise NotFound()
    require_write(actor, payment.manager_id)
    if payment.status != PaymentStatus.RECORDED:
        raise Conflict(_("Finance has already decided on this payment; it cannot be changed."),
                       code="payment_decided")
    total = money_field(amount, "amount")
    plan = _plan(payment.customer, total, order_id, None, exclude_payment_id=payment.pk)
    _overpayment_check(plan, total, over_reason)
    before = snapshot(payment, ("paid_on", "amount", "payer_name", "payer_account", "over_reason"))
    payment.paid_on, payment.amount, payment.payer_name = paid_on, total, payer_name[:200]
    payment.payer_account, payment.over_reason = payer_account[:64], over_reason[:300]
    payment.save()
    _allocate(payment, plan)
    _payer_finding(payment, payment.customer)
    audit_record(actor=actor, action="contracts.payment.updated", obj=payment,
                 changes=_diff(before, snapshot(payment, ("paid_on", "amount", "payer_name", "payer_account",
                                                          "over_reason"))))
    return payment


def is_finance(user: User) -> bool:
    return user.is_active and Role.FINANCE in user.roles and user.has_right(Right.EDIT_BUSINESS_DATA)


@transaction.atomic
def payment_confirm(*, actor: User, payment_id: int, approve: bool = True, note: str = "") -> Payment:
    """Finance confirms (or rejects, with a note) a recorded payment; whoever recorded it cannot confirm it."""
    if not is_finance(actor):
        raise PermissionRefused(_("Only finance confirms payments."), extra={"right": "contracts.payment.confirm"})
    payment = Payment.objects.filter(pk=payment_id).select_related("customer").first()
    if payment is None:
        raise NotFound()
    if payment.recorded_by_id == actor.pk:
        raise PermissionRefused(_("You recorded this payment; someone else in finance must confirm it."),
                                code="segregation_of_duties", extra={"right": "contracts.payment.confirm"})
    if not approve and not (note or "").strip():
        raise ValidationFailed(field_errors={"note": [_("Say why the payment is rejected.")]})
    new = PaymentStatus.CONFIRMED if approve else PaymentStatus.REJECTED
    if not Payment.objects.filter(pk=payment.pk, status=PaymentStatus.RECORDED).update(
            status=new, confirmed_by=actor, confirmed_at=timezone.now(), decision_note=(note or "")[:300]):
        raise Conflict(_("Finance has already decided on this payment."), code="payment_decided")
    payment.refresh_from_db()
    audit_record(actor=actor, action=f"contracts.payment.{'confirmed' if approve else 'rejected'}", obj=payment,
                 reason=note, changes={"status": {"before": PaymentStatus.RECORDED, "after": new}})
    if approve:
        timeline_add(customer=payment.customer, kind="contracts.payment", actor=actor,
                     summary=_("Payment received: %(amount)s %(currency)s (confirmed by finance)") % {
                         "amount": payment.amount, "currency": payment.currency},
                     data={"payment_id": payment.pk, "amount": str(payment.amount)},
                     at=_moment(payment.paid_on))
    return payment


# ---------------------------------------------------------------- webhook secrets


def _require_admin(actor: User) -> None:
    if not (actor.is_active and (Role.ADMIN in actor.roles or actor.has_right(Right.MANAGE_ORG))):
        raise PermissionRefused(_("Administrators manage the ERP webhook secrets."),
                                extra={"right": "contracts.webhook.manage"})


@transaction.atomic
def webhook_secret_create(*, actor: User, name: str) -> tuple[WebhookSecret, str]:
    """A new shared secret: returned once in clear, stored encrypted (it must be usable to verify signatures)."""
    _require_admin(actor)
    name = (name or "").strip()[:80]
    if not name:
        raise ValidationFailed(field_errors={"name": [_("This field is required.")]})
    plain = rules.secret_generate()
    secret = WebhookSecret.objects.create(name=name, sealed=rules.secret_seal(settings.SECRET_KEY, plain),
                                          hint=plain[-4:], created_by=actor)
    audit_record(actor=actor, action="contracts.webhook_secret.created", obj=secret,
                 changes={"name": {"before": None, "after": name}})
    return secret, plain


@transaction.atomic
def webhook_secret_revoke(*, actor: User, secret_id: int) -> WebhookSecret:
    _require_admin(actor)
    secret = WebhookSecret.objects.filter(pk=secret_id).first()
    if secret is None:
        raise NotFound()
    if not WebhookSecret.objects.filter(pk=secret.pk, is_active=True).update(is_active=False,
                                                                           revoked_at=timezone.now()):
        raise Conflict(_("Already revoked."), code="secret_revoked")
    audit_record(actor=actor, action="contracts.webhook_secret.revoked", obj=secret,
                 changes={"is_active": {"before": True, "after": False}})
    secret.refresh_from_db()
    return secret


class WebhookRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


WEBHOOK_KINDS = ("orders", "payments")


def webhook_verify(*, timestamp: str, signature: str, body: bytes, now: float | None = None) -> WebhookSecret:
    """The active secret that signed `body` at `timestamp`; WebhookRefused (400 old/missing time, 401 signature)."""
    problem = rules.timestamp_problem(timestamp, now if now is not None else timezone.now().timestamp())
    if problem:
        raise WebhookRefused(400, f"timestamp_{problem}", _(
            "The X-KAMGuard-Timestamp header is missing, malformed or more than 5 minutes from now; sign the request "
            "again with the current time."))
    for secret in WebhookSecret.objects.filter(is_active=True):
        plain = rules.secret_open(settings.SECRET_KEY, secret.sealed)
        if plain and rules.signature_matches(plain, timestamp, body, signature):
            WebhookSecret.objects.filter(pk=secret.pk).update(last_used_at=timezone.now())
            return secret
    raise WebhookRefused(401, "signature_invalid", _("The signature does not match any active webhook secret."))
