"""The duplicate check's database lookup (`DatabaseCandidates`) and its stop keys, on SQLite and PostgreSQL:
the same candidates, with the same summed weights, as the engine's in-memory `CandidateIndex` on the same data."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from kamguard.customers.domain.dedupe import CandidateIndex, CustomerRecord, Profile, customer_profile
from kamguard.customers.models import Contact, Customer, CustomerStatus, DedupeKey, DedupeStopKey
from kamguard.customers.services import dedupe
from kamguard.customers.services.dedupe import (
    STOP_KEY_LIMIT,
    DatabaseCandidates,
    _records,
    customer_keys_refresh,
    dedupe_stop_keys_update,
    query_profile,
)

pytestmark = pytest.mark.django_db(transaction=False)

REGIONS = ("", "北京", "上海市", "深圳市", "（杭州）", "江苏")
BRANDS = ("腾达", "腾飞", "华腾", "达美", "美达", "瑞泰", "泰瑞", "蜀光", "光华", "华光", "中信", "信达")
INDUSTRIES = ("电子科技", "科技", "机械", "物流", "贸易", "医药", "信息技术", "新材料")
SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "")


def _customers(count: int, *, seed: int = 7) -> list[Customer]:
    """`count` customers whose names share brands, regions and industry words (many keys in common), with
    the keys refreshed the way every write refreshes them."""
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < count:
        names.add(rng.choice(REGIONS) + rng.choice(BRANDS) + rng.choice(INDUSTRIES) + rng.choice(SUFFIXES))
    customers = Customer.objects.bulk_create([
        Customer(name=name, created_on=dt.date(2026, 1, 1), english_name="Tengda Electronics" if i % 9 == 0 else "")
        for i, name in enumerate(sorted(names))])
    customer_keys_refresh(customer_ids=[c.pk for c in customers])
    return customers


def _index(customers: list[Customer], *, per_key_limit: int, candidate_limit: int) -> CandidateIndex:
    index = CandidateIndex(per_key_limit=per_key_limit, candidate_limit=candidate_limit)
    for customer in customers:
        index.add(customer_profile(CustomerRecord(
            external_id=str(customer.pk), name=customer.name,
            english_names=(customer.english_name,) if customer.english_name else ())))
    return index


def _in_memory(index: CandidateIndex, query: Profile) -> list[tuple[int, int]]:
    # The index breaks ties by the id as text ("10" < "9"), the database by the number: compare in one order.
    return sorted(((int(i), w) for i, w in index.candidates(query)), key=lambda item: (-item[1], item[0]))


QUERIES = ("深圳市腾达电子科技有限公司", "腾达电子", "北京腾达科技股份有限公司", "腾远电子科技有限公司", "瑞泰物流",
           "光华医药集团", "蜀光机械（上海）有限公司", "中信", "Tengda Electronics Co., Ltd.", "完全无关的名字有限公司")


@pytest.mark.parametrize("per_key_limit", [STOP_KEY_LIMIT, 12, 5])
def test_same_candidates_and_weights_as_the_in_memory_index(per_key_limit):
    # given: 80 customers sharing many keys; the stop-key table kept at the lowest limit measured
    customers = _customers(80)
    dedupe_stop_keys_update(threshold=min(per_key_limit, STOP_KEY_LIMIT))
    index = _index(customers, per_key_limit=per_key_limit, candidate_limit=1000)

    for name in QUERIES:
        query = query_profile(name=name)
        # when: every candidate (no cut), then the usual cut
        everything = DatabaseCandidates(per_key_limit=per_key_limit, candidate_limit=1000).candidates(query)
        top = DatabaseCandidates(per_key_limit=per_key_limit, candidate_limit=7).candidates(query)

        # then: the same customers with the same summed weights, heaviest first, ties by id
        assert everything == _in_memory(index, query), name
        assert top == everything[:7], name
    # and the lookup found something to compare, with stop keys in play for the small limits
    assert DatabaseCandidates(per_key_limit=per_key_limit).candidates(query_profile(name=QUERIES[0]))
    if per_key_limit < STOP_KEY_LIMIT:
        assert DedupeStopKey.objects.filter(customers__gt=per_key_limit).exists()


def test_candidate_ids_and_profiles_keep_their_public_behaviour():
    customers = _customers(30)
    by_pk = {c.pk: c for c in customers}
    source = DatabaseCandidates(candidate_limit=5)
    query = query_profile(name="深圳市腾达电子科技有限公司")

    ids = source.candidate_ids(query)
    profiles = source.candidate_profiles(query)

    assert ids == [customer_id for customer_id, _ in source.candidates(query)] and 0 < len(ids) <= 5
    assert [p.external_id for p in profiles] == [str(i) for i in ids]
    assert [p.display_name for p in profiles] == [by_pk[i].name for i in ids]


def test_candidate_profiles_carry_aliases_english_names_and_active_contacts():
    # given: a customer with an alias, an English name, a website, an active and a former contact
    tengda = Customer.objects.create(name="深圳市腾达电子科技有限公司", created_on=dt.date(2026, 1, 1),
                                     aliases=["腾达电子", 7], english_name="Tengda Electronics",
                                     website="tengda-e.com", uscc="91440300MA5FUYN44E")
    Contact.objects.create(customer=tengda, name="张总", phone="+8613912345678", email="zhang@tengda-e.com")
    Contact.objects.create(customer=tengda, name="李工", phone="+8613800000000", email="li@tengda-e.com",
                           is_active=False)
    Contact.objects.create(customer=tengda, name="王经理", phone="+8613700000000")
    _customers(20)
    customer_keys_refresh(customer_ids=[tengda.pk])

    # when
    profiles = DatabaseCandidates().candidate_profiles(query_profile(name="腾达电子科技有限公司"))

    # then: the profile the engine would build from the stored record, contacts included (the former one not)
    found = next(p for p in profiles if p.external_id == str(tengda.pk))
    assert found == customer_profile(_records([tengda.pk])[0])
    assert found.phones == frozenset({"+8613912345678", "+8613700000000"}) and found.uscc == "91440300MA5FUYN44E"
    assert "tengda-e.com" in found.domains and len(found.names) == 2 and found.english


def test_excluded_customers_are_never_candidates():
    customers = _customers(40)
    query = query_profile(name="深圳市腾达电子科技有限公司")
    first = DatabaseCandidates(candidate_limit=1000).candidates(query)
    left_out = {first[0][0], first[-1][0]}

    rest = DatabaseCandidates(exclude_ids=left_out, candidate_limit=1000).candidates(query)

    assert rest == [item for item in first if item[0] not in left_out]
    assert len(customers) == 40


def test_a_query_made_only_of_stop_keys_or_no_keys_finds_nothing():
    _customers(60)
    dedupe_stop_keys_update(threshold=0)  # every key is held by more than 0 customers: all are stop keys
    assert DedupeStopKey.objects.count() == DedupeKey.objects.values("key").distinct().count()

    assert DatabaseCandidates(per_key_limit=0).candidates(query_profile(name="深圳市腾达电子科技有限公司")) == []
    assert DatabaseCandidates().candidates(query_profile(name="！？")) == []


def test_stop_keys_hold_their_counts_and_a_higher_limit_still_reads_them():
    # given: keys counted into the table down to 3 customers
    _customers(50)
    dedupe_stop_keys_update(threshold=3)
    counts = {row.key: row.customers for row in DedupeStopKey.objects.all()}
    assert counts
    for key, customers in list(counts.items())[:20]:
        assert customers == DedupeKey.objects.filter(key=key).count() > 3
    query = query_profile(name="北京腾达科技股份有限公司")

    # then: a check at limit 3 skips them all, a check at 1000 reads them (the table does not hide them)
    strict = dict(DatabaseCandidates(per_key_limit=3, candidate_limit=1000).candidates(query))
    loose = dict(DatabaseCandidates(per_key_limit=1000, candidate_limit=1000).candidates(query))
    assert set(strict) < set(loose)


def test_refresh_records_new_stop_keys_and_the_daily_rebuild_drops_old_ones(monkeypatch):
    # given: a stop-key limit of 4 for this test
    monkeypatch.setattr(dedupe, "STOP_KEY_LIMIT", 4)
    made = Customer.objects.bulk_create([Customer(name=f"华东{i}号测绘科技有限公司", created_on=dt.date(2026, 1, 1))
                                         for i in range(6)])

    # when: the writes refresh their keys one by one
    for customer in made:
        customer_keys_refresh(customer_ids=[customer.pk])

    # then: the bigram 华东 all six share became a stop key when the fifth customer was written, counted then
    assert DedupeStopKey.objects.get(key="b:华东").customers == 5
    assert dedupe.customer_dedupe_check(name="华东2号测绘科技有限公司").verdict == "duplicate"
    # and the daily rebuild refreshes the count
    dedupe_stop_keys_update()
    assert DedupeStopKey.objects.get(key="b:华东").customers == 6

    # when: four of them are merged away (their keys go) and the daily job rebuilds the table
    Customer.objects.filter(pk__in=[c.pk for c in made[:4]]).update(status=CustomerStatus.MERGED)
    customer_keys_refresh(customer_ids=[c.pk for c in made[:4]])
    assert DedupeStopKey.objects.filter(key="b:华东").exists()  # a refresh never drops a stop key
    rebuilt = dedupe_stop_keys_update()

    # then: 华东 is held by 2 customers now, not a stop key any more
    assert not DedupeStopKey.objects.filter(key="b:华东").exists()
    assert rebuilt == DedupeStopKey.objects.count()
