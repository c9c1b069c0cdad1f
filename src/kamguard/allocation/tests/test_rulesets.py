"""Rule sets: versions, explicit activation, the diff, bad input named by rule, and who may do what."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.utils import timezone

from kamguard.allocation.models import RuleSet, RuleSetVersion
from kamguard.allocation.services.rulesets import (
    rule_set_create,
    rule_set_update,
    rule_set_version_activate,
    rule_set_version_create,
    rule_set_version_diff,
    rule_set_version_update,
    rules_check,
)
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.org.services import user_update


def _problem_codes(caught: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {p["code"] for p in caught.value.extra["problems"]}


def test_a_new_version_is_a_draft_until_activated_and_the_old_one_retires(world, alloc):
    rules = alloc.rules(world)
    rules["rules"].insert(0, {"key": "hangzhou", "name": "杭州", "conditions": [
        {"field": "region", "operator": "within", "value": "330100"}],
        "target": {"kind": "team", "id": world.team_hz.pk, "strategy": "least_loaded"}})
    draft = rule_set_version_create(actor=world.adam, rule_set_id=alloc.rule_set.pk, rules=rules,
                                    note="杭州单独分配", based_on_id=alloc.version.pk)
    assert draft.number == 2 and draft.status == "draft"
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == "active"
    change = rule_set_version_diff(old=alloc.version, new=draft)
    assert [c.key for c in change.added] == ["hangzhou"] and not change.removed and not change.fallback_changed
    active = rule_set_version_activate(actor=world.adam, version_id=draft.pk, note="评审通过")
    assert active.status == "active" and active.activated_by_id == world.adam.pk
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == "retired"
    event = AuditEvent.objects.filter(action="allocation.rule_set.activated").latest("sequence")
    assert event.changes["active_version"] == {"before": 1, "after": 2}
    assert event.changes["diff"]["added"][0]["key"] == "hangzhou"
    # an active version never changes; activating it again is refused
    with pytest.raises(Conflict):
        rule_set_version_update(actor=world.adam, version_id=active.pk, rules=rules)
    with pytest.raises(Conflict):
        rule_set_version_activate(actor=world.adam, version_id=active.pk)
    assert RuleSetVersion.objects.filter(rule_set=alloc.rule_set, status="active").count() == 1


def test_diff_sees_changed_moved_removed_and_fallback(world, alloc):
    rules = alloc.rules(world)
    rules["rules"] = [rules["rules"][2], rules["rules"][1]]  # drop key-a, swap the other two
    rules["rules"][1]["target"]["strategy"] = "least_loaded"
    rules["fallback"] = {"kind": "team", "id": world.team_a.pk, "strategy": "round_robin"}
    draft = rule_set_version_create(actor=world.adam, rule_set_id=alloc.rule_set.pk, rules=rules)
    change = rule_set_version_diff(old=alloc.version, new=draft)
    assert [c.key for c in change.removed] == ["key-a"]
    assert [c.key for c in change.changed] == ["shanghai"]
    assert {c.key for c in change.moved} == {"sichuan", "shanghai"}
    assert change.fallback_changed


@pytest.mark.parametrize("mutate,code", [
    (lambda r, w: r["rules"][0]["conditions"][0].update(field="colour"), "unknown_field"),
    (lambda r, w: r["rules"][0]["conditions"][0].update(operator="like"), "unknown_operator"),
    (lambda r, w: r.pop("fallback"), "no_fallback"),
    (lambda r, w: r["rules"][1].update(key="key-a"), "duplicate_key"),
    (lambda r, w: r["rules"][1]["target"].update(id=999999), "unknown_team"),
    (lambda r, w: r["fallback"].update(id=999999), "unknown_pool"),
    (lambda r, w: r["rules"][0]["target"].update(id=999999), "unknown_person"),
    (lambda r, w: r["rules"][1]["conditions"][0].update(value="999900"), "unknown_region"),
    (lambda r, w: r["rules"][2]["target"].update(id=w.team_hz.pk, strategy="first_come"), "team_without_pool"),
])
def test_bad_rule_sets_are_refused_naming_the_rule_and_nothing_is_saved(world, alloc, mutate, code):
    rules = copy.deepcopy(alloc.rules(world))
    mutate(rules, world)
    before = RuleSetVersion.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        rule_set_version_create(actor=world.adam, rule_set_id=alloc.rule_set.pk, rules=rules)
    assert code in _problem_codes(caught)
    assert RuleSetVersion.objects.count() == before
    problem = caught.value.extra["problems"][0]
    assert problem["path"] in caught.value.field_errors
    if problem["path"].startswith("rules["):
        assert problem["rule_key"] and problem["rule_key"] in problem["message"]


def test_a_target_person_who_has_left_is_an_error_naming_the_rule(world, alloc):
    user_update(actor=None, user=world.person("henry"), is_active=False, left_on=timezone.localdate())
    with pytest.raises(ValidationFailed) as caught:
        rules_check(rules=alloc.rules(world))
    assert _problem_codes(caught) == {"person_left"}
    assert "key-a" in caught.value.extra["problems"][0]["message"]
    assert "何亨" in caught.value.extra["problems"][0]["message"]


def test_a_draft_is_checked_again_at_activation(world, alloc):
    draft = rule_set_version_create(actor=world.adam, rule_set_id=alloc.rule_set.pk, rules=alloc.rules(world))
    user_update(actor=None, user=world.person("henry"), is_active=False,
                left_on=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(ValidationFailed):
        rule_set_version_activate(actor=world.adam, version_id=draft.pk)
    assert RuleSetVersion.objects.get(pk=draft.pk).status == "draft"
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == "active"


@pytest.mark.parametrize("persona,allowed", [
    ("adam", True), ("sam", False), ("alice", False), ("audrey", False), ("carol", False), ("hanna", False),
])
def test_who_may_change_the_company_rule_set(world, alloc, persona, allowed):
    actor = world.person(persona)
    versions = RuleSetVersion.objects.count()
    if allowed:
        draft = rule_set_version_create(actor=actor, rule_set_id=alloc.rule_set.pk, rules=alloc.rules(world))
        rule_set_version_activate(actor=actor, version_id=draft.pk)
        return
    with pytest.raises(PermissionRefused):
        rule_set_version_create(actor=actor, rule_set_id=alloc.rule_set.pk, rules=alloc.rules(world))
    draft = rule_set_version_create(actor=world.adam, rule_set_id=alloc.rule_set.pk, rules=alloc.rules(world))
    with pytest.raises(PermissionRefused):
        rule_set_version_activate(actor=actor, version_id=draft.pk)
    with pytest.raises(PermissionRefused):
        rule_set_update(actor=actor, rule_set_id=alloc.rule_set.pk, name="改名")
    # nothing changed
    assert RuleSetVersion.objects.count() == versions + 1
    assert RuleSetVersion.objects.get(pk=draft.pk).status == "draft"
    assert RuleSet.objects.get(pk=alloc.rule_set.pk).name == "默认分配规则"


def test_a_supervisor_manages_the_rule_sets_of_their_department(world, alloc):
    rule_set = rule_set_create(actor=world.sam, name="华东规则", department=world.east, rules=alloc.rules(world))
    draft = rule_set.versions.get()
    rule_set_version_activate(actor=world.sam, version_id=draft.pk)
    with pytest.raises(PermissionRefused):
        rule_set_create(actor=world.sam, name="西南规则", department=world.west)
    with pytest.raises(PermissionRefused):
        rule_set_create(actor=world.carol, name="西南规则", department=world.west)


def test_only_one_default_rule_set(world, alloc):
    other = rule_set_create(actor=world.adam, name="备用规则", is_default=True)
    assert RuleSet.objects.filter(is_default=True).get() == other
    rule_set_update(actor=world.adam, rule_set_id=alloc.rule_set.pk, is_default=True, reason="恢复")
    assert RuleSet.objects.filter(is_default=True).get() == alloc.rule_set


def test_rule_set_name_must_be_unique_and_present(world, alloc):
    with pytest.raises(ValidationFailed):
        rule_set_create(actor=world.adam, name="默认分配规则")
    with pytest.raises(ValidationFailed):
        rule_set_create(actor=world.adam, name="  ")


def test_versions_of_a_missing_rule_set(world, alloc):
    with pytest.raises(NotFound):
        rule_set_version_create(actor=world.adam, rule_set_id=999999, rules=alloc.rules(world))
