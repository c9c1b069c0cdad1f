"""`kamguard audit verify`: detects an edited, deleted, inserted or reordered event and names the first bad one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from kamguard.core.audit import audit_record
from kamguard.core.domain.audit_chain import DIGEST_MISMATCH, LINK_BROKEN, MISSING, event_digest
from kamguard.core.models import AuditEvent

from .conftest import dba_lifts_guard, raw_sql

SHIFT = 10**12  # moves sequences out of the way of the unique constraint while reordering


def verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_intact_chain(chain):
    # given
    chain(5)
    # when
    code, out, err = verify()
    # then
    assert code == 0
    assert out.splitlines()[0] == "OK: 5 events, chain intact"
    assert err == ""


def test_empty_chain_is_intact(db):
    code, out, _ = verify()
    assert code == 0 and out.splitlines()[0] == "OK: 0 events, chain intact"


def test_json_output(chain):
    events = chain(3)
    code, out, _ = verify("--json")
    result = json.loads(out)
    assert code == 0
    assert result["ok"] is True and result["events"] == 3 and result["first_bad"] is None
    assert result["head"] == {"sequence": 3, "digest": events[-1].digest}
    assert result["append_only_guard"] is True


def test_reads_in_small_chunks(chain):
    chain(7)
    code, out, _ = verify("--chunk-size", "2")
    assert code == 0 and out.startswith("OK: 7 events")


def test_edited_event(chain):
    # given
    events = chain(6)
    # when: a DBA rewrites the reason of event 4
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET reason = 'nothing to see' WHERE sequence = 4")
    # then
    code, out, _ = verify()
    assert code == 1
    assert out.splitlines()[0].startswith(f"BROKEN: first bad event: sequence 4, id {events[3].pk}: content does not")
    assert "3 events before it are intact" in out
    assert json.loads(verify("--json")[1])["first_bad"] == {
        "sequence": 4, "id": events[3].pk, "kind": DIGEST_MISMATCH,
        "reason": "content does not match its digest: the event was edited or forged"}


def test_edited_changes_json(chain):
    events = chain(3)
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET changes = %s WHERE sequence = 2", ['{"n": {"before": 1, "after": 99}}'])
    code, out, _ = verify()
    assert code == 1 and f"sequence 2, id {events[1].pk}" in out


def test_deleted_event(chain):
    # given
    events = chain(6)
    # when: a DBA deletes event 3
    with dba_lifts_guard():
        assert raw_sql("DELETE FROM core_auditevent WHERE sequence = 3") == 1
    # then: the gap is named at the event that follows it
    code, out, _ = verify()
    assert code == 1
    assert f"sequence 4, id {events[3].pk}: sequence 3 expected, found 4: event 3 is missing (deleted)" in out
    result = json.loads(verify("--json")[1])
    assert result["first_bad"]["kind"] == MISSING and result["events"] == 2


def test_inserted_event(chain):
    # given
    events = chain(5)
    # when: a DBA makes room at 3 and inserts a forged event, linked to event 2 (without the key)
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET sequence = sequence + %s WHERE sequence >= 3", [SHIFT])
        raw_sql("UPDATE core_auditevent SET sequence = sequence - %s + 1 WHERE sequence >= %s", [SHIFT, SHIFT])
        forged = AuditEvent(sequence=3, occurred_at=events[2].occurred_at, actor_label="system",
                            action="test.event", object_type="test.thing", object_id="x", object_label="forged",
                            changes={}, reason="forged", previous_digest=events[1].digest)
        forged.digest = event_digest(key=b"a guess", sequence=3, previous_digest=events[1].digest,
                                     content=forged.chain_content())
        forged.save(force_insert=True)
    # then: the forged event is the first bad one
    code, out, _ = verify()
    assert code == 1
    assert f"sequence 3, id {forged.pk}: content does not match its digest" in out
    assert AuditEvent.objects.count() == 6


def test_event_appended_by_hand(chain):
    events = chain(3)
    forged = AuditEvent(sequence=4, occurred_at=events[2].occurred_at, actor_label="adam", action="test.event",
                        changes={}, previous_digest=events[2].digest, digest="f" * 64)
    forged.save(force_insert=True)  # no guard to lift: inserting is allowed, only the key makes it valid
    code, out, _ = verify()
    assert code == 1 and f"sequence 4, id {forged.pk}" in out


def test_reordered_events(chain):
    # given
    events = chain(6)
    # when: a DBA swaps events 2 and 5
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET sequence = %s WHERE sequence = 2", [SHIFT])
        raw_sql("UPDATE core_auditevent SET sequence = 2 WHERE sequence = 5")
        raw_sql("UPDATE core_auditevent SET sequence = 5 WHERE sequence = %s", [SHIFT])
    # then: the event now at position 2 (formerly 5) is named
    code, out, _ = verify()
    assert code == 1
    assert f"sequence 2, id {events[4].pk}: link to the previous event does not match" in out
    assert json.loads(verify("--json")[1])["first_bad"]["kind"] == LINK_BROKEN


def test_swapped_content_between_neighbours(chain):
    events = chain(4)
    with dba_lifts_guard():
        for column in ("reason", "object_label"):
            raw_sql(f"UPDATE core_auditevent SET {column} = (SELECT {column} FROM core_auditevent WHERE sequence = 3) "  # noqa: S608
                    "WHERE sequence = 2")
    code, out, _ = verify()
    assert code == 1 and f"sequence 2, id {events[1].pk}" in out


def test_missing_guard_is_reported(chain):
    chain(2)
    with dba_lifts_guard():
        code, out, err = verify()
        result = json.loads(verify("--json")[1])
    assert code == 0 and "append-only triggers are missing or disabled" in err
    assert result["append_only_guard"] is False


def test_record_option_appends_the_result(chain):
    chain(2)
    code, _, _ = verify("--record")
    event = AuditEvent.objects.order_by("-sequence").first()
    assert code == 0 and event.action == "audit.chain.verified" and event.channel == "cli"
    assert event.changes["result"]["after"] == "ok" and event.changes["events"]["after"] == 2


@pytest.mark.django_db(transaction=True)
def test_kamguard_cli_exit_codes(tmp_path):
    """The real `kamguard audit verify` against the test database: 0 when intact, 1 and the event when not."""
    # given: committed events in the test database
    for i in range(3):
        audit_record(actor=None, action="test.event", object_id=i)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "KAMGUARD_DATABASE_URL": url, "KAMGUARD_SECRET_KEY": settings.SECRET_KEY,
           "KAMGUARD_AUDIT_KEY": settings.AUDIT_CHAIN_KEY, "KAMGUARD_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "-c", "import sys; from kamguard.cli import main; sys.exit(main())", "audit", "verify"]
    # when / then
    ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[0] == "OK: 3 events, chain intact"
    with dba_lifts_guard():
        raw_sql("UPDATE core_auditevent SET object_id = 'x' WHERE sequence = 2")
    broken = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True,  # noqa: S603
                            timeout=120)
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["first_bad"]["sequence"] == 2
