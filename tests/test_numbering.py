"""Daily serial numbers (creditplus/numbering.py), on a real table: credit reports."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError
from django.utils import timezone

from creditplus.numbering import ATTEMPTS, create_numbered, next_number
from creditplus.reports.choices import ReportChannel
from creditplus.reports.models import CreditReport
from creditplus.reports.services import NUMBER_PREFIX
from tests.factories import make_organisations

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 27)


def report_fields(subject, window_clerk) -> dict:
    return {
        "kind": "enterprise",
        "subject": subject,
        "subject_label": subject.name,
        "channel": ReportChannel.WINDOW,
        "purpose": "招投标",
        "license_checked": True,
        "requested_by": window_clerk,
        "requested_by_name": window_clerk.username,
        "issuer": "测试",
        "content": {},
        "content_sha256": "0" * 64,
        "issued_at": timezone.now(),
    }


def test_numbers_count_per_day_from_the_highest_stored(reference, window_clerk):
    subject = make_organisations(1)[0]
    fields = report_fields(subject, window_clerk)
    assert next_number(CreditReport, NUMBER_PREFIX, DAY) == "XYBG20261127000001"
    create_numbered(CreditReport, NUMBER_PREFIX, DAY, **fields)
    CreditReport.objects.create(number="XYBG20261127000041", **fields)
    assert create_numbered(CreditReport, NUMBER_PREFIX, DAY, **fields).number == (
        "XYBG20261127000042"
    )
    # Another day starts again at 1.
    assert next_number(CreditReport, NUMBER_PREFIX, date(2026, 11, 28)) == "XYBG20261128000001"


def test_a_refused_insert_is_retried_a_bounded_number_of_times_in_a_savepoint(
    reference, window_clerk
):
    subject = make_organisations(1)[0]
    fields = report_fields(subject, window_clerk)
    fields["requested_by_name"] = None  # NOT NULL: every attempt is refused
    with pytest.raises(IntegrityError):
        create_numbered(CreditReport, NUMBER_PREFIX, DAY, **fields)
    # The caller's transaction is still usable: each attempt ran in its own savepoint.
    assert CreditReport.objects.count() == 0
    assert ATTEMPTS == 3
