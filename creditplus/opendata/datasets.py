"""The open datasets (开放数据集): what each holds, its columns, and how its rows are read.

Every row is read through the disclosure rules of the portal — ``dual_records`` and
``public_values`` for the 双公示 records, ``ListEntry.objects.public()`` for the lists — so
the files can never show more than the website. A dataset's rows come out as Polars frames
of bounded size with text columns: ``key`` (stable across days and versions), ``digest`` (of
the public content, to detect changes), then one column per public field. Records' rows are
decoded from the stored JSON by Polars, with the result ``public_values`` gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from django.db import connection
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from creditplus.bulk import chunked, fetch_frame, fetch_integers
from creditplus.catalog.choices import SubjectKind
from creditplus.catalog.models import CatalogItem
from creditplus.lists.choices import ListKind
from creditplus.lists.models import ListEntry
from creditplus.records.disclosure import (
    LICENSE,
    PENALTY,
    dual_records,
    public_fields,
)
from creditplus.records.models import CreditRecord

Progress = Callable[[str, int, int], None]

# Rows are turned into a frame this many at a time, so that Python objects for at most one
# chunk are alive at once (1 million records would otherwise take gigabytes).
CHUNK = 50_000


@dataclass(frozen=True)
class Column:
    code: str
    label: str


# The columns every file starts with; the delta files put CHANGE first.
KEY = Column("key", "数据标识")
FIRST_SEEN = Column("first_seen", "首次发布日期")
LAST_CHANGED = Column("last_changed", "最近变更日期")
CHANGE = Column("change", "变更类型")

LIST_COLUMNS = (
    Column("list_code", "名单编码"),
    Column("list_name", "名单名称"),
    Column("list_kind", "名单类别"),
    Column("subject_name", "主体名称"),
    Column("subject_kind", "主体类别"),
    Column("subject_code", "统一社会信用代码"),
    Column("department", "认定部门"),
    Column("decision_no", "认定文书号"),
    Column("decided_on", "认定日期"),
    Column("published_on", "公示日期"),
    Column("publish_until", "期满日期"),
    Column("basis", "认定依据"),
)


@dataclass(frozen=True)
class Dataset:
    name: str  # file name stem and the key of the state rows
    title: str | Promise
    description: str | Promise
    item_code: str = ""  # the catalog item of a 双公示 dataset

    def columns(self) -> tuple[Column, ...]:
        """The content columns, in file order (after key, first_seen, last_changed)."""
        if self.item_code:
            return record_columns(self.item_code)
        return LIST_COLUMNS

    def chunks(self, today: date, progress: Progress | None = None) -> Iterator[pl.DataFrame]:
        """The dataset's public rows on ``today``, in chunks of bounded size, in no particular
        order: key, ``_sort`` (the date the full file is ordered by), digest and the content
        columns (text, null when not filled in)."""
        if self.item_code:
            return record_chunks(self.item_code, today, progress)
        return list_chunks(progress)


DATASETS = (
    Dataset(
        "licenses",
        _("行政许可"),
        _("各部门作出的行政许可决定，在有效期内公示；自然人的许可不公开。"),
        LICENSE,
    ),
    Dataset(
        "penalties",
        _("行政处罚"),
        _(
            "各部门作出的行政处罚决定，在公示期内公示；轻微失信（不予公示）、已信用修复、"
            "已撤销及自然人的处罚不公开。"
        ),
        PENALTY,
    ),
    Dataset(
        "lists",
        _("红黑名单"),
        _(
            "向社会公示的名单（守信激励、失信惩戒等）中正在公示的主体；自然人姓名已脱敏，"
            "不公开其证件号码。"
        ),
    ),
)


class _Stored:
    """The one attribute of a record that :func:`public_fields` reads with a given spec:
    its values. Records are read as plain rows (no model instance per row) at this scale."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]):
        self.values = values


def record_columns(item_code: str) -> tuple[Column, ...]:
    """The fields of the item that the disclosure rule shows, with their catalog labels:
    asked of the rule itself, with a record whose every field is filled in."""
    spec = CatalogItem.objects.get(code=item_code).spec
    full = _Stored({f.code: "-" for f in spec.fields})
    return tuple(Column(f.code, f.label) for f in public_fields(full, spec))  # type: ignore[arg-type]


def digests(frame: pl.DataFrame, codes: list[str]) -> pl.Series:
    """A short digest of each row's public content (``code=value`` of the filled-in fields,
    in code order): the same whatever the Polars version or the catalog's field order."""
    parts = [
        pl.when(pl.col(c).is_not_null()).then(pl.lit(f"{c}=") + pl.col(c)) for c in sorted(codes)
    ]
    texts = frame.select(pl.concat_str(parts, separator="\x1f", ignore_nulls=True)).to_series()
    return pl.Series(
        "digest",
        [hashlib.blake2b(t.encode(), digest_size=16).hexdigest() for t in texts],
        dtype=pl.Utf8,
    )


def _frames(
    rows: Iterable[dict[str, Any]],
    codes: list[str],
    total: int,
    stage: str,
    progress: Progress | None,
) -> Iterator[pl.DataFrame]:
    """Rows built in Python (``key``, ``_sort`` — a date — and the filled-in public values)
    as frames of at most :data:`CHUNK` rows with their digests."""
    schema = {"key": pl.Utf8, "_sort": pl.Date} | {c: pl.Utf8 for c in codes}
    chunk: list[dict[str, Any]] = []
    done = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            done += len(chunk)
            yield _with_digests(pl.from_dicts(chunk, schema=schema), codes)
            chunk.clear()
            if progress:
                progress(stage, done, total)
    yield _with_digests(pl.from_dicts(chunk, schema=schema), codes)
    if progress:
        progress(stage, done + len(chunk), total)


def _with_digests(frame: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    ids = ["_id"] if "_id" in frame.columns else []  # records: their id, for the next run
    return frame.with_columns(digests(frame, codes)).select(*ids, "key", "_sort", "digest", *codes)


def record_chunks(
    item_code: str, today: date, progress: Progress | None = None
) -> Iterator[pl.DataFrame]:
    """The public records of a 双公示 item on ``today``, a range of record ids at a time;
    key ``<item>|<natural key>``. The rows are built from the stored JSON by Polars (no
    Python object per record): every stored value is canonical text, which
    :func:`public_values` would show as it is, and an absent or empty one is not shown."""
    item = CatalogItem.objects.get(code=item_code)
    codes = [c.code for c in record_columns(item_code)]
    records = dual_records(item_code, today=today).order_by()
    first, last, total = _id_range(item.pk)
    step = max(CHUNK, (last - first + 1) * CHUNK // max(total, 1))
    done = yielded = 0
    for start in range(first - 1, last, step):
        chunk = records.filter(pk__gt=start, pk__lte=start + step)
        frame = _fetch(chunk.values_list("id", "natural_key", "decision_date", "data"), by_id=True)
        done += frame.height
        if frame.height:
            yielded += 1
            yield _decoded(frame, item_code, codes)
        if progress:
            progress(item_code, done, total)
    if not yielded:
        yield _decoded(pl.DataFrame(schema=_RAW), item_code, codes)


_RAW = {"id": pl.Int64, "natural_key": pl.Utf8, "decision_date": pl.Date, "data": pl.Utf8}


def _fetch(rows: Any, by_id: bool = False) -> pl.DataFrame:
    sql, params = rows.query.sql_with_params()
    if by_id and connection.vendor == "sqlite":
        # A range of ids: SQLite would walk the item's whole index (item equality looks
        # better to it than the id range) for every chunk; NOT INDEXED leaves it the rowid
        # range (measured with EXPLAIN QUERY PLAN).
        table = connection.ops.quote_name(CreditRecord._meta.db_table)
        sql = sql.replace(f"FROM {table} ", f"FROM {table} NOT INDEXED ", 1)
    return fetch_frame(sql, params, {"id": pl.Int64, "natural_key": pl.Utf8, "data": pl.Utf8})


def public_ids(item_code: str, today: date) -> pl.Series:
    """The ids of the public records of a 双公示 item on ``today`` (no content read): what
    a daily publication compares with the previous one's to find what changed."""
    ids = dual_records(item_code, today=today).order_by().values_list("id")
    sql, params = ids.query.sql_with_params()
    # One joined text, not a Python tuple per id (millions of them at Pudong).
    values = fetch_integers(f"SELECT packed_ids.id AS v FROM ({sql}) AS packed_ids", params)
    return pl.Series("id", values, pl.Int64)


def no_rows(item_code: str) -> pl.DataFrame:
    """An empty frame of the item's rows (what a chunk without any row looks like)."""
    return _decoded(
        pl.DataFrame(schema=_RAW), item_code, [c.code for c in record_columns(item_code)]
    )


def records_by_id(item_code: str, ids: pl.Series) -> Iterator[pl.DataFrame]:
    """The rows of the given (public) records, as :func:`record_chunks` builds them."""
    codes = [c.code for c in record_columns(item_code)]
    values = ("id", "natural_key", "decision_date", "data")
    for batch in chunked(ids.sort().to_list(), 5000):
        yield _decoded(
            _fetch(CreditRecord.objects.filter(pk__in=batch).values_list(*values)),
            item_code,
            codes,
        )


def _id_range(item_id: int) -> tuple[int, int, int]:
    """The first and last record id of an item and how many versions it has (an upper
    bound of its public records), read from the (item, decision date) index."""
    table = connection.ops.quote_name(CreditRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id), count(*) FROM {table} WHERE item_id = %s", [item_id]
        )
        first, last, total = cursor.fetchone()
    return (first or 1), (last or 0), total


def _decoded(frame: pl.DataFrame, item_code: str, codes: list[str]) -> pl.DataFrame:
    dates = frame.get_column("decision_date")
    if dates.dtype == pl.Utf8:  # SQLite's driver gives dates as text
        dates = dates.str.to_date("%Y-%m-%d")
    values = (
        frame.get_column("data")
        .cast(pl.Utf8)
        .str.json_decode(pl.Struct({c: pl.Utf8 for c in codes}))
        .struct.unnest()
    )
    rows = pl.DataFrame(
        {
            "_id": frame.get_column("id").cast(pl.Int64),
            "key": (f"{item_code}|" + frame.get_column("natural_key").cast(pl.Utf8)),
            "_sort": dates.cast(pl.Date),
        }
    ).hstack(values.select(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in codes))
    return _with_digests(rows, codes)


def list_chunks(progress: Progress | None = None) -> Iterator[pl.DataFrame]:
    """The published entries of public lists; key = the entry number (MD00000001)."""
    entries = (
        ListEntry.objects.public()
        .select_related("list_type", "subject", "department")
        .only(
            "decision_no",
            "decided_on",
            "published_on",
            "publish_until",
            "basis",
            "list_type__code",
            "list_type__name",
            "list_type__kind",
            "subject__kind",
            "subject__name",
            "subject__uscc",
            "department__name",
        )
        .order_by()
    )
    total = entries.count() if progress else 0

    def rows() -> Iterable[dict[str, Any]]:
        for entry in entries.iterator(chunk_size=2000):
            subject = entry.subject
            values = {
                "list_code": entry.list_type.code,
                "list_name": entry.list_type.name,
                "list_kind": str(ListKind(entry.list_type.kind).label),
                # Natural persons: the masked name only, never an identifier.
                "subject_name": subject.public_name,
                "subject_kind": str(SubjectKind(subject.kind).label),
                "subject_code": "" if subject.is_person else (subject.uscc or ""),
                "department": entry.department.name,
                "decision_no": entry.decision_no,
                "decided_on": _iso(entry.decided_on),
                "published_on": _iso(entry.published_on),
                "publish_until": _iso(entry.publish_until),
                "basis": entry.basis,
            }
            filled = {k: v for k, v in values.items() if v}
            yield {"key": entry.entry_no, "_sort": entry.published_on, **filled}

    yield from _frames(rows(), [c.code for c in LIST_COLUMNS], total, "lists", progress)


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""
