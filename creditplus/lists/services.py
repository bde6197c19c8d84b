"""The list lifecycle (名单): proposal → notice (告知) → decision (认定) → publication
(公示) → removal (移出). External-list imports and automatic proposals are in ``events``,
the scheduled run in ``maintenance``, reference data in ``reference``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify
from creditplus.catalog.calendar import add_months, add_working_days
from creditplus.errors import DomainError, Forbidden
from creditplus.lists.choices import (
    LIVE_STATUSES,
    MEMBER_STATUSES,
    EndReason,
    EntryOrigin,
    EntryStatus,
    ListOrigin,
    ObjectionStatus,
)
from creditplus.lists.models import Deadline, ListEntry, ListTransition, ListType
from creditplus.lists.triggers import eligible_evidence, evidence_kind_label
from creditplus.records.models import CreditRecord
from creditplus.subjects.models import Subject, SubjectAccount

# Called, inside the transaction, with entries whose membership changed (decided, published,
# removed, imported): joint reward and punishment starts or stops. Registered by the apps to
# the right of `lists`, which this module must not import.
MembershipListener = Callable[[list[ListEntry]], None]
_membership_listeners: dict[str, MembershipListener] = {}


def on_membership(name: str, listener: MembershipListener) -> None:
    """Register ``listener`` for entries whose membership changed."""
    _membership_listeners[name] = listener


def membership_changed(entries: list[ListEntry]) -> None:
    if entries:
        for listener in list(_membership_listeners.values()):
            listener(entries)


# --------------------------------------------------------------------------- helpers


def deadline(code: str, start: date) -> date:
    """The due date of time limit ``code`` (working days, kept as data) counted from ``start``."""
    return add_working_days(start, Deadline.days(code))


def _actor() -> str:
    return audit.current_context().actor_name or "system"


def _step(
    entry: ListEntry,
    action: str,
    to_status: str,
    *,
    note: str = "",
    document_no: str = "",
    department: Department | None = None,
    changed: Iterable[str] = (),
) -> ListTransition:
    """Move ``entry`` to ``to_status``: save it, add the timeline step, audit it."""
    before = entry.status
    entry.status = to_status
    entry.save(update_fields=["status", "updated_at", *changed])
    step = ListTransition.objects.create(
        entry=entry,
        action=action,
        from_status=before,
        to_status=to_status,
        at=timezone.now(),
        actor_name=_actor(),
        department=department or entry.department,
        note=note,
        document_no=document_no,
    )
    audit.record(
        f"list.{action}",
        obj=entry,
        subject=entry.subject.code,
        purpose=note[:500],
        before={"status": before},
        after={"status": to_status, **{f: getattr(entry, f) for f in changed}},
    )
    if to_status in (*MEMBER_STATUSES, EntryStatus.REMOVED, EntryStatus.REJECTED):
        membership_changed([entry])
    return step


def _lock(entry: ListEntry) -> ListEntry:
    return (
        ListEntry.objects.select_for_update()
        .select_related("list_type", "subject")
        .get(pk=entry.pk)
    )


def _require_status(entry: ListEntry, *statuses: str) -> None:
    if entry.status not in statuses:
        raise DomainError(
            "entry_wrong_status",
            _("当前状态为“%(s)s”，不能办理此环节") % {"s": entry.get_status_display()},
            status=409,
        )


def _require_own_department(entry: ListEntry, user: Any) -> None:
    """Only the deciding department acts on an entry (the credit office included)."""
    require_perm(user, "lists.change_listentry")
    if not user.department_id or user.department_id != entry.department_id:
        raise Forbidden(_("只能办理本部门认定的名单事项"))


def notify_subject(subject: Subject, title: str, body: str = "", url: str = "") -> None:
    """Tell every enterprise account bound to ``subject``."""
    for account in SubjectAccount.objects.filter(subject=subject).select_related("user"):
        notify(title, body, url, user=account.user)


def entries_for(user: Any) -> QuerySet[ListEntry]:
    """The entries ``user`` may see in the back office (own department, or all)."""
    return restrict(ListEntry.objects.all(), user).select_related(
        "list_type", "subject", "department"
    )


# --------------------------------------------------------------------------- lifecycle


@transaction.atomic
def propose_entry(
    user: Any,
    list_type: ListType,
    subject: Subject,
    *,
    reason: str,
    basis: str,
    evidence: Iterable[CreditRecord],
) -> ListEntry:
    """人工提议: a department officer proposes ``subject`` for a district list, with the legal
    basis and the evidence records (the subject's own current records)."""
    require_perm(user, "lists.add_listentry")
    if not user.department_id:
        raise Forbidden(_("只有部门账号可以提议列入名单"))
    if list_type.origin != ListOrigin.DISTRICT or not list_type.is_active:
        raise DomainError(
            "list_not_district", _("该名单由名单管理部门认定，不能在本平台提议"), "list_type"
        )
    if not reason.strip():
        raise DomainError("reason_required", _("请填写认定事由"), "reason")
    if not basis.strip():
        raise DomainError("basis_required", _("请填写认定依据"), "basis")
    records = list(evidence)
    if not records:
        raise DomainError("evidence_required", _("请至少选择一条证据记录"), "evidence")
    foreign = [r for r in records if r.subject_id != subject.pk or not r.is_current]
    if foreign:
        raise DomainError(
            "evidence_not_subject", _("证据记录必须是该主体当前有效的信用信息"), "evidence"
        )
    eligible = set(
        eligible_evidence(
            list_type, CreditRecord.objects.filter(pk__in=[r.pk for r in records])
        ).values_list("pk", flat=True)
    )
    unfit = [r for r in records if r.pk not in eligible]
    if unfit:
        raise DomainError(
            "evidence_not_eligible",
            _("证据记录须为符合该名单认定标准的%(what)s记录，以下记录不符合：%(records)s")
            % {
                "what": evidence_kind_label(list_type),
                "records": "、".join(f"#{r.pk} {r.item.name}" for r in unfit),
            },
            "evidence",
        )
    _refuse_duplicate(list_type, subject)
    entry = ListEntry.objects.create(
        list_type=list_type,
        subject=subject,
        origin=EntryOrigin.MANUAL,
        status=EntryStatus.PROPOSED,
        department=list_type.deciding_department or user.department,
        reason=reason.strip(),
        basis=basis.strip(),
        proposed_at=timezone.now(),
        proposed_by=_actor(),
    )
    entry.evidence.set(records)
    _first_step(entry, _("人工提议"))
    if entry.department_id != user.department_id:
        notify(
            _("新的名单认定提议：%(s)s") % {"s": subject.name},
            _("%(dept)s 提议列入%(list)s：%(reason)s")
            % {"dept": user.department.name, "list": list_type.name, "reason": entry.reason},
            f"/backoffice/lists/{entry.pk}/",
            department=entry.department,
        )
    return entry


def _refuse_duplicate(list_type: ListType, subject: Subject) -> None:
    live = ListEntry.objects.filter(list_type=list_type, subject=subject, status__in=LIVE_STATUSES)
    if live.exclude(origin=EntryOrigin.IMPORTED).exists():
        raise DomainError(
            "entry_exists", _("该主体已在此名单中或已有待办的认定提议"), "subject", status=409
        )


def _first_step(entry: ListEntry, note: str) -> None:
    ListTransition.objects.create(
        entry=entry,
        action="propose",
        from_status="",
        to_status=entry.status,
        at=entry.proposed_at,
        actor_name=entry.proposed_by,
        department=entry.department,
        note=note,
    )
    audit.record(
        "list.propose",
        obj=entry,
        subject=entry.subject.code,
        purpose=note[:500],
        after={"status": entry.status, "list_type": entry.list_type.code, "origin": entry.origin},
    )


@transaction.atomic
def send_notice(entry: ListEntry, user: Any, today: date | None = None) -> ListEntry:
    """告知: tell the subject of the intended inclusion; it may respond (陈述申辩) or object
    until ``response_due`` (working days from the notice)."""
    entry = _lock(entry)
    _require_own_department(entry, user)
    _require_status(entry, EntryStatus.PROPOSED)
    today = today or timezone.localdate()
    entry.noticed_on = today
    entry.response_due = deadline("notice_response", today)
    _step(
        entry,
        "notice",
        EntryStatus.NOTICED,
        note=_("已告知当事人拟列入%(list)s，陈述申辩截止 %(due)s")
        % {"list": entry.list_type.name, "due": entry.response_due},
        document_no=f"GZ{entry.pk:08d}",
        changed=["noticed_on", "response_due"],
    )
    notify_subject(
        entry.subject,
        _("拟列入%(list)s告知") % {"list": entry.list_type.name},
        _("您单位拟被列入%(list)s，事由：%(reason)s。如有异议，请于 %(due)s 前提出陈述申辩或异议。")
        % {"list": entry.list_type.name, "reason": entry.reason, "due": entry.response_due},
        f"/my/lists/{entry.pk}/",
    )
    return entry


def restoration_opens(
    list_type: ListType, decided: date, publish_until: date | None
) -> date | None:
    """The first day a restoration may be applied for, or None: the list allows none, or its
    publicity ends before the minimum period has passed (信用修复管理办法: after the maximum
    publicity stops by itself), so the entry simply expires (期满移出)."""
    if not list_type.restoration_allowed:
        return None
    opens = add_months(decided, list_type.min_months)
    if publish_until is not None and opens > publish_until:
        return None
    return opens


@transaction.atomic
def decide_entry(
    entry: ListEntry,
    user: Any,
    *,
    include: bool,
    decision_no: str = "",
    note: str = "",
    today: date | None = None,
) -> ListEntry:
    """认定: after the response period, with no objection pending, the deciding department
    includes the subject (with a decision document number) or decides not to. Inclusion
    issues the restoration notice together with the decision (两书同达)."""
    entry = _lock(entry)
    _require_own_department(entry, user)
    _require_status(entry, EntryStatus.NOTICED)
    today = today or timezone.localdate()
    if entry.response_due and today <= entry.response_due:
        raise DomainError(
            "notice_period_running",
            _("陈述申辩期至 %(due)s，期满后方可作出认定决定") % {"due": entry.response_due},
            status=409,
        )
    if entry.objections.filter(status=ObjectionStatus.OPEN).exists():
        raise DomainError(
            "objection_pending", _("当事人的异议尚未处理完毕，不能作出认定决定"), status=409
        )
    if not include:
        if not note.strip():
            raise DomainError("reason_required", _("请填写不予认定的理由"), "note")
        entry.ended_on = today
        entry.end_reason = EndReason.NOT_INCLUDED
        _step(entry, "reject", EntryStatus.REJECTED, note=note, changed=["ended_on", "end_reason"])
        notify_subject(
            entry.subject,
            _("不予列入%(list)s的决定") % {"list": entry.list_type.name},
            note,
            f"/my/lists/{entry.pk}/",
        )
        return entry
    if not decision_no.strip():
        raise DomainError("decision_no_required", _("请填写认定决定书文号"), "decision_no")
    list_type = entry.list_type
    entry.decision_no = decision_no.strip()
    entry.decided_on = today
    entry.publish_until = add_months(today, list_type.default_months)
    entry.restoration_from = restoration_opens(list_type, today, entry.publish_until)
    _step(
        entry,
        "include",
        EntryStatus.INCLUDED,
        note=note or _("作出列入决定，同时送达信用修复告知书"),
        document_no=entry.decision_no,
        changed=["decision_no", "decided_on", "publish_until", "restoration_from"],
    )
    notify_subject(
        entry.subject,
        _("列入%(list)s决定书及信用修复告知书") % {"list": list_type.name},
        _("决定书文号：%(no)s；期满日期：%(until)s。%(restore)s")
        % {
            "no": entry.decision_no,
            "until": entry.publish_until,
            "restore": (
                _("自 %(d)s 起可申请信用修复。") % {"d": entry.restoration_from}
                if entry.restoration_from
                else _("本名单不适用信用修复。")
            ),
        },
        f"/my/lists/{entry.pk}/notice/",
    )
    return entry


@transaction.atomic
def publish_entry(entry: ListEntry, user: Any, today: date | None = None) -> ListEntry:
    """公示: publish a decided entry of a public list on the portal."""
    entry = _lock(entry)
    _require_own_department(entry, user)
    _require_status(entry, EntryStatus.INCLUDED)
    if not entry.list_type.published:
        raise DomainError("list_not_public", _("该名单不向社会公示"), status=409)
    entry.published_on = today or timezone.localdate()
    _step(entry, "publish", EntryStatus.PUBLISHED, changed=["published_on"])
    return entry


@transaction.atomic
def remove_entry(
    entry: ListEntry,
    reason: str,
    *,
    user: Any = None,
    note: str = "",
    today: date | None = None,
) -> ListEntry:
    """移出: end membership and publication. ``user`` is checked when given (a department's
    own revocation); the maintenance run and approved restorations pass none."""
    entry = _lock(entry)
    if user is not None:
        _require_own_department(entry, user)
        if not note.strip():
            raise DomainError("reason_required", _("请填写移出理由"), "note")
    _require_status(entry, *LIVE_STATUSES)
    entry.ended_on = today or timezone.localdate()
    entry.end_reason = reason
    to_status = EntryStatus.REMOVED if entry.status in MEMBER_STATUSES else EntryStatus.REJECTED
    _step(
        entry,
        "remove",
        to_status,
        note=note or str(EndReason(reason).label),
        changed=["ended_on", "end_reason"],
    )
    notify(
        _("%(subject)s 已移出%(list)s") % {"subject": entry.subject.name, "list": entry.list_type},
        str(EndReason(reason).label),
        f"/backoffice/lists/{entry.pk}/",
        department=entry.department,
    )
    notify_subject(
        entry.subject,
        _("已移出%(list)s") % {"list": entry.list_type.name},
        str(EndReason(reason).label),
        f"/my/lists/{entry.pk}/",
    )
    return entry


def subject_lists(subject: Subject, today: date | None = None) -> list[dict[str, Any]]:
    """Current memberships and open proposals of ``subject`` (for the API and the back office)."""
    rows = []
    for entry in (
        ListEntry.objects.live()
        .filter(subject=subject)
        .select_related("list_type", "department")
        .order_by("list_type__kind", "list_type__code", "-id")
    ):
        rows.append(
            {
                "entry_no": entry.entry_no,
                "list_type": entry.list_type.code,
                "list_name": entry.list_type.name,
                "kind": entry.list_type.kind,
                "status": entry.status,
                "status_label": str(entry.get_status_display()),
                "since": entry.decided_on or entry.proposed_at.date(),
                "publish_until": entry.publish_until,
                "restoration_from": entry.restoration_from,
                "expires_before_restoration": entry.expires_before_restoration,
                "department": entry.department.name,
                "basis": entry.basis,
                "decision_no": entry.decision_no,
                "in_objection": entry.objections.filter(status=ObjectionStatus.OPEN).exists(),
            }
        )
    return rows
