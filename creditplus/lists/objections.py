"""异议申诉: a subject challenges one of its public records or a list entry; the owning
department answers within a deadline; the outcome corrects, retracts or confirms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify
from creditplus.catalog.choices import Disclosure
from creditplus.errors import DomainError, Forbidden
from creditplus.lists.attachments import check_files, save_files
from creditplus.lists.choices import (
    LIVE_STATUSES,
    EndReason,
    ObjectionOutcome,
    ObjectionStatus,
)
from creditplus.lists.models import ListEntry, ListTransition, Objection
from creditplus.lists.services import deadline, remove_entry
from creditplus.records.choices import RecordStatus
from creditplus.records.models import CreditRecord
from creditplus.records.services import correct_record, retract_record
from creditplus.subjects.models import Subject
from creditplus.subjects.pii import encrypt, mask_id_number, unseal

RECORD_OUTCOMES = (
    ObjectionOutcome.CORRECTED,
    ObjectionOutcome.RETRACTED,
    ObjectionOutcome.CONFIRMED,
)
ENTRY_OUTCOMES = (ObjectionOutcome.UPHELD, ObjectionOutcome.CONFIRMED)


def subject_of(user: Any) -> Subject:
    """The subject an enterprise account acts for (bound at a window), or 403."""
    account = getattr(user, "subject_account", None) if user.is_authenticated else None
    if account is None:
        raise Forbidden(_("请先到服务窗口办理企业账号与信用主体的绑定"))
    return account.subject


def objections_for(user: Any) -> QuerySet[Objection]:
    """Objections ``user`` may see in the back office (own department, or all)."""
    return restrict(Objection.objects.all(), user).select_related(
        "subject", "department", "record__item", "entry__list_type"
    )


def open_objection_targets(
    records: Iterable[int] = (), entries: Iterable[int] = ()
) -> tuple[set[int], set[int]]:
    """Which of ``records`` and ``entries`` are "in objection" (shown as such in public)."""
    open_ = Objection.objects.filter(status=ObjectionStatus.OPEN)
    return (
        set(open_.filter(record_id__in=list(records)).values_list("record_id", flat=True)),
        set(open_.filter(entry_id__in=list(entries)).values_list("entry_id", flat=True)),
    )


def _objectionable_record(subject: Subject, record: CreditRecord) -> CreditRecord:
    """The record, locked (two simultaneous objections must not both pass the pending
    check): the subject's own, current, active and public."""
    record = CreditRecord.objects.select_for_update().select_related("item").get(pk=record.pk)
    if record.subject_id != subject.pk:
        raise Forbidden(_("只能对本主体的信用信息提出异议"))
    if not (
        record.is_current
        and record.status == RecordStatus.ACTIVE
        and record.item.disclosure == Disclosure.PUBLIC
    ):
        raise DomainError(
            "record_not_objectionable", _("该信息不是当前公开的信用信息"), "record", status=409
        )
    return record


def _objectionable_entry(subject: Subject, entry: ListEntry) -> ListEntry:
    """The list entry, locked: the subject's own and still live."""
    entry = ListEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.subject_id != subject.pk:
        raise Forbidden(_("只能对本主体的名单信息提出异议"))
    if entry.status not in LIVE_STATUSES:
        raise DomainError(
            "entry_not_objectionable", _("该名单事项已办结，不能提出异议"), "entry", status=409
        )
    return entry


def _no_pending_objection(target: CreditRecord | ListEntry) -> None:
    field = "record" if isinstance(target, CreditRecord) else "entry"
    if Objection.objects.filter(**{field: target}, status=ObjectionStatus.OPEN).exists():
        raise DomainError(
            "objection_pending", _("该信息已有正在处理的异议，请等待答复"), "target", status=409
        )


def _announce_objection(objection: Objection) -> None:
    """The entry's history (an objection pauses nothing but is on record), the audit, and
    the answering department's notice."""
    entry, subject = objection.entry, objection.subject
    if entry is not None:
        ListTransition.objects.create(
            entry=entry,
            action="objection",
            from_status=entry.status,
            to_status=entry.status,
            at=objection.submitted_at,
            actor_name=audit.current_context().actor_name,
            department=objection.department,
            note=_("当事人提出异议（%(no)s），答复期限 %(due)s")
            % {"no": objection.number, "due": objection.due_on},
        )
    audit.record(
        "objection.submit",
        obj=objection,
        subject=subject.code,
        after={
            "record": objection.record_id,
            "entry": objection.entry_id,
            "due_on": objection.due_on,
        },
    )
    notify(
        _("收到异议申请：%(no)s") % {"no": objection.number},
        _("%(subject)s 对本部门的信息提出异议，请于 %(due)s 前核查答复。")
        % {"subject": subject.name, "due": objection.due_on},
        f"/backoffice/lists/objections/{objection.pk}/",
        department=objection.department,
    )


@transaction.atomic
def submit_objection(
    user: Any,
    *,
    record: CreditRecord | None = None,
    entry: ListEntry | None = None,
    reason: str,
    contact: str = "",
    agent_name: str = "",
    requested_changes: dict[str, str] | None = None,
    files: Iterable[UploadedFile] = (),
    today: date | None = None,
) -> Objection:
    """File an objection for the user's own subject against a public record or a list entry."""
    subject = subject_of(user)
    if (record is None) == (entry is None):
        raise DomainError("objection_target", _("请选择一条信用信息或一项名单"), "target")
    if not reason.strip():
        raise DomainError("reason_required", _("请填写异议理由"), "reason")
    checked = check_files(files)
    if record is not None:
        record = _objectionable_record(subject, record)
    else:
        assert entry is not None
        entry = _objectionable_entry(subject, entry)
    target = record if record is not None else entry
    _no_pending_objection(target)
    today = today or timezone.localdate()
    objection = Objection.objects.create(
        subject=subject,
        applicant=user,
        agent_name=agent_name.strip()[:100],
        contact_cipher=encrypt(contact.strip()) if contact.strip() else "",
        record=record,
        entry=entry,
        department=target.department,
        reason=reason.strip(),
        requested_changes=requested_changes or {},
        submitted_at=timezone.now(),
        due_on=deadline("objection_answer", today),
    )
    save_files(checked, objection=objection)
    _announce_objection(objection)
    return objection


def current_version(record: CreditRecord) -> CreditRecord:
    """The record as it stands now: after a correction, its newest version."""
    newest = (
        CreditRecord.objects.current()
        .filter(item_id=record.item_id, natural_key=record.natural_key)
        .exclude(pk=record.pk)
        .first()
    )
    return newest or record


def record_fields(record: CreditRecord) -> list[dict[str, Any]]:
    """The disputed record's fields in catalog order, as the answering department sees them:
    code, label, current ``value`` (clear text; empty for personal fields), ``shown`` (what
    the page may display: personal values masked), and whether it is a key or personal."""
    spec = record.item.spec
    values = record.values
    fields = []
    for f in spec.fields:
        raw = values.get(f.code)
        value = "" if raw is None else str(raw)
        shown = value
        if f.personal and value:
            clear = unseal(value) if value.startswith("s1:") else value
            shown = mask_id_number(clear) if f.type == "id_number" else "*" * len(clear)
            value = ""
        fields.append(
            {
                "code": f.code,
                "label": f.label,
                "value": value,
                "shown": shown,
                "key": f.code in spec.natural_key,
                "personal": f.personal,
                "max_length": f.max_length,
            }
        )
    return fields


def _by_code(record: CreditRecord, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` keyed by field code; a field named by its Chinese label (处罚决定书文号) is
    taken as that field, as officers and applicants write it."""
    codes = {f.label: f.code for f in record.item.spec.fields}
    return {codes.get(k.strip(), k.strip()): v for k, v in changes.items()}


@transaction.atomic
def answer_objection(
    objection: Objection,
    user: Any,
    *,
    outcome: str,
    answer: str,
    changes: dict[str, Any] | None = None,
) -> Objection:
    """答复: the owning department decides. Corrected → a new version of the record;
    retracted → the record is withdrawn; upheld → the entry is not included or is removed;
    confirmed → nothing changes. The applicant is told."""
    require_perm(user, "lists.change_objection")
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    if not user.department_id or user.department_id != objection.department_id:
        raise Forbidden(_("只能答复本部门的异议"))
    if objection.status != ObjectionStatus.OPEN:
        raise DomainError("objection_closed", _("该异议已答复"), status=409)
    if not answer.strip():
        raise DomainError("answer_required", _("请填写答复意见"), "answer")
    allowed = RECORD_OUTCOMES if objection.record_id else ENTRY_OUTCOMES
    if outcome not in allowed:
        raise DomainError("outcome_invalid", _("处理结果不适用于该异议"), "outcome")
    note = _("异议 %(no)s：%(answer)s") % {"no": objection.number, "answer": answer.strip()}
    if outcome == ObjectionOutcome.CORRECTED:
        if not changes:
            raise DomainError("changes_required", _("请填写更正后的字段值"), "changes")
        correct_record(objection.record, _by_code(objection.record, changes), note)
    elif outcome == ObjectionOutcome.RETRACTED:
        retract_record(objection.record, note)
    elif outcome == ObjectionOutcome.UPHELD:
        # Not yet decided: the proposal ends without inclusion; decided: the entry goes. An
        # entry that ended meanwhile (expired) has nothing left to remove.
        if objection.entry.status in LIVE_STATUSES:
            remove_entry(objection.entry, EndReason.OBJECTION, note=note)
    elif objection.entry_id:
        ListTransition.objects.create(
            entry=objection.entry,
            action="objection_answer",
            from_status=objection.entry.status,
            to_status=objection.entry.status,
            at=timezone.now(),
            actor_name=audit.current_context().actor_name,
            department=objection.department,
            note=note,
        )
    objection.status = ObjectionStatus.ANSWERED
    objection.outcome = outcome
    objection.answer = answer.strip()
    objection.answered_at = timezone.now()
    objection.answered_by = audit.current_context().actor_name
    objection.save()
    audit.record(
        "objection.answer",
        obj=objection,
        subject=objection.subject.code,
        before={"status": ObjectionStatus.OPEN},
        after={"status": ObjectionStatus.ANSWERED, "outcome": outcome},
    )
    notify(
        _("异议 %(no)s 已答复：%(outcome)s")
        % {"no": objection.number, "outcome": ObjectionOutcome(outcome).label},
        objection.answer,
        f"/my/objections/{objection.pk}/",
        user=objection.applicant,
    )
    return objection
