"""The risk demo on a small demo organisation: the planted stories are found near the top of the ranked list, the
noise (an industry-wide downturn, a bankruptcy, an ordinary owner change) is not, and an auditor can follow one
story from the dashboard to a closed case while the manager concerned sees none of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from kamguard.demo.build import world_build
from kamguard.demo.customer_plan import plan_customers
from kamguard.demo.plan import plan_world
from kamguard.demo.tests.conftest import AS_OF
from kamguard.org.domain.roles import Role
from kamguard.org.models import User
from kamguard.risk.demo import BuiltRisk, risk_build, summary_lines
from kamguard.risk.models import Alert, Case


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Any, BuiltRisk]]:
    with django_db_blocker.unblock(), transaction.atomic():
        plan = plan_world(seed=42, as_of=AS_OF)
        world = world_build(plan, customers=plan_customers(plan, as_of=AS_OF, customers_per_manager=3.0))
        wired = world.apps.get("risk")  # the demo build runs it once wired in
        yield world, wired if wired is not None else risk_build(world)
        transaction.set_rollback(True)


def test_stories_planted_and_found_near_the_top(db: None, built: tuple[Any, BuiltRisk]) -> None:
    _world, result = built
    assert result.run_id and not [n for n in result.notes if not n.startswith("losses")], result.notes
    by_key = {s.key: s for s in result.stories}
    assert {"collapse", "third_party", "hijack", "exfiltration", "price", "transfer"} <= set(by_key)
    for key in ("collapse", "third_party", "hijack", "exfiltration", "transfer", "price"):
        story = by_key[key]
        assert story.rank is not None and story.score is not None and story.score >= 0.5, (key, story)
    customers = {a.subject_id for a in Alert.objects.filter(subject_type="customer")}
    assert {by_key[k].subject_id for k in ("collapse", "third_party", "hijack", "transfer")} <= customers
    assert summary_lines(result)


def test_noise_is_not_flagged(db: None, built: tuple[Any, BuiltRisk]) -> None:
    _world, result = built
    planted = {s.subject_id for s in result.stories if s.subject_type == "customer"}
    others = Alert.objects.filter(subject_type="customer").exclude(subject_id__in=planted)
    assert others.count() <= 3, list(others.values_list("label", "score", "contributions"))


def test_auditor_follows_a_story_and_the_manager_sees_nothing(db: None, built: tuple[Any, BuiltRisk]) -> None:
    world, result = built
    story = next(s for s in result.stories if s.key == "collapse")
    auditor = next(u for u in world.people.values() if Role.AUDITOR in u.roles)
    manager = User.objects.get(pk=story.person_id)
    client = Client()
    client.force_login(auditor)
    session = client.session
    session["kg_totp_verified"] = True
    session.save()
    dashboard = client.get(reverse("risk:home"))
    assert dashboard.status_code == 200 and story.label[:6] in dashboard.content.decode()
    alert = Alert.objects.get(subject_type="customer", subject_id=story.subject_id)
    assert client.get(reverse("risk:alert_detail", args=[alert.pk])).status_code == 200
    assert client.post(reverse("risk:alert_case_open", args=[alert.pk])).status_code == 302
    case = Case.objects.get(alerts=alert)
    assert client.post(reverse("risk:case_close", args=[case.pk]),
                       {"outcome": "confirmed_diversion", "findings": "订单转给其亲属公司"}).status_code == 302
    assert client.post(reverse("risk:case_penalty", args=[case.pk]),
                       {"kind": "termination", "effective_on": "2026-12-31", "note": "解除劳动合同"}).status_code == 302
    other = Client()
    other.force_login(manager)
    session = other.session
    session["kg_totp_verified"] = True
    session.save()
    assert other.get(reverse("risk:home")).status_code == 403
    assert other.get(reverse("risk:case_detail", args=[case.pk])).status_code == 404
    assert case.number not in other.get(reverse("risk:case_list")).content.decode()
