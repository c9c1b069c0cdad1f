"""Every write to monthly marketing plans: one function per use case, transactional, audited.

Who may do what:
- the plan's person (with the right to edit business data) writes their own plan while it is a draft or
  returned, and submits it;
- a supervisor whose scope covers the person (department scope or wider, edit right, never their own plan)
  approves or returns a submitted plan with comments, and comments on plan versus actual;
- auditors read everything and write nothing.
Planned visits are created and cancelled through the activities app (`visit_plan`, `visit_plan_cancel`) with
`plan_ref="plans:<item id>"`, in the same transaction as the plan's item.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.fields import clean_text
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope, scope_q
from kamguard.plans.domain.months import month_end, month_start
from kamguard.plans.models import EDITABLE_STATUSES, DailyPlan, MarketingPlan, PlanStatus, PlanVisit

TEXT_LIMIT = 10_000
PURPOSE_LIMIT = 300


def _clean(value: str | None, field: str, limit: int = TEXT_LIMIT) -> str:
    return clean_text(value, field, limit)


def _require_edit_right(actor: User) -> None:
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _plan_for(actor: User, plan_id: int, *, lock: bool = False) -> MarketingPlan:
    """The plan if the actor may see it (NotFound otherwise: missing and forbidden look the same)."""
    qs = MarketingPlan.objects.filter(scope_q(actor, owner_path="user"), pk=plan_id)
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.select_related("user").first()
    if found is None:
        raise NotFound()
    return found


def _own_editable_plan(actor: User, plan_id: int) -> MarketingPlan:
    _require_edit_right(actor)
    plan = _plan_for(actor, plan_id, lock=True)
    if plan.user_id != actor.pk:
        raise PermissionRefused(_("Only the plan's author may change it."), extra={"right": "plans.edit"})
    if plan.status not in EDITABLE_STATUSES:
        raise Conflict(_("This plan is %(status)s: it can no longer be changed.") % {
            "status": plan.get_status_display()}, code="plan_not_editable")
    return plan


def may_review(actor: User, plan: MarketingPlan) -> bool:
    return (actor.is_authenticated and actor.has_right(Right.EDIT_BUSINESS_DATA) and actor.scope >= Scope.DEPARTMENT
            and actor.pk != plan.user_id and person_in_scope(actor, plan.user))


def _require_review(actor: User, plan: MarketingPlan) -> None:
    if actor.pk == plan.user_id:
        raise PermissionRefused(_("You cannot review your own plan."), code="own_plan",
                                extra={"right": "plans.review"})
    if not may_review(actor, plan):
        raise PermissionRefused(_("Only a supervisor of this person may review the plan."),
                                extra={"right": "plans.review"})


def plan_create(*, actor: User, month: dt.date, goals: str = "", analysis: str = "", measures: str = ""
                ) -> MarketingPlan:
    """Start the actor's plan for `month` (any day of it). One plan per person per month."""
    _require_edit_right(actor)
    month = month_start(month)
    today = timezone.localdate()
    if month < month_start(today).replace(year=today.year - 1):
        raise ValidationFailed(field_errors={"month": [_("Plans can be written for at most a year back.")]})
    fields = {"goals": _clean(goals, "goals"), "analysis": _clean(analysis, "analysis"),
              "measures": _clean(measures, "measures")}
    try:
        with transaction.atomic():
            plan = MarketingPlan.objects.create(user=actor, month=month, **fields)
            audit_record(actor=actor, action="plans.plan.create", obj=plan,
                         changes={"month": {"before": None, "after": month.isoformat()}})
    except IntegrityError as exc:
        raise Conflict(_("You already have a plan for %(month)s. Open it instead.") % {"month": f"{month:%Y-%m}"},
                       code="plan_exists", field_errors={"month": [_("A plan for this month exists.")]}) from exc
    return plan


@transaction.atomic
def plan_update(*, actor: User, plan_id: int, goals: str | None = None, analysis: str | None = None,
                measures: str | None = None) -> MarketingPlan:
    plan = _own_editable_plan(actor, plan_id)
    changes: dict[str, Any] = {}
    for name, value in (("goals", goals), ("analysis", analysis), ("measures", measures)):
        if value is None:
            continue
        text = _clean(value, name)
        if text != getattr(plan, name):
            changes[name] = {"before": getattr(plan, name), "after": text}
            setattr(plan, name, text)
    if changes:
        plan.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="plans.plan.update", obj=plan, changes=changes)
    return plan


def _visible_customer(actor: User, customer_id: int) -> Any:
    from kamguard.customers.selectors import customer_list

    found = customer_list(viewer=actor, status="").filter(pk=customer_id).first()
    if found is None:
        raise ValidationFailed(field_errors={"customer": [_("No such customer, or you cannot see it.")]})
    return found


@transaction.atomic
def plan_visit_add(*, actor: User, plan_id: int, customer_id: int, planned_on: dt.date, purpose: str = ""
                   ) -> PlanVisit:
    """Add a customer on a day to the visit plan; the planned visit is created in the activities app."""
    from kamguard.activities.services import visit_plan

    plan = _own_editable_plan(actor, plan_id)
    if not (plan.month <= planned_on <= month_end(plan.month)):
        raise ValidationFailed(field_errors={"planned_on": [_("Pick a day in %(month)s.") % {
            "month": f"{plan.month:%Y-%m}"}]})
    customer = _visible_customer(actor, customer_id)
    purpose = _clean(purpose, "purpose", PURPOSE_LIMIT)
    if PlanVisit.objects.filter(plan=plan, customer=customer, planned_on=planned_on).exists():
        raise Conflict(_("%(customer)s is already planned on %(day)s.") % {"customer": customer.name,
                                                                           "day": planned_on.isoformat()},
                       code="visit_already_planned",
                       field_errors={"planned_on": [_("Already planned on this day.")]})
    try:
        with transaction.atomic():
            item = PlanVisit.objects.create(plan=plan, customer=customer, planned_on=planned_on, purpose=purpose)
    except IntegrityError as exc:
        raise Conflict(_("This customer is already planned on that day."), code="visit_already_planned") from exc
    activity = visit_plan(actor=actor, customer_id=customer.pk, planned_on=planned_on, purpose=purpose,
                          plan_ref=item.plan_ref)
    item.activity_id = activity.pk
    item.save(update_fields=["activity_id"])
    audit_record(actor=actor, action="plans.visit.add", obj=plan,
                 changes={"visit": {"before": None, "after": {"item": item.pk, "customer": customer.pk,
                                                              "day": planned_on.isoformat(),
                                                              "activity": activity.pk}}})
    return item


@transaction.atomic
def plan_visit_remove(*, actor: User, item_id: int, reason: str = "") -> None:
    """Take a planned visit out of the plan; its planned visit is cancelled in the activities app."""
    from kamguard.activities.services import visit_plan_cancel

    item = PlanVisit.objects.filter(pk=item_id).select_related("plan").first()
    if item is None:
        raise NotFound()
    plan = _own_editable_plan(actor, item.plan_id)
    reason = _clean(reason, "reason", 300) or _("Removed from the monthly plan")
    if item.activity_id is not None:
        from kamguard.activities.models import Activity

        status = Activity.objects.filter(pk=item.activity_id).values_list("status", flat=True).first()
        if status == "planned":
            visit_plan_cancel(actor=actor, activity_id=item.activity_id, reason=reason)
    audit_record(actor=actor, action="plans.visit.remove", obj=plan, reason=reason,
                 changes={"visit": {"before": {"item": item.pk, "customer": item.customer_id,
                                               "day": item.planned_on.isoformat(), "activity": item.activity_id},
                                    "after": None}})
    item.delete()


@transaction.atomic
def daily_plan_save(*, actor: User, plan_id: int, day: dt.date, content: str) -> DailyPlan | None:
    """Write the work planned for a day; empty content removes the day's plan."""
    plan = _own_editable_plan(actor, plan_id)
    if not (plan.month <= day <= month_end(plan.month)):
        raise ValidationFailed(field_errors={"day": [_("Pick a day in %(month)s.") % {"month": f"{plan.month:%Y-%m}"}]})
    text = _clean(content, "content")
    existing = DailyPlan.objects.filter(plan=plan, day=day).first()
    before = existing.content if existing else None
    if not text:
        if existing is None:
            return None
        existing.delete()
        audit_record(actor=actor, action="plans.day.remove", obj=plan,
                     changes={day.isoformat(): {"before": before, "after": None}})
        return None
    if existing is None:
        existing = DailyPlan.objects.create(plan=plan, day=day, content=text)
    elif existing.content != text:
        existing.content = text
        existing.save(update_fields=["content", "updated_at"])
    else:
        return existing
    audit_record(actor=actor, action="plans.day.save", obj=plan,
                 changes={day.isoformat(): {"before": before, "after": text}})
    return existing


@transaction.atomic
def plan_submit(*, actor: User, plan_id: int) -> MarketingPlan:
    """Hand the plan to the supervisor. It needs goals, an analysis, measures and at least one planned visit."""
    plan = _own_editable_plan(actor, plan_id)
    errors: dict[str, list[str]] = {}
    for name, label in (("goals", _("Write the month's goals.")), ("analysis", _("Write the marketing analysis.")),
                        ("measures", _("Write the targeted measures."))):
        if not getattr(plan, name).strip():
            errors[name] = [label]
    if not plan.visits.exists():
        errors["visits"] = [_("Plan at least one visit.")]
    if errors:
        raise ValidationFailed(_("The plan is not complete yet."), code="plan_incomplete", field_errors=errors)
    before = plan.status
    updated = MarketingPlan.objects.filter(pk=plan.pk, status__in=EDITABLE_STATUSES).update(
        status=PlanStatus.SUBMITTED, submitted_at=timezone.now(), updated_at=timezone.now())
    if not updated:
        raise Conflict(code="plan_not_editable")
    plan.refresh_from_db()
    audit_record(actor=actor, action="plans.plan.submit", obj=plan,
                 changes={"status": {"before": before, "after": plan.status}})
    return plan


@transaction.atomic
def plan_review(*, actor: User, plan_id: int, approve: bool, comment: str) -> MarketingPlan:
    """The supervisor approves the submitted plan or returns it for changes, with comments (required to return)."""
    plan = _plan_for(actor, plan_id, lock=True)
    _require_review(actor, plan)
    text = _clean(comment, "comment")
    if not approve and not text:
        raise ValidationFailed(field_errors={"comment": [_("Say what to change when returning a plan.")]})
    if plan.status != PlanStatus.SUBMITTED:
        raise Conflict(_("Only a submitted plan can be reviewed; this one is %(status)s.") % {
            "status": plan.get_status_display()}, code="plan_not_submitted")
    new_status = PlanStatus.APPROVED if approve else PlanStatus.RETURNED
    now = timezone.now()
    updated = MarketingPlan.objects.filter(pk=plan.pk, status=PlanStatus.SUBMITTED).update(
        status=new_status, reviewed_by=actor, reviewed_at=now, review_comment=text, updated_at=now)
    if not updated:
        raise Conflict(code="plan_not_submitted")
    plan.refresh_from_db()
    audit_record(actor=actor, action="plans.plan.approve" if approve else "plans.plan.return", obj=plan,
                 reason=text, changes={"status": {"before": PlanStatus.SUBMITTED, "after": new_status}})
    return plan


@transaction.atomic
def plan_result_comment(*, actor: User, plan_id: int, comment: str) -> MarketingPlan:
    """The supervisor's comments on plan versus actual (from the plan's month on; may be rewritten)."""
    plan = _plan_for(actor, plan_id, lock=True)
    _require_review(actor, plan)
    text = _clean(comment, "comment")
    if not text:
        raise ValidationFailed(field_errors={"comment": [_("Write your comments.")]})
    if plan.status != PlanStatus.APPROVED:
        raise Conflict(_("Comment on the results of an approved plan."), code="plan_not_approved")
    if timezone.localdate() < plan.month:
        raise Conflict(_("The plan's month has not started yet."), code="plan_month_not_started")
    before = plan.result_comment
    plan.result_comment, plan.result_comment_by, plan.result_comment_at = text, actor, timezone.now()
    plan.save(update_fields=["result_comment", "result_comment_by", "result_comment_at", "updated_at"])
    audit_record(actor=actor, action="plans.plan.result_comment", obj=plan,
                 changes={"result_comment": {"before": before, "after": text}})
    return plan
