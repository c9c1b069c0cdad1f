"""The demo's low-cost Argon2: verified by the normal hasher and upgraded at first sign-in."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import override_settings

from kamguard.demo.hashers import ARGON2, quick_demo_hashing

PRODUCTION_HASHERS = [ARGON2, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_quick_hash_verifies_with_the_normal_hasher_and_is_upgraded() -> None:
    # given: a hash made while building the demo
    with quick_demo_hashing():
        encoded = make_password("Demo-Pass-2026")
    assert encoded.startswith("argon2$argon2id$v=19$m=1024,t=1,p=1$")
    # when: the person signs in later, under the normal settings
    upgraded: list[str] = []
    assert check_password("Demo-Pass-2026", encoded, setter=lambda raw: upgraded.append(make_password(raw)))
    # then: the hash is recognised as too cheap and re-hashed at the configured cost
    assert identify_hasher(encoded).must_update(encoded)
    assert len(upgraded) == 1 and not identify_hasher(upgraded[0]).must_update(upgraded[0])
    assert not check_password("wrong-password", encoded)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_other_hashers_are_left_alone() -> None:
    with quick_demo_hashing():
        assert make_password("Demo-Pass-2026").startswith("md5$")
