"""The batch form of intake: the same decisions as one by one, refused leads consume no turn."""

from __future__ import annotations

from kamguard.allocation.models import AllocationDecision, Intake, RoundRobinCursor
from kamguard.allocation.services.batch import Lead, intake_submit_many
from kamguard.allocation.tests.conftest import COMPANY_NAMES
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, OwnershipChange, TimelineEntry
from kamguard.customers.services.records import customer_create


def test_a_batch_allocates_in_turn_and_sends_duplicates_to_their_owner(world, alloc):
    existing = customer_create(actor=world.carol, name="深圳市腾达电子科技有限公司", pool=alloc.pool)
    leads = [Lead(fields={"name": COMPANY_NAMES[0], "region": "310115", "expected_value": "1000"}),
             Lead(fields={"name": "深圳市腾达电子科技有限公司", "region": "310115"}),
             Lead(fields={"name": COMPANY_NAMES[1], "region": "310115", "tier": "Q"}),
             Lead(fields={"name": COMPANY_NAMES[2], "region": "310115"}),
             Lead(fields={"name": COMPANY_NAMES[3], "region": "310115"}),
             Lead(fields={"name": COMPANY_NAMES[4], "region": "510104"}),
             Lead(fields={"name": COMPANY_NAMES[5], "tier": "A"})]
    results = intake_submit_many(actor=world.sam, channel="import", leads=leads)
    outcomes = [r.intake.outcome if r.intake else "error" for r in results]
    assert outcomes == ["allocated", "duplicate", "error", "allocated", "allocated", "allocated", "allocated"]
    assert "tier" in results[2].error.field_errors
    owners = [r.intake.customer.owner_id for i, r in enumerate(results) if i in (0, 3, 4, 5, 6)]
    # the duplicate took no turn: alice, bob, sue in order; Sichuan to carol; tier A to henry
    assert owners == [world.alice.pk, world.bob.pk, world.sue.pk, world.carol.pk, world.henry.pk]
    assert RoundRobinCursor.objects.get(team=world.team_a).last_person_id == world.sue.pk
    assert Intake.objects.get(pk=results[1].intake.pk).duplicate_of_id == existing.pk
    assert TimelineEntry.objects.filter(customer=existing, kind="intake.duplicate").count() == 1
    for result in (results[0], results[3]):
        customer = result.intake.customer
        decision = AllocationDecision.objects.get(intake=result.intake)
        assert decision.customer_id == customer.pk and decision.reason_code == "round_robin_next"
        assert OwnershipChange.objects.get(customer=customer).kind == "allocation"
        assert TimelineEntry.objects.filter(customer=customer, kind="allocation.decided").exists()
        assert AuditEvent.objects.filter(action="allocation.intake.allocated", object_id=str(result.intake.pk)).exists()
        assert "上海" in Intake.objects.get(pk=result.intake.pk).outcome_detail
    assert AllocationDecision.objects.get(intake=results[0].intake).value == 1000
    assert Customer.objects.count() == 6


def test_a_batch_matches_the_single_path(world, alloc):
    from kamguard.allocation.services.intake import intake_submit

    leads = [Lead(fields={"name": n, "region": "310115" if i % 3 else "510104"}) for i, n in
             enumerate(COMPANY_NAMES[:6])]
    batch = [r.intake.customer.owner_id for r in intake_submit_many(actor=None, channel="api", leads=leads)]
    RoundRobinCursor.objects.all().delete()
    Customer.objects.all().delete()
    single = [intake_submit(actor=None, channel="api", fields={**lead.fields, "name": lead.fields["name"] + "二"}
                            ).customer.owner_id for lead in leads]
    assert batch == single


def test_a_held_lead_takes_no_turn_and_nothing_is_undone(world, alloc, django_assert_max_num_queries):
    # given: a stored customer, and a batch whose second lead is similar to it (no reason given)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    customer_create(actor=None, name="南京钢铁股份有限公司", to_pool=True)
    leads = [Lead(fields={"name": COMPANY_NAMES[0], "region": "310115"}),
             Lead(fields={"name": "南钢股份", "region": "310115"}),
             Lead(fields={"name": COMPANY_NAMES[1], "region": "310115"}),
             Lead(fields={"name": COMPANY_NAMES[2], "region": "上海市"}),  # a region by its name
             Lead(fields={"name": COMPANY_NAMES[3], "region": "310115", "tier": "A"})]
    # when
    with CaptureQueriesContext(connection) as queries:
        results = intake_submit_many(actor=world.sam, channel="import", leads=leads)
    # then: the held lead took no turn — alice, bob, sue in order; tier A to henry
    assert [r.intake.outcome for r in results] == ["allocated", "held", "allocated", "allocated", "allocated"]
    owners = [results[i].intake.customer.owner_id for i in (0, 2, 3, 4)]
    assert owners == [world.alice.pk, world.bob.pk, world.sue.pk, world.henry.pk]
    assert results[1].intake.customer is None and Intake.objects.get(pk=results[1].intake.pk).outcome == "held"
    # and: no batch write was undone (no savepoint rolled back), the regions were read once
    sql = [q["sql"] for q in queries.captured_queries]
    assert not any(s.startswith("ROLLBACK TO SAVEPOINT") for s in sql)
    assert sum('FROM "org_region"' in s for s in sql) <= 2


def test_regions_and_industries_are_resolved_as_one_by_one(world, alloc):
    # given: codes, names (one shared by several regions: the first by code), unknown texts
    from kamguard.allocation.services.intake import ReferenceLookup, intake_fields_clean
    from kamguard.core.errors import ValidationFailed
    from kamguard.org.models import Industry, Region

    Industry.objects.get_or_create(code="SOFT", defaults={"name": "软件"})
    shared = Region.objects.values_list("name", flat=True).order_by("name").filter(
        name__in=["朝阳区", "鼓楼区", "市辖区"]).first()
    references = ReferenceLookup()
    for fields in ({"region": "310115"}, {"region": "上海市"}, {"region": shared}, {"industry": "SOFT"},
                   {"industry": "软件"}, {"region": "火星"}, {"industry": "未知"}):
        # when: each with the batch's shared lookup and without
        outcome = []
        for refs in (references, None):
            try:
                outcome.append(intake_fields_clean({"name": "上海申华精密机械有限公司", **fields}, references=refs))
            except ValidationFailed as exc:
                outcome.append(exc.field_errors)
        # then
        assert outcome[0] == outcome[1], fields
