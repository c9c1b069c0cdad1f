"""The system reads the performance app uses (contract of issue 8)."""

import datetime as dt
from decimal import Decimal

from kamguard.customers.models import Contact
from kamguard.customers.services.records import customer_create
from kamguard.reviews.domain.scores import ReviewSummary
from kamguard.reviews.models import Assignment, CycleStatus, QuestionSet, ReviewCycle
from kamguard.reviews.selectors import customer_satisfaction_for, review_summary_for

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def _cycle(world, status=CycleStatus.CLOSED, start=Q3[0], end=Q3[1]):
    return ReviewCycle.objects.create(name="Q", period_start=start, period_end=end, status=status,
                                      created_by=world.sam)


def _done(cycle, subject, source, score, reviewer=None, contact=None):
    qset, _ = QuestionSet.objects.get_or_create(source=source, name=source, version=1)
    return Assignment.objects.create(cycle=cycle, subject=subject, source=source, reviewer=reviewer, contact=contact,
                                     question_set=qset, status="submitted", score=score)


def test_summary_and_satisfaction_over_closed_overlapping_cycles(world):
    cycle = _cycle(world)
    _done(cycle, world.alice, "self", Decimal(100), reviewer=world.alice)
    _done(cycle, world.alice, "supervisor", Decimal(50), reviewer=world.sam)
    _done(cycle, world.alice, "peer", Decimal(75), reviewer=world.bob)
    _done(cycle, world.alice, "peer", Decimal(25), reviewer=world.sue)
    customer = customer_create(actor=world.alice, name="上海申华精密机械有限公司", tier="A",
                               contacts=[{"name": "张总"}, {"name": "李工"}])
    c1, c2 = Contact.objects.filter(customer=customer)
    _done(cycle, world.alice, "customer", Decimal(80), contact=c1)
    _done(cycle, world.alice, "customer", Decimal(60), contact=c2)
    # Not counted: open cycle, pending, out of period.
    _done(_cycle(world, status=CycleStatus.OPEN), world.alice, "self", Decimal(0), reviewer=world.alice)
    _done(_cycle(world, start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31)), world.alice, "self", Decimal(0),
          reviewer=world.alice)
    Assignment.objects.filter(pk=_done(cycle, world.bob, "self", None, reviewer=world.bob).pk).update(
        status="pending")

    summary = review_summary_for(user_ids=[world.alice.pk, world.bob.pk], start=dt.date(2026, 9, 1),
                                 end=dt.date(2026, 9, 30))
    assert set(summary) == {world.alice.pk}
    alice = summary[world.alice.pk]
    assert isinstance(alice, ReviewSummary)
    assert alice.by_source == {"self": (Decimal("100.00"), 1), "supervisor": (Decimal("50.00"), 1),
                               "peer": (None, 2), "customer": (Decimal("70.00"), 2)}
    assert alice.overall == Decimal("73.33")
    assert customer_satisfaction_for(user_ids=[world.alice.pk, world.bob.pk], start=Q3[0], end=Q3[1]) == {
        world.alice.pk: (Decimal("70.00"), 2)}

    _done(cycle, world.alice, "peer", Decimal(0), reviewer=world.henry)
    alice = review_summary_for(user_ids=[world.alice.pk], start=Q3[0], end=Q3[1])[world.alice.pk]
    assert alice.by_source["peer"] == (Decimal("33.33"), 3)
    assert review_summary_for(user_ids=[], start=Q3[0], end=Q3[1]) == {}
