"""The health report: a consumer that is behind, and a job that has stopped, are 警告; the
page, the command and /healthz?deep=1 show the same report, to those who may see it."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Department, JobRun
from creditplus.catalog.models import CatalogItem
from creditplus.operations import doctor
from creditplus.operations.schedule import SCHEDULE, job
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import ConsumerCursor, CreditEvent, DeferredIndex
from tests.conftest import client_for
from tests.permissions import Protected, check
from tests.records.files import penalty

pytestmark = pytest.mark.django_db


def finding(report: doctor.Report, area: str) -> doctor.Finding:
    return next(f for f in report.findings if f.area == area)


def all_jobs_ran(at, ok: bool = True) -> None:
    for j in SCHEDULE:
        JobRun.objects.create(name=j.name, started_at=at, seconds=1.5, ok=ok, summary="完成")


def serious_penalty_event() -> CreditEvent:
    row = penalty(
        1,
        **{
            "处罚类别": "吊销许可证件",
            "罚款金额(万元)": "",
            "暂扣或吊销证照名称及编号": "许可证 1",
        },
    )
    ingest_rows(
        [row],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    return CreditEvent.objects.get()


def test_a_consumer_that_is_behind_is_a_warning(reference):
    event = serious_penalty_event()
    ConsumerCursor.objects.update_or_create(name="lists", defaults={"last_event_id": 0})
    now = timezone.now()
    fresh = finding(doctor.report(now), "consumer:lists")
    assert fresh.status == doctor.Status.OK and fresh.figures["unread"] == 1

    CreditEvent.objects.filter(pk=event.pk).update(created_at=now - timedelta(hours=1))
    behind = finding(doctor.report(now), "consumer:lists")
    assert behind.status == doctor.Status.WARNING
    assert "1 条事件尚未处理" in behind.explanation and "60 分钟前" in behind.explanation

    event.refresh_from_db()
    ConsumerCursor.objects.filter(name="lists").update(last_tx=event.tx, last_event_id=event.pk)
    assert finding(doctor.report(now), "consumer:lists").status == doctor.Status.OK


def test_a_bulk_load_that_left_its_indexes_dropped_is_a_warning(reference):
    from creditplus.records.bulkload import drop_deferred_indexes, restore_indexes

    now = timezone.now()
    assert finding(doctor.report(now), "bulk_load").status == doctor.Status.OK
    drop_deferred_indexes()  # as a load killed before its last file does
    DeferredIndex.objects.update(dropped_at=now - timedelta(minutes=90))
    unfinished = finding(doctor.report(now), "bulk_load")
    assert unfinished.status == doctor.Status.WARNING
    assert unfinished.figures["deferred_indexes"] == 3
    assert "90 分钟前" in unfinished.explanation
    assert "creditplus load --restore-indexes" in unfinished.explanation
    restore_indexes()
    assert finding(doctor.report(now), "bulk_load").status == doctor.Status.OK


def test_a_job_not_run_for_twice_its_interval_is_a_warning(reference):
    now = timezone.now()
    all_jobs_ran(now - timedelta(minutes=1))
    report = doctor.report(now)
    assert {f.status for f in report.findings if f.area.startswith("job:")} == {doctor.Status.OK}

    hourly = job("lists_maintain")
    JobRun.objects.filter(name=hourly.name).update(
        started_at=now - 2 * hourly.interval - timedelta(minutes=1)
    )
    stale = finding(doctor.report(now), "job:lists_maintain")
    assert stale.status == doctor.Status.WARNING
    assert "已超过两个周期没有成功运行" in stale.explanation
    # Within twice its interval a late run is still fine.
    JobRun.objects.filter(name=hourly.name).update(started_at=now - 2 * hourly.interval)
    assert finding(doctor.report(now), "job:lists_maintain").status == doctor.Status.OK


def test_a_failed_run_and_a_never_run_job_are_warnings(reference):
    now = timezone.now()
    all_jobs_ran(now - timedelta(minutes=1))
    JobRun.objects.create(name="backup", started_at=now, ok=False, error="OSError: 磁盘已满")
    failed = finding(doctor.report(now), "job:backup")
    assert failed.status == doctor.Status.WARNING and "磁盘已满" in failed.explanation
    JobRun.objects.filter(name="opendata_publish").delete()
    never = finding(doctor.report(now), "job:opendata_publish")
    assert never.status == doctor.Status.WARNING and "从未成功运行" in never.explanation


def test_the_audit_chain_is_reported_with_its_last_verification(reference):
    assert finding(doctor.report(), "audit").status == doctor.Status.WARNING  # never verified
    call_command("audit", "verify", stdout=StringIO())
    verified = finding(doctor.report(), "audit")
    assert verified.status == doctor.Status.OK
    assert verified.figures["head"] == AuditEvent.objects.order_by("-id").first().hash


def test_the_command_prints_every_finding_and_records_its_run(reference):
    out = StringIO()
    call_command("doctor", stdout=out)
    text = out.getvalue()
    assert (
        "[正常] 数据库" in text
        and "定时任务" in text
        and text.rstrip().splitlines()[-1].startswith("总体：")
    )
    run = JobRun.objects.get(name="doctor")
    assert run.ok and run.figures["database_bytes"] > 0 and run.summary.startswith("总体：")
    out = StringIO()
    call_command("doctor", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["status"] == "warning" and any(f["area"] == "disk" for f in data["findings"])


def test_the_health_page_is_for_the_platform_administrator(
    reference, platform_admin, officer, credit_office, bank_user
):
    personas = {
        "platform_admin": platform_admin,
        "officer": officer,
        "credit_office": credit_office,
        "bank_user": bank_user,
    }
    case = Protected(
        "health page",
        "GET",
        lambda o: "/backoffice/operations/health/",
        "platform_admin",
        denied=["officer", "credit_office", "bank_user"],
    )
    check(case, personas, {})
    page = client_for(platform_admin).get("/backoffice/operations/health/")
    html = page.content.decode()
    assert (
        "运行状况" in html
        and 'data-area="consumer:lists"' in html
        and "creditplus lists_maintain" in html
    )
    assert AuditEvent.objects.filter(action="health.view").exists()


def test_deep_healthz_needs_the_token_or_the_administrator(
    reference, platform_admin, officer, settings
):
    settings.CREDITPLUS_HEALTH_TOKEN = "t" * 40
    anonymous = client_for(None)
    assert anonymous.get("/healthz").json()["status"] == "ok"
    assert anonymous.get("/healthz?deep=1").status_code == 403
    assert anonymous.get("/healthz?deep=1", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client_for(officer).get("/healthz?deep=1").status_code == 403
    deep = anonymous.get("/healthz?deep=1", HTTP_AUTHORIZATION="Bearer " + "t" * 40)
    assert deep.status_code == 200 and {"status", "findings"} <= set(deep.json())
    assert AuditEvent.objects.filter(
        action="health.view", actor_name="monitor:health-token"
    ).exists()
    assert client_for(platform_admin).get("/healthz?deep=1").status_code == 200


def test_an_expired_certificate_is_an_error(tmp_path):
    from tests.operations.certs import self_signed

    now = timezone.now().replace(microsecond=0)  # certificates keep whole seconds
    path = tmp_path / "cert.pem"
    path.write_bytes(self_signed(now - timedelta(days=400), now - timedelta(days=1)))
    assert doctor.certificate(path, now).status == doctor.Status.ERROR
    path.write_bytes(self_signed(now - timedelta(days=300), now + timedelta(days=10)))
    soon = doctor.certificate(path, now)
    assert soon.status == doctor.Status.WARNING and "还有 10 天" in soon.explanation
    path.write_bytes(self_signed(now, now + timedelta(days=200)))
    assert doctor.certificate(path, now).status == doctor.Status.OK
