"""`creditplus supervision_demo`: the demo walk-through used by `make demo`."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from creditplus.supervision.choices import CommitmentStatus
from creditplus.supervision.models import Commitment, Inspection, InspectionPlan
from tests.factories import make_organisations


def test_draws_a_plan_records_results_and_signs_commitments_once(reference):
    make_organisations(120)
    call_command("demo_accounts", stdout=StringIO())
    out = StringIO()
    call_command("supervision_demo", stdout=out)
    call_command("supervision_demo", stdout=out)  # a second run changes nothing
    plan = InspectionPlan.objects.get()
    assert plan.inspections.count() == 4  # ceil(3 % × 120) grade-B enterprises (not evaluated)
    assert Inspection.objects.exclude(result="").exists()
    statuses = sorted(Commitment.objects.values_list("status", flat=True))
    assert statuses == sorted(
        [CommitmentStatus.SIGNED, CommitmentStatus.FULFILLED, CommitmentStatus.BREACHED]
    )
    assert "双随机抽查" in out.getvalue()
