"""``sanctions_maintain`` closes the flood of tasks the old rule pushed for on-application
(and platform-applied) measures: with the stated reason, one audit row per task, nothing
deleted, standing tasks untouched, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Notification
from creditplus.sanctions.models import Measure, SanctionTask
from tests.sanctions.conftest import PROCUREMENT

pytestmark = pytest.mark.django_db


def old_task(case, code: str, department: str) -> SanctionTask:
    """A task as the old rule wrote it: every measure of the list, pushed with the entry."""
    measure = Measure.objects.get(code=code)
    return SanctionTask.objects.create(
        case=case,
        measure=measure,
        department=measure.departments.get(code=department),
        target="subject",
        target_name=case.subject.name,
        created_at=timezone.now(),
        due_on=timezone.localdate(),
    )


def test_the_maintenance_run_closes_the_old_on_application_tasks_with_the_reason(
    published, procurement_task, procurement_officer
):
    case = published.cases.get()
    flood = [old_task(case, PROCUREMENT, "CZJ"), old_task(case, "CJ-06", "SCJG")]
    platform = old_task(case, "CJ-41", "STHJ")  # applied by classification supervision
    standing = list(SanctionTask.objects.filter(case=case, origin="entry", status="pending"))
    standing = [t for t in standing if t.pk not in {f.pk for f in [*flood, platform]}]
    assert standing and all(t.measure.trigger == "standing" for t in standing)
    total = SanctionTask.objects.count()

    out = StringIO()
    call_command("sanctions_maintain", stdout=out)
    assert "关闭改为办理时核查触发或平台自动实施的任务 3 项" in out.getvalue()
    assert SanctionTask.objects.count() == total  # nothing deleted
    for task in flood:
        task.refresh_from_db()
        assert (task.status, task.outcome_note) == ("closed", "改为办理时核查触发")
        assert task.fed_back_at is None  # no feedback was given
        event = AuditEvent.objects.get(action="sanction.task.close", object_id=str(task.pk))
        assert event.purpose == "改为办理时核查触发" and event.after == {"status": "closed"}
        assert event.subject == published.subject.uscc
    platform.refresh_from_db()
    assert (platform.status, platform.outcome_note) == ("closed", "改由平台自动实施")
    # Standing tasks and the task the check triggered stay open.
    assert all(SanctionTask.objects.get(pk=t.pk).status == "pending" for t in standing)
    procurement_task.refresh_from_db()
    assert procurement_task.status == "pending"
    assert (
        Notification.objects.for_user(procurement_officer)
        .filter(body__contains="改为办理时核查触发")
        .exists()
    )
    # Idempotent: the next run closes nothing and writes no audit row for it.
    events = AuditEvent.objects.filter(action="sanction.task.close").count()
    call_command("sanctions_maintain", stdout=StringIO())
    assert AuditEvent.objects.filter(action="sanction.task.close").count() == events == 3
