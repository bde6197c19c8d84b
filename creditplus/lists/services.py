"""The list lifecycle (名单): proposal → notice (告知) → decision (认定) → publication
(公示) → removal (移出), the import of external lists, and the maintenance run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify, read_reference
from creditplus.bulk import create_instances
from creditplus.catalog.calendar import add_months, add_working_days
from creditplus.catalog.choices import BehaviorKind, Severity
from creditplus.catalog.models import CatalogItem
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError, Forbidden
from creditplus.lists.choices import (
    LIVE_STATUSES,
    MEMBER_STATUSES,
    EndReason,
    EntryOrigin,
    EntryStatus,
    ListKind,
    ListOrigin,
    ObjectionStatus,
)
from creditplus.lists.models import Deadline, ListEntry, ListTransition, ListType, Objection
from creditplus.records.choices import EventStatus, RecordStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject, SubjectAccount

CHUNK = 500

# Called, inside the transaction, with entries whose membership changed (decided, published,
# removed, imported): joint reward and punishment starts or stops. Registered by the apps to
# the right of `lists`, which this module must not import.
MembershipListener = Callable[[list[ListEntry]], None]
_membership_listeners: dict[str, MembershipListener] = {}


def on_membership(name: str, listener: MembershipListener) -> None:
    """Register ``listener`` for entries whose membership changed."""
    _membership_listeners[name] = listener


def _membership_changed(entries: list[ListEntry]) -> None:
    if entries:
        for listener in list(_membership_listeners.values()):
            listener(entries)


# --------------------------------------------------------------------------- reference data


@transaction.atomic
def load_deadlines() -> str:
    """Load ``deadlines.yaml`` (working-day time limits)."""
    data = read_reference("deadlines.yaml")
    results = [
        upsert_reference(
            Deadline,
            {"code": code},
            data["version"],
            {"name": d["name"], "working_days": d["working_days"], "basis": d.get("basis", "")},
        )
        for code, d in data["deadlines"].items()
    ]
    return load_summary("办理期限", results)


@transaction.atomic
def load_list_types() -> str:
    """Load ``list_types.yaml``; department and catalog codes must exist."""
    data = read_reference("list_types.yaml")
    results = []
    for t in data["list_types"]:
        source = t.get("source") or {}
        deciding = None
        if t.get("deciding_department"):
            deciding = Department.objects.filter(code=t["deciding_department"]).first()
            if deciding is None:
                raise DomainError(
                    "reference_unknown_department",
                    _("名单 %(c)s 的认定部门不存在：%(d)s")
                    % {"c": t["code"], "d": t["deciding_department"]},
                )
        item = None
        if source:
            item = CatalogItem.objects.filter(code=source["item"]).first()
            if item is None:
                raise DomainError(
                    "reference_unknown_item",
                    _("名单 %(c)s 的来源数据项不存在：%(i)s")
                    % {"c": t["code"], "i": source["item"]},
                )
        results.append(
            upsert_reference(
                ListType,
                {"code": t["code"]},
                data["version"],
                {
                    "name": t["name"],
                    "kind": t["kind"],
                    "origin": t["origin"],
                    "deciding_department": deciding,
                    "criteria": t["criteria"].strip(),
                    "basis": t["basis"].strip(),
                    "severity": t.get("severity") or "",
                    "published": t["published"],
                    "default_months": t["default_months"],
                    "min_months": t.get("min_months", 0),
                    "restoration_allowed": t.get("restoration_allowed", True),
                    "subject_kinds": t.get("subject_kinds", ["legal", "individual"]),
                    "triggers": t.get("triggers", []),
                    "exclude": t.get("exclude", []),
                    "source_item": item,
                    "source_rules": source.get("rules", []),
                },
            )
        )
    return load_summary("名单类型", results)


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
        _membership_changed([entry])
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


# --------------------------------------------------------------------------- events consumer


def consume_events(event_ids: list[int]) -> None:
    """The lists consumer of new behavior events: import external list records and make
    automatic proposals for district lists."""
    if not event_ids:
        return
    today = timezone.localdate()
    # The consumer gets consecutive ids after its cursor: a range is the same set, cheaper.
    new_events = CreditEvent.objects.filter(
        pk__gte=min(event_ids), pk__lte=max(event_ids), status=EventStatus.ACTIVE
    )
    types = list(ListType.objects.active())
    items = set(new_events.values_list("record__item_id", flat=True).distinct())
    for list_type in types:
        if list_type.origin == ListOrigin.EXTERNAL and list_type.source_item_id in items:
            _import_external(list_type, new_events, today)
    kinds = None
    for list_type in types:
        if list_type.origin == ListOrigin.DISTRICT and list_type.triggers:
            if kinds is None:
                kinds = list(new_events.values_list("subject_id", "kind", "severity").distinct())
            # Only a new event a trigger counts can make a subject newly meet it.
            triggers = _triggers(list_type.triggers)
            subjects = {s for s, k, sev in kinds if any(t.counts(k, sev) for t in triggers)}
            if subjects:
                propose_automatically(list_type, subjects, today)


def _import_external(list_type: ListType, new_events: QuerySet[CreditEvent], today: date) -> int:
    """Entries for the external list's records, as decided and published by their owner. A
    new version of a record updates its entry; an already-expired one adds nothing."""
    mine_qs = new_events.filter(record__item_id=list_type.source_item_id)
    if list_type.source_rules:
        mine_qs = mine_qs.filter(rule__code__in=list_type.source_rules)
    mine = list(
        mine_qs.select_related("record").only(
            "subject_id",
            "occurred_on",
            "record__natural_key",
            "record__department_id",
            "record__end_date",
            "record__decision_date",
        )
    )
    if not mine:
        return 0
    by_key: dict[str, ListEntry] = {}
    keys = [e.record.natural_key for e in mine]
    for i in range(0, len(keys), CHUNK):
        for entry in ListEntry.objects.filter(
            list_type=list_type,
            origin=EntryOrigin.IMPORTED,
            status__in=LIVE_STATUSES,
            source_key__in=keys[i : i + CHUNK],
        ):
            by_key[entry.source_key] = entry
    now = timezone.now()
    status = EntryStatus.PUBLISHED if list_type.published else EntryStatus.INCLUDED
    new: list[ListEntry] = []
    refreshed: list[ListEntry] = []
    for event in mine:
        record = event.record
        decided = record.decision_date or event.occurred_on
        until = add_months(decided, list_type.default_months)
        if record.end_date and record.end_date < until:
            until = record.end_date
        existing = by_key.get(record.natural_key)
        if existing is not None:
            existing.source_record_id = record.pk
            existing.decided_on = decided
            existing.publish_until = until
            existing.restoration_from = restoration_opens(list_type, decided, until)
            if existing.pk is not None:  # else created earlier in this run, saved below
                existing.save(
                    update_fields=[
                        "source_record",
                        "decided_on",
                        "publish_until",
                        "restoration_from",
                    ]
                )
                refreshed.append(existing)
            continue
        if until < today:
            continue
        new.append(
            ListEntry(
                list_type=list_type,
                subject_id=event.subject_id,
                origin=EntryOrigin.IMPORTED,
                status=status,
                department_id=list_type.deciding_department_id or record.department_id,
                reason=list_type.criteria,
                basis=list_type.basis,
                source_record_id=record.pk,
                source_key=record.natural_key,
                proposed_at=now,
                proposed_by=_("名单管理部门推送"),
                decided_on=decided,
                published_on=decided if list_type.published else None,
                publish_until=until,
                restoration_from=restoration_opens(list_type, decided, until),
            )
        )
        by_key[record.natural_key] = new[-1]
    created = create_instances(new)
    subjects = Subject.objects.in_bulk([e.subject_id for e in [*created, *refreshed]])
    for e in [*created, *refreshed]:
        e.subject = subjects[e.subject_id]
    _bulk_first_steps(created, "import", _("由名单管理部门认定并推送"))
    _membership_changed(created)
    audit.record_many(
        "list.refresh",
        [
            audit.Change(
                obj=e,
                subject=e.subject.code,
                purpose=_("来源记录更新"),
                after={"source_record": e.source_record_id, "publish_until": e.publish_until},
            )
            for e in refreshed
        ],
    )
    return len(created)


@dataclass(frozen=True)
class Trigger:
    kind: str
    count: int
    within_months: int
    severity: str = ""

    def events(self, subjects: list[int], today: date) -> QuerySet[CreditEvent]:
        qs = CreditEvent.objects.filter(
            subject_id__in=subjects,
            status=EventStatus.ACTIVE,
            kind=self.kind,
            occurred_on__gt=add_months(today, -self.within_months),
            occurred_on__lte=today,
        )
        return qs.filter(severity=self.severity) if self.severity else qs

    def counts(self, kind: str, severity: str) -> bool:
        """Whether an event of ``kind`` and ``severity`` is one this trigger counts."""
        return kind == self.kind and (not self.severity or severity == self.severity)

    def describe(self) -> str:
        from creditplus.catalog.choices import BehaviorKind, Severity

        what = BehaviorKind(self.kind).label
        if self.severity:
            what = f"{Severity(self.severity).label}{what}"
        return _("近%(m)d个月内%(what)s %(n)d 次以上") % {
            "m": self.within_months,
            "what": what,
            "n": self.count,
        }


def _triggers(raw: list[dict[str, Any]]) -> list[Trigger]:
    return [Trigger(**t) for t in raw]


SEVERITY_ORDER = (Severity.MINOR, Severity.GENERAL, Severity.SERIOUS)


def evidence_filter(list_type: ListType) -> Q:
    """Events that may prove inclusion in ``list_type``: in force, of the behavior kind one of
    its triggers counts, and for untrustworthy behavior at least as severe as the trigger
    asks (a serious violation also proves a watch list's "general" one). A list without
    triggers takes the behavior of its kind (red: trustworthy, else untrustworthy)."""
    triggers = _triggers(list_type.triggers or [])
    if not triggers:
        kind = (
            BehaviorKind.TRUSTWORTHY
            if list_type.kind == ListKind.RED
            else BehaviorKind.UNTRUSTWORTHY
        )
        triggers = [Trigger(kind=kind, count=1, within_months=0)]
    condition = Q(pk__in=[])
    for t in triggers:
        part = Q(kind=t.kind)
        if t.severity and t.kind == BehaviorKind.UNTRUSTWORTHY:
            part &= Q(severity__in=SEVERITY_ORDER[SEVERITY_ORDER.index(t.severity) :])
        elif t.severity:
            part &= Q(severity=t.severity)
        condition |= part
    return Q(status=EventStatus.ACTIVE) & condition


def eligible_evidence(
    list_type: ListType, records: QuerySet[CreditRecord]
) -> QuerySet[CreditRecord]:
    """The ``records`` that may be evidence for ``list_type``: those classified by the
    behavior list as behavior that fits the list's criteria (see :func:`evidence_filter`)."""
    events = CreditEvent.objects.filter(evidence_filter(list_type)).values("record_id")
    return records.filter(pk__in=events)


def evidence_kind_label(list_type: ListType) -> str:
    """What evidence the list takes, in words (e.g. 一般及以上失信行为)."""
    triggers = _triggers(list_type.triggers or [])
    if not triggers:
        kind = (
            BehaviorKind.TRUSTWORTHY
            if list_type.kind == ListKind.RED
            else BehaviorKind.UNTRUSTWORTHY
        )
        return str(kind.label)
    parts = []
    for t in triggers:
        what = str(BehaviorKind(t.kind).label)
        if t.severity and t.kind == BehaviorKind.UNTRUSTWORTHY and t.severity != Severity.SERIOUS:
            what = _("%(s)s及以上%(what)s") % {"s": Severity(t.severity).label, "what": what}
        elif t.severity:
            what = f"{Severity(t.severity).label}{what}"
        if what not in parts:
            parts.append(what)
    return "、".join(parts)


def propose_automatically(
    list_type: ListType, subject_ids: Iterable[int], today: date | None = None
) -> list[ListEntry]:
    """自动提议: propose every subject among ``subject_ids`` that meets one of the list's
    triggers (and none of its exclusions) and is not already on it or proposed for it."""
    today = today or timezone.localdate()
    candidates = sorted(
        Subject.objects.filter(
            pk__in=list(subject_ids), kind__in=list_type.subject_kinds
        ).values_list("pk", flat=True)
    )
    created: list[ListEntry] = []
    for i in range(0, len(candidates), CHUNK):
        # Most subjects of a batch are usually on the list or proposed already: skip them
        # before counting their events.
        chunk = candidates[i : i + CHUNK]
        taken = set(
            ListEntry.objects.filter(
                list_type=list_type, subject_id__in=chunk, status__in=LIVE_STATUSES
            )
            .exclude(origin=EntryOrigin.IMPORTED)
            .values_list("subject_id", flat=True)
        )
        chunk = [s for s in chunk if s not in taken]
        if not chunk:
            continue
        met: dict[int, Trigger] = {}
        for trigger in _triggers(list_type.triggers):
            counts = (
                trigger.events([s for s in chunk if s not in met], today)
                .values("subject_id")
                .annotate(n=Count("id"))
                .filter(n__gte=trigger.count)
            )
            for row in counts:
                met.setdefault(row["subject_id"], trigger)
        for exclusion in _triggers(list_type.exclude):
            counts = (
                exclusion.events(list(met), today)
                .values("subject_id")
                .annotate(n=Count("id"))
                .filter(n__gte=exclusion.count)
            )
            for row in counts:
                met.pop(row["subject_id"], None)
        chosen = {s: met[s] for s in sorted(met)}
        if chosen:
            created.extend(_create_auto_entries(list_type, chosen, today))
    return created


@transaction.atomic
def _create_auto_entries(
    list_type: ListType, chosen: dict[int, Trigger], today: date
) -> list[ListEntry]:
    """Bulk-create proposals with their evidence, first timeline step and audit rows: a
    batch of records may propose thousands of subjects at once."""
    evidence: dict[int, list[tuple[int, int, str]]] = {s: [] for s in chosen}
    by_trigger: dict[Trigger, list[int]] = {}
    for subject_id, trigger in chosen.items():
        by_trigger.setdefault(trigger, []).append(subject_id)
    for trigger, subject_ids in by_trigger.items():
        rows = (
            trigger.events(subject_ids, today)
            .order_by("-occurred_on", "-id")
            .values_list("subject_id", "record_id", "record__department_id", "rule__name")
        )
        for subject_id, record_id, department_id, rule_name in rows:
            evidence[subject_id].append((record_id, department_id, rule_name))
    subjects = Subject.objects.in_bulk(list(chosen))
    now = timezone.now()
    proposer = _("系统（行为清单自动提议）")
    entries = [
        ListEntry(
            list_type=list_type,
            subject=subjects[subject_id],
            origin=EntryOrigin.AUTO,
            status=EntryStatus.PROPOSED,
            department_id=list_type.deciding_department_id or evidence[subject_id][0][1],
            reason=_("%(trigger)s：%(rules)s")
            % {
                "trigger": trigger.describe(),
                "rules": "；".join(sorted({name for _r, _d, name in evidence[subject_id]})),
            },
            basis=list_type.basis,
            proposed_at=now,
            proposed_by=proposer,
        )
        for subject_id, trigger in chosen.items()
    ]
    entries = create_instances(entries)
    Evidence = ListEntry.evidence.through
    create_instances(
        [
            Evidence(listentry_id=e.pk, creditrecord_id=record_id)
            for e in entries
            for record_id in dict.fromkeys(r for r, _d, _n in evidence[e.subject_id])
        ],
    )
    note = _("系统依据行为清单自动提议")
    _bulk_first_steps(entries, "propose", note)
    per_department: dict[int, int] = {}
    for e in entries:
        per_department[e.department_id] = per_department.get(e.department_id, 0) + 1
    for department_id, n in per_department.items():
        notify(
            _("%(list)s：新增 %(n)d 条自动认定提议") % {"list": list_type.name, "n": n},
            _("请在名单管理中核查并办理告知。"),
            f"/backoffice/lists/?status=proposed&list_type={list_type.pk}",
            department=Department(pk=department_id),
        )
    return entries


def _bulk_first_steps(entries: list[ListEntry], action: str, note: str) -> None:
    """The first timeline step and the audit row of each new entry, written in bulk."""
    create_instances(
        [
            ListTransition(
                entry=e,
                action=action,
                from_status="",
                to_status=e.status,
                at=e.proposed_at,
                actor_name=e.proposed_by,
                department_id=e.department_id,
                note=note,
            )
            for e in entries
        ],
    )
    audit.record_many(
        f"list.{action}",
        [
            audit.Change(
                obj=e,
                subject=e.subject.code,
                purpose=note,
                after={"status": e.status, "list_type": e.list_type.code, "origin": e.origin},
            )
            for e in entries
        ],
    )


# --------------------------------------------------------------------------- maintenance


@dataclass
class MaintenanceResult:
    expired: int = 0
    source_removed: int = 0
    objections_escalated: int = 0

    def summary(self) -> str:
        return _("期满移出 %(e)d 条；来源部门移出 %(s)d 条；逾期异议督办 %(o)d 件") % {
            "e": self.expired,
            "s": self.source_removed,
            "o": self.objections_escalated,
        }


def maintain(today: date | None = None) -> MaintenanceResult:
    """The scheduled run (``creditplus lists_maintain``): catch up on events, remove entries
    whose period is over or whose source record was withdrawn, escalate overdue objections.
    Idempotent: a second run on the same day changes nothing."""
    from creditplus.records import consumers

    today = today or timezone.localdate()
    consumers.run("lists")
    result = MaintenanceResult()
    # A source record withdrawn (撤销), or replaced by a version no longer on the list.
    withdrawn = ListEntry.objects.live().filter(
        origin=EntryOrigin.IMPORTED,
        source_record_id__in=CreditRecord.objects.filter(
            Q(status=RecordStatus.RETRACTED) | Q(is_current=False)
        ).values("pk"),
    )
    for entry in withdrawn.iterator():
        remove_entry(entry, EndReason.SOURCE_REMOVED, today=today)
        result.source_removed += 1
    for entry in ListEntry.objects.members().filter(publish_until__lt=today).iterator():
        ended_by_owner = bool(
            entry.source_record_id
            and CreditRecord.objects.filter(
                pk=entry.source_record_id, end_date=entry.publish_until
            ).exists()
        )
        remove_entry(
            entry, EndReason.SOURCE_REMOVED if ended_by_owner else EndReason.EXPIRED, today=today
        )
        if ended_by_owner:
            result.source_removed += 1
        else:
            result.expired += 1
    result.objections_escalated = escalate_overdue_objections(today)
    return result


def escalate_overdue_objections(today: date) -> int:
    """Tell the credit office of every objection not answered by its deadline (once)."""
    overdue = Objection.objects.filter(
        status=ObjectionStatus.OPEN, due_on__lt=today, escalated_at__isnull=True
    ).select_related("department", "subject")
    count = 0
    for objection in overdue:
        with transaction.atomic():
            objection.escalated_at = timezone.now()
            objection.save(update_fields=["escalated_at"])
            notify(
                _("异议逾期未答复：%(no)s") % {"no": objection.number},
                _("%(dept)s 应于 %(due)s 前答复 %(subject)s 的异议，现已逾期。")
                % {
                    "dept": objection.department.name,
                    "due": objection.due_on,
                    "subject": objection.subject.name,
                },
                f"/backoffice/lists/objections/{objection.pk}/",
                role=Role.CREDIT_OFFICE,
            )
            audit.record(
                "objection.escalate",
                obj=objection,
                subject=objection.subject.code,
                after={"due_on": objection.due_on},
            )
        count += 1
    return count


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
