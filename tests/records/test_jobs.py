"""Uploads run as background jobs (issue 16, finding 5) and big replacements from the upload
page wait for a confirmed preview (issue 26, item 13). The worker here is django-tasks' own
``db_worker`` run-once entry point; test_jobs_e2e.py runs it as a process beside a server."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from creditplus.accounts import services as accounts
from creditplus.accounts.models import AuditEvent
from creditplus.catalog.models import CatalogItem
from creditplus.records import jobs
from creditplus.records.models import CreditRecord, IngestBatch, UploadJob
from tests.conftest import client_for
from tests.records.files import csv_bytes, penalty
from tests.records.worker import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_var_dir(settings, tmp_path):
    """Each test's stored uploads in a directory of its own."""
    settings.VAR_DIR = tmp_path


@pytest.fixture
def scjg_system(reference):
    key = accounts.issue_token("SCJG", "执法办案系统").key
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def upload(rows: list[dict], name: str = "penalties.csv") -> io.BytesIO:
    buffer = io.BytesIO(csv_bytes(rows))
    buffer.name = name
    return buffer


def test_the_api_answers_202_with_a_job_to_poll_and_the_worker_ingests(scjg_system):
    response = scjg_system.post(
        "/api/v1/batches/file", {"item": "CF", "file": upload([penalty(1), penalty(2)])}
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["batch"] is None
    assert body["url"] == f"/api/v1/jobs/{body['job']}"
    assert not IngestBatch.objects.exists()  # nothing ingested inside the request

    run_worker()
    polled = scjg_system.get(body["url"]).json()
    assert polled["status"] == "done" and polled["error_code"] == ""
    batch = scjg_system.get(polled["batch_url"]).json()
    assert (batch["submitted"], batch["accepted"], batch["source"]) == (2, 2, "api")
    assert not list(jobs.job_dir().iterdir())  # the stored file is gone once ingested
    assert AuditEvent.objects.filter(action="ingest.job").count() == 1


def test_a_refused_file_ends_as_a_failed_batch_and_a_known_batch_id_answers_200(scjg_system):
    bad = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    bad.name = "scan.csv"
    job = scjg_system.post("/api/v1/batches/file", {"item": "CF", "file": bad}).json()
    run_worker()
    polled = scjg_system.get(job["url"]).json()
    assert polled["status"] == "done"
    assert scjg_system.get(polled["batch_url"]).json()["status"] == "failed"

    first = scjg_system.post(
        "/api/v1/batches/file", {"item": "CF", "batch_id": "F-1", "file": upload([penalty(1)])}
    )
    run_worker()
    again = scjg_system.post(
        "/api/v1/batches/file", {"item": "CF", "batch_id": "F-1", "file": upload([penalty(1)])}
    )
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["batch"] == scjg_system.get(first.json()["url"]).json()["batch"]


def test_jobs_are_scoped_to_the_department(scjg_system, other_officer):
    job = scjg_system.post("/api/v1/batches/file", {"item": "CF", "file": upload([penalty(1)])})
    url = job.json()["url"]
    assert client_for(other_officer).get(url).status_code == 404
    page = f"/backoffice/records/jobs/{job.json()['job']}/"
    assert client_for(other_officer).get(page).status_code == 404
    assert Client().get(url).status_code == 401


def test_the_upload_page_shows_the_job_then_the_batch(officer):
    client = client_for(officer)
    item = CatalogItem.objects.get(code="CF")
    response = client.post(
        "/backoffice/records/upload/", {"item": item.pk, "file": upload([penalty(1)])}
    )
    job = UploadJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    waiting = client.get(response["Location"]).content.decode()
    assert "排队中" in waiting and 'http-equiv="refresh"' in waiting
    run_worker()
    done = client.get(response["Location"])
    batch = IngestBatch.objects.get()
    assert done.status_code == 302 and done["Location"].endswith(f"/batches/{batch.pk}/")


def replace_many(client: Client, count: int) -> tuple[int, str]:
    """Upload ``count`` penalties, ingest them, then upload them again with a changed 处罚内容."""
    item = CatalogItem.objects.get(code="CF").pk
    rows = [penalty(n) for n in range(1, count + 1)]
    client.post("/backoffice/records/upload/", {"item": item, "file": upload(rows)})
    run_worker()
    changed = [{**row, "处罚内容": "罚款人民币拾万元"} for row in rows]
    response = client.post("/backoffice/records/upload/", {"item": item, "file": upload(changed)})
    run_worker()
    return UploadJob.objects.order_by("pk").last().pk, response["Location"]


def test_replacing_many_published_records_waits_for_a_confirmed_preview(officer):
    client = client_for(officer)
    job_id, location = replace_many(client, jobs.CONFIRM_UPDATES)
    job = UploadJob.objects.get(pk=job_id)
    assert job.status == "confirm" and IngestBatch.objects.count() == 1  # nothing written
    assert (job.preview["updated"], job.preview["accepted"]) == (jobs.CONFIRM_UPDATES, 0)
    sample = job.preview["sample"][0]
    assert sample["version"] == 2
    assert sample["fields"] == [
        {"field": "处罚内容", "old": "罚款人民币伍万元", "new": "罚款人民币拾万元"}
    ]
    page = client.get(location).content.decode()
    assert "确认归集" in page and "罚款人民币拾万元" in page

    client.post(f"/backoffice/records/jobs/{job_id}/decide/", {"action": "confirm"})
    run_worker()
    job.refresh_from_db()
    assert job.status == "done" and job.batch.updated == jobs.CONFIRM_UPDATES
    assert job.confirmed_by == officer.username
    assert CreditRecord.objects.filter(is_current=True, data__contains="拾万元").count() == (
        jobs.CONFIRM_UPDATES
    )
    assert AuditEvent.objects.filter(action="ingest.job_confirm").count() == 1


def test_a_cancelled_preview_writes_nothing_and_few_changes_need_no_preview(officer):
    client = client_for(officer)
    job_id, _ = replace_many(client, jobs.CONFIRM_UPDATES)
    client.post(f"/backoffice/records/jobs/{job_id}/decide/", {"action": "cancel"})
    assert UploadJob.objects.get(pk=job_id).status == "cancelled"
    assert IngestBatch.objects.count() == 1 and not list(jobs.job_dir().glob("*.upload"))
    # A second decision on the same job is refused.
    again = client.post(f"/backoffice/records/jobs/{job_id}/decide/", {"action": "confirm"})
    assert "job_not_waiting" in client.get(again["Location"]).content.decode()

    few = CatalogItem.objects.get(code="CF").pk
    rows = [{**penalty(n), "处罚内容": "警告"} for n in range(1, jobs.CONFIRM_UPDATES)]
    client.post("/backoffice/records/upload/", {"item": few, "file": upload(rows)})
    run_worker()
    last = UploadJob.objects.order_by("pk").last()
    assert last.status == "done" and last.batch.updated == jobs.CONFIRM_UPDATES - 1


def test_the_preview_writes_nothing_and_masks_natural_persons(reference):
    from creditplus.accounts.models import Department
    from creditplus.records.ingest import IngestOptions, ingest_file, preview_file
    from creditplus.records.models import CreditEvent
    from tests.records.files import PERSON_ID

    options = IngestOptions(
        item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
    )
    person = {
        "行政相对人名称": "王五",
        "行政相对人类别": "自然人",
        "统一社会信用代码": "",
        "证件类型": "身份证",
        "证件号码": PERSON_ID,
    }
    rows = [penalty(1, **person), penalty(2), penalty(3)]
    ingest_file(csv_bytes(rows), options)
    before = [m.objects.count() for m in (CreditRecord, CreditEvent, IngestBatch, AuditEvent)]
    changed = [{**r, "处罚内容": "警告"} for r in rows[:2]] + [penalty(4), penalty(5, 处罚类别="?")]
    preview = preview_file(csv_bytes(changed), options)
    assert [m.objects.count() for m in (CreditRecord, CreditEvent, IngestBatch, AuditEvent)] == (
        before
    )
    counts = {k: preview[k] for k in ("submitted", "accepted", "updated", "unchanged", "rejected")}
    assert counts == {"submitted": 4, "accepted": 1, "updated": 2, "unchanged": 0, "rejected": 1}
    assert [s["subject"] for s in preview["sample"]] == ["王*", "上海测试2号科技有限公司"]
    text = str(preview)
    assert "王五" not in text and PERSON_ID not in text
    # The real ingest of the same file gives the counts the preview announced.
    batch = ingest_file(csv_bytes(changed), options)
    assert (batch.accepted, batch.updated, batch.unchanged, batch.rejected) == (1, 2, 0, 1)
