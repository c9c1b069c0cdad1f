"""Kind `opportunities`: the pipeline of a source system (docs/import-formats.md), idempotent by external id.

A new external id is created at the stage given (history from the source: the stages' required steps are not
asked for — the steps happened in the other system); a known one is updated (a changed stage is a move in the
stage history) or reported unchanged. Customers and owners are referred to by their external ids. Optional
columns beyond the format's: expected_close_on, probability, lost_note. Importing writes across people, so it
needs a supervisor's scope; exports see what the exporting person may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.io.kinds.common import Problems, date_parse
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import RowInvalid
from kamguard.customers.models import Customer
from kamguard.customers.services.common import timeline_add
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope
from kamguard.sales.models import LostReason, Opportunity, Outcome, Stage, StageChange
from kamguard.sales.selectors import opportunity_list
from kamguard.sales.services.common import CURRENCY_RE, MAX_AMOUNT
from kamguard.sales.services.pipeline import contribution, pipeline_shift

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext

OPPORTUNITY_COLUMNS = ("external_id", "customer", "owner", "name", "stage", "amount", "currency", "created_on",
                       "closed_on", "lost_reason", "competitor", "expected_close_on", "probability", "lost_note")
AUDITED = ("name", "stage", "outcome", "amount", "currency", "created_on", "closed_on", "lost_reason", "lost_note",
           "competitor", "expected_close_on", "probability", "owner", "customer")
NOON = dt.time(12, 0)


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, NOON))


class OpportunitiesKind(Kind):
    name = "opportunities"
    label = gettext_lazy("Opportunities (the sales pipeline)")
    columns = OPPORTUNITY_COLUMNS
    required = ("external_id", "customer", "owner", "name", "stage")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.DEPARTMENT
    field_columns = {"customer_id": "customer", "owner_id": "owner", "expected_close_on": "expected_close_on"}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        stages = {s.code: s for s in Stage.objects.all()}
        people: dict[str, User | None] = {}
        customers: dict[str, Customer | None] = {}
        for number, row in rows:
            external_id = (row.get("external_id") or "").strip()
            ctx.attempt(number, external_id, partial(self._apply, ctx, row, stages, people, customers))

    def _apply(self, ctx: ImportContext, row: dict[str, str], stages: dict[str, Stage],
               people: dict[str, User | None], customers: dict[str, Customer | None]) -> RowStatus:
        problems = Problems()
        values = self._parse(ctx, row, stages, people, customers, problems)
        if problems:
            raise RowInvalid(problems.items)
        existing = Opportunity.objects.select_for_update().filter(external_id=values["external_id"]).first()
        if existing is None:
            return self._create(ctx, values)
        return self._update(ctx, existing, values)

    def _parse(self, ctx: ImportContext, row: dict[str, str], stages: dict[str, Stage],
               people: dict[str, User | None], customers: dict[str, Customer | None],
               problems: Problems) -> dict[str, Any]:
        def cell(name: str) -> str:
            return (row.get(name) or "").replace("\x00", "").strip()

        values: dict[str, Any] = {"external_id": cell("external_id")}
        for column in self.required:
            if not cell(column):
                problems.add(column, _("Required."))
        if len(values["external_id"]) > 64:
            problems.add("external_id", _("At most 64 characters."))
        customer_ref = cell("customer")
        if customer_ref:
            if customer_ref not in customers:
                customers[customer_ref] = Customer.objects.filter(external_id=customer_ref).first()
            customer = customers[customer_ref]
            if customer is None:
                problems.add("customer", _("No customer has the external id %(id)s.") % {"id": customer_ref})
            values["customer"] = customer
        owner_ref = cell("owner")
        if owner_ref:
            if owner_ref not in people:
                people[owner_ref] = User.objects.filter(external_id=owner_ref).first()
            owner = people[owner_ref]
            if owner is None:
                problems.add("owner", _("No person has the external id %(id)s.") % {"id": owner_ref})
            elif ctx.actor is not None and not person_in_scope(ctx.actor, owner):
                problems.add("owner", _("%(name)s is outside your data scope.") % {"name": owner})
            values["owner"] = owner
        name = cell("name")
        if len(name) > 200:
            problems.add("name", _("At most 200 characters."))
        values["name"] = name
        stage_code = cell("stage").lower()
        stage = stages.get(stage_code)
        if stage_code and stage is None:
            problems.add("stage", _("Unknown stage %(stage)s; use one of: %(known)s.") % {
                "stage": stage_code, "known": ", ".join(stages)})
        values["stage"] = stage
        amount_text = cell("amount").replace(",", "")
        amount = Decimal(0)
        if amount_text:
            try:
                amount = Decimal(amount_text)
                if not amount.is_finite():
                    raise InvalidOperation
                if amount < 0:
                    problems.add("amount", _("Amounts cannot be negative."))
                elif amount > MAX_AMOUNT:
                    problems.add("amount", _("The amount is too large."))
            except (InvalidOperation, ValueError):
                problems.add("amount", _("%(value)s is not a number.") % {"value": amount_text})
                amount = Decimal(0)
        values["amount"] = amount.quantize(Decimal("0.01")) if amount.is_finite() else Decimal(0)
        currency = cell("currency").upper() or "CNY"
        if not CURRENCY_RE.match(currency):
            problems.add("currency", _("Use a three-letter currency code such as CNY."))
        values["currency"] = currency
        values["created_on"] = date_parse(cell("created_on"), "created_on", problems)
        values["closed_on"] = date_parse(cell("closed_on"), "closed_on", problems)
        values["expected_close_on"] = date_parse(cell("expected_close_on"), "expected_close_on", problems)
        probability_text = cell("probability")
        values["probability"] = None
        if probability_text:
            if not probability_text.isdigit() or int(probability_text) > 100:
                problems.add("probability", _("A whole number from 0 to 100."))
            else:
                values["probability"] = int(probability_text)
        reason_text = cell("lost_reason")
        note = cell("lost_note")
        reason = ""
        if reason_text:
            if reason_text.lower() in LostReason.values:
                reason = reason_text.lower()
            else:  # free text from the source system: kept as the details
                labels = {str(label).lower(): code for code, label in LostReason.choices}
                reason = labels.get(reason_text.lower(), LostReason.OTHER)
                if reason == LostReason.OTHER:
                    note = f"{reason_text}\n{note}".strip()
        values["lost_reason"], values["lost_note"] = reason, note[:2000]
        values["competitor"] = cell("competitor")[:120]
        if stage is not None and stage.outcome != Outcome.LOST and reason:
            problems.add("lost_reason", _("Only a lost opportunity has a lost reason."))
        today = timezone.localdate()
        created = values["created_on"]
        closed = values["closed_on"]
        if created and created > today:
            problems.add("created_on", _("The date is in the future."))
        if closed and closed > today:
            problems.add("closed_on", _("The date is in the future."))
        if created and closed and closed < created:
            problems.add("closed_on", _("Closed before it was created."))
        if stage is not None and stage.outcome == Outcome.OPEN and closed:
            problems.add("closed_on", _("An open opportunity has no closing date."))
        return values

    @staticmethod
    def _fields(values: dict[str, Any]) -> dict[str, Any]:
        stage: Stage = values["stage"]
        today = timezone.localdate()
        created_on = values["created_on"] or today
        closed_on = values["closed_on"] if stage.outcome != Outcome.OPEN else None
        if stage.outcome != Outcome.OPEN and closed_on is None:
            closed_on = today
        probability = values["probability"]
        if stage.outcome == Outcome.WON:
            probability = 100
        elif stage.outcome == Outcome.LOST:
            probability = 0
        elif probability is None:
            probability = stage.probability
        return {"customer": values["customer"], "owner": values["owner"], "name": values["name"], "stage": stage,
                "outcome": stage.outcome, "amount": values["amount"], "currency": values["currency"],
                "created_on": created_on, "closed_on": closed_on, "lost_reason": values["lost_reason"],
                "lost_note": values["lost_note"], "competitor": values["competitor"],
                "expected_close_on": values["expected_close_on"], "probability": probability}

    def _create(self, ctx: ImportContext, values: dict[str, Any]) -> RowStatus:
        fields = self._fields(values)
        at = _moment(fields["closed_on"] or fields["created_on"])
        opportunity = Opportunity.objects.create(external_id=values["external_id"], stage_changed_at=at,
                                                 created_by=ctx.actor, **fields)
        pipeline_shift(None, contribution(opportunity))
        StageChange.objects.create(opportunity=opportunity, from_stage=None, to_stage=fields["stage"], changed_at=at,
                                   changed_by=ctx.actor, note=_("Imported"))
        audit_record(actor=ctx.actor, action="sales.opportunity.import", obj=opportunity,
                     changes=diff({}, snapshot(opportunity, AUDITED)), reason=ctx.source)
        timeline_add(customer=opportunity.customer, kind="sales.opportunity.imported", actor=ctx.actor, at=at,
                     summary=_("Opportunity “%(name)s” imported (%(stage)s, %(amount)s %(currency)s)") % {
                         "name": opportunity.name, "stage": fields["stage"].label, "amount": opportunity.amount,
                         "currency": opportunity.currency},
                     data={"opportunity_id": opportunity.pk, "stage": fields["stage"].code})
        return RowStatus.CREATED

    def _update(self, ctx: ImportContext, opportunity: Opportunity, values: dict[str, Any]) -> RowStatus:
        fields = self._fields(values)
        if not values["created_on"]:
            fields["created_on"] = opportunity.created_on
        if fields["stage"].outcome != Outcome.OPEN and not values["closed_on"]:
            fields["closed_on"] = opportunity.closed_on or fields["closed_on"]
        before = snapshot(opportunity, AUDITED)
        counted = contribution(opportunity)
        from_stage = opportunity.stage
        for key, value in fields.items():
            setattr(opportunity, key, value)
        changes = diff(before, snapshot(opportunity, AUDITED))
        if not changes:
            return RowStatus.UNCHANGED
        moved = from_stage.pk != fields["stage"].pk
        at = _moment(fields["closed_on"]) if moved and fields["closed_on"] else timezone.now()
        if moved:
            opportunity.stage_changed_at = at
        opportunity.save()
        pipeline_shift(counted, contribution(opportunity))
        if moved:
            StageChange.objects.create(opportunity=opportunity, from_stage=from_stage, to_stage=fields["stage"],
                                       changed_at=at, changed_by=ctx.actor, note=_("Imported"))
            timeline_add(customer=opportunity.customer, kind="sales.opportunity.stage", actor=ctx.actor, at=at,
                         summary=_("Opportunity “%(name)s”: %(from)s → %(to)s") % {
                             "name": opportunity.name, "from": from_stage.label, "to": fields["stage"].label},
                         data={"opportunity_id": opportunity.pk, "from": from_stage.code,
                               "to": fields["stage"].code})
        audit_record(actor=ctx.actor, action="sales.opportunity.import", obj=opportunity, changes=changes,
                     reason=ctx.source)
        return RowStatus.UPDATED

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        viewer = self.viewer(actor)
        qs = opportunity_list(viewer=viewer).select_related("customer", "owner", "stage").order_by("pk")
        for opp in qs.iterator(chunk_size=1000):
            yield {
                "external_id": opp.external_id or f"opp-{opp.pk}", "customer": opp.customer.external_id or "",
                "owner": opp.owner.external_id or "", "name": opp.name, "stage": opp.stage.code,
                "amount": str(opp.amount), "currency": opp.currency, "created_on": opp.created_on.isoformat(),
                "closed_on": opp.closed_on.isoformat() if opp.closed_on else "", "lost_reason": opp.lost_reason,
                "competitor": opp.competitor,
                "expected_close_on": opp.expected_close_on.isoformat() if opp.expected_close_on else "",
                "probability": str(opp.probability), "lost_note": opp.lost_note,
            }


kind_register(OpportunitiesKind())
