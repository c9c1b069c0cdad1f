"""Secrets the product must read back (an authenticator's shared secret) are kept in the database sealed:
authenticated encryption (Fernet — AES-128-CBC with HMAC-SHA256), so a copy of the database or a backup does not
give away anyone's second factor. Passwords and access tokens are hashed instead (they never need reading back).

Keys come from `settings.FIELD_KEYS` (`KAMGUARD_FIELD_KEYS`, comma-separated; the secret key when not set): the
first seals, every one of them opens, so a key is rotated by putting the new one first, running
`kamguard reseal` and then removing the old one. Each configured string is stretched into a Fernet key with
HKDF-SHA256, so any long random string works."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Every Fernet token starts so (the version byte 0x80, then the high bytes of its timestamp, base64).
SEALED_PREFIX = "gAAAAA"


class SealBroken(Exception):
    """A sealed value that no configured key opens (the key was removed, or the value was altered)."""


def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kamguard sealed fields v1").derive(
        secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache(maxsize=8)
def _sealer(keys: tuple[str, ...]) -> MultiFernet:
    if not keys or not all(keys):
        raise ImproperlyConfigured("KAMGUARD_FIELD_KEYS holds an empty key: give long random strings, comma-separated.")
    return MultiFernet([_fernet(k) for k in keys])


def _current() -> MultiFernet:
    return _sealer(tuple(settings.FIELD_KEYS))


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def seal(text: str) -> str:
    """`text` sealed with the first configured key (a different token each time)."""
    return _current().encrypt(text.encode()).decode("ascii")


def unseal(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SealBroken("A sealed value could not be opened with any key in KAMGUARD_FIELD_KEYS (a key was removed "
                         "before `kamguard reseal` ran, or the value was altered).") from exc


def reseal(token: str) -> str:
    """The same secret sealed with the first key (after a rotation); a plain value is sealed."""
    if not is_sealed(token):
        return seal(token)
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SealBroken("A sealed value could not be opened with any key in KAMGUARD_FIELD_KEYS.") from exc
