"""The list lifecycle end to end through the service functions, one test per path of the
issue's acceptance: every transition audited, the timeline complete, the dates from data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from creditplus.accounts.audit import audit_context
from creditplus.accounts.models import AuditEvent, Notification
from creditplus.catalog.calendar import add_months, add_working_days
from creditplus.errors import DomainError, Forbidden
from creditplus.lists import maintenance, objections, restorations, services
from creditplus.lists.models import Deadline, ListEntry, ListType
from creditplus.records.models import CreditEvent
from tests.lists.fixtures import ingest_penalty

pytestmark = pytest.mark.django_db


def evidence(name: str = "整改证明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 evidence", content_type="application/pdf")


def actions(entry: ListEntry) -> list[str]:
    return list(entry.timeline.values_list("action", flat=True))


def audited(entry: ListEntry) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="lists.listentry", object_id=str(entry.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_auto_proposal_notice_objection_upheld_means_no_inclusion(proposal, officer, enterprise):
    assert proposal.origin == "auto" and proposal.status == "proposed"
    assert proposal.department.code == "SCJG"
    assert "严重失信" in proposal.reason and proposal.evidence.count() == 1
    today = timezone.localdate()
    services.send_notice(proposal, officer, today=today)
    proposal.refresh_from_db()
    assert proposal.status == "noticed"
    assert proposal.response_due == add_working_days(today, Deadline.days("notice_response"))
    assert Notification.objects.for_user(enterprise).filter(title__contains="告知").exists()

    objection = objections.submit_objection(
        enterprise,
        entry=proposal,
        reason="处罚已被行政复议撤销",
        files=[evidence("复议决定书.pdf")],
    )
    assert objection.attachments.get().sha256
    after_period = proposal.response_due + timedelta(days=1)
    with pytest.raises(DomainError) as excinfo:
        services.decide_entry(proposal, officer, include=True, decision_no="X", today=after_period)
    assert excinfo.value.code == "objection_pending"

    objections.answer_objection(objection, officer, outcome="upheld", answer="经核查异议成立")
    proposal.refresh_from_db()
    assert proposal.status == "rejected" and proposal.end_reason == "objection"
    assert not ListEntry.objects.members().filter(subject=proposal.subject).exists()
    assert actions(proposal) == ["propose", "notice", "objection", "remove"]
    assert audited(proposal) == ["list.propose", "list.notice", "list.remove"]
    assert (
        AuditEvent.objects.filter(action__in=["objection.submit", "objection.answer"]).count() == 2
    )
    assert Notification.objects.for_user(enterprise).filter(title__contains="已答复").exists()


def test_manual_inclusion_publication_and_early_restoration(serious_penalty, officer, enterprise):
    blacklist = ListType.objects.get(code="YZSX")
    # The automatic proposal exists: a second one for the same list is refused.
    with pytest.raises(DomainError) as excinfo:
        services.propose_entry(
            officer,
            blacklist,
            serious_penalty.subject,
            reason="吊销许可证",
            basis="《上海市社会信用条例》第三十条",
            evidence=[serious_penalty],
        )
    assert excinfo.value.code == "entry_exists"
    watchlist = ListType.objects.get(code="ZDGZ")
    entry = services.propose_entry(
        officer,
        watchlist,
        serious_penalty.subject,
        reason="多次违法",
        basis="《上海市社会信用条例》第三十一条",
        evidence=[serious_penalty],
    )
    assert entry.origin == "manual" and entry.department.code == "SCJG"
    day = timezone.localdate() - timedelta(days=120)  # minimum 3 months passed, maximum not
    services.send_notice(entry, officer, today=day)
    entry.refresh_from_db()
    decided_on = entry.response_due + timedelta(days=1)
    services.decide_entry(
        entry, officer, include=True, decision_no="沪浦市监信〔2025〕1号", today=decided_on
    )
    entry.refresh_from_db()
    assert entry.status == "included"
    assert entry.publish_until == add_months(decided_on, watchlist.default_months)
    assert entry.restoration_from == add_months(decided_on, watchlist.min_months)
    # The watchlist is not public: it cannot be published.
    with pytest.raises(DomainError):
        services.publish_entry(entry, officer)
    restoration = restorations.apply_restoration(
        enterprise,
        entry=entry,
        statement="已全部整改并缴清罚款",
        commitment_signed=True,
        files=[evidence()],
    )
    assert restoration.status == "submitted"
    restorations.accept_restoration(restoration, officer, accept=True, is_complex=True)
    restoration.refresh_from_db()
    assert restoration.decide_due == add_working_days(
        restoration.accepted_on,
        Deadline.days("restoration_decide") + Deadline.days("restoration_complex_extra"),
    )
    restorations.decide_restoration(restoration, officer, approve=True, note="整改到位")
    entry.refresh_from_db()
    assert entry.status == "removed" and entry.end_reason == "restored"
    assert entry.ended_on < entry.publish_until
    assert actions(entry) == [
        "propose",
        "notice",
        "include",
        "restoration",
        "restoration",
        "remove",
        "restoration",
    ]
    assert entry.timeline.last().to_status == "removed"
    assert "list.include" in audited(entry) and "list.remove" in audited(entry)


def test_publication_then_restoration_of_a_blacklist_entry(proposal, officer, enterprise):
    day = timezone.localdate() - timedelta(days=400)
    services.send_notice(proposal, officer, today=day)
    proposal.refresh_from_db()
    services.decide_entry(
        proposal,
        officer,
        include=True,
        decision_no="沪浦市监信〔2025〕2号",
        today=proposal.response_due + timedelta(days=1),
    )
    services.publish_entry(proposal, officer)
    assert ListEntry.objects.public().filter(pk=proposal.pk).exists()
    r = restorations.apply_restoration(
        enterprise, entry=proposal, statement="已整改", commitment_signed=True, files=[evidence()]
    )
    restorations.accept_restoration(r, officer, accept=True)
    restorations.decide_restoration(r, officer, approve=True)
    assert not ListEntry.objects.public().filter(pk=proposal.pk).exists()


def test_restoration_before_the_minimum_period_is_refused_with_the_reason(
    serious_penalty, enterprise
):
    event = CreditEvent.objects.get(record=serious_penalty)
    assert event.severity == "serious"
    with pytest.raises(DomainError) as excinfo:
        restorations.apply_restoration(
            enterprise, event=event, statement="已整改", commitment_signed=True, files=[evidence()]
        )
    assert excinfo.value.code == "restoration_too_early"
    assert str(event.restoration_from) in excinfo.value.message


def test_maximum_period_passed_maintenance_removes_and_is_idempotent(proposal, officer):
    day = timezone.localdate() - timedelta(days=4 * 365)
    services.send_notice(proposal, officer, today=day)
    proposal.refresh_from_db()
    services.decide_entry(
        proposal,
        officer,
        include=True,
        decision_no="沪浦市监信〔2022〕9号",
        today=proposal.response_due + timedelta(days=1),
    )
    proposal.refresh_from_db()
    assert proposal.publish_until < timezone.localdate()
    with audit_context(actor_name="cli:lists_maintain"):
        first = maintenance.maintain()
        second = maintenance.maintain()
    proposal.refresh_from_db()
    assert proposal.status == "removed" and proposal.end_reason == "expired"
    assert first.expired == 1 and second.expired == 0
    assert audited(proposal)[-1] == "list.remove"


def test_only_the_deciding_department_decides(proposal, officer, other_officer, credit_office):
    for user in (other_officer, credit_office):
        with pytest.raises(Forbidden):
            services.send_notice(proposal, user)
    services.send_notice(proposal, officer, today=timezone.localdate() - timedelta(days=30))
    for user in (other_officer, credit_office):
        with pytest.raises(Forbidden):
            services.decide_entry(proposal, user, include=True, decision_no="X")
        with pytest.raises(Forbidden):
            services.remove_entry(proposal, "revoked", user=user, note="撤销")
    proposal.refresh_from_db()
    assert proposal.status == "noticed"


def test_record_objection_overdue_is_escalated_then_corrected(
    serious_penalty, officer, enterprise, credit_office
):
    submitted = timezone.localdate() - timedelta(days=30)
    objection = objections.submit_objection(
        enterprise, record=serious_penalty, reason="罚没金额有误", today=submitted
    )
    assert objections.open_objection_targets(records=[serious_penalty.pk])[0] == {
        serious_penalty.pk
    }
    with audit_context(actor_name="cli:lists_maintain"):
        assert maintenance.maintain().objections_escalated == 1
        assert maintenance.maintain().objections_escalated == 0  # once only
    assert Notification.objects.for_user(credit_office).filter(title__contains="逾期").exists()
    objections.answer_objection(
        objection, officer, outcome="corrected", answer="已更正", changes={"CF_NR_FK": "2"}
    )
    serious_penalty.refresh_from_db()
    assert not serious_penalty.is_current
    assert objections.open_objection_targets(records=[serious_penalty.pk])[0] == set()
    assert AuditEvent.objects.filter(action="objection.escalate").count() == 1
    assert AuditEvent.objects.filter(action="record.correct").count() == 1


def test_objections_only_for_the_own_subject_and_one_at_a_time(
    serious_penalty, proposal, enterprise, other_officer
):
    stranger = ingest_penalty(3)
    with pytest.raises(Forbidden):
        objections.submit_objection(enterprise, record=stranger, reason="不是我们的")
    with pytest.raises(Forbidden):
        objections.submit_objection(other_officer, entry=proposal, reason="无绑定主体")
    objections.submit_objection(enterprise, entry=proposal, reason="有误")
    with pytest.raises(DomainError) as excinfo:
        objections.submit_objection(enterprise, entry=proposal, reason="再次")
    assert excinfo.value.code == "objection_pending"


def test_a_restoration_needs_evidence_and_the_commitment(serious_penalty, enterprise):
    event = CreditEvent.objects.get(record=serious_penalty)
    CreditEvent.objects.filter(pk=event.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    with pytest.raises(DomainError) as excinfo:
        restorations.apply_restoration(
            enterprise, event=event, statement="已整改", commitment_signed=False, files=[evidence()]
        )
    assert excinfo.value.code == "commitment_required"
    with pytest.raises(DomainError) as excinfo:
        restorations.apply_restoration(
            enterprise, event=event, statement="已整改", commitment_signed=True
        )
    assert excinfo.value.code == "evidence_required"
    with pytest.raises(DomainError) as excinfo:
        restorations.apply_restoration(
            enterprise,
            event=event,
            statement="已整改",
            commitment_signed=True,
            files=[evidence("病毒.exe")],
        )
    assert excinfo.value.code == "file_type"


def test_an_approved_record_restoration_ends_its_publicity(serious_penalty, officer, enterprise):
    event = CreditEvent.objects.get(record=serious_penalty)
    CreditEvent.objects.filter(pk=event.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    r = restorations.apply_restoration(
        enterprise,
        event=event,
        statement="已整改并履行",
        commitment_signed=True,
        files=[evidence()],
    )
    assert r.department.code == "SCJG"
    restorations.accept_restoration(r, officer, accept=True)
    restorations.decide_restoration(r, officer, approve=True, note="同意")
    event.refresh_from_db()
    assert event.status == "restored" and not event.in_publicity(timezone.localdate())
    assert AuditEvent.objects.filter(action="event.restore", object_id=str(event.pk)).exists()
    r.refresh_from_db()
    assert r.fed_back_at and r.feedback_due
    assert Notification.objects.for_user(enterprise).filter(title__contains="准予修复").exists()


def test_manual_blacklist_inclusion_publication_then_restoration_ends_it_early(reference, officer):
    from creditplus.accounts.choices import Role
    from creditplus.subjects.models import SubjectAccount
    from tests.factories import make_user

    record = ingest_penalty(5)  # a general fine: no automatic blacklist proposal
    subject = record.subject
    assert not ListEntry.objects.filter(subject=subject, list_type__code="YZSX").exists()
    entry = services.propose_entry(
        officer,
        ListType.objects.get(code="YZSX"),
        subject,
        reason="拒不履行行政处罚决定，情节严重",
        basis="《上海市社会信用条例》第三十条",
        evidence=[record],
    )
    services.send_notice(entry, officer, today=timezone.localdate() - timedelta(days=400))
    entry.refresh_from_db()
    services.decide_entry(
        entry,
        officer,
        include=True,
        decision_no="沪浦市监信〔2025〕5号",
        today=entry.response_due + timedelta(days=1),
    )
    services.publish_entry(entry, officer)
    entry.refresh_from_db()
    assert ListEntry.objects.public().filter(pk=entry.pk).exists()
    assert entry.restoration_from <= timezone.localdate() < entry.publish_until

    user = make_user(Role.ENTERPRISE, username="qiye5")
    SubjectAccount.objects.create(user=user, subject=subject, verified_by="营业执照", bound_by="w")
    r = restorations.apply_restoration(
        user, entry=entry, statement="已履行处罚决定", commitment_signed=True, files=[evidence()]
    )
    restorations.accept_restoration(r, officer, accept=True)
    restorations.decide_restoration(r, officer, approve=True, note="准予修复")
    entry.refresh_from_db()
    assert not ListEntry.objects.public().filter(pk=entry.pk).exists()
    assert entry.end_reason == "restored" and entry.ended_on < entry.publish_until
    assert actions(entry)[:4] == ["propose", "notice", "include", "publish"]
    assert audited(entry) == [
        "list.propose",
        "list.notice",
        "list.include",
        "list.publish",
        "list.remove",
    ]
