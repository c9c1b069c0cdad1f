"""Permission matrix for tokens and sessions: self, teammate, supervisor, outsider, auditor, admin.

Alice owns the token and the session. Only Alice and a person who manages users (adam) may list,
revoke or end them; everyone else is refused, and the token still works and the session is still alive.
"""

from __future__ import annotations

import pytest
from django.test import Client

from kamguard.accounts.models import AccessToken, UserSession
from kamguard.accounts.tests.conftest import bearer

ACTORS = ["alice", "bob", "sam", "carol", "audrey", "adam"]
ALLOWED = {"alice", "adam"}


@pytest.fixture
def alice_access(world, client_for, make_token):  # type: ignore[no-untyped-def]
    token, secret = make_token(world.alice, scopes=["read"], name="alice's script")
    browser = client_for(world.alice)
    tracked = UserSession.objects.get(session_key=browser.cookies["sessionid"].value)
    return token, secret, browser, tracked


def _token_still_works(secret: str) -> bool:
    return Client().get("/api/v1/tokens", **bearer(secret)).status_code == 200


@pytest.mark.parametrize("actor", ACTORS)
def test_api_revoke_token(world, client_for, alice_access, actor):
    token, secret, _, _ = alice_access
    response = client_for(getattr(world, actor)).delete(f"/api/v1/tokens/{token.pk}")
    if actor in ALLOWED:
        assert response.status_code == 204
        assert not _token_still_works(secret)
    else:
        assert response.status_code == 404  # missing and forbidden look the same
        assert response["Content-Type"] == "application/problem+json"
        assert AccessToken.objects.get(pk=token.pk).revoked_at is None
        assert _token_still_works(secret)


@pytest.mark.parametrize("actor", ACTORS)
def test_page_revoke_token(world, client_for, alice_access, actor):
    token, secret, _, _ = alice_access
    response = client_for(getattr(world, actor)).post(f"/accounts/security/tokens/{token.pk}/revoke/")
    if actor in ALLOWED:
        assert response.status_code == 302
        assert not _token_still_works(secret)
    else:
        assert response.status_code == 404
        assert _token_still_works(secret)


@pytest.mark.parametrize("actor", ACTORS)
def test_api_list_someone_else_tokens(world, client_for, alice_access, actor):
    token, _, _, _ = alice_access
    response = client_for(getattr(world, actor)).get(f"/api/v1/tokens?user_id={world.alice.pk}")
    if actor in ALLOWED:
        assert response.status_code == 200
        assert [t["id"] for t in response.json()["items"]] == [token.pk]
    else:
        assert response.status_code == 403
        assert "items" not in response.json()


@pytest.mark.parametrize("actor", ACTORS)
def test_own_token_list_never_shows_others(world, client_for, alice_access, actor):
    token, _, _, _ = alice_access
    items = client_for(getattr(world, actor)).get("/api/v1/tokens").json()["items"]
    assert (token.pk in [t["id"] for t in items]) == (actor == "alice")


@pytest.mark.parametrize("actor", ACTORS)
def test_api_end_session(world, client_for, alice_access, actor):
    _, _, browser, tracked = alice_access
    response = client_for(getattr(world, actor)).post(f"/api/v1/sessions/{tracked.pk}/end")
    if actor in ALLOWED:
        assert response.status_code == 200
        assert browser.get("/").status_code == 302
    else:
        assert response.status_code == 404
        assert UserSession.objects.get(pk=tracked.pk).ended_at is None
        assert browser.get("/").status_code == 200


@pytest.mark.parametrize("actor", ACTORS)
def test_page_end_session(world, client_for, alice_access, actor):
    _, _, browser, tracked = alice_access
    response = client_for(getattr(world, actor)).post(f"/accounts/security/sessions/{tracked.pk}/end/")
    if actor in ALLOWED:
        assert response.status_code == 302
        assert browser.get("/").status_code == 302
    else:
        assert response.status_code == 404
        assert browser.get("/").status_code == 200


@pytest.mark.parametrize("actor", ACTORS)
def test_api_list_someone_else_sessions(world, client_for, alice_access, actor):
    _, _, _, tracked = alice_access
    response = client_for(getattr(world, actor)).get(f"/api/v1/sessions?user_id={world.alice.pk}")
    if actor in ALLOWED:
        assert response.status_code == 200
        assert tracked.pk in [s["id"] for s in response.json()["items"]]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("actor", ACTORS)
def test_person_access_page(world, client_for, alice_access, actor):
    token, _, _, _ = alice_access
    response = client_for(getattr(world, actor)).get(f"/accounts/people/{world.alice.pk}/access/")
    if actor == "adam":
        assert response.status_code == 200
        assert "alice&#x27;s script" in response.content.decode() or "alice's script" in response.content.decode()
    elif actor == "alice":
        assert response.status_code == 403  # her own page is "My account"
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("actor", ACTORS)
def test_my_account_page_shows_only_my_own(world, client_for, alice_access, actor):
    response = client_for(getattr(world, actor)).get("/accounts/security/")
    assert response.status_code == 200
    assert ("alice&#x27;s script" in response.content.decode()) == (actor == "alice")


def test_nobody_creates_a_token_for_someone_else(world, client_for):
    # The API has no way to name another owner: an administrator's request creates their own token.
    response = client_for(world.adam).post(
        "/api/v1/tokens", {"name": "for alice", "scopes": ["read"], "expires_in_days": 5, "user_id": world.alice.pk},
        content_type="application/json")
    assert response.status_code == 201
    assert response.json()["user_id"] == world.adam.pk
    assert not AccessToken.objects.filter(user=world.alice).exists()


def test_hr_manages_users_and_so_may_revoke(world, client_for, alice_access):
    token, secret, _, _ = alice_access
    assert client_for(world.hanna).delete(f"/api/v1/tokens/{token.pk}").status_code == 204
    assert not _token_still_works(secret)


def test_anonymous_is_refused_everywhere(world, alice_access):
    token, secret, browser, tracked = alice_access
    client = Client()
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.delete(f"/api/v1/tokens/{token.pk}").status_code == 401
    assert client.post(f"/api/v1/sessions/{tracked.pk}/end").status_code == 401
    assert client.get("/accounts/security/").status_code == 302
    assert client.post(f"/accounts/security/tokens/{token.pk}/revoke/").status_code == 302
    assert _token_still_works(secret) and browser.get("/").status_code == 200
