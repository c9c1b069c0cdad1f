"""Meeting minutes: services, selectors (visibility, overdue actions), pages and API with the permission matrix
(author alice, attendee bob, teammate-not-attending sue → attendee here, supervisor sam, outsider carol, auditor
audrey) and bad input: nothing changed on refusal."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.meetings import selectors
from kamguard.meetings.domain import decisions_split, is_overdue
from kamguard.meetings.models import ActionItem, Meeting
from kamguard.meetings.services import (
    item_add,
    item_done,
    item_reopen,
    item_update,
    meeting_create,
    meeting_delete,
    meeting_guide,
    meeting_update,
)
from kamguard.meetings.tests.conftest import snapshot

pytestmark = pytest.mark.django_db
API = "/api/v1/meetings"


def test_domain():
    today = dt.date(2026, 5, 10)
    assert is_overdue(status="open", due_on=dt.date(2026, 5, 9), today=today)
    assert not is_overdue(status="open", due_on=today, today=today)
    assert not is_overdue(status="done", due_on=dt.date(2026, 5, 1), today=today)
    assert decisions_split("1. 甲\n\n- 乙\n2、丙\n") == ["甲", "乙", "丙"]


def test_overdue_actions_contract(world, weekly):
    today = timezone.localdate()
    overdue = list(selectors.overdue_actions(user_ids=[world.bob.pk, world.alice.pk], today=today))
    assert [i.owner_id for i in overdue] == [world.bob.pk]
    assert not selectors.overdue_actions(user_ids=[world.alice.pk], today=today).exists()


@pytest.mark.parametrize("persona,sees", [("alice", True), ("bob", True), ("sue", True), ("sam", True),
                                          ("henry", False), ("carol", False), ("audrey", True)])
def test_visibility(world, weekly, persona, sees):
    viewer = world.person(persona)
    assert selectors.meeting_list(viewer=viewer).filter(pk=weekly.pk).exists() == sees
    if not sees:
        with pytest.raises(NotFound):
            selectors.meeting_get(viewer=viewer, meeting_id=weekly.pk)


def test_done_with_note_and_reopen(world, weekly):
    item = weekly.action_items.get(owner=world.bob)
    done = item_done(actor=world.bob, item_id=item.pk, note="已发报价单")
    assert done.status == "done" and done.done_by_id == world.bob.pk and done.done_at
    assert not selectors.overdue_actions(user_ids=[world.bob.pk], today=timezone.localdate()).exists()
    with pytest.raises(Conflict):
        item_done(actor=world.bob, item_id=item.pk, note="again")
    reopened = item_reopen(actor=world.sam, item_id=item.pk, reason="客户未收到")
    assert reopened.status == "open" and reopened.done_at is None and reopened.done_note == "已发报价单"


def test_done_needs_note(world, weekly):
    item = weekly.action_items.get(owner=world.bob)
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        item_done(actor=world.bob, item_id=item.pk, note="  ")
    assert "note" in exc.value.field_errors
    assert snapshot() == before


@pytest.mark.parametrize("persona,error", [("sue", PermissionRefused), ("carol", NotFound), ("henry", NotFound),
                                           ("audrey", PermissionRefused)])
def test_item_done_refused(world, weekly, persona, error):
    item = weekly.action_items.get(owner=world.bob)
    before = snapshot()
    with pytest.raises(error):
        item_done(actor=world.person(persona), item_id=item.pk, note="x")
    assert snapshot() == before


@pytest.mark.parametrize("persona,error", [("bob", PermissionRefused), ("sue", PermissionRefused),
                                           ("carol", NotFound), ("audrey", PermissionRefused)])
def test_edit_refused(world, weekly, persona, error):
    before = snapshot()
    with pytest.raises(error):
        meeting_update(actor=world.person(persona), meeting_id=weekly.pk, title="改")
    with pytest.raises(error):
        item_add(actor=world.person(persona), meeting_id=weekly.pk, description="x", owner_id=world.bob.pk,
                 due_on=timezone.localdate())
    assert snapshot() == before
    assert Meeting.objects.get(pk=weekly.pk).title == "上海一组周例会"


def test_supervisor_edits(world, weekly):
    meeting_update(actor=world.sam, meeting_id=weekly.pk, title="上海一组第47周例会", attendee_ids=[world.bob.pk])
    weekly.refresh_from_db()
    assert weekly.title == "上海一组第47周例会" and list(weekly.attendees.all()) == [world.bob]
    item = item_add(actor=world.sam, meeting_id=weekly.pk, description="陪访宏达", owner_id=world.henry.pk,
                    due_on=timezone.localdate())
    item_update(actor=world.alice, item_id=item.pk, due_on=timezone.localdate() + dt.timedelta(days=1))
    assert ActionItem.objects.get(pk=item.pk).due_on > timezone.localdate()


def test_bad_input_nothing_written(world):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        meeting_create(actor=world.alice, kind="yearly", title="", held_at=timezone.now() + dt.timedelta(days=3),
                       items=[])
    assert set(exc.value.field_errors) == {"kind", "title", "held_at"}
    with pytest.raises(ValidationFailed) as exc:
        meeting_create(actor=world.alice, kind="daily", title="晨会", held_at=timezone.now(),
                       items=[{"description": "好", "owner_id": world.bob.pk, "due_on": timezone.localdate()},
                              {"description": "", "owner_id": world.carol.pk, "due_on": None}])
    assert "items[1]" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        meeting_create(actor=world.alice, kind="daily", title="晨会", held_at=timezone.now(),
                       attendee_ids=[world.carol.pk])
    assert snapshot() == before


def test_delete(world, weekly):
    with pytest.raises(ValidationFailed):
        meeting_delete(actor=world.alice, meeting_id=weekly.pk, reason="")
    item_done(actor=world.alice, item_id=weekly.action_items.get(owner=world.alice).pk, note="完成")
    with pytest.raises(Conflict):
        meeting_delete(actor=world.alice, meeting_id=weekly.pk, reason="重复")
    other = meeting_create(actor=world.alice, kind="special", title="重复", held_at=timezone.now())
    meeting_delete(actor=world.alice, meeting_id=other.pk, reason="重复录入")
    assert not Meeting.objects.filter(pk=other.pk).exists()


def test_my_items(world, weekly):
    assert [i.owner_id for i in selectors.my_items(viewer=world.bob)] == [world.bob.pk]
    assert selectors.my_items(viewer=world.bob, status="overdue").count() == 1
    assert selectors.my_items(viewer=world.sam, team=True).count() == 2
    assert selectors.my_items(viewer=world.carol, team=True).count() == 0


# ---------------------------------------------------------------- pages

@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "sam", "carol", "audrey", "adam"])
def test_pages_render(world, weekly, client_for, persona):
    client = client_for(world.person(persona))
    assert client.get("/meetings/").status_code == 200
    assert client.get("/meetings/?q=周例会&kind=weekly&start=2020-01-01&page=2").status_code == 200
    assert client.get("/meetings/items/").status_code == 200
    assert client.get("/meetings/items/?team=1&status=overdue").status_code == 200
    sees = persona in ("alice", "bob", "sue", "sam", "audrey", "adam")
    assert client.get(f"/meetings/{weekly.pk}/").status_code == (200 if sees else 404)
    edit = client.get(f"/meetings/{weekly.pk}/edit/").status_code
    assert edit == (200 if persona in ("alice", "sam") else 404 if not sees else 403)
    assert client.get("/meetings/new/").status_code == (403 if persona in ("audrey", "adam") else 200)


def test_pages_in_chinese(world, weekly, client_for):
    body = client_for(world.person("bob")).get(f"/meetings/{weekly.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = body.content.decode()
    assert "会议决定" in text and "已逾期" in text and "本周完成A类客户全覆盖" in text


def _form(world, **extra):
    data = {"kind": "weekly", "title": "杭州组周例会", "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "location": "", "chaired_by": str(world.sam.pk), "attendees": [str(world.henry.pk)],
            "other_attendees": "", "summary": "", "decisions": "加快回款",
            "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0",
            "items-0-description": "催收杭州钢构回款", "items-0-owner": str(world.henry.pk),
            "items-0-due_on": timezone.localdate().isoformat(),
            "items-1-description": "", "items-1-owner": "", "items-1-due_on": ""}
    data.update(extra)
    return data


def test_create_from_page(world, client_for):
    response = client_for(world.person("sam")).post("/meetings/new/", _form(world))
    assert response.status_code == 302
    meeting = Meeting.objects.get(title="杭州组周例会")
    assert meeting.action_items.get().owner_id == world.henry.pk


def test_create_page_bad_item_in_place(world, client_for):
    before = snapshot()
    response = client_for(world.person("sam")).post("/meetings/new/", _form(world, **{"items-1-description": "漏填人"}))
    assert response.status_code == 200
    assert snapshot() == before


def test_item_done_page(world, weekly, client_for):
    item = weekly.action_items.get(owner=world.bob)
    before = snapshot()
    client_for(world.person("carol")).post(f"/meetings/items/{item.pk}/done/", {"note": "x"})
    client_for(world.person("bob")).post(f"/meetings/items/{item.pk}/done/", {"note": ""})
    assert snapshot() == before
    client_for(world.person("bob")).post(f"/meetings/items/{item.pk}/done/", {"note": "已完成"})
    assert ActionItem.objects.get(pk=item.pk).status == "done"


# ---------------------------------------------------------------- API

def _json(client, method, url, body):
    return getattr(client, method)(url, json.dumps(body, default=str), content_type="application/json")


def test_api_flow(world, client_for):
    alice = client_for(world.person("alice"))
    response = _json(alice, "post", f"{API}/meetings", {
        "kind": "daily", "title": "晨会", "held_at": timezone.now().isoformat(), "attendee_ids": [world.bob.pk],
        "decisions": "今日重点拜访宏达", "items": [{"description": "带样品", "owner_id": world.bob.pk,
                                                   "due_on": timezone.localdate()}]})
    assert response.status_code == 201, response.content
    meeting_id = response.json()["id"]
    item_id = response.json()["items"][0]["id"]
    bob = client_for(world.person("bob"))
    assert bob.get(f"{API}/items").json()["items"][0]["id"] == item_id
    assert _json(bob, "patch", f"{API}/items/{item_id}", {"status": "done"}).status_code == 422
    response = _json(bob, "patch", f"{API}/items/{item_id}", {"status": "done", "note": "样品已带"})
    assert response.status_code == 200 and response.json()["status"] == "done"
    response = _json(alice, "patch", f"{API}/meetings/{meeting_id}", {"title": "晨会(周一)"})
    assert response.json()["title"] == "晨会(周一)"
    assert alice.get(f"{API}/meetings?q=宏达").json()["items"][0]["id"] == meeting_id


@pytest.mark.parametrize("persona,status", [("bob", 403), ("sue", 403), ("carol", 404), ("audrey", 403)])
def test_api_edit_matrix(world, weekly, client_for, persona, status):
    client = client_for(world.person(persona))
    before = snapshot()
    assert _json(client, "patch", f"{API}/meetings/{weekly.pk}", {"title": "改"}).status_code == status
    assert _json(client, "delete", f"{API}/meetings/{weekly.pk}", {"reason": "x"}).status_code == status
    assert snapshot() == before


@pytest.mark.parametrize("persona,status", [("alice", 200), ("bob", 200), ("sam", 200), ("carol", 404),
                                            ("henry", 404), ("audrey", 200)])
def test_api_read_matrix(world, weekly, client_for, persona, status):
    assert client_for(world.person(persona)).get(f"{API}/meetings/{weekly.pk}").status_code == status


def test_api_item_partial_write_rolled_back(world, weekly, client_for):
    item = weekly.action_items.get(owner=world.bob)
    before = snapshot()
    # a change and a close without note: the change must not stay
    response = _json(client_for(world.person("alice")), "patch", f"{API}/items/{item.pk}",
                     {"description": "新描述", "status": "done"})
    assert response.status_code == 422
    assert snapshot() == before


def test_api_bad_input(world, client_for):
    before = snapshot()
    response = _json(client_for(world.person("alice")), "post", f"{API}/meetings", {
        "kind": "weekly", "title": "周会", "held_at": timezone.now().isoformat(),
        "items": [{"description": "x", "owner_id": world.carol.pk, "due_on": timezone.localdate()}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items[0]"
    assert snapshot() == before


def test_list_pages_query_count(world, weekly, client_for, django_assert_max_num_queries):
    for n in range(6):
        meeting_create(actor=world.alice, kind="daily", title=f"晨会{n}", held_at=timezone.now(),
                       attendee_ids=[world.bob.pk],
                       items=[{"description": "事项", "owner_id": world.bob.pk, "due_on": timezone.localdate()}])
    bob = client_for(world.person("bob"))
    bob.get("/meetings/")
    for url in ("/meetings/", "/meetings/items/", "/meetings/items/?status=all"):
        with django_assert_max_num_queries(20):
            assert bob.get(url).status_code == 200


# ---------------------------------------------------------------- the supervisor's guidance

def test_guidance_by_the_supervisor(world, weekly, client_for):
    meeting_guide(actor=world.sam, meeting_id=weekly.pk, guidance="决定要写到具体客户")
    weekly.refresh_from_db()
    assert weekly.guidance == "决定要写到具体客户" and weekly.guided_by_id == world.sam.pk
    assert selectors.meeting_list(viewer=world.sam, unguided_only=True).count() == 0
    assert list(selectors.meeting_list(viewer=world.sam, overdue_only=True)) == [weekly]
    body = client_for(world.person("bob")).get(f"/meetings/{weekly.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "决定要写到具体客户" in body.content.decode()


@pytest.mark.parametrize("persona,error", [("alice", PermissionRefused), ("bob", PermissionRefused),
                                           ("carol", NotFound), ("audrey", PermissionRefused)])
def test_guidance_refused(world, weekly, persona, error):
    before = snapshot()
    with pytest.raises(error):
        meeting_guide(actor=world.person(persona), meeting_id=weekly.pk, guidance="x")
    assert snapshot() == before
    assert Meeting.objects.get(pk=weekly.pk).guidance == ""


def test_guidance_page_and_api(world, weekly, client_for):
    before = snapshot()
    assert client_for(world.person("bob")).post(f"/meetings/{weekly.pk}/", {"guidance": "x"}).status_code == 403
    response = client_for(world.person("sam")).post(f"/meetings/{weekly.pk}/", {"guidance": ""})
    assert response.status_code == 200
    assert snapshot() == before
    response = _json(client_for(world.person("sam")), "post", f"{API}/meetings/{weekly.pk}/guidance",
                     {"guidance": "按时跟进"})
    assert response.status_code == 200 and response.json()["guidance"] == "按时跟进"
    assert client_for(world.person("sam")).get(f"{API}/meetings?unguided=true").json()["items"] == []
