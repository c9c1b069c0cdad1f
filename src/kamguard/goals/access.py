"""Who may see and change goals. Shared by services, selectors and pages.

- Sales targets: a supervisor (the supervisor role, the right to edit business data, a data scope covering the
  person) sets and changes a person's targets, never their own. The person reads their own; whoever's scope
  covers the person reads them (the supervisor, auditors, HR).
- A person's objective: the owner (with the right to edit) and their supervisor (as above) write it, its key
  results and check-ins. Readers: the owner and whoever's scope covers the owner. Teammates with a person's own
  scope do not see each other's objectives.
- A team's objective: the team's supervisor writes it — its leader, or a supervisor whose department is the
  team's or above it (or who sees everything). Readers: the team's members, its leader, and whoever's scope
  covers the team's department.
"""

from __future__ import annotations

from django.db.models import Q

from kamguard.goals.models import Objective
from kamguard.org.domain.roles import Right, Role, Scope
from kamguard.org.models import Team, User
from kamguard.org.scopes import EVERYTHING, NOTHING, person_in_scope, scope_q


def may_edit(actor: User) -> bool:
    return bool(actor.is_authenticated and actor.is_active and actor.has_right(Right.EDIT_BUSINESS_DATA))


def is_supervisor(actor: User) -> bool:
    return may_edit(actor) and Role.SUPERVISOR in actor.roles


def may_supervise(actor: User, person: User) -> bool:
    """Sets the person's targets, writes their objectives: a supervisor whose scope covers them, never oneself."""
    return is_supervisor(actor) and actor.pk != person.pk and person_in_scope(actor, person)


def may_lead_team(actor: User, team: Team) -> bool:
    """Writes the team's objectives: its leader, or a supervisor over the team's department."""
    if not may_edit(actor):
        return False
    if team.leader_id == actor.pk:
        return True
    if Role.SUPERVISOR not in actor.roles:
        return False
    if actor.scope >= Scope.ALL:
        return True
    department = actor.department
    return bool(actor.scope >= Scope.DEPARTMENT and department is not None and department.path
                and team.department.path.startswith(department.path))


def teams_led(actor: User) -> Q:
    """A filter on org.Team for the teams whose objectives and targets grid the actor manages."""
    if not may_edit(actor):
        return NOTHING
    q = Q(leader_id=actor.pk)
    if Role.SUPERVISOR in actor.roles:
        if actor.scope >= Scope.ALL:
            return EVERYTHING
        department = actor.department
        if actor.scope >= Scope.DEPARTMENT and department is not None and department.path:
            q |= Q(department__path__startswith=department.path)
    return q


def teams_visible(viewer: User) -> Q:
    """A filter on org.Team for the teams whose objectives the viewer reads."""
    if not viewer.is_authenticated or not viewer.is_active or viewer.scope == Scope.NONE:
        return NOTHING
    if viewer.scope >= Scope.ALL:
        return EVERYTHING
    q = Q(leader_id=viewer.pk)
    if viewer.team_id:
        q |= Q(pk=viewer.team_id)
    department = viewer.department
    if viewer.scope >= Scope.DEPARTMENT and department is not None and department.path:
        q |= Q(department__path__startswith=department.path)
    return q


def objectives_visible(viewer: User) -> Q:
    """A filter on goals.Objective for the objectives the viewer reads."""
    if not viewer.is_authenticated or not viewer.is_active:
        return NOTHING
    person = Q(owner_user__isnull=False) & scope_q(viewer, owner_path="owner_user")
    team = Q(owner_team__isnull=False) & Q(owner_team__in=Team.objects.filter(teams_visible(viewer)))
    return person | team


def may_write_objective(actor: User, objective: Objective) -> bool:
    if objective.owner_team_id is not None:
        return may_lead_team(actor, objective.owner_team)  # type: ignore[arg-type]
    owner = objective.owner_user
    if owner is None:
        return False
    if actor.pk == owner.pk:
        return may_edit(actor)
    return may_supervise(actor, owner)
