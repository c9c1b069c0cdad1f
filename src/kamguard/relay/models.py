"""Information relay forms (信息传递单, D3): what a manager learned in the field, passed to the post that must act.

Invariants held by the database, not by check-then-act:
- a form's number is unique, and so is its (year, sequence): numbers come from `RelayCounter`, moved by a
  conditional `UPDATE … SET last = last + 1` inside the creating transaction, so concurrent senders queue on
  the counter row (PostgreSQL's row lock, SQLite's write lock) and a rolled-back form gives its number back;
- each step moves the state by a conditional update on the expected state (`status = 'sent'` → received…),
  so two clicks never record a step twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class RelayCategory(TimeStampedModel):
    """A kind of information (customer demand, complaint, competitor move…) with the time each step may take."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=80, unique=True)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    receive_hours = models.PositiveIntegerField(_("receive within (hours)"), default=24)
    handle_hours = models.PositiveIntegerField(_("handle within (hours)"), default=72,
                                               help_text=_("Counted from the relay time."))
    feedback_hours = models.PositiveIntegerField(_("feed back within (hours)"), default=120,
                                                 help_text=_("Counted from the relay time."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("relay category")
        verbose_name_plural = _("relay categories")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(receive_hours__gt=0) & Q(handle_hours__gte=models.F("receive_hours"))
                                   & Q(feedback_hours__gte=models.F("handle_hours")),
                                   name="relay_category_limits_ordered"),
        ]

    def __str__(self) -> str:
        return self.label()

    def label(self) -> str:
        """The name in the reader's language: the English name on English pages (when there is one), else `name`."""
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class RoutingRule(TimeStampedModel):
    """Where forms of a category go: a post (the holder nearest the provider receives it) or a named person.

    A rule limited to a department applies to providers in that department and below; the most specific
    rule (deepest department, then lowest position) wins.
    """

    category = models.ForeignKey(RelayCategory, verbose_name=_("category"), on_delete=models.CASCADE,
                                 related_name="rules")
    department = models.ForeignKey("org.Department", verbose_name=_("for providers in"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+", help_text=_("Empty: the whole company."))
    post = models.ForeignKey("org.Post", verbose_name=_("receiving post"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(USER, verbose_name=_("receiving person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["category__code", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(post__isnull=False) | Q(person__isnull=False),
                                   name="relay_rule_has_target"),
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.person or self.post}"


class RelayStatus(models.TextChoices):
    SENT = "sent", pgettext_lazy("relay status", "Sent")
    RECEIVED = "received", pgettext_lazy("relay status", "Received")
    HANDLED = "handled", pgettext_lazy("relay status", "Handled")
    FED_BACK = "fed_back", pgettext_lazy("relay status", "Fed back")


OPEN_STATUSES = (RelayStatus.SENT, RelayStatus.RECEIVED, RelayStatus.HANDLED)


class RelayCounter(models.Model):
    """The last number given out in a year."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class RelayForm(models.Model):
    """One information relay form, with exactly the paper form's fields and the time and person of each step."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    year = models.PositiveSmallIntegerField(editable=False)
    sequence = models.PositiveIntegerField(editable=False)
    provider = models.ForeignKey(USER, verbose_name=_("provider"), on_delete=models.PROTECT,
                                 related_name="relay_forms_provided")
    relayed_at = models.DateTimeField(_("relay time"), db_index=True)
    category = models.ForeignKey(RelayCategory, verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="forms")
    content = models.TextField(_("content"))
    suggestions = models.TextField(_("suggestions or requests"), blank=True)
    receiver = models.ForeignKey(USER, verbose_name=_("receiver"), on_delete=models.PROTECT,
                                 related_name="relay_forms_received")
    receiver_post = models.ForeignKey("org.Post", verbose_name=_("receiving post"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    routed_by = models.ForeignKey(RoutingRule, verbose_name=_("routing rule"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="relay_forms")
    status = models.CharField(_("status"), max_length=10, choices=RelayStatus.choices, default=RelayStatus.SENT,
                              db_index=True)
    received_at = models.DateTimeField(_("receipt time"), null=True, blank=True)
    received_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    handling_opinion = models.TextField(_("handling opinion"), blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    feedback = models.TextField(_("feedback"), blank=True)
    fed_back_at = models.DateTimeField(_("fed back at"), null=True, blank=True)
    fed_back_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quality = models.PositiveSmallIntegerField(_("information quality"), null=True, blank=True,
                                               help_text=_("1 (useless) to 5 (excellent), given by the receiver."))
    receive_due = models.DateTimeField(_("receive by"))
    handle_due = models.DateTimeField(_("handle by"))
    feedback_due = models.DateTimeField(_("feed back by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("information relay form")
        verbose_name_plural = _("information relay forms")
        ordering = ["-relayed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="relay_number_year_sequence"),
            models.CheckConstraint(condition=Q(quality__isnull=True) | Q(quality__gte=1, quality__lte=5),
                                   name="relay_quality_1_to_5"),
        ]
        indexes = [
            models.Index(fields=["receiver", "status"], name="relay_receiver_status"),
            models.Index(fields=["provider", "relayed_at"], name="relay_provider_time"),
        ]

    def __str__(self) -> str:
        return self.number


class RelayDailyReport(models.Model):
    """The daily check of relay forms (使用情况、及时性、质量), kept as it was computed that day."""

    day = models.DateField(_("day"), unique=True)
    data = models.JSONField(_("figures"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("relay daily report")
        verbose_name_plural = _("relay daily reports")
        ordering = ["-day"]

    def __str__(self) -> str:
        return self.day.isoformat()
