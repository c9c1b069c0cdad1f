"""Verification streams: memory stays flat however long the trail is."""

from __future__ import annotations

import datetime as dt
import tracemalloc

from kamguard.audit.services import chain_verify
from kamguard.core.audit import chain_key
from kamguard.core.domain.audit_chain import GENESIS, event_digest
from kamguard.core.models import AuditEvent


def _bulk_chain(first: int, last: int) -> None:
    """Valid events first..last continuing the chain, written in bulk (faster than the writer; same digests)."""
    head = AuditEvent.objects.order_by("-sequence").first()
    previous = head.digest if head else GENESIS
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batch = []
    for i in range(first, last + 1):
        event = AuditEvent(sequence=i, occurred_at=start + dt.timedelta(seconds=i), actor_label="system",
                           action="test.bulk", object_type="test.thing", object_id=str(i), object_label=f"thing {i}",
                           changes={"n": {"before": i - 1, "after": i}}, reason="x" * 200, channel="system",
                           previous_digest=previous)
        event.digest = event_digest(key=chain_key(), sequence=i, previous_digest=previous,
                                    content=event.chain_content())
        previous = event.digest
        batch.append(event)
    AuditEvent.objects.bulk_create(batch, batch_size=2000)


def _peak_bytes_verifying() -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = chain_verify(chunk_size=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok
    return result.events, peak


def test_memory_does_not_grow_with_the_trail(db):
    _bulk_chain(1, 500)
    small_events, small_peak = _peak_bytes_verifying()
    _bulk_chain(501, 5_000)  # the same chain, ten times as long
    large_events, large_peak = _peak_bytes_verifying()
    assert (small_events, large_events) == (500, 5_000)
    # ten times the events, about the same memory (a chunk at a time), far below holding them all
    assert large_peak < small_peak * 2 + 256 * 1024, (small_peak, large_peak)
