"""Forms of the plan pages. Validation of business rules stays in the services; these only parse input."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.plans.domain.months import month_parse


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"})

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        month = month_parse(text)
        if month is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        return month


def _text(rows: int = 4, placeholder: Any = "") -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


class PlanForm(forms.Form):
    month = MonthField(label=pgettext_lazy("plans", "Month"))
    goals = forms.CharField(label=_("Goals"), required=False, max_length=10_000, widget=_text(
        3, _("Sales, collection, new customers, key accounts to develop…")))
    analysis = forms.CharField(label=_("Marketing analysis"), required=False, max_length=10_000, widget=_text(
        5, _("Market, customers, competitors, last month's results…")))
    measures = forms.CharField(label=_("Targeted measures"), required=False, max_length=10_000, widget=_text(
        5, _("What you will do for which customers, and how…")))


class PlanEditForm(PlanForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["month"]


class VisitAddForm(forms.Form):
    customer = forms.TypedChoiceField(label=_("Customer"), coerce=int, choices=())
    planned_on = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=300)

    def __init__(self, *args: Any, customers: list[tuple[int, str]] = (), month: dt.date | None = None,  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", _("Choose a customer")), *customers]  # type: ignore[attr-defined]
        if month is not None:
            from kamguard.plans.domain.months import month_end

            self.fields["planned_on"].widget.attrs.update({"min": month.isoformat(), "max": month_end(month).isoformat()})


class DayPlanForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    content = forms.CharField(label=_("Work planned"), required=False, max_length=10_000, widget=_text(
        3, _("Leave empty to remove the day's plan.")))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=pgettext_lazy("plans", "Decision"), choices=[("approve", _("Approve")),
                                                                ("return", _("Return for changes"))])
    comment = forms.CharField(label=_("Comments"), required=False, max_length=10_000, widget=_text(3))


class ResultCommentForm(forms.Form):
    comment = forms.CharField(label=_("Comments on plan versus actual"), max_length=10_000, widget=_text(4))
