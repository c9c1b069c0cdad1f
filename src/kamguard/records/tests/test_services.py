"""Work records and market information: uploads checked by content, stored outside the web root, permitted and
audited downloads, edits by the keeper only, the contract selector."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation

from kamguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import TimelineEntry
from kamguard.records import selectors, services
from kamguard.records.domain.files import file_check, sniff
from kamguard.records.models import Attachment, MarketInfo, WorkRecord
from kamguard.records.tests.conftest import pdf_bytes, png_bytes, upload


def stored_files() -> list[Path]:
    return [p for p in services.records_dir().rglob("*") if p.is_file()] if services.records_dir().exists() else []


def test_a_record_with_files_is_kept_outside_the_web_root(world, shelf):
    record = services.record_create(actor=world.person("alice"), title="三季度客户分析", category="analysis",
                                    customer_id=shelf.alpha.pk, plan_ref="plans:7",
                                    files=[upload("分析.pdf", pdf_bytes()), upload("签字.png", png_bytes())])
    attachments = list(record.attachments.order_by("pk"))
    assert [a.content_type for a in attachments] == ["application/pdf", "image/png"]
    assert [a.original_name for a in attachments] == ["分析.pdf", "签字.png"]
    paths = [services.attachment_path(a) for a in attachments]
    assert all(p.is_file() for p in paths)
    assert paths[0].read_bytes() == pdf_bytes()
    root = services.records_dir().resolve()
    assert all(root in p.parents for p in paths)
    assert Path(settings.STATIC_ROOT).resolve() not in paths[0].parents
    assert AuditEvent.objects.filter(action="records.record.create", object_id=str(record.pk)).exists()
    assert TimelineEntry.objects.filter(customer=shelf.alpha, kind="records.record").exists()


@pytest.mark.parametrize(("name", "content", "words"), [
    ("报告.pdf", png_bytes(), "named .pdf but its content is a PNG image"),  # a PNG named .pdf
    ("scan.png", pdf_bytes(), "named .png but its content is a PDF"),
    ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "named .txt but its content is a Windows program"),
    ("tool.exe", b"MZ\x90\x00", "Files of type “exe” are not accepted"),
    ("empty.pdf", b"", "The file “empty.pdf” is empty."),
])
def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_is_kept(world, shelf, name, content, words):
    before = stored_files()
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.record_create(actor=world.person("alice"), title="专题报告", category="special_report",
                               files=[upload("ok.pdf", pdf_bytes()), upload(name, content)])
    assert caught.value.code == "file_refused"
    assert words in " ".join(caught.value.field_errors["files"])
    assert not WorkRecord.objects.exists() and not Attachment.objects.exists()
    assert stored_files() == before


def test_a_file_too_large_is_refused(world, shelf, settings):
    settings.KAMGUARD_RECORDS_MAX_BYTES = 1000
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.record_create(actor=world.person("alice"), title="大文件", files=[upload("big.txt", b"a" * 2000)])
    assert caught.value.field_errors["files"][0] == "The file “big.txt” is too large (2.0 KB); at most 1000 B."
    assert not WorkRecord.objects.exists()


def test_text_in_chinese_encodings_is_accepted():
    assert sniff("客户签字确认".encode(), complete=True) == "text"
    assert sniff("客户签字确认".encode("gb18030"), complete=True) == "text"
    assert file_check(name="a.csv", size=3, head=b"a,b", max_bytes=10).ok


def test_a_failure_after_files_are_written_removes_them(world, shelf, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        services.record_create(actor=world.person("alice"), title="x", files=[upload("a.pdf", pdf_bytes())])
    assert stored_files() == []
    assert not WorkRecord.objects.exists()


@pytest.mark.parametrize(("persona", "allowed"), [
    ("alice", True), ("sue", True), ("sam", True), ("audrey", True), ("bob", False), ("carol", False),
    ("henry", False)])
def test_downloads_are_permitted_by_scope_and_audited(world, shelf, persona, allowed):
    record = services.record_create(actor=world.person("alice"), title="签字单", category="sign_off",
                                    files=[upload("sign.png", png_bytes())])
    attachment = record.attachments.get()
    before = AuditEvent.objects.filter(action="records.attachment.download").count()
    if allowed:
        found, handle = services.attachment_open(viewer=world.person(persona), attachment_id=attachment.pk)
        with handle:
            assert handle.read() == png_bytes()
        assert AuditEvent.objects.filter(action="records.attachment.download").count() == before + 1
    else:
        with pytest.raises(NotFound):
            services.attachment_open(viewer=world.person(persona), attachment_id=attachment.pk)
        assert AuditEvent.objects.filter(action="records.attachment.download").count() == before


def test_only_the_keeper_changes_a_record(world, shelf):
    record = services.record_create(actor=world.person("alice"), title="总结", category="")
    for persona, error in (("sam", PermissionRefused), ("sue", PermissionRefused), ("audrey", PermissionRefused),
                           ("carol", NotFound)):
        with pytest.raises(error):
            services.record_update(actor=world.person(persona), record_id=record.pk, title="改", category="summary")
        with pytest.raises(error):
            services.attachment_add(actor=world.person(persona), record_id=record.pk,
                                    files=[upload("a.pdf", pdf_bytes())])
    record.refresh_from_db()
    assert record.title == "总结" and record.category == "" and not record.attachments.exists()
    services.record_update(actor=world.person("alice"), record_id=record.pk, title="十月工作总结", category="summary")
    record.refresh_from_db()
    assert record.category == "summary"
    assert AuditEvent.objects.filter(action="records.record.update").count() == 1


def test_bad_record_input_names_the_fields(world, shelf):
    with pytest.raises(ValidationFailed) as caught:
        services.record_create(actor=world.person("alice"), title=" ", category="nonsense",
                               record_on=timezone.localdate() + dt.timedelta(days=2), customer_id=shelf.beta.pk,
                               plan_ref="not a ref")
    assert set(caught.value.field_errors) == {"title", "category", "record_on", "customer", "plan_ref"}
    assert not WorkRecord.objects.exists()


def test_records_count_per_person(world, shelf):
    alice = world.person("alice")
    services.record_create(actor=alice, title="a", category="analysis", files=[upload("a.pdf", pdf_bytes())])
    services.record_create(actor=alice, title="b", category="analysis")
    services.record_create(actor=alice, title="c")
    services.market_create(actor=alice, kind="industry", title="行业动态", content="原材料涨价")
    services.record_create(actor=alice, title="old", category="summary",
                           record_on=timezone.localdate() - dt.timedelta(days=60))
    today = timezone.localdate()
    counts = selectors.records_count(user_ids=[alice.pk, world.bob.pk], start=today - dt.timedelta(days=7), end=today)
    assert counts[alice.pk] == {"total": 3, "by_category": {"analysis": 2}, "unclassified": 1, "with_files": 1,
                                "market_info": 1}
    assert counts[world.bob.pk]["total"] == 0


def test_market_information(world, shelf):
    alice = world.person("alice")
    item = services.market_create(actor=alice, kind="competitor", title="竞品降价", content="某竞品对腾达报价下调8%",
                                  competitor="华强电子", customer_id=shelf.alpha.pk)
    assert TimelineEntry.objects.filter(customer=shelf.alpha, kind="records.market_info").exists()
    with pytest.raises(ValidationFailed) as caught:
        services.market_create(actor=alice, kind="competitor", title="x", content="y")
    assert "competitor" in caught.value.field_errors
    with pytest.raises(PermissionRefused):
        services.market_update(actor=world.person("sam"), item_id=item.pk, kind="industry", title="改", content="改")
    with pytest.raises(PermissionRefused):
        services.market_create(actor=world.person("audrey"), kind="industry", title="x", content="y")
    assert MarketInfo.objects.count() == 1
    assert list(selectors.market_list(viewer=world.person("sam"), search="华强")) == [item]
    assert not selectors.market_list(viewer=world.person("carol")).exists()
    updated = services.market_update(actor=alice, item_id=item.pk, kind="competitor", title="竞品降价（更新）",
                                     content="下调10%", competitor="华强电子", customer_id=shelf.alpha.pk)
    assert updated.customer_id == shelf.alpha.pk and updated.title.endswith("（更新）")
