"""metrics_compute over real records built through the apps' services: exact values, None where there is no data,
and a number of queries that does not grow with the number of people."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kamguard.activities.services import activities_record_many, visit_check_in, visit_check_out
from kamguard.contracts.services import order_cancel, order_create, payment_confirm, payment_record
from kamguard.core.io.runner import import_run
from kamguard.customers.services.dedupe import claim_token_for
from kamguard.customers.services.disputes import dispute_answer, dispute_decide, dispute_file
from kamguard.customers.services.ownership import customer_transfer
from kamguard.customers.services.records import customer_create
from kamguard.goals.services import (
    check_in,
    key_result_create,
    objective_create,
    objective_status_set,
    target_set,
)
from kamguard.org.models import User
from kamguard.performance.domain import METRICS, PRESETS, metric_explain, scorecard_compute
from kamguard.performance.metrics import MetricValue, metrics_compute, values_of
from kamguard.plans.models import PlanVisit
from kamguard.plans.services import plan_create, plan_visit_add
from kamguard.risk.services.cases import case_close, case_open, penalty_record
from kamguard.sales.domain import month_end, month_start
from kamguard.sales.services.forecasts import forecast_accuracy_compute, forecast_submit
from kamguard.supervision.selectors import data_quality
from kamguard.worklogs.services import log_review, log_save


def previous_month() -> tuple[dt.date, dt.date]:
    this = month_start(timezone.localdate())
    start = month_start(this - dt.timedelta(days=1))
    return start, month_end(start)


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def imported(person: User, customers: dict, rows: list[tuple[str, str, dt.datetime]]) -> None:
    """Visits and calls that took place (the import path: the visit form refuses days over a month back)."""
    activities_record_many(actor=person, rows=[
        {"user": person, "customer": customers[key], "kind": kind, "happened_at": moment, "summary": "Follow-up"}
        for key, kind, moment in rows])


def workdays(start: dt.date, end: dt.date) -> list[dt.date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@pytest.fixture
def month_world(world):
    """Alice's last month: three customers (tiers A, B, C), visits, calls, a plan, orders, a payment, a target,
    a forecast and two late logs, one reviewed. Bob has nothing."""
    start, end = previous_month()
    alice, sam = world.alice, world.sam
    User.objects.filter(pk=alice.pk).update(hired_on=start - dt.timedelta(days=30))
    alice.refresh_from_db()
    ca = customer_create(actor=alice, name="上海甲方科技有限公司", tier="A", skip_dedupe=True)
    cb = customer_create(actor=alice, name="上海乙方贸易有限公司", tier="B", skip_dedupe=True)
    cc = customer_create(actor=alice, name="上海丙方实业有限公司", tier="C", skip_dedupe=True)
    day = lambda n: start + dt.timedelta(days=n - 1)  # noqa: E731
    customers = {"a": ca, "b": cb, "c": cc}
    imported(alice, customers, [
        *[("a", "visit", at(day(n), 10)) for n in (3, 10, 17, 24)],  # A: 4 visits, its standard
        ("b", "visit", at(day(12), 10)),  # B: 1 of 2
        ("c", "visit", at(day(15), 10)),  # C: 1 of 1
        ("a", "call", at(day(5), 15)), ("a", "wechat", at(day(6), 15)),
    ])
    first = order_create(actor=alice, customer_id=ca.pk, order_date=day(5), due_on=day(25),
                         lines=[{"product": "Server", "quantity": 2, "unit_price": "30000"}])
    order_create(actor=alice, customer_id=cb.pk, order_date=day(10), amount="20000",
                 due_on=end + dt.timedelta(days=30))
    cancelled = order_create(actor=alice, customer_id=cc.pk, order_date=day(8), amount="50000", due_on=day(28))
    order_cancel(actor=alice, order_id=cancelled.pk, reason="Customer withdrew")
    payment = payment_record(actor=alice, customer_id=ca.pk, paid_on=day(26), amount="45000", order_id=first.pk)
    payment_confirm(actor=world.fiona, payment_id=payment.pk)
    target_set(actor=sam, user_id=alice.pk, month=start, amount=D("100000"))
    forecast_submit(actor=alice, month=start, commit_amount="50000", best_case_amount="60000", today=day(1))
    logs = [log_save(actor=alice, day=d, today_work="Visited customers",
                     tomorrow_plan="Call the buyers", submit=True) for d in workdays(start, end)[:2]]
    log_review(actor=sam, log_id=logs[0].pk, evaluation="Specific and complete", rating=4)
    return world, start, end, customers


def test_alice_month_exact_values(month_world):
    world, start, end, _customers = month_world
    result = metrics_compute(user_ids=[world.alice.pk, world.bob.pk], start=start, end=end)
    assert set(result) == {world.alice.pk, world.bob.pk}
    m = result[world.alice.pk]
    assert set(m) == set(METRICS)  # every metric of the catalogue, for everyone
    assert m["sales_amount"] == MetricValue(D("80000.00"), {"sales": "80000.00", "orders": "2"})
    assert m["sales_target"] == MetricValue(D("100000.00"), {"target": "100000.00", "months": "1"})
    assert m["sales_completion"] == MetricValue(D("80.00"), {"sales": "80000.00", "target": "100000.00"})
    assert m["collection_rate"] == MetricValue(D("75.00"), {"collected": "45000.00", "due": "60000.00"})
    assert m["margin_rate"] == MetricValue(None, {"reason": "no_list_price"})
    # the month is over and its accuracy not computed yet: the sales app's formula over the won amount (none)
    assert m["forecast_accuracy"] == MetricValue(D("0.00"), {"months": "1", "commit": "50000.00", "actual": "0.00"})
    assert m["tier_coverage"] == MetricValue(D("66.67"), {"covered": "2", "customers": "3", "detail": "A 1/1 · B 0/1 · C 1/1"})
    assert m["plan_completion"] == MetricValue(None, {"reason": "no_plan"})
    assert m["visit_count"] == MetricValue(D(6), {"visits": "6", "accompanied": "0"})
    assert m["followup_frequency"] == MetricValue(D("2.67"), {"contacts": "8", "customers": "3", "per_customer": "2.67",
                                                               "months": "1"})
    due = len(workdays(start, end))
    assert m["late_logs"] == MetricValue(D(2), {"late": "2", "logs": str(due)})
    assert m["missing_logs"] == MetricValue(D(due - 2), {"missing": str(due - 2), "logs": str(due)})
    assert m["log_quality"] == MetricValue(D("80.00"), {"rating": "4.00", "scale": "5", "reviews": "1"})
    assert m["policy_compliance"] == MetricValue(D("0.00"), {"on_time": "0", "expected": str(due), "violations": "0",
                                                              "per_violation": "20"})
    expected_quality = data_quality(viewer=world.sam, user_ids=[world.alice.pk], start=start, end=end)[
        world.alice.pk].score.score
    assert m["data_quality"].value == D(str(expected_quality)).quantize(D("0.01"))
    assert m["violations"] == MetricValue(D(0), {"cases": "0", "penalties": "0"})
    assert m["disputes"].value == D(0) and m["transfers_out"].value == D(0)
    assert m["satisfaction"] == MetricValue(None, {"reason": "no_survey"})
    assert m["okr_progress"] == MetricValue(None, {"reason": "no_okr"})
    assert m["review_360"] == MetricValue(None, {"reason": "no_360"})
    for code, metric in m.items():  # every value explains itself in both languages, without a gap
        for lang in ("en", "zh"):
            text = metric_explain(code, metric.value, metric.inputs, lang)
            assert text and "?" not in text, (code, lang, text)
    # once the sales app stored the accuracy, that is what is read
    forecast_accuracy_compute()
    again = metrics_compute(user_ids=[world.alice.pk], start=start, end=end)[world.alice.pk]
    assert again["forecast_accuracy"].value == D("0.00")


def test_nobody_invents_data_for_a_person_without_records(month_world):
    world, start, end, _customers = month_world
    m = metrics_compute(user_ids=[world.bob.pk], start=start, end=end)[world.bob.pk]
    assert m["sales_amount"] == MetricValue(D("0.00"), {"sales": "0.00", "orders": "0"})  # sold nothing: a fact
    assert m["visit_count"].value == D(0)
    for code, reason in {
        "sales_target": "no_target", "sales_completion": "no_target", "margin_rate": "no_list_price",
        "collection_rate": "nothing_due", "forecast_accuracy": "no_forecast", "tier_coverage": "no_customers",
        "followup_frequency": "no_customers", "plan_completion": "no_plan", "late_logs": "no_logs",
        "missing_logs": "no_logs", "log_quality": "no_reviews", "policy_compliance": "no_logs",
        "satisfaction": "no_survey", "okr_progress": "no_okr", "review_360": "no_360",
    }.items():
        assert m[code].value is None, code
        assert m[code].inputs["reason"] == reason, code
    # the monthly preset has nothing to score him on: no total, every dimension says which metric has no data
    card = scorecard_compute(PRESETS[0], values_of(m), {})
    assert card.total is None and card.grade is None
    assert all(d.score is None and d.missing for d in card.dimensions)


def test_current_month_violations_disputes_transfers_and_okr(month_world):
    world, _start, _end, customers = month_world
    alice, bob, sam = world.alice, world.bob, world.sam
    today = timezone.localdate()
    start, end = month_start(today), month_end(today)
    case = case_open(actor=world.audrey, person_id=alice.pk, title="Orders outside the system")
    case_close(actor=world.audrey, case_id=case.pk, outcome="policy_violation", findings="Two orders by WeChat")
    penalty_record(actor=world.audrey, case_id=case.pk, kind="economic", effective_on=today, amount="500",
                   note="The director decided a fine under the sales rules, art. 7")
    token = claim_token_for(viewer=bob, customer_id=customers["c"].pk)  # what bob's duplicate check gave him
    dispute = dispute_file(actor=bob, claim_token=token, evidence="I met them first at the fair")
    dispute_answer(actor=alice, dispute_id=dispute.pk, answer="I have visited them since the spring")
    dispute_decide(actor=sam, dispute_id=dispute.pk, outcome="transfer", reason="Bob's first contact is earlier")
    customer_transfer(actor=sam, customer_id=customers["b"].pk, to_owner_id=world.henry.pk, reason="Rebalancing")
    plan = plan_create(actor=alice, month=today)
    done_item = plan_visit_add(actor=alice, plan_id=plan.pk, customer_id=customers["a"].pk, planned_on=today)
    plan_visit_add(actor=alice, plan_id=plan.pk, customer_id=customers["a"].pk,
                   planned_on=today + dt.timedelta(days=1) if today < end else today)
    planned = PlanVisit.objects.get(pk=done_item.pk).activity_id
    visit_check_in(actor=alice, activity_id=planned, at=timezone.now() - dt.timedelta(minutes=30))
    visit_check_out(actor=alice, activity_id=planned, outcome="Met the buyer", next_step="Send the offer")
    objective = objective_create(actor=alice, title="Grow the A accounts", period_start=start, period_end=end,
                                 owner_user_id=alice.pk)
    kr = key_result_create(actor=alice, objective_id=objective.pk, title="New orders", target_value="10")
    objective_status_set(actor=alice, objective_id=objective.pk, status="active")
    check_in(actor=alice, key_result_id=kr.pk, value="4")
    result = metrics_compute(user_ids=[alice.pk, bob.pk], start=start, end=end)
    m, b = result[alice.pk], result[bob.pk]
    assert m["violations"] == MetricValue(D(1), {"cases": "1", "penalties": "1"})
    assert m["disputes"] == MetricValue(D(1), {"disputes": "1", "lost": "1"})
    assert b["disputes"] == MetricValue(D(1), {"disputes": "1", "lost": "0"})
    assert m["transfers_out"] == MetricValue(D(2), {"transfers": "2", "reclaimed": "0", "released": "0",
                                                    "other": "2"})
    assert b["transfers_out"].value == D(0)
    assert m["okr_progress"] == MetricValue(D("40.00"), {"progress": "40.00"})
    assert m["plan_completion"] == MetricValue(D("50.00"), {"done": "1", "planned": "2"})
    assert b["plan_completion"].value is None
    # the customers that left her are no longer hers: only the A customer is measured now
    assert m["tier_coverage"].inputs["customers"] == "1"


def test_queries_do_not_grow_with_people(month_world):
    world, start, end, _customers = month_world
    with CaptureQueriesContext(connection) as one:
        metrics_compute(user_ids=[world.alice.pk], start=start, end=end)
    everyone = [world.alice.pk, world.bob.pk, world.henry.pk, world.carol.pk, world.sue.pk]
    with CaptureQueriesContext(connection) as five:
        metrics_compute(user_ids=everyone, start=start, end=end)
    assert len(five) <= len(one) + 1  # the +1: a pending forecast month appears only with more people
    assert len(one) <= 40


def test_empty_and_inverted_periods():
    assert metrics_compute(user_ids=[], start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31)) == {}
    assert metrics_compute(user_ids=[1], start=dt.date(2026, 2, 1), end=dt.date(2026, 1, 31)) == {}


def test_margin_from_erp_lines_with_a_list_price(world):
    """The records have no costs: the margin is the price kept against the list price on ERP lines."""
    alice = world.alice
    customer_create(actor=alice, name="杭州丁方机械有限公司", external_id="C-M1", skip_dedupe=True)
    today = timezone.localdate()
    header = "external_id,customer,order_date,amount,manager,product,quantity,unit_price,list_price"
    data = "\n".join([header, f"O-M1,C-M1,{today},180,,主轴,2,90,100", f"O-M2,C-M1,{today},100,,刀具,1,100,100",
                      f"O-M3,C-M1,{today},50,,,,,"]) + "\n"
    report = import_run(actor=None, kind="orders", data=data.encode(), filename="orders.csv")
    assert report.errors == [] and report.created == 3
    m = metrics_compute(user_ids=[alice.pk], start=month_start(today), end=month_end(today))[alice.pk]
    assert m["margin_rate"] == MetricValue(D("93.33"), {"net": "280.00", "list": "300.00"})  # 280 / 300
    assert m["sales_amount"] == MetricValue(D("330.00"), {"sales": "330.00", "orders": "3"})


def test_satisfaction_and_360_from_a_closed_review_cycle(world):
    """Self 5, supervisor 4, one customer 3 (scale 1..5 → 100, 75, 50): the 360 score and the customers' part."""
    from kamguard.reviews import services as reviews

    alice, sam = world.alice, world.sam
    start, end = previous_month()
    question = [{"kind": "scale", "text_en": "Keeps promises", "text_zh": "信守承诺", "required": True}]
    for source in ("self", "supervisor", "customer"):
        reviews.question_set_create(actor=None, name=f"Default {source}", source=source, questions=question)
    customer = customer_create(actor=alice, name="上海申华精密机械有限公司", contacts=[{"name": "张总"}],
                               skip_dedupe=True)
    cycle = reviews.cycle_create(actor=sam, name="Monthly review", period_start=start, period_end=end,
                                 subject_ids=[alice.pk])
    mine = reviews.assignment_add(actor=sam, cycle_id=cycle.pk, subject_id=alice.pk, source="self",
                                  reviewer_id=alice.pk)
    boss = reviews.assignment_add(actor=sam, cycle_id=cycle.pk, subject_id=alice.pk, source="supervisor",
                                  reviewer_id=sam.pk)
    client = reviews.assignment_add(actor=sam, cycle_id=cycle.pk, subject_id=alice.pk, source="customer",
                                    contact_id=customer.contacts.get().pk)
    reviews.cycle_open(actor=sam, cycle_id=cycle.pk)
    q = mine.question_set.questions.get().pk
    reviews.assignment_submit(actor=alice, assignment_id=mine.pk, answers={q: 5})
    reviews.assignment_submit(actor=sam, assignment_id=boss.pk, answers={boss.question_set.questions.get().pk: 4})
    token = reviews.customer_link_issue(actor=sam, assignment_id=client.pk)
    reviews.customer_answer_submit(token=token, answers={client.question_set.questions.get().pk: 3},
                                   ip_address="127.0.0.1", rate_limit=False)
    before = metrics_compute(user_ids=[alice.pk], start=start, end=end)[alice.pk]
    assert before["satisfaction"].value is None and before["review_360"].value is None  # the cycle is still open
    reviews.cycle_close(actor=sam, cycle_id=cycle.pk)
    m = metrics_compute(user_ids=[alice.pk, world.bob.pk], start=start, end=end)
    assert m[alice.pk]["satisfaction"] == MetricValue(D("50.00"), {"answers": "1"})
    assert m[alice.pk]["review_360"] == MetricValue(D("75.00"), {"reviews": "3"})
    assert m[world.bob.pk]["review_360"] == MetricValue(None, {"reason": "no_360"})


def test_sales_completion_needs_a_target_for_every_month_of_the_period(world):
    """A quarter whose targets cover only its first month has no completion rate (review MEDIUM 8): 300k of sales
    against October's 100k would read 300 %."""
    alice, sam = world.alice, world.sam
    last = previous_month()[0]
    first = month_start(month_start(last - dt.timedelta(days=1)) - dt.timedelta(days=1))
    start, end = first, month_end(last)
    customer = customer_create(actor=alice, name="苏州戊方电子有限公司", tier="A", skip_dedupe=True)
    order_create(actor=alice, customer_id=customer.pk, order_date=first + dt.timedelta(days=4), amount="300000",
                 due_on=end)
    target_set(actor=sam, user_id=alice.pk, month=first, amount=D("100000"))
    m = metrics_compute(user_ids=[alice.pk], start=start, end=end)[alice.pk]
    assert m["sales_target"] == MetricValue(None, {"reason": "partial_target", "months_with_target": "1",
                                                   "months": "3"})
    assert m["sales_completion"] == MetricValue(None, {"reason": "partial_target", "sales": "300000.00",
                                                       "months_with_target": "1", "months": "3"})
    assert "only some months" in metric_explain("sales_completion", None, m["sales_completion"].inputs, "en")
    assert "部分月份" in metric_explain("sales_completion", None, m["sales_completion"].inputs, "zh")
    # a month with a target of 0 is a target set: every month covered, the rate is the whole period's
    target_set(actor=sam, user_id=alice.pk, month=month_start(first + dt.timedelta(days=40)), amount=D("0"))
    target_set(actor=sam, user_id=alice.pk, month=last, amount=D("200000"))
    m = metrics_compute(user_ids=[alice.pk], start=start, end=end)[alice.pk]
    assert m["sales_target"] == MetricValue(D("300000.00"), {"target": "300000.00", "months": "3"})
    assert m["sales_completion"] == MetricValue(D("100.00"), {"sales": "300000.00", "target": "300000.00"})
    # the month alone is fully covered
    one = metrics_compute(user_ids=[alice.pk], start=first, end=month_end(first))[alice.pk]
    assert one["sales_completion"] == MetricValue(D("300.00"), {"sales": "300000.00", "target": "100000.00"})


def test_okr_progress_of_a_past_period_ignores_what_was_recorded_after_it(world):
    """Review HIGH 2: an objective for last month created today, checked in to its target, does not score."""
    alice = world.alice
    start, end = previous_month()
    objective = objective_create(actor=alice, title="Backdated", period_start=start, period_end=end,
                                 owner_user_id=alice.pk)
    kr = key_result_create(actor=alice, objective_id=objective.pk, title="trivial", target_value="1")
    objective_status_set(actor=alice, objective_id=objective.pk, status="active")
    check_in(actor=alice, key_result_id=kr.pk, value="1")
    m = metrics_compute(user_ids=[alice.pk], start=start, end=end)[alice.pk]
    assert m["okr_progress"] == MetricValue(None, {"reason": "no_okr"})
