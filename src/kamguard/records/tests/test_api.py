"""Records API: multipart uploads checked by content, downloads behind the permission check, market information."""

from __future__ import annotations

import pytest

from kamguard.core.models import AuditEvent
from kamguard.records import services
from kamguard.records.models import MarketInfo, WorkRecord
from kamguard.records.tests.conftest import pdf_bytes, png_bytes, upload

BASE = "/api/v1/records"


def test_upload_list_and_download(world, shelf, client_for):
    c = client_for(world.alice)
    response = c.post(f"{BASE}/records", {"title": "营销案例：腾达扩产", "category": "marketing_case",
                                          "customer_id": shelf.alpha.pk,
                                          "files": [upload("案例.pdf", pdf_bytes()), upload("现场.png", png_bytes())]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert [a["content_type"] for a in body["attachments"]] == ["application/pdf", "image/png"]
    listed = c.get(f"{BASE}/records?category=marketing_case").json()
    assert [r["id"] for r in listed["items"]] == [body["id"]]
    assert c.get(f"{BASE}/records?category=").json()["items"] == []
    download = client_for(world.sam).get(body["attachments"][1]["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == png_bytes()
    assert AuditEvent.objects.filter(action="records.attachment.download").count() == 1


def test_a_mismatched_file_is_a_422_and_nothing_is_kept(world, shelf, client_for):
    response = client_for(world.alice).post(f"{BASE}/records", {
        "title": "报告", "files": [upload("report.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 40)]})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "file_refused" and problem["errors"][0]["field"] == "files"
    assert not WorkRecord.objects.exists()


def test_record_without_files_and_bad_fields(world, shelf, client_for):
    c = client_for(world.alice)
    assert c.post(f"{BASE}/records", {"title": "月度总结", "category": "summary"}).status_code == 201
    bad = c.post(f"{BASE}/records", {"title": "x", "customer_id": shelf.beta.pk, "plan_ref": "bad ref"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"customer", "plan_ref"}
    assert WorkRecord.objects.count() == 1


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("sue", 200), ("sam", 200), ("audrey", 200), ("bob", 404), ("carol", 404)])
def test_download_matrix(world, shelf, client_for, persona, status):
    record = services.record_create(actor=world.person("alice"), title="签字单", category="sign_off",
                                    files=[upload("sign.png", png_bytes())])
    attachment = record.attachments.get()
    before = AuditEvent.objects.filter(action="records.attachment.download").count()
    response = client_for(world.person(persona)).get(f"{BASE}/attachments/{attachment.pk}")
    assert response.status_code == status
    after = AuditEvent.objects.filter(action="records.attachment.download").count()
    assert after == before + (1 if status == 200 else 0)


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("sue", 403), ("sam", 403), ("audrey", 403), ("bob", 404), ("carol", 404)])
def test_update_matrix(world, shelf, client_for, persona, status):
    record = services.record_create(actor=world.person("alice"), title="总结", category="")
    response = client_for(world.person(persona)).put(f"{BASE}/records/{record.pk}",
                                                     {"title": "改", "category": "summary"},
                                                     content_type="application/json")
    assert response.status_code == status
    record.refresh_from_db()
    assert (record.title, record.category) == (("改", "summary") if status == 200 else ("总结", ""))


def test_add_attachments_by_the_keeper_only(world, shelf, client_for):
    record = services.record_create(actor=world.person("alice"), title="总结")
    assert client_for(world.sam).post(f"{BASE}/records/{record.pk}/attachments",
                                      {"files": [upload("a.pdf", pdf_bytes())]}).status_code == 403
    ok = client_for(world.alice).post(f"{BASE}/records/{record.pk}/attachments",
                                      {"files": [upload("a.pdf", pdf_bytes())]})
    assert ok.status_code == 201 and len(ok.json()["attachments"]) == 1


def test_market_endpoints(world, shelf, client_for):
    c = client_for(world.alice)
    created = c.post(f"{BASE}/market", {"kind": "product_feedback", "title": "包装易破损", "content": "客户反馈运输中纸箱破损",
                                        "product": "KX-200", "customer_id": shelf.alpha.pk},
                     content_type="application/json")
    assert created.status_code == 201
    item_id = created.json()["id"]
    assert client_for(world.sam).get(f"{BASE}/market?kind=product_feedback").json()["items"][0]["id"] == item_id
    assert client_for(world.carol).get(f"{BASE}/market/{item_id}").status_code == 404
    assert client_for(world.audrey).post(f"{BASE}/market", {"kind": "industry", "title": "x", "content": "y"},
                                         content_type="application/json").status_code == 403
    refused = client_for(world.sam).put(f"{BASE}/market/{item_id}", {"kind": "industry", "title": "x", "content": "y"},
                                        content_type="application/json")
    assert refused.status_code == 403
    assert MarketInfo.objects.get().title == "包装易破损"
    bad = c.post(f"{BASE}/market", {"kind": "gossip", "title": "x", "content": "y"}, content_type="application/json")
    assert bad.status_code == 422
