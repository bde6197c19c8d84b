"""API of government integrity evaluation (政务诚信): periods, department scores, ranking, and
the third-party assessor's score entry. Department roles see their own department only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from creditplus.accounts.auth import AUTH
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.errors import NotFound
from creditplus.integrity import services
from creditplus.integrity.models import AssessmentPeriod, IntegrityIndicator
from creditplus.pages import audit_read

router = Router(tags=["政务诚信评价"])


class PeriodOut(Schema):
    code: str
    kind: str
    start: date
    end: date
    status: str
    computed_at: datetime | None
    computed_as_of: date | None


@router.get("/integrity/periods", response=list[PeriodOut], auth=AUTH, summary="评价周期")
def periods(request: HttpRequest) -> list[AssessmentPeriod]:
    """The assessment periods, newest first."""
    require_perm(request.user, "integrity.view_assessmentperiod")
    return list(AssessmentPeriod.objects.all())


class IndicatorOut(Schema):
    code: str
    name: str
    level1: str
    weight: int
    source: str
    status: str = Field(..., description="scored / not_applicable / pending")
    value: float | None
    points: Decimal | None
    figures: dict[str, Any]


class LevelOut(Schema):
    code: str
    name: str
    weight: int
    points: Decimal | None


class DepartmentScoresOut(Schema):
    department: str
    department_name: str
    rank: int | None
    total: Decimal | None
    complete: bool
    pending: int
    levels: list[LevelOut]
    indicators: list[IndicatorOut]


class RankingRow(Schema):
    rank: int | None
    department: str
    department_name: str
    total: Decimal | None
    complete: bool
    pending: int


def _scoped(request: HttpRequest, code: str) -> tuple[AssessmentPeriod, list[Any]]:
    require_perm(request.user, "integrity.view_departmentscore")
    period = services.get_period(code)
    visible = set(
        restrict(services.assessed_departments(), request.user, "pk").values_list("pk", flat=True)
    )
    return period, [r for r in services.ranking(period) if r.department.pk in visible]


def _department_out(r: services.DepartmentResult) -> dict[str, Any]:
    return {
        "department": r.department.code,
        "department_name": r.department.name,
        "rank": r.rank,
        "total": r.total,
        "complete": r.complete,
        "pending": r.pending,
        "levels": [vars(lv) for lv in r.levels],
        "indicators": [
            {
                "code": i.indicator.code,
                "name": i.indicator.name,
                "level1": i.indicator.level1_code,
                "weight": i.indicator.weight,
                "source": i.indicator.source,
                "status": i.status,
                "value": i.value,
                "points": i.points,
                "figures": i.figures,
            }
            for i in r.indicators
        ],
    }


@router.get(
    "/integrity/periods/{code}/scores",
    response=list[DepartmentScoresOut],
    auth=AUTH,
    summary="部门指标得分（本部门）",
)
def scores(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    """Every visible department's indicators, first-level subtotals and total in the period
    (the own department for department roles, all for the credit office)."""
    period, rows = _scoped(request, code)
    audit_read(
        "integrity.scores.query",
        "integrity.departmentscore",
        _("查询政务诚信得分"),
        len(rows),
        period.code,
    )
    return [_department_out(r) for r in rows]


@router.get(
    "/integrity/periods/{code}/ranking",
    response=list[RankingRow],
    auth=AUTH,
    summary="部门排名（本部门）",
)
def ranking(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    """The ranking by total (rank among all departments); department roles get their own
    row only."""
    period, rows = _scoped(request, code)
    audit_read(
        "integrity.ranking.query",
        "integrity.departmentscore",
        _("查询政务诚信排名"),
        len(rows),
        period.code,
    )
    return [
        {
            "rank": r.rank,
            "department": r.department.code,
            "department_name": r.department.name,
            "total": r.total,
            "complete": r.complete,
            "pending": r.pending,
        }
        for r in rows
    ]


class AssessorScoreIn(Schema):
    department: str = Field(..., min_length=1, max_length=32, description="部门编码")
    indicator: str = Field(..., min_length=1, max_length=16, description="第三方评估指标编码")
    points: Decimal = Field(..., ge=0, le=100, max_digits=5, decimal_places=2)
    evidence: str = Field(..., min_length=1, max_length=5000, description="评估依据")


class AssessorScoreOut(Schema):
    period: str
    department: str
    indicator: str
    points: Decimal
    evidence: str
    entered_at: datetime


@router.post(
    "/integrity/periods/{code}/assessor-scores",
    response=AssessorScoreOut,
    auth=AUTH,
    summary="录入第三方评估得分",
)
def enter_score(request: HttpRequest, code: str, payload: AssessorScoreIn) -> dict[str, Any]:
    """Enter (or replace) a third-party score of an assessor indicator for one department."""
    require_perm(request.user, "integrity.add_assessorscore")
    period = services.get_period(code)
    department = Department.objects.filter(code=payload.department, is_active=True).first()
    indicator = IntegrityIndicator.objects.filter(code=payload.indicator).first()
    if department is None:
        raise NotFound(field="department")
    if indicator is None:
        raise NotFound(field="indicator")
    score = services.enter_assessor_score(
        request.user,
        period,
        department,
        indicator,
        points=payload.points,
        evidence=payload.evidence,
    )
    return {
        "period": period.code,
        "department": department.code,
        "indicator": indicator.code,
        "points": score.points,
        "evidence": score.evidence,
        "entered_at": score.entered_at,
    }
