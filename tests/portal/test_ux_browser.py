"""What each page shows first, in a real browser (Playwright + Debian's Chromium) at 1366 px and
390 px: the enterprise signs in on its own page and finds the list notice with its deadline in
the first screen of 我的信用; disabled actions look disabled and say why; a blacklisted
subject's public page opens with its credit status; search finds document numbers and flags
listed subjects; the 双公示 lists are searched by name; the English header fits one line. No
page shows a raw code-table code or an encrypted value.

Data: tests/portal/ux_browser_data.py, created through the real services."""

from __future__ import annotations

import re

import pytest

from tests.portal import ux_browser_data as data

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
# An encrypted personal value as stored (creditplus.accounts.pii): never on a page.
CIPHERTEXT = re.compile(r"\bs\d+:[A-Za-z0-9+/=*]{8,}")


@pytest.fixture(scope="module")
def server(app_server):
    app_server.manage("shell", "-c", "from tests.portal.ux_browser_data import setup; setup()")
    return app_server


@pytest.fixture(params=list(WIDTHS))
def page(request):
    """A Chromium page at 1366 × 900 (desktop) or 390 × 844 (phone)."""
    from playwright.sync_api import sync_playwright

    width, height = WIDTHS[request.param]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
        yield context.new_page()
        browser.close()


def top(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"]


def in_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] + box["height"] <= page.viewport_size["height"]


def assert_clean(page) -> None:
    """No ciphertext and no raw industry letter where its label belongs."""
    text = page.locator("body").inner_text()
    assert not CIPHERTEXT.search(text), CIPHERTEXT.search(text)
    assert not re.search(r"行业\s+C\b", text)


def sign_in(page, server) -> None:
    page.goto(server.url + "/my/")
    page.wait_for_url(re.compile(r"/my/login/\?next=/my/"))
    main = page.locator("main").inner_text()
    assert "企业登录" in main and "营业执照" in main and "信用服务窗口" in main
    page.fill("#id_username", data.USER)
    page.fill("#id_password", data.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(server.url + "/my/")


def test_the_enterprise_signs_in_and_sees_the_notice_first(server, page):
    sign_in(page, server)
    header = page.locator("header.site-header").inner_text()
    assert data.USER_NAME in header and "退出" in header and "部门登录" not in header
    notice = page.locator(".my-actions .action-item.urgent").first
    assert "请于" in notice.inner_text() and "前提出陈述申辩或异议" in notice.inner_text()
    assert in_first_screen(page, ".my-actions .action-item.urgent")  # on a phone too
    assert top(page, ".my-actions") < top(page, "#tabs") < top(page, "#lists")
    assert_clean(page)
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(server.url + "/")
    assert "登录" in page.locator("header.site-header").inner_text()


def test_disabled_actions_look_disabled_and_say_why(server, page):
    sign_in(page, server)
    page.goto(server.url + "/my/?tab=events")
    disabled = page.locator("button[disabled]", has_text="申请信用修复").first
    why = page.locator(f"#{disabled.get_attribute('aria-describedby')}")
    assert "暂不可申请" in why.inner_text() and "最短公示期" in why.inner_text()
    colour = disabled.evaluate("e => getComputedStyle(e).backgroundColor")
    active = page.locator("a.button").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert (
        colour != active and disabled.evaluate("e => getComputedStyle(e).cursor") == "not-allowed"
    )
    # The reason sits right next to the button: below it or beside it, in the same cell.
    b, w = disabled.bounding_box(), why.bounding_box()
    assert abs(w["y"] - (b["y"] + b["height"])) < 40 or abs(w["y"] - b["y"]) < 20
    assert_clean(page)


def test_a_blacklisted_subject_page_opens_with_its_credit_status(server, page):
    page.goto(f"{server.url}/subjects/{data.LISTED_USCC}/")
    status = page.locator(".status-first")
    assert "黑名单" in status.inner_text() and "严重失信主体名单" in status.inner_text()
    assert "公示期内的行政处罚 1 条" in status.inner_text()
    assert in_first_screen(page, ".status-first")
    assert top(page, ".status-first") < top(page, "#lists") < top(page, "#licenses")
    assert top(page, "#licenses") < top(page, "#basics")
    assert "制造业" in page.locator("#basics + .table-wrap").inner_text()
    assert data.DECISION_NO in page.locator("main").inner_text()
    assert_clean(page)


def test_search_finds_a_document_number_and_flags_listed_subjects(server, page):
    page.goto(server.url + "/search?q=" + data.REVOCATION[data.LISTED])
    documents = page.locator("section.documents")
    assert data.LISTED in documents.inner_text()
    page.goto(server.url + "/search?q=浦东体验 名单")
    result = page.locator("li.result", has_text=data.LISTED)
    assert "黑名单" in result.inner_text()
    assert page.locator("li.result", has_text=data.NOTICED).count() == 0  # both words needed
    assert_clean(page)


def test_the_penalty_list_is_searched_by_name(server, page):
    page.goto(server.url + "/publicity/penalties/")
    page.get_by_label("主体名称或文书号").fill("浦东体验 名单")
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url(re.compile(r"q="))
    cards = page.locator("main article.record-card").all_inner_texts()
    assert cards and all(data.LISTED in card for card in cards)


def test_the_english_header_fits_on_one_line(server, page):
    page.goto(server.url + "/en/")
    nav = page.locator("nav.site-nav")
    links = nav.locator("a")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1  # one line of links (on a phone it scrolls sideways)
    if page.viewport_size["width"] >= 1366:
        header = page.locator("header.site-header").bounding_box()
        assert header["height"] < 70
        last = links.nth(links.count() - 1).bounding_box()
        nav_box = nav.bounding_box()
        assert last["x"] + last["width"] <= nav_box["x"] + nav_box["width"] + 1  # none cut off
    lists = page.goto(server.url + "/en/lists/")
    assert (
        lists.ok and "List of Seriously Untrustworthy Entities" in page.locator("main").inner_text()
    )
