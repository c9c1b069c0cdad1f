"""Lead intake: the one path every new customer from the form, the API, imports and the public web form takes.

Public (keyword-only):
- `intake_submit(*, actor, channel, fields, duplicate_reason="", ip_address=None, rule_set_id=None,
  submitted_at=None) -> Intake` — clean the fields (`ValidationFailed` on bad input; for the api, import and
  web channels a `rejected` intake is recorded too, its id in `extra["intake_id"]`), then under the
  allocation lock: the duplicate check (a duplicate → outcome `duplicate`, a timeline entry on the existing
  customer for its owner, never a second owner; a possible duplicate without `duplicate_reason` → outcome
  `held` for review), the engine on the state loaded from the database, `customer_create` (ownership ledger
  kind `allocation`), the round-robin cursors, the decision log row and the audit event. Returns the intake;
  `intake.customer` and `intake.decisions` hold the result.
- `intake_review(*, actor, intake_id, action, reason, duplicate_of_id=None) -> Intake` — a held intake:
  `proceed` (allocate, with `reason` as the duplicate reason), `duplicate` (it is `duplicate_of_id`: the
  owner's attention) or `reject`. The submitter, a supervisor or an administrator.
- `intake_fields_clean(fields, references=None) -> dict` — the accepted fields (INTAKE_FIELDS), normalised;
  ValidationFailed. `references`: a `ReferenceLookup` a batch shares (region and industry codes read once).
- `web_form_token() -> str` and `web_intake_submit(*, fields, ip_address, form_token, honeypot="") -> Intake`
  — the public form: per-address rate limit (Django's cache; WEB_INTAKE_RATE per WEB_INTAKE_WINDOW seconds),
  a honeypot field and a minimum fill time (the signed token records when the form was served). Spam is
  recorded as a `rejected` intake and answered like a success; too many submissions raise RateLimited.

Who may submit: anyone with the right to edit business data (channels form, api, import, manual); the web
channel takes no user (actor None).
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.allocation.domain.engine import Decision, allocate
from kamguard.allocation.models import (
    AllocationDecision,
    DecisionOutcome,
    Intake,
    IntakeChannel,
    IntakeOutcome,
    RuleSet,
    RuleSetVersion,
    VersionStatus,
)
from kamguard.allocation.reasons import decision_sentence
from kamguard.allocation.services.common import allocation_lock, is_admin, is_supervisor
from kamguard.allocation.services.rulesets import version_ruleset
from kamguard.allocation.services.state import cursors_commit, state_load, subject_build
from kamguard.core.audit import audit_record
from kamguard.core.errors import NotFound, PermissionRefused, RateLimited, ValidationFailed
from kamguard.customers.domain.keys import normalise_phone, normalise_uscc
from kamguard.customers.models import Customer, OwnershipKind, Pool, Size, Tier
from kamguard.customers.services.common import timeline_add
from kamguard.customers.services.dedupe import customer_dedupe_check
from kamguard.customers.services.records import DuplicateCustomer, customer_create, region_guess
from kamguard.org.domain.roles import Right
from kamguard.org.models import Industry, Region, User

INTAKE_FIELDS = ("name", "uscc", "english_name", "aliases", "region", "address", "website", "industry", "size",
                 "tier", "source", "external_id", "expected_value", "contact_name", "contact_title", "contact_phone",
                 "contact_email", "note")
RECORD_REJECTED_CHANNELS = (IntakeChannel.API, IntakeChannel.IMPORT, IntakeChannel.WEB)
MAX_VALUE = Decimal("1e13")
_SIZES, _TIERS = list(Size.values), list(Tier.values)  # (an enum's .values builds its list on every read)

WEB_INTAKE_RATE = int(getattr(settings, "ALLOCATION_WEB_INTAKE_RATE", 5))
WEB_INTAKE_WINDOW = int(getattr(settings, "ALLOCATION_WEB_INTAKE_WINDOW", 600))
WEB_MIN_FILL_SECONDS = float(getattr(settings, "ALLOCATION_WEB_MIN_FILL_SECONDS", 3))
WEB_TOKEN_MAX_AGE = 6 * 3600
WEB_TOKEN_SALT = "kamguard.allocation.web-intake"  # noqa: S105 - a salt, not a secret


# ---------------------------------------------------------------- cleaning

def _text(value: Any, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit] if value is not None else ""


def _region_code(text: str) -> str | None:
    """The region with this code, else the first by code with this name."""
    return Region.objects.filter(code=text).values_list("code", flat=True).first() or \
        Region.objects.filter(name=text).order_by("code").values_list("code", flat=True).first()


def _industry_code(text: str) -> str | None:
    """The industry with this code, else one with this name."""
    return Industry.objects.filter(code=text).values_list("code", flat=True).first() or \
        Industry.objects.filter(name=text).values_list("code", flat=True).first()


class ReferenceLookup:
    """The region and industry codes of submitted texts: what a batch of leads (`intake_submit_many`) passes to
    `intake_fields_clean` instead of two queries per lead. The regions (a few thousand official divisions) are
    read once, in one query; each industry text is looked up once."""

    def __init__(self) -> None:
        self._regions: dict[str, str] | None = None
        self._industries: dict[str, str | None] = {}

    def region_code(self, text: str) -> str | None:
        if self._regions is None:
            codes: dict[str, str] = {}
            by_name: dict[str, str] = {}
            for code, name in Region.objects.order_by("code").values_list("code", "name"):
                codes[code] = code
                by_name.setdefault(name, code)  # the first by code, as _region_code orders them
            self._regions = {**by_name, **codes}  # a code wins over a name that looks like one
        return self._regions.get(text)

    def industry_code(self, text: str) -> str | None:
        if text not in self._industries:
            self._industries[text] = _industry_code(text)
        return self._industries[text]


def intake_fields_clean(fields: dict[str, Any],  # noqa: C901 - one branch per field
                        references: ReferenceLookup | None = None) -> dict[str, Any]:
    """The submitted fields, normalised: region and industry as codes, expected value as a string.
    `references`: a lookup shared by a batch (else each lead's region and industry are read afresh)."""
    if not isinstance(fields, dict):
        raise ValidationFailed(_("The lead must be a set of named fields."))
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(fields) - set(INTAKE_FIELDS))
    for key in unknown:
        errors[_no_nul(str(key))[:40]] = [_("Unknown field.")]
    nul = sorted(str(k) for k, v in fields.items() if k in INTAKE_FIELDS and any(
        "\x00" in str(part) for part in (v if isinstance(v, list | tuple) else [v])))
    if nul:  # PostgreSQL stores no NUL character (Django's forms refuse it too, with this message)
        raise ValidationFailed(field_errors={key: [_("Null characters are not allowed.")] for key in nul})
    clean: dict[str, Any] = {}
    name = _text(fields.get("name"), 400)
    if not name:
        errors["name"] = [_("Enter the company's name.")]
    elif len(name) > 200:
        errors["name"] = [_("At most 200 characters.")]
    clean["name"] = name[:200]
    raw_uscc = _text(fields.get("uscc"), 40)
    if raw_uscc:
        code = normalise_uscc(raw_uscc)
        if code is None:
            errors["uscc"] = [_("This is not a valid unified social credit code: check the 18 characters; the "
                                "last one is a check character.")]
        clean["uscc"] = code or ""
    for key, limit in (("english_name", 300), ("address", 300), ("website", 200), ("source", 60),
                       ("external_id", 64), ("contact_name", 120), ("contact_title", 120), ("note", 1000)):
        value = fields.get(key)
        if value not in (None, ""):
            text = str(value).strip()
            if len(text) > limit:
                errors[key] = [_("At most %(n)s characters.") % {"n": limit}]
            clean[key] = text[:limit]
    aliases = fields.get("aliases") or []
    if isinstance(aliases, str):
        aliases = aliases.split("|")
    if not isinstance(aliases, list | tuple):
        errors["aliases"] = [_("Give other names as a list, or separated by |.")]
        aliases = []
    clean["aliases"] = [str(a).strip()[:200] for a in aliases if a and str(a).strip()][:20]
    for key, choices in (("size", _SIZES), ("tier", _TIERS)):
        value = fields.get(key)
        if value in (None, ""):
            continue
        if value not in choices:
            errors[key] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)}]
        clean[key] = value
    clean.setdefault("tier", Tier.C)
    region = fields.get("region")
    if region not in (None, ""):
        text = str(region).strip()
        found = references.region_code(text) if references is not None else _region_code(text)
        if found is None:
            errors["region"] = [_("No region has this code or name.")]
        clean["region"] = found or ""
    industry = fields.get("industry")
    if industry not in (None, ""):
        text = str(industry).strip()
        found = references.industry_code(text) if references is not None else _industry_code(text)
        if found is None:
            errors["industry"] = [_("No industry has this code or name.")]
        clean["industry"] = found or ""
    value = fields.get("expected_value")
    if value not in (None, ""):
        try:
            number = Decimal(str(value).replace(",", "").strip())
        except (InvalidOperation, ValueError):
            number = None
        if number is None or not number.is_finite() or number < 0 or number >= MAX_VALUE:
            errors["expected_value"] = [_("Enter an amount in yuan, e.g. 250000.")]
        else:
            clean["expected_value"] = str(number.quantize(Decimal("0.01")))
    phone = fields.get("contact_phone")
    if phone not in (None, ""):
        normalised = normalise_phone(str(phone))
        if normalised is None:
            errors["contact_phone"] = [_("Enter a valid phone number, e.g. 13800138000 or +86 10 8888 8888.")]
        clean["contact_phone"] = normalised or ""
    email = fields.get("contact_email")
    if email not in (None, ""):
        text = str(email).strip().lower()
        try:
            validate_email(text)
        except DjangoValidationError:
            errors["contact_email"] = [_("Enter a valid e-mail address.")]
        clean["contact_email"] = text
    if (clean.get("contact_phone") or clean.get("contact_email")) and not clean.get("contact_name"):
        clean["contact_name"] = _("Contact")
    if errors:
        raise ValidationFailed(field_errors=errors)
    return clean


def _require_submit(actor: User | None, channel: str) -> None:
    if channel not in IntakeChannel.values:
        raise ValidationFailed(field_errors={"channel": [_("Choose one of: %(choices)s.") % {
            "choices": ", ".join(IntakeChannel.values)}]})
    if actor is None:
        return
    if not actor.is_active or not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _safe_raw(fields: Any) -> dict[str, Any]:
    """What to keep of a rejected submission: known fields, as short text."""
    if not isinstance(fields, dict):
        return {}
    return {_no_nul(str(k))[:40]: _no_nul(str(v))[:300] for k, v in list(fields.items())[:40]}


def _no_nul(text: str) -> str:
    return text.replace("\x00", "")


def _record_rejected(*, actor: User | None, channel: str, fields: Any, detail: str, ip_address: str | None,
                     submitted_at: dt.datetime | None = None) -> Intake:
    with transaction.atomic():
        intake = Intake.objects.create(channel=channel, submitted_at=submitted_at or timezone.now(),
                                       submitted_by=actor, fields=_safe_raw(fields), ip_address=ip_address,
                                       outcome=IntakeOutcome.REJECTED, outcome_detail=detail[:2000],
                                       decided_at=timezone.now())
        audit_record(actor=actor, action="allocation.intake.rejected", obj=intake, reason=detail[:500],
                     changes={"outcome": {"before": None, "after": intake.outcome}})
    return intake


# ---------------------------------------------------------------- submit

def intake_submit(*, actor: User | None, channel: str, fields: dict[str, Any], duplicate_reason: str = "",
                  ip_address: str | None = None, rule_set_id: int | None = None,
                  submitted_at: dt.datetime | None = None) -> Intake:
    _require_submit(actor, channel)
    try:
        clean = intake_fields_clean(dict(fields) if isinstance(fields, dict) else fields)
    except ValidationFailed as exc:
        if channel in RECORD_REJECTED_CHANNELS:
            detail = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in exc.field_errors.items())
            intake = _record_rejected(actor=actor, channel=channel, fields=fields, detail=detail or str(exc),
                                      ip_address=ip_address, submitted_at=submitted_at)
            exc.extra["intake_id"] = intake.pk
        raise
    rule_set = _rule_set(rule_set_id)
    with transaction.atomic():
        allocation_lock()
        intake = Intake(channel=channel, submitted_at=submitted_at or timezone.now(), submitted_by=actor,
                        fields=clean, expected_value=Decimal(clean["expected_value"]) if clean.get(
                            "expected_value") else None, ip_address=ip_address,
                        duplicate_reason=(duplicate_reason or "").strip(), rule_set=rule_set)
        return _decide(intake=intake, actor=actor, rule_set=rule_set)


def _rule_set(rule_set_id: int | None) -> RuleSet | None:
    if rule_set_id is not None:
        found = RuleSet.objects.filter(pk=rule_set_id).first()
        if found is None:
            raise ValidationFailed(field_errors={"rule_set": [_("No such rule set.")]})
        return found
    return RuleSet.objects.filter(is_default=True).first()


def _dedupe(clean: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    result = customer_dedupe_check(
        name=clean["name"], uscc=clean.get("uscc") or None, english_name=clean.get("english_name", ""),
        aliases=clean.get("aliases") or [], phones=[clean["contact_phone"]] if clean.get("contact_phone") else [],
        emails=[e for e in (clean.get("contact_email"), clean.get("website")) if e])
    candidates = [{"customer_id": int(m.external_id), "name": m.name, "score": round(m.score, 4),
                   "reasons": list(m.reasons)} for m in result.candidates[:10]]
    return result.verdict, candidates


def _save_intake(intake: Intake) -> None:
    """Insert a new intake, or finish a held one (only while it is still held: a conditional update)."""
    if intake.pk is None:
        intake.save()
        return
    values = {f.attname: getattr(intake, f.attname) for f in Intake._meta.concrete_fields if not f.primary_key}
    updated = Intake.objects.filter(pk=intake.pk, outcome=IntakeOutcome.HELD).update(**values)
    if updated != 1:
        from kamguard.core.errors import Conflict

        raise Conflict(_("This intake was reviewed meanwhile. Reload to see what became of it."),
                       code="intake_reviewed")


def _to_owner_attention(*, intake: Intake, actor: User | None, customer: Customer, detail: str) -> Intake:
    intake.outcome = IntakeOutcome.DUPLICATE
    intake.duplicate_of = customer
    intake.outcome_detail = detail
    intake.decided_at = timezone.now()
    _save_intake(intake)
    timeline_add(customer=customer, kind="intake.duplicate", actor=actor,
                 summary=_("A new lead for this customer arrived (%(channel)s: %(name)s); it stays with the "
                           "owner.") % {"channel": intake.get_channel_display(), "name": intake.fields.get("name")},
                 data={"intake": intake.pk, "channel": intake.channel, "fields": {
                     k: v for k, v in intake.fields.items() if k in ("name", "contact_name", "source", "note")}})
    audit_record(actor=actor, action="allocation.intake.duplicate", obj=intake,
                 changes={"outcome": {"before": None, "after": intake.outcome},
                          "duplicate_of": {"before": None, "after": customer.pk}})
    return intake


def _decide(*, intake: Intake, actor: User | None, rule_set: RuleSet | None) -> Intake:
    """Under the allocation lock: duplicate check, engine, customer, cursors, log. Fills and saves `intake`."""
    clean = dict(intake.fields)
    verdict, candidates = _dedupe(clean)
    intake.dedupe_verdict, intake.dedupe_candidates = verdict, candidates
    if verdict == "duplicate" and candidates:
        existing = Customer.objects.filter(pk=candidates[0]["customer_id"]).first()
        if existing is not None:
            return _to_owner_attention(intake=intake, actor=actor, customer=existing,
                                       detail=_("Already registered as %(name)s.") % {"name": existing.name})
    if verdict == "possible_duplicate" and not intake.duplicate_reason:
        intake.outcome = IntakeOutcome.HELD
        intake.outcome_detail = _("Similar customers exist: held until someone checks them.")
        intake.decided_at = None
        _save_intake(intake)
        audit_record(actor=actor, action="allocation.intake.held", obj=intake,
                     changes={"outcome": {"before": None, "after": intake.outcome}})
        return intake

    version = RuleSetVersion.objects.filter(rule_set=rule_set, status=VersionStatus.ACTIVE).first() \
        if rule_set is not None else None
    decision: Decision | None = None
    loaded = None
    if version is not None:
        ruleset = version_ruleset(version)
        loaded = state_load(ruleset=ruleset, on=timezone.localdate(intake.submitted_at))
        subject = subject_build(ref=f"intake:{intake.pk or 'new'}", fields=clean, channel=intake.channel)
        decision = allocate(subject, ruleset, loaded.state)

    owner = User.objects.get(pk=decision.person_id) if decision and decision.person_id is not None else None
    pool = Pool.objects.get(pk=decision.pool_id) if decision and decision.pool_id is not None else None
    try:
        customer = _customer_create(clean=clean, owner=owner, pool=pool, submitted_at=intake.submitted_at)
    except DuplicateCustomer:
        existing = Customer.objects.filter(uscc=clean.get("uscc") or "\x00").first() or Customer.objects.filter(
            external_id=clean.get("external_id") or "\x00").first()
        if existing is None:
            raise
        return _to_owner_attention(intake=intake, actor=actor, customer=existing,
                                   detail=_("Already registered as %(name)s.") % {"name": existing.name})
    if loaded is not None:
        cursors_commit(loaded=loaded)

    intake.customer = customer
    intake.outcome = IntakeOutcome.ALLOCATED if owner is not None else IntakeOutcome.POOL
    intake.decided_at = timezone.now()
    _save_intake(intake)
    row = _decision_row(intake=intake, customer=customer, version=version, decision=decision, owner=owner)
    sentence = decision_sentence(row)
    intake.outcome_detail = sentence[:2000]
    Intake.objects.filter(pk=intake.pk).update(outcome_detail=intake.outcome_detail)
    if verdict == "possible_duplicate":
        timeline_add(customer=customer, kind="customer.possible_duplicate", actor=actor,
                     summary=_("Registered despite similar customers: %(reason)s") % {
                         "reason": intake.duplicate_reason}, data={"candidates": candidates})
    timeline_add(customer=customer, kind="allocation.decided", actor=None, summary=sentence, at=intake.submitted_at,
                 data={"decision": row.pk, "reason_code": row.reason_code})
    audit_record(actor=actor, action="allocation.intake.allocated", obj=intake, object_label=customer.name,
                 reason=intake.duplicate_reason,
                 changes={"outcome": {"before": None, "after": intake.outcome},
                          "customer": {"before": None, "after": customer.pk},
                          "owner": {"before": None, "after": owner.pk if owner else None},
                          "pool": {"before": None, "after": row.pool_id},
                          "rule": {"before": None, "after": row.rule_key or "fallback"},
                          "version": {"before": None, "after": version.number if version else None}})
    return intake


def _customer_create(*, clean: dict[str, Any], owner: User | None, pool: Pool | None,
                     submitted_at: dt.datetime) -> Customer:
    region = Region.objects.filter(code=clean["region"]).first() if clean.get("region") else None
    if region is None:
        region = region_guess(name=clean["name"], address=clean.get("address", ""))
        if region is not None:
            clean["region"] = region.code
    industry = Industry.objects.filter(code=clean["industry"]).first() if clean.get("industry") else None
    contacts = []
    if clean.get("contact_name"):
        contacts.append({k: clean[f"contact_{k}"] for k in ("name", "title", "phone", "email")
                         if clean.get(f"contact_{k}")})
    fields: dict[str, Any] = {k: clean[k] for k in ("uscc", "english_name", "aliases", "address", "website", "size",
                                                    "tier", "source", "external_id") if clean.get(k)}
    local_day = timezone.localdate(submitted_at)
    return customer_create(actor=None, name=clean["name"], owner=owner, to_pool=owner is None, contacts=contacts,
                           created_on=local_day if local_day != timezone.localdate() else None, region=region,
                           industry=industry, pool=pool, kind=OwnershipKind.ALLOCATION, skip_dedupe=True, **fields)


def _decision_row(*, intake: Intake, customer: Customer, version: RuleSetVersion | None, decision: Decision | None,
                  owner: User | None) -> AllocationDecision:
    value = intake.expected_value or Decimal(0)
    if decision is None:
        return AllocationDecision.objects.create(
            customer=customer, intake=intake, version=None, rule_key="", rule_index=-1, strategy="",
            candidates=[], reason_code="no_active_rule_set", reason_params={"pool_id": customer.pool_id},
            outcome=DecisionOutcome.UNALLOCATED, pool_id=customer.pool_id, tier=customer.tier, size=customer.size,
            value=value, decided_at=intake.submitted_at)
    candidates = [{"person_id": n.person_id, "chosen": n.chosen, "skipped": n.skipped, "load": n.load,
                   "capacity": n.capacity, "detail": n.detail, "rule_key": getattr(n, "rule_key", "")}
                  for n in decision.candidates]
    params = {str(k): (v if isinstance(v, int | str | float | bool) or v is None else str(v))
              for k, v in decision.reason_params.items()}
    return AllocationDecision.objects.create(
        customer=customer, intake=intake, version=version, rule_key=decision.rule_key, rule_index=decision.rule_index,
        strategy=decision.strategy, candidates=candidates, reason_code=decision.reason_code, reason_params=params,
        outcome=decision.outcome, person=owner, pool_id=customer.pool_id if owner is None else decision.pool_id,
        team_id=owner.team_id if owner is not None else getattr(decision, "team_id", None), tier=customer.tier,
        size=customer.size, value=value, decided_at=intake.submitted_at)


# ---------------------------------------------------------------- review of held intakes

REVIEW_ACTIONS = ("proceed", "duplicate", "reject")


def intake_review(*, actor: User, intake_id: int, action: str, reason: str,
                  duplicate_of_id: int | None = None) -> Intake:
    intake = Intake.objects.select_related("rule_set").filter(pk=intake_id).first()
    if intake is None:
        raise NotFound()
    allowed = is_admin(actor) or is_supervisor(actor) or (
        intake.submitted_by_id == actor.pk and actor.has_right(Right.EDIT_BUSINESS_DATA))
    if not allowed:
        raise PermissionRefused(_("Only the person who submitted the lead, a supervisor or an administrator can "
                                  "review it."), extra={"right": "allocation.intake.review"})
    if action not in REVIEW_ACTIONS:
        raise ValidationFailed(field_errors={"action": [_("Choose proceed, duplicate or reject.")]})
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why.")]})
    if intake.outcome != IntakeOutcome.HELD:
        from kamguard.core.errors import Conflict

        raise Conflict(_("This intake is not waiting for review (it is: %(outcome)s).") % {
            "outcome": intake.get_outcome_display()}, code="intake_reviewed")
    with transaction.atomic():
        allocation_lock()
        intake.reviewed_by, intake.reviewed_at = actor, timezone.now()
        if action == "reject":
            intake.outcome, intake.outcome_detail, intake.decided_at = IntakeOutcome.REJECTED, reason.strip(), \
                timezone.now()
            _save_intake(intake)
            audit_record(actor=actor, action="allocation.intake.rejected", obj=intake, reason=reason.strip(),
                         changes={"outcome": {"before": IntakeOutcome.HELD, "after": intake.outcome}})
            return intake
        if action == "duplicate":
            ids = {c.get("customer_id") for c in intake.dedupe_candidates}
            if duplicate_of_id is None or duplicate_of_id not in ids:
                raise ValidationFailed(field_errors={"duplicate_of": [
                    _("Choose one of the similar customers the check found.")]})
            customer = Customer.objects.get(pk=duplicate_of_id)
            return _to_owner_attention(intake=intake, actor=actor, customer=customer, detail=reason.strip())
        intake.duplicate_reason = reason.strip()
        return _decide(intake=intake, actor=actor, rule_set=intake.rule_set or _rule_set(None))


# ---------------------------------------------------------------- the public web form

def web_form_token() -> str:
    """A signed token carrying when the form was served (the minimum fill time is measured from it)."""
    return signing.dumps({"t": round(time.time(), 3)}, salt=WEB_TOKEN_SALT)


def _rate_limited(ip_address: str | None) -> bool:
    key = f"kamguard:allocation:web-intake:{ip_address or 'unknown'}"
    if cache.add(key, 1, timeout=WEB_INTAKE_WINDOW):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WEB_INTAKE_WINDOW)
        return False
    return count > WEB_INTAKE_RATE


def web_intake_submit(*, fields: dict[str, Any], ip_address: str | None, form_token: str,
                      honeypot: str = "") -> Intake:
    """The public form (no login). Bots get the same answer as people; their submissions are recorded as
    rejected so the operators can see them."""
    if _rate_limited(ip_address):
        raise RateLimited(_("Too many submissions from your address. Wait a few minutes and try again."))
    try:
        served = signing.loads(form_token or "", salt=WEB_TOKEN_SALT, max_age=WEB_TOKEN_MAX_AGE)
        served_at = float(served["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(_("The form has expired. Reload the page and send it again."),
                               code="form_expired") from exc
    if (honeypot or "").strip():
        return _record_rejected(actor=None, channel=IntakeChannel.WEB, fields=fields, ip_address=ip_address,
                                detail="spam: hidden field filled")
    if time.time() - served_at < WEB_MIN_FILL_SECONDS:
        return _record_rejected(actor=None, channel=IntakeChannel.WEB, fields=fields, ip_address=ip_address,
                                detail="spam: sent faster than a person can fill the form")
    return intake_submit(actor=None, channel=IntakeChannel.WEB, fields=fields, ip_address=ip_address)
