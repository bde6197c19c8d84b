"""Third-party assessor scores: validation, audit, the pending rule and the ranking."""

from __future__ import annotations

from decimal import Decimal

import pytest

from creditplus.accounts.audit import audit_context, context_for_user
from creditplus.accounts.models import AuditEvent
from creditplus.errors import DomainError, Forbidden
from creditplus.integrity import services
from creditplus.integrity.models import AssessorScore, IntegrityIndicator
from tests.integrity.conftest import AS_OF, PERIOD

pytestmark = pytest.mark.django_db


def enter(user, period, department, code, points):
    with audit_context(context_for_user(user)):
        return services.enter_assessor_score(
            user,
            period,
            department,
            IntegrityIndicator.objects.get(code=code),
            points=points,
            evidence=f"评估报告第{code}节",
        )


def ranks(period, codes=("SCJG", "SW")):
    """Rank and total of the two seeded departments (the blacklist entry also gave other
    departments tasks, all overdue: they rank below with 0 points)."""
    return [
        (r.rank, r.department.code, r.total)
        for r in services.ranking(period)
        if r.department.code in codes
    ]


@pytest.fixture
def period(seeded):
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    return period


def test_a_third_party_score_changes_the_ranking(seeded, period, assessor):
    # Computed only (hand-checked in test_scores.py): SW 81.82, SCJG 48.15, both provisional
    # (廉洁性 pending): listed by total, without a rank.
    assert ranks(period) == [(None, "SW", Decimal("81.82")), (None, "SCJG", Decimal("48.15"))]
    # SCJG gets 100 on both assessor indicators: (3611.30 + 15 × 100 + 10 × 100) / 100 = 61.11,
    # complete: ranked first, before SW's higher but provisional total.
    enter(assessor, period, seeded.scjg, "LJX_LZFX", 100)
    enter(assessor, period, seeded.scjg, "LJX_GZMY", 100)
    assert ranks(period) == [(1, "SCJG", Decimal("61.11")), (None, "SW", Decimal("81.82"))]
    # SW gets 0 for 廉洁风险防控: (4500 + 15 × 0) / 70 = 64.29 — still provisional.
    enter(assessor, period, seeded.sw, "LJX_LZFX", 0)
    assert ranks(period)[1] == (None, "SW", Decimal("64.29"))
    # …and 0 for 公众满意度: 4500 / 80 = 56.25, complete: ranked second.
    enter(assessor, period, seeded.sw, "LJX_GZMY", 0)
    assert ranks(period) == [(1, "SCJG", Decimal("61.11")), (2, "SW", Decimal("56.25"))]
    result = services.department_result(period, seeded.scjg)
    assert result.complete and result.rank == 1


def test_a_department_with_only_the_integrity_score_is_not_ranked(seeded, period, assessor):
    """区水务局 has no platform data in the period: its 廉洁性 scores alone are a total of
    90.00, but 透明度 and 执行力 have no score — provisional, listed apart, never "#1"."""
    from creditplus.accounts.models import Department

    swu = Department.objects.get(code="SWU")
    enter(assessor, period, swu, "LJX_LZFX", 90)
    enter(assessor, period, swu, "LJX_GZMY", 90)
    result = services.department_result(period, swu)
    assert result.total == Decimal("90.00") and result.pending == 0
    assert not result.complete and result.rank is None
    assert result.missing_levels == ["透明度", "执行力"]
    ranked = [r for r in services.ranking(period) if r.rank is not None]
    assert swu not in [r.department for r in ranked]
    rows = {r.department.code: (r.rank, r.total) for r in services.ranking(period)}
    assert rows["MZJ"] == (None, None)


def test_equal_complete_totals_share_a_rank(seeded, period):
    indicators = list(IntegrityIndicator.objects.all())

    def result(department, points):
        rows = [services.IndicatorResult(i, "scored", points=Decimal(points)) for i in indicators]
        return services.DepartmentResult(department, rows, services.weighted_total(rows), 0)

    only_one = [services.IndicatorResult(indicators[0], "scored", points=Decimal(99))] + [
        services.IndicatorResult(i, "not_applicable") for i in indicators[1:]
    ]
    partial = services.DepartmentResult(seeded.sw, only_one, Decimal("99.00"), 0)
    a, b, c = result(seeded.scjg, 80), result(seeded.sw, 80), result(seeded.scjg, 70)
    ordered = services.assign_ranks([c, partial, a, b])
    assert [(r.rank, r.total) for r in ordered] == [
        (1, Decimal("80.00")),
        (1, Decimal("80.00")),
        (3, Decimal("70.00")),
        (None, Decimal("99.00")),
    ]


def test_re_entering_replaces_the_score_and_audits_the_old_one(seeded, period, assessor):
    enter(assessor, period, seeded.sw, "LJX_LZFX", 80)
    enter(assessor, period, seeded.sw, "LJX_LZFX", 85.5)
    score = AssessorScore.objects.get(period=period, department=seeded.sw)
    assert score.points == Decimal("85.50") and score.assessor == assessor
    events = AuditEvent.objects.filter(action="integrity.assessor_score").order_by("id")
    assert events.count() == 2
    assert events[0].before is None and events[1].before["points"] == "80.00"
    assert events[1].actor_name == assessor.username and events[1].after["points"] == "85.50"


def test_assessor_entries_are_validated(seeded, period, assessor, officer):
    with pytest.raises(DomainError) as excinfo:
        enter(assessor, period, seeded.sw, "TMD_GSJS", 90)  # a computed indicator
    assert excinfo.value.code == "indicator_computed"
    with pytest.raises(DomainError) as excinfo:
        enter(assessor, period, seeded.sw, "LJX_LZFX", 101)
    assert excinfo.value.field == "points"
    with pytest.raises(DomainError) as excinfo:
        services.enter_assessor_score(
            assessor,
            period,
            seeded.sw,
            IntegrityIndicator.objects.get(code="LJX_LZFX"),
            points=90,
            evidence="  ",
        )
    assert excinfo.value.code == "evidence_required"
    with pytest.raises(Forbidden):
        enter(officer, period, seeded.scjg, "LJX_LZFX", 100)  # a department cannot score itself
    assert not AssessorScore.objects.exists()


def test_no_entry_once_the_period_is_closed(seeded, period, assessor, credit_office):
    services.close_period(period, credit_office)
    with pytest.raises(DomainError) as excinfo:
        enter(assessor, period, seeded.sw, "LJX_LZFX", 90)
    assert excinfo.value.code == "period_closed"
