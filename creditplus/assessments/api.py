"""``/api/v1/assessments`` (self- and other-assessments, conflicts) and ``/api/v1/grants``
(an enterprise's grants of access to its credit report: create, list, revoke, access log;
an institution's read of a granted report). Scope and rules live in ``services``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from creditplus.accounts.auth import AUTH
from creditplus.assessments import services
from creditplus.assessments.choices import AccessAction
from creditplus.assessments.models import Assessment, Grant
from creditplus.errors import DomainError, Forbidden
from creditplus.pages import audit_read
from creditplus.reports import services as reports
from creditplus.reports.services import find_organisation

router = Router(tags=["信用张江"])


class PageIn(Schema):
    page: int = Field(1, ge=1, le=10000)
    page_size: int = Field(50, ge=1, le=200)


class AssessmentFilter(PageIn):
    kind: Literal["self", "other"] | None = None
    subject: str | None = Field(None, min_length=18, max_length=18, description="统一社会信用代码")


class AnswerOut(Schema):
    question: str
    text: str
    section: str
    value: str
    evidence: bool


class AssessmentOut(Schema):
    id: int
    number: str
    subject: str
    subject_name: str
    kind: str
    assessor: str
    assessor_kind: str
    questionnaire: str
    submitted_at: datetime
    status: str
    comment: str
    answers: list[AnswerOut] | None = None


class AssessmentPage(Schema):
    count: int
    results: list[AssessmentOut]


class AssessmentIn(Schema):
    subject: str | None = Field(
        None, min_length=18, max_length=18, description="被评企业的统一社会信用代码（他评必填）"
    )
    answers: dict[str, str] = Field(..., description="题目编码 → 回答（是/否题为 yes/no）")
    comment: str = Field("", max_length=2000)


class ConflictOut(Schema):
    question: str
    text: str
    section: str
    self_value: str
    other_value: str
    assessor: str
    assessor_kind: str
    assessment: str


def _assessment_out(a: Assessment, answers: bool = False) -> dict[str, Any]:
    out = {
        "id": a.pk,
        "number": a.number,
        "subject": a.subject.code,
        "subject_name": a.subject.name,
        "kind": a.kind,
        "assessor": a.assessor_name,
        "assessor_kind": a.assessor_kind,
        "questionnaire": a.questionnaire.code,
        "submitted_at": a.submitted_at,
        "status": a.status,
        "comment": a.comment,
    }
    if answers:
        out["answers"] = [
            {
                "question": r["code"],
                "text": r["text"],
                "section": r["section"],
                "value": r["answer"].value if r["answer"] else "",
                "evidence": bool(r["answer"] and r["answer"].evidence_sha256),
            }
            for r in services.answer_rows(a)
        ]
    return out


@router.get("/assessments", response=AssessmentPage, auth=AUTH, summary="信用自评及他评（按权限）")
def assessments(request: HttpRequest, params: Query[AssessmentFilter]) -> dict[str, Any]:
    """The enterprise sees the assessments about itself, an institution those it submitted,
    the credit office all. Newest first; the read is audited."""
    qs = services.assessments_for(request.user)
    if params.kind:
        qs = qs.filter(kind=params.kind)
    if params.subject:
        qs = qs.filter(subject__uscc=params.subject.upper())
    start = (params.page - 1) * params.page_size
    results = [_assessment_out(a) for a in qs[start : start + params.page_size]]
    audit_read(
        "assessment.query",
        "assessments.assessment",
        _("查询信用自评及他评"),
        len(results),
        request.GET.urlencode(),
    )
    return {"count": qs.count(), "results": results}


@router.post("/assessments", response={201: AssessmentOut}, auth=AUTH, summary="提交自评或他评")
def submit(request: HttpRequest, payload: AssessmentIn) -> Status:
    """A bound enterprise account submits its self-assessment (``subject`` omitted or its
    own); an assessor or bank user submits its institution's assessment of ``subject``.
    Evidence files are uploaded on the portal and back-office pages."""
    user = request.user
    if getattr(user, "subject_account", None) is not None:
        own = services.subject_of(user)
        if payload.subject and payload.subject.upper() != own.uscc:
            raise Forbidden(_("企业只能填报本企业的自评"))
        assessment = services.submit_self_assessment(user, payload.answers, None, payload.comment)
    else:
        if not payload.subject:
            raise DomainError(
                "subject_required", _("他评须填写被评企业的统一社会信用代码"), "subject"
            )
        subject = find_organisation(payload.subject)
        assessment = services.submit_other_assessment(
            user, subject, payload.answers, None, payload.comment
        )
    return Status(201, _assessment_out(assessment, answers=True))


@router.get(
    "/assessments/conflicts", response=list[ConflictOut], auth=AUTH, summary="自评与他评不一致"
)
def conflicts(
    request: HttpRequest, subject: str | None = Query(None, min_length=18, max_length=18)
) -> list[dict[str, Any]]:
    """The conflicts of the own enterprise (enterprise accounts), or of ``subject`` for the
    credit office. Audited."""
    user = request.user
    if getattr(user, "subject_account", None) is not None:
        target = services.subject_of(user)
    else:
        if not (user.has_perm("assessments.view_assessment") and user.is_platform_wide):
            raise Forbidden()
        if not subject:
            raise DomainError("subject_required", _("请填写统一社会信用代码"), "subject")
        target = find_organisation(subject)
    found = services.conflicts(target)
    audit_read(
        "assessment.conflicts",
        "assessments.assessment",
        _("查看自评与他评不一致"),
        len(found),
        target.code,
    )
    return found


@router.get(
    "/assessments/{assessment_id}", response=AssessmentOut, auth=AUTH, summary="一份评价及其回答"
)
def assessment(request: HttpRequest, assessment_id: int) -> dict[str, Any]:
    return _assessment_out(services.read_assessment(request.user, assessment_id), answers=True)


# --------------------------------------------------------------------------- grants


class GrantIn(Schema):
    institution: str = Field(
        ..., min_length=18, max_length=18, description="被授权金融机构的统一社会信用代码"
    )
    purpose: str = Field(..., min_length=1, max_length=300, description="授权用途")
    valid_from: date | None = Field(None, description="起始日（默认今天）")
    valid_until: date = Field(..., description="截止日（含），最长一年")


class GrantOut(Schema):
    id: int
    number: str
    subject: str
    subject_name: str
    institution: str
    institution_name: str
    purpose: str
    valid_from: date
    valid_until: date
    created_at: datetime
    revoked_at: datetime | None
    state: str


class GrantPage(Schema):
    count: int
    results: list[GrantOut]


class AccessOut(Schema):
    id: int
    grant: str
    institution: str
    user: str
    action: str
    at: datetime
    report: str | None


class GrantedReportOut(Schema):
    grant: str
    number: str
    verification_code: str
    verify_url: str
    issued_at: datetime
    content: dict[str, Any]


def _grant_out(g: Grant) -> dict[str, Any]:
    return {
        "id": g.pk,
        "number": g.number,
        "subject": g.subject.code,
        "subject_name": g.subject.name,
        "institution": g.institution.uscc,
        "institution_name": g.institution.name,
        "purpose": g.purpose,
        "valid_from": g.valid_from,
        "valid_until": g.valid_until,
        "created_at": g.created_at,
        "revoked_at": g.revoked_at,
        "state": g.state(timezone.localdate()),
    }


@router.post(
    "/grants", response={201: GrantOut}, auth=AUTH, summary="授权金融机构查阅信用报告（企业）"
)
def create_grant(request: HttpRequest, payload: GrantIn) -> Status:
    institution = services.banks().filter(uscc=payload.institution.upper()).first()
    if institution is None:
        raise DomainError("institution_invalid", _("未找到该金融机构"), "institution")
    grant = services.create_grant(
        request.user, institution, payload.purpose, payload.valid_until, payload.valid_from
    )
    return Status(201, _grant_out(grant))


@router.get(
    "/grants",
    response=GrantPage,
    auth=AUTH,
    summary="授权列表（企业：本企业的；机构：授予本机构的）",
)
def grants(request: HttpRequest, params: Query[PageIn]) -> dict[str, Any]:
    qs = services.grants_for(request.user)
    start = (params.page - 1) * params.page_size
    results = [_grant_out(g) for g in qs[start : start + params.page_size]]
    audit_read(
        "grant.query",
        "assessments.grant",
        _("查询报告查阅授权"),
        len(results),
        request.GET.urlencode(),
    )
    return {"count": qs.count(), "results": results}


@router.post("/grants/{grant_id}/revoke", response=GrantOut, auth=AUTH, summary="撤销授权（企业）")
def revoke(request: HttpRequest, grant_id: int) -> dict[str, Any]:
    return _grant_out(services.revoke_grant(request.user, grant_id))


@router.get(
    "/grants/{grant_id}/accesses", response=list[AccessOut], auth=AUTH, summary="授权的查阅记录"
)
def accesses(request: HttpRequest, grant_id: int) -> list[dict[str, Any]]:
    """Who read the report under this grant and when (the enterprise, or the institution
    for its own grants). Audited."""
    rows = [
        {
            "id": a.pk,
            "grant": a.grant.number,
            "institution": a.grant.institution.name,
            "user": a.user_name,
            "action": a.action,
            "at": a.at,
            "report": a.report.number if a.report else None,
        }
        for a in services.accesses_of(request.user, grant_id).select_related("grant__institution")[
            :500
        ]
    ]
    audit_read(
        "grant.accesses", "assessments.grantaccess", _("查看报告查阅记录"), len(rows), str(grant_id)
    )
    return rows


@router.get(
    "/grants/report",
    response=GrantedReportOut,
    auth=AUTH,
    summary="查阅经授权的企业信用报告（金融机构）",
)
def granted_report(
    request: HttpRequest, subject: str = Query(..., min_length=18, max_length=18)
) -> dict[str, Any]:
    """The 企业信用报告 of an enterprise that granted the caller's institution access, within
    the grant only (else 403 ``grant_required`` / ``grant_expired`` / ``grant_revoked``).
    Every read is logged for the enterprise."""
    target = find_organisation(subject)
    grant, report = services.access_report(request.user, target, AccessAction.VIEW)
    return {
        "grant": grant.number,
        "number": report.number,
        "verification_code": reports.report_code(report),
        "verify_url": reports.verify_url(report),
        "issued_at": report.issued_at,
        "content": report.content,
    }
