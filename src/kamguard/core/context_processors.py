"""Navigation by role: each entry names the right it needs, so a menu never offers a refused page."""

from __future__ import annotations

from collections.abc import Callable
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
    shown: Callable[[Any], bool] | None = None  # a finer test than one right, given the user


def _may_exchange(user: Any) -> bool:
    from kamguard.core.io.registry import kind_list
    from kamguard.core.io.runner import export_allowed, import_allowed

    return export_allowed(user) or any(import_allowed(user, kind) for kind in kind_list())


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", _("Dashboard"), "core:home"),
    NavItem("people", _("People"), "org:user_list", Right.VIEW_ORG, ("/org/people/", "/org/duties/")),
    NavItem("org", _("Organisation"), "org:department_list", Right.VIEW_ORG, ("/org/",)),
    NavItem("customers", _("Customers"), "customers:my_customers", Right.VIEW_ORG, ("/customers/",)),
    NavItem("pools", _("Shared pools"), "customers:pool_list", Right.VIEW_ORG, ("/customers/pools/",)),
    NavItem("disputes", _("Disputes"), "customers:dispute_list", Right.VIEW_ORG,
            ("/customers/disputes/", "/customers/transfers/")),
    NavItem("allocation", _("Allocation"), "allocation:ruleset_list", Right.VIEW_ORG, ("/allocation/",)),
    NavItem("audit", _("Audit trail"), "audit:event_list", Right.VIEW_AUDIT, ("/audit/",)),
    NavItem("imports", _("Import and export"), "core:import_export", None, ("/io/",), _may_exchange),
    NavItem("security", _("My account"), "accounts:security", None, ("/accounts/",)),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    rights = user.rights
    items = []
    active_key = "home" if request.path == "/" else ""
    best = 0
    for item in NAV_ITEMS:  # the longest matching prefix wins ("/org/people/" over "/org/")
        for prefix in item.match:
            if active_key != "home" and request.path.startswith(prefix) and len(prefix) > best:
                active_key, best = item.key, len(prefix)
    for item in NAV_ITEMS:
        if item.right is not None and item.right not in rights:
            continue
        if item.shown is not None and not item.shown(user):
            continue
        try:
            url = reverse(item.url_name)
        except Exception:  # noqa: S112 - a page not installed yet is simply not offered
            continue
        items.append({"key": item.key, "label": item.label, "url": url, "active": item.key == active_key})
    from kamguard.org.forms import ROLE_LABELS

    # The roles in the user's language (shown as the name's tooltip), in a stable order.
    return {"nav_items": items, "user_roles": [str(ROLE_LABELS[r]) for r in sorted(user.roles, key=lambda r: r.value)]}
