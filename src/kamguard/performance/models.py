"""Tables of performance management (see the module docstring of services.py for who may write what).

Scheme (code, names, current version) → SchemeVersion (number, the spec as JSON — `performance.domain`'s
`spec_to_dict`/`spec_from_dict`; a new version is explicit, a running period keeps its version) → Period (a scheme
version over a team, or a whole department when `team` is empty; start/end by the period type; status open →
scored → calibrating → feedback → signed_off) → Scorecard per person (the metrics snapshot with values and their
inputs, manual scores, each dimension's result, the computed and calibrated totals, grade, rank, coaching and
incentive flags) → Calibration entries (before/after with the required reason, role supervisor then director) →
FeedbackMeeting → Acknowledgement or Appeal (resolved by the director) → ImprovementPlan with FollowUps.

Fields P2's templates read (all on Scorecard): `final_total` (calibrated if any, else computed), `grade`, `rank`,
`coaching`, `incentive`, `complete`, `status`, `dimensions` (list of dicts: code, value, score, band_index,
missing, calibrated_score — strings for Decimals, None for no data), `snapshot` ({"metrics": {code: {"value":
str|None, "inputs": {..}}}}), `manual_scores` ({dimension code: "score"}).

Invariants held by the database: a scheme code is unique; version numbers are unique per scheme; one period per
scheme + team + start (or scheme + department + start for a department period) — so also per scheme version;
one scorecard per period and person; one acknowledgement per scorecard; at most one open appeal per scorecard.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

USER = settings.AUTH_USER_MODEL


class Scheme(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    period_type = models.CharField(_("period type"), max_length=12)
    is_active = models.BooleanField(_("active"), default=True)
    is_preset = models.BooleanField(_("preset"), default=False)
    current_version = models.ForeignKey("performance.SchemeVersion", verbose_name=_("current version"), null=True,
                                        blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def name_in(self, language: str | None) -> str:
        return self.name_zh if (language or "").lower().startswith("zh") and self.name_zh else self.name_en


class SchemeVersion(models.Model):
    scheme = models.ForeignKey(Scheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    spec = models.JSONField(_("specification"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("scheme version")
        verbose_name_plural = _("scheme versions")
        ordering = ["scheme_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["scheme", "number"], name="perf_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.scheme_id} v{self.number}"

    def spec_obj(self) -> Any:
        """The version's `SchemeSpec` (performance.domain)."""
        from kamguard.performance.domain import spec_from_dict

        return spec_from_dict(self.spec)


class PeriodStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("performance", "Open")
    SCORED = "scored", _("Scored")
    CALIBRATING = "calibrating", _("Calibrating")
    FEEDBACK = "feedback", pgettext_lazy("performance", "Feedback")
    SIGNED_OFF = "signed_off", _("Signed off")


class CalibrationStage(models.TextChoices):
    NONE = "", _("Not started")
    SUPERVISOR = "supervisor", pgettext_lazy("performance", "Supervisor")
    DIRECTOR = "director", pgettext_lazy("performance", "Director")


class Period(models.Model):
    scheme = models.ForeignKey(Scheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="periods")
    version = models.ForeignKey(SchemeVersion, verbose_name=_("scheme version"), on_delete=models.PROTECT,
                                related_name="periods")
    department = models.ForeignKey("org.Department", verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="+")
    team = models.ForeignKey("org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    status = models.CharField(_("status"), max_length=12, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    calibration_stage = models.CharField(_("calibration stage"), max_length=12, choices=CalibrationStage.choices,
                                         default=CalibrationStage.NONE, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    scored_at = models.DateTimeField(_("scored at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released for feedback at"), null=True, blank=True)
    released_by = models.ForeignKey(USER, verbose_name=_("released by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    signed_off_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    signed_off_by = models.ForeignKey(USER, verbose_name=_("signed off by"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("assessment period")
        verbose_name_plural = _("assessment periods")
        ordering = ["-start", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "team", "start"], condition=Q(team__isnull=False),
                                    name="perf_period_one_per_team_start"),
            models.UniqueConstraint(fields=["scheme", "department", "start"], condition=Q(team__isnull=True),
                                    name="perf_period_one_per_department_start"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="perf_period_end_after_start"),
        ]
        indexes = [models.Index(fields=["status", "end"], name="perf_period_status_end_idx")]

    def __str__(self) -> str:
        return f"{self.scheme_id} {self.start:%Y-%m-%d}…{self.end:%Y-%m-%d}"

    @property
    def is_frozen(self) -> bool:
        return self.status == PeriodStatus.SIGNED_OFF


class ScorecardStatus(models.TextChoices):
    SCORED = "scored", _("Scored")
    RELEASED = "released", _("Released for feedback")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    APPEALED = "appealed", _("Appealed")
    RESOLVED = "resolved", _("Appeal resolved")


class Scorecard(models.Model):
    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="scorecards")
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="scorecards")
    status = models.CharField(_("status"), max_length=12, choices=ScorecardStatus.choices,
                              default=ScorecardStatus.SCORED)
    snapshot = models.JSONField(_("metrics snapshot"), default=dict)
    manual_scores = models.JSONField(_("manual scores"), default=dict)
    dimensions = models.JSONField(_("dimension results"), default=list)
    computed_total = models.DecimalField(_("computed total"), null=True, blank=True, max_digits=7, decimal_places=2)
    calibrated_total = models.DecimalField(_("calibrated total"), null=True, blank=True, max_digits=7, decimal_places=2)
    grade = models.CharField(pgettext_lazy("performance", "grade"), max_length=8, blank=True)
    rank = models.PositiveIntegerField(pgettext_lazy("performance", "rank"), null=True, blank=True)
    complete = models.BooleanField(_("complete"), default=False)
    coaching = models.BooleanField(_("coaching"), default=False)
    incentive = models.BooleanField(_("incentive"), default=False)
    scored_at = models.DateTimeField(_("scored at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["period_id", "rank", "user_id"]
        constraints = [models.UniqueConstraint(fields=["period", "user"], name="perf_scorecard_one_per_person")]
        indexes = [models.Index(fields=["user", "period"], name="perf_scorecard_user_idx")]

    def __str__(self) -> str:
        return f"{self.period_id} · {self.user_id}"

    @property
    def final_total(self) -> Decimal | None:
        return self.calibrated_total if self.calibrated_total is not None else self.computed_total


class CalibrationRole(models.TextChoices):
    SUPERVISOR = "supervisor", pgettext_lazy("performance", "Supervisor")
    DIRECTOR = "director", pgettext_lazy("performance", "Director")


class Calibration(models.Model):
    """One change during calibration: the total, or one dimension's score (`dimension` = its code)."""

    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE,
                                  related_name="calibrations")
    dimension = models.CharField(_("dimension"), max_length=60, blank=True, help_text=_("Empty: the total."))
    before = models.DecimalField(pgettext_lazy("performance", "before"), null=True, blank=True, max_digits=7, decimal_places=2)
    after = models.DecimalField(pgettext_lazy("performance", "after"), max_digits=7, decimal_places=2)
    total_before = models.DecimalField(_("total before"), null=True, blank=True, max_digits=7, decimal_places=2)
    total_after = models.DecimalField(_("total after"), null=True, blank=True, max_digits=7, decimal_places=2)
    grade_before = models.CharField(_("grade before"), max_length=8, blank=True)
    grade_after = models.CharField(_("grade after"), max_length=8, blank=True)
    reason = models.TextField(_("reason"))
    role = models.CharField(_("role"), max_length=12, choices=CalibrationRole.choices)
    by = models.ForeignKey(USER, verbose_name=pgettext_lazy("performance", "by"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(pgettext_lazy("performance", "at"), auto_now_add=True)

    class Meta:
        verbose_name = _("calibration")
        verbose_name_plural = _("calibrations")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.scorecard_id} {self.dimension or 'total'} {self.before}→{self.after}"


class FeedbackMeeting(models.Model):
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE,
                                  related_name="meetings")
    held_at = models.DateTimeField(pgettext_lazy("performance", "held at"))
    by = models.ForeignKey(USER, verbose_name=_("held by"), on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(_("notes"))
    created_at = models.DateTimeField(pgettext_lazy("performance", "recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback meeting")
        verbose_name_plural = _("feedback meetings")
        ordering = ["held_at", "pk"]

    def __str__(self) -> str:
        return f"{self.scorecard_id} {self.held_at:%Y-%m-%d}"


class Acknowledgement(models.Model):
    scorecard = models.OneToOneField(Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE,
                                     related_name="acknowledgement")
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(pgettext_lazy("performance", "acknowledged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")

    def __str__(self) -> str:
        return f"{self.scorecard_id}"


class AppealStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("performance", "Open")
    UPHELD = "upheld", _("Result upheld")
    CHANGED = "changed", _("Result changed")


class Appeal(models.Model):
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE,
                                  related_name="appeals")
    text = models.TextField(_("appeal"))
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN)
    resolved_by = models.ForeignKey(USER, verbose_name=_("resolved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("reason of the decision"), blank=True)
    total_before = models.DecimalField(_("total before"), null=True, blank=True, max_digits=7, decimal_places=2)
    total_after = models.DecimalField(_("total after"), null=True, blank=True, max_digits=7, decimal_places=2)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["filed_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["scorecard"], condition=Q(status="open"),
                                               name="perf_appeal_one_open")]

    def __str__(self) -> str:
        return f"{self.scorecard_id} {self.status}"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("performance", "Active")
    CLOSED = "closed", pgettext_lazy("performance", "Closed")


class ImprovementPlan(models.Model):
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT,
                                  related_name="improvement_plans")
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT,
                             related_name="improvement_plans")
    goals = models.TextField(pgettext_lazy("performance", "goals"))
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    status = models.CharField(_("status"), max_length=8, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    started_by = models.ForeignKey(USER, verbose_name=pgettext_lazy("performance", "started by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(pgettext_lazy("performance", "closed at"), null=True, blank=True)
    outcome = models.TextField(pgettext_lazy("performance", "outcome"), blank=True)

    class Meta:
        verbose_name = _("improvement plan")
        verbose_name_plural = _("improvement plans")
        ordering = ["-start", "pk"]
        constraints = [models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="perf_plan_end_after_start")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.start}…{self.end}"


class FollowUp(models.Model):
    plan = models.ForeignKey(ImprovementPlan, verbose_name=_("improvement plan"), on_delete=models.CASCADE,
                             related_name="follow_ups")
    on = models.DateField(_("date"))
    notes = models.TextField(_("notes"))
    progress = models.PositiveSmallIntegerField(_("progress (%)"))
    by = models.ForeignKey(USER, verbose_name=pgettext_lazy("performance", "by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(pgettext_lazy("performance", "recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="perf_followup_progress_range")]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.on}"
