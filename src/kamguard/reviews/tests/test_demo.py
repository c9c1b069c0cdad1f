"""The reviews demo on a small demo organisation: question sets in both languages, a closed cycle with all four
sources answered (so the metrics have data), an open one with reviews pending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from kamguard.demo.build import world_build
from kamguard.demo.customer_plan import plan_customers
from kamguard.demo.plan import plan_world
from kamguard.demo.tests.conftest import AS_OF
from kamguard.reviews.demo import _quarter, reviews_build, summary_lines
from kamguard.reviews.models import Assignment, CycleStatus, QuestionSet, ReviewCycle
from kamguard.reviews.selectors import customer_satisfaction_for, review_summary_for


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    with django_db_blocker.unblock(), transaction.atomic():
        plan = plan_world(seed=42, as_of=AS_OF)
        world = world_build(plan, customers=plan_customers(plan, as_of=AS_OF, customers_per_manager=3.0),
                            capabilities=())
        yield reviews_build(world)
        transaction.set_rollback(True)


def test_reviews_demo(db: None, built: dict[str, int]) -> None:
    assert built["question_sets"] == 4 and built["cycles"] >= 2 and built["pending"] > 0, built
    assert all(s.questions.exclude(text_zh="").count() == s.questions.count()
               for s in QuestionSet.objects.all())
    closed = ReviewCycle.objects.filter(status=CycleStatus.CLOSED)
    assert closed.exists() and ReviewCycle.objects.filter(status=CycleStatus.OPEN).exists()
    cycle = closed.first()
    assert cycle is not None
    subjects = list(cycle.subjects.values_list("user_id", flat=True))
    sources = set(Assignment.objects.filter(cycle=cycle, status="submitted").values_list("source", flat=True))
    assert sources == {"self", "supervisor", "peer", "customer"}
    summary = review_summary_for(user_ids=subjects, start=cycle.period_start, end=cycle.period_end)
    assert set(summary) == set(subjects)
    assert any(s.by_source.get("peer", (None, 0))[0] is not None for s in summary.values())
    assert customer_satisfaction_for(user_ids=subjects, start=cycle.period_start, end=cycle.period_end)
    assert "360 reviews" in summary_lines(built)[0]


def test_quarters() -> None:
    import datetime as dt

    assert _quarter(dt.date(2026, 12, 7), 0) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert _quarter(dt.date(2026, 12, 7), 1) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert _quarter(dt.date(2026, 2, 7), 1) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
