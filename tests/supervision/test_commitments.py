"""Credit commitments (告知承诺): signing online or on paper, publication, verification by the
responsible department only, and a breach flowing through collection into events and scores."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Notification
from creditplus.errors import DomainError, Forbidden
from creditplus.evaluation import services as evaluation
from creditplus.evaluation.models import Score
from creditplus.records.models import CreditEvent
from creditplus.supervision import services
from creditplus.supervision.choices import Channel, CommitmentStatus
from creditplus.supervision.models import Commitment, CommitmentTemplate
from tests.conftest import client_for


@pytest.fixture
def template(reference) -> CommitmentTemplate:
    return CommitmentTemplate.objects.get(code="GZCN-JYXK")


def sign_online(enterprise, subject, template, **extra) -> Commitment:
    return services.sign_commitment(
        enterprise, template, subject, reason="食品经营许可（告知承诺制）", signer="李四", **extra
    )


def test_an_enterprise_signs_online_and_the_department_gets_a_verification_task(
    enterprise, subject, template
):
    commitment = sign_online(enterprise, subject, template)
    today = timezone.localdate()
    assert commitment.number.startswith(f"310115{today:%Y%m%d}")
    assert len(commitment.number) == 20
    assert commitment.department.code == "SCJG"
    assert commitment.status == CommitmentStatus.SIGNED
    assert commitment.verify_due > today
    assert "1. 已知晓行政机关告知的全部许可条件、标准和要求" in commitment.content
    assert Notification.objects.filter(
        department=commitment.department, title__contains=commitment.number
    ).exists()
    assert AuditEvent.objects.filter(action="commitment.sign", subject=subject.uscc).exists()
    second = sign_online(enterprise, subject, template)
    assert int(second.number[-6:]) == int(commitment.number[-6:]) + 1


def test_only_the_own_enterprise_account_signs_online_and_clerks_record_paper(
    enterprise, subject, template, window_clerk, reference
):
    from tests.lists.fixtures import ingest_penalty

    other = ingest_penalty(2).subject
    with pytest.raises(Forbidden):
        sign_online(enterprise, other, template)
    with pytest.raises(Forbidden):
        sign_online(window_clerk, subject, template)  # online needs the enterprise account
    paper = services.sign_commitment(
        window_clerk, template, other, reason="窗口办理", signer="王五", channel=Channel.PAPER
    )
    assert paper.channel == Channel.PAPER
    with pytest.raises(DomainError) as missing:
        services.sign_commitment(
            window_clerk, template, other, reason=" ", signer="王五", channel=Channel.PAPER
        )
    assert missing.value.code == "reason_required"


def test_a_breach_becomes_a_record_an_untrustworthy_event_and_a_lower_score(
    enterprise, subject, template, officer
):
    evaluation.evaluate(mode="all")
    before = Score.objects.get(subject=subject, model__status="active")
    commitment = sign_online(enterprise, subject, template)
    services.verify_commitment(
        officer,
        commitment,
        outcome="全部未履行",
        unfulfilled="经营场所与申报不一致，未取得相关设施设备",
        liability="撤销许可决定",
    )
    commitment.refresh_from_db()
    assert commitment.status == CommitmentStatus.BREACHED
    record = commitment.record
    assert record.item.code == "CNWY"
    assert record.values["CNWY_LXZT"] == "全部未履行"
    event = CreditEvent.objects.get(record=record)
    assert (event.kind, event.severity, event.rule.code) == (
        "untrustworthy",
        "serious",
        "CNWY-SERIOUS-FALSE",
    )
    run = evaluation.evaluate(mode="changed")
    assert run.evaluated >= 1
    after = Score.objects.get(subject=subject, model__status="active")
    assert after.score < before.score
    assert "CN_FALSE" in [c[0] for c in json.loads(after.contributions)]
    assert AuditEvent.objects.filter(action="commitment.verify", subject=subject.uscc).exists()


def test_a_fulfilled_commitment_is_a_neutral_record(enterprise, subject, template, officer):
    commitment = sign_online(enterprise, subject, template)
    services.verify_commitment(officer, commitment, outcome="全部履行")
    commitment.refresh_from_db()
    assert commitment.status == CommitmentStatus.FULFILLED
    assert not CreditEvent.objects.filter(record=commitment.record).exists()


def test_only_the_responsible_department_verifies_once_with_details_for_a_breach(
    enterprise, subject, template, officer, other_officer
):
    commitment = sign_online(enterprise, subject, template)
    with pytest.raises(Forbidden):
        services.verify_commitment(other_officer, commitment, outcome="全部履行")
    with pytest.raises(DomainError) as details:
        services.verify_commitment(officer, commitment, outcome="部分履行")
    assert details.value.code == "breach_details_required"
    services.verify_commitment(officer, commitment, outcome="全部履行")
    with pytest.raises(DomainError) as again:
        services.verify_commitment(officer, commitment, outcome="全部履行")
    assert again.value.code == "commitment_verified"


def test_the_commitment_api_signs_lists_and_verifies(
    enterprise, subject, template, officer, other_officer
):
    signed = client_for(enterprise).post(
        "/api/v1/commitments",
        {
            "template": "GZCN-JYXK",
            "subject": subject.uscc,
            "reason": "经营许可",
            "signer": "李四",
            "channel": "online",
        },
        content_type="application/json",
    )
    assert signed.status_code == 201, signed.content
    number = signed.json()["number"]
    inbox = client_for(officer).get("/api/v1/commitments?status=signed").json()
    assert [c["number"] for c in inbox["results"]] == [number]
    assert client_for(other_officer).get("/api/v1/commitments").json()["count"] == 0
    refused = client_for(other_officer).post(
        f"/api/v1/commitments/{number}/verification",
        {"outcome": "全部履行"},
        content_type="application/json",
    )
    assert refused.status_code == 404
    done = client_for(officer).post(
        f"/api/v1/commitments/{number}/verification",
        {"outcome": "全部履行"},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["status"] == "fulfilled"


def test_overdue_verifications_are_reminded_once(enterprise, subject, template):
    commitment = sign_online(enterprise, subject, template, today=date(2026, 1, 5))
    later = commitment.verify_due + timedelta(days=1)
    assert services.remind_overdue_commitments(today=later) == 1
    assert services.remind_overdue_commitments(today=later) == 0
    assert Notification.objects.filter(
        title__contains="逾期未核查", department=commitment.department
    ).exists()


def test_the_maintenance_command_runs(reference):
    out = StringIO()
    call_command("supervision_maintain", stdout=out)
    assert "信用修复承诺" in out.getvalue()


def test_an_approved_restorations_commitment_is_tracked_for_verification(
    serious_penalty, officer, enterprise
):
    from creditplus.lists import restorations
    from tests.lists.test_lifecycle import evidence

    event = CreditEvent.objects.get(record=serious_penalty)
    CreditEvent.objects.filter(pk=event.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    restoration = restorations.apply_restoration(
        enterprise,
        event=event,
        statement="已整改并履行",
        commitment_signed=True,
        files=[evidence()],
    )
    restorations.accept_restoration(restoration, officer, accept=True)
    assert services.track_restoration_commitments() == 0  # not approved yet
    restorations.decide_restoration(restoration, officer, approve=True, note="同意")
    assert services.track_restoration_commitments() == 1
    assert services.track_restoration_commitments() == 0  # once per restoration
    commitment = Commitment.objects.get(restoration=restoration)
    assert commitment.template.code == "XYXF"
    assert commitment.department == restoration.department
    assert commitment.status == CommitmentStatus.SIGNED
    assert commitment.verify_due > commitment.signed_on
