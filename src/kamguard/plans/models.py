"""The monthly marketing plan (月度营销计划): goals, marketing analysis, targeted measures, the visit plan
(customers × dates; each planned visit is an `activities.Activity` created through the activities app with
`plan_ref="plans:<item id>"`; other records point at the whole plan with "plan:<plan id>") and daily work plans; submitted to the supervisor, who approves or returns it
with comments, and comments again on plan versus actual at month end.

Invariants held by the database: one plan per person per month; a customer is planned at most once a day in
a plan; one daily plan per day.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for changes")


EDITABLE_STATUSES = (PlanStatus.DRAFT, PlanStatus.RETURNED)


class MarketingPlan(TimeStampedModel):
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="marketing_plans")
    month = models.DateField(_("month"), help_text=_("The first day of the plan's month."))
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    goals = models.TextField(_("goals"), blank=True)
    analysis = models.TextField(_("marketing analysis"), blank=True)
    measures = models.TextField(_("targeted measures"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(USER, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("supervisor's comments on the plan"), blank=True)
    result_comment = models.TextField(_("supervisor's comments on plan versus actual"), blank=True)
    result_comment_by = models.ForeignKey(USER, verbose_name=_("commented by"), null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    result_comment_at = models.DateTimeField(_("commented at"), null=True, blank=True)

    class Meta:
        verbose_name = _("monthly marketing plan")
        verbose_name_plural = _("monthly marketing plans")
        ordering = ["-month", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "month"], name="plan_one_per_person_month"),
        ]
        indexes = [models.Index(fields=["month", "status"], name="plan_month_status_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m}"

    @property
    def reference(self) -> str:
        """How other apps point at the whole plan (a record's `plan_ref`); "plans:<item id>" is a planned visit."""
        return f"plan:{self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class PlanVisit(models.Model):
    """One planned visit: a customer on a day. `activity_id` is the planned visit the activities app created."""

    plan = models.ForeignKey(MarketingPlan, verbose_name=_("plan"), on_delete=models.CASCADE,
                             related_name="visits")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    planned_on = models.DateField(_("day"))
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    activity_id = models.BigIntegerField(_("planned visit"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("planned visit")
        verbose_name_plural = _("visit plan")
        ordering = ["planned_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["plan", "customer", "planned_on"],
                                               name="plan_visit_once_a_day")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.planned_on}"

    @property
    def plan_ref(self) -> str:
        return f"plans:{self.pk}"


class DailyPlan(models.Model):
    """The work planned for one day of the month (营销工作日计划)."""

    plan = models.ForeignKey(MarketingPlan, verbose_name=_("plan"), on_delete=models.CASCADE,
                             related_name="days")
    day = models.DateField(_("day"))
    content = models.TextField(_("work planned"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("daily plan")
        verbose_name_plural = _("daily plans")
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["plan", "day"], name="plan_one_daily_plan_a_day")]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.day}"
