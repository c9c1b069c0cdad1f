"""Sessions: idle and absolute timeouts, ending one's own sessions, forced sign-out by an administrator."""

from __future__ import annotations

import pytest
from django.test import Client

from kamguard.accounts import services
from kamguard.accounts.models import UserSession
from kamguard.accounts.tests.conftest import actions


def _age_session(client: Client, *, idle: float = 0, since_login: float = 0) -> None:
    session = client.session
    session["kg_last_seen"] = float(session["kg_last_seen"]) - idle
    session["kg_login_at"] = float(session["kg_login_at"]) - since_login
    session.save()


def test_idle_session_is_signed_out(world, client_for, settings):
    client = client_for(world.alice)
    key = client.cookies["sessionid"].value
    assert client.get("/").status_code == 200

    # when the browser was idle just longer than allowed
    _age_session(client, idle=settings.SESSION_IDLE_SECONDS + 5)
    response = client.get("/accounts/security/")

    # then it is sent to sign in, with a note saying why, and the session is recorded as ended
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "without activity" in page.content.decode()
    tracked = UserSession.objects.get(session_key=key)
    assert tracked.ended_at is not None and tracked.end_reason == "idle timeout"
    assert actions("auth.logout")[-1].reason == "idle timeout"
    assert client.get("/").status_code == 302


def test_active_session_is_not_signed_out_before_the_idle_limit(world, client_for, settings):
    client = client_for(world.alice)
    _age_session(client, idle=settings.SESSION_IDLE_SECONDS - 60)
    assert client.get("/").status_code == 200
    # the request refreshed "last seen", so the same wait again is still fine
    _age_session(client, idle=settings.SESSION_IDLE_SECONDS - 60)
    assert client.get("/").status_code == 200


def test_absolute_timeout_ends_even_an_active_session(world, client_for, settings):
    client = client_for(world.bob)
    key = client.cookies["sessionid"].value
    _age_session(client, since_login=settings.SESSION_COOKIE_AGE + 1)
    response = client.get("/")
    assert response.status_code == 302
    assert UserSession.objects.get(session_key=key).end_reason == "absolute timeout"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert "maximum length" in page.content.decode()


def test_api_request_with_an_expired_session_is_401(world, client_for, settings):
    client = client_for(world.alice)
    _age_session(client, idle=settings.SESSION_IDLE_SECONDS + 5)
    response = client.get("/api/v1/sessions")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_administrator_ends_all_sessions_of_a_person(world, client_for):
    phone, laptop = client_for(world.alice), client_for(world.alice)
    bystander = client_for(world.bob)

    ended = services.sessions_end_all(actor=world.adam, user=world.alice, reason="suspicious activity")

    assert ended == 2
    assert phone.get("/").status_code == 302 and laptop.get("/").status_code == 302
    assert bystander.get("/").status_code == 200
    assert not UserSession.objects.filter(user=world.alice, ended_at__isnull=True).exists()
    event = actions("auth.sessions_ended")[-1]
    assert event.actor_id == world.adam.pk and event.reason == "suspicious activity"


def test_deactivated_person_is_signed_out_on_the_next_request(world, client_for):
    from kamguard.org.services import user_update

    client = client_for(world.carol)
    assert client.get("/").status_code == 200

    user_update(actor=world.adam, user=world.carol, is_active=False, reason="left the company")

    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/sessions").status_code == 401
    assert UserSession.objects.get(user=world.carol).end_reason == "left the company"


def test_administrator_page_ends_a_person_sessions(world, client_for):
    alice = client_for(world.alice)
    response = client_for(world.adam).post(f"/org/people/{world.alice.pk}/end-sessions/",
                                           {"reason": "ended by administrator"})
    assert response.status_code == 302
    assert alice.get("/").status_code == 302


def test_end_one_of_my_sessions_and_keep_this_one(world, client_for):
    here, other = client_for(world.bob), client_for(world.bob)
    other_session = UserSession.objects.get(session_key=other.cookies["sessionid"].value)

    response = here.post(f"/accounts/security/sessions/{other_session.pk}/end/")

    assert response.status_code == 302
    assert other.get("/").status_code == 302
    assert here.get("/").status_code == 200
    assert actions("auth.session.ended")[-1].actor_id == world.bob.pk


def test_end_all_other_sessions(world, client_for):
    here, second, third = client_for(world.bob), client_for(world.bob), client_for(world.bob)
    response = here.post("/accounts/security/sessions/end-others/")
    assert response.status_code == 302
    assert second.get("/").status_code == 302 and third.get("/").status_code == 302
    assert here.get("/").status_code == 200


def test_ending_my_current_session_signs_me_out(world, client_for):
    client = client_for(world.bob)
    mine = UserSession.objects.get(session_key=client.cookies["sessionid"].value)
    response = client.post(f"/accounts/security/sessions/{mine.pk}/end/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_api_lists_my_active_sessions_only(world, client_for):
    client = client_for(world.alice)
    client_for(world.alice)
    client_for(world.bob)
    ended = client_for(world.alice)
    services.session_end(actor=world.alice,
                         session_id=UserSession.objects.get(session_key=ended.cookies["sessionid"].value).pk)

    body = client.get("/api/v1/sessions").json()

    assert len(body["items"]) == 2
    assert {item["user_id"] for item in body["items"]} == {world.alice.pk}
    assert sum(item["is_current"] for item in body["items"]) == 1
    assert "session_key" not in body["items"][0]


def test_api_ends_my_session(world, client_for):
    client, other = client_for(world.alice), client_for(world.alice)
    target = UserSession.objects.get(session_key=other.cookies["sessionid"].value)
    response = client.post(f"/api/v1/sessions/{target.pk}/end")
    assert response.status_code == 200 and response.json()["ended_at"]
    assert other.get("/").status_code == 302
    again = client.post(f"/api/v1/sessions/{target.pk}/end")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"


def test_changing_my_password_keeps_this_session_and_ends_the_others(world, client_for):
    from kamguard.accounts.tests.conftest import PASSWORD, sign_in

    here, elsewhere = client_for(world.bob), client_for(world.bob)
    response = here.post("/accounts/security/password/", {
        "current_password": PASSWORD, "new_password": "Silver-Kettle-58", "new_password_again": "Silver-Kettle-58"})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert sign_in(Client(), "bob", "Silver-Kettle-58").status_code == 302
    assert actions("org.user.password_set")[-1].actor_id == world.bob.pk


@pytest.mark.parametrize(("current", "new", "again", "field"), [
    ("wrong-one", "Silver-Kettle-58", "Silver-Kettle-58", "current_password"),
    ("Correct-Horse-42", "short", "short", "new_password"),
    ("Correct-Horse-42", "Silver-Kettle-58", "Silver-Kettle-59", "new_password_again"),
    ("Correct-Horse-42", "Correct-Horse-42", "Correct-Horse-42", "new_password"),
])
def test_password_change_refusals_are_shown_in_place(world, client_for, current, new, again, field):
    client = client_for(world.bob)
    response = client.post("/accounts/security/password/", {
        "current_password": current, "new_password": new, "new_password_again": again})
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert world.person("bob").check_password("Correct-Horse-42")
    assert client.get("/").status_code == 200
