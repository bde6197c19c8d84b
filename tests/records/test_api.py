"""Ingest API and pages: department scope, error shape, rejected-rows download."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from creditplus.accounts import services as accounts
from creditplus.records.models import CreditRecord, IngestBatch
from tests.conftest import client_for
from tests.permissions import Protected, check
from tests.records.files import csv_bytes, penalty
from tests.records.worker import run_worker

pytestmark = pytest.mark.django_db


def bearer(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def scjg_system(reference):
    return bearer(accounts.issue_token("SCJG", "执法办案系统").key)


def test_a_department_system_pushes_json_rows(scjg_system):
    response = scjg_system.post(
        "/api/v1/batches",
        data=json.dumps(
            {
                "item": "CF",
                "batch_id": "B-1",
                "rows": [penalty(1), penalty(2, **{"处罚类别": "罚没"})],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["submitted"], body["accepted"], body["rejected"], body["department"]) == (
        2,
        1,
        1,
        "SCJG",
    )
    errors = scjg_system.get(f"/api/v1/batches/{body['batch']}/errors").json()
    assert errors == [
        {"row_no": 2, "field": "CF_CFLB", "code": "code_unknown", "message": errors[0]["message"]}
    ]
    again = scjg_system.post(
        "/api/v1/batches",
        data=json.dumps({"item": "CF", "batch_id": "B-1", "rows": [penalty(1)]}),
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["batch"] == body["batch"]


def test_a_department_system_uploads_a_file(scjg_system):
    upload = io.BytesIO(csv_bytes([penalty(1)], "gbk"))
    upload.name = "penalties.csv"
    response = scjg_system.post("/api/v1/batches/file", {"item": "CF", "file": upload})
    assert response.status_code == 202, response.content
    run_worker()
    job = scjg_system.get(response.json()["url"]).json()
    assert scjg_system.get(job["batch_url"]).json()["accepted"] == 1


def test_bad_json_gets_the_error_shape(scjg_system):
    response = scjg_system.post(
        "/api/v1/batches",
        data=json.dumps({"item": "CF", "rows": []}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input" and response.json()["field"] == "rows"


def test_unknown_item_is_a_404_in_the_error_shape(scjg_system):
    response = scjg_system.post(
        "/api/v1/batches",
        data=json.dumps({"item": "NOPE", "rows": [{}]}),
        content_type="application/json",
    )
    assert response.status_code == 404 and response.json()["code"] == "item_unknown"


def test_rejected_rows_download_has_the_reason_column(officer):
    client = client_for(officer)
    upload = io.BytesIO(csv_bytes([penalty(1), penalty(2, **{"罚款金额(万元)": "-3"})]))
    upload.name = "p.csv"
    response = client.post(
        "/backoffice/records/upload/",
        {
            "item": CreditRecord._meta.get_field("item").related_model.objects.get(code="CF").pk,
            "file": upload,
        },
    )
    run_worker()
    batch = IngestBatch.objects.get()
    job = client.get(response["Location"])
    assert job.status_code == 302 and job["Location"].endswith(f"/batches/{batch.pk}/")
    page = client.get(job["Location"]).content.decode()
    assert "amount_negative" in page and "核对" in page
    body = client.get(f"/backoffice/records/batches/{batch.pk}/rejected.csv").content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "数据行号" and rows[0][-1] == "错误原因"
    assert (
        rows[1][0] == "2"
        and rows[1][-1].endswith("（错误代码：amount_negative）")  # the sentence leads
        and "上海测试2号科技有限公司" in rows[1]
    )


@pytest.fixture
def personas(officer, other_officer, window_clerk, bank_user, credit_office):
    return {
        "officer": officer,
        "other_officer": other_officer,
        "window_clerk": window_clerk,
        "bank_user": bank_user,
        "credit_office": credit_office,
    }


@pytest.fixture
def scjg_batch(reference):
    from creditplus.accounts.models import Department
    from creditplus.catalog.models import CatalogItem
    from creditplus.records.ingest import IngestOptions, ingest_rows

    return ingest_rows(
        [penalty(1)],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )


CASES = [
    Protected(
        "upload page",
        "GET",
        lambda o: "/backoffice/records/upload/",
        "officer",
        denied=["window_clerk", "bank_user"],
    ),
    Protected(
        "batch list page",
        "GET",
        lambda o: "/backoffice/records/batches/",
        "officer",
        denied=["window_clerk", "bank_user"],
    ),
    Protected(
        "batch page",
        "GET",
        lambda o: f"/backoffice/records/batches/{o['batch'].pk}/",
        "officer",
        denied=["window_clerk"],
        other_department="other_officer",
    ),
    Protected(
        "rejected rows",
        "GET",
        lambda o: f"/backoffice/records/batches/{o['batch'].pk}/rejected.csv",
        "officer",
        denied=["window_clerk"],
        other_department="other_officer",
    ),
    Protected(
        "quality page",
        "GET",
        lambda o: "/backoffice/records/quality/",
        "officer",
        denied=["bank_user"],
    ),
    Protected(
        "batch API",
        "GET",
        lambda o: f"/api/v1/batches/{o['batch'].pk}",
        "officer",
        denied=["window_clerk"],
        other_department="other_officer",
        api=True,
    ),
    Protected(
        "batch errors API",
        "GET",
        lambda o: f"/api/v1/batches/{o['batch'].pk}/errors",
        "officer",
        denied=["window_clerk"],
        other_department="other_officer",
        api=True,
    ),
    Protected(
        "retract API",
        "POST",
        lambda o: f"/api/v1/records/{o['record'].pk}/retract",
        "officer",
        denied=["window_clerk", "bank_user"],
        other_department="other_officer",
        api=True,
        data={"reason": "决定已撤销"},
    ),
    Protected(
        "upload job page",
        "GET",
        lambda o: f"/backoffice/records/jobs/{o['job'].pk}/",
        "officer",
        denied=["window_clerk"],
        other_department="other_officer",
    ),
    Protected(
        "upload job decision",
        "POST",
        lambda o: f"/backoffice/records/jobs/{o['job'].pk}/decide/",
        "officer",
        denied=["window_clerk", "bank_user"],
        other_department="other_officer",
        data={"action": "cancel"},
    ),
    Protected(
        "upload job API",
        "GET",
        lambda o: f"/api/v1/jobs/{o['job'].pk}",
        "officer",
        denied=["window_clerk"],
        other_department="other_officer",
        api=True,
    ),
    Protected(
        "quality API", "GET", lambda o: "/api/v1/quality", "officer", denied=["bank_user"], api=True
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_permission_matrix(case, personas, scjg_batch, settings, tmp_path):
    from creditplus.records import jobs
    from creditplus.records.ingest import IngestOptions

    settings.VAR_DIR = tmp_path
    job = jobs.submit_upload(
        csv_bytes([penalty(3)]),
        IngestOptions(item=scjg_batch.item, department=scjg_batch.department, file_name="p.csv"),
    )
    objects = {
        "batch": scjg_batch,
        "record": CreditRecord.objects.get(batch=scjg_batch),
        "job": job,
    }
    check(case, personas, objects)


def test_officers_list_only_their_own_batches(officer, other_officer, scjg_batch):
    assert [b["batch"] for b in client_for(officer).get("/api/v1/batches").json()] == [
        scjg_batch.pk
    ]
    assert client_for(other_officer).get("/api/v1/batches").json() == []
    assert (
        f"#{scjg_batch.pk}"
        not in client_for(other_officer).get("/backoffice/records/batches/").content.decode()
    )


def test_an_officer_cannot_ingest_into_another_departments_item(other_officer, reference):
    from creditplus.catalog.models import CatalogItem

    item = CatalogItem.objects.get(code="CF")
    item.all_departments = False
    item.save()
    item.providers.set([officer_dept := item.providers.model.objects.get(code="SCJG")])
    assert officer_dept.code == "SCJG"
    upload = io.BytesIO(csv_bytes([penalty(1)]))
    upload.name = "p.csv"
    response = client_for(other_officer).post(
        "/backoffice/records/upload/", {"item": item.pk, "file": upload}
    )
    assert (
        response.status_code == 200 and IngestBatch.objects.count() == 0
    )  # not offered: form error
    api = client_for(other_officer).post(
        "/api/v1/batches",
        data=json.dumps({"item": "CF", "rows": [penalty(1)]}),
        content_type="application/json",
    )
    assert api.status_code == 403 and api.json()["code"] == "item_not_provided"
