"""Data scopes applied to querysets. Every selector narrows through here, so lists, details, counts,
search, exports and reports all see the same set of rows."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from kamguard.org.domain.roles import Scope
from kamguard.org.models import Share, User

NOTHING = Q(pk__in=[])
# Matches every row and, unlike an empty Q(), survives being OR-ed with another condition: `Q() | Q(x)` is
# just `Q(x)`, which would narrow someone who sees everything to x.
EVERYTHING = ~Q(pk__in=[])


def _field(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def scope_q(user: User, *, owner_path: str, object_type: str | None = None) -> Q:
    """A filter for rows whose owner (reached by `owner_path`, "" when the row is the person) the user may see.

    `object_type` names the rows for "shared with me" (org.Share); None when sharing does not apply.
    """
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    scope = user.scope
    if scope == Scope.ALL:
        return EVERYTHING
    if scope == Scope.NONE:
        return NOTHING
    own_key = _field(owner_path, "pk") if owner_path else "pk"
    q = Q(**{own_key: user.pk})
    if scope >= Scope.TEAM and user.team_id:
        q |= Q(**{_field(owner_path, "team_id"): user.team_id})
    if scope >= Scope.DEPARTMENT:
        q |= Q(**{_field(owner_path, "supervisor_id"): user.pk})
        if user.department_id:
            path = user.department.path if user.department else None
            if path:
                q |= Q(**{_field(owner_path, "department__path__startswith"): path})
    if object_type:
        now = timezone.now()
        shared_ids = Share.objects.filter(shared_with=user, object_type=object_type).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=now)
        ).values_list("object_id", flat=True)
        q |= Q(pk__in=[int(i) for i in shared_ids if str(i).isdigit()])
    return q


def person_in_scope(viewer: User, person: User) -> bool:
    return User.objects.filter(scope_q(viewer, owner_path=""), pk=person.pk).exists()
