"""The top bar on a laptop screen (1280 px wide): the menu of the widest roles fits beside the brand and the user
box on one line in both languages — the English menu used to wrap to a second line, pushing every page down and
splitting the bar. On a phone the menu folds behind its button instead (other tests)."""

from __future__ import annotations

import pyotp
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Menu-Layout-Pass-42"  # noqa: S105
ACCEPT_LANGUAGE = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}


@pytest.fixture
def people(transactional_db):  # type: ignore[no-untyped-def]
    from kamguard.org.models import Department, Team
    from kamguard.org.services import user_create

    company = Department.objects.create(name="总公司", path="/", depth=0)
    company.path = f"/{company.pk}/"
    company.save()
    team = Team.objects.create(name="华东大客户一组", department=company)
    made = {}
    for username, name, roles in (("sue", "苏晴", ["supervisor", "manager"]), ("ada", "安达", ["admin"]),
                                  ("aud", "白审", ["auditor"])):
        made[username] = user_create(actor=None, username=username, full_name=name, roles=roles, password=PASSWORD,
                                     email=f"{username}@example.com", department=company,
                                     team=team if "manager" in roles else None)
    return made


def _sign_in(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    if "/security/authenticator/" in page.url:  # roles that require a second factor enrol one first
        secret = "".join(page.locator("[data-totp-secret]").inner_text().split())
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        with page.expect_navigation():
            page.click("button[type=submit].primary")
    page.wait_for_selector("[data-nav=home]")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("username", ["sue", "ada", "aud"])
def test_the_menu_stays_on_one_line_at_1280_px(browser, live_server, people, shoot, language, username):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=LOCALE[language], viewport={"width": 1280, "height": 800},
                                  extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[language]})
    context.set_default_timeout(30_000)
    page = context.new_page()
    _sign_in(page, live_server, username)
    shoot(page, "home")
    # the tops of the menu's entries, of the brand and of the user box: one line means one top for the menu
    # and a bar no taller than one line
    tops = page.eval_on_selector_all("#main-nav > ul > li", "items => items.map(i => Math.round(i.getBoundingClientRect().top))")
    bar = page.eval_on_selector(".topbar", "bar => bar.getBoundingClientRect().height")
    assert len(tops) >= 4, tops
    assert len(set(tops)) == 1, f"the menu wraps: entry tops {tops}"
    assert bar <= 64, f"the top bar is {bar}px high"
    context.close()
