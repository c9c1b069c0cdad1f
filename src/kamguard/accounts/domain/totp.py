"""Time-based one-time passwords (RFC 6238): which time step a code belongs to. Pure Python, no Django."""

from __future__ import annotations

import hmac

import pyotp

STEP_SECONDS = 30
WINDOW = 1  # accept the previous and the next step too, for clocks that drift a little


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(*, secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def normalise_code(code: str) -> str:
    """Codes are typed with spaces or dashes sometimes ("123 456"); keep the digits."""
    return "".join(ch for ch in (code or "") if ch.isdigit())


def matching_step(*, secret: str, code: str, at: float, last_used_step: int = 0, window: int = WINDOW) -> int | None:
    """The time step whose code equals `code`, if it is newer than `last_used_step`; otherwise None.

    A code is never accepted twice: the caller stores the returned step and passes it back next time.
    """
    digits = normalise_code(code)
    if len(digits) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(at // STEP_SECONDS)
    for step in range(current - window, current + window + 1):
        if step <= last_used_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            return step
    return None
