"""Organisation services: validation, segregation of duties, audit, and that refusals change nothing."""

import pytest

from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.org import services
from kamguard.org.models import Department, RoleAssignment, User


def test_department_move_rewrites_the_subtree_paths(world):
    # given a sub-department under East
    sub = services.department_create(actor=world.adam, name="上海分部", parent=world.east)
    leaf = services.department_create(actor=world.adam, name="浦东组", parent=sub)
    # when East's sub-department moves under West
    services.department_update(actor=world.adam, department=sub, parent=world.west)
    # then the whole subtree's paths follow
    leaf.refresh_from_db()
    assert leaf.path == f"{world.west.path}{sub.pk}/{leaf.pk}/"
    assert leaf.depth == 3


def test_department_cannot_go_under_its_own_descendant(world):
    sub = services.department_create(actor=world.adam, name="上海分部", parent=world.east)
    before = list(Department.objects.values_list("pk", "parent_id", "path"))
    with pytest.raises(ValidationFailed) as caught:
        services.department_update(actor=world.adam, department=world.east, parent=sub)
    assert "parent" in caught.value.field_errors
    assert list(Department.objects.values_list("pk", "parent_id", "path")) == before


def test_department_write_is_audited_with_before_and_after(world):
    services.department_update(actor=world.adam, department=world.east, name="华东大区", reason="renamed")
    event = AuditEvent.objects.filter(action="org.department.updated").latest("sequence")
    assert event.actor_id == world.adam.pk
    assert event.changes["name"] == {"before": "华东销售部", "after": "华东大区"}
    assert event.reason == "renamed"


def test_manager_cannot_change_the_organisation_and_nothing_changes(world):
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionRefused):
        services.department_create(actor=world.alice, name="私人部门", parent=world.east)
    assert not Department.objects.filter(name="私人部门").exists()
    assert AuditEvent.objects.count() == events


def test_person_cannot_be_own_supervisor(world):
    with pytest.raises(ValidationFailed) as caught:
        services.user_update(actor=world.adam, user=world.alice, supervisor=world.alice)
    assert "supervisor" in caught.value.field_errors
    assert world.person("alice").supervisor_id == world.sam.pk


def test_supervisor_loop_is_refused(world):
    with pytest.raises(ValidationFailed):
        services.user_update(actor=world.adam, user=world.sam, supervisor=world.alice)
    assert world.person("sam").supervisor_id is None


def test_phone_is_normalised_and_bad_phone_refused(world):
    person = services.user_create(actor=world.adam, username="newbie", full_name="新人", phone="138 0013 8999")
    assert person.phone == "+8613800138999"
    with pytest.raises(ValidationFailed) as caught:
        services.user_create(actor=world.adam, username="newbie2", full_name="新人二", phone="12345")
    assert "phone" in caught.value.field_errors
    assert not User.objects.filter(username="newbie2").exists()


def test_incompatible_roles_refused_on_create_and_on_change(world):
    with pytest.raises(ValidationFailed) as caught:
        services.user_create(actor=world.adam, username="double", full_name="两面人", roles=["auditor", "manager"])
    assert caught.value.code == "role_conflict"
    assert not User.objects.filter(username="double").exists()
    with pytest.raises(ValidationFailed):
        services.user_set_roles(actor=world.adam, user=world.alice, roles=["manager", "finance"])
    assert set(RoleAssignment.objects.filter(user=world.alice).values_list("role", flat=True)) == {"manager"}


def test_declared_pair_is_enforced_and_removal_is_audited(world):
    conflict = services.role_conflict_add(actor=world.adam, role_a="specialist", role_b="hr", reason="HR 不做业务")
    with pytest.raises(ValidationFailed):
        services.user_set_roles(actor=world.adam, user=world.sue, roles=["specialist", "hr"])
    services.role_conflict_remove(actor=world.adam, conflict_id=conflict.pk, reason="政策调整")
    services.user_set_roles(actor=world.adam, user=world.sue, roles=["specialist", "hr"])
    assert AuditEvent.objects.filter(action="org.role_conflict.removed", reason="政策调整").exists()


def test_pair_cannot_be_declared_while_someone_holds_both(world):
    services.user_set_roles(actor=world.adam, user=world.sue, roles=["specialist", "hr"])
    with pytest.raises(ValidationFailed) as caught:
        services.role_conflict_add(actor=world.adam, role_a="hr", role_b="specialist", reason="x")
    assert caught.value.code == "role_conflict_held"


def test_nobody_changes_their_own_roles(world):
    with pytest.raises(PermissionRefused):
        services.user_set_roles(actor=world.adam, user=world.adam, roles=["admin", "hr"])
    assert set(RoleAssignment.objects.filter(user=world.adam).values_list("role", flat=True)) == {"admin"}


def test_only_an_admin_grants_admin(world):
    with pytest.raises(PermissionRefused):
        services.user_set_roles(actor=world.hanna, user=world.bob, roles=["admin"])
    assert not world.person("bob").has_role("admin")


def test_deactivating_ends_sessions_and_is_audited(world, client_for):
    client = client_for(world.alice)
    assert client.get("/org/people/").status_code == 200
    services.user_update(actor=world.adam, user=world.alice, is_active=False, reason="离职")
    response = client.get("/org/people/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert AuditEvent.objects.filter(action="auth.sessions_ended", object_id=str(world.alice.pk)).exists()


def test_admin_cannot_deactivate_themselves(world):
    with pytest.raises(ValidationFailed):
        services.user_update(actor=world.adam, user=world.adam, is_active=False)
    assert world.person("adam").is_active


def test_expired_time_boxed_role_gives_no_rights(world):
    import datetime as dt

    from django.utils import timezone

    external = services.user_create(actor=world.adam, username="ext", full_name="外审", roles=["external_auditor"])
    RoleAssignment.objects.filter(user=external).update(valid_until=timezone.now() - dt.timedelta(minutes=1))
    external = User.objects.get(pk=external.pk)
    assert external.roles == frozenset()
    assert not external.rights
