"""Navigation by role: each entry names the right it needs, so a menu never offers a refused page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kamguard.org.domain.roles import Right


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Promise
    url_name: str
    right: Right | None = None
    match: tuple[str, ...] = ()  # path prefixes that make this entry the current one


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", _("Dashboard"), "core:home"),
    NavItem("people", _("People"), "org:user_list", Right.VIEW_ORG, ("/org/people/", "/org/duties/")),
    NavItem("org", _("Organisation"), "org:department_list", Right.VIEW_ORG, ("/org/",)),
    NavItem("audit", _("Audit trail"), "audit:event_list", Right.VIEW_AUDIT, ("/audit/",)),
    NavItem("imports", _("Import and export"), "core:import_export", Right.MANAGE_ORG, ("/io/",)),
    NavItem("security", _("My account"), "accounts:security", None, ("/accounts/",)),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    rights = user.rights
    items = []
    active_key = "home" if request.path == "/" else ""
    for item in NAV_ITEMS:  # the first entry whose prefix matches wins ("people" before "org")
        if not active_key and any(request.path.startswith(prefix) for prefix in item.match):
            active_key = item.key
    for item in NAV_ITEMS:
        if item.right is not None and item.right not in rights:
            continue
        try:
            url = reverse(item.url_name)
        except Exception:  # noqa: S112 - a page not installed yet is simply not offered
            continue
        items.append({"key": item.key, "label": item.label, "url": url, "active": item.key == active_key})
    return {"nav_items": items, "user_roles": sorted(r.value for r in user.roles)}
