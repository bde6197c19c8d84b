"""Query windows (一口受理): public credit reports for legal persons and, with a recorded
written authorization, for natural persons; their numbers, verification codes and audit.

A report is built once, at issue time, into a JSON snapshot (``CreditReport.content``) whose
SHA-256 digest is stored beside it; HTML and PDF are rendered from the snapshot only, so a
re-download shows exactly what was issued. The verification code is derived, not stored:
an HMAC over the number, the digest and the issue time under a server key, so it cannot be
forged without the key and it stops verifying if the stored content is altered.

What a report shows of the records (the subject's own report, i.e. an authorized query):
current records of catalog items disclosed to the public or by authorized query — never
government-internal items — that are still inside their publicity: not past their end
date, not retracted, restored (信用修复) or past the longest publicity period, and not
classified by the behavior list as unpublished (minor penalties). For organisations this
is exactly ``records.disclosure.public_records`` plus the authorized-query items; for a
natural person it also covers the person's own records that the public never sees.
Only the fields the catalog makes public are shown (``disclosure.public_fields``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.permissions import require_perm
from creditplus.catalog.choices import Disclosure, SubjectKind
from creditplus.catalog.models import CatalogItem
from creditplus.catalog.services import INDUSTRY_TABLE, code_label
from creditplus.errors import DomainError, Forbidden, NotFound
from creditplus.evaluation import services as evaluation
from creditplus.identifiers import check_resident_id, check_uscc
from creditplus.lists.choices import MEMBER_STATUSES
from creditplus.lists.models import ListEntry
from creditplus.numbering import create_numbered
from creditplus.records.choices import EventStatus
from creditplus.records.disclosure import (
    code_labels,
    newest_first_of_one_subject,
    public_fields,
)
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.reports.choices import Authorizer, IdVerification, ReportChannel, ReportKind
from creditplus.reports.models import CreditReport, PersonalAuthorization
from creditplus.subjects import pii
from creditplus.subjects.models import Subject
from creditplus.subjects.services import RESIDENT_ID, person_key
from creditplus.supervision.services import public_commitments
from creditplus.uploads import check_document

NUMBER_PREFIX = "XYBG"
# Verification codes: no 0/O, 1/I/L lookalikes, so a code read off paper is typed right.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
CONTENT_FORMAT = 1

AUTHORIZATION_MAX_MB = 5
AUTHORIZATION_MAX_DAYS = 365
AUTHORIZATION_DEFAULT_DAYS = 30

PLATFORM_ISSUER = "浦东新区公共信用信息服务平台"
ONLINE_ISSUER = "信用浦东网站（网上自助查询）"
FINANCIAL_STATUS = "请至征信中心查询"
FINANCIAL_INSTRUCTIONS = (
    "个人金融信用信息（个人信用报告）由中国人民银行征信中心依法采集和提供，本平台不归集、不出具。"
    "请本人携带有效身份证件至中国人民银行征信中心或其分支机构设立的查询网点（含商业银行代理查询网点、"
    "自助查询机）查询，或登录征信中心官方网站 https://ipcrs.pbccrc.org.cn 在线查询。"
    "本窗口可提供查询网点地址和办理指引。"
)


# --------------------------------------------------------------------------- helpers


def canonical_json(content: dict[str, Any]) -> str:
    """The one serialisation the digest is computed over (sorted keys, no spaces)."""
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a report's content."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def _stamp(moment: datetime) -> str:
    # Microsecond UTC text: the same on SQLite and PostgreSQL after a database round trip.
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")


def verification_code(number: str, digest: str, issued_at: datetime) -> str:
    """The report's verification code: ``CODE_LENGTH`` characters of an HMAC keyed by the
    audit key (stable by design; README), over the number, content digest and issue time."""
    mac = salted_hmac(
        "creditplus.reports.verification",
        f"{number}|{digest}|{_stamp(issued_at)}",
        secret=settings.AUDIT_KEY,
        algorithm="sha256",
    ).digest()
    value = int.from_bytes(mac, "big")
    chars = []
    for _i in range(CODE_LENGTH):
        value, index = divmod(value, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def report_code(report: CreditReport) -> str:
    """The verification code printed on ``report``."""
    return verification_code(report.number, report.content_sha256, report.issued_at)


def normalize_code(value: str) -> str:
    """A code as typed: spaces and hyphens dropped, letters upper-cased."""
    return "".join(ch for ch in (value or "").upper() if ch not in " -\u3000\t")


def _masked_subject(subject: Subject) -> str:
    return pii.mask_name(subject.name) if subject.is_person else subject.name


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _require_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    if not purpose:
        raise DomainError("purpose_required", _("请填写查询用途"), "purpose")
    return purpose[:500]


def _window_issuer(user: Any) -> str:
    dept = getattr(user, "department", None)
    with translation.override(settings.LANGUAGE_CODE):
        return _("%(d)s信用信息查询窗口") % {"d": dept.name} if dept else _("信用信息查询窗口")


# --------------------------------------------------------------------------- scope


def reports_for(user: Any) -> QuerySet[CreditReport]:
    """Reports a back-office user may see: all for the credit office and administrators, the
    own department's window reports for a window clerk with a department, else the user's own."""
    require_perm(user, "reports.view_creditreport")
    qs = CreditReport.objects.select_related("subject", "department", "authorization")
    if user.is_platform_wide:
        return qs
    if user.department_id:
        return qs.filter(department_id=user.department_id)
    return qs.filter(requested_by=user)


def authorizations_for(user: Any) -> QuerySet[PersonalAuthorization]:
    """Authorizations a back-office user may see (scoped like :func:`reports_for`)."""
    require_perm(user, "reports.view_personalauthorization")
    qs = PersonalAuthorization.objects.select_related("subject", "department")
    if user.is_platform_wide:
        return qs
    if user.department_id:
        return qs.filter(department_id=user.department_id)
    return qs.filter(recorded_by=user)


def get_report_for(user: Any, number: str) -> CreditReport:
    """One report inside ``user``'s scope, or :class:`NotFound`."""
    report = reports_for(user).filter(number=number).first()
    if report is None:
        raise NotFound()
    return report


def own_reports(subject: Subject) -> QuerySet[CreditReport]:
    """The enterprise reports issued about ``subject`` (its portal area)."""
    return CreditReport.objects.filter(subject=subject, kind=ReportKind.ENTERPRISE)


# --------------------------------------------------------------------------- finding subjects


def find_organisation(code: str) -> Subject:
    """An organisation by unified social credit code; invalid codes are refused with the
    reason (``invalid_uscc``), unknown ones with ``subject_not_found``."""
    check = check_uscc(code)
    if not check.ok:
        raise DomainError("invalid_uscc", check.message or _("统一社会信用代码无效"), "uscc")
    subject = Subject.objects.organisations().filter(uscc=check.value).first()
    if subject is None:
        raise DomainError(
            "subject_not_found",
            _("未找到统一社会信用代码为 %(c)s 的市场主体") % {"c": check.value},
            "uscc",
            status=404,
        )
    return subject


def valid_resident_id(id_number: str, field: str = "id_number") -> str:
    """The normalised resident ID number, or ``DomainError("invalid_id_number")`` naming the
    problem (length, characters, birth date, check character — GB 11643, via python-stdnum's
    check-character computation in ``creditplus.identifiers``)."""
    check = check_resident_id(id_number)
    if not check.ok:
        raise DomainError(
            "invalid_id_number",
            _("居民身份证号码无效：%(reason)s") % {"reason": check.message},
            field,
        )
    return check.value


def find_person(id_number: str) -> Subject | None:
    """The natural person with this resident ID number (found by its keyed hash), or None.
    Invalid numbers are refused (``invalid_id_number``)."""
    number = valid_resident_id(id_number)
    return Subject.objects.filter(
        kind=SubjectKind.PERSON, id_hash=pii.lookup_hash(person_key(RESIDENT_ID, number))
    ).first()


def _person_for_window(id_number: str, name: str) -> tuple[Subject, bool]:
    """The person the clerk identified (created when no department reported on them yet, so
    that their report can say so); the name must match the registry's."""
    name = (name or "").strip()
    if not name:
        raise DomainError("name_required", _("请填写被查询人姓名"), "name")
    number = valid_resident_id(id_number)
    subject = find_person(number)
    if subject is not None:
        if subject.name and subject.name != name:
            raise DomainError(
                "identity_mismatch",
                _("姓名与身份证号码在信用信息库中的登记不一致，请核对身份证件"),
                "name",
            )
        return subject, False
    subject = Subject.objects.create(
        kind=SubjectKind.PERSON,
        id_hash=pii.lookup_hash(person_key(RESIDENT_ID, number)),
        id_cipher=pii.encrypt(number),
        id_masked=pii.mask_id_number(number),
        name=name[:200],
    )
    return subject, True


# --------------------------------------------------------------------------- content


def _report_items() -> list[CatalogItem]:
    """Catalog items a subject's own report may show: public ones (unless their definition
    withholds publication) and those disclosed by authorized query; never government-only."""
    items = CatalogItem.objects.active().filter(
        disclosure__in=[Disclosure.PUBLIC, Disclosure.AUTHORIZED]
    )
    return [
        item
        for item in items.order_by("code")
        if item.disclosure == Disclosure.AUTHORIZED
        or (item.definition.get("publicity") or {}).get("published", True)
    ]


def report_records(subject: Subject, today: date | None = None) -> QuerySet[CreditRecord]:
    """The subject's records its own report shows on ``today`` (see the module docstring)."""
    today = _today(today)
    withheld = CreditEvent.objects.filter(record=OuterRef("pk")).filter(
        ~Q(status=EventStatus.ACTIVE)
        | Q(publish_until__isnull=False, publish_until__lt=today)
        | Q(rule__published=False)
    )
    return (
        CreditRecord.objects.current()
        .filter(subject=subject, item_id__in=[i.pk for i in _report_items()])
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .exclude(Exists(withheld))
        .select_related("department")
        .order_by(*newest_first_of_one_subject())
    )


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _identity(subject: Subject) -> dict[str, Any]:
    if subject.is_person:
        return {
            "name": subject.name,
            "kind": str(SubjectKind.PERSON.label),
            "code_label": _("公民身份号码"),
            "code": subject.id_masked,
        }
    capital = subject.registered_capital
    return {
        "name": subject.name,
        "kind": str(SubjectKind(subject.kind).label),
        "code_label": _("统一社会信用代码"),
        "code": subject.uscc or "",
        "legal_rep": subject.legal_rep_name,
        "enterprise_type": subject.enterprise_type,
        "industry": code_label(INDUSTRY_TABLE, subject.industry),
        "address": subject.address,
        "registered_capital": f"{capital.normalize():f}" if capital is not None else "",
        "established_on": _iso(subject.established_on),
        "status": subject.status,
    }


def _record_fields(
    record: CreditRecord, item: CatalogItem, labels: dict[str, dict[str, str]], subject: Subject
) -> list[dict[str, str]]:
    """The record's public fields as the report prints them: code-table labels, never codes;
    without the fields that repeat what the report states once already (the subject's name,
    kind and code are in section 一, the providing department is in each record's head, and
    its USCC and the data-source fields repeat it, the decision date is in the head), so that
    records stay short."""
    spec = item.spec
    repeated = {spec.subject.name, spec.subject.kind, spec.subject.uscc, spec.decision_date}
    dept = record.department
    shown, authority_seen = [], False
    for f in public_fields(record, spec, labels):
        if f.code in repeated or f.value == dept.uscc:
            continue
        if f.value == subject.legal_rep_name or (
            len(f.value) >= 8 and f.value in (subject.uscc or "")
        ):
            continue  # the current legal representative and codes inside the USCC (section 一)
        if f.value == dept.name:
            # The first field naming the department is the deciding authority (处罚机关, 许可机关);
            # later ones (数据来源单位) only repeat it.
            if authority_seen:
                continue
            authority_seen = True
        shown.append({"label": f.label, "value": f.value})
    return shown


def _sections(subject: Subject, today: date) -> list[dict[str, Any]]:
    items = {item.pk: item for item in _report_items()}
    # A person's own records are not public (personal penalties are never published): in a
    # personal report every item is shown by the person's authorization.
    shown_by = str(Disclosure.AUTHORIZED.label) if subject.is_person else None
    by_item: dict[int, list[dict[str, Any]]] = {}
    labels: dict[int, dict[str, dict[str, str]]] = {}  # code-table labels, per item once
    for record in report_records(subject, today):
        item = items[record.item_id]
        if record.item_id not in labels:
            labels[record.item_id] = code_labels(item.spec)
        by_item.setdefault(record.item_id, []).append(
            {
                "key": record.natural_key,
                "department": record.department.name,
                "decision_date": _iso(record.decision_date),
                "fields": _record_fields(record, item, labels[record.item_id], subject),
            }
        )
    return [
        {
            "item": item.code,
            "name": item.name,
            "category": item.category,
            "disclosure": shown_by or str(item.get_disclosure_display()),
            "records": by_item[pk],
        }
        for pk, item in items.items()
        if pk in by_item
    ]


def _lists(subject: Subject) -> list[dict[str, Any]]:
    """Memberships in force of lists that are published (internal watch lists are not)."""
    entries = (
        ListEntry.objects.filter(
            subject=subject, status__in=MEMBER_STATUSES, list_type__published=True
        )
        .select_related("list_type", "department")
        .order_by("list_type__kind", "list_type__code", "-id")
    )
    return [
        {
            "entry_no": e.entry_no,
            "list": e.list_type.name,
            "kind": e.list_type.kind,
            "kind_label": str(e.list_type.get_kind_display()),
            "status": str(e.get_status_display()),
            "since": _iso(e.decided_on),
            "until": _iso(e.publish_until),
            "department": e.department.name,
            "decision_no": e.document_no,
            "reason": e.reason,
            "basis": e.basis,
        }
        for e in entries
    ]


def _commitments(subject: Subject) -> list[dict[str, Any]]:
    """The subject's commitments it chose to publish (承诺公示), newest first."""
    return [
        {
            "number": c.number,
            "title": c.template.title,
            "reason": c.reason,
            "signed_on": _iso(c.signed_on),
            "status": str(c.get_status_display()),
            "outcome": c.outcome,
            "department": c.department.name,
        }
        for c in public_commitments().filter(subject=subject).select_related("department")
    ]


def _grade(subject: Subject) -> dict[str, Any]:
    if not settings.CREDITPLUS_REPORT_SHOWS_GRADE:
        return {"shown": False, "note": _("按本平台信息公开规定，报告不载明信用评价等级。")}
    try:
        score = evaluation.subject_score(subject)
    except DomainError:
        return {"shown": False, "note": _("该主体暂无公共信用综合评价结果。")}
    return {
        "shown": True,
        "grade": score["grade"],
        "label": score["grade_label"],
        "model": score["model_name"],
        "as_of": _iso(score["as_of"]),
        "note": _("评价结果依据本平台归集的公共信用信息按公开的评价模型计算，仅供参考。"),
    }


def build_content(
    subject: Subject,
    kind: str,
    *,
    today: date | None = None,
    authorization: PersonalAuthorization | None = None,
) -> dict[str, Any]:
    """The snapshot of a report on ``subject`` as of ``today``: identity, records by catalog
    item, list memberships, commitments, and the grade (enterprise reports, when the setting
    ``CREDITPLUS_REPORT_SHOWS_GRADE`` allows) or the central bank link-out (personal)."""
    today = _today(today)
    # A report is an official document in the platform's language, whatever the UI language
    # of the clerk who issued it; its snapshot never changes afterwards.
    with translation.override(settings.LANGUAGE_CODE):
        return _content(subject, kind, today, authorization)


def _content(
    subject: Subject, kind: str, today: date, authorization: PersonalAuthorization | None
) -> dict[str, Any]:
    personal = kind == ReportKind.PERSONAL
    sections = _sections(subject, today)
    content: dict[str, Any] = {
        "format": CONTENT_FORMAT,
        "kind": kind,
        "title": _("公共信用信息报告（自然人版）") if personal else _("公共信用信息报告（法人版）"),
        "platform": PLATFORM_ISSUER,
        "as_of": today.isoformat(),
        "subject": _identity(subject),
        "sections": sections,
        "record_total": sum(len(s["records"]) for s in sections),
        "lists": _lists(subject),
        "commitments": [] if personal else _commitments(subject),
        "grade": None if personal else _grade(subject),
        "notes": [
            _(
                "本报告载明截至出具日本平台归集的公共信用信息，信息由各数据来源单位提供，"
                "其真实性由提供单位负责；已超过公示期、已信用修复或已撤销的信息不予载明。"
            ),
            _("信用主体对报告内容有异议的，可向本平台或数据来源单位提出异议申请。"),
            _("本报告的真实性可凭报告编号和验证码在“信用浦东”网站报告核验页面查验。"),
        ],
    }
    if personal:
        content["financial"] = {
            "title": _("金融信用信息（个人信用报告）"),
            "status": FINANCIAL_STATUS,
            "instructions": (
                settings.CREDITPLUS_FINANCIAL_REPORT_INSTRUCTIONS or FINANCIAL_INSTRUCTIONS
            ),
        }
    if authorization is not None:
        content["authorization"] = {
            "number": authorization.number,
            "authorizer": str(authorization.get_authorizer_display()),
            "agent": pii.mask_name(authorization.agent_name) if authorization.agent_name else "",
            "id_verification": str(authorization.get_id_verification_display()),
            "valid_until": _iso(authorization.valid_until),
        }
    return content


# --------------------------------------------------------------------------- issuing


def _issue(
    *,
    kind: str,
    subject: Subject,
    user: Any,
    channel: str,
    purpose: str,
    content: dict[str, Any],
    issuer: str,
    license_checked: bool = False,
    authorization: PersonalAuthorization | None = None,
) -> CreditReport:
    digest = content_digest(content)
    department = getattr(user, "department", None) if channel == ReportChannel.WINDOW else None
    with transaction.atomic():
        report = create_numbered(
            CreditReport,
            NUMBER_PREFIX,
            timezone.localdate(),
            kind=kind,
            subject=subject,
            subject_label=_masked_subject(subject)[:200],
            channel=channel,
            purpose=purpose,
            license_checked=license_checked,
            requested_by=user,
            requested_by_name=user.get_username(),
            department=department,
            issuer=issuer[:200],
            authorization=authorization,
            content=content,
            content_sha256=digest,
            issued_at=timezone.now(),
        )
        audit.record(
            "report.issue",
            obj=report,
            subject=subject.code,
            purpose=purpose,
            after={
                "number": report.number,
                "kind": kind,
                "channel": channel,
                "sha256": digest,
                "authorization": authorization.number if authorization else None,
                "license_checked": license_checked,
            },
        )
    return report


def issue_report(
    *,
    kind: str,
    subject: Subject,
    user: Any,
    channel: str,
    purpose: str,
    content: dict[str, Any],
    issuer: str,
) -> CreditReport:
    """Issue an organisation's report whose content another app built (e.g. the Zhangjiang
    enterprise credit report): the same numbering, snapshot digest, verification code and
    audit as the reports of this app. The caller has checked that ``user`` may have it;
    personal reports go through :func:`issue_personal_report` only."""
    if kind == ReportKind.PERSONAL or subject.is_person:
        raise DomainError("not_an_organisation", _("此类报告只适用于组织机构"), "subject")
    return _issue(
        kind=kind,
        subject=subject,
        user=user,
        channel=channel,
        purpose=_require_purpose(purpose),
        content=content,
        issuer=issuer,
    )


def issue_enterprise_report(
    subject: Subject,
    user: Any,
    channel: str,
    purpose: str,
    license_checked: bool = False,
    *,
    today: date | None = None,
) -> CreditReport:
    """Issue a legal person's public credit report: online to the subject's own bound
    enterprise account, or at a window by a clerk who checked the business license."""
    if channel == ReportChannel.ONLINE:
        account = getattr(user, "subject_account", None) if user.is_authenticated else None
        if account is None or account.subject_id != subject.pk:
            raise Forbidden(_("网上只能查询本企业的信用报告"))
        issuer = ONLINE_ISSUER
    elif channel == ReportChannel.WINDOW:
        require_perm(user, "reports.add_creditreport")
        if not license_checked:
            raise DomainError(
                "license_not_checked",
                _("窗口出具法人信用报告前须核验营业执照原件（或电子营业执照）"),
                "license_checked",
            )
        issuer = _window_issuer(user)
    else:
        raise DomainError("channel_invalid", _("查询渠道无效"), "channel")
    if subject.is_person:
        raise DomainError(
            "not_an_organisation",
            _("自然人须凭书面授权在窗口查询个人信用报告"),
            "subject",
        )
    purpose = _require_purpose(purpose)
    content = build_content(subject, ReportKind.ENTERPRISE, today=today)
    return _issue(
        kind=ReportKind.ENTERPRISE,
        subject=subject,
        user=user,
        channel=channel,
        purpose=purpose,
        content=content,
        issuer=issuer,
        license_checked=license_checked or channel == ReportChannel.ONLINE,
    )


def check_authorization_file(file: UploadedFile | None) -> UploadedFile:
    """Refuse a missing, empty, oversized or non-PDF/JPG/PNG authorization file."""
    if file is None:
        raise DomainError("file_required", _("请上传书面授权书（或授权委托书）扫描件"), "file")
    return check_document(file, what=_("授权书文件"), field="file", max_mb=AUTHORIZATION_MAX_MB)


def record_authorization(
    user: Any,
    *,
    id_number: str,
    name: str,
    id_verification: str,
    authorizer: str,
    file: UploadedFile | None,
    purpose: str,
    valid_until: date | None = None,
    agent_name: str = "",
    agent_id_number: str = "",
    today: date | None = None,
) -> PersonalAuthorization:
    """Record, at a window, that the clerk verified the person's (or agent's) identity and
    received the written authorization; the scanned authorization is kept privately.
    Audited; the ID numbers are kept only as a keyed hash, ciphertext and masked text."""
    require_perm(user, "reports.add_personalauthorization")
    today = _today(today)
    if id_verification not in IdVerification.values:
        raise DomainError("verification_required", _("请选择身份核验方式"), "id_verification")
    if authorizer not in Authorizer.values:
        raise DomainError("authorizer_required", _("请选择办理人"), "authorizer")
    agent_name = (agent_name or "").strip()
    agent_number = ""
    if authorizer == Authorizer.AGENT:
        if not agent_name:
            raise DomainError("agent_required", _("代理人办理的，须填写代理人姓名"), "agent_name")
        agent_number = valid_resident_id(agent_id_number, "agent_id_number")
    purpose = _require_purpose(purpose)
    valid_until = valid_until or today + timedelta(days=AUTHORIZATION_DEFAULT_DAYS)
    if valid_until < today:
        raise DomainError("valid_until_past", _("授权有效期不能早于今天"), "valid_until")
    if valid_until > today + timedelta(days=AUTHORIZATION_MAX_DAYS):
        raise DomainError("valid_until_too_far", _("授权有效期最长为一年"), "valid_until")
    file = check_authorization_file(file)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    with transaction.atomic():
        subject, created = _person_for_window(id_number, name)
        authorization = PersonalAuthorization(
            subject=subject,
            id_verification=id_verification,
            authorizer=authorizer,
            agent_name=agent_name[:50] if authorizer == Authorizer.AGENT else "",
            agent_id_cipher=pii.encrypt(agent_number) if agent_number else "",
            agent_id_masked=pii.mask_id_number(agent_number) if agent_number else "",
            file_name=PurePath(file.name).name[-200:],
            file_size=file.size,
            file_sha256=digest.hexdigest(),
            purpose=purpose,
            valid_until=valid_until,
            department=getattr(user, "department", None),
            recorded_by=user,
            recorded_by_name=user.get_username(),
            recorded_at=timezone.now(),
        )
        authorization.file.save(authorization.file_name, file, save=False)
        authorization.save()
        audit.record(
            "authorization.record",
            obj=authorization,
            subject=subject.code,
            purpose=purpose,
            after={
                "number": authorization.number,
                "authorizer": authorizer,
                "id_verification": id_verification,
                "agent_id": authorization.agent_id_masked,
                "valid_until": valid_until,
                "file_sha256": authorization.file_sha256,
                "subject_created": created,
            },
        )
    return authorization


def issue_personal_report(
    authorization: PersonalAuthorization | None,
    user: Any,
    purpose: str = "",
    *,
    subject: Subject | None = None,
    today: date | None = None,
) -> CreditReport:
    """Issue a natural person's public credit report at a window. Refused with
    ``authorization_required`` unless a recorded authorization in the clerk's scope is
    given, still valid on ``today``, and names ``subject`` (when given)."""
    require_perm(user, "reports.add_creditreport")
    today = _today(today)
    if authorization is None or authorization.pk is None:
        raise DomainError(
            "authorization_required",
            _("查询个人信用报告须先登记本人书面授权（或代理人授权委托书）"),
            "authorization",
            status=403,
        )
    if not authorizations_for(user).filter(pk=authorization.pk).exists():
        raise NotFound()
    if authorization.valid_until < today:
        raise DomainError(
            "authorization_required",
            _("授权已于 %(d)s 过期，请重新登记书面授权") % {"d": authorization.valid_until},
            "authorization",
            status=403,
        )
    if subject is not None and subject.pk != authorization.subject_id:
        raise DomainError(
            "authorization_required",
            _("该授权不是被查询人本人的授权"),
            "authorization",
            status=403,
        )
    person = authorization.subject
    if not person.is_person:
        raise DomainError("not_a_person", _("个人信用报告只适用于自然人"), "subject")
    purpose = _require_purpose(purpose or authorization.purpose)
    content = build_content(person, ReportKind.PERSONAL, today=today, authorization=authorization)
    return _issue(
        kind=ReportKind.PERSONAL,
        subject=person,
        user=user,
        channel=ReportChannel.WINDOW,
        purpose=purpose,
        content=content,
        issuer=_window_issuer(user),
        authorization=authorization,
    )


# --------------------------------------------------------------------------- reading


def record_view(report: CreditReport, action: str = "report.view") -> None:
    """Audit one view (``report.view``) or download (``report.download``) of a report, with
    the purpose it was issued for."""
    audit.record(
        action,
        obj=report,
        subject=report.subject.code,
        purpose=report.purpose,
        after={"number": report.number, "kind": report.kind},
    )


def read_authorization(
    user: Any, pk: int, action: str = "authorization.view"
) -> PersonalAuthorization:
    """One authorization in ``user``'s scope (else :class:`NotFound`), its reading audited."""
    authorization = authorizations_for(user).filter(pk=pk).first()
    if authorization is None:
        raise NotFound()
    audit.record(
        action,
        obj=authorization,
        subject=authorization.subject.code,
        purpose=authorization.purpose,
        after={"number": authorization.number},
    )
    return authorization


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verification:
    """The public answer of ``/verify``: whether a report with this number and code was
    issued, and if so when, of which kind, for whom (persons masked) and by which window."""

    ok: bool
    number: str
    reason: str = ""  # "" when ok; "unknown_number" or "code_mismatch" (not shown publicly)
    kind: str = ""
    kind_label: str = ""
    subject: str = ""
    issued_at: datetime | None = None
    issuer: str = ""
    digest: str = ""


_DUMMY_DIGEST = "0" * 64


def verify(number: str, code: str) -> Verification:
    """Check a report number and verification code (constant-time comparison; an unknown
    number costs the same HMAC as a known one, so timing does not tell them apart)."""
    number = normalize_code(number)[:24]
    code = normalize_code(code)[:32]
    report = (
        CreditReport.objects.filter(number=number).select_related("subject").first()
        if number
        else None
    )
    if report is None:
        verification_code(number, _DUMMY_DIGEST, datetime(2000, 1, 1, tzinfo=UTC))
        return Verification(ok=False, number=number, reason="unknown_number")
    if not constant_time_compare(report_code(report), code):
        return Verification(ok=False, number=number, reason="code_mismatch")
    if content_digest(report.content) != report.content_sha256:
        # The stored snapshot was altered after issue: never confirm it.
        return Verification(ok=False, number=number, reason="content_altered")
    return Verification(
        ok=True,
        number=number,
        kind=report.kind,
        kind_label=str(report.get_kind_display()),
        subject=report.subject_label,
        issued_at=report.issued_at,
        issuer=report.issuer,
        digest=report.content_sha256,
    )


def verify_url(report: CreditReport, base: str = "") -> str:
    """The verification link printed on the report (absolute when ``base`` is given)."""
    query = urlencode({"no": report.number, "code": report_code(report)})
    return f"{base.rstrip('/')}/verify?{query}"
