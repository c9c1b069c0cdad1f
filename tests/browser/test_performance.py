"""A month of performance management (issue 8, "Done when"): the supervisor runs the month for the team, sees the
scores computed from the real records with each dimension explained, calibrates one with a reason (refused
without), holds the feedback meeting, and the manager — on her phone — acknowledges the result and starts an
improvement plan; in Chinese and in English.

Personas (made through org.services.user_create, with passwords); the records are made through the apps' services
(the same ones the demo builders call), never through the pages under test:
    sam — sales supervisor, head of 华东销售部 (no director above: he also releases the results)
    mia — key account manager in 上海一组: two customers, a target of 200,000 CNY this month, orders of 180,000,
          a visit checked in and out today
    leo — key account manager in 上海一组: one customer, a target of 150,000, an order of 60,000, a call today
The month is the current one (the records are today's). Every page visited is checked: no server error, the
page's language, no horizontal overflow (the manager's pages at 390 px), and on the Chinese run English words
left in the page's text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

# serialized_rollback: the flush between tests would empty the regions, tier standards and preset schemes that
# migrations load
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Browser-Test-Pass-42"  # noqa: S105
ACCEPT_LANGUAGE = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

SAYS = {
    "zh-hans": {"opened": "考核期已开启", "scored": "评分完成", "calibrated": "校准已记录", "reason": "请说明调整原因",
                "finished": "你的校准已完成", "released": "已发布", "meeting": "反馈面谈已记录",
                "acknowledged": "你已确认考核结果", "plan": "改进计划已启动", "sales": "销售完成率",
                "completion": ("订单金额", "元"), "no_data": "无数据"},
    "en": {"opened": "Period opened", "scored": "Scored", "calibrated": "Calibration recorded",
           "reason": "Give the reason", "finished": "Your calibration is finished", "released": "Released",
           "meeting": "Feedback meeting recorded", "acknowledged": "You acknowledged the result",
           "plan": "Improvement plan started", "sales": "Sales completion rate",
           "completion": ("CNY of orders against a target of", "CNY"), "no_data": "no data"},
}


@pytest.fixture
def team(django_db_serialized_rollback, transactional_db):  # type: ignore[no-untyped-def]
    from kamguard.activities.services import contact_record, visit_check_in, visit_check_out, visit_plan
    from kamguard.contracts.services import order_create
    from kamguard.customers.services.records import customer_create
    from kamguard.goals.services import target_set
    from kamguard.org.models import Department, Region, Team
    from kamguard.org.services import user_create

    east = Department.objects.create(name="华东销售部", path="/", depth=0)
    east.path = f"/{east.pk}/"
    east.save()
    shanghai = Team.objects.create(name="上海一组", department=east)

    def person(username: str, name: str, roles: list[str], **fields: object):  # type: ignore[no-untyped-def]
        return user_create(actor=None, username=username, full_name=name, roles=roles, password=PASSWORD,
                           email=f"{username}@example.com", department=east, **fields)

    sam = person("sam", "沈明", ["supervisor"])
    Department.objects.filter(pk=east.pk).update(head=sam)
    mia = person("mia", "李敏", ["manager"], team=shanghai, supervisor=sam)
    leo = person("leo", "罗磊", ["manager"], team=shanghai, supervisor=sam)
    huangpu = Region.objects.get(code="310101")
    tengda = customer_create(actor=None, name="上海腾达电子科技有限公司", owner=mia, tier="A", skip_dedupe=True,
                             region=huangpu, contacts=[{"name": "张总", "phone": "13912345678"}])
    customer_create(actor=None, name="上海浦江精密仪器有限公司", owner=mia, tier="B", skip_dedupe=True,
                    region=Region.objects.get(code="310115"))
    hongda = customer_create(actor=None, name="上海宏达机械有限公司", owner=leo, tier="B", skip_dedupe=True,
                             region=huangpu)
    today = timezone.localdate()
    month = today.replace(day=1)
    target_set(actor=sam, user_id=mia.pk, month=month, amount=Decimal("200000"))
    target_set(actor=sam, user_id=leo.pk, month=month, amount=Decimal("150000"))
    order_create(actor=None, customer_id=tengda.pk, order_date=today, amount=Decimal("180000"))
    order_create(actor=None, customer_id=hongda.pk, order_date=today, amount=Decimal("60000"))
    visit = visit_plan(actor=mia, customer_id=tengda.pk, planned_on=today, purpose="二期采购技术交流")
    visit_check_in(actor=mia, activity_id=visit.pk, location_denied=True)
    visit_check_out(actor=mia, activity_id=visit.pk, outcome="客户确认二期采购意向", next_step="下周提交报价")
    contact_record(actor=leo, customer_id=hongda.pk, kind="call", happened_at=timezone.now() - dt.timedelta(minutes=5),
                   summary="电话沟通年度框架协议")
    return {"sam": sam, "mia": mia, "leo": leo, "team": shanghai, "today": today}


class Watch:
    """Every page visited: no server error, the page's language, no overflow, and English left in Chinese text."""

    ENGLISH = re.compile(r"\b[A-Za-z][a-z]{3,}(?:\s+[a-z]{2,})*\b")
    KNOWN = {"KAMGuard", "English", "Excel"}

    def __init__(self, language: str, shoot) -> None:  # type: ignore[no-untyped-def]
        self.language = language
        self.shoot = shoot
        self.errors: list[str] = []
        self.english: dict[str, set[str]] = {}
        self.overflow: dict[str, int] = {}

    def page(self, browser, live_server, username: str, *, phone: bool = False):  # type: ignore[no-untyped-def]
        options: dict[str, object] = {"locale": LOCALE[self.language], "viewport": PHONE if phone else DESKTOP,
                                      "extra_http_headers": {"Accept-Language": ACCEPT_LANGUAGE[self.language]}}
        if phone:
            options.update({"device_scale_factor": 2, "is_mobile": True, "has_touch": True})
        context = browser.new_context(**options)
        context.set_default_timeout(60_000)
        context.set_default_navigation_timeout(90_000)
        page = context.new_page()
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        page.on("dialog", lambda dialog: dialog.accept())  # the "release?" and "sign off?" confirmations
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        submit(page, "button[type=submit].primary")
        page.wait_for_selector("[data-nav-toggle]", state="attached")
        return page

    def check(self, page, step: str) -> None:  # type: ignore[no-untyped-def]
        page.wait_for_load_state()
        self.shoot(page, step)
        assert not self.errors, self.errors
        assert page.get_attribute("html", "lang").lower() == self.language
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1] + 1:
            self.overflow[f"{step} {page.url}"] = width[0]
        if self.language == "zh-hans":
            words = {w for w in self.ENGLISH.findall(page.inner_text("main")) if w not in self.KNOWN}
            if words:
                self.english[f"{step} {page.url}"] = words


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click(selector)


def menu(page, *, phone: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Performance → Scorecards (on a phone the menu is behind ☰)."""
    if phone:
        page.click("[data-nav-toggle]")
    if not page.is_visible("[data-nav=scorecards]"):
        page.click("[data-nav-group=performance] summary")
    submit(page, "[data-nav=scorecards]")


def flash(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.locator("ul.messages li").all_inner_texts())


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_month_from_records_to_improvement_plan(browser, live_server, team, shoot, language):  # noqa: PLR0915
    from kamguard.core.models import AuditEvent
    from kamguard.performance.models import (
        Acknowledgement,
        Calibration,
        FeedbackMeeting,
        ImprovementPlan,
        Period,
        Scheme,
        Scorecard,
    )

    says = SAYS[language]
    watch = Watch(language, shoot)
    mia, leo, today = team["mia"], team["leo"], team["today"]
    monthly = Scheme.objects.get(code="monthly_percent")

    # --- the supervisor runs the month for the team --------------------------------------------------------------
    sam = watch.page(browser, live_server, "sam")
    menu(sam)
    watch.check(sam, "s01-scorecards")
    submit(sam, "a.button.primary[href='/performance/periods/new/']")
    sam.select_option("select[name=scheme]", str(monthly.pk))
    sam.select_option("select[name=team]", f"t{team['team'].pk}")
    sam.fill("input[name=day]", today.isoformat())
    watch.check(sam, "s02-run-a-period")
    submit(sam, "form.panel button[type=submit].primary")
    period = Period.objects.get(scheme=monthly, team=team["team"])
    assert says["opened"] in flash(sam)
    assert (period.start, period.version_id) == (today.replace(day=1), monthly.current_version_id)
    submit(sam, "button[data-action=score]")
    assert says["scored"] in flash(sam)
    watch.check(sam, "s03-period-scored")
    period.refresh_from_db()
    assert period.status == "scored"

    # scores computed from the real records: mia's orders against her target, her visit, leo's call
    card = Scorecard.objects.get(period=period, user=mia)
    metrics = card.snapshot["metrics"]
    assert Decimal(metrics["sales_amount"]["value"]) == Decimal("180000")
    assert Decimal(metrics["sales_completion"]["value"]) == Decimal("90")
    assert Decimal(metrics["visit_count"]["value"]) == 1
    assert metrics["forecast_accuracy"]["value"] is None  # no forecast: no data, never 0
    other = Scorecard.objects.get(period=period, user=leo)
    assert Decimal(other.snapshot["metrics"]["sales_completion"]["value"]) == Decimal("40")
    ranked = sam.inner_text("#scorecards")
    assert "李敏" in ranked and "罗磊" in ranked
    assert sam.locator("#distribution [data-chart=distribution]").count() == 1

    # each dimension explained, in the reader's language
    submit(sam, f"#scorecards a[href='/performance/scorecards/{card.pk}/']")
    watch.check(sam, "s04-scorecard")
    dimensions = sam.inner_text("#dimensions")
    assert says["sales"] in dimensions and all(w in dimensions for w in says["completion"]), dimensions
    assert "180000" in dimensions.replace(",", "") and "200000" in dimensions.replace(",", ""), dimensions
    assert says["no_data"] in dimensions
    explained = sam.locator("#dimensions [data-explain]")
    assert explained.count() == len(period.version.spec["dimensions"])
    assert all(text.strip() for text in explained.all_inner_texts())

    # --- calibrates one with a reason (without one, refused in place) -------------------------------------------
    submit(sam, f"a[href='/performance/periods/{period.pk}/calibration/#card-{other.pk}']") if sam.locator(
        f"a[href='/performance/periods/{period.pk}/calibration/#card-{other.pk}']").count() else sam.goto(
        f"{live_server.url}/performance/periods/{period.pk}/calibration/")
    form = f"#card-{other.pk} form"
    sam.select_option(f"{form} select[name=c{other.pk}-dimension]", "")
    sam.fill(f"{form} input[name=c{other.pk}-after]", "72")
    submit(sam, f"{form} button[type=submit]")
    watch.check(sam, "s05-calibration-without-reason")
    assert says["reason"] in sam.inner_text(f"#card-{other.pk}")
    assert not Calibration.objects.exists()
    sam.fill(f"{form} input[name=c{other.pk}-after]", "72")
    sam.fill(f"{form} textarea[name=c{other.pk}-reason]", "宏达年度框架协议已签，回款在下月初到账")
    submit(sam, f"{form} button[type=submit]")
    assert says["calibrated"] in flash(sam)
    watch.check(sam, "s06-calibrated")
    entry = Calibration.objects.get()
    assert (entry.scorecard_id, entry.after, entry.by_id, entry.role) == (other.pk, Decimal("72.00"), team["sam"].pk,
                                                                         "supervisor")
    assert entry.before == other.computed_total
    assert "宏达年度框架协议已签" in sam.inner_text(f"#card-{other.pk}")

    # --- finishes calibration, releases, holds the feedback meeting ---------------------------------------------
    sam.goto(f"{live_server.url}/performance/periods/{period.pk}/")
    submit(sam, "button[data-action=handover]")
    assert says["finished"] in flash(sam)
    submit(sam, "button[data-action=release]")
    assert says["released"] in flash(sam)
    period.refresh_from_db()
    assert period.status == "feedback"
    watch.check(sam, "s07-released")
    sam.goto(f"{live_server.url}/performance/scorecards/{card.pk}/")
    sam.fill("#feedback textarea[name=notes]", "客户经营扎实，销售完成 90%；下月补上预测，提高 B 类客户拜访频次")
    submit(sam, "#feedback button[type=submit]")
    assert says["meeting"] in flash(sam)
    watch.check(sam, "s08-feedback-held")
    assert FeedbackMeeting.objects.get(scorecard=card).by_id == team["sam"].pk

    # --- the manager, on her phone: sees the result, acknowledges it, starts an improvement plan -----------------
    phone = watch.page(browser, live_server, "mia", phone=True)
    menu(phone, phone=True)
    watch.check(phone, "m01-my-scorecards")
    submit(phone, f"#mine a[href='/performance/scorecards/{card.pk}/']")
    watch.check(phone, "m02-my-scorecard")
    assert "下月补上预测" in phone.inner_text("#feedback")
    assert says["sales"] in phone.inner_text("#dimensions")
    assert phone.locator("#calibrations form, #manual").count() == 0  # nothing to score or calibrate for her
    phone.fill("#acknowledge textarea[name=comment]", "认可，下月补齐预测")
    submit(phone, "#acknowledge button[type=submit]")
    assert says["acknowledged"] in flash(phone)
    assert Acknowledgement.objects.filter(scorecard=card).exists()
    phone.fill("#improvement textarea[name=goals]", "每月提交销售预测；B 类客户每月至少拜访一次")
    phone.fill("#improvement input[name=start]", today.isoformat())
    phone.fill("#improvement input[name=end]", (today + dt.timedelta(days=90)).isoformat())
    submit(phone, "#improvement button[type=submit]")
    assert says["plan"] in flash(phone)
    watch.check(phone, "m03-plan-started")
    plan = ImprovementPlan.objects.get(scorecard=card)
    assert (plan.user_id, plan.started_by_id) == (mia.pk, mia.pk)
    assert "每月提交销售预测" in phone.inner_text("#improvement")

    # the supervisor sees the answer and the plan; every step is in the audit trail
    sam.goto(f"{live_server.url}/performance/scorecards/{card.pk}/")
    watch.check(sam, "s09-answered")
    assert "每月提交销售预测" in sam.inner_text("#improvement")
    # the supervisor's pages fit a phone too
    sam.set_viewport_size(PHONE)
    for url, step in ((f"/performance/periods/{period.pk}/", "s10-period-phone"),
                      (f"/performance/periods/{period.pk}/calibration/", "s11-calibration-phone"),
                      (f"/performance/teams/{team['team'].pk}/trend/", "s12-team-trend-phone")):
        sam.goto(f"{live_server.url}{url}")
        watch.check(sam, step)
    actions = set(AuditEvent.objects.filter(action__startswith="performance.").values_list("action", flat=True))
    assert {"performance.period.create", "performance.period.score", "performance.scorecard.calibrate",
            "performance.period.release", "performance.feedback.record", "performance.scorecard.acknowledge",
            "performance.improvement.start"} <= actions, actions

    for page in (sam, phone):
        page.context.close()
    assert not watch.errors, watch.errors
    assert not watch.english, "\n".join(f"English left on the Chinese page {k}: {sorted(v)}"
                                         for k, v in watch.english.items())
    assert not watch.overflow, f"pages wider than the window: {watch.overflow}"
