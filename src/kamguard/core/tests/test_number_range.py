"""Integers beyond what the databases store (a signed 64-bit BIGINT): refused by the API (422 naming where), a
page path with one is not found, a page query parameter with one is dropped — never a 500 (SQLite raised
OverflowError, PostgreSQL 'out of range')."""

from __future__ import annotations

import json

import pytest

from kamguard.customers.models import Customer

HUGE = "950292792372550923183577890816"


@pytest.mark.django_db
def test_the_api_refuses_a_huge_integer_in_a_query_parameter(world, client_for):
    response = client_for(world.alice).get("/api/v1/records/market", {"customer_id": HUGE})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "number_out_of_range" and problem["errors"][0]["field"] == "customer_id"


@pytest.mark.django_db
def test_the_api_refuses_a_huge_integer_in_a_json_body_and_writes_nothing(world, client_for):
    # when: a nested value is too large
    body = {"name": "上海仪表科技有限公司", "owner_id": int(HUGE)}
    response = client_for(world.alice).post("/api/v1/customers", data=json.dumps(body),
                                            content_type="application/json")
    # then
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "owner_id", "message": "数字过大。"}]  # the default language
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_huge_integer_in_an_api_path_is_not_found(world, client_for):
    response = client_for(world.alice).get(f"/api/v1/customers/{HUGE}")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_the_largest_stored_integer_still_passes_to_the_endpoint(world, client_for):
    # the edge: 2**63 - 1 is a valid id that simply does not exist
    response = client_for(world.alice).get(f"/api/v1/customers/{2**63 - 1}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_page_path_with_a_huge_integer_is_not_found(world, client_for):
    assert client_for(world.alice).get(f"/customers/{HUGE}/").status_code == 404


@pytest.mark.django_db
def test_a_page_drops_a_huge_integer_from_its_query_string(world, client_for):
    response = client_for(world.alice).get("/activities/", {"customer": HUGE})
    assert response.status_code == 200
