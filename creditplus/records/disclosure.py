"""What the public may see of the collected records (信息公示).

One rule for the portal, its open data files and the public credit report: a record is
public today when it is the current version of a record of a publicly disclosed catalog
item, its subject is not a natural person (personal penalties and licenses are never
published), its publicity end date (公示截止期 / 有效期至) has not passed, and none of its
behavior events keeps it out of publicity — unpublished (minor penalties), restored
(信用修复), retracted, or past the longest publicity period of the behavior list.
Only the fields the national standard makes public are shown, personal fields never.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog.choices import Disclosure, SubjectKind
from creditplus.catalog.models import CatalogItem, CodeTable
from creditplus.catalog.names import local_labels, local_name
from creditplus.catalog.schema import ItemSpec
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject

LICENSE = "XK"  # 行政许可
PENALTY = "CF"  # 行政处罚
DUAL_ITEMS = (LICENSE, PENALTY)  # 双公示


def public_items() -> QuerySet[CatalogItem]:
    """Active catalog items disclosed to the public (their definition may still withhold
    publication with ``publicity.published: false``; :func:`public_records` honours it)."""
    return CatalogItem.objects.active().filter(disclosure=Disclosure.PUBLIC).order_by("code")


def published_item_ids() -> list[int]:
    return [
        item.pk
        for item in public_items().only("pk", "definition")
        if (item.definition.get("publicity") or {}).get("published", True)
    ]


def never_public() -> Q:
    """Behavior events that keep their record out of public view whatever the day."""
    return Q(published=False) | ~Q(status=EventStatus.ACTIVE)


def out_of_publicity(today: date) -> Q:
    """Behavior events that keep their record out of public view on ``today``."""
    return never_public() | Q(publish_until__isnull=False, publish_until__lt=today)


def public_records(today: date | None = None) -> QuerySet[CreditRecord]:
    """The records the public may see on ``today`` (default: today), newest decision first."""
    today = today or timezone.localdate()
    hidden = CreditEvent.objects.filter(record=OuterRef("pk")).filter(out_of_publicity(today))
    return (
        CreditRecord.objects.current()
        .filter(item_id__in=published_item_ids())
        .exclude(subject__kind=SubjectKind.PERSON)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .exclude(Exists(hidden))
        .order_by("-decision_date", "-id")
    )


def publicity_spans(subjects: Q, item_ids: list[int]) -> QuerySet[CreditRecord]:
    """How long the records of ``item_ids`` about ``subjects`` (a condition on
    ``subject_id``) stay public, counted: rows ``(subject_id, item_id, until, n)`` — ``n``
    records public on every day up to ``until`` (``None``: no end). The rule of
    :func:`public_records` with the day taken out: a record is public on ``today`` exactly
    when it has a span and ``until`` is ``None`` or ``today <= until``, ``until`` being the
    earlier of its end date and its events' longest publicity. (The item's own
    ``published`` flag is left to the reader.) One aggregate query, for incremental counts."""
    events = CreditEvent.objects.filter(record=OuterRef("pk"))
    event_until = events.values("record").annotate(m=Min("publish_until")).values("m")
    until = Case(
        When(event_until__isnull=True, then=F("end_date")),
        When(end_date__isnull=True, then=F("event_until")),
        When(event_until__lt=F("end_date"), then=F("event_until")),
        default=F("end_date"),
        output_field=DateField(),
    )
    return (
        CreditRecord.objects.current()
        .filter(subjects, item_id__in=item_ids)
        .exclude(subject__kind=SubjectKind.PERSON)
        .exclude(Exists(events.filter(never_public())))
        .annotate(event_until=Subquery(event_until))
        .annotate(until=until)
        .values_list("subject_id", "item_id", "until")
        .annotate(n=Count("id"))
        .order_by()
    )


def dual_records(
    item_code: str,
    *,
    today: date | None = None,
    department: Department | None = None,
    category: str = "",
    decided_from: date | None = None,
    decided_to: date | None = None,
    q: str = "",
) -> QuerySet[CreditRecord]:
    """双公示: public licenses (``XK``) or penalties (``CF``) in publicity, newest first,
    optionally by providing department, category (e.g. 罚款), decision-date range and text
    ``q`` (the subject's name containing every word, or the start of the document number)."""
    if item_code not in DUAL_ITEMS:
        raise ValueError(f"not a 双公示 item: {item_code}")
    qs = public_records(today).filter(item__code=item_code)
    if q.strip():
        qs = qs.filter(text_matches(q))
    if department is not None:
        qs = qs.filter(department=department)
    if category:
        qs = qs.filter(category_is(category))
    if decided_from:
        qs = qs.filter(decision_date__gte=decided_from)
    if decided_to:
        qs = qs.filter(decision_date__lte=decided_to)
    return qs.select_related("item", "department", "subject")


# Words of a text search that count (a longer query is cut: every word costs a scan).
MAX_WORDS = 5


def search_words(q: str) -> list[str]:
    """The words of a search text (split at spaces, also the ideographic one), at most
    ``MAX_WORDS``."""
    return q.replace("\u3000", " ").split()[:MAX_WORDS]


def document_starts(text: str) -> Q:
    """The record's document number starts with ``text``: its natural key begins with the
    document number (文书号|机关代码). A range, so that the (item, natural key) index serves it
    on both databases, where ``startswith`` (``LIKE``) would scan on SQLite."""
    return Q(natural_key__gte=text, natural_key__lt=text + "\U0010ffff")


def text_matches(q: str) -> Q:
    """A 双公示 record matches text ``q``: its subject's name contains every word of ``q``, or
    (a single word) its document number starts with it."""
    words = search_words(q)
    by_name = Q()
    for word in words:
        by_name &= Q(subject__name__contains=word)
    return by_name | document_starts(words[0]) if len(words) == 1 else by_name


def category_is(code: str) -> Q:
    """The record's category (a code, or several joined by ``;`` for a multi-valued field such
    as 处罚类别) includes ``code`` as a whole value: 罚款 must not match 罚款以外 or the like."""
    return (
        Q(category=code)
        | Q(category__startswith=f"{code};")
        | Q(category__endswith=f";{code}")
        | Q(category__contains=f";{code};")
    )


def newest_first_of_one_subject() -> tuple[Any, ...]:
    """``order_by`` arguments for one subject's records, newest decision first (undated
    last). Not plain ``-decision_date``: with it SQLite walks the (item, decision date) index
    through every record of the item to skip the sort — at district scale millions of rows
    for a subject's handful — instead of the (subject, item) index."""
    return (Coalesce("decision_date", Value(date.min)).desc(), "-id")


def subject_public_records(subject: Subject, today: date | None = None) -> QuerySet[CreditRecord]:
    """The public records of one subject (none for a natural person), newest first."""
    return (
        public_records(today)
        .filter(subject=subject)
        .select_related("item", "department")
        .order_by(*newest_first_of_one_subject())
    )


@dataclass(frozen=True)
class PublicField:
    code: str
    label: str
    value: str


# Field code → {stored code → label} for the code fields of one item (see code_labels).
CodeLabels = Mapping[str, Mapping[str, str]]


def code_labels(spec: ItemSpec) -> dict[str, dict[str, str]]:
    """The labels of the code tables that ``spec``'s public code fields use, so that pages can
    show 有效 instead of the stored code 1 (one query for all tables of the item)."""
    tables = {
        f.code: f.code_table
        for f in spec.fields
        if f.type in ("code", "multicode") and f.code_table and f.public and not f.personal
    }
    labels = {
        t.code: local_labels(t.code, {str(v["code"]): str(v["label"]) for v in t.values})
        for t in CodeTable.objects.filter(code__in=set(tables.values()))
    }
    return {field: labels.get(table, {}) for field, table in tables.items()}


def _display(value: Any, multi: bool = False, labels: Mapping[str, str] | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(_display(v, labels=labels) for v in value)
    if multi and isinstance(value, str):
        # Multi-valued code fields are stored joined by ";" (see records.validation).
        return "、".join(_display(v, labels=labels) for v in value.split(";") if v)
    if isinstance(value, float | Decimal):
        return f"{Decimal(str(value)).normalize():f}"
    text = str(value)
    return labels.get(text, text) if labels else text


def public_fields(
    record: CreditRecord, spec: ItemSpec | None = None, labels: CodeLabels | None = None
) -> list[PublicField]:
    """The filled-in fields of ``record`` that its catalog item makes public, in the item's
    order, with their Chinese labels. Personal fields (ID numbers) are never among them.
    With ``labels`` (:func:`code_labels`) code values are shown by their labels, several
    values joined by 、; without, as stored (open data keeps the national template's codes)."""
    spec = spec or record.item.spec
    values = record.values
    out = []
    for f in spec.fields:
        if not f.public or f.personal:
            continue
        field_labels = labels.get(f.code, {}) if labels is not None else None
        multi = f.type == "multicode" and labels is not None
        text = _display(values.get(f.code), multi, field_labels)
        if text:
            out.append(PublicField(f.code, local_name("field", f.code, f.label), text))
    return out


def public_values(record: CreditRecord, spec: ItemSpec | None = None) -> dict[str, str]:
    """:func:`public_fields` as ``{field code: text}`` (open data, API)."""
    return {f.code: f.value for f in public_fields(record, spec)}
