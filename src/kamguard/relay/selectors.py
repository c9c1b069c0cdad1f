"""Every read of relay forms starts from the viewer: a form is visible to whoever may see its provider or its
receiver (own · team · department and below · all)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from kamguard.core.errors import NotFound
from kamguard.org.models import User
from kamguard.org.scopes import scope_q
from kamguard.relay.domain.timing import StepTimes, form_on_time, mean
from kamguard.relay.models import OPEN_STATUSES, RelayCategory, RelayForm, RelayStatus, RoutingRule


def overdue_q(now: dt.datetime) -> Q:
    """Forms whose current step is past its limit."""
    return (Q(status=RelayStatus.SENT, receive_due__lt=now) | Q(status=RelayStatus.RECEIVED, handle_due__lt=now)
            | Q(status=RelayStatus.HANDLED, feedback_due__lt=now))


def forms_visible(viewer: User) -> QuerySet[RelayForm]:
    return RelayForm.objects.filter(scope_q(viewer, owner_path="provider") | scope_q(viewer, owner_path="receiver"))


def form_list(*, viewer: User, box: str = "", status: str = "", category_id: int | None = None, search: str = "",
              overdue_only: bool = False, customer_id: int | None = None, now: dt.datetime | None = None,
              ) -> QuerySet[RelayForm]:
    """`box`: "sent" (the viewer provided them), "received" (sent to the viewer), "" (every visible form)."""
    qs = forms_visible(viewer).select_related("provider", "receiver", "category", "customer", "receiver_post")
    if box == "sent":
        qs = qs.filter(provider=viewer)
    elif box == "received":
        qs = qs.filter(receiver=viewer)
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if category_id:
        qs = qs.filter(category_id=category_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if search:
        term = search.strip()
        qs = qs.filter(Q(number__icontains=term) | Q(content__icontains=term) | Q(suggestions__icontains=term)
                       | Q(customer__name__icontains=term) | Q(provider__full_name__icontains=term)
                       | Q(receiver__full_name__icontains=term))
    if overdue_only:
        qs = qs.filter(overdue_q(now or _now()))
    return qs.order_by("-relayed_at", "-pk")


def form_get(*, viewer: User, form_id: int) -> RelayForm:
    found = form_list(viewer=viewer).filter(pk=form_id).first()
    if found is None:
        raise NotFound()
    return found


def form_is_overdue(form: RelayForm, now: dt.datetime | None = None) -> bool:
    now = now or _now()
    due = {RelayStatus.SENT: form.receive_due, RelayStatus.RECEIVED: form.handle_due,
           RelayStatus.HANDLED: form.feedback_due}.get(RelayStatus(form.status))
    return due is not None and due < now


def categories_active() -> QuerySet[RelayCategory]:
    return RelayCategory.objects.filter(is_active=True).order_by("code")


def rules_list() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.select_related("category", "department", "post", "person").order_by(
        "category__code", "position", "pk")


# ---------------------------------------------------------------- contract for other apps (supervision, plans)

def waiting_for(*, user_ids: Iterable[int]) -> QuerySet[RelayForm]:
    """Forms sent to these people (they owe the next step) and not yet fed back."""
    return RelayForm.objects.filter(receiver_id__in=list(user_ids), status__in=OPEN_STATUSES).select_related(
        "provider", "receiver", "category").order_by("relayed_at", "pk")


def overdue(*, user_ids: Iterable[int], now: dt.datetime) -> QuerySet[RelayForm]:
    """Forms these people received whose current step is past its limit."""
    return waiting_for(user_ids=user_ids).filter(overdue_q(now))


def _times(form: dict[str, Any]) -> StepTimes:
    return StepTimes(relayed_at=form["relayed_at"], received_at=form["received_at"], handled_at=form["handled_at"],
                     fed_back_at=form["fed_back_at"], receive_due=form["receive_due"], handle_due=form["handle_due"],
                     feedback_due=form["feedback_due"])


_FIELDS = ("pk", "provider_id", "receiver_id", "status", "quality", "relayed_at", "received_at", "handled_at",
           "fed_back_at", "receive_due", "handle_due", "feedback_due")


def usage(*, user_ids: Iterable[int], start: dt.date, end: dt.date, now: dt.datetime | None = None,
          ) -> dict[int, dict[str, Any]]:
    """Per provider in `user_ids`: forms relayed in [start, end] (local dates) — `count`, `fed_back`, `overdue`
    (a step past its limit now), `on_time_share` (share of forms with every step so far within its limit; None
    without forms) and `quality` (mean rating given by receivers; None when none rated). Everyone asked for is in
    the answer. The caller has already narrowed `user_ids` to what its viewer may see."""
    now = now or _now()
    ids = list(user_ids)
    result: dict[int, dict[str, Any]] = {
        uid: {"count": 0, "fed_back": 0, "overdue": 0, "on_time": 0, "on_time_share": None, "quality": None}
        for uid in ids}
    ratings: dict[int, list[int]] = {uid: [] for uid in ids}
    rows = RelayForm.objects.filter(provider_id__in=ids, relayed_at__gte=_day_start(start),
                                    relayed_at__lt=_day_start(end + dt.timedelta(days=1))).values(*_FIELDS)
    for row in rows:
        entry = result[row["provider_id"]]
        entry["count"] += 1
        entry["fed_back"] += row["status"] == RelayStatus.FED_BACK
        verdict = form_on_time(_times(row), now)
        entry["on_time"] += verdict.on_time
        entry["overdue"] += verdict.overdue
        if row["quality"]:
            ratings[row["provider_id"]].append(row["quality"])
    for uid, entry in result.items():
        entry["on_time_share"] = round(entry["on_time"] / entry["count"], 3) if entry["count"] else None
        entry["quality"] = mean(ratings[uid])
    return result


def daily_report(*, viewer: User | None, day: dt.date, now: dt.datetime | None = None) -> dict[str, Any]:
    """The daily check: per provider (forms relayed that day: count, on time, quality) and per receiver (their
    open forms now, overdue ones, steps done that day and how many of those on time). `viewer` None: everyone
    (the periodic job's record)."""
    now = now or _now()
    base = RelayForm.objects.all() if viewer is None else forms_visible(viewer)
    start, stop = _day_start(day), _day_start(day + dt.timedelta(days=1))
    names: dict[int, str] = {}
    providers: dict[int, dict[str, Any]] = {}
    provider_ratings: dict[int, list[int]] = {}
    for row in base.filter(relayed_at__gte=start, relayed_at__lt=stop).values(*_FIELDS):
        entry = providers.setdefault(row["provider_id"], {"sent": 0, "on_time": 0, "overdue": 0, "quality": None})
        verdict = form_on_time(_times(row), now)
        entry["sent"] += 1
        entry["on_time"] += verdict.on_time
        entry["overdue"] += verdict.overdue
        if row["quality"]:
            provider_ratings.setdefault(row["provider_id"], []).append(row["quality"])
    for uid, entry in providers.items():
        entry["quality"] = mean(provider_ratings.get(uid, []))
    receivers: dict[int, dict[str, Any]] = {}

    def rec(uid: int) -> dict[str, Any]:
        return receivers.setdefault(uid, {"open": 0, "overdue": 0, "steps": 0, "steps_on_time": 0})

    for row in base.filter(status__in=OPEN_STATUSES).values(*_FIELDS):
        entry = rec(row["receiver_id"])
        entry["open"] += 1
        entry["overdue"] += form_on_time(_times(row), now).overdue
    step_q = (Q(received_at__gte=start, received_at__lt=stop) | Q(handled_at__gte=start, handled_at__lt=stop)
              | Q(fed_back_at__gte=start, fed_back_at__lt=stop))
    for row in base.filter(step_q).values(*_FIELDS):
        entry = rec(row["receiver_id"])
        for done, due in (("received_at", "receive_due"), ("handled_at", "handle_due"),
                          ("fed_back_at", "feedback_due")):
            if row[done] is not None and start <= row[done] < stop:
                entry["steps"] += 1
                entry["steps_on_time"] += row[done] <= row[due]
    for uid, name in User.objects.filter(pk__in=set(providers) | set(receivers)).values_list("pk", "full_name"):
        names[uid] = name
    return {
        "day": day.isoformat(),
        "providers": [{"user_id": uid, "name": names.get(uid, ""), **v} for uid, v in
                      sorted(providers.items(), key=lambda kv: (-kv[1]["sent"], names.get(kv[0], "")))],
        "receivers": [{"user_id": uid, "name": names.get(uid, ""), **v} for uid, v in
                      sorted(receivers.items(), key=lambda kv: (-kv[1]["overdue"], -kv[1]["open"],
                                                                names.get(kv[0], "")))],
        "totals": {
            "sent": sum(v["sent"] for v in providers.values()),
            "open": sum(v["open"] for v in receivers.values()),
            "overdue": sum(v["overdue"] for v in receivers.values()),
            "steps": sum(v["steps"] for v in receivers.values()),
            "steps_on_time": sum(v["steps_on_time"] for v in receivers.values()),
        },
    }


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _day_start(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
