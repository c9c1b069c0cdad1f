"""The audit pages: search, filter, detail with before/after, export, chain status."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from kamguard.core.audit import audit_record
from kamguard.core.models import AuditEvent
from kamguard.org.services import user_update

from .conftest import dba_lifts_guard, raw_sql

LIST = reverse("audit:event_list")


@pytest.fixture
def trail(world):
    """A few real events on top of those the world fixture made (each person's creation)."""
    user_update(actor=world.adam, user=world.person("alice"), phone="13800138999", full_name="李爱丽娜",
                reason="new phone")
    audit_record(actor=world.audrey, action="pii.revealed", obj=world.carol, reason="investigation 7",
                 changes={"field": {"before": None, "after": "phone"}})
    audit_record(actor=None, action="auth.login.failed", object_type="org.user", object_label="mallory",
                 reason="wrong username or password")
    return world


def _body(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def _table(response) -> str:  # type: ignore[no-untyped-def]
    """The results only (the action filter's suggestions list every label too)."""
    body = _body(response)
    return body[body.index('<div class="panel">', body.index("</form>")):]


def test_list_shows_newest_first_with_labels(trail, client_for, django_assert_max_num_queries):
    client = client_for(trail.audrey)
    with django_assert_max_num_queries(12):
        response = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    body = _table(response)
    assert response.status_code == 200
    assert body.index("Sign-in failed") < body.index("Personal data revealed") < body.index("Person changed")
    assert "org.user.updated" in body  # the code under its label


def test_list_in_chinese(trail, client_for):
    response = client_for(trail.audrey).get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = _body(response)
    assert "审计日志" in body and "人员信息变更" in body and "登录失败" in body


@pytest.mark.parametrize(("params", "expected", "absent"), [
    ({"actor": "adam"}, ["Person changed"], ["Sign-in failed", "Personal data revealed"]),
    ({"actor": "system"}, ["Sign-in failed"], ["Personal data revealed"]),
    ({"action": "pii."}, ["Personal data revealed"], ["Person changed", "Sign-in failed"]),
    ({"action": "auth.login.failed"}, ["Sign-in failed"], ["Personal data revealed"]),
    ({"object_type": "org.user", "q": "mallory"}, ["Sign-in failed"], ["Person changed"]),
    ({"q": "investigation"}, ["Personal data revealed"], ["Sign-in failed"]),
])
def test_filters(trail, client_for, params, expected, absent):
    body = _table(client_for(trail.audrey).get(LIST, {**params}, HTTP_ACCEPT_LANGUAGE="en"))
    for text in expected:
        assert text in body
    for text in absent:
        assert text not in body


def test_filter_by_object_id_and_date_range(trail, client_for):
    client = client_for(trail.audrey)
    today = timezone.localdate()
    body = _table(client.get(LIST, {"object_type": "org.user", "object_id": trail.carol.pk,
                                   "date_from": today.isoformat(), "date_to": today.isoformat()},
                            HTTP_ACCEPT_LANGUAGE="en"))
    assert "Personal data revealed" in body and "Person changed" not in body
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    body = _body(client.get(LIST, {"date_from": tomorrow}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "No events match" in body


def test_bad_filters_are_shown_not_a_500(trail, client_for):
    client = client_for(trail.audrey)
    response = client.get(LIST, {"date_from": "2026-13-45", "date_to": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "Enter a valid date" in _body(response)
    response = client.get(LIST, {"date_from": "2026-02-01", "date_to": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "The end date is before the start date" in _body(response)
    response = client.get(LIST, {"cursor": "not a cursor"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "out of date" in _body(response)


def test_keyset_pages_cover_every_event_once(world, client_for):
    for i in range(120):
        audit_record(actor=None, action="test.page", object_id=i)
    client = client_for(world.audrey)
    seen: list[int] = []
    params: dict[str, str] = {"action": "test.page"}
    for _ in range(5):
        response = client.get(LIST, params)
        rows = response.context["rows"]
        seen += [row["event"].sequence for row in rows]
        if not response.context["next_cursor"]:
            break
        params["cursor"] = response.context["next_cursor"]
    assert len(seen) == 120 and seen == sorted(seen, reverse=True)
    oldest_first = client.get(LIST, {"action": "test.page", "sort": "time"}).context["rows"]
    assert [r["event"].sequence for r in oldest_first] == sorted(seen)[:50]


def test_detail_shows_before_and_after_of_each_field(trail, client_for):
    event = AuditEvent.objects.get(action="org.user.updated")
    response = client_for(trail.audrey).get(reverse("audit:event_detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="en")
    body = _body(response)
    assert response.status_code == 200
    assert "13800138000" in body and "13800138999" in body  # phone before / after
    assert "李爱丽" in body and "李爱丽娜" in body
    assert "new phone" in body
    assert event.digest in body


def test_detail_of_missing_event_is_404(world, client_for):
    response = client_for(world.audrey).get(reverse("audit:event_detail", args=[999999]))
    assert response.status_code == 404


def _export(client, fmt: str, **filters):  # type: ignore[no-untyped-def]
    return client.post(reverse("audit:event_export"), {"format": fmt, **filters})


def test_export_csv_of_the_filtered_set_is_audited(trail, client_for):
    # given (signing the client in is itself an event)
    client = client_for(trail.adam)
    before = AuditEvent.objects.count()
    # when
    response = _export(client, "csv", action="auth.")
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    # then
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(content)))
    assert len(rows) == 1 + AuditEvent.objects.filter(action__startswith="auth.", sequence__lte=before).count()
    assert all(row[3].startswith("auth.") for row in rows[1:])
    record = AuditEvent.objects.order_by("-sequence").first()
    assert record.action == "audit.events.exported" and record.actor_id == trail.adam.pk
    assert record.changes["filter"]["after"] == {"action": "auth."}
    assert record.changes["rows"]["after"] == len(rows) - 1
    assert record.changes["format"]["after"] == "csv"


def test_export_xlsx(trail, client_for):
    from openpyxl import load_workbook

    response = _export(client_for(trail.adam), "xlsx", actor="audrey")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert response.status_code == 200
    assert len(rows) == 2 and rows[1][3] == "pii.revealed"
    assert AuditEvent.objects.order_by("-sequence").first().changes["rows"]["after"] == 1


def test_export_neutralises_spreadsheet_formulas(world, client_for):
    audit_record(actor=None, action="auth.login.failed", object_label="=HYPERLINK(\"http://evil\")")
    response = _export(client_for(world.adam), "csv", action="auth.login.failed", q="HYPERLINK")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][7].startswith("'=")


def test_export_with_bad_format_changes_nothing(trail, client_for):
    client = client_for(trail.adam)
    before = AuditEvent.objects.count()
    response = _export(client, "pdf")
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_chain_status_and_verify_now(trail, client_for):
    client = client_for(trail.audrey)
    body = _body(client.get(reverse("audit:chain_status"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "has not been verified yet" in body
    response = client.post(reverse("audit:chain_verify"), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    body = _body(response)
    assert "The chain is intact" in body and "intact" in body
    event = AuditEvent.objects.order_by("-sequence").first()
    assert event.action == "audit.chain.verified" and event.actor_id == trail.audrey.pk


def test_verify_now_reports_a_broken_chain(trail, client_for):
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET reason = 'x' WHERE sequence = 2")
    response = client_for(trail.audrey).post(reverse("audit:chain_verify"), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    body = _body(response)
    assert "The chain is broken" in body and "#2" in body
    assert AuditEvent.objects.order_by("-sequence").first().changes["result"]["after"] == "broken"


def test_chain_pages_in_chinese(trail, client_for):
    with dba_lifts_guard():
        raw_sql("DELETE FROM core_auditevent WHERE sequence = 2")
    client = client_for(trail.audrey)
    body = _body(client.post(reverse("audit:chain_verify"), HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True))
    assert "审计链已断开" in body and "其前面的事件缺失（被删除）" in body and "立即校验" in body


def test_unknown_action_codes_are_shown_raw(world, client_for):
    audit_record(actor=None, action="future.thing.happened")
    body = _table(client_for(world.audrey).get(LIST, {"action": "future."}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "future.thing.happened" in body
