"""The incremental risk scan after an import (core.io.runner.import_run → risk.tasks.risk_scan_after_import): an
import of orders, payments, activities or opportunities that wrote rows enqueues it on commit; a dry run, an atomic
run with a bad row, an import of another kind or one that changed nothing does not."""

from __future__ import annotations

from typing import Any

import pytest

from kamguard.core.io.runner import import_run
from kamguard.risk.models import RiskScore, ScanKind, ScanRun
from kamguard.risk.tests.conftest import Book

ORDERS = ("external_id,customer,order_date,amount,product,quantity,unit_price\n"
          "HOOK-1,C-ACME,{day},1200.00,伺服电机组件,1,1200.00\n")


def _orders(book: Book, extra: str = "") -> bytes:
    return (ORDERS.format(day=book.today.isoformat()) + extra).encode()


@pytest.mark.django_db
def test_an_orders_import_rescores_what_it_touched_once_committed(book: Book, django_capture_on_commit_callbacks: Any
                                                                  ) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = import_run(actor=None, kind="orders", data=_orders(book), filename="orders.csv")
    assert report.written and report.created == 1
    assert len(callbacks) == 1
    run = ScanRun.objects.get(kind=ScanKind.IMPORT)  # the immediate backend ran the enqueued task
    assert run.scope["customers"] == [book.acme.pk]
    stored = set(RiskScore.objects.filter(run=run, subject_type="customer").values_list("subject_id", flat=True))
    assert stored <= {book.acme.pk}
    assert book.acme.pk in stored  # the planted collapse is rescored


@pytest.mark.django_db
@pytest.mark.parametrize("options", [{"dry_run": True}, {"atomic": True}])
def test_a_dry_run_or_a_rolled_back_import_enqueues_nothing(book: Book, django_capture_on_commit_callbacks: Any,
                                                           options: dict[str, bool]) -> None:
    bad = "HOOK-2,C-ACME,not-a-date,10.00,,,\n"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = import_run(actor=None, kind="orders", data=_orders(book, bad), filename="orders.csv",
                            dry_run=options.get("dry_run", False), atomic=options.get("atomic", False))
    assert not report.written
    assert callbacks == []
    assert not ScanRun.objects.exists()


@pytest.mark.django_db
def test_other_kinds_and_unchanged_imports_enqueue_nothing(book: Book, django_capture_on_commit_callbacks: Any
                                                           ) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        import_run(actor=None, kind="orders", data=_orders(book), filename="orders.csv")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = import_run(actor=None, kind="orders", data=_orders(book), filename="orders.csv")
        contacts = import_run(actor=None, kind="contacts", data=(
            "external_id,customer,name,phone\nK-HOOK,C-ACME,王建国,13912345678\n").encode(), filename="contacts.csv")
    assert again.unchanged == 1 and contacts.created == 1
    assert callbacks == []
    assert not ScanRun.objects.filter(kind=ScanKind.IMPORT).exists()
