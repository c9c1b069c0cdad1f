from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kamguard.core.io.formats import Format


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("File"), help_text=_("CSV (UTF-8), Excel .xlsx or JSON Lines, with a header row."))
    file_format = forms.ChoiceField(
        label=_("Format"), required=False,
        choices=[("", _("From the file name")), *[(f.value, f.value.upper()) for f in Format]])
    dry_run = forms.BooleanField(label=_("Dry run: check the file and report, write nothing"), required=False)
    atomic = forms.BooleanField(label=_("All or nothing: write nothing if any row is bad"), required=False)

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = kinds
