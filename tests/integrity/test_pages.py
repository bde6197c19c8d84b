"""Back-office pages: the permission matrix, department scope, the assessor form, the report."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creditplus.accounts.models import AuditEvent
from creditplus.integrity import services
from creditplus.integrity.models import AssessorScore, IntegrityIndicator
from tests.conftest import client_for
from tests.integrity.conftest import AS_OF, PERIOD
from tests.permissions import Protected, check

pytestmark = pytest.mark.django_db


@pytest.fixture
def period(seeded):
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    return period


CASES = [
    Protected("index", "GET", lambda o: "/backoffice/integrity/", "officer", ["window_clerk"]),
    Protected(
        "period", "GET", lambda o: f"/backoffice/integrity/{PERIOD}/", "assessor", ["window_clerk"]
    ),
    Protected(
        "department",
        "GET",
        lambda o: f"/backoffice/integrity/{PERIOD}/departments/SCJG/",
        "officer",
        ["window_clerk", "assessor"],
        other_department="other_officer",
    ),
    Protected(
        "assess",
        "GET",
        lambda o: f"/backoffice/integrity/{PERIOD}/assess/",
        "assessor",
        ["officer"],
    ),
    Protected(
        "compute",
        "POST",
        lambda o: f"/backoffice/integrity/{PERIOD}/compute/",
        "credit_office",
        ["officer", "assessor"],
    ),
    Protected(
        "new period",
        "POST",
        lambda o: "/backoffice/integrity/periods/new/",
        "credit_office",
        ["officer", "assessor"],
        data={"code": "2026Q3"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_permission_matrix(
    case, period, officer, other_officer, credit_office, assessor, window_clerk
):
    personas = {
        "officer": officer,
        "other_officer": other_officer,
        "credit_office": credit_office,
        "assessor": assessor,
        "window_clerk": window_clerk,
    }
    check(case, personas, {"period": period})


def test_the_credit_office_sees_every_department_in_the_ranking(period, credit_office):
    page = client_for(credit_office).get(f"/backoffice/integrity/{PERIOD}/").content.decode()
    assert page.count("data-department=") == services.assessed_departments().count()
    assert "81.82" in page and "48.15" in page
    assert AuditEvent.objects.filter(action="integrity.ranking.view").count() == 1


def test_an_officer_sees_only_the_own_department(period, officer, other_officer):
    page = client_for(officer).get(f"/backoffice/integrity/{PERIOD}/").content.decode()
    assert page.count("data-department=") == 1 and 'data-department="SCJG"' in page
    assert "81.82" not in page  # SW's total
    response = client_for(officer).get(f"/backoffice/integrity/{PERIOD}/departments/SW/")
    assert response.status_code == 404
    own = client_for(other_officer).get(f"/backoffice/integrity/{PERIOD}/departments/SW/")
    assert own.status_code == 200


def test_the_department_page_shows_the_shortcoming_report_and_the_trend(period, officer):
    services.compute_period(services.ensure_period("2026Q1"), as_of=AS_OF)
    page = (
        client_for(officer)
        .get(f"/backoffice/integrity/{PERIOD}/departments/SCJG/")
        .content.decode()
    )
    assert page.count("<h1>") == 1
    assert "短板分析" in page and "3件异议申请中有1件未按期答复" in page
    assert "chart-trend" in page and "echarts" in page
    # The trend table (the chart's fallback) lists both computed quarters in order.
    trend = page.split('id="trend"')[1]
    assert trend.index("2026Q1") < trend.index("2026Q2")
    assert AuditEvent.objects.filter(action="integrity.department.view").count() == 1


def test_the_assessor_enters_a_score_with_an_evidence_file(period, assessor, credit_office):
    client = client_for(assessor)
    response = client.post(
        f"/backoffice/integrity/{PERIOD}/assess/",
        {
            "department": "SW",
            "indicator": "LJX_LZFX",
            "points": "72.5",
            "evidence": "抽查廉政档案12份，发现1处制度执行不到位",
            "evidence_file": SimpleUploadedFile("评估报告.pdf", b"%PDF-1.4 test"),
        },
    )
    assert response.status_code == 302
    score = AssessorScore.objects.get()
    assert str(score.points) == "72.50" and score.evidence_file.name.endswith(".pdf")
    assert AuditEvent.objects.filter(action="integrity.assessor_score").count() == 1
    page = client_for(credit_office).get(f"/backoffice/integrity/{PERIOD}/departments/SW/")
    assert "抽查廉政档案12份" in page.content.decode()
    refused = client.post(
        f"/backoffice/integrity/{PERIOD}/assess/",
        {"department": "SW", "indicator": "TMD_GSJS", "points": "90", "evidence": "x"},
    )
    assert refused.status_code == 200  # a computed indicator is not offered
    assert AssessorScore.objects.count() == 1


def test_the_credit_office_recomputes_and_closes_a_period(period, credit_office):
    client = client_for(credit_office)
    assert client.post(f"/backoffice/integrity/{PERIOD}/compute/").status_code == 302
    assert client.post(f"/backoffice/integrity/{PERIOD}/close/").status_code == 302
    period.refresh_from_db()
    assert period.status == "closed"
    assert AuditEvent.objects.filter(action="integrity.compute").count() == 2
    page = client.get(f"/backoffice/integrity/{PERIOD}/").content.decode()
    assert f"/backoffice/integrity/{PERIOD}/compute/" not in page  # no compute button


def test_the_nav_link_follows_the_permission(reference, officer, window_clerk):
    assert (
        "/backoffice/integrity/"
        in client_for(officer).get("/backoffice/integrity/").content.decode()
    )
    home = client_for(window_clerk).get("/backoffice/reports/").content.decode()
    assert "/backoffice/integrity/" not in home


def test_the_evidence_file_is_downloaded_within_scope_and_audited(
    period, assessor, credit_office, officer, other_officer, window_clerk
):
    score = services.enter_assessor_score(
        assessor,
        period,
        services.assessed_departments().get(code="SW"),
        IntegrityIndicator.objects.get(code="LJX_LZFX"),
        points=80,
        evidence="抽查廉政档案",
        evidence_file=SimpleUploadedFile("评估报告.pdf", b"%PDF-1.4 evidence"),
    )
    url = f"/backoffice/integrity/{PERIOD}/evidence/{score.pk}/"
    for persona in (assessor, credit_office, other_officer):  # SW's own officer
        response = client_for(persona).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"%PDF-1.4 evidence"
        assert response["Content-Type"] == "application/pdf"
    assert client_for(officer).get(url).status_code == 404  # another department's score
    assert client_for(window_clerk).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302
    assert AuditEvent.objects.filter(action="integrity.evidence.download").count() == 3
    page = client_for(credit_office).get(f"/backoffice/integrity/{PERIOD}/departments/SW/")
    assert url in page.content.decode()
    assert (
        url in client_for(assessor).get(f"/backoffice/integrity/{PERIOD}/assess/").content.decode()
    )


def test_provisional_results_are_listed_apart_without_a_rank(
    period, seeded, credit_office, assessor
):
    from creditplus.accounts.audit import audit_context, context_for_user

    with audit_context(context_for_user(assessor)):
        for code in ("LJX_LZFX", "LJX_GZMY"):
            services.enter_assessor_score(
                assessor,
                period,
                seeded.scjg,
                IntegrityIndicator.objects.get(code=code),
                points=100,
                evidence="评估报告",
            )
    page = client_for(credit_office).get(f"/backoffice/integrity/{PERIOD}/").content.decode()
    ranked = page[page.index('id="ranking"') : page.index('id="provisional"')]
    provisional = page[page.index('id="provisional"') :]
    # SCJG is complete (61.11): ranked #1 although SW's provisional total (81.82) is higher.
    assert 'data-department="SCJG"><td>1</td>' in ranked and "61.11" in ranked
    assert 'data-department="SW"' not in ranked
    assert 'data-department="SW"' in provisional and "2 项待评估" in provisional
    assert "已完成" not in provisional
