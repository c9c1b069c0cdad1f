"""Forms of the performance pages. They only parse input; the services decide what is allowed and valid."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

SCORE_HELP = _("A score from 0 to 100.")


def _text(rows: int = 3, placeholder: Any = "") -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


def _score_field(label: Any, *, required: bool = True, help_text: Any = SCORE_HELP) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=required, max_digits=7, decimal_places=2, help_text=help_text,
                              min_value=0, max_value=100,
                              widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))


class PeriodCreateForm(forms.Form):
    scheme = forms.TypedChoiceField(label=_("Assessment scheme"), coerce=int, choices=())
    team = forms.ChoiceField(label=_("Who is assessed"), choices=(),
                             help_text=_("A team, or a whole department with the departments below it."))
    day = forms.DateField(label=_("A day in the period"),
                          help_text=_("The period is the scheme's month, quarter, half-year or year that contains "
                                      "this day."),
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, schemes: list[tuple[int, str]] = (),  # type: ignore[assignment]
                 teams: list[tuple[str, Any]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["scheme"].choices = [("", _("Choose a scheme")), *schemes]  # type: ignore[attr-defined]
        self.fields["team"].choices = [("", _("Choose a team or a department")), *teams]  # type: ignore[attr-defined]

    def target(self) -> dict[str, int]:
        """team_id or department_id for the service, from the chosen "t<id>" or "d<id>"."""
        value = self.cleaned_data["team"]
        return {"team_id" if value.startswith("t") else "department_id": int(value[1:])}


class ManualScoresForm(forms.Form):
    """One field per manual dimension of the scheme, named after the dimension's code."""

    def __init__(self, *args: Any, dimensions: list[dict[str, Any]] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for dim in dimensions:
            rubric = "；".join(f"{level['score']}: {level['text']}" for level in dim.get("rubric", ()))
            self.fields[dim["code"]] = _score_field(dim["name"], required=False, help_text=rubric or SCORE_HELP)

    def scores(self) -> dict[str, Decimal]:
        return {code: value for code, value in self.cleaned_data.items() if value is not None}


class CalibrationForm(forms.Form):
    dimension = forms.ChoiceField(label=_("What to calibrate"), choices=(), required=False)
    after = _score_field(_("New score"), help_text=_("The new score of the dimension, or the new total, 0 to 100."))
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=_text(2, _("Why the score changes")),
                             error_messages={"required": _("Give the reason for the change.")})

    def __init__(self, *args: Any, dimensions: list[tuple[str, str]] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = [("", _("The total")), *dimensions]  # type: ignore[attr-defined]


class FeedbackForm(forms.Form):
    held_at = forms.DateTimeField(label=_("Held at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                                 format="%Y-%m-%dT%H:%M"),
                                  input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    notes = forms.CharField(label=_("What was discussed"), max_length=10_000,
                            widget=_text(4, _("Strengths, what to improve, what was agreed")),
                            error_messages={"required": _("Write down what was discussed.")})


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000, widget=_text(2))


class AppealForm(forms.Form):
    text = forms.CharField(label=_("Why you appeal"), max_length=10_000, widget=_text(3),
                           error_messages={"required": _("Say what you disagree with and why.")})


class AppealResolveForm(forms.Form):
    decision = forms.ChoiceField(label=pgettext_lazy("performance", "Decision"), choices=[
        ("upheld", _("Keep the result")), ("changed", _("Change the total"))], widget=forms.RadioSelect)
    total = _score_field(_("New total"), required=False, help_text=_("Only when the total changes, 0 to 100."))
    reason = forms.CharField(label=_("Answer to the appeal"), max_length=10_000, widget=_text(3),
                                 error_messages={"required": _("Write the answer to the appeal.")})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "changed" and data.get("total") is None:
            self.add_error("total", _("Enter the new total."))
        return data


class ImprovementPlanForm(forms.Form):
    goals = forms.CharField(label=_("Improvement goals"), max_length=10_000,
                            widget=_text(4, _("What must improve, how it is measured, what help is given")),
                            error_messages={"required": _("Write the improvement goals.")})
    start = forms.DateField(label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end cannot be before the start."))
        return data


class FollowUpForm(forms.Form):
    on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    progress = forms.IntegerField(label=_("Progress (%)"), min_value=0, max_value=100)
    notes = forms.CharField(label=_("Notes"), max_length=10_000, widget=_text(2),
                            error_messages={"required": _("Write what was followed up.")})


class PlanCloseForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=10_000, required=False,
                              widget=_text(2, _("What improved, what did not")))


class SchemeVersionForm(forms.Form):
    spec = forms.CharField(label=_("The scheme (JSON)"), widget=forms.Textarea(attrs={"rows": 24, "class": "mono",
                                                                                     "spellcheck": "false"}))
    note = forms.CharField(label=_("What changes in this version"), required=False, max_length=500,
                           widget=_text(2))
    activate = forms.BooleanField(label=_("Make it the current version now"), required=False,
                                  help_text=_("Periods opened from now on use the current version; running periods "
                                              "keep theirs."))

    def clean_spec(self) -> dict[str, Any]:
        text = self.cleaned_data["spec"]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON: line %(line)s, column %(column)s."),
                code="json", params={"line": exc.lineno, "column": exc.colno}) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_("The scheme must be a JSON object ({…})."), code="json")
        return data
