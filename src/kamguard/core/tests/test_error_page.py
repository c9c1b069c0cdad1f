"""The refusal page says why: a service's own reason for a 403 is shown; a 404 never says more than 'not found'."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation

from kamguard.core.errors import NotFound, PermissionRefused
from kamguard.core.pages import error_page


@pytest.fixture
def request_():  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    return request


def test_a_refusal_shows_its_own_reason(request_) -> None:  # type: ignore[no-untyped-def]
    with translation.override("en"):
        response = error_page(request_, PermissionRefused("You are a party to this transfer, so someone else must decide it."))
    assert response.status_code == 403
    assert "You are a party to this transfer" in response.content.decode()


def test_a_refusal_without_a_reason_shows_the_general_one(request_) -> None:  # type: ignore[no-untyped-def]
    with translation.override("en"):
        response = error_page(request_, PermissionRefused())
    assert "Ask an administrator" in response.content.decode()


def test_not_found_says_no_more_than_not_found(request_) -> None:  # type: ignore[no-untyped-def]
    with translation.override("en"):
        response = error_page(request_, NotFound("customer 12 is owned by 王博"))
    body = response.content.decode()
    assert response.status_code == 404 and "王博" not in body and "Not found" in body
