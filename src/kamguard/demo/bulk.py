"""The bulk builder: the people of a scaled demo's extra teams (`kamguard demo --scale N`, N > 1).

Why it exists: `org.services.user_create` hashes each password with Argon2 (about a tenth of a second
each, by design) and checks each row on its own, so 2,000 people would take minutes. Departments,
teams, reference lists and the scale-1 people still go through the services (`kamguard.demo.build`);
only the bulk teams' people come here.

What it writes is what `user_create` writes, row for row: the `org.User` row (the same fields, the
demo password hashed once and shared), one `org.RoleAssignment` per role, and one `org.user.created`
audit event per person through `kamguard.core.audit.audit_record`, with the same before/after payload
and the reason "demo bulk builder", so the audit chain stays complete and verifiable. It validates
nothing itself: the plan (`kamguard.demo.plan`) guarantees unique usernames and valid phones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.hashers import make_password
from django.db import transaction

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.org.models import Grade, Industry, Post, Region, RoleAssignment, User
from kamguard.org.phones import normalise_phone
from kamguard.org.services import USER_FIELDS

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld
    from kamguard.demo.plan import PersonPlan

BATCH_SIZE = 500
BULK_REASON = "demo bulk builder"


@transaction.atomic
def bulk_people_create(world: BuiltWorld, people: list[PersonPlan], *,
                       references: dict[tuple[str, str], Industry | Post | Grade], regions: dict[str, Region],
                       password: str) -> dict[str, User]:
    """Create `people` in dependency order (a supervisor before their reports). Returns person key → user."""
    from kamguard.demo.build import person_fields

    password_hash = make_password(password)
    created: dict[str, User] = {}
    pending = list(people)
    while pending:
        known = world.people.keys() | created.keys()
        ready = [p for p in pending if p.supervisor is None or p.supervisor in known]
        if not ready:
            raise ValueError("The plan's reporting lines refer to people who are not in it.")
        pending = [p for p in pending if not (p.supervisor is None or p.supervisor in known)]
        for start in range(0, len(ready), BATCH_SIZE):
            batch = ready[start:start + BATCH_SIZE]
            lookup = {**world.people, **created}
            users = []
            for person in batch:
                fields = person_fields(world, person, references, regions, team=person.team)
                fields["supervisor"] = lookup[person.supervisor] if person.supervisor else None
                fields["phone"] = normalise_phone(str(fields["phone"])) or ""
                users.append(User(username=person.username, full_name=person.full_name, password=password_hash,
                                  **fields))
            User.objects.bulk_create(users, batch_size=BATCH_SIZE)
            if any(u.pk is None for u in users):  # a backend that returns no ids: look them up
                ids = dict(User.objects.filter(username__in=[u.username for u in users]).values_list("username", "pk"))
                for user in users:
                    user.pk = ids[user.username]
            RoleAssignment.objects.bulk_create(
                [RoleAssignment(user=user, role=role) for user, person in zip(users, batch, strict=True)
                 for role in sorted(person.roles)], batch_size=BATCH_SIZE)
            for user, person in zip(users, batch, strict=True):
                audit_record(actor=None, action="org.user.created", obj=user, reason=BULK_REASON, changes={
                    **diff({}, snapshot(user, USER_FIELDS)),
                    "roles": {"before": [], "after": sorted(person.roles)}})
                created[person.key] = user
    return created
