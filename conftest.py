"""Shared fixtures: personas in a small organisation, used by every app's tests.

    company (总公司)
      └─ East region sales (华东销售部)   head: sam (supervisor)
           ├─ team Shanghai A: alice (manager), bob (manager), sue (specialist)
           └─ team Hangzhou:   henry (manager)
      └─ West region sales (西南销售部)
           └─ team Chengdu: carol (manager) — outside sam's scope
    audrey (auditor), adam (admin), hanna (hr), fiona (finance) sit in the company department.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.utils import translation

from kamguard.org.models import Department, Team, User

PASSWORD = "Correct-Horse-42"  # noqa: S105


@dataclass
class World:
    company: Department
    east: Department
    west: Department
    team_a: Team
    team_hz: Team
    team_cd: Team
    alice: User
    bob: User
    sue: User
    henry: User
    sam: User
    carol: User
    audrey: User
    adam: User
    hanna: User
    fiona: User

    def person(self, name: str) -> User:
        user: User = getattr(self, name)
        return User.objects.get(pk=user.pk)


def _make_user(username: str, full_name: str, roles: list[str], **fields: object) -> User:
    from kamguard.org.services import user_create

    return user_create(actor=None, username=username, full_name=full_name, roles=roles, password=PASSWORD,
                       email=f"{username}@example.com", **fields)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts and ends in the default language: a request leaves its language active in the thread
    (LocaleMiddleware activates and never deactivates), which would make the next test's messages depend on the
    order the tests ran in."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def world(db: None) -> World:
    company = Department.objects.create(name="总公司", path="/", depth=0)
    company.path = f"/{company.pk}/"
    company.save()
    east = Department.objects.create(name="华东销售部", parent=company, depth=1)
    east.path = f"{company.path}{east.pk}/"
    east.save()
    west = Department.objects.create(name="西南销售部", parent=company, depth=1)
    west.path = f"{company.path}{west.pk}/"
    west.save()
    team_a = Team.objects.create(name="上海一组", department=east)
    team_hz = Team.objects.create(name="杭州组", department=east)
    team_cd = Team.objects.create(name="成都组", department=west)
    sam = _make_user("sam", "沈明", ["supervisor"], department=east, phone="13900000001")
    alice = _make_user("alice", "李爱丽", ["manager"], department=east, team=team_a, supervisor=sam,
                       phone="13800138000", wechat="alice_wx")
    bob = _make_user("bob", "王博", ["manager"], department=east, team=team_a, supervisor=sam, phone="13800138001")
    sue = _make_user("sue", "苏悦", ["specialist"], department=east, team=team_a, supervisor=sam)
    henry = _make_user("henry", "何亨", ["manager"], department=east, team=team_hz, supervisor=sam)
    carol = _make_user("carol", "陈可", ["manager"], department=west, team=team_cd, phone="13800138002")
    audrey = _make_user("audrey", "欧阳审", ["auditor"], department=company)
    adam = _make_user("adam", "安大明", ["admin"], department=company, can_export=True)
    hanna = _make_user("hanna", "韩娜", ["hr"], department=company)
    fiona = _make_user("fiona", "冯菲", ["finance"], department=company)
    return World(company, east, west, team_a, team_hz, team_cd, alice, bob, sue, henry, sam, carol, audrey, adam,
                 hanna, fiona)


@pytest.fixture
def client_for(client):  # type: ignore[no-untyped-def]
    """client_for(user) -> a test client signed in as that user (second factor already passed)."""
    from django.test import Client

    def make(user: User) -> Client:
        c = Client()
        c.force_login(user)
        session = c.session
        session["kg_totp_verified"] = True
        session.save()
        return c

    return make
