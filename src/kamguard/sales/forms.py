"""Sales forms: plain input shapes; the services validate and decide (their errors land on these fields)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.org.domain.roles import Role
from kamguard.org.models import Grade
from kamguard.sales.models import LostReason, Outcome, Product, RequiredStep, Stage

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), required=False, max_digits=16, decimal_places=2)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False, initial="CNY")
    expected_close_on = forms.DateField(label=_("Expected close date"), required=False, widget=DATE)
    probability = forms.IntegerField(label=_("Probability (%)"), required=False,
                                     help_text=_("Empty: the stage's default."))
    competitor = forms.CharField(label=_("Competitor"), max_length=120, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class OpportunityCreateForm(OpportunityForm):
    customer = forms.TypedChoiceField(label=_("Customer"), coerce=int)
    stage = forms.ChoiceField(label=_("Stage"))

    field_order = ["customer", "name", "stage", "amount", "currency", "expected_close_on", "probability",
                   "competitor", "description"]

    def __init__(self, *args: Any, customers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["customer"]).choices = customers
        cast(forms.ChoiceField, self.fields["stage"]).choices = [(s.code, s.label) for s in Stage.objects.filter(
            is_active=True, outcome=Outcome.OPEN).order_by("order", "pk")]


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Move to"))
    note = forms.CharField(label=_("Note"), max_length=400, required=False)
    lost_reason = forms.ChoiceField(label=_("Lost reason"), required=False,
                                    choices=[("", "—"), *LostReason.choices],
                                    help_text=_("Needed when the opportunity is lost."))
    competitor = forms.CharField(label=_("Competitor"), max_length=120, required=False)
    lost_note = forms.CharField(label=_("Lost reason details"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, current_stage_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["stage"]).choices = [(s.code, s.label) for s in Stage.objects.filter(is_active=True).exclude(
            pk=current_stage_id or 0).order_by("order", "pk")]


class QuoteHeadForm(forms.Form):
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DATE)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class QuoteLineForm(forms.Form):
    product = forms.TypedChoiceField(label=_("Product"), coerce=int, required=False, empty_value=None)
    quantity = forms.DecimalField(label=_("Quantity"), required=False, max_digits=14, decimal_places=3)
    discount_pct = forms.DecimalField(label=_("Discount (%)"), required=False, max_digits=7, decimal_places=2)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["product"]).choices = [("", "—")] + [
            (p.pk, f"{p.code} {p.label} · {p.list_price} {p.currency}/{p.unit}")
            for p in Product.objects.filter(active=True).order_by("code")]


QuoteLineFormSet = forms.formset_factory(QuoteLineForm, extra=0, min_num=1, max_num=50)


class ProductForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False)
    list_price = forms.DecimalField(label=_("List price"), max_digits=14, decimal_places=2)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False, initial="CNY")
    active = forms.BooleanField(label=pgettext_lazy("switched on", "Active"), required=False, initial=True)


class StageForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("English name"), max_length=80)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=80)
    order = forms.IntegerField(label=pgettext_lazy("position", "Order"), min_value=0, max_value=999)
    probability = forms.IntegerField(label=_("Default probability (%)"), min_value=0, max_value=100)
    outcome = forms.ChoiceField(label=pgettext_lazy("opportunity", "Outcome"), choices=Outcome.choices)
    required_steps = forms.MultipleChoiceField(label=_("Required steps"), choices=RequiredStep.choices,
                                               required=False, widget=forms.CheckboxSelectMultiple,
                                               help_text=_("Needed before an opportunity enters this stage or any "
                                                           "later one."))
    is_active = forms.BooleanField(label=pgettext_lazy("switched on", "Active"), required=False, initial=True)


ROLE_LABELS = {
    Role.MANAGER: _("Key account manager"), Role.SPECIALIST: _("Key account specialist"),
    Role.SUPERVISOR: _("Supervisor / sales director"), Role.FINANCE: _("Finance"), Role.ADMIN: _("Administrator"),
}


class AuthorityForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), required=False)
    grade = forms.TypedChoiceField(label=_("From grade"), coerce=int, required=False, empty_value=None,
                                   help_text=_("This grade and the ones above it; empty: any grade."))
    max_discount_pct = forms.DecimalField(label=_("Largest discount without approval (%)"), max_digits=7,
                                          decimal_places=2)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [("", _("Any role")), *[(str(k), v) for k, v in ROLE_LABELS.items()]]
        cast(forms.ChoiceField, self.fields["grade"]).choices = [("", _("Any grade"))] + [
            (g.pk, f"{g.code} {g.name}") for g in Grade.objects.filter(is_active=True).order_by("rank")]


class ForecastForm(forms.Form):
    commit_amount = forms.DecimalField(label=_("Commit"), max_digits=16, decimal_places=2,
                                       help_text=_("What you promise to win this month."))
    best_case_amount = forms.DecimalField(label=_("Best case"), max_digits=16, decimal_places=2,
                                          help_text=_("What you could win if everything goes well."))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SettingsForm(forms.Form):
    forecast_cutoff_day = forms.IntegerField(label=_("Forecast cut-off day of the month"), min_value=1,
                                             max_value=28,
                                             help_text=_("A month's forecast is locked at the end of this day."))
    default_currency = forms.CharField(label=_("Default currency"), max_length=3)
