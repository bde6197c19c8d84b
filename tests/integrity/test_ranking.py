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
    # Computed only (hand-checked in test_scores.py): SW 81.82 before SCJG 48.15.
    assert ranks(period) == [(1, "SW", Decimal("81.82")), (2, "SCJG", Decimal("48.15"))]
    # SCJG gets 100 on both assessor indicators: (3611.30 + 15 × 100 + 10 × 100) / 100 = 61.11.
    enter(assessor, period, seeded.scjg, "LJX_LZFX", 100)
    enter(assessor, period, seeded.scjg, "LJX_GZMY", 100)
    # SW still pending on both → 81.82, still first.
    assert ranks(period) == [(1, "SW", Decimal("81.82")), (2, "SCJG", Decimal("61.11"))]
    # SW gets 0 for 廉洁风险防控: (4500 + 15 × 0) / 70 = 64.29 — still first.
    enter(assessor, period, seeded.sw, "LJX_LZFX", 0)
    assert ranks(period)[0] == (1, "SW", Decimal("64.29"))
    # …and 0 for 公众满意度: 4500 / 80 = 56.25 — SCJG (61.11) is now first.
    enter(assessor, period, seeded.sw, "LJX_GZMY", 0)
    assert ranks(period) == [(1, "SCJG", Decimal("61.11")), (2, "SW", Decimal("56.25"))]
    result = services.department_result(period, seeded.scjg)
    assert result.complete and result.rank == 1


def test_equal_totals_share_a_rank_and_departments_without_data_have_none(seeded, period, assessor):
    from creditplus.accounts.models import Department

    # 区水务局 and 海关 have no data in the period; one assessor score of 90 each is their total.
    swu, hg = Department.objects.get(code="SWU"), Department.objects.get(code="HG")
    assert services.department_result(period, swu).rank is None
    enter(assessor, period, swu, "LJX_GZMY", 90)
    enter(assessor, period, hg, "LJX_GZMY", 90)
    rows = {r.department.code: (r.rank, r.total) for r in services.ranking(period)}
    assert rows["SWU"] == rows["HG"] == (1, Decimal("90.00"))
    assert rows["SW"] == (3, Decimal("81.82")) and rows["SCJG"][0] == 4
    assert rows["MZJ"] == (None, None)


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
