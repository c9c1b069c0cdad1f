from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamguard.worklogs.models import LogDeadline


def _area(rows: int, placeholder: object) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


class LogForm(forms.Form):
    today_work = forms.CharField(label=_("Today's work"), required=False, max_length=10000,
                                 widget=_area(5, _("What you did today, one item per line")))
    visits = forms.CharField(label=_("Visits"), required=False, max_length=10000,
                             widget=_area(6, _("Customers visited, outcome and next step")))
    problems = forms.CharField(label=_("Problems"), required=False, max_length=10000,
                               widget=_area(3, _("Problems met and help needed")))
    tomorrow_plan = forms.CharField(label=_("Tomorrow's plan"), required=False, max_length=10000,
                                    widget=_area(4, _("Visits and work planned for tomorrow")))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReviewForm(forms.Form):
    evaluation = forms.CharField(label=_("Evaluation"), max_length=10000, widget=_area(3, _("Concise and specific")))
    requirements = forms.CharField(label=_("Requirements"), required=False, max_length=10000, widget=_area(2, ""))
    suggestions = forms.CharField(label=_("Suggestions"), required=False, max_length=10000, widget=_area(2, ""))
    rating = forms.TypedChoiceField(label=_("Quality rating"), coerce=int,
                                    choices=[("", "—")] + [(i, str(i)) for i in range(5, 0, -1)],
                                    help_text=_("1 poor … 5 excellent"))
    is_excellent = forms.BooleanField(label=_("Excellent: show it to the team"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class DeadlineForm(forms.ModelForm):
    class Meta:
        model = LogDeadline
        fields = ["department", "due_time", "day_offset", "workdays"]
        widgets = {"due_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args: object, departments: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if departments is not None:
            self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        self.fields["department"].required = False
        self.fields["department"].empty_label = _("Company-wide")  # type: ignore[attr-defined]

    def validate_unique(self) -> None:  # the service updates the existing rule for the department
        pass
