"""The lists consumer of new behavior events: external-list imports and automatic proposals
for district lists."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.services import notify
from creditplus.bulk import chunked, create_instances, in_bulk, insert_rows, new_instance
from creditplus.catalog.calendar import add_months
from creditplus.lists.choices import (
    LIVE_STATUSES,
    EntryOrigin,
    EntryStatus,
    ListOrigin,
)
from creditplus.lists.models import ListEntry, ListTransition, ListType
from creditplus.lists.services import membership_changed, restoration_opens
from creditplus.lists.triggers import Trigger, parse_triggers
from creditplus.records import consumers
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject

CHUNK = 500
# Subjects (or source keys) per statement, as parameters, and per transaction of new proposals.
SUBJECT_CHUNK = 5000


def consume_events(window: consumers.EventWindow) -> None:
    """The lists consumer of new behavior events: import external list records and make
    automatic proposals for district lists."""
    today = timezone.localdate()
    new_events = CreditEvent.objects.filter(consumers.in_window(window), status=EventStatus.ACTIVE)
    types = list(ListType.objects.active())
    # An event's rule belongs to its record's item (ingest classifies records by their
    # item's rules): the items come from the small rules table, not from a join of every
    # event of the window with the records (14 s of a Pudong-scale load's consumers). No
    # ordering: DISTINCT would otherwise take in the id it orders by (a row per event).
    items = set(new_events.order_by().values_list("rule__item_id", flat=True).distinct())
    for list_type in types:
        if list_type.origin == ListOrigin.EXTERNAL and list_type.source_item_id in items:
            _import_external(list_type, new_events, today)
    for list_type in types:
        if list_type.origin == ListOrigin.DISTRICT and list_type.triggers:
            propose_automatically(list_type, new_events, today)


def _import_external(list_type: ListType, new_events: QuerySet[CreditEvent], today: date) -> int:
    """Entries for the external list's records, as decided and published by their owner. A
    new version of a record updates its entry; an already-expired one adds nothing."""
    mine = _external_events(list_type, new_events)
    if not mine:
        return 0
    by_key = _live_imports(list_type, [e.natural_key for e in mine])
    new, refreshed = _plan_imports(list_type, mine, by_key, today)
    created = create_instances(new)
    # One statement for the refreshed entries (an entry refreshed twice is written once).
    ListEntry.objects.bulk_update(
        list({e.pk: e for e in refreshed}.values()),
        ["source_record", "decided_on", "publish_until", "restoration_from"],
        batch_size=CHUNK,
    )
    _announce_imports(created, refreshed)
    return len(created)


class SourceRow(NamedTuple):
    """What an import reads of a new event and its record (plain tuples, not models)."""

    subject_id: int
    occurred_on: date
    record_id: int
    natural_key: str
    department_id: int
    end_date: date | None
    decision_date: date | None


def _external_events(list_type: ListType, new_events: QuerySet[CreditEvent]) -> list[SourceRow]:
    """The new events of the list's source item (and rules), with the record fields used,
    in event order."""
    mine = new_events.filter(rule__item_id=list_type.source_item_id)
    if list_type.source_rules:
        mine = mine.filter(rule__code__in=list_type.source_rules)
    rows = mine.order_by("pk").values_list(
        "subject_id",
        "occurred_on",
        "record_id",
        "record__natural_key",
        "record__department_id",
        "record__end_date",
        "record__decision_date",
    )
    return [SourceRow(*row) for row in rows]


def _live_imports(list_type: ListType, keys: list[str]) -> dict[str, ListEntry]:
    """The list's live imported entries of these source keys, by key."""
    by_key: dict[str, ListEntry] = {}
    for chunk in chunked(keys, SUBJECT_CHUNK):
        for entry in ListEntry.objects.filter(
            list_type=list_type,
            origin=EntryOrigin.IMPORTED,
            status__in=LIVE_STATUSES,
            source_key__one_of=chunk,
        ):
            by_key[entry.source_key] = entry
    return by_key


def _plan_imports(
    list_type: ListType, mine: list[SourceRow], by_key: dict[str, ListEntry], today: date
) -> tuple[list[ListEntry], list[ListEntry]]:
    """New entries and refreshed stored ones, in event order: a later version of a record in
    the same run refreshes the entry an earlier one made."""
    now = timezone.now()
    status = EntryStatus.PUBLISHED if list_type.published else EntryStatus.INCLUDED
    proposer = _("名单管理部门推送")
    new: list[ListEntry] = []
    refreshed: list[ListEntry] = []
    for record in mine:
        decided = record.decision_date or record.occurred_on
        until = add_months(decided, list_type.default_months)
        if record.end_date and record.end_date < until:
            until = record.end_date
        existing = by_key.get(record.natural_key)
        if existing is not None:
            existing.source_record_id = record.record_id
            existing.decided_on = decided
            existing.publish_until = until
            existing.restoration_from = restoration_opens(list_type, decided, until)
            if existing.pk is not None:  # else created earlier in this run, saved with it
                refreshed.append(existing)
            continue
        if until < today:
            continue
        new.append(
            new_instance(
                ListEntry,
                list_type=list_type,
                subject_id=record.subject_id,
                origin=EntryOrigin.IMPORTED,
                status=status,
                department_id=list_type.deciding_department_id or record.department_id,
                reason=list_type.criteria,
                basis=list_type.basis,
                source_record_id=record.record_id,
                source_key=record.natural_key,
                proposed_at=now,
                proposed_by=proposer,
                decided_on=decided,
                published_on=decided if list_type.published else None,
                publish_until=until,
                restoration_from=restoration_opens(list_type, decided, until),
            )
        )
        by_key[record.natural_key] = new[-1]
    return new, refreshed


def _announce_imports(created: list[ListEntry], refreshed: list[ListEntry]) -> None:
    """Timeline steps, membership listeners (joint punishment) and audit of an import."""
    subjects = in_bulk(Subject.objects.headers(), {e.subject_id for e in [*created, *refreshed]})
    for e in [*created, *refreshed]:
        e.subject = subjects[e.subject_id]
    _bulk_first_steps(created, "import", _("由名单管理部门认定并推送"))
    membership_changed(created)
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


def propose_automatically(
    list_type: ListType, new_events: QuerySet[CreditEvent], today: date | None = None
) -> list[ListEntry]:
    """自动提议: propose every subject that one of ``new_events`` makes meet one of the list's
    triggers (and none of its exclusions), unless already on the list or proposed for it.
    Decided set-wise: one statement per trigger and per 5,000 subjects the new events touch
    (:meth:`Trigger.met_by`), not a query per subject."""
    today = today or timezone.localdate()
    met = _meeting(list_type, new_events, today)
    _drop_excluded(list_type, met, today)
    chosen = sorted(met)
    created: list[ListEntry] = []
    for i in range(0, len(chosen), SUBJECT_CHUNK):
        part = chosen[i : i + SUBJECT_CHUNK]
        created.extend(_create_auto_entries(list_type, {s: met[s] for s in part}, today))
    return created


def _meeting(
    list_type: ListType, new_events: QuerySet[CreditEvent], today: date
) -> dict[int, Trigger]:
    """Subjects of the list's kinds, not on it nor proposed, that meet a trigger and have a
    new event one of its triggers counts (kind, severity, period): only such an event can
    make a subject newly meet the list. Each subject with the first trigger it meets, in the
    list's order, over all its events."""
    triggers = parse_triggers(list_type.triggers)
    counted = Q(pk__in=[])
    for trigger in triggers:
        counted |= trigger.condition(today)
    touched = sorted(
        new_events.filter(counted).order_by().values_list("subject_id", flat=True).distinct()
    )
    candidates = proposable(list_type)
    met: dict[int, Trigger] = {}
    for trigger in triggers:
        pending = [s for s in touched if s not in met]
        for chunk in chunked(pending, SUBJECT_CHUNK):
            subjects = candidates.filter(pk__one_of=chunk)
            for subject_id in trigger.met_by(subjects, today).values_list("pk", flat=True):
                met[subject_id] = trigger
    return met


def proposable(list_type: ListType) -> QuerySet[Subject]:
    """Subjects of the list's kinds without a live entry on it other than an imported one.
    Asked as one index probe per subject (NOT EXISTS in ``entry_list_subject``): as NOT IN,
    every live entry of the list was read per statement, a cost that grew with the list
    rather than with the batch (52,000 pages for a daily batch at Pudong scale)."""
    live = ListEntry.objects.filter(
        list_type=list_type, subject_id=OuterRef("pk"), status__in=LIVE_STATUSES
    ).exclude(origin=EntryOrigin.IMPORTED)
    return Subject.objects.filter(kind__in=list_type.subject_kinds).exclude(Exists(live))


def _drop_excluded(list_type: ListType, met: dict[int, Trigger], today: date) -> None:
    """Remove from ``met`` the subjects that meet one of the list's exclusions."""
    for exclusion in parse_triggers(list_type.exclude):
        for chunk in chunked(sorted(met), SUBJECT_CHUNK):
            subjects = Subject.objects.filter(pk__one_of=chunk)
            for subject_id in exclusion.met_by(subjects, today).values_list("pk", flat=True):
                met.pop(subject_id, None)


@transaction.atomic
def _create_auto_entries(
    list_type: ListType, chosen: dict[int, Trigger], today: date
) -> list[ListEntry]:
    """Bulk-create proposals with their evidence, first timeline step and audit rows: a
    batch of records may propose thousands of subjects at once."""
    evidence = _evidence(chosen, today)
    department_of = _proposing_departments(list_type, evidence)
    subjects = in_bulk(Subject.objects.headers(), chosen)
    now = timezone.now()
    proposer = _("系统（行为清单自动提议）")
    entries = [
        new_instance(
            ListEntry,
            list_type=list_type,
            subject=subjects[subject_id],
            origin=EntryOrigin.AUTO,
            status=EntryStatus.PROPOSED,
            department_id=department_of[subject_id],
            reason=_("%(trigger)s：%(rules)s")
            % {
                "trigger": trigger.describe(),
                "rules": "；".join(sorted({name for _r, name in evidence[subject_id]})),
            },
            basis=list_type.basis,
            proposed_at=now,
            proposed_by=proposer,
        )
        for subject_id, trigger in chosen.items()
    ]
    entries = create_instances(entries)
    # Plain rows, not a model instance each: a load proposes tens of thousands at once.
    insert_rows(
        ListEntry.evidence.through,
        [
            {"listentry_id": e.pk, "creditrecord_id": record_id}
            for e in entries
            for record_id in dict.fromkeys(r for r, _n in evidence[e.subject_id])
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


def _evidence(chosen: dict[int, Trigger], today: date) -> dict[int, list[tuple[int, str]]]:
    """Per subject, newest first: (record, rule name) of each event the trigger it met
    counts. Read from the events alone: joining the records for their departments read a
    record row (the widest table) per event — five per proposal at Pudong scale."""
    evidence: dict[int, list[tuple[int, str]]] = {s: [] for s in chosen}
    by_trigger: dict[Trigger, list[int]] = {}
    for subject_id, trigger in chosen.items():
        by_trigger.setdefault(trigger, []).append(subject_id)
    for trigger, subject_ids in by_trigger.items():
        rows = (
            trigger.events(subject_ids, today)
            .order_by("-occurred_on", "-id")
            .values_list("subject_id", "record_id", "rule__name")
        )
        for subject_id, record_id, rule_name in rows:
            evidence[subject_id].append((record_id, rule_name))
    return evidence


def _proposing_departments(
    list_type: ListType, evidence: dict[int, list[tuple[int, str]]]
) -> dict[int, int]:
    """Per subject, the department its proposal goes to: the list's deciding department, or
    the one that recorded the newest evidence (one record read per proposal)."""
    if list_type.deciding_department_id:
        return dict.fromkeys(evidence, list_type.deciding_department_id)
    newest = {subject_id: rows[0][0] for subject_id, rows in evidence.items()}
    department_of_record = dict(
        CreditRecord.objects.filter(pk__one_of=set(newest.values())).values_list(
            "pk", "department_id"
        )
    )
    return {s: department_of_record[r] for s, r in newest.items()}


def _bulk_first_steps(entries: list[ListEntry], action: str, note: str) -> None:
    """The first timeline step and the audit row of each new entry, written in bulk."""
    insert_rows(
        ListTransition,
        [
            {
                "entry_id": e.pk,
                "action": action,
                "from_status": "",
                "to_status": e.status,
                "at": e.proposed_at,
                "actor_name": str(e.proposed_by),
                "department_id": e.department_id,
                "note": str(note),
            }
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
