"""Plan pages through the browser's eyes: home, create, the editor (visit plan, daily plans, submit), review,
plan versus actual; the permission matrix (owner alice, teammate bob, specialist sue, supervisor sam, outsider
carol, auditor audrey) with nothing changed on refusal; bad input shown in place; both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.core.models import AuditEvent
from kamguard.plans import services
from kamguard.plans.domain.months import month_end
from kamguard.plans.models import DailyPlan, MarketingPlan, PlanStatus, PlanVisit


def _snapshot():
    return (MarketingPlan.objects.count(), PlanVisit.objects.count(), DailyPlan.objects.count(),
            Activity.objects.count(), AuditEvent.objects.filter(action__startswith="plans.").count(),
            list(MarketingPlan.objects.values_list("status", "goals", "review_comment", "result_comment")))


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "sam", "carol", "audrey"])
def test_home_renders_for_everyone(world, draft, client_for, persona):
    response = client_for(world.person(persona)).get("/plans/")
    assert response.status_code == 200
    shows = f"/plans/{draft.pk}/" in response.content.decode()
    assert shows == (persona in ("alice", "sue", "sam", "audrey"))


@pytest.mark.parametrize("persona,status", [("alice", 200), ("sue", 200), ("sam", 200), ("audrey", 200),
                                            ("bob", 404), ("carol", 404)])
def test_detail_and_result_matrix(world, draft, client_for, persona, status):
    client = client_for(world.person(persona))
    assert client.get(f"/plans/{draft.pk}/").status_code == status
    assert client.get(f"/plans/{draft.pk}/result/").status_code == status


def test_owner_plans_a_month_on_the_phone(world, book, client_for):
    # given
    client = client_for(world.person("alice"))
    month = timezone.localdate().replace(day=1)
    # when she starts the plan
    response = client.post("/plans/new/", {"month": f"{month:%Y-%m}", "goals": "回款 50 万", "analysis": "需求回暖",
                                           "measures": "每周拜访"})
    plan = MarketingPlan.objects.get(user=world.alice)
    assert response.status_code == 302 and response["Location"].endswith(f"/plans/{plan.pk}/")
    # the editor offers her customers
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert book.alpha.name in page and book.delta.name not in page
    # plans a visit and a day, then submits
    day = month_end(month)
    response = client.post(f"/plans/{plan.pk}/", {"action": "visit_add", "customer": book.alpha.pk,
                                                  "planned_on": day.isoformat(), "purpose": "签约"})
    assert response.status_code == 302
    assert PlanVisit.objects.get(plan=plan).activity_id is not None
    client.post(f"/plans/{plan.pk}/", {"action": "day_save", "day": day.isoformat(), "content": "拜访申华"})
    assert DailyPlan.objects.get(plan=plan).content == "拜访申华"
    client.post(f"/plans/{plan.pk}/", {"action": "submit"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED


def test_bad_visit_input_is_shown_in_place_and_nothing_written(world, book, draft, client_for):
    client = client_for(world.person("alice"))
    before = _snapshot()
    outside = month_end(draft.month) + dt.timedelta(days=1)
    response = client.post(f"/plans/{draft.pk}/", {"action": "visit_add", "customer": book.alpha.pk,
                                                   "planned_on": outside.isoformat(), "purpose": "保留的目的"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "errorlist" in body and "保留的目的" in body  # the input is kept
    response = client.post(f"/plans/{draft.pk}/", {"action": "visit_add", "customer": "",
                                                   "planned_on": "not a date"})
    assert response.status_code == 422
    assert _snapshot() == before


def test_submitting_an_incomplete_plan_says_what_is_missing(world, book, draft, client_for):
    before = _snapshot()
    response = client_for(world.person("alice")).post(f"/plans/{draft.pk}/", {"action": "submit"},
                                                      HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "Plan at least one visit." in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("persona", ["bob", "sue", "sam", "carol", "audrey"])
def test_nobody_else_edits_the_plan(world, book, draft, client_for, persona):
    client = client_for(world.person(persona))
    before = _snapshot()
    day = month_end(draft.month).isoformat()
    for data in ({"action": "visit_add", "customer": book.alpha.pk, "planned_on": day},
                 {"action": "day_save", "day": day, "content": "x"}, {"action": "submit"}):
        response = client.post(f"/plans/{draft.pk}/", data)
        assert response.status_code in (403, 404), (data, response.status_code)
    response = client.post(f"/plans/{draft.pk}/edit/", {"goals": "改", "analysis": "", "measures": ""})
    assert response.status_code in (403, 404)
    assert _snapshot() == before


def _submit(world, book, draft):
    services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                            planned_on=month_end(draft.month))
    services.plan_submit(actor=world.alice, plan_id=draft.pk)


def test_supervisor_reviews_and_comments_on_results(world, book, draft, client_for):
    _submit(world, book, draft)
    client = client_for(world.person("sam"))
    assert "Record the review" in client.get(f"/plans/{draft.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # returning without comments is refused in place
    before = _snapshot()
    response = client.post(f"/plans/{draft.pk}/", {"action": "review", "decision": "return", "comment": ""})
    assert response.status_code == 422 and _snapshot() == before
    response = client.post(f"/plans/{draft.pk}/", {"action": "review", "decision": "approve", "comment": "同意"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == PlanStatus.APPROVED
    response = client.post(f"/plans/{draft.pk}/result/", {"comment": "本月完成率良好"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.result_comment == "本月完成率良好"


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "carol", "audrey"])
def test_only_the_supervisor_reviews_through_pages(world, book, draft, client_for, persona):
    _submit(world, book, draft)
    client = client_for(world.person(persona))
    before = _snapshot()
    response = client.post(f"/plans/{draft.pk}/", {"action": "review", "decision": "approve", "comment": ""})
    assert response.status_code in (403, 404)
    services.plan_review(actor=world.sam, plan_id=draft.pk, approve=True, comment="")
    before = _snapshot()
    response = client.post(f"/plans/{draft.pk}/result/", {"comment": "评语"})
    assert response.status_code in (403, 404)
    assert _snapshot() == before


def test_pages_in_chinese(world, book, draft, client_for):
    client = client_for(world.person("alice"))
    home = client.get("/plans/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "月度营销计划" in home and "我的计划" in home
    detail = client.get(f"/plans/{draft.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "拜访计划" in detail and "营销分析" in detail
    result = client.get(f"/plans/{draft.pk}/result/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "计划与实际" in result


def test_home_query_count_does_not_grow_with_plans(world, book, client_for, django_assert_max_num_queries):
    for person in (world.alice, world.bob, world.henry):
        services.plan_create(actor=person, month=timezone.localdate())
    client = client_for(world.person("sam"))
    with django_assert_max_num_queries(20):
        assert client.get("/plans/").status_code == 200


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey"])
def test_a_planned_visit_names_its_plan_by_month(world, draft, book, client_for, persona):
    # given a visit planned from alice's plan (its activity carries plan_ref "plans:<item id>")
    item = services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                                   planned_on=timezone.localdate())
    # when the visit's page is read in either language
    for language in ("zh-hans", "en"):
        body = client_for(world.person(persona)).get(f"/activities/{item.activity_id}/",
                                                     HTTP_ACCEPT_LANGUAGE=language).content.decode()
        # then it links the plan by its month, never shows the raw reference
        assert f'href="/plans/{draft.pk}/"' in body
        assert f"{draft.month:%Y-%m}" in body
        assert "plans:" not in body


def test_plan_for_reference_is_narrowed_to_the_viewer(world, draft, book):
    from kamguard.plans.selectors import plan_for_reference

    item = services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                                   planned_on=timezone.localdate())
    assert plan_for_reference(viewer=world.alice, reference=item.plan_ref) == draft
    assert plan_for_reference(viewer=world.sam, reference=item.plan_ref) == draft
    assert plan_for_reference(viewer=world.bob, reference=item.plan_ref) is None  # a teammate's plan is hers
    assert plan_for_reference(viewer=world.carol, reference=item.plan_ref) is None
    for bad in ("", "plans:", "plans:x", "records:1", f"plans:{item.pk + 1000}"):
        assert plan_for_reference(viewer=world.alice, reference=bad) is None
