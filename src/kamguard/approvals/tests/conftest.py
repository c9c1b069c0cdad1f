"""Approvals fixtures: a test subject kind whose handler records what the engine told it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kamguard.approvals.registry import SubjectHandler, subject_register, subject_unregister

KIND = "tests.thing"


@dataclass
class Recorder(SubjectHandler):
    kind: str = KIND
    label: Any = "Test thing"
    calls: list[tuple[str, int, int | None]] = field(default_factory=list)
    party_ids: dict[int, tuple[int, ...]] = field(default_factory=dict)
    fail_on_approve: bool = False

    def describe(self, subject_id: int) -> str:
        return f"Thing {subject_id}"

    def url(self, subject_id: int) -> str:
        return f"/things/{subject_id}/"

    def parties(self, subject_id: int) -> tuple[int, ...]:
        return self.party_ids.get(subject_id, ())

    def on_approved(self, request: Any, *, actor: Any) -> None:
        if self.fail_on_approve:
            raise RuntimeError("subject refused")
        self.calls.append(("approved", request.subject_id, actor.pk if actor else None))

    def on_rejected(self, request: Any, *, actor: Any) -> None:
        self.calls.append(("rejected", request.subject_id, actor.pk if actor else None))

    def on_withdrawn(self, request: Any, *, actor: Any) -> None:
        self.calls.append(("withdrawn", request.subject_id, actor.pk if actor else None))


@pytest.fixture
def thing() -> Any:
    handler = Recorder()
    subject_register(handler)
    yield handler
    subject_unregister(KIND)


@pytest.fixture
def policy(world: Any, thing: Any) -> Any:
    """Supervisor for everything; supervisor then finance from 100,000."""
    from kamguard.approvals.services import policy_create

    big = policy_create(actor=world.adam, name="Big things", kind=KIND, priority=10, min_amount="100000",
                        steps=[{"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "finance"}])
    small = policy_create(actor=world.adam, name="Small things", kind=KIND, priority=20, min_amount="1000",
                          steps=[{"stage": 1, "approver": "supervisor"}])
    return {"big": big, "small": small}
