"""Phone numbers normalised to E.164 with phonenumbers; mainland China is the default region."""

from __future__ import annotations

import phonenumbers


def normalise_phone(raw: str, default_region: str = "CN") -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
