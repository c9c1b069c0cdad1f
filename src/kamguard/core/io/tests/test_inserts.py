"""Fast inserts for the batch services: the same rows as `bulk_create`, on either database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamguard.allocation.models import Intake
from kamguard.core.io.inserts import instances_insert, rows_insert
from kamguard.customers.models import Contact, Customer, OwnershipChange, TimelineEntry
from kamguard.customers.services.pools import pool_save

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 3, 31, 9, 15, 30, 123456, tzinfo=dt.UTC)


def stored(model, pk, *, without=("id", "created_at", "updated_at", "recorded_at")):
    return {k: v for k, v in model.objects.filter(pk=pk).values().get().items() if k not in without}


def customer(world, pool, **extra):
    return Customer(name="深圳市腾达电子科技有限公司", english_name="Tengda", aliases=["腾达", "TD"],
                    tier="A", size="large", pool=pool, owner=world.alice, created_by=world.sam,
                    created_on=dt.date(2025, 1, 2), owned_since=MOMENT, normalised_name="深圳市腾达电子科技", **extra)


def test_instances_are_stored_as_bulk_create_stores_them(world):
    # given: the same customer built twice
    pool = pool_save(actor=None, name="华东公海")
    by_django = customer(world, pool, external_id="C1", uscc="91440300MA5FUYN44E")
    by_insert = customer(world, pool, external_id="C2", uscc="91110000600037341L")
    # when
    Customer.objects.bulk_create([by_django])
    instances_insert([by_insert])
    # then: the same row but for the id and external id; the instance has its primary key and is saved
    assert by_insert.pk is not None and not by_insert._state.adding
    first, second = stored(Customer, by_django.pk), stored(Customer, by_insert.pk)
    assert (first.pop("external_id"), first.pop("uscc")) == ("C1", "91440300MA5FUYN44E")
    assert (second.pop("external_id"), second.pop("uscc")) == ("C2", "91110000600037341L")
    assert first == second
    assert Customer.objects.get(pk=by_insert.pk).created_at is not None
    # and: contacts (booleans, defaults) likewise
    contacts = [Contact(customer=by_insert, name="张伟", phone="+8613912345678", email="zhang@tengda-e.com")
                for _ in range(2)]
    Contact.objects.bulk_create(contacts[:1])
    instances_insert(contacts[1:])
    assert stored(Contact, contacts[0].pk) == stored(Contact, contacts[1].pk)


def test_rows_fill_what_a_new_instance_holds(world):
    # given: a customer, and a ledger row and a timeline row given as plain values (JSON, aware times)
    pool = pool_save(actor=None, name="华东公海")
    owner = customer(world, pool)
    owner.save()
    before = timezone.now()
    ledger = OwnershipChange.objects.create(customer=owner, from_owner=None, to_owner=world.alice, kind="import",
                                            effective_at=MOMENT, reason="first registration", actor=world.sam)
    entry = TimelineEntry.objects.create(customer=owner, occurred_at=MOMENT, kind="customer.registered",
                                         actor=None, summary="Registered 你好", data={"to": 5, "names": ["a", "b"]})
    # when: the same through rows_insert, leaving out the columns with defaults
    ids = rows_insert(OwnershipChange, ("customer_id", "to_owner_id", "kind", "effective_at", "reason", "actor_id"),
                      [(owner.pk, world.alice.pk, "import", MOMENT, "first registration", world.sam.pk)],
                      returning_ids=True)
    rows_insert(TimelineEntry, ("customer_id", "occurred_at", "kind", "actor_id", "summary", "data"),
                [(owner.pk, MOMENT, "customer.registered", None, "Registered 你好", {"to": 5, "names": ["a", "b"]})])
    # then
    assert stored(OwnershipChange, ids[0]) == stored(OwnershipChange, ledger.pk)
    assert OwnershipChange.objects.get(pk=ids[0]).recorded_at >= before  # auto_now_add, as on save
    copy = TimelineEntry.objects.exclude(pk=entry.pk).get()
    assert stored(TimelineEntry, copy.pk) == stored(TimelineEntry, entry.pk)
    assert copy.occurred_at == MOMENT


def test_times_in_other_zones_and_json_of_every_shape(world):
    # given: aware times in UTC+8 and UTC, JSON as a dict, a list, a string and a number
    pool = pool_save(actor=None, name="华东公海")
    owner = customer(world, pool)
    owner.save()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    values = [(dt.datetime(2026, 1, 1, 0, 30, tzinfo=shanghai), {"a": [1, "二"]}),
              (dt.datetime(2026, 1, 1, 0, 30, 0, 5, tzinfo=dt.UTC), ["x", {"y": None}]),
              (MOMENT, "text"), (MOMENT, 12), (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), [])]
    # when: each through the ORM and through rows_insert
    made = [TimelineEntry.objects.create(customer=owner, occurred_at=at, kind="k", summary="s", data=data).pk
            for at, data in values]
    ids = rows_insert(TimelineEntry, ("customer_id", "occurred_at", "kind", "summary", "data"),
                      [(owner.pk, at, "k", "s", data) for at, data in values], returning_ids=True)
    # then: the same rows, and the same instants read back
    for orm, fast, (at, data) in zip(made, ids, values, strict=True):
        assert stored(TimelineEntry, fast) == stored(TimelineEntry, orm)
        assert TimelineEntry.objects.get(pk=fast).occurred_at == at
        assert TimelineEntry.objects.get(pk=fast).data == data


def test_decimals_and_ids_in_row_order(world):
    # given: more rows than one statement holds
    rows = [("import", MOMENT, {"name": f"公司{n}"}, Decimal(f"{n}.50")) for n in range(1200)]
    # when
    ids = rows_insert(Intake, ("channel", "submitted_at", "fields", "expected_value"), rows, returning_ids=True)
    # then: one id per row, in row order
    assert len(ids) == 1200
    found = dict(Intake.objects.filter(pk__in=ids).values_list("pk", "expected_value"))
    assert [found[pk] for pk in ids] == [Decimal(f"{n}.50") for n in range(1200)]


def test_bad_calls_are_refused(world):
    with pytest.raises(ValueError, match="values expected"):
        rows_insert(TimelineEntry, ("kind", "summary"), [("x",)])
    with pytest.raises(ValueError, match="each column once"):
        rows_insert(TimelineEntry, ("kind", "kind"), [("x", "y")])
    with pytest.raises(ValueError, match="new instances"):
        instances_insert([world.alice])
    assert rows_insert(TimelineEntry, ("kind",), []) == []


def test_a_clash_is_django_s_integrity_error(world):
    # given: a customer with an external id
    from django.db import IntegrityError, transaction

    Customer.objects.create(name="甲", external_id="X-1", created_on=dt.date(2025, 1, 1))
    # when / then: inserting it again is refused with the error the callers catch, whatever the database
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Customer, ("name", "external_id", "created_on"), [("乙", "X-1", dt.date(2025, 1, 1))],
                    returning_ids=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Customer, ("name", "external_id", "created_on"), [("乙", "X-1", dt.date(2025, 1, 1))])
    assert Customer.objects.count() == 1
