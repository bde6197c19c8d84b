"""Integrity scores of two departments computed from seeded data and checked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditplus.accounts.models import AuditEvent
from creditplus.errors import DomainError
from creditplus.integrity import services
from creditplus.integrity.models import DepartmentScore, IntegrityIndicator
from tests.integrity.conftest import AS_OF, PERIOD

pytestmark = pytest.mark.django_db


def computed(period, department):
    return {
        s.indicator.code: s
        for s in DepartmentScore.objects.filter(
            period=period, department=department
        ).select_related("indicator")
    }


def test_the_indicator_system_is_three_by_two_weighing_100(reference):
    indicators = list(IntegrityIndicator.objects.all())
    assert len(indicators) == 6
    assert sorted({i.level1_name for i in indicators}) == sorted(["透明度", "执行力", "廉洁性"])
    assert sum(i.weight for i in indicators) == 100
    assert {i.code for i in indicators if i.source == "assessor"} == {"LJX_LZFX", "LJX_GZMY"}


def test_period_codes_give_quarters_and_years():
    assert services.period_bounds("2026Q2") == ("quarter", date(2026, 4, 1), date(2026, 6, 30))
    assert services.period_bounds("2026q4")[1:] == (date(2026, 10, 1), date(2026, 12, 31))
    assert services.period_bounds("2026") == ("year", date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(DomainError):
        services.period_bounds("2026Q5")


def test_scores_of_two_departments_match_the_hand_computation(seeded):
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    scjg, sw = computed(period, seeded.scjg), computed(period, seeded.sw)

    # SCJG 双公示 timeliness: the revocation (decided 05-28, received 06-01: 2 working days)
    # + 6 penalties decided 05-25 (5 working days) are timely, 2 decided 05-11 (15) late:
    # 7 / 9 = 0.7778 → (0.7778 − 0.5) / (1.0 − 0.5) × 100 = 55.56 points.
    assert scjg["TMD_GSJS"].figures == {
        "total": 9,
        "timely": 7,
        "late": 2,
        "limit": 7,
        "rate": 0.7778,
    }
    assert scjg["TMD_GSJS"].points == Decimal("55.56")
    # SCJG data quality: batches of 1 and 9 rows, 1 rejected: 9 / 10 = 0.9
    # → (0.9 − 0.8) / (1.0 − 0.8) × 100 = 50.00.
    assert scjg["TMD_SJZL"].figures["total"] == 10 and scjg["TMD_SJZL"].figures["rejected"] == 1
    assert scjg["TMD_SJZL"].points == Decimal("50.00")
    # SCJG sanction feedback, both kinds: the published blacklist entry gave SCJG 1 standing
    # task, its 3 checks 3 on-application ones (measures.yaml), due 06-15; 3 fed back 06-05
    # (the standing one, two checks' reports), 1 still open on 07-01 (late): 3 / 4 = 0.75.
    assert seeded.scjg_tasks == 4
    assert scjg["ZXL_LHJC"].figures == {
        "total": 4,
        "on_time": 3,
        "late": 1,
        "overdue_open": 1,
        "limit": 10,
        "rate": 0.75,
    }
    assert scjg["ZXL_LHJC"].points == Decimal("50.00")
    # SCJG objections, due 06-08: two record objections answered 06-05, the entry objection
    # 06-10 (late): 2 / 3 = 0.6667 → (0.6667 − 0.5) / 0.5 × 100 = 33.34.
    assert scjg["ZXL_YYDF"].figures["on_time"] == 2 and scjg["ZXL_YYDF"].figures["total"] == 3
    assert scjg["ZXL_YYDF"].points == Decimal("33.34")

    # SW: 9 / 9 timely → 100; 9 / 10 accepted → 50; no task → not applicable; its one
    # objection answered on time → 1 / 1 → 100.
    assert sw["TMD_GSJS"].points == Decimal("100.00")
    assert sw["TMD_SJZL"].points == Decimal("50.00")
    assert sw["ZXL_LHJC"].points is None and sw["ZXL_LHJC"].figures == {}
    assert sw["ZXL_YYDF"].points == Decimal("100.00")

    results = {r.department.code: r for r in services.department_results(period)}
    # SCJG total, assessor indicators pending (left out, weights renormalised over 75):
    # (20 × 55.56 + 20 × 50 + 20 × 50 + 15 × 33.34) / 75 = 3611.30 / 75 = 48.15.
    assert results["SCJG"].total == Decimal("48.15") and results["SCJG"].pending == 2
    # SW: the not-applicable sanction indicator's weight goes too:
    # (20 × 100 + 20 × 50 + 15 × 100) / 55 = 4500 / 55 = 81.82.
    assert results["SW"].total == Decimal("81.82")
    statuses = {i.indicator.code: i.status for i in results["SW"].indicators}
    assert statuses == {
        "TMD_GSJS": "scored",
        "TMD_SJZL": "scored",
        "ZXL_LHJC": "not_applicable",
        "ZXL_YYDF": "scored",
        "LJX_LZFX": "pending",
        "LJX_GZMY": "pending",
    }
    # First-level subtotals of SCJG: 透明度 (55.56 + 50) / 2 = 52.78; 执行力
    # (20 × 50 + 15 × 33.34) / 35 = 1500.1 / 35 = 42.86; 廉洁性 none yet.
    levels = {lv.name: lv.points for lv in results["SCJG"].levels}
    assert levels == {"透明度": Decimal("52.78"), "执行力": Decimal("42.86"), "廉洁性": None}
    # 区发展改革委 only has the blacklist's tasks, none fed back: 0 / n → 0 points, total 0.
    assert results["FGW"].total == Decimal("0.00")
    # A department with no data at all has no total.
    assert results["MZJ"].total is None


def test_an_open_task_not_yet_due_is_not_counted(seeded):
    period = services.ensure_period(PERIOD)
    # On 06-12 the open task (due 06-15) is not late yet: 3 / 3 on time → 100.
    services.compute_period(period, as_of=date(2026, 6, 12))
    scjg = computed(period, seeded.scjg)
    assert scjg["ZXL_LHJC"].figures["total"] == 3
    assert scjg["ZXL_LHJC"].points == Decimal("100.00")


def test_recomputing_replaces_the_scores_and_is_audited_once_per_run(seeded):
    period = services.ensure_period(PERIOD)
    assert services.compute_period(period, as_of=AS_OF) == services.compute_period(
        period, as_of=AS_OF
    )
    rows = DepartmentScore.objects.filter(period=period)
    departments = services.assessed_departments().count()
    assert rows.count() == departments * 4  # four computed indicators, no duplicates
    assert list(
        rows.filter(department=seeded.sw)
        .values_list("points", flat=True)
        .order_by("indicator__sort_order")
    ) == [Decimal("100.00"), Decimal("50.00"), None, Decimal("100.00")]
    events = AuditEvent.objects.filter(action="integrity.compute", object_id=str(period.pk))
    assert events.count() == 2
    assert events.order_by("-id").first().before == {"scores": departments * 4}
    assert AuditEvent.objects.filter(action="integrity.period.create").count() == 1


def test_a_closed_period_is_not_recomputed(seeded, credit_office):
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    services.close_period(period, credit_office)
    with pytest.raises(DomainError) as excinfo:
        services.compute_period(period, as_of=AS_OF)
    assert excinfo.value.code == "period_closed"
    assert AuditEvent.objects.filter(action="integrity.period.close").count() == 1


def test_the_shortcoming_report_names_the_weakest_indicator_with_its_figures(seeded):
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    scjg = services.department_result(period, seeded.scjg)
    report = services.shortcomings(scjg)
    # SCJG's lowest points: 异议按时答复率 33.34.
    assert [s.result.indicator.code for s in report] == ["ZXL_YYDF"]
    assert "3件异议申请中有1件未按期答复" in report[0].advice
    assert "66.7%" in report[0].advice
    sw = services.department_result(period, seeded.sw)
    # SW's weakest: 归集数据合格率 50 (10 rows, 1 rejected).
    assert [s.result.indicator.code for s in services.shortcomings(sw)] == ["TMD_SJZL"]
    assert "被拒收1行" in services.shortcomings(sw)[0].advice


def test_tasks_closed_without_feedback_are_not_counted(seeded):
    """执行力 reads the tasks owed feedback: a task of the old flood (an on-application measure
    pushed when the entry took effect) closed by the maintenance run, and a task closed when
    its entry ended (which stamps the closing time), count neither as on time nor as late."""
    from datetime import datetime

    from django.utils import timezone

    from creditplus.sanctions.models import Measure, SanctionTask
    from creditplus.sanctions.services import close_on_application_tasks

    standing = SanctionTask.objects.get(department=seeded.scjg, origin="entry")
    due = standing.due_on
    flood = SanctionTask.objects.create(
        case=standing.case,
        measure=Measure.objects.get(code="CJ-05"),
        department=seeded.scjg,
        target="subject",
        target_name="旧任务",
        created_at=standing.created_at,
        due_on=due,
    )
    ended = SanctionTask.objects.create(
        case=standing.case,
        measure=standing.measure,
        department=seeded.scjg,
        target="subject",
        target_name="名单已移出",
        created_at=standing.created_at,
        due_on=due,
        status="closed",
        fed_back_at=timezone.make_aware(datetime(2026, 6, 2, 10)),
    )
    assert close_on_application_tasks() == 1
    flood.refresh_from_db()
    assert flood.status == "closed" and flood.outcome_note == "改为办理时核查触发"
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    figures = computed(period, seeded.scjg)["ZXL_LHJC"].figures
    assert (figures["total"], figures["on_time"]) == (4, 3), ended
