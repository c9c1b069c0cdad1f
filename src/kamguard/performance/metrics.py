"""The metrics of performance scoring, computed from the records of the other apps (requirements P6, P9).

`metrics_compute(user_ids=…, start=…, end=…)` answers, for every person asked for, every metric code of
`performance.domain.metrics_catalogue.METRICS` as a `MetricValue(value, inputs)`: the value (Decimal) and the
figures it came from as strings (they go into the scorecard's JSON snapshot and its explanation). A value of None
means "no data" — no target set, no survey answered… — and `inputs["reason"]` says which (NO_DATA_REASONS); nothing
is ever invented. This is a system read (no viewer): the performance app decides who may see a scorecard.

Cost: a fixed number of GROUP BY / bulk queries over all the people at once (about 25, plus one per month of the
period for forecast months whose accuracy was not computed yet), never queries per person. [start, end] are
inclusive local dates.

How each metric is counted
- Sales are credited to the order's *credited manager* (`contracts.Order.manager`): the contracts app sets it when
  the order is entered — the contract's manager, else whoever owned the customer on the order date — and it is
  what the contracts and sales pages report. The whole order counts for that manager: account-team credit shares
  (customers.AccountTeamMember) split opportunities' credit, not orders, and are not applied here.
  sales_amount = the amounts of the manager's orders dated in the period, cancelled orders left out (0 when none:
  selling nothing is a fact, not missing data).
- sales_target = goals.selectors.targets_for over the calendar months the period touches; sales_completion =
  sales / target × 100. Both None without a target ("no_target") and when only some of those months have one
  ("partial_target": the whole period's sales against part of its target would inflate the rate).
- margin_rate: the records hold no costs, so the margin is the price realisation of the order lines that carry a
  list price (ERP orders): Σ line amount / Σ list price × quantity × 100 (None when no line has a list price).
- collection_rate: of the manager's orders falling due in the period (not cancelled), the share paid by the end
  of the period — payment allocations of payments not rejected, paid on or before `end` — as the contracts app's
  receivables count them (None when nothing fell due).
- forecast_accuracy: the average accuracy of the manager's monthly forecasts of the months in the period; the
  accuracy the sales app stored, else (a finished month whose accuracy was not computed yet) the same
  sales.domain.forecast_accuracy over the month's won amount (sales.selectors.won_by_manager). Running months
  are not counted. None without a forecast.
- Customers are the ones the person owns now (active ones): ownership in the past is not reconstructed.
  tier_coverage: through plans.domain.actual.plan_actual — a customer is covered when its done visits in the
  period reach its tier's TierStandard visits per month × the calendar months the period touches (1 for a month,
  3 for a quarter…); None without customers of a tier that has a standard. plan_completion (same function): planned visits (plans.PlanVisit) carried out.
  followup_frequency: done visits and other contacts (checked in or done) with the person's own customers, per
  customer per calendar month of the period. visit_count: done visits (activities.selectors.visits_done), with the accompanied ones.
- data_quality: the supervision basic-data quality score (supervision.domain.quality.quality_score over the same
  counts supervision.selectors.data_quality gathers), None when no check applies.
- late_logs, missing_logs, log_quality, policy_compliance from worklogs.selectors.log_quality: log_quality is the
  supervisors' average rating × 20 (1–5 → 20–100); policy_compliance = on-time logs / logs due × 100 minus
  VIOLATION_POINTS per violation, not below 0 (None when no log was due).
- violations: investigations (risk.Case) closed in the period with a policy-violation or confirmed-diversion
  outcome; the penalties taking effect in the period are shown beside.
- disputes: ownership disputes filed in the period where the person is the owner or the claimant (lost = decided
  against them); transfers_out: customers that left the person in the period (customers.OwnershipChange).
- satisfaction = reviews.selectors.customer_satisfaction_for, review_360 = review_summary_for(…).overall,
  okr_progress = goals.selectors.okr_progress_for: the key results as they stood at the end of the period (later
  objectives, key results and check-ins do not count).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from kamguard.activities.models import FOLLOWUP_STATUSES, Activity
from kamguard.activities.selectors import visits_done
from kamguard.contracts.models import Order, OrderLine, OrderStatus, PaymentAllocation, PaymentStatus
from kamguard.customers.models import (
    Customer,
    CustomerStatus,
    DisputeOutcome,
    DisputeStatus,
    OwnershipChange,
    OwnershipDispute,
    OwnershipKind,
    TierStandard,
)
from kamguard.goals.selectors import okr_progress_for, target_months_for, targets_for
from kamguard.plans.domain.actual import DoneVisit, PlannedVisit, plan_actual
from kamguard.plans.models import PlanVisit
from kamguard.reviews.selectors import customer_satisfaction_for, review_summary_for
from kamguard.risk.models import Case, CaseOutcome, CaseStatus, Penalty
from kamguard.sales.domain import forecast_accuracy, month_end, month_start
from kamguard.sales.models import Forecast
from kamguard.sales.selectors import won_by_manager
from kamguard.supervision import selectors as supervision
from kamguard.supervision.domain.quality import quality_score
from kamguard.worklogs.selectors import log_quality

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
VIOLATION_POINTS = Decimal(20)
RATING_SCALE = Decimal(5)


@dataclass(frozen=True)
class MetricValue:
    value: Decimal | None
    inputs: dict[str, str] = field(default_factory=dict)


def values_of(metrics: dict[str, MetricValue]) -> dict[str, Decimal | None]:
    """The plain values, what performance.domain.scorecard_compute takes."""
    return {code: metric.value for code, metric in metrics.items()}


def _q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal | None) -> str:
    return f"{_q2(value or ZERO):f}"


def _count(value: int) -> MetricValue:
    return MetricValue(Decimal(value))


def _none(reason: str, **inputs: str) -> MetricValue:
    return MetricValue(None, {"reason": reason, **inputs})


def _pct(numerator: Decimal, denominator: Decimal) -> Decimal:
    return _q2(numerator * HUNDRED / denominator)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _months(start: dt.date, end: dt.date) -> int:
    return max(1, (end.year * 12 + end.month) - (start.year * 12 + start.month) + 1)


def metrics_compute(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, dict[str, MetricValue]]:
    """Every metric of every person in `user_ids` over [start, end] (see the module docstring)."""
    ids = sorted({int(i) for i in user_ids})
    if not ids or end < start:
        return {}
    out: dict[int, dict[str, MetricValue]] = {uid: {} for uid in ids}
    _sales(out, ids, start, end)
    _forecasts(out, ids, start, end)
    _customers_and_visits(out, ids, start, end)
    logs = _logs(out, ids, start, end)
    violations = _violations(out, ids, start, end)
    _compliance(out, logs, violations)
    _data_quality(out, ids, start, end, logs)
    _ownership(out, ids, start, end)
    _goals_and_reviews(out, ids, start, end)
    return out


# ------------------------------------------------------------------------------------------------ sales and money

def _sales(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date) -> None:

    orders = (Order.objects.filter(manager_id__in=ids, order_date__gte=start, order_date__lte=end)
              .exclude(status=OrderStatus.CANCELLED).values("manager_id")
              .annotate(sales=Sum("amount"), orders=Count("pk")).order_by())
    sold = {row["manager_id"]: (row["sales"] or ZERO, row["orders"]) for row in orders}
    listed = ExpressionWrapper(F("list_price") * F("quantity"), output_field=DecimalField(max_digits=28,
                                                                                            decimal_places=2))
    lines = (OrderLine.objects.filter(order__manager_id__in=ids, order__order_date__gte=start,
                                      order__order_date__lte=end, list_price__isnull=False)
             .exclude(order__status=OrderStatus.CANCELLED).values("order__manager_id")
             .annotate(net=Sum("amount"), listed=Sum(listed)).order_by())
    margins = {row["order__manager_id"]: (row["net"] or ZERO, row["listed"] or ZERO) for row in lines}
    due_rows = (Order.objects.filter(manager_id__in=ids, due_on__gte=start, due_on__lte=end)
                .exclude(status=OrderStatus.CANCELLED).values("manager_id").annotate(due=Sum("amount")).order_by())
    due = {row["manager_id"]: row["due"] or ZERO for row in due_rows}
    paid_rows = (PaymentAllocation.objects.filter(order__manager_id__in=ids, order__due_on__gte=start,
                                                  order__due_on__lte=end, payment__paid_on__lte=end)
                 .exclude(order__status=OrderStatus.CANCELLED).exclude(payment__status=PaymentStatus.REJECTED)
                 .values("order__manager_id").annotate(paid=Sum("amount")).order_by())
    paid = {row["order__manager_id"]: row["paid"] or ZERO for row in paid_rows}
    # The target of the period is the sum of the targets of every calendar month it touches: with a month
    # missing, that sum would set the whole period's sales against part of its target (no data instead).
    targets = targets_for(user_ids=ids, start=month_start(start), end=end)
    covered = target_months_for(user_ids=ids, start=start, end=end)
    month_count = _months(start, end)
    months = str(month_count)
    for uid in ids:
        m = out[uid]
        sales, count = sold.get(uid, (ZERO, 0))
        m["sales_amount"] = MetricValue(_q2(sales), {"sales": _money(sales), "orders": str(count)})
        target = targets.get(uid)
        with_target = len(covered.get(uid, ()))
        if target is None or not with_target:
            m["sales_target"] = _none("no_target")
            m["sales_completion"] = _none("no_target", sales=_money(sales))
        elif with_target < month_count:
            partial = {"months_with_target": str(with_target), "months": months}
            m["sales_target"] = _none("partial_target", **partial)
            m["sales_completion"] = _none("partial_target", sales=_money(sales), **partial)
        else:
            m["sales_target"] = MetricValue(_q2(target), {"target": _money(target), "months": months})
            m["sales_completion"] = (MetricValue(_pct(sales, target), {"sales": _money(sales), "target": _money(target)})
                                     if target > 0 else _none("no_target", sales=_money(sales)))
        net, listed_total = margins.get(uid, (ZERO, ZERO))
        m["margin_rate"] = (MetricValue(_pct(net, listed_total), {"net": _money(net), "list": _money(listed_total)})
                            if listed_total > 0 else _none("no_list_price"))
        owed = due.get(uid, ZERO)
        collected = paid.get(uid, ZERO)
        m["collection_rate"] = (MetricValue(_pct(collected, owed), {"collected": _money(collected),
                                                                    "due": _money(owed)})
                                if owed > 0 else _none("nothing_due"))


def _forecasts(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date) -> None:

    today = timezone.localdate()
    rows = list(Forecast.objects.filter(manager_id__in=ids, month__gte=month_start(start), month__lte=end)
                .values_list("manager_id", "month", "commit_amount", "actual_amount", "accuracy_pct"))
    pending: dict[dt.date, list[int]] = defaultdict(list)
    for uid, month, _commit, _actual, accuracy in rows:
        if accuracy is None and month_end(month) < today:
            pending[month].append(uid)
    won = {month: won_by_manager(manager_ids=people, start=month, end=month_end(month))
           for month, people in pending.items()}
    per_person: dict[int, list[tuple[Decimal, Decimal, Decimal]]] = defaultdict(list)
    for uid, month, commit, actual, accuracy in rows:
        if accuracy is None:
            if month not in won:
                continue  # the month is still running
            actual = won[month].get(uid, ZERO)
            accuracy = forecast_accuracy(commit=commit, actual=actual)
        per_person[uid].append((accuracy, commit, actual or ZERO))
    for uid in ids:
        items = per_person.get(uid)
        if not items:
            out[uid]["forecast_accuracy"] = _none("no_forecast")
            continue
        average = _q2(sum((a for a, _c, _w in items), ZERO) / len(items))
        out[uid]["forecast_accuracy"] = MetricValue(average, {
            "months": str(len(items)), "commit": _money(sum((c for _a, c, _w in items), ZERO)),
            "actual": _money(sum((w for _a, _c, w in items), ZERO))})


# ---------------------------------------------------------------------------------- customers, visits and plans

def _customers_and_visits(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date,
                          end: dt.date) -> None:

    months = _months(start, end)
    owned: dict[int, dict[int, str]] = defaultdict(dict)
    for pk, owner_id, tier in Customer.objects.filter(owner_id__in=ids, status=CustomerStatus.ACTIVE).values_list(
            "pk", "owner_id", "tier").iterator(chunk_size=10000):
        owned[owner_id][pk] = tier
    standards = {tier: n * months for tier, n in TierStandard.objects.values_list("tier", "visits_per_month") if n}
    done: dict[int, list[Any]] = defaultdict(list)
    accompanied: Counter[int] = Counter()
    rows = visits_done(user_ids=ids, start=start, end=end).select_related(None).order_by().values_list(
        "pk", "user_id", "customer_id", "happened_at", "accompanied_by_id")
    offset_cache: dict[tuple[int, int, int], dt.timedelta] = {}
    for pk, uid, customer_id, happened_at, companion in rows.iterator(chunk_size=10000):
        if happened_at is None:
            continue
        key = (happened_at.year, happened_at.month, happened_at.day)
        offset = offset_cache.get(key)
        if offset is None:  # the local offset changes at most at a DST switch: once a UTC day is enough
            offset = offset_cache[key] = timezone.localtime(happened_at).utcoffset() or dt.timedelta(0)
        done[uid].append(DoneVisit(activity_id=pk, customer_id=customer_id, day=(happened_at + offset).date()))
        if companion is not None:
            accompanied[uid] += 1
    planned: dict[int, list[Any]] = defaultdict(list)
    for pk, uid, customer_id, planned_on, activity_id in PlanVisit.objects.filter(
            plan__user_id__in=ids, planned_on__gte=start, planned_on__lte=end).values_list(
            "pk", "plan__user_id", "customer_id", "planned_on", "activity_id").iterator(chunk_size=10000):
        planned[uid].append(PlannedVisit(item_id=pk, customer_id=customer_id, planned_on=planned_on,
                                         activity_id=activity_id))
    contacts = {row["user_id"]: row["n"] for row in Activity.objects.filter(
        user_id__in=ids, status__in=FOLLOWUP_STATUSES, happened_at__gte=_day_start(start),
        happened_at__lt=_day_start(end + dt.timedelta(days=1)), customer__owner_id=F("user_id"),
        customer__status=CustomerStatus.ACTIVE,
    ).values("user_id").annotate(n=Count("pk")).order_by()}
    for uid in ids:
        m = out[uid]
        tiers = owned.get(uid, {})
        actual = plan_actual(planned=planned.get(uid, []), done=done.get(uid, []), owned_tiers=tiers,
                             standards=standards)
        covered = sum(t.covered for t in actual.tiers)
        measured = sum(t.customers for t in actual.tiers)
        if measured:
            detail = " · ".join(f"{t.tier} {t.covered}/{t.customers}" for t in actual.tiers if t.customers)
            m["tier_coverage"] = MetricValue(_pct(Decimal(covered), Decimal(measured)), {
                "covered": str(covered), "customers": str(measured), "detail": detail})
        else:
            m["tier_coverage"] = _none("no_customers")
        if actual.planned:
            m["plan_completion"] = MetricValue(_pct(Decimal(actual.planned_done), Decimal(actual.planned)), {
                "done": str(actual.planned_done), "planned": str(actual.planned)})
        else:
            m["plan_completion"] = _none("no_plan")
        if tiers:
            n = contacts.get(uid, 0)
            per = _q2(Decimal(n) / len(tiers) / months)
            m["followup_frequency"] = MetricValue(per, {"contacts": str(n), "customers": str(len(tiers)),
                                                        "per_customer": f"{per:f}", "months": str(months)})
        else:
            m["followup_frequency"] = _none("no_customers")
        m["visit_count"] = MetricValue(Decimal(len(done.get(uid, []))), {
            "visits": str(len(done.get(uid, []))), "accompanied": str(accompanied[uid])})


# --------------------------------------------------------------------------- work logs, compliance, data quality

def _logs(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date
          ) -> dict[int, dict[str, Any]]:

    logs = log_quality(user_ids=ids, start=start, end=end)
    for uid in ids:
        m = out[uid]
        log = logs.get(uid) or {}
        due, late, missing = int(log.get("due", 0)), int(log.get("late", 0)), int(log.get("missing", 0))
        if due or late:
            m["late_logs"] = MetricValue(Decimal(late), {"late": str(late), "logs": str(due)})
            m["missing_logs"] = MetricValue(Decimal(missing), {"missing": str(missing), "logs": str(due)})
        else:
            m["late_logs"] = _none("no_logs")
            m["missing_logs"] = _none("no_logs")
        rating = log.get("average_rating")
        reviewed = int(log.get("reviewed", 0))
        if rating is None or not reviewed:
            m["log_quality"] = _none("no_reviews")
        else:
            average = Decimal(str(rating))
            m["log_quality"] = MetricValue(_q2(average * HUNDRED / RATING_SCALE), {
                "rating": f"{_q2(average):f}", "scale": f"{RATING_SCALE:f}", "reviews": str(reviewed)})
    return logs


def _violations(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date
                ) -> dict[int, int]:

    cases = dict(Case.objects.filter(
        person_id__in=ids, status=CaseStatus.CLOSED,
        outcome__in=[CaseOutcome.POLICY_VIOLATION, CaseOutcome.CONFIRMED_DIVERSION],
        closed_at__gte=_day_start(start), closed_at__lt=_day_start(end + dt.timedelta(days=1)),
    ).values("person_id").annotate(n=Count("pk")).order_by().values_list("person_id", "n"))
    penalties = dict(Penalty.objects.filter(person_id__in=ids, effective_on__gte=start, effective_on__lte=end)
                     .values("person_id").annotate(n=Count("pk")).order_by().values_list("person_id", "n"))
    for uid in ids:
        out[uid]["violations"] = MetricValue(Decimal(cases.get(uid, 0)), {
            "cases": str(cases.get(uid, 0)), "penalties": str(penalties.get(uid, 0))})
    return cases


def _compliance(out: dict[int, dict[str, MetricValue]], logs: dict[int, dict[str, Any]],
                violations: dict[int, int]) -> None:
    for uid, m in out.items():
        log = logs.get(uid) or {}
        due, on_time = int(log.get("due", 0)), int(log.get("submitted", 0))
        count = violations.get(uid, 0)
        if not due:
            m["policy_compliance"] = _none("no_logs")
            continue
        value = max(ZERO, _pct(Decimal(min(on_time, due)), Decimal(due)) - VIOLATION_POINTS * count)
        m["policy_compliance"] = MetricValue(_q2(value), {
            "on_time": str(on_time), "expected": str(due), "violations": str(count),
            "per_violation": f"{VIOLATION_POINTS:f}"})


def _data_quality(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date,
                  logs: dict[int, dict[str, Any]]) -> None:
    counts_by_person, _sources = supervision.quality_counts_for(user_ids=ids, start=start, end=end, logs=logs)
    for uid in ids:
        counts = counts_by_person[uid]
        score = quality_score(counts)
        applicable = sum(1 for item in score.items if item.applies)
        if score.score is None:
            out[uid]["data_quality"] = _none("no_quality_data")
        else:
            out[uid]["data_quality"] = MetricValue(_q2(Decimal(str(score.score))), {
                "applicable": str(applicable), "checks": str(len(score.items))})


# ------------------------------------------------------------------------------------ disputes and transfers

def _ownership(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date) -> None:
    begin, finish = _day_start(start), _day_start(end + dt.timedelta(days=1))
    filed: Counter[int] = Counter()
    lost: Counter[int] = Counter()
    against_owner = {DisputeOutcome.TRANSFER, DisputeOutcome.POOL, DisputeOutcome.SHARE}
    wanted = set(ids)
    for owner_id, claimant_id, status, outcome in OwnershipDispute.objects.filter(
            Q(owner_id__in=ids) | Q(claimant_id__in=ids), created_at__gte=begin, created_at__lt=finish,
    ).values_list("owner_id", "claimant_id", "status", "outcome").iterator(chunk_size=10000):
        decided = status == DisputeStatus.DECIDED
        if owner_id in wanted:
            filed[owner_id] += 1
            lost[owner_id] += decided and outcome in against_owner
        if claimant_id in wanted and claimant_id != owner_id:
            filed[claimant_id] += 1
            lost[claimant_id] += decided and outcome == DisputeOutcome.KEEP
    kinds: dict[int, Counter[str]] = defaultdict(Counter)
    for from_owner_id, kind, n in (OwnershipChange.objects.filter(
            from_owner_id__in=ids, effective_at__gte=begin, effective_at__lt=finish)
            .exclude(kind=OwnershipKind.MERGE).exclude(to_owner_id=F("from_owner_id"))
            .values("from_owner_id", "kind").annotate(n=Count("pk")).order_by()
            .values_list("from_owner_id", "kind", "n")):
        kinds[from_owner_id][kind] += n
    for uid in ids:
        out[uid]["disputes"] = MetricValue(Decimal(filed[uid]), {"disputes": str(filed[uid]), "lost": str(lost[uid])})
        by_kind = kinds.get(uid, Counter())
        total = sum(by_kind.values())
        reclaimed = by_kind[OwnershipKind.RECLAIM]
        released = by_kind[OwnershipKind.RELEASE]
        out[uid]["transfers_out"] = MetricValue(Decimal(total), {
            "transfers": str(total), "reclaimed": str(reclaimed), "released": str(released),
            "other": str(total - reclaimed - released)})


# ------------------------------------------------------------------------------------------ goals and reviews

def _goals_and_reviews(out: dict[int, dict[str, MetricValue]], ids: list[int], start: dt.date, end: dt.date
                       ) -> None:

    okr = okr_progress_for(user_ids=ids, start=start, end=end)
    satisfaction = customer_satisfaction_for(user_ids=ids, start=start, end=end)
    reviews = review_summary_for(user_ids=ids, start=start, end=end)
    for uid in ids:
        m = out[uid]
        progress = okr.get(uid)
        m["okr_progress"] = (MetricValue(_q2(progress), {"progress": f"{_q2(progress):f}"}) if progress is not None
                             else _none("no_okr"))
        answered = satisfaction.get(uid)
        m["satisfaction"] = (MetricValue(_q2(answered[0]), {"answers": str(answered[1])}) if answered
                             else _none("no_survey"))
        summary = reviews.get(uid)
        if summary is None or summary.overall is None:
            m["review_360"] = _none("no_360")
        else:
            count = sum(n for _average, n in summary.by_source.values())
            m["review_360"] = MetricValue(_q2(summary.overall), {"reviews": str(count)})
