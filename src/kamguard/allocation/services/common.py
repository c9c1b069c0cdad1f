"""Who may do what in allocation, and the lock that serialises allocation's decide-and-write step.

- `may_manage_rule_set(actor, rule_set)` — administrators (org.manage) for every rule set; a supervisor for the
  rule sets of their department and below (a company-wide rule set only when their department is the top).
- `may_manage_person(actor, person)` — capacities, absences, departure notices: administrators, HR, or a
  supervisor whose scope covers the person.
- `may_manage_team(actor, team)` — team pool and fairness bounds: administrators, or a supervisor whose
  department contains the team.
- `allocation_lock()` — inside `transaction.atomic`: PostgreSQL `pg_advisory_xact_lock`; SQLite already holds
  the write lock from `BEGIN IMMEDIATE` (settings), so nothing more is needed there.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils.translation import gettext as _

from kamguard.allocation.models import RuleSet
from kamguard.core.errors import PermissionRefused
from kamguard.org.domain.roles import Right, Role, Scope
from kamguard.org.models import Department, Team, User
from kamguard.org.scopes import person_in_scope

ALLOCATION_LOCK_KEY = 0x4B47414C4C4F43 & 0x7FFFFFFFFFFFFFFF  # "KGALLOC"


def allocation_lock() -> None:
    """Serialise allocation decisions until the current transaction ends (call inside `transaction.atomic`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ALLOCATION_LOCK_KEY])
    elif connection.vendor == "sqlite":
        mode = str(connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") or "").upper()
        if mode not in {"IMMEDIATE", "EXCLUSIVE"}:
            raise ImproperlyConfigured("Allocation needs SQLite transactions that take the write lock at BEGIN: set "
                                       "OPTIONS['transaction_mode'] = 'IMMEDIATE' (kamguard.settings.base does).")
    else:  # pragma: no cover - settings allow only these two
        raise ImproperlyConfigured(f"Allocation does not support the {connection.vendor} database.")


def is_admin(actor: User) -> bool:
    return actor.is_active and actor.has_right(Right.MANAGE_ORG)


def is_supervisor(actor: User) -> bool:
    return actor.is_active and actor.scope >= Scope.DEPARTMENT and actor.has_right(Right.EDIT_BUSINESS_DATA)


def _department_covers(actor: User, department: Department | None) -> bool:
    """The actor's department is `department` or above it; None (company-wide) only for a top department."""
    own = actor.department
    if own is None:
        return False
    if department is None:
        return own.parent_id is None
    return department.path.startswith(own.path)


def may_manage_rule_set(actor: User, rule_set: RuleSet | None = None, *,
                        department: Department | None = None) -> bool:
    if is_admin(actor):
        return True
    if not is_supervisor(actor):
        return False
    target = rule_set.department if rule_set is not None else department
    return _department_covers(actor, target)


def require_rule_set_manager(actor: User | None, rule_set: RuleSet | None = None, *,
                             department: Department | None = None) -> None:
    if actor is None:
        return
    if not may_manage_rule_set(actor, rule_set, department=department):
        raise PermissionRefused(_("Only an administrator or the director responsible can change allocation rules."),
                                extra={"right": "allocation.rules"})


def may_manage_person(actor: User, person: User) -> bool:
    if is_admin(actor) or (actor.is_active and actor.has_role(Role.HR)):
        return True
    return is_supervisor(actor) and person_in_scope(actor, person)


def require_person_manager(actor: User | None, person: User) -> None:
    if actor is None:
        return
    if not may_manage_person(actor, person):
        raise PermissionRefused(_("Only the person's supervisor, HR or an administrator can change this."),
                                extra={"right": "allocation.people"})


def may_manage_team(actor: User, team: Team) -> bool:
    if is_admin(actor):
        return True
    return is_supervisor(actor) and _department_covers(actor, team.department)


def require_team_manager(actor: User | None, team: Team) -> None:
    if actor is None:
        return
    if not may_manage_team(actor, team):
        raise PermissionRefused(_("Only the team's supervisor or an administrator can change this."),
                                extra={"right": "allocation.team"})
