"""Building the demo through the services: the rows, the reporting lines and the audit trail."""

from __future__ import annotations

from collections import Counter

from kamguard.core.models import AuditEvent
from kamguard.demo.build import BuiltWorld
from kamguard.demo.plan import DEMO_PASSWORD, plan_world
from kamguard.demo.tests.conftest import AS_OF
from kamguard.org.models import Department, Grade, Industry, Post, RoleAssignment, Team, User


def _roles_of_active() -> Counter[str]:
    return Counter(RoleAssignment.objects.filter(user__is_active=True).values_list("role", flat=True))


def test_default_world_has_the_expected_people_per_role(db: None, demo_world: BuiltWorld) -> None:
    assert _roles_of_active() == {"manager": 40, "specialist": 8, "supervisor": 4, "auditor": 1, "finance": 1,
                                  "hr": 1, "admin": 1}
    assert User.objects.count() == 58
    assert User.objects.filter(is_active=False).count() == 2
    assert Team.objects.count() == 8
    assert Department.objects.count() == 8


def test_every_manager_has_a_team_and_a_supervisor(db: None, demo_world: BuiltWorld) -> None:
    managers = User.objects.filter(role_assignments__role__in=["manager", "specialist"])
    assert managers.count() == 50
    for person in managers.select_related("team", "supervisor"):
        assert person.team is not None, person.username
        assert person.supervisor is not None, person.username
        assert person.department_id == person.team.department_id
        if person.team.leader_id == person.pk:
            # a team leader reports to the head of the region's department
            assert person.supervisor.pk == person.department.head_id
        else:
            assert person.supervisor.pk == person.team.leader_id


def test_reporting_lines_end_at_the_director_without_cycles(db: None, demo_world: BuiltWorld) -> None:
    supervisor_of = dict(User.objects.values_list("pk", "supervisor_id"))
    director = demo_world.people["director"]
    for person_id in supervisor_of:
        seen = {person_id}
        node = supervisor_of[person_id]
        top = person_id
        while node is not None:
            assert node not in seen, "reporting line loops"
            seen.add(node)
            top, node = node, supervisor_of[node]
        assert top == director.pk or User.objects.get(pk=top).supervisor_id is None


def test_usernames_unique_and_contacts_valid(db: None, demo_world: BuiltWorld) -> None:
    usernames = list(User.objects.values_list("username", flat=True))
    assert len({u.lower() for u in usernames}) == len(usernames)
    for phone, email in User.objects.values_list("phone", "email"):
        assert phone.startswith("+861") and len(phone) == 14
        assert email.endswith("@example.com")


def test_people_can_sign_in_with_the_demo_password(db: None, demo_world: BuiltWorld) -> None:
    admin = User.objects.get(pk=demo_world.people["it"].pk)
    assert admin.check_password(DEMO_PASSWORD)
    assert admin.has_role("admin") and admin.can_export  # type: ignore[arg-type]
    auditor = demo_world.people["audit"]
    assert RoleAssignment.objects.filter(user=auditor).values_list("role", flat=True).get() == "auditor"


def test_regions_heads_and_leaders_are_set(db: None, demo_world: BuiltWorld) -> None:
    east = Department.objects.get(name="华东大区")
    assert east.region is not None and east.region.code == "310000"
    assert east.head is not None and east.head.has_role("supervisor")  # type: ignore[arg-type]
    shenzhen = Team.objects.get(name="深圳一组")
    assert shenzhen.region is not None and shenzhen.region.name == "深圳市"
    assert not Team.objects.filter(leader__isnull=True).exists()
    company = Department.objects.get(parent__isnull=True)
    assert company.head is not None and company.head.pk == demo_world.people["director"].pk


def test_reference_lists(db: None, demo_world: BuiltWorld) -> None:
    assert set(Post.objects.values_list("name", flat=True)) == {
        "大客户经理", "大客户专员", "销售总监", "内部监督", "财务", "人力资源", "系统管理员"}
    assert not Post.objects.filter(name_en="").exists()
    assert list(Grade.objects.values_list("code", flat=True)) == [
        "P1", "P2", "P3", "P4", "P5", "P6", "M1", "M2", "M3"]
    assert Industry.objects.count() == 110
    assert Industry.objects.get(name="软件服务").code == "ruan_jian_fu_wu"


def test_history_leavers_promotions_and_a_transfer(db: None, demo_world: BuiltWorld) -> None:
    leavers = User.objects.filter(left_on__isnull=False)
    assert leavers.count() == 2
    assert not leavers.filter(is_active=True).exists()
    changes = AuditEvent.objects.filter(action="org.user.roles_changed")
    assert changes.count() == 5  # three regional supervisors, two specialists promoted
    assert {tuple(e.changes["roles"]["after"]) for e in changes} == {("supervisor",), ("manager",)}
    transfer = AuditEvent.objects.get(action="org.user.updated", reason__startswith="调岗")
    assert set(transfer.changes) >= {"team", "department", "supervisor"}


def test_every_write_is_audited_by_the_system_in_one_chain(db: None, demo_world: BuiltWorld) -> None:
    actions = Counter(AuditEvent.objects.values_list("action", flat=True))
    assert actions["org.user.created"] == 58
    assert actions["org.department.created"] == 8
    assert actions["org.team.created"] == 8
    assert actions["org.team.updated"] == 8  # leaders
    assert actions["org.department.updated"] == 8  # heads
    assert actions["org.industry.created"] == 110
    assert actions["org.post.created"] == 7 and actions["org.grade.created"] == 9
    assert not AuditEvent.objects.exclude(actor__isnull=True).exists()
    # the chain: contiguous sequence numbers, each event linked to the one before
    events = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "previous_digest", "digest"))
    for (seq_a, _, digest_a), (seq_b, previous_b, _) in zip(events, events[1:], strict=False):
        assert seq_b == seq_a + 1
        assert previous_b == digest_a


def test_the_database_matches_the_plan_for_the_seed(db: None, demo_world: BuiltWorld) -> None:
    again = plan_world(seed=42, as_of=AS_OF)
    assert set(User.objects.values_list("username", "full_name")) == {(p.username, p.full_name) for p in again.people}
