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


def _waiting(user: Any) -> dict[str, Any]:
    with translation.override("en"):
        section = next((s for s in dashboard_for(user) if s.key == "waiting"), None)
        return {} if section is None else {str(f.label): f.value for f in section.figures}


def test_waiting_for_me_counts_what_each_person_can_act_on(world: Any) -> None:
    from kamguard.customers.services.ownership import transfer_request_create
    from kamguard.customers.services.records import customer_create

    # given: alice asks to transfer her customer to bob; the approval waits for her supervisor sam
    customer = customer_create(actor=world.alice, name="上海仪表科技有限公司", owner=world.alice)
    transfer_request_create(actor=world.alice, customer_id=customer.pk, to_owner_id=world.bob.pk,
                            reason="客户搬到浦东，王博更近")
    # then: sam has one approval to decide and logs to review; alice, who asked, has none to decide
    assert _waiting(world.sam)["Approvals to decide"] == 1
    assert "Work logs to review" in _waiting(world.sam)
    assert _waiting(world.alice)["Approvals to decide"] == 0
    assert "Work logs to review" not in _waiting(world.alice)
    # finance also sees the payments waiting for confirmation; the auditor, who acts on nothing, no section
    assert _waiting(world.fiona)["Payments to confirm"] == 0
    assert _waiting(world.audrey) == {}
