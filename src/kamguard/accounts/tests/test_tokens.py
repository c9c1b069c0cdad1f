"""Personal access tokens: creation (secret once, hash only), scopes, expiry, revocation, audit."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from kamguard.accounts import services
from kamguard.accounts.models import AccessToken
from kamguard.accounts.tests.conftest import actions, bearer
from kamguard.core.errors import ValidationFailed


def test_token_create_returns_the_secret_once_and_stores_only_its_hash(world):
    token, secret = services.token_create(actor=world.alice, name="ERP sync", scopes=["read"], expires_in_days=30)

    assert secret.startswith("kg_") and len(secret) > 40
    stored = AccessToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(AccessToken.objects.filter(pk=token.pk).values().first())
    assert stored.prefix == secret[:10] and stored.scopes == ["read"]
    assert abs((stored.expires_at - timezone.now()) - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    event = actions("auth.token.created")[-1]
    assert event.actor_id == world.alice.pk and secret not in str(event.changes)


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"scopes": []}, "scopes"),
    ({"scopes": ["admin"]}, "scopes"),
    ({"expires_in_days": None}, "expires_in_days"),
    ({"expires_in_days": 0}, "expires_in_days"),
    ({"expires_in_days": 366}, "expires_in_days"),
])
def test_token_create_refuses_bad_input(world, fields, field):
    values = {"name": "ok", "scopes": ["read"], "expires_in_days": 30, **fields}
    with pytest.raises(ValidationFailed) as caught:
        services.token_create(actor=world.alice, **values)
    assert field in caught.value.field_errors
    assert not AccessToken.objects.exists()


def test_write_scope_implies_read(world):
    token, _ = services.token_create(actor=world.alice, name="w", scopes=["write"], expires_in_days=1)
    assert token.scopes == ["read", "write"]


def test_a_token_authenticates_the_api(world, make_token):
    token, secret = make_token(world.alice)
    response = Client().get("/api/v1/tokens", **bearer(secret))
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [token.pk]
    assert AccessToken.objects.get(pk=token.pk).last_used_at is not None


def test_a_read_only_token_is_refused_for_writes(world, make_token):
    _, secret = make_token(world.alice, scopes=["read"])
    client = Client()
    assert client.get("/api/v1/sessions", **bearer(secret)).status_code == 200
    token = AccessToken.objects.get()
    for method, path in (("post", "/api/v1/tokens"), ("delete", f"/api/v1/tokens/{token.pk}"),
                         ("post", "/api/v1/sessions/1/end"), ("patch", f"/api/v1/org/users/{world.alice.pk}"),
                         ("put", "/api/v1/org/reference/industry/1")):
        response = getattr(client, method)(path, {}, content_type="application/json", **bearer(secret))
        assert response.status_code == 403, (method, path)
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "token_read_only"
    assert actions("permission.refused")[-1].actor_id == world.alice.pk
    assert AccessToken.objects.get(pk=token.pk).revoked_at is None  # nothing changed


def test_a_write_token_may_write(world, make_token):
    other, _ = make_token(world.alice, name="old")
    _, secret = make_token(world.alice, name="automation")
    response = Client().delete(f"/api/v1/tokens/{other.pk}", **bearer(secret))
    assert response.status_code == 204
    assert AccessToken.objects.get(pk=other.pk).revoked_at is not None


def test_an_expired_token_is_refused(world, make_token):
    token, secret = make_token(world.alice, days=1)
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().get("/api/v1/tokens", **bearer(secret))
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"


def test_a_revoked_token_is_refused_and_revoking_is_audited_once(world, make_token):
    token, secret = make_token(world.alice)
    client = Client()
    assert client.get("/api/v1/tokens", **bearer(secret)).status_code == 200

    services.token_revoke(actor=world.alice, token_id=token.pk)
    services.token_revoke(actor=world.alice, token_id=token.pk)  # again: nothing more happens

    assert client.get("/api/v1/tokens", **bearer(secret)).status_code == 401
    assert len(actions("auth.token.revoked")) == 1


def test_a_deactivated_person_token_is_refused(world, make_token):
    from kamguard.org.services import user_update

    _, secret = make_token(world.carol)
    user_update(actor=world.adam, user=world.carol, is_active=False, reason="left")
    assert Client().get("/api/v1/tokens", **bearer(secret)).status_code == 401


def test_unknown_and_malformed_tokens_are_refused(db):
    client = Client()
    assert client.get("/api/v1/tokens", **bearer("kg_nope")).status_code == 401
    assert client.get("/api/v1/tokens", **bearer("something-else")).status_code == 401
    assert client.get("/api/v1/tokens").status_code == 401


def test_api_creates_a_token_for_a_signed_in_person(world, client_for):
    client = client_for(world.alice)
    response = client.post("/api/v1/tokens", {"name": "report script", "scopes": ["read"], "expires_in_days": 7},
                           content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("kg_") and body["scopes"] == ["read"] and body["user_id"] == world.alice.pk
    assert Client().get("/api/v1/tokens", **bearer(body["secret"])).status_code == 200
    listed = client.get("/api/v1/tokens").json()["items"]
    assert "secret" not in listed[0] and "token_hash" not in listed[0]


@pytest.mark.parametrize("payload", [
    {"name": "x", "scopes": ["read"], "expires_in_days": 400},
    {"name": "x", "scopes": ["read"]},
    {"name": "x", "scopes": ["root"], "expires_in_days": 5},
    {"name": "", "scopes": ["read"], "expires_in_days": 5},
])
def test_api_refuses_bad_token_requests_with_problem_details(world, client_for, payload):
    response = client_for(world.alice).post("/api/v1/tokens", payload, content_type="application/json")
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]
    assert not AccessToken.objects.exists()


def test_a_token_cannot_create_tokens(world, make_token):
    _, secret = make_token(world.alice)
    response = Client().post("/api/v1/tokens", {"name": "child", "scopes": ["read"], "expires_in_days": 5},
                             content_type="application/json", **bearer(secret))
    assert response.status_code == 403
    assert AccessToken.objects.count() == 1


def test_api_lists_tokens_with_keyset_pagination(world, client_for, make_token):
    for i in range(5):
        make_token(world.alice, name=f"t{i}")
    client = client_for(world.alice)
    first = client.get("/api/v1/tokens?limit=2").json()
    second = client.get(f"/api/v1/tokens?limit=2&cursor={first['next_cursor']}").json()
    third = client.get(f"/api/v1/tokens?limit=2&cursor={second['next_cursor']}").json()
    names = [t["name"] for page in (first, second, third) for t in page["items"]]
    assert names == ["t4", "t3", "t2", "t1", "t0"] and third["next_cursor"] is None


def test_token_pages_create_show_once_and_revoke(world, client_for):
    client = client_for(world.alice)
    assert client.get("/accounts/security/tokens/new/").status_code == 200

    response = client.post("/accounts/security/tokens/new/", {"name": "BI", "scope": "write", "expires_in_days": 90})

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = AccessToken.objects.get(user=world.alice)
    body = response.content.decode()
    secret = body.split("data-token-secret>", 1)[1].split("<", 1)[0]
    assert secret.startswith("kg_") and token.scopes == ["read", "write"]
    page = client.get("/accounts/security/").content.decode()
    assert "BI" in page and secret not in page

    revoke = client.post(f"/accounts/security/tokens/{token.pk}/revoke/")
    assert revoke.status_code == 302
    assert Client().get("/api/v1/tokens", **bearer(secret)).status_code == 401


def test_token_page_shows_errors_in_place(world, client_for):
    response = client_for(world.alice).post("/accounts/security/tokens/new/",
                                            {"name": "", "scope": "read", "expires_in_days": 90})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_lists_do_not_grow_queries_with_rows(world, client_for, make_token, django_assert_max_num_queries):
    client = client_for(world.alice)
    for i in range(30):
        make_token(world.alice, name=f"t{i}")
    for _ in range(5):
        client_for(world.alice)
    with django_assert_max_num_queries(15):
        assert client.get("/accounts/security/").status_code == 200
    with django_assert_max_num_queries(10):
        assert len(client.get("/api/v1/tokens?limit=50").json()["items"]) == 30
    with django_assert_max_num_queries(10):
        assert len(client.get("/api/v1/sessions").json()["items"]) == 6
