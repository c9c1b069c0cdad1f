"""Forms of the risk pages."""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.risk.domain.config import PARAM_TYPES, RiskConfig, config_to_mapping
from kamguard.risk.domain.evidence import Signal, SubjectType
from kamguard.risk.explain import SIGNAL_LABELS
from kamguard.risk.models import AlertStatus, CaseOutcome, CaseStatus, PenaltyKind
from kamguard.risk.models import SubjectType as SubjectChoice

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SUBJECT_LABELS = {SubjectType.CUSTOMER: _("customers"), SubjectType.MANAGER: _("managers"),
                  SubjectType.ORDER: _("orders")}


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All")), *AlertStatus.choices])
    subject_type = forms.ChoiceField(label=_("Subject"), required=False,
                                     choices=[("", _("All")), *SubjectChoice.choices])
    signal = forms.ChoiceField(label=_("Signal"), required=False,
                               choices=[("", _("All")), *[(k, v) for k, v in SIGNAL_LABELS.items()]])
    min_score = forms.FloatField(label=_("Score at least"), required=False, min_value=0, max_value=1)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class FeedbackForm(forms.Form):
    feedback = forms.CharField(label=_("What the engine got wrong"), max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))


class CaseOpenForm(forms.Form):
    person = forms.TypedChoiceField(label=_("Person concerned"), coerce=int)
    title = forms.CharField(label=pgettext_lazy("risk case", "Title"), max_length=200, required=False)
    note = forms.CharField(label=_("Why the case is opened"), required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, people: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "—"), *people]  # type: ignore[attr-defined]


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *CaseStatus.choices])
    outcome = forms.ChoiceField(label=pgettext_lazy("risk case", "Outcome"), required=False, choices=[("", _("All")), *CaseOutcome.choices])
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))


class InterviewForm(forms.Form):
    interviewee = forms.CharField(label=_("Interviewed"), max_length=200)
    held_on = forms.DateField(label=_("Held on"), required=False, widget=DATE)
    text = forms.CharField(label=_("What was said"), max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Evidence file"),
                           help_text=_("PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx); at most 20 MB."))
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=pgettext_lazy("risk case", "Outcome"), required=False, choices=[("", "—"), *CaseOutcome.choices])
    findings = forms.CharField(label=_("Findings"), required=False, max_length=20000,
                               widget=forms.Textarea(attrs={"rows": 4}))


class PenaltyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Penalty"), choices=PenaltyKind.choices)
    amount = forms.DecimalField(label=_("Amount (economic penalty)"), required=False, max_digits=12,
                                decimal_places=2, min_value=0)
    effective_on = forms.DateField(label=_("Effective on"), widget=DATE, initial=timezone.localdate)
    note = forms.CharField(label=_("Decision"), max_length=20000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Who decided it and on what basis."))


class ScanForm(forms.Form):
    as_of = forms.DateField(label=_("Data as of"), required=False, widget=DATE,
                            help_text=_("Empty: today. A past date stores the scores but raises no alerts."))


# Each signal parameter's label (the same name means the same thing in every signal).
PARAM_LABELS = {
    "recent_buckets": _("Recent 30-day periods judged"),
    "baseline_buckets": _("Earlier 30-day periods for the baseline"),
    "min_baseline": _("Smallest baseline worth judging (CNY)"),
    "min_active_buckets": _("Fewest earlier periods with orders"),
    "drop_start": _("Drop where the signal starts (0–1)"),
    "drop_full": _("Drop where the signal is full (0–1)"),
    "min_recent_contacts": _("Contacts per 30 days that count as continued contact"),
    "contact_keep_ratio": _("Share of the usual contact that counts as continuing"),
    "period_buckets": _("30-day periods judged"),
    "history_buckets": _("30-day periods of the person's own history"),
    "min_closed": _("Fewest closed late-stage opportunities to judge"),
    "z_start": _("z score where the signal starts"),
    "z_full": _("z score where the signal is full"),
    "competitor_min": _("Fewest losses to one competitor that count"),
    "competitor_share_start": _("Share lost to one competitor where the boost starts"),
    "competitor_share_full": _("Share lost to one competitor where the boost is full"),
    "competitor_boost": _("Boost for losses to one competitor"),
    "norm_buckets": _("30-day periods for the norm"),
    "judge_buckets": _("Recent 30-day periods judged"),
    "min_group": _("Fewest lines in a product and tier group"),
    "spread_floor": _("Smallest spread used"),
    "above_norm_factor": _("Weight of prices far above the norm"),
    "window_buckets": _("30-day periods looked at"),
    "band": _("Points under the approval threshold that count as just under"),
    "min_quotes": _("Fewest quotes to judge"),
    "share_start": _("Share where the signal starts (0–1)"),
    "share_full": _("Share where the signal is full (0–1)"),
    "min_events": _("Fewest events that count"),
    "address_similarity": _("Similarity that counts as the same address (0–100)"),
    "window_days": _("Days looked at"),
    "own_identity_score": _("Score when changed to the manager's own details"),
    "colleague_identity_score": _("Score when changed to a colleague's details"),
    "removals_full": _("Decision-makers removed for a full signal"),
    "removal_score": _("Score for removed decision-makers when some are left"),
    "min_peers": _("Fewest peers to compare with"),
    "growth_factor": _("Weight of abnormal growth against a fall"),
    "baseline_days": _("Days for the usual rate"),
    "recent_days": _("Recent days judged"),
    "min_recent_events": _("Fewest recent sensitive reads to judge"),
    "ratio_start": _("Times the usual rate where the signal starts"),
    "ratio_full": _("Times the usual rate where the signal is full"),
    "notice_ratio_start": _("After a resignation notice: times the usual rate where it starts"),
    "notice_ratio_full": _("After a resignation notice: times the usual rate where it is full"),
    "notice_boost": _("Boost after a resignation notice"),
    "floor_rate": _("Smallest usual rate used (reads a day)"),
    "grace_days": _("Days after a claim before follow-up is expected"),
    "stale_days": _("Days without follow-up that count as neglected"),
    "min_stale": _("Fewest neglected customers to judge"),
    "lookback_buckets": _("30-day periods after the owner change looked at"),
    "normal_drop_low": _("Normal drop after an owner change, low end (0–1)"),
    "normal_drop_high": _("Normal drop after an owner change, high end (0–1)"),
    "before_buckets": _("30-day periods before the owner change"),
    "min_after_buckets": _("Fewest periods after the change to judge"),
    "min_before": _("Smallest orders before the change worth judging (CNY)"),
    "min_active_before": _("Fewest periods with orders before the change"),
}


def _label(name: str) -> str:
    label = PARAM_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ")


class SettingsForm(forms.Form):
    """Every weight, threshold and parameter as its own field, named by its path ("weights.hoarding",
    "params.orders_collapse.drop_start"), so the service's errors land on the right field."""

    def __init__(self, *args: Any, config: RiskConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = config_to_mapping(config)
        self.groups: list[tuple[str, list[str]]] = []
        names = []
        for signal in Signal:
            name = f"weights.{signal.value}"
            self.fields[name] = forms.CharField(label=SIGNAL_LABELS[signal.value], initial=values["weights"][signal.value],
                                                widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}))
            names.append(name)
        self.groups.append((str(_("Weights (0–1; 0 switches a signal off)")), names))
        names = []
        for subject in SubjectType:
            name = f"thresholds.{subject.value}"
            self.fields[name] = forms.CharField(
                label=_("Alert threshold for %(subjects)s") % {"subjects": SUBJECT_LABELS[subject]},
                initial=values["thresholds"][subject.value],
                widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}))
            names.append(name)
        self.fields["rollup.weight"] = forms.CharField(
            label=_("Weight of a manager's riskiest customers and orders"), initial=values["rollup"]["weight"],
            widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}))
        self.fields["rollup.top"] = forms.CharField(label=_("How many of them count"), initial=values["rollup"]["top"],
                                                    widget=forms.NumberInput(attrs={"step": "1", "min": "1"}))
        names += ["rollup.weight", "rollup.top"]
        self.groups.append((str(_("Thresholds and roll-up")), names))
        for signal in Signal:
            names = []
            for field in dataclasses.fields(PARAM_TYPES[signal]):
                name = f"params.{signal.value}.{field.name}"
                self.fields[name] = forms.CharField(label=_label(field.name),
                                                    initial=values["params"][signal.value][field.name],
                                                    widget=forms.NumberInput(attrs={"step": "any"}))
                names.append(name)
            self.groups.append((str(SIGNAL_LABELS[signal.value]), names))
        for form_field in self.fields.values():
            form_field.required = False  # empty keeps the current value
        self.fields["reason"] = forms.CharField(label=_("Why the change"), required=False, max_length=2000)

    def changes(self) -> dict[str, Any]:
        """The submitted values as the nested mapping the service reads (strings; the service checks them)."""
        result: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name == "reason" or value in (None, ""):
                continue
            parts = name.split(".")
            node = result
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        return result

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.groups]
