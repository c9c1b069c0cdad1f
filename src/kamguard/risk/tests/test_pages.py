"""Pages: the permission matrix (owner, teammate, supervisor, outsider, auditor, administrator) with nothing
changed on refusal, the main flows through the pages, bad input shown in place, and both languages."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.risk.models import Alert, AlertStatus, Case, CaseStatus, Penalty, RiskSettings, ScanRun
from kamguard.risk.services import cases as case_services
from kamguard.risk.tests.conftest import Book, risk_state
from kamguard.risk.tests.test_reviews_and_cases import PDF, make_alert

# alice owns the customer the alert is about (the person concerned); bob is her teammate; sam supervises both;
# carol is in another department; audrey is the internal auditor; adam the administrator.
PERSONAS = ("alice", "bob", "sam", "carol", "audrey", "adam")
VIEWERS = {"audrey", "adam"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_risk_pages_only_for_auditors_and_admins(world: Any, client_for: Any, persona: str) -> None:
    alert = make_alert(world, world.alice)
    client = client_for(world.person(persona))
    pages = [reverse("risk:home"), reverse("risk:alert_list"), reverse("risk:alert_detail", args=[alert.pk]),
             reverse("risk:run_list"), reverse("risk:settings"), reverse("risk:penalty_list"),
             reverse("risk:run_detail", args=[alert.last_run_id])]
    refusals = AuditEvent.objects.filter(action="permission.refused").count()
    for url in pages:
        response = client.get(url)
        assert response.status_code == (200 if persona in VIEWERS else 403), (url, response.status_code)
    if persona not in VIEWERS:
        assert AuditEvent.objects.filter(action="permission.refused").count() == refusals + len(pages)
        assert "上海澄明" not in client.get(reverse("risk:alert_list")).content.decode()
    else:
        assert "上海澄明" in client.get(reverse("risk:alert_list")).content.decode()
        assert AuditEvent.objects.filter(action="risk.alert.read", object_id=str(alert.pk)).count() == 1


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", ["alert_confirm", "alert_suppress", "alert_false"])
def test_reviewing_alerts_from_the_pages(world: Any, client_for: Any, persona: str, action: str) -> None:
    alert = make_alert(world, world.alice)
    client = client_for(world.person(persona))
    before = risk_state()
    response = client.post(reverse(f"risk:{action}", args=[alert.pk]), {"reason": "核实过", "feedback": "误报"})
    if persona == "audrey":
        assert response.status_code == 302
        assert Alert.objects.get().status != AlertStatus.OPEN
    else:
        assert response.status_code in (403, 404)
        assert risk_state() == before


def test_review_without_a_reason_is_shown_not_applied(world: Any, client_for: Any) -> None:
    alert = make_alert(world, world.alice)
    client = client_for(world.person("audrey"))
    before = risk_state()
    response = client.post(reverse("risk:alert_suppress", args=[alert.pk]), {"reason": ""}, follow=True)
    assert response.status_code == 200 and risk_state() == before
    assert "Say why the alert is suppressed" in response.content.decode() or "说明" in response.content.decode()


def test_alert_inbox_filters_sorts_and_paginates(world: Any, client_for: Any) -> None:
    for i in range(30):
        make_alert(world, world.alice if i % 2 else world.henry, subject_id=100 + i, score=0.5 + i / 100)
    Alert.objects.filter(subject_id=129).update(status=AlertStatus.SUPPRESSED)
    client = client_for(world.person("audrey"))
    body = client.get(reverse("risk:alert_list")).content.decode()
    assert "29 alerts" in body or "29" in body
    page2 = client.get(reverse("risk:alert_list"), {"page": 2}).content.decode()
    assert "X-100" in page2 and "X-128" not in page2  # highest scores on the first page
    suppressed = client.get(reverse("risk:alert_list"), {"status": "suppressed"}).content.decode()
    assert "X-129" in suppressed and "X-128" not in suppressed
    team = client.get(reverse("risk:alert_list"), {"team": world.team_hz.pk}).content.decode()
    assert "X-100" in team and "X-101" not in team
    bad = client.get(reverse("risk:alert_list"), {"min_score": "abc"})
    assert bad.status_code == 200


def test_alert_detail_shows_evidence_and_why(book: Book, world: Any, client_for: Any) -> None:
    from kamguard.risk.services.scan import scan_run

    scan_run(actor=None)
    alert = Alert.objects.get(subject_type="customer", subject_id=book.acme.pk)
    body = client_for(world.person("audrey")).get(reverse("risk:alert_detail", args=[alert.pk]),
                                                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Orders collapse while contact continues" in body and "contacts went on" in body
    assert "<svg" in body and "<polyline" in body  # the chart of orders and contacts
    assert reverse("customers:customer_detail", args=[book.acme.pk]) in body


def test_case_flow_through_the_pages(world: Any, client_for: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    alert = make_alert(world, world.alice)
    client = client_for(world.person("audrey"))
    opened = client.post(reverse("risk:alert_case_open", args=[alert.pk]))
    case = Case.objects.get()
    assert opened.status_code == 302 and opened["Location"] == reverse("risk:case_detail", args=[case.pk])
    assert client.post(reverse("risk:case_note", args=[case.pk]), {"text": "调取发货记录"}).status_code == 302
    assert client.post(reverse("risk:case_interview", args=[case.pk]),
                       {"interviewee": "李爱丽", "text": "承认私下联系", "held_on": timezone.localdate().isoformat()}
                       ).status_code == 302
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("证据.pdf", PDF, content_type="application/pdf")
    assert client.post(reverse("risk:case_attachment", args=[case.pk]), {"file": upload,
                                                                        "description": "发货单"}).status_code == 302
    # closing without an outcome: the message in place, nothing changes
    before = risk_state()
    refused = client.post(reverse("risk:case_close", args=[case.pk]), {"outcome": "", "findings": "查实"})
    assert refused.status_code == 422 and risk_state() == before
    closed = client.post(reverse("risk:case_close", args=[case.pk]),
                         {"outcome": "confirmed_diversion", "findings": "订单转给亲属公司"})
    assert closed.status_code == 302 and Case.objects.get().status == CaseStatus.CLOSED
    penalty = client.post(reverse("risk:case_penalty", args=[case.pk]),
                          {"kind": "economic", "amount": "20000", "effective_on": timezone.localdate().isoformat(),
                           "note": "总经理办公会决定"})
    assert penalty.status_code == 302 and Penalty.objects.get().amount == 20000
    page = client.get(reverse("risk:case_detail", args=[case.pk])).content.decode()
    assert "证据.pdf" in page and "承认私下联系" in page and "20,000" in page or "20000" in page
    download = client.get(reverse("risk:attachment_download", args=[case.attachments.get().pk]))
    assert download.status_code == 200 and download.content == PDF


@pytest.mark.parametrize("persona", PERSONAS)
def test_case_pages_matrix(world: Any, client_for: Any, persona: str) -> None:
    alert = make_alert(world, world.alice)
    case = case_services.case_open(actor=world.person("audrey"), alert_ids=[alert.pk])
    client = client_for(world.person(persona))
    detail = client.get(reverse("risk:case_detail", args=[case.pk]))
    assert detail.status_code == (200 if persona in VIEWERS else 404)
    listing = client.get(reverse("risk:case_list"))
    assert listing.status_code == 200 and ((case.number in listing.content.decode()) is (persona in VIEWERS))
    before = risk_state()
    for name, data in (("risk:case_note", {"text": "x"}), ("risk:case_share", {}),
                       ("risk:case_close", {"outcome": "cleared", "findings": "x"})):
        response = client.post(reverse(name, args=[case.pk]), data)
        if persona == "audrey":
            assert response.status_code == 302, name
        else:
            assert response.status_code in (403, 404), (name, response.status_code)
    if persona != "audrey":
        assert risk_state() == before


def test_supervisor_reads_a_shared_case_without_forms(world: Any, client_for: Any) -> None:
    alert = make_alert(world, world.alice)
    case = case_services.case_open(actor=world.person("audrey"), alert_ids=[alert.pk], note="内部线索")
    sam = client_for(world.person("sam"))
    assert sam.get(reverse("risk:case_detail", args=[case.pk])).status_code == 404
    case_services.case_share(actor=world.person("audrey"), case_id=case.pk)
    page = sam.get(reverse("risk:case_detail", args=[case.pk]))
    assert page.status_code == 200 and "内部线索" in page.content.decode()
    assert reverse("risk:case_note", args=[case.pk]) not in page.content.decode()
    assert sam.get(reverse("risk:alert_detail", args=[alert.pk])).status_code == 403
    # alice, the person concerned, never
    alice = client_for(world.person("alice"))
    assert alice.get(reverse("risk:case_detail", args=[case.pk])).status_code == 404
    assert case.number not in alice.get(reverse("risk:case_list")).content.decode()


def test_settings_page_refuses_a_negative_weight_in_place(world: Any, client_for: Any) -> None:
    client = client_for(world.person("adam"))
    form = client.get(reverse("risk:settings"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="weights.orders_collapse"' in form and 'name="params.hoarding.stale_days"' in form
    assert "Days without follow-up that count as neglected" in form and "stale days" not in form
    zh = client.get(reverse("risk:settings"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "多少天未跟进算作搁置" in zh and "信号开始时的 z 值" in zh
    before = risk_state()
    response = client.post(reverse("risk:settings"), {"weights.orders_collapse": "-0.3"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422 and "Cannot be negative" in response.content.decode()
    assert risk_state() == before
    ok = client.post(reverse("risk:settings"), {"weights.hoarding": "0.2", "reason": "调参"})
    assert ok.status_code == 302 and RiskSettings.objects.get().config == {"weights": {"hoarding": 0.2}}
    sam = client_for(world.person("sam"))
    assert sam.post(reverse("risk:settings"), {"weights.hoarding": "0.9"}).status_code == 403
    assert RiskSettings.objects.get().config == {"weights": {"hoarding": 0.2}}


def test_scan_from_the_page(book: Book, world: Any, client_for: Any) -> None:
    client = client_for(world.person("audrey"))
    response = client.post(reverse("risk:scan_start"), {"as_of": ""})
    run = ScanRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("risk:run_detail", args=[run.pk])
    ranked = client.get(reverse("risk:run_detail", args=[run.pk]), {"type": "customer"}).content.decode()
    assert "C-ACME" in ranked
    dashboard = client.get(reverse("risk:home")).content.decode()
    assert "C-ACME" in dashboard or "上海澄明" in dashboard
    early = client.post(reverse("risk:scan_start"), {"as_of": "2001-01-01"}, follow=True)
    assert ScanRun.objects.count() == 1 and "2001-01-01" in early.content.decode()
    assert client_for(world.person("sam")).post(reverse("risk:scan_start"), {}).status_code == 403
    assert ScanRun.objects.count() == 1


def test_scan_page_with_no_data(world: Any, client_for: Any) -> None:
    response = client_for(world.person("audrey")).post(reverse("risk:scan_start"), {}, follow=True)
    assert response.status_code == 200 and not ScanRun.objects.exists()


def test_chinese_pages(book: Book, world: Any, client_for: Any) -> None:
    from kamguard.risk.services.scan import scan_run

    scan_run(actor=None)
    alert = Alert.objects.get(subject_type="customer", subject_id=book.acme.pk)
    client = client_for(world.person("audrey"))
    for url, word in ((reverse("risk:home"), "风险"), (reverse("risk:alert_list"), "预警"),
                      (reverse("risk:alert_detail", args=[alert.pk]), "订单骤降"),
                      (reverse("risk:case_list"), "调查"), (reverse("risk:settings"), "权重")):
        body = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert word in body, url
