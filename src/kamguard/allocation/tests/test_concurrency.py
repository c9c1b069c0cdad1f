"""Two (or more) intake workers at once: never two owners for one customer, never a round-robin turn taken
twice from the same cursor. Real threads on the test database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from kamguard.allocation.models import AllocationDecision, Intake, RoundRobinCursor
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.services.rulesets import version_ruleset
from kamguard.allocation.services.state import LoadedState, cursors_commit, state_load
from kamguard.allocation.tests.conftest import COMPANY_NAMES
from kamguard.core.errors import Conflict
from kamguard.customers.models import Customer, OwnershipChange


def _run(workers: list[threading.Thread]) -> None:
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_intake_keeps_round_robin_exact(world, alloc):
    # given eight distinct Shanghai leads submitted by eight workers at the same moment
    names = COMPANY_NAMES[:8]
    barrier = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def submit(name: str) -> None:
        try:
            barrier.wait()
            intake_submit(actor=None, channel="api", fields={"name": name, "region": "310115"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    _run([threading.Thread(target=submit, args=(n,)) for n in names])
    # then every lead was allocated once, the cursor moved once per lead, and the turn went round evenly
    assert errors == []
    assert Intake.objects.filter(outcome="allocated").count() == len(names)
    assert RoundRobinCursor.objects.get(team=world.team_a).version == len(names)
    owners = Counter(Customer.objects.filter(intakes__isnull=False).values_list("owner_id", flat=True))
    assert set(owners) == {world.alice.pk, world.bob.pk, world.sue.pk}
    assert max(owners.values()) - min(owners.values()) <= 1
    # and the log replays: each decision's chosen person follows the previous one in member order
    members = [world.alice.pk, world.bob.pk, world.sue.pk]
    sequence = list(AllocationDecision.objects.order_by("pk").values_list("person_id", flat=True))
    for previous, current in zip(sequence, sequence[1:], strict=False):
        assert members.index(current) == (members.index(previous) + 1) % 3


@pytest.mark.django_db(transaction=True)
def test_the_same_lead_from_two_workers_gets_one_owner(world, alloc):
    # given the same company arriving through the form and the API at once, several times
    for trial in range(3):
        name = COMPANY_NAMES[10 + trial]
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def submit(channel: str, name: str = name, barrier: threading.Barrier = barrier,
                   outcomes: list[str] = outcomes) -> None:
            try:
                barrier.wait()
                outcomes.append(intake_submit(actor=None, channel=channel,
                                              fields={"name": name, "region": "310115"}).outcome)
            finally:
                connection.close()

        _run([threading.Thread(target=submit, args=(c,)) for c in ("form", "api")])
        # then one customer with one owner; the other lead went to that owner's attention
        assert sorted(outcomes) == ["allocated", "duplicate"], outcomes
        customer = Customer.objects.get(name=name)
        assert customer.owner_id is not None
        assert OwnershipChange.objects.filter(customer=customer).count() == 1


def test_a_stale_cursor_cannot_move_twice(world, alloc):
    """The conditional update is the last line of defence behind the lock: a worker that loaded the cursor
    before another moved it fails instead of moving it again."""
    ruleset = version_ruleset(alloc.version)
    intake_submit(actor=None, channel="api", fields={"name": COMPANY_NAMES[0], "region": "310115"})
    first: LoadedState = state_load(ruleset=ruleset)
    second: LoadedState = state_load(ruleset=ruleset)
    for loaded in (first, second):
        loaded.state.teams[world.team_a.pk].cursor = world.sue.pk
    cursors_commit(loaded=first)
    with pytest.raises(Conflict):
        cursors_commit(loaded=second)
    assert RoundRobinCursor.objects.get(team=world.team_a).version == 2
