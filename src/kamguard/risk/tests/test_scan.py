"""The scan over the database: the data as of a date, the stored run and scores, alerts raised and refreshed,
bad input refused with a message and nothing written, and a bounded number of queries."""

from __future__ import annotations

import datetime as dt
import json
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.services.records import customer_create
from kamguard.risk.models import Alert, AlertStatus, RiskScore, ScanRun
from kamguard.risk.services.alerts import alert_suppress
from kamguard.risk.services.config import settings_get, settings_update
from kamguard.risk.services.scan import scan_run
from kamguard.risk.tests.conftest import Book, orders_and_visits, risk_state


def test_scan_finds_the_planted_collapse_first(book: Book) -> None:
    # when
    outcome = scan_run(actor=None)
    # then
    top = outcome.evaluation.of_type(outcome.evaluation.scores[0].subject_type)[0]
    customers = [s for s in outcome.evaluation.scores if s.subject_type.value == "customer"]
    assert customers[0].subject_id == book.acme.pk
    assert customers[0].evidence[0].key == "orders_collapse.contact_continues"
    assert top.score >= 0.5
    run = ScanRun.objects.get()
    assert run.status == "done" and run.raises_alerts and run.subjects == len(outcome.evaluation.scores)
    stored = RiskScore.objects.get(run=run, subject_type="customer", subject_id=book.acme.pk)
    assert stored.external_id == "C-ACME" and stored.person_id == book.acme.owner_id
    assert stored.signals[0]["signal"] == "orders_collapse" and stored.signals[0]["series"]["orders"]
    alert = Alert.objects.get(subject_type="customer", subject_id=book.acme.pk)
    assert alert.status == AlertStatus.OPEN and alert.person_id == book.acme.owner_id
    manager_alert = Alert.objects.filter(subject_type="manager", subject_id=book.acme.owner_id).first()
    assert manager_alert is not None and manager_alert.related[0]["id"] == book.acme.pk
    # and nothing about the ordinary customers
    assert not Alert.objects.filter(subject_type="customer").exclude(subject_id=book.acme.pk).exists()
    assert AuditEvent.objects.filter(action="risk.scan.completed", object_id=str(run.pk)).count() == 1
    assert AuditEvent.objects.filter(action="risk.alert.raised").count() == Alert.objects.count()


def test_a_second_scan_refreshes_the_same_alert_and_keeps_it_suppressed(book: Book, world: Any) -> None:
    scan_run(actor=None)
    alert = Alert.objects.get(subject_type="customer", subject_id=book.acme.pk)
    alert_suppress(actor=world.audrey, alert_id=alert.pk, reason="客户在搬迁新厂, 已核实")
    # when
    scan_run(actor=None)
    # then
    alerts = Alert.objects.filter(subject_type="customer", subject_id=book.acme.pk)
    assert alerts.count() == 1
    refreshed = alerts.get()
    assert refreshed.status == AlertStatus.SUPPRESSED and refreshed.last_run_id == ScanRun.objects.first().pk


def test_a_false_alarm_is_not_raised_again_at_the_same_score(book: Book, world: Any) -> None:
    from kamguard.risk.services.alerts import alert_mark_false

    scan_run(actor=None)
    alert = Alert.objects.get(subject_type="customer", subject_id=book.acme.pk)
    alert_mark_false(actor=world.audrey, alert_id=alert.pk, feedback="季节性停产")
    scan_run(actor=None)
    assert Alert.objects.filter(subject_type="customer", subject_id=book.acme.pk).count() == 1


def test_as_of_uses_nothing_after_the_date(book: Book) -> None:
    as_of = book.today - dt.timedelta(days=200)
    before = scan_run(actor=None, as_of=as_of, save=False)
    # given: orders, calls and a new customer after the as-of date
    rng = random.Random(1)
    orders_and_visits(book.customers[1], book.customers[1].owner, today=book.today, rng=rng, periods=5, base=10**6)
    late = customer_create(actor=None, name="后来的客户有限公司", owner=book.acme.owner, skip_dedupe=True,
                           created_on=book.today)
    orders_and_visits(late, late.owner, today=book.today, rng=rng, periods=1)
    # when
    after = scan_run(actor=None, as_of=as_of, save=False)
    # then
    assert [(s.subject_type, s.subject_id, round(s.score, 9)) for s in after.evaluation.scores] == \
        [(s.subject_type, s.subject_id, round(s.score, 9)) for s in before.evaluation.scores]
    assert after.evaluation.counts == before.evaluation.counts


def test_a_past_date_stores_scores_but_raises_no_alerts(book: Book) -> None:
    outcome = scan_run(actor=None, as_of=book.today - dt.timedelta(days=1))
    assert outcome.run.raises_alerts is False and outcome.alerts_raised == 0
    assert RiskScore.objects.filter(run=outcome.run).exists() and not Alert.objects.exists()


def test_scan_with_no_data_says_so_and_writes_nothing(world: Any) -> None:
    from django.utils.translation import override

    before = risk_state()
    with override("en"), pytest.raises(ValidationFailed) as caught:
        scan_run(actor=None)
    assert caught.value.code == "no_data" and "no data" in str(caught.value.message).lower()
    assert risk_state() == before


def test_as_of_before_any_data(book: Book) -> None:
    before = risk_state()
    with pytest.raises(ValidationFailed) as caught:
        scan_run(actor=None, as_of=dt.date(2001, 1, 1))
    assert caught.value.code == "as_of_before_data" and caught.value.extra["earliest"]
    assert "2001-01-01" in str(caught.value.message)
    with pytest.raises(ValidationFailed) as future:
        scan_run(actor=None, as_of=book.today + dt.timedelta(days=1))
    assert future.value.code == "as_of_in_future"
    assert risk_state() == before


@pytest.mark.parametrize("persona", ["alice", "sam", "hanna", "fiona", "carol"])
def test_only_auditors_and_admins_start_a_scan(book: Book, world: Any, persona: str) -> None:
    before = risk_state()
    with pytest.raises(PermissionRefused):
        scan_run(actor=world.person(persona))
    assert risk_state() == before


def test_auditor_and_admin_may_scan(book: Book, world: Any) -> None:
    assert scan_run(actor=world.person("audrey")).run.started_by_id == world.audrey.pk
    assert scan_run(actor=world.person("adam")).run.pk


def test_negative_weight_is_refused_and_nothing_changes(world: Any) -> None:
    before = risk_state()
    with pytest.raises(ValidationFailed) as caught:
        settings_update(actor=world.person("audrey"), changes={"weights": {"orders_collapse": -0.5}})
    assert caught.value.code == "negative_weight"
    assert caught.value.field_errors["weights.orders_collapse"]
    assert risk_state() == before


def test_settings_change_is_versioned_audited_and_used(book: Book, world: Any) -> None:
    row = settings_update(actor=world.person("adam"), changes={"weights": {"orders_collapse": 0}},
                          reason="tuning")
    assert row.version == 2 and row.config == {"weights": {"orders_collapse": 0.0}}
    assert settings_get()[1].weights["orders_collapse"] == 0  # type: ignore[index]
    event = AuditEvent.objects.get(action="risk.settings.updated")
    assert event.reason == "tuning" and event.changes["version"] == {"before": 1, "after": 2}
    outcome = scan_run(actor=None)
    assert outcome.run.settings_version == 2
    assert not any(e.signal.value == "orders_collapse" for s in outcome.evaluation.scores for e in s.evidence
                   if s.contributions.get("orders_collapse"))
    with pytest.raises(PermissionRefused):
        settings_update(actor=world.person("sam"), changes={"weights": {"hoarding": 0.1}})


def _queries(fn: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def test_the_scan_reads_in_bulk_whatever_the_number_of_customers(book: Book, world: Any) -> None:
    # given: a first count with 12 customers
    small = _queries(lambda: scan_run(actor=None, save=False))
    # and 12 more customers with their orders and calls
    rng = random.Random(3)
    for i in range(12):
        customer = customer_create(actor=None, name=f"扩展测试客户{i}有限公司", owner=world.bob, skip_dedupe=True,
                                   created_on=book.today - dt.timedelta(days=900))
        orders_and_visits(customer, world.bob, today=book.today, rng=rng)
    # when
    large = _queries(lambda: scan_run(actor=None, save=False))
    # then: no more queries (none per customer, order or person; fewer kinds of subject may even need fewer)
    assert large <= small


def test_command_prints_the_ranked_list_as_json(book: Book) -> None:
    out = StringIO()
    call_command("risk", "scan", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["saved"] and data["raises_alerts"] and data["subjects"] == len(data["ranked"])
    first_customer = next(row for row in data["ranked"] if row["subject_type"] == "customer")
    assert first_customer["external_id"] == "C-ACME" and first_customer["score"] >= 0.5
    signal = first_customer["signals"][0]
    assert signal["signal"] == "orders_collapse" and signal["numbers"]["recent_contacts"] > 0
    assert "contacts went on" in signal["explanation"]
    assert [row["rank"] for row in data["ranked"]] == sorted(row["rank"] for row in data["ranked"])


def test_command_text_and_filters(book: Book) -> None:
    out = StringIO()
    call_command("risk", "scan", "--type", "customer", "--limit", "1", "--no-save", stdout=out)
    text = out.getvalue()
    assert "C-ACME" in text and "not saved" in text and "Orders collapse" in text
    assert not ScanRun.objects.exists()


def test_command_bad_input(world: Any, book: Book) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="earliest data"):
        call_command("risk", "scan", "--as-of", "2001-01-01", "--json", stdout=out)
    assert json.loads(out.getvalue())["error"]["code"] == "as_of_before_data"
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("risk", "scan", "--as-of", "yesterday")


def test_command_with_no_data(world: Any) -> None:
    with pytest.raises(CommandError, match="no data"):
        call_command("risk", "scan")
    assert not ScanRun.objects.exists()


def test_incremental_scan_after_an_import_stores_only_what_it_touched(book: Book, world: Any) -> None:
    from django.utils import timezone

    from kamguard.risk.services.scan import customers_touched_since

    since = timezone.now()
    rng = random.Random(9)
    orders_and_visits(book.acme, world.alice, today=book.today, rng=rng, periods=1)
    touched = customers_touched_since(since)
    assert touched == [book.acme.pk]
    outcome = scan_run(actor=None, kind="import", customer_ids=touched)
    stored = set(RiskScore.objects.filter(run=outcome.run).values_list("subject_type", "subject_id"))
    assert stored <= {("customer", book.acme.pk), ("manager", world.alice.pk)} | {
        ("order", pk) for pk in book.acme.orders.values_list("pk", flat=True)}
    assert outcome.run.scope["count"] == 1


def test_tasks_are_safe_with_no_data(world: Any) -> None:
    from kamguard.risk.tasks import risk_scan_after_import, risk_scan_nightly

    assert risk_scan_nightly.call() == 0
    assert risk_scan_after_import.call(customer_ids=[]) == 0
    assert risk_scan_after_import.call(since="2026-01-01T00:00:00+00:00") == 0
    assert not ScanRun.objects.exists()


def _judged(outcome: Any) -> dict[tuple[str, int], tuple[float, list[Any]]]:
    return {(s.subject_type.value, s.subject_id): (round(s.score, 9), [e.to_json() for e in s.evidence])
            for s in outcome.evaluation.scores}


def test_update_after_an_import_starts_from_todays_basis_and_scores_as_a_full_scan_would(book: Book,
                                                                                        world: Any) -> None:
    from django.utils import timezone

    from kamguard.contracts.models import Order, OrderLine
    from kamguard.risk.models import ScanBasis
    from kamguard.risk.services.scan import customers_touched_since

    full = scan_run(actor=None)
    assert ScanBasis.objects.get().run_id == full.run.pk
    # given: an import brings orders (with lines, one far below the norm) for two customers, and calls for one
    since = timezone.now()
    rng = random.Random(5)
    orders_and_visits(book.customers[1], book.customers[1].owner, today=book.today, rng=rng, periods=2, base=3e5)
    orders_and_visits(book.customers[2], book.customers[2].owner, today=book.today, rng=rng, periods=1)
    for order in Order.objects.filter(customer__in=book.customers[1:3], created_at__gte=since):
        OrderLine.objects.bulk_create([OrderLine(order=order, product="阀门", unit_price=100 - k, list_price=100,
                                                 discount_pct=k, amount=100) for k in range(10)])
    far = Order.objects.filter(customer=book.customers[1], created_at__gte=since).first()
    OrderLine.objects.create(order=far, product="阀门", unit_price=40, list_price=100, discount_pct=60, amount=40)
    touched = customers_touched_since(since)
    assert touched == sorted([book.customers[1].pk, book.customers[2].pk])
    # when
    update = scan_run(actor=None, kind="import", customer_ids=touched)
    everyone = scan_run(actor=None, save=False)
    # then: it started from the basis, and what it judged scores as the full scan of the same data does
    assert update.run.scope["basis_run"] == full.run.pk
    stored = {(t, i) for t, i in RiskScore.objects.filter(run=update.run).values_list("subject_type", "subject_id")}
    assert ("order", far.pk) in stored and ("manager", book.customers[1].owner_id) in stored
    incremental, fresh = _judged(update), _judged(everyone)
    for key in stored:
        if key[0] != "manager":
            assert incremental[key] == fresh[key], key
    # managers: their own signals as the full scan finds them
    for key in (k for k in stored if k[0] == "manager"):
        assert incremental[key][1] == fresh[key][1], key
    assert update.evaluation.counts == everyone.evaluation.counts
