"""Every read of work records and market information starts from the viewer: the keeper's data scope, as
for customers' owners (own · team · department and below · all)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet

from kamguard.core.errors import NotFound
from kamguard.org.models import User
from kamguard.org.scopes import scope_q
from kamguard.records.models import Attachment, MarketInfo, WorkRecord

RECORD_OBJECT_TYPE = "records.workrecord"


def records_visible(viewer: User) -> QuerySet[WorkRecord]:
    return WorkRecord.objects.filter(scope_q(viewer, owner_path="owner", object_type=RECORD_OBJECT_TYPE))


def record_list(*, viewer: User, search: str = "", category: str | None = None, customer_id: int | None = None,
                owner_id: int | None = None, plan_ref: str = "") -> QuerySet[WorkRecord]:
    """`category`: None for every category, "" for the unclassified ones."""
    qs = records_visible(viewer).select_related("owner", "customer").annotate(files=Count("attachments"))
    if search:
        term = search.strip()
        qs = qs.filter(Q(title__icontains=term) | Q(description__icontains=term) | Q(customer__name__icontains=term))
    if category is not None:
        qs = qs.filter(category=category)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if plan_ref:
        qs = qs.filter(plan_ref=plan_ref)
    return qs.order_by("-record_on", "-pk")


def record_get(*, viewer: User, record_id: int) -> WorkRecord:
    found = record_list(viewer=viewer).filter(pk=record_id).first()
    if found is None:
        raise NotFound()
    return found


def attachment_get(*, viewer: User, attachment_id: int) -> Attachment:
    found = Attachment.objects.filter(
        pk=attachment_id, record__in=records_visible(viewer).values("pk")).select_related("record").first()
    if found is None:
        raise NotFound()
    return found


def market_list(*, viewer: User, search: str = "", kind: str = "", customer_id: int | None = None,
                reporter_id: int | None = None) -> QuerySet[MarketInfo]:
    qs = MarketInfo.objects.filter(scope_q(viewer, owner_path="reporter")).select_related("reporter", "customer")
    if search:
        term = search.strip()
        qs = qs.filter(Q(title__icontains=term) | Q(content__icontains=term) | Q(competitor__icontains=term)
                       | Q(product__icontains=term) | Q(customer__name__icontains=term))
    if kind:
        qs = qs.filter(kind=kind)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if reporter_id:
        qs = qs.filter(reporter_id=reporter_id)
    return qs.order_by("-observed_on", "-pk")


def market_get(*, viewer: User, item_id: int) -> MarketInfo:
    found = market_list(viewer=viewer).filter(pk=item_id).first()
    if found is None:
        raise NotFound()
    return found


# ---------------------------------------------------------------- contract for other apps (plans, supervision)

def records_count(*, user_ids: list[int] | tuple[int, ...] | set[int], start: dt.date, end: dt.date,
                  ) -> dict[int, dict[str, Any]]:
    """Per person (keeper) in `user_ids`: records dated in [start, end] — `total`, `by_category` (code → count),
    `unclassified` (no category), `with_files` (records with at least one file), `market_info` (intelligence
    items observed in the period). Everyone asked for is in the answer, with zeros when they kept nothing.
    The caller has already narrowed `user_ids` to what its viewer may see."""
    ids = list(user_ids)
    result: dict[int, dict[str, Any]] = {
        uid: {"total": 0, "by_category": {}, "unclassified": 0, "with_files": 0, "market_info": 0} for uid in ids}
    rows = (WorkRecord.objects.filter(owner_id__in=ids, record_on__gte=start, record_on__lte=end)
            .values("owner_id", "category").annotate(n=Count("pk", distinct=True),
                                                     f=Count("pk", filter=Q(attachments__isnull=False), distinct=True)))
    for row in rows:
        entry = result[row["owner_id"]]
        entry["total"] += row["n"]
        entry["with_files"] += row["f"]
        if row["category"]:
            entry["by_category"][row["category"]] = entry["by_category"].get(row["category"], 0) + row["n"]
        else:
            entry["unclassified"] += row["n"]
    for info in (MarketInfo.objects.filter(reporter_id__in=ids, observed_on__gte=start, observed_on__lte=end)
                .values("reporter_id").annotate(n=Count("pk"))):
        result[info["reporter_id"]]["market_info"] = info["n"]
    return result
