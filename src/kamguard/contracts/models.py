"""Contracts with lines, payment schedule and attachments; orders, deliveries, payments (回款) and their
allocations; data-quality findings from ERP intake; webhook secrets and idempotency records."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

USER = settings.AUTH_USER_MODEL


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING = "pending", _("awaiting approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    SIGNED = "signed", _("signed")
    CANCELLED = "cancelled", _("cancelled")


class Contract(models.Model):
    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(pgettext_lazy("contract", "title"), max_length=200)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="contracts")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="contracts")
    manager = models.ForeignKey(USER, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="contracts")
    status = models.CharField(_("status"), max_length=10, choices=ContractStatus.choices, default=ContractStatus.DRAFT,
                              db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    terms = models.TextField(_("terms"), blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    signed_on = models.DateField(_("signed on"), null=True, blank=True, db_index=True)
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="contract_amount_not_negative")]
        indexes = [models.Index(fields=["manager", "signed_on"]), models.Index(fields=["customer", "status"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ContractLine(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.CharField(_("product"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ("position", "pk")

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class PaymentScheduleItem(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="schedule")
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ("due_on", "pk")

    def __str__(self) -> str:
        return f"{self.due_on} {self.amount}"


class ContractAttachment(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=200)
    file_type = models.CharField(_("type"), max_length=8)
    size = models.PositiveIntegerField(pgettext_lazy("file", "size"))
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=120, unique=True, editable=False)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class OrderSource(models.TextChoices):
    MANUAL = "manual", _("entered")
    CONTRACT = "contract", _("from a contract")
    ERP = "erp", _("ERP")


class OrderStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("order", "open")
    DELIVERED = "delivered", _("delivered")
    CANCELLED = "cancelled", _("cancelled")


class Order(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    number = models.CharField(_("number"), max_length=64, blank=True)
    # customer and manager: no index of their own, the (…, order_date) indexes below serve every lookup by them
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="orders", db_index=False)
    contract = models.ForeignKey(Contract, verbose_name=_("contract"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="orders")
    manager = models.ForeignKey(USER, verbose_name=_("credited manager"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="orders", db_index=False)
    source = models.CharField(_("source"), max_length=10, choices=OrderSource.choices, default=OrderSource.MANUAL)
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    order_date = models.DateField(_("order date"), db_index=True)
    due_on = models.DateField(_("payment due"), db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative")]
        indexes = [models.Index(fields=["manager", "order_date"]), models.Index(fields=["customer", "order_date"])]

    def __str__(self) -> str:
        return self.number or self.external_id or f"#{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.CharField(_("product"), max_length=120)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=Decimal(1))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    list_price = models.DecimalField(_("list price"), null=True, blank=True, max_digits=14, decimal_places=2)
    discount_pct = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class Delivery(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="deliveries")
    address = models.CharField(_("address"), max_length=300)
    shipped_on = models.DateField(_("shipped on"))
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.order} → {self.address}"


class PaymentStatus(models.TextChoices):
    RECORDED = "recorded", _("awaiting finance")
    CONFIRMED = "confirmed", _("confirmed")
    REJECTED = "rejected", _("rejected")


class Payment(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="payments")
    manager = models.ForeignKey(USER, verbose_name=_("credited manager"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField(_("paid on"), db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    payer_name = models.CharField(_("payer"), max_length=200, blank=True)
    payer_account = models.CharField(_("payer's account"), max_length=64, blank=True)
    over_reason = models.CharField(_("reason for paying more than is due"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices,
                              default=PaymentStatus.RECORDED, db_index=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(USER, verbose_name=_("confirmed by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    decision_note = models.CharField(_("finance note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]
        indexes = [models.Index(fields=["manager", "paid_on"])]

    def __str__(self) -> str:
        return f"{self.paid_on} {self.amount} {self.currency}"


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="allocations")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(condition=(Q(order__isnull=False) & Q(contract__isnull=True))
                                   | (Q(order__isnull=True) & Q(contract__isnull=False)),
                                   name="allocation_one_target"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.amount}"


class FindingKind(models.TextChoices):
    UNKNOWN_CUSTOMER = "unknown_customer", _("order for an unknown customer")
    PAYER_MISMATCH = "payer_mismatch", _("payer is not the customer")
    NEW_ADDRESS = "new_address", _("delivery address never seen for the customer")


class FindingStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("receivable", "open")
    RESOLVED = "resolved", _("resolved")


class DataQualityFinding(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=FindingKind.choices, db_index=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="data_findings")
    manager = models.ForeignKey(USER, verbose_name=_("manager"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="data_findings")
    subject = models.CharField(pgettext_lazy("data-quality finding", "subject"), max_length=120)
    details = models.JSONField(_("details"), default=dict, blank=True)
    detected_at = models.DateTimeField(_("detected"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN,
                              db_index=True)
    resolved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(_("resolution"), blank=True)

    class Meta:
        verbose_name = _("data-quality finding")
        verbose_name_plural = _("data-quality findings")
        constraints = [models.UniqueConstraint(fields=["kind", "subject"], name="finding_once_per_subject")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class WebhookSecret(models.Model):
    name = models.CharField(_("name"), max_length=80)
    sealed = models.TextField(editable=False)
    hint = models.CharField(_("ends with"), max_length=8)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (…{self.hint})"


class IdempotencyRecord(models.Model):
    """An API request already answered, by key and caller: the same request again gets the same answer."""

    key = models.CharField(max_length=120)
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=80)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_once")]

    def __str__(self) -> str:
        return self.key
