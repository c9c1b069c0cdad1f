"""Relay pages: lists, the new form (with the refusal of a form sent to nobody), the steps, rules, the report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.relay import services
from kamguard.relay.models import RelayCategory, RelayForm, RelayStatus, RoutingRule


def send(world, desk, **kw):
    args = {"actor": world.person("alice"), "category_id": desk.demand.pk, "content": "客户下月扩产，需要报价"}
    args.update(kw)
    return services.relay_send(**args)


def test_home_lists_received_and_sent_with_overdue_highlighted(world, desk, client_for):
    late = send(world, desk, relayed_at=timezone.now() - dt.timedelta(days=2), content="逾期的信息")
    send(world, desk, content="新的信息")
    sue = client_for(world.sue)
    page = sue.get(reverse("relay:home"))
    assert page.status_code == 200
    body = page.content.decode()
    assert late.number in body and "新的信息" in body and "badge warn" in body
    sent = client_for(world.alice).get(reverse("relay:home") + "?box=sent&overdue=1").content.decode()
    assert late.number in sent and "新的信息" not in sent
    assert client_for(world.alice).get(reverse("relay:home") + "?box=received").content.decode().count("XC-") == 0
    found = client_for(world.sam).get(reverse("relay:home") + "?box=all&q=逾期").content.decode()
    assert late.number in found and "新的信息" not in found


def test_pages_in_chinese(world, desk, client_for):
    send(world, desk)
    c = client_for(world.sue)
    body = c.get(reverse("relay:home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "信息传递单" in body and "已发送" in body
    body = c.get(reverse("relay:report"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "日报" in body


def test_sending_a_form_from_the_page(world, desk, client_for):
    c = client_for(world.alice)
    assert c.get(reverse("relay:new")).status_code == 200
    response = c.post(reverse("relay:new"), {"category": desk.demand.pk, "content": "客户询问新品价格",
                                             "customer": desk.alpha.pk})
    form = RelayForm.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("relay:detail", args=[form.pk])
    assert form.receiver_id == world.sue.pk and form.customer_id == desk.alpha.pk


def test_a_form_sent_to_nobody_shows_a_clear_message_and_keeps_the_input(world, desk, client_for):
    c = client_for(world.alice)
    response = c.post(reverse("relay:new"), {"category": desk.other.pk, "content": "这段内容不能丢"},
                      HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    body = response.content.decode()
    assert "would go to nobody" in body and "这段内容不能丢" in body
    assert not RelayForm.objects.exists()


def test_the_receiver_works_the_form_through_the_page(world, desk, client_for):
    form = send(world, desk)
    c = client_for(world.sue)
    assert "Confirm receipt" in c.get(reverse("relay:detail", args=[form.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert c.post(reverse("relay:step", args=[form.pk, "receive"])).status_code == 302
    bad = c.post(reverse("relay:step", args=[form.pk, "handle"]), {"handling_opinion": ""})
    assert bad.status_code == 422
    assert c.post(reverse("relay:step", args=[form.pk, "handle"]),
                  {"handling_opinion": "已安排", "quality": "4"}).status_code == 302
    assert c.post(reverse("relay:step", args=[form.pk, "feedback"]), {"feedback": "已完成"}).status_code == 302
    form.refresh_from_db()
    assert form.status == RelayStatus.FED_BACK and form.quality == 4


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("sam", 403), ("audrey", 403), ("carol", 404)])
def test_only_the_receiver_may_step_matrix(world, desk, client_for, persona, status):
    form = send(world, desk)
    events = AuditEvent.objects.filter(action__startswith="relay.form.").count()
    response = client_for(world.person(persona)).post(reverse("relay:step", args=[form.pk, "receive"]))
    assert response.status_code == status
    form.refresh_from_db()
    assert form.status == RelayStatus.SENT
    assert AuditEvent.objects.filter(action__startswith="relay.form.").count() == events


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("sue", 200), ("sam", 200), ("audrey", 200), ("bob", 404), ("carol", 404)])
def test_detail_matrix(world, desk, client_for, persona, status):
    form = send(world, desk)
    assert client_for(world.person(persona)).get(reverse("relay:detail", args=[form.pk])).status_code == status


def test_auditor_cannot_open_the_new_form_page(world, desk, client_for):
    c = client_for(world.audrey)
    assert c.get(reverse("relay:new")).status_code == 403
    assert c.post(reverse("relay:new"), {"category": desk.demand.pk, "content": "x"}).status_code == 403
    assert not RelayForm.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey"])
def test_rules_page_is_for_administrators(world, desk, client_for, persona):
    c = client_for(world.person(persona))
    assert c.get(reverse("relay:rules")).status_code == 403
    assert c.post(reverse("relay:rules"), {"kind": "rule", "rule-category": desk.other.pk,
                                           "rule-person": world.bob.pk, "rule-position": 0}).status_code == 403
    assert RoutingRule.objects.count() == 1


def test_administrator_adds_a_rule_and_changes_limits(world, desk, client_for):
    c = client_for(world.adam)
    assert c.get(reverse("relay:rules")).status_code == 200
    response = c.post(reverse("relay:rules"), {"kind": "rule", "rule-category": desk.other.pk,
                                               "rule-person": world.bob.pk, "rule-position": 0})
    assert response.status_code == 302
    assert RoutingRule.objects.filter(category=desk.other, person=world.bob).exists()
    bad = c.post(reverse("relay:rules"), {"kind": "rule", "rule-category": desk.other.pk, "rule-position": 0})
    assert bad.status_code == 422
    c.post(reverse("relay:category_edit", args=[desk.other.pk]), {
        f"c{desk.other.pk}-code": "other", f"c{desk.other.pk}-name": "其他", f"c{desk.other.pk}-receive_hours": 12,
        f"c{desk.other.pk}-handle_hours": 48, f"c{desk.other.pk}-feedback_hours": 96,
        f"c{desk.other.pk}-is_active": "on"})
    assert RelayCategory.objects.get(pk=desk.other.pk).receive_hours == 12
    rule = RoutingRule.objects.get(category=desk.other)
    assert c.post(reverse("relay:rule_delete", args=[rule.pk])).status_code == 302
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()


def test_report_page(world, desk, client_for):
    send(world, desk)
    body = client_for(world.sam).get(reverse("relay:report"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "李爱丽" in body and "苏悦" in body
    assert client_for(world.sam).get(reverse("relay:report") + "?day=nonsense").status_code == 200


def test_customer_section(world, desk, client_for):
    form = send(world, desk, customer_id=desk.alpha.pk)
    url = reverse("relay:customer_section", args=[desk.alpha.pk])
    body = client_for(world.alice).get(url).content.decode()
    assert form.number in body
    assert client_for(world.carol).get(url).status_code == 404
    listed = client_for(world.sam).get(reverse("relay:home") + f"?customer={desk.alpha.pk}").content.decode()
    assert form.number in listed


def test_the_category_is_shown_in_the_readers_language(world, desk, client_for):
    # given a category with an English name, and a form of it about alice's customer
    RelayCategory.objects.filter(pk=desk.demand.pk).update(name="客户需求", name_en="Customer demand")
    form = send(world, desk, customer_id=desk.alpha.pk)
    sue = client_for(world.sue)
    for language, shown, hidden in (("en", "Customer demand", "客户需求"), ("zh-hans", "客户需求", "Customer demand")):
        # the form's page, the box and the customer page's section name it in the reader's language
        for url in (reverse("relay:detail", args=[form.pk]), reverse("relay:home"),
                    reverse("relay:customer_section", args=[desk.alpha.pk])):
            body = sue.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert shown in body and hidden not in body, (language, url)
    # without an English name, English pages fall back to the Chinese one
    RelayCategory.objects.filter(pk=desk.demand.pk).update(name_en="")
    body = sue.get(reverse("relay:detail", args=[form.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "客户需求" in body
