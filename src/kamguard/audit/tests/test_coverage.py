"""What the issue asks to be audited besides changes: sign-ins (both outcomes), refusals, exports, reveals.

These go through the real pages, so they prove the events reach the trail with who, where and when.
"""

from __future__ import annotations

from django.urls import reverse

from kamguard.core.models import AuditEvent

UA = "Mozilla/5.0 (audit test)"


def _last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-sequence").first()


def test_failed_and_successful_sign_ins_are_audited(world, client):
    # when: a wrong password, then the right one
    client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong-password-1"},
                HTTP_USER_AGENT=UA, REMOTE_ADDR="198.51.100.7")
    failed = _last("auth.login.failed")
    client.post(reverse("accounts:login"), {"username": "alice", "password": "Correct-Horse-42"},
                HTTP_USER_AGENT=UA, REMOTE_ADDR="198.51.100.7")
    succeeded = _last("auth.login.succeeded")
    # then
    assert failed is not None and failed.object_label == "alice" and failed.actor_id is None
    assert (failed.ip_address, failed.user_agent, failed.channel) == ("198.51.100.7", UA, "web")
    assert succeeded is not None and succeeded.actor_id == world.alice.pk
    assert succeeded.ip_address == "198.51.100.7"


def test_reveal_of_masked_data_is_audited(world, client_for):
    client = client_for(world.sam)
    response = client.post(reverse("org:user_reveal", args=[world.alice.pk, "phone"]))
    assert response.status_code == 200 and "13800138000" in response.content.decode()
    event = _last("pii.revealed")
    assert event.actor_id == world.sam.pk and event.object_id == str(world.alice.pk)
    assert event.changes == {"field": {"before": None, "after": "phone"}}
