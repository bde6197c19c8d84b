"""政务诚信评价 (government integrity evaluation of departments): the indicator system as data,
assessment periods, the metrics computed from platform data, third-party assessor scores,
the ranking, the shortcoming report and the trend.

Scoring rules (also stated in ``integrity_indicators.yaml`` and shown on the pages):

- A computed indicator's **value** is a rate (0–1) over the department's cases in the
  period; its **points** (0–100) follow the indicator's ``scoring``: ``linear`` gives 0 at or
  below ``zero_at``, 100 at or above ``full_at``, in proportion between (two decimals).
- **Not applicable**: a department without a single case of a metric in the period (no
  双公示 record received, no task or objection due) gets no points for it, and the
  indicator's weight is left out of its total — the other indicators' weights are scaled up
  in proportion ("redistributed"). Nobody is rewarded or punished for having no cases.
- **Pending**: an assessor indicator without an assessor score counts the same way until
  the score is entered; the total is provisional while anything is pending.
- **Total** = Σ weight × points / Σ weight over the scored indicators (0–100, two decimals);
  a department with no scored indicator has no total.
- **Ranking**: only complete results are ranked — nothing pending and a score on each
  first-level indicator that any department was scored on in the period — by total,
  highest first; equal totals share a rank (1, 2, 2, 4). Provisional results are listed
  apart, without a rank.

Which cases fall in a period: 双公示 records first received (version 1) in it; ingest batches
submitted in it; sanction tasks and objections whose deadline falls in it. A task or
objection still open is late once its deadline has passed on the computation date
(``as_of``); one still open and not yet due is not counted; a task closed without feedback
(its case ended when the entry left the list) is not counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm
from creditplus.accounts.services import read_reference
from creditplus.catalog import calendar
from creditplus.catalog.models import CatalogItem
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError, NotFound
from creditplus.integrity.choices import PeriodKind, PeriodStatus, ScoreStatus, Source
from creditplus.integrity.models import (
    AssessmentPeriod,
    AssessorScore,
    DepartmentScore,
    IntegrityIndicator,
)
from creditplus.lists.attachments import check_files
from creditplus.lists.models import Deadline, Objection
from creditplus.records.choices import BatchStatus
from creditplus.records.disclosure import DUAL_ITEMS
from creditplus.records.models import CreditRecord, IngestBatch
from creditplus.sanctions.models import SanctionTask

Figures = dict[str, Any]
TWO = Decimal("0.01")
# Periods shown in a department's trend chart.
TREND_PERIODS = 8

# ----------------------------------------------------------------------------- reference data


@transaction.atomic
def load_indicators() -> str:
    """Load ``integrity_indicators.yaml``: 3 first-level indicators of 2 second-level ones
    each, weights summing to 100, a known metric and scoring for every computed one."""
    data = read_reference("integrity_indicators.yaml")
    levels = data["levels"]
    indicators = [(level, i) for level in levels for i in level["indicators"]]
    if (
        len(levels) != 3
        or any(len(level["indicators"]) != 2 for level in levels)
        or sum(int(i["weight"]) for _l, i in indicators) != 100
    ):
        raise DomainError(
            "reference_invalid", "政务诚信指标应为3个一级指标、各2个二级指标，权重合计100"
        )
    results = []
    for order, (level, i) in enumerate(indicators, start=1):
        source = i["source"]
        if source not in Source.values:
            raise DomainError("reference_invalid", f"政务诚信指标 {i['code']}：来源 {source} 未知")
        if source == Source.COMPUTED and (
            i.get("metric") not in METRICS or (i.get("scoring") or {}).get("kind") != "linear"
        ):
            raise DomainError(
                "reference_invalid",
                f"政务诚信指标 {i['code']}：计算指标应为 {sorted(METRICS)} 之一，计分规则为 linear",
            )
        results.append(
            upsert_reference(
                IntegrityIndicator,
                {"code": i["code"]},
                data["version"],
                {
                    "name": i["name"],
                    "level1_code": level["code"],
                    "level1_name": level["name"],
                    "weight": int(i["weight"]),
                    "source": source,
                    "metric": i.get("metric", "") if source == Source.COMPUTED else "",
                    "scoring": i.get("scoring") or {},
                    "description": " ".join(str(i.get("description", "")).split()),
                    "advice": "".join(str(i.get("advice", "")).split()),
                    "sort_order": order,
                },
            )
        )
    return load_summary("政务诚信指标", results)


def scoring_rules() -> dict[str, str]:
    """The not-applicable and pending rules as the indicator file states them (for pages)."""
    return dict(read_reference("integrity_indicators.yaml").get("rules") or {})


# ----------------------------------------------------------------------------- periods

PERIOD_CODE = re.compile(r"^(?P<year>20\d{2})(?:Q(?P<quarter>[1-4]))?$")


def period_bounds(code: str) -> tuple[str, date, date]:
    """Kind, first and last day of the period named ``code`` (``2026Q3`` or ``2026``)."""
    match = PERIOD_CODE.match(code.strip().upper())
    if match is None:
        raise DomainError(
            "period_code", _("评价周期编码应为年度（如 2026）或季度（如 2026Q3）"), "period"
        )
    year = int(match["year"])
    if match["quarter"] is None:
        return PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31)
    q = int(match["quarter"])
    start = date(year, 3 * q - 2, 1)
    return PeriodKind.QUARTER, start, calendar.add_months(start, 3) - timedelta(days=1)


def current_quarter(today: date | None = None) -> str:
    """The code of the quarter containing ``today`` (e.g. ``2026Q3``)."""
    today = today or timezone.localdate()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


@transaction.atomic
def ensure_period(code: str) -> AssessmentPeriod:
    """The period named ``code``, created (audited) if it does not exist yet."""
    kind, start, end = period_bounds(code)
    code = code.strip().upper()
    period, created = AssessmentPeriod.objects.get_or_create(
        code=code, defaults={"kind": kind, "start": start, "end": end}
    )
    if created:
        audit.record(
            "integrity.period.create",
            obj=period,
            after={"kind": kind, "start": start, "end": end},
        )
    return period


def get_period(code: str) -> AssessmentPeriod:
    """The period named ``code`` or :class:`NotFound`."""
    period = AssessmentPeriod.objects.filter(code=code.strip().upper()).first()
    if period is None:
        raise NotFound()
    return period


def _lock_open(period: AssessmentPeriod) -> AssessmentPeriod:
    # Row lock on the period: a recompute, an assessor entry and closing the period must not
    # interleave (closing waits for an entry in progress and the entry then sees "closed").
    period = AssessmentPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status != PeriodStatus.OPEN:
        raise DomainError("period_closed", _("该评价周期已结束，不能再修改"), status=409)
    return period


@transaction.atomic
def close_period(period: AssessmentPeriod, user: Any) -> AssessmentPeriod:
    """End the period: its scores are final, no recompute and no assessor entry any more."""
    require_perm(user, "integrity.change_assessmentperiod")
    period = _lock_open(period)
    period.status = PeriodStatus.CLOSED
    period.closed_at = timezone.now()
    period.save(update_fields=["status", "closed_at"])
    audit.record(
        "integrity.period.close",
        obj=period,
        before={"status": PeriodStatus.OPEN},
        after={"status": PeriodStatus.CLOSED},
    )
    return period


# ----------------------------------------------------------------------------- metrics


def _day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Aware datetimes from the start of ``start`` to the start of the day after ``end``."""
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def _rate(numerator: int, total: int) -> float:
    return round(numerator / total, 4)


def _earliest_timely_decision(received: date, limit: int) -> date:
    """The earliest decision date whose record, received on ``received``, is within ``limit``
    working days: the lag only shrinks as the decision date moves later, so the timely
    decisions are exactly those on or after this date."""
    window = 2 * limit + 40  # holidays (春节, 国庆) add at most about two weeks of days off
    days = np.arange(
        np.datetime64(received - timedelta(days=window)), np.datetime64(received + timedelta(1))
    )
    lag = calendar.working_days_between_many(days, np.full(days.shape, np.datetime64(received)))
    first = int(np.argmax(lag <= limit))
    if first == 0:  # a limit so long that the window does not reach an untimely day
        raise ValueError(f"deadline of {limit} working days exceeds the {window}-day window")
    return received - timedelta(days=window - first)


def publicity_timeliness(start: date, end: date, as_of: date) -> dict[int, Figures]:
    """双公示 timeliness per department: of the 行政许可 and 行政处罚 records first received
    (version 1) in the period, the share received within the item's
    ``publicity.deadline_working_days`` working days after its decision date (working days
    of the calendar, as on the data-quality page).

    Set-based: one aggregate query per day of the period over that day's receipts (a range
    of the ``(item, received_at)`` index, no per-row date function), counting the timely
    ones by a decision-date threshold computed once per day and item."""
    items = CatalogItem.objects.filter(code__in=DUAL_ITEMS)
    limits = {i.pk: int(i.spec.publicity.get("deadline_working_days", 7)) for i in items}
    totals: dict[int, list[int]] = {}  # department → [total, timely, limit]
    day = start
    while day <= end:
        since, until = _day_range(day, day)
        timely = Q()
        for item_id, limit in limits.items():
            threshold = _earliest_timely_decision(day, limit)
            timely |= Q(item_id=item_id, decision_date__gte=threshold)
        rows = (
            CreditRecord.objects.filter(
                item_id__in=list(limits),
                version=1,
                received_at__gte=since,
                received_at__lt=until,
                decision_date__isnull=False,
            )
            .values_list("department_id", "item_id")
            .annotate(n=Count("id"), timely=Count("id", filter=timely))
            .order_by()
        )
        for department, item_id, n, on_time in rows:
            figures = totals.setdefault(department, [0, 0, 0])
            figures[0] += n
            figures[1] += on_time
            figures[2] = max(figures[2], limits[item_id])
        day += timedelta(days=1)
    return {
        department: {
            "total": total,
            "timely": timely,
            "late": total - timely,
            "limit": limit,
            "rate": _rate(timely, total),
        }
        for department, (total, timely, limit) in totals.items()
    }


def data_quality(start: date, end: date, as_of: date) -> dict[int, Figures]:
    """Acceptance rate per department: of the rows in its ingest batches submitted in the
    period (completed batches, as on the data-quality page), the share not rejected."""
    since, until = _day_range(start, end)
    rows = (
        IngestBatch.objects.filter(
            status=BatchStatus.DONE, created_at__gte=since, created_at__lt=until
        )
        .values("department_id")
        .annotate(batches=Count("id"), total=Sum("submitted"), rejected=Sum("rejected"))
        .order_by()
    )
    return {
        r["department_id"]: {
            "batches": r["batches"],
            "total": r["total"],
            "accepted": r["total"] - r["rejected"],
            "rejected": r["rejected"],
            "rate": _rate(r["total"] - r["rejected"], r["total"]),
        }
        for r in rows
        if r["total"]
    }


def _done_by_due_day(done_at: str, first: date, last: date) -> Q:
    """Done on or before its due day, for rows due from ``first`` to ``last``: one range
    predicate per due day (before the next local midnight) instead of a per-row date
    function on ``done_at``."""
    on_time = Q()
    day = first
    while day <= last:
        on_time |= Q(due_on=day, **{f"{done_at}__lt": _day_range(day, day)[1]})
        day += timedelta(days=1)
    return on_time


def _deadline_rate(
    qs: QuerySet[Any], done_at: str, limit: int, period: tuple[date, date], as_of: date
) -> dict[int, Figures]:
    """On-time share per department of ``qs`` (rows with a ``due_on`` in ``period``): done
    on or before ``due_on`` counts as on time; still open after ``due_on`` as late; still open
    and not yet due is not counted. One query per month of the period (a month's due days
    make a short ``OR`` of range predicates)."""
    qs = qs.exclude(**{f"{done_at}__isnull": True, "due_on__gte": as_of})
    totals: dict[int, list[int]] = {}  # department → [total, on time, overdue open]
    first, end = period
    while first <= end:
        last = min(end, calendar.add_months(first.replace(day=1), 1) - timedelta(days=1))
        rows = (
            qs.filter(due_on__gte=first, due_on__lte=last)
            .values_list("department_id")
            .annotate(
                total=Count("id"),
                on_time=Count("id", filter=_done_by_due_day(done_at, first, last)),
                overdue_open=Count("id", filter=Q(**{f"{done_at}__isnull": True})),
            )
            .order_by()
        )
        for department, *counts in rows:
            figures = totals.setdefault(department, [0, 0, 0])
            for k, n in enumerate(counts):
                figures[k] += n
        first = last + timedelta(days=1)
    return {
        department: {
            "total": total,
            "on_time": on_time,
            "late": total - on_time,
            "overdue_open": overdue_open,
            "limit": limit,
            "rate": _rate(on_time, total),
        }
        for department, (total, on_time, overdue_open) in totals.items()
        if total
    }


def sanction_feedback(start: date, end: date, as_of: date) -> dict[int, Figures]:
    """联合奖惩 feedback on time per implementing department: of its tasks due in the period,
    the share fed back on or before the due date (the ``sanction_feedback`` deadline). Both
    kinds count (``SanctionTask…owed()``): standing-measure tasks an entry pushed, fed back in
    the inbox, and tasks a credit check triggered, fed back by the check's report; tasks
    closed without feedback (the entry ended, the measure became on-application) do not."""
    return _deadline_rate(
        SanctionTask.objects.owed(),
        "fed_back_at",
        Deadline.days("sanction_feedback"),
        (start, end),
        as_of,
    )


def objection_answer(start: date, end: date, as_of: date) -> dict[int, Figures]:
    """Objections answered on time per owning department: of the objections against its
    records and list entries due in the period, the share answered on or before the due date."""
    return _deadline_rate(
        Objection.objects.all(),
        "answered_at",
        Deadline.days("objection_answer"),
        (start, end),
        as_of,
    )


Metric = Callable[[date, date, date], dict[int, Figures]]
METRICS: dict[str, Metric] = {
    "publicity_timeliness": publicity_timeliness,
    "data_quality": data_quality,
    "sanction_feedback": sanction_feedback,
    "objection_answer": objection_answer,
}


def points_for(rate: float, scoring: dict[str, Any]) -> Decimal:
    """Points (0–100, two decimals) of ``rate`` under a ``linear`` scoring rule."""
    zero, full = float(scoring["zero_at"]), float(scoring["full_at"])
    share = min(max((rate - zero) / (full - zero), 0.0), 1.0)
    return (Decimal(str(share)) * 100).quantize(TWO, rounding=ROUND_HALF_UP)


# ----------------------------------------------------------------------------- computation


def assessed_departments() -> QuerySet[Department]:
    """The departments evaluated: every active department."""
    return Department.objects.filter(is_active=True)


@transaction.atomic
def compute_period(period: AssessmentPeriod, *, as_of: date | None = None) -> int:
    """Compute every computed indicator of every department for ``period`` and replace the
    period's computed scores (idempotent: computing again gives the same rows). Assessor
    scores are kept. Refused for a closed period. Returns the number of score rows."""
    period = _lock_open(period)
    as_of = as_of or timezone.localdate()
    indicators = list(IntegrityIndicator.objects.filter(source=Source.COMPUTED))
    figures = {
        metric: METRICS[metric](period.start, period.end, as_of)
        for metric in {i.metric for i in indicators}
    }
    now = timezone.now()
    departments = list(assessed_departments().values_list("pk", flat=True))
    rows = []
    for department_id in departments:
        for indicator in indicators:
            f = figures[indicator.metric].get(department_id)
            rows.append(
                DepartmentScore(
                    period=period,
                    department_id=department_id,
                    indicator=indicator,
                    source=Source.COMPUTED,
                    value=f["rate"] if f else None,
                    points=points_for(f["rate"], indicator.scoring) if f else None,
                    figures=f or {},
                    computed_at=now,
                )
            )
    removed, _detail = DepartmentScore.objects.filter(period=period).delete()
    DepartmentScore.objects.bulk_create(rows)
    period.computed_at, period.computed_as_of = now, as_of
    period.save(update_fields=["computed_at", "computed_as_of"])
    audit.record(
        "integrity.compute",
        obj=period,
        before={"scores": removed},
        after={
            "scores": len(rows),
            "departments": len(departments),
            "as_of": as_of,
            "not_applicable": sum(1 for r in rows if r.points is None),
        },
    )
    return len(rows)


@transaction.atomic
def enter_assessor_score(
    user: Any,
    period: AssessmentPeriod,
    department: Department,
    indicator: IntegrityIndicator,
    *,
    points: Decimal | float | int | str,
    evidence: str,
    evidence_file: UploadedFile | None = None,
) -> AssessorScore:
    """A third-party assessor enters (or replaces) the score of an assessor indicator of one
    department, with the evidence it rests on (text, optionally a file)."""
    require_perm(user, "integrity.add_assessorscore")
    period = _lock_open(period)
    if indicator.source != Source.ASSESSOR:
        raise DomainError(
            "indicator_computed", _("该指标由平台数据计算，不能录入评估得分"), "indicator"
        )
    if not department.is_active:
        raise NotFound(field="department")
    try:
        value = Decimal(str(points)).quantize(TWO, rounding=ROUND_HALF_UP)
    except ArithmeticError:
        raise DomainError("points_invalid", _("得分应为 0–100 的数字"), "points") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise DomainError("points_invalid", _("得分应为 0–100 的数字"), "points")
    if not evidence.strip():
        raise DomainError("evidence_required", _("请填写评估依据"), "evidence")
    if evidence_file is not None:
        check_files([evidence_file])
    score = (
        AssessorScore.objects.select_for_update()
        .filter(period=period, department=department, indicator=indicator)
        .first()
    )
    before = None
    if score is None:
        score = AssessorScore(period=period, department=department, indicator=indicator)
    else:
        before = {"points": score.points, "evidence": score.evidence}
    score.points = value
    score.evidence = evidence.strip()
    score.assessor = user
    score.entered_at = timezone.now()
    if evidence_file is not None:
        score.evidence_file = evidence_file
    score.save()
    audit.record(
        "integrity.assessor_score",
        obj=score,
        purpose=_("第三方评估录入"),
        before=before,
        after={
            "period": period.code,
            "department": department.code,
            "indicator": indicator.code,
            "points": value,
            "evidence": score.evidence[:200],
            "file": score.evidence_file.name if score.evidence_file else "",
        },
    )
    return score


# ----------------------------------------------------------------------------- results


@dataclass
class IndicatorResult:
    """One second-level indicator of one department in one period."""

    indicator: IntegrityIndicator
    status: str
    points: Decimal | None = None
    value: float | None = None
    figures: Figures = field(default_factory=dict)
    evidence: str = ""
    assessor: str = ""
    entered_at: datetime | None = None
    evidence_file_of: int | None = None  # the assessor score whose evidence file there is

    @property
    def status_label(self) -> str:
        return str(ScoreStatus(self.status).label)

    @property
    def value_pct(self) -> str:
        return "" if self.value is None else f"{self.value * 100:.1f}%"


@dataclass
class Level1Result:
    code: str
    name: str
    weight: int
    points: Decimal | None


@dataclass
class DepartmentResult:
    """One department's indicators, first-level subtotals and total in one period."""

    department: Department
    indicators: list[IndicatorResult]
    total: Decimal | None
    pending: int
    rank: int | None = None
    # First-level indicators that other departments were scored on in the period (see
    # expect_comparable_levels): a total without one of them is not comparable.
    expected_levels: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        """Final and comparable: a total, nothing pending, and a score on every first-level
        indicator (透明度, 执行力, 廉洁性) that any department was scored on in the period —
        a total built on 廉洁性 alone is not ranked among totals built on all three."""
        return self.total is not None and self.pending == 0 and not self.missing_levels

    @property
    def missing_levels(self) -> list[str]:
        """The expected first-level indicators without any scored second-level indicator."""
        return [
            lv.name for lv in self.levels if lv.code in self.expected_levels and lv.points is None
        ]

    @property
    def levels(self) -> list[Level1Result]:
        """First-level indicators: weight = sum of their two, points = weighted mean of the
        scored ones (``None`` when neither is scored)."""
        out: dict[str, list[IndicatorResult]] = {}
        for r in self.indicators:
            out.setdefault(r.indicator.level1_code, []).append(r)
        return [
            Level1Result(
                code,
                rows[0].indicator.level1_name,
                sum(r.indicator.weight for r in rows),
                weighted_total(rows),
            )
            for code, rows in out.items()
        ]


def expect_comparable_levels(results: list[DepartmentResult]) -> list[DepartmentResult]:
    """Mark on each result the first-level indicators scored for at least one department:
    those a result must have to be ranked. One that nobody could be scored on in the period
    (e.g. 执行力 with no task or objection due anywhere) is asked of nobody."""
    scored = frozenset(lv.code for r in results for lv in r.levels if lv.points is not None)
    for r in results:
        r.expected_levels = scored
    return results


def weighted_total(rows: Iterable[IndicatorResult]) -> Decimal | None:
    """Σ weight × points / Σ weight over the scored ``rows`` (not applicable and pending
    indicators left out, their weight redistributed); ``None`` when none is scored."""
    scored = [r for r in rows if r.points is not None]
    weight = sum(r.indicator.weight for r in scored)
    if not weight:
        return None
    total = sum(Decimal(r.indicator.weight) * r.points for r in scored) / Decimal(weight)
    return total.quantize(TWO, rounding=ROUND_HALF_UP)


def department_results(
    period: AssessmentPeriod, departments: QuerySet[Department] | None = None
) -> list[DepartmentResult]:
    """The results of ``departments`` (default: all assessed) in ``period``, in department
    order: computed scores and assessor scores read in two queries."""
    departments = assessed_departments() if departments is None else departments
    departments = list(departments.order_by("sort_order", "code"))
    ids = [d.pk for d in departments]
    indicators = list(IntegrityIndicator.objects.all())
    computed = {
        (s.department_id, s.indicator_id): s
        for s in DepartmentScore.objects.filter(period=period, department_id__in=ids)
    }
    assessed = {
        (s.department_id, s.indicator_id): s
        for s in AssessorScore.objects.filter(period=period, department_id__in=ids).select_related(
            "assessor"
        )
    }
    results = []
    for d in departments:
        rows = []
        for i in indicators:
            if i.source == Source.ASSESSOR:
                a = assessed.get((d.pk, i.pk))
                if a is None:
                    rows.append(IndicatorResult(i, ScoreStatus.PENDING))
                else:
                    rows.append(
                        IndicatorResult(
                            i,
                            ScoreStatus.SCORED,
                            points=a.points,
                            figures={"points": str(a.points)},
                            evidence=a.evidence,
                            assessor=a.assessor.first_name or a.assessor.get_username(),
                            entered_at=a.entered_at,
                            evidence_file_of=a.pk if a.evidence_file else None,
                        )
                    )
                continue
            s = computed.get((d.pk, i.pk))
            if s is None or s.points is None:
                # Not computed yet, or no case in the period: not applicable.
                rows.append(IndicatorResult(i, ScoreStatus.NOT_APPLICABLE))
            else:
                rows.append(
                    IndicatorResult(
                        i, ScoreStatus.SCORED, points=s.points, value=s.value, figures=s.figures
                    )
                )
        results.append(
            DepartmentResult(
                department=d,
                indicators=rows,
                total=weighted_total(rows),
                pending=sum(1 for r in rows if r.status == ScoreStatus.PENDING),
            )
        )
    return expect_comparable_levels(results)


def ranking(period: AssessmentPeriod) -> list[DepartmentResult]:
    """All assessed departments: the complete results ranked by total, highest first (equal
    totals share a rank), then the provisional ones (an indicator pending or a first-level
    indicator unscored) by total without a rank, then those without a total."""
    return assign_ranks(department_results(period))


def assign_ranks(results: list[DepartmentResult]) -> list[DepartmentResult]:
    """Order ``results`` as :func:`ranking` shows them and rank the complete ones."""
    expect_comparable_levels(results)
    results.sort(
        key=lambda r: (
            not r.complete,
            r.total is None,
            -(r.total or 0),
            r.department.sort_order,
            r.department.code,
        )
    )
    previous: Decimal | None = None
    rank = 0
    for position, r in enumerate(results, start=1):
        if not r.complete:
            break
        if r.total != previous:
            rank, previous = position, r.total
        r.rank = rank
    return results


def department_result(period: AssessmentPeriod, department: Department) -> DepartmentResult:
    """One department's result with its rank among all departments."""
    return next(r for r in ranking(period) if r.department.pk == department.pk)


# ----------------------------------------------------------------------------- report


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "—"


@dataclass
class Shortcoming:
    result: IndicatorResult
    advice: str


def advice_for(result: IndicatorResult) -> str:
    """The indicator's advice sentence with its figures filled in."""
    values = _Blank({k: v for k, v in result.figures.items() if v is not None})
    values["rate_pct"] = result.value_pct or "—"
    values["points"] = "—" if result.points is None else f"{result.points:g}"
    return result.indicator.advice.format_map(values)


def shortcomings(result: DepartmentResult) -> list[Shortcoming]:
    """The weakest indicator(s): the scored indicators with the lowest points, if below full
    points (several when tied), each with the advice sentence of its figures."""
    scored = [r for r in result.indicators if r.points is not None]
    if not scored:
        return []
    lowest = min(r.points for r in scored)
    if lowest >= 100:
        return []
    return [Shortcoming(r, advice_for(r)) for r in scored if r.points == lowest]


@dataclass
class TrendPoint:
    period: str
    total: Decimal | None
    rank: int | None
    levels: dict[str, Decimal | None]


def trend(department: Department, period: AssessmentPeriod) -> list[TrendPoint]:
    """The department's total, rank and first-level points over the computed periods of the
    same kind up to ``period`` (the last :data:`TREND_PERIODS`)."""
    periods = list(
        AssessmentPeriod.objects.filter(
            kind=period.kind, start__lte=period.start, computed_at__isnull=False
        ).order_by("-start")[:TREND_PERIODS]
    )
    points = []
    for p in reversed(periods):
        r = department_result(p, department)
        points.append(TrendPoint(p.code, r.total, r.rank, {lv.name: lv.points for lv in r.levels}))
    return points
