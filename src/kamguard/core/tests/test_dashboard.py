"""The home dashboard's organisation section, as an administrator sees it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from kamguard.core.dashboard import dashboard_for

pytestmark = pytest.mark.django_db


def test_the_people_by_role_table_names_each_role_in_the_readers_language(world: Any) -> None:
    with translation.override("zh-hans"):
        section = next(s for s in dashboard_for(world.adam) if s.key == "org")
        rows = {str(row["role"]): row["count"] for row in section.rows}
    assert rows["大客户经理"] == 4  # alice, bob, henry and carol: an administrator sees every department
    assert "manager" not in rows


def test_the_dashboard_page_shows_no_role_codes_in_chinese(world: Any, client_for: Any) -> None:
    body = client_for(world.adam).get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<td>external_auditor</td>" not in body
    assert "大客户经理" in body
