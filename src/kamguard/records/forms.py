"""Forms of the records pages. They only shape input; the checks of files and fields live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.org.models import User
from kamguard.records.domain.files import ACCEPTED
from kamguard.records.models import MarketInfoKind, RecordCategory

CUSTOMER_CHOICES_MAX = 500
ACCEPT = ",".join(f".{ext}" for ext in sorted(ACCEPTED))


class DateInput(forms.DateInput):
    """<input type=date> only shows ISO dates, whatever the page's language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the service (type by content, size)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _customer_choices(viewer: User) -> list[tuple[str, str]]:
    from kamguard.customers.selectors import customer_list

    rows = customer_list(viewer=viewer).values_list("pk", "name")[:CUSTOMER_CHOICES_MAX]
    return [("", "—"), *((str(pk), name) for pk, name in rows)]


class RecordForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("record", "Title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), required=False,
                                 choices=[("", _("— not classified yet —")), *RecordCategory.choices])
    record_on = forms.DateField(label=_("Date"), required=False, widget=DateInput,
                                help_text=_("The day the record concerns. Empty: today."))
    customer = forms.TypedChoiceField(label=_("Customer"), required=False, coerce=int, empty_value=None)
    plan_ref = forms.ChoiceField(label=_("Monthly plan"), required=False,
                                 help_text=_("The monthly plan this record belongs to, if any."))
    description = forms.CharField(label=_("Description"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, viewer: User, current_plan_ref: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _customer_choices(viewer)  # type: ignore[attr-defined]
        self.fields["plan_ref"].choices = _plan_choices(viewer, current_plan_ref)  # type: ignore[attr-defined]


def _plan_choices(viewer: User, current: str) -> list[tuple[str, str]]:
    """The plans the viewer may see, by month; a record's present reference stays choosable as it is."""
    from kamguard.plans.selectors import plan_choices

    choices = [("", "—"), *plan_choices(viewer=viewer)]
    if current and current not in {value for value, _label in choices}:
        choices.append((current, current))
    return choices


class UploadForm(RecordForm):
    upload = MultipleFileField(label=_("Files"), required=False,
                              help_text=_("PDF, images (scans, photos), Office documents or text; at most 20 MB each."))


class AddFilesForm(forms.Form):
    upload = MultipleFileField(label=_("Add files"))


class MarketForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MarketInfoKind.choices)
    title = forms.CharField(label=pgettext_lazy("record", "Title"), max_length=200)
    content = forms.CharField(label=_("Content"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))
    customer = forms.TypedChoiceField(label=_("Customer"), required=False, coerce=int, empty_value=None)
    competitor = forms.CharField(label=_("Competitor"), max_length=120, required=False,
                                 help_text=_("Required for competitor information."))
    product = forms.CharField(label=_("Product"), max_length=120, required=False)
    source = forms.CharField(label=_("Source"), max_length=200, required=False,
                             help_text=_("Where it came from: a visit, an exhibition, a trade paper…"))
    observed_on = forms.DateField(label=_("Observed on"), required=False, widget=DateInput)

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _customer_choices(viewer)  # type: ignore[attr-defined]
