"""The audit trail's hash chain: pure functions, no Django.

Each event's digest covers its own content and the digest of the event before it, keyed with a
secret, so an edited, deleted, inserted or reordered event breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


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


def verify_chain(links: Iterable[ChainLink], *, key: bytes) -> tuple[int, ChainBreak | None]:
    """Walk the links in stored order; return how many were checked and the first break, if any."""
    expected_sequence = 1
    previous = GENESIS
    checked = 0
    for link in links:
        if link.sequence != expected_sequence:
            kind = "missing (deleted)" if link.sequence > expected_sequence else "duplicated or out of order"
            return checked, ChainBreak(link.sequence, link.row_id,
                                       f"sequence {expected_sequence} expected, found {link.sequence}: an event is {kind}")
        if link.previous_digest != previous:
            return checked, ChainBreak(link.sequence, link.row_id,
                                       "link to the previous event does not match: an event before it was changed, "
                                       "removed, inserted or moved")
        recomputed = event_digest(key=key, sequence=link.sequence, previous_digest=link.previous_digest,
                                  content=link.content)
        if not hmac.compare_digest(recomputed, link.digest):
            return checked, ChainBreak(link.sequence, link.row_id, "content does not match its digest: the event was edited")
        previous = link.digest
        expected_sequence += 1
        checked += 1
    return checked, None
