"""Template helpers of the goals pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping|get:key — a dict's value (None when missing)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
