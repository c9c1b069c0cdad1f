"""The performance pages over the demo's performance data (finished months with calibrations by the supervisor
and the director, an appeal answered, acknowledgements, an improvement plan with follow-ups; last month scored and
waiting): every page renders for the people who use it, in both languages, with no English left in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from kamguard.demo.build import capabilities_until, world_build
from kamguard.demo.customer_plan import plan_customers
from kamguard.demo.plan import plan_world
from kamguard.org.models import User
from kamguard.performance.demo import performance_build
from kamguard.performance.models import Appeal, ImprovementPlan, Period, PeriodStatus, Scorecard
from kamguard.performance.tests.test_pages import ZH, _words


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    with django_db_blocker.unblock(), transaction.atomic():
        as_of = timezone.localdate()
        plan = plan_world(seed=42, as_of=as_of)
        world = world_build(plan, customers=plan_customers(plan, as_of=as_of, customers_per_manager=2.0),
                            capabilities=capabilities_until("contracts"))
        if world.apps.get("performance") is None:
            performance_build(world)
        yield world
        transaction.set_rollback(True)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["kg_totp_verified"] = True
    session.save()
    return client


def test_every_page_over_the_demo(db: None, demo: Any) -> None:
    appeal = Appeal.objects.select_related("scorecard__period", "scorecard__user").get()
    plan = ImprovementPlan.objects.select_related("scorecard").get()
    waiting = Period.objects.filter(status=PeriodStatus.SCORED).select_related("department").order_by("pk").first()
    assert waiting is not None
    supervisor = User.objects.filter(department=waiting.department, role_assignments__role="supervisor").first()
    director = User.objects.filter(department__depth=0, role_assignments__role="supervisor").first()
    hr = User.objects.filter(role_assignments__role="hr").first()
    assert supervisor is not None and director is not None and hr is not None
    finished = appeal.scorecard.period
    person = appeal.scorecard.user
    pages = [
        (supervisor, "/performance/"), (supervisor, f"/performance/periods/{waiting.pk}/"),
        (supervisor, f"/performance/periods/{waiting.pk}/calibration/"),
        (director, f"/performance/periods/{finished.pk}/"), (director, f"/performance/periods/{finished.pk}/calibration/"),
        (director, f"/performance/scorecards/{appeal.scorecard_id}/"),
        (person, "/performance/"), (person, f"/performance/scorecards/{appeal.scorecard_id}/"),
        (person, f"/performance/people/{person.pk}/trend/"),
        (plan.user, f"/performance/scorecards/{plan.scorecard_id}/"),
        (hr, "/performance/"), (hr, "/performance/schemes/"), (hr, f"/performance/periods/{finished.pk}/"),
    ]
    if waiting.team_id:
        pages.append((supervisor, f"/performance/teams/{waiting.team_id}/trend/"))
    left = {}
    for user, url in pages:
        client = _client(user)
        assert client.get(url).status_code == 200, (user.username, url)
        response = client.get(url, **ZH)
        assert response.status_code == 200, (user.username, url)
        words = _words(response.content.decode())
        if words:
            left[f"{user.username} {url}"] = sorted(words)
    assert not left, left
    # what the demo's finished month shows: the appeal and its answer, the calibrations, the plan's follow-ups
    page = _client(person).get(f"/performance/scorecards/{appeal.scorecard_id}/").content.decode()
    assert appeal.text[:20] in page and appeal.resolution[:20] in page
    plan_page = _client(plan.user).get(f"/performance/scorecards/{plan.scorecard_id}/").content.decode()
    assert plan.goals[:20] in plan_page
    ranked = _client(supervisor).get(f"/performance/periods/{waiting.pk}/").content.decode()
    assert all(f'data-card="{c.pk}"' in ranked for c in Scorecard.objects.filter(period=waiting))
