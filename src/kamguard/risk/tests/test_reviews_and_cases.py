"""Reviewing alerts and investigating: decisions stored for tuning, conditional status changes, cases with their
timeline, outcome and penalties, sharing with the supervisor — and who may see what (nobody about themselves)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.org.services import user_create
from kamguard.risk import selectors
from kamguard.risk.models import (
    Alert,
    AlertReview,
    AlertStatus,
    Case,
    CaseOutcome,
    CaseStatus,
    EntryKind,
    Penalty,
    ScanKind,
    ScanRun,
)
from kamguard.risk.services import alerts as alert_services
from kamguard.risk.services import cases as case_services
from kamguard.risk.tests.conftest import risk_state

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def make_alert(world: Any, person: Any, *, subject_type: str = "customer", subject_id: int = 1,
               score: float = 0.8) -> Alert:
    run = ScanRun.objects.create(as_of=timezone.localdate(), kind=ScanKind.MANUAL, status="done")
    return Alert.objects.create(
        subject_type=subject_type, subject_id=subject_id, external_id=f"X-{subject_id}", label="上海澄明",
        person=person, team=person.team, score=score, peak_score=score,
        signals=[{"signal": "orders_collapse", "score": 1.0, "key": "orders_collapse.contact_continues",
                  "numbers": {"drop": 0.9}, "refs": [], "series": {}, "labels": []}],
        contributions={"orders_collapse": 0.8}, first_run=run, last_run=run, first_seen_on=run.as_of,
        last_seen_on=run.as_of)


# ---------------------------------------------------------------- alerts


def test_suppress_needs_a_reason_and_is_kept_for_tuning(world: Any) -> None:
    alert = make_alert(world, world.alice)
    auditor = world.person("audrey")
    before = risk_state()
    with pytest.raises(ValidationFailed) as caught:
        alert_services.alert_suppress(actor=auditor, alert_id=alert.pk, reason="  ")
    assert caught.value.code == "reason_required" and risk_state() == before
    done = alert_services.alert_suppress(actor=auditor, alert_id=alert.pk, reason="已知的季节性客户")
    assert done.status == AlertStatus.SUPPRESSED and done.reviewed_by_id == auditor.pk
    review = AlertReview.objects.get()
    assert (review.decision, review.score, review.signals[0]["signal"]) == ("suppressed", 0.8, "orders_collapse")
    assert AuditEvent.objects.filter(action="risk.alert.suppressed", object_id=str(alert.pk)).count() == 1
    with pytest.raises(Conflict):  # the second decision on an already suppressed alert
        alert_services.alert_suppress(actor=auditor, alert_id=alert.pk, reason="again")


def test_false_alarm_needs_feedback_then_reopen(world: Any) -> None:
    alert = make_alert(world, world.alice)
    auditor = world.person("audrey")
    with pytest.raises(ValidationFailed) as caught:
        alert_services.alert_mark_false(actor=auditor, alert_id=alert.pk, feedback="")
    assert caught.value.code == "feedback_required"
    alert_services.alert_mark_false(actor=auditor, alert_id=alert.pk, feedback="客户破产, 订单与拜访同时停止")
    assert Alert.objects.get().status == AlertStatus.FALSE
    reopened = alert_services.alert_reopen(actor=auditor, alert_id=alert.pk, reason="新证据")
    assert reopened.status == AlertStatus.OPEN
    assert list(AlertReview.objects.order_by("pk").values_list("decision", flat=True)) == ["false", "reopened"]


def test_reopen_refused_while_a_newer_alert_is_live(world: Any) -> None:
    alert = make_alert(world, world.alice)
    auditor = world.person("audrey")
    alert_services.alert_confirm(actor=auditor, alert_id=alert.pk)
    make_alert(world, world.alice)  # the next scan raised a new one for the same subject
    with pytest.raises(Conflict) as caught:
        alert_services.alert_reopen(actor=auditor, alert_id=alert.pk, reason="x")
    assert caught.value.code == "alert_live_exists"


@pytest.mark.parametrize("persona", ["alice", "bob", "sam", "carol", "adam", "hanna"])
def test_only_auditors_review(world: Any, persona: str) -> None:
    alert = make_alert(world, world.henry)
    before = risk_state()
    with pytest.raises((PermissionRefused, NotFound)):
        alert_services.alert_confirm(actor=world.person(persona), alert_id=alert.pk)
    assert risk_state() == before


def second_auditor(world: Any) -> Any:
    return user_create(actor=None, username="ada", full_name="艾达", roles=["auditor"],
                       password="Correct-Horse-42", email="ada@example.com", department=world.company,
                       supervisor=world.sam)


def test_nobody_sees_alerts_about_themselves(world: Any) -> None:
    ada = second_auditor(world)
    mine = make_alert(world, ada, subject_id=7)
    other = make_alert(world, world.alice, subject_id=8)
    as_manager = make_alert(world, world.alice, subject_type="manager", subject_id=ada.pk)
    visible = set(selectors.alert_list(viewer=ada).values_list("pk", flat=True))
    assert visible == {other.pk}
    with pytest.raises(NotFound):
        selectors.alert_get(viewer=ada, alert_id=mine.pk)
    with pytest.raises(NotFound):
        alert_services.alert_suppress(actor=ada, alert_id=as_manager.pk, reason="x")
    assert set(selectors.alert_list(viewer=world.person("audrey")).values_list("pk", flat=True)) == {
        mine.pk, other.pk, as_manager.pk}


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "sam", "carol", "hanna", "fiona"])
def test_alerts_hidden_from_everyone_but_auditors_and_admins(world: Any, persona: str) -> None:
    make_alert(world, world.alice)
    assert not selectors.alert_list(viewer=world.person(persona)).exists()
    assert selectors.alert_list(viewer=world.person("adam")).count() == 1


# ---------------------------------------------------------------- cases


def open_case(world: Any) -> tuple[Case, Alert]:
    alert = make_alert(world, world.alice)
    case = case_services.case_open(actor=world.person("audrey"), alert_ids=[alert.pk], note="订单骤降, 拜访照常")
    return case, alert


def test_open_a_case_from_an_alert(world: Any) -> None:
    case, alert = open_case(world)
    assert case.person_id == world.alice.pk and case.number.startswith(f"RC-{timezone.localdate().year}-")
    assert Alert.objects.get(pk=alert.pk).case_id == case.pk
    assert list(case.entries.values_list("kind", flat=True)) == [EntryKind.OPENED, EntryKind.ALERT]
    assert AuditEvent.objects.filter(action="risk.case.opened", object_id=str(case.pk)).exists()
    with pytest.raises(Conflict):  # the alert is in an open case already
        case_services.case_open(actor=world.person("audrey"), alert_ids=[alert.pk])


def test_case_about_oneself_is_refused(world: Any) -> None:
    ada = second_auditor(world)
    before = risk_state()
    with pytest.raises(ValidationFailed) as caught:
        case_services.case_open(actor=ada, person_id=ada.pk)
    assert caught.value.code == "self_investigation" and risk_state() == before


def test_case_needs_a_person_and_one_person(world: Any) -> None:
    auditor = world.person("audrey")
    with pytest.raises(ValidationFailed) as caught:
        case_services.case_open(actor=auditor)
    assert caught.value.code == "person_required"
    a, b = make_alert(world, world.alice, subject_id=1), make_alert(world, world.bob, subject_id=2)
    with pytest.raises(ValidationFailed) as several:
        case_services.case_open(actor=auditor, alert_ids=[a.pk, b.pk])
    assert several.value.code == "several_people"


def test_timeline_notes_interviews_and_evidence(world: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    case, _alert = open_case(world)
    auditor = world.person("audrey")
    case_services.case_note_add(actor=auditor, case_id=case.pk, text="调取了发货记录")
    interview = case_services.case_interview_add(actor=auditor, case_id=case.pk, interviewee="李爱丽",
                                                 text="称客户转向竞争对手", held_on=timezone.localdate())
    assert interview.interviewee == "李爱丽" and interview.data["held_on"]
    attachment = case_services.case_attachment_add(actor=auditor, case_id=case.pk, filename="../发货单.pdf",
                                                   data=PDF, description="发货单")
    assert attachment.filename == "发货单.pdf" and attachment.file_type == "pdf"
    opened, data = case_services.case_attachment_open(actor=auditor, attachment_id=attachment.pk)
    assert data == PDF and opened.pk == attachment.pk
    assert AuditEvent.objects.filter(action="risk.case.attachment_downloaded").count() == 1
    with pytest.raises(ValidationFailed) as wrong:
        case_services.case_attachment_add(actor=auditor, case_id=case.pk, filename="x.exe", data=b"MZ\x90\x00")
    assert wrong.value.code == "file_type"
    kinds = list(case.entries.values_list("kind", flat=True))
    assert kinds == ["opened", "alert", "note", "interview", "attachment"]


def test_closing_needs_an_outcome_and_reviews_the_alerts(world: Any) -> None:
    case, alert = open_case(world)
    auditor = world.person("audrey")
    before = risk_state()
    with pytest.raises(ValidationFailed) as caught:
        case_services.case_close(actor=auditor, case_id=case.pk, outcome="", findings="查实")
    assert caught.value.code == "outcome_required" and "outcome" in caught.value.field_errors
    with pytest.raises(ValidationFailed):
        case_services.case_close(actor=auditor, case_id=case.pk, outcome="guilty", findings="查实")
    with pytest.raises(ValidationFailed) as no_findings:
        case_services.case_close(actor=auditor, case_id=case.pk, outcome=CaseOutcome.CONFIRMED_DIVERSION, findings="")
    assert no_findings.value.code == "findings_required"
    assert risk_state() == before
    closed = case_services.case_close(actor=auditor, case_id=case.pk, outcome=CaseOutcome.CONFIRMED_DIVERSION,
                                      findings="订单转给其亲属控制的公司")
    assert closed.status == CaseStatus.CLOSED and closed.closed_by_id == auditor.pk
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.CONFIRMED
    assert AlertReview.objects.get(alert=alert).decision == "confirmed"
    with pytest.raises(Conflict):
        case_services.case_note_add(actor=auditor, case_id=case.pk, text="x")


def test_penalties_follow_a_closed_case(world: Any) -> None:
    case, _alert = open_case(world)
    auditor = world.person("audrey")
    with pytest.raises(Conflict) as early:
        case_services.penalty_record(actor=auditor, case_id=case.pk, kind="demotion",
                                     effective_on=timezone.localdate(), note="x")
    assert early.value.code == "penalty_needs_outcome"
    case_services.case_close(actor=auditor, case_id=case.pk, outcome=CaseOutcome.CONFIRMED_DIVERSION, findings="查实")
    with pytest.raises(ValidationFailed) as no_amount:
        case_services.penalty_record(actor=auditor, case_id=case.pk, kind="economic",
                                     effective_on=timezone.localdate(), note="总经理办公会决定")
    assert no_amount.value.code == "amount_required"
    with pytest.raises(ValidationFailed):
        case_services.penalty_record(actor=auditor, case_id=case.pk, kind="demotion", amount="100",
                                     effective_on=timezone.localdate(), note="x")
    fine = case_services.penalty_record(actor=auditor, case_id=case.pk, kind="economic", amount="20000.00",
                                        effective_on=timezone.localdate(), note="总经理办公会决定")
    demotion = case_services.penalty_record(actor=auditor, case_id=case.pk, kind="termination",
                                            effective_on=timezone.localdate() + dt.timedelta(days=30), note="解除劳动合同")
    assert fine.amount == Decimal("20000.00") and fine.person_id == world.alice.pk and demotion.amount is None
    assert Penalty.objects.count() == 2
    assert AuditEvent.objects.filter(action="risk.penalty.recorded").count() == 2
    with pytest.raises(Conflict):  # a case with penalties is not reopened
        case_services.case_reopen(actor=auditor, case_id=case.pk, reason="x")


def test_no_penalty_for_a_cleared_case(world: Any) -> None:
    case, alert = open_case(world)
    auditor = world.person("audrey")
    case_services.case_close(actor=auditor, case_id=case.pk, outcome=CaseOutcome.CLEARED, findings="客户破产")
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.FALSE
    with pytest.raises(Conflict):
        case_services.penalty_record(actor=auditor, case_id=case.pk, kind="demotion",
                                     effective_on=timezone.localdate(), note="x")
    reopened = case_services.case_reopen(actor=auditor, case_id=case.pk, reason="新证据")
    assert reopened.status == CaseStatus.OPEN and reopened.outcome == ""


def test_supervisor_sees_the_case_only_once_shared(world: Any) -> None:
    case, _alert = open_case(world)
    sam = world.person("sam")
    assert not selectors.case_list(viewer=sam).exists()
    shared = case_services.case_share(actor=world.person("audrey"), case_id=case.pk)
    assert shared.shared_with_id == sam.pk
    assert list(selectors.case_list(viewer=sam).values_list("pk", flat=True)) == [case.pk]
    # the supervisor reads but does not write
    with pytest.raises(PermissionRefused):
        case_services.case_note_add(actor=sam, case_id=case.pk, text="x")
    case_services.case_unshare(actor=world.person("audrey"), case_id=case.pk, reason="调查需要保密")
    assert not selectors.case_list(viewer=sam).exists()


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "sam", "henry", "carol", "hanna", "fiona"])
def test_cases_hidden_from_the_person_and_everyone_else(world: Any, persona: str) -> None:
    case, _alert = open_case(world)
    viewer = world.person(persona)
    assert not selectors.case_list(viewer=viewer).exists()
    with pytest.raises(NotFound):
        selectors.case_get(viewer=viewer, case_id=case.pk)
    assert not selectors.penalty_list(viewer=viewer).exists()


def test_the_person_never_sees_their_case_even_shared_and_promoted(world: Any) -> None:
    case, _alert = open_case(world)
    case_services.case_share(actor=world.person("audrey"), case_id=case.pk)
    from kamguard.org.models import RoleAssignment

    RoleAssignment.objects.create(user=world.alice, role="auditor")
    alice = world.person("alice")
    assert not selectors.case_list(viewer=alice).exists()
    assert selectors.case_list(viewer=world.person("adam")).count() == 1
