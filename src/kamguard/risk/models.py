"""Risk tables: the settings (weights, thresholds, parameters), scan runs and their scores, alerts with their
reviews (the feedback kept for tuning), investigations (cases) with their timeline, attachments, outcome and
the penalties entered in the rewards-and-penalties register.

Invariants held by the database:
- one live alert (open or suppressed) per subject (`risk_alert_one_live_per_subject`);
- scores are between 0 and 1 (`risk_score_range`, `risk_alert_score_range`);
- a closed case has an outcome (`risk_case_closed_has_outcome`);
- an economic penalty has a positive amount, the others none (`risk_penalty_amount`);
- alert reviews and case entries are append-only (services only add them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

USER = settings.AUTH_USER_MODEL


class SubjectType(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    MANAGER = "manager", _("Manager")
    ORDER = "order", pgettext_lazy("risk subject", "Order")


class RiskSettings(models.Model):
    """One row (pk 1): the engine's configuration as a mapping (see risk.domain.config), only what differs
    from the defaults, and its version (each change adds one)."""

    config = models.JSONField(_("configuration"), default=dict, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_by = models.ForeignKey(USER, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("risk settings")
        verbose_name_plural = _("risk settings")

    def __str__(self) -> str:
        return f"risk settings v{self.version}"


class ScanKind(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly scan")
    IMPORT = "import", _("After an import")
    MANUAL = "manual", _("Started by hand")
    COMMAND = "command", _("Command line")


class ScanStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ScanRun(models.Model):
    as_of = models.DateField(_("data as of"), db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ScanKind.choices, default=ScanKind.MANUAL)
    status = models.CharField(_("status"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    started_by = models.ForeignKey(USER, verbose_name=_("started by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    settings_version = models.PositiveIntegerField(_("settings version"), default=1)
    config = models.JSONField(_("configuration used"), default=dict, blank=True)
    counts = models.JSONField(_("what was read"), default=dict, blank=True)
    subjects = models.PositiveIntegerField(_("subjects scored"), default=0)
    alerts_raised = models.PositiveIntegerField(_("alerts raised"), default=0)
    raises_alerts = models.BooleanField(_("raises alerts"), default=True,
                                        help_text=_("Scans of a past date record scores but raise no alerts."))
    scope = models.JSONField(_("limited to"), default=dict, blank=True,
                             help_text=_("After an import: the customers whose scores were refreshed."))
    seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("risk scan")
        verbose_name_plural = _("risk scans")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"scan {self.pk} as of {self.as_of}"


class ScanBasis(models.Model):
    """The heavy sums of the last full scan of a day — orders per customer, manager and 30-day bucket, last
    follow-ups, counted price samples (services.dataset.Basis, packed) — so the update after an import adds only
    what was written since instead of reading every order again. A cache: each full scan replaces it; never the
    source of truth."""

    run = models.OneToOneField(ScanRun, on_delete=models.CASCADE, related_name="basis")
    as_of = models.DateField()
    settings_version = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["as_of", "settings_version"])]

    def __str__(self) -> str:
        return f"{self.as_of} v{self.settings_version}"


class RiskScore(models.Model):
    """One subject's score in one scan, with the signals that made it (only subjects with a fired signal)."""

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="scores")
    subject_type = models.CharField(pgettext_lazy("risk", "subject"), max_length=10, choices=SubjectType.choices)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    label = models.CharField(_("name"), max_length=300, blank=True)
    person = models.ForeignKey(USER, verbose_name=_("person concerned"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    region = models.ForeignKey("org.Region", verbose_name=_("region"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(pgettext_lazy("risk", "score"))
    rank = models.PositiveIntegerField(pgettext_lazy("risk", "rank"))
    signals = models.JSONField(_("signals"), default=list)
    contributions = models.JSONField(default=dict)
    rollup = models.FloatField(default=0.0)
    related = models.JSONField(default=list)

    class Meta:
        verbose_name = _("risk score")
        verbose_name_plural = _("risk scores")
        ordering = ["run", "rank"]
        constraints = [models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="risk_score_range")]
        indexes = [models.Index(fields=["run", "rank"], name="risk_score_run_rank_idx"),
                   models.Index(fields=["subject_type", "subject_id", "run"], name="risk_score_subject_idx")]

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} {self.score:.2f}"


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("risk alert", "Open")
    SUPPRESSED = "suppressed", _("Suppressed")
    CONFIRMED = "confirmed", _("Confirmed")
    FALSE = "false", _("False alarm")


LIVE_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.SUPPRESSED)


class Alert(models.Model):
    subject_type = models.CharField(pgettext_lazy("risk", "subject"), max_length=10, choices=SubjectType.choices)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    label = models.CharField(_("name"), max_length=300, blank=True)
    person = models.ForeignKey(USER, verbose_name=_("person concerned"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey("org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    region = models.ForeignKey("org.Region", verbose_name=_("region"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(pgettext_lazy("risk", "score"))
    peak_score = models.FloatField(_("highest score"))
    signals = models.JSONField(_("evidence"), default=list)
    contributions = models.JSONField(default=dict)
    related = models.JSONField(default=list)
    first_run = models.ForeignKey(ScanRun, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(ScanRun, on_delete=models.PROTECT, related_name="+")
    first_seen_on = models.DateField(_("first seen"))
    last_seen_on = models.DateField(pgettext_lazy("risk alert", "last seen"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN,
                              db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    reviewed_by = models.ForeignKey(USER, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    case = models.ForeignKey("risk.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="alerts")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("risk alert")
        verbose_name_plural = _("risk alerts")
        ordering = ["-score", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], condition=Q(status__in=["open", "suppressed"]),
                                    name="risk_alert_one_live_per_subject"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="risk_alert_score_range"),
        ]
        indexes = [models.Index(fields=["status", "score"], name="risk_alert_inbox_idx"),
                   models.Index(fields=["person", "status"], name="risk_alert_person_idx")]

    def __str__(self) -> str:
        return f"{self.get_subject_type_display()} {self.label or self.subject_id}"


class ReviewDecision(models.TextChoices):
    SUPPRESSED = "suppressed", _("Suppressed")
    CONFIRMED = "confirmed", _("Confirmed")
    FALSE = "false", _("False alarm")
    REOPENED = "reopened", _("Reopened")


class AlertReview(models.Model):
    """A reviewer's decision on an alert with the score and signals it saw: the feedback kept for tuning."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(_("decision"), max_length=10, choices=ReviewDecision.choices)
    reason = models.TextField(_("reason"), blank=True)
    reviewer = models.ForeignKey(USER, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    score = models.FloatField(_("score then"))
    signals = models.JSONField(_("signals then"), default=list)
    settings_version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("alert review")
        verbose_name_plural = _("alert reviews")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.decision}"


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Under investigation")
    CLOSED = "closed", pgettext_lazy("risk case", "Closed")


class CaseOutcome(models.TextChoices):
    CLEARED = "cleared", _("Cleared")
    POLICY_VIOLATION = "policy_violation", _("Policy violation")
    CONFIRMED_DIVERSION = "confirmed_diversion", _("Confirmed diversion (飞单)")


class Case(models.Model):
    """An investigation (R3): opened by an internal auditor, about one person, usually from alerts."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    title = models.CharField(pgettext_lazy("risk case", "title"), max_length=200)
    person = models.ForeignKey(USER, verbose_name=_("person concerned"), on_delete=models.PROTECT,
                               related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN,
                              db_index=True)
    outcome = models.CharField(pgettext_lazy("risk case", "outcome"), max_length=20, choices=CaseOutcome.choices, blank=True)
    outcome_note = models.TextField(_("findings"), blank=True)
    opened_by = models.ForeignKey(USER, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_by = models.ForeignKey(USER, verbose_name=_("closed by"), null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(pgettext_lazy("risk case", "closed"), null=True, blank=True)
    shared_with = models.ForeignKey(USER, verbose_name=_("shared with"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    help_text=_("The person's supervisor, once the auditor shares the case."))
    shared_at = models.DateTimeField(_("shared at"), null=True, blank=True)

    class Meta:
        verbose_name = _("investigation")
        verbose_name_plural = _("investigations")
        ordering = ["-opened_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(status="open") | ~Q(outcome=""),
                                              name="risk_case_closed_has_outcome")]
        indexes = [models.Index(fields=["person", "status"], name="risk_case_person_idx"),
                   models.Index(fields=["shared_with", "status"], name="risk_case_shared_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class EntryKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    NOTE = "note", _("Note")
    INTERVIEW = "interview", _("Interview")
    ATTACHMENT = "attachment", _("Evidence attached")
    ALERT = "alert", _("Alert linked")
    SHARED = "shared", _("Shared with the supervisor")
    UNSHARED = "unshared", _("Sharing withdrawn")
    CLOSED = "closed", _("Closed with an outcome")
    REOPENED = "reopened", _("Reopened")
    PENALTY = "penalty", _("Penalty entered")


class CaseEntry(models.Model):
    """One line of a case's timeline. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    author = models.ForeignKey(USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    text = models.TextField(_("text"), blank=True)
    interviewee = models.CharField(_("interviewed"), max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("case entry")
        verbose_name_plural = _("case timeline")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CaseAttachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=200)
    description = models.CharField(_("description"), max_length=300, blank=True)
    file_type = models.CharField(_("type"), max_length=8)
    size = models.PositiveIntegerField(pgettext_lazy("file", "size"))
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=120, unique=True, editable=False)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case attachment")
        verbose_name_plural = _("case attachments")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.filename


class PenaltyKind(models.TextChoices):
    ECONOMIC = "economic", _("Economic penalty")
    DEMOTION = "demotion", _("Demotion")
    TERMINATION = "termination", _("Termination of the labour contract")


class Penalty(models.Model):
    """An entry of the rewards-and-penalties register (奖惩) decided by an investigation (R7)."""

    person = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, verbose_name=_("investigation"), on_delete=models.PROTECT,
                             related_name="penalties")
    kind = models.CharField(_("penalty"), max_length=12, choices=PenaltyKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    effective_on = models.DateField(_("effective on"))
    note = models.TextField(_("decision"), blank=True)
    recorded_by = models.ForeignKey(USER, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("penalty")
        verbose_name_plural = _("rewards and penalties register")
        ordering = ["-effective_on", "-pk"]
        constraints = [models.CheckConstraint(
            condition=(Q(kind="economic") & Q(amount__gt=0)) | (~Q(kind="economic") & Q(amount__isnull=True)),
            name="risk_penalty_amount")]
        indexes = [models.Index(fields=["person", "effective_on"], name="risk_penalty_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.effective_on}"
