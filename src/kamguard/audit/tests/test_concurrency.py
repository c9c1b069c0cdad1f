"""Concurrent writers cannot fork the chain: 8 threads append at once, the chain stays 1..N and intact."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from kamguard.audit.services import chain_verify
from kamguard.core.audit import audit_record
from kamguard.core.models import AuditEvent

THREADS = 8
EVENTS_PER_THREAD = 25


def _run_in_threads(work) -> list[BaseException]:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def body(worker: int) -> None:
        try:
            start.wait()
            work(worker)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; close it

    threads = [threading.Thread(target=body, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return errors


def _assert_unbroken(total: int) -> None:
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 1))
    result = chain_verify()
    assert result.ok, result.first_bad
    assert result.events == total


@pytest.mark.django_db(transaction=True)
def test_threads_each_in_their_own_transactions():
    # when: every thread appends many events, each in its own transaction
    def work(worker: int) -> None:
        for i in range(EVENTS_PER_THREAD):
            with transaction.atomic():
                audit_record(actor=None, action="test.concurrent", object_id=f"{worker}-{i}")

    errors = _run_in_threads(work)
    # then
    assert errors == []
    _assert_unbroken(THREADS * EVENTS_PER_THREAD)
    assert AuditEvent.objects.values("object_id").distinct().count() == THREADS * EVENTS_PER_THREAD


@pytest.mark.django_db(transaction=True)
def test_threads_outside_any_transaction():
    def work(worker: int) -> None:
        for i in range(EVENTS_PER_THREAD):
            audit_record(actor=None, action="test.autocommit", object_id=f"{worker}-{i}")

    errors = _run_in_threads(work)
    assert errors == []
    _assert_unbroken(THREADS * EVENTS_PER_THREAD)


@pytest.mark.django_db(transaction=True)
def test_threads_with_several_events_and_a_rollback_per_transaction():
    # when: each transaction appends three events; every fifth is rolled back after appending
    def work(worker: int) -> None:
        for i in range(10):
            try:
                with transaction.atomic():
                    for j in range(3):
                        audit_record(actor=None, action="test.batch", object_id=f"{worker}-{i}-{j}")
                    if i % 5 == 4:
                        raise LookupError("roll back")
            except LookupError:
                pass

    errors = _run_in_threads(work)
    # then: rolled-back events left no gap
    assert errors == []
    _assert_unbroken(THREADS * 8 * 3)
