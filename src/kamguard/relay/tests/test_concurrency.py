"""Numbers under load: senders at the same moment (the first of a year racing to create its counter) get
distinct, gap-free numbers. Real threads on the test database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from kamguard.relay.models import RelayCounter, RelayForm
from kamguard.relay.services import relay_send

SENDERS = 6


@pytest.mark.django_db(transaction=True)
def test_simultaneous_senders_get_distinct_gap_free_numbers(world, desk):
    barrier = threading.Barrier(SENDERS)
    errors: list[BaseException] = []
    people = [world.alice, world.bob, world.henry] * 2

    def send(index: int) -> None:
        try:
            barrier.wait()
            relay_send(actor=people[index], category_id=desk.demand.pk, content=f"并发测试{index}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == []
    year = timezone.localdate().year
    assert sorted(RelayForm.objects.values_list("sequence", flat=True)) == list(range(1, SENDERS + 1))
    assert RelayForm.objects.values("number").distinct().count() == SENDERS
    assert RelayCounter.objects.get(year=year).last == SENDERS
