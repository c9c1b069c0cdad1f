"""The allocation API: rule sets (draft, problems with their paths, diff, activation), simulation, intake, the
allocation log with explanations, re-assignment, fairness, capacities and absences — with the permission
matrix (owner alice, teammate bob, supervisor sam, outsider carol, auditor audrey, admin adam) and nothing
changed on refusal. Errors are RFC 9457 problems."""

from __future__ import annotations

import io

import pytest

from kamguard.allocation.models import (
    Absence,
    AllocationDecision,
    Intake,
    PersonCapacity,
    RuleSetVersion,
    VersionStatus,
)
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.tests.conftest import base_rules, lead
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, OwnershipChange

API = "/api/v1/allocation"


@pytest.fixture
def shanghai(world, alloc):
    """A Shanghai lead allocated by round-robin to alice (the first member of team Shanghai A)."""
    intake = intake_submit(actor=world.sue, channel="form", fields=lead(region="310104", tier="B",
                                                                        expected_value="120000"))
    assert intake.customer.owner_id == world.alice.pk
    return intake


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


# ---------------------------------------------------------------- rule sets

def test_everyone_reads_rule_sets_but_drafts_only_those_who_manage_them(world, alloc, client_for):
    # given a draft next to the active version
    RuleSetVersion.objects.create(rule_set=alloc.rule_set, number=2, rules=alloc.version.rules, note="draft")
    # when / then
    for persona, sees_draft in (("alice", False), ("carol", False), ("sam", False), ("audrey", True),
                                ("adam", True)):
        client = client_for(world.person(persona))
        listed = client.get(f"{API}/rule-sets").json()["items"]
        assert [r["name"] for r in listed] == ["默认分配规则"]
        assert listed[0]["active_version"] == 1
        versions = client.get(f"{API}/rule-sets/{alloc.rule_set.pk}/versions").json()["items"]
        assert [v["number"] for v in versions] == ([2, 1] if sees_draft else [1]), persona


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 403), ("sam", 403), ("carol", 403), ("audrey", 403), ("adam", 201)])
def test_writing_a_draft_of_the_company_rule_set_matrix(world, alloc, client_for, persona, status):
    # given
    before = RuleSetVersion.objects.count()
    rules = base_rules(world, alloc.pool)
    rules["rules"] = rules["rules"][1:]
    # when
    response = client_for(world.person(persona)).post(f"{API}/rule-sets/{alloc.rule_set.pk}/versions",
                                                      {"rules": rules, "note": "drop key accounts"},
                                                      content_type="application/json")
    # then
    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["status"] == "draft" and body["number"] == 2
        assert RuleSetVersion.objects.count() == before + 1
    else:
        _problem(response, status)
        assert RuleSetVersion.objects.count() == before  # nothing changed on refusal


def test_a_director_writes_a_rule_set_for_their_department(world, alloc, client_for):
    # given sam heads the East region sales department
    client = client_for(world.person("sam"))
    # when
    created = client.post(f"{API}/rule-sets", {"name": "华东规则", "department_id": world.east.pk,
                                               "rules": base_rules(world, alloc.pool), "note": "v1"},
                          content_type="application/json")
    # then
    assert created.status_code == 201, created.content
    rule_set_id = created.json()["id"]
    versions = client.get(f"{API}/rule-sets/{rule_set_id}/versions").json()["items"]
    assert [(v["number"], v["status"]) for v in versions] == [(1, "draft")]
    activated = client.post(f"{API}/versions/{versions[0]['id']}/activate", {"note": "go"},
                            content_type="application/json")
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    # but not for a department that is not his
    refused = client.post(f"{API}/rule-sets", {"name": "西南规则", "department_id": world.west.pk},
                          content_type="application/json")
    _problem(refused, 403)


@pytest.mark.parametrize(("change", "path", "code"), [
    (lambda r: r["rules"][0]["conditions"][0].update(field="colour"), "rules[0].conditions[0].field",
     "unknown_field"),
    (lambda r: r["rules"][1]["conditions"][0].update(operator="near"), "rules[1].conditions[0].operator",
     "unknown_operator"),
    (lambda r: r.pop("fallback"), "fallback", "no_fallback"),
    (lambda r: r["rules"][2].update(key="key-a"), "rules[2].key", "duplicate_key"),
])
def test_bad_rules_are_refused_with_each_problem_where_it_is(world, alloc, client_for, change, path, code):
    # given
    rules = base_rules(world, alloc.pool)
    change(rules)
    before = RuleSetVersion.objects.count()
    # when
    response = client_for(world.person("adam")).post(f"{API}/rule-sets/{alloc.rule_set.pk}/versions",
                                                     {"rules": rules}, content_type="application/json")
    # then
    body = _problem(response, 422)
    assert body["code"] == "rules_invalid"
    assert path in [e["field"] for e in body["errors"]]
    assert RuleSetVersion.objects.count() == before


def test_a_target_person_who_has_left_is_refused_before_anything_is_activated(world, alloc, client_for):
    # given henry has left
    henry = world.person("henry")
    henry.is_active = False
    henry.save()
    before = RuleSetVersion.objects.count()
    # when
    response = client_for(world.person("adam")).post(f"{API}/rule-sets/{alloc.rule_set.pk}/versions",
                                                     {"rules": base_rules(world, alloc.pool)},
                                                     content_type="application/json")
    # then
    body = _problem(response, 422)
    assert "rules[0].target.id" in [e["field"] for e in body["errors"]]
    assert RuleSetVersion.objects.count() == before


def test_diff_and_activation_retire_the_previous_version(world, alloc, client_for):
    # given a draft that drops the key-account rule and moves Sichuan first
    client = client_for(world.person("adam"))
    rules = base_rules(world, alloc.pool)
    rules["rules"] = [rules["rules"][2], rules["rules"][1]]
    draft = client.post(f"{API}/rule-sets/{alloc.rule_set.pk}/versions", {"rules": rules},
                        content_type="application/json").json()
    # when
    diff = client.get(f"{API}/rule-sets/{alloc.rule_set.pk}/diff", {"new": draft["id"]}).json()
    activated = client.post(f"{API}/versions/{draft['id']}/activate", {"note": "simulated"},
                            content_type="application/json")
    # then
    assert [r["key"] for r in diff["removed"]] == ["key-a"]
    assert {r["key"] for r in diff["moved"]} == {"sichuan", "shanghai"}
    assert activated.status_code == 200
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == VersionStatus.RETIRED
    assert AuditEvent.objects.filter(action="allocation.rule_set.activated", object_id=str(draft["id"])).exists()
    # and an active version cannot be edited
    _problem(client.put(f"{API}/versions/{draft['id']}", {"rules": rules}, content_type="application/json"), 409)


# ---------------------------------------------------------------- simulation

def test_simulation_on_past_intake_and_on_a_file_writes_nothing(world, alloc, shanghai, client_for):
    # given
    client = client_for(world.person("adam"))
    rules = base_rules(world, alloc.pool)
    rules["rules"] = rules["rules"][1:]
    draft = client.post(f"{API}/rule-sets/{alloc.rule_set.pk}/versions", {"rules": rules},
                        content_type="application/json").json()
    counts = (Customer.objects.count(), AllocationDecision.objects.count(), Intake.objects.count())
    # when
    months = client.post(f"{API}/versions/{draft['id']}/simulate", {"months": 3}, content_type="application/json")
    upload = io.BytesIO("name,region,tier\n上海测试甲有限公司,310104,A\n成都测试乙有限公司,510104,B\n".encode())
    upload.name = "leads.csv"
    from_file = client.post(f"{API}/versions/{draft['id']}/simulate-file", {"file": upload})
    bad = io.BytesIO(b"\x00\x01 not a table")
    bad.name = "leads.csv"
    refused = client.post(f"{API}/versions/{draft['id']}/simulate-file", {"file": bad})
    # then
    assert months.status_code == 200, months.content
    body = months.json()
    assert body["subjects"] == 1 and body["source"] == "intake" and body["active_version_id"] == alloc.version.pk
    assert from_file.status_code == 200, from_file.content
    assert from_file.json()["subjects"] == 2 and from_file.json()["source"] == "file"
    _problem(refused, 422)
    assert (Customer.objects.count(), AllocationDecision.objects.count(), Intake.objects.count()) == counts


@pytest.mark.parametrize(("persona", "status"), [("alice", 403), ("carol", 403), ("audrey", 200), ("adam", 200)])
def test_simulation_matrix(world, alloc, client_for, persona, status):
    response = client_for(world.person(persona)).post(f"{API}/versions/{alloc.version.pk}/simulate", {"months": 1},
                                                      content_type="application/json")
    assert response.status_code == status, response.content


# ---------------------------------------------------------------- intake and the log

def test_intake_through_the_api_is_allocated_with_a_reason(world, alloc, client_for):
    # given
    client = client_for(world.person("bob"))
    # when
    response = client.post(f"{API}/intake", {"name": "成都锦江精工机械有限公司", "region": "510104", "tier": "B",
                                             "expected_value": "300000", "source": "展会"},
                           content_type="application/json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "allocated" and body["customer_id"]
    assert Customer.objects.get(pk=body["customer_id"]).owner_id == world.carol.pk
    decision = client_for(world.person("sam")).get(f"{API}/decisions/{body['decision_ids'][0]}")
    # sam does not supervise Chengdu: the decision about carol's customer is not his to see
    assert decision.status_code == 404
    detail = client_for(world.person("audrey")).get(f"{API}/decisions/{body['decision_ids'][0]}").json()
    assert detail["rule_key"] == "sichuan" and detail["strategy"] == "capacity"
    assert "四川" in detail["explanation"]
    assert [c["chosen"] for c in detail["candidates"]] == [True]


def test_bad_intake_is_a_problem_naming_the_field(world, alloc, client_for):
    before = Customer.objects.count()
    response = client_for(world.person("bob")).post(f"{API}/intake", {"name": "某某有限公司", "region": "999999"},
                                                    content_type="application/json")
    body = _problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["region"]
    assert Customer.objects.count() == before


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("bob", 404), ("sam", 200), ("carol", 404), ("audrey", 200), ("adam", 200)])
def test_decision_matrix(world, alloc, shanghai, client_for, persona, status):
    decision = AllocationDecision.objects.get(intake=shanghai)
    client = client_for(world.person(persona))
    response = client.get(f"{API}/decisions/{decision.pk}")
    assert response.status_code == status
    listed = [d["id"] for d in client.get(f"{API}/decisions").json()["items"]]
    assert (decision.pk in listed) is (status == 200)


def test_decision_list_is_keyset_paginated(world, alloc, client_for):
    for _ in range(5):
        intake_submit(actor=world.sam, channel="form", fields=lead(region="310115", tier="C"))
    client = client_for(world.person("audrey"))
    first = client.get(f"{API}/decisions", {"limit": 3}).json()
    second = client.get(f"{API}/decisions", {"limit": 3, "cursor": first["next_cursor"]}).json()
    ids = [d["id"] for d in first["items"]] + [d["id"] for d in second["items"]]
    assert len(ids) == 5 == len(set(ids)) and second["next_cursor"] is None
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("sam", 200), ("carol", 404), ("audrey", 403), ("adam", 200)])
def test_reassign_matrix(world, alloc, shanghai, client_for, persona, status):
    # given
    customer = shanghai.customer
    before = (Customer.objects.get(pk=customer.pk).owner_id, OwnershipChange.objects.filter(customer=customer).count(),
              AllocationDecision.objects.filter(customer=customer).count())
    # when
    response = client_for(world.person(persona)).post(
        f"{API}/customers/{customer.pk}/reassign", {"to_owner_id": world.bob.pk, "reason": "客户要求更换对接人"},
        content_type="application/json")
    # then
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        assert body["is_manual"] and body["reason"] == "客户要求更换对接人"
        assert Customer.objects.get(pk=customer.pk).owner_id == world.bob.pk
    else:
        after = (Customer.objects.get(pk=customer.pk).owner_id,
                 OwnershipChange.objects.filter(customer=customer).count(),
                 AllocationDecision.objects.filter(customer=customer).count())
        assert after == before


def test_reassign_needs_a_reason(world, alloc, shanghai, client_for):
    response = client_for(world.person("sam")).post(f"{API}/customers/{shanghai.customer_id}/reassign",
                                                     {"to_owner_id": world.bob.pk, "reason": ""},
                                                     content_type="application/json")
    _problem(response, 422)
    assert Customer.objects.get(pk=shanghai.customer_id).owner_id == world.alice.pk


# ---------------------------------------------------------------- fairness, capacity, absences

@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("bob", 200), ("sam", 200), ("carol", 404), ("audrey", 200), ("adam", 200)])
def test_fairness_matrix(world, alloc, shanghai, client_for, persona, status):
    response = client_for(world.person(persona)).get(f"{API}/fairness", {"team_id": world.team_a.pk})
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        assert body["figures"]["total_count"] == 1
        assert {p["name"]: p["count"] for p in body["people"]}[world.alice.full_name] == 1


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("sam", 200), ("carol", 404), ("audrey", 403), ("adam", 200)])
def test_capacity_matrix(world, alloc, client_for, persona, status):
    response = client_for(world.person(persona)).put(f"{API}/people/{world.alice.pk}/capacity/A", {"capacity": 3},
                                                     content_type="application/json")
    assert response.status_code == status, response.content
    stored = PersonCapacity.objects.filter(person=world.alice, tier="A").values_list("capacity", flat=True).first()
    assert stored == (3 if status == 200 else None)


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("sam", 201), ("carol", 404), ("audrey", 403), ("adam", 201)])
def test_absence_matrix(world, alloc, client_for, persona, status):
    response = client_for(world.person(persona)).post(f"{API}/absences", {
        "person_id": world.alice.pk, "kind": "on_leave", "starts_on": "2026-12-01", "ends_on": "2026-12-05"},
        content_type="application/json")
    assert response.status_code == status, response.content
    assert Absence.objects.filter(person=world.alice).count() == (1 if status == 201 else 0)


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("sam", 200), ("carol", 404), ("audrey", 403), ("adam", 200)])
def test_departure_notice_matrix(world, alloc, client_for, persona, status):
    from kamguard.allocation.models import DepartureNotice

    response = client_for(world.person(persona)).put(f"{API}/people/{world.alice.pk}/departure-notice",
                                                     {"noticed_on": "2026-11-20"}, content_type="application/json")
    assert response.status_code == status, response.content
    assert DepartureNotice.objects.filter(person=world.alice).exists() is (status == 200)


def test_departure_notice_withdrawal_needs_a_reason(world, alloc, client_for):
    from kamguard.allocation.models import DepartureNotice

    client = client_for(world.person("sam"))
    client.put(f"{API}/people/{world.bob.pk}/departure-notice", {"noticed_on": "2026-11-20"},
               content_type="application/json")
    _problem(client.delete(f"{API}/people/{world.bob.pk}/departure-notice"), 422)
    assert DepartureNotice.objects.filter(person=world.bob).exists()
    assert client.delete(f"{API}/people/{world.bob.pk}/departure-notice?reason=撤回").status_code == 204
    assert not DepartureNotice.objects.filter(person=world.bob).exists()
    listed = client_for(world.person("adam")).get(f"{API}/departure-notices").json()["items"]
    assert listed == []
