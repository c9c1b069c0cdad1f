"""Forms of the relay pages. They only shape input; every rule lives in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.org.models import Department, Post, User
from kamguard.relay.models import RelayCategory

CUSTOMER_CHOICES_MAX = 500


class DateInput(forms.DateInput):
    """<input type=date> only shows ISO dates, whatever the page's language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _people() -> list[tuple[str, str]]:
    rows = User.objects.filter(is_active=True).select_related("post").order_by("full_name")
    return [(str(u.pk), f"{u.full_name or u.username}" + (f" · {u.post.name}" if u.post else "")) for u in rows]


class RelayForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=RelayCategory.objects.none())
    content = forms.CharField(label=_("Content"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}))
    suggestions = forms.CharField(label=_("Suggestions or requests"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    receiver = forms.TypedChoiceField(label=_("Receiver"), required=False, coerce=int, empty_value=None,
                                      help_text=_("Leave empty to let the category's routing rules choose."))
    customer = forms.TypedChoiceField(label=_("Customer"), required=False, coerce=int, empty_value=None,
                                      help_text=_("The customer the information concerns, if any."))
    relayed_at = forms.DateTimeField(label=_("Relay time"), required=False, widget=DateTimeInput(),
                                     help_text=_("Empty: now. For information passed on earlier, at most 30 days ago."))

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from kamguard.customers.selectors import customer_list

        self.fields["category"].queryset = RelayCategory.objects.filter(is_active=True).order_by("code")  # type: ignore[attr-defined]
        people = [(k, v) for k, v in _people() if k != str(viewer.pk)]
        self.fields["receiver"].choices = [("", _("— by routing rules —")), *people]  # type: ignore[attr-defined]
        customers = customer_list(viewer=viewer).values_list("pk", "name")[:CUSTOMER_CHOICES_MAX]
        self.fields["customer"].choices = [("", "—"), *((str(pk), name) for pk, name in customers)]  # type: ignore[attr-defined]


class HandleForm(forms.Form):
    handling_opinion = forms.CharField(label=_("Handling opinion"), max_length=2000,
                                       widget=forms.Textarea(attrs={"rows": 3}))
    quality = forms.TypedChoiceField(
        label=_("Information quality"), required=False, coerce=int, empty_value=None,
        choices=[("", "—"), ("5", _("5 — excellent")), ("4", _("4 — useful")), ("3", _("3 — fair")),
                 ("2", _("2 — thin")), ("1", _("1 — useless"))])


class FeedbackForm(forms.Form):
    feedback = forms.CharField(label=_("Feedback"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("The result, as the provider should hear it."))


class CategoryForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=80)
    name_en = forms.CharField(label=_("English name"), max_length=80, required=False)
    receive_hours = forms.IntegerField(label=_("Receive within (hours)"), min_value=1, max_value=10000)
    handle_hours = forms.IntegerField(label=_("Handle within (hours)"), min_value=1, max_value=10000)
    feedback_hours = forms.IntegerField(label=_("Feed back within (hours)"), min_value=1, max_value=10000)
    is_active = forms.BooleanField(label=pgettext_lazy("relay category", "Active"), required=False, initial=True)


class RuleForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=RelayCategory.objects.order_by("code"))
    department = forms.ModelChoiceField(label=_("For providers in"), required=False,
                                        queryset=Department.objects.filter(is_active=True).order_by("path"),
                                        empty_label=_("the whole company"))
    post = forms.ModelChoiceField(label=_("Receiving post"), required=False,
                                  queryset=Post.objects.filter(is_active=True).order_by("name"))
    person = forms.TypedChoiceField(label=_("Or receiving person"), required=False, coerce=int, empty_value=None)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32767, initial=0,
                                  help_text=_("Lower comes first among rules of the same department."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "—"), *_people()]  # type: ignore[attr-defined]


class ReportForm(forms.Form):
    day = forms.DateField(label=_("Day"), required=False, widget=DateInput)
