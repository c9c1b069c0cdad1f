"""Found in review: what a lead shows to people outside its customer's scope, and the batch path recording the
same duplicate-check result as the single path."""

from __future__ import annotations

from kamguard.allocation.models import Intake
from kamguard.allocation.selectors import intake_list
from kamguard.allocation.services.intake import intake_submit
from kamguard.allocation.tests.conftest import lead
from kamguard.org.services import user_create


def _west_supervisor(world):
    return user_create(actor=None, username="wes", full_name="韦思", roles=["supervisor"], password="x" * 16,
                       email="wes@example.com", department=world.west)


def test_a_supervisor_elsewhere_does_not_read_leads_that_became_customers_they_may_not_see(world, alloc, client_for):
    # given a Shanghai lead allocated in the east (with its contact) and a held lead that is nobody's yet
    east = intake_submit(actor=world.sam, channel="form", fields=lead(
        region="310115", tier="B", contact_name="张三", contact_phone="13912345678"))
    assert east.outcome == "allocated"
    wes = _west_supervisor(world)
    # then the west supervisor neither lists it, nor opens it by page or API, nor finds it by name
    assert east.pk not in set(intake_list(viewer=wes).values_list("pk", flat=True))
    assert east.pk not in set(intake_list(viewer=wes, search=east.fields["name"]).values_list("pk", flat=True))
    client = client_for(wes)
    assert client.get(f"/allocation/intake/{east.pk}/").status_code == 404
    assert client.get(f"/api/v1/allocation/intake/{east.pk}").status_code == 404
    listed = client.get("/api/v1/allocation/intake?limit=200").json()["items"]
    assert east.pk not in {i["id"] for i in listed}
    assert "13912345678" not in client.get("/allocation/intake/").content.decode()
    # while the east supervisor, the owner and the auditor still do
    for viewer in (world.sam, east.customer.owner, world.audrey):
        assert east.pk in set(intake_list(viewer=viewer).values_list("pk", flat=True)), viewer
    # and a lead held for review is still every supervisor's to see
    held = Intake.objects.create(channel="web", fields={"name": "某某公司"}, outcome="held",
                                 submitted_at=east.submitted_at)
    assert held.pk in set(intake_list(viewer=wes).values_list("pk", flat=True))
    # and when they decide it, they still see what became of it (wherever it went)
    from kamguard.allocation.services.intake import intake_review

    intake_review(actor=wes, intake_id=held.pk, action="proceed", reason="另一家公司")
    assert client.get(f"/allocation/intake/{held.pk}/").status_code == 200


def test_a_batch_records_the_duplicate_check_as_the_single_path_does(world, alloc):
    from kamguard.allocation.services.batch import Lead, intake_submit_many
    from kamguard.customers.services.records import customer_create

    existing = customer_create(actor=world.alice, name="上海浦江物流有限公司", pool=alloc.pool)
    # given a lead similar to a customer and a distinct one, both with a reason to register them (one by one the
    # first is recorded as a possible duplicate with its candidates, the second as unique: test_intake)
    results = intake_submit_many(actor=world.sam, channel="import", leads=[
        Lead(fields=lead("上海浦疆物流有限公司", region="310115"), duplicate_reason="又一家法人"),
        Lead(fields=lead(region="310115"), duplicate_reason="以防万一")])
    similar, distinct = (Intake.objects.get(pk=r.intake.pk) for r in results)
    # then the batch records what the check found, as one by one: filterable and shown on the lead
    assert similar.outcome == "allocated" and similar.dedupe_verdict == "possible_duplicate"
    assert existing.pk in {c["customer_id"] for c in similar.dedupe_candidates}
    assert all(c["name"] for c in similar.dedupe_candidates)
    assert distinct.outcome == "allocated" and distinct.dedupe_verdict == "unique"


def test_a_nul_character_in_a_lead_is_refused_not_a_server_error(world, alloc, client_for):
    import json

    from kamguard.customers.models import Customer

    client = client_for(world.sam)
    before = Customer.objects.count()
    for payload in ({"name": "上海某某\x00有限公司"}, {"name": "上海某某有限公司", "source": "a\x00b"},
                    {"name": "上海某某有限公司", "region": "31\x00"}, {"name": "上海某某有限公司", "aliases": ["a\x00"]},
                    {"name": "上海某某有限公司", "contact_phone": "\x00"}):
        response = client.post("/api/v1/allocation/intake", data=json.dumps(payload), content_type="application/json")
        assert response.status_code == 422, (payload, response.content[:300])
        field = next(k for k, v in payload.items() if "\x00" in (v if isinstance(v, str) else "".join(v)))
        assert field in {e["field"].split(".")[0] for e in response.json()["errors"]}
    # nothing registered and nothing stored: the request is refused at the API's door (core's
    # NulCharacterMiddleware), like any other malformed request, before it becomes a lead
    assert Customer.objects.count() == before
    assert not Intake.objects.filter(channel="api").exists()


def test_nul_characters_elsewhere_are_refused_or_dropped_never_a_server_error(world, alloc, client_for):
    import json

    from kamguard.allocation.models import RuleSet, RuleSetVersion

    client = client_for(world.adam)
    client.raise_request_exception = False
    rules = alloc.rules(world)
    rules["rules"][0]["conditions"] = [{"field": "source", "operator": "eq", "value": "官网\x00"}]
    versions = RuleSetVersion.objects.count()
    for url, payload in (("/api/v1/allocation/rule-sets", {"name": "规则\x00"}),
                         ("/api/v1/allocation/rule-sets", {"name": "规则", "description": "\x00"}),
                         (f"/api/v1/allocation/rule-sets/{alloc.rule_set.pk}/versions", {"rules": rules}),
                         (f"/api/v1/allocation/versions/{alloc.version.pk}/retire", {"reason": "旧\x00"})):
        response = client.post(url, data=json.dumps(payload), content_type="application/json")
        assert response.status_code == 422, (url, response.content[:300])
    assert RuleSet.objects.count() == 1 and RuleSetVersion.objects.count() == versions
    assert RuleSetVersion.objects.get(pk=alloc.version.pk).status == "active"
    for url in ("/api/v1/allocation/intake?q=%00", "/api/v1/allocation/decisions?rule_key=%00"):
        assert client.get(url).status_code == 422, url
    assert client.delete(f"/api/v1/allocation/people/{world.alice.pk}/departure-notice?reason=%00").status_code in (
        404, 422)
    # the pages drop them from searches and free text
    for url in ("/allocation/intake/?q=%00", "/allocation/log/?rule=%00&q=%00", "/allocation/people/?q=%00"):
        assert client.get(url).status_code == 200, url
    response = client.post(f"/allocation/rule-sets/{alloc.rule_set.pk}/drafts/new/", {
        "rule_count": "1", "r0-key": "web", "r0-name": "官网\x00", "r0-cond_count": "1", "r0-c0-field": "source",
        "r0-c0-operator": "eq", "r0-c0-value": "官网\x00", "r0-target-kind": "pool",
        "r0-target-pool": str(alloc.pool.pk),
        "fallback-kind": "pool", "fallback-pool": str(alloc.pool.pk), "action": "save", "note": "草稿\x00"})
    assert response.status_code in (200, 302)
    draft = RuleSetVersion.objects.filter(status="draft").first()
    assert draft is not None and "\x00" not in json.dumps(draft.rules) + draft.note


def test_intake_list_and_log_say_what_the_check_found_and_the_strategy_in_chinese(world, alloc, client_for):
    from kamguard.customers.services.records import customer_create

    customer_create(actor=world.alice, name="上海浦江物流有限公司", pool=alloc.pool)
    held = intake_submit(actor=world.sam, channel="form", fields=lead("上海浦疆物流有限公司", region="310115"))
    assert held.outcome == "held" and held.dedupe_verdict == "possible_duplicate"
    intake_submit(actor=world.sam, channel="form", fields=lead(region="310115"))
    client = client_for(world.sam)
    page = client.get("/allocation/intake/?outcome=held", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    # the held lead is a possible duplicate, not "new"; the filter's choices are in Chinese
    assert "疑似重复</span>" in page and "新客户</span>" not in page
    assert "Possible duplicate" not in page and "No similar customer" not in page
    log = client.get("/allocation/log/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "轮流分配" in log and "round_robin" not in log


def test_reassign_page_offers_only_people_in_scope_and_refuses_others_in_the_form(world, alloc, client_for):
    from kamguard.customers.models import Customer

    intake = intake_submit(actor=world.sam, channel="form", fields=lead(region="310115"))
    customer = intake.customer
    client = client_for(world.sam)
    page = client.get(f"/allocation/customers/{customer.pk}/reassign/").content.decode()
    assert world.carol.full_name not in page and world.bob.full_name in page
    response = client.post(f"/allocation/customers/{customer.pk}/reassign/",
                           {"to_owner": world.carol.pk, "reason": "她更熟悉"})
    # a form error, not a refusal page; nothing changed
    assert response.status_code == 200
    assert Customer.objects.get(pk=customer.pk).owner_id == customer.owner_id


def test_capacity_page_saves_all_tiers_or_none(world, alloc, client_for):
    from kamguard.allocation.models import PersonCapacity
    from kamguard.core.models import AuditEvent

    client = client_for(world.sam)
    events = AuditEvent.objects.count()
    response = client.post(f"/allocation/people/{world.alice.pk}/capacity/",
                           {"capacity_a": "5", "capacity_b": "999999", "capacity_c": ""})
    # tier B is refused: tier A, before it, is not kept either
    assert response.status_code == 200
    assert not PersonCapacity.objects.filter(person=world.alice).exists()
    assert AuditEvent.objects.count() == events


def test_simulation_page_refuses_up_front_and_a_too_large_file(world, alloc, client_for, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kamguard.allocation import views

    url = f"/allocation/versions/{alloc.version.pk}/simulate/"
    manager = client_for(world.alice)
    assert url not in manager.get(f"/allocation/versions/{alloc.version.pk}/").content.decode()
    assert manager.get(url).status_code == 403
    admin = client_for(world.adam)
    assert url in admin.get(f"/allocation/versions/{alloc.version.pk}/").content.decode()
    monkeypatch.setattr(views, "MAX_SIMULATION_FILE", 10)
    response = admin.post(url, {"source": "file", "file": SimpleUploadedFile("leads.csv", b"name\n" + b"x" * 100)})
    from django.utils import translation

    from kamguard.core.io.formats import FileTooLarge

    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        too_large = str(FileTooLarge.default_message)
    assert response.status_code == 200 and too_large in response.content.decode()
    page = admin.post(url, {"source": "months", "months": "30"}).content.decode()
    assert "24" in page  # the form's own limit, the service's


def test_a_batch_reads_absences_on_each_lead_s_day_as_the_single_path(world, alloc):
    import datetime as dt

    from django.utils import timezone

    from kamguard.allocation.services.batch import Lead, intake_submit_many
    from kamguard.allocation.services.people import absence_add

    yesterday = timezone.now() - dt.timedelta(days=1)
    day = timezone.localdate(yesterday)
    absence_add(actor=world.sam, person=world.henry, kind="on_leave", starts_on=day, ends_on=day)
    # one by one: a tier A lead of yesterday skips henry, who was on leave that day
    single = intake_submit(actor=world.sam, channel="import", fields=lead(region="310115", tier="A"),
                           submitted_at=yesterday)
    assert single.customer.owner_id != world.henry.pk
    # in a batch: the same for yesterday's lead; today's goes to henry, who is back
    results = intake_submit_many(actor=world.sam, channel="import", leads=[
        Lead(fields=lead(region="310115", tier="A"), submitted_at=yesterday),
        Lead(fields=lead(region="310115", tier="A"))])
    assert [r.intake.customer.owner_id == world.henry.pk for r in results] == [False, True]
