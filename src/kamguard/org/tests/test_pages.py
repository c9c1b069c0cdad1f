"""Organisation pages: the same matrix through the browser's eyes."""

import pytest

from kamguard.core.models import AuditEvent
from kamguard.org.models import Department, User


@pytest.mark.parametrize(
    ("persona", "detail", "edit"),
    [("alice", 200, 403), ("bob", 404, 403), ("sam", 200, 403), ("carol", 404, 403), ("audrey", 200, 403),
     ("adam", 200, 200)],
)
def test_person_pages_matrix(world, client_for, persona, detail, edit):
    client = client_for(world.person(persona))
    assert client.get(f"/org/people/{world.alice.pk}/").status_code == detail
    assert client.get(f"/org/people/{world.alice.pk}/edit/").status_code == edit
    response = client.post(f"/org/people/{world.alice.pk}/edit/", {"username": "alice", "full_name": "被改了"})
    assert User.objects.get(pk=world.alice.pk).full_name == ("被改了" if edit == 200 else "李爱丽")
    assert response.status_code in (302, 403)


def test_masked_phone_on_the_list_and_reveal_is_audited(world, client_for):
    client = client_for(world.person("sam"))
    body = client.get("/org/people/").content.decode()
    assert "13800138000" not in body and "8000" in body
    revealed = client.post(f"/org/people/{world.alice.pk}/reveal/phone/", HTTP_HX_REQUEST="true")
    assert "+8613800138000" in revealed.content.decode()
    assert AuditEvent.objects.filter(action="pii.revealed", actor=world.sam).count() == 1


def test_manager_cannot_reveal_and_is_refused(world, client_for):
    client = client_for(world.person("bob"))
    response = client.post(f"/org/people/{world.bob.pk}/reveal/phone/")
    assert response.status_code == 200  # own data
    response = client.post(f"/org/people/{world.alice.pk}/reveal/phone/")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="pii.revealed", object_id=str(world.alice.pk)).exists()


def test_department_form_shows_cycle_error_in_place(world, client_for):
    client = client_for(world.person("adam"))
    response = client.post(f"/org/departments/{world.company.pk}/edit/",
                           {"name": "总公司", "parent": world.east.pk})
    assert response.status_code == 200
    assert "sub-departments" in response.content.decode() or "下级" in response.content.decode()
    assert Department.objects.get(pk=world.company.pk).parent_id is None


def test_create_person_with_incompatible_roles_shows_error(world, client_for):
    client = client_for(world.person("adam"))
    response = client.post("/org/people/new/", {"username": "dual", "full_name": "双角色",
                                                 "roles": ["auditor", "manager"]})
    assert response.status_code == 200
    assert not User.objects.filter(username="dual").exists()


def test_list_page_queries_do_not_grow_with_people(world, client_for, django_assert_max_num_queries):
    from kamguard.org import services

    for i in range(30):
        services.user_create(actor=None, username=f"m{i}", full_name=f"经理{i}", department=world.east,
                             team=world.team_a, roles=["manager"], supervisor=world.sam)
    client = client_for(world.person("adam"))
    with django_assert_max_num_queries(25):
        assert client.get("/org/people/").status_code == 200


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey", "adam"])
def test_menus_differ_by_role(world, client_for, persona):
    body = client_for(world.person(persona)).get("/").content.decode()
    assert ('data-nav="audit"' in body) == (persona in {"audrey", "adam"})
    assert ('data-nav="people"' in body)
