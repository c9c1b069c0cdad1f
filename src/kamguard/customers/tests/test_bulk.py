"""The batch path of registration (`customers_create_many`, used by the customers import): the same
outcomes and the same rows as `customer_create` one by one, with the database work done per batch."""

from __future__ import annotations

import pytest
from django.utils import translation

from kamguard.audit.services import chain_verify
from kamguard.core.errors import PermissionRefused, ValidationFailed
from kamguard.core.io.tests.helpers import run
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, DedupeKey, OwnershipChange, OwnershipKind, TimelineEntry
from kamguard.customers.services import bulk
from kamguard.customers.services.bulk import CustomerInput, customers_create_many
from kamguard.customers.services.dedupe import customer_keys_refresh
from kamguard.customers.services.pools import pool_save
from kamguard.customers.services.records import DuplicateCustomer, PossibleDuplicate, customer_create

COMPANIES = ["深圳市腾达电子科技有限公司", "成都蜀光机械股份有限公司", "上海浦江物流有限公司", "杭州西湖啤酒有限公司",
             "南京钢铁股份有限公司", "武汉长江通信产业集团股份有限公司", "青岛海湾化学有限公司"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def pool(db):
    return pool_save(actor=None, name="华东公海")


def inputs(names, **extra):
    return [CustomerInput(ref=n, name=name, **extra) for n, name in enumerate(names, start=1)]


def rows_of(customer):
    """Everything registration writes about one customer, without ids and times."""
    return {
        "ledger": list(OwnershipChange.objects.filter(customer=customer).values_list(
            "from_owner_id", "to_owner_id", "kind", "reason", "actor_id")),
        "timeline": sorted(TimelineEntry.objects.filter(customer=customer).values_list("kind", "summary")),
        "keys": sorted(DedupeKey.objects.filter(customer=customer).values_list("key", "weight")),
        "audit": sorted(AuditEvent.objects.filter(object_id=str(customer.pk), object_type="customers.customer")
                        .values_list("action", "reason")),
    }


def test_a_batch_writes_what_customer_create_writes(world, pool, monkeypatch):
    # given: the same company registered by each path, in two fresh states of the table
    batch = customers_create_many(actor=world.alice, inputs=[CustomerInput(
        ref=1, name="深圳市腾达电子科技有限公司", fields={"english_name": "Tengda Electronics", "tier": "A",
                                                     "uscc": "91440300MA5FUYN44E", "aliases": ["腾达"]},
        contacts=[{"name": "张伟", "phone": "139 1234 5678", "email": "zhang@tengda-e.com"}])],
        kind=OwnershipKind.REGISTERED)
    batch_customer = batch[0].customer
    batch_rows = rows_of(batch_customer)
    stored_keys = batch_rows["keys"]
    # when: the keys are recomputed from the stored rows, as every later edit does
    customer_keys_refresh(customer_ids=[batch_customer.pk])
    # then: the batch stored exactly those keys
    assert sorted(DedupeKey.objects.filter(customer=batch_customer).values_list("key", "weight")) == stored_keys
    assert batch_customer.owner == world.alice and batch_customer.pool == pool
    assert batch_customer.contacts.get().phone == "+8613912345678"
    # and: customer_create writes the same rows for the same input (after removing the first one's keys)
    Customer.objects.filter(pk=batch_customer.pk).update(uscc=None, external_id=None, status="merged")
    DedupeKey.objects.filter(customer=batch_customer).delete()
    single = customer_create(actor=world.alice, name="深圳市腾达电子科技有限公司", english_name="Tengda Electronics",
                             tier="A", uscc="91440300MA5FUYN44E", aliases=["腾达"],
                             contacts=[{"name": "张伟", "phone": "139 1234 5678", "email": "zhang@tengda-e.com"}])
    assert rows_of(single) == batch_rows
    assert chain_verify().ok


def test_verdicts_follow_file_order_within_and_across_batches(world, pool, monkeypatch):
    # given: batches of three, a company repeated in the same batch and in a later batch
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    names = [COMPANIES[0], COMPANIES[1], "深圳腾达电子科技有限公司", COMPANIES[2], COMPANIES[3],
             "成都蜀光机械股份有限公司", COMPANIES[4]]
    # when
    outcomes = customers_create_many(actor=None, inputs=inputs(names, to_pool=True))
    # then: exactly the first of each company is created, the later ones are duplicates naming it
    created = [o.input.ref for o in outcomes if o.customer is not None]
    assert created == [1, 2, 4, 5, 7]
    refused = {o.input.ref: o.error for o in outcomes if o.error is not None}
    assert set(refused) == {3, 6}
    assert all(isinstance(e, DuplicateCustomer) for e in refused.values())
    assert refused[3].extra["candidates"][0]["name"] == COMPANIES[0]  # in the same batch, not yet stored
    assert refused[6].extra["candidates"][0]["customer_id"] == outcomes[1].customer.pk  # an earlier batch
    assert Customer.objects.count() == 5
    assert OwnershipChange.objects.filter(kind=OwnershipKind.IMPORT).count() == 5
    assert chain_verify().ok


def test_a_possible_duplicate_needs_a_reason_and_the_reason_is_recorded(world, pool):
    customer_create(actor=None, name="南京钢铁股份有限公司", to_pool=True)
    # when: an abbreviation without and with a reason
    without, with_reason = customers_create_many(actor=None, inputs=[
        CustomerInput(ref=1, name="南钢股份", to_pool=True),
        CustomerInput(ref=2, name="南钢股份", to_pool=True, duplicate_reason="a different company in 南宁")])
    # then
    assert isinstance(without.error, PossibleDuplicate) and without.customer is None
    assert with_reason.customer is not None
    assert TimelineEntry.objects.filter(customer=with_reason.customer, kind="customer.possible_duplicate").exists()
    assert AuditEvent.objects.get(action="customers.customer.created",
                                  object_id=str(with_reason.customer.pk)).reason == "a different company in 南宁"


def test_bad_rows_get_the_errors_of_customer_create_and_the_good_rows_are_kept(world, pool):
    # when
    outcomes = customers_create_many(actor=world.sam, inputs=[
        CustomerInput(ref=1, name="", to_pool=True),
        CustomerInput(ref=2, name=COMPANIES[0], fields={"uscc": "91440300MA5FUYN44X"}, to_pool=True),
        CustomerInput(ref=3, name=COMPANIES[1], owner=world.carol),  # outside sam's scope
        CustomerInput(ref=4, name=COMPANIES[2], fields={"colour": "red"}, to_pool=True),
        CustomerInput(ref=5, name=COMPANIES[3], owner=world.bob),
    ])
    # then
    errors = {o.input.ref: o.error for o in outcomes}
    assert isinstance(errors[1], ValidationFailed) and "name" in errors[1].field_errors
    assert isinstance(errors[2], ValidationFailed) and "uscc" in errors[2].field_errors
    assert isinstance(errors[3], PermissionRefused)
    assert isinstance(errors[4], ValidationFailed) and "colour" in errors[4].field_errors
    assert errors[5] is None and outcomes[4].customer.owner == world.bob
    assert list(Customer.objects.values_list("name", flat=True)) == [COMPANIES[3]]


def test_without_the_right_to_edit_nothing_is_written(world, pool):
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionRefused):
        customers_create_many(actor=world.audrey, inputs=inputs(COMPANIES[:2], to_pool=True))
    assert Customer.objects.count() == 0 and AuditEvent.objects.count() == events


def test_a_clash_the_checks_did_not_see_replays_the_batch_row_by_row(world, pool, monkeypatch):
    # given: an external id taken behind the checks' back (a concurrent writer)
    customer_create(actor=None, name=COMPANIES[5], to_pool=True, external_id="C-1")
    monkeypatch.setattr(bulk, "_unique_clashes", lambda rows: None)
    # when
    outcomes = customers_create_many(actor=None, inputs=[
        CustomerInput(ref=1, name=COMPANIES[0], fields={"external_id": "C-0"}, to_pool=True),
        CustomerInput(ref=2, name=COMPANIES[1], fields={"external_id": "C-1"}, to_pool=True),
        CustomerInput(ref=3, name=COMPANIES[2], fields={"external_id": "C-2"}, to_pool=True)])
    # then: the culprit row has its error, the others are written once
    assert [o.error is None for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, DuplicateCustomer)
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["C-0", "C-1", "C-2"]
    assert OwnershipChange.objects.count() == 3
    assert chain_verify().ok


def test_the_import_mixes_batches_and_updates_in_file_order(world, pool, monkeypatch):
    # given: an existing customer, and a file that creates, updates it, and creates a duplicate of a new row
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    customer_create(actor=None, name=COMPANIES[6], to_pool=True, external_id="OLD")
    csv = ("external_id,name,tier\n"
           f"N-1,{COMPANIES[0]},A\n"
           f"OLD,{COMPANIES[6]},B\n"
           f"N-2,{COMPANIES[1]},\n"
           f"N-3,{COMPANIES[2]},\n"
           "N-4,深圳腾达电子科技有限公司,\n")
    # when
    report = run("customers", csv)
    # then
    assert (report.created, report.updated, report.failed) == (3, 1, 1)
    assert Customer.objects.get(external_id="OLD").tier == "B"
    [problem] = report.errors
    assert problem.row == 6 and "N-1" in problem.message and "row 2 of this file" in problem.message
    assert chain_verify().ok


def test_stop_keys_follow_the_lookups_limit(world, pool):
    # given: a stored customer, and stop-key rows for all of its keys — first under the limit, then over it
    from kamguard.customers.models import DedupeStopKey
    from kamguard.customers.services.dedupe import STOP_KEY_LIMIT

    stored = customer_create(actor=None, name=COMPANIES[4], to_pool=True)
    keys = list(DedupeKey.objects.filter(customer=stored).values_list("key", flat=True))
    DedupeStopKey.objects.bulk_create([DedupeStopKey(key=k, customers=STOP_KEY_LIMIT) for k in keys],
                                      ignore_conflicts=True)
    DedupeStopKey.objects.filter(key__in=keys).update(customers=STOP_KEY_LIMIT)
    # when / then: keys at the limit are still read — the duplicate is found
    [found] = customers_create_many(actor=None, inputs=inputs([COMPANIES[4]], to_pool=True))
    assert isinstance(found.error, DuplicateCustomer)
    # when / then: over the limit they are skipped, as DatabaseCandidates skips them
    DedupeStopKey.objects.filter(key__in=keys).update(customers=STOP_KEY_LIMIT + 1)
    [skipped] = customers_create_many(actor=None, inputs=inputs([COMPANIES[4]], to_pool=True))
    assert skipped.customer is not None


def test_the_batch_chooses_the_pool_customer_create_chooses(world):
    # given: department pools at two depths, pools of a province and of a city, a plain pool, an inactive one
    from kamguard.customers.services.records import _default_pool
    from kamguard.org.models import Region

    hangzhou_district, hangzhou, zhejiang = (Region.objects.get(code=c) for c in ("330106", "330100", "330000"))
    chengdu = Region.objects.get(code="510104")
    plain = pool_save(actor=None, name="总公海")
    pool_save(actor=None, name="浙江公海", region=zhejiang)
    pool_save(actor=None, name="杭州公海", region=hangzhou)
    pool_save(actor=None, name="停用公海", region=hangzhou, is_active=False)
    owners = [None, world.alice, world.carol, world.adam]
    regions = [None, hangzhou_district, hangzhou, zhejiang, chengdu]
    # when / then: without department pools the region decides, then the plain pool
    cache = bulk.BatchCache()
    for owner in owners:
        for region in regions:
            assert cache.default_pool(region, owner) == _default_pool(region, owner), (owner, region)
    assert cache.default_pool(hangzhou_district, None).name == "杭州公海"
    assert cache.default_pool(chengdu, None) == plain
    # and: with department pools the deepest one containing the owner's department wins
    pool_save(actor=None, name="公司公海", department=world.company)
    pool_save(actor=None, name="华东公海", department=world.east)
    cache = bulk.BatchCache()
    for owner in owners:
        for region in regions:
            assert cache.default_pool(region, owner) == _default_pool(region, owner), (owner, region)
    assert cache.default_pool(chengdu, world.alice).name == "华东公海"


def test_keys_crossing_the_limit_become_stop_keys(world, pool, monkeypatch):
    # given: a limit of two customers per key, and one shared key recorded already with an old count
    from django.db.models import Count

    from kamguard.customers.models import DedupeStopKey

    monkeypatch.setattr(bulk, "STOP_KEY_LIMIT", 2)
    DedupeStopKey.objects.create(key="b:电子", customers=99)
    # when: three distinct companies sharing some keys (电子, the abbreviation 深圳), in two batches
    first = customers_create_many(actor=None, inputs=inputs(["深圳市腾达电子科技有限公司"], to_pool=True))
    assert DedupeStopKey.objects.count() == 1
    later = customers_create_many(actor=None, inputs=inputs(["深圳市华强电子科技有限公司", "深圳市光明电子科技有限公司"],
                                                            to_pool=True))
    # then: the keys held by more than two customers are recorded with their counts; the recorded one is kept
    assert all(o.customer is not None for o in [*first, *later])
    counts = dict(DedupeKey.objects.values("key").annotate(n=Count("customer")).values_list("key", "n"))
    expected = {key: n for key, n in counts.items() if n > 2}
    assert "a:深圳" in expected
    assert dict(DedupeStopKey.objects.values_list("key", "customers")) == {**expected, "b:电子": 99}


def test_an_owner_chosen_after_the_check_and_refused_is_taken_out_and_the_rest_chosen_again(world, pool):
    # given: a caller that chooses owners after the duplicate check, first someone who has left for one input
    world.bob.is_active = False
    world.bob.save()
    calls: list[list[int]] = []

    def assign(accepted: list[CustomerInput]) -> None:
        calls.append([item.ref for item in accepted])
        for item in accepted:
            item.owner, item.to_pool = (world.bob if item.ref == 2 and len(calls) == 1 else world.alice), False

    # when: a duplicate of a stored customer among them
    customer_create(actor=None, name=COMPANIES[4], to_pool=True)
    outcomes = customers_create_many(actor=None, kind=OwnershipKind.ALLOCATION, assign=assign,
                                     inputs=inputs([COMPANIES[0], COMPANIES[1], COMPANIES[4], COMPANIES[2]]))
    # then: the duplicate was never offered; the refused owner's input taken out and the others chosen again
    assert calls == [[1, 2, 4], [1, 4]]
    assert isinstance(outcomes[1].error, ValidationFailed) and "owner" in outcomes[1].error.field_errors
    assert isinstance(outcomes[2].error, DuplicateCustomer)
    assert [o.customer.owner for o in (outcomes[0], outcomes[3])] == [world.alice, world.alice]
    assert OwnershipChange.objects.filter(kind=OwnershipKind.ALLOCATION).count() == 2
    assert chain_verify().ok
