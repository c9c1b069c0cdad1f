"""The home dashboard: real figures from the data that exists, chosen by role and narrowed by scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kamguard.core.models import AuditEvent
from kamguard.org.domain.roles import Right, Role, Scope
from kamguard.org.models import Department, RoleAssignment, Team, User
from kamguard.org.scopes import scope_q


@dataclass
class Figure:
    label: Promise | str
    value: Any
    url: str = ""
    tone: str = ""


@dataclass
class Section:
    key: str
    title: Promise | str
    figures: list[Figure] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: list[tuple[str, Promise | str]] = field(default_factory=list)
    empty: Promise | str = ""


def dashboard_for(user: User) -> list[Section]:
    sections: list[Section] = [_my_section(user)]
    roles = user.roles
    people = User.objects.filter(scope_q(user, owner_path=""))
    # A manager's scope is their own book: a team section would only ever show themselves.
    if roles & {Role.SUPERVISOR, Role.SPECIALIST}:
        sections.append(_team_section(user, people))
    if Role.ADMIN in roles or Role.HR in roles:
        sections.append(_organisation_section(user, people))
    from kamguard.customers.dashboard import customers_section

    customers = customers_section(user)
    if customers is not None:
        sections.insert(1, customers)
    allocation = _allocation_section(user)
    if allocation is not None:
        sections.insert(2 if customers is not None else 1, allocation)
    waiting = _waiting_section(user)
    if waiting is not None:
        sections.insert(1, waiting)
    if user.has_right(Right.VIEW_AUDIT):
        sections.append(_audit_section())
    return sections


def _waiting_section(user: User) -> Section | None:
    """What waits for this person across the work apps: approvals to decide, logs to review, relay forms to
    receive or handle, their overdue action items and, for finance, payments to confirm. Only what the person
    can act on; nothing for a read-only role."""
    from django.urls import reverse

    if not user.has_right(Right.EDIT_BUSINESS_DATA):
        return None
    from kamguard.approvals.selectors import inbox_count
    from kamguard.meetings.selectors import my_items
    from kamguard.relay.selectors import waiting_for
    from kamguard.worklogs.selectors import reviews_waiting

    section = Section("waiting", _("Waiting for me"))
    section.figures = [
        Figure(_("Approvals to decide"), inbox_count(viewer=user), reverse("approvals:home"), tone="warn"),
        Figure(_("Relay forms to receive or handle"), waiting_for(user_ids=[user.pk]).count(), reverse("relay:home")),
        Figure(_("My overdue action items"), my_items(viewer=user, status="overdue").count(),
               f"{reverse('meetings:items')}?status=overdue", tone="warn"),
    ]
    if user.has_role(Role.SUPERVISOR):
        section.figures.insert(1, Figure(_("Work logs to review"), reviews_waiting(reviewer=user),
                                         reverse("worklogs:inbox")))
    if user.has_role(Role.FINANCE):
        from kamguard.contracts.selectors import confirmation_queue

        section.figures.append(Figure(_("Payments to confirm"), confirmation_queue(viewer=user).count(),
                                      reverse("contracts:payment_queue"), tone="warn"))
    return section


def _allocation_section(user: User) -> Section | None:
    """Allocation at a glance: what reached me; for supervisors, administrators and auditors, the intake that
    waits for someone and the fairness alerts nobody answered yet."""
    from django.urls import reverse

    from kamguard.allocation import selectors as allocation_selectors
    from kamguard.allocation.models import IntakeOutcome

    oversees = user.scope >= Scope.DEPARTMENT
    if not oversees and not user.has_right(Right.EDIT_BUSINESS_DATA):
        return None
    month_start = timezone.make_aware(dt.datetime.combine(timezone.localdate().replace(day=1), dt.time.min))
    section = Section("allocation", _("Allocation"))
    if user.has_right(Right.EDIT_BUSINESS_DATA):  # people who may own customers
        received = allocation_selectors.decision_list(viewer=user, person_id=user.pk).filter(
            decided_at__gte=month_start)
        section.figures.append(Figure(_("Customers allocated to me this month"), received.count(),
                                      f"{reverse('allocation:decision_list')}?person={user.pk}"))
    if oversees:
        leads = allocation_selectors.intake_list(viewer=user).filter(submitted_at__gte=month_start)
        counts = leads.aggregate(total=Count("id"), held=Count("id", filter=Q(outcome=IntakeOutcome.HELD)))
        section.figures += [
            Figure(_("Leads this month"), counts["total"], reverse("allocation:intake_list")),
            Figure(_("Leads held for review"), allocation_selectors.intake_list(viewer=user, outcome=IntakeOutcome.HELD)
                   .count(), f"{reverse('allocation:intake_list')}?outcome=held", tone="warn"),
            Figure(_("Open fairness alerts"), allocation_selectors.fairness_alert_list(viewer=user, open_only=True)
                   .count(), reverse("allocation:fairness"), tone="warn"),
        ]
    return section


def _my_section(user: User) -> Section:
    since = timezone.now() - dt.timedelta(days=30)
    my_events = AuditEvent.objects.filter(actor=user, occurred_at__gte=since)
    section = Section("me", _("My account"))
    section.figures = [
        Figure(_("Team"), user.team.name if user.team else _("none"), tone="text"),
        Figure(_("Supervisor"), str(user.supervisor) if user.supervisor else _("none"), tone="text"),
        Figure(_("Sign-ins in the last 30 days"), my_events.filter(action="auth.login.succeeded").count()),
        Figure(_("Active sessions"), user.tracked_sessions.filter(ended_at__isnull=True).count()),
    ]
    return section


def _team_section(user: User, people: Any) -> Section:
    team_people = people.filter(is_active=True)
    if user.team_id and not user.has_role(Role.SUPERVISOR):
        team_people = team_people.filter(team_id=user.team_id)
    elif user.has_role(Role.SUPERVISOR):
        team_people = team_people.exclude(pk=user.pk)
    by_team = (team_people.values("team__name").annotate(n=Count("id")).order_by("-n", "team__name"))
    section = Section("team", _("My team") if not user.has_role(Role.SUPERVISOR) else _("People I supervise"))
    section.figures = [
        Figure(_("People"), team_people.count()),
        Figure(_("Key account managers"), team_people.filter(role_assignments__role=Role.MANAGER).distinct().count()),
        Figure(_("Direct reports"), team_people.filter(supervisor=user).count()),
        Figure(_("Leaving or left"), people.filter(left_on__isnull=False).count(), tone="warn"),
    ]
    section.columns = [("team", _("Team")), ("count", _("People"))]
    section.rows = [{"team": row["team__name"] or _("no team"), "count": row["n"]} for row in by_team[:12]]
    section.empty = _("Nobody is in your scope yet.")
    return section


def _organisation_section(user: User, people: Any) -> Section:
    active = people.filter(is_active=True)
    month_start = timezone.localdate().replace(day=1)
    section = Section("org", _("Organisation"))
    section.figures = [
        Figure(_("Active people"), active.count()),
        Figure(_("Departments"), Department.objects.filter(is_active=True).count()),
        Figure(_("Teams"), Team.objects.filter(is_active=True).count()),
        Figure(_("Hired this month"), active.filter(hired_on__gte=month_start).count()),
        Figure(_("Deactivated accounts"), people.filter(is_active=False).count(), tone="warn"),
        Figure(_("People without a role"), active.filter(role_assignments__isnull=True).count(), tone="warn"),
    ]
    counts = dict(RoleAssignment.objects.filter(user__in=active).values_list("role").annotate(n=Count("id")))
    section.columns = [("role", _("Role")), ("count", _("People"))]
    from kamguard.org.forms import ROLE_LABELS

    section.rows = [{"role": ROLE_LABELS[role], "count": counts.get(role.value, 0)} for role in Role]
    return section


def _audit_section() -> Section:
    now = timezone.now()
    day = now - dt.timedelta(days=1)
    week = now - dt.timedelta(days=7)
    recent = AuditEvent.objects.filter(occurred_at__gte=week)
    from kamguard.audit.labels import action_label

    section = Section("audit", _("Audit trail"))
    counts = recent.aggregate(
        total=Count("id"),
        failed=Count("id", filter=Q(action="auth.login.failed", occurred_at__gte=day)),
        refused=Count("id", filter=Q(action="permission.refused")),
        reveals=Count("id", filter=Q(action="pii.revealed")),
        exports=Count("id", filter=Q(action__endswith=".exported")),
    )
    section.figures = [
        Figure(_("Events in the last 7 days"), counts["total"]),
        Figure(_("Failed sign-ins in the last 24 hours"), counts["failed"], tone="warn"),
        Figure(_("Refused actions in the last 7 days"), counts["refused"], tone="warn"),
        Figure(_("Personal data revealed in the last 7 days"), counts["reveals"]),
        Figure(_("Exports in the last 7 days"), counts["exports"]),
    ]
    section.columns = [("time", _("Time")), ("actor", _("Who")), ("action", _("Action")), ("object", _("Object"))]
    section.rows = [
        {"time": e.occurred_at, "actor": e.actor_label, "action": action_label(e.action), "object": e.object_label}
        for e in AuditEvent.objects.order_by("-sequence")[:10]
    ]
    section.empty = _("No events yet.")
    return section
