"""Customers, contacts, the account team, shared pools, the ownership ledger, transfers and disputes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class Size(models.TextChoices):
    LARGE = "large", _("Large")
    MEDIUM = "medium", _("Medium")
    SMALL = "small", _("Small")


class Tier(models.TextChoices):
    A = "A", _("Tier A")
    B = "B", _("Tier B")
    C = "C", _("Tier C")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged into another")


# The descriptions migration 0002 seeded (stored in English), with their translations.
SEEDED_TIER_DESCRIPTIONS = {
    "Strategic: a visit every week, two contacts a week.": _("Strategic: a visit every week, two contacts a week."),
    "Important: a visit every two weeks.": _("Important: a visit every two weeks."),
    "Regular: a visit a month.": _("Regular: a visit a month."),
}


class TierStandard(models.Model):
    """The service standard of a key-account tier (e.g. visits per month)."""

    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, unique=True)
    visits_per_month = models.PositiveSmallIntegerField(_("visits per month"))
    contacts_per_month = models.PositiveSmallIntegerField(_("contacts per month"), default=0)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("tier service standard")
        verbose_name_plural = _("tier service standards")
        ordering = ["tier"]

    def __str__(self) -> str:
        return f"{self.tier}: {self.visits_per_month}"

    def description_display(self) -> str:
        """The description in the reader's language while it is still the one the system seeded (migration 0002);
        what an administrator wrote instead is shown as written."""
        seeded = SEEDED_TIER_DESCRIPTIONS.get(self.description)
        return str(seeded) if seeded is not None else self.description


class Pool(TimeStampedModel):
    """A shared pool (公海) with its members, administrators and rules."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    region = models.ForeignKey("org.Region", verbose_name=_("region"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="pools")
    is_active = models.BooleanField(_("active"), default=True)
    # rules
    max_owned_a = models.PositiveIntegerField(_("most tier A customers a manager may own"), null=True, blank=True)
    max_owned_b = models.PositiveIntegerField(_("most tier B customers a manager may own"), null=True, blank=True)
    max_owned_c = models.PositiveIntegerField(_("most tier C customers a manager may own"), null=True, blank=True)
    max_claims_per_day = models.PositiveIntegerField(_("claims per person per day"), null=True, blank=True)
    cooldown_days = models.PositiveIntegerField(_("days before re-claiming a released or lost customer"), default=30)
    protection_days = models.PositiveIntegerField(_("protection days after a claim"), default=15)
    reclaim_no_followup_days_a = models.PositiveIntegerField(_("reclaim tier A after days without follow-up"),
                                                             null=True, blank=True)
    reclaim_no_followup_days_b = models.PositiveIntegerField(_("reclaim tier B after days without follow-up"),
                                                             null=True, blank=True)
    reclaim_no_followup_days_c = models.PositiveIntegerField(_("reclaim tier C after days without follow-up"),
                                                             null=True, blank=True)
    reclaim_no_deal_days_a = models.PositiveIntegerField(_("reclaim tier A after days without a won deal"),
                                                         null=True, blank=True)
    reclaim_no_deal_days_b = models.PositiveIntegerField(_("reclaim tier B after days without a won deal"),
                                                         null=True, blank=True)
    reclaim_no_deal_days_c = models.PositiveIntegerField(_("reclaim tier C after days without a won deal"),
                                                         null=True, blank=True)
    warn_days_before = models.PositiveIntegerField(_("warn this many days before reclaim"), default=7)
    max_locks = models.PositiveIntegerField(_("most locked customers per manager"), default=5)

    class Meta:
        verbose_name = _("shared pool")
        verbose_name_plural = _("shared pools")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoolMembership(models.Model):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="pool_memberships")
    is_admin = models.BooleanField(_("pool administrator"), default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pool member")
        verbose_name_plural = _("pool members")
        constraints = [models.UniqueConstraint(fields=["pool", "user"], name="pool_membership_unique")]

    def __str__(self) -> str:
        return f"{self.pool_id}:{self.user_id}"


class Customer(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=200)
    normalised_name = models.CharField(max_length=200, db_index=True, editable=False, default="")
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True, null=True, blank=True)
    english_name = models.CharField(_("English name"), max_length=300, blank=True)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    region = models.ForeignKey("org.Region", verbose_name=_("region"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    address = models.CharField(_("address"), max_length=300, blank=True)
    website = models.CharField(_("website or e-mail domain"), max_length=200, blank=True)
    industry = models.ForeignKey("org.Industry", verbose_name=_("industry"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    tier = models.CharField(_("key-account tier"), max_length=1, choices=Tier.choices, default=Tier.C)
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices,
                              default=CustomerStatus.ACTIVE, db_index=True)
    source = models.CharField(_("source"), max_length=60, blank=True)
    created_on = models.DateField(_("first registered on"))
    created_by = models.ForeignKey(USER, verbose_name=_("registered by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(USER, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="owned_customers")
    pool = models.ForeignKey(Pool, verbose_name=_("shared pool"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="customers", help_text=_("Where the customer goes when released."))
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    protected_until = models.DateTimeField(_("protected until"), null=True, blank=True)
    is_locked = models.BooleanField(_("locked"), default=False)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    last_won_at = models.DateTimeField(_("last won deal"), null=True, blank=True)
    reclaim_warned_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", verbose_name=_("merged into"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="merged_from")

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["owner", "status"], name="customer_owner_idx"),
            models.Index(fields=["pool", "owner"], name="customer_pool_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="contacts")
    name = models.CharField(_("name"), max_length=120)
    title = models.CharField(_("title"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=64, blank=True)
    is_decision_maker = models.BooleanField(_("decision-maker"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_decision_maker", "name"]

    def __str__(self) -> str:
        return self.name


class AccountTeamMember(models.Model):
    """A collaborator on a customer, with a share of the credit (C6)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="team_members")
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT,
                             related_name="account_team_memberships")
    role = models.CharField(_("role on the account"), max_length=60)
    credit_share = models.DecimalField(_("share of credit (%)"), max_digits=5, decimal_places=2,
                                       validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))])
    start_on = models.DateField(_("from"))
    end_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="account_team_member_unique"),
            models.CheckConstraint(condition=Q(credit_share__gte=0) & Q(credit_share__lte=100),
                                   name="account_team_share_range"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.user_id}"


class OwnershipKind(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    CLAIM = "claim", _("Claimed from the pool")
    RELEASE = "release", _("Released to the pool")
    RECLAIM = "reclaim", _("Reclaimed by the system")
    TRANSFER = "transfer", _("Transferred")
    DISPUTE = "dispute", _("Dispute decision")
    MERGE = "merge", _("Merge")
    IMPORT = "import", _("Imported")
    ALLOCATION = "allocation", _("Allocated")
    HANDOVER = "handover", _("Departure handover")


class OwnershipChange(models.Model):
    """The ownership ledger: every owner change from any path. Append-only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ownership_changes")
    from_owner = models.ForeignKey(USER, verbose_name=_("from"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_owner = models.ForeignKey(USER, verbose_name=_("to"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    kind = models.CharField(_("how"), max_length=16, choices=OwnershipKind.choices)
    effective_at = models.DateTimeField(_("effective"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    approved_by = models.ForeignKey(USER, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("reference"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership ledger")
        ordering = ["customer", "effective_at", "pk"]
        indexes = [
            models.Index(fields=["customer", "effective_at"], name="ownership_customer_idx"),
            models.Index(fields=["from_owner", "customer", "effective_at"], name="ownership_from_idx"),
            models.Index(fields=["to_owner", "kind", "effective_at"], name="ownership_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.effective_at:%Y-%m-%d}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class TransferRequest(TimeStampedModel):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="transfer_requests")
    from_owner = models.ForeignKey(USER, verbose_name=_("from"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_owner = models.ForeignKey(USER, verbose_name=_("to"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text=_("Empty: back to the shared pool."))
    requested_by = models.ForeignKey(USER, verbose_name=_("requested by"), on_delete=models.PROTECT,
                                     related_name="+")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices,
                              default=RequestStatus.PENDING, db_index=True)
    decided_by = models.ForeignKey(USER, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)

    class Meta:
        verbose_name = _("transfer request")
        verbose_name_plural = _("transfer requests")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["customer"], condition=Q(status="pending"),
                                               name="one_pending_transfer_per_customer")]

    def __str__(self) -> str:
        return f"{self.customer} → {self.to_owner or '—'}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the owner's answer")
    ANSWERED = "answered", _("Waiting for arbitration")
    DECIDED = "decided", _("Decided")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DisputeOutcome(models.TextChoices):
    KEEP = "keep", _("Owner keeps the customer")
    TRANSFER = "transfer", _("Transferred to the claimant")
    SHARE = "share", _("Shared through the account team")
    POOL = "pool", _("Returned to the shared pool")


class OwnershipDispute(TimeStampedModel):
    """An ownership conflict (撞单): a claim with evidence, the owner's answer, the supervisor's decision."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="disputes")
    claimant = models.ForeignKey(USER, verbose_name=_("claimant"), on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(USER, verbose_name=_("owner when filed"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    arbiter = models.ForeignKey(USER, verbose_name=_("arbiter"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    claim_first_contact_on = models.DateField(_("claimant's first contact"), null=True, blank=True)
    claim_evidence = models.TextField(_("claimant's evidence"))
    claim_contacts_known = models.TextField(_("contacts the claimant knows"), blank=True)
    answer = models.TextField(_("owner's answer"), blank=True)
    answer_first_contact_on = models.DateField(_("owner's first contact"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    deadline = models.DateField(_("decision due"))
    status = models.CharField(_("status"), max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN,
                              db_index=True)
    outcome = models.CharField(pgettext_lazy("dispute", "outcome"), max_length=10, choices=DisputeOutcome.choices, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    claimant_share = models.DecimalField(_("claimant's share of credit (%)"), max_digits=5, decimal_places=2,
                                         null=True, blank=True)

    class Meta:
        verbose_name = _("ownership dispute")
        verbose_name_plural = _("ownership disputes")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["customer", "claimant"],
                                               condition=Q(status__in=["open", "answered"]),
                                               name="one_open_dispute_per_claimant")]

    def __str__(self) -> str:
        return f"{self.customer} ({self.claimant_id})"


class DedupeKey(models.Model):
    """Blocking and exact keys for the duplicate check (``<kind>:<value>``, from customers.domain.dedupe):
    a query is a few indexed equality lookups, never a scan."""

    # no index of its own: the unique (customer, key) constraint's index serves every lookup by customer, and a
    # second index cost ~10 % of writing a customer's ~17 key rows
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="dedupe_keys", db_index=False)
    key = models.CharField(max_length=160)
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["key", "customer"], name="dedupe_key_lookup_idx")]
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="dedupe_key_unique")]

    def __str__(self) -> str:
        return self.key


class DedupeStopKey(models.Model):
    """Keys too common to tell customers apart (e.g. the bigram 科技): skipped by every check without reading
    their rows. Kept by customer_keys_refresh and rebuilt daily."""

    key = models.CharField(max_length=160, primary_key=True)
    customers = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key} ({self.customers})"


class TimelineEntry(models.Model):
    """One line of a customer's timeline. Each capability adds its own kinds of entries."""

    # no index of its own: timeline_customer_idx (customer, occurred_at) serves every lookup by customer
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("kind"), max_length=40)
    actor = models.ForeignKey(USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    summary = models.CharField(_("summary"), max_length=400)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="timeline_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind}"
