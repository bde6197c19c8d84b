"""What the public website shows: search results, the subject page, the 双公示 pages and the
home page's statistics, composed from the apps' public querysets (the disclosure rule lives in
``creditplus.records.disclosure`` and the apps' ``public*`` querysets, never here).

Natural persons are never reachable here and never shown unmasked: the subject page serves
organisations and individual businesses only, and every list shows ``Subject.public_name``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from math import ceil
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.catalog.choices import BehaviorKind
from creditplus.catalog.models import CatalogItem, CodeTable
from creditplus.catalog.schema import ItemSpec
from creditplus.catalog.services import INDUSTRY_TABLE, code_label
from creditplus.errors import DomainError
from creditplus.evaluation import services as evaluation
from creditplus.lists.choices import EntryStatus, ListKind, ObjectionStatus
from creditplus.lists.models import ListEntry, ListType, Objection
from creditplus.lists.objections import open_objection_targets
from creditplus.portal import statistics
from creditplus.portal.models import HomeStatistics
from creditplus.records import disclosure
from creditplus.records.choices import BatchStatus, EventStatus
from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch
from creditplus.subjects import queries as subject_queries
from creditplus.subjects.models import Subject
from creditplus.subjects.services import trim_changes
from creditplus.supervision import inspections as supervision_inspections
from creditplus.supervision import services as supervision
from creditplus.supervision.models import Commitment, Inspection

PAGE_SIZE = 20
# Records of one catalog item shown on the subject page before "show all".
GROUP_SIZE = 10
# Rows of the other sections of the subject page (commitments, inspections).
SECTION_SIZE = 20
HOME_LATEST = 5
STATS_CACHE_KEY = "portal:home-statistics:v2"
STATS_CACHE_SECONDS = 60  # how long a process reuses the stored figures before reading them again

# The fields of a 双公示 record shown before "details", by item; other items show their
# first few public fields that do not merely repeat the subject.
SUMMARY_FIELDS = {
    disclosure.PENALTY: ("CF_WSH", "CF_WFXW", "CF_CFLB", "CF_NR", "CF_NR_FK", "CF_GSJZQ"),
    disclosure.LICENSE: ("XK_WSH", "XK_XKZS", "XK_XKLB", "XK_NR", "XK_YXQZ", "XK_YXQZI"),
}
OTHER_SUMMARY_COUNT = 4
# The field that names a 双公示 record on the subject page (other items: the item's name).
TITLE_FIELDS = {disclosure.PENALTY: "CF_WFXW", disclosure.LICENSE: "XK_XKZS"}
# The code field whose values a 双公示 page filters by (CreditRecord.category holds them).
CATEGORY_FIELDS = {disclosure.PENALTY: "CF_CFLB", disclosure.LICENSE: "XK_XKLB"}


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class ResultsPaginator:
    count: int
    num_pages: int


@dataclass(frozen=True)
class ResultsPage:
    """One page of search results, shaped like Django's ``Page`` for ``_pagination.html``
    (the count comes from the name index, not from a ``Paginator`` over a queryset)."""

    object_list: list[Subject]
    number: int
    paginator: ResultsPaginator

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.paginator.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1

    def start_index(self) -> int:
        """The 1-based position of the page's first result among all results."""
        return (self.number - 1) * PAGE_SIZE + 1


def page_number(raw: str | None) -> int:
    """``?page=`` as a page number (1 for anything that is not a positive number)."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def search_subjects(q: str, page: int = 1) -> ResultsPage:
    """One page (``PAGE_SIZE``) of the public subjects matching ``q`` — an exact unified social
    credit code or a part of the name — and the number of all matches. Pages go at most as
    deep as the search index allows; a page past the end gives the last page."""
    max_pages = subject_queries.MAX_OFFSET // PAGE_SIZE + 1
    page = min(max(page, 1), max_pages)
    found = subject_queries.search_page(q, page, PAGE_SIZE)
    num_pages = max(1, min(ceil(found.count / PAGE_SIZE), max_pages))
    if not found.results and page > num_pages:
        page = num_pages
        found = subject_queries.search_page(q, page, PAGE_SIZE)
    return ResultsPage(found.results, page, ResultsPaginator(found.count, num_pages))


# Documents the main search shows for a document number (one number: usually one record).
DOCUMENTS_SHOWN = 10


def find_documents(q: str) -> list[PublicRecord]:
    """The public 双公示 records whose document number starts with ``q`` (one word of four
    characters or more: shorter texts are names), for the main search."""
    words = disclosure.search_words(q)
    if len(words) != 1 or len(words[0]) < 4:
        return []
    records = (
        disclosure.public_records()
        .filter(item__code__in=disclosure.DUAL_ITEMS)
        .filter(disclosure.document_starts(words[0]))
        .select_related("item", "department", "subject")[:DOCUMENTS_SHOWN]
    )
    return describe_records(list(records))


def flag_listed(subjects: list[Subject]) -> None:
    """Give each of ``subjects`` its published list memberships (``public_entries``), so that
    search results flag listed subjects; one query for the page."""
    found: dict[int, list[ListEntry]] = {}
    entries = (
        ListEntry.objects.public()
        .filter(subject_id__in=[s.pk for s in subjects])
        .select_related("list_type")
        .order_by("list_type__kind", "list_type__code")
    )
    for entry in entries:
        found.setdefault(entry.subject_id, []).append(entry)
    for subject in subjects:
        subject.public_entries = found.get(subject.pk, [])


def public_subject(code: str) -> Subject | None:
    """The organisation or individual business with unified social credit code ``code``
    (natural persons are never found: they have no public page)."""
    return subject_queries.public_subjects().filter(uscc=code.strip().upper()).first()


# --------------------------------------------------------------------------- records


@dataclass
class PublicRecord:
    """A public record as the pages show it: a few key fields, all public fields for the
    details, whether an objection is open, and the untrustworthy behavior event the subject
    may apply to restore (``None`` when there is none or restoration is not allowed)."""

    record: CreditRecord
    summary: list[disclosure.PublicField]
    fields: list[disclosure.PublicField]
    in_objection: bool = False
    restorable_event: int | None = None

    @property
    def title(self) -> str:
        code = TITLE_FIELDS.get(self.record.item.code)
        by_code = {f.code: f.value for f in self.fields}
        return by_code.get(code or "", "") or self.record.item.name


@dataclass
class RecordGroup:
    item: CatalogItem
    count: int
    records: list[PublicRecord] = field(default_factory=list)

    @property
    def more(self) -> bool:
        return self.count > len(self.records)


def _summary(
    item_code: str, spec: ItemSpec, fields: list[disclosure.PublicField]
) -> list[disclosure.PublicField]:
    by_code = {f.code: f for f in fields}
    if item_code in SUMMARY_FIELDS:
        return [by_code[c] for c in SUMMARY_FIELDS[item_code] if c in by_code]
    # Other items: skip the fields that name or identify the subject (the page says who).
    s = spec.subject
    identity = {s.name, s.kind, s.uscc, s.legal_rep, s.id_type, s.id_number}
    return [f for f in fields if f.code not in identity][:OTHER_SUMMARY_COUNT]


def describe_records(
    records: list[CreditRecord], *, with_actions: bool = False
) -> list[PublicRecord]:
    """:class:`PublicRecord` of each record, with code values shown by their labels. With
    ``with_actions`` also the open objections and the restorable events (subject page).
    A fixed number of queries whatever the number of records."""
    items = {r.item_id: r.item for r in records}
    specs = {item_id: item.spec for item_id, item in items.items()}
    # One query per distinct catalog item (two on a 双公示 page, a few on a subject page).
    labels = {item_id: disclosure.code_labels(spec) for item_id, spec in specs.items()}
    in_objection: set[int] = set()
    restorable: dict[int, int] = {}
    if with_actions and records:
        ids = [r.pk for r in records]
        in_objection, _entries = open_objection_targets(records=ids)
        restorable = dict(
            CreditEvent.objects.filter(
                record_id__in=ids,
                kind=BehaviorKind.UNTRUSTWORTHY,
                status=EventStatus.ACTIVE,
                rule__restoration_allowed=True,
            ).values_list("record_id", "id")
        )
    out = []
    for record in records:
        spec = specs[record.item_id]
        fields = disclosure.public_fields(record, spec, labels[record.item_id])
        out.append(
            PublicRecord(
                record=record,
                summary=_summary(record.item.code, spec, fields),
                fields=fields,
                in_objection=record.pk in in_objection,
                restorable_event=restorable.get(record.pk),
            )
        )
    return out


# --------------------------------------------------------------------------- subject page


@dataclass
class PublicEntry:
    entry: ListEntry
    in_objection: bool
    restorable: bool


@dataclass
class SubjectPage:
    subject: Subject
    licenses: RecordGroup | None
    penalties: RecordGroup | None
    others: list[RecordGroup]
    entries: list[PublicEntry]
    commitments: list[Commitment]
    inspections: list[Inspection]
    industry: str = ""
    objections_open: int = 0  # objections in progress against the subject's public data

    @property
    def penalty_count(self) -> int:
        return self.penalties.count if self.penalties else 0

    @property
    def listed(self) -> bool:
        """On a published blacklist or watch list (the status card turns red)."""
        return any(pe.entry.list_type.kind != ListKind.RED for pe in self.entries)


def _groups(subject: Subject, today: date | None) -> list[RecordGroup]:
    records = disclosure.subject_public_records(subject, today)
    counts = dict(records.order_by().values_list("item").annotate(n=Count("id")))
    items = list(CatalogItem.objects.filter(pk__in=counts).order_by("code"))
    rows: dict[int, list[CreditRecord]] = {}
    for item in items:
        # One query per catalog item the subject has public records of (a few at most).
        rows[item.pk] = list(records.filter(item=item)[:GROUP_SIZE])
        for row in rows[item.pk]:
            row.item = item  # share the item, so that its spec is parsed once
    described = iter(describe_records([r for i in items for r in rows[i.pk]], with_actions=True))
    return [
        RecordGroup(item, counts[item.pk], [next(described) for _ in rows[item.pk]])
        for item in items
    ]


def subject_page(subject: Subject, today: date | None = None) -> SubjectPage:
    """Everything the public may see about one organisation or individual business: its
    licenses and penalties in publicity (双公示), its other public records by catalog item,
    its published list memberships, published commitments and recorded inspection results,
    with objection marks. Never a grade: grades are public only in the aggregate."""
    if subject.is_person:
        raise DomainError("subject_person", _("自然人信息不向社会公开"), status=404)
    groups = _groups(subject, today)
    by_code = {g.item.code: g for g in groups}
    entries = list(
        ListEntry.objects.public()
        .filter(subject=subject)
        .select_related("list_type", "department")
        .order_by("-published_on", "-id")
    )
    _records, entries_in_objection = open_objection_targets(entries=[e.pk for e in entries])
    return SubjectPage(
        subject=subject,
        licenses=by_code.get(disclosure.LICENSE),
        penalties=by_code.get(disclosure.PENALTY),
        others=[g for g in groups if g.item.code not in disclosure.DUAL_ITEMS],
        entries=[
            PublicEntry(
                e,
                e.pk in entries_in_objection,
                e.list_type.restoration_allowed and e.list_type.kind != ListKind.RED,
            )
            for e in entries
        ],
        commitments=list(supervision.public_commitments().filter(subject=subject)[:SECTION_SIZE]),
        inspections=list(
            supervision_inspections.public_results().filter(subject=subject)[:SECTION_SIZE]
        ),
        industry=code_label(INDUSTRY_TABLE, subject.industry),
        objections_open=Objection.objects.filter(
            subject=subject, status=ObjectionStatus.OPEN
        ).count(),
    )


def subject_item_records(
    subject: Subject, item_code: str, today: date | None = None
) -> tuple[CatalogItem, QuerySet[CreditRecord]] | None:
    """All public records of one catalog item of the subject (the subject page's "show all"),
    or ``None`` when the item is not public."""
    item = disclosure.public_items().filter(code=item_code).first()
    if item is None:
        return None
    return item, disclosure.subject_public_records(subject, today).filter(item=item)


# --------------------------------------------------------------------------- 双公示

# A 双公示 page counts at most this many matches (100 pages): counting every public license
# means reading every license row, too slow at the district's scale for a page that anyone
# may request; the complete data is in the open data files.
DUAL_COUNT_CAP = 2000


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap`` objects; ``capped`` says there are more."""

    def __init__(self, object_list: Any, per_page: int, cap: int) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        n = self.object_list[: self.cap + 1].count()
        self.capped = n > self.cap
        return min(n, self.cap)


def dual_page(records: QuerySet[CreditRecord], number: str | None) -> Page:
    """The page ``number`` of 双公示 ``records`` (20 a page, at most ``DUAL_COUNT_CAP``)."""
    return CappedPaginator(records, PAGE_SIZE, DUAL_COUNT_CAP).get_page(number)


def dual_item(item_code: str) -> CatalogItem | None:
    """The active 双公示 catalog item (``XK`` or ``CF``), if the public may see it."""
    return disclosure.public_items().filter(code=item_code).first()


def dual_categories(item: CatalogItem) -> list[tuple[str, str]]:
    """The values of the item's category field (处罚类别 CFLB, 许可类别 XKLB) as choices."""
    spec = item.spec
    field_code = CATEGORY_FIELDS[item.code]
    table = next(f.code_table for f in spec.fields if f.code == field_code)
    values = CodeTable.objects.filter(code=table).values_list("values", flat=True).first() or []
    return [(str(v["code"]), str(v["label"])) for v in values]


def category_label(item: CatalogItem) -> str:
    field_code = CATEGORY_FIELDS[item.code]
    return next(f.label for f in item.spec.fields if f.code == field_code)


def active_departments() -> QuerySet[Department]:
    return Department.objects.filter(is_active=True).only("code", "name")


# --------------------------------------------------------------------------- home


def latest_dual(item_code: str, n: int = HOME_LATEST) -> list[CreditRecord]:
    """The newest public licenses or penalties."""
    return list(disclosure.dual_records(item_code)[:n])


def latest_publications(n: int = HOME_LATEST) -> list[ListEntry]:
    """The newest published list entries (persons among them shown masked by the page)."""
    return list(
        ListEntry.objects.public()
        .filter(list_type__is_active=True)
        .select_related("subject", "list_type")
        .order_by("-published_on", "-id")[:n]
    )


def latest_commitments(n: int = HOME_LATEST) -> list[Commitment]:
    return list(supervision.public_commitments()[:n])


def compute_statistics(today: date | None = None) -> dict[str, Any]:
    """The home page's figures: records collected per department, the 双公示 counts, the
    public lists' sizes and the grade distribution of the active evaluation model.

    Records collected are the rows the departments' batches added (from the batches, not by
    counting millions of records). The 双公示 counts come from the publicity tally that
    :func:`refresh_statistics` keeps up to date (:mod:`creditplus.portal.statistics`)."""
    collected = dict(
        IngestBatch.objects.filter(status=BatchStatus.DONE)
        .values_list("department")
        .annotate(n=Sum("accepted"))
        .order_by()
    )
    departments = sorted(
        ({"name": d.name, "n": int(collected.get(d.pk) or 0)} for d in active_departments()),
        key=lambda d: -d["n"],  # stable: equal counts keep the departments' order
    )
    list_sizes = list(
        ListType.objects.active()
        .filter(published=True)
        .annotate(n=Count("entries", filter=Q(entries__status=EntryStatus.PUBLISHED)))
        .order_by("kind", "code")
    )
    try:
        dist = evaluation.distribution(evaluation.active_model())
        grades = {"total": dist["total"], "grades": dist["grades"], "as_of": dist["as_of"]}
    except DomainError:  # no active model yet
        grades = None
    return {
        "departments": departments,
        "dual": statistics.dual_counts(today or timezone.localdate()),
        "lists": [{"name": t.name, "kind": t.kind, "n": t.n} for t in list_sizes],
        "lists_total": sum(t.n for t in list_sizes),
        "grades": grades,
        "computed_at": timezone.now(),
    }


def refresh_statistics(today: date | None = None) -> HomeStatistics:
    """Bring the publicity tally up to date with the subjects changed since the last run,
    compute the home page's figures and store them for every server process (the
    scheduled ``creditplus portal_statistics`` run). All writes in one transaction: a run
    killed midway leaves the previous figures and tally, and the next run redoes its
    changes."""
    started = time.monotonic()
    read_at = timezone.now()
    previous = HomeStatistics.objects.filter(pk=1).first()
    # Counted outside the transaction: on SQLite a transaction holds the only write lock
    # from its start (a first run counts every subject).
    counts, ids = statistics.count_changes(previous.changes_read_at if previous else None)
    with transaction.atomic():
        changed = statistics.apply_counts(counts, ids)
        figures = compute_statistics(today)
        snapshot, _created = HomeStatistics.objects.update_or_create(
            pk=1,
            defaults={
                "computed_at": figures.pop("computed_at"),
                "seconds": round(time.monotonic() - started, 3),
                "figures": figures,
                "changes_read_at": read_at,
            },
        )
        audit.record(
            "portal.statistics",
            obj=snapshot,
            purpose=_("首页统计"),
            after={
                "dual": figures["dual"],
                "lists_total": figures["lists_total"],
                "subjects_recounted": changed,
            },
        )
    snapshot.subjects_recounted = changed
    cache.delete(STATS_CACHE_KEY)
    trim_changes()  # what every reader of the subjects' change log has read
    return snapshot


def home_statistics() -> dict[str, Any]:
    """The stored figures (re-read at most every ``STATS_CACHE_SECONDS`` per process). Only a
    new installation, where none were ever stored, computes them here, once."""

    def stored() -> dict[str, Any]:
        snapshot = HomeStatistics.objects.filter(pk=1).first() or refresh_statistics()
        return snapshot.as_figures()

    return cache.get_or_set(STATS_CACHE_KEY, stored, STATS_CACHE_SECONDS)


def home_chart(stats: dict[str, Any]) -> dict[str, Any]:
    """The statistics as the home page's ECharts series (the page also shows them as tables)."""
    collected = [d for d in stats["departments"] if d["n"]]
    grades = stats["grades"]
    return {
        "departments": [d["name"] for d in collected],
        "collected": [d["n"] for d in collected],
        "lists": [t["name"] for t in stats["lists"]],
        "list_sizes": [t["n"] for t in stats["lists"]],
        "grades": list(grades["grades"]) if grades else [],
        "grade_counts": list(grades["grades"].values()) if grades else [],
    }
