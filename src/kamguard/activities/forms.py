"""Forms of the visit and contact pages. They only shape input; the services decide (and refuse)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.activities.models import CONTACT_KINDS, Kind, Status


class CustomerChoiceField(forms.TypedChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, empty_value=None, **kwargs)


def customer_choices(customers: list[tuple[int, str]]) -> list[tuple[Any, str]]:
    return [("", "—"), *customers]


class ContactForm(forms.Form):
    customer = CustomerChoiceField(label=_("Customer"))
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in CONTACT_KINDS])
    happened_at = forms.DateTimeField(label=_("When"), widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    duration_min = forms.IntegerField(label=_("Duration (minutes)"), required=False, min_value=0, max_value=1440)
    summary = forms.CharField(label=_("What it was about"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    outcome = forms.CharField(label=pgettext_lazy("activity", "Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=4000)
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=4000)

    def __init__(self, *args: Any, customers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = customer_choices(customers)  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("happened_at", timezone.localtime().replace(second=0, microsecond=0))


class VisitPlanForm(forms.Form):
    customer = CustomerChoiceField(label=_("Customer"))
    planned_on = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    purpose = forms.CharField(label=_("Purpose"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=4000)
    accompanied_by = forms.TypedChoiceField(label=_("Accompanied by (陪访)"), required=False, coerce=int,
                                            empty_value=None,
                                            help_text=_("A supervisor who will come along; they confirm it on the "
                                                        "visit's page."))

    def __init__(self, *args: Any, customers: list[tuple[int, str]], companions: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = customer_choices(customers)  # type: ignore[attr-defined]
        self.fields["accompanied_by"].choices = [("", "—"), *companions]  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("planned_on", timezone.localdate())


class CheckInForm(forms.Form):
    """Filled by checkin.js from the browser's geolocation; all empty when the browser gave nothing."""

    latitude = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)
    accuracy_m = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)
    location_denied = forms.CharField(required=False, widget=forms.HiddenInput, max_length=5)


class CheckOutForm(forms.Form):
    outcome = forms.CharField(label=pgettext_lazy("activity", "Outcome"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                              help_text=_("What came of the visit."))
    next_step = forms.CharField(label=_("Next step"), max_length=4000, help_text=_("What happens next, and when."))
    contacts = forms.TypedMultipleChoiceField(label=_("Customer contacts present"), required=False, coerce=int,
                                              widget=forms.CheckboxSelectMultiple)
    other_attendees = forms.CharField(label=_("Other attendees"), required=False, max_length=300)

    def __init__(self, *args: Any, contacts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].choices = contacts  # type: ignore[attr-defined]
        self.fields["outcome"].required = False  # the service says what is missing, in its words
        self.fields["next_step"].required = False


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    customer = forms.IntegerField(required=False, min_value=1)
    kind = forms.ChoiceField(required=False, choices=[("", "")] + list(Kind.choices))
    status = forms.ChoiceField(required=False, choices=[("", "")] + list(Status.choices))
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)
    far = forms.BooleanField(required=False)
    sort = forms.CharField(required=False, max_length=20)

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", ""), *people]  # type: ignore[attr-defined]

    def value(self, name: str) -> Any:
        """The field's value, or None when it is missing or not valid (a bad filter is ignored, not an error)."""
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name)


def default_range() -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    return today - dt.timedelta(days=30), today
