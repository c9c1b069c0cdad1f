"""Who may do what with work logs, and which deadline rule applies to a person. Shared by services and selectors.

- Everybody with the right to edit business data writes their own log; nobody writes another's.
- Reviews: only a supervisor whose data scope covers the author (their supervisor, the head of their department
  or a department above); never the author.
- Deadlines: an administrator sets any (company-wide or a department's); a supervisor their own department's
  and those below it.
"""

from __future__ import annotations

from django.db.models import Q

from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import Department, User
from kamguard.org.scopes import person_in_scope
from kamguard.worklogs.domain import DeadlineRule
from kamguard.worklogs.models import LogDeadline

LOG_WRITER_ROLES = (Role.MANAGER.value, Role.SPECIALIST.value)


def log_writers() -> Q:
    """People who owe a daily log: active managers and specialists."""
    return Q(is_active=True, role_assignments__role__in=LOG_WRITER_ROLES)


def may_write(actor: User) -> bool:
    return actor.is_authenticated and actor.has_right(Right.EDIT_BUSINESS_DATA)


def may_review(actor: User, author: User) -> bool:
    return (actor.is_authenticated and actor.pk != author.pk and Role.SUPERVISOR in actor.roles
            and actor.has_right(Right.EDIT_BUSINESS_DATA) and person_in_scope(actor, author))


def is_reviewer(actor: User) -> bool:
    return actor.is_authenticated and Role.SUPERVISOR in actor.roles and actor.has_right(Right.EDIT_BUSINESS_DATA)


def may_set_deadline(actor: User, department: Department | None) -> bool:
    if not actor.is_authenticated or not actor.is_active:
        return False
    if Role.ADMIN in actor.roles:
        return True
    if department is None or Role.SUPERVISOR not in actor.roles or actor.department is None:
        return False
    return department.path.startswith(actor.department.path)


def rule_of(deadline: LogDeadline | None) -> DeadlineRule:
    if deadline is None:
        return DeadlineRule()
    return DeadlineRule(due_time=deadline.due_time, day_offset=deadline.day_offset, workdays=deadline.workdays)


class DeadlineBook:
    """The deadline rules loaded once, looked up per person: the nearest department up the tree, else the
    company-wide one, else 20:00 the same day, Monday to Friday."""

    def __init__(self) -> None:
        self.by_department: dict[int, LogDeadline] = {}
        self.company: LogDeadline | None = None
        for row in LogDeadline.objects.all():
            if row.department_id is None:
                self.company = row
            else:
                self.by_department[row.department_id] = row
        self._paths: dict[int, str] = {}
        if self.by_department:
            self._paths = dict(Department.objects.values_list("pk", "path"))

    def rule_for_department(self, department_id: int | None) -> DeadlineRule:
        if department_id is not None and self.by_department:
            path = self._paths.get(department_id, "")
            for part in reversed([p for p in path.split("/") if p]):
                found = self.by_department.get(int(part))
                if found is not None:
                    return rule_of(found)
        return rule_of(self.company)

    def rule_for(self, user: User) -> DeadlineRule:
        return self.rule_for_department(user.department_id)
