"""Roles, their rights and their data scopes: pure data, no Django.

A person may hold several roles; their rights are the union and their scope the widest.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Role(StrEnum):
    MANAGER = "manager"  # 大客户经理
    SPECIALIST = "specialist"  # 大客户专员
    SUPERVISOR = "supervisor"  # 主管 / 销售总监
    AUDITOR = "auditor"  # 内部监督
    FINANCE = "finance"
    HR = "hr"
    ADMIN = "admin"
    EXTERNAL_AUDITOR = "external_auditor"  # 外部审计 / 第三方监督: time-boxed, read-only


class Scope(IntEnum):
    """Data scopes, narrowest first, so the widest of several roles is max()."""

    NONE = 0
    OWN = 1  # own records, plus those shared with me
    TEAM = 2  # my team's records
    DEPARTMENT = 3  # my department and every department below it
    ALL = 4


class Right(StrEnum):
    VIEW_ORG = "org.view"
    MANAGE_ORG = "org.manage"  # departments, teams, posts, grades, regions, industries
    MANAGE_USERS = "users.manage"  # create, edit, deactivate, roles, sessions
    REVEAL_PII = "pii.reveal"  # reveal a masked phone, e-mail or WeChat (audited)
    VIEW_AUDIT = "audit.view"
    MANAGE_ROLE_CONFLICTS = "sod.manage"
    EDIT_BUSINESS_DATA = "business.edit"  # auditors read across everything but edit nothing


@dataclass(frozen=True)
class RoleDefinition:
    role: Role
    scope: Scope
    rights: frozenset[Right]
    read_only: bool = False


ROLE_DEFINITIONS: dict[Role, RoleDefinition] = {
    Role.MANAGER: RoleDefinition(Role.MANAGER, Scope.OWN, frozenset({Right.VIEW_ORG, Right.EDIT_BUSINESS_DATA})),
    Role.SPECIALIST: RoleDefinition(Role.SPECIALIST, Scope.TEAM, frozenset({Right.VIEW_ORG, Right.EDIT_BUSINESS_DATA})),
    Role.SUPERVISOR: RoleDefinition(
        Role.SUPERVISOR, Scope.DEPARTMENT, frozenset({Right.VIEW_ORG, Right.EDIT_BUSINESS_DATA, Right.REVEAL_PII})
    ),
    Role.AUDITOR: RoleDefinition(
        Role.AUDITOR, Scope.ALL, frozenset({Right.VIEW_ORG, Right.VIEW_AUDIT, Right.REVEAL_PII}), read_only=True
    ),
    Role.FINANCE: RoleDefinition(Role.FINANCE, Scope.ALL, frozenset({Right.VIEW_ORG, Right.EDIT_BUSINESS_DATA})),
    Role.HR: RoleDefinition(Role.HR, Scope.ALL, frozenset({Right.VIEW_ORG, Right.REVEAL_PII, Right.MANAGE_USERS})),
    Role.ADMIN: RoleDefinition(
        Role.ADMIN,
        Scope.ALL,
        frozenset({Right.VIEW_ORG, Right.MANAGE_ORG, Right.MANAGE_USERS, Right.REVEAL_PII, Right.VIEW_AUDIT,
                   Right.MANAGE_ROLE_CONFLICTS}),
    ),
    Role.EXTERNAL_AUDITOR: RoleDefinition(
        Role.EXTERNAL_AUDITOR, Scope.ALL, frozenset({Right.VIEW_ORG, Right.VIEW_AUDIT}), read_only=True
    ),
}

# The incompatible pairs (不相容岗位) declared out of the box live in the database (org.RoleConflict,
# seeded by a migration) so administrators can add more; `conflicting_pairs` checks a set against them.


def scope_for(roles: frozenset[Role] | set[Role]) -> Scope:
    return max((ROLE_DEFINITIONS[r].scope for r in roles), default=Scope.NONE)


def rights_for(roles: frozenset[Role] | set[Role]) -> frozenset[Right]:
    rights: set[Right] = set()
    for role in roles:
        rights |= ROLE_DEFINITIONS[role].rights
    # A person who holds only read-only roles edits nothing, whatever else is listed.
    if roles and all(ROLE_DEFINITIONS[r].read_only for r in roles):
        rights.discard(Right.EDIT_BUSINESS_DATA)
    return frozenset(rights)


def conflicting_pairs(
    roles: set[Role] | frozenset[Role], conflicts: tuple[tuple[Role, Role, str], ...] | list[tuple[Role, Role, str]]
) -> list[tuple[Role, Role, str]]:
    """The declared conflicts that `roles` would violate."""
    found = []
    for a, b, reason in conflicts:
        if a in roles and b in roles:
            found.append((a, b, reason))
    return found


class SelfApprovalError(Exception):
    """Raised by `ensure_not_own_request`: the requester can never approve their own request."""


def ensure_not_own_request(*, requester_id: int | None, approver_id: int, extra_party_ids: tuple[int, ...] = ()) -> None:
    """The reusable segregation-of-duties guard. Later approval flows call it before recording a decision.

    `extra_party_ids` are other people who created the thing being approved (e.g. the contract's author
    when a colleague submitted it); none of them may approve either.
    """
    if requester_id is not None and requester_id == approver_id:
        raise SelfApprovalError("The requester cannot approve their own request.")
    if approver_id in extra_party_ids:
        raise SelfApprovalError("Someone who created or changed this cannot approve it.")
