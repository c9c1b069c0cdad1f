"""Daily work logs (工作日志), their versions and the supervisor's reviews; the deadline rules.

- `WorkLog`: one per person and day (unique). Status "draft" (saved, not submitted), "submitted", or "missing"
  (the daily job found no submission after the deadline; a late submission turns it into "submitted" with
  `is_late`). The content lives in versions; `current_version` is the latest.
- `WorkLogVersion`: the content. A version is edited in place until it is reviewed; an edit after a review
  starts a new version, so the reviewed one stays exactly as the supervisor read it.
- `LogReview`: one per version (unique): evaluation, requirements, suggestions, rating 1–5, excellent.
- `LogDeadline`: company-wide (no department) or per department; the nearest one up the tree applies.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class LogStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    MISSING = "missing", _("Missing")


class WorkLog(TimeStampedModel):
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="work_logs")
    day = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=10, choices=LogStatus.choices, default=LogStatus.DRAFT)
    deadline_at = models.DateTimeField(_("due by"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    is_late = models.BooleanField(pgettext_lazy("worklogs", "late"), default=False)
    marked_missing_at = models.DateTimeField(_("marked missing at"), null=True, blank=True)
    current_version = models.PositiveIntegerField(_("version"), default=1)
    is_excellent = models.BooleanField(_("excellent"), default=False)

    class Meta:
        verbose_name = _("work log")
        verbose_name_plural = _("work logs")
        ordering = ["-day", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="worklog_one_per_person_and_day"),
            models.CheckConstraint(condition=Q(status="submitted", submitted_at__isnull=False) | ~Q(status="submitted"),
                                   name="worklog_submitted_has_time"),
        ]
        indexes = [models.Index(fields=["day", "user"], name="worklog_day_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.day}"

    @property
    def state(self) -> str:
        if self.status == LogStatus.SUBMITTED:
            return "late" if self.is_late else "submitted"
        return str(self.status)


class WorkLogVersion(models.Model):
    log = models.ForeignKey(WorkLog, verbose_name=_("work log"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    today_work = models.TextField(_("today's work"), blank=True)
    visits = models.TextField(_("visits"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    tomorrow_plan = models.TextField(_("tomorrow's plan"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("work log version")
        verbose_name_plural = _("work log versions")
        ordering = ["log", "-number"]
        constraints = [models.UniqueConstraint(fields=["log", "number"], name="worklog_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.log} v{self.number}"


class LogReview(models.Model):
    version = models.OneToOneField(WorkLogVersion, verbose_name=_("version reviewed"), on_delete=models.PROTECT,
                                   related_name="review")
    log = models.ForeignKey(WorkLog, verbose_name=_("work log"), on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(USER, verbose_name=_("reviewer"), on_delete=models.PROTECT,
                                 related_name="work_log_reviews")
    evaluation = models.TextField(_("evaluation"))
    requirements = models.TextField(_("requirements"), blank=True)
    suggestions = models.TextField(_("suggestions"), blank=True)
    rating = models.PositiveSmallIntegerField(_("quality rating"))
    is_excellent = models.BooleanField(_("excellent"), default=False)
    created_at = models.DateTimeField(pgettext_lazy("worklogs", "reviewed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("work log review")
        verbose_name_plural = _("work log reviews")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="logreview_rating_1_5")]

    def __str__(self) -> str:
        return f"{self.version} · {self.rating}"


def default_due_time() -> dt.time:
    return dt.time(20, 0)


class LogDeadline(TimeStampedModel):
    department = models.OneToOneField("org.Department", verbose_name=_("department"), null=True, blank=True,
                                      on_delete=models.CASCADE, related_name="+",
                                      help_text=_("Empty: the company-wide deadline."))
    due_time = models.TimeField(_("due by"), default=default_due_time)
    day_offset = models.PositiveSmallIntegerField(_("day"), default=0,
                                                  choices=[(0, _("the same day")), (1, _("the next day"))])
    workdays = models.CharField(_("workdays"), max_length=7, default="12345",
                                help_text=_("ISO weekday numbers: 1 Monday … 7 Sunday, e.g. 12345."))
    updated_by = models.ForeignKey(USER, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("work log deadline")
        verbose_name_plural = _("work log deadlines")
        constraints = [
            models.UniqueConstraint(fields=["department"], condition=Q(department__isnull=True),
                                    name="logdeadline_one_company_wide"),
        ]

    def __str__(self) -> str:
        return f"{self.department or '*'} {self.due_time}"
