"""信用张江 services: questionnaires, self- and other-assessments with conflict flags, the
enterprise credit report (企业信用报告), and tech finance (科技金融对接) — grants of access
to the report, the institution's access (refused without a grant in force, logged always),
and the financing matchmaking list.

Scope, in one place per object type:
- assessments: the enterprise sees those about itself (its own and others' of it), an
  institution's users those their institution submitted, the credit office all;
- grants: the enterprise its own, an institution's users those to their institution, the
  credit office all; an institution reads a report only through a grant in force.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.permissions import require_perm
from creditplus.accounts.services import read_reference
from creditplus.assessments.choices import (
    AccessAction,
    AnswerType,
    AssessmentKind,
    AssessmentStatus,
    InstitutionKind,
)
from creditplus.assessments.models import (
    Answer,
    Assessment,
    FinancingProfile,
    Grant,
    GrantAccess,
    Institution,
    Questionnaire,
)
from creditplus.catalog.choices import SubjectKind
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError, Forbidden, NotFound
from creditplus.evaluation import services as evaluation
from creditplus.evaluation.models import EvaluationModel, Score
from creditplus.reports import services as reports
from creditplus.reports.choices import ReportChannel, ReportKind
from creditplus.reports.models import CreditReport
from creditplus.subjects.models import Subject
from creditplus.uploads import check_document

YES, NO = "yes", "no"
EVIDENCE_MAX_MB = 10
GRANT_MAX_DAYS = 365
REPORT_TITLE = "企业信用报告"
# Its content's template, printed on the reports app's numbered, verifiable PDF pages.
REPORT_BODY = "assessments/_report.html"
ENTERPRISE_ISSUER = "信用张江（企业网上自助查询）"


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# --------------------------------------------------------------------------- questionnaires


@transaction.atomic
def load_questionnaires() -> str:
    """Load ``questionnaires.yaml`` (idempotent; admin edits survive until the file's version
    is raised)."""
    data = read_reference("questionnaires.yaml")
    results = []
    for q in data["questionnaires"]:
        for section in q["sections"]:
            for question in section["questions"]:
                if question["type"] not in AnswerType.values:
                    raise DomainError(
                        "reference_invalid", f"问卷 {q['code']} 题目 {question['code']} 类型无效"
                    )
        results.append(
            upsert_reference(
                Questionnaire,
                {"code": q["code"]},
                data["version"],
                {"name": q["name"], "sections": q["sections"], "is_active": q.get("active", True)},
            )
        )
    return load_summary("信用问卷", results)


def active_questionnaire() -> Questionnaire:
    questionnaire = Questionnaire.objects.filter(is_active=True).order_by("-code").first()
    if questionnaire is None:
        raise NotFound(_("尚未载入信用问卷"))
    return questionnaire


def clean_value(question: dict[str, Any], raw: Any) -> str:
    """One answer as stored text, or ``DomainError("answer_invalid")`` naming the question."""
    text = "" if raw is None else str(raw).strip()
    kind = question["type"]
    field = question["code"]
    if not text:
        if kind == AnswerType.TEXT:
            return ""
        raise DomainError("answer_required", _("请回答第 %(q)s 题") % {"q": field}, field)
    if kind == AnswerType.YESNO:
        value = {"yes": YES, "no": NO, "是": YES, "否": NO, "true": YES, "false": NO}.get(
            text.lower()
        )
        if value is None:
            raise DomainError("answer_invalid", _("第 %(q)s 题须回答是或否") % {"q": field}, field)
        return value
    if kind == AnswerType.CHOICE:
        if text not in question.get("options", []):
            raise DomainError("answer_invalid", _("第 %(q)s 题的选项无效") % {"q": field}, field)
        return text
    if kind == AnswerType.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            raise DomainError(
                "answer_invalid", _("第 %(q)s 题须填写不小于 0 的数值") % {"q": field}, field
            )
        return f"{number.normalize():f}"
    return text[:1000]


def is_conflict(question: dict[str, Any], self_value: str, other_value: str) -> bool:
    """Whether a self answer and an other answer to ``question`` contradict each other
    (the rules are in ``questionnaires.yaml``'s header)."""
    if question.get("conflict") is False or not self_value or not other_value:
        return False
    kind = question["type"]
    if kind == AnswerType.YESNO:
        return self_value != other_value
    if kind == AnswerType.CHOICE:
        options = question.get("options", [])
        if self_value not in options or other_value not in options:
            return self_value != other_value
        steps = abs(options.index(self_value) - options.index(other_value))
        return steps > int(question.get("tolerance", 0))
    if kind == AnswerType.NUMBER:
        a, b = Decimal(self_value), Decimal(other_value)
        tolerance = Decimal(str(question.get("tolerance", 0)))
        return abs(a - b) > tolerance * max(abs(a), abs(b))
    return False


def display_value(question: dict[str, Any] | None, value: str) -> str:
    if question and question["type"] == AnswerType.YESNO:
        return {YES: "是", NO: "否"}.get(value, value)
    return value


# --------------------------------------------------------------------------- institutions


def institution_of(user: Any) -> Institution:
    """The institution ``user`` acts for, or ``Forbidden`` (an assessor or bank user who is
    not linked to an institution cannot act)."""
    membership = getattr(user, "institution_membership", None) if user.is_authenticated else None
    if membership is None or not membership.institution.is_active:
        raise Forbidden(_("当前账号未关联合作机构，请联系区信用办"))
    return membership.institution


def subject_of(user: Any) -> Subject:
    """The enterprise an enterprise account acts for (bound at a window), or ``Forbidden``."""
    account = getattr(user, "subject_account", None) if user.is_authenticated else None
    if account is None or account.subject.is_person:
        raise Forbidden(_("请先到服务窗口办理企业账号与信用主体的绑定"))
    return account.subject


def banks() -> QuerySet[Institution]:
    return Institution.objects.filter(kind=InstitutionKind.BANK, is_active=True)


# --------------------------------------------------------------------------- assessments


def check_evidence_file(file: UploadedFile) -> UploadedFile:
    """Refuse empty, oversized or non-PDF/JPG/PNG evidence (judged by suffix and content)."""
    return check_document(file, what=_("证明材料"), field="evidence", max_mb=EVIDENCE_MAX_MB)


def _submit(
    *,
    user: Any,
    subject: Subject,
    kind: str,
    institution: Institution | None,
    answers: dict[str, Any],
    files: dict[str, UploadedFile] | None,
    comment: str,
) -> Assessment:
    questionnaire = active_questionnaire()
    questions = questionnaire.question_map()
    unknown = set(answers) - set(questions)
    if unknown:
        raise DomainError(
            "answer_invalid", _("问卷中没有题目 %(q)s") % {"q": sorted(unknown)[0]}, "answers"
        )
    values = {code: clean_value(q, answers.get(code)) for code, q in questions.items()}
    files = {code: f for code, f in (files or {}).items() if f}
    if set(files) - set(questions):
        raise DomainError("answer_invalid", _("证明材料对应的题目不存在"), "evidence")
    for file in files.values():
        check_evidence_file(file)
    with transaction.atomic():
        # Lock the assessor's current assessments of this subject: two submissions at once
        # must not both stay current.
        previous = Assessment.objects.select_for_update().filter(
            subject=subject, kind=kind, institution=institution, status=AssessmentStatus.SUBMITTED
        )
        superseded = [a.number for a in previous]
        previous.update(status=AssessmentStatus.SUPERSEDED)
        assessment = Assessment.objects.create(
            subject=subject,
            questionnaire=questionnaire,
            kind=kind,
            institution=institution,
            assessor_name=institution.name if institution else subject.name,
            assessor_kind=institution.kind if institution else "",
            submitted_by=user,
            submitted_by_name=user.get_username(),
            submitted_at=timezone.now(),
            comment=(comment or "").strip()[:2000],
        )
        for code, value in values.items():
            answer = Answer(assessment=assessment, question=code, value=value)
            file = files.get(code)
            if file is not None:
                digest = hashlib.sha256()
                for chunk in file.chunks():
                    digest.update(chunk)
                file.seek(0)
                answer.evidence_sha256 = digest.hexdigest()
                answer.evidence_name = PurePath(file.name).name[-200:]
                answer.evidence.save(answer.evidence_name, file, save=False)
            answer.save()
        audit.record(
            "assessment.submit",
            obj=assessment,
            subject=subject.code,
            after={
                "number": assessment.number,
                "kind": kind,
                "questionnaire": questionnaire.code,
                "assessor": assessment.assessor_name,
                "answers": values,
                "evidence": {code: a.evidence_sha256 for code, a in _evidence(assessment)},
                "superseded": superseded,
            },
        )
    return assessment


def _evidence(assessment: Assessment) -> list[tuple[str, Answer]]:
    return [(a.question, a) for a in assessment.answers.exclude(evidence_sha256="")]


def submit_self_assessment(
    user: Any,
    answers: dict[str, Any],
    files: dict[str, UploadedFile] | None = None,
    comment: str = "",
) -> Assessment:
    """The bound enterprise's self-assessment (自评); replaces its previous one."""
    subject = subject_of(user)
    return _submit(
        user=user,
        subject=subject,
        kind=AssessmentKind.SELF,
        institution=None,
        answers=answers,
        files=files,
        comment=comment,
    )


def submit_other_assessment(
    user: Any,
    subject: Subject,
    answers: dict[str, Any],
    files: dict[str, UploadedFile] | None = None,
    comment: str = "",
) -> Assessment:
    """An institution's assessment of an enterprise (他评) by one of its users (role
    ``assessor`` or ``financial``); replaces the institution's previous one of it."""
    require_perm(user, "assessments.add_assessment")
    institution = institution_of(user)
    if subject.is_person:
        raise DomainError("not_an_organisation", _("他评只适用于企业"), "subject")
    return _submit(
        user=user,
        subject=subject,
        kind=AssessmentKind.OTHER,
        institution=institution,
        answers=answers,
        files=files,
        comment=comment,
    )


def assessments_for(user: Any) -> QuerySet[Assessment]:
    """Assessments ``user`` may see (see the module docstring)."""
    qs = Assessment.objects.select_related("subject", "institution", "questionnaire")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if getattr(user, "subject_account", None) is not None:
        return qs.filter(subject=subject_of(user))
    require_perm(user, "assessments.view_assessment")
    if user.is_platform_wide:
        return qs
    membership = getattr(user, "institution_membership", None)
    if membership is None:
        return qs.none()
    return qs.filter(institution_id=membership.institution_id)


def get_assessment(user: Any, pk: int) -> Assessment:
    assessment = assessments_for(user).filter(pk=pk).first()
    if assessment is None:
        raise NotFound()
    return assessment


def read_assessment(user: Any, pk: int) -> Assessment:
    """One assessment in scope (else NotFound), its reading audited."""
    assessment = get_assessment(user, pk)
    audit.record(
        "assessment.view",
        obj=assessment,
        subject=assessment.subject.code,
        after={"number": assessment.number},
    )
    return assessment


def answer_rows(assessment: Assessment) -> list[dict[str, Any]]:
    """The assessment's answers in questionnaire order, with question text and sections."""
    answers = {a.question: a for a in assessment.answers.all()}
    rows = []
    for q in assessment.questionnaire.questions():
        answer = answers.get(q["code"])
        rows.append(
            {
                "section": q["section_name"],
                "code": q["code"],
                "text": q["text"],
                "value": display_value(q, answer.value) if answer else "",
                "answer": answer,
            }
        )
    return rows


def read_evidence(user: Any, answer_pk: int) -> Answer:
    """An answer's evidence file, for a user who may see the assessment (else NotFound);
    the download is audited."""
    answer = (
        Answer.objects.filter(pk=answer_pk, assessment__in=assessments_for(user))
        .exclude(evidence="")
        .select_related("assessment__subject")
        .first()
    )
    if answer is None:
        raise NotFound()
    audit.record(
        "assessment.evidence",
        obj=answer.assessment,
        subject=answer.assessment.subject.code,
        after={"question": answer.question, "sha256": answer.evidence_sha256},
    )
    return answer


def conflicts(subject: Subject) -> list[dict[str, Any]]:
    """Per question, the current self answer against each current other-assessment's
    answer that contradicts it (自评与他评不一致), in questionnaire order."""
    current = list(
        Assessment.objects.current()
        .filter(subject=subject)
        .select_related("questionnaire", "institution")
        .prefetch_related("answers")
    )
    own = next((a for a in current if a.kind == AssessmentKind.SELF), None)
    if own is None:
        return []
    questions = own.questionnaire.question_map()
    mine = {a.question: a.value for a in own.answers.all()}
    found = []
    for other in current:
        if other.kind != AssessmentKind.OTHER or other.questionnaire_id != own.questionnaire_id:
            continue
        for answer in other.answers.all():
            question = questions.get(answer.question)
            if question and is_conflict(question, mine.get(answer.question, ""), answer.value):
                found.append(
                    {
                        "question": answer.question,
                        "text": question["text"],
                        "section": question["section_name"],
                        "self_value": display_value(question, mine[answer.question]),
                        "other_value": display_value(question, answer.value),
                        "assessor": other.assessor_name,
                        "assessor_kind": str(InstitutionKind(other.assessor_kind).label),
                        "assessment": other.number,
                    }
                )
    order = list(questions)
    found.sort(key=lambda c: (order.index(c["question"]), c["assessor"]))
    return found


# --------------------------------------------------------------------------- the report


def _evaluation(subject: Subject) -> dict[str, Any]:
    try:
        score = evaluation.subject_score(subject)
    except DomainError:
        return {"shown": False, "note": _("该企业暂无公共信用综合评价结果。")}
    return {
        "shown": True,
        "grade": score["grade"],
        "label": score["grade_label"],
        "score": score["score"],
        "model": score["model_name"],
        "as_of": score["as_of"].isoformat(),
        "reasons": [r["text"] for r in score["reasons"] if r["points"]],
        "overrides": [o["text"] for o in score["overrides"]],
        "advice": list(score["advice"]),
    }


def _assessment_content(assessment: Assessment) -> dict[str, Any]:
    return {
        "number": assessment.number,
        "kind": assessment.kind,
        "kind_label": str(AssessmentKind(assessment.kind).label),
        "assessor": assessment.assessor_name,
        "assessor_kind": str(InstitutionKind(assessment.assessor_kind).label)
        if assessment.assessor_kind
        else "",
        "submitted_at": timezone.localtime(assessment.submitted_at).strftime("%Y-%m-%d %H:%M"),
        "questionnaire": assessment.questionnaire.name,
        "comment": assessment.comment,
        "answers": [
            {
                "section": r["section"],
                "code": r["code"],
                "text": r["text"],
                "value": r["value"],
                "evidence": bool(r["answer"] and r["answer"].evidence_sha256),
            }
            for r in answer_rows(assessment)
        ],
    }


def build_report_content(subject: Subject, *, today: date | None = None) -> dict[str, Any]:
    """The 企业信用报告 snapshot: the public credit report's content (identity, records,
    lists, commitments), the evaluation grade with its reasons, the current self- and
    other-assessments, and their conflicts."""
    content = reports.build_content(subject, ReportKind.ENTERPRISE, today=today)
    current = (
        Assessment.objects.current()
        .filter(subject=subject)
        .select_related("questionnaire")
        .prefetch_related("answers")
        .order_by("kind", "-submitted_at")
    )
    content.update(
        {
            "kind": ReportKind.ZHANGJIANG.value,
            "title": REPORT_TITLE,
            "evaluation": _evaluation(subject),
            "self_assessment": next(
                (_assessment_content(a) for a in current if a.kind == AssessmentKind.SELF), None
            ),
            "other_assessments": [
                _assessment_content(a) for a in current if a.kind == AssessmentKind.OTHER
            ],
            "conflicts": conflicts(subject),
        }
    )
    content["notes"] = [
        *content["notes"][:2],
        "企业自评由企业自行填报，他评由园区管理机构、金融机构、合作伙伴、行业协会等评价主体填报，"
        "其内容由填报方负责；自评与他评不一致之处已在报告中标明。",
        "本报告的真实性可凭报告编号和验证码在“信用浦东”网站报告核验页面查验。",
    ]
    return content


def issue_report(
    subject: Subject, user: Any, purpose: str, issuer: str, *, today: date | None = None
) -> CreditReport:
    """Issue a numbered, verifiable 企业信用报告 through the reports app's machinery."""
    return reports.issue_report(
        kind=ReportKind.ZHANGJIANG,
        subject=subject,
        user=user,
        channel=ReportChannel.ONLINE,
        purpose=purpose,
        content=build_report_content(subject, today=today),
        issuer=issuer,
    )


def issue_own_report(user: Any, purpose: str) -> CreditReport:
    """The bound enterprise issues its own 企业信用报告."""
    return issue_report(subject_of(user), user, purpose, ENTERPRISE_ISSUER)


def own_reports(subject: Subject) -> QuerySet[CreditReport]:
    return CreditReport.objects.filter(subject=subject, kind=ReportKind.ZHANGJIANG)


# --------------------------------------------------------------------------- grants


def _grant_after(grant: Grant) -> dict[str, Any]:
    return {
        "number": grant.number,
        "institution": grant.institution.name,
        "purpose": grant.purpose,
        "valid_from": grant.valid_from,
        "valid_until": grant.valid_until,
    }


def create_grant(
    user: Any,
    institution: Institution | int,
    purpose: str,
    valid_until: date,
    valid_from: date | None = None,
    *,
    today: date | None = None,
) -> Grant:
    """The bound enterprise grants ``institution`` (a bank) access to its credit report for
    ``purpose`` from ``valid_from`` (today by default) to ``valid_until`` (at most a year)."""
    subject = subject_of(user)
    today = _today(today)
    if not isinstance(institution, Institution):
        institution = banks().filter(pk=institution).first()
    if institution is None or institution.kind != InstitutionKind.BANK or not institution.is_active:
        raise DomainError("institution_invalid", _("请选择被授权的金融机构"), "institution")
    purpose = (purpose or "").strip()
    if not purpose:
        raise DomainError("purpose_required", _("请填写授权用途"), "purpose")
    valid_from = valid_from or today
    if valid_from < today:
        raise DomainError("valid_from_past", _("授权起始日不能早于今天"), "valid_from")
    if valid_until < valid_from:
        raise DomainError("valid_until_before", _("授权截止日不能早于起始日"), "valid_until")
    if valid_until > valid_from + timedelta(days=GRANT_MAX_DAYS):
        raise DomainError("valid_until_too_far", _("授权期限最长为一年"), "valid_until")
    with transaction.atomic():
        grant = Grant.objects.create(
            subject=subject,
            institution=institution,
            purpose=purpose[:300],
            valid_from=valid_from,
            valid_until=valid_until,
            created_by=user,
            created_by_name=user.get_username(),
            created_at=timezone.now(),
        )
        audit.record(
            "grant.create",
            obj=grant,
            subject=subject.code,
            purpose=grant.purpose,
            after=_grant_after(grant),
        )
    return grant


def grants_for(user: Any) -> QuerySet[Grant]:
    """Grants ``user`` may see (see the module docstring)."""
    qs = Grant.objects.select_related("subject", "institution")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if getattr(user, "subject_account", None) is not None:
        return qs.filter(subject=subject_of(user))
    require_perm(user, "assessments.view_grant")
    if user.is_platform_wide:
        return qs
    return qs.filter(institution=institution_of(user))


def get_grant(user: Any, pk: int) -> Grant:
    grant = grants_for(user).filter(pk=pk).first()
    if grant is None:
        raise NotFound()
    return grant


def revoke_grant(user: Any, pk: int) -> Grant:
    """The enterprise revokes one of its grants; from now on the institution is refused."""
    subject = subject_of(user)
    with transaction.atomic():
        # Locked so that a revocation and a second one (or an edit) cannot interleave.
        grant = (
            Grant.objects.select_for_update()
            .select_related("institution")
            .filter(pk=pk, subject=subject)
            .first()
        )
        if grant is None:
            raise NotFound()
        if grant.revoked_at is not None:
            raise DomainError("grant_revoked", _("该授权已撤销"), "grant")
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit.record(
            "grant.revoke",
            obj=grant,
            subject=subject.code,
            purpose=grant.purpose,
            before={"revoked_at": None},
            after={"revoked_at": grant.revoked_at},
        )
    return grant


def grant_in_force(user: Any, subject: Subject, *, today: date | None = None) -> Grant:
    """The grant in force that lets ``user``'s institution read ``subject``'s report today,
    or a refusal (403): ``grant_required`` without any grant, ``grant_revoked`` /
    ``grant_expired`` / ``grant_not_started`` when the only grants are no longer (or not
    yet) in force. A refusal is audited too."""
    require_perm(user, "assessments.view_grant")
    institution = institution_of(user)
    today = _today(today)
    grants = Grant.objects.filter(subject=subject, institution=institution)
    grant = grants.in_force(today).order_by("-valid_until").first()
    if grant is not None:
        return grant
    latest = grants.order_by("-created_at", "-id").first()
    if latest is None:
        code, message = "grant_required", _("该企业未向本机构授权查阅其信用报告")
    else:
        code = {
            "revoked": "grant_revoked",
            "expired": "grant_expired",
            "pending": "grant_not_started",
        }[latest.state(today)]
        message = {
            "grant_revoked": _("该企业已撤销对本机构的授权"),
            "grant_expired": _("该企业对本机构的授权已过期"),
            "grant_not_started": _("该企业对本机构的授权尚未生效"),
        }[code]
    audit.record(
        "grant.refused",
        object_type="assessments.grant",
        object_id=str(latest.pk) if latest else "",
        subject=subject.code,
        after={"code": code, "institution": institution.name},
    )
    raise DomainError(code, message, "grant", status=403)


def access_report(
    user: Any, subject: Subject, action: str = AccessAction.VIEW, *, today: date | None = None
) -> tuple[Grant, CreditReport]:
    """An institution's user reads ``subject``'s 企业信用报告 under a grant in force: the
    report issued under this grant today is reused, else a fresh one is issued (numbered,
    verifiable, with the grant's purpose). Every access is logged for the enterprise and
    audited; without a grant in force it is refused (:func:`grant_in_force`)."""
    if action not in AccessAction.values:
        raise DomainError("action_invalid", _("操作无效"), "action")
    today = _today(today)
    grant = grant_in_force(user, subject, today=today)
    with transaction.atomic():
        # Re-read under the row lock that revoke_grant takes: a revocation committed since
        # the check above refuses this access.
        grant = Grant.objects.select_for_update().select_related("institution").get(pk=grant.pk)
        if grant.state(today) != "active":
            raise DomainError("grant_revoked", _("该企业已撤销对本机构的授权"), status=403)
        previous = (
            GrantAccess.objects.filter(grant=grant, report__isnull=False)
            .select_related("report")
            .order_by("-at", "-id")
            .first()
        )
        report = previous.report if previous else None
        if report is None or timezone.localdate(report.issued_at) != today:
            issuer = _("信用张江科技金融对接（经企业授权：%(i)s）") % {"i": grant.institution.name}
            report = issue_report(subject, user, grant.purpose, issuer, today=today)
        access = GrantAccess.objects.create(
            grant=grant,
            user=user,
            user_name=user.get_full_name() or user.get_username(),
            action=action,
            at=timezone.now(),
            report=report,
        )
        audit.record(
            f"grant.{action}",
            obj=grant,
            subject=subject.code,
            purpose=grant.purpose,
            after={"grant": grant.number, "report": report.number, "access": access.pk},
        )
    return grant, report


def accesses_of(user: Any, grant_pk: int) -> QuerySet[GrantAccess]:
    """The access log of one grant in ``user``'s scope (the enterprise's own grant, or a
    grant to the user's institution)."""
    grant = get_grant(user, grant_pk)
    return grant.accesses.select_related("report").order_by("-at", "-id")


def own_accesses(subject: Subject) -> QuerySet[GrantAccess]:
    """Every access to the enterprise's report under any of its grants, newest first."""
    return (
        GrantAccess.objects.filter(grant__subject=subject)
        .select_related("grant__institution", "report")
        .order_by("-at", "-id")
    )


def granted_subjects(user: Any, *, today: date | None = None) -> QuerySet[Grant]:
    """Grants in force to ``user``'s institution: the enterprises it may read today."""
    require_perm(user, "assessments.view_grant")
    institution = institution_of(user)
    return (
        Grant.objects.in_force(_today(today))
        .filter(institution=institution)
        .select_related("subject")
        .order_by("subject__name", "-valid_until")
    )


# --------------------------------------------------------------------------- matchmaking


def set_financing(user: Any, opted_in: bool, need: str = "") -> FinancingProfile:
    """The bound enterprise opts in to (or out of) financing matchmaking."""
    subject = subject_of(user)
    with transaction.atomic():
        profile, _created = FinancingProfile.objects.select_for_update().get_or_create(
            subject=subject, defaults={"updated_at": timezone.now()}
        )
        before = {"opted_in": profile.opted_in, "need": profile.need}
        profile.opted_in = bool(opted_in)
        profile.need = (need or "").strip()[:500]
        profile.updated_at = timezone.now()
        profile.save()
        audit.record(
            "financing.update",
            obj=profile,
            subject=subject.code,
            before=before,
            after={"opted_in": profile.opted_in, "need": profile.need},
        )
    return profile


def matchmaking(user: Any, *, grade: str = "", industry: str = "") -> QuerySet[FinancingProfile]:
    """Enterprises that opted in to financing matchmaking, filtered by grade (under the
    active evaluation model) and industry (a fragment of the registered industry)."""
    require_perm(user, "assessments.view_matchmaking")
    qs = (
        FinancingProfile.objects.filter(opted_in=True)
        .exclude(subject__kind=SubjectKind.PERSON)
        .select_related("subject")
        .order_by("subject__name", "subject_id")
    )
    if industry:
        qs = qs.filter(subject__industry__icontains=industry)
    if grade:
        graded = Score.objects.filter(model=EvaluationModel.objects.active(), grade=grade)
        qs = qs.filter(subject_id__in=graded.values("subject_id"))
    return qs


def grades_of(subject_ids: list[int]) -> dict[int, str]:
    return evaluation.current_grades(subject_ids)
