"""The home dashboard's customer figures come from the data, narrowed to the viewer."""

import re

from kamguard.customers.services import disputes


def _figure(body: str, label: str) -> str:
    match = re.search(r'<div class="figure[^"]*">([^<]*)</div><div class="label">' + re.escape(label), body)
    assert match, label
    return match.group(1).strip()


def test_manager_sees_own_customers_pool_and_claims_to_answer(world, book, client_for):
    from kamguard.customers.services.dedupe import claim_token_for

    disputes.dispute_file(actor=world.bob, claim_token=claim_token_for(viewer=world.bob, customer_id=book.alpha.pk),
                          evidence="早期接触")
    client = client_for(world.person("alice"))
    client.cookies["kamguard_language"] = "en"
    body = client.get("/").content.decode()
    assert _figure(body, "My customers") == "1"
    assert _figure(body, "Tier A / B / C") == "0 / 1 / 0"
    from kamguard.customers.services import records

    records.customer_create(actor=world.alice, name="无锡新材料科技股份有限公司", tier="B", pool=book.pool,
                            skip_dedupe=True)
    body = client.get("/").content.decode()
    assert _figure(body, "My customers") == "2" and _figure(body, "Tier A / B / C") == "0 / 2 / 0"
    assert _figure(body, "In my pools, free to claim") == "1"
    assert _figure(body, "Claims waiting for my answer") == "1"
    assert "Transfer requests to decide" not in body


def test_supervisor_sees_scope_and_requests_to_decide(world, book, client_for):
    from kamguard.customers.services import ownership

    ownership.transfer_request_create(actor=world.alice, customer_id=book.alpha.pk, to_owner_id=world.bob.pk,
                                      reason="调岗")
    client = client_for(world.person("sam"))
    client.cookies["kamguard_language"] = "en"
    body = client.get("/").content.decode()
    assert _figure(body, "Customers in my scope") == "1"  # alpha; carol's customer is outside
    assert _figure(body, "Transfer requests to decide") == "1"


def test_outsider_counts_exclude_what_they_cannot_see(world, book, client_for):
    client = client_for(world.person("carol"))
    client.cookies["kamguard_language"] = "en"
    body = client.get("/").content.decode()
    assert _figure(body, "My customers") == "1"
