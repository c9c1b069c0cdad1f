"""Configuration of sales, by administrators (org.manage): products and list prices, stages (names in both
languages, order, default probability, required steps), the discount authority table and the settings.

- `product_save(*, actor, product_id=None, code, name, name_en="", unit="", list_price, currency="", active=True)`
- `stage_save(*, actor, stage_id=None, code, name, name_zh, order, probability, outcome="open",
   required_steps=(), is_active=True)`
- `authority_save(*, actor, authority_id=None, role="", grade_id=None, max_discount_pct, note="")`
- `authority_delete(*, actor, authority_id)`
- `settings_save(*, actor, forecast_cutoff_day, default_currency)`
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import Conflict, NotFound, ValidationFailed
from kamguard.core.fields import clean_decimal
from kamguard.org.domain.roles import Role
from kamguard.org.models import Grade, User
from kamguard.sales.models import DiscountAuthority, Outcome, Product, RequiredStep, SalesSettings, Stage
from kamguard.sales.services.common import clean_amount, clean_currency, clean_text, require_configure

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PRODUCT_FIELDS = ("code", "name", "name_en", "unit", "list_price", "currency", "active")
STAGE_FIELDS = ("code", "name", "name_zh", "order", "probability", "outcome", "required_steps", "is_active")
SEEDED_CODES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")


@transaction.atomic
def product_save(*, actor: User | None, product_id: int | None = None, code: str, name: str, name_en: str = "",
                 unit: str = "", list_price: Any, currency: str = "", active: bool = True) -> Product:
    require_configure(actor)
    product = Product() if product_id is None else Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound()
    before = snapshot(product, PRODUCT_FIELDS) if product.pk else {}
    product.code = clean_text(code, field="code", max_length=40, required=True)
    product.name = clean_text(name, field="name", max_length=200, required=True)
    product.name_en = clean_text(name_en, field="name_en", max_length=200)
    product.unit = clean_text(unit, field="unit", max_length=20) or "pcs"
    amount = clean_amount(list_price, field="list_price", required=True)
    assert amount is not None
    product.list_price = amount
    product.currency = clean_currency(currency)
    product.active = bool(active)
    if Product.objects.filter(code=product.code).exclude(pk=product.pk).exists():
        raise Conflict(field_errors={"code": [_("Another product has this code.")]}, code="code_taken")
    product.save()
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        audit_record(actor=actor, action="sales.product.create" if not before else "sales.product.update",
                     obj=product, changes=changes)
    return product


def _int(value: Any, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(field_errors={field: [_("A whole number.")]}, code="not_a_number") from None
    if not low <= number <= high:
        raise ValidationFailed(field_errors={field: [_("From %(low)d to %(high)d.") % {"low": low, "high": high}]},
                               code="out_of_range")
    return number


@transaction.atomic
def stage_save(*, actor: User | None, stage_id: int | None = None, code: str, name: str, name_zh: str, order: Any,
               probability: Any, outcome: str = Outcome.OPEN, required_steps: Any = (), is_active: bool = True
               ) -> Stage:
    """Add or change a stage. The seeded codes (the import format's) keep their code and outcome and stay
    active; one active stage means won and one means lost."""
    require_configure(actor)
    stage = Stage() if stage_id is None else Stage.objects.select_for_update().filter(pk=stage_id).first()
    if stage is None:
        raise NotFound()
    before = snapshot(stage, STAGE_FIELDS) if stage.pk else {}
    clean_code = str(code or "").strip().lower()
    if not CODE_RE.match(clean_code):
        raise ValidationFailed(field_errors={"code": [_("Lower-case letters, digits, - and _.")]}, code="bad_code")
    if stage.pk and stage.code in SEEDED_CODES and clean_code != stage.code:
        raise ValidationFailed(field_errors={"code": [_("The import format uses this code; it cannot change.")]},
                               code="seeded_code")
    if outcome not in Outcome.values:
        raise ValidationFailed(field_errors={"outcome": [_("Choose open, won or lost.")]}, code="bad_outcome")
    if stage.pk and stage.code in SEEDED_CODES and (outcome != stage.outcome or not is_active):
        raise ValidationFailed(field_errors={"outcome": [_("The import format's stages keep their outcome and "
                                                          "stay active.")]}, code="seeded_stage")
    if outcome != Outcome.OPEN and (not stage.pk or stage.outcome != outcome) and Stage.objects.filter(
            outcome=outcome, is_active=True).exclude(pk=stage.pk).exists():
        raise ValidationFailed(field_errors={"outcome": [_("Only one stage means won and one means lost.")]},
                               code="outcome_taken")
    steps = list(required_steps or ())
    unknown = [s for s in steps if s not in RequiredStep.values]
    if unknown:
        raise ValidationFailed(field_errors={"required_steps": [_("Unknown step: %(s)s") % {"s": ", ".join(
            map(str, unknown))}]}, code="unknown_step")
    stage.code = clean_code
    stage.name = clean_text(name, field="name", max_length=80, required=True)
    stage.name_zh = clean_text(name_zh, field="name_zh", max_length=80, required=True)
    stage.order = _int(order, "order", 0, 999)
    stage.probability = _int(probability, "probability", 0, 100)
    stage.outcome = outcome
    stage.required_steps = list(dict.fromkeys(steps))
    stage.is_active = bool(is_active)
    if Stage.objects.filter(code=stage.code).exclude(pk=stage.pk).exists():
        raise Conflict(field_errors={"code": [_("Another stage has this code.")]}, code="code_taken")
    stage.save()
    changes = diff(before, snapshot(stage, STAGE_FIELDS))
    if changes:
        audit_record(actor=actor, action="sales.stage.create" if not before else "sales.stage.update", obj=stage,
                     changes=changes)
    return stage


def _pct(value: Any, field: str) -> Decimal:
    number = clean_decimal(value, field, maximum=None)
    if number < 0:
        raise ValidationFailed(field_errors={field: [_("A discount cannot be negative.")]},
                               code="negative_discount")
    if number > 100:
        raise ValidationFailed(field_errors={field: [_("A discount cannot be over 100%.")]},
                               code="discount_over_100")
    return number.quantize(Decimal("0.01"))


@transaction.atomic
def authority_save(*, actor: User | None, authority_id: int | None = None, role: str = "", grade_id: int | None = None,
                   max_discount_pct: Any, note: str = "") -> DiscountAuthority:
    require_configure(actor)
    row = DiscountAuthority() if authority_id is None else DiscountAuthority.objects.select_for_update().filter(
        pk=authority_id).first()
    if row is None:
        raise NotFound()
    fields = ("role", "grade", "max_discount_pct", "note")
    before = snapshot(row, fields) if row.pk else {}
    role = str(role or "").strip()
    if role and role not in {r.value for r in Role}:
        raise ValidationFailed(field_errors={"role": [_("Unknown role.")]}, code="unknown_role")
    grade = None
    if grade_id:
        grade = Grade.objects.filter(pk=grade_id).first()
        if grade is None:
            raise ValidationFailed(field_errors={"grade_id": [_("Unknown grade.")]}, code="unknown_grade")
    row.role, row.grade = role, grade
    row.max_discount_pct = _pct(max_discount_pct, "max_discount_pct")
    row.note = clean_text(note, field="note", max_length=200)
    if DiscountAuthority.objects.filter(role=row.role, grade=row.grade).exclude(pk=row.pk).exists():
        raise Conflict(_("This role and grade already have a row; change that one."), code="duplicate_row",
                       field_errors={"role": [_("Already in the table.")]})
    row.save()
    changes = diff(before, snapshot(row, fields))
    if changes:
        audit_record(actor=actor, action="sales.authority.create" if not before else "sales.authority.update",
                     obj=row, changes=changes)
    return row


@transaction.atomic
def authority_delete(*, actor: User | None, authority_id: int) -> None:
    require_configure(actor)
    row = DiscountAuthority.objects.filter(pk=authority_id).first()
    if row is None:
        raise NotFound()
    audit_record(actor=actor, action="sales.authority.delete", obj=row,
                 changes=diff(snapshot(row, ("role", "grade", "max_discount_pct")), {}))
    row.delete()


@transaction.atomic
def settings_save(*, actor: User | None, forecast_cutoff_day: Any, default_currency: str = "CNY") -> SalesSettings:
    require_configure(actor)
    row, _created = SalesSettings.objects.select_for_update().get_or_create(pk=1)
    fields = ("forecast_cutoff_day", "default_currency")
    before = snapshot(row, fields)
    row.forecast_cutoff_day = _int(forecast_cutoff_day, "forecast_cutoff_day", 1, 28)
    row.default_currency = clean_currency(default_currency)
    row.save()
    changes = diff(before, snapshot(row, fields))
    if changes:
        audit_record(actor=actor, action="sales.settings.update", obj=row, changes=changes)
    return row
