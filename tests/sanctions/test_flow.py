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
from tests.factories import valid_uscc
from tests.sanctions.conftest import PROCUREMENT, publish

pytestmark = pytest.mark.django_db


def test_measure_catalog_status_counts_match_the_source(reference):
    assert services.status_summary() == {
        "implemented": 5,
        "in_progress": 16,
        "coordination": 25,
        "not_started": 21,
    }
    assert Measure.objects.count() == 67


def test_blacklist_to_standing_tasks_to_check_to_report_to_statistics(
    proposal, officer, procurement_officer
):
    """Acceptance: a subject enters the blacklist → only standing-measure tasks; a procurement
    check returns the procurement measure and creates its task; the department's report on the
    check closes it; statistics count both kinds."""
    Subject.objects.filter(pk=proposal.subject_id).update(legal_rep_name="张三")
    publish(proposal, officer)
    case = SanctionCase.objects.get(entry=proposal)
    tasks = SanctionTask.objects.filter(case=case)
    standing = Measure.objects.tasked_on_entry().filter(list_types__code="YZSX")
    assert set(tasks.values_list("measure__code", flat=True)) == set(
        standing.values_list("code", flat=True)
    )
    assert set(tasks.values_list("measure__trigger", flat=True)) == {"standing"}
    assert not tasks.filter(measure__code=PROCUREMENT).exists()
    # One task per implementing department and target (the subject, its legal representative).
    expected = sum(
        m.departments.count() * len(m.applies_to) for m in standing.prefetch_related("departments")
    )
    assert tasks.count() == expected > 0
    assert set(tasks.filter(target="legal_rep").values_list("target_name", flat=True)) <= {"张三"}
    assert not services.tasks_for(procurement_officer).exists()

    check = checks.check_subject(
        procurement_officer, proposal.subject.uscc, "ZFCG", "政府采购供应商资格审查"
    )
    assert [x["list_type"] for x in check.answer["lists"]] == ["YZSX"]
    assert check.answer["lists"][0]["required_by_matter"] is True
    procurement = [m for m in check.answer["measures"] if m["code"] == PROCUREMENT]
    assert procurement and procurement[0]["legal_basis"]
    assert procurement[0]["trigger"] == "on_application"
    [task] = services.tasks_for(procurement_officer)
    assert (task.measure.code, task.origin, task.status) == (PROCUREMENT, "check", "pending")
    assert task.credit_check == check and task.case == case and task.matter.code == "ZFCG"
    event = AuditEvent.objects.get(action="check.subject", object_id=str(check.pk))
    assert event.after["tasks"] == [PROCUREMENT]  # the check's one audit row covers its task

    checks.report_use(
        check, procurement_officer, outcome="applied", document_no="沪浦财采〔2026〕1号"
    )
    task.refresh_from_db()
    assert task.status == "applied" and task.document_no == "沪浦财采〔2026〕1号"
    stats = services.statistics(SanctionTask.objects.all())
    assert stats["totals"]["initiated"] == tasks.count() == expected + 1
    assert stats["totals"]["from_entries"] == expected and stats["totals"]["from_checks"] == 1
    assert stats["totals"]["applied"] == stats["totals"]["fed_back"] == 1
    row = next(r for r in stats["by_department"] if r["department__code"] == "CZJ")
    assert (row["initiated"], row["from_checks"], row["applied"]) == (1, 1, 1)
    by_measure = {r["measure__code"]: r for r in stats["by_measure"]}
    assert by_measure[PROCUREMENT]["measure__trigger"] == "on_application"
    assert {r["measure__trigger"] for r in stats["by_measure"]} == {"standing", "on_application"}


def test_a_report_that_the_measure_did_not_apply_is_the_tasks_feedback(
    procurement_task, procurement_officer
):
    check = procurement_task.credit_check
    checks.report_use(check, procurement_officer, outcome="not_applicable", note="未中标，未签约")
    procurement_task.refresh_from_db()
    assert procurement_task.status == "not_applicable"
    assert procurement_task.outcome_note == "未中标，未签约" and procurement_task.fed_back_at


def test_a_check_without_a_hit_or_by_another_matter_creates_no_task(published, procurement_officer):
    clean = Subject.objects.create(kind="legal", uscc=valid_uscc(5151), name="上海清白有限公司")
    checks.check_subject(procurement_officer, clean.uscc, "ZFCG", "资格审查")
    assert not SanctionTask.objects.filter(origin="check").exists()
    # 守信激励绿色通道 (LSTD) covers no punishment of the blacklist: no task either.
    checks.check_subject(procurement_officer, published.subject.uscc, "LSTD", "绿色通道")
    assert not SanctionTask.objects.filter(origin="check").exists()


def test_a_bulk_check_creates_the_tasks_of_its_hits(published, procurement_officer):
    codes = [published.subject.uscc, valid_uscc(6161), published.subject.uscc]
    result = checks.check_many(procurement_officer, codes, "ZFCG", "投标人资格审查")
    tasks = SanctionTask.objects.filter(origin="check")
    assert sorted(tasks.values_list("credit_check_id", flat=True)) == sorted(
        [result.rows[0]["check"], result.rows[2]["check"]]
    )
    assert set(tasks.values_list("measure__code", "department__code")) == {(PROCUREMENT, "CZJ")}


def test_departments_see_only_their_tasks_and_feed_back_only_their_own(
    procurement_task, procurement_officer, other_officer
):
    task = procurement_task
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
    checks.check_subject(procurement_officer, proposal.subject.uscc, "ZFCG", "资格审查")
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
