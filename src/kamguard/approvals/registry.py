"""Subject handlers: how the engine talks to the app that owns the thing being approved.

An app subclasses `SubjectHandler`, sets `kind` and `label`, and registers an instance in its
`AppConfig.ready()`:

    from kamguard.approvals.registry import SubjectHandler, subject_register
    subject_register(QuoteHandler())

The engine calls `on_approved` / `on_rejected` / `on_withdrawn` inside the deciding transaction, so the
subject's change and the approval commit or roll back together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kamguard.approvals.domain import StepSpec

if TYPE_CHECKING:
    from kamguard.approvals.models import ApprovalRequest
    from kamguard.org.models import User


class SubjectHandler:
    kind: str = ""
    label: Any = ""
    # The chain used when no policy of this kind matches. Empty (the default): no matching policy means the
    # request is approved automatically, and recorded as such.
    default_steps: tuple[StepSpec, ...] = ()

    def describe(self, subject_id: int) -> str:
        """One line for the inbox."""
        return f"{self.label} #{subject_id}"

    def url(self, subject_id: int) -> str:
        """The subject's page ("" when it has none)."""
        return ""

    def parties(self, subject_id: int) -> tuple[int, ...]:
        """Users who created or changed the subject: none of them may approve it."""
        return ()

    def check_decide(self, request: ApprovalRequest, *, actor: User, approve: bool) -> None:
        """Subject-specific refusals before a decision is recorded (raise a DomainError)."""

    def on_approved(self, request: ApprovalRequest, *, actor: User | None) -> None:
        """The request is finally approved (also when approved automatically at submission)."""

    def on_rejected(self, request: ApprovalRequest, *, actor: User | None) -> None:
        """A step rejected the request."""

    def on_withdrawn(self, request: ApprovalRequest, *, actor: User | None) -> None:
        """The requester withdrew the request. By default the same as a rejection."""
        self.on_rejected(request, actor=actor)


_HANDLERS: dict[str, SubjectHandler] = {}


def subject_register(handler: SubjectHandler) -> SubjectHandler:
    """Register (or replace: `ready()` may run twice in tests) the handler for `handler.kind`."""
    if not handler.kind:
        raise ValueError("A subject handler needs a kind.")
    _HANDLERS[handler.kind] = handler
    return handler


def subject_unregister(kind: str) -> None:
    _HANDLERS.pop(kind, None)


def handler_for(kind: str) -> SubjectHandler | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> list[tuple[str, str]]:
    return sorted(((kind, str(h.label or kind)) for kind, h in _HANDLERS.items()), key=lambda pair: pair[0])
