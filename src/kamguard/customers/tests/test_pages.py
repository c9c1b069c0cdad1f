"""Customer pages through the browser's eyes: the permission matrix (owner alice, teammate bob, supervisor sam,
outsider carol, auditor audrey, admin adam), nothing changed on refusal, the duplicate-warning flow, the claim
race, disputes, transfers, the report, and both languages."""

import re

import pytest
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, OwnershipChange, OwnershipDispute, Pool, TimelineEntry
from kamguard.customers.services import ownership, records

PERSONAS = ["alice", "bob", "sam", "carol", "audrey", "adam"]


def _state(customer):
    fresh = Customer.objects.get(pk=customer.pk)
    return (fresh.owner_id, fresh.name, fresh.tier, fresh.is_locked,
            OwnershipChange.objects.filter(customer=customer).count())


# ---------------------------------------------------------------- the permission matrix

@pytest.mark.parametrize(
    ("persona", "detail", "edit_page", "listed"),
    [
        ("alice", 200, 200, True),  # owner
        ("bob", 404, 404, False),  # teammate, a manager: sees only his own
        ("sam", 200, 200, True),  # supervisor over the department
        ("carol", 404, 404, False),  # outsider
        ("audrey", 200, 403, True),  # auditor: reads everything, changes nothing
        ("adam", 200, 403, True),  # admin: no business edits
    ],
)
def test_customer_pages_matrix(world, book, client_for, persona, detail, edit_page, listed):
    # given
    client = client_for(world.person(persona))
    before = _state(book.alpha)
    # when
    got = client.get(f"/customers/{book.alpha.pk}/")
    edit = client.get(f"/customers/{book.alpha.pk}/edit/")
    posted = client.post(f"/customers/{book.alpha.pk}/edit/", {"name": "被改了有限公司", "tier": "A"})
    team_list = client.get("/customers/team/", {"status": "all"}).content.decode()
    # then
    assert got.status_code == detail
    assert edit.status_code == edit_page
    if edit_page == 200:
        assert posted.status_code == 302
        assert Customer.objects.get(pk=book.alpha.pk).name == "被改了有限公司"
    else:
        assert posted.status_code == edit_page
        assert _state(book.alpha) == before
    assert (book.alpha.name in team_list) is listed or edit_page == 200


@pytest.mark.parametrize(
    ("persona", "status", "claimed"),
    [("alice", 302, True), ("bob", 302, True), ("sam", 404, False), ("carol", 302, True), ("audrey", 403, False),
     ("adam", 403, False)],
)
def test_claim_matrix(world, book, client_for, persona, status, claimed):
    before = _state(book.gamma)
    response = client_for(world.person(persona)).post(f"/customers/{book.gamma.pk}/claim/")
    assert response.status_code == status
    after = Customer.objects.get(pk=book.gamma.pk)
    if claimed:
        assert after.owner_id == getattr(world, persona).pk
        assert OwnershipChange.objects.filter(customer=book.gamma).count() == before[-1] + 1
    else:
        assert _state(book.gamma) == before  # nothing changed on refusal


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 302), ("bob", 404), ("sam", 403), ("carol", 404), ("audrey", 403), ("adam", 403)],
)
def test_release_matrix(world, book, client_for, persona, status):
    before = _state(book.alpha)
    response = client_for(world.person(persona)).post(f"/customers/{book.alpha.pk}/release/",
                                                      {"reason": "客户转向竞争对手"})
    assert response.status_code == status
    if status == 302:
        assert Customer.objects.get(pk=book.alpha.pk).owner_id is None
        assert OwnershipChange.objects.filter(customer=book.alpha, kind="release").count() == 1
    else:
        assert _state(book.alpha) == before


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 403), ("bob", 403), ("sam", 302), ("carol", 403), ("audrey", 403), ("adam", 403)],
)
def test_transfer_matrix(world, book, client_for, persona, status):
    before = _state(book.alpha)
    response = client_for(world.person(persona)).post(f"/customers/{book.alpha.pk}/transfer/",
                                                      {"to_owner": world.bob.pk, "reason": "调整分工"})
    assert response.status_code == status
    if status == 302:
        assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.bob.pk
    else:
        assert _state(book.alpha) == before


def test_release_needs_a_reason_and_shows_it_in_place(world, book, client_for):
    response = client_for(world.person("alice")).post(f"/customers/{book.alpha.pk}/release/", {"reason": ""})
    assert response.status_code == 200
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.alice.pk


# ---------------------------------------------------------------- no side doors: search, counts, dedupe details

def test_outsider_cannot_find_a_customer_through_search_or_counts(world, book, client_for):
    client = client_for(world.person("carol"))
    for url in ("/customers/", "/customers/team/"):
        body = client.get(url, {"q": "腾达", "status": "all"}).content.decode()
        assert "腾达" not in body.replace('value="腾达"', "")
        assert "0 customers" in body or "0 个客户" in body
    # the pool page lists only unowned customers
    body = client.get(f"/customers/pools/{book.pool.pk}/").content.decode()
    assert book.alpha.name not in body and book.gamma.name in body


def test_duplicate_is_blocked_and_shows_only_name_and_owner(world, book, client_for):
    client = client_for(world.person("carol"))
    count = Customer.objects.count()
    response = client.post("/customers/new/", {"name": "腾达电子科技（深圳）有限公司", "tier": "C"})
    body = response.content.decode()
    assert response.status_code == 200
    assert Customer.objects.count() == count
    assert "李爱丽" in body  # who owns it
    assert f"/customers/{book.alpha.pk}/" not in body  # never a link or id of an out-of-scope customer
    assert "zhang@tengda-e.com" not in body and "13912345678" not in body
    assert "supervisor" in body or "主管" in body  # told how to proceed


def test_supervisor_sees_the_duplicate_and_can_file_a_claim_from_it(world, book, client_for):
    client = client_for(world.person("sam"))
    body = client.post("/customers/new/", {"name": "腾达电子科技（深圳）有限公司", "tier": "C"}).content.decode()
    assert f"/customers/{book.alpha.pk}/dispute/" in body


def test_possible_duplicate_needs_a_reason_then_registers_and_records_it(world, book, client_for):
    client = client_for(world.person("bob"))
    count = Customer.objects.count()
    first = client.post("/customers/new/", {"name": "上海浦江国际物流集团", "tier": "C"})
    assert first.status_code == 200
    assert Customer.objects.count() == count
    body = first.content.decode()
    assert "上海浦江物流有限公司" in body and 'name="duplicate_reason"' in body
    second = client.post("/customers/new/", {"name": "上海浦江国际物流集团", "tier": "C",
                                             "duplicate_reason": "集团公司，不同法人"})
    assert second.status_code == 302
    created = Customer.objects.get(name="上海浦江国际物流集团")
    assert created.owner_id == world.bob.pk
    assert TimelineEntry.objects.filter(customer=created, kind="customer.possible_duplicate",
                                        summary__contains="不同法人").exists()


def test_unique_customer_registers_with_its_first_contact(world, book, client_for):
    response = client_for(world.person("alice")).post("/customers/new/", {
        "name": "杭州西湖茶叶有限公司", "tier": "B", "contact_name": "王经理", "contact_phone": "13700001111"})
    assert response.status_code == 302
    customer = Customer.objects.get(name="杭州西湖茶叶有限公司")
    assert customer.contacts.get().phone == "+8613700001111"


# ---------------------------------------------------------------- claim race

def test_claim_race_says_who_got_there_first(world, book, client_for, monkeypatch):
    # given: alice's claim lands while bob's request is being checked
    real_checks = ownership._claim_checks

    def alice_wins_meanwhile(actor, customer, pool, now):
        real_checks(actor, customer, pool, now)
        Customer.objects.filter(pk=customer.pk).update(owner=world.alice)

    monkeypatch.setattr(ownership, "_claim_checks", alice_wins_meanwhile)
    # when
    response = client_for(world.person("bob")).post(f"/customers/{book.gamma.pk}/claim/", HTTP_HX_REQUEST="true")
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "李爱丽" in body and ("got there first" in body or "抢先" in body)
    # (the simulated rival write shares bob's rolled-back transaction; a real one is committed separately)
    assert Customer.objects.get(pk=book.gamma.pk).owner_id != world.bob.pk
    assert not OwnershipChange.objects.filter(customer=book.gamma, to_owner=world.bob).exists()


def test_claim_of_an_owned_customer_names_the_owner(world, book, client_for):
    ownership.customer_claim(actor=world.alice, customer_id=book.gamma.pk)
    response = client_for(world.person("bob")).post(f"/customers/{book.gamma.pk}/claim/", HTTP_HX_REQUEST="true")
    assert "李爱丽" in response.content.decode()
    assert Customer.objects.get(pk=book.gamma.pk).owner_id == world.alice.pk


# ---------------------------------------------------------------- the customer page

def test_contacts_masked_for_supervisor_reveal_is_audited(world, book, client_for):
    client = client_for(world.person("sam"))
    body = client.get(f"/customers/{book.alpha.pk}/").content.decode()
    assert "13912345678" not in body and "zhang@tengda-e.com" not in body
    contact = book.alpha.contacts.get()
    revealed = client.post(f"/customers/{book.alpha.pk}/contacts/{contact.pk}/reveal/phone/", HTTP_HX_REQUEST="true")
    assert "+8613912345678" in revealed.content.decode()
    assert AuditEvent.objects.filter(action="pii.revealed", actor=world.sam, object_id=str(contact.pk)).count() == 1


def test_owner_sees_contacts_in_clear_and_outsider_cannot_reveal(world, book, client_for):
    body = client_for(world.person("alice")).get(f"/customers/{book.alpha.pk}/").content.decode()
    assert "+8613912345678" in body
    contact = book.alpha.contacts.get()
    response = client_for(world.person("carol")).post(
        f"/customers/{book.alpha.pk}/contacts/{contact.pk}/reveal/phone/")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="pii.revealed", object_id=str(contact.pk)).exists()


def test_ledger_chain_and_owner_on_date(world, book, client_for):
    ownership.customer_transfer(actor=world.sam, customer_id=book.alpha.pk, to_owner_id=world.bob.pk, reason="调整")
    client = client_for(world.person("sam"))
    today = timezone.localdate().isoformat()
    body = client.get(f"/customers/{book.alpha.pk}/", {"on": today}).content.decode()
    assert "王博" in body and "李爱丽" in body
    assert body.count("<tr>") >= 2
    past = client.get(f"/customers/{book.alpha.pk}/", {"on": "2000-01-01"}).content.decode()
    assert "2000-01-01" in past


def test_account_team_add_and_remove(world, book, client_for):
    client = client_for(world.person("alice"))
    response = client.post(f"/customers/{book.alpha.pk}/team/", {"user": world.bob.pk, "role": "技术支持",
                                                                 "credit_share": "30"})
    assert response.status_code == 302
    assert book.alpha.team_members.get().credit_share == 30
    too_much = client.post(f"/customers/{book.alpha.pk}/team/", {"user": world.sue.pk, "role": "售前",
                                                                 "credit_share": "80"})
    assert too_much.status_code == 200 and book.alpha.team_members.count() == 1
    client.post(f"/customers/{book.alpha.pk}/team/{world.bob.pk}/remove/")
    assert not book.alpha.team_members.exists()


def test_merge_keeps_both_timelines_on_the_survivor_page(world, book, client_for):
    dup = records.customer_create(actor=world.alice, name="腾达电子（深圳）", skip_dedupe=True)
    client = client_for(world.person("sam"))
    response = client.post(f"/customers/{book.alpha.pk}/merge/", {"merged_id": dup.pk, "reason": "同一家公司"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=dup.pk).merged_into_id == book.alpha.pk
    body = client.get(f"/customers/{book.alpha.pk}/").content.decode()
    assert "腾达电子（深圳）" in body


def test_contact_add_on_the_customer_page(world, book, client_for):
    client = client_for(world.person("alice"))
    bad = client.post(f"/customers/{book.alpha.pk}/contacts/new/", {"name": "李工", "phone": "12345"})
    assert bad.status_code == 200 and book.alpha.contacts.count() == 1
    good = client.post(f"/customers/{book.alpha.pk}/contacts/new/", {"name": "李工", "phone": "13812345678",
                                                                     "is_active": "on"})
    assert good.status_code == 302 and book.alpha.contacts.count() == 2


# ---------------------------------------------------------------- pools

def test_pool_rules_refuse_negative_days(world, book, client_for):
    client = client_for(world.person("sam"))
    data = {"name": book.pool.name, "is_active": "on", "cooldown_days": "-1", "protection_days": "15",
            "warn_days_before": "7", "max_locks": "1"}
    response = client.post(f"/customers/pools/{book.pool.pk}/rules/", data)
    assert response.status_code == 200
    assert Pool.objects.get(pk=book.pool.pk).cooldown_days == 30


def test_pool_rules_only_for_pool_admins_and_supervisors(world, book, client_for):
    assert client_for(world.person("bob")).post(f"/customers/pools/{book.pool.pk}/rules/",
                                                {"name": "x", "cooldown_days": "1"}).status_code == 403
    assert Pool.objects.get(pk=book.pool.pk).name == "华东公海"


def test_pool_members_added_by_supervisor(world, book, client_for):
    client = client_for(world.person("sam"))
    response = client.post(f"/customers/pools/{book.pool.pk}/members/", {"user": world.sam.pk, "is_admin": "on"})
    assert response.status_code == 302
    assert book.pool.memberships.get(user=world.sam).is_admin


# ---------------------------------------------------------------- disputes and transfers

def test_dispute_flow_claim_answer_decide(world, book, client_for):
    bob, alice, sam = (client_for(world.person(p)) for p in ("bob", "alice", "sam"))
    assert bob.get(f"/customers/{book.alpha.pk}/dispute/").status_code == 404  # no claims by guessing ids
    warning = bob.post("/customers/new/", {"name": "腾达电子科技（深圳）有限公司", "tier": "C"}).content.decode()
    link = re.search(r'href="(/customers/disputes/claim/[^"]+/)"', warning)
    assert link, "the duplicate warning offers a claim"
    filed = bob.post(link.group(1), {"evidence": "2024年3月首次拜访张总"})
    assert filed.status_code == 302
    dispute = OwnershipDispute.objects.get(customer=book.alpha)
    assert dispute.arbiter_id == world.sam.pk
    assert "2024年3月首次拜访张总" in alice.get(f"/customers/disputes/{dispute.pk}/").content.decode()
    # bob cannot decide his own claim
    assert bob.post(f"/customers/disputes/{dispute.pk}/decide/", {"outcome": "transfer", "reason": "x"}
                    ).status_code in (200, 403)
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.alice.pk
    assert alice.post(f"/customers/disputes/{dispute.pk}/answer/", {"answer": "我2023年就开始跟进"}).status_code == 302
    inbox = sam.get("/customers/disputes/").content.decode()
    assert book.alpha.name in inbox
    decided = sam.post(f"/customers/disputes/{dispute.pk}/decide/", {"outcome": "transfer", "reason": "证据更早"})
    assert decided.status_code == 302
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.bob.pk


def test_transfer_request_needs_another_person_to_approve(world, book, client_for):
    alice, sam = client_for(world.person("alice")), client_for(world.person("sam"))
    response = alice.post(f"/customers/{book.alpha.pk}/transfer-request/", {"to_owner": world.bob.pk,
                                                                             "reason": "bob 更熟悉"})
    assert response.status_code == 302
    request = book.alpha.transfer_requests.get()
    assert alice.get(f"/customers/transfers/{request.pk}/decide/").status_code == 403
    assert alice.post(f"/customers/transfers/{request.pk}/decide/", {"approve": "1"}).status_code == 403
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.alice.pk  # the requester cannot approve
    page = sam.get("/customers/transfers/").content.decode()
    assert f"/customers/transfers/{request.pk}/decide/" in page
    assert sam.post(f"/customers/transfers/{request.pk}/decide/", {"approve": "1"}).status_code == 302
    assert Customer.objects.get(pk=book.alpha.pk).owner_id == world.bob.pk


# ---------------------------------------------------------------- the dispute report

@pytest.mark.parametrize(("persona", "status", "csv"), [
    ("alice", 403, 403), ("bob", 403, 403), ("sam", 200, 403), ("carol", 403, 403), ("audrey", 200, 403),
    ("adam", 200, 200)])
def test_dispute_report_matrix_and_export_is_audited(world, book, client_for, persona, status, csv):
    from kamguard.customers.services import disputes

    disputes.dispute_file(actor=world.sam, customer_id=book.alpha.pk, evidence="早期接触")
    client = client_for(world.person(persona))
    page = client.get("/customers/disputes/report/", {"period": "quarter"})
    assert page.status_code == status
    if status == 200:
        assert "上海一组" in page.content.decode()
    export = client.get("/customers/disputes/report/", {"format": "csv"})
    assert export.status_code == csv
    exported = AuditEvent.objects.filter(action="customers.dispute_report.exported").count()
    assert exported == (1 if csv == 200 else 0)
    if csv == 200:
        assert "上海一组" in export.content.decode("utf-8-sig")


# ---------------------------------------------------------------- lists: queries and languages

def test_list_pages_query_count_does_not_grow_with_rows(world, book, client_for, django_assert_max_num_queries):
    for i in range(30):
        records.customer_create(actor=world.alice, name=f"测试客户{i:02d}号有限公司", skip_dedupe=True)
    client = client_for(world.person("sam"))
    with django_assert_max_num_queries(25):
        assert client.get("/customers/team/").status_code == 200
    alice = client_for(world.person("alice"))
    with django_assert_max_num_queries(25):
        assert alice.get("/customers/").status_code == 200
    with django_assert_max_num_queries(25):
        assert alice.get(f"/customers/pools/{book.pool.pk}/").status_code == 200


@pytest.mark.parametrize(("language", "expected"), [("en", "My customers"), ("zh-hans", "我的客户")])
def test_pages_render_in_both_languages(world, book, client_for, language, expected):
    client = client_for(world.person("alice"))
    client.cookies["kamguard_language"] = language
    for url in ("/customers/", "/customers/team/", f"/customers/{book.alpha.pk}/", "/customers/pools/",
                f"/customers/pools/{book.pool.pk}/", "/customers/disputes/", "/customers/transfers/",
                "/customers/new/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert f'lang="{language}"' in response.content.decode()
    assert expected in client.get("/customers/").content.decode()


def test_nav_marks_the_customer_sections(world, book, client_for):
    client = client_for(world.person("alice"))
    client.cookies["kamguard_language"] = "en"
    pools = client.get("/customers/pools/").content.decode()
    assert 'data-nav="pools" aria-current="page"' in pools
    assert 'data-nav="customers" aria-current' not in pools
    assert 'data-nav="customers" aria-current="page"' in client.get("/customers/").content.decode()
    assert 'data-nav="disputes" aria-current="page"' in client.get("/customers/transfers/").content.decode()
    assert 'data-nav="people" aria-current="page"' in client.get("/org/people/").content.decode()


def test_auditor_reads_everything_but_is_offered_no_action(world, book, client_for):
    client = client_for(world.person("audrey"))
    client.cookies["kamguard_language"] = "en"
    body = client.get(f"/customers/{book.alpha.pk}/").content.decode()
    for action in ("/edit/", "/release/", "/transfer/", "/merge/", "/dispute/", "/claim/", "/contacts/new/"):
        assert f"/customers/{book.alpha.pk}{action}" not in body
    assert client.get("/customers/disputes/report/").status_code == 200
    assert client.post(f"/customers/{book.alpha.pk}/lock/1/", {"reason": "x"}).status_code == 403
    assert Customer.objects.get(pk=book.alpha.pk).is_locked is False


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 404), ("sam", 200), ("carol", 404),
                                                 ("audrey", 200)])
def test_the_customer_page_loads_its_allocation_section_for_those_who_see_the_customer(
        world, book, client_for, persona, status):
    client = client_for(world.person(persona))
    # when
    page = client.get(f"/customers/{book.alpha.pk}/")
    section = client.get(f"/allocation/customers/{book.alpha.pk}/", headers={"HX-Request": "true"})
    # then
    assert section.status_code == status
    if status == 200:
        assert f'hx-get="/allocation/customers/{book.alpha.pk}/"' in page.content.decode()
        assert 'id="allocation-decisions"' in section.content.decode()


SECTIONS = [  # (the fragment's address, a mark of its content) for each capability's section of the customer page
    ("/activities/customers/{pk}/", 'id="customer-activities"'),
    ("/sales/customers/{pk}/", 'id="sales-opportunities"'),
    ("/contracts/customer/{pk}/", 'id="customer-contracts"'),
    ("/relay/customers/{pk}/", ""),
    ("/records/customers/{pk}/", ""),
]


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 404), ("sam", 200), ("carol", 404),
                                                 ("audrey", 200)])
def test_the_customer_page_loads_each_capabilitys_section_for_those_who_see_the_customer(
        world, book, client_for, persona, status):
    client = client_for(world.person(persona))
    # when
    page = client.get(f"/customers/{book.alpha.pk}/").content.decode()
    for address, mark in SECTIONS:
        url = address.format(pk=book.alpha.pk)
        section = client.get(url, headers={"HX-Request": "true"})
        # then: the page asks for the section, which answers only those who may see the customer
        assert section.status_code == status, url
        if status == 200:
            assert f'hx-get="{url}"' in page, url
            assert mark in section.content.decode(), url
