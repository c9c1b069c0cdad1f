"""Signing in through the real form, in Chinese and English, and seeing the menu one's role allows.

Personas (made through org.services.user_create, with passwords):
    mia — key account manager (大客户经理) in the East region sales team
    ada — administrator; her role requires a second factor, so she enrols an authenticator on first sign-in
"""

from __future__ import annotations

import time

import pyotp
import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Browser-Test-Pass-42"  # noqa: S105
ACCEPT_LANGUAGE = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}


@pytest.fixture
def people(transactional_db):  # type: ignore[no-untyped-def]
    from kamguard.org.models import Department, Team
    from kamguard.org.services import user_create

    company = Department.objects.create(name="总公司", path="/", depth=0)
    company.path = f"/{company.pk}/"
    company.save()
    team = Team.objects.create(name="上海一组", department=company)
    mia = user_create(actor=None, username="mia", full_name="李敏", roles=["manager"], password=PASSWORD,
                      email="mia@example.com", department=company, team=team)
    ada = user_create(actor=None, username="ada", full_name="安达", roles=["admin"], password=PASSWORD,
                      email="ada@example.com", department=company)
    return {"mia": mia, "ada": ada}


def new_page(browser, language: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=LOCALE[language], extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[language]},
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    return context.new_page()


def html_lang(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.get_attribute("html", "lang") or "").lower()


def nav_keys(page) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(a.get_attribute("data-nav")) for a in page.locator("[data-nav]").all()}


def next_code(secret: str) -> str:
    """A code for the next time step: never the one just used to confirm enrolment, still inside the window."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def sign_in(page, live_server, username: str, shoot, label: str, totp: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/accounts/login/")
    shoot(page, f"{label}-1-sign-in")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    if "/security/authenticator/" in page.url:  # the role requires a second factor: enrol one now
        secret = "".join(page.locator("[data-totp-secret]").inner_text().split())  # shown in groups of 4
        totp[username] = secret
        shoot(page, f"{label}-2-enrol")
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("button[type=submit].primary")
        page.wait_for_load_state()
    elif "/login/verify/" in page.url:
        shoot(page, f"{label}-2-verify")
        page.fill("input[name=code]", next_code(totp[username]))
        page.click("button[type=submit].primary")
        page.wait_for_load_state()
    page.wait_for_selector("[data-nav=home]")
    shoot(page, f"{label}-3-home")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_manager_and_administrator_see_different_menus(browser, live_server, people, shoot, language):
    totp: dict[str, str] = {}
    # given: a browser that asks for `language`
    manager_page = new_page(browser, language)
    admin_page = new_page(browser, language)

    # when: each signs in through the form
    sign_in(manager_page, live_server, "mia", shoot, f"manager-{language}", totp)
    sign_in(admin_page, live_server, "ada", shoot, f"admin-{language}", totp)

    # then: pages come in the browser's language
    assert html_lang(manager_page) == language
    assert html_lang(admin_page) == language
    # and each sees the menu their role allows
    manager_menu = nav_keys(manager_page)
    admin_menu = nav_keys(admin_page)
    assert {"home", "people", "org"} <= manager_menu
    assert not manager_menu & {"audit", "imports"}, f"a manager must not be offered {manager_menu}"
    assert {"home", "people", "org", "audit", "imports"} <= admin_menu
    assert manager_menu < admin_menu
    # and the second factor was enrolled by the administrator only
    assert set(totp) == {"ada"}
    manager_page.context.close()
    admin_page.context.close()


def test_second_sign_in_asks_for_the_code(browser, live_server, people, shoot):
    totp: dict[str, str] = {}
    page = new_page(browser, "en")
    sign_in(page, live_server, "ada", shoot, "admin-first", totp)
    page.click("form[action$='/accounts/logout/'] button")
    page.wait_for_load_state()
    page.context.clear_cookies()

    # when: she signs in again
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()

    # then: the code is asked for before any page is shown
    assert "/login/verify/" in page.url
    # and no page opens before the code is given
    page.goto(f"{live_server.url}{reverse('org:user_list')}")
    assert page.locator("[data-nav]").count() == 0
    assert reverse("org:user_list") not in page.url.split("?")[0]
    page.goto(f"{live_server.url}{reverse('accounts:totp_verify')}")
    # and a wrong code is refused
    page.fill("input[name=code]", "000000" if next_code(totp["ada"]) != "000000" else "111111")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "/login/verify/" in page.url
    shoot(page, "wrong-code")
    # and the right one lets her in
    page.fill("input[name=code]", next_code(totp["ada"]))
    page.click("button[type=submit].primary")
    page.wait_for_selector("[data-nav=home]")
    shoot(page, "home")
    page.context.close()


def test_language_selector_switches_between_chinese_and_english(browser, live_server, people, shoot):
    page = new_page(browser, "zh-hans")
    sign_in(page, live_server, "mia", shoot, "manager", {})
    assert html_lang(page) == "zh-hans"

    # when: she picks English in the selector
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    page.wait_for_selector("[data-nav=home]")
    shoot(page, "english")
    # then
    assert html_lang(page) == "en"
    assert page.locator("#language-select").input_value() == "en"

    # and back to Chinese, which stays chosen on the next page
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    page.wait_for_selector("[data-nav=home]")
    page.click("[data-nav-group=organisation] summary")  # the menu group opens, then its page
    page.click("[data-nav=people]")
    page.wait_for_load_state()
    shoot(page, "chinese-people")
    assert html_lang(page) == "zh-hans"
    page.context.close()


def test_wrong_password_is_refused_in_place(browser, live_server, people, shoot):
    page = new_page(browser, "en")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()

    assert "/accounts/login/" in page.url
    assert page.locator("[role=alert]").count() == 1
    assert page.locator("[data-nav]").count() == 0
    shoot(page, "refused")
    page.context.close()
