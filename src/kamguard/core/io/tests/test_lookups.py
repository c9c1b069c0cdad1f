"""`keys_in`: the rows `__in` finds, with the keys as one parameter."""

from __future__ import annotations

import pytest

from kamguard.core.io.lookups import keys_in
from kamguard.org.models import User

pytestmark = pytest.mark.django_db


def test_keys_in_finds_what_in_finds(world):
    people = list(User.objects.order_by("pk"))
    assert len(people) >= 3
    first, second = people[0], people[1]
    User.objects.filter(pk=first.pk).update(external_id="E-1")
    User.objects.filter(pk=second.pk).update(external_id="E-'2\"")  # quotes travel as data
    for keys in (["E-1", "E-'2\"", "nobody", "E-1"], {"E-1"}, [], ["", "nobody"]):
        expected = set(User.objects.filter(external_id__in=keys).values_list("pk", flat=True))
        assert set(User.objects.filter(keys_in(User, "external_id", keys)).values_list("pk", flat=True)) == expected
    assert set(User.objects.filter(keys_in(User, "external_id", ["E-1", "E-'2\""])).values_list(
        "pk", flat=True)) == {first.pk, second.pk}
    ids = [p.pk for p in people[:2]] + [10**9]
    assert set(User.objects.filter(keys_in(User, "id", ids)).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert not User.objects.filter(keys_in(User, "id", [])).exists()
    assert set(User.objects.filter(keys_in(User, "department_id", [first.department_id])).values_list(
        "pk", flat=True)) == set(User.objects.filter(department_id=first.department_id).values_list("pk", flat=True))
