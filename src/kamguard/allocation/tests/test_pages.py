"""Allocation pages through the browser's eyes: every page renders for the people it is for, the rule editor
(add, move, validation in place, save), activation with confirmation, simulation, intake, the public web
form, the allocation log with its explanations, re-assignment, fairness and availability; the permission
matrix (owner alice, teammate bob, supervisor sam, outsider carol, auditor audrey, admin adam) with nothing
changed on refusal; query counts on list pages; both languages."""

from __future__ import annotations

import pytest

from kamguard.allocation.models import (
    Absence,
    AllocationDecision,
    Intake,
    PersonCapacity,
    RuleSetVersion,
    VersionStatus,
)
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.tests.conftest import lead
from kamguard.customers.models import Customer


@pytest.fixture
def flow(world, alloc):
    """Three leads through intake: one to the Shanghai team, one tier A to henry, one to the fallback pool."""
    first = intake_submit(actor=world.sue, channel="form", fields=lead(region="310104", tier="B",
                                                                       expected_value="120000"))
    key = intake_submit(actor=world.sue, channel="form", fields=lead(region="310104", tier="A"))
    other = intake_submit(actor=world.sue, channel="form", fields=lead(region="440300", tier="C"))
    return {"first": first, "key": key, "other": other}


PAGES = ["/allocation/", "/allocation/log/", "/allocation/intake/", "/allocation/intake/new/", "/allocation/fairness/",
         "/allocation/people/"]


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey", "adam", "carol"])
def test_every_list_page_renders(world, alloc, flow, client_for, persona):
    client = client_for(world.person(persona))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
    assert client.get(f"/allocation/rule-sets/{alloc.rule_set.pk}/").status_code == 200
    assert client.get(f"/allocation/versions/{alloc.version.pk}/").status_code == 200


# ---------------------------------------------------------------- the rule editor

def _editor_post(world, alloc, **extra):
    """The editor's fields for: rule 0 Shanghai → team A round-robin; rule 1 tier A → henry; fallback the pool."""
    data = {
        "rule_count": "2", "note": "按地区",
        "r0-key": "shanghai", "r0-name": "上海", "r0-cond_count": "1", "r0-c0-field": "region",
        "r0-c0-operator": "within", "r0-c0-value": "310000 上海市", "r0-target-kind": "team",
        "r0-target-team": str(world.team_a.pk), "r0-target-strategy": "round_robin",
        "r1-key": "key-a", "r1-name": "A 类", "r1-cond_count": "1", "r1-c0-field": "tier", "r1-c0-operator": "eq",
        "r1-c0-choice": "A", "r1-target-kind": "person", "r1-target-person": str(world.henry.pk),
        "fallback-kind": "pool", "fallback-pool": str(alloc.pool.pk),
    }
    data.update(extra)
    return data


def test_editor_saves_a_draft_without_json(world, alloc, client_for):
    # given
    client = client_for(world.person("adam"))
    # when
    response = client.post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {
        **_editor_post(world, alloc), "action": "save"})
    # then
    assert response.status_code == 302
    draft = RuleSetVersion.objects.get(rule_set=alloc.rule_set, number=2)
    assert draft.status == VersionStatus.DRAFT and draft.note == "按地区"
    assert draft.rules["rules"][0]["conditions"] == [{"field": "region", "operator": "within", "value": "310000"}]
    assert draft.rules["rules"][0]["target"] == {"kind": "team", "id": world.team_a.pk, "strategy": "round_robin"}
    assert draft.rules["rules"][1]["conditions"][0]["value"] == "A"
    assert draft.rules["fallback"]["kind"] == "pool"


def test_editor_buttons_add_move_and_remove_without_saving(world, alloc, client_for):
    client = client_for(world.person("adam"))
    url = f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/"
    moved = client.post(url, {**_editor_post(world, alloc), "action": "down:0"}).content.decode()
    assert moved.index('value="key-a"') < moved.index('value="shanghai"')
    added = client.post(url, {**_editor_post(world, alloc), "action": "add_rule"}).content.decode()
    assert 'name="r2-key" value="rule-3"' in added
    condition = client.post(url, {**_editor_post(world, alloc), "action": "add_condition:1"}).content.decode()
    assert 'name="r1-cond_count" value="2"' in condition
    removed = client.post(url, {**_editor_post(world, alloc), "action": "remove_rule:0"}).content.decode()
    assert 'value="shanghai"' not in removed
    assert RuleSetVersion.objects.filter(rule_set=alloc.rule_set).count() == 1  # nothing saved


def test_editor_shows_each_problem_next_to_its_rule_and_saves_nothing(world, alloc, client_for):
    # given a rule with an unknown region and a rule without a key
    client = client_for(world.person("adam"))
    # when
    response = client.post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {
        **_editor_post(world, alloc, **{"r0-c0-value": "abc", "r1-key": ""}), "action": "save"})
    # then
    assert response.status_code == 200
    page = response.content.decode()
    rule0 = page[page.index('id="rule-0"'):page.index('id="rule-1"')]
    rule1 = page[page.index('id="rule-1"'):page.index('id="fallback"')]
    assert 'class="errorlist"' in rule0 and 'class="errorlist"' in rule1
    assert 'value="abc"' in rule0  # what was typed is kept
    assert RuleSetVersion.objects.filter(rule_set=alloc.rule_set).count() == 1


def test_editor_names_a_target_person_who_has_left(world, alloc, client_for):
    henry = world.person("henry")
    henry.is_active = False
    henry.save()
    response = client_for(world.person("adam")).post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {
        **_editor_post(world, alloc), "action": "save"})
    page = response.content.decode()
    rule1 = page[page.index('id="rule-1"'):page.index('id="fallback"')]
    assert 'class="errorlist"' in rule1
    assert RuleSetVersion.objects.filter(rule_set=alloc.rule_set).count() == 1


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 403), ("sam", 403), ("carol", 403), ("audrey", 403), ("adam", 302)])
def test_editor_matrix(world, alloc, client_for, persona, status):
    before = RuleSetVersion.objects.count()
    response = client_for(world.person(persona)).post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {
        **_editor_post(world, alloc), "action": "save"})
    assert response.status_code == status
    assert RuleSetVersion.objects.count() == before + (1 if status == 302 else 0)


def test_activation_needs_the_confirmation(world, alloc, client_for):
    # given a draft
    client = client_for(world.person("adam"))
    client.post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {**_editor_post(world, alloc),
                                                                           "action": "save"})
    draft = RuleSetVersion.objects.get(rule_set=alloc.rule_set, number=2)
    url = f"/allocation/versions/{draft.pk}/activate/"
    # when / then: the page shows what changes, and without the box nothing happens
    page = client.get(url).content.decode()
    assert "四川" in page  # the removed rule is named
    assert client.post(url, {"note": "x"}).status_code == 200
    assert RuleSetVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT
    # and with it the draft becomes active and v1 is retired
    assert client.post(url, {"confirm": "on", "note": "simulated"}).status_code == 302
    assert RuleSetVersion.objects.get(pk=draft.pk).status == VersionStatus.ACTIVE
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == VersionStatus.RETIRED


@pytest.mark.parametrize("persona", ["alice", "sam", "audrey"])
def test_activation_is_refused_to_others_and_changes_nothing(world, alloc, client_for, persona):
    draft = RuleSetVersion.objects.create(rule_set=alloc.rule_set, number=2, rules=alloc.version.rules)
    response = client_for(world.person(persona)).post(f"/allocation/versions/{draft.pk}/activate/",
                                                      {"confirm": "on"})
    assert response.status_code in (403, 404)
    assert RuleSetVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == VersionStatus.ACTIVE


def test_version_pages_diff_and_simulation(world, alloc, flow, client_for):
    client = client_for(world.person("adam"))
    client.post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {**_editor_post(world, alloc),
                                                                           "action": "save"})
    draft = RuleSetVersion.objects.get(rule_set=alloc.rule_set, number=2)
    history = client.get(f"/allocation/rule-sets/{alloc.rule_set.pk}/").content.decode()
    assert "v2" in history and "v1" in history and world.adam.full_name in history
    diff = client.get(f"/allocation/rule-sets/{alloc.rule_set.pk}/diff/", {"new": draft.pk}).content.decode()
    assert "四川" in diff
    counts = (AllocationDecision.objects.count(), Intake.objects.count())
    simulated = client.post(f"/allocation/versions/{draft.pk}/simulate/", {"source": "months", "months": "3"})
    assert simulated.status_code == 200
    body = simulated.content.decode()
    assert "<svg" in body and world.alice.full_name in body
    assert (AllocationDecision.objects.count(), Intake.objects.count()) == counts


# ---------------------------------------------------------------- intake, the public form, the log

def test_internal_intake_form_allocates_and_explains(world, alloc, client_for):
    client = client_for(world.person("bob"))
    response = client.post("/allocation/intake/new/", {"name": "成都高新数据服务有限公司", "region_code": "510107",
                                                       "tier": "B", "expected_value": "200000"})
    assert response.status_code == 302
    intake = Intake.objects.get(fields__name="成都高新数据服务有限公司")
    assert intake.outcome == "allocated" and intake.customer.owner_id == world.carol.pk
    page = client.get(response["Location"]).content.decode()
    assert "四川" in page


def test_internal_intake_form_shows_bad_input_in_place(world, alloc, client_for):
    response = client_for(world.person("bob")).post("/allocation/intake/new/", {"name": "某公司", "region_code": "999",
                                                                                "tier": "B"})
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert not Intake.objects.exclude(outcome="rejected").exists()


@pytest.mark.parametrize("persona", ["audrey", "adam"])
def test_people_who_edit_no_business_data_cannot_submit_leads(world, alloc, client_for, persona):
    response = client_for(world.person(persona)).post("/allocation/intake/new/", {"name": "某公司", "tier": "B"})
    assert response.status_code == 403
    assert not Intake.objects.exists()


def _public_post(client, **fields):
    from kamguard.allocation.services.intake import web_form_token

    page = client.get("/lead/")
    assert page.status_code == 200
    data = {"name": "上海长宁新锐广告有限公司", "contact_name": "王先生", "contact_phone": "13912345678",
            "shown": web_form_token(), **fields}
    return client.post("/lead/", data)


def test_public_form_needs_no_sign_in_and_thanks_everyone_alike(client, world, alloc, flow, settings):
    # given a lead that is a duplicate of an existing customer, and a new one
    import time

    from kamguard.allocation.services import intake as intake_module

    settings.ALLOCATION_WEB_INTAKE_RATE = 100
    intake_module.WEB_MIN_FILL_SECONDS = 0  # type: ignore[attr-defined]
    try:
        existing = flow["first"].customer.name
        duplicate = _public_post(client, name=existing)
        time.sleep(0.01)
        new = _public_post(client)
        spam = _public_post(client, name="上海垃圾信息有限公司", website="http://spam.example")
    finally:
        intake_module.WEB_MIN_FILL_SECONDS = 3  # type: ignore[attr-defined]
    # then: the same answer every time, naming nobody
    for response in (duplicate, new, spam):
        assert response.status_code == 302 and response["Location"] == "/lead/thanks/"
    thanks = client.get("/lead/thanks/").content.decode()
    assert existing not in thanks and world.alice.full_name not in thanks
    outcomes = dict(Intake.objects.filter(channel="web").values_list("fields__name", "outcome"))
    assert outcomes[existing] == "duplicate"
    assert outcomes["上海垃圾信息有限公司"] == "rejected"
    assert outcomes["上海长宁新锐广告有限公司"] in ("allocated", "pool")


def test_public_form_is_rate_limited(client, world, alloc):
    from kamguard.allocation.services import intake as intake_module

    statuses = [_public_post(client, name=f"上海第{i}号测试有限公司").status_code
                for i in range(intake_module.WEB_INTAKE_RATE + 1)]
    assert statuses[-1] == 429
    assert "error" in _public_post(client).content.decode()


def test_public_form_refuses_bad_input_in_place(client, world, alloc):
    response = _public_post(client, contact_phone="", contact_email="")
    assert response.status_code == 422
    assert 'class="errorlist"' in response.content.decode()
    assert not Intake.objects.exists()


@pytest.mark.parametrize(("persona", "listed"), [
    ("alice", True), ("bob", False), ("sam", True), ("carol", False), ("audrey", True), ("adam", True)])
def test_log_and_decision_page_matrix(world, alloc, flow, client_for, persona, listed):
    decision = AllocationDecision.objects.get(intake=flow["first"])
    client = client_for(world.person(persona))
    log = client.get("/allocation/log/").content.decode()
    detail = client.get(f"/allocation/log/{decision.pk}/")
    assert (f"/allocation/log/{decision.pk}/" in log) is listed
    assert detail.status_code == (200 if listed else 404)
    if listed:
        body = detail.content.decode()
        assert "上海" in body and world.alice.full_name in body  # the rule, and the candidates considered


def test_customer_section_shows_the_reason(world, alloc, flow, client_for):
    customer = flow["first"].customer
    page = client_for(world.person("alice")).get(f"/allocation/customers/{customer.pk}/",
                                                 HTTP_HX_REQUEST="true").content.decode()
    assert "上海" in page and 'id="allocation-decisions"' in page


@pytest.mark.parametrize(("persona", "status"), [
    ("alice", 403), ("bob", 404), ("sam", 302), ("carol", 404), ("audrey", 403), ("adam", 302)])
def test_reassign_page_matrix(world, alloc, flow, client_for, persona, status):
    customer = flow["first"].customer
    before = AllocationDecision.objects.filter(customer=customer).count()
    response = client_for(world.person(persona)).post(f"/allocation/customers/{customer.pk}/reassign/",
                                                      {"to_owner": world.bob.pk, "reason": "客户要求"})
    assert response.status_code == status
    assert AllocationDecision.objects.filter(customer=customer).count() == before + (1 if status == 302 else 0)
    assert Customer.objects.get(pk=customer.pk).owner_id == (world.bob.pk if status == 302 else world.alice.pk)


def test_reassign_page_requires_a_reason(world, alloc, flow, client_for):
    customer = flow["first"].customer
    response = client_for(world.person("sam")).post(f"/allocation/customers/{customer.pk}/reassign/",
                                                     {"to_owner": world.bob.pk, "reason": ""})
    assert response.status_code == 200 and 'class="errorlist"' in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).owner_id == world.alice.pk


def test_fairness_page_shows_figures_and_chart(world, alloc, flow, client_for):
    page = client_for(world.person("sam")).get("/allocation/fairness/", {"team": world.team_a.pk}).content.decode()
    assert "Gini" in page or "基尼" in page
    assert "<svg" in page and world.alice.full_name in page


def test_capacity_and_absence_pages(world, alloc, client_for):
    client = client_for(world.person("sam"))
    assert client.post(f"/allocation/people/{world.alice.pk}/capacity/", {"capacity_a": "2"}).status_code == 302
    assert PersonCapacity.objects.get(person=world.alice, tier="A").capacity == 2
    response = client.post("/allocation/absences/", {"person": world.bob.pk, "kind": "absent",
                                                     "starts_on": "2026-12-01", "ends_on": "2026-12-03"})
    assert response.status_code == 302 and Absence.objects.filter(person=world.bob).exists()
    refused = client_for(world.person("alice")).post(f"/allocation/people/{world.bob.pk}/capacity/",
                                                     {"capacity_a": "9"})
    assert refused.status_code in (403, 404)
    assert not PersonCapacity.objects.filter(person=world.bob).exists()


# ---------------------------------------------------------------- query counts and languages

@pytest.mark.parametrize("url", ["/allocation/", "/allocation/log/", "/allocation/intake/", "/allocation/people/",
                                 "/allocation/fairness/"])
def test_list_pages_make_a_bounded_number_of_queries(world, alloc, client_for, django_assert_max_num_queries, url):
    for _ in range(12):
        intake_submit(actor=world.sam, channel="form", fields=lead(region="310115", tier="C"))
    client = client_for(world.person("adam" if url != "/allocation/fairness/" else "sam"))
    client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(30):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(("language", "words"), [("zh-hans", ["分配规则", "分配日志"]),
                                                 ("en", ["Allocation rule sets", "Allocation log"])])
def test_pages_in_both_languages(world, alloc, client_for, language, words):
    client = client_for(world.person("sam"))
    page = client.get("/allocation/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for word in words:
        assert word in page


def test_team_settings_and_alert_answer_from_the_fairness_page(world, alloc, client_for):
    from kamguard.allocation.models import FairnessAlert, TeamAllocationSetting

    # given an alert for team A
    alert = FairnessAlert.objects.create(team=world.team_a, period_start="2026-11-01", period_end="2026-11-30",
                                         code="gini_count", observed="0.500", limit="0.300")
    # when sam sets the bounds and answers the alert
    client = client_for(world.person("sam"))
    page = client.get("/allocation/fairness/", {"team": world.team_a.pk}).content.decode()
    assert f"/allocation/fairness/alerts/{alert.pk}/acknowledge/" in page
    saved = client.post(f"/allocation/fairness/teams/{world.team_a.pk}/", {
        "pool": alloc.team_pool.pk, "max_gini_count": "0.25", "max_spread_count": "3"})
    answered = client.post(f"/allocation/fairness/alerts/{alert.pk}/acknowledge/", {"note": "上海规则改为按容量"})
    # then
    assert saved.status_code == 302 and answered.status_code == 302
    setting = TeamAllocationSetting.objects.get(team=world.team_a)
    assert str(setting.max_gini_count) == "0.250" and setting.max_spread_count == 3
    assert FairnessAlert.objects.get(pk=alert.pk).acknowledgement == "上海规则改为按容量"
    # and a manager can do neither
    alice = client_for(world.person("alice"))
    assert alice.post(f"/allocation/fairness/teams/{world.team_a.pk}/", {"max_gini_count": "0.9"}).status_code \
        in (302, 403)
    assert str(TeamAllocationSetting.objects.get(team=world.team_a).max_gini_count) == "0.250"


def test_departure_notice_from_the_availability_page(world, alloc, client_for):
    from kamguard.allocation.models import DepartureNotice

    client = client_for(world.person("sam"))
    response = client.post("/allocation/departures/", {"notice-person": world.bob.pk,
                                                       "notice-noticed_on": "2026-11-01"})
    assert response.status_code == 302
    assert DepartureNotice.objects.filter(person=world.bob).exists()
    page = client.get("/allocation/people/").content.decode()
    assert world.bob.full_name in page
    refused = client_for(world.person("alice")).post(f"/allocation/departures/{world.bob.pk}/remove/",
                                                     {"reason": "搞错了"})
    assert refused.status_code in (403, 404)
    assert DepartureNotice.objects.filter(person=world.bob).exists()
    client.post(f"/allocation/departures/{world.bob.pk}/remove/", {"reason": "撤回"})
    assert not DepartureNotice.objects.filter(person=world.bob).exists()


@pytest.mark.parametrize(("persona", "shown", "leads"), [
    ("alice", True, False), ("sam", True, True), ("audrey", True, True), ("adam", True, True)])
def test_dashboard_allocation_section(world, alloc, flow, client_for, persona, shown, leads):
    page = client_for(world.person(persona)).get("/").content.decode()
    assert ('data-section="allocation"' in page) is shown
    assert ("/allocation/intake/?outcome=held" in page) is leads
