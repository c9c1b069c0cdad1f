"""HTTP API for the organisation and people. Validates, resolves references, calls services and selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_ref, api_viewer, keyset_page
from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.org import selectors, services
from kamguard.org.domain.roles import Right
from kamguard.org.models import Department, Grade, Post, Region, Team, User

router = Router(tags=["organisation"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {
    (400, 401, 403, 404, 409, 422): ProblemDetail
}
RoleCode = Literal["manager", "specialist", "supervisor", "auditor", "finance", "hr", "admin", "external_auditor"]




# ---------------------------------------------------------------- schemas

class RegionOut(Schema):
    id: int
    code: str
    name: str
    level: str
    parent_code: str | None = None

    @staticmethod
    def from_model(region: Region) -> RegionOut:
        return RegionOut(id=region.pk, code=region.code, name=region.name, level=region.level,
                         parent_code=region.parent.code if region.parent_id and region.parent else None)


class DepartmentOut(Schema):
    id: int
    external_id: str | None
    name: str
    parent_id: int | None
    path: str
    depth: int
    region_code: str | None
    head_id: int | None
    is_active: bool


def _department_out(d: Department) -> DepartmentOut:
    return DepartmentOut(id=d.pk, external_id=d.external_id, name=d.name, parent_id=d.parent_id, path=d.path,
                         depth=d.depth, region_code=d.region.code if d.region else None, head_id=d.head_id,
                         is_active=d.is_active)


class DepartmentIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    parent_id: int | None = None
    region_code: str | None = Field(None, max_length=12)
    head_id: int | None = None
    external_id: str | None = Field(None, max_length=64)


class DepartmentPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    parent_id: int | None = None
    region_code: str | None = Field(None, max_length=12)
    head_id: int | None = None
    external_id: str | None = Field(None, max_length=64)
    is_active: bool | None = None
    reason: str = Field("", max_length=1000)


class TeamOut(Schema):
    id: int
    external_id: str | None
    name: str
    department_id: int
    leader_id: int | None
    region_code: str | None
    is_active: bool


def _team_out(t: Team) -> TeamOut:
    return TeamOut(id=t.pk, external_id=t.external_id, name=t.name, department_id=t.department_id,
                   leader_id=t.leader_id, region_code=t.region.code if t.region else None, is_active=t.is_active)


class TeamIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    department_id: int
    leader_id: int | None = None
    region_code: str | None = Field(None, max_length=12)
    external_id: str | None = Field(None, max_length=64)


class TeamPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    department_id: int | None = None
    leader_id: int | None = None
    region_code: str | None = Field(None, max_length=12)
    external_id: str | None = Field(None, max_length=64)
    is_active: bool | None = None
    reason: str = Field("", max_length=1000)


class ReferenceOut(Schema):
    id: int
    code: str
    name: str
    name_en: str | None = None
    rank: int | None = None
    is_active: bool


class ReferenceIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Field(..., min_length=1, max_length=120)
    name_en: str | None = Field(None, max_length=120)
    rank: int | None = Field(None, ge=0, le=32767)
    description: str | None = Field(None, max_length=2000)
    is_active: bool = True


class PersonOut(Schema):
    id: int
    external_id: str | None
    username: str
    full_name: str
    email: str
    phone: str
    wechat: str
    contact_masked: bool
    department_id: int | None
    team_id: int | None
    post_id: int | None
    grade_id: int | None
    region_code: str | None
    supervisor_id: int | None
    roles: list[str]
    hired_on: dt.date | None
    left_on: dt.date | None
    is_active: bool
    can_export: bool


def _person_out(viewer: User, p: User) -> PersonOut:
    return PersonOut(
        id=p.pk, external_id=p.external_id, username=p.username, full_name=p.full_name,
        email=services.pii_display(viewer, p, "email"), phone=services.pii_display(viewer, p, "phone"),
        wechat=services.pii_display(viewer, p, "wechat"), contact_masked=not services.pii_visible(viewer, p),
        department_id=p.department_id, team_id=p.team_id, post_id=p.post_id, grade_id=p.grade_id,
        region_code=p.region.code if p.region else None, supervisor_id=p.supervisor_id,
        roles=sorted(a.role for a in p.role_assignments.all()), hired_on=p.hired_on, left_on=p.left_on,
        is_active=p.is_active, can_export=p.can_export,
    )


class PersonFields(Schema):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    wechat: str | None = Field(None, max_length=64)
    department_id: int | None = None
    team_id: int | None = None
    post_id: int | None = None
    grade_id: int | None = None
    region_code: str | None = Field(None, max_length=12)
    supervisor_id: int | None = None
    hired_on: dt.date | None = None
    left_on: dt.date | None = None
    external_id: str | None = Field(None, max_length=64)
    can_export: bool | None = None


class PersonIn(PersonFields):
    username: str = Field(..., min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    full_name: str = Field(..., min_length=1, max_length=120)
    roles: list[RoleCode] = []
    password: str | None = Field(None, min_length=1, max_length=128)


class PersonPatch(PersonFields):
    full_name: str | None = Field(None, min_length=1, max_length=120)
    is_active: bool | None = None
    reason: str = Field("", max_length=1000)


class RolesIn(Schema):
    roles: list[RoleCode]
    valid_until: dt.datetime | None = None
    reason: str = Field("", max_length=1000)


class RevealIn(Schema):
    field: Literal["phone", "email", "wechat"]
    reason: str = Field("", max_length=1000)


class RevealOut(Schema):
    field: str
    value: str


class SessionsEndedOut(Schema):
    ended: int


class RoleConflictOut(Schema):
    id: int
    role_a: str
    role_b: str
    reason: str


class RoleConflictIn(Schema):
    role_a: RoleCode
    role_b: RoleCode
    reason: str = Field(..., min_length=1, max_length=300)


class OrgReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)


class PeopleFilter(Schema):
    q: str = Field("", max_length=100)
    department_id: int | None = None
    team_id: int | None = None
    role: RoleCode | None = None
    is_active: bool | None = None
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- helpers

def _region(code: str | None, field: str = "region_code") -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationFailed(field_errors={field: [_("Unknown region code: %(code)s.") % {"code": code}]})
    return region


def _person_fields(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    refs = {"department_id": ("department", Department), "team_id": ("team", Team), "post_id": ("post", Post),
            "grade_id": ("grade", Grade), "supervisor_id": ("supervisor", User)}
    for key, value in data.items():
        if key in refs:
            name, model = refs[key]
            result[name] = api_ref(model, value, key)
        elif key == "region_code":
            result["region"] = _region(value)
        elif key in {"email", "phone", "wechat"}:
            result[key] = value or ""
        else:
            result[key] = value
    return result


# ---------------------------------------------------------------- departments

@router.get("/departments", response={200: Page[DepartmentOut], **ERRORS}, summary="List departments (tree order)")
def department_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.department_list(viewer=viewer).select_related("region")
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("path",), serialize=_department_out)


@router.post("/departments", response={201: DepartmentOut, **ERRORS}, summary="Create a department")
def department_create(request: HttpRequest, payload: DepartmentIn) -> Any:
    department = services.department_create(
        actor=request.user, name=payload.name,  # type: ignore[arg-type]
        parent=api_ref(Department, payload.parent_id, "parent_id"), region=_region(payload.region_code),
        head=api_ref(User, payload.head_id, "head_id"), external_id=payload.external_id)
    return Status(201, _department_out(department))


@router.get("/departments/{department_id}", response={200: DepartmentOut, **ERRORS}, summary="One department")
def department_get(request: HttpRequest, department_id: int) -> Any:
    return _department_out(selectors.department_get(viewer=api_viewer(request), department_id=department_id))


@router.patch("/departments/{department_id}", response={200: DepartmentOut, **ERRORS},
              summary="Change a department (rename, move, deactivate)")
def department_update(request: HttpRequest, department_id: int, payload: DepartmentPatch) -> Any:
    department = selectors.department_get(viewer=api_viewer(request), department_id=department_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key == "parent_id":
            fields["parent"] = api_ref(Department, value, key)
        elif key == "head_id":
            fields["head"] = api_ref(User, value, key)
        elif key == "region_code":
            fields["region"] = _region(value)
        elif key == "name" and value is None:
            raise ValidationFailed(field_errors={"name": [_("This field is required.")]})
        elif key == "is_active" and value is None:
            continue
        else:
            fields[key] = value
    department = services.department_update(actor=request.user, department=department, reason=reason,  # type: ignore[arg-type]
                                            **fields)
    return _department_out(department)


# ---------------------------------------------------------------- teams

@router.get("/teams", response={200: Page[TeamOut], **ERRORS}, summary="List teams")
def team_list(request: HttpRequest, params: Query[ListParams], department_id: int | None = None) -> Any:
    qs = selectors.team_list(viewer=api_viewer(request), department_id=department_id)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("pk",), serialize=_team_out)


@router.post("/teams", response={201: TeamOut, **ERRORS}, summary="Create a team")
def team_create(request: HttpRequest, payload: TeamIn) -> Any:
    team = services.team_create(
        actor=request.user, name=payload.name,  # type: ignore[arg-type]
        department=api_ref(Department, payload.department_id, "department_id"),
        leader=api_ref(User, payload.leader_id, "leader_id"), region=_region(payload.region_code),
        external_id=payload.external_id)
    return Status(201, _team_out(team))


@router.get("/teams/{team_id}", response={200: TeamOut, **ERRORS}, summary="One team")
def team_get(request: HttpRequest, team_id: int) -> Any:
    return _team_out(selectors.team_get(viewer=api_viewer(request), team_id=team_id))


@router.patch("/teams/{team_id}", response={200: TeamOut, **ERRORS}, summary="Change a team")
def team_update(request: HttpRequest, team_id: int, payload: TeamPatch) -> Any:
    team = selectors.team_get(viewer=api_viewer(request), team_id=team_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key == "department_id":
            if value is None:
                raise ValidationFailed(field_errors={key: [_("This field is required.")]})
            fields["department"] = api_ref(Department, value, key)
        elif key == "leader_id":
            fields["leader"] = api_ref(User, value, key)
        elif key == "region_code":
            fields["region"] = _region(value)
        elif key in {"name", "is_active"} and value is None:
            raise ValidationFailed(field_errors={key: [_("This field is required.")]})
        else:
            fields[key] = value
    return _team_out(services.team_update(actor=request.user, team=team, reason=reason, **fields))  # type: ignore[arg-type]


# ---------------------------------------------------------------- regions and reference lists

@router.get("/regions", response={200: list[RegionOut], **ERRORS}, summary="Search official regions")
def region_list(request: HttpRequest, q: str = "", level: Literal["", "province", "city", "district"] = "",
                parent_code: str = "", limit: int = Query(50, ge=1, le=500)) -> Any:  # type: ignore[type-arg]
    api_viewer(request)
    return [RegionOut.from_model(r) for r in selectors.region_search(term=q[:50], level=level,
                                                                    parent_code=parent_code[:12], limit=limit)]


ReferenceKind = Literal["industry", "post", "grade"]


def _reference_out(item: Any) -> ReferenceOut:
    return ReferenceOut(id=item.pk, code=item.code, name=item.name, name_en=getattr(item, "name_en", None),
                        rank=getattr(item, "rank", None), is_active=item.is_active)


def _reference_fields(kind: str, payload: ReferenceIn, partial: bool = False) -> dict[str, Any]:
    data = payload.dict(exclude_unset=partial)
    allowed = {"industry": {"code", "name", "name_en", "is_active"},
               "post": {"code", "name", "name_en", "description", "is_active"},
               "grade": {"code", "name", "rank", "is_active"}}[kind]
    extra = {k for k, v in data.items() if k not in allowed and v is not None}
    if extra:
        raise ValidationFailed(field_errors={k: [_("Not a field of this list.")] for k in extra})
    if kind == "grade" and data.get("rank") is None and not partial:
        raise ValidationFailed(field_errors={"rank": [_("This field is required.")]})
    result = {k: v for k, v in data.items() if k in allowed}
    for key in ("name_en", "description"):
        if key in result and result[key] is None:
            result[key] = ""
    return result


@router.get("/reference/{kind}", response={200: list[ReferenceOut], **ERRORS},
            summary="List industries, posts or grades")
def reference_list(request: HttpRequest, kind: ReferenceKind) -> Any:
    api_viewer(request)
    return [_reference_out(i) for i in selectors.reference_list(kind)[:1000]]


@router.post("/reference/{kind}", response={201: ReferenceOut, **ERRORS}, summary="Add an industry, post or grade")
def reference_create(request: HttpRequest, kind: ReferenceKind, payload: ReferenceIn) -> Any:
    item = services.reference_save(actor=request.user, kind=kind, **_reference_fields(kind, payload))  # type: ignore[arg-type]
    return Status(201, _reference_out(item))


@router.put("/reference/{kind}/{item_id}", response={200: ReferenceOut, **ERRORS},
            summary="Change an industry, post or grade")
def reference_update(request: HttpRequest, kind: ReferenceKind, item_id: int, payload: ReferenceIn) -> Any:
    item = services.reference_save(actor=request.user, kind=kind, instance_id=item_id,  # type: ignore[arg-type]
                                   **_reference_fields(kind, payload))
    return _reference_out(item)


# ---------------------------------------------------------------- people

@router.get("/users", response={200: Page[PersonOut], **ERRORS}, summary="List people in your scope")
def user_list(request: HttpRequest, filters: Query[PeopleFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.user_list(viewer=viewer, search=filters.q, department_id=filters.department_id,
                             team_id=filters.team_id, role=filters.role or "", is_active=filters.is_active)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("pk",),
                       serialize=lambda p: _person_out(viewer, p))


@router.post("/users", response={201: PersonOut, **ERRORS}, summary="Add a person")
def user_create(request: HttpRequest, payload: PersonIn) -> Any:
    data = payload.dict(exclude_unset=True)
    roles = data.pop("roles", [])
    password = data.pop("password", None)
    username = data.pop("username")
    full_name = data.pop("full_name")
    fields = _person_fields(data)
    if fields.get("can_export") is None:
        fields.pop("can_export", None)
    person = services.user_create(actor=request.user, username=username, full_name=full_name,  # type: ignore[arg-type]
                                  roles=roles, password=password, **fields)
    viewer: User = request.user  # type: ignore[assignment]
    return Status(201, _person_out(viewer, selectors.user_get(viewer=viewer, user_id=person.pk)))


@router.get("/users/me", response={200: PersonOut, **ERRORS}, summary="The signed-in person")
def user_me(request: HttpRequest) -> Any:
    user: User = request.user  # type: ignore[assignment]
    return _person_out(user, User.objects.prefetch_related("role_assignments").get(pk=user.pk))


@router.get("/users/{user_id}", response={200: PersonOut, **ERRORS}, summary="One person")
def user_get(request: HttpRequest, user_id: int) -> Any:
    viewer = api_viewer(request)
    return _person_out(viewer, selectors.user_get(viewer=viewer, user_id=user_id))


@router.patch("/users/{user_id}", response={200: PersonOut, **ERRORS},
              summary="Change a person (deactivating ends their sessions at once)")
def user_update(request: HttpRequest, user_id: int, payload: PersonPatch) -> Any:
    viewer = api_viewer(request)
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    for key in ("full_name", "is_active", "can_export"):
        if key in data and data[key] is None:
            raise ValidationFailed(field_errors={key: [_("This field cannot be empty.")]})
    services.user_update(actor=viewer, user=person, reason=reason, **_person_fields(data))
    return _person_out(viewer, selectors.user_get(viewer=viewer, user_id=person.pk))


@router.put("/users/{user_id}/roles", response={200: PersonOut, **ERRORS},
            summary="Replace a person's roles (incompatible pairs are refused)")
def user_roles(request: HttpRequest, user_id: int, payload: RolesIn) -> Any:
    viewer = api_viewer(request)
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    services.user_set_roles(actor=viewer, user=person, roles=list(payload.roles), valid_until=payload.valid_until,
                            reason=payload.reason)
    return _person_out(viewer, selectors.user_get(viewer=viewer, user_id=person.pk))


@router.post("/users/{user_id}/reveal", response={200: RevealOut, **ERRORS},
             summary="Reveal one masked contact value (audited)")
def user_reveal(request: HttpRequest, user_id: int, payload: RevealIn) -> Any:
    viewer = api_viewer(request)
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    value = services.pii_reveal(actor=viewer, person=person, field=payload.field, reason=payload.reason)
    return RevealOut(field=payload.field, value=value)


@router.post("/users/{user_id}/sessions/end", response={200: SessionsEndedOut, **ERRORS},
             summary="End every session of a person (forced sign-out)")
def user_end_sessions(request: HttpRequest, user_id: int, payload: OrgReasonIn) -> Any:
    from kamguard.accounts.services import sessions_end_all

    viewer = api_viewer(request)
    if not viewer.has_right(Right.MANAGE_USERS):
        raise PermissionRefused(extra={"right": str(Right.MANAGE_USERS)})
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    return SessionsEndedOut(ended=sessions_end_all(actor=viewer, user=person, reason=payload.reason))


# ---------------------------------------------------------------- segregation of duties

@router.get("/role-conflicts", response={200: list[RoleConflictOut], **ERRORS},
            summary="Declared incompatible role pairs")
def role_conflict_list(request: HttpRequest) -> Any:
    api_viewer(request)
    return [RoleConflictOut(id=c.pk, role_a=c.role_a, role_b=c.role_b, reason=c.reason)
            for c in selectors.role_conflict_list()]


@router.post("/role-conflicts", response={201: RoleConflictOut, **ERRORS}, summary="Declare an incompatible pair")
def role_conflict_add(request: HttpRequest, payload: RoleConflictIn) -> Any:
    c = services.role_conflict_add(actor=request.user, role_a=payload.role_a, role_b=payload.role_b,  # type: ignore[arg-type]
                                   reason=payload.reason)
    return Status(201, RoleConflictOut(id=c.pk, role_a=c.role_a, role_b=c.role_b, reason=c.reason))


@router.delete("/role-conflicts/{conflict_id}", response={204: None, **ERRORS}, summary="Remove a declared pair")
def role_conflict_remove(request: HttpRequest, conflict_id: int, payload: OrgReasonIn) -> Any:
    services.role_conflict_remove(actor=request.user, conflict_id=conflict_id, reason=payload.reason)  # type: ignore[arg-type]
    return Status(204, None)


