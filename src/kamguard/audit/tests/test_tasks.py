"""The daily task: verifies the chain, records `audit.chain.verified`, and is safe to run twice."""

from __future__ import annotations

from kamguard.audit.tasks import audit_chain_verify
from kamguard.core.audit import audit_record
from kamguard.core.models import AuditEvent

from .conftest import dba_lifts_guard, raw_sql


def _verifications():  # type: ignore[no-untyped-def]
    return list(AuditEvent.objects.filter(action="audit.chain.verified").order_by("sequence"))


def test_records_the_result(chain):
    # given
    chain(4)
    # when
    result = audit_chain_verify.enqueue()
    # then
    assert result.return_value["ok"] is True and result.return_value["events"] == 4
    [event] = _verifications()
    assert event.actor_id is None and event.channel == "task" and event.sequence == 5
    assert event.changes["result"]["after"] == "ok"
    assert event.changes["events"]["after"] == 4
    assert event.changes["first_bad_sequence"]["after"] is None


def test_running_twice_records_once(chain):
    chain(3)
    audit_chain_verify.enqueue()
    second = audit_chain_verify.enqueue()
    # the second run verified the first run's record too, found nothing new, and recorded nothing
    assert second.return_value["ok"] is True and second.return_value["events"] == 4
    assert len(_verifications()) == 1


def test_runs_again_after_new_events(chain):
    chain(2)
    audit_chain_verify.enqueue()
    audit_record(actor=None, action="test.later")
    audit_chain_verify.enqueue()
    assert len(_verifications()) == 2


def test_broken_chain_is_recorded_once(chain):
    events = chain(5)
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET object_label = 'x' WHERE sequence = 3")
    first = audit_chain_verify.enqueue()
    audit_chain_verify.enqueue()
    assert first.return_value["ok"] is False
    assert first.return_value["first_bad"] == {"sequence": 3, "id": events[2].pk, "kind": "digest_mismatch",
                                               "reason": "content does not match its digest: the event was edited "
                                                         "or forged"}
    [event] = _verifications()
    assert event.changes["result"]["after"] == "broken" and event.changes["first_bad_sequence"]["after"] == 3
    assert event.object_id == str(events[2].pk) and "#3" in event.reason


def test_an_auditors_run_is_always_recorded(world, chain):
    from kamguard.audit.services import chain_verify_and_record

    chain(1)
    chain_verify_and_record(actor=world.audrey)
    chain_verify_and_record(actor=world.audrey)
    assert [e.actor_id for e in _verifications()] == [world.audrey.pk, world.audrey.pk]
