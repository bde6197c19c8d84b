"""Deadlines in working days around weekends, holidays and month ends; periods from data."""

from __future__ import annotations

from datetime import date

import pytest

from creditplus.catalog.calendar import add_months, add_working_days
from creditplus.lists import objections, services
from creditplus.lists.models import Deadline, ListType

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped to the month's end
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # leap day
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # over the year end
        (date(2026, 3, 31), -1, date(2026, 2, 28)),  # backwards (trigger windows)
        (date(2026, 5, 20), 36, date(2029, 5, 20)),
    ],
)
def test_months_are_calendar_months_clamped_at_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("noticed", "due"),
    [
        (date(2026, 11, 20), date(2026, 11, 27)),  # Friday: 5 working days end next Friday
        (date(2026, 11, 27), date(2026, 12, 4)),  # across the month end
        (date(2026, 11, 28), date(2026, 12, 4)),  # noticed on a Saturday: counting starts Monday
        (date(2026, 9, 30), date(2026, 10, 13)),  # 国庆 holidays skipped, 10-10 make-up day counts
        (date(2026, 2, 13), date(2026, 2, 27)),  # 春节; 2-14 and 2-28 make-up Saturdays
    ],
)
def test_the_notice_response_period_counts_working_days(proposal, officer, noticed, due):
    services.send_notice(proposal, officer, today=noticed)
    proposal.refresh_from_db()
    assert proposal.response_due == due


def test_deadlines_come_from_data(proposal, officer, enterprise):
    Deadline.objects.filter(code="objection_answer").update(working_days=10)
    objection = objections.submit_objection(
        enterprise, entry=proposal, reason="信息有误", today=date(2026, 11, 27)
    )
    assert objection.due_on == add_working_days(date(2026, 11, 27), 10) == date(2026, 12, 11)


def test_list_periods_come_from_data(proposal, officer):
    ListType.objects.filter(code="YZSX").update(default_months=24, min_months=6)
    services.send_notice(proposal, officer, today=date(2026, 1, 5))
    services.decide_entry(
        proposal,
        officer,
        include=True,
        decision_no="沪浦市监信〔2026〕3号",
        today=date(2026, 1, 31),
    )
    proposal.refresh_from_db()
    assert proposal.publish_until == date(2028, 1, 31)
    assert proposal.restoration_from == date(2026, 7, 31)


def test_a_decision_inside_the_response_period_is_refused(proposal, officer):
    services.send_notice(proposal, officer, today=date(2026, 11, 20))
    proposal.refresh_from_db()
    with pytest.raises(Exception) as excinfo:
        services.decide_entry(
            proposal, officer, include=True, decision_no="X", today=proposal.response_due
        )
    assert excinfo.value.code == "notice_period_running"
