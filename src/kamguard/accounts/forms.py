from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamguard.accounts.services import TOKEN_MAX_DAYS


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"), max_length=12, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "pattern": "[0-9 ]*"}),
        help_text=_("Open your authenticator app and enter the code shown for KAMGuard."),
    )


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("What the token is for, e.g. “ERP sync”."))
    scope = forms.ChoiceField(label=_("Access"), choices=[("read", _("Read only")), ("write", _("Read and write"))],
                              initial="read", widget=forms.RadioSelect)
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"), coerce=int, initial=90,
        choices=[(7, _("7 days")), (30, _("30 days")), (90, _("90 days")), (180, _("180 days")),
                 (TOKEN_MAX_DAYS, _("1 year"))],
    )

    def scopes(self) -> list[str]:
        return ["read", "write"] if self.cleaned_data["scope"] == "write" else ["read"]


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300,
                             help_text=_("Recorded in the audit trail, e.g. “lost phone, ticket 123”."))


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(label=_("Current password"), strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("New password"), strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                   help_text=_("At least 10 characters; not a common password, not all digits."))
    new_password_again = forms.CharField(label=_("New password, again"), strip=False,
                                         widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data
