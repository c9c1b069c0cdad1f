"""Forms of the customer pages. They only shape input; every rule lives in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.customers.models import DisputeOutcome, Pool, Size, Tier
from kamguard.org.models import Industry, User


class DateInput(forms.DateInput):
    input_type = "date"


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False,
                           help_text=_("18 characters; leave empty if you do not know it."))
    english_name = forms.CharField(label=_("English name"), max_length=300, required=False)
    aliases = forms.CharField(label=_("Aliases"), max_length=1000, required=False,
                              help_text=_("Other names, separated by |"))
    address = forms.CharField(label=_("Address"), max_length=300, required=False,
                              help_text=_("The region is derived from the address or the name."))
    website = forms.CharField(label=_("Website or e-mail domain"), max_length=200, required=False)
    industry = forms.ModelChoiceField(label=_("Industry"), queryset=Industry.objects.filter(is_active=True),
                                      required=False)
    size = forms.ChoiceField(label=_("Size"), choices=[("", "—"), *Size.choices], required=False)
    tier = forms.ChoiceField(label=_("Key-account tier"), choices=Tier.choices, initial=Tier.C)
    pool = forms.ModelChoiceField(label=_("Shared pool"), queryset=Pool.objects.filter(is_active=True),
                                  required=False, help_text=_("Where the customer goes when released."))
    duplicate_reason = forms.CharField(
        label=_("Why is this a different company?"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
        max_length=1000, help_text=_("Needed only when similar customers exist; it is recorded."))


class CustomerCreateForm(CustomerForm):
    contact_name = forms.CharField(label=_("First contact: name"), max_length=120, required=False)
    contact_phone = forms.CharField(label=_("First contact: phone"), max_length=32, required=False)
    contact_email = forms.CharField(label=_("First contact: e-mail"), max_length=254, required=False)


class CustomerEditForm(CustomerForm):
    reason = forms.CharField(label=_("Reason for the change"), max_length=1000, required=False)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    title = forms.CharField(label=_("Title"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    wechat = forms.CharField(label=_("WeChat"), max_length=64, required=False)
    is_decision_maker = forms.BooleanField(label=_("Decision-maker"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class TeamMemberForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.filter(is_active=True).order_by(
        "full_name"))
    role = forms.CharField(label=_("Role on the account"), max_length=60)
    credit_share = forms.DecimalField(label=_("Share of credit (%)"), min_value=0, max_value=100, decimal_places=2)
    end_on = forms.DateField(label=_("Until"), required=False, widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=1000, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000,
                             required=False)


class TransferForm(forms.Form):
    to_owner = forms.ModelChoiceField(label=_("New owner"), required=False, empty_label=_("Back to the shared pool"),
                                      queryset=User.objects.filter(is_active=True).order_by("full_name"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class MergeForm(forms.Form):
    merged = forms.TypedChoiceField(label=_("The duplicate to merge into this customer"), coerce=int, choices=[],
                                    required=False, widget=forms.RadioSelect)
    merged_id = forms.IntegerField(label=_("…or its number"), required=False, min_value=1)
    reason = forms.CharField(label=_("Why these records are the same customer"),
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)

    def __init__(self, *args: object, candidates: list[tuple[int, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["merged"].choices = candidates or []  # type: ignore[attr-defined]

    def chosen(self) -> int | None:
        return self.cleaned_data.get("merged") or self.cleaned_data.get("merged_id")


class DisputeFileForm(forms.Form):
    evidence = forms.CharField(label=_("Your evidence"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000,
                               help_text=_("First contact, visits, contacts you know, documents."))
    first_contact_on = forms.DateField(label=_("Your first contact"), required=False, widget=DateInput)
    contacts_known = forms.CharField(label=_("Contacts you know"), widget=forms.Textarea(attrs={"rows": 2}),
                                     max_length=2000, required=False)


class DisputeAnswerForm(forms.Form):
    answer = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000)
    first_contact_on = forms.DateField(label=_("Your first contact"), required=False, widget=DateInput)


class DisputeDecideForm(forms.Form):
    outcome = forms.ChoiceField(label=pgettext_lazy("dispute", "Outcome"), choices=DisputeOutcome.choices)
    reason = forms.CharField(label=_("Reason for both people"), widget=forms.Textarea(attrs={"rows": 4}),
                             max_length=5000)
    claimant_share = forms.DecimalField(label=_("Claimant's share of credit (%)"), required=False, min_value=0,
                                        max_value=100, decimal_places=2,
                                        help_text=_("Only for “shared through the account team”."))


class TransferDecideForm(forms.Form):
    approve = forms.TypedChoiceField(label=_("Decision"), coerce=lambda v: v == "1",
                                     choices=[("1", _("Approve")), ("0", _("Reject"))], widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000,
                             required=False, help_text=_("Required when rejecting."))


class PoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        from kamguard.customers.services.pools import OPTIONAL_RULES, RULE_FIELDS

        for name in RULE_FIELDS:
            # Plain integers: the service refuses negative values with a message (min_value would hide it).
            self.fields[name] = forms.IntegerField(label=getattr(Pool._meta.get_field(name), "verbose_name", name),
                                                   required=name not in OPTIONAL_RULES)


class PoolMemberForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.filter(is_active=True).order_by(
        "full_name"))
    is_admin = forms.BooleanField(label=_("Pool administrator"), required=False)


class OwnerOnForm(forms.Form):
    on = forms.DateField(label=_("Owner on"), widget=DateInput)
