"""Approval tables: policies (versioned), requests with their steps and history, delegations.

Invariants held by the database, not by check-then-act:
- one pending request per subject (`approval_one_pending_per_subject`);
- every decision moves the request's `revision` by a conditional update, so of two concurrent decisions on one
  request exactly one wins (SQLite and PostgreSQL alike);
- a step is decided by a conditional update on its status.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.approvals.domain import APPROVER_TYPES, PolicyRule, StepSpec, tiers_parse
from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL

APPROVER_LABELS = {
    "supervisor": _("Requester's supervisor"),
    "director": _("Director (head of the department above)"),
    "finance": _("Finance (any one)"),
    "role": _("Anyone with a role"),
    "person": _("A named person"),
}
APPROVER_CHOICES = [(key, APPROVER_LABELS[key]) for key in APPROVER_TYPES]


class ApprovalPolicy(TimeStampedModel):
    """Which chain a kind of request goes through, under which conditions. Checked in `priority` order (lowest
    first); the first policy whose conditions match decides. Every change raises `version` and is audited."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    priority = models.PositiveIntegerField(_("priority"), default=100,
                                           help_text=_("Policies are checked from the lowest number up; the first "
                                                       "one that matches decides."))
    is_active = models.BooleanField(_("active"), default=True)
    min_amount = models.DecimalField(_("amount from"), max_digits=16, decimal_places=2, null=True, blank=True)
    max_amount = models.DecimalField(_("amount below"), max_digits=16, decimal_places=2, null=True, blank=True)
    min_discount_pct = models.DecimalField(_("discount from (%)"), max_digits=5, decimal_places=2, null=True,
                                           blank=True)
    tiers = models.CharField(_("customer tiers"), max_length=20, blank=True,
                             help_text=_("Comma-separated, e.g. A,B. Empty: any tier."))
    steps = models.JSONField(_("chain"), default=list, blank=True)
    due_hours = models.PositiveIntegerField(_("hours per step"), default=48)
    version = models.PositiveIntegerField(_("version"), default=1)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(USER, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")
        ordering = ["kind", "priority", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(min_discount_pct__isnull=True) | Q(min_discount_pct__gte=0,
                                                                                 min_discount_pct__lte=100),
                                   name="approval_policy_discount_range"),
            models.CheckConstraint(condition=Q(min_amount__isnull=True) | Q(max_amount__isnull=True)
                                   | Q(max_amount__gt=F("min_amount")), name="approval_policy_amount_order"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rule(self) -> PolicyRule:
        return PolicyRule(min_amount=self.min_amount, max_amount=self.max_amount,
                          min_discount_pct=self.min_discount_pct, tiers=tiers_parse(self.tiers))

    @property
    def chain(self) -> list[StepSpec]:
        return [StepSpec(stage=int(s.get("stage") or i), approver=s.get("approver", ""), role=s.get("role", ""),
                         user_id=s.get("user_id")) for i, s in enumerate(self.steps or [], start=1)]


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("approval", "Pending")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("approval", "Withdrawn")


class ApprovalRequest(models.Model):
    kind = models.CharField(_("kind"), max_length=60)
    subject_id = models.PositiveBigIntegerField(_("subject"))
    status = models.CharField(_("status"), max_length=10, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.PENDING, db_index=True)
    auto = models.BooleanField(_("approved automatically"), default=False)
    requested_by = models.ForeignKey(USER, verbose_name=_("requested by"), on_delete=models.PROTECT,
                                     related_name="approval_requests")
    summary = models.CharField(_("summary"), max_length=300)
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    policy = models.ForeignKey(ApprovalPolicy, verbose_name=_("policy"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="requests")
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    policy_name = models.CharField(_("policy"), max_length=120, blank=True)
    current_stage = models.PositiveSmallIntegerField(pgettext_lazy("approval step", "stage"), default=0)
    revision = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(USER, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    outcome_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "subject_id"], condition=Q(status="pending"),
                                               name="approval_one_pending_per_subject")]
        indexes = [models.Index(fields=["kind", "subject_id"], name="approval_subject_idx"),
                   models.Index(fields=["requested_by", "status"], name="approval_requester_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.subject_id} {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


class StepStatus(models.TextChoices):
    WAITING = "waiting", pgettext_lazy("approval", "Waiting for an earlier step")
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")
    SKIPPED = "skipped", pgettext_lazy("approval", "Not needed")


class ApprovalStep(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    stage = models.PositiveSmallIntegerField(pgettext_lazy("approval step", "stage"))
    approver_type = models.CharField(_("approver"), max_length=12, choices=APPROVER_CHOICES)
    approver = models.ForeignKey(USER, verbose_name=_("approver"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="approval_steps", help_text=_("Empty: anyone with the role decides."))
    role = models.CharField(_("role"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=StepStatus.choices, default=StepStatus.WAITING,
                              db_index=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    decided_by = models.ForeignKey(USER, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(USER, verbose_name=_("on behalf of"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("flagged overdue at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["request", "stage", "pk"]
        indexes = [models.Index(fields=["approver", "status"], name="approval_step_inbox_idx"),
                   models.Index(fields=["status", "due_at"], name="approval_step_due_idx")]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.stage} {self.approver_type}"

    @property
    def approver_label(self) -> str:
        if self.approver is not None:
            return str(self.approver)
        if self.role:
            from kamguard.org.forms import ROLE_LABELS  # the roles' names in the reader's language

            role = ROLE_LABELS.get(self.role, self.role)  # type: ignore[call-overload]
            return str(_("anyone with the role %(role)s") % {"role": role})
        return str(APPROVER_LABELS.get(self.approver_type, self.approver_type))


class ApprovalEvent(models.Model):
    """The request's history as users read it (the audit trail holds the same, hash-chained)."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="events")
    step = models.ForeignKey(ApprovalStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("action"), max_length=30)
    actor = models.ForeignKey(USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    on_behalf_of = models.ForeignKey(USER, verbose_name=_("on behalf of"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["request", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action}"


class Delegation(TimeStampedModel):
    """During [starts_on, ends_on] the delegate may decide the delegator's approval steps, on their behalf."""

    delegator = models.ForeignKey(USER, verbose_name=_("delegator"), on_delete=models.CASCADE,
                                  related_name="approval_delegations_given")
    delegate = models.ForeignKey(USER, verbose_name=_("delegate"), on_delete=models.CASCADE,
                                 related_name="approval_delegations_received")
    starts_on = models.DateField(pgettext_lazy("delegation", "from"))
    ends_on = models.DateField(_("until"))
    kinds = models.CharField(_("kinds"), max_length=300, blank=True,
                             help_text=_("Comma-separated request kinds. Empty: all."))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(pgettext_lazy("delegation", "revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="delegation_order"),
            models.CheckConstraint(condition=~Q(delegator=F("delegate")), name="delegation_not_self"),
        ]
        indexes = [models.Index(fields=["delegate", "starts_on", "ends_on"], name="delegation_delegate_idx")]

    def __str__(self) -> str:
        return f"{self.delegator_id} → {self.delegate_id} {self.starts_on}–{self.ends_on}"

    def covers(self, kind: str) -> bool:
        kinds = [k.strip() for k in self.kinds.split(",") if k.strip()]
        return not kinds or kind in kinds
