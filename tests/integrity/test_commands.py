"""The integrity_compute and integrity_demo commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from creditplus.accounts.models import AuditEvent
from creditplus.integrity.models import AssessmentPeriod, AssessorScore, DepartmentScore

pytestmark = pytest.mark.django_db


def test_integrity_compute_creates_the_period_and_is_idempotent(seeded):
    out = StringIO()
    call_command("integrity_compute", "--period", "2026Q2", "--as-of", "2026-07-01", stdout=out)
    first = sorted(
        DepartmentScore.objects.values_list("department__code", "indicator__code", "points")
    )
    call_command("integrity_compute", "--period", "2026Q2", "--as-of", "2026-07-01", stdout=out)
    assert (
        sorted(DepartmentScore.objects.values_list("department__code", "indicator__code", "points"))
        == first
    )
    assert AssessmentPeriod.objects.get().code == "2026Q2"
    assert "2026Q2" in out.getvalue()
    events = AuditEvent.objects.filter(action="integrity.compute")
    assert events.count() == 2 and events.first().actor_name.startswith("cli:integrity_compute")


def test_integrity_compute_refuses_a_bad_code(reference):
    with pytest.raises(SystemExit):
        call_command(
            "integrity_compute", "--period", "2026Q9", stdout=StringIO(), stderr=StringIO()
        )


def test_integrity_demo_enters_the_demo_assessor_scores_once(reference):
    call_command("demo_accounts", stdout=StringIO(), stderr=StringIO())
    call_command("integrity_demo", stdout=StringIO())
    n = AssessorScore.objects.count()
    assert n > 0 and AssessorScore.objects.filter(assessor__username="pinggu").count() == n
    assert AssessmentPeriod.objects.count() == 2
    call_command("integrity_demo", stdout=StringIO())
    assert AssessorScore.objects.count() == n
