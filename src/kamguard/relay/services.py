"""Every write of relay forms: one function per use case, keyword-only, transactional, audited.

- `relay_send(*, actor, category_id, content, suggestions="", receiver_id=None, customer_id=None,
  relayed_at=None)` — numbers the form and sends it to the receiver the actor chose, or else to the one the
  category's routing rules name; a form sent to nobody is refused (`no_receiver`).
- `relay_receive`, `relay_handle`, `relay_feedback` — the receiver's steps sent → received → handled → fed back;
  each moves the state by a conditional update, so a repeated click is a `Conflict`, never a second step.
- `category_save`, `rule_save`, `rule_delete` — the routing configuration (administrators).
- `daily_report_record(*, day)` — the daily check, kept (the periodic job).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.org.domain.roles import Right
from kamguard.org.models import Department, Post, User
from kamguard.relay import selectors
from kamguard.relay.domain.timing import Limits, dues_for, number_format
from kamguard.relay.models import (
    RelayCategory,
    RelayCounter,
    RelayDailyReport,
    RelayForm,
    RelayStatus,
    RoutingRule,
)

CONTENT_MAX = 4000
TEXT_MAX = 2000
BACKDATE_DAYS = 30


def _prefix() -> str:
    return str(getattr(settings, "KAMGUARD_RELAY_NUMBER_PREFIX", "XC"))


def _require_edit(actor: User) -> None:
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _require_manage(actor: User) -> None:
    if not actor.has_right(Right.MANAGE_ORG):
        raise PermissionRefused(extra={"right": str(Right.MANAGE_ORG)})


def _text(value: str | None, field: str, *, required: bool, limit: int, errors: dict[str, list[str]]) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        errors.setdefault(field, []).append(_("Required."))
    elif len(text) > limit:
        errors.setdefault(field, []).append(_("At most %(n)s characters.") % {"n": limit})
    return text


# ---------------------------------------------------------------- numbering and routing

def _next_sequence(year: int) -> int:
    """The year's next number, inside the caller's transaction: the conditional update queues concurrent
    senders on the counter row, and a rolled-back send gives its number back (no gaps)."""
    if not RelayCounter.objects.filter(year=year).update(last=F("last") + 1):
        try:
            with transaction.atomic():
                RelayCounter.objects.create(year=year, last=1)
            return 1
        except IntegrityError:  # another sender created the year's counter first
            RelayCounter.objects.filter(year=year).update(last=F("last") + 1)
    return RelayCounter.objects.values_list("last", flat=True).get(year=year)


def _common_depth(a: str, b: str) -> int:
    depth = 0
    for x, y in zip(a.strip("/").split("/"), b.strip("/").split("/"), strict=False):
        if x != y:
            break
        depth += 1
    return depth


def route(*, category: RelayCategory, provider: User) -> tuple[User, Post | None, RoutingRule] | None:
    """The receiver the category's rules name for this provider: the most specific rule (deepest department,
    then position) with someone to receive — its person, or the holder of its post nearest the provider (same
    team, then the closest department). None when no rule gives anyone."""
    provider_path = provider.department.path if provider.department_id and provider.department else ""
    rules = [r for r in RoutingRule.objects.filter(category=category, is_active=True).select_related(
        "department", "post", "person")
        if r.department_id is None or (provider_path and r.department and provider_path.startswith(r.department.path))]
    rules.sort(key=lambda r: (-(r.department.depth + 1 if r.department else 0), r.position, r.pk))
    for rule in rules:
        if rule.person_id:
            person = rule.person
            if person is not None and person.is_active and person.pk != provider.pk:
                return person, rule.post, rule
            continue
        holders = list(User.objects.filter(post=rule.post, is_active=True).exclude(pk=provider.pk)
                       .select_related("department"))
        if holders:
            holders.sort(key=lambda u: (
                0 if provider.team_id and u.team_id == provider.team_id else 1,
                -_common_depth(u.department.path if u.department else "", provider_path),
                u.pk))
            return holders[0], rule.post, rule
    return None


# ---------------------------------------------------------------- the form's life

@transaction.atomic
def relay_send(*, actor: User, category_id: int | None, content: str, suggestions: str = "",
               receiver_id: int | None = None, customer_id: int | None = None,
               relayed_at: dt.datetime | None = None) -> RelayForm:
    _require_edit(actor)
    errors: dict[str, list[str]] = {}
    content = _text(content, "content", required=True, limit=CONTENT_MAX, errors=errors)
    suggestions = _text(suggestions, "suggestions", required=False, limit=TEXT_MAX, errors=errors)
    category = RelayCategory.objects.filter(pk=category_id, is_active=True).first() if category_id else None
    if category is None:
        errors.setdefault("category", []).append(_("Choose a category."))
    now = timezone.now()
    relayed_at = relayed_at or now
    if timezone.is_naive(relayed_at):  # a time without its zone is the company's local time
        relayed_at = timezone.make_aware(relayed_at)
    if relayed_at > now + dt.timedelta(minutes=5):
        errors.setdefault("relayed_at", []).append(_("The relay time cannot be in the future."))
    elif relayed_at < now - dt.timedelta(days=BACKDATE_DAYS):
        errors.setdefault("relayed_at", []).append(
            _("The relay time can be at most %(n)s days ago.") % {"n": BACKDATE_DAYS})
    customer = None
    if customer_id:
        from kamguard.customers.models import Customer
        from kamguard.customers.selectors import customer_visibility_q

        customer = Customer.objects.filter(customer_visibility_q(actor), pk=customer_id).first()
        if customer is None:
            errors.setdefault("customer", []).append(_("No such customer, or you do not have access to it."))
    receiver: User | None = None
    post: Post | None = None
    rule: RoutingRule | None = None
    if receiver_id:
        receiver = User.objects.filter(pk=receiver_id, is_active=True).first()
        if receiver is None:
            errors.setdefault("receiver", []).append(_("No such person, or they are no longer active."))
        elif receiver.pk == actor.pk:
            errors.setdefault("receiver", []).append(_("You cannot send a form to yourself."))
    if errors:
        raise ValidationFailed(field_errors=errors)
    assert category is not None
    if receiver is None:
        routed = route(category=category, provider=actor)
        if routed is None:
            message = _("This form would go to nobody: no routing rule for “%(category)s” gives a receiver for "
                        "you. Choose a receiver, or ask an administrator to add a routing rule.") % {
                "category": category.label()}
            raise ValidationFailed(message, code="no_receiver", field_errors={"receiver": [message]})
        receiver, post, rule = routed
    else:
        post = receiver.post
    year = timezone.localtime(now).year
    sequence = _next_sequence(year)
    dues = dues_for(relayed_at, Limits(category.receive_hours, category.handle_hours, category.feedback_hours))
    form = RelayForm.objects.create(
        number=number_format(_prefix(), year, sequence), year=year, sequence=sequence, provider=actor,
        relayed_at=relayed_at, category=category, content=content, suggestions=suggestions, receiver=receiver,
        receiver_post=post, routed_by=rule, customer=customer, receive_due=dues.receive_due,
        handle_due=dues.handle_due, feedback_due=dues.feedback_due)
    audit_record(actor=actor, action="relay.form.send", obj=form, changes={
        "number": {"before": None, "after": form.number}, "receiver": {"before": None, "after": receiver.pk},
        "category": {"before": None, "after": category.code},
        "routed_by": {"before": None, "after": rule.pk if rule else None},
        "customer": {"before": None, "after": customer.pk if customer else None}})
    if customer is not None:
        from kamguard.customers.services.common import timeline_add

        timeline_add(customer=customer, kind="relay.sent", actor=actor, at=relayed_at,
                     summary=_("Relay form %(number)s (%(category)s) sent to %(receiver)s") % {
                         "number": form.number, "category": category.name, "receiver": receiver},
                     data={"form_id": form.pk, "number": form.number})
    return form


def _form_for_step(actor: User, form_id: int) -> RelayForm:
    _require_edit(actor)
    form = selectors.forms_visible(actor).filter(pk=form_id).select_related("category", "customer").first()
    if form is None:
        raise NotFound()
    if form.receiver_id != actor.pk:
        raise PermissionRefused(_("Only the receiver of this form can record its steps."), code="not_receiver")
    return form


def _advance(form: RelayForm, *, expected: tuple[str, ...], values: dict[str, Any]) -> None:
    if not RelayForm.objects.filter(pk=form.pk, status__in=expected).update(**values):
        current = RelayForm.objects.values_list("status", flat=True).get(pk=form.pk)
        raise Conflict(_("This form is already %(status)s; reload it.") % {
            "status": RelayStatus(current).label}, code="wrong_state")
    for key, value in values.items():
        setattr(form, key, value)


@transaction.atomic
def relay_receive(*, actor: User, form_id: int) -> RelayForm:
    form = _form_for_step(actor, form_id)
    now = timezone.now()
    _advance(form, expected=(RelayStatus.SENT,), values={
        "status": RelayStatus.RECEIVED, "received_at": now, "received_by_id": actor.pk})
    audit_record(actor=actor, action="relay.form.receive", obj=form,
                 changes={"status": {"before": RelayStatus.SENT, "after": RelayStatus.RECEIVED}})
    return form


@transaction.atomic
def relay_handle(*, actor: User, form_id: int, opinion: str, quality: int | None = None) -> RelayForm:
    """The handling opinion (receiving the form on the way when it was not yet marked received), and the
    receiver's rating of the information's quality (1–5, optional)."""
    form = _form_for_step(actor, form_id)
    errors: dict[str, list[str]] = {}
    opinion = _text(opinion, "handling_opinion", required=True, limit=TEXT_MAX, errors=errors)
    if quality is not None and not 1 <= quality <= 5:
        errors.setdefault("quality", []).append(_("Between 1 and 5."))
    if errors:
        raise ValidationFailed(field_errors=errors)
    now = timezone.now()
    before = form.status
    values: dict[str, Any] = {"status": RelayStatus.HANDLED, "handling_opinion": opinion, "handled_at": now,
                              "handled_by_id": actor.pk, "quality": quality}
    if form.status == RelayStatus.SENT:
        values |= {"received_at": now, "received_by_id": actor.pk}
    _advance(form, expected=(before,) if before in (RelayStatus.SENT, RelayStatus.RECEIVED) else (
        RelayStatus.RECEIVED,), values=values)
    audit_record(actor=actor, action="relay.form.handle", obj=form, changes={
        "status": {"before": before, "after": RelayStatus.HANDLED},
        "handling_opinion": {"before": "", "after": opinion}, "quality": {"before": None, "after": quality}})
    return form


@transaction.atomic
def relay_feedback(*, actor: User, form_id: int, feedback: str) -> RelayForm:
    """The result fed back to the provider: closes the form."""
    form = _form_for_step(actor, form_id)
    errors: dict[str, list[str]] = {}
    feedback = _text(feedback, "feedback", required=True, limit=TEXT_MAX, errors=errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    now = timezone.now()
    _advance(form, expected=(RelayStatus.HANDLED,), values={
        "status": RelayStatus.FED_BACK, "feedback": feedback, "fed_back_at": now, "fed_back_by_id": actor.pk})
    audit_record(actor=actor, action="relay.form.feedback", obj=form, changes={
        "status": {"before": RelayStatus.HANDLED, "after": RelayStatus.FED_BACK},
        "feedback": {"before": "", "after": feedback}})
    if form.customer is not None:
        from kamguard.customers.services.common import timeline_add

        timeline_add(customer=form.customer, kind="relay.fed_back", actor=actor, at=now,
                     summary=_("Relay form %(number)s handled and fed back: %(feedback)s") % {
                         "number": form.number, "feedback": feedback[:200]},
                     data={"form_id": form.pk, "number": form.number})
    return form


# ---------------------------------------------------------------- configuration (administrators)

@transaction.atomic
def category_save(*, actor: User, category_id: int | None = None, code: str, name: str, name_en: str = "",
                  receive_hours: int, handle_hours: int, feedback_hours: int, is_active: bool = True,
                  ) -> RelayCategory:
    _require_manage(actor)
    errors: dict[str, list[str]] = {}
    code = _text(code, "code", required=True, limit=32, errors=errors)
    name = _text(name, "name", required=True, limit=80, errors=errors)
    name_en = _text(name_en, "name_en", required=False, limit=80, errors=errors)
    if receive_hours < 1:
        errors.setdefault("receive_hours", []).append(_("At least one hour."))
    if handle_hours < receive_hours:
        errors.setdefault("handle_hours", []).append(_("Not shorter than the time to receive."))
    if feedback_hours < handle_hours:
        errors.setdefault("feedback_hours", []).append(_("Not shorter than the time to handle."))
    existing = None
    if category_id is not None:
        existing = RelayCategory.objects.filter(pk=category_id).first()
        if existing is None:
            raise NotFound()
    clash = RelayCategory.objects.exclude(pk=category_id or 0)
    if code and clash.filter(code=code).exists():
        errors.setdefault("code", []).append(_("Another category has this code."))
    if name and clash.filter(name=name).exists():
        errors.setdefault("name", []).append(_("Another category has this name."))
    if errors:
        raise ValidationFailed(field_errors=errors)
    values = {"code": code, "name": name, "name_en": name_en, "receive_hours": receive_hours,
              "handle_hours": handle_hours, "feedback_hours": feedback_hours, "is_active": is_active}
    if existing is None:
        category = RelayCategory.objects.create(**values)
        changes = {k: {"before": None, "after": v} for k, v in values.items()}
        action = "relay.category.create"
    else:
        changes = {k: {"before": getattr(existing, k), "after": v} for k, v in values.items()
                   if getattr(existing, k) != v}
        for k, v in values.items():
            setattr(existing, k, v)
        existing.save()
        category = existing
        action = "relay.category.update"
    audit_record(actor=actor, action=action, obj=category, changes=changes)
    return category


@transaction.atomic
def rule_save(*, actor: User, rule_id: int | None = None, category_id: int | None, department_id: int | None = None,
              post_id: int | None = None, person_id: int | None = None, position: int = 0,
              is_active: bool = True) -> RoutingRule:
    _require_manage(actor)
    errors: dict[str, list[str]] = {}
    category = RelayCategory.objects.filter(pk=category_id).first() if category_id else None
    if category is None:
        errors.setdefault("category", []).append(_("Choose a category."))
    department = Department.objects.filter(pk=department_id).first() if department_id else None
    if department_id and department is None:
        errors.setdefault("department", []).append(_("No such department."))
    post = Post.objects.filter(pk=post_id, is_active=True).first() if post_id else None
    if post_id and post is None:
        errors.setdefault("post", []).append(_("No such active post."))
    person = User.objects.filter(pk=person_id, is_active=True).first() if person_id else None
    if person_id and person is None:
        errors.setdefault("person", []).append(_("No such person, or they are no longer active."))
    if not post_id and not person_id:
        errors.setdefault("post", []).append(_("Choose a receiving post or a receiving person."))
    if not 0 <= position <= 32767:
        errors.setdefault("position", []).append(_("Between 0 and 32767."))
    existing = None
    if rule_id is not None:
        existing = RoutingRule.objects.filter(pk=rule_id).first()
        if existing is None:
            raise NotFound()
    if errors:
        raise ValidationFailed(field_errors=errors)
    values: dict[str, Any] = {"category": category, "department": department, "post": post, "person": person,
                              "position": position, "is_active": is_active}
    plain = {"category": category_id, "department": department_id, "post": post_id, "person": person_id,
             "position": position, "is_active": is_active}
    if existing is None:
        rule = RoutingRule.objects.create(**values)
        changes = {k: {"before": None, "after": v} for k, v in plain.items()}
        action = "relay.rule.create"
    else:
        old = {"category": existing.category_id, "department": existing.department_id, "post": existing.post_id,
               "person": existing.person_id, "position": existing.position, "is_active": existing.is_active}
        changes = {k: {"before": old[k], "after": v} for k, v in plain.items() if old[k] != v}
        for k, v in values.items():
            setattr(existing, k, v)
        existing.save()
        rule = existing
        action = "relay.rule.update"
    audit_record(actor=actor, action=action, obj=rule, changes=changes)
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule_id: int) -> None:
    _require_manage(actor)
    rule = RoutingRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    audit_record(actor=actor, action="relay.rule.delete", obj=rule, changes={
        "category": {"before": rule.category_id, "after": None}, "post": {"before": rule.post_id, "after": None},
        "person": {"before": rule.person_id, "after": None}})
    rule.delete()


# ---------------------------------------------------------------- the daily check, kept

@transaction.atomic
def daily_report_record(*, day: dt.date) -> RelayDailyReport:
    """Keep the day's figures (everyone's) once; running it again for the same day changes nothing."""
    found = RelayDailyReport.objects.filter(day=day).first()
    if found is not None:
        return found
    report = RelayDailyReport.objects.create(day=day, data=selectors.daily_report(viewer=None, day=day))
    audit_record(actor=None, action="relay.report.record", obj=report,
                 changes={"totals": {"before": None, "after": report.data["totals"]}})
    return report
