"""The report services: content by disclosure, issuance with number and verification code,
verification, the authorization rule of personal reports, identifiers, and the audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from creditplus.accounts import audit
from creditplus.accounts.models import AuditEvent
from creditplus.catalog.models import CatalogItem
from creditplus.errors import DomainError, Forbidden
from creditplus.reports import services
from creditplus.reports.choices import ReportChannel, ReportKind
from creditplus.reports.models import CreditReport, PersonalAuthorization
from creditplus.subjects.models import Subject
from tests.factories import make_user
from tests.lists.fixtures import ingest_penalty
from tests.records.files import PERSON_ID
from tests.reports.conftest import PERSON_NAME, SBQF_NO, WARNING_NO, authorization_file

pytestmark = pytest.mark.django_db


def window_report(subject, clerk, purpose="招投标"):
    return services.issue_enterprise_report(
        subject, clerk, ReportChannel.WINDOW, purpose, license_checked=True
    )


def authorize(clerk, **overrides) -> PersonalAuthorization:
    data = {
        "id_number": PERSON_ID,
        "name": PERSON_NAME,
        "id_verification": "id_card",
        "authorizer": "self",
        "file": authorization_file(),
        "purpose": "申请公租房",
    }
    data.update(overrides)
    return services.record_authorization(clerk, **data)


def record_keys(content) -> set[str]:
    return {r["key"] for s in content["sections"] for r in s["records"]}


# --------------------------------------------------------------------------- content


def test_enterprise_report_shows_identity_public_records_lists_commitments_and_grade(
    company, clerk
):
    report = window_report(company, clerk)
    content = report.content
    assert content["subject"]["name"] == "上海测试1号科技有限公司"
    assert content["subject"]["code"] == company.uscc
    sections = {s["item"]: s for s in content["sections"]}
    assert set(sections) == {"CF"}  # DJ etc. not supplied; SBQF is government-only
    (revocation,) = sections["CF"]["records"]
    labels = {f["label"]: f["value"] for f in revocation["fields"]}
    assert labels["处罚类别"] == "吊销许可证件"
    assert labels["行政处罚决定书文号"] == "沪浦市监处〔2025〕1号"
    assert "法定代表人证件号码" not in labels  # personal fields are never shown
    assert revocation["department"] == "区市场监管局"
    assert [e["list"] for e in content["lists"]] == ["严重失信主体名单"]
    assert content["lists"][0]["status"] == "公示中"
    (commitment,) = content["commitments"]
    assert commitment["number"].startswith("310115")
    assert content["grade"]["shown"] is True and content["grade"]["grade"] == "D"
    assert content["record_total"] == 1


def test_enterprise_report_never_shows_minor_or_government_only_records(company, clerk):
    # Even if an administrator marks the government-only item as published, its disclosure
    # level (政务共享) keeps it out of reports.
    item = CatalogItem.objects.get(code="SBQF")
    item.definition = {**item.definition, "publicity": {"published": True}}
    item.save()
    keys = record_keys(window_report(company, clerk).content)
    assert not any(WARNING_NO in k for k in keys)
    assert not any(SBQF_NO in k for k in keys)


def test_grade_is_left_out_when_the_setting_forbids_it(company, clerk, settings):
    settings.CREDITPLUS_REPORT_SHOWS_GRADE = False
    grade = window_report(company, clerk).content["grade"]
    assert grade["shown"] is False and "grade" not in grade


def test_restored_records_leave_the_report(company, clerk):
    from creditplus.records.models import CreditEvent

    CreditEvent.objects.filter(subject=company).update(status="restored")
    assert window_report(company, clerk).content["sections"] == []


# --------------------------------------------------------------------------- numbers, codes


def test_reports_get_sequential_readable_numbers_and_short_unambiguous_codes(company, clerk):
    first, second = window_report(company, clerk), window_report(company, clerk)
    today = timezone.localdate()
    assert first.number == f"XYBG{today:%Y%m%d}000001"
    assert second.number == f"XYBG{today:%Y%m%d}000002"
    code = services.report_code(first)
    assert len(code) == 10 and set(code) <= set(services.CODE_ALPHABET)
    assert not set(code) & set("01IOL")
    assert code != services.report_code(second)
    assert first.content_sha256 == services.content_digest(first.content)
    # The code is not stored anywhere in the row.
    row = CreditReport.objects.filter(pk=first.pk).values().get()
    assert code not in repr(row)


def test_verification_confirms_a_report_and_refuses_a_tampered_code(company, clerk):
    report = window_report(company, clerk)
    code = services.report_code(report)
    ok = services.verify(report.number, code.lower()[:5] + "-" + code[5:])
    assert ok.ok and ok.subject == "上海测试1号科技有限公司"
    assert ok.kind == ReportKind.ENTERPRISE and ok.issued_at == report.issued_at
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    bad = services.verify(report.number, tampered)
    assert not bad.ok and bad.reason == "code_mismatch" and bad.subject == ""
    unknown = services.verify("XYBG19990101000001", code)
    assert not unknown.ok and unknown.reason == "unknown_number"


def test_a_report_whose_stored_content_was_altered_no_longer_verifies(company, clerk):
    report = window_report(company, clerk)
    code = services.report_code(report)
    content = dict(report.content, record_total=0)
    CreditReport.objects.filter(pk=report.pk).update(content=content)
    assert not services.verify(report.number, code).ok
    CreditReport.objects.filter(pk=report.pk).update(
        content=content, content_sha256=services.content_digest(content)
    )
    assert not services.verify(report.number, code).ok  # the code binds the old digest


# --------------------------------------------------------------------------- enterprise rules


def test_window_reports_need_the_license_check_and_a_purpose(company, clerk):
    with pytest.raises(DomainError) as no_license:
        services.issue_enterprise_report(company, clerk, ReportChannel.WINDOW, "招投标")
    assert no_license.value.code == "license_not_checked"
    with pytest.raises(DomainError) as no_purpose:
        services.issue_enterprise_report(company, clerk, ReportChannel.WINDOW, " ", True)
    assert no_purpose.value.code == "purpose_required"
    assert not CreditReport.objects.exists()


def test_online_reports_only_for_the_own_bound_subject(company, enterprise, clerk):
    other = ingest_penalty(2).subject
    with pytest.raises(Forbidden):
        services.issue_enterprise_report(other, enterprise, ReportChannel.ONLINE, "自查")
    with pytest.raises(Forbidden):  # a clerk cannot use the online channel
        services.issue_enterprise_report(company, clerk, ReportChannel.ONLINE, "自查")
    report = services.issue_enterprise_report(company, enterprise, ReportChannel.ONLINE, "自查")
    assert report.channel == ReportChannel.ONLINE and report.department is None


def test_a_department_officer_may_not_issue_reports(company, officer):
    with pytest.raises(Forbidden):
        window_report(company, officer)


# --------------------------------------------------------------------------- personal reports


def test_no_personal_report_without_a_recorded_authorization(person_penalty, clerk):
    with pytest.raises(DomainError) as missing:
        services.issue_personal_report(None, clerk, "申请公租房")
    assert missing.value.code == "authorization_required"
    unsaved = PersonalAuthorization(subject=Subject.objects.get(name=PERSON_NAME))
    with pytest.raises(DomainError) as unrecorded:
        services.issue_personal_report(unsaved, clerk, "申请公租房")
    assert unrecorded.value.code == "authorization_required"
    assert not CreditReport.objects.exists()


def test_the_database_refuses_a_personal_report_without_authorization(person_penalty, clerk):
    person = Subject.objects.get(name=PERSON_NAME)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditReport.objects.create(
            number="XYBG20260101999999",
            kind=ReportKind.PERSONAL,
            subject=person,
            subject_label="王**",
            channel=ReportChannel.WINDOW,
            purpose="x",
            requested_by=clerk,
            requested_by_name=clerk.username,
            issuer="x",
            content={},
            content_sha256="0" * 64,
            issued_at=timezone.now(),
        )


def test_an_expired_authorization_is_refused(person_penalty, clerk, time_machine):
    authorization = authorize(clerk, valid_until=timezone.localdate() + timedelta(days=3))
    time_machine.move_to(timezone.now() + timedelta(days=5))
    with pytest.raises(DomainError) as expired:
        services.issue_personal_report(authorization, clerk, "申请公租房")
    assert expired.value.code == "authorization_required"
    assert "过期" in str(expired.value.message)


def test_an_authorization_of_another_person_is_refused(person_penalty, clerk, company):
    authorization = authorize(clerk)
    with pytest.raises(DomainError) as mismatch:
        services.issue_personal_report(authorization, clerk, "x", subject=company)
    assert mismatch.value.code == "authorization_required"


def test_an_authorization_recorded_at_another_window_is_not_usable(
    person_penalty, clerk, other_clerk
):
    from creditplus.errors import NotFound

    authorization = authorize(clerk)
    with pytest.raises(NotFound):
        services.issue_personal_report(authorization, other_clerk, "x")


def test_personal_report_with_authorization_shows_own_records_and_the_central_bank_slot(
    person_penalty, clerk
):
    authorization = authorize(clerk)
    report = services.issue_personal_report(authorization, clerk, "申请公租房")
    content = report.content
    assert report.kind == ReportKind.PERSONAL and report.authorization == authorization
    assert content["subject"]["name"] == PERSON_NAME
    assert content["subject"]["code"] == "3604**********0071"
    assert PERSON_ID not in str(content)
    assert content["sections"][0]["disclosure"] == "授权查询"  # never "public" for a person
    (fine,) = content["sections"][0]["records"]
    assert {f["label"]: f["value"] for f in fine["fields"]}["违法行为类型"] == "无照经营"
    assert content["financial"]["status"] == "请至征信中心查询"
    assert "征信中心" in content["financial"]["instructions"]
    assert content["authorization"]["number"] == authorization.number
    assert content["grade"] is None and content["commitments"] == []
    verified = services.verify(report.number, services.report_code(report))
    assert verified.ok and verified.subject == "王**"


def test_an_agent_needs_a_name_and_a_valid_id_number_which_is_kept_masked(person_penalty, clerk):
    with pytest.raises(DomainError) as no_agent:
        authorize(clerk, authorizer="agent")
    assert no_agent.value.code == "agent_required"
    with pytest.raises(DomainError) as bad_agent_id:
        authorize(
            clerk, authorizer="agent", agent_name="李四", agent_id_number="36042619910102009X"
        )
    assert bad_agent_id.value.code == "invalid_id_number"
    assert bad_agent_id.value.field == "agent_id_number"
    authorization = authorize(
        clerk, authorizer="agent", agent_name="李四", agent_id_number="44011320141005001X"
    )
    assert authorization.agent_id_masked == "4401**********001X"
    assert "44011320141005001X" not in authorization.agent_id_cipher
    report = services.issue_personal_report(authorization, clerk)
    assert report.content["authorization"]["agent"] == "李*"


@pytest.mark.parametrize(
    "number", ["36042619910102009X", "360426199113010079", "3604261991010100", "ABC"]
)
def test_invalid_id_numbers_are_refused_with_a_stable_code(reference, clerk, number):
    with pytest.raises(DomainError) as refused:
        authorize(clerk, id_number=number)
    assert refused.value.code == "invalid_id_number"
    assert refused.value.field == "id_number"
    assert "居民身份证号码" in str(refused.value.message)
    assert not PersonalAuthorization.objects.exists()


def test_a_name_that_does_not_match_the_registry_is_refused(person_penalty, clerk):
    with pytest.raises(DomainError) as refused:
        authorize(clerk, name="王大明")
    assert refused.value.code == "identity_mismatch"


def test_a_person_unknown_to_the_registry_gets_a_report_saying_nothing_was_found(reference, clerk):
    authorization = authorize(clerk, id_number="44011320141005001X", name="陈晓")
    assert authorization.subject.is_person and authorization.subject.name == "陈晓"
    report = services.issue_personal_report(authorization, clerk)
    assert report.content["sections"] == [] and report.content["record_total"] == 0


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("a.exe", b"MZ", "file_type"),
        ("a.pdf", b"GIF89a", "file_type"),
        ("a.png", b"", "file_empty"),
        ("a.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), "file_too_large"),
    ],
)
def test_authorization_files_are_checked(person_penalty, clerk, name, content, code):
    with pytest.raises(DomainError) as refused:
        authorize(clerk, file=authorization_file(name, content))
    assert refused.value.code == code


def test_expiry_dates_in_the_past_or_too_far_are_refused(person_penalty, clerk):
    today = timezone.localdate()
    for days, code in ((-1, "valid_until_past"), (400, "valid_until_too_far")):
        with pytest.raises(DomainError) as refused:
            authorize(clerk, valid_until=today + timedelta(days=days))
        assert refused.value.code == code


# --------------------------------------------------------------------------- audit


def test_issuing_and_authorizing_write_one_audit_row_each_with_purpose(person_penalty, clerk):
    before = AuditEvent.objects.count()
    with audit.audit_context(audit.context_for_user(clerk)):
        authorization = authorize(clerk)
        assert AuditEvent.objects.count() == before + 1
        report = services.issue_personal_report(authorization, clerk, "申请公租房")
    assert AuditEvent.objects.count() == before + 2
    recorded = AuditEvent.objects.get(action="authorization.record")
    assert recorded.purpose == "申请公租房" and recorded.subject == "3604**********0071"
    assert recorded.actor_name == clerk.username and recorded.department == "FGW"
    assert PERSON_ID not in str(recorded.after)
    issued = AuditEvent.objects.get(action="report.issue")
    assert issued.object_id == str(report.pk) and issued.purpose == "申请公租房"
    assert issued.actor_name == clerk.username
    assert issued.after["number"] == report.number
    assert issued.after["authorization"] == authorization.number


def test_personal_authorizations_need_the_permission(person_penalty, officer):
    with pytest.raises(Forbidden):
        authorize(officer)
    window_clerk_without_dept = make_user("window_clerk", username="w2")
    assert authorize(window_clerk_without_dept).department is None
