"""Follow-up of customers: the moment someone last contacted a customer, which the pool's reclaim rules count
from (`Customer.last_followup_at`). Other apps (visits and contacts, imports) report contacts here.

The time only moves forwards: an older contact recorded late never makes a customer look more neglected. A
follow-up newer than a reclaim warning clears the warning (the owner has acted on it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q

from kamguard.customers.models import Customer


def customer_followup_touch(*, touches: Iterable[tuple[int, dt.datetime]]) -> int:
    """Record contacts as (customer id, when) pairs; many pairs for one customer count once, the latest.

    Bulk-friendly: one conditional UPDATE per customer (`… WHERE last_followup_at IS NULL OR < when`), so
    concurrent touches never move the time backwards. Call it inside the transaction that records the contacts.
    Returns the number of customers whose follow-up time moved.
    """
    latest: dict[int, dt.datetime] = {}
    for customer_id, when in touches:
        if customer_id is None or when is None:
            continue
        if customer_id not in latest or when > latest[customer_id]:
            latest[customer_id] = when
    moved = 0
    for customer_id, when in latest.items():
        moved += Customer.objects.filter(pk=customer_id).filter(
            Q(last_followup_at__isnull=True) | Q(last_followup_at__lt=when)).update(last_followup_at=when)
        Customer.objects.filter(pk=customer_id, reclaim_warned_at__lt=when).update(reclaim_warned_at=None)
    return moved
