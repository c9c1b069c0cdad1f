"""Every request and response schema of the API has a name of its own.

django-ninja files each schema under its class name in the OpenAPI document's components; two classes of the same
name in two apps overwrite each other there, and the document then describes one app's payload with the other's
fields (the contract test found the audit log's events described as the approvals' events).
"""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

import kamguard.api  # noqa: F401  (imports every app's API module)

# Query-parameter schemas are flattened into each operation's parameters, never filed as components.
QUERY_PARAMETERS = {"ListParams"}


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found += _subclasses(sub)
    return found


def test_no_two_api_schemas_share_a_name() -> None:
    modules: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(Schema):
        if cls.__module__.startswith("kamguard.") and cls.__name__ not in QUERY_PARAMETERS:
            modules[cls.__name__].add(cls.__module__)
    shared = {name: sorted(where) for name, where in modules.items() if len(where) > 1}
    assert shared == {}


def test_the_audit_events_are_described_by_the_audit_schema() -> None:
    document = kamguard.api.api.get_openapi_schema(path_prefix="/api/v1")
    properties = document["components"]["schemas"]["EventOut"]["properties"]
    assert {"sequence", "occurred_at", "object_type"} <= set(properties)
    assert "ApprovalEventOut" in document["components"]["schemas"]
