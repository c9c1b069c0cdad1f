"""Pages: every page for every persona (nothing changes on refusal), the main flows, both languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.contracts import services
from kamguard.contracts.models import (
    Contract,
    ContractStatus,
    DataQualityFinding,
    Order,
    Payment,
    PaymentStatus,
)
from kamguard.contracts.tests.conftest import Book, an_order, counts, signed_contract

PERSONAS = ("alice", "bob", "sue", "sam", "carol", "audrey", "fiona", "adam")


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_open_for_everyone_with_their_rows(world: Any, book: Book, client_for: Any, persona: str) -> None:
    contract = signed_contract(book.acme, world.alice)
    an_order(book.acme, number="SO-ACME-1")
    client = client_for(world.person(persona))
    sees = persona in ("alice", "sue", "sam", "audrey", "fiona", "adam")
    for name in ("contracts:home", "contracts:order_list", "contracts:payment_list", "contracts:receivables",
                 "contracts:finding_list", "contracts:payment_queue"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
    assert (contract.number in client.get(reverse("contracts:home")).content.decode()) is sees
    assert ("SO-ACME-1" in client.get(reverse("contracts:order_list")).content.decode()) is sees
    detail = client.get(reverse("contracts:contract_detail", args=[contract.pk]))
    assert detail.status_code == (200 if sees else 404)


@pytest.mark.parametrize(("persona", "allowed"), [("alice", True), ("bob", False), ("sue", True), ("sam", True),
                                                  ("carol", False), ("audrey", False), ("fiona", True)])
def test_contract_create_page(world: Any, book: Book, client_for: Any, persona: str, allowed: bool) -> None:
    client = client_for(world.person(persona))
    before = counts()
    response = client.post(reverse("contracts:contract_create"), {
        "customer": book.acme.pk, "title": "设备采购", "currency": "CNY",
        "lines": "主轴 | 2 | 500\n安装 | 1 | 200",
        "schedule": f"{timezone.localdate().isoformat()} | 600\n{(timezone.localdate() + dt.timedelta(days=60)).isoformat()} | 600 | 尾款"})
    if allowed:
        assert response.status_code == 302
        contract = Contract.objects.get()
        assert contract.amount == 1200 and contract.schedule.count() == 2
    else:
        assert response.status_code in (200, 403)
        assert counts() == before


def test_contract_form_errors_in_place(world: Any, book: Book, client_for: Any) -> None:
    client = client_for(world.person("alice"))
    before = counts()
    response = client.post(reverse("contracts:contract_create"), {
        "customer": book.acme.pk, "title": "x", "amount": "1000", "currency": "CNY",
        "schedule": f"{timezone.localdate().isoformat()} | 100"})
    assert response.status_code == 200
    assert "1000" in response.content.decode() and counts() == before
    negative = client.post(reverse("contracts:contract_create"), {"customer": book.acme.pk, "title": "x",
                                                                  "amount": "-1", "currency": "CNY"})
    assert negative.status_code == 200 and counts() == before


def test_contract_detail_actions(world: Any, book: Book, client_for: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="10")
    client = client_for(world.person("alice"))
    page = client.get(reverse("contracts:contract_detail", args=[contract.pk])).content.decode()
    assert reverse("contracts:contract_edit", args=[contract.pk]) in page
    edit = client.post(reverse("contracts:contract_edit", args=[contract.pk]), {"title": "新标题", "amount": "20",
                                                                                "currency": "CNY"})
    assert edit.status_code == 302 and Contract.objects.get().title == "新标题"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = client.post(reverse("contracts:attachment_upload", args=[contract.pk]),
                         {"file": SimpleUploadedFile("scan.pdf", b"%PDF-1.7 body")})
    assert upload.status_code == 302
    attachment = contract.attachments.get()
    download = client.get(reverse("contracts:attachment_download", args=[attachment.pk]))
    assert download.status_code == 200 and download.content == b"%PDF-1.7 body"
    assert client_for(world.person("carol")).get(
        reverse("contracts:attachment_download", args=[attachment.pk])).status_code == 404
    bad = client.post(reverse("contracts:attachment_upload", args=[contract.pk]),
                      {"file": SimpleUploadedFile("scan.pdf", b"<html>not a pdf</html>")})
    assert bad.status_code == 302 and contract.attachments.count() == 1
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.APPROVED)
    signed = client.post(reverse("contracts:contract_sign", args=[contract.pk]),
                         {"signed_on": timezone.localdate().isoformat()})
    assert signed.status_code == 302 and Contract.objects.get().status == ContractStatus.SIGNED


def test_cancel_refused_for_outsider_and_auditor(world: Any, book: Book, client_for: Any) -> None:
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="x", amount="10")
    before = counts()
    assert client_for(world.person("carol")).post(reverse("contracts:contract_cancel", args=[contract.pk]),
                                                  {"reason": "x"}).status_code == 404
    assert client_for(world.person("audrey")).post(reverse("contracts:contract_cancel", args=[contract.pk]),
                                                   {"reason": "x"}).status_code == 403
    assert counts() == before


def test_specialist_records_order_delivery_payment_finance_confirms(world: Any, book: Book,
                                                                     client_for: Any) -> None:
    contract = signed_contract(book.acme, world.alice, amount="300",
                               lines=[{"product": "A", "quantity": 3, "unit_price": "100"}])
    sue = client_for(world.person("sue"))
    today = timezone.localdate().isoformat()
    response = sue.post(reverse("contracts:order_create"), {"customer": book.acme.pk, "contract": contract.pk,
                                                            "order_date": today})
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert order.amount == 300
    delivered = sue.post(reverse("contracts:order_detail", args=[order.pk]),
                         {"address": "上海市浦东新区张江路100号", "shipped_on": today, "delivered_on": today})
    assert delivered.status_code == 302 and order.deliveries.count() == 1
    paid = sue.post(reverse("contracts:payment_create"), {"customer": book.acme.pk, "paid_on": today,
                                                          "amount": "300", "order": order.pk,
                                                          "payer_name": book.acme.name})
    assert paid.status_code == 302
    payment = Payment.objects.get()
    queue = client_for(world.person("fiona")).get(reverse("contracts:payment_queue")).content.decode()
    assert reverse("contracts:payment_confirm", args=[payment.pk]) in queue
    refused = sue.post(reverse("contracts:payment_confirm", args=[payment.pk]), {"decision": "confirm"})
    assert refused.status_code == 403 and Payment.objects.get().status == PaymentStatus.RECORDED
    done = client_for(world.person("fiona")).post(reverse("contracts:payment_confirm", args=[payment.pk]),
                                                  {"decision": "confirm"})
    assert done.status_code == 302 and Payment.objects.get().status == PaymentStatus.CONFIRMED
    kinds = set(book.acme.timeline.values_list("kind", flat=True))
    assert {"contracts.order", "contracts.delivery", "contracts.payment"} <= kinds


def test_overpayment_page_asks_for_reason(world: Any, book: Book, client_for: Any) -> None:
    an_order(book.acme, amount="100")
    before = counts()
    response = client_for(world.person("alice")).post(reverse("contracts:payment_create"), {
        "customer": book.acme.pk, "paid_on": timezone.localdate().isoformat(), "amount": "150"})
    assert response.status_code == 200 and counts() == before
    assert "over_reason" in response.content.decode()


def test_findings_page_resolve(world: Any, book: Book, client_for: Any) -> None:
    finding = services.finding_add(kind="new_address", subject="order:1", customer_id=book.acme.pk,
                                   manager_id=world.alice.pk, details={"address": "广州"})
    assert finding is not None
    page = client_for(world.person("alice")).get(reverse("contracts:finding_list")).content.decode()
    assert "广州" in page
    before = counts()
    for persona, status in (("alice", 403), ("audrey", 403), ("carol", 404)):
        assert client_for(world.person(persona)).post(reverse("contracts:finding_resolve", args=[finding.pk]),
                                                      {"note": "ok"}).status_code == status
    assert counts() == before
    assert client_for(world.person("sue")).post(reverse("contracts:finding_resolve", args=[finding.pk]),
                                                {"note": "新仓库，已核实"}).status_code == 302
    assert DataQualityFinding.objects.get().status == "resolved"


@pytest.mark.parametrize(("persona", "status"), [("adam", 200), ("sam", 403), ("audrey", 403), ("fiona", 403)])
def test_secret_page_matrix(world: Any, client_for: Any, persona: str, status: int) -> None:
    client = client_for(world.person(persona))
    assert client.get(reverse("contracts:secret_list")).status_code == status
    response = client.post(reverse("contracts:secret_list"), {"name": "ERP"})
    assert response.status_code == status
    if status == 200:
        assert "whsec_" in response.content.decode()
        assert "whsec_" not in client.get(reverse("contracts:secret_list")).content.decode()


def test_customer_fragment(world: Any, book: Book, client_for: Any) -> None:
    contract = signed_contract(book.acme, world.alice)
    url = reverse("contracts:customer_contracts", args=[book.acme.pk])
    assert contract.number in client_for(world.person("alice")).get(url).content.decode()
    assert client_for(world.person("carol")).get(url).status_code == 404


def test_chinese_pages(world: Any, book: Book, client_for: Any) -> None:
    signed_contract(book.acme, world.alice)
    client = client_for(world.person("alice"))
    for name, word in (("contracts:home", "合同"), ("contracts:receivables", "应收"), ("contracts:order_list", "订单"),
                       ("contracts:payment_list", "回款"), ("contracts:finding_list", "数据")):
        body = client.get(reverse(name), headers={"Accept-Language": "zh-hans"}).content.decode()
        assert word in body, name


def test_order_then_payment_pages_carry_the_order_by_its_number(world: Any, book: Book, client_for: Any) -> None:
    # given: a signed contract of alice's; sue (her team's specialist) records the order from its page
    contract = signed_contract(book.acme, world.alice, lines=[{"product": "主轴", "quantity": "2",
                                                              "unit_price": "50000"}])
    client = client_for(world.person("sue"))
    form = client.get(reverse("contracts:order_create"), {"customer": book.acme.pk, "contract": contract.pk})
    # the order's date comes filled in as <input type=date> reads it, the address from the customer
    html = form.content.decode()
    assert f'value="{timezone.localdate().isoformat()}"' in html and "上海市浦东新区张江路100号" in html
    # when
    response = client.post(reverse("contracts:order_create"), {
        "customer": book.acme.pk, "contract": contract.pk, "order_date": timezone.localdate().isoformat()})
    # then: it is numbered like contracts, and the payment page offers it by that number
    order = Order.objects.get(contract=contract)
    assert response.status_code == 302 and order.number == f"DD{timezone.localdate():%Y%m}-{order.pk:06d}"
    payment = client.get(reverse("contracts:payment_create"), {"customer": book.acme.pk, "order": order.pk})
    assert payment.context["form"]["order"].initial == order.pk
    assert any(order.number in str(label) for _value, label in payment.context["form"].fields["order"].choices)
    # an order of another customer is not offered
    other = an_order(book.west, number="SO-WEST-1")
    assert all(value != other.pk for value, _label in payment.context["form"].fields["order"].choices)
