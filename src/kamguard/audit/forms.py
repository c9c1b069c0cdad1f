from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamguard.audit.selectors import EventFilter

SORTS = (("-time", _("Newest first")), ("time", _("Oldest first")))


class EventFilterForm(forms.Form):
    actor = forms.CharField(label=_("Who (username)"), max_length=150, required=False)
    action = forms.CharField(label=_("Action (code or its beginning)"), max_length=80, required=False)
    object_type = forms.CharField(label=_("Object type"), max_length=80, required=False)
    object_id = forms.CharField(label=_("Object id"), max_length=64, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label=_("Text in object or reason"), max_length=200, required=False)
    sort = forms.ChoiceField(label=_("Order"), choices=SORTS, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def to_filter(self) -> EventFilter:
        data = self.cleaned_data
        return EventFilter(actor=data.get("actor") or "", action=data.get("action") or "",
                           object_type=data.get("object_type") or "", object_id=data.get("object_id") or "",
                           date_from=data.get("date_from"), date_to=data.get("date_to"), text=data.get("q") or "")


class ExportForm(EventFilterForm):
    format = forms.ChoiceField(label=_("Format"), choices=(("csv", "CSV"), ("xlsx", "XLSX")))
