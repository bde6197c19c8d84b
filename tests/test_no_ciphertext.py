"""No page, download or report ever shows a stored ciphertext.

Personal values are kept encrypted (``v1:`` AES-GCM) or sealed (``s1:`` AES-SIV) at rest; a
page that masks or prints such a value instead of the clear one shows gibberish to the user
(the profile once showed "雷* s1:i**********gg=="). The test fills the database with records
that carry personal values (legal representatives' and a natural person's ID numbers, an
objection's phone number, reports) and walks every page the credit office and a department
officer can reach by following links, plus the PDF reports, looking for either format.
"""

from __future__ import annotations

import io
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from pypdf import PdfReader

from creditplus.lists import objections
from creditplus.records.models import CreditRecord
from creditplus.reports import services as reports
from creditplus.reports.choices import ReportChannel
from tests.conftest import client_for
from tests.lists.fixtures import ingest_penalty
from tests.records.files import PERSON_ID

pytestmark = pytest.mark.django_db

# What encrypt()/seal() produce: the prefix and base64 (masked or not, a few characters on).
CIPHERTEXT = re.compile(r"\b[sv]1:[A-Za-z0-9+/*]{4,}")
REP_ID = "360426199101010071"
MAX_PAGES = 400
SKIPPED = ("/admin/", "/logout/", "/en/", "/api/")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def crawl(client, *start: str) -> dict[str, str]:
    """Every same-site page reachable from ``start`` by GET (at most ``MAX_PAGES``): URL →
    the text of the answer (PDFs as their extracted text)."""
    seen: dict[str, str] = {}
    queue = deque(start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        kind = response.get("Content-Type", "")
        if response.status_code != 200 or response.streaming:
            seen[url] = ""
            continue
        if kind.startswith("application/pdf"):
            reader = PdfReader(io.BytesIO(response.content))
            seen[url] = "\n".join(page.extract_text() for page in reader.pages)
            continue
        text = response.content.decode("utf-8", "replace")
        seen[url] = text
        if "html" not in kind:
            continue
        parser = _Links()
        parser.feed(text)
        for href in parser.hrefs:
            target = urlsplit(urljoin(url, href))
            if target.scheme or target.netloc or not target.path.startswith("/"):
                continue
            if any(target.path.startswith(s) for s in SKIPPED):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen


@pytest.fixture
def personal_data(proposal, officer, enterprise, window_clerk):
    """Records with personal values: a company's penalty naming its legal representative by
    ID number, a natural person's penalty, an objection with a phone number, and an
    enterprise report of the company."""
    company = ingest_penalty(
        5, 法定代表人="雷鸣", 法定代表人证件类型="身份证", 法定代表人证件号码=REP_ID
    ).subject
    ingest_penalty(
        6,
        行政相对人名称="王小明",
        行政相对人类别="自然人",
        统一社会信用代码="",
        法定代表人="",
        证件类型="身份证",
        证件号码=PERSON_ID,
    )
    record = CreditRecord.objects.current().filter(subject=proposal.subject).first()
    objections.submit_objection(
        enterprise,
        record=record,
        reason="处罚决定已被撤销",
        contact="13800138000",
    )
    reports.issue_enterprise_report(
        company, window_clerk, ReportChannel.WINDOW, "行政审批", license_checked=True
    )
    return company


def assert_no_ciphertext(pages: dict[str, str]) -> None:
    leaks = {url: CIPHERTEXT.findall(text)[:3] for url, text in pages.items()}
    leaks = {url: found for url, found in leaks.items() if found}
    assert not leaks


def test_no_back_office_page_or_report_shows_a_ciphertext(
    personal_data, credit_office, officer, window_clerk
):
    # The company's profile (画像) is reached by a search: it starts the walk too.
    profile = f"/backoffice/evaluation/subjects/{personal_data.uscc}/"
    for user in (credit_office, officer, window_clerk):
        pages = crawl(client_for(user), "/backoffice/", profile)
        assert_no_ciphertext(pages)
        assert len(pages) > 20
    # The profile shows the legal representative masked from the clear number.
    assert "3604**********0071" in client_for(credit_office).get(profile).content.decode()
    # Window: the report pages and their PDFs were among the pages walked.
    pages = crawl(client_for(window_clerk), "/backoffice/reports/")
    assert any(url.endswith(".pdf") and text for url, text in pages.items())


def test_no_public_page_shows_a_ciphertext(personal_data, client):
    pages = crawl(client, "/")
    assert len(pages) > 10
    assert_no_ciphertext(pages)


def test_the_pattern_finds_both_formats_even_masked():
    from creditplus.subjects.pii import encrypt, mask_id_number, seal

    for token in (encrypt(REP_ID), seal(REP_ID), mask_id_number(seal(REP_ID))):
        assert CIPHERTEXT.search(f"<td>雷* {token}</td>")
    assert not CIPHERTEXT.search("<td>雷* 3604**********0071</td>")
