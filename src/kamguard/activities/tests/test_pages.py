"""The visit and contact pages: my day, the list, a visit's page with check-in and check-out, the customer
section — the permission matrix, bad input in place with nothing written, and both languages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.activities import services
from kamguard.activities.models import Activity, Status
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry


@pytest.fixture
def visit(world, book):
    return services.visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=timezone.localdate(),
                               purpose="介绍新品")


def _state():
    return (Activity.objects.count(), list(Activity.objects.values_list("status", "outcome").order_by("pk")),
            AuditEvent.objects.exclude(action="permission.refused").count(), TimelineEntry.objects.count(),
            list(Customer.objects.values_list("last_followup_at", flat=True).order_by("pk")))


def test_my_day_shows_todays_visit_with_check_in(world, visit, client_for):
    page = client_for(world.alice).get(reverse("activities:home"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "上海腾达电子科技有限公司" in body and "data-checkin" in body and "activities/checkin.js" in body
    assert "<script>" not in body  # no inline script (CSP)


@pytest.mark.parametrize("persona,status", [("alice", 200), ("bob", 404), ("sue", 200), ("sam", 200),
                                            ("carol", 404), ("audrey", 200)])
def test_detail_matrix(world, visit, client_for, persona, status):
    page = client_for(world.person(persona)).get(reverse("activities:detail", args=[visit.pk]))
    assert page.status_code == status
    if status == 200:
        # only the visit's person gets the check-in form
        assert ("data-checkin" in page.content.decode()) is (persona == "alice")


@pytest.mark.parametrize("persona,status", [("bob", 404), ("sue", 403), ("sam", 403), ("carol", 404),
                                            ("audrey", 403)])
def test_check_in_refused_for_others_and_nothing_changes(world, visit, client_for, persona, status):
    client = client_for(world.person(persona))
    before = _state()
    response = client.post(reverse("activities:check_in", args=[visit.pk]), {"latitude": "31.23",
                                                                             "longitude": "121.48"})
    assert response.status_code == status
    response = client.post(reverse("activities:cancel", args=[visit.pk]), {"reason": "x"})
    assert response.status_code == status
    assert _state() == before


def test_check_in_and_out_on_the_page(world, visit, client_for):
    client = client_for(world.alice)
    early = client.post(reverse("activities:check_out", args=[visit.pk]), {"outcome": "x", "next_step": "y"})
    assert early.status_code == 409 and "请先签到再签退" in early.content.decode()
    assert Activity.objects.get(pk=visit.pk).status == Status.PLANNED
    response = client.post(reverse("activities:check_in", args=[visit.pk]), {"location_denied": "1"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Status.CHECKED_IN and visit.location_status == "denied"
    missing = client.post(reverse("activities:check_out", args=[visit.pk]), {"outcome": "", "next_step": ""})
    assert missing.status_code == 422 and "请填写拜访结果" in missing.content.decode()
    contact = Customer.objects.get(pk=visit.customer_id).contacts.first()
    done = client.post(reverse("activities:check_out", args=[visit.pk]),
                       {"outcome": "同意试用", "next_step": "下周签约", "contacts": [contact.pk]})
    assert done.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Status.DONE and list(visit.contacts.all()) == [contact]


def test_far_check_in_is_explained(world, visit, client_for):
    client = client_for(world.alice)
    client.post(reverse("activities:check_in", args=[visit.pk]), {"latitude": "30.5729", "longitude": "104.0668"})
    page = client.get(reverse("activities:detail", args=[visit.pk])).content.decode()
    assert "标记为异地签到" in page and "黄浦区" in page
    english = client.get(reverse("activities:detail", args=[visit.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "flagged as far away" in english
    listed = client.get(reverse("activities:list") + "?far=1").content.decode()
    assert "上海腾达电子科技有限公司" in listed


def test_record_a_contact_from_my_day(world, book, client_for):
    client = client_for(world.alice)
    response = client.post(reverse("activities:contact_create"), {
        "contact-customer": book.alpha.pk, "contact-kind": "call", "next": "home",
        "contact-happened_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "contact-summary": "电话回访"})
    assert response.status_code == 302 and response["Location"] == reverse("activities:home")
    assert Activity.objects.get().summary == "电话回访"
    before = _state()
    bad = client.post(reverse("activities:contact_create"), {
        "customer": book.beta.pk, "kind": "call", "happened_at": "2026-01-01T10:00", "summary": "x"})
    assert bad.status_code == 200 and _state() == before  # an outsider's customer is not a choice


def test_auditor_cannot_record(world, book, client_for):
    client = client_for(world.audrey)
    before = _state()
    response = client.post(reverse("activities:contact_create"), {
        "customer": book.alpha.pk, "kind": "call", "happened_at": "2026-01-01T10:00", "summary": "x"})
    assert response.status_code == 403 and _state() == before


def test_plan_a_visit_page(world, book, client_for):
    client = client_for(world.alice)
    page = client.get(reverse("activities:visit_create") + f"?customer={book.alpha.pk}")
    assert page.status_code == 200 and "沈明" in page.content.decode()  # sam offered as companion
    response = client.post(reverse("activities:visit_create"), {
        "customer": book.alpha.pk, "planned_on": timezone.localdate().isoformat(), "purpose": "拜访",
        "accompanied_by": world.sam.pk})
    assert response.status_code == 302
    planned = Activity.objects.get()
    assert planned.accompanied_by_id == world.sam.pk
    confirm = client_for(world.sam).post(reverse("activities:accompany", args=[planned.pk]), {"note": "陪访"})
    assert confirm.status_code == 302
    planned.refresh_from_db()
    assert planned.accompaniment_confirmed_at is not None


@pytest.mark.parametrize("persona,status", [("alice", 200), ("bob", 404), ("carol", 404), ("audrey", 200),
                                            ("sam", 200)])
def test_customer_section_matrix(world, visit, client_for, persona, status):
    response = client_for(world.person(persona)).get(
        reverse("activities:customer_activities", args=[visit.customer_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == status
    if status == 200:
        assert "介绍新品" in response.content.decode()


def test_list_filters_and_chinese(world, visit, client_for, book):
    services.contact_record(actor=world.alice, customer_id=book.gamma.pk, kind="wechat",
                            happened_at=timezone.now(), summary="微信沟通")
    client = client_for(world.alice)
    body = client.get(reverse("activities:list") + "?kind=wechat&sort=customer&start=bad").content.decode()
    assert "微信沟通" not in body or "上海浦江物流有限公司" in body
    assert "上海腾达电子科技有限公司" not in body
    zh = client.get(reverse("activities:home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "今日拜访" in zh and "记录联系" in zh
    zh_list = client.get(reverse("activities:list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "拜访与联系" in zh_list
