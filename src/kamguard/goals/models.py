"""Goals (P5): monthly sales targets per person, and objectives with measurable key results (OKR / SMART goals)
that cascade from a team's objective to each person's, with check-ins that move a key result's current value.

Who may write what is in `goals.access`; every write goes through `goals.services`.

Invariants held by the database: one target per person per month, the month being a first day, amounts never
negative; an objective is owned by exactly one of a person or a team and ends no earlier than it starts; a key
result's weight is positive and its target differs from its start; a check-in's confidence lies in 0..10.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class SalesTarget(TimeStampedModel):
    """The sales target (销售指标) of one person for one month, set by their supervisor."""

    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="sales_targets")
    month = models.DateField(_("month"), help_text=_("The first day of the target's month."))
    amount = models.DecimalField(_("target amount (CNY)"), max_digits=16, decimal_places=2)
    set_by = models.ForeignKey(USER, verbose_name=_("set by"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-month", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "month"], name="goals_target_one_per_person_month"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="goals_target_amount_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1), name="goals_target_month_first_day"),
        ]
        indexes = [models.Index(fields=["month", "user"], name="goals_target_month_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m} {self.amount}"


class ObjectiveStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", pgettext_lazy("objective status", "Active")
    DONE = "done", pgettext_lazy("objective status", "Done")
    CANCELLED = "cancelled", _("Cancelled")


# Objectives whose progress counts (in okr_progress_for and the team's roll-up).
COUNTED_STATUSES = (ObjectiveStatus.ACTIVE, ObjectiveStatus.DONE)


class Objective(TimeStampedModel):
    """An objective (目标) owned by a person or a team for a period, written as a SMART goal: specific (title and
    description), measurable (`measure` and the key results), relevant (`relevance`), time-bound (`deadline`).
    A person's objective may cascade from a team objective (`parent`)."""

    title = models.CharField(pgettext_lazy("objective", "title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner_user = models.ForeignKey(USER, verbose_name=_("owner (person)"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="objectives")
    owner_team = models.ForeignKey("org.Team", verbose_name=_("owner (team)"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="objectives")
    parent = models.ForeignKey("self", verbose_name=_("contributes to"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    measure = models.TextField(_("how we know it is achieved"), blank=True)
    relevance = models.TextField(_("why it matters"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ObjectiveStatus.choices,
                              default=ObjectiveStatus.DRAFT)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        ordering = ["-period_start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_user__isnull=False, owner_team__isnull=True)
                           | Q(owner_user__isnull=True, owner_team__isnull=False)),
                name="goals_objective_one_owner"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="goals_objective_period"),
        ]
        indexes = [
            models.Index(fields=["owner_user", "period_start", "period_end"], name="goals_obj_user_period_idx"),
            models.Index(fields=["owner_team", "period_start"], name="goals_obj_team_period_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_team(self) -> bool:
        return self.owner_team_id is not None


class KeyResult(TimeStampedModel):
    """A measurable key result (关键结果): from `start_value` to `target_value` in `unit`; check-ins move
    `current_value`. Its progress is (current − start) / (target − start), clipped to 0..100 %."""

    objective = models.ForeignKey(Objective, verbose_name=_("objective"), on_delete=models.CASCADE,
                                  related_name="key_results")
    title = models.CharField(pgettext_lazy("objective", "title"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    start_value = models.DecimalField(_("start value"), max_digits=16, decimal_places=2, default=0)
    target_value = models.DecimalField(_("target value"), max_digits=16, decimal_places=2)
    current_value = models.DecimalField(_("current value"), max_digits=16, decimal_places=2, default=0)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2, default=1)
    due_date = models.DateField(_("due date"), null=True, blank=True)

    class Meta:
        verbose_name = _("key result")
        verbose_name_plural = _("key results")
        ordering = ["objective_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="goals_kr_weight_positive"),
            models.CheckConstraint(condition=~Q(target_value=F("start_value")), name="goals_kr_target_not_start"),
        ]

    def __str__(self) -> str:
        return self.title


class CheckIn(models.Model):
    """A check-in (进展更新) on a key result: the value reached, how confident the owner is (0..10), a note."""

    key_result = models.ForeignKey(KeyResult, verbose_name=_("key result"), on_delete=models.CASCADE,
                                   related_name="check_ins")
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=2)
    confidence = models.PositiveSmallIntegerField(_("confidence (0–10)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    by = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(confidence__isnull=True) | Q(confidence__lte=10),
                                   name="goals_checkin_confidence_range"),
        ]
        indexes = [models.Index(fields=["key_result", "-at"], name="goals_checkin_kr_at_idx")]

    def __str__(self) -> str:
        return f"{self.key_result_id} {self.value}"
