"""NUL characters: refused by the API (422 naming where), dropped from page query strings — never a 500,
never written (PostgreSQL refuses them in text)."""

from __future__ import annotations

import json

import pytest

from kamguard.customers.models import Customer


@pytest.mark.django_db
def test_the_api_refuses_a_nul_in_a_json_body_and_writes_nothing(world, client_for):
    client = client_for(world.alice)
    # when
    response = client.post("/api/v1/customers", data=json.dumps({"name": "某\u0000公司"}),
                           content_type="application/json")
    # then
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "nul_character" and problem["errors"][0]["field"] == "name"
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_nul_in_a_query_parameter(world, client_for):
    response = client_for(world.alice).get("/api/v1/customers", {"search": "a\x00b"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "search"


@pytest.mark.django_db
def test_a_page_drops_a_nul_from_its_query_string(world, client_for):
    # when: a search pasted with a NUL (on PostgreSQL this was a 500)
    response = client_for(world.alice).get("/customers/", {"q": "平安\x00银行"})
    # then: the page answers, searching for what remains
    assert response.status_code == 200
    assert "平安银行" in response.content.decode()


def test_a_validators_message_reaches_the_user_without_pydantics_prefix(rf):
    from ninja.errors import ValidationError

    from kamguard.core.api import _validation_error

    # given: what pydantic reports for a field validator that raised ValueError("金额必须为正数。")
    exc = ValidationError([{"type": "value_error", "loc": ("body", "payload", "amount"),
                            "msg": "Value error, 金额必须为正数。"},
                           {"type": "missing", "loc": ("body", "payload", "name"), "msg": "Field required"}])
    # when
    response = _validation_error(rf.post("/api/v1/x"), exc)
    # then
    assert json.loads(response.content)["errors"] == [{"field": "amount", "message": "金额必须为正数。"},
                                                      {"field": "name", "message": "Field required"}]
