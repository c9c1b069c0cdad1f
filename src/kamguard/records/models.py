"""Other work records (D6) with their files, and market information (D8).

Files live under the data directory (`DATA_DIR/records/…`), never under the web root or the static files: a
download goes through a page that checks the viewer may see the record and audits the read. Each file's
type is sniffed from its content when it arrives (see `domain.files`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class RecordCategory(models.TextChoices):
    ANALYSIS = "analysis", _("Analysis")
    SPECIAL_REPORT = "special_report", _("Special report")
    SUMMARY = "summary", _("Work summary")
    MARKETING_CASE = "marketing_case", _("Marketing case")
    SIGN_OFF = "sign_off", _("Customer sign-off")
    OTHER = "other", _("Other")


class WorkRecord(TimeStampedModel):
    """An analysis, special report, work summary, marketing case or customer sign-off, kept with its files.

    An empty category means the record is not classified yet (the basic-data check counts those).
    """

    owner = models.ForeignKey(USER, verbose_name=_("kept by"), on_delete=models.PROTECT, related_name="work_records")
    title = models.CharField(pgettext_lazy("record", "title"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=RecordCategory.choices, blank=True,
                                db_index=True)
    description = models.TextField(_("description"), blank=True)
    record_on = models.DateField(_("date"), db_index=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="work_records")
    plan_ref = models.CharField(_("monthly plan"), max_length=64, blank=True, db_index=True,
                                help_text=_("The monthly plan this record belongs to, e.g. plan:12."))

    class Meta:
        verbose_name = _("work record")
        verbose_name_plural = _("work records")
        ordering = ["-record_on", "-pk"]
        indexes = [models.Index(fields=["owner", "record_on"], name="records_owner_day")]

    def __str__(self) -> str:
        return self.title


class Attachment(models.Model):
    """One stored file of a record. `stored_name` is relative to the records directory, never shown to users."""

    record = models.ForeignKey(WorkRecord, verbose_name=_("record"), on_delete=models.PROTECT,
                               related_name="attachments")
    original_name = models.CharField(pgettext_lazy("file", "file name"), max_length=200)
    stored_name = models.CharField(max_length=200, unique=True, editable=False)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(pgettext_lazy("file", "size"))
    sha256 = models.CharField(max_length=64, editable=False)
    uploaded_by = models.ForeignKey(USER, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class MarketInfoKind(models.TextChoices):
    COMPETITOR = "competitor", _("Competitor")
    INDUSTRY = "industry", pgettext_lazy("market information", "Industry")
    PRODUCT_FEEDBACK = "product_feedback", _("Product feedback")


class MarketInfo(TimeStampedModel):
    """A piece of market intelligence gathered in the field (市场信息), linked to the customer it came from."""

    reporter = models.ForeignKey(USER, verbose_name=_("reported by"), on_delete=models.PROTECT,
                                 related_name="market_info")
    kind = models.CharField(_("kind"), max_length=20, choices=MarketInfoKind.choices, db_index=True)
    title = models.CharField(pgettext_lazy("record", "title"), max_length=200)
    content = models.TextField(_("content"))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="market_info")
    competitor = models.CharField(_("competitor"), max_length=120, blank=True)
    product = models.CharField(_("product"), max_length=120, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    observed_on = models.DateField(_("observed on"), db_index=True)

    class Meta:
        verbose_name = _("market information")
        verbose_name_plural = _("market information")
        ordering = ["-observed_on", "-pk"]

    def __str__(self) -> str:
        return self.title
