"""Meeting minutes (会议纪要): daily, weekly, monthly and special meetings with attendees, decisions and action
items (owner, due date, open → done with a note). An open item past its due date is overdue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class MeetingKind(models.TextChoices):
    DAILY = "daily", _("Daily meeting")
    WEEKLY = "weekly", _("Weekly meeting")
    MONTHLY = "monthly", _("Monthly meeting")
    SPECIAL = "special", _("Special meeting")


class Meeting(TimeStampedModel):
    kind = models.CharField(pgettext_lazy("meetings", "kind"), max_length=10, choices=MeetingKind.choices)
    title = models.CharField(pgettext_lazy("meetings", "title"), max_length=200)
    held_at = models.DateTimeField(_("held at"))
    location = models.CharField(_("place"), max_length=200, blank=True)
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    organizer = models.ForeignKey(USER, verbose_name=_("minutes by"), on_delete=models.PROTECT,
                                  related_name="meetings_organized")
    chaired_by = models.ForeignKey(USER, verbose_name=_("chaired by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    attendees: models.ManyToManyField = models.ManyToManyField(USER, verbose_name=_("attendees"), blank=True, related_name="meetings")
    other_attendees = models.CharField(pgettext_lazy("meetings", "other attendees"), max_length=500, blank=True)
    summary = models.TextField(_("discussion"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True, help_text=_("One decision per line."))
    guidance = models.TextField(_("supervisor's guidance"), blank=True)
    guided_by = models.ForeignKey(USER, verbose_name=_("guidance by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    guided_at = models.DateTimeField(_("guidance at"), null=True, blank=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_at", "-pk"]
        indexes = [models.Index(fields=["organizer", "-held_at"], name="meeting_organizer_idx")]

    def __str__(self) -> str:
        return self.title


class ItemStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("meetings", "Open")
    DONE = "done", pgettext_lazy("meetings", "Done")


class ActionItem(TimeStampedModel):
    meeting = models.ForeignKey(Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE,
                                related_name="action_items")
    description = models.CharField(pgettext_lazy("meetings", "action"), max_length=500)
    owner = models.ForeignKey(USER, verbose_name=pgettext_lazy("meetings", "owner"), on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField(pgettext_lazy("meetings", "due on"))
    status = models.CharField(_("status"), max_length=6, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(USER, verbose_name=_("done by"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    done_note = models.TextField(_("execution note"), blank=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="actionitem_owner_idx")]
        constraints = [models.CheckConstraint(condition=Q(status="open") | Q(done_at__isnull=False),
                                              name="actionitem_done_has_time")]

    def __str__(self) -> str:
        return self.description
