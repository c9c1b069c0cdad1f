"""Someone who sees everything keeps seeing everything when a selector widens their scope with OR."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Q

from kamguard.org.models import User
from kamguard.org.scopes import scope_q

pytestmark = pytest.mark.django_db


def test_an_auditors_scope_or_another_condition_is_still_everyone(world: Any) -> None:
    everyone = set(User.objects.values_list("pk", flat=True))
    widened = User.objects.filter(scope_q(world.audrey, owner_path="") | Q(pk=world.alice.pk))
    assert set(widened.values_list("pk", flat=True)) == everyone


def test_a_managers_scope_or_another_condition_adds_just_that(world: Any) -> None:
    widened = User.objects.filter(scope_q(world.alice, owner_path="") | Q(pk=world.carol.pk))
    assert set(widened.values_list("pk", flat=True)) == {world.alice.pk, world.carol.pk}


def test_everything_and_another_condition_is_that_condition(world: Any) -> None:
    narrowed = User.objects.filter(scope_q(world.audrey, owner_path=""), Q(pk=world.bob.pk))
    assert list(narrowed.values_list("pk", flat=True)) == [world.bob.pk]
