"""Kinds `customers` and `contacts`: new customers through customers_create_many (the batch form of
customer_create), existing ones through customer_update / owner_change, contacts through contact_save.

Customers are applied in file order, so the duplicate check of a row sees the rows before it in the file:
the second row of the same company is reported as a duplicate of the first, never created twice. A
possible duplicate is a row error listing the candidates, unless the row gives a `duplicate_reason` (an
added optional column).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.errors import DomainError, PermissionRefused
from kamguard.core.io.kinds.common import Problems, RegionLookup, date_parse, keyed_rows, region_code
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import RowInvalid
from kamguard.customers.domain.keys import normalise_phone, normalise_uscc
from kamguard.customers.models import Contact, Customer, CustomerStatus, OwnershipKind
from kamguard.customers.selectors import customer_list, customer_visibility_q
from kamguard.customers.services.bulk import BATCH_SIZE, BatchCache, CustomerInput, customers_create_many
from kamguard.customers.services.common import is_supervising
from kamguard.customers.services.ownership import owner_change
from kamguard.customers.services.records import (
    DuplicateCustomer,
    PossibleDuplicate,
    contact_save,
    customer_update,
    region_guess,
)
from kamguard.org.domain.masking import mask
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import Industry, Region, User
from kamguard.org.scopes import person_in_scope

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext

ALIAS_SEPARATOR = "|"
MASK_CHARACTER = "*"
CONTACT_PII = ("phone", "email", "wechat")  # masked in exports by a person, as on the customer page
TRUE_WORDS = ("true", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "0", "no", "n", "否", "")
REGISTRATION_HOUR = dt.time(9, 0)  # customer_create dates a past registration at 09:00 local time


def registration_moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, REGISTRATION_HOUR))


def bulk_import_authorise(actor: User | None) -> None:
    """Importing customers, contacts or transfers writes across people: the system, or someone supervising."""
    if actor is not None and not is_supervising(actor):
        raise PermissionRefused(_("Importing customers needs a supervisor's scope (a department or more)."),
                                extra={"right": "customer.import"})


class PersonLookup:
    """People by external_id, cached for one import."""

    def __init__(self) -> None:
        self._cache: dict[str, User | None] = {}

    def get(self, external_id: str) -> User | None:
        if external_id not in self._cache:
            self._cache[external_id] = User.objects.filter(external_id=external_id).first()
        return self._cache[external_id]


def owner_problem(person: User, since: dt.date | None) -> str:
    """Why `person` cannot own a customer from `since` (empty if they can)."""
    if person.left_on is not None and since is not None and person.left_on <= since:
        return _("%(name)s left on %(left)s, before %(since)s; choose someone who was still there.") % {
            "name": person.full_name, "left": person.left_on.isoformat(), "since": since.isoformat()}
    if not person.is_active:
        return _("%(name)s has left; choose an active owner.") % {"name": person.full_name}
    if not person.has_right(Right.EDIT_BUSINESS_DATA):
        return _("%(name)s cannot own customers.") % {"name": person.full_name}
    return ""


class CustomersKind(Kind):
    name = "customers"
    label = gettext_lazy("Customers")
    columns = ("external_id", "name", "uscc", "english_name", "aliases", "region", "address", "industry", "size",
               "tier", "owner", "created_on", "source", "duplicate_reason")
    required = ("external_id", "name")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.DEPARTMENT
    field_columns = {"name": "name", "uscc": "uscc", "english_name": "english_name", "aliases": "aliases",
                     "region": "region", "address": "address", "industry": "industry", "size": "size",
                     "tier": "tier", "owner": "owner", "pool": "owner", "source": "source",
                     "external_id": "external_id", "duplicate_reason": "duplicate_reason", "status": "name"}

    # ------------------------------------------------------------ import

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        """New customers go through `customers_create_many` in batches of `BATCH_SIZE` rows (the same checks as
        `customer_create`, with the database work done once per batch); rows for customers that exist go
        through `customer_update`/`owner_change` one by one, after the new rows before them are written."""
        bulk_import_authorise(ctx.actor)
        keyed = list(keyed_rows(rows, ctx.fail).items())
        lookups = _Lookups()
        pending: list[tuple[int, str, CustomerInput]] = []
        for start in range(0, len(keyed), BATCH_SIZE):
            chunk = keyed[start:start + BATCH_SIZE]
            existing = {c.external_id: c for c in Customer.objects.filter(
                external_id__in=[key for key, _row in chunk]).select_related("owner")}
            for key, (number, row) in chunk:
                customer = existing.get(key)
                if customer is not None:
                    self._flush(ctx, pending, lookups)
                    ctx.attempt(number, key, partial(self._apply_update, ctx, number, customer, row, lookups))
                    continue
                try:
                    pending.append((number, key, self._new_input(ctx, number, key, row, lookups)))
                except RowInvalid as exc:
                    ctx.fail(number, key, exc.problems)
                if len(pending) >= BATCH_SIZE:
                    self._flush(ctx, pending, lookups)
        self._flush(ctx, pending, lookups)

    def _flush(self, ctx: ImportContext, pending: list[tuple[int, str, CustomerInput]], lookups: _Lookups) -> None:
        if not pending:
            return
        outcomes = customers_create_many(actor=ctx.actor, inputs=[item for _n, _k, item in pending],
                                         kind=OwnershipKind.IMPORT, cache=lookups.batch)
        for (number, key, _item), outcome in zip(pending, outcomes, strict=True):
            if outcome.error is None:
                lookups.created_rows[key] = number
                ctx.succeed(number, key, RowStatus.CREATED)
            else:
                ctx.fail(number, key, self._create_problems(ctx, outcome.error, lookups))
        pending.clear()

    def _parse(self, ctx: ImportContext, row: dict[str, str], lookups: _Lookups) -> tuple[
            dict[str, Any], Region | None, User | None, dt.date | None]:
        """The row's fields, region, owner and registration date; RowInvalid with every problem found."""
        problems = Problems()
        fields: dict[str, Any] = {"name": " ".join(row.get("name", "").split())}
        if not fields["name"]:
            problems.add("name", _("This field is required."))
        if ctx.has_column("uscc"):
            raw = row.get("uscc", "")
            fields["uscc"] = (normalise_uscc(raw) or raw) if raw else None
        for column in ("english_name", "address", "source"):
            if ctx.has_column(column):
                fields[column] = row.get(column, "")
        if ctx.has_column("aliases"):
            fields["aliases"] = [a.strip() for a in row.get("aliases", "").split(ALIAS_SEPARATOR) if a.strip()][:20]
        if ctx.has_column("size"):
            fields["size"] = row.get("size", "").lower()
        if ctx.has_column("tier"):
            fields["tier"] = row.get("tier", "").upper() or "C"
        if ctx.has_column("industry"):
            fields["industry"] = lookups.industry(row.get("industry", ""), problems)
        region: Region | None = None
        if ctx.has_column("region"):
            region = lookups.regions.resolve(row.get("region", ""), "region", problems)
        created_on = date_parse(row.get("created_on", ""), "created_on", problems) \
            if ctx.has_column("created_on") else None
        if created_on is not None and created_on > timezone.localdate():
            problems.add("created_on", _("%(date)s is in the future.") % {"date": created_on.isoformat()})
        owner: User | None = None
        owner_id = row.get("owner", "")
        if owner_id:
            owner = lookups.people.get(owner_id)
            if owner is None:
                problems.add("owner", _("Unknown person %(id)s: no such external id.") % {"id": owner_id})
        if problems:
            raise RowInvalid(problems.items)
        return fields, region, owner, created_on

    def _new_input(self, ctx: ImportContext, number: int, external_id: str, row: dict[str, str],
                   lookups: _Lookups) -> CustomerInput:
        fields, region, owner, created_on = self._parse(ctx, row, lookups)
        if owner is not None:
            reason = owner_problem(owner, created_on or timezone.localdate())
            if reason:
                raise RowInvalid([("owner", reason)])
        return CustomerInput(ref=number, name=fields.pop("name"), fields={**fields, "external_id": external_id},
                             owner=owner, to_pool=owner is None, created_on=created_on, region=region,
                             duplicate_reason=row.get("duplicate_reason", ""))

    def _apply_update(self, ctx: ImportContext, number: int, customer: Customer, row: dict[str, str],
                      lookups: _Lookups) -> RowStatus:
        fields, region, owner, created_on = self._parse(ctx, row, lookups)
        lookups.batch.profiles.pop(customer.pk, None)  # its name may change: the next batches profile it afresh
        owner_given = ctx.has_column("owner")
        return self._update(ctx, number, customer, fields, region, owner if owner_given else customer.owner,
                            owner_given, created_on, row.get("duplicate_reason", ""), lookups)

    @staticmethod
    def _create_problems(ctx: ImportContext, error: DomainError, lookups: _Lookups) -> list[tuple[str, str]]:
        """A refused new row's problems, in the import's words (a duplicate names what it duplicates)."""
        if isinstance(error, DuplicateCustomer) and error.extra.get("candidates"):
            return [("name", _("A duplicate of %(candidates)s; it is not imported twice.") % {
                "candidates": lookups.candidates_text(error.extra["candidates"])})]
        if isinstance(error, PossibleDuplicate):
            return [("duplicate_reason", _(
                "Similar customers exist: %(candidates)s. Check them; to import this row anyway, say in the "
                "duplicate_reason column why it is a different company.") % {
                "candidates": lookups.candidates_text(error.extra.get("candidates") or [])})]
        return ctx.domain_problems(error)

    @staticmethod
    def _update(ctx: ImportContext, number: int, customer: Customer, fields: dict[str, Any], region: Region | None,
                owner: User | None, owner_given: bool, created_on: dt.date | None,
                duplicate_reason: str, lookups: _Lookups) -> RowStatus:
        if "region" in ctx.columns:
            # An empty region is the one the service guesses from the address or the name, as on creation.
            fields["region"] = region or region_guess(name=fields["name"],
                                                      address=fields.get("address", customer.address))
        changed = {}
        for key, value in fields.items():
            if key in ("industry", "region"):
                if getattr(customer, f"{key}_id") != (value.pk if value is not None else None):
                    changed[key] = value
            elif getattr(customer, key) != value:
                changed[key] = value
        if created_on is not None and created_on != customer.created_on:
            ctx.warn(number, "created_on", _("The registration date of an existing customer is kept (%(date)s).")
                     % {"date": customer.created_on.isoformat()})
        new_owner_id = owner.pk if owner is not None else None
        owner_changes = owner_given and new_owner_id != customer.owner_id
        if not changed and not owner_changes:
            return RowStatus.UNCHANGED
        reason = f"import {ctx.source}".strip()
        if changed:
            try:
                customer = customer_update(actor=ctx.actor, customer_id=customer.pk, reason=reason,
                                           duplicate_reason=duplicate_reason, **changed)
            except PossibleDuplicate as exc:
                raise RowInvalid([("duplicate_reason", _(
                    "Similar customers exist: %(candidates)s. Check them; to import this row anyway, say in the "
                    "duplicate_reason column why it is a different company.") % {
                    "candidates": lookups.candidates_text(exc.extra.get("candidates") or [])})]) from exc
        if owner_changes:
            if owner is not None:
                problem = owner_problem(owner, timezone.localdate())
                if not problem and ctx.actor is not None and not person_in_scope(ctx.actor, owner):
                    problem = _("%(name)s is outside your scope.") % {"name": owner.full_name}
                if problem:
                    raise RowInvalid([("owner", problem)])
            elif customer.pool_id is None:
                raise RowInvalid([("owner", _("The customer has no shared pool to go to; name an owner."))])
            owner_change(customer=customer, expected_owner_id=customer.owner_id, new_owner=owner,
                         kind=OwnershipKind.IMPORT, actor=ctx.actor, reason=reason)
        return RowStatus.UPDATED

    # ------------------------------------------------------------ export

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        customers = customer_list(viewer=self.viewer(actor), status="").exclude(status=CustomerStatus.MERGED)
        for customer in customers.order_by("external_id", "pk"):
            yield {
                "external_id": customer.external_id or "",
                "name": customer.name,
                "uscc": customer.uscc or "",
                "english_name": customer.english_name,
                "aliases": ALIAS_SEPARATOR.join(customer.aliases or []),
                "region": region_code(customer.region),
                "address": customer.address,
                "industry": customer.industry.code if customer.industry else "",
                "size": customer.size,
                "tier": customer.tier,
                "owner": (customer.owner.external_id or "") if customer.owner else "",
                "created_on": customer.created_on.isoformat(),
                "source": customer.source,
                "duplicate_reason": "",
            }


class _Lookups:
    def __init__(self) -> None:
        self.regions = RegionLookup(preload=True)
        self.people = PersonLookup()
        self.created_rows: dict[str, int] = {}
        self.batch = BatchCache()
        self._industries: dict[str, Industry | None] = {}

    def industry(self, value: str, problems: Problems) -> Industry | None:
        if not value:
            return None
        if value not in self._industries:
            self._industries[value] = Industry.objects.filter(Q(name=value) | Q(code=value)).first()
        found = self._industries[value]
        if found is None:
            problems.add("industry", _("Unknown industry %(industry)s; use its name or code (Organisation → "
                                       "Industries).") % {"industry": value})
        return found

    def candidates_text(self, candidates: list[dict[str, Any]]) -> str:
        texts = []
        for candidate in candidates[:3]:
            external_id = candidate.get("external_id") or ""
            text = f"{external_id} {candidate.get('name', '')}".strip()
            text += " (" + _("owner: %(owner)s") % {"owner": candidate.get("owner") or "—"}
            if external_id in self.created_rows:
                text += ", " + _("row %(row)s of this file") % {"row": self.created_rows[external_id]}
            texts.append(text + ")")
        return "; ".join(texts)


# ---------------------------------------------------------------- contacts

class ContactsKind(Kind):
    name = "contacts"
    label = gettext_lazy("Customer contacts")
    columns = ("external_id", "customer", "name", "title", "phone", "email", "wechat", "is_decision_maker")
    required = ("external_id", "customer", "name")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.DEPARTMENT
    field_columns = {"name": "name", "title": "title", "phone": "phone", "email": "email", "wechat": "wechat",
                     "is_decision_maker": "is_decision_maker", "external_id": "external_id"}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        bulk_import_authorise(ctx.actor)
        keyed = keyed_rows(rows, ctx.fail)
        customers: dict[str, Customer | None] = {}
        for key, (number, row) in keyed.items():
            ctx.attempt(number, key, partial(self._apply, ctx, number, key, row, customers))

    def _apply(self, ctx: ImportContext, number: int, external_id: str, row: dict[str, str],
               customers: dict[str, Customer | None]) -> RowStatus:
        problems = Problems()
        reference = row.get("customer", "")
        if reference not in customers:
            visible = Customer.objects.all() if ctx.actor is None else Customer.objects.filter(
                customer_visibility_q(ctx.actor))
            customers[reference] = visible.filter(external_id=reference).first() if reference else None
        customer = customers[reference]
        if not reference:
            problems.add("customer", _("This field is required."))
        elif customer is None:
            problems.add("customer", _("Unknown customer %(id)s: no such external id.") % {"id": reference})
        fields: dict[str, Any] = {"name": row.get("name", "")}
        if not fields["name"]:
            problems.add("name", _("This field is required."))
        if ctx.has_column("title"):
            fields["title"] = row.get("title", "")
        for column in CONTACT_PII:
            if ctx.has_column(column):
                value = row.get(column, "")
                if MASK_CHARACTER in value:
                    ctx.warn(number, column, _("A masked value was left unchanged."))
                    continue
                fields[column] = value
        if ctx.has_column("is_decision_maker"):
            flag = row.get("is_decision_maker", "").lower()
            if flag not in TRUE_WORDS + FALSE_WORDS:
                problems.add("is_decision_maker", _("Write true or false."))
            fields["is_decision_maker"] = flag in TRUE_WORDS
        if problems:
            raise RowInvalid(problems.items)
        assert customer is not None
        contact = Contact.objects.filter(external_id=external_id).first()
        if contact is None:
            contact_save(actor=ctx.actor, customer_id=customer.pk, external_id=external_id, **fields)
            return RowStatus.CREATED
        if contact.customer_id != customer.pk:
            raise RowInvalid([("customer", _("This contact belongs to another customer; a contact cannot move. "
                                             "Give it a new external id."))])
        changed = {key: value for key, value in fields.items() if getattr(contact, key) != _contact_value(key, value)}
        if not changed:
            return RowStatus.UNCHANGED
        contact_save(actor=ctx.actor, customer_id=customer.pk, contact_id=contact.pk, **changed)
        return RowStatus.UPDATED

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        visible = customer_list(viewer=self.viewer(actor), status="").values("pk")
        contacts = Contact.objects.filter(customer__in=visible).select_related("customer").order_by(
            "customer__external_id", "external_id", "pk")
        for contact in contacts:
            yield {
                "external_id": contact.external_id or "",
                "customer": contact.customer.external_id or "",
                "name": contact.name,
                "title": contact.title,
                **{column: getattr(contact, column) if actor is None else mask(column, getattr(contact, column))
                   for column in CONTACT_PII},
                "is_decision_maker": "true" if contact.is_decision_maker else "false",
            }


def _contact_value(key: str, value: Any) -> Any:
    """The value as contact_save stores it, to tell a changed cell from an unchanged one."""
    if key == "phone":
        return (normalise_phone(value) or value) if value else ""
    if key == "email":
        return value.strip().lower()
    if isinstance(value, str):
        return value.strip()
    return value


kind_register(CustomersKind())
kind_register(ContactsKind())
