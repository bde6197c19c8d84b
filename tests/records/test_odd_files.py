"""Odd files get a code, never a quiet "done" or a server error (issue 16, findings 2, 9, 12):
header-only files, NUL bytes, repeated and unknown columns, deep JSON, oversized XLSX."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client

from creditplus.accounts import services as accounts
from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import ingest as ingest_module
from creditplus.records.ingest import IngestOptions, ingest_file
from creditplus.records.models import CreditRecord, IngestBatch, RowError
from creditplus.records.readers import json_too_deep
from tests.conftest import client_for
from tests.records.files import PERSON_ID, csv_bytes, penalty
from tests.records.worker import run_worker

pytestmark = pytest.mark.django_db

HEADER = ",".join(penalty(1)).encode()


@pytest.fixture
def options(reference):
    def make(**kwargs):
        return IngestOptions(
            item=CatalogItem.objects.get(code="CF"),
            department=Department.objects.get(code="SCJG"),
            **kwargs,
        )

    return make


def refused(batch) -> str:
    assert batch.status == "failed" and batch.submitted == 0
    assert not CreditRecord.objects.exists() and not RowError.objects.exists()
    return batch.error_code


def deep_json(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def test_a_header_only_csv_is_refused_with_a_code(options):
    batch = ingest_file(HEADER + b"\r\n", options(file_name="empty.csv"))
    assert refused(batch) == "file_no_rows" and "只有表头" in batch.error_message


def test_a_header_only_xlsx_is_refused_with_a_code(options):
    import xlsxwriter

    book = io.BytesIO()
    workbook = xlsxwriter.Workbook(book)
    workbook.add_worksheet().write_row(0, 0, list(penalty(1)))
    workbook.close()
    assert refused(ingest_file(book.getvalue(), options(file_name="e.xlsx"))) == "file_no_rows"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_repeated_column_header_is_refused(options, fmt):
    header = [*penalty(1), "违法事实"]
    if fmt == "csv":
        content = (",".join(header) + "\n" + ",".join([*penalty(1).values(), "x"])).encode()
    else:
        import xlsxwriter

        book = io.BytesIO()
        workbook = xlsxwriter.Workbook(book)
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, header)
        sheet.write_row(1, 0, [*penalty(1).values(), "x"])
        workbook.close()
        content = book.getvalue()
    batch = ingest_file(content, options(file_name=f"dup.{fmt}"))
    assert refused(batch) == "column_duplicated" and "违法事实" in batch.error_message


def test_unknown_extra_columns_are_a_warning_on_the_batch(options, officer):
    rows = [{**penalty(1), "内部备注": "a", "经办人": "b"}]
    batch = ingest_file(csv_bytes(rows), options(file_name="extra.csv"))
    assert batch.status == "done" and batch.accepted == 1
    [warning] = batch.stats["file_warnings"]
    assert warning["code"] == "columns_unknown"
    assert "内部备注" in warning["message"] and "经办人" in warning["message"]
    page = client_for(officer).get(f"/backoffice/records/batches/{batch.pk}/").content.decode()
    assert "columns_unknown" in page and "内部备注" in page
    api = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token('SCJG', 's').key}")
    assert api.get(f"/api/v1/batches/{batch.pk}").json()["file_warnings"] == [warning]


def test_nul_bytes_in_a_field_reject_the_row_and_are_not_stored(options):
    rows = [penalty(1), penalty(2, **{"违法事实": "虚假\x00宣传"})]
    batch = ingest_file(csv_bytes(rows), options(file_name="nul.csv"))
    assert (batch.accepted, batch.rejected) == (1, 1)
    error = batch.errors.get()
    assert (error.row_no, error.code, error.field) == (2, "value_nul", "CF_SY")
    assert "\x00" not in error.message
    record = CreditRecord.objects.get()
    assert record.row_no == 1 and "\x00" not in record.data


def test_a_one_megabyte_field_rejects_the_row_and_its_stored_copy_is_cut(options):
    rows = [penalty(1, **{"违法事实": "违" * 1_000_000})]
    batch = ingest_file(csv_bytes(rows), options(file_name="big.csv"))
    assert batch.rejected == 1
    assert "value_too_large" in set(batch.errors.values_list("code", flat=True))
    stored = "".join(batch.errors.values_list("raw", flat=True))
    assert len(stored) < ingest_module.MAX_RAW_CHARS * 2


def test_ten_thousand_columns_are_refused(options):
    header = ",".join(f"c{i}" for i in range(10_000)).encode()
    batch = ingest_file(header + b"\n" + b"x," * 9_999 + b"x\n", options(file_name="wide.csv"))
    assert refused(batch) == "columns_too_many"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_files_are_refused_by_encoding(options, encoding):
    content = csv_bytes([penalty(1)]).decode().encode(encoding)
    batch = ingest_file(content, options(file_name="u.csv"))
    assert refused(batch) == "file_encoding"


def test_json_nested_100000_deep_is_a_clear_error_in_the_service(options):
    batch = ingest_file(deep_json(), options(file_name="deep.json"))
    assert refused(batch) == "json_too_deep"


def test_json_nested_100000_deep_is_a_clear_error_on_the_api_and_the_upload_page(
    reference, officer
):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token('SCJG', 's').key}")
    upload = io.BytesIO(deep_json())
    upload.name = "deep.json"
    response = api.post("/api/v1/batches/file", {"item": "CF", "file": upload})
    assert response.status_code == 202  # queued for the worker
    run_worker()
    job = api.get(response.json()["url"]).json()
    batch = api.get(f"/api/v1/batches/{job['batch']}").json()
    assert batch["status"] == "failed" and batch["error_code"] == "json_too_deep"

    client = client_for(officer)
    upload = io.BytesIO(deep_json())
    upload.name = "deep.json"
    item = CatalogItem.objects.get(code="CF").pk
    response = client.post("/backoffice/records/upload/", {"item": item, "file": upload})
    assert response.status_code == 302
    run_worker()
    page = client.get(response["Location"], follow=True).content.decode()
    assert "json_too_deep" in page


@pytest.mark.parametrize("depth", [10_000, 100_000])
@pytest.mark.parametrize("where", ["rows", "body"])
def test_a_json_body_nested_deep_is_json_too_deep_on_the_api(reference, caplog, depth, where):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token('SCJG', 's').key}")
    body = (
        b'{"item": "CF", "rows": ' + deep_json(depth) + b"}"
        if where == "rows"
        else deep_json(depth)
    )
    response = api.post("/api/v1/batches", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "json_too_deep",
        "message": json_too_deep().message,  # the file readers' message
        "field": "file",
    }
    assert "Recursion" not in caplog.text
    assert not IngestBatch.objects.exists()


def zip_declaring(size: int) -> bytes:
    """A zip whose directory declares a member of ``size`` bytes (content not written)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>")
    data = bytearray(out.getvalue())
    # Patch the central directory's uncompressed size (offset 24 in its entry).
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    return bytes(data)


def test_an_xlsx_declaring_a_huge_sheet_is_refused_before_reading(options, settings):
    batch = ingest_file(zip_declaring(3_000_000_000), options(file_name="bomb.xlsx"))
    assert refused(batch) == "file_too_large"
    assert f"{settings.INGEST_MAX_UNPACKED_MB} MB" in batch.error_message


def test_an_xlsx_that_unpacks_past_the_limit_is_refused(options, settings):
    settings.INGEST_MAX_UNPACKED_MB = 1
    row = "<row>" + "<c t='inlineStr'><is><t>x</t></is></c>" * 50 + "</row>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", row * 2_000)
    assert len(out.getvalue()) < 100_000
    batch = ingest_file(out.getvalue(), options(file_name="bomb.xlsx"))
    assert refused(batch) == "file_too_large" and "1 MB" in batch.error_message


def test_parser_messages_never_quote_the_row(options):
    content = csv_bytes([penalty(1)]) + f"{PERSON_ID},多,出,的,列,,,,,,,,,,,,,,,,,,,\n".encode()
    batch = ingest_file(content, options(file_name="ragged.csv"))
    assert refused(batch) == "file_unreadable" and PERSON_ID not in batch.error_message
