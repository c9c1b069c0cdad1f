"""The audit trail's hash chain: pure functions, no Django.

Each event's digest covers its own content and the digest of the event before it, keyed with a
secret, so an edited, deleted, inserted or reordered event breaks the chain at that point.

`verify_chain` reads the links one at a time (any iterable, e.g. a database cursor), so it checks
millions of events in flat memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# Stable codes for the ways a chain breaks (for programs: `kamguard audit verify --json`, the API).
MISSING = "missing"  # a sequence number is skipped: an event was deleted
OUT_OF_ORDER = "out_of_order"  # a sequence number repeats or goes back
LINK_BROKEN = "link_broken"  # the link to the previous event does not match: moved, inserted or removed before
DIGEST_MISMATCH = "digest_mismatch"  # the content does not match its digest: edited or forged


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_digest(*, key: bytes, sequence: int, previous_digest: str, content: Mapping[str, Any]) -> str:
    message = f"{sequence}|{previous_digest}|{canonical_json(dict(content))}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    sequence: int
    previous_digest: str
    digest: str
    content: Mapping[str, Any]
    row_id: int


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    row_id: int
    reason: str
    kind: str = ""


def verify_chain(links: Iterable[ChainLink], *, key: bytes) -> tuple[int, ChainBreak | None]:
    """Walk the links in stored (sequence) order; return how many were intact and the first break, if any."""
    expected_sequence = 1
    previous = GENESIS
    checked = 0
    for link in links:
        if link.sequence != expected_sequence:
            if link.sequence > expected_sequence:
                missing = (f"event {expected_sequence} is" if link.sequence == expected_sequence + 1
                           else f"events {expected_sequence} to {link.sequence - 1} are")
                return checked, ChainBreak(
                    link.sequence, link.row_id,
                    f"sequence {expected_sequence} expected, found {link.sequence}: {missing} missing (deleted)",
                    MISSING)
            return checked, ChainBreak(
                link.sequence, link.row_id,
                f"sequence {expected_sequence} expected, found {link.sequence}: an event is duplicated or out of order",
                OUT_OF_ORDER)
        if link.previous_digest != previous:
            return checked, ChainBreak(
                link.sequence, link.row_id,
                "link to the previous event does not match: this event was moved or inserted here, "
                "or an event before it was removed or replaced",
                LINK_BROKEN)
        recomputed = event_digest(key=key, sequence=link.sequence, previous_digest=link.previous_digest,
                                  content=link.content)
        if not hmac.compare_digest(recomputed, link.digest):
            hint = " (or the audit key changed: check KAMGUARD_AUDIT_KEY)" if link.sequence == 1 else ""
            return checked, ChainBreak(
                link.sequence, link.row_id,
                f"content does not match its digest: the event was edited or forged{hint}",
                DIGEST_MISMATCH)
        previous = link.digest
        expected_sequence += 1
        checked += 1
    return checked, None
