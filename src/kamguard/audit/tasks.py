"""Background jobs of the audit trail. The scheduler enqueues `audit_chain_verify` daily."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from kamguard.audit.services import chain_verify_and_record
from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta


@task()
def audit_chain_verify() -> dict[str, Any]:
    """Verify the whole chain and record `audit.chain.verified` (ok/broken, count, first bad sequence).

    Safe to run twice: a second run that finds the same outcome with nothing appended since records nothing.
    """
    token = set_request_meta(RequestMeta(channel="task"))
    try:
        return chain_verify_and_record(actor=None).as_dict()
    finally:
        reset_request_meta(token)
