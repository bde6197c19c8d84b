"""Joint reward and punishment (联合奖惩): the measure catalog, initiation of cases and tasks
when a subject enters a list, department feedback, and closing when it leaves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify, read_reference
from creditplus.bulk import (
    chunked,
    create_instances,
    hot_cursor,
    in_bulk,
    insert_row,
    insert_rows,
    new_instance,
    reserve_ids,
)
from creditplus.catalog.models import Matter
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError, Forbidden, NotFound
from creditplus.lists.choices import MEMBER_STATUSES
from creditplus.lists.models import ListEntry, ListType
from creditplus.lists.services import deadline
from creditplus.sanctions.choices import (
    FEEDBACK_OUTCOMES,
    PLATFORM_REASON,
    RETRIGGER_REASON,
    CaseOrigin,
    CaseStatus,
    MeasureStatus,
    MeasureTrigger,
    Target,
    TaskOrigin,
    TaskStatus,
)
from creditplus.sanctions.models import Measure, SanctionCase, SanctionTask
from creditplus.subjects.models import Subject

# --------------------------------------------------------------------------- reference data


@transaction.atomic
def load_measures() -> str:
    """Load ``measures.yaml`` (the measure catalog); every code it names must exist."""
    data = read_reference("measures.yaml")
    departments = {d.code: d for d in Department.objects.all()}
    list_types = {t.code: t for t in ListType.objects.all()}
    matters = {m.code: m for m in Matter.objects.all()}
    results = []
    for m in data["measures"]:
        for kind, codes, known in (
            ("department", m["departments"], departments),
            ("list_type", m["list_types"], list_types),
            ("matter", m.get("matters", []), matters),
        ):
            unknown = sorted(set(codes) - set(known))
            if unknown:
                raise DomainError(
                    "reference_unknown_code",
                    _("措施 %(m)s 引用了不存在的%(k)s：%(c)s")
                    % {"m": m["code"], "k": kind, "c": "、".join(unknown)},
                )
        _check_trigger(m)
        results.append(
            upsert_reference(
                Measure,
                {"code": m["code"]},
                data["version"],
                {
                    "name": m["name"],
                    "kind": m["kind"],
                    "category": m["category"],
                    "applies_to": m["applies_to"],
                    "status": m["status"],
                    "trigger": m["trigger"],
                    "automatic": m.get("automatic", ""),
                    "coordination_level": m["coordination_level"],
                    "basis": m["basis"].strip(),
                },
                m2m={
                    "departments": [departments[c] for c in m["departments"]],
                    "list_types": [list_types[c] for c in m["list_types"]],
                    "matters": [matters[c] for c in m.get("matters", [])],
                },
            )
        )
    return load_summary("奖惩措施", results)


def _check_trigger(m: dict[str, Any]) -> None:
    """Every measure is classified; an on-application measure names the matters whose credit
    check triggers it (else it could never become a task); only standing ones are automatic."""
    if m.get("trigger") not in MeasureTrigger.values:
        raise DomainError(
            "reference_invalid",
            f"措施 {m['code']}：trigger 须为 standing 或 on_application，而不是 {m.get('trigger')}",
        )
    if m["trigger"] == MeasureTrigger.ON_APPLICATION and not m.get("matters"):
        raise DomainError(
            "reference_invalid",
            f"措施 {m['code']}：办理时核查触发的措施须列出适用事项（matters），否则永远不会实施",
        )
    if m.get("automatic") and m["trigger"] != MeasureTrigger.STANDING:
        raise DomainError(
            "reference_invalid", f"措施 {m['code']}：只有常态实施的措施可由平台自动实施"
        )


def status_summary() -> dict[str, int]:
    """How many measures of the catalog are implemented / in progress / need coordination /
    not started (the seed's 已完成5 / 推进中16 / 需协调25)."""
    counts = Counter(Measure.objects.filter(is_active=True).values_list("status", flat=True))
    return {s: counts.get(s, 0) for s in MeasureStatus.values}


# --------------------------------------------------------------------------- initiation


def on_membership_change(entries: list[ListEntry]) -> None:
    """Listener of the lists app: initiate a case for each entry that became a member,
    close the open cases of each entry that stopped being one. Runs in the transaction of
    the list change, so a list entry and its measures never disagree."""
    joined = [e for e in entries if e.is_effective]
    left = [e for e in entries if e.status not in MEMBER_STATUSES]
    if joined:
        initiate_cases(joined)
    if left:
        close_cases(left)


def _targets(measure: Measure, subject: Subject) -> list[tuple[str, str]]:
    targets = []
    if Target.SUBJECT in measure.applies_to:
        targets.append((Target.SUBJECT, subject.name))
    if Target.LEGAL_REP in measure.applies_to and subject.legal_rep_name:
        targets.append((Target.LEGAL_REP, subject.legal_rep_name))
    return targets


def initiate_cases(
    entries: list[ListEntry],
    *,
    origin: str = CaseOrigin.AUTO,
    reason: str = "",
    today: date | None = None,
) -> list[SanctionCase]:
    """事项发起: a case per entry with one task per implementing department of every standing
    measure in force for the entry's list (and for the legal representative where the measure
    says so). On-application measures wait for a credit check (:func:`create_check_tasks`).
    Written in bulk: an external list import can add thousands of entries at once."""
    today = today or timezone.localdate()
    now = timezone.now()
    actor = audit.current_context().actor_name or "system"
    due = deadline("sanction_feedback", today)
    already = set(
        SanctionCase.objects.filter(
            entry_id__one_of=[e.pk for e in entries], status=CaseStatus.OPEN
        ).values_list("entry_id", flat=True)
    )
    fresh = [e for e in entries if e.pk not in already]
    subjects = _subjects_of(fresh)
    reasons: dict[int, str] = {}  # per list: an import brings thousands of one list's entries
    for e in fresh:
        if e.list_type_id not in reasons:
            reasons[e.list_type_id] = reason or _("列入%(list)s") % {"list": e.list_type.name}
    cases = create_instances(
        [
            new_instance(
                SanctionCase,
                subject_id=e.subject_id,
                entry_id=e.pk,
                origin=origin,
                reason=reasons[e.list_type_id],
                initiated_at=now,
                initiated_by=actor,
            )
            for e in fresh
        ],
    )
    tasks = _entry_tasks(cases, fresh, subjects, now, due)
    # An import of thousands of entries still writes thousands of tasks: as plain rows in one
    # bulk statement (COPY / executemany), not one model instance each, which cost ~20× more.
    insert_rows(SanctionTask, tasks)
    _announce_cases(cases, subjects, tasks, origin, due)
    return cases


def _subjects_of(entries: list[ListEntry]) -> dict[int, Subject]:
    """The entries' subjects: the ones loaded with them as they are, the rest read at once."""
    subjects = {e.subject_id: e.subject for e in entries if ListEntry.subject.is_cached(e)}
    missing = {e.subject_id for e in entries} - subjects.keys()
    if missing:
        subjects.update(in_bulk(Subject.objects.headers(), missing))
    return subjects


def _standing_measures() -> tuple[dict[int, list[Measure]], dict[int, list[int]]]:
    """The measures that make tasks on entry, by list type, and each one's departments."""
    by_type: dict[int, list[Measure]] = {}
    for measure in Measure.objects.tasked_on_entry().prefetch_related("list_types", "departments"):
        for list_type in measure.list_types.all():
            by_type.setdefault(list_type.pk, []).append(measure)
    departments_of = {
        m.pk: [d.pk for d in m.departments.all()] for ms in by_type.values() for m in ms
    }
    return by_type, departments_of


def _entry_tasks(
    cases: list[SanctionCase],
    entries: list[ListEntry],
    subjects: dict[int, Subject],
    now: Any,
    due: date,
) -> list[dict[str, Any]]:
    """The task rows of new cases: measure × target × implementing department."""
    measures_by_type, departments_of = _standing_measures()
    tasks: list[dict[str, Any]] = []
    for case, entry in zip(cases, entries, strict=True):
        subject = subjects[entry.subject_id]
        for measure in measures_by_type.get(entry.list_type_id, []):
            for target, name in _targets(measure, subject):
                for department_id in departments_of[measure.pk]:
                    tasks.append(
                        {
                            "case_id": case.pk,
                            "measure_id": measure.pk,
                            "department_id": department_id,
                            "target": target,
                            "target_name": name,
                            "created_at": now,
                            "due_on": due,
                        }
                    )
    return tasks


def _announce_cases(
    cases: list[SanctionCase],
    subjects: dict[int, Subject],
    tasks: list[dict[str, Any]],
    origin: str,
    due: date,
) -> None:
    """One audit row per case; one notification per department that received tasks."""
    audit.record_many(
        "sanction.initiate",
        [
            audit.Change(
                obj=case,
                subject=subjects[case.subject_id].code,
                after={"entry": case.entry_id, "origin": origin},
            )
            for case in cases
        ],
    )
    per_department = Counter(t["department_id"] for t in tasks)
    for department_id, n in per_department.items():
        notify(
            _("收到 %(n)d 项联合奖惩实施任务") % {"n": n},
            _("请在 %(due)s 前反馈实施情况。") % {"due": due},
            "/backoffice/sanctions/tasks/",
            department=Department(pk=department_id),
        )


def close_cases(entries: list[ListEntry]) -> int:
    """The entries left their lists: close their open cases and open tasks with the reason,
    and tell the departments that had open tasks."""
    cases = list(
        SanctionCase.objects.filter(entry__in=[e.pk for e in entries], status=CaseStatus.OPEN)
    )
    if not cases:
        return 0
    reasons = {e.pk: str(e.get_end_reason_display() or e.get_status_display()) for e in entries}
    now = timezone.now()
    open_tasks = SanctionTask.objects.filter(case__in=cases, status=TaskStatus.PENDING)
    departments = Counter(open_tasks.values_list("department_id", flat=True))
    for case in cases:
        reason = _("移出名单：%(r)s") % {"r": reasons[case.entry_id]}
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        case.close_reason = reason
        SanctionTask.objects.filter(case=case, status=TaskStatus.PENDING).update(
            status=TaskStatus.CLOSED, outcome_note=reason, fed_back_at=now
        )
    SanctionCase.objects.bulk_update(cases, ["status", "closed_at", "close_reason"])
    audit.record_many(
        "sanction.close",
        [
            audit.Change(obj=c, after={"status": CaseStatus.CLOSED}, purpose=c.close_reason)
            for c in cases
        ],
    )
    for department_id, n in departments.items():
        notify(
            _("%(n)d 项联合奖惩任务已关闭") % {"n": n},
            _("相关主体已移出名单，停止实施对应措施。"),
            "/backoffice/sanctions/tasks/?status=closed",
            department=Department(pk=department_id),
        )
    return len(cases)


@dataclass(frozen=True)
class CheckHit:
    """A stored credit check whose answer lists on-application measures for a found subject."""

    check_id: int
    subject_id: int
    subject_name: str
    tasks: tuple[tuple[int, int], ...]  # (measure id, id of the list entry that brought it in)


def create_check_tasks(
    hits: list[CheckHit], department_id: int, matter_id: int, today: date | None = None
) -> int:
    """On-application measures become tasks here: one per hit check and measure, for the
    checking department (it handles the subject's application now), attached to the case of
    the membership that brought the measure in (the check read both). Runs in the check's
    write transaction, with plain statements (a credit check's hot path); the check's report
    (:func:`creditplus.sanctions.checks.report_use`) is the feedback."""
    if not hits:
        return 0
    today = today or timezone.localdate()
    now = timezone.now()
    due = deadline("sanction_feedback", today)
    entries = {entry_id: hit.subject_id for hit in hits for _m, entry_id in hit.tasks}
    case_of = _case_ids(entries, now)
    tasks = [
        {
            "case_id": case_of[entry_id],
            "measure_id": measure_id,
            "department_id": department_id,
            "target": Target.SUBJECT,
            "origin": TaskOrigin.CHECK,
            "target_name": hit.subject_name,
            "created_at": now,
            "due_on": due,
            "matter_id": matter_id,
            "credit_check_id": hit.check_id,
        }
        for hit in hits
        for measure_id, entry_id in hit.tasks
    ]
    # Audited by the check's own audit row, which names the measures (one row per check).
    insert_rows(SanctionTask, tasks)
    return len(tasks)


def _case_ids(entries: dict[int, int], now: Any) -> dict[int, int]:
    """Entry id → its case: the open one; else its last case, reopened (it closed when its
    standing tasks were all fed back, and the entry is still in force); else a new one.
    ``entries`` maps each entry to its subject. The cases read are locked (PostgreSQL)."""
    table = connection.ops.quote_name(SanctionCase._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    last: dict[int, tuple[int, str]] = {}
    for chunk in chunked(sorted(entries), 500):
        marks = ", ".join(["%s"] * len(chunk))
        sql = f"SELECT entry_id, id, status FROM {table} WHERE entry_id IN ({marks}) ORDER BY id"
        with hot_cursor() if len(chunk) == 1 else connection.cursor() as cursor:
            cursor.execute(sql + lock, list(chunk))
            for entry_id, case_id, status in cursor.fetchall():
                if last.get(entry_id, (0, ""))[1] != CaseStatus.OPEN:
                    last[entry_id] = (case_id, status)  # ascending ids: the open one, or the last
    closed = [case_id for case_id, status in last.values() if status != CaseStatus.OPEN]
    if closed:
        SanctionCase.objects.filter(pk__in=closed).update(
            status=CaseStatus.OPEN, closed_at=None, close_reason=""
        )
    new = [entry_id for entry_id in entries if entry_id not in last]
    ids = reserve_ids(SanctionCase._meta.db_table, len(new)).to_list() if len(new) > 1 else []
    fresh = {
        "origin": CaseOrigin.AUTO,
        "status": CaseStatus.OPEN,
        "reason": _("信用核查触发"),
        "initiated_at": now,
        "initiated_by": audit.current_context().actor_name or "system",
    }
    rows = [{**fresh, "entry_id": e, "subject_id": entries[e]} for e in new]
    if len(rows) == 1:
        ids = [insert_row(SanctionCase, rows[0])]
    else:
        insert_rows(SanctionCase, [{**r, "id": pk} for r, pk in zip(rows, ids, strict=True)])
    return {entry_id: case_id for entry_id, (case_id, _s) in last.items()} | dict(
        zip(new, ids, strict=True)
    )


def close_on_application_tasks() -> int:
    """Close the pending tasks entries pushed for measures that are now on-application (reason
    ``RETRIGGER_REASON``) or applied by the platform itself, one audit row per task: nothing
    is deleted. Idempotent (``sanctions_maintain`` runs it); returns the count."""
    return _close_entry_tasks(
        Q(measure__trigger=MeasureTrigger.ON_APPLICATION), RETRIGGER_REASON
    ) + _close_entry_tasks(~Q(measure__automatic=""), PLATFORM_REASON)


_CLOSE_CHUNK = 5000  # tasks per transaction: the old flood is ~1 M tasks at Pudong scale


def _close_entry_tasks(which: Q, reason: str) -> int:
    stale = SanctionTask.objects.filter(which, status=TaskStatus.PENDING, origin=TaskOrigin.ENTRY)
    columns = ("pk", "department_id", "case__subject__uscc", "case__subject__id_masked")
    per_department: Counter[int] = Counter()
    after = {"status": TaskStatus.CLOSED}
    while True:
        with transaction.atomic():
            # Locked, so that a feedback given meanwhile is neither overwritten nor audited
            # as a closing.
            locked = stale.select_for_update(of=("self",)).order_by("pk")
            rows = list(locked.values_list(*columns, "measure__code")[:_CLOSE_CHUNK])
            if not rows:
                break
            SanctionTask.objects.filter(pk__in=[r[0] for r in rows]).update(
                status=TaskStatus.CLOSED, outcome_note=reason
            )
            audit.record_many(
                "sanction.task.close",
                [
                    audit.Change(
                        object_type="sanctions.sanctiontask",
                        object_id=str(pk),
                        object_repr=f"RW{pk:08d}",
                        subject=uscc or masked or "",
                        purpose=reason,
                        before={"status": TaskStatus.PENDING, "measure": code},
                        after=after,
                    )
                    for pk, _department, uscc, masked, code in rows
                ],
            )
        per_department.update(r[1] for r in rows)
    for department_id, count in per_department.items():
        notify(
            _("%(n)d 项联合奖惩任务已关闭") % {"n": count},
            _(
                "关闭原因：%(r)s。办理时核查触发的措施，在主体办理相关事项、信用核查命中时再形成任务。"
            )
            % {"r": reason},
            "/backoffice/sanctions/tasks/?status=closed",
            department=Department(pk=department_id),
        )
    return sum(per_department.values())


@transaction.atomic
def initiate_manually(user: Any, entry: ListEntry, reason: str) -> SanctionCase:
    """人工发起 by the credit office, e.g. after the measure catalog changed."""
    require_perm(user, "sanctions.add_sanctioncase")
    if not reason.strip():
        raise DomainError("reason_required", _("请填写发起事由"), "reason")
    if not entry.is_effective:
        raise DomainError("entry_not_effective", _("该名单尚未公示生效，不能发起奖惩"), status=409)
    if SanctionCase.objects.filter(entry=entry, status=CaseStatus.OPEN).exists():
        raise DomainError("case_exists", _("该名单已有实施中的奖惩事项"), status=409)
    [case] = initiate_cases([entry], origin=CaseOrigin.MANUAL, reason=reason.strip())
    return case


# --------------------------------------------------------------------------- feedback


def tasks_for(user: Any) -> QuerySet[SanctionTask]:
    """Tasks ``user`` may see: the own department's, or all for the credit office."""
    return restrict(SanctionTask.objects.all(), user).select_related(
        "case__subject", "measure", "department", "matter"
    )


@transaction.atomic
def give_feedback(
    task: SanctionTask,
    user: Any,
    *,
    outcome: str,
    note: str = "",
    matter: Matter | None = None,
    document_no: str = "",
) -> SanctionTask:
    """实施反馈: the implementing department reports applied (with the matter and document),
    not applicable or failed (each with the reason)."""
    require_perm(user, "sanctions.change_sanctiontask")
    task = SanctionTask.objects.select_for_update().get(pk=task.pk)
    if not user.department_id or user.department_id != task.department_id:
        raise Forbidden(_("只能反馈本部门的实施任务"))
    if task.status != TaskStatus.PENDING:
        raise DomainError("task_closed", _("该任务已反馈或已关闭"), status=409)
    if outcome not in FEEDBACK_OUTCOMES:
        raise DomainError("outcome_invalid", _("请选择实施结果"), "outcome")
    if outcome == TaskStatus.APPLIED and not (matter and document_no.strip()):
        raise DomainError(
            "applied_needs_matter", _("已实施的，请填写实施事项和文书号"), "document_no"
        )
    if outcome != TaskStatus.APPLIED and not note.strip():
        raise DomainError("reason_required", _("请说明不适用或未能实施的原因"), "note")
    if matter is not None and not matter.is_active:
        raise DomainError("matter_unknown", _("该事项已停用"), "matter")
    if outcome != TaskStatus.APPLIED:
        matter, document_no = None, ""
    task.status = outcome
    task.outcome_note = note.strip()
    task.matter = matter
    task.document_no = document_no.strip()
    task.fed_back_at = timezone.now()
    task.fed_back_by = audit.current_context().actor_name
    task.save()
    audit.record(
        "sanction.feedback",
        obj=task,
        subject=task.case.subject.code,
        before={"status": TaskStatus.PENDING},
        after={"status": outcome, "document_no": task.document_no},
    )
    close_case_if_done(task.case)
    return task


MAX_BULK_FEEDBACK = 200


@transaction.atomic
def give_feedback_many(
    tasks: QuerySet[SanctionTask],
    user: Any,
    ids: list[int],
    *,
    outcome: str,
    note: str = "",
    matter: Matter | None = None,
    document_no: str = "",
) -> int:
    """批量反馈: the same feedback for a selection of the department's pending tasks, each
    task checked and audited as by :func:`give_feedback`; all or none."""
    require_perm(user, "sanctions.change_sanctiontask")
    ids = sorted(set(ids))
    if not ids:
        raise DomainError("selection_required", _("请先勾选要反馈的任务"), "tasks")
    if len(ids) > MAX_BULK_FEEDBACK:
        raise DomainError(
            "too_many",
            _("一次最多反馈 %(n)d 项任务") % {"n": MAX_BULK_FEEDBACK},
            "tasks",
        )
    selected = list(tasks.filter(pk__in=ids))
    if len(selected) != len(ids):
        raise NotFound()
    for task in selected:
        give_feedback(
            task, user, outcome=outcome, note=note, matter=matter, document_no=document_no
        )
    return len(selected)


def close_case_if_done(case: SanctionCase) -> None:
    """Close the case once no task is pending (locked: two last feedbacks at once)."""
    case = SanctionCase.objects.select_for_update().get(pk=case.pk)
    if not case.tasks.filter(status=TaskStatus.PENDING).exists() and case.status == CaseStatus.OPEN:
        case.status = CaseStatus.CLOSED
        case.closed_at = timezone.now()
        case.close_reason = _("全部任务已反馈")
        case.save(update_fields=["status", "closed_at", "close_reason"])


def remind_overdue(today: date | None = None) -> int:
    """Remind departments of tasks past their deadline (once per task) and tell the credit
    office how many are overdue; returns the number of tasks newly reminded."""
    today = today or timezone.localdate()
    overdue = SanctionTask.objects.escalated(today).filter(reminded_at__isnull=True)
    per_department = Counter(overdue.values_list("department_id", flat=True))
    if not per_department:
        return 0
    n = overdue.update(reminded_at=timezone.now())
    for department_id, count in per_department.items():
        notify(
            _("%(n)d 项联合奖惩任务已逾期") % {"n": count},
            _("请尽快反馈实施情况；逾期任务已列入信用办督办清单。"),
            "/backoffice/sanctions/tasks/?overdue=1",
            department=Department(pk=department_id),
        )
    notify(
        _("联合奖惩逾期任务新增 %(n)d 项") % {"n": n},
        "",
        "/backoffice/sanctions/overdue/",
        role=Role.CREDIT_OFFICE,
    )
    audit.record("sanction.remind", object_type="sanctions.sanctiontask", after={"count": n})
    return n


# --------------------------------------------------------------------------- statistics


def statistics(tasks: QuerySet[SanctionTask], today: date | None = None) -> dict[str, Any]:
    """Per measure and per department: initiated (of both kinds: ``from_entries`` pushed when
    an entry took effect, ``from_checks`` triggered by a credit check), fed back, applied,
    overdue. Tasks closed without feedback are not counted (``SanctionTask…owed()``)."""
    today = today or timezone.localdate()
    tasks = tasks.owed()
    fed_back = Q(status__in=FEEDBACK_OUTCOMES)
    figures = {
        "initiated": Count("id"),
        "from_entries": Count("id", filter=Q(origin=TaskOrigin.ENTRY)),
        "from_checks": Count("id", filter=Q(origin=TaskOrigin.CHECK)),
        "fed_back": Count("id", filter=fed_back),
        "applied": Count("id", filter=Q(status=TaskStatus.APPLIED)),
        "overdue": Count("id", filter=Q(status=TaskStatus.PENDING, due_on__lt=today)),
    }
    by_measure = list(
        tasks.values("measure__code", "measure__name", "measure__trigger")
        .annotate(**figures)
        .order_by("measure__code")
    )
    by_department = list(
        tasks.values("department__code", "department__name")
        .annotate(**figures)
        .order_by("department__code")
    )
    totals = {k: v or 0 for k, v in tasks.aggregate(**figures).items()}
    return {"by_measure": by_measure, "by_department": by_department, "totals": totals}
