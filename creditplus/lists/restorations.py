"""信用修复 (NDRC Order 2025 No. 36): after the minimum publicity period a subject that has
corrected the behavior, fulfilled its obligations and signed a credit commitment applies;
the deciding department accepts (3 working days) and decides (7, +10 when complex); on
approval publication and sharing end, the subject is re-evaluated and measures lift."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify
from creditplus.catalog.calendar import add_working_days
from creditplus.catalog.choices import BehaviorKind
from creditplus.errors import DomainError, Forbidden
from creditplus.lists.attachments import check_files, save_files
from creditplus.lists.choices import (
    MEMBER_STATUSES,
    RESTORATION_OPEN,
    EndReason,
    RestorationStatus,
)
from creditplus.lists.models import Deadline, ListEntry, ListTransition, Restoration
from creditplus.lists.objections import subject_of
from creditplus.lists.services import deadline, remove_entry
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent
from creditplus.records.services import restore_event
from creditplus.subjects.models import Subject
from creditplus.subjects.pii import encrypt

COMMITMENT_TEXT = gettext_lazy(
    "本主体承诺：已纠正失信行为、履行相关义务，所提交材料真实、准确、完整；"
    "如有虚假或再次发生同类失信行为，自愿接受相应惩戒，并同意将本承诺及履行情况向社会公开。"
)


def restorations_for(user: Any) -> QuerySet[Restoration]:
    """Applications ``user`` may see in the back office (own department, or all)."""
    return restrict(Restoration.objects.all(), user).select_related(
        "subject", "department", "event__rule", "event__record__item", "entry__list_type"
    )


@dataclass(frozen=True)
class Eligibility:
    """Whether a record or entry may be restored now, and if not, why (shown to the subject)."""

    allowed: bool
    code: str = ""
    reason: str = ""
    earliest: date | None = None


def eligibility(
    *, event: CreditEvent | None = None, entry: ListEntry | None = None, today: date
) -> Eligibility:
    """Check the conditions the rules put before an application can be made."""
    if event is not None:
        if event.kind != BehaviorKind.UNTRUSTWORTHY or event.status != EventStatus.ACTIVE:
            return Eligibility(False, "not_restorable", _("只有有效的失信行为信息可以申请信用修复"))
        if not event.rule.restoration_allowed:
            return Eligibility(
                False, "restoration_excluded", _("依据规定，该类失信行为不适用信用修复")
            )
        if event.publish_until and today > event.publish_until:
            return Eligibility(False, "already_ended", _("该信息已超过最长公示期，已自动停止公示"))
        earliest = event.restoration_from
        basis = event.rule.basis
    else:
        assert entry is not None
        if entry.status not in MEMBER_STATUSES:
            return Eligibility(False, "not_restorable", _("只有在册的名单可以申请信用修复"))
        if entry.expires_before_restoration:
            return Eligibility(
                False,
                "expires_first",
                _("该名单公示期满（%(d)s）即移出，早于最短公示期届满，无需申请信用修复")
                % {"d": entry.publish_until},
            )
        if not entry.list_type.restoration_allowed or entry.restoration_from is None:
            return Eligibility(
                False,
                "restoration_excluded",
                _("%(list)s由名单管理部门依其规定移出，不适用本平台信用修复")
                % {"list": entry.list_type.name},
            )
        earliest = entry.restoration_from
        basis = entry.list_type.basis
    if earliest and today < earliest:
        return Eligibility(
            False,
            "restoration_too_early",
            _("尚未届满最短公示期：%(d)s 起方可申请信用修复（依据：%(basis)s）")
            % {"d": earliest, "basis": basis},
            earliest,
        )
    return Eligibility(True, earliest=earliest)


def _locked_target(
    subject: Subject, event: CreditEvent | None, entry: ListEntry | None
) -> tuple[CreditEvent | None, ListEntry | None, Department]:
    """The event or entry, locked (two simultaneous applications must not both pass the
    pending check) and the subject's own; and the department that handles it."""
    if event is not None:
        event = (
            CreditEvent.objects.select_for_update()
            .select_related("rule", "record")
            .get(pk=event.pk)
        )
        owner, department = event.subject_id, event.record.department
    else:
        assert entry is not None
        entry = ListEntry.objects.select_for_update().select_related("list_type").get(pk=entry.pk)
        owner, department = entry.subject_id, entry.department
    if owner != subject.pk:
        raise Forbidden(_("只能为本主体申请信用修复"))
    return event, entry, department


def _check_application(
    event: CreditEvent | None,
    entry: ListEntry | None,
    today: date,
    statement: str,
    commitment_signed: bool,
    files: Iterable[UploadedFile],
) -> list[UploadedFile]:
    """Refuse an application that may not be made (yet), is already pending, or lacks the
    statement, the commitment or the evidence; the checked evidence files."""
    check = eligibility(event=event, entry=entry, today=today)
    if not check.allowed:
        raise DomainError(check.code, check.reason, "target", status=409)
    target = {"event": event} if event is not None else {"entry": entry}
    if Restoration.objects.filter(**target, status__in=RESTORATION_OPEN).exists():
        raise DomainError(
            "restoration_pending", _("该信息已有正在办理的修复申请"), "target", status=409
        )
    if not statement.strip():
        raise DomainError(
            "statement_required", _("请说明失信行为的纠正和义务履行情况"), "statement"
        )
    if not commitment_signed:
        raise DomainError("commitment_required", _("申请信用修复须签署信用承诺书"), "commitment")
    checked = check_files(files)
    if not checked:
        raise DomainError(
            "evidence_required", _("请上传已履行义务、纠正失信行为的证明材料"), "attachments"
        )
    return checked


@transaction.atomic
def apply_restoration(
    user: Any,
    *,
    event: CreditEvent | None = None,
    entry: ListEntry | None = None,
    statement: str,
    commitment_signed: bool,
    contact: str = "",
    files: Iterable[UploadedFile] = (),
    today: date | None = None,
) -> Restoration:
    """申请: the subject's account applies, with evidence of correction and a signed
    commitment. Refused with the reason when the minimum period has not passed."""
    subject = subject_of(user)
    if (event is None) == (entry is None):
        raise DomainError("restoration_target", _("请选择一条失信信息或一项名单"), "target")
    today = today or timezone.localdate()
    event, entry, department = _locked_target(subject, event, entry)
    checked = _check_application(event, entry, today, statement, commitment_signed, files)
    restoration = Restoration.objects.create(
        subject=subject,
        applicant=user,
        contact_cipher=encrypt(contact.strip()) if contact.strip() else "",
        event=event,
        entry=entry,
        department=department,
        statement=statement.strip(),
        commitment_text=str(COMMITMENT_TEXT),
        commitment_signed_at=timezone.now(),
        submitted_at=timezone.now(),
        accept_due=deadline("restoration_accept", today),
    )
    save_files(checked, restoration=restoration)
    _timeline(restoration, _("当事人申请信用修复（%(no)s）") % {"no": restoration.number})
    audit.record(
        "restoration.apply",
        obj=restoration,
        subject=subject.code,
        after={"event": event.pk if event else None, "entry": entry.pk if entry else None},
    )
    notify(
        _("收到信用修复申请：%(no)s") % {"no": restoration.number},
        _("%(subject)s 申请信用修复，请于 %(due)s 前决定是否受理。")
        % {"subject": subject.name, "due": restoration.accept_due},
        f"/backoffice/lists/restorations/{restoration.pk}/",
        department=department,
    )
    return restoration


def _timeline(restoration: Restoration, note: str) -> None:
    if restoration.entry_id:
        entry = ListEntry.objects.get(pk=restoration.entry_id)  # fresh: it may just have moved
        ListTransition.objects.create(
            entry=entry,
            action="restoration",
            from_status=entry.status,
            to_status=entry.status,
            at=timezone.now(),
            actor_name=audit.current_context().actor_name,
            department=restoration.department,
            note=note,
        )


def _lock_for(restoration: Restoration, user: Any, *statuses: str) -> Restoration:
    require_perm(user, "lists.change_restoration")
    restoration = Restoration.objects.select_for_update().get(pk=restoration.pk)
    if not user.department_id or user.department_id != restoration.department_id:
        raise Forbidden(_("只能办理本部门认定信息的修复申请"))
    if restoration.status not in statuses:
        raise DomainError(
            "restoration_wrong_status",
            _("当前状态为“%(s)s”，不能办理此环节") % {"s": restoration.get_status_display()},
            status=409,
        )
    return restoration


def _feedback(restoration: Restoration, today: date) -> None:
    """The platform's feedback to the applicant (immediate, within the statutory limit)."""
    restoration.feedback_due = deadline("restoration_feedback", today)
    restoration.fed_back_at = timezone.now()
    notify(
        _("信用修复申请 %(no)s：%(status)s")
        % {"no": restoration.number, "status": restoration.get_status_display()},
        restoration.decision_note,
        f"/my/restorations/{restoration.pk}/",
        user=restoration.applicant,
    )


@transaction.atomic
def accept_restoration(
    restoration: Restoration,
    user: Any,
    *,
    accept: bool,
    note: str = "",
    is_complex: bool = False,
    today: date | None = None,
) -> Restoration:
    """受理: accept (the decision is due in 7 working days, 17 when complex) or refuse."""
    restoration = _lock_for(restoration, user, RestorationStatus.SUBMITTED)
    today = today or timezone.localdate()
    before = restoration.status
    restoration.handled_by = audit.current_context().actor_name
    if accept:
        days = Deadline.days("restoration_decide")
        if is_complex:
            days += Deadline.days("restoration_complex_extra")
        restoration.status = RestorationStatus.ACCEPTED
        restoration.accepted_on = today
        restoration.is_complex = is_complex
        restoration.decide_due = add_working_days(today, days)
        restoration.decision_note = note.strip()
    else:
        if not note.strip():
            raise DomainError("reason_required", _("请填写不予受理的理由"), "note")
        restoration.status = RestorationStatus.NOT_ACCEPTED
        restoration.decided_on = today
        restoration.decision_note = note.strip()
        _feedback(restoration, today)
    restoration.save()
    _timeline(restoration, f"{restoration.number} {restoration.get_status_display()}")
    audit.record(
        "restoration.accept" if accept else "restoration.refuse",
        obj=restoration,
        subject=restoration.subject.code,
        purpose=note[:500],
        before={"status": before},
        after={"status": restoration.status, "decide_due": restoration.decide_due},
    )
    return restoration


@transaction.atomic
def decide_restoration(
    restoration: Restoration,
    user: Any,
    *,
    approve: bool,
    note: str = "",
    today: date | None = None,
) -> Restoration:
    """决定: approve — publication ends at once (the record's event or the list entry), the
    subject is re-evaluated and measures lift — or deny with the reason."""
    restoration = _lock_for(restoration, user, RestorationStatus.ACCEPTED)
    today = today or timezone.localdate()
    if not note.strip() and not approve:
        raise DomainError("reason_required", _("请填写不予修复的理由"), "note")
    restoration.status = RestorationStatus.APPROVED if approve else RestorationStatus.DENIED
    restoration.decided_on = today
    restoration.decision_note = note.strip() or _("准予信用修复")
    restoration.handled_by = audit.current_context().actor_name
    if approve:
        reason = _("信用修复 %(no)s") % {"no": restoration.number}
        if restoration.event_id:
            if restoration.event.status == EventStatus.ACTIVE:  # else it ended meanwhile
                restore_event(restoration.event, reason)
        elif restoration.entry.status in MEMBER_STATUSES:  # else it ended meanwhile
            remove_entry(restoration.entry, EndReason.RESTORED, note=reason, today=today)
    _feedback(restoration, today)
    restoration.save()
    _timeline(restoration, f"{restoration.number} {restoration.get_status_display()}")
    audit.record(
        "restoration.decide",
        obj=restoration,
        subject=restoration.subject.code,
        purpose=note[:500],
        before={"status": RestorationStatus.ACCEPTED},
        after={"status": restoration.status},
    )
    return restoration
