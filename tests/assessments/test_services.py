"""信用张江 services: questionnaires, conflicts between self and other answers, the grant
rules of tech finance (no grant, expired, revoked → refused; every access logged), the
matchmaking list and the numbered, verifiable 企业信用报告."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import AuditEvent
from creditplus.assessments import services
from creditplus.assessments.choices import AssessmentStatus
from creditplus.assessments.models import Assessment, GrantAccess
from creditplus.errors import DomainError, Forbidden
from creditplus.evaluation.models import Score
from creditplus.reports import services as reports
from creditplus.reports.choices import ReportKind
from tests.assessments.conftest import COMPANY, SELF_ANSWERS, pdf_file
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def other_answers(**changes: str) -> dict[str, str]:
    return {**SELF_ANSWERS, **changes}


def test_the_questionnaire_is_loaded_from_reference_data(reference):
    questionnaire = services.active_questionnaire()
    assert questionnaire.code == "ZJ-2026"
    sections = [s["code"] for s in questionnaire.sections]
    assert sections == ["governance", "finance", "innovation", "compliance", "social"]
    assert {q["type"] for q in questionnaire.questions()} == {"yesno", "choice", "number", "text"}


def test_conflicting_answers_of_self_and_other_are_flagged_per_question(enterprise, assessor):
    services.submit_self_assessment(enterprise, SELF_ANSWERS)
    company = services.subject_of(enterprise)
    services.submit_other_assessment(
        assessor,
        company,
        other_answers(
            G1="no",  # yes/no differ: conflict
            F1="1150",  # within 20%: no conflict
            R2="30",  # beyond 10%: conflict
            G3="基本健全",  # one step, tolerance 0: conflict
            S2="一般",  # one step, tolerance 1: no conflict
            S3="未说明",  # free text is never a conflict
        ),
    )
    found = services.conflicts(company)
    assert [c["question"] for c in found] == ["G1", "G3", "R2"]
    g1 = found[0]
    assert (g1["self_value"], g1["other_value"]) == ("是", "否")
    assert g1["assessor"] == "张江科学城园区管理办公室"
    assert g1["assessor_kind"] == "园区管理机构"


def test_no_conflicts_without_a_self_assessment(enterprise, assessor):
    company = services.subject_of(enterprise)
    services.submit_other_assessment(assessor, company, other_answers(G1="no"))
    assert services.conflicts(company) == []


def test_a_new_assessment_supersedes_the_previous_one_of_the_same_assessor(enterprise):
    first = services.submit_self_assessment(enterprise, SELF_ANSWERS)
    second = services.submit_self_assessment(enterprise, other_answers(G1="no"))
    first.refresh_from_db()
    assert first.status == AssessmentStatus.SUPERSEDED
    assert second.status == AssessmentStatus.SUBMITTED
    assert AuditEvent.objects.filter(action="assessment.submit").count() == 2


def test_answers_are_checked_against_the_questionnaire(enterprise):
    with pytest.raises(DomainError) as exc:
        services.submit_self_assessment(enterprise, other_answers(G1="maybe"))
    assert (exc.value.code, exc.value.field) == ("answer_invalid", "G1")
    with pytest.raises(DomainError) as exc:
        services.submit_self_assessment(enterprise, {**SELF_ANSWERS, "F1": ""})
    assert exc.value.code == "answer_required"
    with pytest.raises(DomainError) as exc:
        services.submit_self_assessment(enterprise, other_answers(F1="-5"))
    assert exc.value.code == "answer_invalid"
    with pytest.raises(DomainError) as exc:
        services.submit_self_assessment(enterprise, SELF_ANSWERS, {"G1": pdf_file("x.exe")})
    assert exc.value.code == "file_type"
    assert not Assessment.objects.exists()


def test_evidence_is_stored_privately_with_its_digest(enterprise):
    assessment = services.submit_self_assessment(enterprise, SELF_ANSWERS, {"F2": pdf_file()})
    answer = assessment.answers.get(question="F2")
    assert answer.evidence_name == "审计报告.pdf"
    assert len(answer.evidence_sha256) == 64
    assert answer.evidence.name.startswith("assessments/evidence/")
    assert "审计" not in answer.evidence.name


def test_other_assessments_need_the_role_and_an_institution(enterprise, company, reference):
    with pytest.raises(Forbidden):
        services.submit_other_assessment(enterprise, company, SELF_ANSWERS)
    unlinked = make_user("assessor", username="loose_assessor")
    with pytest.raises(Forbidden):
        services.submit_other_assessment(unlinked, company, SELF_ANSWERS)


def test_assessment_scope(enterprise, other_enterprise, assessor, banker, credit_office, company):
    own = services.submit_self_assessment(enterprise, SELF_ANSWERS)
    theirs = services.submit_self_assessment(other_enterprise, SELF_ANSWERS)
    by_park = services.submit_other_assessment(assessor, company, SELF_ANSWERS)
    assert set(services.assessments_for(enterprise)) == {own, by_park}
    assert set(services.assessments_for(other_enterprise)) == {theirs}
    assert set(services.assessments_for(assessor)) == {by_park}
    assert set(services.assessments_for(banker)) == set()
    assert set(services.assessments_for(credit_office)) == {own, theirs, by_park}


# --------------------------------------------------------------------------- grants


def grant_for(enterprise, bank, days: int = 30):
    return services.create_grant(
        enterprise, bank, "科技信贷授信审批", timezone.localdate() + timedelta(days=days)
    )


def test_an_institution_without_a_grant_is_refused_and_the_refusal_audited(
    company, banker, enterprise
):
    with pytest.raises(DomainError) as exc:
        services.access_report(banker, company)
    assert (exc.value.code, exc.value.status) == ("grant_required", 403)
    assert AuditEvent.objects.filter(action="grant.refused", subject=company.uscc).count() == 1
    assert not GrantAccess.objects.exists()


def test_a_grant_to_another_institution_does_not_open_the_report(
    company, enterprise, bank, other_banker
):
    grant_for(enterprise, bank)
    with pytest.raises(DomainError) as exc:
        services.access_report(other_banker, company)
    assert exc.value.code == "grant_required"


def test_an_expired_grant_is_refused(company, enterprise, bank, banker, time_machine):
    grant_for(enterprise, bank, days=10)
    services.access_report(banker, company)  # inside the grant
    time_machine.move_to(timezone.now() + timedelta(days=11))
    with pytest.raises(DomainError) as exc:
        services.access_report(banker, company)
    assert exc.value.code == "grant_expired"
    assert GrantAccess.objects.count() == 1


def test_the_last_day_of_a_grant_still_counts(company, enterprise, bank, banker, time_machine):
    grant_for(enterprise, bank, days=10)
    time_machine.move_to(timezone.now() + timedelta(days=10))
    services.access_report(banker, company)
    assert GrantAccess.objects.count() == 1


def test_a_revoked_grant_is_refused(company, enterprise, bank, banker):
    grant = grant_for(enterprise, bank)
    services.access_report(banker, company)
    services.revoke_grant(enterprise, grant.pk)
    with pytest.raises(DomainError) as exc:
        services.access_report(banker, company)
    assert exc.value.code == "grant_revoked"
    with pytest.raises(DomainError) as exc:
        services.revoke_grant(enterprise, grant.pk)
    assert exc.value.code == "grant_revoked"


def test_only_the_enterprise_itself_revokes_its_grant(company, enterprise, other_enterprise, bank):
    grant = grant_for(enterprise, bank)
    with pytest.raises(DomainError) as exc:
        services.revoke_grant(other_enterprise, grant.pk)
    assert exc.value.code == "not_found"


def test_every_access_is_logged_audited_and_visible_to_the_enterprise(
    company, enterprise, bank, banker
):
    grant = grant_for(enterprise, bank)
    _g, first = services.access_report(banker, company, "view")
    _g, second = services.access_report(banker, company, "download")
    assert first == second  # the same day's report is reused, not issued again
    log = list(services.own_accesses(company))
    assert [(a.action, a.user_name, a.report) for a in log] == [
        ("download", "上海张江科技银行经办人", first),
        ("view", "上海张江科技银行经办人", first),
    ]
    assert list(services.accesses_of(enterprise, grant.pk)) == log
    assert AuditEvent.objects.filter(action__in=["grant.view", "grant.download"]).count() == 2
    assert first.purpose == "科技信贷授信审批"
    assert first.requested_by == banker


def test_grant_periods_and_institutions_are_checked(company, enterprise, bank, park):
    today = timezone.localdate()
    cases = [
        (dict(institution=park, valid_until=today + timedelta(days=5)), "institution_invalid"),
        (dict(institution=bank, valid_until=today + timedelta(days=400)), "valid_until_too_far"),
        (
            dict(institution=bank, valid_until=today, valid_from=today - timedelta(days=1)),
            "valid_from_past",
        ),
        (
            dict(institution=bank, valid_from=today + timedelta(days=5), valid_until=today),
            "valid_until_before",
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises(DomainError) as exc:
            services.create_grant(enterprise, purpose="授信", **kwargs)
        assert exc.value.code == code


def test_a_grant_not_yet_started_is_refused(company, enterprise, bank, banker):
    today = timezone.localdate()
    services.create_grant(
        enterprise, bank, "授信", today + timedelta(days=20), today + timedelta(days=5)
    )
    with pytest.raises(DomainError) as exc:
        services.access_report(banker, company)
    assert exc.value.code == "grant_not_started"


def test_institutions_see_only_enterprises_with_grants_in_force(
    company, other_company, enterprise, other_enterprise, bank, banker, other_banker
):
    grant_for(enterprise, bank)
    revoked = grant_for(other_enterprise, bank)
    services.revoke_grant(other_enterprise, revoked.pk)
    assert [g.subject for g in services.granted_subjects(banker)] == [company]
    assert list(services.granted_subjects(other_banker)) == []
    assert set(services.grants_for(banker)) == set(
        services.grants_for(banker).filter(institution=bank)
    )
    assert list(services.grants_for(other_banker)) == []


# --------------------------------------------------------------------------- matchmaking


def test_matchmaking_lists_only_opted_in_enterprises_filtered_by_grade_and_industry(
    company, other_company, enterprise, other_enterprise, banker
):
    services.set_financing(enterprise, True, "研发贷 500 万元")
    services.set_financing(other_enterprise, True, "")
    Score.objects.filter(subject=other_company).update(grade="C")
    grade = Score.objects.get(subject=company).grade
    assert grade != "C"
    names = lambda qs: [p.subject.name for p in qs]  # noqa: E731
    assert names(services.matchmaking(banker)) == sorted([COMPANY, other_company.name])
    assert names(services.matchmaking(banker, grade="C")) == [other_company.name]
    assert names(services.matchmaking(banker, grade=grade)) == [COMPANY]
    assert names(services.matchmaking(banker, industry="集成电路")) == [other_company.name]
    services.set_financing(other_enterprise, False)
    assert names(services.matchmaking(banker)) == [COMPANY]


def test_matchmaking_needs_the_permission(company, enterprise, assessor):
    with pytest.raises(Forbidden):
        services.matchmaking(assessor)


# --------------------------------------------------------------------------- the report


def test_the_report_combines_public_information_grade_reasons_and_assessments(
    company, enterprise, assessor
):
    services.submit_self_assessment(enterprise, SELF_ANSWERS)
    services.submit_other_assessment(assessor, company, other_answers(C1="yes"))
    report = services.issue_own_report(enterprise, "科技信贷申请")
    content = report.content
    assert report.kind == ReportKind.ZHANGJIANG
    assert content["title"] == "企业信用报告"
    assert content["subject"]["name"] == COMPANY
    assert content["evaluation"]["shown"] is True
    assert content["evaluation"]["grade"] in "ABCD"
    assert content["self_assessment"]["kind"] == "self"
    assert [a["assessor"] for a in content["other_assessments"]] == ["张江科学城园区管理办公室"]
    assert [c["question"] for c in content["conflicts"]] == ["C1"]
    assert report.number.startswith("XYBG")


def test_the_report_verifies_and_a_tampered_code_fails(company, enterprise):
    report = services.issue_own_report(enterprise, "自查")
    code = reports.report_code(report)
    result = reports.verify(report.number, code)
    assert result.ok and result.subject == COMPANY
    assert result.kind_label == "企业信用报告（信用张江）"
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert not reports.verify(report.number, tampered).ok


def test_reports_of_other_kinds_stay_out_of_the_public_report_list(company, enterprise):
    services.issue_own_report(enterprise, "自查")
    assert not reports.own_reports(company).exists()
    assert services.own_reports(company).count() == 1
