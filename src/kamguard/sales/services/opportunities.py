"""Opportunities: open one, change it, move it through the stages (required steps enforced), lose it with a
structured reason, win it when its contract is signed.

- `opportunity_create(*, actor, customer_id, name, stage="lead", amount=None, currency="", expected_close_on=None,
   probability=None, competitor="", description="", external_id=None) -> Opportunity`
- `opportunity_update(*, actor, opportunity_id, changes) -> Opportunity`
- `opportunity_move(*, actor, opportunity_id, stage, note="", lost_reason="", lost_note="", competitor=None,
   probability=None) -> Opportunity`
- `opportunity_contract_signed(*, actor, opportunity_id, contract_id, signed_on) -> Opportunity` (contracts app)
- `steps_done(opportunity) -> set[str]` / `stage_needs(opportunity, stage) -> tuple[str, ...]`

Every change writes the stage history (moves), an audit event and, for creation, moves, wins and losses, an
entry on the customer's timeline — in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.customers.models import AccountTeamMember, Customer
from kamguard.customers.selectors import customer_visibility_q
from kamguard.customers.services.common import timeline_add
from kamguard.org.domain.roles import Right
from kamguard.org.models import User
from kamguard.sales.domain import StageInfo, missing_steps, steps_needed
from kamguard.sales.models import (
    LostReason,
    Opportunity,
    Outcome,
    Quote,
    QuoteStatus,
    RequiredStep,
    Stage,
    StageChange,
)
from kamguard.sales.selectors import current_credit_split, sales_settings
from kamguard.sales.services.common import (
    clean_amount,
    clean_currency,
    clean_probability,
    clean_text,
    require_owner,
    visible_opportunity,
)
from kamguard.sales.services.pipeline import contribution, pipeline_shift

EDITABLE = ("name", "amount", "currency", "expected_close_on", "probability", "competitor", "description")
AUDITED = (*EDITABLE, "stage", "outcome", "lost_reason", "lost_note", "closed_on", "owner", "customer",
           "contract_id")


def _stage(value: Any, *, field: str = "stage") -> Stage:
    stage: Stage | None = None
    if isinstance(value, Stage):
        return value
    text = str(value or "").strip()
    if text:
        stage = Stage.objects.filter(code=text.lower()).first()
        if stage is None and text.isdigit():
            stage = Stage.objects.filter(pk=int(text)).first()
    if stage is None:
        raise ValidationFailed(field_errors={field: [_("Unknown stage “%(stage)s”.") % {"stage": text}]},
                               code="unknown_stage")
    return stage


def _stage_infos() -> list[StageInfo]:
    return [StageInfo(code=s.code, order=s.order, outcome=s.outcome, required_steps=tuple(s.required_steps or ()))
            for s in Stage.objects.filter(is_active=True)]


def stage_needs(stage: Stage) -> tuple[str, ...]:
    infos = _stage_infos()
    target = StageInfo(code=stage.code, order=stage.order, outcome=stage.outcome,
                       required_steps=tuple(stage.required_steps or ()))
    return steps_needed(infos, target)


def customer_has_visit(customer_id: int) -> bool:
    from kamguard.activities.selectors import customer_has_visit as has_visit

    return bool(has_visit(customer_id=customer_id))


def steps_done(opportunity: Opportunity, *, needed: tuple[str, ...] | None = None) -> set[str]:
    """Which required steps the opportunity has done (only those in `needed` are checked when given)."""
    wanted = set(needed) if needed is not None else {c for c, _label in RequiredStep.choices}
    done: set[str] = set()
    if RequiredStep.VISIT in wanted and customer_has_visit(opportunity.customer_id):
        done.add(RequiredStep.VISIT)
    if RequiredStep.APPROVED_QUOTE in wanted and Quote.objects.filter(
            opportunity_id=opportunity.pk, status=QuoteStatus.APPROVED).exists():
        done.add(RequiredStep.APPROVED_QUOTE)
    if RequiredStep.AMOUNT in wanted and opportunity.amount and opportunity.amount > 0:
        done.add(RequiredStep.AMOUNT)
    if RequiredStep.CLOSE_DATE in wanted and opportunity.expected_close_on:
        done.add(RequiredStep.CLOSE_DATE)
    return done


def _require_steps(opportunity: Opportunity, stage: Stage) -> None:
    needed = stage_needs(stage)
    if not needed:
        return
    missing = missing_steps(needed, steps_done(opportunity, needed=needed))
    if missing:
        labels = dict(RequiredStep.choices)
        names = "; ".join(str(labels.get(code, code)) for code in missing)
        message = _("“%(stage)s” needs %(steps)s first.") % {"stage": stage.label, "steps": names}
        raise ValidationFailed(message, code="required_step_missing", field_errors={"stage": [message]},
                               extra={"missing": list(missing), "stage": stage.code})


def _clean_lost(lost_reason: str, lost_note: str, competitor: str) -> tuple[str, str, str]:
    reason = str(lost_reason or "").strip()
    if not reason:
        raise ValidationFailed(field_errors={"lost_reason": [_("Say why it was lost.")]}, code="lost_reason_required")
    if reason not in LostReason.values:
        raise ValidationFailed(field_errors={"lost_reason": [_("Choose one of the listed reasons.")]},
                               code="unknown_lost_reason")
    note = clean_text(lost_note, field="lost_note", max_length=2000)
    rival = clean_text(competitor, field="competitor", max_length=120)
    if reason == LostReason.COMPETITOR and not rival:
        raise ValidationFailed(field_errors={"competitor": [_("Name the competitor it went to.")]},
                               code="competitor_required")
    if reason == LostReason.OTHER and not note:
        raise ValidationFailed(field_errors={"lost_note": [_("Describe the reason.")]}, code="lost_note_required")
    return reason, note, rival


def _clean_date(value: Any, *, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(field_errors={field: [_("Use a date such as 2026-12-31.")]}, code="bad_date") from None


def may_open_for(actor: User, customer: Customer) -> bool:
    if not actor.is_active or not actor.has_right(Right.EDIT_BUSINESS_DATA):
        return False
    if customer.owner_id == actor.pk:
        return True
    today = timezone.localdate()
    return AccountTeamMember.objects.filter(customer=customer, user=actor).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=today)).exists()


def _clean_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data or not partial:
        values["name"] = clean_text(data.get("name"), field="name", max_length=200, required=True)
    if "amount" in data or not partial:
        values["amount"] = clean_amount(data.get("amount"), field="amount")
    if "currency" in data or not partial:
        values["currency"] = clean_currency(data.get("currency"), default=sales_settings().default_currency)
    if "expected_close_on" in data:
        values["expected_close_on"] = _clean_date(data.get("expected_close_on"), field="expected_close_on")
    if "probability" in data:
        probability = clean_probability(data.get("probability"))
        if probability is not None:
            values["probability"] = probability
    if "competitor" in data:
        values["competitor"] = clean_text(data.get("competitor"), field="competitor", max_length=120)
    if "description" in data:
        values["description"] = clean_text(data.get("description"), field="description", max_length=4000)
    return values


@transaction.atomic
def opportunity_create(*, actor: User, customer_id: int, name: str, stage: Any = "lead", amount: Any = None,
                       currency: str = "", expected_close_on: Any = None, probability: Any = None,
                       competitor: str = "", description: str = "", external_id: str | None = None) -> Opportunity:
    """Open an opportunity on a customer the actor owns or is on the account team of; the actor owns it."""
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    customer = Customer.objects.filter(customer_visibility_q(actor), pk=customer_id).first()
    if customer is None:
        raise NotFound()
    if not may_open_for(actor, customer):
        raise PermissionRefused(_("Only the customer's owner or its account team opens opportunities on it."),
                                code="not_account_team")
    values = _clean_fields({"name": name, "amount": amount, "currency": currency,
                            "expected_close_on": expected_close_on, "probability": probability,
                            "competitor": competitor, "description": description}, partial=False)
    target = _stage(stage)
    if target.outcome != Outcome.OPEN or not target.is_active:
        raise ValidationFailed(field_errors={"stage": [_("A new opportunity starts in an open stage.")]},
                               code="closed_stage")
    ext = clean_text(external_id, field="external_id", max_length=64) or None
    if ext and Opportunity.objects.filter(external_id=ext).exists():
        raise Conflict(_("An opportunity with this external id exists."), code="external_id_taken",
                       field_errors={"external_id": [_("Already used.")]})
    now = timezone.now()
    opportunity = Opportunity(customer=customer, owner=actor, stage=target, outcome=Outcome.OPEN,
                              created_on=timezone.localdate(), stage_changed_at=now, created_by=actor,
                              external_id=ext, **values)
    if "probability" not in values:
        opportunity.probability = target.probability
    _require_steps(opportunity, target)
    opportunity.save()
    pipeline_shift(None, contribution(opportunity))
    StageChange.objects.create(opportunity=opportunity, from_stage=None, to_stage=target, changed_at=now,
                               changed_by=actor)
    audit_record(actor=actor, action="sales.opportunity.create", obj=opportunity,
                 changes=diff({}, snapshot(opportunity, AUDITED)))
    timeline_add(customer=customer, kind="sales.opportunity.created", actor=actor, at=now,
                 summary=_("Opportunity “%(name)s” opened (%(stage)s, %(amount)s %(currency)s)") % {
                     "name": opportunity.name, "stage": target.label, "amount": opportunity.amount,
                     "currency": opportunity.currency},
                 data={"opportunity_id": opportunity.pk, "stage": target.code, "amount": str(opportunity.amount)})
    return opportunity


@transaction.atomic
def opportunity_update(*, actor: User, opportunity_id: int, changes: dict[str, Any]) -> Opportunity:
    """Change the owner's fields (name, amount, currency, expected close date, probability, competitor,
    description) of an open opportunity."""
    opportunity = visible_opportunity(actor, opportunity_id, for_update=True)
    require_owner(actor, opportunity)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(field_errors={k: [_("This field cannot be changed here.")] for k in unknown},
                               code="not_editable")
    if opportunity.outcome != Outcome.OPEN:
        raise Conflict(_("A won or lost opportunity cannot be changed; reopen it first."), code="closed")
    values = _clean_fields(changes, partial=True)
    counted = contribution(opportunity)
    before = snapshot(opportunity, EDITABLE)
    for key, value in values.items():
        setattr(opportunity, key, value)
    after = snapshot(opportunity, EDITABLE)
    changed = diff(before, after)
    if not changed:
        return opportunity
    opportunity.save(update_fields=[*changed, "updated_at"])
    pipeline_shift(counted, contribution(opportunity))
    audit_record(actor=actor, action="sales.opportunity.update", obj=opportunity, changes=changed)
    return opportunity


def _won_touch(customer_id: int, when: dt.datetime) -> None:
    """The customer's last won deal (the pool's reclaim rules count from it); only ever moves forwards."""
    Customer.objects.filter(pk=customer_id).filter(Q(last_won_at__isnull=True) | Q(last_won_at__lt=when)).update(
        last_won_at=when)


def _apply_move(*, actor: User | None, opportunity: Opportunity, target: Stage, note: str, at: dt.datetime,
                closed_on: dt.date | None, extra: dict[str, Any], reason: str = "") -> Opportunity:
    """Write one move: a conditional update on the stage read (a concurrent move makes this a Conflict), the
    history row, the audit event and the customer's timeline."""
    before = snapshot(opportunity, AUDITED)
    counted = contribution(opportunity)
    from_stage = opportunity.stage
    values: dict[str, Any] = {"stage_id": target.pk, "outcome": target.outcome, "stage_changed_at": at,
                              "closed_on": closed_on, "updated_at": timezone.now(), **extra}
    if target.outcome == Outcome.WON:
        if "amount" in extra:  # the split is of what was won (the pipeline's counted share stays as it was)
            opportunity.amount = extra["amount"]
        values["credit_split"] = [{"user_id": s.user_id, "share_pct": str(s.share_pct), "amount": str(s.amount),
                                   "role": s.role} for s in current_credit_split(opportunity)]
    elif target.outcome == Outcome.OPEN:
        values.setdefault("lost_reason", "")
        values["credit_split"] = []
    updated = Opportunity.objects.filter(pk=opportunity.pk, stage_id=from_stage.pk,
                                         outcome=opportunity.outcome).update(**values)
    if updated != 1:
        raise Conflict(_("Someone else moved this opportunity meanwhile. Reload and try again."), code="moved")
    opportunity.refresh_from_db()
    pipeline_shift(counted, contribution(opportunity))
    StageChange.objects.create(opportunity=opportunity, from_stage=from_stage, to_stage=target, changed_at=at,
                               changed_by=actor, note=note[:400])
    audit_record(actor=actor, action=f"sales.opportunity.{_verb(target)}", obj=opportunity, reason=reason or note,
                 changes=diff(before, snapshot(opportunity, AUDITED)))
    summary = _timeline_summary(opportunity, from_stage, target)
    timeline_add(customer=opportunity.customer, kind=f"sales.opportunity.{_verb(target)}", actor=actor, at=at,
                 summary=summary, data={"opportunity_id": opportunity.pk, "from": from_stage.code, "to": target.code,
                                        "amount": str(opportunity.amount),
                                        **({"lost_reason": opportunity.lost_reason,
                                            "competitor": opportunity.competitor}
                                           if target.outcome == Outcome.LOST else {}),
                                        **({"contract_id": opportunity.contract_id}
                                           if opportunity.contract_id else {})})
    if target.outcome == Outcome.WON:
        _won_touch(opportunity.customer_id, at)
    return opportunity


def _verb(target: Stage) -> str:
    return {Outcome.WON: "won", Outcome.LOST: "lost"}.get(Outcome(target.outcome), "stage")


def _timeline_summary(opportunity: Opportunity, from_stage: Stage, target: Stage) -> str:
    if target.outcome == Outcome.WON:
        return _("Opportunity “%(name)s” won: %(amount)s %(currency)s") % {
            "name": opportunity.name, "amount": opportunity.amount, "currency": opportunity.currency}
    if target.outcome == Outcome.LOST:
        return _("Opportunity “%(name)s” lost: %(reason)s%(competitor)s") % {
            "name": opportunity.name, "reason": opportunity.get_lost_reason_display(),
            "competitor": f" ({opportunity.competitor})" if opportunity.competitor else ""}
    return _("Opportunity “%(name)s”: %(from)s → %(to)s") % {"name": opportunity.name, "from": from_stage.label,
                                                          "to": target.label}


@transaction.atomic
def opportunity_move(*, actor: User, opportunity_id: int, stage: Any, note: str = "", lost_reason: str = "",
                     lost_note: str = "", competitor: str | None = None, probability: Any = None) -> Opportunity:
    """Move to another stage. Entering a stage needs the required steps of it and of every stage before it (a
    skipped stage's step is still needed); losing needs a structured reason (and the competitor when it went to
    one); a won opportunity stays won (its contract decides); a lost one can be reopened into an open stage."""
    opportunity = visible_opportunity(actor, opportunity_id, for_update=True)
    require_owner(actor, opportunity)
    target = _stage(stage)
    note = clean_text(note, field="note", max_length=400)
    if not target.is_active:
        raise ValidationFailed(field_errors={"stage": [_("This stage is no longer used.")]}, code="inactive_stage")
    if target.pk == opportunity.stage_id:
        raise ValidationFailed(field_errors={"stage": [_("The opportunity is already in this stage.")]},
                               code="same_stage")
    if opportunity.outcome == Outcome.WON:
        raise Conflict(_("A won opportunity stays won."), code="already_won")
    extra: dict[str, Any] = {}
    chosen = clean_probability(probability)
    today = timezone.localdate()
    closed_on: dt.date | None = None
    if target.outcome == Outcome.LOST:
        reason, lost_text, rival = _clean_lost(lost_reason, lost_note, competitor if competitor is not None
                                               else opportunity.competitor)
        extra.update(lost_reason=reason, lost_note=lost_text, competitor=rival, probability=0)
        closed_on = today
    else:
        _require_steps(opportunity, target)
        extra["probability"] = chosen if chosen is not None else target.probability
        if target.outcome == Outcome.WON:
            extra["probability"] = 100
            closed_on = today
        else:
            extra.update(lost_reason="", lost_note="")
        if competitor is not None:
            extra["competitor"] = clean_text(competitor, field="competitor", max_length=120)
    return _apply_move(actor=actor, opportunity=opportunity, target=target, note=note, at=timezone.now(),
                       closed_on=closed_on, extra=extra)


def won_stage() -> Stage:
    stage = Stage.objects.filter(outcome=Outcome.WON, is_active=True).order_by("order", "pk").first()
    if stage is None:  # pragma: no cover - migration 0002 seeds it
        raise Conflict(_("No stage means “won”; an administrator must add one."), code="no_won_stage")
    return stage


@transaction.atomic
def opportunity_contract_signed(*, actor: User | None, opportunity_id: int, contract_id: int,
                                signed_on: dt.date, amount: Decimal | None = None) -> Opportunity:
    """The contracts app calls this when a contract linked to the opportunity is signed: the opportunity is won
    (stage history, audit, the customer's timeline), with the contract recorded and — when `amount` is given — the
    contract's amount as what was won (the estimate gives way to what was signed). Idempotent: a second call for an
    opportunity already won changes nothing (the first contract stays recorded). A signed contract is the proof
    itself, so the stages' required steps are not asked for; a lost opportunity is won by it too."""
    opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related(
        "customer", "stage", "owner").filter(pk=opportunity_id).first()
    if opportunity is None:
        raise NotFound()
    if opportunity.outcome == Outcome.WON:
        if opportunity.contract_id is None:
            Opportunity.objects.filter(pk=opportunity.pk, contract_id__isnull=True).update(contract_id=contract_id)
            opportunity.refresh_from_db()
        return opportunity
    at = timezone.make_aware(dt.datetime.combine(signed_on, dt.time(12))) if signed_on != timezone.localdate() \
        else timezone.now()
    return _apply_move(actor=actor, opportunity=opportunity, target=won_stage(),
                       note=_("Contract signed on %(day)s") % {"day": signed_on.isoformat()}, at=at,
                       closed_on=signed_on, extra={"contract_id": contract_id, "probability": 100,
                                                   "lost_reason": "", "lost_note": "",
                                                   **({"amount": amount} if amount is not None else {})},
                       reason=f"contract:{contract_id}")
