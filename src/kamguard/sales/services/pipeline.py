"""The board's summary of the open pipeline (`PipelineCell`, per owner and stage).

- `pipeline_shift(before, after)` — move an opportunity's contribution: `before`/`after` are `Contribution`s
  (owner, stage, outcome, amount, probability) or None; only open ones count. Relative UPDATEs (`count =
  count + 1`) so concurrent changes add up; the row is created on first use (unique owner+stage).
- `contribution(opportunity)` — an opportunity's current contribution.
- `pipeline_rebuild() -> int` — recompute every cell from the opportunities (after bulk writes; nightly).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce

from kamguard.sales.models import Opportunity, Outcome, PipelineCell

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class Contribution(NamedTuple):
    owner_id: int
    stage_id: int
    outcome: str
    amount: Decimal
    probability: int


def contribution(opportunity: Opportunity) -> Contribution:
    return Contribution(opportunity.owner_id, opportunity.stage_id, str(opportunity.outcome),
                        Decimal(opportunity.amount), int(opportunity.probability))


def _add(owner_id: int, stage_id: int, count: int, amount: Decimal, weighted: Decimal) -> None:
    values = {"count": F("count") + count, "amount": F("amount") + amount, "weighted": F("weighted") + weighted}
    if PipelineCell.objects.filter(owner_id=owner_id, stage_id=stage_id).update(**values):
        return
    try:
        with transaction.atomic():
            PipelineCell.objects.create(owner_id=owner_id, stage_id=stage_id, count=count, amount=amount,
                                        weighted=weighted)
    except IntegrityError:  # created meanwhile by a concurrent change: add to it
        PipelineCell.objects.filter(owner_id=owner_id, stage_id=stage_id).update(**values)


def pipeline_shift(before: Contribution | None, after: Contribution | None) -> None:
    if before == after:
        return
    if before is not None and before.outcome == Outcome.OPEN:
        _add(before.owner_id, before.stage_id, -1, -before.amount, -before.amount * before.probability / HUNDRED)
    if after is not None and after.outcome == Outcome.OPEN:
        _add(after.owner_id, after.stage_id, 1, after.amount, after.amount * after.probability / HUNDRED)


WEIGHTED = ExpressionWrapper(F("amount") * F("probability") / Value(100),
                             output_field=DecimalField(max_digits=22, decimal_places=4))


@transaction.atomic
def pipeline_rebuild() -> int:
    """Every cell recomputed from the open opportunities. Returns the number of cells."""
    rows = Opportunity.objects.filter(outcome=Outcome.OPEN).values("owner_id", "stage_id").annotate(
        n=Sum(Value(1)), total=Coalesce(Sum("amount"), Value(ZERO)),
        weight=Coalesce(Sum(WEIGHTED), Value(ZERO), output_field=DecimalField(max_digits=22, decimal_places=4))
    ).order_by()
    PipelineCell.objects.all().delete()
    cells = PipelineCell.objects.bulk_create([
        PipelineCell(owner_id=r["owner_id"], stage_id=r["stage_id"], count=r["n"], amount=r["total"],
                     weighted=r["weight"]) for r in rows], batch_size=2000)
    return len(cells)
