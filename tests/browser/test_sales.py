"""From lead to money (issue 5, "Done when"): a key account manager takes a lead through the stages — each stage's
required step refused, then satisfied —, quotes beyond her discount authority, and the supervisor and the director
approve it in their inboxes (never she herself); the contract is drafted with lines and a payment schedule,
approved by her supervisor and finance, and signed, which wins the opportunity; the specialist who supports her
records the order, the delivery and a payment; finance confirms it; the customer's timeline tells the story, and
the receivables and the board show it — in Chinese and in English.

Personas (made through org.services.user_create, with passwords; the organisation, customer, products and
approval policies through services, never through the pages under test):
    dora — sales director: supervisor at the head of the company (总公司)
    sam  — supervisor, head of 华东销售部; mia's supervisor
    mia  — key account manager in team 上海一组; owns the customer (tier A, in Huangpu)
    sue  — key account specialist in team 上海一组: handles mia's orders, deliveries and collection
    fiona — finance
    ada  — administrator; writes the approval policies before the test, never signs in
Policies: quotes of tier A customers with a discount of 15 % or more → supervisor, then director; other quotes
beyond authority → supervisor; contracts of 100,000 or more → supervisor, then finance.
Every page visited is checked: no server error, the page's language, and (on the Chinese run) English words left
in the page's text, which are collected and reported.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

# serialized_rollback: the flush between tests would empty the regions, stages and authority rows that migrations load
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Browser-Test-Pass-42"  # noqa: S105
ACCEPT_LANGUAGE = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}
HUANGPU = {"latitude": 31.2317, "longitude": 121.4846, "accuracy": 30}  # 上海市黄浦区, where the customer is
CUSTOMER = "上海腾达电子科技有限公司"
OPPORTUNITY = "腾达二期检测线"

SAYS = {  # what the pages say at each step (the Chinese as the apps' catalogues have it)
    "zh-hans": {
        "opened": "商机已创建", "moved": "已推进", "needs_visit": "拜访", "needs_quote": "报价",
        "quote_saved": "报价单已存为草稿", "sent": "已提交审批", "own_refused": "须由他人审批",
        "next_step": "申请现由下一步审批：杜拉", "all_approved": "申请已通过",
        "contract_created": "已创建为草稿", "signed": "合同已签订", "order": "订单已登记", "delivery": "交付已登记",
        "payment": "回款已登记", "confirmed": "回款已确认", "checked_in": "已签到", "visit_closed": "拜访已结束",
    },
    "en": {
        "opened": "Opportunity opened", "moved": "Moved", "needs_visit": "visit", "needs_quote": "quote",
        "quote_saved": "Quote saved as a draft", "sent": "Sent for approval", "own_refused": "someone else must decide",
        "next_step": "now waits for: 杜拉", "all_approved": "the request is approved",
        "contract_created": "created as a draft", "signed": "Contract signed", "order": "Order recorded",
        "delivery": "Delivery recorded", "payment": "Payment recorded", "confirmed": "Payment confirmed",
        "checked_in": "Checked in", "visit_closed": "Visit closed",
    },
}


@pytest.fixture
def company(django_db_serialized_rollback, transactional_db):  # type: ignore[no-untyped-def]
    from kamguard.approvals.services import policy_create
    from kamguard.customers.services.records import customer_create
    from kamguard.org.models import Department, Region, Team
    from kamguard.org.services import user_create
    from kamguard.sales.services.catalogue import product_save

    top = Department.objects.create(name="总公司", path="/", depth=0)
    top.path = f"/{top.pk}/"
    top.save()
    east = Department.objects.create(name="华东销售部", parent=top, depth=1)
    east.path = f"{top.path}{east.pk}/"
    east.save()
    team = Team.objects.create(name="上海一组", department=east)

    def person(username: str, name: str, roles: list[str], department: Department, **fields: object):  # type: ignore[no-untyped-def]
        return user_create(actor=None, username=username, full_name=name, roles=roles, password=PASSWORD,
                           email=f"{username}@example.com", department=department, **fields)

    dora = person("dora", "杜拉", ["supervisor"], top)
    sam = person("sam", "沈明", ["supervisor"], east, supervisor=dora)
    mia = person("mia", "李敏", ["manager"], east, team=team, supervisor=sam)
    sue = person("sue", "苏悦", ["specialist"], east, team=team, supervisor=sam)
    fiona = person("fiona", "冯菲", ["finance"], top)
    ada = person("ada", "安达", ["admin"], top)
    Department.objects.filter(pk=top.pk).update(head=dora)
    Department.objects.filter(pk=east.pk).update(head=sam)

    customer = customer_create(actor=None, name=CUSTOMER, owner=mia, tier="A", skip_dedupe=True,
                               region=Region.objects.get(code="310101"), address="上海市黄浦区中山东一路18号",
                               contacts=[{"name": "张总", "phone": "13912345678", "is_decision_maker": True}])
    gauge = product_save(actor=None, code="CMM-500", name="三坐标测量机", name_en="Coordinate measuring machine",
                         unit="台", list_price="120000")
    probe = product_save(actor=None, code="PRB-20", name="测头组件", name_en="Probe kit", unit="套",
                         list_price="8000")
    policy_create(actor=ada, name="报价：A 类客户折扣 15% 及以上", kind="sales.quote", priority=10,
                  min_discount_pct="15", tiers="A",
                  steps=[{"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "director"}])
    policy_create(actor=ada, name="报价：超出个人折扣权限", kind="sales.quote", priority=100,
                  steps=[{"stage": 1, "approver": "supervisor"}])
    policy_create(actor=ada, name="合同：10 万元及以上", kind="contracts.contract", priority=10, min_amount="100000",
                  steps=[{"stage": 1, "approver": "supervisor"}, {"stage": 2, "approver": "finance"}])
    return {"dora": dora, "sam": sam, "mia": mia, "sue": sue, "fiona": fiona, "customer": customer,
            "gauge": gauge, "probe": probe}


class Watch:
    """Every page visited: no server error, the page's language, and (in Chinese) English left in its text."""

    ENGLISH = re.compile(r"\b[A-Za-z][a-z]{3,}(?:\s+[a-z]{2,})*\b")
    KNOWN = {"KAMGuard", "English", "Word", "Excel", "docx", "xlsx"}  # brand, language switch, file types
    # English that other apps leave on these pages: named at the end, not counted against the sales apps
    ELSEWHERE = {"Customer transfer": "customers/approvals.py: the approval kind “Customer transfer” has no Chinese "
                                      "in the customers catalogue (shown in the approvals pages' kind filter)"}

    def __init__(self, language: str, shoot) -> None:  # type: ignore[no-untyped-def]
        self.language = language
        self.shoot = shoot
        self.errors: list[str] = []
        self.english: dict[str, set[str]] = {}
        self.overflow: dict[str, int] = {}
        self.bugs: list[str] = []  # what is wrong in other apps' pages, met on the way and named at the end

    def page(self, browser, live_server, username: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale=LOCALE[self.language], viewport={"width": 1280, "height": 900},
                                      extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[self.language]},
                                      geolocation=HUANGPU)
        context.grant_permissions(["geolocation"])
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        submit(page, "button[type=submit].primary")
        page.wait_for_selector("[data-nav-group]")
        return page

    def check(self, page, step: str, *, ours: str = "main", theirs: str = "") -> None:  # type: ignore[no-untyped-def]
        """`ours`: the part of the page the sales apps render; `theirs`: another app's page around it, whose
        English is named as that app's bug."""
        page.wait_for_load_state()
        self.shoot(page, step)
        assert not self.errors, self.errors
        assert page.get_attribute("html", "lang").lower() == self.language
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1] + 1:
            self.overflow[f"{step} {page.url}"] = width[0]
        if self.language != "zh-hans":
            return
        words: set[str] = set()
        for selector in ours.split(","):
            for text in page.locator(selector.strip()).all_inner_texts():
                words |= {w for w in self.ENGLISH.findall(text) if w not in self.KNOWN}
        for phrase, bug in self.ELSEWHERE.items():
            if phrase in words:
                words.discard(phrase)
                if bug not in self.bugs:
                    self.bugs.append(bug)
        if words:
            self.english[step] = words
        if theirs:
            left = {w for w in self.ENGLISH.findall(page.inner_text("main")) if w not in self.KNOWN} - words
            for text in [t for sel in ours.split(",") for t in page.locator(sel.strip()).all_inner_texts()]:
                left -= set(self.ENGLISH.findall(text))
            if left:
                self.bugs.append(f"{theirs}: English on the Chinese page {page.url}: {sorted(left)}")


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click(selector)


def menu(page, group: str, key: str) -> None:  # type: ignore[no-untyped-def]
    if not page.is_visible(f"[data-nav={key}]"):
        page.click(f"[data-nav-group={group}] summary")
    submit(page, f"[data-nav={key}]")


def flash(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.locator("ul.messages li").all_inner_texts())


def main_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text("main")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_lead_to_money(browser, live_server, company, shoot, language):  # noqa: PLR0915
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from kamguard.approvals.models import ApprovalRequest
    from kamguard.contracts.models import Contract, Order, Payment
    from kamguard.sales.models import Opportunity, Quote

    says = SAYS[language]
    watch = Watch(language, shoot)
    today = timezone.localdate()
    customer, mia = company["customer"], company["mia"]

    # --- the manager opens an opportunity on her customer ------------------------------------------------------
    page = watch.page(browser, live_server, "mia")
    menu(page, "sales", "sales")
    watch.check(page, "m01-board")
    submit(page, "a.button.primary[href='/sales/opportunities/new/']")
    page.select_option("select[name=customer]", str(customer.pk))
    page.fill("input[name=name]", OPPORTUNITY)
    page.select_option("select[name=stage]", "lead")
    page.fill("input[name=amount]", "800000")
    page.fill("input[name=expected_close_on]", (today + dt.timedelta(days=45)).isoformat())
    page.fill("input[name=competitor]", "海克斯康")
    watch.check(page, "m02-new-opportunity")
    submit(page, "form button[type=submit].primary")
    opp = Opportunity.objects.get(customer=customer)
    assert opp.stage.code == "lead" and opp.owner_id == mia.pk
    assert says["opened"] in flash(page)
    watch.check(page, "m03-opportunity")

    # --- qualified, then proposal: refused until a visit is logged -----------------------------------------------
    page.select_option("#move select[name=stage]", "qualified")
    submit(page, "#move button[type=submit]")
    assert Opportunity.objects.get(pk=opp.pk).stage.code == "qualified"
    assert says["moved"] in flash(page)
    page.select_option("#move select[name=stage]", "proposal")
    submit(page, "#move button[type=submit]")
    watch.check(page, "m04-proposal-refused")
    assert Opportunity.objects.get(pk=opp.pk).stage.code == "qualified"
    assert says["needs_visit"] in main_text(page)

    # the visit: planned, checked in at the customer, closed with its outcome (the activities pages)
    menu(page, "work", "activities")
    submit(page, "a.button.primary[href='/activities/visits/new/']")
    page.select_option("select[name=customer]", str(customer.pk))
    page.fill("input[name=planned_on]", today.isoformat())
    page.fill("textarea[name=purpose]", "二期检测线方案交流")
    submit(page, "form.panel button[type=submit].primary")
    from kamguard.activities.models import Activity

    visit = Activity.objects.get(customer=customer, kind="visit")
    submit(page, f"form[data-checkin][action='/activities/{visit.pk}/check-in/'] button[type=submit]")
    assert says["checked_in"] in flash(page)
    submit(page, f"#today-visits a.button[href='/activities/{visit.pk}/#check-out']")
    page.fill("textarea[name=outcome]", "客户确认二期需要 6 台三坐标，预算 80 万元")
    page.fill("input[name=next_step]", "本周内提交报价")
    submit(page, "#check-out button[type=submit].primary")
    assert says["visit_closed"] in flash(page)

    page.goto(f"{live_server.url}/sales/opportunities/{opp.pk}/")
    page.select_option("#move select[name=stage]", "proposal")
    submit(page, "#move button[type=submit]")
    assert Opportunity.objects.get(pk=opp.pk).stage.code == "proposal"
    watch.check(page, "m05-proposal")

    # --- negotiation needs an approved quote ----------------------------------------------------------------------
    page.select_option("#move select[name=stage]", "negotiation")
    submit(page, "#move button[type=submit]")
    watch.check(page, "m06-negotiation-refused")
    assert Opportunity.objects.get(pk=opp.pk).stage.code == "proposal"
    assert says["needs_quote"] in main_text(page)

    page.goto(f"{live_server.url}/sales/opportunities/{opp.pk}/")
    submit(page, f"a.button[href='/sales/opportunities/{opp.pk}/quotes/new/']")
    page.select_option("select[name=lines-0-product]", str(company["gauge"].pk))
    page.fill("input[name=lines-0-quantity]", "6")
    page.fill("input[name=lines-0-discount_pct]", "18")
    page.select_option("select[name=lines-1-product]", str(company["probe"].pk))
    page.fill("input[name=lines-1-quantity]", "6")
    page.fill("input[name=lines-1-discount_pct]", "5")
    page.fill("textarea[name=head-note]", "含安装调试与一年质保")
    watch.check(page, "m07-quote-form")
    submit(page, "form.panel button[type=submit].primary")
    quote = Quote.objects.get(opportunity=opp)
    assert says["quote_saved"] in flash(page)
    watch.check(page, "m08-quote-draft")
    submit(page, f"form[action='/sales/quotes/{quote.pk}/submit/'] button[type=submit]")
    quote.refresh_from_db()
    assert quote.status == "pending"
    assert says["sent"] in flash(page)
    watch.check(page, "m09-quote-pending")
    approval = ApprovalRequest.objects.get(kind="sales.quote", subject_id=quote.pk)

    # the requester sees her request and its chain, and no way to decide it
    menu(page, "sales", "approvals")
    watch.check(page, "m10-my-inbox")
    assert approval.summary not in main_text(page)
    page.goto(f"{live_server.url}/approvals/{approval.pk}/")
    watch.check(page, "m11-my-request")
    assert page.locator(f"form[action='/approvals/{approval.pk}/decide/']").count() == 0
    # …and a decision she forges anyway (a hand-made form posting "approve") is refused, nothing changed
    with page.expect_navigation():
        page.evaluate("""([action, reason]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            for (const [name, value] of [["decision", "approve"], ["reason", reason],
                    ["csrfmiddlewaretoken", document.querySelector("input[name=csrfmiddlewaretoken]").value]]) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();
        }""", [f"/approvals/{approval.pk}/decide/", "我自己批准"])
    watch.check(page, "m11b-own-approval-refused")
    assert says["own_refused"] in page.inner_text("main .error")
    approval.refresh_from_db()
    assert approval.status == "pending" and not approval.steps.filter(decided_by=mia).exists()
    quote.refresh_from_db()
    assert quote.status == "pending"

    # --- the approvers: the supervisor first, then the director; nobody else ----------------------------------
    dora = watch.page(browser, live_server, "dora")
    menu(dora, "sales", "approvals")
    watch.check(dora, "d01-inbox-empty")
    assert approval.summary not in main_text(dora)  # serial: the director's step waits for the supervisor's

    sam = watch.page(browser, live_server, "sam")
    menu(sam, "sales", "approvals")
    watch.check(sam, "s01-inbox")
    assert approval.summary in main_text(sam)
    submit(sam, f"a.button.primary[href='/approvals/{approval.pk}/']")
    watch.check(sam, "s02-quote-request")
    assert CUSTOMER in main_text(sam) or OPPORTUNITY in main_text(sam)
    decide(sam, approve=True, reason="A 类客户战略项目，同意 18% 折扣")
    watch.check(sam, "s03-quote-approved-by-supervisor")
    assert says["next_step"] in flash(sam)
    quote.refresh_from_db()
    assert quote.status == "pending"  # the director's step is next

    dora.reload()
    assert approval.summary in main_text(dora)
    submit(dora, f"a.button.primary[href='/approvals/{approval.pk}/']")
    decide(dora, approve=True, reason="同意，注意回款节点")
    watch.check(dora, "d02-quote-approved")
    assert says["all_approved"] in flash(dora)
    quote.refresh_from_db()
    approval.refresh_from_db()
    assert quote.status == "approved" and approval.status == "approved"
    deciders = list(approval.steps.order_by("stage").values_list("decided_by__username", flat=True))
    assert deciders == ["sam", "dora"], deciders

    # --- the manager: negotiation now, then the contract from the opportunity ----------------------------------
    page.goto(f"{live_server.url}/sales/opportunities/{opp.pk}/")
    watch.check(page, "m12-quote-approved")
    page.select_option("#move select[name=stage]", "negotiation")
    submit(page, "#move button[type=submit]")
    assert Opportunity.objects.get(pk=opp.pk).stage.code == "negotiation"
    submit(page, "a.button[href^='/contracts/new/']")
    watch.check(page, "m13-contract-form")
    assert page.input_value("input[name=title]")
    total = quote.total
    first = (total * Decimal("0.3")).quantize(Decimal("0.01"))
    page.fill("textarea[name=schedule]", f"{today.isoformat()} | {first} | 预付款 30%\n"
                                          f"{(today + dt.timedelta(days=60)).isoformat()} | {total - first} | 验收款")
    page.fill("textarea[name=terms]", "货到验收合格后 60 天内付清余款")
    submit(page, "form button[type=submit].primary")
    contract = Contract.objects.get(customer=customer)
    assert says["contract_created"] in flash(page)
    assert contract.amount == total and contract.opportunity_id == opp.pk
    assert contract.lines.count() == 2 and contract.schedule.count() == 2
    watch.check(page, "m14-contract-draft")
    submit(page, f"form[action='/contracts/{contract.pk}/submit/'] button[type=submit]")
    assert says["sent"] in flash(page)
    contract.refresh_from_db()
    assert contract.status == "pending"
    contract_approval = ApprovalRequest.objects.get(kind="contracts.contract", subject_id=contract.pk)
    assert page.locator(f"form[action='/approvals/{contract_approval.pk}/decide/']").count() == 0
    watch.check(page, "m15-contract-pending")

    # the supervisor, then finance
    sam.goto(f"{live_server.url}/approvals/")
    submit(sam, f"a.button.primary[href='/approvals/{contract_approval.pk}/']")
    watch.check(sam, "s04-contract-request")
    decide(sam, approve=True, reason="条款已核对")
    fiona = watch.page(browser, live_server, "fiona")
    menu(fiona, "sales", "approvals")
    watch.check(fiona, "f01-inbox")
    submit(fiona, f"a.button.primary[href='/approvals/{contract_approval.pk}/']")
    decide(fiona, approve=True, reason="付款节点合理")
    watch.check(fiona, "f02-contract-approved")
    contract.refresh_from_db()
    assert contract.status == "approved"
    assert list(contract_approval.steps.order_by("stage").values_list("decided_by__username", flat=True)) == [
        "sam", "fiona"]

    # --- signed: the opportunity is won ------------------------------------------------------------------------
    page.goto(f"{live_server.url}/contracts/{contract.pk}/")
    page.fill("input[name=signed_on]", today.isoformat())
    submit(page, f"form[action='/contracts/{contract.pk}/sign/'] button[type=submit]")
    assert says["signed"] in flash(page)
    contract.refresh_from_db()
    assert contract.status == "signed"
    watch.check(page, "m16-contract-signed")
    opp.refresh_from_db()
    assert opp.outcome == "won" and opp.contract_id == contract.pk
    page.goto(f"{live_server.url}/sales/opportunities/{opp.pk}/")
    watch.check(page, "m17-opportunity-won")
    assert page.locator(f"a[href='/contracts/{contract.pk}/']").count() >= 1

    # --- the specialist: order, delivery, payment ----------------------------------------------------------------
    sue = watch.page(browser, live_server, "sue")
    menu(sue, "sales", "contracts")
    watch.check(sue, "u01-contracts")
    submit(sue, f"a[href='/contracts/{contract.pk}/']")
    submit(sue, "a.button[href^='/contracts/orders/new/']")
    watch.check(sue, "u02-order-form")
    submit(sue, "form button[type=submit].primary")
    order = Order.objects.get(contract=contract)
    assert says["order"] in flash(sue)
    assert order.amount == total and order.lines.count() == 2
    watch.check(sue, "u03-order")
    sue.fill("input[name=shipped_on]", today.isoformat())  # the test's day, even if midnight passed meanwhile
    sue.fill("input[name=delivered_on]", today.isoformat())
    sue.fill("input[name=note]", "顺丰物流，客户已签收")
    submit(sue, "form:has(input[name=shipped_on]) button[type=submit]")
    watch.check(sue, "u03b-delivered")
    assert says["delivery"] in flash(sue)
    order.refresh_from_db()
    assert order.status == "delivered"
    submit(sue, "a.button[href^='/contracts/payments/new/']")
    assert sue.input_value("select[name=order]") == str(order.pk)  # the order it came from, by its number
    sue.fill("input[name=amount]", str(first))
    sue.fill("input[name=payer_name]", CUSTOMER)
    watch.check(sue, "u04-payment-form")
    submit(sue, "form button[type=submit].primary")
    assert says["payment"] in flash(sue)
    payment = Payment.objects.get(customer=customer)
    assert payment.status == "recorded" and payment.amount == first
    watch.check(sue, "u05-payments")

    # --- finance confirms it ----------------------------------------------------------------------------------
    menu(fiona, "sales", "contracts")
    submit(fiona, "a[href='/contracts/payments/queue/']")
    watch.check(fiona, "f03-to-confirm")
    submit(fiona, f"form[action='/contracts/payments/{payment.pk}/confirm/'] button[value=confirm]")
    assert says["confirmed"] in flash(fiona)
    payment.refresh_from_db()
    assert payment.status == "confirmed" and payment.confirmed_by_id == company["fiona"].pk

    # --- the story on the customer's timeline; receivables and the board -----------------------------------------
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    try:  # the customer page loads its sales and contracts sections after it opens (htmx)
        page.wait_for_selector("#sales-opportunities", timeout=10_000)
        page.wait_for_selector("#customer-contracts", timeout=10_000)
    except PlaywrightTimeout:
        pass  # named below
    watch.check(page, "m18-customer", ours="#sales-opportunities, #customer-contracts", theirs="the customer page")
    shot = watch.shoot(page, "m18-customer")
    page.locator("#timeline").screenshot(path=str(shot.with_name(f"{shot.stem}-timeline.png")))
    for href, what in ((f"/sales/opportunities/{opp.pk}/", "the opportunity"), (f"/contracts/{contract.pk}/", "the contract")):
        if page.locator(f"main a[href='{href}']").count() == 0:
            watch.bugs.append(f"the customer page does not lead to {what} ({href}): customers/customer_detail.html "
                              "does not load the sales:customer_opportunities and contracts:customer_contracts "
                              "fragments")
    timeline = page.inner_text("#timeline")
    for expected in (OPPORTUNITY, quote.number, contract.number, f"{first}"):
        assert expected in timeline, (expected, timeline)
    kinds = set(customer.timeline.values_list("kind", flat=True))
    assert {"sales.opportunity.created", "sales.opportunity.stage", "sales.quote.approved", "contracts.approved",
            "contracts.signed", "sales.opportunity.won", "contracts.order", "contracts.delivery",
            "contracts.payment"} <= kinds, kinds
    submit(page, "a[href='/contracts/receivables/']") if page.locator("a[href='/contracts/receivables/']").count() \
        else page.goto(f"{live_server.url}/contracts/receivables/")
    watch.check(page, "m19-receivables")
    row = page.locator("tr", has_text=CUSTOMER).first.inner_text()
    assert f"{total - first}" in row.replace(",", ""), row
    menu(page, "sales", "sales")
    watch.check(page, "m20-board")
    week = page.inner_text("#this-week")
    figures = week.replace(",", "")
    assert "李敏" in week and f"{total:.0f}" in figures and f"{first:.0f}" in figures, week

    for p in (page, sam, dora, fiona, sue):
        p.context.close()
    assert not watch.errors, watch.errors
    assert not watch.english, "\n".join(f"English left on the Chinese page {k}: {sorted(v)}"
                                         for k, v in watch.english.items())
    assert not watch.overflow, f"pages wider than the window: {watch.overflow}"
    assert not watch.bugs, "; ".join(watch.bugs)


def decide(page, *, approve: bool, reason: str) -> None:  # type: ignore[no-untyped-def]
    """The decision form of an approval request: approve or reject, with a reason."""
    page.check(f"input[name=decision][value={'approve' if approve else 'reject'}]")
    page.fill("textarea[name=reason]", reason)
    submit(page, "form[action$='/decide/'] button[type=submit]")
