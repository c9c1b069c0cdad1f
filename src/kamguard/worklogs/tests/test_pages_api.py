"""Work log pages and API: every page renders for the people it is for (both languages), the permission matrix
(owner alice, teammate bob, specialist sue, supervisor sam, outsider carol, auditor audrey, finance fiona) with
nothing changed on refusal, bad input answered in place with nothing written."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from kamguard.worklogs.models import LogDeadline, LogReview, WorkLog
from kamguard.worklogs.services import log_review, log_save
from kamguard.worklogs.tests.conftest import CONTENT, snapshot

pytestmark = pytest.mark.django_db

API = "/api/v1/worklogs"


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "sam", "carol", "audrey", "adam", "fiona"])
def test_pages_render(world, submitted, client_for, persona):
    client = client_for(world.person(persona))
    for url in ("/worklogs/", "/worklogs/logs/", "/worklogs/excellent/", "/worklogs/quality/",
                "/worklogs/deadlines/", f"/worklogs/?day={submitted.day - dt.timedelta(days=3)}"):
        assert client.get(url).status_code == 200, url
    inbox = client.get("/worklogs/inbox/")
    assert inbox.status_code == (200 if persona == "sam" else 403)
    detail = client.get(f"/worklogs/logs/{submitted.pk}/")
    assert detail.status_code == (200 if persona in ("alice", "sue", "sam", "audrey", "adam", "fiona") else 404)


def test_home_in_chinese(world, client_for):
    client = client_for(world.person("alice"))
    body = client.get("/worklogs/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "工作日志" in body and "明日计划" in body


def test_write_and_submit_from_the_page(world, client_for):
    client = client_for(world.person("alice"))
    today = timezone.localdate()
    response = client.post(f"/worklogs/?day={today}", {**CONTENT, "day": today.isoformat(), "submit": "1"})
    assert response.status_code == 302
    log = WorkLog.objects.get(user=world.alice, day=today)
    assert log.status == "submitted"


def test_page_bad_input_shows_errors_writes_nothing(world, client_for):
    client = client_for(world.person("alice"))
    before = snapshot()
    response = client.post("/worklogs/", {"today_work": "", "visits": "", "tomorrow_plan": "", "submit": "1"})
    assert response.status_code == 200
    assert "tomorrow" in response.content.decode().lower() or "明日" in response.content.decode()
    assert snapshot() == before


def test_auditor_post_writes_nothing(world, client_for):
    client = client_for(world.person("audrey"))
    before = snapshot()
    assert client.post("/worklogs/", {**CONTENT, "submit": "1"}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "carol", "audrey", "fiona", "adam"])
def test_review_page_refused_nothing_changed(world, submitted, client_for, persona):
    # the author, a teammate, the specialist, an outsider, the auditor, finance, the administrator
    client = client_for(world.person(persona))
    before = snapshot()
    response = client.post(f"/worklogs/logs/{submitted.pk}/", {"evaluation": "x", "rating": "5", "version": "1"})
    assert response.status_code in (403, 404)
    assert snapshot() == before


def test_supervisor_reviews_from_the_page(world, submitted, client_for):
    client = client_for(world.person("sam"))
    response = client.post(f"/worklogs/logs/{submitted.pk}/", {"evaluation": "重点突出", "rating": "4",
                                                              "version": "1", "is_excellent": "on"})
    assert response.status_code == 302
    review = LogReview.objects.get()
    assert review.rating == 4 and review.is_excellent
    body = client_for(world.person("bob")).get("/worklogs/excellent/").content.decode()
    assert "重点突出" in body


def test_review_page_twice_is_a_conflict(world, submitted, client_for):
    log_review(actor=world.sam, log_id=submitted.pk, evaluation="好", rating=4)
    before = snapshot()
    response = client_for(world.person("sam")).post(f"/worklogs/logs/{submitted.pk}/",
                                                    {"evaluation": "再评", "rating": "2", "version": "1"})
    assert response.status_code == 409
    assert snapshot() == before


def test_review_page_bad_rating(world, submitted, client_for):
    client = client_for(world.person("sam"))
    before = snapshot()
    response = client.post(f"/worklogs/logs/{submitted.pk}/", {"evaluation": "", "rating": "9", "version": "1"})
    assert response.status_code == 200
    assert snapshot() == before


def test_versions_visible_after_edit(world, submitted, client_for):
    log_review(actor=world.sam, log_id=submitted.pk, evaluation="原版评价", rating=3)
    log_save(actor=world.alice, day=submitted.day, **{**CONTENT, "problems": "修改后的问题"})
    body = client_for(world.person("sam")).get(f"/worklogs/logs/{submitted.pk}/").content.decode()
    assert "修改后的问题" in body and "原版评价" in body and CONTENT["problems"] in body


def test_quality_page_chart(world, submitted, client_for):
    log_review(actor=world.sam, log_id=submitted.pk, evaluation="好", rating=4)
    body = client_for(world.person("sam")).get(f"/worklogs/quality/?person={world.alice.pk}").content.decode()
    assert "<svg" in body and "<circle" in body and "style=" not in body.split("<svg", 1)[1].split("</svg>")[0]
    # an outsider's person id falls back to the default (never shows carol to sam)
    outsider = client_for(world.person("sam")).get(f"/worklogs/quality/?person={world.carol.pk}",
                                                   HTTP_ACCEPT_LANGUAGE="en")
    assert outsider.status_code == 200 and world.carol.full_name not in outsider.content.decode()


def test_quality_page_shows_the_people_who_write_logs(world, submitted, client_for):
    # a supervisor reviews logs and writes none: his page opens on one of his people, and he is not offered
    body = client_for(world.person("sam")).get("/worklogs/quality/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{world.sam.full_name}: average rating per week" not in body
    assert f'<option value="{world.sam.pk}"' not in body and f'<option value="{world.alice.pk}"' in body
    # a manager's page opens on her own trend
    mine = client_for(world.person("alice")).get("/worklogs/quality/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{world.alice.full_name}: average rating per week" in mine


def test_deadline_page(world, client_for):
    sam = client_for(world.person("sam"))
    response = sam.post("/worklogs/deadlines/", {"department": world.east.pk, "due_time": "21:30",
                                                 "day_offset": "0", "workdays": "12345"})
    assert response.status_code == 302
    assert LogDeadline.objects.get(department=world.east).due_time == dt.time(21, 30)
    before = LogDeadline.objects.count()
    response = client_for(world.person("alice")).post("/worklogs/deadlines/", {
        "department": world.east.pk, "due_time": "08:00", "day_offset": "0", "workdays": "12345"})
    assert response.status_code == 403
    assert LogDeadline.objects.count() == before
    assert LogDeadline.objects.get(department=world.east).due_time == dt.time(21, 30)


# ---------------------------------------------------------------- API

def _post(client, url, body):
    return client.post(url, json.dumps(body, default=str), content_type="application/json")


def test_api_save_submit_versions_review(world, client_for):
    alice = client_for(world.person("alice"))
    today = timezone.localdate()
    response = _post(alice, f"{API}/logs", {"day": today, **CONTENT})
    assert response.status_code == 200, response.content
    log_id = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert alice.post(f"{API}/logs/{log_id}/submit").json()["status"] == "submitted"
    sam = client_for(world.person("sam"))
    assert [row["id"] for row in sam.get(f"{API}/inbox").json()["items"]] == [log_id]
    review = _post(sam, f"{API}/logs/{log_id}/review", {"evaluation": "具体", "rating": 5, "version": 1})
    assert review.status_code == 201
    _post(alice, f"{API}/logs", {"day": today, **CONTENT, "problems": "新"})
    versions = alice.get(f"{API}/logs/{log_id}/versions").json()
    assert [v["number"] for v in versions] == [2, 1] and versions[1]["review"]["rating"] == 5
    assert alice.get(f"{API}/logs").json()["items"][0]["current_version"] == 2
    assert alice.get(f"{API}/prefill").status_code == 200


@pytest.mark.parametrize("persona,status", [("alice", 403), ("bob", 404), ("sue", 403), ("carol", 404),
                                            ("audrey", 403), ("fiona", 403)])
def test_api_review_matrix(world, submitted, client_for, persona, status):
    before = snapshot()
    response = _post(client_for(world.person(persona)), f"{API}/logs/{submitted.pk}/review",
                     {"evaluation": "x", "rating": 3})
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert snapshot() == before


@pytest.mark.parametrize("persona,status", [("alice", 200), ("bob", 404), ("sue", 200), ("sam", 200),
                                            ("carol", 404), ("audrey", 200)])
def test_api_read_matrix(world, submitted, client_for, persona, status):
    assert client_for(world.person(persona)).get(f"{API}/logs/{submitted.pk}").status_code == status


def test_api_bad_input(world, submitted, client_for):
    sam = client_for(world.person("sam"))
    before = snapshot()
    response = _post(sam, f"{API}/logs/{submitted.pk}/review", {"evaluation": "", "rating": 7})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"evaluation", "rating"}
    response = _post(client_for(world.person("alice")), f"{API}/logs", {"day": "2026-13-01"})
    assert response.status_code == 422
    response = _post(client_for(world.person("audrey")), f"{API}/logs", {"day": timezone.localdate(), **CONTENT})
    assert response.status_code == 403
    assert snapshot() == before


def test_api_status_and_quality_scoped(world, submitted, client_for):
    sam = client_for(world.person("sam"))
    response = sam.get(f"{API}/status", {"user_ids": [world.alice.pk, world.bob.pk]})
    assert response.status_code == 200
    assert {r["user_id"] for r in response.json()} == {world.alice.pk, world.bob.pk}
    response = sam.get(f"{API}/status", {"user_ids": [world.carol.pk]})
    assert response.status_code == 422
    day = submitted.day
    response = sam.get(f"{API}/quality", {"user_ids": [world.alice.pk], "start": day, "end": day})
    assert response.status_code == 200 and response.json()[0]["user_id"] == world.alice.pk


def test_api_deadlines(world, client_for):
    response = client_for(world.person("adam")).put(f"{API}/deadlines", json.dumps(
        {"due_time": "19:00", "workdays": "123456"}), content_type="application/json")
    assert response.status_code == 200
    response = client_for(world.person("alice")).put(f"{API}/deadlines", json.dumps(
        {"due_time": "23:00"}), content_type="application/json")
    assert response.status_code == 403
    assert LogDeadline.objects.get().due_time == dt.time(19, 0)


def test_list_pages_query_count(world, client_for, django_assert_max_num_queries):
    today = timezone.localdate()
    for back in range(1, 9):
        for person in ("alice", "bob"):
            log = log_save(actor=world.person(person), day=today - dt.timedelta(days=back), submit=True, **CONTENT)
            if back % 2:
                log_review(actor=world.sam, log_id=log.pk, evaluation="好", rating=4, is_excellent=back == 1)
    sam = client_for(world.person("sam"))
    sam.get("/worklogs/logs/")  # warm the session and caches
    for url in ("/worklogs/logs/", "/worklogs/inbox/", "/worklogs/excellent/", "/worklogs/quality/"):
        with django_assert_max_num_queries(25):
            assert sam.get(url).status_code == 200


def test_home_in_english(world, client_for):
    client = client_for(world.person("alice"))
    client.cookies["django_language"] = "en"
    body = client.get("/worklogs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Work log for" in body and ("Tomorrow&#x27;s plan" in body or "Tomorrow's plan" in body)
    assert "明日计划" not in body
