"""Work records on a phone (issue 6, "Done when"): a manager plans the month, checks in at a visit, files the day's
log and a relay form; the supervisor reviews the log, sees the relay form handled and the month's plan against
actuals — in Chinese and in English, on a phone-sized screen with the menu behind ☰.

Personas (made through org.services.user_create, with passwords):
    mia — key account manager (大客户经理) in team 上海一组; owns two customers in Shanghai
    sam — sales supervisor of the department; reviews mia's plan and log and receives her relay forms
    ada — administrator; only writes the routing rule (customer demand → sam) and the log deadline (10:00 the next
          day, every day, so the log filed in the evening is on time whatever the hour the test runs) before the
          test, never signs in
Every page visited is checked for horizontal overflow at 390 px and, on the Chinese run, for English words left in
the page's text (untranslated strings); the test fails on either, naming the pages. Screenshots of every step go
to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

# serialized_rollback: the flush between tests would empty the regions, relay categories and tier standards
# that migrations load
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Browser-Test-Pass-42"  # noqa: S105
ACCEPT_LANGUAGE = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}
PHONE = {"width": 390, "height": 844}
HUANGPU = {"latitude": 31.2317, "longitude": 121.4846, "accuracy": 30}  # 上海市黄浦区, where the customer is
CUSTOMER = "上海腾达电子科技有限公司"
SECOND_CUSTOMER = "上海浦江精密仪器有限公司"

# What the pages say at each step, in each language (the Chinese taken from the apps' catalogues).
SAYS = {
    "zh-hans": {
        "plan_started": "计划已创建", "visit_planned": "拜访已安排", "plan_submitted": "计划已提交主管审核",
        "checked_in": "已签到。", "checked_in_no_location": "已签到，未获取位置", "visit_closed": "拜访已结束。",
        "log_submitted": "日志已提交。", "relay_sent": "已发送给", "review_saved": "审阅已保存。",
        "receipt": "已确认接收。", "handled": "处理意见已登记。", "fed_back": "已反馈给信息提供者",
        "plan_reviewed": "审核意见已记录。", "comments_saved": "评语已保存。", "plan_vs_actual": "计划与实际",
        "done": "已完成", "checkins_today": "今日签到", "at_customer": "在客户现场", "logs_today": "今日工作日志",
    },
    "en": {
        "plan_started": "Plan started", "visit_planned": "Visit planned.", "plan_submitted": "Plan submitted to your supervisor.",
        "checked_in": "Checked in.", "checked_in_no_location": "Checked in without a location",
        "visit_closed": "Visit closed.", "log_submitted": "Log submitted.", "relay_sent": "sent to",
        "review_saved": "Review saved.", "receipt": "Receipt recorded.", "handled": "Handling opinion recorded.",
        "fed_back": "Feedback sent to the provider", "plan_reviewed": "Review recorded.",
        "comments_saved": "Comments saved.", "plan_vs_actual": "Plan vs actual", "done": "done",
        "checkins_today": "Check-ins today", "at_customer": "at the customer", "logs_today": "Work logs today",
    },
}


@pytest.fixture
def office(django_db_serialized_rollback, transactional_db):  # type: ignore[no-untyped-def]
    from kamguard.customers.services.pools import pool_member_set, pool_save
    from kamguard.customers.services.records import customer_create
    from kamguard.org.models import Department, Region, Team
    from kamguard.org.services import user_create
    from kamguard.relay.models import RelayCategory
    from kamguard.relay.services import rule_save
    from kamguard.worklogs.services import deadline_set

    top = Department.objects.create(name="华东销售部", path="/", depth=0)
    top.path = f"/{top.pk}/"
    top.save()
    team = Team.objects.create(name="上海一组", department=top)

    def person(username: str, name: str, roles: list[str], team_: Team | None = None):  # type: ignore[no-untyped-def]
        return user_create(actor=None, username=username, full_name=name, roles=roles, password=PASSWORD,
                           email=f"{username}@example.com", department=top, team=team_)

    sam = person("sam", "沈明", ["supervisor"])
    mia = person("mia", "李敏", ["manager"], team)
    ada = person("ada", "安达", ["admin"])
    pool = pool_save(actor=None, name="华东公海", cooldown_days=30, protection_days=15)
    pool_member_set(actor=None, pool_id=pool.pk, user=mia, is_member=True)
    huangpu = Region.objects.get(code="310101")
    assert huangpu.latitude is not None, "the regions migration gives Huangpu its coordinates"
    customer = customer_create(actor=mia, name=CUSTOMER, tier="A", pool=pool, region=huangpu,
                               contacts=[{"name": "张总", "phone": "13912345678", "is_decision_maker": True}])
    second = customer_create(actor=mia, name=SECOND_CUSTOMER, tier="B", pool=pool,
                             region=Region.objects.get(code="310115"))
    demand = RelayCategory.objects.get(code="demand")
    rule_save(actor=ada, category_id=demand.pk, person_id=sam.pk)
    deadline_set(actor=ada, department=None, due_time=dt.time(10, 0), day_offset=1, workdays="1234567")
    return {"sam": sam, "mia": mia, "customer": customer, "second": second, "demand": demand}


def new_page(browser, language: str, *, geolocation: bool = True):  # type: ignore[no-untyped-def]
    options = {"locale": LOCALE[language], "extra_http_headers": {"Accept-Language": ACCEPT_LANGUAGE[language]},
               "viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    if geolocation:
        options["geolocation"] = HUANGPU
    context = browser.new_context(**options)
    if geolocation:
        context.grant_permissions(["geolocation"])
    context.set_default_timeout(60_000)
    context.set_default_navigation_timeout(90_000)
    return context.new_page()


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click(selector)


def sign_in(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    submit(page, "button[type=submit].primary")
    page.wait_for_selector("[data-nav-toggle]")


def open_menu(page, group: str, key: str) -> None:  # type: ignore[no-untyped-def]
    """On a phone the menu hides behind ☰: open it, open the group, then the page."""
    assert page.is_hidden("#main-nav"), "on a phone the menu starts closed"
    page.click("[data-nav-toggle]")
    page.click(f"[data-nav-group={group}] summary")
    submit(page, f"[data-nav={key}]")


class Phone:
    """Records, for every page visited, whether it fits the phone's width and (in Chinese) English left in it."""

    ENGLISH = re.compile(r"\b[A-Za-z][a-z]{3,}(?:\s+[a-z]{2,})*\b")
    KNOWN = {"KAMGuard", "English"}  # the brand, and the language switch's own name

    def __init__(self, language: str, shoot) -> None:  # type: ignore[no-untyped-def]
        self.language = language
        self.shoot = shoot
        self.overflow: dict[str, int] = {}
        self.english: dict[str, set[str]] = {}

    def check(self, page, step: str) -> None:  # type: ignore[no-untyped-def]
        page.wait_for_load_state()
        self.shoot(page, step)
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1] + 1:
            self.overflow[f"{step} {page.url}"] = width[0]
        assert page.get_attribute("html", "lang").lower() == self.language
        if self.language == "zh-hans":
            text = page.inner_text("main")
            words = {w for w in self.ENGLISH.findall(text) if w not in self.KNOWN}
            if words:
                self.english[f"{step} {page.url}"] = words


def flash(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.locator("ul.messages li").all_inner_texts())


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_manager_day_and_supervisor_review_on_a_phone(browser, live_server, office, shoot, language):  # noqa: PLR0915
    from kamguard.activities.models import Activity
    from kamguard.plans.models import MarketingPlan, PlanVisit
    from kamguard.relay.models import RelayForm
    from kamguard.worklogs.models import LogReview, WorkLog

    says = SAYS[language]
    phone = Phone(language, shoot)
    today = timezone.localdate()
    mia, sam, customer = office["mia"], office["sam"], office["customer"]

    # --- the manager plans the month -------------------------------------------------------------------------
    page = new_page(browser, language)
    sign_in(page, live_server, "mia")
    phone.check(page, "m01-home")
    open_menu(page, "work", "plans")
    phone.check(page, "m02-plans")
    submit(page, "a.button.primary[href*='/plans/new/']")  # "plan this month"
    phone.check(page, "m03-plan-new")
    assert page.input_value("input[name=month]") == f"{today:%Y-%m}"
    page.fill("textarea[name=goals]", "本月回款 50 万元，拜访 A 类客户不少于 4 次")
    page.fill("textarea[name=analysis]", "腾达电子扩产，对精密仪器需求上升")
    page.fill("textarea[name=measures]", "安排技术交流，推进二期采购")
    submit(page, "form.panel button[type=submit].primary")
    plan = MarketingPlan.objects.get(user=mia, month=today.replace(day=1))
    assert says["plan_started"] in flash(page)
    page.select_option("select[name=customer]", str(customer.pk))
    page.fill("input[name=planned_on]", today.isoformat())
    page.fill("input[name=purpose]", "二期采购技术交流")
    submit(page, "input[name=action][value=visit_add] ~ .actions button[type=submit]")
    assert says["visit_planned"] in flash(page)
    item = PlanVisit.objects.get(plan=plan)
    assert (item.customer_id, item.planned_on) == (customer.pk, today)
    visit = Activity.objects.get(pk=item.activity_id)
    assert (visit.kind, visit.status, visit.user_id) == ("visit", "planned", mia.pk)
    page.fill("input[name=day]", today.isoformat())
    page.fill("textarea[name=content]", "上午拜访腾达电子，下午整理报价")
    submit(page, "input[name=action][value=day_save] ~ .actions button[type=submit]")
    assert plan.days.filter(day=today).exists()
    assert CUSTOMER in page.inner_text("#visits")
    phone.check(page, "m04-plan")
    submit(page, "input[name=action][value=submit] ~ button[type=submit]")
    assert says["plan_submitted"] in flash(page)
    plan.refresh_from_db()
    assert plan.status == "submitted"

    # --- checks in at the visit (location allowed, in Huangpu) and checks out with outcome and next step ---------
    open_menu(page, "work", "activities")
    phone.check(page, "m05-my-day")
    assert CUSTOMER in page.inner_text("#today-visits")
    submit(page, f"form[data-checkin][action='/activities/{visit.pk}/check-in/'] button[type=submit]")
    assert says["checked_in"] in flash(page)
    visit.refresh_from_db()
    assert visit.status == "checked_in" and visit.location_status == "ok"
    assert visit.checkin_latitude == pytest.approx(HUANGPU["latitude"])
    assert visit.distance_m is not None and visit.distance_m < 2_000 and not visit.is_far
    phone.check(page, "m06-checked-in")
    submit(page, f"#today-visits a.button[href='/activities/{visit.pk}/#check-out']")
    page.fill("textarea[name=outcome]", "客户确认二期采购意向，预算 80 万元")
    page.fill("input[name=next_step]", "下周三前提交报价")
    page.check(f"#check-out input[name=contacts][value='{customer.contacts.get().pk}']")
    phone.check(page, "m07-check-out")
    submit(page, "#check-out button[type=submit].primary")
    assert says["visit_closed"] in flash(page)
    visit.refresh_from_db()
    assert visit.status == "done" and visit.next_step == "下周三前提交报价"
    assert list(visit.contacts.values_list("name", flat=True)) == ["张总"]
    phone.check(page, "m08-visit-done")
    # the visit names the plan it came from by its month, linked (not a raw reference such as "plans:1")
    assert page.locator(f"main a[href='/plans/{plan.pk}/']", has_text=f"{today:%Y-%m}").count() == 1

    # --- an ad hoc visit checked in without location permission: recorded as such, not refused ----------------
    page.context.clear_permissions()
    open_menu(page, "work", "activities")
    submit(page, "a.button.primary[href='/activities/visits/new/']")
    page.select_option("select[name=customer]", str(office["second"].pk))
    # the day comes prefilled with today (an ISO value: <input type=date> drops the locale's 2026/12/07)
    assert page.input_value("input[name=planned_on]") == today.isoformat()
    page.fill("textarea[name=purpose]", "顺路拜访")
    submit(page, "form.panel button[type=submit].primary")
    phone.check(page, "m09-visit-planned")
    adhoc = Activity.objects.get(customer=office["second"], kind="visit")
    submit(page, f"form[data-checkin][action='/activities/{adhoc.pk}/check-in/'] button[type=submit]")
    adhoc.refresh_from_db()
    assert adhoc.status == "checked_in"
    assert adhoc.location_status == "denied" and adhoc.checkin_latitude is None  # headless Chromium refuses
    assert says["checked_in_no_location"] in flash(page)
    phone.check(page, "m09b-checked-in-without-location")
    submit(page, f"#today-visits a.button[href='/activities/{adhoc.pk}/#check-out']")
    assert page.locator("main").get_by_text(SECOND_CUSTOMER).count() >= 1
    page.fill("textarea[name=outcome]", "了解到对方明年有设备更新计划")
    page.fill("input[name=next_step]", "月底前电话跟进")
    submit(page, "#check-out button[type=submit].primary")
    adhoc.refresh_from_db()
    assert adhoc.status == "done"

    # --- files the day's log, prefilled from the day's records --------------------------------------------------
    open_menu(page, "work", "worklogs")
    phone.check(page, "m10-log-prefilled")
    prefilled = page.input_value("textarea[name=visits]")
    assert CUSTOMER in prefilled and "下周三前提交报价" in prefilled, prefilled
    assert SECOND_CUSTOMER in prefilled, prefilled
    page.fill("textarea[name=problems]", "报价需要总部技术支持")
    submit(page, "button[type=submit][name=submit]")
    assert says["log_submitted"] in flash(page)
    log = WorkLog.objects.get(user=mia, day=today)
    assert log.status == "submitted" and not log.is_late

    # --- files a relay form; the category's routing rule sends it to the supervisor -----------------------------
    open_menu(page, "work", "relay")
    phone.check(page, "m11-relay")
    submit(page, "a.button.primary[href='/relay/new/']")
    page.select_option("select[name=category]", str(office["demand"].pk))
    page.fill("textarea[name=content]", "腾达电子计划二期扩产，需要 20 台三坐标测量机")
    page.fill("textarea[name=suggestions]", "请协调技术部下周安排方案交流")
    page.select_option("select[name=customer]", str(customer.pk))
    phone.check(page, "m12-relay-new")
    submit(page, "form.panel button[type=submit].primary")
    relay = RelayForm.objects.get(provider=mia)
    assert relay.receiver_id == sam.pk and relay.routed_by_id is not None and relay.status == "sent"
    assert says["relay_sent"] in flash(page) and relay.number in page.inner_text("main")
    phone.check(page, "m13-relay-sent")

    # --- the supervisor sees the day as it happens -----------------------------------------------------------
    boss = new_page(browser, language, geolocation=False)
    sign_in(boss, live_server, "sam")
    open_menu(boss, "work", "supervision")
    phone.check(boss, "s01-live")
    live = boss.inner_text("#live-panels")
    assert says["checkins_today"] in live and CUSTOMER in live and says["at_customer"] in live
    assert relay.number in live
    # the day of the field people: mia's log is listed, not the supervisor's own (nor the administrator's)
    logs_panel = boss.locator("#live-panels .panel", has=boss.get_by_role("heading", name=says["logs_today"]))
    assert logs_panel.locator("tbody tr").count() == 1 and "李敏" in logs_panel.inner_text()

    # --- reviews the log from the inbox -------------------------------------------------------------------------
    open_menu(boss, "work", "worklogs")
    submit(boss, "a.button.primary[href='/worklogs/inbox/']")
    phone.check(boss, "s02-inbox")
    submit(boss, f"a[href='/worklogs/logs/{log.pk}/']")
    assert CUSTOMER in boss.inner_text("main")
    boss.fill("textarea[name=evaluation]", "拜访记录具体，下一步清楚")
    boss.fill("textarea[name=requirements]", "报价前先与技术部确认交期")
    boss.select_option("select[name=rating]", "4")
    phone.check(boss, "s03-review")
    submit(boss, "form.panel button[type=submit].primary")
    assert says["review_saved"] in flash(boss)
    review = LogReview.objects.get(log=log)
    assert (review.reviewer_id, review.rating) == (sam.pk, 4)

    # --- handles the relay form: received, handled, fed back ---------------------------------------------------
    open_menu(boss, "work", "relay")
    phone.check(boss, "s04-relay-box")
    submit(boss, f"a[href='/relay/{relay.pk}/']")
    submit(boss, f"form[action='/relay/{relay.pk}/receive/'] button")
    assert says["receipt"] in flash(boss)
    boss.fill("textarea[name=handling_opinion]", "已安排技术部周三上门交流方案")
    boss.select_option("select[name=quality]", "5")
    submit(boss, f"form[action='/relay/{relay.pk}/handle/'] button[type=submit]")
    assert says["handled"] in flash(boss)
    boss.fill("textarea[name=feedback]", "技术交流已定在周三上午，请陪同")
    submit(boss, f"form[action='/relay/{relay.pk}/feedback/'] button[type=submit]")
    assert says["fed_back"] in flash(boss)
    relay.refresh_from_db()
    assert relay.status == "fed_back" and relay.received_at and relay.handled_at and relay.fed_back_at
    assert relay.quality == 5
    phone.check(boss, "s05-relay-fed-back")

    # --- approves the plan and reads the month's plan against actuals -------------------------------------------
    open_menu(boss, "work", "plans")
    phone.check(boss, "s06-plans")
    submit(boss, f"a[href='/plans/{plan.pk}/']")
    boss.select_option("select[name=decision]", "approve")
    boss.fill("textarea[name=comment]", "计划可行，重点跟进腾达二期")
    submit(boss, "input[name=action][value=review] ~ .actions button[type=submit]")
    assert says["plan_reviewed"] in flash(boss)
    plan.refresh_from_db()
    assert plan.status == "approved" and plan.reviewed_by_id == sam.pk
    submit(boss, f"a.button[href='/plans/{plan.pk}/result/']")
    assert says["plan_vs_actual"].lower() in boss.inner_text("main").lower()
    figures = boss.locator(".card .figure").all_inner_texts()
    assert figures[0].replace(" ", "") == "1/1", figures  # the planned visit carried out
    assert figures[1].strip() == "100%", figures
    assert figures[2].strip() == "2", figures  # done in the month, the ad hoc one included
    assert figures[3].strip() == "1", figures  # of them, not in the plan
    row = boss.locator("tr", has_text=CUSTOMER).last
    assert says["done"] in row.inner_text()
    boss.fill("textarea[name=comment]", "本月拜访按计划完成，继续保持")
    phone.check(boss, "s07-plan-vs-actual")
    submit(boss, "form:has(textarea[name=comment]) button[type=submit].primary")
    assert says["comments_saved"] in flash(boss)
    plan.refresh_from_db()
    assert plan.result_comment == "本月拜访按计划完成，继续保持" and plan.result_comment_by_id == sam.pk

    # --- the manager sees the review of her log and the feedback on her form -------------------------------------
    page.goto(f"{live_server.url}/worklogs/logs/{log.pk}/")
    assert "拜访记录具体，下一步清楚" in page.inner_text("main")
    phone.check(page, "m14-log-reviewed")
    page.goto(f"{live_server.url}/relay/{relay.pk}/")
    shown = page.inner_text("main")
    assert "技术交流已定在周三上午，请陪同" in shown
    # the category in the reader's language
    category = {"zh-hans": office["demand"].name, "en": office["demand"].name_en}[language]
    assert category in shown, shown
    phone.check(page, "m15-relay-feedback")

    page.context.close()
    boss.context.close()
    assert not phone.english, f"English or internal words left on Chinese pages: {phone.english}"
    assert not phone.overflow, f"pages wider than the phone ({PHONE['width']} px): {phone.overflow}"
