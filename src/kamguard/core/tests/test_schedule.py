"""The scheduler enqueues each periodic job once per period, however many schedulers run at once."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django_tasks import task

from kamguard.core.models import PeriodicRun
from kamguard.core.schedule import JOBS, PeriodicJob, enqueue_due_jobs

CALLS: list[int] = []


@task()
def count_call() -> int:
    CALLS.append(1)
    return len(CALLS)


TEST_JOBS = (
    PeriodicJob("test.hourly", "kamguard.core.tests.test_schedule:count_call", "hourly"),
    PeriodicJob("test.nightly", "kamguard.core.tests.test_schedule:count_call", "daily", at_hour=2),
)
NOON = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)  # 12:00 in Asia/Shanghai


def test_period_keys():
    assert TEST_JOBS[0].period_key(NOON) == "2026-11-23T12"
    assert TEST_JOBS[1].period_key(NOON) == "2026-11-23"
    one_am = dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)  # 01:00 local: nightly job not due yet
    assert TEST_JOBS[1].period_key(one_am) is None


def test_every_registered_job_names_a_loadable_task():
    for job in JOBS:
        assert hasattr(job.load_task(), "enqueue"), job.name


@pytest.mark.django_db
def test_second_run_in_the_same_period_enqueues_nothing():
    CALLS.clear()
    assert enqueue_due_jobs(now=NOON, jobs=TEST_JOBS) == ["test.hourly", "test.nightly"]
    assert enqueue_due_jobs(now=NOON, jobs=TEST_JOBS) == []
    assert enqueue_due_jobs(now=NOON + dt.timedelta(hours=1), jobs=TEST_JOBS) == ["test.hourly"]
    assert len(CALLS) == 3
    assert PeriodicRun.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_enqueue_once():
    CALLS.clear()
    results: list[list[str]] = []
    barrier = threading.Barrier(6)

    def scheduler() -> None:
        try:
            barrier.wait()
            results.append(enqueue_due_jobs(now=NOON, jobs=TEST_JOBS))
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    enqueued = [name for batch in results for name in batch]
    assert sorted(enqueued) == ["test.hourly", "test.nightly"]
    assert PeriodicRun.objects.count() == 2
