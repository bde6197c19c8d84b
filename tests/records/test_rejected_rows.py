"""What a batch stores about its rejected rows is bounded, and the download of them is safe
CSV (issue 16, findings 2 and 10)."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from creditplus.accounts import services as accounts
from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import ingest as ingest_module
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import IngestBatch, RowError
from tests.conftest import client_for
from tests.records.files import csv_bytes, penalty
from tests.records.worker import run_worker

pytestmark = pytest.mark.django_db


def ingest(rows, **kwargs) -> IngestBatch:
    return ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"),
            department=Department.objects.get(code="SCJG"),
            **kwargs,
        ),
    )


def bad(n: int) -> dict[str, str]:
    """A row with three errors."""
    return penalty(n, **{"处罚类别": "罚没", "处罚决定日期": "2025-13-45", "违法事实": ""})


def test_a_rejected_rows_values_are_stored_once_not_once_per_error(reference):
    batch = ingest([bad(1)])
    errors = list(RowError.objects.filter(batch=batch).order_by("id"))
    assert len(errors) == 3
    assert [bool(e.raw) for e in errors] == [True, False, False]
    assert json.loads(errors[0].raw)["行政相对人名称"] == "上海测试1号科技有限公司"


def test_only_the_first_rejected_rows_are_stored_then_counts_per_code(
    reference, monkeypatch, officer
):
    monkeypatch.setattr(ingest_module, "MAX_STORED_REJECTED", 5)
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 4)  # the budget spans chunks
    batch = ingest([penalty(100)] + [bad(n) for n in range(1, 13)])
    assert (batch.submitted, batch.accepted, batch.rejected) == (13, 1, 12)
    assert sorted(set(RowError.objects.filter(batch=batch).values_list("row_no", flat=True))) == [
        2,
        3,
        4,
        5,
        6,
    ]
    assert batch.stats["rejected_not_stored"] == 7 and batch.stats["rejected_stored"] == 5
    assert batch.stats["errors"]["code_unknown"] == 12  # counted for every row
    api = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token('SCJG', 's').key}")
    assert api.get(f"/api/v1/batches/{batch.pk}").json()["rejected_not_stored"] == 7
    page = client_for(officer).get(f"/backoffice/records/batches/{batch.pk}/").content.decode()
    note = page[page.index('id="not-stored"') :].split("</p>")[0]
    assert "其余 7 行" in note and "code_unknown</span> 12" in note


FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


def test_the_rejected_rows_download_quotes_spreadsheet_formulas(reference, officer):
    rows = [
        penalty(i, **{"行政相对人名称": f, "处罚类别": "罚没"}) for i, f in enumerate(FORMULAS, 1)
    ]
    upload = io.BytesIO(csv_bytes(rows))
    upload.name = "formulas.csv"
    client = client_for(officer)
    item = CatalogItem.objects.get(code="CF").pk
    client.post("/backoffice/records/upload/", {"item": item, "file": upload})
    run_worker()  # page uploads are ingested by the background worker
    batch = IngestBatch.objects.get()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token('SCJG', 's').key}")
    for body in (
        client.get(f"/backoffice/records/batches/{batch.pk}/rejected.csv").content,
        api.get(f"/api/v1/batches/{batch.pk}/rejected.csv").content,
    ):
        table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        names = [row[table[0].index("行政相对人名称")] for row in table[1:]]
        assert names == [f"'{f}" for f in FORMULAS]
        cells = [cell for row in table for cell in row]
        assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_the_cli_json_line_says_when_a_whole_file_was_refused(reference, tmp_path):
    path = tmp_path / "header-only.csv"
    path.write_bytes(",".join(penalty(1)).encode() + b"\n")
    out = StringIO()
    call_command(
        "ingest",
        str(path),
        "--item",
        "CF",
        "--dept",
        "SCJG",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (line["status"], line["error_code"], line["submitted"]) == ("failed", "file_no_rows", 0)
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([penalty(1)]))
    out = StringIO()
    call_command("ingest", str(good), "--item", "CF", "--dept", "SCJG", "--json", stdout=out)
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (line["status"], line["error_code"], line["accepted"]) == ("done", "", 1)
