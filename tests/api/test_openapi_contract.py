"""The HTTP API against its own OpenAPI document, with schemathesis: generated requests for every operation.

Each operation gets a bounded, deterministic run (MAX_EXAMPLES examples, derandomized) as the administrator
with a read-write personal access token, over the persona world. The checks: no response is a server error
(5xx), every status code and media type is one the document declares, and every body matches its schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kamguard.api import api

pytestmark = pytest.mark.contract

MAX_EXAMPLES = int(os.environ.get("KAMGUARD_CONTRACT_EXAMPLES", "20"))


@schemathesis.check
def errors_are_problem_details(ctx, response, case):  # type: ignore[no-untyped-def]
    """Every 4xx/5xx is RFC 9457 application/problem+json, with its status and a title, without a stack trace.

    405 (a method the path does not have) is left to tests/test_project.py, which names it on its own.
    """
    if response.status_code < 400 or response.status_code == 405:
        return None
    values = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
    media_type = (values[0] if isinstance(values, list) else values).split(";")[0].strip()
    if media_type != "application/problem+json":
        raise AssertionError(f"{response.status_code} answered as {media_type!r}, not application/problem+json")
    body = response.json()
    if body.get("status") != response.status_code or not body.get("title"):
        raise AssertionError(f"problem details without matching status and a title: {body}")
    if "Traceback" in response.text:
        raise AssertionError("a stack trace in an error response")
    return None


# content_type_conformance is replaced by errors_are_problem_details: django-ninja documents every response
# as application/json, while errors are (rightly) application/problem+json.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, errors_are_problem_details]

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
schema.app = get_wsgi_application()  # requests go straight to Django, no server
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


@pytest.fixture
def wsgi_inside_test_transaction() -> Iterator[None]:
    """Keep Django from closing the test's database connection at the end of each request.

    The WSGI handler closes old connections when a request starts and finishes; pytest-django holds the
    test inside one transaction on that connection. Django's own test client disconnects the same signal.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(world, wsgi_inside_test_transaction) -> str:  # type: ignore[no-untyped-def]
    from kamguard.accounts.services import token_create

    _, secret = token_create(actor=world.adam, name="schemathesis", scopes=["read", "write"], expires_in_days=1)
    return secret


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_operation_conforms_to_its_schema(case, admin_token):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
