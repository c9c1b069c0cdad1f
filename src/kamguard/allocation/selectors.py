"""Every read of allocation starts from the user.

- Rule sets are visible to every active person (rules everybody can see); drafts only to those who may manage
  the rule set and to people with scope "all" (auditors).
- The allocation log: people with scope "all" see everything; supervisors the decisions of their teams and
  about customers they may see; anyone else the decisions about customers they may see (a manager: their own).
- Intake: scope "all" sees every lead; anyone else the leads they submitted or reviewed, the leads that became customers
  they may see, and duplicates of those customers; a supervisor also every lead that became nobody's customer
  (held or rejected: for review) and the leads whose allocation decisions they may see in the log.
- Capacities, absences and departure notices: people in the viewer's data scope.

Functions (keyword-only, viewer first):
- `rule_set_list(*, viewer) -> QuerySet[RuleSet]` (annotated `active_number`, `draft_count`)
- `rule_set_get(*, viewer, rule_set_id) -> RuleSet`
- `version_list(*, viewer, rule_set) -> QuerySet[RuleSetVersion]`
- `version_get(*, viewer, version_id) -> RuleSetVersion`
- `active_version(*, rule_set) -> RuleSetVersion | None`
- `may_view_drafts(viewer, rule_set) -> bool`
- `decision_list(*, viewer, customer_id=None, person_id=None, team_id=None, version_id=None, manual=None,
   since=None, until=None) -> QuerySet[AllocationDecision]`
- `decision_get(*, viewer, decision_id) -> AllocationDecision`
- `intake_list(*, viewer, outcome="", channel="", search="") -> QuerySet[Intake]`
- `intake_get(*, viewer, intake_id) -> Intake`
- `capacity_list(*, viewer, team_id=None) -> QuerySet[PersonCapacity]`
- `absence_list(*, viewer, current_on=None) -> QuerySet[Absence]`
- `departure_notice_list(*, viewer) -> QuerySet[DepartureNotice]`
- `team_setting_list(*, viewer) -> QuerySet[TeamAllocationSetting]`
- `fairness_alert_list(*, viewer, open_only=False) -> QuerySet[FairnessAlert]`
- `fairness_team_list(*, viewer) -> QuerySet[Team]` — teams whose fairness report the viewer may open.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from kamguard.allocation.models import (
    Absence,
    AllocationDecision,
    DepartureNotice,
    FairnessAlert,
    Intake,
    PersonCapacity,
    RuleSet,
    RuleSetVersion,
    TeamAllocationSetting,
    VersionStatus,
)
from kamguard.allocation.services.common import is_supervisor, may_manage_rule_set
from kamguard.allocation.services.fairness import fairness_visible_team_ids
from kamguard.core.errors import NotFound
from kamguard.customers.models import Customer
from kamguard.customers.selectors import customer_visibility_q
from kamguard.org.domain.roles import Scope
from kamguard.org.models import Team, User
from kamguard.org.scopes import NOTHING, scope_q


def _active(viewer: User) -> bool:
    return bool(viewer.is_authenticated and viewer.is_active)


# ---------------------------------------------------------------- rule sets

def may_view_drafts(viewer: User, rule_set: RuleSet) -> bool:
    return _active(viewer) and (viewer.scope == Scope.ALL or may_manage_rule_set(viewer, rule_set))


def rule_set_list(*, viewer: User) -> QuerySet[RuleSet]:
    if not _active(viewer):
        return RuleSet.objects.none()
    active = RuleSetVersion.objects.filter(rule_set=OuterRef("pk"), status=VersionStatus.ACTIVE).values("number")[:1]
    return RuleSet.objects.select_related("department").annotate(
        active_number=Subquery(active),
        draft_count=Count("versions", filter=Q(versions__status=VersionStatus.DRAFT))).order_by("-is_default", "name")


def rule_set_get(*, viewer: User, rule_set_id: int) -> RuleSet:
    found = rule_set_list(viewer=viewer).filter(pk=rule_set_id).first()
    if found is None:
        raise NotFound()
    return found


def version_list(*, viewer: User, rule_set: RuleSet) -> QuerySet[RuleSetVersion]:
    qs = RuleSetVersion.objects.filter(rule_set=rule_set).select_related(
        "created_by", "changed_by", "activated_by", "based_on").order_by("-number")
    if not _active(viewer):
        return qs.none()
    if not may_view_drafts(viewer, rule_set):
        qs = qs.exclude(status=VersionStatus.DRAFT)
    return qs


def version_get(*, viewer: User, version_id: int) -> RuleSetVersion:
    version = RuleSetVersion.objects.select_related("rule_set", "rule_set__department").filter(pk=version_id).first()
    if version is None or not _active(viewer):
        raise NotFound()
    if version.status == VersionStatus.DRAFT and not may_view_drafts(viewer, version.rule_set):
        raise NotFound()
    return version


def active_version(*, rule_set: RuleSet) -> RuleSetVersion | None:
    return RuleSetVersion.objects.filter(rule_set=rule_set, status=VersionStatus.ACTIVE).first()


# ---------------------------------------------------------------- the allocation log

def _decision_q(viewer: User) -> Q | None:
    """None: everything."""
    if not _active(viewer):
        return NOTHING
    if viewer.scope == Scope.ALL:
        return None
    visible_customers = Customer.objects.filter(customer_visibility_q(viewer)).values("pk")
    q = Q(customer__in=visible_customers)
    if is_supervisor(viewer):
        teams = fairness_visible_team_ids(viewer)
        if teams is None:
            return None
        q |= Q(team_id__in=teams)
    return q


def decision_list(*, viewer: User, customer_id: int | None = None, person_id: int | None = None,
                  team_id: int | None = None, version_id: int | None = None, manual: bool | None = None,
                  since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[AllocationDecision]:
    qs = AllocationDecision.objects.select_related(
        "customer", "person", "previous_owner", "pool", "team", "actor", "version", "version__rule_set", "intake")
    q = _decision_q(viewer)
    if q is not None:
        qs = qs.filter(q)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    if version_id is not None:
        qs = qs.filter(version_id=version_id)
    if manual is not None:
        qs = qs.filter(is_manual=manual)
    if since is not None:
        qs = qs.filter(decided_at__gte=timezone.make_aware(dt.datetime.combine(since, dt.time.min)))
    if until is not None:
        qs = qs.filter(decided_at__lt=timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1),
                                                                              dt.time.min)))
    return qs.order_by("-decided_at", "-pk")


def decision_get(*, viewer: User, decision_id: int) -> AllocationDecision:
    found = decision_list(viewer=viewer).filter(pk=decision_id).first()
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- intake

def intake_list(*, viewer: User, outcome: str = "", channel: str = "", search: str = "") -> QuerySet[Intake]:
    qs = Intake.objects.select_related("customer", "duplicate_of", "submitted_by", "reviewed_by", "rule_set")
    if not _active(viewer):
        return qs.none()
    if viewer.scope != Scope.ALL and not (is_supervisor(viewer) and _decision_q(viewer) is None):
        visible = Customer.objects.filter(customer_visibility_q(viewer)).values("pk")
        q = Q(submitted_by=viewer) | Q(reviewed_by=viewer) | Q(customer__in=visible) | Q(duplicate_of__in=visible)
        if is_supervisor(viewer):
            # A lead that became nobody's customer (held, rejected) is for any supervisor to review; one that
            # became a customer is theirs only as far as its customer or its decisions are (the allocation log's
            # rule): a lead's fields are the customer's name and contacts.
            decisions = AllocationDecision.objects.filter(intake=OuterRef("pk"))
            decision_q = _decision_q(viewer)
            q |= Q(customer__isnull=True, duplicate_of__isnull=True)
            q |= Q(Exists(decisions.filter(decision_q or Q())))
        qs = qs.filter(q)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if channel:
        qs = qs.filter(channel=channel)
    if search:
        qs = qs.filter(Q(fields__name__icontains=search.strip()) | Q(customer__name__icontains=search.strip()))
    return qs.order_by("-submitted_at", "-pk")


def intake_get(*, viewer: User, intake_id: int) -> Intake:
    found = intake_list(viewer=viewer).filter(pk=intake_id).first()
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- people and teams

def _people_q(viewer: User, path: str) -> Q:
    return scope_q(viewer, owner_path=path)


def capacity_list(*, viewer: User, team_id: int | None = None) -> QuerySet[PersonCapacity]:
    qs = PersonCapacity.objects.filter(_people_q(viewer, "person")).select_related("person", "person__team")
    if team_id is not None:
        qs = qs.filter(person__team_id=team_id)
    return qs.order_by("person__full_name", "tier")


def absence_list(*, viewer: User, current_on: dt.date | None = None) -> QuerySet[Absence]:
    qs = Absence.objects.filter(_people_q(viewer, "person")).select_related("person", "created_by")
    if current_on is not None:
        qs = qs.filter(starts_on__lte=current_on, ends_on__gte=current_on)
    return qs.order_by("-starts_on", "pk")


def departure_notice_list(*, viewer: User) -> QuerySet[DepartureNotice]:
    return DepartureNotice.objects.filter(_people_q(viewer, "person")).select_related("person").order_by(
        "-noticed_on")


def fairness_team_list(*, viewer: User) -> QuerySet[Team]:
    if not _active(viewer):
        return Team.objects.none()
    visible = fairness_visible_team_ids(viewer)
    qs = Team.objects.filter(is_active=True).select_related("department")
    if visible is not None:
        qs = qs.filter(pk__in=visible)
    return qs.order_by("name")


def team_setting_list(*, viewer: User) -> QuerySet[TeamAllocationSetting]:
    teams = fairness_team_list(viewer=viewer).values("pk")
    return TeamAllocationSetting.objects.filter(team__in=teams).select_related("team", "pool").order_by("team__name")


def fairness_alert_list(*, viewer: User, open_only: bool = False) -> QuerySet[FairnessAlert]:
    teams = fairness_team_list(viewer=viewer).values("pk")
    qs = FairnessAlert.objects.filter(team__in=teams).select_related("team", "acknowledged_by", "version")
    if open_only:
        qs = qs.filter(acknowledged_at__isnull=True)
    return qs.order_by("-period_start", "team__name", "code")

