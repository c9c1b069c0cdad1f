"""Sales tables: configurable stages, opportunities with their stage history, the product catalogue, quotes
with lines, the discount authority table, forecasts and the sales settings.

Invariants held by the database:
- amounts, prices and quantities are never negative; a discount is between 0 and 100 (check constraints);
- an opportunity's `outcome` follows its stage (set by the services in the same update);
- one forecast per manager and month (`forecast_manager_month_unique`);
- a quote is pending approval only through `approvals` (its `status` is changed by conditional updates).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class Outcome(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class RequiredStep(models.TextChoices):
    """Steps a stage can require before an opportunity enters it (or any later stage)."""

    VISIT = "visit", _("a logged visit to the customer")
    APPROVED_QUOTE = "approved_quote", _("an approved quote")
    AMOUNT = "amount", _("an amount")
    CLOSE_DATE = "close_date", _("an expected close date")


class Stage(models.Model):
    """A pipeline stage. The codes lead, qualified, proposal, negotiation, won and lost are seeded and are the
    import format's stage codes; administrators rename them, reorder them, change their default probability and
    required steps, and add stages of their own."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("English name"), max_length=80)
    name_zh = models.CharField(_("Chinese name"), max_length=80)
    order = models.PositiveSmallIntegerField(pgettext_lazy("position", "order"))
    probability = models.PositiveSmallIntegerField(_("default probability (%)"),
                                                   validators=[MaxValueValidator(100)])
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN)
    required_steps = models.JSONField(_("required steps"), default=list, blank=True,
                                      help_text=_("Steps an opportunity needs before it enters this stage."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["order", "pk"]
        constraints = [models.CheckConstraint(condition=Q(probability__lte=100), name="sales_stage_probability")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = (get_language() or "").lower()
        if language.startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name or self.name_zh


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    COMPETITOR = "competitor", _("Went to a competitor")
    PRODUCT = "product", _("Product or solution did not fit")
    RELATIONSHIP = "relationship", _("Relationship")
    BUDGET = "budget", _("No budget")
    TIMING = "timing", _("Timing / postponed")
    NO_DECISION = "no_decision", _("No decision")
    OTHER = "other", _("Other")


class Opportunity(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="opportunities")
    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="opportunities")
    name = models.CharField(_("name"), max_length=200)
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN,
                               editable=False)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=ZERO,
                                 validators=[MinValueValidator(ZERO)])
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close_on = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10,
                                                   validators=[MaxValueValidator(100)])
    competitor = models.CharField(_("competitor"), max_length=120, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=16, choices=LostReason.choices, blank=True)
    lost_note = models.TextField(_("lost reason details"), blank=True)
    description = models.TextField(_("description"), blank=True)
    created_on = models.DateField(_("created on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    stage_changed_at = models.DateTimeField(_("in this stage since"))
    contract_id = models.PositiveBigIntegerField(_("signed contract"), null=True, blank=True,
                                                 help_text=_("The contract whose signature won it."))
    credit_split = models.JSONField(_("credit split when won"), default=list, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_opportunity_amount_nonnegative"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="sales_opportunity_probability"),
        ]
        indexes = [
            models.Index(fields=["owner", "outcome", "stage"], name="sales_opp_owner_idx"),
            models.Index(fields=["outcome", "stage", "owner"], name="sales_opp_board_idx"),
            # visibility goes through the customer: counts by stage or outcome read this index only
            models.Index(fields=["customer", "stage", "outcome"], name="sales_opp_customer_stage_idx"),
            models.Index(fields=["owner", "closed_on"], name="sales_opp_closed_idx"),
            models.Index(fields=["owner", "expected_close_on"], name="sales_opp_expected_idx"),
            models.Index(fields=["-created_on", "-id"], name="sales_opp_created_idx"),
            # what closed on given days (the board's correction for days after `today`, reports)
            models.Index(fields=["closed_on", "outcome", "owner", "amount"], name="sales_opp_closed_on_idx"),
            # the list filtered by a stage and sorted by amount: the index's order is the list's, ties by id
            models.Index(fields=["stage", "amount", "id"], name="sales_opp_stage_amount_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """The stage history: one row per move, with its time. Append-only."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, verbose_name=pgettext_lazy("stage change", "from"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_stage = models.ForeignKey(Stage, verbose_name=pgettext_lazy("stage change", "to"), on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("when"))
    changed_by = models.ForeignKey(USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    note = models.CharField(_("note"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage history")
        ordering = ["opportunity", "changed_at", "pk"]
        indexes = [models.Index(fields=["opportunity", "changed_at"], name="sales_stage_change_idx")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class Product(TimeStampedModel):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=20, default="pcs")
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(ZERO)])
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(list_price__gte=0), name="sales_product_price_nonnegative")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def label(self) -> str:
        """The name in the reader's language: the English name on English pages when there is one."""
        language = (get_language() or "").lower()
        if language.startswith("en") and self.name_en:
            return self.name_en
        return self.name


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Quote(TimeStampedModel):
    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE,
                                    related_name="quotes")
    number = models.CharField(_("number"), max_length=40, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT,
                              db_index=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    list_total = models.DecimalField(_("list total"), max_digits=16, decimal_places=2, default=ZERO)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2, default=ZERO)
    max_discount_pct = models.DecimalField(_("largest discount (%)"), max_digits=5, decimal_places=2, default=ZERO)
    authority_pct = models.DecimalField(_("author's discount authority (%)"), max_digits=5, decimal_places=2,
                                        null=True, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(USER, verbose_name=_("submitted by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    approval_request_id = models.PositiveBigIntegerField(_("approval request"), null=True, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0) & Q(list_total__gte=0), name="sales_quote_nonnegative"),
            models.CheckConstraint(condition=Q(max_discount_pct__gte=0) & Q(max_discount_pct__lte=100),
                                   name="sales_quote_discount_range"),
        ]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("line"), default=1)
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3,
                                   validators=[MinValueValidator(ZERO)])
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(ZERO)])
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(ZERO)])
    discount_pct = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=ZERO,
                                       validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)])
    line_total = models.DecimalField(_("line total"), max_digits=16, decimal_places=2, default=ZERO)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(unit_price__gte=0) & Q(list_price__gte=0)
                                   & Q(line_total__gte=0), name="sales_quote_line_nonnegative"),
            models.CheckConstraint(condition=Q(discount_pct__gte=0) & Q(discount_pct__lte=100),
                                   name="sales_quote_line_discount_range"),
        ]

    def __str__(self) -> str:
        return f"{self.quote_id}#{self.position}"


class DiscountAuthority(models.Model):
    """One row of the discount authority table: people with `role` (any role when empty) at `grade` or above
    (any grade when empty) may give up to `max_discount_pct` without approval. A person's authority is the
    largest of the rows that match them; nobody matched has none."""

    role = models.CharField(_("role"), max_length=20, blank=True)
    grade = models.ForeignKey("org.Grade", verbose_name=_("from grade"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    max_discount_pct = models.DecimalField(_("largest discount without approval (%)"), max_digits=5,
                                           decimal_places=2,
                                           validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)])
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("discount authority")
        verbose_name_plural = _("discount authority")
        ordering = ["role", "max_discount_pct", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["role", "grade"], name="sales_discount_authority_unique"),
            models.CheckConstraint(condition=Q(max_discount_pct__gte=0) & Q(max_discount_pct__lte=100),
                                   name="sales_discount_authority_range"),
        ]

    def __str__(self) -> str:
        return f"{self.role or '*'}/{self.grade_id or '*'}: {self.max_discount_pct}%"


class Forecast(TimeStampedModel):
    """A manager's forecast for one month: commit (what they promise) and best case. Locked at the cut-off;
    `actual` and `accuracy_pct` are computed after the month."""

    manager = models.ForeignKey(USER, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="forecasts")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    commit_amount = models.DecimalField(_("commit"), max_digits=16, decimal_places=2,
                                        validators=[MinValueValidator(ZERO)])
    best_case_amount = models.DecimalField(_("best case"), max_digits=16, decimal_places=2,
                                           validators=[MinValueValidator(ZERO)])
    pipeline_amount = models.DecimalField(_("weighted pipeline when submitted"), max_digits=16, decimal_places=2,
                                          default=ZERO)
    note = models.TextField(_("note"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"))
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    actual_amount = models.DecimalField(_("actual (won)"), max_digits=16, decimal_places=2, null=True, blank=True)
    accuracy_pct = models.DecimalField(_("accuracy (%)"), max_digits=6, decimal_places=2, null=True, blank=True)
    computed_at = models.DateTimeField(_("accuracy computed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("forecast")
        verbose_name_plural = _("forecasts")
        ordering = ["-month", "manager"]
        constraints = [
            models.UniqueConstraint(fields=["manager", "month"], name="forecast_manager_month_unique"),
            models.CheckConstraint(condition=Q(commit_amount__gte=0) & Q(best_case_amount__gte=0),
                                   name="sales_forecast_nonnegative"),
            models.CheckConstraint(condition=Q(best_case_amount__gte=models.F("commit_amount")),
                                   name="sales_forecast_best_case_at_least_commit"),
        ]

    def __str__(self) -> str:
        return f"{self.manager_id} {self.month:%Y-%m}"


class SalesSettings(models.Model):
    """One row (pk 1): the forecast cut-off and the default currency."""

    forecast_cutoff_day = models.PositiveSmallIntegerField(
        _("forecast cut-off day of the month"), default=5,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_("A month's forecast is locked at the end of this day of that month."))
    default_currency = models.CharField(_("default currency"), max_length=3, default="CNY")

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return "sales settings"


class PipelineCell(models.Model):
    """The open pipeline summed per owner and stage (count, amount, probability-weighted amount): what the board
    reads, so it costs the same with a million opportunities as with a hundred. Kept by the services in the
    same transaction as every change of an open opportunity (`services.pipeline.pipeline_shift`: relative
    updates, race-safe), rebuilt from the opportunities by `pipeline_rebuild` (imports, the demo, nightly)."""

    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    count = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=ZERO)
    weighted = models.DecimalField(max_digits=22, decimal_places=4, default=ZERO)

    class Meta:
        verbose_name = _("pipeline cell")
        verbose_name_plural = _("pipeline cells")
        constraints = [models.UniqueConstraint(fields=["owner", "stage"], name="sales_pipeline_cell_unique")]

    def __str__(self) -> str:
        return f"{self.owner_id}/{self.stage_id}: {self.count}"


class ClosedCell(models.Model):
    """Won and lost opportunities summed per owner, month closed (its first day) and outcome (count, amount):
    what the board's "won / lost this month" reads, so it costs the same however many opportunities closed.
    Kept with `PipelineCell` by the services in the same transaction as every change (`services.pipeline.
    pipeline_shift`: relative updates, race-safe) and rebuilt with it by `pipeline_rebuild`."""

    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    outcome = models.CharField(max_length=4, choices=Outcome.choices)
    count = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=ZERO)

    class Meta:
        verbose_name = _("closed cell")
        verbose_name_plural = _("closed cells")
        constraints = [models.UniqueConstraint(fields=["month", "owner", "outcome"], name="sales_closed_cell_unique")]

    def __str__(self) -> str:
        return f"{self.owner_id}/{self.month:%Y-%m}/{self.outcome}: {self.count}"
