"""Fixtures of joint reward and punishment: a published blacklist entry (its case and tasks
exist) and an officer of the department that implements the procurement measure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.lists import services as lists
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


@pytest.fixture
def published(proposal, officer):
    """The blacklist entry, published: its case and tasks exist."""
    publish(proposal, officer)
    proposal.refresh_from_db()
    return proposal


@pytest.fixture
def procurement_officer(reference):
    """An officer of 区财政局 (CZJ), which implements the procurement measure."""
    return make_user(Role.DEPT_OFFICER, "CZJ", username="czj_officer")
