"""The `opportunities` import kind (idempotent by external id, bad rows with row and column) and forecasts
(cut-off lock, accuracy after the month)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from kamguard.core.io.runner import export_run, import_run
from kamguard.core.models import AuditEvent
from kamguard.org.models import User
from kamguard.sales.domain import add_months, forecast_accuracy, month_start
from kamguard.sales.models import Forecast, Opportunity, Outcome, SalesSettings, StageChange
from kamguard.sales.services.forecasts import forecast_accuracy_compute, forecast_submit, forecasts_lock

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PAST = (TODAY - dt.timedelta(days=40)).isoformat()
LATER = (TODAY - dt.timedelta(days=5)).isoformat()

FILE = (
    "external_id,customer,owner,name,stage,amount,currency,created_on,closed_on,lost_reason,competitor\n"
    f"O-1,C-ACME,U-ALICE,数据中心扩容,proposal,800000,CNY,{PAST},,,\n"
    f"O-2,C-ACME,U-ALICE,备件年框,won,120000,CNY,{PAST},{LATER},,\n"
    f"O-3,C-ACME,U-ALICE,网络改造,lost,300000,CNY,{PAST},{LATER},price,华为\n"
    f"O-4,C-ACME,U-ALICE,坏行,nowhere,-5,RMBX,{PAST},,,\n"
    f"O-5,C-NONE,U-ALICE,无客户,lead,1,CNY,{PAST},,,\n"
).encode()


@pytest.fixture
def ids(world, sales):
    User.objects.filter(pk=world.alice.pk).update(external_id="U-ALICE")
    User.objects.filter(pk=world.carol.pk).update(external_id="U-CAROL")


def test_import_creates_then_is_idempotent_and_reports_bad_rows(world, sales, ids):
    report = import_run(actor=world.sam, kind="opportunities", data=FILE, filename="opps.csv")
    statuses = {r.row: r.status for r in report.results}
    assert statuses == {2: "created", 3: "created", 4: "created", 5: "error", 6: "error"}
    problems = {(e.row, e.column) for e in report.errors}
    assert {(5, "stage"), (5, "amount"), (5, "currency"), (6, "customer")} <= problems
    won = Opportunity.objects.get(external_id="O-2")
    assert won.outcome == Outcome.WON and won.closed_on.isoformat() == LATER and won.probability == 100
    lost = Opportunity.objects.get(external_id="O-3")
    assert lost.lost_reason == "price" and lost.competitor == "华为"
    assert not Opportunity.objects.filter(external_id__in=["O-4", "O-5"]).exists()
    events = AuditEvent.objects.count()
    again = import_run(actor=world.sam, kind="opportunities", data=FILE, filename="opps.csv")
    assert {r.row: r.status for r in again.results}[2] == "unchanged"
    assert AuditEvent.objects.count() == events
    moved = FILE.replace(b"O-1,C-ACME,U-ALICE,\xe6\x95\xb0\xe6\x8d\xae\xe4\xb8\xad\xe5\xbf\x83\xe6\x89\xa9\xe5\xae\xb9,proposal",
                         b"O-1,C-ACME,U-ALICE,\xe6\x95\xb0\xe6\x8d\xae\xe4\xb8\xad\xe5\xbf\x83\xe6\x89\xa9\xe5\xae\xb9,negotiation")
    third = import_run(actor=world.sam, kind="opportunities", data=moved, filename="opps.csv")
    assert {r.row: r.status for r in third.results}[2] == "updated"
    opp = Opportunity.objects.get(external_id="O-1")
    assert list(StageChange.objects.filter(opportunity=opp).values_list("to_stage__code", flat=True)) == [
        "proposal", "negotiation"]


def test_import_owner_outside_scope_and_manager_refused(world, sales, ids):
    data = ("external_id,customer,owner,name,stage\nO-9,C-WEST,U-CAROL,西部,lead\n").encode()
    report = import_run(actor=world.sam, kind="opportunities", data=data, filename="o.csv")
    assert [(e.row, e.column) for e in report.errors] == [(2, "owner")]
    with pytest.raises(PermissionRefused):
        import_run(actor=world.alice, kind="opportunities", data=FILE, filename="o.csv")
    assert not Opportunity.objects.filter(external_id__startswith="O-").exists()


def test_export_sees_what_the_person_sees(world, sales, ids):
    import_run(actor=world.sam, kind="opportunities", data=FILE, filename="opps.csv")
    User.objects.filter(pk=world.carol.pk).update(can_export=True)
    assert export_run(actor=world.person("carol"), kind="opportunities").rows == 0
    User.objects.filter(pk=world.sam.pk).update(can_export=True)
    assert export_run(actor=world.person("sam"), kind="opportunities").rows == 4


def test_forecast_until_cutoff_then_locked(world, sales):
    SalesSettings.objects.filter(pk=1).update(forecast_cutoff_day=5)
    month = add_months(month_start(TODAY), 1)
    on_time = month.replace(day=5)
    forecast = forecast_submit(actor=world.alice, month=month, commit_amount="300000", best_case_amount="450000",
                               today=on_time)
    assert forecast.commit_amount == Decimal("300000.00")
    late = month.replace(day=6)
    with pytest.raises(Conflict) as caught:
        forecast_submit(actor=world.alice, month=month, commit_amount="1", best_case_amount="2", today=late)
    assert caught.value.code == "locked"
    assert forecasts_lock(today=late) == 1
    assert Forecast.objects.get(pk=forecast.pk).locked_at is not None
    assert Forecast.objects.get(pk=forecast.pk).commit_amount == Decimal("300000.00")


@pytest.mark.parametrize("commit, best, code", [("-1", "5", "negative_amount"), ("10", "5", "best_below_commit"),
                                                ("x", "5", "not_a_number")])
def test_forecast_bad_input(world, sales, commit, best, code):
    with pytest.raises(ValidationFailed) as caught:
        forecast_submit(actor=world.alice, month=TODAY, commit_amount=commit, best_case_amount=best,
                        today=TODAY.replace(day=1))
    assert caught.value.code == code
    assert not Forecast.objects.exists()


def test_forecast_only_by_managers(world, sales):
    for person in (world.sue, world.sam, world.audrey, world.fiona):
        with pytest.raises(PermissionRefused):
            forecast_submit(actor=person, month=TODAY, commit_amount="1", best_case_amount="1",
                            today=TODAY.replace(day=1))
    assert not Forecast.objects.exists()


def test_accuracy_after_the_month(world, sales):
    last_month = add_months(month_start(TODAY), -1)
    forecast = Forecast.objects.create(manager=world.alice, month=last_month, commit_amount=Decimal("400000"),
                                       best_case_amount=Decimal("600000"), submitted_at=timezone.now())
    Opportunity.objects.filter(pk=sales.opp.pk).update(outcome=Outcome.WON, closed_on=last_month.replace(day=10),
                                                       amount=Decimal("500000"))
    assert forecast_accuracy_compute(today=TODAY) == 1
    forecast.refresh_from_db()
    assert forecast.actual_amount == Decimal("500000.00") and forecast.accuracy_pct == Decimal("80.00")
    assert forecast_accuracy_compute(today=TODAY) == 0  # unchanged: nothing written again


def test_accuracy_formula():
    assert forecast_accuracy(commit=Decimal(100), actual=Decimal(100)) == 100
    assert forecast_accuracy(commit=Decimal(100), actual=Decimal(50)) == 50
    assert forecast_accuracy(commit=Decimal(0), actual=Decimal(0)) == 100
    assert forecast_accuracy(commit=Decimal(0), actual=Decimal(10)) == 0


def test_periodic_tasks_call_the_services(world, sales):
    from kamguard.sales.tasks import forecast_accuracy, pipeline_rebuild
    from kamguard.sales.tasks import forecasts_lock as lock_task

    assert pipeline_rebuild.call() == 1  # alice's qualified opportunity
    assert lock_task.call() == 0 and forecast_accuracy.call() == 0
