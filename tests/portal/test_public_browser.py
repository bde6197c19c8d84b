"""The public website 信用浦东 in a real browser (Playwright + Debian's Chromium, phone-sized):
search → subject page → objection; 双公示 filters; a window's credit report downloaded as PDF
and verified on /verify; natural persons masked; the rate limit's page; phone-width layout
and labelled form fields.

The data (tests/portal/browser_data.py) is created through the real services in the shared
server's database; that database may also hold other tests' demo data, so the checks look for
this data's records and check every shown item, never the exact size of a page."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from pypdf import PdfReader, PdfWriter

from tests.portal import browser_data as data

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "Demo-pass-2026"  # the demo accounts' password, as in the other browser tests
CLERK = "chuangkou"  # demo_accounts: 信用查询窗口 受理员
SIGN_IN = re.compile(r"/(backoffice|my)/login/")
DATE = re.compile(r"决定日期 (\d{4}-\d{2}-\d{2})")


@pytest.fixture(scope="module")
def server(app_server):
    """The shared server with this module's data and the demo accounts."""
    app_server.manage("shell", "-c", "from tests.portal.browser_data import setup; setup()")
    app_server.manage("demo_accounts", "--password", DEMO_PASSWORD)
    return app_server


def ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


def log_in(page, username: str, password: str) -> None:
    """Fill the sign-in form the site has sent the browser to (the back office's, or the
    enterprise's own), and submit it."""
    assert SIGN_IN.search(page.url), page.url
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert not SIGN_IN.search(page.url), page.locator("main").inner_text()


def small_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def submit_filters(page, **expected: str) -> None:
    """Submit the 双公示 filter form; wait for the page whose query has ``expected``."""
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url(
        lambda url: all(parse_qs(urlsplit(url).query).get(k) == [v] for k, v in expected.items())
    )


def shown_cards(page) -> list[str]:
    return page.locator("main article.record-card").all_inner_texts()


def shown_dates(page) -> list[str]:
    return [
        DATE.search(meta).group(1) for meta in page.locator("main .record-meta").all_inner_texts()
    ]


def card(page, doc: str):
    return page.locator("main article.record-card", has_text=doc)


# --------------------------------------------------------------------------- search → object


def test_search_open_the_company_and_object_to_its_penalty(server, browser_page):
    page = browser_page
    page.goto(server.url + "/")
    page.get_by_label("企业名称或统一社会信用代码").fill("张江高科")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"/search\?q=%E5%BC%A0%E6%B1%9F%E9%AB%98%E7%A7%91$"))
    assert page.locator("h1").inner_text() == "信用查询"
    result = page.locator(f'main .result-name a[href="/subjects/{data.ZJ_USCC}/"]')
    assert result.inner_text() == data.ZHANGJIANG
    result.click()

    page.wait_for_url(f"{server.url}/subjects/{data.ZJ_USCC}/")
    assert page.locator("h1").inner_text() == data.ZHANGJIANG
    fine = card(page, data.ZJ_FINE)
    assert fine.count() == 1 and fine.is_visible()
    assert "罚款" in fine.inner_text() and "异议处理中" not in fine.inner_text()
    assert data.ZJ_WARNING not in page.content()  # a warning is minor: never published
    assert card(page, data.ZJ_LICENSE).count() == 1

    object_link = fine.get_by_role("link", name="对此提出异议")
    target = object_link.get_attribute("href")
    assert target.startswith("/my/objections/new/?record=")
    object_link.click()
    # Not signed in: the enterprise signs in on its own page and comes back to the form.
    page.wait_for_url(re.compile(r"/my/login/\?next="))
    log_in(page, data.ENTERPRISE_USER, data.ENTERPRISE_PASSWORD)
    assert page.url == server.url + target
    assert page.locator("h1").inner_text() == "提出异议"
    assert data.ZJ_FINE in page.locator("main .card").first.inner_text()

    page.get_by_label("异议理由").fill("该处罚决定已被行政复议撤销，请核查后停止公示。")
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_label("证明材料").set_input_files(
        {"name": "行政复议决定书.pdf", "mimeType": "application/pdf", "buffer": small_pdf()}
    )
    page.get_by_role("button", name="提交异议").click()
    page.wait_for_url(re.compile(r"/my/objections/\d+/$"))
    confirmation = page.locator("main .messages").inner_text()
    assert re.search(r"异议申请 \S+ 已提交，答复期限 \d{4}-\d{2}-\d{2}", confirmation)
    details = page.locator("main").inner_text()
    assert data.ZJ_FINE in details and "行政复议决定书.pdf" in details
    assert "区市场监管局" in details

    page.goto(f"{server.url}/subjects/{data.ZJ_USCC}/")
    assert "异议处理中" in card(page, data.ZJ_FINE).locator(".badge").all_inner_texts()
    assert "异议处理中" not in card(page, data.ZJ_LICENSE).inner_text()


# --------------------------------------------------------------------------- 双公示


def test_penalties_filter_by_department_category_and_date_newest_first(server, browser_page):
    page = browser_page
    page.goto(server.url + "/publicity/penalties/")
    assert page.locator("h1").inner_text() == "行政处罚公示"

    # The date range alone: the recent penalties of both departments and categories.
    page.get_by_label("决定日期自").fill(ago(30))
    page.get_by_label("决定日期至").fill(ago(10))
    submit_filters(page, decided_from=ago(30), decided_to=ago(10))
    text = page.locator("main").inner_text()
    for doc in (data.ZJ_FINE, data.OTHER_FINE, data.OTHER_TAX_FINE, data.OTHER_CONFISCATION):
        assert doc in text
    assert data.OTHER_OLD_FINE not in text  # 200 days ago
    assert data.ZJ_WARNING not in text and data.PERSON_FINE not in text  # never published
    dates = shown_dates(page)
    assert dates and all(ago(30) <= d <= ago(10) for d in dates)
    assert dates == sorted(dates, reverse=True)  # newest first

    # One department: the tax office's fine disappears.
    page.get_by_label("部门").select_option("SCJG")
    submit_filters(page, department="SCJG", decided_from=ago(30))
    text = page.locator("main").inner_text()
    assert data.OTHER_TAX_FINE not in text
    assert data.ZJ_FINE in text and data.OTHER_CONFISCATION in text
    assert all("区市场监管局" in c for c in shown_cards(page))

    # And one category: the confiscation disappears; the fines stay, newest first.
    page.get_by_label("处罚类别").select_option("罚款")
    submit_filters(page, department="SCJG", category="罚款", decided_to=ago(10))
    text = page.locator("main").inner_text()
    assert data.OTHER_CONFISCATION not in text
    assert text.index(data.OTHER_FINE) < text.index(data.ZJ_FINE)  # 12 before 20 days ago
    assert all("罚款" in c for c in shown_cards(page))
    dates = shown_dates(page)
    assert dates == sorted(dates, reverse=True)
    # The form keeps what was chosen.
    assert page.get_by_label("部门").input_value() == "SCJG"
    assert page.get_by_label("处罚类别").input_value() == "罚款"

    # Another date range finds the old fine, and only it of this data.
    page.get_by_label("决定日期自").fill(ago(210))
    page.get_by_label("决定日期至").fill(ago(190))
    submit_filters(page, decided_from=ago(210), decided_to=ago(190))
    text = page.locator("main").inner_text()
    assert data.OTHER_OLD_FINE in text and data.OTHER_FINE not in text

    # An impossible range: a Chinese message, no results.
    page.get_by_label("决定日期自").fill(ago(10))
    page.get_by_label("决定日期至").fill(ago(30))
    submit_filters(page, decided_from=ago(10), decided_to=ago(30))
    assert "结束日期不能早于开始日期" in page.locator("main [role=alert]").all_inner_texts()[0]
    assert page.locator("main article.record-card").count() == 0
    assert "请修正上面的筛选条件后重试。" in page.locator("main").inner_text()


def test_licenses_filter_by_category(server, browser_page):
    page = browser_page
    page.goto(server.url + "/publicity/penalties/")
    page.get_by_role("link", name="行政许可", exact=True).click()
    page.wait_for_url(server.url + "/publicity/licenses/")
    assert page.locator("h1").inner_text() == "行政许可公示"
    page.get_by_label("决定日期自").fill(ago(11))
    page.get_by_label("决定日期至").fill(ago(7))
    submit_filters(page, decided_from=ago(11), decided_to=ago(7))
    text = page.locator("main").inner_text()
    assert data.ZJ_LICENSE in text and data.OTHER_SPECIAL_LICENSE in text
    assert text.index(data.OTHER_SPECIAL_LICENSE) < text.index(data.ZJ_LICENSE)  # newest first
    # The license links to its holder's page.
    link = card(page, data.ZJ_LICENSE).get_by_role("link", name=data.ZHANGJIANG)
    assert link.get_attribute("href") == f"/subjects/{data.ZJ_USCC}/"

    page.get_by_label("许可类别").select_option("特许")
    submit_filters(page, category="特许", decided_from=ago(11))
    text = page.locator("main").inner_text()
    assert data.OTHER_SPECIAL_LICENSE in text and data.ZJ_LICENSE not in text
    assert all("特许" in c for c in shown_cards(page))


# --------------------------------------------------------------------------- reports


def test_window_report_pdf_and_its_verification(server, browser_page, tmp_path):
    page = browser_page
    page.goto(server.url + "/backoffice/login/?next=/backoffice/reports/")
    log_in(page, CLERK, DEMO_PASSWORD)
    page.wait_for_url(server.url + "/backoffice/reports/")
    page.get_by_role("link", name="法人信用报告").click()
    page.wait_for_url(server.url + "/backoffice/reports/enterprise/")
    page.get_by_label("统一社会信用代码").fill(data.ZJ_USCC)
    page.get_by_label("营业执照已核验").check()
    page.get_by_label("查询用途").fill("招投标")
    page.get_by_role("button", name="出具报告").click()
    page.wait_for_url(re.compile(r"/backoffice/reports/XYBG\w+/$"))

    number = page.locator(".report-meta td.mono").first.inner_text().strip()
    code = page.locator(".report-meta .report-code").inner_text().strip()
    assert number and number in page.url and code
    assert f"已出具信用报告 {number}。" in page.locator(".messages").inner_text()
    assert page.locator(".report-subject-name").inner_text() == data.ZHANGJIANG

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert download.value.suggested_filename == f"{number}.pdf"
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    text = pdf_text(saved)
    assert data.ZHANGJIANG in text and number in text
    assert data.ZJ_FINE in text and data.ZJ_WARNING not in text

    # Anyone can verify it on the portal.
    page.goto(server.url + "/")
    page.get_by_role("link", name="报告验证").click()
    page.wait_for_url(server.url + "/verify")
    page.get_by_label("报告编号").fill(number)
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="核验").click()
    page.wait_for_url(re.compile(r"/verify\?no="))
    result = page.locator(".verify-result")
    assert "核验通过" in result.inner_text()
    assert result.locator(".verify-subject").inner_text() == data.ZHANGJIANG
    assert number in result.inner_text()
    issued = result.locator("tr", has_text="出具时间").locator("td").inner_text()
    assert issued.startswith(timezone.localdate().isoformat())

    # One character of the code changed: refused.
    i = next(i for i, ch in enumerate(code) if ch.isalnum())
    tampered = code[:i] + ("2" if code[i] != "2" else "3") + code[i + 1 :]
    page.get_by_label("验证码").fill(tampered)
    page.get_by_role("button", name="核验").click()
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("code") == [tampered])
    result = page.locator(".verify-result")
    assert "核验未通过" in result.inner_text()
    assert "未查到与该报告编号和验证码相符的报告" in result.inner_text()
    assert data.ZHANGJIANG not in result.inner_text()


def test_enterprise_downloads_its_own_report(server, browser_page, tmp_path):
    page = browser_page
    page.goto(server.url + "/my/report/")
    page.wait_for_url(re.compile(r"/my/login/\?next="))
    log_in(page, data.ENTERPRISE_USER, data.ENTERPRISE_PASSWORD)
    page.wait_for_url(server.url + "/my/report/")
    assert data.ZHANGJIANG in page.locator("main").inner_text()
    page.get_by_label("查询用途").fill("融资贷款")
    page.get_by_role("button", name="生成信用报告").click()
    page.wait_for_url(re.compile(r"/my/report/XYBG\w+/$"))
    number = page.locator(".report-meta td.mono").first.inner_text().strip()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    saved = tmp_path / "own.pdf"
    download.value.save_as(saved)
    text = pdf_text(saved)
    assert data.ZHANGJIANG in text and number in text and "融资贷款" in text


# --------------------------------------------------------------------------- natural persons


def test_a_natural_person_is_shown_masked_and_cannot_be_found_by_name(server, browser_page):
    page = browser_page
    page.goto(server.url + "/lists/")
    page.get_by_role("link", name="严重失信主体名单", exact=True).click()
    page.wait_for_url(server.url + "/lists/YZSX/")
    row = page.locator("main tbody tr", has_text=data.PERSON_DECISION_NO)
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0].strip() == "王*"
    assert cells[1].strip() == data.PERSON_ID_MASKED
    html = page.content()
    assert data.PERSON_NAME not in html and data.PERSON_ID_NUMBER not in html

    # The home page's latest list publications: masked too.
    page.goto(server.url + "/")
    html = page.content()
    assert data.PERSON_NAME not in html and data.PERSON_ID_NUMBER not in html

    # The full name finds nothing, on the list page nor in the subject search.
    page.goto(server.url + "/lists/YZSX/")
    page.locator("main form[role=search] input[name=q]").fill(data.PERSON_NAME)
    page.locator("main form[role=search] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/lists/YZSX/\?q="))
    assert page.locator("main tbody").inner_text().strip() == "没有符合条件的主体。"
    page.goto(server.url + "/search")
    page.get_by_label("企业名称或统一社会信用代码").fill(data.PERSON_NAME)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"/search\?q="))
    assert page.locator("main .result").count() == 0
    main = page.locator("main").inner_text()
    assert "找到 0 个主体" in main and f"没有找到名称包含“{data.PERSON_NAME}”" in main
    assert data.PERSON_ID_NUMBER not in page.content()
    # Neither does the ID number.
    page.goto(f"{server.url}/search?q={data.PERSON_ID_NUMBER}")
    assert page.locator("main .result").count() == 0


# --------------------------------------------------------------------------- rate limit


def test_too_many_searches_get_the_rate_limit_page(tmp_path, browser_page):
    """A server of its own with low limits (the shared one has high limits)."""
    from tests.server import app_server as start

    limits = {
        "CREDITPLUS_RATE_SEARCH_PER_MINUTE": "5",
        "CREDITPLUS_RATE_SUBJECT_PER_MINUTE": "5",
    }
    with start(tmp_path, limits) as strict:
        page = browser_page
        page.goto(strict.url + "/")
        # Counters live in fixed one-minute windows: if a window ends midway, the next one
        # allows five more, so the refusal comes by the eleventh search at the latest.
        statuses: list[int] = []
        while 429 not in statuses and len(statuses) < 11:
            page.locator("main form[role=search] input[name=q]").fill(f"张江高科{len(statuses)}")
            with page.expect_response(lambda r: "/search?" in r.url) as response:
                page.locator("main form[role=search] button[type=submit]").click()
            statuses.append(response.value.status)
            page.wait_for_load_state()
            if statuses[-1] == 200:
                assert page.locator("h1").inner_text() == "信用查询"
        assert statuses[:5] == [200] * 5 and statuses[-1] == 429
        assert int(response.value.headers["retry-after"]) >= 1
        assert page.locator("h1").inner_text() == "访问过于频繁"
        assert "您的访问过于频繁，请" in page.locator("main [role=alert]").inner_text()
        assert page.get_by_role("link", name="数据开放").count() >= 1

        # The subject pages have their own allowance: five, then the same page.
        subject = f"{strict.url}/subjects/{data.ZJ_USCC}/"
        # Counters live in fixed one-minute windows: if a window ends midway, the next one
        # allows five more, so the refusal comes by the eleventh request at the latest.
        seen: list[int] = []
        while 429 not in seen and len(seen) < 11:
            seen.append(page.goto(subject).status)
        assert seen[:5] == [404] * 5 and seen[-1] == 429
        assert "访问过于频繁" in page.locator("h1").inner_text()


# --------------------------------------------------------------------------- phone width


PAGE_CHECK = """() => {
  const shown = el => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
  };
  const skip = ['hidden', 'submit', 'button', 'reset', 'image'];
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter(el => !skip.includes(el.type) && shown(el))
    .filter(el => ![...(el.labels || [])].some(l => l.textContent.trim())
                  && !(el.getAttribute('aria-label') || '').trim()
                  && !el.getAttribute('aria-labelledby'))
    .map(el => el.outerHTML);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    fields: document.querySelectorAll('input:not([type=hidden]), select, textarea').length,
    unlabelled,
  };
}"""


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search?q=张江高科",
        f"/subjects/{data.ZJ_USCC}/",
        "/publicity/penalties/",
        "/publicity/licenses/",
        "/lists/YZSX/",
        "/verify",
    ],
)
def test_public_pages_fit_a_phone_and_label_their_fields(server, browser_page, path):
    page = browser_page
    assert page.viewport_size["width"] == 390
    response = page.goto(server.url + path)
    assert response.status == 200
    found = page.evaluate(PAGE_CHECK)
    assert found["scrollWidth"] <= found["innerWidth"] == 390, found
    assert found["unlabelled"] == [], found["unlabelled"]
    if path != f"/subjects/{data.ZJ_USCC}/":
        assert found["fields"] >= 1  # the check looked at a form
