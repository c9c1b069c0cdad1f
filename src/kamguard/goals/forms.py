"""Forms of the goals pages. Business rules stay in the services; these only parse input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.goals.domain.months import parse_month

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"})

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        month = parse_month(text)
        if month is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        return month


def _text(rows: int = 3, placeholder: Any = "") -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


class ObjectiveForm(forms.Form):
    owner = forms.ChoiceField(label=pgettext_lazy("objective", "Owner"), choices=())
    title = forms.CharField(label=_("Objective"), max_length=200,
                            widget=forms.TextInput(attrs={"placeholder": _("What do we want to achieve?")}))
    description = forms.CharField(label=_("Specific: what exactly"), required=False, max_length=5000,
                                  widget=_text(3))
    measure = forms.CharField(label=_("Measurable: how we know it is achieved"), required=False, max_length=5000,
                              widget=_text(2, _("e.g. orders of 2 million CNY from tier A customers")))
    relevance = forms.CharField(label=_("Relevant: why it matters"), required=False, max_length=5000,
                                widget=_text(2))
    period_start = forms.DateField(label=_("Period start"), widget=DATE)
    period_end = forms.DateField(label=_("Period end"), widget=DATE)
    deadline = forms.DateField(label=_("Time-bound: deadline"), required=False, widget=DATE,
                               help_text=_("Within the period; the period's end when left empty."))
    parent = forms.TypedChoiceField(label=_("Contributes to (team objective)"), required=False, coerce=int,
                                    empty_value=None, choices=())

    def __init__(self, *args: Any, owners: list[tuple[str, str]] | None = None,
                 parents: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].choices = owners  # type: ignore[attr-defined]
        self.fields["parent"].choices = [("", _("None")), *(parents or [])]  # type: ignore[attr-defined]


class KeyResultForm(forms.Form):
    title = forms.CharField(label=_("Key result"), max_length=200,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. New orders signed")}))
    unit = forms.CharField(label=_("Unit"), required=False, max_length=20,
                           widget=forms.TextInput(attrs={"placeholder": _("CNY, customers, %…")}))
    start_value = forms.DecimalField(label=_("Start value"), max_digits=16, decimal_places=2, initial=Decimal(0))
    target_value = forms.DecimalField(label=_("Target value"), max_digits=16, decimal_places=2)
    weight = forms.DecimalField(label=_("Weight"), max_digits=6, decimal_places=2, initial=Decimal(1),
                                min_value=Decimal("0.01"))
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DATE)


class CheckInForm(forms.Form):
    key_result = forms.TypedChoiceField(label=_("Key result"), coerce=int, choices=())
    value = forms.DecimalField(label=_("Value now"), max_digits=16, decimal_places=2)
    confidence = forms.TypedChoiceField(label=_("Confidence (0–10)"), required=False, coerce=int, empty_value=None,
                                        choices=[("", "—"), *[(i, str(i)) for i in range(11)]])
    note = forms.CharField(label=_("Note"), required=False, max_length=5000, widget=_text(2))

    def __init__(self, *args: Any, key_results: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["key_result"].choices = key_results  # type: ignore[attr-defined]


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=pgettext_lazy("goals", "Status"), choices=())
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


class TargetForm(forms.Form):
    person = forms.TypedChoiceField(label=_("Person"), coerce=int, choices=())
    month = MonthField(label=pgettext_lazy("goals", "Month"))
    amount = forms.CharField(label=_("Target amount (CNY)"), required=False, max_length=30,
                             help_text=_("Leave empty to remove the month's target."),
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args: Any, people: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = people  # type: ignore[attr-defined]
