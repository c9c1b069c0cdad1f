"""Kind `users`: people, their roles, place in the organisation and reporting line.

Rows are applied supervisors first (a supervisor may appear later in the file), each row whole or not
at all; self-supervision and reporting loops in the file are reported on every row concerned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.errors import DomainError
from kamguard.core.io.kinds.common import (
    Problems,
    RegionLookup,
    date_parse,
    keyed_rows,
    loop_problems,
    region_code,
)
from kamguard.core.io.ordering import order_parents_first
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import RowInvalid
from kamguard.org import selectors, services
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import Department, Grade, RoleAssignment, Team, User
from kamguard.org.phones import normalise_phone

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext

ROLE_SEPARATOR = "|"
MASK_CHARACTER = "*"
PLAIN_FIELDS = ("username", "full_name")
REFERENCE_FIELDS = ("department", "team", "supervisor", "region", "grade")


class UsersKind(Kind):
    name = "users"
    label = gettext_lazy("People")
    columns = ("external_id", "username", "full_name", "role", "department", "supervisor", "email", "phone",
               "region", "grade", "hired_on", "left_on")
    required = ("external_id", "username", "full_name", "role")
    import_right = Right.MANAGE_USERS
    field_columns = {"roles": "role", "team": "department", "department": "department", "supervisor": "supervisor",
                     "username": "username", "full_name": "full_name", "email": "email", "phone": "phone",
                     "region": "region", "grade": "grade", "hired_on": "hired_on", "left_on": "left_on",
                     "external_id": "external_id", "is_active": "left_on"}

    # ------------------------------------------------------------ import

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        keyed = keyed_rows(rows, ctx.fail)
        has_supervisor = ctx.has_column("supervisor")
        supervisor_of = {key: (row.get("supervisor") or None) if has_supervisor else None
                         for key, (_n, row) in keyed.items()}
        ordering = order_parents_first(supervisor_of)
        refused = loop_problems(
            ordering, keyed, "supervisor",
            self_message=_("A person cannot be their own supervisor."),
            loop_message=_("The reporting lines form a loop: %(path)s. Break the loop in the file."),
            below_message=_("Their reporting line leads into a loop at %(ancestor)s (row %(row)s)."),
        )
        for key, problems in refused.items():
            ctx.fail(keyed[key][0], key, problems)
        lookups = _Lookups()
        for key in ordering.order:
            number, row = keyed[key]
            ctx.attempt(number, key, partial(self._apply, ctx, number, key, row, keyed, lookups))

    def _apply(self, ctx: ImportContext, number: int, external_id: str, row: dict[str, str],
               keyed: dict[str, tuple[int, dict[str, str]]], lookups: _Lookups) -> RowStatus:
        problems = Problems()
        fields: dict[str, Any] = {}
        for name in PLAIN_FIELDS:
            fields[name] = row.get(name, "")
            if not fields[name]:
                problems.add(name, _("This field is required."))
        roles = _roles_parse(row.get("role", ""), problems)
        if Role.ADMIN in roles and ctx.actor is not None and not ctx.actor.has_role(Role.ADMIN):
            problems.add("role", _("Only an administrator can grant the administrator role."))
        if ctx.has_column("department"):
            fields["department"], fields["team"] = lookups.placement(row.get("department", ""), problems)
        if ctx.has_column("supervisor"):
            fields["supervisor"] = _supervisor(row.get("supervisor", ""), keyed, problems)
        for name in ("email", "phone"):
            if ctx.has_column(name):
                value = row.get(name, "")
                if MASK_CHARACTER in value:
                    ctx.warn(number, name, _("A masked value was left unchanged."))
                    continue
                fields[name] = _contact_normalise(name, value, problems)
        if ctx.has_column("region"):
            fields["region"] = lookups.regions.resolve(row.get("region", ""), "region", problems)
        if ctx.has_column("grade"):
            fields["grade"] = lookups.grade(row.get("grade", ""), problems)
        for name in ("hired_on", "left_on"):
            if ctx.has_column(name):
                fields[name] = date_parse(row.get(name, ""), name, problems)
        if problems:
            raise RowInvalid(problems.items)
        left_on = fields.get("left_on")
        has_left = isinstance(left_on, dt.date) and left_on <= timezone.localdate()
        person = User.objects.filter(external_id=external_id).first()
        if person is None:
            if has_left:
                fields["is_active"] = False
            username, full_name = fields.pop("username"), fields.pop("full_name")
            services.user_create(actor=ctx.actor, username=username, full_name=full_name, roles=[r.value for r in roles],
                                 external_id=external_id, **fields)
            return RowStatus.CREATED
        changed = _changed(person, fields)
        if has_left and person.is_active:
            changed["is_active"] = False
        reason = f"import {ctx.source}".strip()
        current_roles = set(RoleAssignment.objects.filter(user=person).values_list("role", flat=True))
        if changed:
            person = services.user_update(actor=ctx.actor, user=person, reason=reason, **changed)
        if current_roles != {r.value for r in roles}:
            try:
                services.user_set_roles(actor=ctx.actor, user=person, roles=[r.value for r in roles], reason=reason)
            except DomainError as exc:  # every refusal here is about the role column
                specific = exc.code != "validation_failed" or not exc.field_errors
                message = str(exc.message) if specific else "; ".join(
                    str(m) for ms in exc.field_errors.values() for m in ms)
                raise RowInvalid([("role", message)]) from exc
        elif not changed:
            return RowStatus.UNCHANGED
        return RowStatus.UPDATED

    # ------------------------------------------------------------ export

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        viewer = self.viewer(actor)
        people = selectors.user_list(viewer=viewer).order_by("username", "pk")
        for person in people:
            placement = person.team if person.team_id else person.department
            yield {
                "external_id": person.external_id or "",
                "username": person.username,
                "full_name": person.full_name,
                "role": ROLE_SEPARATOR.join(sorted(a.role for a in person.role_assignments.all())),
                "department": (placement.external_id or "") if placement else "",
                "supervisor": (person.supervisor.external_id or "") if person.supervisor else "",
                "email": _contact_out(actor, person, "email"),
                "phone": _contact_out(actor, person, "phone"),
                "region": region_code(person.region),
                "grade": person.grade.code if person.grade else "",
                "hired_on": person.hired_on.isoformat() if person.hired_on else "",
                "left_on": person.left_on.isoformat() if person.left_on else "",
            }


class _Lookups:
    def __init__(self) -> None:
        self.regions = RegionLookup()
        self._grades: dict[str, Grade | None] = {}

    def grade(self, code: str, problems: Problems) -> Grade | None:
        if not code:
            return None
        if code not in self._grades:
            self._grades[code] = Grade.objects.filter(code=code).first()
        found = self._grades[code]
        if found is None:
            problems.add("grade", _("Unknown grade code %(code)s.") % {"code": code})
        return found

    @staticmethod
    def placement(value: str, problems: Problems) -> tuple[Department | None, Team | None]:
        """A department's external id places the person in it; a team's, in the team and its department."""
        if not value:
            return None, None
        team = Team.objects.filter(external_id=value).select_related("department").first()
        if team is not None:
            return team.department, team
        department = Department.objects.filter(external_id=value).first()
        if department is None:
            problems.add("department", _("Unknown department or team %(id)s: no such external id.") % {"id": value})
        return department, None


def _roles_parse(value: str, problems: Problems) -> list[Role]:
    codes = [c.strip().lower() for c in value.split(ROLE_SEPARATOR) if c.strip()]
    if not codes:
        problems.add("role", _("Give at least one role."))
        return []
    roles: list[Role] = []
    for code in codes:
        try:
            roles.append(Role(code))
        except ValueError:
            problems.add("role", _("Unknown role %(role)s. Use %(known)s, several separated by |.") % {
                "role": code, "known": ", ".join(r.value for r in Role)})
    return sorted(set(roles))


def _supervisor(value: str, keyed: dict[str, tuple[int, dict[str, str]]], problems: Problems) -> User | None:
    if not value:
        return None
    supervisor = User.objects.filter(external_id=value).first()
    if supervisor is None:
        if value in keyed:
            problems.add("supervisor", _("The supervisor %(id)s (row %(row)s) was not imported.")
                         % {"id": value, "row": keyed[value][0]})
        else:
            problems.add("supervisor", _("Unknown person %(id)s: no such external id.") % {"id": value})
    return supervisor


def _contact_normalise(name: str, value: str, problems: Problems) -> str:
    if not value:
        return ""
    if name == "email":
        return value.strip().lower()
    normalised = normalise_phone(value)
    if normalised is None:
        problems.add("phone", _("Enter a valid phone number, e.g. 13800138000 or +86 10 8888 8888."))
        return value
    return normalised


def _changed(person: User, fields: dict[str, Any]) -> dict[str, Any]:
    changed = {}
    for key, value in fields.items():
        if key in REFERENCE_FIELDS:
            current = getattr(person, f"{key}_id")
            wanted = value.pk if value is not None else None
        else:
            current = getattr(person, key)
            wanted = value
            if key in ("email", "phone"):
                current = current or ""
        if current != wanted:
            changed[key] = value
    return changed


def _contact_out(actor: User | None, person: User, field: str) -> str:
    if actor is None:
        return getattr(person, field) or ""
    return services.pii_display(actor, person, field)


kind_register(UsersKind())
