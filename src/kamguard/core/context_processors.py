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
    in_userbox: bool = False  # offered as the person's name beside "Sign out", not in the menu


def _may_exchange(user: Any) -> bool:
    from kamguard.core.io.registry import kind_list
    from kamguard.core.io.runner import export_allowed, import_allowed

    return export_allowed(user) or any(import_allowed(user, kind) for kind in kind_list())


@dataclass(frozen=True)
class NavGroup:
    """A menu entry that opens a list of pages; shown only when at least one of them is offered."""

    key: str
    label: Promise
    items: tuple[NavItem, ...]


def _may_see_risk(user: Any) -> bool:
    from kamguard.risk.services.access import may_view_risk

    return may_view_risk(user)


NAV: tuple[NavItem | NavGroup, ...] = (
    NavItem("home", _("Dashboard"), "core:home"),
    NavGroup("customers", _("Customers"), (
        NavItem("customers", _("Customers"), "customers:my_customers", Right.VIEW_ORG, ("/customers/",)),
        NavItem("pools", _("Shared pools"), "customers:pool_list", Right.VIEW_ORG, ("/customers/pools/",)),
        NavItem("disputes", _("Disputes"), "customers:dispute_list", Right.VIEW_ORG,
                ("/customers/disputes/", "/customers/transfers/")),
        NavItem("allocation", _("Allocation"), "allocation:ruleset_list", Right.VIEW_ORG, ("/allocation/",)),
    )),
    NavGroup("sales", _("Sales"), (
        NavItem("sales", _("Opportunities"), "sales:home", Right.VIEW_ORG, ("/sales/",)),
        NavItem("contracts", _("Contracts and orders"), "contracts:home", Right.VIEW_ORG, ("/contracts/",)),
        NavItem("approvals", _("Approvals"), "approvals:home", Right.VIEW_ORG, ("/approvals/",)),
    )),
    NavGroup("work", _("Field work"), (
        NavItem("activities", _("Visits and contacts"), "activities:home", Right.VIEW_ORG, ("/activities/",)),
        NavItem("plans", _("Marketing plans"), "plans:home", Right.VIEW_ORG, ("/plans/",)),
        NavItem("worklogs", _("Work logs"), "worklogs:home", Right.VIEW_ORG, ("/worklogs/",)),
        NavItem("relay", _("Relay forms"), "relay:home", Right.VIEW_ORG, ("/relay/",)),
        NavItem("meetings", _("Meetings"), "meetings:home", Right.VIEW_ORG, ("/meetings/",)),
        NavItem("records", _("Records"), "records:home", Right.VIEW_ORG, ("/records/",)),
        NavItem("supervision", _("Team today"), "supervision:home", Right.VIEW_ORG, ("/supervision/",)),
    )),
    NavGroup("performance", _("Performance"), (
        NavItem("scorecards", _("Scorecards"), "performance:home", Right.VIEW_ORG, ("/performance/",)),
        NavItem("goals", _("Goals and OKRs"), "goals:home", Right.VIEW_ORG, ("/goals/",)),
        NavItem("reviews", _("360 reviews"), "reviews:home", Right.VIEW_ORG, ("/reviews/",)),
    )),
    NavGroup("organisation", _("Organisation"), (
        NavItem("people", _("People"), "org:user_list", Right.VIEW_ORG, ("/org/people/", "/org/duties/")),
        NavItem("org", _("Organisation"), "org:department_list", Right.VIEW_ORG, ("/org/",)),
    )),
    NavItem("risk", _("Risk"), "risk:home", None, ("/risk/",), _may_see_risk),
    NavItem("audit", _("Audit trail"), "audit:event_list", Right.VIEW_AUDIT, ("/audit/",)),
    NavItem("imports", _("Import and export"), "core:import_export", None, ("/io/",), _may_exchange),
    NavItem("security", _("My account"), "accounts:security", None, ("/accounts/",), in_userbox=True),
)


def _all_items() -> list[NavItem]:
    return [item for entry in NAV for item in (entry.items if isinstance(entry, NavGroup) else (entry,))]


def _offered(item: NavItem, user: Any, rights: frozenset[Right], active_key: str) -> dict[str, Any] | None:
    if item.right is not None and item.right not in rights:
        return None
    if item.shown is not None and not item.shown(user):
        return None
    try:
        url = reverse(item.url_name)
    except Exception:  # noqa: BLE001 - a page not installed yet is simply not offered
        return None
    return {"key": item.key, "label": item.label, "url": url, "active": item.key == active_key}


def navigation(request: HttpRequest) -> dict[str, Any]:
    """`nav_items`: the menu's entries, each a page ({key, label, url, active}) or a group of pages
    ({group: True, key, label, active, items}); a group with one page offered shows as that page.
    `account_item`: the page offered under the person's name beside "Sign out" (their account), which keeps
    the menu on one line on a laptop screen."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "account_item": None}
    rights = user.rights
    active_key = "home" if request.path == "/" else ""
    best = 0
    for item in _all_items():  # the longest matching prefix wins ("/org/people/" over "/org/")
        for prefix in item.match:
            if active_key != "home" and request.path.startswith(prefix) and len(prefix) > best:
                active_key, best = item.key, len(prefix)
    entries: list[dict[str, Any]] = []
    account_item: dict[str, Any] | None = None
    for entry in NAV:
        if isinstance(entry, NavItem):
            offered = _offered(entry, user, rights, active_key)
            if offered is not None and entry.in_userbox:
                account_item = offered
            elif offered is not None:
                entries.append(offered)
            continue
        pages = [p for p in (_offered(i, user, rights, active_key) for i in entry.items) if p is not None]
        if len(pages) == 1:
            entries.append(pages[0])
        elif pages:
            entries.append({"group": True, "key": entry.key, "label": entry.label, "items": pages,
                            "active": any(p["active"] for p in pages)})
    from kamguard.org.forms import ROLE_LABELS

    # The roles in the user's language (shown as the name's tooltip), in a stable order.
    return {"nav_items": entries, "account_item": account_item,
            "user_roles": [str(ROLE_LABELS[r]) for r in sorted(user.roles, key=lambda r: r.value)]}
