from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from creditplus.accounts import audit
from creditplus.accounts.auth import AUTH
from creditplus.accounts.permissions import get_for_user, require_perm
from creditplus.errors import DomainError, NotFound
from creditplus.pages import PAGE_MAX, audit_read
from creditplus.subjects.models import Subject
from creditplus.supervision import dual_notice, inspections, services
from creditplus.supervision.choices import Channel
from creditplus.supervision.models import Commitment, CommitmentTemplate, SupervisionField

router = Router(tags=["信用监管"])


class SupervisionOut(Schema):
    code: str
    name: str
    field: str
    field_name: str
    grade: str
    grade_source: str = Field(..., description="evaluation / blacklist / default（未评价）")
    ratio: float = Field(..., description="双随机抽查比例（0–1）")
    per_year: int = Field(..., description="每年常规检查次数")
    lane: str = Field(..., description="fast / normal / slow")
    lane_label: str
    measures: str
    basis: str


@router.get(
    "/subjects/{code}/supervision",
    response=SupervisionOut,
    auth=AUTH,
    summary="信用分类监管：主体在某监管领域当前适用的等级、抽查比例和频次、办理通道",
)
def supervision_of_subject(request: HttpRequest, code: str, field: str) -> dict[str, Any]:
    """The supervision measures that apply to the subject with USCC ``code`` in ``field``
    (e.g. SCJG, SW, HG) now, from the active evaluation model's grade. Audited."""
    require_perm(request.user, "supervision.view_supervisionfield")
    supervision_field = SupervisionField.objects.filter(code=field.strip().upper()).first()
    if supervision_field is None:
        raise DomainError(
            "field_unknown",
            "监管领域不存在，可选："
            + "、".join(SupervisionField.objects.values_list("code", flat=True)),
            "field",
        )
    subject = Subject.objects.organisations().filter(uscc=code.strip().upper()).first()
    if subject is None:
        raise NotFound()
    result = services.supervision_for(subject, supervision_field)
    audit.record("supervision.query", obj=subject, subject=subject.code, purpose="分类监管措施查询")
    return result


class CommitmentIn(Schema):
    template: str = Field(..., description="承诺模板编码，如 GZCN-JYXK")
    subject: str = Field(..., description="承诺人统一社会信用代码")
    reason: str = Field(..., max_length=500, description="承诺事由（办理的事项）")
    signer: str = Field(..., max_length=50)
    channel: str = Field(
        Channel.PAPER, description="online（企业账号网上签署）/ paper（窗口录入纸质承诺）"
    )
    published: bool = True


class CommitmentOut(Schema):
    number: str
    template: str
    title: str
    kind: str
    subject: str
    subject_name: str
    department: str
    channel: str
    reason: str
    content: str
    consequences: str
    signed_on: date
    verify_due: date
    status: str
    outcome: str
    verified_on: date | None
    published: bool


def _out(c: Commitment) -> dict[str, Any]:
    return {
        "number": c.number,
        "template": c.template.code,
        "title": c.template.title,
        "kind": c.template.kind,
        "subject": c.subject.code,
        "subject_name": c.subject.name,
        "department": c.department.name,
        "channel": c.channel,
        "reason": c.reason,
        "content": c.content,
        "consequences": c.consequences,
        "signed_on": c.signed_on,
        "verify_due": c.verify_due,
        "status": c.status,
        "outcome": c.outcome,
        "verified_on": c.verified_on,
        "published": c.published,
    }


@router.post("/commitments", response={201: CommitmentOut}, auth=AUTH, summary="签署信用承诺")
def sign(request: HttpRequest, payload: CommitmentIn) -> Status:
    """Sign online as the enterprise's own account, or record a paper commitment at a
    window. The responsible department gets a verification task with its deadline."""
    template = CommitmentTemplate.objects.filter(code=payload.template.strip().upper()).first()
    if template is None:
        raise DomainError("template_unknown", "承诺模板不存在", "template")
    subject = Subject.objects.organisations().filter(uscc=payload.subject.strip().upper()).first()
    if subject is None:
        raise DomainError("subject_unknown", "未找到该统一社会信用代码的市场主体", "subject")
    if payload.channel not in Channel.values:
        raise DomainError("channel_invalid", "签署方式应为 online 或 paper", "channel")
    commitment = services.sign_commitment(
        request.user,
        template,
        subject,
        reason=payload.reason,
        signer=payload.signer,
        channel=payload.channel,
        published=payload.published,
    )
    return Status(201, _out(commitment))


class CommitmentFilter(Schema):
    status: str | None = None
    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = Field(50, ge=1, le=500)


class CommitmentPage(Schema):
    count: int
    results: list[CommitmentOut]


@router.get(
    "/commitments", response=CommitmentPage, auth=AUTH, summary="信用承诺（本部门待核查及已核查）"
)
def commitments(request: HttpRequest, params: Query[CommitmentFilter]) -> dict[str, Any]:
    """The department's commitments, oldest deadline first (all for the credit office)."""
    qs = services.commitments_for(request.user).order_by("status", "verify_due", "id")
    if params.status:
        qs = qs.filter(status=params.status)
    start = (params.page - 1) * params.page_size
    results = [_out(c) for c in qs[start : start + params.page_size]]
    audit_read(
        "commitment.query",
        "supervision.commitment",
        "查询信用承诺",
        len(results),
        request.GET.urlencode(),
    )
    return {"count": qs.count(), "results": results}


class VerificationIn(Schema):
    outcome: str = Field(..., description="全部履行 / 部分履行 / 全部未履行")
    unfulfilled: str = Field("", max_length=2000)
    liability: str = Field("", max_length=2000)


@router.post(
    "/commitments/{number}/verification",
    response=CommitmentOut,
    auth=AUTH,
    summary="核查信用承诺履行情况",
)
def verify(request: HttpRequest, number: str, payload: VerificationIn) -> dict[str, Any]:
    """Record the outcome; a breach becomes an untrustworthy record in the collection path."""
    commitment = get_for_user(services.commitments_for(request.user), request.user, number=number)
    commitment = services.verify_commitment(
        request.user,
        commitment,
        outcome=payload.outcome,
        unfulfilled=payload.unfulfilled,
        liability=payload.liability,
    )
    return _out(commitment)


# ----------------------------------------------------------------------------- 双随机


class PlanIn(Schema):
    field: str = Field(..., description="监管领域编码，如 SCJG")
    title: str = Field(..., max_length=200)
    matter: str = Field(
        "", max_length=200, description="抽查事项（随机抽查事项清单），如 食品经营者监督检查"
    )
    industry: list[str] = Field(default_factory=list, description="行业（不填为全部）")
    address: str = Field("", description="住所包含的文字，如 张江")
    grades: list[str] = Field(default_factory=list, description="只抽取这些等级（不填为全部）")
    ratios: dict[str, float] = Field(default_factory=dict, description="覆盖分级监管的抽查比例")
    seed: int | None = Field(None, description="随机种子（不填则随机生成并记录）")


class InspectionOut(Schema):
    id: int
    plan: str
    subject: str
    subject_name: str
    grade: str
    inspectors: list[str]
    result: str
    findings: str
    inspected_on: date | None
    reviewed_by: str
    reviewed_at: datetime | None


class PlanOut(Schema):
    number: str
    title: str
    matter: str
    field: str
    department: str
    filters: dict[str, Any]
    ratios: dict[str, float]
    seed: str
    population: int
    population_digest: str
    status: str
    inspections: list[InspectionOut]


def _inspection_out(i: Any) -> dict[str, Any]:
    return {
        "id": i.pk,
        "plan": i.plan.number,
        "subject": i.subject.code,
        "subject_name": i.subject.name,
        "grade": i.grade,
        "inspectors": [
            i.inspector_a.get_full_name() or i.inspector_a.username,
            i.inspector_b.get_full_name() or i.inspector_b.username,
        ],
        "result": i.result,
        "findings": i.findings,
        "inspected_on": i.inspected_on,
        "reviewed_by": i.reviewed_by,
        "reviewed_at": i.reviewed_at,
    }


def _plan_out(plan: Any) -> dict[str, Any]:
    inspections = plan.inspections.select_related("plan", "subject", "inspector_a", "inspector_b")
    return {
        "number": plan.number,
        "title": plan.title,
        "matter": plan.matter,
        "field": plan.field.code,
        "department": plan.department.name,
        "filters": plan.filters,
        "ratios": plan.ratios,
        "seed": str(plan.seed),
        "population": plan.population,
        "population_digest": plan.population_digest,
        "status": plan.status,
        "inspections": [_inspection_out(i) for i in inspections],
    }


@router.post(
    "/inspections/plans", response={201: PlanOut}, auth=AUTH, summary="创建并抽取双随机抽查计划"
)
def create_plan(request: HttpRequest, payload: PlanIn) -> Status:
    """Draw subjects by grade and pair two inspectors of the caller's department with each;
    the seed is recorded so that the draw can be reproduced."""
    field = SupervisionField.objects.filter(code=payload.field.strip().upper()).first()
    if field is None:
        raise DomainError("field_unknown", "监管领域不存在", "field")
    plan = inspections.draw_plan(
        request.user,
        field,
        payload.title,
        matter=payload.matter,
        filters={
            "industry": payload.industry,
            "address": payload.address,
            "grades": payload.grades,
        },
        ratios=payload.ratios,
        seed=payload.seed,
    )
    return Status(201, _plan_out(plan))


@router.get(
    "/inspections/plans/{number}", response=PlanOut, auth=AUTH, summary="抽查计划及抽取结果"
)
def plan_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    plan = get_for_user(inspections.plans_for(request.user), request.user, number=number)
    audit.record("inspection.plan.view", obj=plan, purpose="查看抽查计划")
    return _plan_out(plan)


class InspectionFilter(Schema):
    pending: bool = False
    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = Field(100, ge=1, le=500)


@router.get(
    "/inspections",
    response=list[InspectionOut],
    auth=AUTH,
    summary="检查任务（检查人员：本人的任务）",
)
def my_inspections(request: HttpRequest, params: Query[InspectionFilter]) -> list[dict[str, Any]]:
    qs = inspections.inspections_for(request.user).order_by("plan_id", "id")
    if params.pending:
        qs = qs.filter(result="")
    start = (params.page - 1) * params.page_size
    results = [_inspection_out(i) for i in qs[start : start + params.page_size]]
    audit_read(
        "inspection.query",
        "supervision.inspection",
        "查询检查任务",
        len(results),
        request.GET.urlencode(),
    )
    return results


class ResultIn(Schema):
    result: str = Field(
        ...,
        description="未发现问题 / 发现问题已责令改正 / 发现问题待后续处理 / 未发现开展本次抽查涉及的经营活动 / 住所无法联系 / 不配合检查",
    )
    findings: str = Field("", max_length=2000)


@router.post(
    "/inspections/{inspection_id}/result", response=InspectionOut, auth=AUTH, summary="录入检查结果"
)
def record_result(request: HttpRequest, inspection_id: int, payload: ResultIn) -> dict[str, Any]:
    """Only one of the two inspectors drawn for the subject may record; the result is
    published and collected as a record once reviewed (``/review``)."""
    inspection = get_for_user(
        inspections.inspections_for(request.user),
        request.user,
        "plan__department",
        pk=inspection_id,
    )
    inspection = inspections.record_result(
        request.user, inspection, result=payload.result, findings=payload.findings
    )
    return _inspection_out(inspection)


class ReviewIn(Schema):
    approve: bool
    note: str = Field("", max_length=500)


@router.post(
    "/inspections/{inspection_id}/review",
    response=InspectionOut,
    auth=AUTH,
    summary="审核检查结果（通过后公示并归集，或退回重新录入）",
)
def review_result(request: HttpRequest, inspection_id: int, payload: ReviewIn) -> dict[str, Any]:
    """A reviewer of the plan's department, not one of its inspectors, approves a recorded
    result (published and collected as a record) or returns it with the reason."""
    inspection = get_for_user(
        inspections.inspections_for(request.user),
        request.user,
        "plan__department",
        pk=inspection_id,
    )
    inspection = inspections.review_result(
        request.user, inspection, approve=payload.approve, note=payload.note
    )
    return _inspection_out(inspection)


class GradeStatsOut(Schema):
    grade: str
    drawn: int
    inspected: int
    problems: int
    problem_rate: float | None


@router.get(
    "/inspections/statistics",
    response=list[GradeStatsOut],
    auth=AUTH,
    summary="各信用等级的抽查数和问题发现率",
)
def inspection_statistics(request: HttpRequest, field: str | None = None) -> list[dict[str, Any]]:
    qs = inspections.inspections_for(request.user)
    if field:
        qs = qs.filter(plan__field__code=field.strip().upper())
    return [
        {
            "grade": s.grade,
            "drawn": s.drawn,
            "inspected": s.inspected,
            "problems": s.problems,
            "problem_rate": s.problem_rate,
        }
        for s in inspections.statistics(qs)
    ]


# ----------------------------------------------------------------------------- 双告知


class PermitNoticeOut(Schema):
    id: int
    subject: str
    subject_name: str
    permit: str
    matched: str
    department: str
    notified_at: Any
    closed_at: Any | None
    follow_up: str


def _notice_out(n: Any) -> dict[str, Any]:
    return {
        "id": n.pk,
        "subject": n.subject.code,
        "subject_name": n.subject.name,
        "permit": n.permit,
        "matched": n.matched,
        "department": n.department.name,
        "notified_at": n.notified_at,
        "closed_at": n.closed_at,
        "follow_up": n.follow_up,
    }


@router.get(
    "/permit-notices", response=list[PermitNoticeOut], auth=AUTH, summary="双告知：本部门收到的告知"
)
def permit_notices(
    request: HttpRequest, open_only: bool = True, page: int = Query(1, ge=1, le=PAGE_MAX)
) -> list[dict[str, Any]]:
    qs = dual_notice.notices_for(request.user)
    if open_only:
        qs = qs.filter(closed_at__isnull=True)
    start = (page - 1) * 100
    results = [_notice_out(n) for n in qs[start : start + 100]]
    audit_read(
        "dual_notice.query",
        "supervision.permitnotice",
        "查询双告知",
        len(results),
        request.GET.urlencode(),
    )
    return results


class FollowUpIn(Schema):
    note: str = Field(
        ..., max_length=500, description="跟进情况，如：已办理许可 / 未开展相关经营活动"
    )


@router.post(
    "/permit-notices/{notice_id}/follow-up",
    response=PermitNoticeOut,
    auth=AUTH,
    summary="双告知：跟进办结",
)
def permit_notice_follow_up(
    request: HttpRequest, notice_id: int, payload: FollowUpIn
) -> dict[str, Any]:
    notice = get_for_user(dual_notice.notices_for(request.user), request.user, pk=notice_id)
    return _notice_out(dual_notice.follow_up(request.user, notice, payload.note))
