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


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", _("Dashboard"), "core:home"),
    NavItem("people", _("People"), "org:user_list", Right.VIEW_ORG),
    NavItem("org", _("Organisation"), "org:department_list", Right.VIEW_ORG),
    NavItem("audit", _("Audit trail"), "audit:event_list", Right.VIEW_AUDIT),
    NavItem("imports", _("Import and export"), "core:import_export", Right.MANAGE_ORG),
    NavItem("security", _("My account"), "accounts:security"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    rights = user.rights
    items = []
    current = getattr(getattr(request, "resolver_match", None), "namespace", "")
    for item in NAV_ITEMS:
        if item.right is not None and item.right not in rights:
            continue
        try:
            url = reverse(item.url_name)
        except Exception:  # noqa: S112 - a page not installed yet is simply not offered
            continue
        items.append({"key": item.key, "label": item.label, "url": url,
                      "active": item.url_name.split(":")[0] == current and item.key != "home"
                      or (item.key == "home" and request.path == url)})
    return {"nav_items": items, "user_roles": sorted(r.value for r in user.roles)}
