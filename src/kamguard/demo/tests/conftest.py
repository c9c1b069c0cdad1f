from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[BuiltWorld]:
    """The scale-1 demo organisation, built once per module through the services and rolled back after it.

    Tests that use it also request `db`, whose per-test transaction nests inside this one, so a test's own
    writes are undone after it and the world is as built for the next test.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield world_build(plan_world(seed=42, as_of=AS_OF))
        transaction.set_rollback(True)
