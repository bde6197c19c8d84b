"""Data-quality figures: error rates by code, completeness, timeliness in working days."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import services
from creditplus.records.ingest import IngestOptions, ingest_file, ingest_rows
from creditplus.records.models import IngestBatch
from tests.conftest import client_for
from tests.records.files import penalty

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-06-12 10:00 +0800", tick=False)
def test_quality_figures_count_errors_completeness_and_timeliness(reference, officer):
    rows = [
        penalty(1, **{"处罚决定日期": "2026-06-10", "处罚有效期": "2027-06-10"}),  # 2 working days
        penalty(
            2, **{"处罚决定日期": "2026-05-01", "处罚有效期": "2027-05-01", "法定代表人": ""}
        ),  # late
        penalty(3, **{"处罚类别": "罚没"}),  # rejected
    ]
    ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    figures = services.quality_figures(IngestBatch.objects.all())
    assert figures["totals"]["submitted"] == 3 and figures["totals"]["rejected"] == 1
    assert figures["errors_by_code"] == {"code_unknown": 1}
    assert figures["completeness"]["CF_FRDB"] == 0.5
    assert figures["timeliness"] == {"timely": 1, "late": 1, "rate": 0.5}
    assert figures["volume"] == [{"month": "2026-06", "submitted": 3, "rejected": 1}]
    api = client_for(officer).get("/api/v1/quality").json()
    assert api["sources"][0]["error_rate"] == round(1 / 3, 4)
    page = client_for(officer).get("/backoffice/records/quality/").content.decode()
    assert "chart-volume" in page and "echarts" in page


def test_another_department_sees_none_of_these_figures(reference, other_officer):
    ingest_rows(
        [penalty(1)],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    assert client_for(other_officer).get("/api/v1/quality").json()["totals"]["submitted"] == 0
    assert Client().get("/api/v1/quality").status_code == 401


def test_the_quality_page_and_batch_page_lead_with_labels_not_codes(reference, officer):
    """Charts and tables name errors and fields in Chinese (必填字段为空, 法定代表人); codes
    are secondary text for support; a refused file leads with its Chinese sentence."""
    options = IngestOptions(
        item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
    )
    batch = ingest_rows([penalty(1), penalty(2, **{"处罚类别": "罚没"})], options)
    client = client_for(officer)
    page = client.get("/backoffice/records/quality/")
    chart = page.context["chart"]
    assert chart["errors"] == [{"code": "code_unknown", "label": "不在代码表中", "count": 1}]
    completeness = {f["code"]: f["label"] for f in page.context["completeness"]}
    assert completeness["CF_FRDB"] == "法定代表人" and completeness["BZ"] == "备注"
    html = page.content.decode()
    assert "错误代码分布" not in html and "错误类型分布" in html
    assert '<td class="mono">CF_FRDB</td>' not in html
    text = client.get(f"/backoffice/records/batches/{batch.pk}/").content.decode()
    row = text[text.index("<tbody>", text.index("错误行")) :]
    assert row.index("不在代码表") < row.index("code_unknown")  # message first, code after
    refused = ingest_file(
        b"\x89PNG\r\n\x1a\n\x00\x00",
        IngestOptions(
            **{"item": options.item, "department": options.department, "file_name": "scan.png"}
        ),
    )
    shown = client.get(f"/backoffice/records/batches/{refused.pk}/").content.decode()
    assert "[file_not_tabular]" not in shown
    assert shown.index("这不是 CSV/XLSX/JSON 文件") < shown.index("file_not_tabular")
