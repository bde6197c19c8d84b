from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import field_validator

from creditplus.accounts.auth import AUTH
from creditplus.accounts.permissions import get_for_user, require_perm
from creditplus.catalog.models import Matter
from creditplus.errors import DomainError
from creditplus.pages import PAGE_MAX, audit_read
from creditplus.sanctions import checks, monitoring, services
from creditplus.sanctions.models import CreditCheck, Measure

router = Router(tags=["联合奖惩与信用核查"])


class MeasureOut(Schema):
    code: str
    name: str
    kind: str
    category: str
    status: str
    trigger: Literal["standing", "on_application"] = Field(
        ..., description="standing 常态实施（名单生效即推送任务）/ on_application 办理时核查触发"
    )
    automatic: str = Field("", description="常态实施的措施由平台自动实施时的方式（不推送任务）")
    coordination_level: str
    applies_to: list[str]
    list_types: list[str]
    departments: list[str]
    matters: list[str]
    legal_basis: str


class MeasureCatalogOut(Schema):
    summary: dict[str, int]
    measures: list[MeasureOut]


@router.get("/measures", response=MeasureCatalogOut, auth=None, summary="奖惩措施目录（公开）")
def measures(request: HttpRequest) -> dict[str, Any]:
    """The measure catalog with each measure's implementation status and the counts by status."""
    rows = Measure.objects.filter(is_active=True).prefetch_related(
        "list_types", "departments", "matters"
    )
    return {
        "summary": services.status_summary(),
        "measures": [
            {
                "code": m.code,
                "name": m.name,
                "kind": m.kind,
                "category": m.category,
                "status": m.status,
                "trigger": m.trigger,
                "automatic": m.automatic,
                "coordination_level": m.coordination_level,
                "applies_to": m.applies_to,
                "list_types": [t.code for t in m.list_types.all()],
                "departments": [d.code for d in m.departments.all()],
                "matters": [x.code for x in m.matters.all()],
                "legal_basis": m.basis,
            }
            for m in rows
        ],
    }


class CheckIn(Schema):
    subject: str = Field(
        ..., min_length=1, max_length=40, description="统一社会信用代码或身份证号码"
    )
    matter: str = Field(..., min_length=1, max_length=32, description="应用清单事项编码")
    purpose: str = Field(..., min_length=1, max_length=300, description="核查用途")


class MeasureBrief(Schema):
    code: str
    name: str
    kind: str
    legal_basis: str
    trigger: str = Field(..., description="on_application: this check created the task")


class CheckOut(Schema):
    check: int
    subject: str
    found: bool
    matter: str
    lists: list[dict[str, Any]]
    grade: str | None
    measures: list[MeasureBrief]


def _check_out(check: CreditCheck) -> dict[str, Any]:
    return {
        "check": check.pk,
        "subject": check.identifier,
        "found": check.subject_id is not None,
        **check.answer,
    }


@router.post("/checks", response=CheckOut, auth=AUTH, summary="信用核查（部门凭证）")
def create_check(request: HttpRequest, payload: CheckIn) -> dict[str, Any]:
    """Check a subject for a matter of the application list; recorded and audited."""
    check = checks.check_subject(request.user, payload.subject, payload.matter, payload.purpose)
    return _check_out(check)


class BulkCheckIn(Schema):
    subjects: list[str] = Field(..., min_length=1, max_length=checks.MAX_BULK)
    matter: str = Field(..., min_length=1, max_length=32)
    purpose: str = Field(..., min_length=1, max_length=300)


class BulkCheckOut(Schema):
    batch: str
    checked: int
    hits: int
    results: list[dict[str, Any]]


@router.post("/checks/bulk", response=BulkCheckOut, auth=AUTH, summary="批量信用核查（≤10000）")
def create_bulk_check(request: HttpRequest, payload: BulkCheckIn) -> dict[str, Any]:
    """Check up to 10,000 identifiers for one matter, e.g. all bidders of a procurement."""
    result = checks.check_many(request.user, payload.subjects, payload.matter, payload.purpose)
    return {
        "batch": result.batch,
        "checked": result.checked,
        "hits": result.hits,
        "results": result.rows,
    }


class ReportIn(Schema):
    outcome: str = Field(..., description="applied / not_applicable / failed")
    note: str = ""
    document_no: str = ""


class ReportOut(Schema):
    check: int
    outcome: str
    reported_at: datetime


@router.post("/checks/{check_id}/report", response=ReportOut, auth=AUTH, summary="核查结果使用反馈")
def report_check(request: HttpRequest, check_id: int, payload: ReportIn) -> dict[str, Any]:
    """Report what the department did with a check's answer (closes matching tasks)."""
    require_perm(request.user, "sanctions.add_creditcheck")
    check = get_for_user(CreditCheck.objects.all(), request.user, pk=check_id)
    check = checks.report_use(
        check,
        request.user,
        outcome=payload.outcome,
        note=payload.note,
        document_no=payload.document_no,
    )
    return {"check": check.pk, "outcome": check.report_outcome, "reported_at": check.reported_at}


class TaskOut(Schema):
    id: int
    number: str
    case: str
    subject: str
    subject_name: str
    measure: str
    measure_name: str
    department: str
    target: str
    target_name: str
    origin: str = Field(..., description="entry 名单生效推送 / check 信用核查触发")
    status: str
    due_on: date
    document_no: str


class TaskFilter(Schema):
    status: str | None = None
    origin: Literal["entry", "check"] | None = Field(
        None, description="entry 名单生效推送（常态实施）/ check 信用核查触发（办理时核查）"
    )
    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = Field(50, ge=1, le=200)


class TaskPage(Schema):
    count: int
    results: list[TaskOut]


def _task_out(t: Any) -> dict[str, Any]:
    return {
        "id": t.pk,
        "number": t.number,
        "case": t.case.number,
        "subject": t.case.subject.code,
        "subject_name": t.case.subject.name,
        "measure": t.measure.code,
        "measure_name": t.measure.name,
        "department": t.department.code,
        "target": t.target,
        "target_name": t.target_name,
        "origin": t.origin,
        "status": t.status,
        "due_on": t.due_on,
        "document_no": t.document_no,
    }


@router.get("/tasks", response=TaskPage, auth=AUTH, summary="实施任务（本部门）")
def tasks(request: HttpRequest, params: Query[TaskFilter]) -> dict[str, Any]:
    """The department's task inbox (all departments for the credit office)."""
    require_perm(request.user, "sanctions.view_sanctiontask")
    qs = services.tasks_for(request.user)
    if params.status:
        qs = qs.filter(status=params.status)
    if params.origin:
        qs = qs.filter(origin=params.origin)
    start = (params.page - 1) * params.page_size
    results = [_task_out(t) for t in qs[start : start + params.page_size]]
    audit_read(
        "sanction.tasks.query",
        "sanctions.sanctiontask",
        _("查询实施任务"),
        len(results),
        request.GET.urlencode(),
    )
    return {"count": qs.count(), "results": results}


class FeedbackIn(Schema):
    outcome: str = Field(..., description="applied / not_applicable / failed")
    note: str = ""
    matter: str | None = None
    document_no: str = ""


@router.post("/tasks/{task_id}/feedback", response=TaskOut, auth=AUTH, summary="实施反馈")
def feedback(request: HttpRequest, task_id: int, payload: FeedbackIn) -> dict[str, Any]:
    """Record the outcome of a task: applied (matter and document), not applicable or failed."""
    require_perm(request.user, "sanctions.change_sanctiontask")
    task = get_for_user(services.tasks_for(request.user), request.user, pk=task_id)
    matter = None
    if payload.matter:
        matter = Matter.objects.filter(code=payload.matter.upper(), is_active=True).first()
        if matter is None:
            raise DomainError("matter_unknown", _("应用清单中没有该事项"), "matter")
    task = services.give_feedback(
        task,
        request.user,
        outcome=payload.outcome,
        note=payload.note,
        matter=matter,
        document_no=payload.document_no,
    )
    return _task_out(services.tasks_for(request.user).get(pk=task.pk))


class WatchIn(Schema):
    subjects: list[str] = Field(..., min_length=1, max_length=monitoring.MAX_WATCH_CODES)
    note: str = Field("", max_length=200)


class WatchOut(Schema):
    added: int
    existing: int
    unknown: list[str]


@router.post("/watches", response=WatchOut, auth=AUTH, summary="信用预警：订阅主体")
def watch(request: HttpRequest, payload: WatchIn) -> dict[str, Any]:
    """Watch subjects by code; unknown codes are listed in the answer."""
    result = monitoring.subscribe(request.user, payload.subjects, payload.note)
    return {"added": result.added, "existing": result.existing, "unknown": result.unknown}


class AlertOut(Schema):
    id: int
    kind: str
    subject: str
    title: str
    detail: dict[str, Any]
    created_at: datetime
    digest: bool


class AlertFilter(Schema):
    since: datetime | None = None
    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = Field(100, ge=1, le=500)

    @field_validator("since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Any offset the ISO format allows (up to ±23:59), given to the database in UTC:
        PostgreSQL refuses offsets beyond ±15:59."""
        if value is None:
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValueError("时间超出可处理的范围") from None


@router.get("/alerts", response=list[AlertOut], auth=AUTH, summary="信用预警：本部门预警")
def alerts(request: HttpRequest, params: Query[AlertFilter]) -> list[dict[str, Any]]:
    """The department's alerts, newest first (poll with ``since``)."""
    require_perm(request.user, "sanctions.view_alert")
    qs = monitoring.alerts_for(request.user)
    if params.since:
        qs = qs.filter(created_at__gt=params.since)
    start = (params.page - 1) * params.page_size
    results = [
        {
            "id": a.pk,
            "kind": a.kind,
            "subject": a.subject.code,
            "title": a.title,
            "detail": a.detail,
            "created_at": a.created_at,
            "digest": a.digest,
        }
        for a in qs[start : start + params.page_size]
    ]
    audit_read(
        "alert.query", "sanctions.alert", _("查询信用预警"), len(results), request.GET.urlencode()
    )
    return results
