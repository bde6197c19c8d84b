"""A row creates or changes only records its department owns: the deciding authority must be
the department or one it reports for (data), and another department's record is never
overwritten (issue 16, finding 1)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from creditplus.accounts import services as accounts
from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import services
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord, ReportingAuthority
from creditplus.records.reference import load_reporting_authorities
from tests.records.files import penalty

pytestmark = pytest.mark.django_db

CGZF_DOC = "沪浦城管罚〔2026〕88号"


def cgzf_penalty(**overrides: str) -> dict[str, str]:
    cgzf = Department.objects.get(code="CGZF")
    return penalty(
        1,
        **{
            "行政处罚决定书文号": CGZF_DOC,
            "处罚机关": cgzf.name,
            "处罚机关统一社会信用代码": cgzf.uscc,
            "数据来源单位": cgzf.name,
            "数据来源单位统一社会信用代码": cgzf.uscc,
            **overrides,
        },
    )


def ingest(dept: str, rows: list[dict[str, str]]):
    return ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code=dept)
        ),
    )


def bearer(dept: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token(dept, '业务系统').key}")


@pytest.fixture
def published(reference):
    batch = ingest("CGZF", [cgzf_penalty()])
    assert batch.accepted == 1
    return CreditRecord.objects.get()


def test_another_departments_token_cannot_overwrite_a_published_penalty(published):
    """The probe's attack: SW posts CGZF's natural key with changed content."""
    tax = bearer("SW")
    response = tax.post(
        "/api/v1/batches",
        data=json.dumps({"item": "CF", "rows": [cgzf_penalty(**{"处罚内容": "罚款人民币壹元"})]}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["updated"], body["rejected"]) == (0, 1)
    errors = tax.get(f"/api/v1/batches/{body['batch']}/errors").json()
    assert [e["code"] for e in errors] == ["authority_not_allowed"]
    assert "区税务局" in errors[0]["message"]
    current = CreditRecord.objects.current().get()
    assert current.pk == published.pk and current.department.code == "CGZF"
    assert current.values["CF_NR"] == "罚款人民币伍万元"
    # The owner can still retract its own record.
    services.retract_record(current, "复议撤销")


def test_a_department_reporting_for_the_authority_still_cannot_take_over_its_record(published):
    """Even allowed to report for CGZF's code, SW may not change a record CGZF owns."""
    ReportingAuthority.objects.create(
        department=Department.objects.get(code="SW"), uscc=published.department.uscc, name="x"
    )
    batch = ingest("SW", [cgzf_penalty(**{"处罚内容": "罚款人民币壹元"})])
    assert (batch.updated, batch.rejected) == (0, 1)
    error = batch.errors.get()
    assert error.code == "record_owned_by_other" and "区城管执法局" in error.message
    assert CreditRecord.objects.current().get().pk == published.pk


def test_the_owner_still_updates_its_own_record(published):
    batch = ingest("CGZF", [cgzf_penalty(**{"处罚内容": "罚款人民币叁万元"})])
    assert (batch.updated, batch.rejected) == (1, 0)
    assert CreditRecord.objects.current().get().department.code == "CGZF"


def test_an_authority_a_department_reports_for_is_data(reference):
    """SW's inspection bureau is listed in reporting_authorities.yaml: SW may submit its
    decisions; a code listed for nobody is refused."""
    load_reporting_authorities()
    bureau = ReportingAuthority.objects.get(department__code="SW")
    row = penalty(
        7,
        **{
            "行政处罚决定书文号": "沪浦税稽罚〔2026〕7号",
            "处罚机关": bureau.name,
            "处罚机关统一社会信用代码": bureau.uscc,
        },
    )
    assert ingest("SW", [row]).accepted == 1
    refused = ingest("SCJG", [{**row, "行政处罚决定书文号": "沪浦市监处〔2026〕9号"}])
    assert refused.rejected == 1 and refused.errors.get().code == "authority_not_allowed"


def test_the_platform_admin_edits_reporting_authorities_audited(platform_admin):
    from creditplus.accounts.models import AuditEvent
    from tests.conftest import client_for

    before = AuditEvent.objects.count()
    response = client_for(platform_admin).post(
        "/admin/records/reportingauthority/add/",
        {
            "department": Department.objects.get(code="CGZF").pk,
            "uscc": "11310115000047116U",
            "name": "区城管执法局直属支队",
            "source_version": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ReportingAuthority.objects.filter(department__code="CGZF").exists()
    assert AuditEvent.objects.count() == before + 1
