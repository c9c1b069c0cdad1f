"""A scan: load the data as of a date, evaluate every signal, store the ranked scores and raise alerts.

Alerts: a subject whose score reaches its type's threshold gets an open alert, or its live alert (open or
suppressed) is refreshed with the new score and evidence — a suppressed alert stays suppressed. A subject
whose alert was closed (confirmed or false) in the last `QUIET_DAYS` is not raised again unless its score rose
by `RISE` since. Scans of a past date (backtests, `--as-of`) store their scores but raise no alerts.

The update after an import (`customer_ids`) starts, when it can, from the basis the last full scan of the same
day and settings kept (`ScanBasis`: orders summed per customer, manager and bucket, last follow-ups, price samples):
the orders and lines written since are added to it, and only the customers concerned — those given and any whose
orders, activities, payments or opportunities were written since the basis — are judged again, with their orders
and their managers. Market, norms and peers rest on everyone's data as the full scan would see it; a manager's
roll-up takes the other customers' and orders' scores from that full scan. Without a basis (no full scan today,
or new settings) it evaluates everyone and stores what the import touched. See docs/risk.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.contracts.models import Order
from kamguard.core.audit import AuditEntry, audit_record, audit_record_many
from kamguard.core.errors import ValidationFailed
from kamguard.customers.models import Customer
from kamguard.org.models import User
from kamguard.risk.domain.combine import SubjectScore
from kamguard.risk.domain.config import RiskConfig, config_to_mapping
from kamguard.risk.domain.engine import Evaluation, evaluate
from kamguard.risk.domain.evidence import SubjectType
from kamguard.risk.models import (
    LIVE_ALERT_STATUSES,
    Alert,
    AlertStatus,
    RiskScore,
    ScanBasis,
    ScanKind,
    ScanRun,
    ScanStatus,
)
from kamguard.risk.services.access import require_configure
from kamguard.risk.services.config import settings_get
from kamguard.risk.services.dataset import (
    Basis,
    _provinces,
    basis_pack,
    basis_unpack,
    data_bounds,
    dataset_load_with_basis,
)

QUIET_DAYS = 90
RISE = 0.1


@dataclass
class Subject:
    """What a stored score shows about its subject: external id, name, the person concerned, team, region."""

    external_id: str
    label: str
    person_id: int | None
    team_id: int | None
    region_id: int | None


@dataclass
class ScanOutcome:
    run: ScanRun
    evaluation: Evaluation
    subjects: dict[tuple[str, int], Subject]
    alerts_raised: int


def scan_check_date(as_of: dt.date | None) -> dt.date:
    """The as-of date to use, refused with a message when it cannot give a result."""
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(_("The as-of date %(date)s is in the future; the latest possible is today, "
                                 "%(today)s.") % {"date": as_of.isoformat(), "today": today.isoformat()},
                               code="as_of_in_future", field_errors={"as_of": [_("In the future.")]})
    first, _last = data_bounds()
    if first is None:
        raise ValidationFailed(_("There is no data to scan yet: no orders, payments, activities or closed "
                                 "opportunities. Import or enter some, then scan again."), code="no_data")
    if as_of < first:
        raise ValidationFailed(_("Nothing happened on or before %(date)s: the earliest data is from %(first)s. "
                                 "Choose a later as-of date.") % {"date": as_of.isoformat(), "first": first.isoformat()},
                               code="as_of_before_data", field_errors={"as_of": [_("Before any data.")]},
                               extra={"earliest": first.isoformat()})
    return as_of


def scan_run(*, actor: User | None, as_of: dt.date | None = None, kind: str = ScanKind.MANUAL,
             customer_ids: Iterable[int] | None = None, save: bool = True) -> ScanOutcome:
    """Evaluate the data as of `as_of` (today by default) and, with `save`, store the run, its scores and the
    alerts. `customer_ids` (after an import) limits what is judged and stored to those customers (and any written
    since today's basis), their orders and the managers concerned; markets, norms and peers still rest on everyone
    (from the basis the last full scan of the day kept, plus what was written since, when there is one). A full
    scan of today keeps its basis for those updates."""
    require_configure(actor)
    as_of = scan_check_date(as_of)
    settings_row, config = settings_get()
    started = time.perf_counter()
    wanted = set(customer_ids) if customer_ids is not None else set()
    kept = _basis_for(as_of, settings_row.version) if customer_ids is not None else None
    if kept is not None:
        basis_row, basis = kept
        wanted |= customers_written_after(basis, basis_row.run.started_at)
        data, basis = dataset_load_with_basis(as_of=as_of, config=config, basis=basis, customer_ids=wanted)
        data.known_scores = _known_scores(basis_row.run, wanted)
    else:
        data, basis = dataset_load_with_basis(as_of=as_of, config=config)
    evaluation = evaluate(data, config)
    scores = evaluation.scores
    scope: dict[str, Any] = {}
    if customer_ids is not None:
        judged = [s for s in scores if (s.subject_type == SubjectType.CUSTOMER and s.subject_id in wanted)
                  or (s.subject_type == SubjectType.ORDER and data.order_customers.get(s.subject_id) in wanted)]
        people = {s.manager_id for s in judged}
        keys = {s.key for s in judged}
        scores = [s for s in scores if s.key in keys
                  or (s.subject_type == SubjectType.MANAGER and s.subject_id in people)]
        scope = {"customers": sorted(wanted)[:1000], "count": len(wanted),
                 "basis_run": kept[0].run_id if kept is not None else None}
        evaluation = Evaluation(evaluation.as_of, scores, evaluation.counts)
    subjects = subjects_describe(scores)
    raises = as_of >= timezone.localdate()
    run = ScanRun(as_of=as_of, kind=kind, status=ScanStatus.DONE, started_by=actor, settings_version=settings_row.version,
                  config=config_to_mapping(config), counts=evaluation.counts, subjects=len(scores),
                  raises_alerts=raises, scope=scope)
    if not save:
        return ScanOutcome(run, evaluation, subjects, 0)
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.seconds = round(time.perf_counter() - started, 3)
        if data.is_empty:
            run.message = _("No orders, activities, opportunities or reads on or before this date.")
        run.save()
        RiskScore.objects.bulk_create([_score_row(run, rank, s, subjects[(s.subject_type.value, s.subject_id)])
                                       for rank, s in enumerate(scores, start=1)], batch_size=1000)
        raised = alerts_refresh(run=run, scores=scores, subjects=subjects, config=config) if raises else 0
        run.alerts_raised = raised
        run.save(update_fields=["alerts_raised"])
        if customer_ids is None and as_of == timezone.localdate():  # what today's updates after imports start from
            ScanBasis.objects.filter(as_of__lte=as_of).delete()
            ScanBasis.objects.create(run=run, as_of=as_of, settings_version=settings_row.version,
                                     data=basis_pack(basis))
        audit_record(actor=actor, action="risk.scan.completed", obj=run, object_label=f"{run.as_of}",
                     changes={"as_of": {"before": None, "after": as_of.isoformat()},
                              "kind": {"before": None, "after": kind},
                              "subjects": {"before": None, "after": len(scores)},
                              "alerts_raised": {"before": None, "after": raised}})
    return ScanOutcome(run, evaluation, subjects, raised)


def _basis_for(as_of: dt.date, version: int) -> tuple[ScanBasis, Basis] | None:
    row = (ScanBasis.objects.filter(as_of=as_of, settings_version=version).select_related("run")
           .order_by("-pk").first())
    return (row, basis_unpack(bytes(row.data))) if row is not None else None


def customers_written_after(basis: Basis, since: dt.datetime) -> set[int]:
    """The customers whose data changed after the basis was read: orders and activities with higher ids, payments
    recorded and opportunities changed since the basis's scan began."""
    from kamguard.activities.models import Activity
    from kamguard.contracts.models import Payment
    from kamguard.sales.models import Opportunity

    found: set[int] = set()
    found.update(Order.objects.filter(pk__gt=basis.last_order_id).values_list("customer_id", flat=True).distinct())
    found.update(Activity.objects.filter(pk__gt=basis.last_activity_id).values_list("customer_id", flat=True)
                 .distinct())
    found.update(Payment.objects.filter(recorded_at__gte=since).values_list("customer_id", flat=True).distinct())
    found.update(Opportunity.objects.filter(updated_at__gte=since).values_list("customer_id", flat=True).distinct())
    found.discard(None)  # type: ignore[arg-type]
    return found


def _known_scores(run: ScanRun, judged: set[int]) -> list[SubjectScore]:
    """The full scan's scores of the customers and orders not judged again (for their managers' roll-ups)."""
    rows = list(RiskScore.objects.filter(run=run, subject_type__in=(SubjectType.CUSTOMER.value, SubjectType.ORDER.value))
                .values_list("subject_type", "subject_id", "score", "person_id"))
    order_ids = [subject_id for kind, subject_id, _s, _p in rows if kind == SubjectType.ORDER.value]
    order_customer: dict[int, int] = {}
    for start in range(0, len(order_ids), 1000):
        order_customer.update(Order.objects.filter(pk__in=order_ids[start:start + 1000]).values_list("pk", "customer_id"))
    known = []
    for kind, subject_id, score, person_id in rows:
        customer = subject_id if kind == SubjectType.CUSTOMER.value else order_customer.get(subject_id)
        if customer in judged:
            continue
        known.append(SubjectScore(SubjectType(kind), int(subject_id), score, (), {}, person_id))
    return known


def customers_touched_since(since: dt.datetime) -> list[int]:
    """The customers whose orders, payments, activities or opportunities were written at or after `since` (what an
    import just brought in): the scope of the incremental scan after it."""
    from kamguard.activities.models import Activity
    from kamguard.contracts.models import Payment
    from kamguard.sales.models import Opportunity

    touched: set[int] = set()
    touched.update(Order.objects.filter(created_at__gte=since).values_list("customer_id", flat=True).distinct())
    touched.update(Payment.objects.filter(recorded_at__gte=since).values_list("customer_id", flat=True).distinct())
    touched.update(Activity.objects.filter(created_at__gte=since).values_list("customer_id", flat=True).distinct())
    touched.update(Opportunity.objects.filter(updated_at__gte=since).values_list("customer_id", flat=True).distinct())
    return sorted(touched)


def _score_row(run: ScanRun, rank: int, score: SubjectScore, subject: Subject) -> RiskScore:
    return RiskScore(run=run, subject_type=score.subject_type.value, subject_id=score.subject_id,
                     external_id=subject.external_id[:64], label=subject.label[:300], person_id=subject.person_id,
                     team_id=subject.team_id, region_id=subject.region_id, score=round(score.score, 6), rank=rank,
                     signals=[e.to_json() for e in score.evidence], contributions=dict(score.contributions),
                     rollup=round(score.rollup, 6),
                     related=[{"type": r.subject_type.value, "id": r.subject_id, "score": round(r.score, 4)}
                              for r in score.related])


def subjects_describe(scores: list[SubjectScore]) -> dict[tuple[str, int], Subject]:
    """External ids, names, the person concerned with their team and region, for every scored subject (a few
    bulk queries, whatever the number of subjects)."""
    customer_ids = [s.subject_id for s in scores if s.subject_type == SubjectType.CUSTOMER]
    order_ids = [s.subject_id for s in scores if s.subject_type == SubjectType.ORDER]
    person_ids = {s.subject_id for s in scores if s.subject_type == SubjectType.MANAGER}
    person_ids |= {s.manager_id for s in scores if s.manager_id is not None}
    customers: dict[int, tuple[str, str]] = {}
    for i in range(0, len(customer_ids), 1000):
        customers.update({pk: (ext or str(pk), name) for pk, ext, name in Customer.objects.filter(
            pk__in=customer_ids[i:i + 1000]).values_list("pk", "external_id", "name")})
    orders: dict[int, tuple[str, str]] = {}
    for i in range(0, len(order_ids), 1000):
        orders.update({pk: (ext or number or str(pk), f"{number or ext or pk} · {name}")
                       for pk, ext, number, name in Order.objects.filter(pk__in=order_ids[i:i + 1000]).values_list(
                           "pk", "external_id", "number", "customer__name")})
    provinces = _provinces()
    people: dict[int, tuple[str, str, int | None, int | None]] = {}
    ids = sorted(person_ids)
    for i in range(0, len(ids), 1000):
        for pk, ext, username, name, team_id, own_region, team_region in User.objects.filter(
                pk__in=ids[i:i + 1000]).values_list("pk", "external_id", "username", "full_name", "team_id",
                                                    "region_id", "team__region_id"):
            place = own_region or team_region
            people[pk] = (ext or username, name or username, team_id, provinces.get(place) if place else None)
    described: dict[tuple[str, int], Subject] = {}
    for s in scores:
        person: int | None = s.subject_id if s.subject_type == SubjectType.MANAGER else s.manager_id
        team: int | None = None
        region: int | None = None
        if person is not None and person in people:
            _ext, _name, team, region = people[person]
        if s.subject_type == SubjectType.CUSTOMER:
            external, label = customers.get(s.subject_id, (str(s.subject_id), ""))
        elif s.subject_type == SubjectType.ORDER:
            external, label = orders.get(s.subject_id, (str(s.subject_id), ""))
        else:
            external, label, _t, _r = people.get(s.subject_id, (str(s.subject_id), "", None, None))
        described[(s.subject_type.value, s.subject_id)] = Subject(external, label, person, team, region)
    return described


def alerts_refresh(*, run: ScanRun, scores: list[SubjectScore], subjects: dict[tuple[str, int], Subject],
                   config: RiskConfig) -> int:
    """Raise or refresh the alerts of the subjects at or above their threshold. Returns how many were raised."""
    flagged = [s for s in scores if s.score >= config.thresholds[s.subject_type]]
    if not flagged:
        return 0
    keys = {(s.subject_type.value, s.subject_id) for s in flagged}
    live: dict[tuple[str, int], Alert] = {}
    closed: dict[tuple[str, int], Alert] = {}
    cutoff = timezone.now() - dt.timedelta(days=QUIET_DAYS)
    by_type: dict[str, list[int]] = {}
    for subject_type, subject_id in keys:
        by_type.setdefault(subject_type, []).append(subject_id)
    for subject_type, ids in by_type.items():
        for i in range(0, len(ids), 1000):
            for alert in Alert.objects.filter(subject_type=subject_type, subject_id__in=ids[i:i + 1000]).filter(
                    status__in=LIVE_ALERT_STATUSES) | Alert.objects.filter(
                    subject_type=subject_type, subject_id__in=ids[i:i + 1000], reviewed_at__gte=cutoff,
                    status__in=(AlertStatus.CONFIRMED, AlertStatus.FALSE)):
                key = (alert.subject_type, int(alert.subject_id))
                if alert.status in LIVE_ALERT_STATUSES:
                    live[key] = alert
                elif key not in closed or alert.score > closed[key].score:
                    closed[key] = alert
    new_alerts: list[Alert] = []
    refreshed: list[Alert] = []
    for s in flagged:
        key = (s.subject_type.value, s.subject_id)
        subject = subjects[key]
        signals = [e.to_json() for e in s.evidence]
        related = [{"type": r.subject_type.value, "id": r.subject_id, "score": round(r.score, 4)} for r in s.related]
        score = round(s.score, 6)
        if key in live:
            alert = live[key]
            alert.score, alert.peak_score = score, max(alert.peak_score, score)
            alert.signals, alert.contributions, alert.related = signals, dict(s.contributions), related
            alert.last_run, alert.last_seen_on = run, run.as_of
            alert.person_id, alert.team_id, alert.region_id = subject.person_id, subject.team_id, subject.region_id
            alert.external_id, alert.label = subject.external_id[:64], subject.label[:300]
            refreshed.append(alert)
            continue
        previous = closed.get(key)
        if previous is not None and score < previous.score + RISE:
            continue
        new_alerts.append(Alert(
            subject_type=key[0], subject_id=key[1], external_id=subject.external_id[:64], label=subject.label[:300],
            person_id=subject.person_id, team_id=subject.team_id, region_id=subject.region_id, score=score,
            peak_score=score, signals=signals, contributions=dict(s.contributions), related=related, first_run=run,
            last_run=run, first_seen_on=run.as_of, last_seen_on=run.as_of))
    if refreshed:
        Alert.objects.bulk_update(refreshed, ["score", "peak_score", "signals", "contributions", "related",
                                              "last_run", "last_seen_on", "person", "team", "region", "external_id",
                                              "label", "updated_at"], batch_size=500)
    created = Alert.objects.bulk_create(new_alerts, batch_size=500)
    if created and created[0].pk is None:  # backends that do not return ids: read them back
        created = list(Alert.objects.filter(first_run=run))
    audit_record_many(actor=None, entries=[
        AuditEntry(action="risk.alert.raised", object_type="risk.alert", object_id=a.pk or "",
                   object_label=f"{a.subject_type} {a.external_id}",
                   changes={"score": {"before": None, "after": a.score},
                            "signals": {"before": None, "after": [x["signal"] for x in a.signals]}})
        for a in created])
    return len(created)
