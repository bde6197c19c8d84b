"""Credit supervision: the classification policy per field (事中分类监管) and credit
commitments (事前告知承诺) with their verification, whose outcome enters the collection path."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify, read_reference
from creditplus.catalog.calendar import add_months
from creditplus.catalog.choices import XDR_LB_KIND, SubjectKind
from creditplus.catalog.models import Matter
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError, Forbidden
from creditplus.evaluation.services import current_grades
from creditplus.lists.choices import RestorationStatus
from creditplus.lists.models import ListEntry, Restoration
from creditplus.numbering import create_numbered
from creditplus.records.models import CreditRecord
from creditplus.records.services import collect_row
from creditplus.subjects.models import Subject
from creditplus.supervision.choices import Channel, CommitmentStatus, Lane, Outcome
from creditplus.supervision.models import Commitment, CommitmentTemplate, SupervisionField

GRADES = ("A", "B", "C", "D")
AREA_CODE = "310115"  # 浦东新区: the first six characters of every commitment number
KIND_LABEL = {kind: label for label, kind in XDR_LB_KIND.items()}


# ----------------------------------------------------------------------------- reference data


def load_fields() -> str:
    """Load ``supervision_fields.yaml``: every field's policy must cover the four grades."""
    data = read_reference("supervision_fields.yaml")
    results = []
    for f in data["fields"]:
        policy = f["policy"]
        if sorted(policy) != list(GRADES) or any(
            not 0 <= float(p["ratio"]) <= 1 or p["lane"] not in Lane.values for p in policy.values()
        ):
            raise DomainError(
                "reference_invalid",
                _("监管领域 %(c)s 的分级措施应覆盖 A/B/C/D，抽查比例在 0–1 之间，通道为 %(l)s")
                % {"c": f["code"], "l": "/".join(Lane.values)},
            )
        results.append(
            upsert_reference(
                SupervisionField,
                {"code": f["code"]},
                data["version"],
                {
                    "name": f["name"],
                    "department": Department.objects.get(code=f["department"]),
                    "default_grade": f.get("default_grade", "B"),
                    "basis": f.get("basis", ""),
                    "policy": policy,
                },
            )
        )
    return load_summary("监管领域", results)


def load_templates() -> str:
    """Load ``commitment_templates.yaml`` (matters and departments must exist)."""
    data = read_reference("commitment_templates.yaml")
    results = []
    for t in data["templates"]:
        matter = Matter.objects.get(code=t["matter"]) if t.get("matter") else None
        department = Department.objects.get(code=t["department"]) if t.get("department") else None
        results.append(
            upsert_reference(
                CommitmentTemplate,
                {"code": t["code"]},
                data["version"],
                {
                    "matter": matter,
                    "kind": t["kind"],
                    "department": department,
                    "title": t["title"],
                    "conditions": list(t["conditions"]),
                    "consequences": " ".join(str(t["consequences"]).split()),
                    "verify_months": int(t["verify_months"]),
                },
            )
        )
    return load_summary("信用承诺模板", results)


# ----------------------------------------------------------------------------- classification


def supervision_for(subject: Subject, field: SupervisionField) -> dict[str, Any]:
    """The supervision that applies to ``subject`` in ``field`` now: its grade under the
    active evaluation model (a blacklisted subject is D whatever its score), the inspection
    ratio and frequency, and the service lane."""
    grade = current_grades([subject.pk]).get(subject.pk)
    source = "evaluation"
    if ListEntry.objects.members().filter(subject=subject, list_type__kind="black").exists():
        grade, source = "D", "blacklist"
    elif grade is None:
        grade, source = field.default_grade, "default"
    rule = field.rule(grade)
    return {
        "code": subject.code,
        "name": subject.name,
        "field": field.code,
        "field_name": field.name,
        "grade": grade,
        "grade_source": source,
        "ratio": float(rule["ratio"]),
        "per_year": int(rule["per_year"]),
        "lane": rule["lane"],
        "lane_label": str(Lane(rule["lane"]).label),
        "measures": rule.get("measures", ""),
        "basis": field.basis,
    }


# ----------------------------------------------------------------------------- commitments


def sign_commitment(
    user: Any,
    template: CommitmentTemplate,
    subject: Subject,
    *,
    reason: str,
    signer: str,
    channel: str = Channel.ONLINE,
    published: bool = True,
    department: Department | None = None,
    restoration: Restoration | None = None,
    today: date | None = None,
) -> Commitment:
    """Record a signed commitment: online by the subject's own enterprise account, or on
    paper by a window clerk or department officer. It is published unless the signer chose
    otherwise, and gets a verification deadline for the responsible department."""
    today = today or timezone.localdate()
    if channel == Channel.ONLINE:
        account = getattr(user, "subject_account", None)
        if account is None or account.subject_id != subject.pk:
            raise Forbidden(_("网上签署承诺须以本企业账号进行"))
    else:
        require_perm(user, "supervision.add_commitment")
    if subject.kind == SubjectKind.PERSON:
        raise DomainError("commitment_person", _("本平台的告知承诺仅适用于市场主体"), "subject")
    if not template.is_active:
        raise DomainError("template_inactive", _("该承诺模板已停用"), "template")
    if not reason.strip():
        raise DomainError("reason_required", _("请填写承诺事由（办理的事项）"), "reason")
    if not signer.strip():
        raise DomainError("signer_required", _("请填写签署人"), "signer")
    return _create(
        template,
        subject,
        reason=reason,
        signer=signer,
        channel=channel,
        published=published,
        department=department,
        restoration=restoration,
        today=today,
        actor=getattr(user, "username", ""),
    )


@transaction.atomic
def _create(
    template: CommitmentTemplate,
    subject: Subject,
    *,
    reason: str,
    signer: str,
    channel: str,
    published: bool,
    department: Department | None,
    restoration: Restoration | None,
    today: date,
    actor: str,
) -> Commitment:
    department = template.department or department
    if department is None:
        raise DomainError("department_required", _("请指定受理承诺的部门"), "department")
    content = "\n".join(f"{i}. {c}" for i, c in enumerate(template.conditions, start=1))
    commitment = create_numbered(
        Commitment,
        AREA_CODE,
        today,
        template=template,
        subject=subject,
        department=department,
        channel=channel,
        reason=reason.strip()[:500],
        content=content,
        consequences=template.consequences,
        signer=signer.strip()[:50],
        signed_on=today,
        published=published,
        verify_due=add_months(today, template.verify_months),
        restoration=restoration,
        created_by=actor or "system",
    )
    audit.record(
        "commitment.sign",
        obj=commitment,
        subject=subject.code,
        purpose=_("签署信用承诺"),
        after={"number": commitment.number, "template": template.code, "channel": channel},
    )
    notify(
        _("新的信用承诺待核查：%(n)s") % {"n": commitment.number},
        _("%(s)s 签署《%(t)s》，请于 %(d)s 前核查履行情况。")
        % {"s": subject.name, "t": template.title, "d": commitment.verify_due},
        department=department,
    )
    return commitment


def commitments_for(user: Any) -> QuerySet[Commitment]:
    """Commitments a back-office user may see: their department's (all for the office)."""
    require_perm(user, "supervision.view_commitment")
    return restrict(Commitment.objects.select_related("subject", "template", "department"), user)


def signable_templates() -> QuerySet[CommitmentTemplate]:
    """Templates an applicant signs directly, online or at a window: the active ones with a
    verifying department (restoration commitments have none; restorations create them)."""
    return CommitmentTemplate.objects.filter(
        is_active=True, department__isnull=False
    ).select_related("department", "matter")


def public_commitments() -> QuerySet[Commitment]:
    """Commitments shown on the public site (承诺公示): those published by their signer, of
    organisations only, newest first."""
    return (
        Commitment.objects.filter(published=True)
        .exclude(subject__kind=SubjectKind.PERSON)
        .select_related("subject", "template")
        .order_by("-signed_on", "-id")
    )


@transaction.atomic
def verify_commitment(
    user: Any,
    commitment: Commitment,
    *,
    outcome: str,
    unfulfilled: str = "",
    liability: str = "",
    today: date | None = None,
) -> Commitment:
    """Record the verification (核查) of a commitment by its department: fulfilled, partly
    or not at all. The outcome enters the collection path as a 信用承诺履行 (CNWY) record, so
    a breach becomes an untrustworthy behavior event that lists and scores read."""
    require_perm(user, "supervision.change_commitment")
    if user.department_id != commitment.department_id:
        raise Forbidden(_("只有受理承诺的部门可以核查"))
    if commitment.status != CommitmentStatus.SIGNED:
        raise DomainError("commitment_verified", _("该承诺已核查，不能重复认定"))
    if outcome not in Outcome.values:
        raise DomainError("outcome_invalid", _("请选择履行情况"), "outcome")
    breached = outcome != Outcome.FULL
    if breached and not (unfulfilled.strip() and liability.strip()):
        raise DomainError(
            "breach_details_required",
            _("未履行或部分履行的，须填写未履行的承诺内容和违诺责任追究情况"),
            "unfulfilled",
        )
    today = today or timezone.localdate()
    commitment.outcome = outcome
    commitment.status = CommitmentStatus.BREACHED if breached else CommitmentStatus.FULFILLED
    commitment.unfulfilled = unfulfilled.strip() if breached else ""
    commitment.liability = liability.strip() if breached else ""
    commitment.verified_on = today
    commitment.verified_by = user.username
    commitment.record = _collect(commitment, user, today)
    commitment.save()
    audit.record(
        "commitment.verify",
        obj=commitment,
        subject=commitment.subject.code,
        purpose=_("核查信用承诺履行情况"),
        after={"outcome": outcome, "record": commitment.record_id},
    )
    return commitment


def _collect(commitment: Commitment, user: Any, today: date) -> CreditRecord:
    """Submit the verification as one CNWY row through the normal ingest path."""
    subject, department = commitment.subject, commitment.department
    row = {
        "CNWY_CNBM": commitment.number,
        "CNWY_CNRMC": subject.name,
        "CNWY_CNRLB": KIND_LABEL[SubjectKind(subject.kind)],
        "CNWY_CNRDM": subject.uscc or "",
        "CNWY_FDDBR": subject.legal_rep_name,
        "CNWY_CNLX": commitment.template.kind,
        "CNWY_CNSY": commitment.reason,
        "CNWY_CNNR": commitment.content,
        "CNWY_WNZR": commitment.consequences,
        "CNWY_CNRQ": commitment.signed_on.isoformat(),
        "CNWY_LXZT": commitment.outcome,
        "CNWY_WLXNR": commitment.unfulfilled,
        "CNWY_ZRZJ": commitment.liability,
        "CNWY_RDRQ": today.isoformat(),
        "CNWY_RDDW": department.name,
        "CNWY_RDDWDM": department.uscc,
        "CNWY_SLDW": department.name,
        "CNWY_SLDWDM": department.uscc,
        "CNWY_GKLX": "可向社会公开" if commitment.published else "不可公开",
    }
    return collect_row(
        "CNWY",
        department,
        row,
        external_id=f"CN{commitment.number}",
        actor=user.username,
        today=today,
    )


def remind_overdue_commitments(today: date | None = None) -> int:
    """Tell each department (once per commitment) of verifications past their deadline, and
    the credit office of the count. Returns how many commitments were newly overdue."""
    today = today or timezone.localdate()
    overdue = list(
        Commitment.objects.filter(
            status=CommitmentStatus.SIGNED, verify_due__lt=today, reminded_at__isnull=True
        ).select_related("department")
    )
    by_department: dict[Department, list[Commitment]] = {}
    for commitment in overdue:
        by_department.setdefault(commitment.department, []).append(commitment)
    for department, items in by_department.items():
        notify(
            _("%(n)d 项信用承诺逾期未核查") % {"n": len(items)},
            "、".join(c.number for c in items[:20]),
            department=department,
        )
    if overdue:
        notify(
            _("%(n)d 项信用承诺逾期未核查") % {"n": len(overdue)},
            "、".join(f"{d.name} {len(i)}" for d, i in by_department.items()),
            role="credit_office",
        )
        Commitment.objects.filter(pk__in=[c.pk for c in overdue]).update(reminded_at=timezone.now())
    return len(overdue)


def track_restoration_commitments(today: date | None = None) -> int:
    """Approved restorations' commitments (信用修复承诺) become tracked commitments, verified
    by the department that decided the restoration. Idempotent (one per restoration)."""
    template = CommitmentTemplate.objects.filter(code="XYXF", is_active=True).first()
    if template is None:
        return 0
    pending = Restoration.objects.filter(
        status=RestorationStatus.APPROVED, commitment__isnull=True
    ).select_related("subject", "department")
    created = 0
    for restoration in pending:
        if restoration.subject.kind == SubjectKind.PERSON:
            continue
        _create(
            template,
            restoration.subject,
            reason=_("信用修复申请 %(n)s") % {"n": restoration.number},
            signer=restoration.subject.legal_rep_name or restoration.subject.name,
            channel=Channel.PAPER,
            published=True,
            department=restoration.department,
            restoration=restoration,
            today=restoration.commitment_signed_at.date() if today is None else today,
            actor="system",
        )
        created += 1
    return created
