"""Fixtures of joint reward and punishment: a published blacklist entry (its case and its
standing-measure tasks exist), an officer of the department that implements the procurement
measure, and the task a procurement credit check of the listed subject triggers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.lists import services as lists
from creditplus.sanctions import checks
from creditplus.sanctions.models import SanctionTask
from creditplus.subjects.models import Subject
from tests.factories import make_user

PROCUREMENT = "CJ-01"  # 限制参与政府采购活动, implemented by CZJ for matter ZFCG


def publish(entry, officer, days_ago: int = 30):
    """Take a proposed entry through notice and decision to publication."""
    lists.send_notice(entry, officer, today=timezone.localdate() - timedelta(days=days_ago))
    entry.refresh_from_db()
    lists.decide_entry(
        entry,
        officer,
        include=True,
        decision_no="沪浦市监信〔2026〕8号",
        today=entry.response_due + timedelta(days=1),
    )
    return lists.publish_entry(entry, officer)


LEGAL_REP = "张三"


@pytest.fixture
def published(proposal, officer):
    """The blacklist entry, published: its case and standing tasks exist (those of YZSX in
    force reach the legal representative: CJ-21 at GZW, CJ-42 at FGW and SCJG)."""
    Subject.objects.filter(pk=proposal.subject_id).update(legal_rep_name=LEGAL_REP)
    publish(proposal, officer)
    proposal.refresh_from_db()
    return proposal


@pytest.fixture
def procurement_task(published, procurement_officer):
    """The procurement measure's task of 区财政局, triggered by its ZFCG check of the listed
    subject (an on-application measure)."""
    check = checks.check_subject(
        procurement_officer, published.subject.uscc, "ZFCG", "供应商资格审查"
    )
    return SanctionTask.objects.get(credit_check=check, measure__code=PROCUREMENT)


@pytest.fixture
def procurement_officer(reference):
    """An officer of 区财政局 (CZJ), which implements the procurement measure."""
    return make_user(Role.DEPT_OFFICER, "CZJ", username="czj_officer")
