"""Who may do what with the audit trail. Refusals change nothing but are themselves audited.

    alice (manager, self), bob (teammate), sam (supervisor), carol (outsider): nothing
    audrey (auditor), adam (admin), erin (external auditor): list, detail, verify
    export: only with the export right as well (adam; audrey once granted it)
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from kamguard.core.audit import audit_record
from kamguard.core.models import AuditEvent
from kamguard.org.models import User

REFUSED = ["alice", "bob", "sam", "carol"]
AUDITORS = ["audrey", "adam", "erin"]


@pytest.fixture
def people(world):
    from kamguard.org.services import user_create

    world.erin = user_create(actor=None, username="erin", full_name="外审", roles=["external_auditor"],
                             password="Correct-Horse-42", email="erin@example.com", department=world.company)
    audit_record(actor=world.adam, action="org.user.updated", obj=world.alice,
                 changes={"phone": {"before": "1", "after": "2"}})
    return world


def _event_id() -> int:
    return AuditEvent.objects.filter(action="org.user.updated").values_list("pk", flat=True).first()


def _requests():  # type: ignore[no-untyped-def]
    """(name, method, path, data) for every audit endpoint, page and API."""
    return [
        ("page list", "get", lambda: reverse("audit:event_list"), {}),
        ("page detail", "get", lambda: reverse("audit:event_detail", args=[_event_id()]), {}),
        ("page chain", "get", lambda: reverse("audit:chain_status"), {}),
        ("page verify", "post", lambda: reverse("audit:chain_verify"), {}),
        ("page export", "post", lambda: reverse("audit:event_export"), {"format": "csv"}),
        ("api list", "get", lambda: "/api/v1/audit/events", {}),
        ("api detail", "get", lambda: f"/api/v1/audit/events/{_event_id()}", {}),
        ("api verify", "post", lambda: "/api/v1/audit/verify", {}),
        ("api export", "get", lambda: "/api/v1/audit/events/export", {"format": "csv"}),
    ]


def _call(client, method, path, data):  # type: ignore[no-untyped-def]
    return getattr(client, method)(path(), data)


def _assert_refused_and_only_that_recorded(person: User, response, before: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403
    assert "Content-Disposition" not in response  # no export file
    new = list(AuditEvent.objects.filter(sequence__gt=before).values("action", "actor_id", "object_type"))
    assert new == [{"action": "permission.refused", "actor_id": person.pk, "object_type": "request"}]


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("request_", _requests(), ids=lambda r: r[0])
def test_non_auditors_are_refused_and_the_refusal_is_audited(people, client_for, name, request_):
    # given
    person = people.person(name)
    client = client_for(person)
    before = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    # when
    response = _call(client, *request_[1:])
    # then
    _assert_refused_and_only_that_recorded(person, response, before)
    if request_[0].startswith("api"):
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("name", AUDITORS)
@pytest.mark.parametrize("request_", [r for r in _requests() if "export" not in r[0]], ids=lambda r: r[0])
def test_auditors_may_list_see_and_verify(people, client_for, name, request_):
    client = client_for(people.person(name))
    response = _call(client, *request_[1:])
    assert response.status_code in (200, 302)
    assert not AuditEvent.objects.filter(action="permission.refused").exists()


@pytest.mark.parametrize("request_", [r for r in _requests() if "export" in r[0]], ids=lambda r: r[0])
def test_auditor_without_the_export_right_cannot_export(people, client_for, request_):
    # given: audrey may read the trail but was not granted export
    audrey = people.person("audrey")
    assert not audrey.can_export
    client = client_for(audrey)
    before = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    # when
    response = _call(client, *request_[1:])
    # then
    _assert_refused_and_only_that_recorded(audrey, response, before)
    assert not AuditEvent.objects.filter(action="audit.events.exported").exists()


@pytest.mark.parametrize("request_", [r for r in _requests() if "export" in r[0]], ids=lambda r: r[0])
def test_export_needs_both_rights(people, client_for, request_):
    # adam holds both; audrey once granted export; erin (external) never
    User.objects.filter(username="audrey").update(can_export=True)
    for name in ("adam", "audrey"):
        response = _call(client_for(people.person(name)), *request_[1:])
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action="audit.events.exported").count() == 2
    response = _call(client_for(people.person("erin")), *request_[1:])
    assert response.status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(people, client):
    before = AuditEvent.objects.count()
    response = client.get(reverse("audit:event_list"))
    assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert AuditEvent.objects.count() == before


def test_deactivated_auditor_loses_access(people, client_for):
    client = client_for(people.person("audrey"))
    User.objects.filter(username="audrey").update(is_active=False)
    response = client.get("/api/v1/audit/events")
    assert response.status_code in (401, 403)


def test_menu_offers_the_trail_only_to_auditors(people, client_for):
    assert 'data-nav="audit"' in client_for(people.person("audrey")).get("/").content.decode()
    assert 'data-nav="audit"' not in client_for(people.person("alice")).get("/").content.decode()
