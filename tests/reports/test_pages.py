"""The query-window pages, the enterprise area's own reports, the public verification page
and API route: permissions and scope, the flows through real forms and uploads, real PDFs
(text extracted with pypdf, fonts embedded), and the audit of every read."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.utils import timezone
from pypdf import PdfReader

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent
from creditplus.reports import services
from creditplus.reports.choices import ReportChannel
from creditplus.reports.models import CreditReport, PersonalAuthorization
from tests.conftest import client_for
from tests.factories import make_user
from tests.lists.fixtures import ingest_penalty
from tests.permissions import Protected, check
from tests.records.files import PERSON_ID
from tests.reports.conftest import PERSON_NAME, authorization_file

pytestmark = pytest.mark.django_db

COMPANY = "上海测试1号科技有限公司"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def embedded_fonts(content: bytes) -> list[str]:
    """Names of the fonts whose program is embedded in the PDF."""
    names = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor else {}
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.append(str(descendant.get_object()["/BaseFont"]))
    return names


def issue_at_window(clerk, subject) -> CreditReport:
    return services.issue_enterprise_report(
        subject, clerk, ReportChannel.WINDOW, "招投标", license_checked=True
    )


def personal_post(**overrides):
    data = {
        "id_number": PERSON_ID,
        "name": PERSON_NAME,
        "id_verification": "id_card",
        "authorizer": "self",
        "agent_name": "",
        "agent_id_number": "",
        "purpose": "申请公租房",
        "valid_until": (timezone.localdate() + timedelta(days=10)).isoformat(),
        "file": authorization_file(),
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- permissions


@pytest.fixture
def personas(clerk, other_clerk, officer, credit_office, enterprise):
    return {
        "clerk": clerk,
        "other_clerk": other_clerk,
        "officer": officer,
        "credit_office": credit_office,
        "enterprise": enterprise,
    }


def test_permission_matrix(personas, company, person_penalty, settings):
    settings.CREDITPLUS_REPORT_SHOWS_GRADE = True
    clerk = personas["clerk"]
    report = issue_at_window(clerk, company)
    authorization = services.record_authorization(
        clerk,
        id_number=PERSON_ID,
        name=PERSON_NAME,
        id_verification="id_card",
        authorizer="self",
        file=authorization_file(),
        purpose="申请公租房",
    )
    objects = {"report": report, "authorization": authorization}
    denied = ["officer", "enterprise"]
    cases = [
        Protected("list", "GET", lambda o: "/backoffice/reports/", "clerk", denied),
        Protected(
            "enterprise",
            "GET",
            lambda o: "/backoffice/reports/enterprise/",
            "clerk",
            [*denied, "credit_office"],
        ),
        Protected(
            "personal",
            "GET",
            lambda o: "/backoffice/reports/personal/",
            "clerk",
            [*denied, "credit_office"],
        ),
        Protected(
            "detail",
            "GET",
            lambda o: f"/backoffice/reports/{o['report'].number}/",
            "clerk",
            denied,
            "other_clerk",
        ),
        Protected(
            "pdf",
            "GET",
            lambda o: f"/backoffice/reports/{o['report'].number}.pdf",
            "clerk",
            denied,
            "other_clerk",
        ),
        Protected(
            "authorization",
            "GET",
            lambda o: f"/backoffice/reports/authorizations/{o['authorization'].pk}/",
            "clerk",
            denied,
            "other_clerk",
        ),
        Protected(
            "authorization file",
            "GET",
            lambda o: f"/backoffice/reports/authorizations/{o['authorization'].pk}/file",
            "clerk",
            denied,
            "other_clerk",
        ),
    ]
    for case in cases:
        check(case, personas, objects)
    # The credit office sees every window's reports and authorizations.
    office = client_for(personas["credit_office"])
    assert office.get(f"/backoffice/reports/{report.number}/").status_code == 200
    assert office.get(f"/backoffice/reports/authorizations/{authorization.pk}/").status_code == 200


def test_the_menu_links_reports_only_for_roles_with_the_permission(clerk, officer):
    assert "/backoffice/reports/" in client_for(clerk).get("/backoffice/").content.decode()
    assert "/backoffice/reports/" not in client_for(officer).get("/backoffice/").content.decode()


# --------------------------------------------------------------------------- window flows


def test_enterprise_report_at_the_window_html_and_pdf(company, clerk):
    client = client_for(clerk)
    refused = client.post(
        "/backoffice/reports/enterprise/", {"uscc": company.uscc, "purpose": "招投标"}
    )
    assert refused.status_code == 200 and "license_not_checked" in refused.content.decode()
    response = client.post(
        "/backoffice/reports/enterprise/",
        {"uscc": company.uscc, "license_checked": "on", "purpose": "招投标"},
    )
    report = CreditReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/reports/{report.number}/"
    html = client.get(response["Location"]).content.decode()
    assert h1_count(html) == 1
    assert COMPANY in html and report.number in html and services.report_code(report) in html
    assert "严重失信主体名单" in html and "吊销许可证件" in html and "评价等级" in html
    pdf = client.get(f"/backoffice/reports/{report.number}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = pdf_text(pdf.content)
    assert COMPANY in text
    assert report.number in text and services.report_code(report) in text
    assert "公共信用信息报告" in text and "严重失信主体名单" in text
    assert re.search(r"第 1 页 / 共 \d+ 页", text)
    assert "/verify?no=" in text
    assert any("CJK" in name for name in embedded_fonts(pdf.content))


def test_a_re_download_renders_the_same_content_from_the_snapshot(company, clerk):
    report = issue_at_window(clerk, company)
    client = client_for(clerk)
    first = pdf_text(client.get(f"/backoffice/reports/{report.number}.pdf").content)
    ingest_penalty(1, 行政处罚决定书文号="沪浦市监处〔2026〕新1号")  # new facts after issue
    second = pdf_text(client.get(f"/backoffice/reports/{report.number}.pdf").content)
    assert first == second and "新1号" not in second


def test_unknown_and_invalid_codes_are_refused_in_the_enterprise_form(reference, clerk):
    client = client_for(clerk)
    bad = client.post(
        "/backoffice/reports/enterprise/",
        {"uscc": "91110000600037341N", "license_checked": "on", "purpose": "x"},
    )
    assert "invalid_uscc" in bad.content.decode()
    unknown = client.post(
        "/backoffice/reports/enterprise/",
        {"uscc": "9144030071526726XG", "license_checked": "on", "purpose": "x"},
    )
    assert "subject_not_found" in unknown.content.decode()
    assert not CreditReport.objects.exists()


def test_personal_report_flow_records_the_authorization_then_issues(person_penalty, clerk):
    client = client_for(clerk)
    response = client.post("/backoffice/reports/personal/", personal_post())
    authorization = PersonalAuthorization.objects.get()
    report = CreditReport.objects.get()
    assert response.status_code == 302 and report.authorization == authorization
    html = client.get(response["Location"]).content.decode()
    assert "请至征信中心查询" in html and "3604**********0071" in html
    assert PERSON_ID not in html
    assert authorization.number in html
    text = pdf_text(client.get(f"/backoffice/reports/{report.number}.pdf").content)
    assert PERSON_NAME in text and "请至征信中心查询" in text and report.number in text
    stored = client.get(f"/backoffice/reports/authorizations/{authorization.pk}/file")
    assert stored.status_code == 200
    assert b"".join(stored.streaming_content).startswith(b"%PDF-1.4")


def test_personal_form_refuses_an_invalid_id_number_with_its_code(reference, clerk):
    response = client_for(clerk).post(
        "/backoffice/reports/personal/", personal_post(id_number="36042619910102009X")
    )
    html = response.content.decode()
    assert response.status_code == 200 and "invalid_id_number" in html
    assert "居民身份证号码" in html
    assert not PersonalAuthorization.objects.exists() and not CreditReport.objects.exists()


def test_personal_form_without_a_file_issues_nothing(person_penalty, clerk):
    data = personal_post()
    del data["file"]
    response = client_for(clerk).post("/backoffice/reports/personal/", data)
    assert response.status_code == 200
    assert not PersonalAuthorization.objects.exists() and not CreditReport.objects.exists()


def test_the_list_is_scoped_to_the_window_and_audited(company, clerk, other_clerk, credit_office):
    report = issue_at_window(clerk, company)
    assert report.number in client_for(clerk).get("/backoffice/reports/").content.decode()
    assert report.number not in client_for(other_clerk).get("/backoffice/reports/").content.decode()
    assert report.number in client_for(credit_office).get("/backoffice/reports/").content.decode()
    assert AuditEvent.objects.filter(action="report.list").count() == 3


def test_views_and_downloads_are_audited_with_the_purpose(company, clerk):
    report = issue_at_window(clerk, company)
    client = client_for(clerk)
    client.get(f"/backoffice/reports/{report.number}/")
    client.get(f"/backoffice/reports/{report.number}.pdf")
    issued = AuditEvent.objects.get(action="report.issue")
    viewed = AuditEvent.objects.get(action="report.view")
    downloaded = AuditEvent.objects.get(action="report.download")
    for event in (issued, viewed, downloaded):
        assert event.object_id == str(report.pk) and event.purpose == "招投标"
        assert event.subject == company.uscc
    assert downloaded.actor_name == clerk.username and downloaded.department == "FGW"


def test_authorization_reads_are_audited(person_penalty, clerk):
    client = client_for(clerk)
    client.post("/backoffice/reports/personal/", personal_post())
    authorization = PersonalAuthorization.objects.get()
    client.get(f"/backoffice/reports/authorizations/{authorization.pk}/")
    client.get(f"/backoffice/reports/authorizations/{authorization.pk}/file")
    for action in ("authorization.view", "authorization.file"):
        event = AuditEvent.objects.get(action=action)
        assert event.purpose == "申请公租房" and event.object_id == str(authorization.pk)


# --------------------------------------------------------------------------- enterprise area


def test_enterprise_gets_its_own_report_online_html_and_pdf(company, enterprise):
    client = client_for(enterprise)
    page = client.get("/my/report/")
    assert page.status_code == 200 and h1_count(page.content.decode()) == 1
    response = client.post("/my/report/", {"purpose": "融资贷款"})
    report = CreditReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/my/report/{report.number}/"
    assert report.channel == ReportChannel.ONLINE and report.subject == company
    html = client.get(response["Location"]).content.decode()
    assert COMPANY in html and services.report_code(report) in html and h1_count(html) == 1
    pdf = client.get(f"/my/report/{report.number}.pdf")
    assert pdf.status_code == 200 and COMPANY in pdf_text(pdf.content)
    assert AuditEvent.objects.filter(action="report.download", purpose="融资贷款").count() == 1
    assert "/my/report/" in client.get("/my/").content.decode()


def test_an_enterprise_cannot_read_another_subjects_report(company, enterprise, clerk):
    other = ingest_penalty(2).subject
    foreign = issue_at_window(clerk, other)
    client = client_for(enterprise)
    assert client.get(f"/my/report/{foreign.number}/").status_code == 404
    assert client.get(f"/my/report/{foreign.number}.pdf").status_code == 404
    assert client.get("/backoffice/reports/").status_code == 403
    assert client.get(f"/backoffice/reports/{foreign.number}.pdf").status_code == 403
    assert foreign.number not in client.get("/my/report/").content.decode()


def test_the_enterprise_area_needs_a_bound_account(reference, officer):
    assert client_for(None).get("/my/report/")["Location"].startswith("/my/login/")
    unbound = make_user(Role.ENTERPRISE, username="unbound")
    response = client_for(unbound).post("/my/report/", {"purpose": "自查"})
    assert response.status_code == 403 and not CreditReport.objects.exists()
    assert client_for(officer).get("/my/report/").status_code == 403


# --------------------------------------------------------------------------- verification


def verify_url(number: str, code: str) -> str:
    return "/verify?" + urlencode({"no": number, "code": code})


def test_verify_page_is_a_labelled_form(reference):
    response = client_for(None).get("/verify")
    html = response.content.decode()
    assert response.status_code == 200 and h1_count(html) == 1
    assert '<label for="id_no">' in html and '<label for="id_code">' in html
    assert "核验通过" not in html and "核验未通过" not in html


def test_verify_page_confirms_a_report_and_refuses_a_tampered_code(company, clerk):
    report = issue_at_window(clerk, company)
    code = services.report_code(report)
    client = client_for(None)
    ok = client.get(verify_url(report.number, code)).content.decode()
    assert "核验通过" in ok and COMPANY in ok and report.issued_at.year and report.number in ok
    tampered = code[:3] + ("Z" if code[3] != "Z" else "Y") + code[4:]
    bad = client.get(verify_url(report.number, tampered)).content.decode()
    assert "核验未通过" in bad and COMPANY not in bad
    unknown = client.get(verify_url("XYBG20000101000001", code)).content.decode()
    assert "核验未通过" in unknown


def test_verify_masks_natural_persons(person_penalty, clerk):
    client_for(clerk).post("/backoffice/reports/personal/", personal_post())
    report = CreditReport.objects.get()
    html = client_for(None).get(verify_url(report.number, services.report_code(report)))
    text = html.content.decode()
    assert "核验通过" in text and "王**" in text and PERSON_NAME not in text
    assert "自然人公共信用信息报告" in text


def test_verify_is_rate_limited(reference, settings):
    settings.CREDITPLUS_RATE_LIMITS = {**settings.CREDITPLUS_RATE_LIMITS, "search": 3}
    client = client_for(None)
    statuses = [
        client.get(verify_url("XYBG20000101000001", "ABCDEFGHJK")).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_verify_api(company, person_penalty, clerk):
    report = issue_at_window(clerk, company)
    code = services.report_code(report)
    client = client_for(None)
    ok = client.get("/api/v1/reports/verify", {"no": report.number, "code": code}).json()
    assert ok["valid"] is True and ok["subject"] == COMPANY and ok["kind"] == "enterprise"
    assert ok["number"] == report.number and ok["sha256"] == report.content_sha256
    bad = client.get("/api/v1/reports/verify", {"no": report.number, "code": "23456789AB"})
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert bad.json()["subject"] is None
    missing = client.get("/api/v1/reports/verify", {"no": report.number})
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_input"
    client_for(clerk).post("/backoffice/reports/personal/", personal_post())
    personal = CreditReport.objects.get(kind="personal")
    masked = client.get(
        "/api/v1/reports/verify",
        {"no": personal.number, "code": services.report_code(personal)},
    ).json()
    assert masked["valid"] is True and masked["subject"] == "王**"
