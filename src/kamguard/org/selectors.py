"""Every read of the organisation starts from the user and sees only what their scope allows."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from kamguard.core.errors import NotFound
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
from kamguard.org.scopes import scope_q

USER_SORTS = {
    "username": "username", "-username": "-username", "name": "full_name", "-name": "-full_name",
    "department": "department__name", "-department": "-department__name", "team": "team__name", "-team": "-team__name",
    "hired": "hired_on", "-hired": "-hired_on",
}


def user_list(*, viewer: User, search: str = "", department_id: int | None = None, team_id: int | None = None,
              role: str = "", is_active: bool | None = None, sort: str = "username") -> QuerySet[User]:
    qs = User.objects.filter(scope_q(viewer, owner_path="")).select_related(
        "department", "team", "post", "grade", "supervisor", "region"
    ).prefetch_related(Prefetch("role_assignments", queryset=RoleAssignment.objects.order_by("role")))
    if search:
        term = search.strip()
        qs = qs.filter(Q(username__icontains=term) | Q(full_name__icontains=term) | Q(external_id__iexact=term))
    if department_id:
        department = Department.objects.filter(pk=department_id).first()
        qs = qs.filter(department__path__startswith=department.path) if department else qs.none()
    if team_id:
        qs = qs.filter(team_id=team_id)
    if role:
        qs = qs.filter(role_assignments__role=role)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by(USER_SORTS.get(sort, "username"), "pk").distinct()


def user_get(*, viewer: User, user_id: int) -> User:
    """The person, if in the viewer's scope; otherwise NotFound (missing and forbidden look the same)."""
    found = user_list(viewer=viewer).filter(pk=user_id).first()
    if found is None:
        raise NotFound()
    return found


def department_list(*, viewer: User) -> QuerySet[Department]:
    return Department.objects.select_related("parent", "region", "head").annotate(
        people=Count("members", filter=Q(members__is_active=True), distinct=True),
        team_count=Count("teams", distinct=True),
    ).order_by("path")


def department_get(*, viewer: User, department_id: int) -> Department:
    found = Department.objects.filter(pk=department_id).select_related("parent", "region", "head").first()
    if found is None:
        raise NotFound()
    return found


def department_tree(*, viewer: User) -> list[dict[str, object]]:
    """Departments as nested dicts, each with its teams: the whole tree in two queries."""
    departments = list(department_list(viewer=viewer))
    teams_by_department: dict[int, list[Team]] = {}
    for team in Team.objects.select_related("leader").annotate(
            people=Count("members", filter=Q(members__is_active=True))).order_by("name"):
        teams_by_department.setdefault(team.department_id, []).append(team)
    nodes = {d.pk: {"department": d, "children": [], "teams": teams_by_department.get(d.pk, [])} for d in departments}
    roots: list[dict[str, object]] = []
    for d in departments:
        node = nodes[d.pk]
        if d.parent_id and d.parent_id in nodes:
            nodes[d.parent_id]["children"].append(node)  # type: ignore[attr-defined]
        else:
            roots.append(node)
    return roots


def team_list(*, viewer: User, department_id: int | None = None) -> QuerySet[Team]:
    qs = Team.objects.select_related("department", "leader", "region").annotate(
        people=Count("members", filter=Q(members__is_active=True)))
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("department__path", "name")


def team_get(*, viewer: User, team_id: int) -> Team:
    found = team_list(viewer=viewer).filter(pk=team_id).first()
    if found is None:
        raise NotFound()
    return found


def region_search(*, term: str = "", level: str = "", parent_code: str = "", limit: int = 50) -> QuerySet[Region]:
    qs = Region.objects.select_related("parent")
    if term:
        qs = qs.filter(Q(name__contains=term.strip()) | Q(code__startswith=term.strip()))
    if level:
        qs = qs.filter(level=level)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    return qs.order_by("code")[:limit]


def reference_list(kind: str) -> QuerySet[Industry] | QuerySet[Post] | QuerySet[Grade]:
    if kind == "industry":
        return Industry.objects.all()
    if kind == "post":
        return Post.objects.all()
    if kind == "grade":
        return Grade.objects.all()
    raise NotFound()


def role_conflict_list() -> QuerySet[RoleConflict]:
    return RoleConflict.objects.order_by("role_a", "role_b")
