"""Customer services: registration with the duplicate check, the pool rules, transfers, disputes, the ledger."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import (
    AccountTeamMember,
    Customer,
    DisputeStatus,
    OwnershipChange,
    RequestStatus,
)
from kamguard.customers.selectors import customer_list, owner_on
from kamguard.customers.services import disputes, ownership, pools, records


def _owner(customer):
    return Customer.objects.get(pk=customer.pk).owner_id


# ---------------------------------------------------------------- registration and the duplicate check

def test_registration_lands_in_ledger_timeline_and_audit(world, book):
    alpha = book.alpha
    assert alpha.owner_id == world.alice.pk
    change = OwnershipChange.objects.get(customer=alpha)
    assert (change.kind, change.from_owner_id, change.to_owner_id) == ("registered", None, world.alice.pk)
    assert alpha.timeline.filter(kind="customer.registered").exists()
    assert AuditEvent.objects.filter(action="customers.customer.created", object_id=str(alpha.pk)).exists()
    assert alpha.region is not None and alpha.region.name == "深圳市"
    assert alpha.contacts.get().phone == "+8613912345678"


def test_exact_duplicate_is_blocked_and_names_the_owner_only(world, book):
    count = Customer.objects.count()
    with pytest.raises(Conflict) as caught:
        records.customer_create(actor=world.bob, name="腾达电子科技（深圳）有限公司")
    error = caught.value
    assert error.code == "duplicate"
    candidate = error.extra["candidates"][0]
    assert candidate["owner"] == "李爱丽"
    assert candidate["customer_id"] is None and candidate["visible"] is False  # bob may not see alice's customer
    assert Customer.objects.count() == count


def test_same_uscc_is_a_duplicate_whatever_the_name(world, book):
    records.customer_update(actor=world.alice, customer_id=book.alpha.pk, uscc="91440300MA5FUYN44E")
    with pytest.raises(Conflict):
        records.customer_create(actor=world.bob, name="完全不同的名字公司", uscc="91440300MA5FUYN44E")


def test_possible_duplicate_needs_a_reason_which_is_recorded(world, book):
    with pytest.raises(ValidationFailed) as caught:
        records.customer_create(actor=world.bob, name="上海浦江国际物流集团")
    assert caught.value.code in {"possible_duplicate"}
    customer = records.customer_create(actor=world.bob, name="上海浦江国际物流集团",
                                       duplicate_reason="不同法人：集团公司，非子公司")
    entry = customer.timeline.get(kind="customer.possible_duplicate")
    assert "不同法人" in entry.summary


@pytest.mark.parametrize(("field", "value"), [("uscc", "91440300MA5FUYN44X"), ("name", "  "), ("tier", "Z")])
def test_bad_values_are_refused_with_the_field_named(world, field, value):
    kwargs = {"name": "某某有限公司", field: value}
    with pytest.raises(ValidationFailed) as caught:
        records.customer_create(actor=world.alice, **kwargs)
    assert field in caught.value.field_errors
    assert not Customer.objects.exists()


def test_bad_contact_phone_refused_and_nothing_written(world, book):
    with pytest.raises(ValidationFailed) as caught:
        records.contact_save(actor=world.alice, customer_id=book.alpha.pk, name="李工", phone="12345")
    assert "phone" in caught.value.field_errors
    assert book.alpha.contacts.count() == 1


def test_manager_cannot_register_for_someone_else(world):
    with pytest.raises(PermissionRefused):
        records.customer_create(actor=world.alice, name="杭州新客户有限公司", owner=world.bob)
    assert not Customer.objects.exists()


# ---------------------------------------------------------------- scope

def test_customers_in_scope(world, book):
    def names(user):
        return set(customer_list(viewer=world.person(user)).values_list("pk", flat=True))

    assert names("alice") == {book.alpha.pk, book.gamma.pk}  # own + pool she belongs to
    assert names("sam") == {book.alpha.pk}  # department scope; not a pool member
    assert names("carol") == {book.beta.pk, book.gamma.pk}
    assert names("audrey") == {book.alpha.pk, book.beta.pk, book.gamma.pk}


# ---------------------------------------------------------------- claims

def test_claim_and_the_race_is_won_once(world, book):
    ownership.customer_claim(actor=world.bob, customer_id=book.gamma.pk)
    with pytest.raises(Conflict) as caught:
        ownership.customer_claim(actor=world.alice, customer_id=book.gamma.pk)
    assert caught.value.code == "already_owned" and "王博" in str(caught.value.message)
    assert _owner(book.gamma) == world.bob.pk
    assert Customer.objects.get(pk=book.gamma.pk).protected_until > timezone.now()


def test_claim_limit_per_tier(world, book):
    for i in range(2):
        customer = records.customer_create(actor=None, name=f"北方重工{i}号股份有限公司", to_pool=True, pool=book.pool,
                                           tier="A", skip_dedupe=True)
        ownership.customer_claim(actor=world.bob, customer_id=customer.pk)
    third = records.customer_create(actor=None, name="南方重工股份有限公司", to_pool=True, pool=book.pool, tier="A",
                                    skip_dedupe=True)
    with pytest.raises(ValidationFailed) as caught:
        ownership.customer_claim(actor=world.bob, customer_id=third.pk)
    assert caught.value.code == "claim_limit"
    assert _owner(third) is None


def test_daily_claim_limit(world, book):
    created = [records.customer_create(actor=None, name=f"测试客户{i}有限公司", to_pool=True, pool=book.pool,
                                       skip_dedupe=True) for i in range(4)]
    for customer in created[:3]:
        ownership.customer_claim(actor=world.henry, customer_id=customer.pk)
    with pytest.raises(ValidationFailed) as caught:
        ownership.customer_claim(actor=world.henry, customer_id=created[3].pk)
    assert caught.value.code == "daily_claim_limit"


def test_cooldown_after_release(world, book):
    ownership.customer_release(actor=world.alice, customer_id=book.alpha.pk, reason="客户需求不匹配")
    with pytest.raises(ValidationFailed) as caught:
        ownership.customer_claim(actor=world.alice, customer_id=book.alpha.pk)
    assert caught.value.code == "claim_cooldown"
    ownership.customer_claim(actor=world.bob, customer_id=book.alpha.pk)  # others may


def test_non_member_cannot_claim_and_nothing_changes(world, book):
    with pytest.raises((PermissionRefused, NotFound)):
        ownership.customer_claim(actor=world.sam, customer_id=book.gamma.pk)
    assert _owner(book.gamma) is None


def test_release_of_someone_elses_customer_is_refused(world, book):
    with pytest.raises((PermissionRefused, NotFound)):
        ownership.customer_release(actor=world.bob, customer_id=book.alpha.pk, reason="x")
    with pytest.raises(ValidationFailed):
        ownership.customer_release(actor=world.alice, customer_id=book.alpha.pk, reason=" ")
    assert _owner(book.alpha) == world.alice.pk


@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_have_exactly_one_winner(world):
    pool = pools.pool_save(actor=None, name="赛跑公海")
    contenders = [world.alice, world.bob, world.henry, world.sue, world.carol]
    for person in contenders:
        pools.pool_member_set(actor=None, pool_id=pool.pk, user=person, is_member=True)
    for trial in range(5):
        customer = records.customer_create(actor=None, name=f"赛跑客户{trial}有限公司", to_pool=True, pool=pool,
                                           skip_dedupe=True)
        winners, losers = [], []
        barrier = threading.Barrier(len(contenders))

        def claim(person, customer_id=customer.pk, winners=winners, losers=losers, barrier=barrier):
            try:
                barrier.wait()
                ownership.customer_claim(actor=person, customer_id=customer_id)
                winners.append(person.pk)
            except Conflict as exc:
                losers.append(exc.extra.get("owner_id"))
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(p,)) for p in contenders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1, (winners, losers)
        assert set(losers) == {winners[0]}  # every loser is told who won
        assert OwnershipChange.objects.filter(customer=customer, kind="claim").count() == 1


# ---------------------------------------------------------------- reclaim

def test_reclaim_warns_then_reclaims_and_is_idempotent(world, book):
    start = timezone.now()
    ownership.customer_claim(actor=world.bob, customer_id=book.gamma.pk)  # tier C: 30 days without follow-up
    Customer.objects.filter(pk=book.gamma.pk).update(protected_until=start)
    warned = ownership.pool_reclaim_run(now=start + dt.timedelta(days=24))
    assert warned.warned == [book.gamma.pk] and warned.reclaimed == []
    again = ownership.pool_reclaim_run(now=start + dt.timedelta(days=25))
    assert again.warned == []
    done = ownership.pool_reclaim_run(now=start + dt.timedelta(days=31))
    assert done.reclaimed == [book.gamma.pk]
    assert ownership.pool_reclaim_run(now=start + dt.timedelta(days=32)).reclaimed == []
    assert _owner(book.gamma) is None
    assert OwnershipChange.objects.filter(customer=book.gamma, kind="reclaim").count() == 1


def test_locked_and_protected_customers_are_not_reclaimed(world, book):
    start = timezone.now()
    ownership.customer_claim(actor=world.bob, customer_id=book.gamma.pk)
    Customer.objects.filter(pk=book.gamma.pk).update(owned_since=start - dt.timedelta(days=100))
    assert book.gamma.pk not in ownership.pool_reclaim_run(now=start + dt.timedelta(days=10)).reclaimed  # protected
    ownership.customer_lock(actor=world.bob, customer_id=book.gamma.pk, locked=True)
    assert book.gamma.pk not in ownership.pool_reclaim_run(now=start + dt.timedelta(days=90)).reclaimed  # locked
    assert _owner(book.gamma) == world.bob.pk
    other = records.customer_create(actor=world.bob, name="宁波港口设备有限公司", pool=book.pool)
    with pytest.raises(ValidationFailed) as caught:  # max_locks = 1
        ownership.customer_lock(actor=world.bob, customer_id=other.pk, locked=True)
    assert caught.value.code == "lock_limit"


def test_pool_rule_with_negative_days_is_refused(world):
    with pytest.raises(ValidationFailed) as caught:
        pools.pool_save(actor=world.adam, name="坏规则", cooldown_days=-3)
    assert "cooldown_days" in caught.value.field_errors


# ---------------------------------------------------------------- transfers and the ledger

def test_transfer_request_needs_a_supervisor_who_is_not_a_party(world, book):
    request = ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk,
                                                to_owner_id=world.bob.pk, reason="alice 调岗")
    with pytest.raises(PermissionRefused):
        ownership.transfer_request_decide(actor=world.alice, request_id=request.pk, approve=True)
    with pytest.raises((PermissionRefused, NotFound)):
        ownership.transfer_request_decide(actor=world.bob, request_id=request.pk, approve=True)
    assert _owner(book.alpha) == world.alice.pk
    ownership.transfer_request_decide(actor=world.sam, request_id=request.pk, approve=True, reason="同意")
    assert _owner(book.alpha) == world.bob.pk
    change = OwnershipChange.objects.filter(customer=book.alpha).latest("effective_at")
    assert (change.kind, change.from_owner_id, change.to_owner_id, change.approved_by_id) == (
        "transfer", world.alice.pk, world.bob.pk, world.sam.pk)
    assert request.__class__.objects.get(pk=request.pk).status == RequestStatus.APPROVED


def test_supervisor_cannot_approve_own_request(world, book):
    request = ownership.transfer_request_create(actor=world.sam, customer_id=book.alpha.pk, to_owner_id=world.bob.pk,
                                                reason="重新分配")
    with pytest.raises(PermissionRefused) as caught:
        ownership.transfer_request_decide(actor=world.sam, request_id=request.pk, approve=True)
    assert caught.value.code == "self_approval"
    assert _owner(book.alpha) == world.alice.pk


def test_who_owned_it_on_a_date(world, book):
    before = timezone.now()
    ownership.customer_transfer(actor=world.sam, customer_id=book.alpha.pk, to_owner_id=world.bob.pk, reason="调整")
    assert owner_on(customer_id=book.alpha.pk, on=before) == world.alice.pk
    assert owner_on(customer_id=book.alpha.pk, on=timezone.now()) == world.bob.pk
    assert owner_on(customer_id=book.alpha.pk, on=before - dt.timedelta(days=400)) is None


def test_manager_cannot_transfer_directly(world, book):
    with pytest.raises(PermissionRefused):
        ownership.customer_transfer(actor=world.alice, customer_id=book.alpha.pk, to_owner_id=world.bob.pk,
                                    reason="x")
    assert _owner(book.alpha) == world.alice.pk


# ---------------------------------------------------------------- disputes

def _token(viewer, customer):
    from kamguard.customers.services.dedupe import claim_token_for

    return claim_token_for(viewer=viewer, customer_id=customer.pk)


def test_dispute_from_claim_to_decision(world, book):
    dispute = disputes.dispute_file(actor=world.bob, claim_token=_token(world.bob, book.alpha), evidence="2025年就拜访过张总",
                                    first_contact_on=dt.date(2025, 3, 1))
    assert dispute.arbiter_id == world.sam.pk
    with pytest.raises(ValidationFailed):  # the owner has not answered yet
        disputes.dispute_decide(actor=world.sam, dispute_id=dispute.pk, outcome="transfer", reason="x")
    disputes.dispute_answer(actor=world.alice, dispute_id=dispute.pk, answer="我2024年就登记了")
    with pytest.raises(PermissionRefused):
        disputes.dispute_decide(actor=world.bob, dispute_id=dispute.pk, outcome="transfer", reason="我赢")
    disputes.dispute_decide(actor=world.sam, dispute_id=dispute.pk, outcome="share", reason="共同开发",
                            claimant_share="30")
    member = AccountTeamMember.objects.get(customer=book.alpha, user=world.bob)
    assert str(member.credit_share) == "30.00"
    assert _owner(book.alpha) == world.alice.pk
    assert disputes.OwnershipDispute.objects.get(pk=dispute.pk).status == DisputeStatus.DECIDED


def test_dispute_transfer_outcome_changes_owner_through_the_ledger(world, book):
    dispute = disputes.dispute_file(actor=world.bob, claim_token=_token(world.bob, book.alpha), evidence="首次拜访记录")
    disputes.dispute_answer(actor=world.alice, dispute_id=dispute.pk, answer="无异议")
    disputes.dispute_decide(actor=world.sam, dispute_id=dispute.pk, outcome="transfer", reason="bob 先接触")
    assert _owner(book.alpha) == world.bob.pk
    assert OwnershipChange.objects.filter(customer=book.alpha, kind="dispute", reference=f"dispute:{dispute.pk}").exists()


def test_cannot_claim_own_or_pool_customer_by_dispute(world, book):
    with pytest.raises(ValidationFailed):
        disputes.dispute_file(actor=world.alice, customer_id=book.alpha.pk, evidence="x")
    with pytest.raises(ValidationFailed):
        disputes.dispute_file(actor=world.alice, customer_id=book.gamma.pk, evidence="x")


# ---------------------------------------------------------------- account team and merge

def test_team_shares_cannot_exceed_100(world, book):
    records.account_team_set(actor=world.alice, customer_id=book.alpha.pk, user=world.bob, role="技术支持",
                             credit_share="60")
    with pytest.raises(ValidationFailed):
        records.account_team_set(actor=world.alice, customer_id=book.alpha.pk, user=world.henry, role="协同",
                                 credit_share="50")
    assert not AccountTeamMember.objects.filter(user=world.henry).exists()


def test_merge_keeps_every_history(world, book):
    twin = records.customer_create(actor=world.bob, name="腾达电子科技股份公司", duplicate_reason="先登记后核实",
                                   skip_dedupe=True)
    survivor = records.customer_merge(actor=world.sam, survivor_id=book.alpha.pk, merged_id=twin.pk,
                                      reason="同一法人")
    twin.refresh_from_db()
    assert twin.status == "merged" and twin.merged_into_id == survivor.pk
    assert "腾达电子科技股份公司" in survivor.aliases
    assert OwnershipChange.objects.filter(customer=twin).count() == 2  # registered, then merge
    assert AccountTeamMember.objects.filter(customer=survivor, user=world.bob).exists()  # bob keeps a place


# ---------------------------------------------------------------- claims from the duplicate warning

def test_duplicate_warning_gives_a_claim_token_only_its_viewer_can_use(world, book):
    from kamguard.customers.services.dedupe import candidates_for_viewer, customer_dedupe_check

    result = customer_dedupe_check(name="腾达电子科技（深圳）有限公司")
    seen_by_bob = candidates_for_viewer(viewer=world.person("bob"), result=result)[0]
    assert seen_by_bob.customer_id is None and seen_by_bob.claim_token
    with pytest.raises(NotFound):  # a token is personal
        disputes.dispute_file(actor=world.person("carol"), claim_token=seen_by_bob.claim_token, evidence="x")
    with pytest.raises(NotFound):  # forged
        disputes.dispute_file(actor=world.person("bob"), claim_token=seen_by_bob.claim_token[:-2] + "xx",
                              evidence="x")
    with pytest.raises(NotFound):  # guessing the id of a customer out of scope gets nothing
        disputes.dispute_file(actor=world.person("bob"), customer_id=book.alpha.pk, evidence="x")
    dispute = disputes.dispute_file(actor=world.person("bob"), claim_token=seen_by_bob.claim_token,
                                    evidence="去年已拜访")
    assert dispute.customer_id == book.alpha.pk and dispute.owner_id == world.alice.pk


def test_stop_keys_are_skipped_and_kept_up_to_date(world, book, monkeypatch):
    from kamguard.customers.models import DedupeStopKey
    from kamguard.customers.services import dedupe

    for i in range(4):
        records.customer_create(actor=None, name=f"华东{i}号测绘科技有限公司", to_pool=True, pool=book.pool,
                                skip_dedupe=True)
    assert dedupe.dedupe_stop_keys_update(threshold=3) > 0  # the shared bigrams are now stop keys
    stop = set(DedupeStopKey.objects.values_list("key", flat=True))
    assert "b:测绘" in stop or any(k.startswith("b:") for k in stop)
    # a check still finds the exact customer through its distinctive keys
    result = dedupe.customer_dedupe_check(name="华东2号测绘科技有限公司")
    assert result.verdict == "duplicate"
    assert Customer.objects.get(pk=int(result.candidates[0].external_id)).name == "华东2号测绘科技有限公司"
    # the daily rebuild gives the same table
    rebuilt = dedupe.dedupe_stop_keys_update(threshold=3)
    assert set(DedupeStopKey.objects.values_list("key", flat=True)) == stop and rebuilt == len(stop)
