"""Joint reward and punishment end to end: a subject enters the blacklist → tasks in the
right departments' inboxes → a procurement credit check returns the procurement measure →
the department's report closes its task → statistics count it; removal closes the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Notification
from creditplus.errors import DomainError, Forbidden
from creditplus.lists import restorations
from creditplus.lists.models import ListEntry
from creditplus.sanctions import checks, services
from creditplus.sanctions.models import Measure, SanctionCase, SanctionTask
from creditplus.subjects.models import Subject
from tests.sanctions.conftest import publish

pytestmark = pytest.mark.django_db


def test_measure_catalog_status_counts_match_the_source(reference):
    assert services.status_summary() == {
        "implemented": 5,
        "in_progress": 16,
        "coordination": 25,
        "not_started": 21,
    }
    assert Measure.objects.count() == 67


def test_blacklist_to_tasks_to_check_to_feedback_to_statistics(
    proposal, officer, procurement_officer
):
    Subject.objects.filter(pk=proposal.subject_id).update(legal_rep_name="张三")
    publish(proposal, officer)
    case = SanctionCase.objects.get(entry=proposal)
    tasks = SanctionTask.objects.filter(case=case)
    in_force = Measure.objects.in_force().filter(list_types__code="YZSX")
    assert set(tasks.values_list("measure__code", flat=True)) == set(
        in_force.values_list("code", flat=True)
    )
    # One task per implementing department and target (the subject, its legal representative).
    expected = sum(
        m.departments.count() * len(m.applies_to) for m in in_force.prefetch_related("departments")
    )
    assert tasks.count() == expected
    assert set(tasks.filter(target="legal_rep").values_list("target_name", flat=True)) <= {"张三"}
    czj_tasks = services.tasks_for(procurement_officer)
    assert czj_tasks.exists() and set(czj_tasks.values_list("department__code", flat=True)) == {
        "CZJ"
    }
    assert (
        Notification.objects.for_user(procurement_officer)
        .filter(title__contains="实施任务")
        .exists()
    )

    check = checks.check_subject(
        procurement_officer, proposal.subject.uscc, "ZFCG", "政府采购供应商资格审查"
    )
    assert [x["list_type"] for x in check.answer["lists"]] == ["YZSX"]
    procurement = [m for m in check.answer["measures"] if "政府采购" in m["name"]]
    assert procurement and procurement[0]["legal_basis"]
    assert AuditEvent.objects.filter(action="check.subject", object_id=str(check.pk)).exists()

    checks.report_use(
        check, procurement_officer, outcome="applied", document_no="沪浦财采〔2026〕1号"
    )
    closed = SanctionTask.objects.filter(credit_check=check)
    assert closed.exists() and set(closed.values_list("status", flat=True)) == {"applied"}
    stats = services.statistics(SanctionTask.objects.all())
    assert stats["totals"]["applied"] == closed.count()
    assert stats["totals"]["initiated"] == tasks.count()
    row = next(r for r in stats["by_department"] if r["department__code"] == "CZJ")
    assert row["applied"] >= 1


def test_departments_see_only_their_tasks_and_feed_back_only_their_own(
    proposal, officer, procurement_officer, other_officer
):
    publish(proposal, officer)
    task = services.tasks_for(procurement_officer).first()
    assert not services.tasks_for(other_officer).filter(pk=task.pk).exists()
    with pytest.raises(Forbidden):
        services.give_feedback(task, other_officer, outcome="not_applicable", note="不是我")
    with pytest.raises(DomainError) as excinfo:
        services.give_feedback(task, procurement_officer, outcome="applied")
    assert excinfo.value.code == "applied_needs_matter"
    services.give_feedback(task, procurement_officer, outcome="not_applicable", note="本期无采购")
    task.refresh_from_db()
    assert task.status == "not_applicable"


def test_removal_closes_open_tasks_and_restoration_stops_measures(
    proposal, officer, procurement_officer, enterprise
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    publish(proposal, officer, days_ago=400)
    ListEntry.objects.filter(pk=proposal.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    r = restorations.apply_restoration(
        enterprise,
        entry=proposal,
        statement="已整改",
        commitment_signed=True,
        files=[SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")],
    )
    restorations.accept_restoration(r, officer, accept=True)
    restorations.decide_restoration(r, officer, approve=True)
    case = SanctionCase.objects.get(entry=proposal)
    assert case.status == "closed" and "信用修复" in case.close_reason
    assert not SanctionTask.objects.filter(case=case, status="pending").exists()
    assert (
        Notification.objects.for_user(procurement_officer).filter(title__contains="已关闭").exists()
    )
    check = checks.check_subject(procurement_officer, proposal.subject.uscc, "ZFCG", "资格审查")
    assert check.answer["lists"] == [] and check.answer["measures"] == []


def test_bulk_check_of_many_identifiers(proposal, officer, procurement_officer):
    publish(proposal, officer)
    codes = [proposal.subject.uscc, "9144030071526726XG", "不是代码", "360426199101010071"]
    result = checks.check_many(procurement_officer, codes, "ZFCG", "投标人资格审查")
    assert result.checked == 4 and result.hits == 1
    assert [r["valid"] for r in result.rows] == [True, True, False, True]
    assert result.rows[3]["subject"] == "3604**********0071"  # never the clear ID
    assert AuditEvent.objects.filter(action="check.subject").count() == 4


def test_checks_need_a_department_credential(proposal, credit_office, window_clerk):
    for user in (credit_office, window_clerk):
        with pytest.raises(Forbidden):
            checks.check_subject(user, proposal.subject.uscc, "ZFCG", "核查")


def test_names_without_codes_match_exactly_or_offer_candidates(
    proposal, officer, procurement_officer
):
    publish(proposal, officer)
    name = proposal.subject.name  # 上海测试1号科技有限公司
    spaced = name[:4] + " " + name[4:]
    result = checks.check_many(
        procurement_officer, [spaced, "上海测试1号科技", "完全不存在的名称"], "ZFCG", "历史记录核查"
    )
    exact, partial, unknown = result.rows
    assert exact["match"] == "name" and exact["found"] and exact["lists"]
    assert partial["found"] is False and partial["lists"] == []
    assert partial["candidates"] == [{"code": proposal.subject.uscc, "name": name}]
    assert unknown["found"] is False and unknown["candidates"] == []
