"""A director writes a rule set in the UI, simulates it on last quarter's intake, activates it, and watches a new
customer arrive at the right person with a reason — in Chinese and in English (issue 4, "Done when").

Personas (made through org.services.user_create, with passwords):
    dora — sales director (supervisor) at the top of the company; writes the rules
    lily, leo — key account managers in team 上海一组
    sky — key account manager in team 深圳组
Before the test: the default rule set's v1 (everything to the company pool) and a few months of intake.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

# serialized_rollback: the flush between tests would empty the regions a migration loads
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Browser-Test-Pass-42"  # noqa: S105
ACCEPT_LANGUAGE = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}
COMPANIES = ["上海浦江精密仪器有限公司", "深圳南山云图科技有限公司", "上海外滩国际会展有限公司", "深圳前海跨境物流有限公司",
             "上海临港智能装备有限公司", "深圳福田金融信息服务有限公司"]


@pytest.fixture
def company(django_db_serialized_rollback, transactional_db):  # type: ignore[no-untyped-def]
    from kamguard.allocation.services.intake import intake_submit
    from kamguard.allocation.services.rulesets import rule_set_create, rule_set_version_activate
    from kamguard.customers.services.pools import pool_save
    from kamguard.org.models import Department, Team
    from kamguard.org.services import user_create

    top = Department.objects.create(name="总公司", path="/", depth=0)
    top.path = f"/{top.pk}/"
    top.save()
    shanghai = Team.objects.create(name="上海一组", department=top)
    shenzhen = Team.objects.create(name="深圳组", department=top)

    def person(username: str, name: str, roles: list[str], team: Team | None = None):  # type: ignore[no-untyped-def]
        return user_create(actor=None, username=username, full_name=name, roles=roles, password=PASSWORD,
                           email=f"{username}@example.com", department=top, team=team)

    dora = person("dora", "杜拉", ["supervisor"])
    lily = person("lily", "李丽", ["manager"], shanghai)
    leo = person("leo", "廖鸥", ["manager"], shanghai)
    sky = person("sky", "施凯", ["manager"], shenzhen)
    pool = pool_save(actor=None, name="公司公海")
    rule_set = rule_set_create(actor=None, name="默认分配规则", is_default=True,
                               rules={"rules": [], "fallback": {"kind": "pool", "id": pool.pk}}, note="起步：全部进公海")
    rule_set_version_activate(actor=None, version_id=rule_set.versions.get().pk)
    now = timezone.now()
    for i, (name, region) in enumerate(zip(COMPANIES, ["310101", "440305", "310101", "440305", "310115", "440304"],
                                           strict=True)):
        intake_submit(actor=dora, channel="form", fields={"name": name, "region": region, "tier": "B"},
                      submitted_at=now - dt.timedelta(days=10 + 12 * i))
    return {"dora": dora, "lily": lily, "leo": leo, "sky": sky, "pool": pool, "rule_set": rule_set,
            "shanghai": shanghai, "shenzhen": shenzhen}


def new_page(browser, language: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=LOCALE[language], extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[language]},
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    return context.new_page()


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click(selector)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_director_writes_simulates_and_activates_a_rule_set(browser, live_server, company, shoot, language):
    from kamguard.allocation.models import Intake, RuleSetVersion
    from kamguard.customers.models import Customer

    page = new_page(browser, language)
    # given: the director signs in and opens allocation from the menu
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", PASSWORD)
    submit(page, "button[type=submit].primary")
    page.click("[data-nav-group=customers] summary")  # the menu group opens, then its page
    submit(page, "[data-nav=allocation]")
    assert page.get_attribute("html", "lang").lower() == language
    shoot(page, "1-rule-sets")

    # when: she opens the default rule set and writes a new draft in the editor, without JSON
    page.click(f"a[href='/allocation/rule-sets/{company['rule_set'].pk}/']")
    page.wait_for_load_state()
    submit(page, f"a[href='/allocation/rule-sets/{company['rule_set'].pk}/drafts/new/']")
    submit(page, "button[name=action][value=add_rule]")
    page.fill("input[name=r0-name]", "上海")
    page.fill("input[name=r0-c0-value]", "310000")
    page.select_option("select[name=r0-target-team]", str(company["shanghai"].pk))
    submit(page, "button[name=action][value=add_rule]")
    page.fill("input[name=r1-name]", "深圳")
    page.fill("input[name=r1-c0-value]", "440399")  # not a region: the engine's answer is shown at the rule
    page.select_option("select[name=r1-target-team]", str(company["shenzhen"].pk))
    page.select_option("select[name=r1-target-strategy]", "least_loaded")
    page.fill("textarea[name=note]", "按地区分给上海、深圳两组")
    submit(page, "button[name=action][value=save]")
    # then: nothing is saved and the problem is shown next to the rule it concerns
    assert RuleSetVersion.objects.filter(rule_set=company["rule_set"]).count() == 1
    assert page.locator("#rule-1 .errorlist").count() >= 1
    shoot(page, "2-editor-problem")

    # when: she corrects it, moves Shenzhen first and saves
    page.fill("input[name=r1-c0-value]", "440300")
    submit(page, "button[name=action][value='up:1']")
    assert page.input_value("input[name=r0-name]") == "深圳"
    shoot(page, "3-editor")
    submit(page, "button[name=action][value=save]")
    draft = RuleSetVersion.objects.get(rule_set=company["rule_set"], number=2)
    assert [r["key"] for r in draft.rules["rules"]] == ["rule-2", "rule-1"]
    shoot(page, "4-draft")

    # and simulates it on the last three months of intake
    submit(page, f"a[href='/allocation/versions/{draft.pk}/simulate/']")
    submit(page, "form[enctype] button[type=submit]")
    assert page.locator("svg[role=img]").count() == 1
    assert page.locator("text=李丽").count() >= 1 and page.locator("text=施凯").count() >= 1
    shoot(page, "5-simulation")

    # and activates it, confirming
    submit(page, f"a[href='/allocation/versions/{draft.pk}/activate/']")
    shoot(page, "6-activate")
    submit(page, "form.panel button[type=submit].primary")  # without the confirmation box: refused in place
    assert RuleSetVersion.objects.get(pk=draft.pk).status == "draft"
    page.check("input[name=confirm]")
    submit(page, "form.panel button[type=submit].primary")
    assert RuleSetVersion.objects.get(pk=draft.pk).status == "active"

    # then: a new Shenzhen lead arrives at the Shenzhen team with the reason
    page.goto(f"{live_server.url}/allocation/intake/new/")
    page.fill("input[name=name]", "深圳宝安新材料有限公司")
    page.fill("input[name=region_code]", "440306")
    submit(page, "form.panel button[type=submit].primary")
    intake = Intake.objects.order_by("-pk").first()
    assert intake.outcome == "allocated"
    assert Customer.objects.get(pk=intake.customer_id).owner_id == company["sky"].pk
    assert "深圳" in page.content() and "施凯" in page.content()
    shoot(page, "7-intake-explained")
    page.goto(f"{live_server.url}/allocation/log/")
    shoot(page, "8-log")
    submit(page, "table a[href^='/allocation/log/']")
    assert page.locator("details:not([data-nav-group])").count() == 1  # the explanation (the menu groups aside)
    shoot(page, "8b-decision")
    page.goto(f"{live_server.url}/allocation/rule-sets/{company['rule_set'].pk}/diff/")
    shoot(page, "8c-diff")
    page.goto(f"{live_server.url}/allocation/people/")
    shoot(page, "8d-people")
    page.goto(f"{live_server.url}/allocation/fairness/?team={company['shenzhen'].pk}")
    shoot(page, "9-fairness")
    page.context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_public_web_form_thanks_without_telling_anything(browser, live_server, company, shoot, language):
    from kamguard.allocation.models import Intake

    page = new_page(browser, language)
    page.goto(f"{live_server.url}/lead/")
    shoot(page, "1-form")
    page.fill("input[name=name]", "上海徐汇晨光文化传播有限公司")
    page.fill("input[name=contact_name]", "王先生")
    page.fill("input[name=contact_phone]", "13912345678")
    page.wait_for_timeout(3200)  # a person takes a few seconds; faster is treated as a robot
    submit(page, "button[type=submit].primary")
    assert page.url.endswith("/lead/thanks/")
    shoot(page, "2-thanks")
    assert Intake.objects.filter(channel="web").exclude(outcome="rejected").count() == 1
    page.context.close()
