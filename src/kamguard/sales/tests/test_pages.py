"""Sales pages: the board, the opportunity list and detail, the forms (errors in place, nothing written), quotes,
configuration pages for administrators only, forecasts and the customer page fragment — per persona."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.sales.domain import add_months, month_start
from kamguard.sales.models import DiscountAuthority, Forecast, Opportunity, Product, Quote, QuoteStatus, Stage

pytestmark = pytest.mark.django_db


def _sales_events():
    return AuditEvent.objects.filter(action__startswith="sales.").count()


def test_board_and_list_per_persona(world, sales, client_for):
    for persona, sees, on_board in (("alice", True, 1), ("bob", True, 0), ("sue", True, 1), ("sam", True, 1),
                                    ("audrey", True, 1), ("fiona", True, 1), ("carol", False, 0)):
        client = client_for(world.person(persona))
        board = client.get(reverse("sales:home"))
        assert board.status_code == 200
        # the board sums the pipelines of the owners in the viewer's scope (bob's own pipeline is empty)
        assert board.context["board"].total.count == on_board, persona
        listed = client.get(reverse("sales:opportunity_list"), {"q": "智能", "sort": "-amount", "outcome": "open"})
        assert listed.status_code == 200
        assert (sales.opp.name in listed.content.decode()) is sees, persona
        detail = client.get(reverse("sales:opportunity_detail", args=[sales.opp.pk]))
        assert detail.status_code == (200 if sees else 404), persona
    assert b"<svg" in client_for(world.person("sam")).get(reverse("sales:home")).content


def test_list_ignores_bad_filters(world, sales, client_for):
    client = client_for(world.person("alice"))
    response = client.get(reverse("sales:opportunity_list"), {"sort": "drop table", "outcome": "x", "team": "abc",
                                                              "page": "99"})
    assert response.status_code == 200


def test_detail_shows_move_form_only_to_the_owner(world, sales, client_for):
    alice = client_for(world.person("alice")).get(reverse("sales:opportunity_detail", args=[sales.opp.pk]))
    assert alice.context["move_form"] is not None
    bob = client_for(world.person("bob")).get(reverse("sales:opportunity_detail", args=[sales.opp.pk]))
    assert bob.context["move_form"] is None
    assert "李爱丽" in bob.content.decode() and "王博" in bob.content.decode()  # the credit split


def test_create_page(world, sales, client_for):
    client = client_for(world.person("alice"))
    page = client.get(reverse("sales:opportunity_create"), {"customer": sales.acme.pk})
    assert page.status_code == 200
    count = Opportunity.objects.count()
    bad = client.post(reverse("sales:opportunity_create"), {"customer": sales.acme.pk, "name": "x", "stage": "lead",
                                                            "amount": "-10", "currency": "CNY"})
    assert bad.status_code == 200 and bad.context["form"].errors["amount"]
    assert Opportunity.objects.count() == count
    made = client.post(reverse("sales:opportunity_create"), {"customer": sales.acme.pk, "name": "三期",
                                                             "stage": "lead", "amount": "1000", "currency": "CNY"})
    assert made.status_code == 302 and Opportunity.objects.count() == count + 1
    refused = client_for(world.person("audrey")).get(reverse("sales:opportunity_create"))
    assert refused.status_code == 403


def test_move_page_refuses_a_skipped_step_in_place(world, sales, client_for):
    client = client_for(world.person("alice"))
    events = _sales_events()
    page = client.get(reverse("sales:opportunity_detail", args=[sales.opp.pk]))
    assert page.context["move_form"]["stage"].initial == "proposal"  # the next stage is offered first
    response = client.post(reverse("sales:opportunity_move", args=[sales.opp.pk]), {"stage": "proposal"})
    # the refusal is shown on the opportunity's own page, with where to do the missing step
    assert response.status_code == 422
    assert response.context["move_form"].errors["stage"]
    assert f"{reverse('activities:visit_create')}?customer={sales.acme.pk}" in response.content.decode()
    assert Opportunity.objects.get(pk=sales.opp.pk).stage.code == "qualified" and _sales_events() == events
    lost = client.post(reverse("sales:opportunity_move", args=[sales.opp.pk]),
                       {"stage": "lost", "lost_reason": "competitor", "competitor": "华为"})
    assert lost.status_code == 302
    assert Opportunity.objects.get(pk=sales.opp.pk).outcome == "lost"


def test_others_cannot_move_or_edit(world, sales, client_for):
    events = _sales_events()
    for persona, status in (("bob", 403), ("sam", 403), ("audrey", 403), ("carol", 404)):
        client = client_for(world.person(persona))
        moved = client.post(reverse("sales:opportunity_move", args=[sales.opp.pk]),
                            {"stage": "lost", "lost_reason": "price"})
        assert moved.status_code == status, persona
        edited = client.post(reverse("sales:opportunity_edit", args=[sales.opp.pk]), {"name": "改名"})
        assert edited.status_code == status, persona
    fresh = Opportunity.objects.get(pk=sales.opp.pk)
    assert fresh.outcome == "open" and fresh.name == "智能工厂一期"
    assert _sales_events() == events


def _quote_post(sales, discount):
    return {"head-valid_until": "", "head-note": "", "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "50",
            "lines-0-product": str(sales.widget.pk), "lines-0-quantity": "3", "lines-0-discount_pct": discount,
            "lines-1-product": "", "lines-1-quantity": "", "lines-1-discount_pct": ""}


def test_quote_pages(world, sales, client_for):
    client = client_for(world.person("alice"))
    assert client.get(reverse("sales:quote_create", args=[sales.opp.pk])).status_code == 200
    bad = client.post(reverse("sales:quote_create", args=[sales.opp.pk]), _quote_post(sales, "120"))
    assert bad.status_code == 200 and not Quote.objects.exists()
    assert "100%" in bad.content.decode()
    made = client.post(reverse("sales:quote_create", args=[sales.opp.pk]), _quote_post(sales, "4"))
    assert made.status_code == 302
    quote = Quote.objects.get()
    assert quote.total == Decimal("28800.00")
    detail = client.get(reverse("sales:quote_detail", args=[quote.pk]))
    assert detail.status_code == 200 and detail.context["may_submit"]
    bob = client_for(world.person("bob"))
    assert bob.post(reverse("sales:quote_submit", args=[quote.pk])).status_code == 403
    assert Quote.objects.get().status == QuoteStatus.DRAFT
    submitted = client.post(reverse("sales:quote_submit", args=[quote.pk]))
    assert submitted.status_code == 302 and Quote.objects.get().status == QuoteStatus.APPROVED
    assert client_for(world.person("carol")).get(reverse("sales:quote_detail", args=[quote.pk])).status_code == 404


def test_configuration_pages_for_administrators(world, sales, client_for):
    counts = (Product.objects.count(), Stage.objects.count(), DiscountAuthority.objects.count())
    for persona in ("alice", "sam", "audrey"):
        client = client_for(world.person(persona))
        assert client.get(reverse("sales:product_list")).status_code == 200
        assert client.get(reverse("sales:stage_list")).status_code == 200
        assert client.get(reverse("sales:authority_list")).status_code == 200
        assert client.post(reverse("sales:product_create"), {"code": "Z", "name": "z", "list_price": "1"}
                           ).status_code == 403
        assert client.post(reverse("sales:stage_create"), {}).status_code == 403
        row = DiscountAuthority.objects.first()
        assert client.post(reverse("sales:authority_delete", args=[row.pk])).status_code == 403
        assert client.post(reverse("sales:settings"), {"forecast_cutoff_day": "9"}).status_code == 403
    assert (Product.objects.count(), Stage.objects.count(), DiscountAuthority.objects.count()) == counts
    adam = client_for(world.person("adam"))
    bad = adam.post(reverse("sales:product_create"), {"code": "Z", "name": "z", "list_price": "-1",
                                                      "currency": "CNY"})
    assert bad.status_code == 200 and bad.context["form"].errors["list_price"]
    made = adam.post(reverse("sales:product_create"), {"code": "Z", "name": "z", "list_price": "1",
                                                       "currency": "CNY", "active": "on"})
    assert made.status_code == 302 and Product.objects.filter(code="Z").exists()
    over = adam.post(reverse("sales:authority_create"), {"role": "manager", "max_discount_pct": "150"})
    assert over.status_code == 200 and DiscountAuthority.objects.count() == counts[2]
    stage = adam.post(reverse("sales:stage_create"), {"code": "poc", "name": "POC", "name_zh": "试点",
                                                      "order": "35", "probability": "60", "outcome": "open",
                                                      "required_steps": ["visit"], "is_active": "on"})
    assert stage.status_code == 302 and Stage.objects.get(code="poc").required_steps == ["visit"]


def test_forecast_page(world, sales, client_for):
    alice = client_for(world.person("alice"))
    far = alice.post(reverse("sales:forecasts") + "?month=2099-01", {"commit_amount": "1", "best_case_amount": "2"})
    assert far.status_code == 200 and far.context["form"].non_field_errors()  # at most twelve months ahead
    assert not Forecast.objects.exists()
    past = alice.get(reverse("sales:forecasts"), {"month": "2020-01"})
    assert past.status_code == 200 and past.context["form"] is None and not past.context["is_open"]
    assert alice.post(reverse("sales:forecasts") + "?month=2020-01", {"commit_amount": "1", "best_case_amount": "2"}
                      ).status_code == 409
    following = f"{add_months(month_start(timezone.localdate()), 1):%Y-%m}"
    bad = alice.post(reverse("sales:forecasts") + f"?month={following}", {"commit_amount": "5",
                                                                         "best_case_amount": "2"})
    assert bad.context["form"].errors["best_case_amount"] and not Forecast.objects.exists()
    good = alice.post(reverse("sales:forecasts") + f"?month={following}", {"commit_amount": "5",
                                                                          "best_case_amount": "8"})
    assert good.status_code == 302 and Forecast.objects.get().commit_amount == 5
    sam = client_for(world.person("sam"))
    assert sam.post(reverse("sales:forecasts"), {"commit_amount": "1", "best_case_amount": "2"}).status_code == 403
    assert Forecast.objects.count() == 1 and not Forecast.objects.filter(manager=world.sam).exists()


def test_customer_fragment(world, sales, client_for):
    url = reverse("sales:customer_opportunities", args=[sales.acme.pk])
    htmx = client_for(world.person("bob")).get(url, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and sales.opp.name in htmx.content.decode()
    assert "<html" not in htmx.content.decode()
    assert client_for(world.person("carol")).get(url).status_code == 404
    full = client_for(world.person("sam")).get(url)
    assert full.status_code == 200 and "<html" in full.content.decode()


def test_pages_in_chinese(world, sales, client_for):
    client = client_for(world.person("alice"))
    for name, args in (("sales:home", []), ("sales:opportunity_list", []),
                       ("sales:opportunity_detail", [sales.opp.pk]), ("sales:forecasts", [])):
        body = client.get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "销售看板" in body and "Pipeline board" not in body, name  # the tabs, from this app's catalogue
    detail = client.get(reverse("sales:opportunity_detail", args=[sales.opp.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = detail.content.decode()
    assert "阶段历史" in body and "需求确认" in body and "业绩分配" in body


def test_pending_quote_shows_the_approval_panel_to_the_approver(world, sales, client_for):
    from kamguard.sales.services import quote_create, quote_submit

    quote = quote_create(actor=world.alice, opportunity_id=sales.opp.pk,
                         lines=[{"product_id": sales.widget.pk, "quantity": "1", "discount_pct": "20"}])
    quote_submit(actor=world.alice, quote_id=quote.pk)
    url = reverse("sales:quote_detail", args=[quote.pk])
    sam = client_for(world.person("sam")).get(url)
    assert sam.status_code == 200 and sam.context["approval"] is not None
    assert reverse("approvals:decide", args=[sam.context["approval"].pk]) in sam.content.decode()
    alice = client_for(world.person("alice")).get(url)
    assert not alice.context["may_edit"]  # locked while pending
    assert reverse("approvals:decide", args=[alice.context["approval"].pk]) not in alice.content.decode()


def test_list_page_reads_large_visible_sets_in_index_order(world, sales, client_for, monkeypatch):
    from kamguard.sales import selectors

    monkeypatch.setattr(selectors, "LARGE_LIST", 0)
    for persona, expected in (("sam", [sales.opp.pk]), ("bob", [sales.opp.pk]), ("carol", [])):
        response = client_for(world.person(persona)).get(reverse("sales:opportunity_list"), {"sort": "-amount"})
        assert [o.pk for o in response.context["opportunities"]] == expected, persona
        assert response.context["page"].paginator.count == len(expected)


def test_list_count_is_capped(world, sales, client_for, monkeypatch):
    from kamguard.sales import selectors

    opportunity = Opportunity.objects.get(pk=sales.opp.pk)
    for n in range(3):
        opportunity.pk = None
        opportunity.name = f"复制{n}"
        opportunity.save()
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    response = client_for(world.person("alice")).get(reverse("sales:opportunity_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["capped"] and response.context["page"].paginator.count == 2
    assert "More than 2 opportunities" in response.content.decode()


def test_the_opportunity_leads_to_a_contract_once_a_quote_is_approved(world, sales, client_for):
    from kamguard.sales.services import quote_create, quote_submit

    alice = world.person("alice")
    client = client_for(alice)
    detail = reverse("sales:opportunity_detail", args=[sales.opp.pk])
    link = f"{reverse('contracts:contract_create')}?customer={sales.acme.pk}&amp;opportunity={sales.opp.pk}"
    before = client.get(detail)
    assert not before.context["may_contract"] and link not in before.content.decode()
    quote = quote_create(actor=alice, opportunity_id=sales.opp.pk,
                         lines=[{"product_id": sales.widget.pk, "quantity": "2", "discount_pct": "0"}])
    assert quote_submit(actor=alice, quote_id=quote.pk).status == QuoteStatus.APPROVED  # within her authority
    after = client.get(detail)
    assert after.context["may_contract"] and link in after.content.decode()
    # bob, on the account team, sees the opportunity but does not draft its contract
    assert not client_for(world.person("bob")).get(detail).context["may_contract"]
    # the contract form starts from the opportunity: its customer, name, the approved quote's lines and total
    form = client.get(reverse("contracts:contract_create"), {"customer": sales.acme.pk,
                                                             "opportunity": sales.opp.pk}).context["form"]
    assert form["opportunity_id"].initial == sales.opp.pk and form["title"].initial == sales.opp.name
    assert "W-100" in form["lines"].initial and form["amount"].initial == Decimal("20000.00")


@pytest.mark.parametrize(("persona", "status"), [("alice", 403), ("sam", 403), ("audrey", 403), ("adam", 302)])
def test_catalogue_pages_add_and_change_a_product_for_administrators_only(world, sales, client_for, persona, status):
    client = client_for(world.person(persona))
    before = Product.objects.count()
    data = {"code": "iot-gw", "name": "物联网网关", "name_en": "IoT gateway", "unit": "台", "list_price": "5800",
            "currency": "CNY", "active": "on"}
    # when
    created = client.post(reverse("sales:product_create"), data)
    # then: only an administrator adds it; a refusal changes nothing
    assert created.status_code == status
    if status != 302:
        assert Product.objects.count() == before
        return
    product = Product.objects.get(code="iot-gw")
    assert client.get(reverse("sales:product_edit", args=[product.pk])).status_code == 200
    changed = client.post(reverse("sales:product_edit", args=[product.pk]), {**data, "list_price": "6200"})
    assert changed.status_code == 302 and Product.objects.get(pk=product.pk).list_price == Decimal("6200")
    assert client.get(reverse("sales:product_edit", args=[10**9])).status_code == 404


def test_stage_page_shows_a_bad_code_in_place_and_saves_nothing(world, sales, client_for):
    client = client_for(world.adam)
    before = Stage.objects.count()
    response = client.post(reverse("sales:stage_create"), {"code": "Bad Code!", "name": "Demo", "order": "70",
                                                            "probability": "50", "outcome": "open"})
    assert response.status_code == 200 and Stage.objects.count() == before
    assert "errorlist" in response.content.decode()
