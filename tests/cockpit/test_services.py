"""The cockpit's figures, straight from the service functions, against hand-counted data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.catalog.calendar import add_months, add_working_days
from creditplus.cockpit import services
from creditplus.evaluation import services as evaluation
from creditplus.evaluation.models import EvaluationModel, Score
from creditplus.records.models import IngestBatch
from creditplus.sanctions import services as sanctions
from creditplus.sanctions.models import SanctionTask
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def by_code(rows, code):
    return next(r for r in rows if r["code"] == code)


def test_an_empty_district_has_every_figure_at_zero(reference):
    data = services.figures()
    assert data["records"]["total"] == 0 and data["records"]["supplying"] == 0
    assert len(data["records"]["departments"]) == 26
    assert [m["records"] for m in data["trend"]] == [0] * 12
    assert data["quality"]["departments"] == []
    assert data["lists"]["totals"] == {"members": 0, "proposals": 0, "added": 0, "removed": 0}
    assert data["sanctions"]["totals"]["feedback_rate"] is None
    assert data["pending"]["rows"] == []


def test_records_per_department_come_from_the_batch_counts(district):
    records = services.figures()["records"]
    scjg = by_code(records["departments"], "SCJG")
    sw = by_code(records["departments"], "SW")
    assert (scjg["records"], scjg["updates"], scjg["batches"]) == (3, 1, 4)
    assert (sw["records"], sw["updates"], sw["batches"]) == (1, 0, 1)
    assert by_code(records["departments"], "CZJ")["records"] == 0
    assert (records["total"], records["updates"], records["supplying"]) == (4, 1, 2)
    # Most records first.
    assert [d["code"] for d in records["departments"][:2]] == ["SCJG", "SW"]


def test_monthly_trend_covers_twelve_months_and_places_each_batch_in_its_month(district):
    today = timezone.localdate()
    two_months_ago = add_months(today.replace(day=1), -2) + timedelta(days=9)
    sw_batch = IngestBatch.objects.get(department__code="SW")
    IngestBatch.objects.filter(pk=sw_batch.pk).update(
        created_at=timezone.now().replace(
            year=two_months_ago.year, month=two_months_ago.month, day=two_months_ago.day
        )
    )
    trend = services.monthly_trend(today)
    assert len(trend) == 12 and trend[-1]["month"] == today.strftime("%Y-%m")
    assert trend[-1] == {"month": today.strftime("%Y-%m"), "records": 3, "updates": 1}
    assert trend[-3] == {"month": two_months_ago.strftime("%Y-%m"), "records": 1, "updates": 0}
    assert sum(m["records"] for m in trend) == 4
    # A batch older than the window is left out.
    IngestBatch.objects.filter(pk=sw_batch.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    assert sum(m["records"] for m in services.monthly_trend(today)) == 3


def test_quality_ranking_puts_the_department_with_most_rejections_first(district):
    quality = services.quality_ranking(timezone.localdate())
    assert [d["code"] for d in quality["departments"]] == ["SW", "SCJG"]
    sw, scjg = quality["departments"]
    assert (sw["submitted"], sw["rejected"], sw["error_rate"]) == (2, 1, 0.5)
    assert (scjg["submitted"], scjg["rejected"], scjg["error_rate"]) == (4, 0, 0.0)
    assert quality["totals"]["rejected"] == 1 and quality["totals"]["submitted"] == 6


def test_list_sizes_and_this_months_additions_and_removals(district):
    lists = {t["code"]: t for t in services.list_figures(timezone.localdate())["types"]}
    # The published blacklist entry: decided this month (publication adds nothing more).
    assert lists["YZSX"]["members"] == 1
    assert (lists["YZSX"]["added"], lists["YZSX"]["removed"]) == (1, 0)
    # The A-grade taxpayer: imported and removed this month.
    assert lists["NSXY_A"]["members"] == 0
    assert (lists["NSXY_A"]["added"], lists["NSXY_A"]["removed"]) == (1, 1)
    assert lists["SXBZX"] == {**lists["SXBZX"], "members": 0, "added": 0, "removed": 0}


def test_additions_of_an_earlier_month_are_not_counted_this_month(district):
    next_month = add_months(timezone.localdate().replace(day=1), 1)
    lists = {t["code"]: t for t in services.list_figures(next_month)["types"]}
    assert lists["YZSX"]["members"] == 1 and lists["YZSX"]["added"] == 0
    assert lists["NSXY_A"]["removed"] == 0


def test_measure_statuses_and_feedback_rates_per_department(district):
    figures = services.sanction_figures(timezone.localdate())
    assert figures["status"] == {
        "implemented": 5,
        "in_progress": 16,
        "coordination": 25,
        "not_started": 21,
    }
    assert figures["measures"] == 67
    # The blacklist entry's tasks count; the reward tasks of the removed A-grade entry were
    # closed without feedback and do not.
    tasks = SanctionTask.objects.filter(case__entry=district.entry)
    closed = SanctionTask.objects.filter(case__entry=district.tax_entry)
    assert closed.exists() and set(closed.values_list("status", flat=True)) == {"closed"}
    assert figures["totals"]["initiated"] == tasks.count() > 0
    assert figures["totals"]["fed_back"] == 0 and figures["totals"]["feedback_rate"] == 0.0

    task = tasks.order_by("id").first()
    department = task.department
    implementer = make_user(Role.DEPT_OFFICER, department, username="implementer")
    sanctions.give_feedback(task, implementer, outcome="not_applicable", note="本部门无相关事项")
    figures = services.sanction_figures(timezone.localdate())
    row = by_code(figures["departments"], department.code)
    initiated = tasks.filter(department=department).count()
    assert (row["initiated"], row["fed_back"]) == (initiated, 1)
    assert row["feedback_rate"] == round(1 / initiated, 4)
    assert figures["totals"]["fed_back"] == 1


def test_grade_distribution_of_the_active_model(district):
    assert services.grade_figures()["total"] == 0
    evaluation.evaluate(mode="all")
    grades = services.grade_figures()
    model = EvaluationModel.objects.active()
    scores = Score.objects.filter(model=model)
    assert grades["model"] == model.code and grades["total"] == scores.count() > 0
    counts = {g["grade"]: g["count"] for g in grades["grades"]}
    assert counts == {g: scores.filter(grade=g).count() for g in "ABCD"}
    # The blacklisted subject is capped at D.
    assert scores.get(subject=district.entry.subject).grade == "D" and counts["D"] >= 1


def test_pending_objections_and_restorations_with_deadlines(district):
    today = timezone.localdate()
    pending = services.pending(today)
    assert pending["objections"] == {"open": 2, "overdue": 1}
    assert pending["restorations"] == {"open": 1, "overdue": 0}
    rows = {r["number"]: r for r in pending["rows"]}
    assert set(rows) == {
        district.pending_objection.number,
        district.overdue_objection.number,
        district.restoration.number,
    }
    ok = rows[district.pending_objection.number]
    assert ok["due"] == add_working_days(today, 5) and not ok["overdue"]
    late = rows[district.overdue_objection.number]
    assert late["due"] == today - timedelta(days=3) and late["overdue"]
    restoration = rows[district.restoration.number]
    assert restoration["step"] == "accept" and restoration["due"] == add_working_days(today, 3)
    # Nearest deadline first: the overdue one leads.
    assert pending["rows"][0]["number"] == district.overdue_objection.number


def test_an_accepted_restoration_is_due_at_its_decision_deadline(district):
    from creditplus.lists.models import Restoration

    today = timezone.localdate()
    Restoration.objects.filter(pk=district.restoration.pk).update(
        status="accepted", decide_due=today - timedelta(days=1)
    )
    pending = services.pending(today)
    assert pending["restorations"] == {"open": 1, "overdue": 1}
    row = next(r for r in pending["rows"] if r["kind"] == "restoration")
    assert row["step"] == "decide" and row["overdue"]
    Restoration.objects.filter(pk=district.restoration.pk).update(status="approved")
    assert services.pending(today)["restorations"] == {"open": 0, "overdue": 0}


def test_figures_are_cached_until_refreshed(district):
    first = services.cached_figures()
    IngestBatch.objects.filter(department__code="SW").update(accepted=0, rejected=2)
    assert services.cached_figures()["records"]["total"] == first["records"]["total"] == 4
    assert services.cached_figures(refresh=True)["records"]["total"] == 3
