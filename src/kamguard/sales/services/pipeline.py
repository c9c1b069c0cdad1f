"""The board's summaries: the open pipeline per owner and stage (`PipelineCell`) and what was won and lost per
owner, month and outcome (`ClosedCell`).

- `pipeline_shift(before, after)` — move an opportunity's contribution: `before`/`after` are `Contribution`s
  (owner, stage, outcome, amount, probability, closed_on) or None; open ones count in the pipeline cells, won
  and lost ones (with a closing date) in the closed cells of their month. Relative UPDATEs (`count = count + 1`)
  so concurrent changes add up; a row is created on first use (unique owner+stage, month+owner+outcome).
- `contribution(opportunity)` — an opportunity's current contribution.
- `pipeline_rebuild() -> int` — recompute every cell of both from the opportunities (after bulk writes;
  nightly); returns the number of pipeline cells.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Model, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from kamguard.sales.models import ClosedCell, Opportunity, Outcome, PipelineCell

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CLOSED = (Outcome.WON, Outcome.LOST)


class Contribution(NamedTuple):
    owner_id: int
    stage_id: int
    outcome: str
    amount: Decimal
    probability: int
    closed_on: dt.date | None = None


def contribution(opportunity: Opportunity) -> Contribution:
    return Contribution(opportunity.owner_id, opportunity.stage_id, str(opportunity.outcome),
                        Decimal(opportunity.amount), int(opportunity.probability), opportunity.closed_on)


def _add(model: type[Model], key: dict[str, Any], deltas: dict[str, Any]) -> None:
    values = {name: F(name) + delta for name, delta in deltas.items()}
    if model._default_manager.filter(**key).update(**values):
        return
    try:
        with transaction.atomic():
            model._default_manager.create(**key, **deltas)
    except IntegrityError:  # created meanwhile by a concurrent change: add to it
        model._default_manager.filter(**key).update(**values)


def _shift(part: Contribution, sign: int) -> None:
    if part.outcome == Outcome.OPEN:
        _add(PipelineCell, {"owner_id": part.owner_id, "stage_id": part.stage_id},
             {"count": sign, "amount": sign * part.amount, "weighted": sign * part.amount * part.probability / HUNDRED})
    elif part.outcome in CLOSED and part.closed_on is not None:
        _add(ClosedCell, {"owner_id": part.owner_id, "month": part.closed_on.replace(day=1), "outcome": part.outcome},
             {"count": sign, "amount": sign * part.amount})


def pipeline_shift(before: Contribution | None, after: Contribution | None) -> None:
    if before == after:
        return
    if before is not None:
        _shift(before, -1)
    if after is not None:
        _shift(after, 1)


WEIGHTED = ExpressionWrapper(F("amount") * F("probability") / Value(100),
                             output_field=DecimalField(max_digits=22, decimal_places=4))


@transaction.atomic
def pipeline_rebuild() -> int:
    """Every pipeline and closed cell recomputed from the opportunities. Returns the number of pipeline cells."""
    rows = Opportunity.objects.filter(outcome=Outcome.OPEN).values("owner_id", "stage_id").annotate(
        n=Sum(Value(1)), total=Coalesce(Sum("amount"), Value(ZERO)),
        weight=Coalesce(Sum(WEIGHTED), Value(ZERO), output_field=DecimalField(max_digits=22, decimal_places=4))
    ).order_by()
    PipelineCell.objects.all().delete()
    cells = PipelineCell.objects.bulk_create([
        PipelineCell(owner_id=r["owner_id"], stage_id=r["stage_id"], count=r["n"], amount=r["total"],
                     weighted=r["weight"]) for r in rows], batch_size=2000)
    closed = Opportunity.objects.filter(outcome__in=CLOSED, closed_on__isnull=False).annotate(
        month=TruncMonth("closed_on")).values("owner_id", "month", "outcome").annotate(
        n=Count("pk"), total=Coalesce(Sum("amount"), Value(ZERO))).order_by()
    ClosedCell.objects.all().delete()
    batch: list[ClosedCell] = []
    for r in closed.iterator(chunk_size=5000):
        batch.append(ClosedCell(owner_id=r["owner_id"], month=r["month"], outcome=r["outcome"], count=r["n"],
                                amount=r["total"]))
        if len(batch) >= 5000:
            ClosedCell.objects.bulk_create(batch)
            batch = []
    ClosedCell.objects.bulk_create(batch)
    return len(cells)
