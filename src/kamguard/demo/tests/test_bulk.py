"""A scaled demo: the extra teams' people come from the bulk builder, with the same rows and audit events."""

from __future__ import annotations

from kamguard.core.models import AuditEvent
from kamguard.demo.build import world_build
from kamguard.demo.bulk import BULK_REASON
from kamguard.demo.plan import DEMO_PASSWORD, plan_world
from kamguard.demo.tests.conftest import AS_OF
from kamguard.org.models import RoleAssignment, Team, User


def test_scaled_world_uses_the_bulk_builder_for_extra_teams(db: None) -> None:
    # given / when
    world = world_build(plan_world(seed=5, scale=3, as_of=AS_OF))
    # then
    assert Team.objects.count() == 24
    assert world.bulk_people == 16 * 6
    assert User.objects.filter(role_assignments__role="manager", is_active=True).count() == 120
    bulk_events = AuditEvent.objects.filter(action="org.user.created", reason=BULK_REASON)
    assert bulk_events.count() == world.bulk_people
    assert AuditEvent.objects.filter(action="org.user.created").count() == User.objects.count()
    some = User.objects.get(username=next(p.username for p in world.plan.people if p.is_bulk))
    assert some.check_password(DEMO_PASSWORD)
    assert some.team is not None and some.supervisor is not None and some.phone.startswith("+86")
    assert not Team.objects.filter(leader__isnull=True).exists()
    assert RoleAssignment.objects.count() == User.objects.count()
    # the bulk rows carry the same audit payload as user_create's
    event = bulk_events.first()
    assert event is not None
    assert {"username", "full_name", "team", "supervisor", "roles"} <= set(event.changes)
    # one chain across the service-built and the bulk-built events
    events = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "previous_digest", "digest"))
    for (seq_a, _, digest_a), (seq_b, previous_b, _) in zip(events, events[1:], strict=False):
        assert seq_b == seq_a + 1 and previous_b == digest_a
