"""Every read of 360 reviews.

System reads (no viewer; the performance app decides who sees a scorecard):
- `review_summary_for(*, user_ids, start, end) -> dict[int, ReviewSummary]`
- `customer_satisfaction_for(*, user_ids, start, end) -> dict[int, tuple[Decimal, int]]`
Both count submitted reviews of *closed* cycles whose period overlaps [start, end] (an open cycle's results are
not final and are not shown to anyone yet).

Viewer reads start from the viewer: the cycles they created or whose subjects their scope covers, the reviews they
write, and results under the visibility rules (`result_for`): the subject after the cycle closes, the subject's
supervisors, HR and auditors; peers only in aggregate and only when at least three answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from kamguard.reviews.domain.scores import Completed, ReviewSummary, average, summarise
from kamguard.reviews.models import AssignmentStatus, CycleStatus, Source

__all__ = ["ReviewSummary", "customer_satisfaction_for", "review_summary_for"]


def _completed_rows(*, user_ids: Sequence[int], start: dt.date, end: dt.date, source: str | None = None
                    ) -> list[tuple[int, int, str, Decimal | None]]:
    from kamguard.reviews.models import Assignment

    qs = Assignment.objects.filter(
        subject_id__in=list(user_ids), status=AssignmentStatus.SUBMITTED, cycle__status=CycleStatus.CLOSED,
        cycle__period_start__lte=end, cycle__period_end__gte=start)
    if source:
        qs = qs.filter(source=source)
    return list(qs.values_list("subject_id", "cycle_id", "source", "score"))


def review_summary_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, ReviewSummary]:
    """Per person with at least one completed review: the overall 360 score and each source's (average, count);
    peers' average only from cycles where at least three peers answered. People without reviews are absent."""
    if not user_ids:
        return {}
    per_person: dict[int, list[Completed]] = {}
    for subject_id, cycle_id, source, score in _completed_rows(user_ids=user_ids, start=start, end=end):
        per_person.setdefault(subject_id, []).append(Completed(cycle_id=cycle_id, source=source, score=score))
    return {uid: summarise(rows) for uid, rows in per_person.items()}


def customer_satisfaction_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date
                              ) -> dict[int, tuple[Decimal, int]]:
    """Per person: the average (0..100) of customers' reviews with a score, and how many there were; absent when no
    customer answered."""
    if not user_ids:
        return {}
    scores: dict[int, list[Decimal]] = {}
    for subject_id, _cycle_id, _source, score in _completed_rows(user_ids=user_ids, start=start, end=end,
                                                                 source=Source.CUSTOMER):
        if score is not None:
            scores.setdefault(subject_id, []).append(score)
    result: dict[int, tuple[Decimal, int]] = {}
    for uid, values in scores.items():
        avg = average(values)
        if avg is not None:
            result[uid] = (avg, len(values))
    return result
