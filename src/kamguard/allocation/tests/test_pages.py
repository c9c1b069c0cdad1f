"""Allocation pages through the browser's eyes: every page renders for the people it is for, the rule editor
(add, move, validation in place, save), activation with confirmation, simulation, intake, the public web
form, the allocation log with its explanations, re-assignment, fairness and availability; the permission
matrix (owner alice, teammate bob, supervisor sam, outsider carol, auditor audrey, admin adam) with nothing
changed on refusal; query counts on list pages; both languages."""

from __future__ import annotations

import pytest

from kamguard.allocation.models import AllocationDecision, Intake, RuleSetVersion, VersionStatus
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.tests.conftest import lead


@pytest.fixture
def flow(world, alloc):
    """Three leads through intake: one to the Shanghai team, one tier A to henry, one to the fallback pool."""
    first = intake_submit(actor=world.sue, channel="form", fields=lead(region="310104", tier="B",
                                                                       expected_value="120000"))
    key = intake_submit(actor=world.sue, channel="form", fields=lead(region="310104", tier="A"))
    other = intake_submit(actor=world.sue, channel="form", fields=lead(region="440300", tier="C"))
    return {"first": first, "key": key, "other": other}


PAGES = ["/allocation/", "/allocation/log/", "/allocation/intake/", "/allocation/intake/new/", "/allocation/fairness/",
         "/allocation/people/"]


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey", "adam", "carol"])
def test_every_list_page_renders(world, alloc, flow, client_for, persona):
    client = client_for(world.person(persona))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
    assert client.get(f"/allocation/rule-sets/{alloc.rule_set.pk}/").status_code == 200
    assert client.get(f"/allocation/versions/{alloc.version.pk}/").status_code == 200
