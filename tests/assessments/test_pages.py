"""信用张江 pages: the enterprise's self-assessment with evidence through the real form, the
other-assessment in the back office, conflicts shown to the enterprise and the credit
office, the bank's granted reports (refused without a grant in force, logged and shown to
the enterprise), real PDFs (text extracted with pypdf) that verify on /verify."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from creditplus.accounts.models import AuditEvent
from creditplus.assessments import services
from creditplus.assessments.models import Assessment, Grant, GrantAccess
from creditplus.reports import services as reports
from tests.assessments.conftest import COMPANY, SELF_ANSWERS, pdf_file
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def form_data(answers: dict[str, str], **extra) -> dict:
    return {**{f"q_{k}": v for k, v in answers.items()}, "comment": "", **extra}


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join(page.extract_text() for page in reader.pages)


def grant_for(enterprise, bank, days: int = 30) -> Grant:
    return services.create_grant(
        enterprise, bank, "科技信贷授信审批", timezone.localdate() + timedelta(days=days)
    )


def test_anonymous_users_are_asked_to_log_in(reference):
    for url in [
        "/my/assessments/",
        "/my/assessments/self/",
        "/backoffice/assessments/",
        "/backoffice/assessments/finance/",
        "/backoffice/assessments/finance/matchmaking/",
    ]:
        response = client_for(None).get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_an_unbound_account_is_told_how_to_bind(reference):
    from tests.factories import make_user

    response = client_for(make_user("enterprise", username="unbound")).get("/my/assessments/")
    assert response.status_code == 403
    assert "绑定" in response.content.decode()


def test_the_enterprise_fills_its_self_assessment_with_evidence(
    enterprise, other_enterprise, credit_office, assessor
):
    client = client_for(enterprise)
    page = client.get("/my/assessments/self/")
    assert page.status_code == 200 and "研发投入占营业收入比例" in page.content.decode()
    response = client.post("/my/assessments/self/", form_data(SELF_ANSWERS, e_F2=pdf_file()))
    assert response.status_code == 302
    assessment = Assessment.objects.get(kind="self")
    answer = assessment.answers.get(question="F2")
    url = f"/my/assessments/evidence/{answer.pk}"
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert client_for(other_enterprise).get(url).status_code == 404
    office = client_for(credit_office).get(f"/backoffice/assessments/evidence/{answer.pk}")
    assert office.status_code == 200
    assert (
        client_for(assessor).get(f"/backoffice/assessments/evidence/{answer.pk}").status_code == 404
    )
    assert AuditEvent.objects.filter(action="assessment.evidence").count() == 2


def test_a_refused_answer_is_shown_on_the_form(enterprise):
    response = client_for(enterprise).post(
        "/my/assessments/self/", form_data(SELF_ANSWERS, e_G1=pdf_file("a.txt"))
    )
    assert response.status_code == 200
    assert "file_type" in response.content.decode()
    assert not Assessment.objects.exists()


def test_an_assessor_submits_and_conflicts_are_shown_to_enterprise_and_credit_office(
    company, enterprise, assessor, credit_office, banker
):
    services.submit_self_assessment(enterprise, SELF_ANSWERS)
    client = client_for(assessor)
    assert client.get("/backoffice/assessments/new/").status_code == 200
    response = client.post(
        "/backoffice/assessments/new/",
        form_data({**SELF_ANSWERS, "C1": "yes"}, uscc=company.uscc),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    other = Assessment.objects.get(kind="other")
    assert other.assessor_name == "张江科学城园区管理办公室"
    mine = client_for(enterprise).get("/my/assessments/").content.decode()
    assert "不一致" in mine and "近三年是否受到行政处罚" in mine
    office = client_for(credit_office).get(f"/backoffice/assessments/{other.pk}/").content.decode()
    assert "近三年是否受到行政处罚" in office and "不一致" in office
    # The assessor sees its own assessment, not the conflicts; a bank does not see it at all.
    own = client.get(f"/backoffice/assessments/{other.pk}/")
    assert own.status_code == 200 and "badge warn" not in own.content.decode()
    assert client_for(banker).get(f"/backoffice/assessments/{other.pk}/").status_code == 404


def test_enterprise_users_and_window_clerks_cannot_file_other_assessments(enterprise, window_clerk):
    assert client_for(enterprise).get("/backoffice/assessments/new/").status_code == 403
    assert client_for(window_clerk).get("/backoffice/assessments/new/").status_code == 403


def test_a_bank_without_a_grant_is_refused_the_report_page_and_pdf(company, banker):
    for url in [
        f"/backoffice/assessments/finance/{company.uscc}/",
        f"/backoffice/assessments/finance/{company.uscc}.pdf",
    ]:
        response = client_for(banker).get(url)
        assert response.status_code == 403
        assert "grant_required" in response.content.decode()
    assert not GrantAccess.objects.exists()


def test_expired_and_revoked_grants_are_refused_on_the_page(
    company, enterprise, bank, banker, time_machine
):
    url = f"/backoffice/assessments/finance/{company.uscc}/"
    grant = grant_for(enterprise, bank, days=3)
    assert client_for(banker).get(url).status_code == 200
    response = client_for(enterprise).post(f"/my/assessments/grants/{grant.pk}/revoke")
    assert response.status_code == 302
    refused = client_for(banker).get(url)
    assert refused.status_code == 403 and "grant_revoked" in refused.content.decode()
    grant_for(enterprise, bank, days=3)
    assert client_for(banker).get(url).status_code == 200
    time_machine.move_to(timezone.now() + timedelta(days=4))
    refused = client_for(banker).get(url)
    assert refused.status_code == 403 and "grant_expired" in refused.content.decode()


def test_a_granted_bank_reads_the_report_and_the_enterprise_sees_each_access(
    company, enterprise, bank, banker, other_banker
):
    grant_for(enterprise, bank)
    listing = client_for(banker).get("/backoffice/assessments/finance/").content.decode()
    assert COMPANY in listing
    assert (
        COMPANY
        not in client_for(other_banker).get("/backoffice/assessments/finance/").content.decode()
    )
    page = client_for(banker).get(f"/backoffice/assessments/finance/{company.uscc}/")
    assert page.status_code == 200 and "企业信用报告" in page.content.decode()
    pdf = client_for(banker).get(f"/backoffice/assessments/finance/{company.uscc}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert COMPANY in pdf_text(pdf.content)
    mine = client_for(enterprise).get("/my/assessments/").content.decode()
    log = mine[mine.index('class="accesses"') :]
    assert log.count("上海张江科技银行</td>") == 2
    assert "查看报告" in log and "下载报告" in log


def test_the_enterprise_creates_a_grant_through_the_form(enterprise, bank):
    today = timezone.localdate()
    response = client_for(enterprise).post(
        "/my/assessments/grants/new/",
        {
            "institution": bank.pk,
            "purpose": "信易贷",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=60)).isoformat(),
        },
    )
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert (grant.institution, grant.purpose) == (bank, "信易贷")
    assert AuditEvent.objects.filter(action="grant.create").count() == 1


def test_own_report_pdf_renders_chinese_and_verifies(company, enterprise, assessor):
    services.submit_self_assessment(enterprise, SELF_ANSWERS)
    services.submit_other_assessment(assessor, company, {**SELF_ANSWERS, "G1": "no"})
    client = client_for(enterprise)
    response = client.post("/my/assessments/report/", {"purpose": "科技信贷申请"})
    assert response.status_code == 302
    number = re.search(r"/report/(XYBG\d+)/", response["Location"]).group(1)
    html = client.get(f"/my/assessments/report/{number}/").content.decode()
    assert "六、自评与他评不一致事项" in html and "张江科学城园区管理办公室" in html
    pdf = client.get(f"/my/assessments/report/{number}.pdf")
    text = pdf_text(pdf.content)
    assert COMPANY in text
    assert "企业信用报告" in text and "自评与他评不一致" in text
    report = services.own_reports(company).get(number=number)
    code = reports.report_code(report)
    ok = client_for(None).get("/verify", {"no": number, "code": code}).content.decode()
    assert COMPANY in ok
    bad = client_for(None).get("/verify", {"no": number, "code": "2" * 10}).content.decode()
    assert COMPANY not in bad
    # Another enterprise cannot open it.
    assert client_for(None).get(f"/my/assessments/report/{number}/").status_code == 302


def test_matchmaking_page_filters_by_grade_and_industry(
    company, other_company, enterprise, other_enterprise, banker, assessor
):
    client_for(enterprise).post("/my/assessments/financing", {"opted_in": "on", "need": "研发贷"})
    client_for(other_enterprise).post("/my/assessments/financing", {"need": "不参与"})
    page = client_for(banker).get("/backoffice/assessments/finance/matchmaking/")
    body = page.content.decode()
    assert COMPANY in body and other_company.name not in body
    filtered = client_for(banker).get(
        "/backoffice/assessments/finance/matchmaking/", {"industry": "集成电路"}
    )
    assert COMPANY not in filtered.content.decode()
    assert (
        client_for(assessor).get("/backoffice/assessments/finance/matchmaking/").status_code == 403
    )
