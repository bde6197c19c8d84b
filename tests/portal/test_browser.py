"""In a real browser (Playwright + Debian's Chromium): switch the portal to English and back."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_language_switch_in_the_browser(app_server, browser_page):
    page = browser_page
    page.goto(app_server.url + "/")
    assert page.locator("h1").inner_text() == "信用浦东"
    page.click("nav.lang >> text=English")
    page.wait_for_url(app_server.url + "/en/")
    assert page.locator("h1").inner_text() == "Credit Pudong"
    page.click("nav.lang >> text=简体中文")
    page.wait_for_url(app_server.url + "/")
    assert page.locator("h1").inner_text() == "信用浦东"


def test_back_office_login_in_the_browser(app_server, browser_page):
    app_server.manage("demo_accounts", "--password", "Demo-pass-2026")
    page = browser_page
    page.goto(app_server.url + "/backoffice/")
    page.fill("#id_username", "scjg")
    page.fill("#id_password", "Demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_url(app_server.url + "/backoffice/")
    assert "区市场监管局" in page.locator(".bo-user").inner_text()
