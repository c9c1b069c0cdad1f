"""Cheap password hashing for the demo's published password, upgraded to full strength at first sign-in.

Argon2 at the production cost takes a tenth of a second or more per person, by design, which would make
`kamguard demo` wait most of a minute on a busy machine. The demo password is printed on the screen, so
hashing it slowly protects nothing. During the build the demo hashes with the same algorithm ("argon2")
at a low cost; the hash records its own parameters, so the normal Argon2 hasher verifies it, sees that the
parameters are below the configured ones (`must_update`) and re-hashes it at full cost when the person
first signs in. Outside `kamguard demo` nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test.utils import override_settings

ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"


class DemoArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024  # KiB
    parallelism = 1


@contextmanager
def quick_demo_hashing() -> Iterator[None]:
    """Hash with the low-cost Argon2 while building, if Argon2 is the configured hasher (else change nothing)."""
    hashers = list(settings.PASSWORD_HASHERS)
    if not hashers or hashers[0] != ARGON2:
        yield
        return
    with override_settings(PASSWORD_HASHERS=[f"{__name__}.DemoArgon2PasswordHasher", *hashers]):
        yield
