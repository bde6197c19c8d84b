"""The report's layout: code-table labels instead of codes, a summary before the records,
records that share pages (a subject with many records still gets a short PDF), and a QR code
of the verification address beside the verification code."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from creditplus.accounts.models import Department
from creditplus.reports import rendering, services
from creditplus.reports.choices import ReportChannel
from tests.reports.conftest import ingest

pytestmark = pytest.mark.django_db

LICENSES = 40


def licence_rows(subject, n: int) -> list[dict]:
    today = timezone.localdate()
    scjg = Department.objects.get(code="SCJG").uscc
    return [
        {
            "行政相对人名称": subject.name,
            "行政相对人类别": "法人及非法人组织",
            "统一社会信用代码": subject.uscc,
            "法定代表人": "李四",
            "行政许可决定文书名称": "准予行政许可决定书",
            "行政许可决定文书号": f"沪浦市监许〔2026〕版式{i}号",
            "许可类别": "普通",
            "许可证书名称": "食品经营许可证",
            "许可编号": f"JY131011500{i:05d}",
            "许可内容": "准予核发食品经营许可证（热食类食品制售、冷食类食品制售）",
            "许可决定日期": (today - timedelta(days=10 + i)).isoformat(),
            "有效期自": (today - timedelta(days=10 + i)).isoformat(),
            "有效期至": (today + timedelta(days=5 * 365)).isoformat(),
            "当前状态": "1",
            "许可机关": "区市场监管局",
            "许可机关统一社会信用代码": scjg,
            "数据来源单位": "区市场监管局",
            "数据来源单位统一社会信用代码": scjg,
        }
        for i in range(n)
    ]


@pytest.fixture
def busy_company(company):
    ingest("XK", "SCJG", licence_rows(company, LICENSES))
    company.industry = "C"
    company.save(update_fields=["industry"])
    return company


def issue(subject, clerk):
    return services.issue_enterprise_report(
        subject, clerk, ReportChannel.WINDOW, "招投标", license_checked=True
    )


def test_the_report_shows_code_table_labels_never_the_codes(busy_company, clerk):
    content = issue(busy_company, clerk).content
    assert content["subject"]["industry"] == "制造业"
    licences = next(s for s in content["sections"] if s["item"] == "XK")
    states = {
        f["value"] for r in licences["records"] for f in r["fields"] if f["label"] == "当前状态"
    }
    assert states == {"有效"}


def test_a_summary_comes_before_the_records(busy_company, clerk):
    report = issue(busy_company, clerk)
    html = services_html(report)
    abstract = html.index('class="report-table report-grid report-abstract"')
    overview = html.index('class="report-table report-grid report-overview"')
    first_record = html.index('class="report-record"')
    assert abstract < html.index("一、主体身份信息") < overview < first_record
    row = re.search(
        r"<td>行政许可[^<]*</td><td>[^<]*</td><td>[^<]*</td><td class=\"num\">(\d+)</td>", html
    )
    assert row and int(row.group(1)) == LICENSES


def services_html(report) -> str:
    from django.template.loader import render_to_string

    return render_to_string("reports/_report.html", rendering.report_context(report))


def test_many_records_share_pages_and_the_pdf_stays_short(busy_company, clerk):
    report = issue(busy_company, clerk)
    assert report.content["record_total"] > LICENSES
    pdf = PdfReader(io.BytesIO(rendering.render_pdf(report)))
    # Before: one record took most of a page (66 pages for 70 records in the demo).
    assert len(pdf.pages) <= 10, len(pdf.pages)
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "沪浦市监许〔2026〕版式39号" in text and "当前状态" in text


def test_the_verification_qr_code_sits_beside_the_code(busy_company, clerk):
    report = issue(busy_company, clerk)
    context = rendering.report_context(report)
    assert str(context["verify_qr"]).startswith("<svg") and "<path" in str(context["verify_qr"])
    html = services_html(report)
    code_cell = html.index('class="mono report-code"')
    assert code_cell < html.index('class="report-qr"') < html.index("出具时间")
