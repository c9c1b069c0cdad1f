from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.approvals.models import APPROVER_CHOICES, ApprovalPolicy
from kamguard.approvals.registry import registered_kinds
from kamguard.org.domain.roles import Role
from kamguard.org.forms import ROLE_LABELS
from kamguard.org.models import User

STEP_ROWS = 5
TIER_CHOICES = [("A", "A"), ("B", "B"), ("C", "C")]


def kind_choices() -> list[tuple[str, str]]:
    return registered_kinds()


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect,
                                 choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Required when you reject."))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


def _people() -> Any:
    return User.objects.filter(is_active=True).order_by("full_name")


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind of request"), choices=kind_choices)
    priority = forms.IntegerField(label=_("Priority"), min_value=0, initial=100,
                                  help_text=_("Policies of a kind are checked from the lowest number up; the first "
                                              "one whose conditions match decides."))
    min_amount = forms.DecimalField(label=_("Amount from"), required=False, min_value=0, max_digits=16,
                                    decimal_places=2, help_text=_("Empty: any amount."))
    max_amount = forms.DecimalField(label=_("Amount below"), required=False, min_value=0, max_digits=16,
                                    decimal_places=2)
    min_discount_pct = forms.DecimalField(label=_("Discount from (%)"), required=False, min_value=0, max_value=100,
                                          max_digits=5, decimal_places=2, help_text=_("Empty: any discount."))
    tiers = forms.MultipleChoiceField(label=_("Customer tiers"), required=False, choices=TIER_CHOICES,
                                      widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: any tier."))
    due_hours = forms.IntegerField(label=_("Hours per step"), min_value=1, max_value=1440, initial=48,
                                   help_text=_("Each step is due this long after it starts; then reminders go out "
                                               "and it shows as overdue."))
    is_active = forms.BooleanField(label=pgettext_lazy("switched on", "Active"), required=False, initial=True)
    description = forms.CharField(label=_("Description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_choices = [("", "—")] + [(r.value, ROLE_LABELS.get(r, r.value)) for r in Role]
        for i in range(1, STEP_ROWS + 1):
            self.fields[f"step{i}_approver"] = forms.ChoiceField(
                label=_("Step %(n)s: who decides") % {"n": i}, required=False,
                choices=[("", _("— no step —"))] + APPROVER_CHOICES)
            self.fields[f"step{i}_role"] = forms.ChoiceField(label=_("Step %(n)s: role") % {"n": i}, required=False,
                                                             choices=role_choices,
                                                             help_text=_("For “Anyone with a role”."))
            self.fields[f"step{i}_person"] = forms.ModelChoiceField(
                label=_("Step %(n)s: person") % {"n": i}, required=False, queryset=_people(),
                help_text=_("For “A named person”."))
            if i > 1:
                self.fields[f"step{i}_parallel"] = forms.BooleanField(
                    label=_("Step %(n)s: together with the step before") % {"n": i}, required=False,
                    help_text=_("Parallel: both must approve, in any order."))

    @classmethod
    def initial_for(cls, policy: ApprovalPolicy) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": policy.name, "kind": policy.kind, "priority": policy.priority, "min_amount": policy.min_amount,
            "max_amount": policy.max_amount, "min_discount_pct": policy.min_discount_pct,
            "tiers": [t for t in policy.tiers.split(",") if t], "due_hours": policy.due_hours,
            "is_active": policy.is_active, "description": policy.description}
        previous_stage = None
        for i, step in enumerate(policy.steps or [], start=1):
            if i > STEP_ROWS:
                break
            initial[f"step{i}_approver"] = step.get("approver", "")
            initial[f"step{i}_role"] = step.get("role", "")
            initial[f"step{i}_person"] = step.get("user_id")
            if i > 1:
                initial[f"step{i}_parallel"] = step.get("stage") == previous_stage
            previous_stage = step.get("stage")
        return initial

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        steps: list[dict[str, Any]] = []
        stage = 0
        for i in range(1, STEP_ROWS + 1):
            approver = data.get(f"step{i}_approver")
            if not approver:
                continue
            if not (steps and data.get(f"step{i}_parallel")):
                stage += 1
            person = data.get(f"step{i}_person")
            steps.append({"stage": stage, "approver": approver, "role": data.get(f"step{i}_role") or "",
                          "user_id": person.pk if person else None})
        return {"name": data["name"], "kind": data["kind"], "priority": data["priority"],
                "min_amount": data.get("min_amount"), "max_amount": data.get("max_amount"),
                "min_discount_pct": data.get("min_discount_pct"), "tiers": ",".join(data.get("tiers") or []),
                "due_hours": data["due_hours"], "is_active": data.get("is_active", False),
                "description": data.get("description", ""), "steps": steps}


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(label=_("Delegate"), queryset=User.objects.none(),
                                      help_text=_("Decides your approvals on your behalf during these days."))
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    kinds = forms.MultipleChoiceField(label=_("Kinds"), required=False, choices=kind_choices,
                                      widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: all kinds."))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = _people()  # type: ignore[attr-defined]
