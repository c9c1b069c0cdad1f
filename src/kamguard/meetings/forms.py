from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.meetings.models import MeetingKind

ITEM_ROWS = 5


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("meetings", "Kind"), choices=MeetingKind.choices)
    title = forms.CharField(label=pgettext_lazy("meetings", "Title"), max_length=200)
    held_at = forms.DateTimeField(label=_("Held at"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    location = forms.CharField(label=_("Place"), max_length=200, required=False)
    chaired_by = forms.TypedChoiceField(label=_("Chaired by"), required=False, coerce=int, empty_value=None)
    attendees = forms.TypedMultipleChoiceField(label=_("Attendees"), required=False, coerce=int,
                                               widget=forms.SelectMultiple(attrs={"size": 6}))
    other_attendees = forms.CharField(label=pgettext_lazy("meetings", "Other attendees"), max_length=500, required=False)
    summary = forms.CharField(label=_("Discussion"), required=False, max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 5}))
    decisions = forms.CharField(label=_("Decisions"), required=False, max_length=20000,
                                widget=forms.Textarea(attrs={"rows": 4}), help_text=_("One decision per line."))

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chaired_by"].choices = [("", "—"), *people]  # type: ignore[attr-defined]
        self.fields["attendees"].choices = people  # type: ignore[attr-defined]


class ItemForm(forms.Form):
    description = forms.CharField(label=pgettext_lazy("meetings", "Action"), max_length=500, required=False)
    owner = forms.TypedChoiceField(label=pgettext_lazy("meetings", "Owner"), required=False, coerce=int, empty_value=None)
    due_on = forms.DateField(label=pgettext_lazy("meetings", "Due on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—"), *people]  # type: ignore[attr-defined]

    @property
    def is_blank(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not any(data.get(k) for k in ("description", "owner", "due_on"))


class DoneForm(forms.Form):
    note = forms.CharField(label=_("Execution note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class GuidanceForm(forms.Form):
    guidance = forms.CharField(label=_("Supervisor's guidance"), max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 3}))
