"""The menu: pages grouped by capability, each page offered only to those who may open it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from kamguard.core.context_processors import NAV, NavGroup, NavItem, navigation

pytestmark = pytest.mark.django_db


def _menu(user: Any, path: str = "/") -> list[dict[str, Any]]:
    request = RequestFactory().get(path)
    request.user = user
    return navigation(request)["nav_items"]


def _keys(entries: list[dict[str, Any]]) -> set[str]:
    keys: set[str] = set()
    for entry in entries:
        keys |= {page["key"] for page in entry["items"]} if entry.get("group") else {entry["key"]}
    return keys


def test_every_page_of_the_menu_is_named_once() -> None:
    keys = [item.key for entry in NAV for item in (entry.items if isinstance(entry, NavGroup) else (entry,))]
    assert len(keys) == len(set(keys))
    assert all(isinstance(entry, NavGroup | NavItem) for entry in NAV)


def test_groups_hold_their_pages_and_mark_the_current_one(world: Any) -> None:
    entries = _menu(world.sam, "/customers/pools/")
    groups = {entry["key"]: entry for entry in entries if entry.get("group")}
    customers = groups["customers"]
    assert [page["key"] for page in customers["items"]][:3] == ["customers", "pools", "disputes"]
    assert customers["active"] is True
    assert [page["key"] for page in customers["items"] if page["active"]] == ["pools"]
    assert groups["organisation"]["active"] is False


def test_an_auditor_is_offered_the_audit_trail_and_a_manager_is_not(world: Any) -> None:
    assert "audit" in _keys(_menu(world.audrey))
    assert "audit" not in _keys(_menu(world.alice))


def test_risk_is_offered_to_auditors_and_administrators_only(world: Any) -> None:
    assert "risk" in _keys(_menu(world.audrey)) and "risk" in _keys(_menu(world.adam))
    for person in (world.alice, world.sam, world.sue, world.fiona):
        assert "risk" not in _keys(_menu(person))


def test_a_group_with_one_page_offered_shows_as_that_page(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from kamguard.core import context_processors

    lonely = NavGroup("lonely", "Lonely", (NavItem("people", "People", "org:user_list"),
                                           NavItem("nowhere", "Nowhere", "no_such:page")))
    monkeypatch.setattr(context_processors, "NAV", (lonely,))
    entries = _menu(world.alice)
    assert entries == [{"key": "people", "label": "People", "url": "/org/people/", "active": False}]


def test_the_page_renders_groups_as_menus(world: Any) -> None:
    client = Client()
    client.force_login(world.sam)
    body = client.get("/customers/pools/").content.decode()
    assert 'data-nav-group="customers"><summary class="current">' in body
    assert 'data-nav="pools" aria-current="page"' in body


def test_the_account_page_is_the_persons_name_not_a_menu_entry(world: Any) -> None:
    request = RequestFactory().get("/accounts/security/")
    request.user = world.alice
    context = navigation(request)
    assert "security" not in _keys(context["nav_items"])
    assert context["account_item"]["key"] == "security" and context["account_item"]["active"] is True
    client = Client()
    client.force_login(world.alice)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    userbox = page[page.index('class="userbox"'):page.index("</header>")]
    assert 'data-nav="security"' in userbox and str(world.alice) in userbox
