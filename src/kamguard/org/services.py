"""Every write to the organisation: one function per use case, transactional, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.org.domain.masking import mask
from kamguard.org.domain.roles import Right, Role, conflicting_pairs
from kamguard.org.domain.tree import would_create_cycle
from kamguard.org.models import (
    Department,
    Grade,
    Industry,
    Post,
    Region,
    RoleAssignment,
    RoleConflict,
    Team,
    User,
)

DEPARTMENT_FIELDS = ("name", "parent", "region", "head", "external_id", "is_active")
TEAM_FIELDS = ("name", "department", "leader", "region", "external_id", "is_active")
USER_FIELDS = (
    "username", "full_name", "email", "phone", "wechat", "department", "team", "post", "grade", "region",
    "supervisor", "hired_on", "left_on", "external_id", "is_active", "can_export", "preferred_language",
)


def require_right(actor: User | None, right: Right) -> None:
    """Refuse at once. The refusal is audited at the boundary (page or API), after this transaction rolls back.

    `actor=None` is the system itself (the `kamguard` command run by an operator, migrations, the demo).
    """
    if actor is not None and not actor.has_right(right):
        raise PermissionRefused(extra={"right": str(right)})


def _clean_name(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(field_errors={field: [_("This field is required.")]})
    if len(value) > 120:
        raise ValidationFailed(field_errors={field: [_("At most 120 characters.")]})
    return value


# ---------------------------------------------------------------- departments

def _department_path(parent: Department | None, own_id: int) -> tuple[str, int]:
    if parent is None:
        return f"/{own_id}/", 0
    return f"{parent.path}{own_id}/", parent.depth + 1


def _rewrite_subtree_paths(department: Department, old_path: str) -> None:
    for child in Department.objects.filter(path__startswith=old_path).exclude(pk=department.pk):
        child.path = department.path + child.path[len(old_path):]
        child.depth = child.path.count("/") - 2
        child.save(update_fields=["path", "depth"])


@transaction.atomic
def department_create(*, actor: User | None, name: str, parent: Department | None = None, region: Region | None = None,
                      head: User | None = None, external_id: str | None = None) -> Department:
    require_right(actor, Right.MANAGE_ORG)
    name = _clean_name(name, "name")
    if Department.objects.filter(parent=parent, name=name).exists():
        raise ValidationFailed(field_errors={"name": [_("A department with this name already exists here.")]})
    if external_id and (Department.objects.filter(external_id=external_id).exists()
                        or Team.objects.filter(external_id=external_id).exists()):
        raise ValidationFailed(field_errors={"external_id": [_("This external id is already used.")]})
    department = Department.objects.create(name=name, parent=parent, region=region, head=head,
                                           external_id=external_id or None)
    department.path, department.depth = _department_path(parent, department.pk)
    department.save(update_fields=["path", "depth"])
    audit_record(actor=actor, action="org.department.created", obj=department,
                 changes=diff({}, snapshot(department, DEPARTMENT_FIELDS)))
    return department


@transaction.atomic
def department_update(*, actor: User | None, department: Department, reason: str = "", **fields: Any) -> Department:
    require_right(actor, Right.MANAGE_ORG)
    department = Department.objects.get(pk=department.pk)
    before = snapshot(department, DEPARTMENT_FIELDS)
    unknown = set(fields) - set(DEPARTMENT_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    if "name" in fields:
        fields["name"] = _clean_name(fields["name"], "name")
    new_parent = fields.get("parent", department.parent)
    if "parent" in fields:
        parent_of = dict(Department.objects.values_list("pk", "parent_id"))
        if would_create_cycle(node_id=department.pk, new_parent_id=new_parent.pk if new_parent else None,
                              parent_of=parent_of):
            raise ValidationFailed(field_errors={"parent": [
                _("A department cannot be placed under itself or one of its own sub-departments.")]})
    name = fields.get("name", department.name)
    if Department.objects.filter(parent=new_parent, name=name).exclude(pk=department.pk).exists():
        raise ValidationFailed(field_errors={"name": [_("A department with this name already exists here.")]})
    if fields.get("is_active") is False and (
        User.objects.filter(department=department, is_active=True).exists()
        or Department.objects.filter(parent=department, is_active=True).exists()
    ):
        raise ValidationFailed(field_errors={"is_active": [
            _("Move its active people and sub-departments elsewhere before deactivating this department.")]})
    for key, value in fields.items():
        setattr(department, key, value)
    old_path = department.path
    department.path, department.depth = _department_path(department.parent, department.pk)
    department.save()
    if old_path != department.path:
        _rewrite_subtree_paths(department, old_path)
    changes = diff(before, snapshot(department, DEPARTMENT_FIELDS))
    if changes:
        audit_record(actor=actor, action="org.department.updated", obj=department, changes=changes, reason=reason)
    return department


# ---------------------------------------------------------------- teams

@transaction.atomic
def team_create(*, actor: User | None, name: str, department: Department, leader: User | None = None,
                region: Region | None = None, external_id: str | None = None) -> Team:
    require_right(actor, Right.MANAGE_ORG)
    name = _clean_name(name, "name")
    if Team.objects.filter(department=department, name=name).exists():
        raise ValidationFailed(field_errors={"name": [_("A team with this name already exists in this department.")]})
    if external_id and (Team.objects.filter(external_id=external_id).exists()
                        or Department.objects.filter(external_id=external_id).exists()):
        raise ValidationFailed(field_errors={"external_id": [_("This external id is already used.")]})
    team = Team.objects.create(name=name, department=department, leader=leader, region=region,
                               external_id=external_id or None)
    audit_record(actor=actor, action="org.team.created", obj=team, changes=diff({}, snapshot(team, TEAM_FIELDS)))
    return team


@transaction.atomic
def team_update(*, actor: User | None, team: Team, reason: str = "", **fields: Any) -> Team:
    require_right(actor, Right.MANAGE_ORG)
    team = Team.objects.get(pk=team.pk)
    unknown = set(fields) - set(TEAM_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    before = snapshot(team, TEAM_FIELDS)
    if "name" in fields:
        fields["name"] = _clean_name(fields["name"], "name")
    department = fields.get("department", team.department)
    name = fields.get("name", team.name)
    if Team.objects.filter(department=department, name=name).exclude(pk=team.pk).exists():
        raise ValidationFailed(field_errors={"name": [_("A team with this name already exists in this department.")]})
    if fields.get("is_active") is False and User.objects.filter(team=team, is_active=True).exists():
        raise ValidationFailed(field_errors={"is_active": [
            _("Move the team's active members elsewhere before deactivating it.")]})
    for key, value in fields.items():
        setattr(team, key, value)
    team.save()
    changes = diff(before, snapshot(team, TEAM_FIELDS))
    if changes:
        audit_record(actor=actor, action="org.team.updated", obj=team, changes=changes, reason=reason)
    return team


# ---------------------------------------------------------------- reference lists: industries, posts, grades

REFERENCE_MODELS: dict[str, type[Industry] | type[Post] | type[Grade]] = {
    "industry": Industry, "post": Post, "grade": Grade,
}


@transaction.atomic
def reference_save(*, actor: User | None, kind: str, instance_id: int | None = None, **fields: Any) -> Industry | Post | Grade:
    """Create or update an industry, post or grade."""
    require_right(actor, Right.MANAGE_ORG)
    model = REFERENCE_MODELS.get(kind)
    if model is None:
        raise NotFound()
    allowed = {f.name for f in model._meta.get_fields() if getattr(f, "editable", False) and not f.auto_created} - {
        "created_at", "updated_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    if instance_id is None:
        instance = model()
        before: dict[str, Any] = {}
    else:
        found = model.objects.filter(pk=instance_id).first()
        if found is None:
            raise NotFound()
        instance = found
        before = snapshot(instance, sorted(allowed))
    for key, value in fields.items():
        setattr(instance, key, value.strip() if isinstance(value, str) else value)
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed(field_errors={k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
    instance.save()
    action = f"org.{kind}.{'created' if not before else 'updated'}"
    changes = diff(before, snapshot(instance, sorted(allowed)))
    if changes:
        audit_record(actor=actor, action=action, obj=instance, changes=changes)
    return instance


# ---------------------------------------------------------------- people

PERSON_MAX_LENGTHS = {"username": 150, "full_name": 120, "email": 254, "phone": 32, "wechat": 64, "external_id": 64,
                      "preferred_language": 10}


def _validate_person_fields(fields: dict[str, Any], *, user_id: int | None) -> None:
    errors: dict[str, list[str]] = {}
    for key, limit in PERSON_MAX_LENGTHS.items():
        value = fields.get(key)
        if isinstance(value, str) and len(value.strip()) > limit:
            errors[key] = [_("At most %(max)s characters.") % {"max": limit}]
    if errors:
        raise ValidationFailed(field_errors=errors)
    if "username" in fields:
        username = (fields["username"] or "").strip()
        fields["username"] = username
        if not username:
            errors["username"] = [_("This field is required.")]
        elif User.objects.filter(username__iexact=username).exclude(pk=user_id or 0).exists():
            errors["username"] = [_("This username is taken.")]
    if "full_name" in fields:
        fields["full_name"] = (fields["full_name"] or "").strip()
        if not fields["full_name"]:
            errors["full_name"] = [_("This field is required.")]
    if fields.get("email"):
        fields["email"] = fields["email"].strip().lower()
        try:
            validate_email(fields["email"])
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    if fields.get("phone"):
        from kamguard.org.phones import normalise_phone

        normalised = normalise_phone(fields["phone"])
        if normalised is None:
            errors["phone"] = [_("Enter a valid phone number, e.g. 13800138000 or +86 10 8888 8888.")]
        else:
            fields["phone"] = normalised
    if fields.get("external_id"):
        if User.objects.filter(external_id=fields["external_id"]).exclude(pk=user_id or 0).exists():
            errors["external_id"] = [_("This external id is already used.")]
    elif "external_id" in fields:
        fields["external_id"] = None
    supervisor = fields.get("supervisor")
    if supervisor is not None and user_id is not None:
        if supervisor.pk == user_id:
            errors["supervisor"] = [_("A person cannot be their own supervisor.")]
        else:
            supervisor_of = dict(User.objects.values_list("pk", "supervisor_id"))
            if would_create_cycle(node_id=user_id, new_parent_id=supervisor.pk, parent_of=supervisor_of):
                errors["supervisor"] = [_("This supervisor reports to this person: the reporting line would loop.")]
    team = fields.get("team")
    department = fields.get("department")
    if team is not None and department is not None and team.department_id != department.pk:
        errors["team"] = [_("The team belongs to another department.")]
    hired_on, left_on = fields.get("hired_on"), fields.get("left_on")
    if isinstance(hired_on, dt.date) and isinstance(left_on, dt.date) and left_on < hired_on:
        errors["left_on"] = [_("The leaving date is before the hiring date.")]
    if errors:
        raise ValidationFailed(field_errors=errors)


def _check_role_conflicts(roles: set[Role]) -> None:
    declared = [(Role(a), Role(b), reason) for a, b, reason in RoleConflict.objects.values_list("role_a", "role_b", "reason")]
    found = conflicting_pairs(roles, declared)
    if found:
        a, b, reason = found[0]
        raise ValidationFailed(
            _("The roles %(a)s and %(b)s are incompatible (segregation of duties): %(reason)s")
            % {"a": a.value, "b": b.value, "reason": reason},
            code="role_conflict", field_errors={"roles": [_("Incompatible roles: %(a)s and %(b)s.") % {
                "a": a.value, "b": b.value}]},
        )


@transaction.atomic
def user_create(*, actor: User | None, username: str, full_name: str, roles: list[str] | set[str] | tuple[str, ...] = (),
                password: str | None = None, **fields: Any) -> User:
    if actor is not None:
        require_right(actor, Right.MANAGE_USERS)
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    fields.update(username=username, full_name=full_name)
    _validate_person_fields(fields, user_id=None)
    role_set = _parse_roles(roles)
    _check_role_conflicts(role_set)
    if Role.ADMIN in role_set and actor is not None and not actor.has_role(Role.ADMIN):
        raise PermissionRefused(_("Only an administrator can grant the administrator role."))
    if password:
        _validate_new_password(password, fields)
    user = User(**fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        user.save()
    except IntegrityError as exc:
        raise Conflict(_("This person already exists (username or external id).")) from exc
    for role in sorted(role_set):
        RoleAssignment.objects.create(user=user, role=role.value, granted_by=actor)
    audit_record(actor=actor, action="org.user.created", obj=user,
                 changes={**diff({}, snapshot(user, USER_FIELDS)), "roles": {"before": [], "after": sorted(role_set)}})
    return user


def _validate_new_password(password: str, fields: dict[str, Any] | None = None, user: User | None = None) -> None:
    probe = user or User(username=(fields or {}).get("username", ""), full_name=(fields or {}).get("full_name", ""),
                         email=(fields or {}).get("email", ""))
    try:
        validate_password(password, user=probe)
    except DjangoValidationError as exc:
        raise ValidationFailed(field_errors={"password": list(exc.messages)}) from exc


def _parse_roles(roles: list[str] | set[str] | tuple[str, ...]) -> set[Role]:
    result: set[Role] = set()
    for code in roles:
        try:
            result.add(Role(str(code).strip()))
        except ValueError as exc:
            raise ValidationFailed(field_errors={"roles": [_("Unknown role: %(role)s.") % {"role": code}]}) from exc
    return result


@transaction.atomic
def user_update(*, actor: User | None, user: User, reason: str = "", **fields: Any) -> User:
    require_right(actor, Right.MANAGE_USERS)
    user = User.objects.select_for_update().get(pk=user.pk)
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    if "is_active" in fields and fields["is_active"] is False and actor is not None and user.pk == actor.pk:
        raise ValidationFailed(field_errors={"is_active": [_("You cannot deactivate yourself.")]})
    merged = {"department": user.department, "team": user.team, "hired_on": user.hired_on, "left_on": user.left_on}
    merged.update(fields)
    _validate_person_fields(merged, user_id=user.pk)
    fields = {k: merged[k] for k in fields}
    before = snapshot(user, USER_FIELDS)
    for key, value in fields.items():
        setattr(user, key, value)
    user.save()
    changes = diff(before, snapshot(user, USER_FIELDS))
    if changes:
        audit_record(actor=actor, action="org.user.updated", obj=user, changes=changes, reason=reason)
    if changes.get("is_active", {}).get("after") is False:
        from kamguard.accounts.services import sessions_end_all

        sessions_end_all(actor=actor, user=user, reason=reason or "deactivated")
    return user


@transaction.atomic
def user_set_roles(*, actor: User | None, user: User, roles: list[str] | set[str], valid_until: dt.datetime | None = None,
                   reason: str = "") -> User:
    """Replace a person's roles. Incompatible pairs are refused; nobody changes their own roles."""
    require_right(actor, Right.MANAGE_USERS)
    if actor is not None and user.pk == actor.pk:
        raise PermissionRefused(_("You cannot change your own roles. Ask another administrator."),
                                code="self_role_change")
    role_set = _parse_roles(roles)
    _check_role_conflicts(role_set)
    if Role.ADMIN in role_set and actor is not None and not actor.has_role(Role.ADMIN):
        raise PermissionRefused(_("Only an administrator can grant the administrator role."))
    current = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    wanted = {r.value for r in role_set}
    RoleAssignment.objects.filter(user=user).exclude(role__in=wanted).delete()
    for role in sorted(wanted - current):
        RoleAssignment.objects.create(user=user, role=role, granted_by=actor, valid_until=valid_until)
    if valid_until is not None:
        RoleAssignment.objects.filter(user=user, role__in=wanted).update(valid_until=valid_until)
    user.forget_cached_roles()
    if current != wanted:
        audit_record(actor=actor, action="org.user.roles_changed", obj=user, reason=reason,
                     changes={"roles": {"before": sorted(current), "after": sorted(wanted)}})
    return user


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str) -> None:
    if actor.pk != user.pk:
        require_right(actor, Right.MANAGE_USERS)
    _validate_new_password(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="org.user.password_set", obj=user)
    if actor is not None and actor.pk != user.pk:
        # Someone else set it: whoever was signed in with the old password is signed out.
        from kamguard.accounts.services import sessions_end_all

        sessions_end_all(actor=actor, user=user, reason="password set by an administrator")


@transaction.atomic
def role_conflict_add(*, actor: User | None, role_a: str, role_b: str, reason: str) -> RoleConflict:
    require_right(actor, Right.MANAGE_ROLE_CONFLICTS)
    parsed = _parse_roles([role_a, role_b])
    if len(parsed) != 2:
        raise ValidationFailed(field_errors={"role_b": [_("Choose two different roles.")]})
    a, b = sorted(parsed)
    if not reason.strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why these duties are incompatible.")]})
    if RoleConflict.objects.filter(role_a__in=[a, b], role_b__in=[a, b]).exists():
        raise ValidationFailed(field_errors={"role_b": [_("This pair is already declared.")]})
    holders = [
        u.username for u in User.objects.filter(role_assignments__role=a).filter(role_assignments__role=b).distinct()
    ]
    if holders:
        raise ValidationFailed(
            _("These people hold both roles now; change their roles first: %(names)s") % {"names": ", ".join(holders)},
            code="role_conflict_held")
    conflict = RoleConflict.objects.create(role_a=a.value, role_b=b.value, reason=reason.strip())
    audit_record(actor=actor, action="org.role_conflict.added", obj=conflict,
                 changes={"pair": {"before": None, "after": [a.value, b.value]}}, reason=reason)
    return conflict


@transaction.atomic
def role_conflict_remove(*, actor: User | None, conflict_id: int, reason: str) -> None:
    require_right(actor, Right.MANAGE_ROLE_CONFLICTS)
    conflict = RoleConflict.objects.filter(pk=conflict_id).first()
    if conflict is None:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why this pair may now be held together.")]})
    audit_record(actor=actor, action="org.role_conflict.removed", obj=conflict,
                 changes={"pair": {"before": [conflict.role_a, conflict.role_b], "after": None}}, reason=reason)
    conflict.delete()


# ---------------------------------------------------------------- personal data

PII_FIELDS = ("phone", "email", "wechat")


def pii_visible(viewer: User, person: User) -> bool:
    """Unmasked without asking: only one's own data."""
    return viewer.pk == person.pk


def pii_display(viewer: User, person: User, field: str) -> str:
    value = getattr(person, field) or ""
    return value if pii_visible(viewer, person) else mask(field, value)


@transaction.atomic
def pii_reveal(*, actor: User, person: User, field: str, reason: str = "") -> str:
    """Reveal one masked value. Needs the right and the person in scope; always audited."""
    from kamguard.org.scopes import person_in_scope

    if field not in PII_FIELDS:
        raise ValidationFailed(field_errors={"field": [_("Unknown field.")]})
    if not person_in_scope(actor, person):
        raise NotFound()
    if not actor.has_right(Right.REVEAL_PII) and actor.pk != person.pk:
        raise PermissionRefused(_("You do not have the right to see personal contact data."))
    audit_record(actor=actor, action="pii.revealed", obj=person, changes={"field": {"before": None, "after": field}},
                 reason=reason)
    return getattr(person, field) or ""

