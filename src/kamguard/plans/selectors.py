"""Every read of monthly marketing plans starts from the viewer: their own plans, and the plans of the people
their data scope covers (a supervisor's department, everything for auditors)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from kamguard.core.errors import NotFound
from kamguard.org.models import User
from kamguard.org.scopes import scope_q
from kamguard.plans.domain.actual import DoneVisit, PlanActual, PlannedVisit, plan_actual
from kamguard.plans.domain.months import month_end
from kamguard.plans.models import MarketingPlan, PlanStatus, PlanVisit


def plan_list(*, viewer: User, user_id: int | None = None, month: dt.date | None = None, status: str = "",
              team_id: int | None = None) -> QuerySet[MarketingPlan]:
    qs = MarketingPlan.objects.filter(scope_q(viewer, owner_path="user")).select_related(
        "user", "user__team", "reviewed_by").annotate(visit_count=Count("visits"))
    if user_id:
        qs = qs.filter(user_id=user_id)
    if month:
        qs = qs.filter(month=month.replace(day=1))
    if status:
        qs = qs.filter(status=status)
    if team_id:
        qs = qs.filter(user__team_id=team_id)
    return qs.order_by("-month", "user__full_name", "pk")


def plan_get(*, viewer: User, plan_id: int) -> MarketingPlan:
    found = plan_list(viewer=viewer).filter(pk=plan_id).first()
    if found is None:
        raise NotFound()
    return found


def plan_for_reference(*, viewer: User, reference: str) -> MarketingPlan | None:
    """The plan a reference points at, when the viewer may see it: "plans:<item id>" (a planned visit's
    `plan_ref`, see `PlanVisit.plan_ref`) or "plan:<plan id>" (the whole plan, see `MarketingPlan.reference`).
    None for any other reference, a removed item or a plan out of the viewer's scope."""
    prefix, _, number = (reference or "").partition(":")
    if not number.isdigit():
        return None
    if prefix == "plans":
        return plan_list(viewer=viewer).filter(visits__pk=int(number)).first()
    if prefix == "plan":
        return plan_list(viewer=viewer).filter(pk=int(number)).first()
    return None


def plan_choices(*, viewer: User, limit: int = 24) -> list[tuple[str, str]]:
    """(reference, "2026-12 · person") of the most recent plans the viewer may see, their own first: for forms
    that attach something to a monthly plan."""
    plans = list(plan_list(viewer=viewer)[:limit * 4])
    plans.sort(key=lambda p: (p.user_id != viewer.pk, -p.month.toordinal(), p.pk))
    return [(p.reference, f"{p.month:%Y-%m} · {p.user}") for p in plans[:limit]]


def plans_waiting_review(*, viewer: User) -> QuerySet[MarketingPlan]:
    """Submitted plans of the people the viewer supervises (not their own)."""
    return plan_list(viewer=viewer, status=PlanStatus.SUBMITTED).exclude(user=viewer)


def plan_visits(*, plan: MarketingPlan) -> QuerySet[PlanVisit]:
    """The plan's visit items (call after `plan_get`, which checked the viewer may see the plan)."""
    return plan.visits.select_related("customer").order_by("planned_on", "customer__name", "pk")


@dataclass(frozen=True)
class PlanResult:
    plan: MarketingPlan
    actual: PlanActual
    items: list[dict[str, Any]]  # each planned visit with whether it was carried out and its activity's status
    customer_names: dict[int, str]
    start: dt.date
    end: dt.date


def plan_result(*, viewer: User, plan_id: int) -> PlanResult:
    """Plan versus actual for the plan's month (so far, while the month runs): visits done against planned,
    coverage of each tier's service standard over the person's customers, the completion rate."""
    from kamguard.activities.models import Activity
    from kamguard.activities.selectors import visits_done
    from kamguard.customers.models import Customer, CustomerStatus, TierStandard

    plan = plan_get(viewer=viewer, plan_id=plan_id)
    start, end = plan.month, month_end(plan.month)
    items = list(plan_visits(plan=plan))
    done_rows = list(visits_done(user_ids=[plan.user_id], start=start, end=end).values_list(
        "pk", "customer_id", "happened_at", "checked_in_at", "planned_on"))
    from django.utils import timezone

    done = []
    for pk, customer_id, happened_at, checked_in_at, planned_on in done_rows:
        moment = happened_at or checked_in_at
        day = timezone.localtime(moment).date() if moment else planned_on
        if day is None:
            continue
        done.append(DoneVisit(activity_id=pk, customer_id=customer_id, day=day))
    owned = dict(Customer.objects.filter(owner_id=plan.user_id, status=CustomerStatus.ACTIVE).values_list(
        "pk", "tier"))
    standards = dict(TierStandard.objects.values_list("tier", "visits_per_month"))
    standards = {tier: n for tier, n in standards.items() if n}
    actual = plan_actual(
        planned=[PlannedVisit(item_id=i.pk, customer_id=i.customer_id, planned_on=i.planned_on,
                              activity_id=i.activity_id) for i in items],
        done=done, owned_tiers=owned, standards=standards)
    statuses = dict(Activity.objects.filter(pk__in=[i.activity_id for i in items if i.activity_id]).values_list(
        "pk", "status"))
    rows = [{"item": i, "carried_out": i.pk in actual.carried_out_ids,
             "activity_status": statuses.get(i.activity_id or 0, "")} for i in items]
    uncovered = {cid for t in actual.tiers for cid in t.uncovered_ids}
    names = dict(Customer.objects.filter(pk__in=uncovered).values_list("pk", "name")) if uncovered else {}
    return PlanResult(plan=plan, actual=actual, items=rows, customer_names=names, start=start, end=end)
