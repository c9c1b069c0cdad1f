"""Two decisions at the same moment: exactly one wins (conditional update on the request's revision), on
SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from kamguard.approvals import services
from kamguard.approvals.domain import ApprovalFacts
from kamguard.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalStep
from kamguard.approvals.tests.conftest import KIND
from kamguard.core.errors import Conflict


def _race(calls):
    winners, losers = [], []
    barrier = threading.Barrier(len(calls))

    def run(name, fn):
        try:
            barrier.wait()
            fn()
            winners.append(name)
        except Conflict as exc:
            losers.append((name, exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, fn)) for name, fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return winners, losers


@pytest.mark.django_db(transaction=True)
def test_approver_and_delegate_deciding_at_once_one_wins(world, thing):
    services.policy_create(actor=world.adam, name="Sup", kind=KIND, steps=[{"approver": "supervisor"}])
    today = timezone.localdate()
    services.delegation_create(actor=world.sam, delegate_id=world.henry.pk, starts_on=today, ends_on=today)
    for trial in range(3):
        request = services.approval_submit(actor=world.alice, kind=KIND, subject_id=100 + trial,
                                           facts=ApprovalFacts(amount=Decimal(1)), summary="race")
        winners, losers = _race([
            ("sam", lambda r=request: services.approval_decide(actor=world.sam, request_id=r.pk, approve=True)),
            ("henry", lambda r=request: services.approval_decide(actor=world.henry, request_id=r.pk, approve=False,
                                                                 reason="不行")),
        ])
        assert len(winners) == 1, (winners, losers)
        assert [code for _name, code in losers] == ["already_decided"]
        final = ApprovalRequest.objects.get(pk=request.pk)
        assert final.status == ("approved" if winners == ["sam"] else "rejected")
        step = ApprovalStep.objects.get(request=request)
        assert step.decided_by_id == (world.sam.pk if winners == ["sam"] else world.henry.pk)
        assert ApprovalEvent.objects.filter(request=request, action__startswith="step_").count() == 1
    assert len(thing.calls) == 3


@pytest.mark.django_db(transaction=True)
def test_parallel_steps_decided_at_once_never_lose_the_final_approval(world, thing):
    services.policy_create(actor=world.adam, name="Both", kind=KIND, steps=[
        {"stage": 1, "approver": "supervisor"}, {"stage": 1, "approver": "finance"}])
    request = services.approval_submit(actor=world.alice, kind=KIND, subject_id=200,
                                       facts=ApprovalFacts(amount=Decimal(1)), summary="parallel race")
    actors = {"sam": world.sam, "fiona": world.fiona}
    winners, losers = _race([(name, lambda a=actor: services.approval_decide(actor=a, request_id=request.pk,
                                                                             approve=True))
                             for name, actor in actors.items()])
    assert len(winners) + len(losers) == 2 and winners
    for name, _code in losers:  # the one told "changed meanwhile" decides again
        services.approval_decide(actor=actors[name], request_id=request.pk, approve=True)
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"
    assert thing.calls == [("approved", 200, thing.calls[0][2])]
