"""Visits and other contacts with customers: one table, `Activity`.

A visit is planned (status "planned", a `planned_on` day), checked in (time, place, distance to the customer's
region) and checked out with an outcome and next step ("done"), or cancelled. Calls, meetings, e-mails and WeChat
contacts are recorded already "done". Done and checked-in activities count as follow-up of the customer.

Invariants held by the database:
- `external_id` unique when set (imports are idempotent by it);
- check-in and check-out move by conditional updates on `status` (see services), so two check-ins of the same
  visit cannot both succeed;
- a done visit has been checked in (`activity_done_visit_checked_in`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class Kind(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Phone call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", pgettext_lazy("contact kind", "E-mail")
    WECHAT = "wechat", _("WeChat")


CONTACT_KINDS = (Kind.CALL, Kind.MEETING, Kind.EMAIL, Kind.WECHAT)


class Status(models.TextChoices):
    PLANNED = "planned", _("Planned")
    CHECKED_IN = "checked_in", _("Checked in")
    DONE = "done", pgettext_lazy("activity status", "Done")
    CANCELLED = "cancelled", pgettext_lazy("activity status", "Cancelled")


# The statuses that count as follow-up of the customer (the pool's reclaim rules) and as "took place".
FOLLOWUP_STATUSES = (Status.CHECKED_IN, Status.DONE)


class LocationStatus(models.TextChoices):
    NOT_CHECKED_IN = "", _("Not checked in")
    OK = "ok", _("Location recorded")
    DENIED = "denied", _("Location permission refused")
    UNAVAILABLE = "unavailable", _("Location not available")
    NO_REFERENCE = "no_reference", _("Location recorded; the customer has no mapped region")


class Activity(TimeStampedModel):
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="activities")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="activities")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DONE)
    planned_on = models.DateField(_("planned for"), null=True, blank=True)
    happened_at = models.DateTimeField(_("took place"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    checkin_latitude = models.FloatField(_("check-in latitude"), null=True, blank=True)
    checkin_longitude = models.FloatField(_("check-in longitude"), null=True, blank=True)
    checkin_accuracy_m = models.PositiveIntegerField(_("location accuracy (m)"), null=True, blank=True)
    distance_m = models.PositiveIntegerField(_("distance to the customer (m)"), null=True, blank=True)
    far_threshold_m = models.PositiveIntegerField(_("far-away threshold (m)"), null=True, blank=True)
    is_far = models.BooleanField(_("far from the customer"), default=False)
    location_status = models.CharField(_("location"), max_length=14, choices=LocationStatus.choices,
                                       blank=True, default="")
    contacts = models.ManyToManyField("customers.Contact", verbose_name=_("customer contacts"), blank=True,
                                      related_name="activities")
    other_attendees = models.CharField(_("other attendees"), max_length=300, blank=True)
    accompanied_by = models.ForeignKey(USER, verbose_name=_("accompanied by"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="accompanied_activities")
    accompaniment_confirmed_at = models.DateTimeField(_("accompaniment confirmed"), null=True, blank=True)
    summary = models.TextField(_("purpose or summary"), blank=True)
    outcome = models.TextField(pgettext_lazy("activity", "outcome"), blank=True)
    next_step = models.TextField(_("next step"), blank=True)
    duration_min = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    plan_ref = models.CharField(_("plan reference"), max_length=80, blank=True, db_index=True)
    recorded_by = models.ForeignKey(USER, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("visits and contacts")
        ordering = ["-happened_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "happened_at"], name="activity_customer_idx"),
            models.Index(fields=["user", "happened_at"], name="activity_user_idx"),
            models.Index(fields=["user", "planned_on"], name="activity_user_planned_idx"),
            models.Index(fields=["user", "checked_in_at"], name="activity_user_checkin_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="visit", status="done") | Q(checked_in_at__isnull=False),
                                   name="activity_done_visit_checked_in"),
            models.CheckConstraint(condition=Q(kind__in=["visit", "call", "meeting", "email", "wechat"]),
                                   name="activity_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id} {self.happened_at or self.planned_on or ''}"

    @property
    def when(self):  # type: ignore[no-untyped-def]
        """When it happened, or the planned day."""
        return self.happened_at or self.planned_on

    @property
    def is_visit(self) -> bool:
        return self.kind == Kind.VISIT
