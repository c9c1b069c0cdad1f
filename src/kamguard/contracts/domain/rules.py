"""Pure rules of contracts, orders and payments: money checks, the payment schedule, allocating a payment,
receivable ageing, the ERP webhook signature, sealing stored secrets, attachment types by content, and the
comparisons behind the data-quality findings (payer name, delivery address)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from kamguard.customers.domain.normalise import normalise_company_name

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")

# ---------------------------------------------------------------- money


class MoneyError(ValueError):
    """A value that is not an acceptable amount; the message says why (English, the caller translates)."""


def money(value: object, *, allow_zero: bool = False) -> Decimal:
    """A positive amount with at most two decimals (zero only when allowed)."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError("not_a_number") from exc
    if not amount.is_finite():
        raise MoneyError("not_a_number")
    if amount < 0:
        raise MoneyError("negative")
    if amount == 0 and not allow_zero:
        raise MoneyError("zero")
    if amount > MAX_AMOUNT:
        raise MoneyError("too_large")
    if amount != amount.quantize(CENT):
        raise MoneyError("too_precise")
    return amount.quantize(CENT)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def schedule_problem(total: Decimal, instalments: Sequence[tuple[dt.date, Decimal]]) -> str:
    """Why a payment schedule does not fit the contract amount ('' when it does). An empty schedule is allowed."""
    if not instalments:
        return ""
    if sum((amount for _day, amount in instalments), Decimal(0)) != total:
        return "sum_mismatch"
    days = [day for day, _amount in instalments]
    if days != sorted(days):
        return "not_in_order"
    return ""


# ---------------------------------------------------------------- allocating a payment


@dataclass(frozen=True)
class Due:
    """Something a payment may be matched to: `key` identifies it for the caller, `outstanding` is what is due."""

    key: str
    outstanding: Decimal
    due_on: dt.date


@dataclass(frozen=True)
class AllocationPlan:
    parts: tuple[tuple[str, Decimal], ...]
    unallocated: Decimal
    total_due: Decimal

    @property
    def over(self) -> bool:
        return self.unallocated > 0


def allocation_plan(amount: Decimal, dues: Iterable[Due]) -> AllocationPlan:
    """Spread `amount` over `dues`, oldest due date first; what is left over is unallocated (an overpayment)."""
    remaining = amount
    parts: list[tuple[str, Decimal]] = []
    ordered = sorted((d for d in dues if d.outstanding > 0), key=lambda d: (d.due_on, d.key))
    for due in ordered:
        if remaining <= 0:
            break
        part = min(remaining, due.outstanding)
        parts.append((due.key, part))
        remaining -= part
    return AllocationPlan(parts=tuple(parts), unallocated=remaining,
                          total_due=sum((d.outstanding for d in ordered), Decimal(0)))


# ---------------------------------------------------------------- ageing

BUCKETS: tuple[str, ...] = ("current", "d0_30", "d31_60", "d61_90", "d90_plus")


def ageing_bucket(due_on: dt.date, today: dt.date) -> str:
    """'current' when not yet due; else days past due: 0–30, 31–60, 61–90, over 90."""
    days = (today - due_on).days
    if days < 0:
        return "current"
    if days <= 30:
        return "d0_30"
    if days <= 60:
        return "d31_60"
    if days <= 90:
        return "d61_90"
    return "d90_plus"


# ---------------------------------------------------------------- webhook signature

SIGNATURE_PREFIX = "sha256="
REPLAY_WINDOW_SECONDS = 300


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `timestamp` + "." + body, hex, prefixed with 'sha256='."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_matches(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), (signature or "").strip())


def timestamp_problem(timestamp: str, now: float, window: int = REPLAY_WINDOW_SECONDS) -> str:
    """'' when `timestamp` (Unix seconds) is within `window` of `now`; else 'missing', 'malformed' or 'expired'."""
    if not timestamp:
        return "missing"
    try:
        sent = int(timestamp)
    except ValueError:
        return "malformed"
    if abs(now - sent) > window:
        return "expired"
    return ""


def secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
    return bytes(out[:length])


def secret_seal(master: str, secret: str) -> str:
    """Encrypt `secret` with a key derived from `master` (HMAC-SHA256 keystream, authenticated)."""
    key = hashlib.sha256(b"kamguard-webhook-secret:" + master.encode()).digest()
    nonce = secrets.token_bytes(16)
    plain = secret.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(key, nonce, len(plain)), strict=True))
    tag = hmac.new(key, nonce + cipher, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(nonce + tag + cipher).decode()


def secret_open(master: str, sealed: str) -> str | None:
    """The secret sealed by `secret_seal`, or None when it does not open with this master key."""
    key = hashlib.sha256(b"kamguard-webhook-secret:" + master.encode()).digest()
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except (ValueError, TypeError):
        return None
    nonce, tag, cipher = raw[:16], raw[16:32], raw[32:]
    if not hmac.compare_digest(tag, hmac.new(key, nonce + cipher, hashlib.sha256).digest()[:16]):
        return None
    return bytes(a ^ b for a, b in zip(cipher, _keystream(key, nonce, len(cipher)), strict=True)).decode()


# ---------------------------------------------------------------- attachments

ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg",
                    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def attachment_type(head: bytes, filename: str) -> str | None:
    """The attachment's type judged by its content (the name only tells docx from xlsx); None if not allowed."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        lower = filename.lower()
        if lower.endswith(".docx") and b"word/" in head:
            return "docx"
        if lower.endswith(".xlsx") and b"xl/" in head:
            return "xlsx"
        if lower.endswith(".docx"):
            return "docx"
        if lower.endswith(".xlsx"):
            return "xlsx"
    return None


def safe_filename(name: str) -> str:
    """A display name without path parts or control characters (never used as a path)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:200] or "attachment"


# ---------------------------------------------------------------- data quality comparisons


def address_key(address: str) -> str:
    """An address compared loosely: width-folded, case-folded, without spaces and punctuation."""
    folded = unicodedata.normalize("NFKC", address or "").casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def payer_matches(payer: str, names: Iterable[str]) -> bool:
    """Whether the payer's name is one of the customer's names (name, aliases, English name) after company-name
    normalisation: the same full name, the same distinctive core, or one core inside the other (a branch)."""
    if not payer.strip():
        return True
    paying = normalise_company_name(payer)
    for name in names:
        if not name or not name.strip():
            continue
        known = normalise_company_name(name)
        if paying.full == known.full:
            return True
        if paying.core and known.core and (paying.core == known.core or paying.brand == known.brand):
            return True
        if len(paying.core) >= 2 and len(known.core) >= 2 and (paying.core in known.full or known.core in paying.full):
            return True
    return False
