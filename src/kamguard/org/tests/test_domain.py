"""The pure core: roles, scopes, segregation of duties, tree rules, masking — no database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamguard.org.domain.masking import mask, mask_email, mask_phone
from kamguard.org.domain.roles import (
    Right,
    Role,
    Scope,
    SelfApprovalError,
    conflicting_pairs,
    ensure_not_own_request,
    rights_for,
    scope_for,
)
from kamguard.org.domain.tree import descendants, would_create_cycle


def test_widest_scope_of_several_roles_wins():
    assert scope_for({Role.MANAGER}) == Scope.OWN
    assert scope_for({Role.MANAGER, Role.SPECIALIST}) == Scope.TEAM
    assert scope_for({Role.SUPERVISOR, Role.MANAGER}) == Scope.DEPARTMENT
    assert scope_for(set()) == Scope.NONE


def test_read_only_roles_never_edit_business_data():
    assert Right.EDIT_BUSINESS_DATA not in rights_for({Role.AUDITOR})
    assert Right.EDIT_BUSINESS_DATA not in rights_for({Role.EXTERNAL_AUDITOR})
    assert Right.EDIT_BUSINESS_DATA in rights_for({Role.MANAGER})


def test_only_some_roles_may_reveal_personal_data():
    assert Right.REVEAL_PII not in rights_for({Role.MANAGER})
    assert Right.REVEAL_PII not in rights_for({Role.FINANCE})
    assert Right.REVEAL_PII in rights_for({Role.SUPERVISOR})


def test_conflicting_pairs_found_in_either_order():
    declared = [(Role.AUDITOR, Role.MANAGER, "x")]
    assert conflicting_pairs({Role.MANAGER, Role.AUDITOR}, declared) == declared
    assert conflicting_pairs({Role.MANAGER, Role.SUPERVISOR}, declared) == []


def test_requester_can_never_approve_own_request():
    with pytest.raises(SelfApprovalError):
        ensure_not_own_request(requester_id=7, approver_id=7)
    with pytest.raises(SelfApprovalError):
        ensure_not_own_request(requester_id=7, approver_id=8, extra_party_ids=(8,))
    ensure_not_own_request(requester_id=7, approver_id=9, extra_party_ids=(8,))


def test_cycle_detection():
    parents = {1: None, 2: 1, 3: 2}
    assert would_create_cycle(node_id=1, new_parent_id=3, parent_of=parents)
    assert would_create_cycle(node_id=2, new_parent_id=2, parent_of=parents)
    assert not would_create_cycle(node_id=3, new_parent_id=1, parent_of=parents)
    assert not would_create_cycle(node_id=3, new_parent_id=None, parent_of=parents)


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30))
def test_descendants_of_a_random_forest_never_include_other_roots(parent_choices):
    # node i+1's parent is some earlier node (or none) — always a forest
    parent_of = {0: None}
    for i, choice in enumerate(parent_choices, start=1):
        parent_of[i] = choice % i if choice % 3 else None
    children: dict[int, list[int]] = {}
    for node, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(node)
    for node in parent_of:
        below = descendants(node, children)
        for other in below - {node}:
            chain, current = [], other
            while current is not None:
                chain.append(current)
                current = parent_of[current]
            assert node in chain
        # moving a node under any of its descendants must be refused
        for other in below:
            assert would_create_cycle(node_id=node, new_parent_id=other, parent_of=parent_of)


def test_masking_keeps_only_what_identifies_nothing():
    assert mask_phone("+8613800138000") == "+86138****8000"
    assert mask_email("alice@example.com") == "a****@example.com"
    assert mask("wechat", "alice_wx") == "a******x"
    assert mask("phone", "") == ""
    assert "13800138000" not in mask("phone", "13800138000")
