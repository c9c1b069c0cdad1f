"""Forms of the contract pages. Lines and instalments are typed one per line ("product | quantity | unit price",
"date | amount | note"), which works the same on a phone as on a desk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.contracts.models import FindingKind, FindingStatus

LIMIT_CHOICES = 500
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # what <input type=date> reads


def _choices(items: Any, blank: bool = True) -> list[tuple[Any, str]]:
    return ([("", "—")] if blank else []) + [(pk, label) for pk, label in items]


def _parse_rows(text: str, width: int) -> list[list[str]]:
    rows = []
    for raw in (text or "").splitlines():
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.replace("｜", "|").split("|")]
        rows.append((parts + [""] * width)[:width])
    return rows


class ContractForm(forms.Form):
    customer = forms.TypedChoiceField(label=_("Customer"), coerce=int)
    title = forms.CharField(label=pgettext_lazy("contract", "Title"), max_length=200)
    opportunity_id = forms.TypedChoiceField(label=_("Opportunity"), coerce=int, required=False, empty_value=None,
                                            help_text=_("Optional: without lines, the lines of its approved quote "
                                                        "are copied; signing the contract wins it."))
    amount = forms.DecimalField(label=_("Amount"), required=False, max_digits=14, decimal_places=2,
                                help_text=_("Leave empty to use the total of the lines."))
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=DATE)
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=DATE)
    lines = forms.CharField(label=_("Lines"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("One per line: product | quantity | unit price"))
    schedule = forms.CharField(label=_("Payment schedule"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("One instalment per line: due date (YYYY-MM-DD) | amount | note. They "
                                           "must add up to the amount."))
    terms = forms.CharField(label=_("Terms"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, customers: Any = (), opportunities: Any = (), editing: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _choices(customers)  # type: ignore[attr-defined]
        self.fields["opportunity_id"].choices = _choices(opportunities)  # type: ignore[attr-defined]
        if editing:
            for name in ("customer", "opportunity_id"):
                del self.fields[name]

    def clean_lines(self) -> list[dict[str, Any]] | None:
        text = self.cleaned_data.get("lines", "")
        if not text.strip():
            return None
        lines = []
        for product, quantity, price in _parse_rows(text, 3):
            if not product or not price:
                raise forms.ValidationError(_("Write each line as: product | quantity | unit price"))
            lines.append({"product": product, "quantity": quantity or "1", "unit_price": price})
        return lines

    def clean_schedule(self) -> list[dict[str, Any]]:
        items = []
        for day, amount, note in _parse_rows(self.cleaned_data.get("schedule", ""), 3):
            try:
                due_on = dt.date.fromisoformat(day)
            except ValueError:
                raise forms.ValidationError(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": day}) from None
            items.append({"due_on": due_on, "amount": amount, "note": note})
        return items


class SignForm(forms.Form):
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx), at most 20 MB."))


class OrderForm(forms.Form):
    customer = forms.TypedChoiceField(label=_("Customer"), coerce=int)
    contract = forms.TypedChoiceField(label=_("Contract"), coerce=int, required=False, empty_value=None,
                                      help_text=_("An order from a signed contract takes its lines."))
    order_date = forms.DateField(label=_("Order date"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount"), required=False, max_digits=14, decimal_places=2)
    number = forms.CharField(label=_("Order number"), max_length=64, required=False)
    delivery_address = forms.CharField(label=_("Delivery address"), max_length=300, required=False)
    due_on = forms.DateField(label=_("Payment due"), required=False, widget=DATE,
                             help_text=_("Empty: 30 days after the order."))
    lines = forms.CharField(label=_("Lines"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("One per line: product | quantity | unit price"))

    def __init__(self, *args: Any, customers: Any = (), contracts: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _choices(customers)  # type: ignore[attr-defined]
        self.fields["contract"].choices = _choices(contracts)  # type: ignore[attr-defined]

    clean_lines = ContractForm.clean_lines


class DeliveryForm(forms.Form):
    address = forms.CharField(label=_("Address"), max_length=300)
    shipped_on = forms.DateField(label=_("Shipped on"), widget=DATE)
    delivered_on = forms.DateField(label=_("Delivered on"), required=False,
                                   widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class PaymentForm(forms.Form):
    customer = forms.TypedChoiceField(label=_("Customer"), coerce=int)
    paid_on = forms.DateField(label=_("Paid on"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    order = forms.TypedChoiceField(label=pgettext_lazy("sales order", "Order"), coerce=int, required=False,
                                   empty_value=None, help_text=_("Empty: matched to the customer's oldest dues."))
    payer_name = forms.CharField(label=_("Payer"), max_length=200, required=False)
    payer_account = forms.CharField(label=_("Payer's account"), max_length=64, required=False)
    over_reason = forms.CharField(label=_("Reason if more than is due"), max_length=300, required=False)

    def __init__(self, *args: Any, customers: Any = (), orders: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = _choices(customers)  # type: ignore[attr-defined]
        self.fields["order"].choices = _choices(orders)  # type: ignore[attr-defined]


class ConfirmForm(forms.Form):
    decision = forms.ChoiceField(choices=(("confirm", _("Confirm")), ("reject", _("Reject"))))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FindingFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *FindingKind.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *FindingStatus.choices])


class NoteForm(forms.Form):
    note = forms.CharField(label=_("How was it resolved?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class SecretForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("Which system uses it, e.g. Kingdee ERP."))
