"""Allocation tables: rule sets and their versions, capacities, absences and departure notices, round-robin
cursors, intake records, the decision log, fairness bounds and alerts.

Invariants held by the database, not by check-then-act:
- one active version per rule set (`one_active_version_per_rule_set`), one default rule set;
- a round-robin cursor moves by a conditional update on its `version` (see services.state);
- one fairness alert per team, period and breached bound (`fairness_alert_unique`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel
from kamguard.customers.models import Tier

USER = settings.AUTH_USER_MODEL


class RuleSet(TimeStampedModel):
    """A named, versioned rule set. Intake uses the default rule set unless told otherwise."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   help_text=_("Empty: the whole company."))
    is_default = models.BooleanField(_("default for intake"), default=False)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("allocation rule set")
        verbose_name_plural = _("allocation rule sets")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="one_default_rule_set")]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class RuleSetVersion(models.Model):
    """One version of a rule set: its rules as JSON (the engine's `ruleset_dump` shape)."""

    rule_set = models.ForeignKey(RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE,
                                 related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT,
                              db_index=True)
    rules = models.JSONField(_("rules"), default=dict)
    note = models.TextField(_("change note"), blank=True)
    based_on = models.ForeignKey("self", verbose_name=_("based on"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    changed_by = models.ForeignKey(USER, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    activated_by = models.ForeignKey(USER, verbose_name=_("activated by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rule set version")
        verbose_name_plural = _("rule set versions")
        ordering = ["rule_set", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "number"], name="rule_set_version_number_unique"),
            models.UniqueConstraint(fields=["rule_set"], condition=Q(status="active"),
                                    name="one_active_version_per_rule_set"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_set_id} v{self.number} ({self.status})"


class PersonCapacity(models.Model):
    """How many customers of a tier a person may hold (capacity-weighted allocation). No row: unlimited."""

    person = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE,
                               related_name="allocation_capacities")
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True, help_text=_("Empty: unlimited."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(USER, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("capacity")
        verbose_name_plural = _("capacities")
        ordering = ["person", "tier"]
        constraints = [models.UniqueConstraint(fields=["person", "tier"], name="person_capacity_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.tier}: {self.capacity}"


class AbsenceKind(models.TextChoices):
    ABSENT = "absent", _("Absent")
    ON_LEAVE = "on_leave", _("On leave")


class Absence(TimeStampedModel):
    """A period during which allocation skips a person (both days included)."""

    person = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE,
                               related_name="allocation_absences")
    kind = models.CharField(_("kind"), max_length=10, choices=AbsenceKind.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["-starts_on"]
        indexes = [models.Index(fields=["person", "starts_on", "ends_on"], name="absence_person_idx")]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="absence_order")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.starts_on}–{self.ends_on}"


class DepartureNotice(TimeStampedModel):
    """A person who has given notice: allocation stops giving them customers from `noticed_on`."""

    person = models.OneToOneField(USER, verbose_name=_("person"), on_delete=models.CASCADE,
                                  related_name="departure_notice")
    noticed_on = models.DateField(_("notice given on"))
    leaves_on = models.DateField(_("leaves on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("departure notice")
        verbose_name_plural = _("departure notices")

    def __str__(self) -> str:
        return f"{self.person_id} {self.noticed_on}"


class TeamAllocationSetting(TimeStampedModel):
    """Per team: the pool first-come allocation puts customers in, and the fairness bounds monitored."""

    team = models.OneToOneField("org.Team", verbose_name=_("team"), on_delete=models.CASCADE,
                                related_name="allocation_setting")
    pool = models.ForeignKey("customers.Pool", verbose_name=_("team pool"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+",
                             help_text=_("Where first-come allocation puts customers to be claimed."))
    max_gini_count = models.DecimalField(_("highest Gini of counts"), max_digits=4, decimal_places=3, null=True,
                                         blank=True)
    max_gini_value = models.DecimalField(_("highest Gini of values"), max_digits=4, decimal_places=3, null=True,
                                         blank=True)
    max_spread_count = models.PositiveIntegerField(_("largest max–min spread of counts"), null=True, blank=True)
    updated_by = models.ForeignKey(USER, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("team allocation setting")
        verbose_name_plural = _("team allocation settings")

    def __str__(self) -> str:
        return str(self.team_id)


class RoundRobinCursor(models.Model):
    """The last person round-robin gave a customer to, per team. Moves only by a conditional update on
    `version`, so two workers can never both advance it from the same value."""

    team = models.OneToOneField("org.Team", on_delete=models.CASCADE, related_name="round_robin_cursor")
    last_person = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("round-robin position")
        verbose_name_plural = _("round-robin positions")

    def __str__(self) -> str:
        return f"{self.team_id} → {self.last_person_id} (#{self.version})"


class IntakeChannel(models.TextChoices):
    FORM = "form", _("Form")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    WEB = "web", _("Public web form")
    MANUAL = "manual", _("Manual entry")


class IntakeOutcome(models.TextChoices):
    ALLOCATED = "allocated", _("Allocated to a person")
    POOL = "pool", _("Put in a pool")
    DUPLICATE = "duplicate", _("Duplicate: sent to the existing owner")
    HELD = "held", _("Held for review (possible duplicate)")
    REJECTED = "rejected", _("Rejected")


class Intake(models.Model):
    """One lead that arrived, from any channel, and what became of it."""

    channel = models.CharField(_("channel"), max_length=10, choices=IntakeChannel.choices, db_index=True)
    submitted_at = models.DateTimeField(_("received at"), db_index=True)
    submitted_by = models.ForeignKey(USER, verbose_name=_("submitted by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    fields = models.JSONField(_("submitted fields"), default=dict)
    expected_value = models.DecimalField(_("expected value"), max_digits=16, decimal_places=2, null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    dedupe_verdict = models.CharField(_("duplicate check"), max_length=20, blank=True)
    dedupe_candidates = models.JSONField(_("similar customers"), default=list, blank=True)
    duplicate_reason = models.TextField(_("reason to proceed despite similar customers"), blank=True)
    outcome = models.CharField(pgettext_lazy("intake", "outcome"), max_length=10, choices=IntakeOutcome.choices, db_index=True)
    outcome_detail = models.TextField(_("detail"), blank=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="intakes")
    duplicate_of = models.ForeignKey("customers.Customer", verbose_name=_("duplicate of"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    rule_set = models.ForeignKey(RuleSet, verbose_name=_("rule set"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(USER, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("intake")
        verbose_name_plural = _("intake")
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "submitted_at"], name="intake_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.fields.get('name', '')} → {self.outcome}"


class DecisionOutcome(models.TextChoices):
    PERSON = "person", _("Person")
    POOL = "pool", _("Pool")
    UNALLOCATED = "unallocated", _("Unallocated")


class AllocationDecision(models.Model):
    """The allocation log: one row per decision (the engine's or a manual re-assignment), with its reasons.

    Tier, size, value and the chosen person's team are copied at decision time so the fairness report reads
    this table alone.
    """

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="allocation_decisions")
    intake = models.ForeignKey(Intake, verbose_name=_("intake"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="decisions")
    version = models.ForeignKey(RuleSetVersion, verbose_name=_("rule set version"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="decisions")
    rule_key = models.CharField(_("rule"), max_length=80, blank=True)
    rule_index = models.IntegerField(_("rule position"), default=-1)
    strategy = models.CharField(_("strategy"), max_length=20, blank=True)
    candidates = models.JSONField(_("candidates"), default=list, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=40)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    outcome = models.CharField(pgettext_lazy("allocation decision", "outcome"), max_length=12, choices=DecisionOutcome.choices)
    person = models.ForeignKey(USER, verbose_name=_("allocated to"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="allocation_decisions")
    previous_owner = models.ForeignKey(USER, verbose_name=_("previous owner"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    pool = models.ForeignKey("customers.Pool", verbose_name=_("pool"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey("org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    tier = models.CharField(_("tier"), max_length=1, blank=True)
    size = models.CharField(_("size"), max_length=10, blank=True)
    value = models.DecimalField(_("expected value"), max_digits=16, decimal_places=2, default=0)
    is_manual = models.BooleanField(_("manual override"), default=False)
    actor = models.ForeignKey(USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), db_index=True)

    class Meta:
        verbose_name = _("allocation decision")
        verbose_name_plural = _("allocation log")
        ordering = ["-decided_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "decided_at"], name="decision_customer_idx"),
            models.Index(fields=["team", "decided_at"], name="decision_team_idx"),
            models.Index(fields=["person", "decided_at"], name="decision_person_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(is_manual=False) | ~Q(reason=""),
                                              name="manual_decision_has_reason")]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.person_id or self.pool_id or '—'} ({self.reason_code})"


class FairnessAlert(models.Model):
    """A breached fairness bound for a team over a period, recorded by the periodic check (once)."""

    team = models.ForeignKey("org.Team", verbose_name=_("team"), on_delete=models.CASCADE,
                             related_name="fairness_alerts")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    code = models.CharField(_("bound"), max_length=20)
    observed = models.DecimalField(_("observed"), max_digits=12, decimal_places=3)
    limit = models.DecimalField(_("limit"), max_digits=12, decimal_places=3)
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    version = models.ForeignKey(RuleSetVersion, verbose_name=_("rule set version"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    acknowledged_by = models.ForeignKey(USER, verbose_name=_("acknowledged by"), null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement = models.TextField(_("what was done"), blank=True)

    class Meta:
        verbose_name = _("fairness alert")
        verbose_name_plural = _("fairness alerts")
        ordering = ["-period_start", "team"]
        constraints = [models.UniqueConstraint(fields=["team", "period_start", "period_end", "code"],
                                               name="fairness_alert_unique")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.period_start} {self.code}"
