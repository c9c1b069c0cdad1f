"""Masking of personal contact data (phone, e-mail, WeChat) for people without the right to see it."""

from __future__ import annotations


def mask_phone(value: str) -> str:
    digits = value.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if not digits.startswith("+") else min(6, len(digits) - 4)
    keep_head = min(keep_head, len(digits) - 4)
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def mask_email(value: str) -> str:
    if "@" not in value:
        return mask_text(value)
    local, _, domain = value.partition("@")
    head = local[:1]
    return f"{head}{'*' * max(3, len(local) - 1)}@{domain}"


def mask_text(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


MASKERS = {"phone": mask_phone, "email": mask_email, "wechat": mask_text}


def mask(kind: str, value: str) -> str:
    if not value:
        return ""
    return MASKERS.get(kind, mask_text)(value)
