"""Every read of goals.

Two system reads for the performance app (no viewer: the performance app decides who sees a scorecard):
- `targets_for(*, user_ids, start, end) -> dict[int, Decimal]`: the sum of each person's monthly sales targets
  whose month (its first day) lies in [start, end]; people without a target are absent.
- `okr_progress_for(*, user_ids, start, end) -> dict[int, Decimal]`: 0..100, the weight-averaged progress of the
  key results of each person's active or done objectives whose period overlaps [start, end]; absent when none.

Everything else starts from the viewer and is narrowed to their data scope (org.scopes.scope_q): their own
targets and objectives, their team's objectives, and those of the people and teams their scope covers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Sum

from kamguard.goals.domain.progress import kr_progress, quantize, weighted_progress
from kamguard.goals.models import COUNTED_STATUSES, KeyResult, SalesTarget


def targets_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, Decimal]:
    rows = (SalesTarget.objects.filter(user_id__in=list(user_ids), month__gte=start, month__lte=end)
            .values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total"))
    return {user_id: Decimal(total) for user_id, total in rows if total is not None}


def okr_progress_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, Decimal]:
    rows = KeyResult.objects.filter(
        objective__owner_user_id__in=list(user_ids), objective__status__in=COUNTED_STATUSES,
        objective__period_start__lte=end, objective__period_end__gte=start,
    ).values_list("objective__owner_user_id", "start_value", "target_value", "current_value", "weight")
    per_user: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for user_id, s, t, c, w in rows.iterator(chunk_size=5000):
        per_user[user_id].append((kr_progress(s, t, c), w))
    out: dict[int, Decimal] = {}
    for user_id, items in per_user.items():
        value = weighted_progress(items)
        if value is not None:
            out[user_id] = quantize(value)
    return out
