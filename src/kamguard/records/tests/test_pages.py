"""Records pages: list by category and customer, upload (a file that is not what it says: a clear message and the
input kept), detail and download behind the permission check, keeper-only edits, market information."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kamguard.core.models import AuditEvent
from kamguard.records import services
from kamguard.records.models import Attachment, MarketInfo, WorkRecord
from kamguard.records.tests.conftest import pdf_bytes, png_bytes, upload


def keep(world, **kw):
    args = {"actor": world.person("alice"), "title": "三季度客户分析", "category": "analysis",
            "files": [upload("分析.pdf", pdf_bytes())]}
    args.update(kw)
    return services.record_create(**args)


def test_home_lists_by_category_and_customer(world, shelf, client_for):
    keep(world, customer_id=shelf.alpha.pk)
    keep(world, title="未分类的总结", category="", files=[])
    c = client_for(world.alice)
    body = c.get(reverse("records:home")).content.decode()
    assert "三季度客户分析" in body and "未分类的总结" in body
    only = c.get(reverse("records:home") + "?category=none").content.decode()
    assert "未分类的总结" in only and "三季度客户分析" not in only
    by_customer = c.get(reverse("records:home") + f"?customer={shelf.alpha.pk}").content.decode()
    assert "三季度客户分析" in by_customer and "未分类的总结" not in by_customer
    assert "三季度" in c.get(reverse("records:home") + "?q=三季度").content.decode()


def test_pages_in_chinese(world, shelf, client_for):
    keep(world)
    c = client_for(world.alice)
    body = c.get(reverse("records:home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "工作记录" in body and "分析资料" in body
    assert "市场信息" in c.get(reverse("records:market"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_upload_from_the_page(world, shelf, client_for):
    c = client_for(world.alice)
    assert c.get(reverse("records:upload")).status_code == 200
    response = c.post(reverse("records:upload"), {
        "title": "客户签字确认单", "category": "sign_off", "customer": shelf.alpha.pk,
        "upload": [upload("签字.png", png_bytes()), upload("说明.txt", "客户已签字".encode())]})
    record = WorkRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("records:detail", args=[record.pk])
    assert sorted(record.attachments.values_list("original_name", flat=True)) == ["签字.png", "说明.txt"]


def test_a_file_not_what_its_extension_says_is_refused_with_the_input_kept(world, shelf, client_for):
    c = client_for(world.alice)
    response = c.post(reverse("records:upload"), {
        "title": "这个标题要保留", "category": "special_report", "upload": [upload("报告.pdf", png_bytes())]},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    body = response.content.decode()
    assert "is not what its extension says" in body and "PNG" in body and "这个标题要保留" in body
    assert not WorkRecord.objects.exists() and not Attachment.objects.exists()


def test_download_is_checked_and_audited(world, shelf, client_for):
    record = keep(world)
    attachment = record.attachments.get()
    url = reverse("records:download", args=[attachment.pk])
    response = client_for(world.sam).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()
    assert response["Content-Type"] == "application/pdf" and "attachment" in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action="records.attachment.download").count() == 1
    assert client_for(world.carol).get(url).status_code == 404
    assert client_for(world.bob).get(url).status_code == 404
    assert AuditEvent.objects.filter(action="records.attachment.download").count() == 1


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 200), ("sue", 200), ("sam", 200), ("audrey", 200), ("bob", 404), ("carol", 404)])
def test_detail_matrix(world, shelf, client_for, persona, status):
    record = keep(world)
    assert client_for(world.person(persona)).get(reverse("records:detail", args=[record.pk])).status_code == status


@pytest.mark.parametrize(("persona", "status"), [
    ("sue", 403), ("sam", 403), ("audrey", 403), ("bob", 404), ("carol", 404)])
def test_edit_and_add_files_matrix(world, shelf, client_for, persona, status):
    record = keep(world)
    c = client_for(world.person(persona))
    events = AuditEvent.objects.filter(action__startswith="records.").count()
    assert c.post(reverse("records:edit", args=[record.pk]), {"title": "改掉", "category": "summary"}).status_code == status
    assert c.post(reverse("records:files_add", args=[record.pk]),
                  {"upload": [upload("a.pdf", pdf_bytes())]}).status_code == status
    record.refresh_from_db()
    assert record.title == "三季度客户分析" and record.attachments.count() == 1
    assert AuditEvent.objects.filter(action__startswith="records.").count() == events


def test_keeper_edits_and_adds_files(world, shelf, client_for):
    record = keep(world, category="")
    c = client_for(world.alice)
    assert c.get(reverse("records:edit", args=[record.pk])).status_code == 200
    assert c.post(reverse("records:edit", args=[record.pk]), {"title": "十月总结", "category": "summary"}).status_code == 302
    bad = c.post(reverse("records:files_add", args=[record.pk]), {"upload": [upload("x.docx", b"plain text")]})
    assert bad.status_code == 422
    assert c.post(reverse("records:files_add", args=[record.pk]),
                  {"upload": [upload("b.png", png_bytes())]}).status_code == 302
    record.refresh_from_db()
    assert record.category == "summary" and record.attachments.count() == 2


def test_auditor_cannot_upload(world, shelf, client_for):
    c = client_for(world.audrey)
    assert c.get(reverse("records:upload")).status_code == 403
    assert c.post(reverse("records:upload"), {"title": "x", "upload": [upload("a.pdf", pdf_bytes())]}).status_code == 403
    assert not WorkRecord.objects.exists()


def test_market_information_pages(world, shelf, client_for):
    c = client_for(world.alice)
    assert c.get(reverse("records:market_new")).status_code == 200
    bad = c.post(reverse("records:market_new"), {"kind": "competitor", "title": "竞品降价", "content": "报价下调"})
    assert bad.status_code == 422 and not MarketInfo.objects.exists()
    ok = c.post(reverse("records:market_new"), {"kind": "competitor", "title": "竞品降价", "content": "报价下调",
                                                 "competitor": "华强电子", "customer": shelf.alpha.pk})
    assert ok.status_code == 302
    item = MarketInfo.objects.get()
    assert "华强电子" in c.get(reverse("records:market") + "?kind=competitor").content.decode()
    assert client_for(world.sam).get(reverse("records:market_edit", args=[item.pk])).status_code == 403
    assert client_for(world.carol).get(reverse("records:market_edit", args=[item.pk])).status_code == 404
    assert "华强电子" not in client_for(world.carol).get(reverse("records:market")).content.decode()
    assert c.post(reverse("records:market_edit", args=[item.pk]), {
        "kind": "competitor", "title": "竞品降价（更新）", "content": "下调10%", "competitor": "华强电子",
        "customer": shelf.alpha.pk}).status_code == 302
    item.refresh_from_db()
    assert item.title == "竞品降价（更新）"


def test_customer_section(world, shelf, client_for):
    keep(world, customer_id=shelf.alpha.pk)
    services.market_create(actor=world.person("alice"), kind="industry", title="园区技改补贴", content="政策",
                           customer_id=shelf.alpha.pk)
    url = reverse("records:customer_section", args=[shelf.alpha.pk])
    body = client_for(world.alice).get(url).content.decode()
    assert "三季度客户分析" in body and "园区技改补贴" in body
    assert client_for(world.carol).get(url).status_code == 404


def test_a_record_is_attached_to_a_monthly_plan_chosen_by_month(world, shelf, client_for):
    from django.utils import timezone

    from kamguard.plans.services import plan_create

    # given alice's plan for this month
    month = timezone.localdate().replace(day=1)
    plan = plan_create(actor=world.alice, month=month)
    c = client_for(world.alice)
    # the upload form offers it by month, not as a reference to type
    form = c.get(reverse("records:upload"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'<option value="plan:{plan.pk}">{month:%Y-%m} · 李爱丽</option>' in form
    assert "plans:" not in form
    # when she keeps a record for it
    response = c.post(reverse("records:upload"), {"title": "月度总结", "category": "summary",
                                                  "plan_ref": f"plan:{plan.pk}"})
    record = WorkRecord.objects.get()
    assert response.status_code == 302 and record.plan_ref == f"plan:{plan.pk}"
    # then its page links the plan by month, for her and her supervisor
    for persona in ("alice", "sam"):
        body = client_for(world.person(persona)).get(reverse("records:detail", args=[record.pk])).content.decode()
        assert f'href="/plans/{plan.pk}/"' in body and f"{month:%Y-%m}" in body
        assert f"plan:{plan.pk}" not in body
    # a plan she may not see is refused by the form, and nothing is kept
    from kamguard.plans.models import MarketingPlan

    other = MarketingPlan.objects.create(user=world.carol, month=month)
    refused = c.post(reverse("records:upload"), {"title": "别人的计划", "plan_ref": f"plan:{other.pk}"})
    assert refused.status_code == 422 and WorkRecord.objects.count() == 1
