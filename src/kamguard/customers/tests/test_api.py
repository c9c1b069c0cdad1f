"""Customers API: the permission matrix (owner alice, teammate bob, supervisor sam, outsider carol, auditor audrey,
admin adam), problem details with the duplicate candidates, keyset pagination, the ledger, and that a refusal
changes nothing."""

import json

import pytest
from django.utils import timezone

from kamguard.customers.models import Customer, OwnershipChange, OwnershipDispute, Pool
from kamguard.customers.services import ownership, records

API = "/api/v1/customers"


def _state(customer):
    fresh = Customer.objects.get(pk=customer.pk)
    return (fresh.owner_id, fresh.name, fresh.tier, fresh.is_locked,
            OwnershipChange.objects.filter(customer=customer).count())


def _json(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.mark.parametrize(
    ("persona", "see", "change"),
    [("alice", 200, 200), ("bob", 404, 404), ("sam", 200, 200), ("carol", 404, 404), ("audrey", 200, 403),
     ("adam", 200, 403)],
)
def test_customer_endpoints_matrix(world, book, client_for, persona, see, change):
    client = client_for(world.person(persona))
    url = f"{API}/{book.alpha.pk}"
    before = _state(book.alpha)

    got = client.get(url)
    assert got.status_code == see
    if see == 200:
        assert got.json()["name"] == book.alpha.name
    else:
        assert got["Content-Type"] == "application/problem+json"
        assert book.alpha.name not in got.content.decode()

    patched = _json(client, "patch", url, {"tier": "A"})
    assert patched.status_code == change
    if change == 200:
        assert Customer.objects.get(pk=book.alpha.pk).tier == "A"
    else:
        assert patched["Content-Type"] == "application/problem+json"
        assert _state(book.alpha) == before

    ledger = client.get(f"{url}/ownership")
    assert ledger.status_code == see


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 200), ("bob", 200), ("sam", 404), ("carol", 200), ("audrey", 403), ("adam", 403)],
)
def test_claim_endpoint_matrix(world, book, client_for, persona, status):
    before = _state(book.gamma)
    response = client_for(world.person(persona)).post(f"{API}/{book.gamma.pk}/claim")
    assert response.status_code == status
    if status == 200:
        assert response.json()["owner_id"] == getattr(world, persona).pk
    else:
        assert _state(book.gamma) == before


def test_second_claim_is_a_conflict_naming_the_winner(world, book, client_for):
    assert client_for(world.person("alice")).post(f"{API}/{book.gamma.pk}/claim").status_code == 200
    response = client_for(world.person("bob")).post(f"{API}/{book.gamma.pk}/claim")
    assert response.status_code == 409
    assert "李爱丽" in response.json()["title"]
    assert Customer.objects.get(pk=book.gamma.pk).owner_id == world.alice.pk


@pytest.mark.parametrize(
    ("persona", "release", "transfer"),
    [("alice", 200, 403), ("bob", 404, 403), ("sam", 403, 200), ("carol", 404, 403), ("audrey", 403, 403),
     ("adam", 403, 403)],
)
def test_release_and_transfer_matrix(world, book, client_for, persona, release, transfer):
    client = client_for(world.person(persona))
    before = _state(book.alpha)
    released = _json(client, "post", f"{API}/{book.alpha.pk}/release", {"reason": "不再跟进"})
    assert released.status_code == release
    if release != 200:
        assert _state(book.alpha) == before
        moved = _json(client, "post", f"{API}/{book.alpha.pk}/transfer", {"to_owner_id": world.bob.pk,
                                                                          "reason": "调整"})
        assert moved.status_code == transfer
        if transfer == 200:
            assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.bob.pk
        else:
            assert _state(book.alpha) == before
    else:
        assert Customer.objects.get(pk=book.alpha.pk).owner_id is None


def test_list_is_scoped_and_search_finds_nothing_outside_scope(world, book, client_for):
    carol = client_for(world.person("carol"))
    found = carol.get(API, {"q": "腾达", "status": ""}).json()
    assert found["items"] == []
    alice_ids = {c["id"] for c in client_for(world.person("alice")).get(API, {"status": ""}).json()["items"]}
    assert book.alpha.pk in alice_ids and book.beta.pk not in alice_ids


def test_keyset_pagination(world, book, client_for):
    client = client_for(world.person("adam"))
    first = client.get(API, {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(API, {"limit": 2, "cursor": first["next_cursor"]}).json()
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 3


def test_dedupe_check_hides_out_of_scope_details(world, book, client_for):
    body = {"name": "深圳市腾达电子科技有限公司", "phones": ["13912345678"]}
    outsider = _json(client_for(world.person("carol")), "post", f"{API}/dedupe-check", body)
    assert outsider.status_code == 200
    data = outsider.json()
    assert data["verdict"] == "duplicate"
    candidate = data["candidates"][0]
    assert candidate["customer_id"] is None and candidate["visible"] is False
    assert candidate["owner"] == "李爱丽"
    assert str(book.alpha.pk) not in json.dumps(candidate["reasons"]) and "phone" not in json.dumps(candidate)
    supervisor = _json(client_for(world.person("sam")), "post", f"{API}/dedupe-check", body).json()
    assert supervisor["candidates"][0]["customer_id"] == book.alpha.pk


def test_create_duplicate_is_409_with_candidates_and_nothing_written(world, book, client_for):
    count = Customer.objects.count()
    response = _json(client_for(world.person("carol")), "post", API, {"name": "腾达电子科技（深圳）有限公司"})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "duplicate" and problem["candidates"][0]["owner"] == "李爱丽"
    assert problem["candidates"][0]["customer_id"] is None
    assert Customer.objects.count() == count


def test_create_possible_duplicate_needs_a_reason(world, book, client_for):
    client = client_for(world.person("bob"))
    response = _json(client, "post", API, {"name": "上海浦江国际物流集团"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "possible_duplicate" and problem["candidates"]
    assert any(e["field"] == "duplicate_reason" for e in problem["errors"])
    created = _json(client, "post", API, {"name": "上海浦江国际物流集团", "duplicate_reason": "不同法人"})
    assert created.status_code == 201
    assert created.json()["owner_id"] == world.bob.pk


def test_contacts_are_masked_for_supervisor_and_clear_for_owner(world, book, client_for):
    sam = client_for(world.person("sam")).get(f"{API}/{book.alpha.pk}").json()
    assert sam["contacts"][0]["masked"] is True and "13912345678" not in json.dumps(sam)
    alice = client_for(world.person("alice")).get(f"{API}/{book.alpha.pk}").json()
    assert alice["contacts"][0]["phone"] == "+8613912345678"


def test_contact_and_account_team_endpoints(world, book, client_for):
    alice = client_for(world.person("alice"))
    added = _json(alice, "post", f"{API}/{book.alpha.pk}/contacts", {"name": "李工", "phone": "13812345678"})
    assert added.status_code == 201 and added.json()["phone"] == "+8613812345678"
    changed = _json(alice, "patch", f"{API}/{book.alpha.pk}/contacts/{added.json()['id']}", {"title": "总工"})
    assert changed.status_code == 200 and changed.json()["title"] == "总工"
    put = _json(alice, "put", f"{API}/{book.alpha.pk}/team/{world.bob.pk}", {"role": "技术", "credit_share": 20})
    assert put.status_code == 200
    carol = client_for(world.person("carol"))
    assert _json(carol, "put", f"{API}/{book.alpha.pk}/team/{world.carol.pk}",
                 {"role": "x", "credit_share": 50}).status_code == 404
    assert book.alpha.team_members.count() == 1
    assert alice.delete(f"{API}/{book.alpha.pk}/team/{world.bob.pk}").status_code == 204
    assert not book.alpha.team_members.exists()


def test_ledger_answers_who_owned_it_on_a_date(world, book, client_for):
    ownership.customer_transfer(actor=world.sam, customer_id=book.alpha.pk, to_owner_id=world.bob.pk, reason="调整")
    client = client_for(world.person("sam"))
    today = timezone.localdate().isoformat()
    data = client.get(f"{API}/{book.alpha.pk}/ownership", {"on": today}).json()
    assert [e["kind"] for e in data["chain"]] == ["registered", "transfer"]
    assert data["owner_on"] == world.bob.pk
    assert client.get(f"{API}/{book.alpha.pk}/ownership", {"on": "2000-01-01"}).json()["owner_on"] is None


def test_transfer_request_flow_requester_cannot_approve(world, book, client_for):
    alice, sam = client_for(world.person("alice")), client_for(world.person("sam"))
    created = _json(alice, "post", f"{API}/transfer-requests", {"customer_id": book.alpha.pk,
                                                                "to_owner_id": world.bob.pk, "reason": "交接"})
    assert created.status_code == 201
    request_id = created.json()["id"]
    refused = _json(alice, "post", f"{API}/transfer-requests/{request_id}/decide", {"approve": True})
    assert refused.status_code == 403
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.alice.pk
    assert [r["id"] for r in sam.get(f"{API}/transfer-requests", {"status": "pending"}).json()["items"]] == [
        request_id]
    approved = _json(sam, "post", f"{API}/transfer-requests/{request_id}/decide", {"approve": True})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.bob.pk


def test_dispute_endpoints(world, book, client_for):
    bob, alice, sam = (client_for(world.person(p)) for p in ("bob", "alice", "sam"))
    # bob cannot see alice's customer: the duplicate check gives him a token to claim it with
    check = _json(bob, "post", f"{API}/dedupe-check", {"name": book.alpha.name})
    token = check.json()["candidates"][0]["claim_token"]
    guessed = _json(bob, "post", f"{API}/disputes", {"customer_id": book.alpha.pk, "evidence": "先接触"})
    assert guessed.status_code == 404
    filed = _json(bob, "post", f"{API}/disputes", {"claim_token": token, "evidence": "先接触"})
    assert filed.status_code == 201
    dispute_id = filed.json()["id"]
    assert client_for(world.person("carol")).get(f"{API}/disputes/{dispute_id}").status_code == 404
    assert _json(bob, "post", f"{API}/disputes/{dispute_id}/answer", {"answer": "x"}).status_code == 403
    assert _json(alice, "post", f"{API}/disputes/{dispute_id}/answer", {"answer": "我先"}).status_code == 200
    decided = _json(sam, "post", f"{API}/disputes/{dispute_id}/decide",
                    {"outcome": "share", "reason": "共同开发", "claimant_share": 40})
    assert decided.status_code == 200 and decided.json()["outcome"] == "share"
    assert book.alpha.team_members.get(user=world.bob).credit_share == 40
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.alice.pk
    assert OwnershipDispute.objects.get(pk=dispute_id).status == "decided"
    report = sam.get(f"{API}/disputes/report").json()
    assert {r["side"] for r in report} == {"owner", "claimant"} and report[0]["outcome_share"] == 1
    assert bob.get(f"{API}/disputes/report").status_code == 403


def test_pool_endpoints_refuse_negative_days_and_outsiders(world, book, client_for):
    sam, bob = client_for(world.person("sam")), client_for(world.person("bob"))
    assert _json(sam, "patch", f"{API}/pools/{book.pool.pk}", {"cooldown_days": -3}).status_code == 422
    assert _json(bob, "patch", f"{API}/pools/{book.pool.pk}", {"cooldown_days": 3}).status_code == 403
    assert Pool.objects.get(pk=book.pool.pk).cooldown_days == 30
    ok = _json(sam, "patch", f"{API}/pools/{book.pool.pk}", {"cooldown_days": 10})
    assert ok.status_code == 200 and ok.json()["cooldown_days"] == 10
    member = _json(sam, "put", f"{API}/pools/{book.pool.pk}/members/{world.sue.pk}", {"is_admin": True})
    assert member.status_code == 200
    assert any(m["user_id"] == world.sue.pk and m["is_admin"] for m in member.json()["members"])
    created = _json(sam, "post", f"{API}/pools", {"name": "华南公海", "cooldown_days": 20})
    assert created.status_code == 201
    assert _json(bob, "post", f"{API}/pools", {"name": "私海"}).status_code == 403
    assert not Pool.objects.filter(name="私海").exists()


def test_merge_endpoint_only_for_supervisors(world, book, client_for):
    dup = records.customer_create(actor=world.alice, name="腾达电子（深圳）", skip_dedupe=True)
    body = {"merged_id": dup.pk, "reason": "同一家"}
    assert _json(client_for(world.person("alice")), "post", f"{API}/{book.alpha.pk}/merge", body).status_code == 403
    assert Customer.objects.get(pk=dup.pk).merged_into_id is None
    assert _json(client_for(world.person("sam")), "post", f"{API}/{book.alpha.pk}/merge", body).status_code == 200
    timeline = client_for(world.person("sam")).get(f"{API}/{book.alpha.pk}/timeline").json()["items"]
    assert {e["customer_id"] for e in timeline} == {book.alpha.pk, dup.pk}
