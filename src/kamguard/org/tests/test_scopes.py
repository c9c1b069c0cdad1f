"""Data scopes: every persona sees exactly their set, in lists, details, counts and search alike."""

import pytest

from kamguard.core.errors import NotFound
from kamguard.org import selectors
from kamguard.org.models import Share

EVERYONE = {"alice", "bob", "sue", "henry", "sam", "carol", "audrey", "adam", "hanna", "fiona"}


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("alice", {"alice"}),  # a manager: own
        ("sue", {"alice", "bob", "sue"}),  # a specialist: team
        ("sam", {"alice", "bob", "sue", "henry", "sam"}),  # a supervisor: department and below, plus reports
        ("carol", {"carol"}),
        ("audrey", EVERYONE),  # auditor: all, read-only
        ("adam", EVERYONE),
        ("hanna", EVERYONE),
    ],
)
def test_people_in_scope(world, viewer, expected):
    user = world.person(viewer)
    listed = set(selectors.user_list(viewer=user, is_active=None).values_list("username", flat=True))
    assert listed == expected
    # the count and a search see the same set
    assert selectors.user_list(viewer=user).count() == len(expected)
    assert set(selectors.user_list(viewer=user, search="a").values_list("username", flat=True)) <= expected


def test_detail_outside_scope_looks_missing(world):
    with pytest.raises(NotFound):
        selectors.user_get(viewer=world.person("alice"), user_id=world.bob.pk)
    with pytest.raises(NotFound):
        selectors.user_get(viewer=world.person("sam"), user_id=world.carol.pk)
    with pytest.raises(NotFound):
        selectors.user_get(viewer=world.person("alice"), user_id=999999)


def test_sub_departments_are_in_a_supervisors_scope(world):
    from kamguard.org import services

    sub = services.department_create(actor=world.adam, name="上海分部", parent=world.east)
    deep = services.user_create(actor=world.adam, username="deep", full_name="深层", department=sub, roles=["manager"])
    assert selectors.user_list(viewer=world.person("sam")).filter(pk=deep.pk).exists()


def test_deactivated_viewer_sees_nothing(world):
    from kamguard.org import services

    services.user_update(actor=world.adam, user=world.sam, is_active=False)
    assert selectors.user_list(viewer=world.person("sam"), is_active=None).count() == 0


def test_shared_with_me_extends_own_scope_for_that_object_type_only(world):
    from kamguard.org.models import User
    from kamguard.org.scopes import scope_q

    Share.objects.create(object_type="org.user", object_id=str(world.bob.pk), shared_with=world.alice)
    alice = world.person("alice")
    shared = User.objects.filter(scope_q(alice, owner_path="", object_type="org.user"))
    assert set(shared.values_list("username", flat=True)) == {"alice", "bob"}
    unshared = User.objects.filter(scope_q(alice, owner_path="", object_type="other.kind"))
    assert set(unshared.values_list("username", flat=True)) == {"alice"}
