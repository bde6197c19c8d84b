"""Back-office journeys in a real browser (Playwright + Debian's Chromium) on demo data, at
1366 px and 390 px: what each page shows first, and never a raw code or a ciphertext.

The server runs with DEBUG off, as the demo does, so that 403/404 are the site's own pages.
With ``CREDITPLUS_SCREENSHOTS=1`` the first screen of each page is saved under
docs/screenshots/ (the pictures linked from the README).
"""

from __future__ import annotations

import os
import re

import pytest

from tests.server import ROOT
from tests.test_no_ciphertext import CIPHERTEXT

pytestmark = pytest.mark.browser

PASSWORD = "Demo-pass-2026"
WIDTHS = {"desktop": 1366, "phone": 390}
SHOTS = ROOT / "docs" / "screenshots"
MASKED_ID = re.compile(r"\d{4}\*{10}[\dX]{4}")
# Raw codes that a page must not show as text: catalog field codes, error codes, [code] tags.
RAW_CODE = re.compile(r"\b(?:CF|XK|DJ|SJCC)_[A-Z_]+\b|\[[a-z]+_[a-z_]+\]|\buscc_check\b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A server with a small demo district: records, accounts, lists, scores, a 双随机 plan
    (some results awaiting review), the integrity quarter, and an objection to a record."""
    from tests.server import app_server

    tmp = tmp_path_factory.mktemp("backoffice")
    with app_server(tmp, {"DEBUG": "0"}) as server:
        server.manage("demo_data", "--subjects", "120", "--load", "--out", str(tmp / "demo"))
        server.manage("demo_accounts", "--password", PASSWORD)
        server.manage("lists_demo")
        server.manage("evaluate", "--all")
        server.manage("supervision_demo")
        server.manage("integrity_demo")
        server.manage("shell", "-c", OBJECTION)
        yield server


# An objection of the enterprise demo account against its penalty from 区市场监管局.
OBJECTION = """
from creditplus.accounts.audit import audit_context, context_for_user
from creditplus.accounts.models import User
from creditplus.lists import objections
from creditplus.records.models import CreditRecord
user = User.objects.get(username="qiye")
subject = user.subject_account.subject
record = CreditRecord.objects.current().filter(
    subject=subject, item__code="CF", department__code="SCJG"
).first()
with audit_context(context_for_user(user)):
    objections.submit_objection(
        user, record=record, reason="违法事实表述有误，请更正",
        requested_changes={"CF_SY": "未按规定公示年度报告"},
    )
"""


def query(server, code: str) -> str:
    """The last line printed by ``code`` run in the server's Django shell."""
    return server.manage("shell", "-c", code).stdout.strip().splitlines()[-1]


def sign_in(page, server, username: str) -> None:
    page.goto(server.url + "/backoffice/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/backoffice/$"))


def shoot(page, name: str, width: str) -> None:
    if os.environ.get("CREDITPLUS_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"))


def assert_clean(page) -> None:
    """No ciphertext anywhere; no raw code in the text, except the codes a page keeps as
    secondary hints for support (``.code-hint``, after the label)."""
    text = page.evaluate(
        """() => { const hints = document.querySelectorAll("main .code-hint");
        hints.forEach((e) => { e.style.display = "none"; });
        const text = document.querySelector("main").innerText;
        hints.forEach((e) => { e.style.display = ""; });
        return text; }"""
    )
    assert not CIPHERTEXT.search(page.content()), CIPHERTEXT.findall(page.content())[:3]
    assert not RAW_CODE.search(text), RAW_CODE.findall(text)[:5]


def first_screen(page, selector: str) -> bool:
    """Whether the element's top is inside the first screen (the viewport at load)."""
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] < page.viewport_size["height"]


@pytest.fixture(params=list(WIDTHS))
def width(request, browser_page):
    browser_page.set_viewport_size({"width": WIDTHS[request.param], "height": 844})
    return request.param


def test_profile_shows_masked_persons_and_one_badge_per_list(demo, browser_page, width):
    uscc = query(
        demo,
        "from creditplus.subjects.models import SubjectRelation as R;"
        "print(R.objects.filter(organisation__uscc__isnull=False)"
        ".order_by('organisation__name').first().organisation.uscc)",
    )
    page = browser_page
    sign_in(page, demo, "xinyongban")
    page.goto(f"{demo.url}/backoffice/evaluation/subjects/{uscc}/")
    assert first_screen(page, "h1") and first_screen(page, "p.tags")
    related = page.locator("h2:has-text('关联人员与关联企业') ~ .card").first.inner_text()
    assert MASKED_ID.search(related)
    for row in page.locator("h2:has-text('关联人员与关联企业') ~ .card tbody tr").all():
        badges = [b.inner_text() for b in row.locator(".badge").all()]
        assert len(badges) == len(set(badges))
    assert_clean(page)
    shoot(page, "profile", width)


def test_objection_answer_shows_the_record_as_a_prefilled_form(demo, browser_page, width):
    pk = query(
        demo, "from creditplus.lists.models import Objection;print(Objection.objects.last().pk)"
    )
    page = browser_page
    sign_in(page, demo, "scjg")
    page.goto(f"{demo.url}/backoffice/lists/objections/{pk}/")
    assert page.locator("h1").inner_text().startswith("异议")
    field = page.get_by_label("违法事实", exact=True)
    assert field.input_value()  # pre-filled with the current value
    assert page.get_by_label("行政处罚决定书文号").is_disabled()  # the key
    assert "申请人请求更正为：未按规定公示年度报告" in page.content()
    assert "字段编码=" not in page.content()
    assert_clean(page)
    page.locator("#answer-form").scroll_into_view_if_needed()
    shoot(page, "objection-answer", width)
    if width == "phone":  # answer once (the second width sees it answered)
        page.get_by_label("已更正").check()
        page.fill("#id_answer", "经核查，违法事实表述有误，已更正。")
        field.fill("未按规定公示年度报告")
        page.click("#answer-form button[type=submit]")
        assert "已答复" in page.locator(".messages").inner_text()
        assert "未按规定公示年度报告" in page.locator("#disputed-record").inner_text()


def test_proposal_lookup_is_not_blocked_and_offers_fitting_records_only(demo, browser_page, width):
    uscc = query(
        demo,
        "from creditplus.accounts.models import User;"
        "print(User.objects.get(username='qiye').subject_account.subject.uscc)",
    )
    page = browser_page
    sign_in(page, demo, "scjg")
    page.goto(f"{demo.url}/backoffice/lists/new/")
    page.select_option("#id_list_type", label="重点关注名单")
    page.fill("#id_uscc", uscc)
    page.click("button[name=lookup]")  # 认定事由 and 认定依据 still empty
    page.wait_for_selector("#list-criteria")
    options = page.locator("#id_evidence label").all_inner_texts()
    assert options and all("失信行为" in o for o in options)
    assert not any("行政许可" in o for o in options)
    assert_clean(page)
    shoot(page, "list-proposal", width)


def test_quality_page_and_a_refused_image_lead_with_chinese(demo, browser_page, width):
    page = browser_page
    sign_in(page, demo, "scjg")
    page.goto(f"{demo.url}/backoffice/records/quality/")
    page.wait_for_selector("#chart-errors canvas")
    first_field = page.locator("#completeness tbody tr td").first.inner_text()
    assert re.match(r"^[\u4e00-\u9fff]", first_field)  # the label leads, the code follows
    assert "错误代码分布" not in page.content()
    assert_clean(page)
    shoot(page, "data-quality", width)
    page.goto(f"{demo.url}/backoffice/records/upload/")
    item = page.locator("#id_item option", has_text="行政处罚").first.get_attribute("value")
    page.select_option("#id_item", value=item)
    page.set_input_files(
        "#id_file",
        files=[{"name": "扫描件.png", "mimeType": "image/png", "buffer": PNG}],
    )
    page.click("main button[type=submit]")
    page.wait_for_url("**/records/jobs/**")  # queued for the background worker
    demo.manage("db_worker", "--batch")  # the job page follows the job to its batch
    page.wait_for_selector("#batch-error")
    message = page.locator("#batch-error").inner_text()
    assert message.startswith("文件被拒收：这不是 CSV/XLSX/JSON 文件")
    assert "[file_" not in page.content()
    assert_clean(page)
    shoot(page, "refused-file", width)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def test_inspection_result_is_reviewed_before_publication(demo, browser_page, width):
    pk = query(
        demo,
        "from creditplus.supervision.models import Inspection as I;"
        "print(I.objects.exclude(result='').filter(reviewed_at__isnull=True).first().pk)",
    )
    page = browser_page
    sign_in(page, demo, "scjg")
    page.goto(f"{demo.url}/backoffice/supervision/inspections/{pk}/")
    assert "待审核" in page.locator("#review-status").inner_text()
    page.locator("#review-form").scroll_into_view_if_needed()
    assert_clean(page)
    shoot(page, "inspection-review", width)
    if width == "phone":
        page.click("#review-form button[type=submit]")  # 审核通过 is the default
        status = page.locator("#review-status").inner_text()
        assert "审核通过" in status and "区市场监管局" in status


def test_integrity_ranking_ranks_complete_results_and_lists_provisional_apart(
    demo, browser_page, width
):
    code = query(
        demo,
        "from creditplus.integrity.models import AssessmentPeriod as P;"
        "print(P.objects.exclude(computed_at=None).order_by('-start').first().code)",
    )
    page = browser_page
    sign_in(page, demo, "xinyongban")
    page.goto(f"{demo.url}/backoffice/integrity/{code}/")
    assert first_screen(page, "h2:has-text('部门排名')")
    for row in page.locator("#provisional tbody tr").all():
        assert "已完成" not in row.inner_text()
    ranked = page.locator("#ranking tbody tr").all_inner_texts()
    assert all("已完成" in r for r in ranked if r.strip() and "暂无" not in r)
    assert_clean(page)
    shoot(page, "integrity-ranking", width)


def test_forbidden_and_missing_pages_are_the_sites_own(demo, browser_page, width):
    page = browser_page
    sign_in(page, demo, "jiancha")
    response = page.goto(f"{demo.url}/backoffice/audit/")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "无权访问此页面"
    assert first_screen(page, "text=返回工作台首页")
    assert "Forbidden" not in page.content()
    shoot(page, "forbidden", width)
    page.context.clear_cookies()
    response = page.goto(f"{demo.url}/no-such-page/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "页面不存在"
    assert "Traceback" not in page.content() and "Page not found" not in page.content()
    shoot(page, "not-found", width)
