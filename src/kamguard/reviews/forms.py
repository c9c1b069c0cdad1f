"""Forms of the review pages. Business rules (the circle, the answers' range, required answers) are checked by the
services; these only parse input, so a service's refusal is shown in place."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.reviews.models import Question, QuestionKind, Source

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SCALE_CHOICES = [(str(v), str(v)) for v in range(1, 6)]


class CycleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    period_start = forms.DateField(label=_("Period from"), widget=DATE)
    period_end = forms.DateField(label=_("Period until"), widget=DATE)
    subjects = forms.TypedMultipleChoiceField(label=_("People reviewed"), coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple,
                                              help_text=_("People in your scope. You can add more later."))

    def __init__(self, *args: Any, subject_choices: list[tuple[int, str]] | None = None, editing: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["subjects"]
        else:
            self.fields["subjects"].choices = subject_choices or []  # type: ignore[attr-defined]


class SubjectsAddForm(forms.Form):
    subjects = forms.TypedMultipleChoiceField(label=_("Add people"), coerce=int, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subjects"].choices = choices  # type: ignore[attr-defined]


class AssignmentAddForm(forms.Form):
    subject = forms.TypedChoiceField(label=_("Person reviewed"), coerce=int)
    source = forms.ChoiceField(label=pgettext_lazy("review", "Source"), choices=Source.choices)
    reviewer = forms.TypedChoiceField(label=_("Reviewer (colleague)"), coerce=int, required=False, empty_value=None)
    contact = forms.TypedChoiceField(label=_("Reviewer (customer contact)"), coerce=int, required=False,
                                     empty_value=None)

    def __init__(self, *args: Any, subjects: list[tuple[int, str]], people: list[tuple[int, str]],
                 contacts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subject"].choices = subjects  # type: ignore[attr-defined]
        self.fields["reviewer"].choices = [("", "—"), *people]  # type: ignore[attr-defined]
        self.fields["contact"].choices = [("", "—"), *contacts]  # type: ignore[attr-defined]


class AnswerForm(forms.Form):
    """One field per question, named q<question id>; whether an answer is required is the service's check, so
    every missing answer is named at once in the reader's language."""

    def __init__(self, *args: Any, questions: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in questions:
            label = f"{q.position}. {q.text}" + (" *" if q.required else "")
            if q.kind == QuestionKind.SCALE:
                # The range is the service's check (its message names the question), not the widget's.
                self.fields[f"q{q.pk}"] = forms.CharField(
                    label=label, required=False, max_length=10,
                    widget=forms.RadioSelect(choices=SCALE_CHOICES, attrs={"class": "scale"}),
                    help_text=_("1 = poor, 5 = excellent"))
            else:
                self.fields[f"q{q.pk}"] = forms.CharField(label=label, required=False, max_length=5_000,
                                                          widget=forms.Textarea(attrs={"rows": 3}))

    def answers(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class QuestionSetForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    source = forms.ChoiceField(label=pgettext_lazy("review", "Source"), choices=Source.choices)
    make_default = forms.BooleanField(label=_("Use for new reviews of this source"), required=False)


class QuestionRowForm(forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("question", "Kind"), choices=QuestionKind.choices)
    text_en = forms.CharField(label=_("Question (English)"), max_length=300, required=False)
    text_zh = forms.CharField(label=_("Question (Chinese)"), max_length=300, required=False)
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)

    def is_blank(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not (data.get("text_en") or data.get("text_zh"))


QuestionFormSet = forms.formset_factory(QuestionRowForm, extra=3, max_num=40, absolute_max=40)
