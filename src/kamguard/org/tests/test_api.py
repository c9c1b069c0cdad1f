"""HTTP API of the organisation: the permission matrix (self, teammate, supervisor, outsider, auditor, admin),
problem details, keyset pagination, and that a refusal changes nothing."""

import json

import pytest

from kamguard.core.models import AuditEvent
from kamguard.org.models import Department, RoleAssignment, User

PERSONAS = ["alice", "bob", "sam", "carol", "audrey", "adam"]


def _state(world):
    alice = User.objects.get(pk=world.alice.pk)
    return (alice.full_name, alice.phone, alice.is_active, alice.supervisor_id,
            sorted(RoleAssignment.objects.filter(user=alice).values_list("role", flat=True)),
            Department.objects.count())


@pytest.mark.parametrize(
    ("persona", "see", "change", "reveal"),
    [
        ("alice", 200, 403, 200),  # self: sees and reveals own data, cannot edit own record
        ("bob", 404, 404, 404),  # teammate (manager, own scope): alice is invisible
        ("sam", 200, 403, 200),  # supervisor: sees, may reveal, may not administer
        ("carol", 404, 404, 404),  # outsider
        ("audrey", 200, 403, 200),  # auditor: reads everything, changes nothing
        ("adam", 200, 200, 200),  # admin
    ],
)
def test_person_endpoints_matrix(world, client_for, persona, see, change, reveal):
    client = client_for(world.person(persona))
    url = f"/api/v1/org/users/{world.alice.pk}"
    before = _state(world)

    got = client.get(url)
    assert got.status_code == see
    if see == 200:
        body = got.json()
        assert body["username"] == "alice"
        assert body["contact_masked"] == (persona != "alice")
        assert ("13800138000" in body["phone"]) == (persona == "alice")
    else:
        assert got["Content-Type"].startswith("application/problem+json")

    patched = client.patch(url, json.dumps({"full_name": "改名", "reason": "test"}), content_type="application/json")
    assert patched.status_code == change
    if change != 200:
        assert _state(world) == before

    revealed = client.post(f"{url}/reveal", json.dumps({"field": "phone"}), content_type="application/json")
    assert revealed.status_code == reveal
    if reveal == 200:
        assert revealed.json()["value"] == "+8613800138000"
        if persona != "alice":
            assert AuditEvent.objects.filter(action="pii.revealed", actor=world.person(persona)).exists()


@pytest.mark.parametrize("persona", ["alice", "bob", "sam", "carol", "audrey"])
def test_only_admin_changes_roles_and_refusal_is_audited(world, client_for, persona):
    client = client_for(world.person(persona))
    before = _state(world)
    response = client.put(f"/api/v1/org/users/{world.alice.pk}/roles", json.dumps({"roles": ["supervisor"]}),
                          content_type="application/json")
    assert response.status_code in (403, 404)
    assert _state(world) == before
    if response.status_code == 403:
        assert AuditEvent.objects.filter(action="permission.refused", actor=world.person(persona)).exists()


def test_role_conflict_via_api_is_a_422_problem(world, client_for):
    client = client_for(world.person("adam"))
    response = client.put(f"/api/v1/org/users/{world.alice.pk}/roles",
                          json.dumps({"roles": ["manager", "auditor"]}), content_type="application/json")
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "role_conflict" and problem["status"] == 422
    assert set(RoleAssignment.objects.filter(user=world.alice).values_list("role", flat=True)) == {"manager"}


@pytest.mark.parametrize(("persona", "status"), [("alice", 403), ("sam", 403), ("audrey", 403), ("hanna", 403),
                                                 ("adam", 201)])
def test_department_create_matrix(world, client_for, persona, status):
    client = client_for(world.person(persona))
    count = Department.objects.count()
    response = client.post("/api/v1/org/departments", json.dumps({"name": "新部门", "parent_id": world.east.pk}),
                           content_type="application/json")
    assert response.status_code == status
    assert Department.objects.count() == count + (1 if status == 201 else 0)


def test_department_cycle_via_api_names_the_field(world, client_for):
    client = client_for(world.person("adam"))
    response = client.patch(f"/api/v1/org/departments/{world.company.pk}",
                            json.dumps({"parent_id": world.east.pk}), content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "parent"
    assert Department.objects.get(pk=world.company.pk).parent_id is None


def test_unknown_reference_is_a_422_not_a_500(world, client_for):
    client = client_for(world.person("adam"))
    response = client.post("/api/v1/org/users", json.dumps({"username": "x1", "full_name": "某人",
                                                            "department_id": 987654}),
                           content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "department_id"
    assert not User.objects.filter(username="x1").exists()


def test_wrong_types_are_a_422_problem(world, client_for):
    client = client_for(world.person("adam"))
    response = client.post("/api/v1/org/users", json.dumps({"username": 5, "full_name": ["x"]}),
                           content_type="application/json")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")


def test_keyset_pagination_walks_the_whole_scope_once(world, client_for):
    client = client_for(world.person("adam"))
    seen, cursor = [], None
    while True:
        url = "/api/v1/org/users?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        seen += [p["username"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == User.objects.count()


def test_bad_cursor_is_a_422(world, client_for):
    response = client_for(world.person("adam")).get("/api/v1/org/users?cursor=!!notacursor")
    assert response.status_code == 422


def test_unauthenticated_gets_401_problem(world, client):
    response = client.get("/api/v1/org/users")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert "Traceback" not in response.content.decode()


def test_supervisor_lists_only_their_scope(world, client_for):
    items = client_for(world.person("sam")).get("/api/v1/org/users?limit=50").json()["items"]
    assert {p["username"] for p in items} == {"alice", "bob", "sue", "henry", "sam"}
