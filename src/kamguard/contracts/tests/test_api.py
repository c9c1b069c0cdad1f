"""API: permission matrices (nothing changes on refusal), bad input, idempotency, the signed ERP webhook."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kamguard.contracts import services
from kamguard.contracts.domain import rules
from kamguard.contracts.models import Order, Payment, PaymentStatus
from kamguard.contracts.tests.conftest import Book, an_order, counts, signed_contract

API = "/api/v1/contracts"
PERSONAS = ("alice", "bob", "sue", "sam", "carol", "audrey", "fiona")


def _post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, data=json.dumps(body, default=str), content_type="application/json", headers=headers)


@pytest.mark.parametrize(("persona", "see"), [("alice", True), ("bob", False), ("sue", True), ("sam", True),
                                              ("carol", False), ("audrey", True), ("fiona", True)])
def test_read_matrix(world: Any, book: Book, client_for: Any, persona: str, see: bool) -> None:
    contract = signed_contract(book.acme, world.alice)
    order = an_order(book.acme)
    payment = services.payment_record(actor=None, customer_id=book.acme.pk, paid_on=timezone.localdate(),
                                      amount="10")
    client = client_for(world.person(persona))
    for url in (f"{API}/contracts/{contract.pk}", f"{API}/orders/{order.pk}", f"{API}/payments/{payment.pk}"):
        assert client.get(url).status_code == (200 if see else 404), url
    listed = client.get(f"{API}/orders").json()["items"]
    assert [o["id"] for o in listed] == ([order.pk] if see else [])
    assert (len(client.get(f"{API}/receivables").json()) == 1) is see


@pytest.mark.parametrize(("persona", "status"), [("alice", 201), ("bob", 422), ("sue", 201), ("sam", 201),
                                                 ("carol", 422), ("audrey", 403), ("fiona", 201)])
def test_order_create_matrix(world: Any, book: Book, client_for: Any, persona: str, status: int) -> None:
    before = counts()
    response = _post(client_for(world.person(persona)), f"{API}/orders",
                     {"customer_id": book.acme.pk, "order_date": timezone.localdate(), "amount": "100"})
    assert response.status_code == status, response.content
    if status != 201:
        assert counts() == before
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(("persona", "status"), [("alice", 403), ("bob", 403), ("sue", 403), ("sam", 403),
                                                 ("carol", 403), ("audrey", 403), ("fiona", 200)])
def test_payment_confirm_matrix(world: Any, book: Book, client_for: Any, persona: str, status: int) -> None:
    an_order(book.acme)
    payment = services.payment_record(actor=world.sue, customer_id=book.acme.pk, paid_on=timezone.localdate(),
                                      amount="10")
    before = counts()
    response = _post(client_for(world.person(persona)), f"{API}/payments/{payment.pk}/confirm", {"approve": True})
    assert response.status_code == status
    if status != 200:
        assert counts() == before
    else:
        assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CONFIRMED


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 404), ("sue", 200), ("sam", 200),
                                                 ("carol", 404), ("audrey", 403), ("fiona", 200)])
def test_contract_update_matrix(world: Any, book: Book, client_for: Any, persona: str, status: int) -> None:
    contract = services.contract_create(actor=world.alice, customer_id=book.acme.pk, title="原名", amount="10")
    before = counts()
    response = client_for(world.person(persona)).patch(f"{API}/contracts/{contract.pk}",
                                                       data=json.dumps({"title": "新名"}),
                                                       content_type="application/json")
    assert response.status_code == status
    if status != 200:
        assert counts() == before


def test_bad_input(world: Any, book: Book, client_for: Any) -> None:
    client = client_for(world.person("alice"))
    an_order(book.acme, amount="100")
    before = counts()
    negative = _post(client, f"{API}/orders", {"customer_id": book.acme.pk, "order_date": timezone.localdate(),
                                               "amount": "-5"})
    assert negative.status_code == 422 and negative.json()["code"] == "amount_negative"
    over = _post(client, f"{API}/payments", {"customer_id": book.acme.pk, "paid_on": timezone.localdate(),
                                             "amount": "500"})
    assert over.status_code == 422 and over.json()["code"] == "overpayment"
    assert over.json()["errors"][0]["field"] == "over_reason"
    schedule = _post(client, f"{API}/contracts", {"customer_id": book.acme.pk, "title": "x", "amount": "100",
                                                  "schedule": [{"due_on": "2026-01-01", "amount": "99"}]})
    assert schedule.status_code == 422 and schedule.json()["code"] == "schedule_mismatch"
    garbage = _post(client, f"{API}/orders", {"customer_id": "x"})
    assert garbage.status_code == 422
    assert counts() == before


def test_order_idempotent_by_external_id_and_key(world: Any, book: Book, client_for: Any) -> None:
    client = client_for(world.person("sue"))
    body = {"customer_id": book.acme.pk, "order_date": timezone.localdate(), "amount": "100", "external_id": "E-1"}
    first = _post(client, f"{API}/orders", body)
    assert first.status_code == 201
    audit = counts()["audit"]
    second = _post(client, f"{API}/orders", body)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert counts()["audit"] == audit and Order.objects.count() == 1
    clash = _post(client, f"{API}/orders", {**body, "amount": "101"})
    assert clash.status_code == 409 and clash.json()["code"] == "external_id_conflict"
    keyed = {"customer_id": book.acme.pk, "order_date": timezone.localdate(), "amount": "7"}
    one = _post(client, f"{API}/orders", keyed, **{"Idempotency-Key": "k-1"})
    two = _post(client, f"{API}/orders", keyed, **{"Idempotency-Key": "k-1"})
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert Order.objects.count() == 2
    reused = _post(client, f"{API}/orders", {**keyed, "amount": "8"}, **{"Idempotency-Key": "k-1"})
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"


def _signed(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    stamp = str(at if at is not None else int(time.time()))
    return {"X-KAMGuard-Timestamp": stamp, "X-KAMGuard-Signature": rules.webhook_signature(secret, stamp, body)}


def test_webhook(world: Any, book: Book) -> None:
    _secret, plain = services.webhook_secret_create(actor=world.adam, name="ERP")
    client = Client()
    body = json.dumps({"kind": "orders", "rows": [
        {"external_id": "W-1", "customer": "C-ACME", "order_date": timezone.localdate().isoformat(), "amount": "99"},
        {"external_id": "W-2", "customer": "NOPE", "order_date": timezone.localdate().isoformat(), "amount": "1"},
    ]}).encode()
    before = counts()
    bad = client.post(f"{API}/webhooks/erp", data=body, content_type="application/json",
                      headers=_signed("whsec_wrong", body))
    assert bad.status_code == 401 and bad.json()["code"] == "signature_invalid"
    old = client.post(f"{API}/webhooks/erp", data=body, content_type="application/json",
                      headers=_signed(plain, body, int(time.time()) - 3600))
    assert old.status_code == 400 and old.json()["code"] == "timestamp_expired"
    unsigned = client.post(f"{API}/webhooks/erp", data=body, content_type="application/json")
    assert unsigned.status_code == 400
    tampered = client.post(f"{API}/webhooks/erp", data=body.replace(b'"99"', b'"9900"'),
                           content_type="application/json", headers=_signed(plain, body))
    assert tampered.status_code == 401
    assert counts() == before
    good = client.post(f"{API}/webhooks/erp", data=body, content_type="application/json", headers=_signed(plain, body))
    assert good.status_code == 200, good.content
    assert good.json()["counts"]["created"] == 1 and good.json()["errors"][0]["column"] == "customer"
    again = client.post(f"{API}/webhooks/erp", data=body, content_type="application/json",
                        headers=_signed(plain, body))
    assert again.json()["counts"]["unchanged"] == 1 and Order.objects.count() == 1
    assert Order.objects.get().amount == Decimal(99)
    wrong_kind = json.dumps({"kind": "customers", "rows": []}).encode()
    assert client.post(f"{API}/webhooks/erp", data=wrong_kind, content_type="application/json",
                       headers=_signed(plain, wrong_kind)).status_code == 400


@pytest.mark.parametrize(("persona", "status"), [("adam", 201), ("sam", 403), ("audrey", 403), ("fiona", 403)])
def test_webhook_secret_matrix(world: Any, client_for: Any, persona: str, status: int) -> None:
    response = _post(client_for(world.person(persona)), f"{API}/webhook-secrets", {"name": "ERP"})
    assert response.status_code == status
    if status == 201:
        assert response.json()["secret"].startswith("whsec_")
        listed = client_for(world.person(persona)).get(f"{API}/webhook-secrets").json()
        assert listed[0]["secret"] is None


def test_findings_api(world: Any, book: Book, client_for: Any) -> None:
    services.finding_add(kind="payer_mismatch", subject="payment:1", customer_id=book.acme.pk,
                         manager_id=world.alice.pk)
    finding_id = client_for(world.person("alice")).get(f"{API}/findings").json()["items"][0]["id"]
    assert client_for(world.person("carol")).get(f"{API}/findings").json()["items"] == []
    before = counts()
    for persona, status in (("alice", 403), ("audrey", 403), ("carol", 404)):
        response = _post(client_for(world.person(persona)), f"{API}/findings/{finding_id}/resolve", {"note": "ok"})
        assert response.status_code == status
    assert counts() == before
    done = _post(client_for(world.person("sam")), f"{API}/findings/{finding_id}/resolve", {"note": "已核实"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"


def test_week_figures_api(world: Any, book: Book, client_for: Any) -> None:
    today = timezone.localdate()
    signed_contract(book.acme, world.alice, amount="10")
    from kamguard.contracts.models import Contract

    Contract.objects.update(signed_on=today)
    response = client_for(world.person("sam")).get(f"{API}/week-figures", {"start": today - dt.timedelta(days=6),
                                                                          "end": today})
    [row] = response.json()
    assert (row["user_id"], row["contracts_signed"], Decimal(row["contracts_value"]),
            Decimal(row["payments_received"])) == (world.alice.pk, 1, Decimal(10), Decimal(0))
