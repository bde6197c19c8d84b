"""Reading what the evaluation needs from the database, in bulk, as Polars frames.

Behavior events are the big input (~9 M rows at Pudong scale). Each is read as one packed
integer ``subject_id << 28 | rule_id << 16 | epoch day`` so that neither database builds a
Python object per row (see :func:`creditplus.bulk.fetch_integers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import polars as pl
from django.db import connection

from creditplus.bulk import chunked, fetch_csv, fetch_integers
from creditplus.catalog.calendar import add_months
from creditplus.catalog.choices import SubjectKind
from creditplus.catalog.models import BehaviorRule, CatalogItem
from creditplus.errors import DomainError
from creditplus.evaluation.definition import ModelSpec
from creditplus.evaluation.engine import Inputs, Rule, rule_ids_needed
from creditplus.lists.choices import MEMBER_STATUSES
from creditplus.lists.models import ListEntry
from creditplus.records.choices import EventStatus, RecordStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject, SubjectRelation

Progress = Callable[[str], None]
CHUNK_IDS = 2_000_000  # event ids per aggregated text (bounds the text built at once)
MAX_RULE_ID = 1 << 12


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def rules() -> dict[int, Rule]:
    """Every behavior rule (also retired ones: old events still point at them)."""
    return {
        pk: Rule(code, kind, severity)
        for pk, code, kind, severity in BehaviorRule.objects.values_list(
            "pk", "code", "kind", "severity"
        )
    }


def _ids_in(column: str, ids: Sequence[int]) -> str:
    """``column IN (…)`` for trusted integer ids (no parameters: see fetch_integers)."""
    return f"{column} IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"


def _chunks(subject_ids: Sequence[int] | None) -> list[Sequence[int] | None]:
    if subject_ids is None:
        return [None]
    return list(chunked(list(subject_ids), 5000)) or [[]]  # [] reads nothing: IN (NULL)


def subjects(subject_ids: Sequence[int] | None) -> pl.DataFrame:
    """Market subjects to score (natural persons are not scored)."""
    table = _q(Subject._meta.db_table)
    frames = [
        fetch_csv(
            f"SELECT id AS subject_id, {_day_expr('established_on')} AS est, status "
            f"FROM {table} WHERE kind <> '{SubjectKind.PERSON}'"
            + (f" AND {_ids_in('id', chunk)}" if chunk is not None else ""),
            {"subject_id": pl.Int64, "est": pl.Int32, "status": pl.Utf8},
        )
        for chunk in _chunks(subject_ids)
    ]
    return (
        pl.concat(frames)
        .select(
            "subject_id",
            pl.col("est").cast(pl.Date).alias("established"),
            pl.col("status").fill_null(""),
        )
        .sort("subject_id")
    )


def _day_expr(column: str) -> str:
    """SQL for a date column as days since 1970-01-01 (NULL stays NULL)."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def events(
    rule_ids: list[int],
    since: date,
    subject_ids: Sequence[int] | None,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Active events of ``rule_ids`` that occurred after ``since``: subject_id, rule_id, day."""
    schema = {"subject_id": pl.Int64, "rule_id": pl.Int64, "day": pl.Int64}
    if not rule_ids:
        return pl.DataFrame(schema=schema)
    if max(rule_ids) >= MAX_RULE_ID:
        raise DomainError("evaluation_rule_id_range", "行为规则编号超出评价读取范围（4096）")
    table = _q(CreditEvent._meta.db_table)
    shift = "CAST(subject_id AS BIGINT)" if connection.vendor == "postgresql" else "subject_id"
    rules_in = ", ".join(str(int(r)) for r in rule_ids)
    base = (
        f"SELECT ({shift} << 28) | (rule_id << 16) | {_day_expr('occurred_on')} AS v FROM {table} "
        f"WHERE status = '{EventStatus.ACTIVE}' AND rule_id IN ({rules_in}) "
        f"AND occurred_on > '{since.isoformat()}'"
    )
    parts: list[np.ndarray] = []
    if subject_ids is not None:
        for chunk in chunked(list(subject_ids), 5000):
            ids = ", ".join(str(int(s)) for s in chunk)
            parts.append(fetch_integers(f"{base} AND subject_id IN ({ids})"))
    else:
        with connection.cursor() as cursor:
            # two scalar subqueries: SQLite answers each from the primary key's ends, but
            # scans the whole table for MIN and MAX in one SELECT
            cursor.execute(f"SELECT (SELECT MIN(id) FROM {table}), (SELECT MAX(id) FROM {table})")
            low, high = cursor.fetchone()
        if low is not None:
            for start in range(low - 1, high, CHUNK_IDS):
                parts.append(
                    fetch_integers(f"{base} AND id > {start} AND id <= {start + CHUNK_IDS}")
                )
                if progress:
                    progress(f"events {min(start + CHUNK_IDS, high):,}/{high:,}")
    packed = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return pl.DataFrame(
        {
            "subject_id": packed >> 28,
            "rule_id": (packed >> 16) & 0xFFF,
            "day": packed & 0xFFFF,
        },
        schema=schema,
    )


def records(spec: ModelSpec, as_of: date, subject_ids: Sequence[int] | None) -> pl.DataFrame:
    """Current records of the items that record-based indicators read, with their amounts."""
    schema = {"subject_id": pl.Int64, "item": pl.Utf8, "day": pl.Int64, "amount": pl.Float64}
    indicators = [i for i in spec.indicators if i.source == "records"]
    if not indicators:
        return pl.DataFrame(schema=schema)
    months = max(i.window_months for i in indicators)
    since = _since(as_of, months)
    codes = sorted({c for i in indicators for c in i.items})
    items = dict(CatalogItem.objects.filter(code__in=codes).values_list("pk", "code"))
    if not items:
        return pl.DataFrame(schema=schema)
    table = _q(CreditRecord._meta.db_table)
    item_in = ", ".join(str(int(pk)) for pk in items)
    frames = [
        fetch_csv(
            f"SELECT subject_id, item_id, {_day_expr('decision_date')} AS day, amount "
            f"FROM {table} WHERE item_id IN ({item_in}) AND is_current = {_true()} "
            f"AND status = '{RecordStatus.ACTIVE}' AND decision_date > '{since.isoformat()}'"
            + (f" AND {_ids_in('subject_id', chunk)}" if chunk is not None else ""),
            {"subject_id": pl.Int64, "item_id": pl.Int64, "day": pl.Int64, "amount": pl.Float64},
        )
        for chunk in _chunks(subject_ids)
    ]
    return pl.concat(frames).select(
        "subject_id",
        pl.col("item_id").replace_strict(items, return_dtype=pl.Utf8).alias("item"),
        "day",
        "amount",
    )


def _true() -> str:
    return "TRUE" if connection.vendor == "postgresql" else "1"


def list_members() -> pl.DataFrame:
    """Every current list membership: subject_id, kind (black / watch / red)."""
    rows = list(
        ListEntry.objects.filter(status__in=MEMBER_STATUSES).values_list(
            "subject_id", "list_type__kind"
        )
    )
    return pl.DataFrame(rows, schema={"subject_id": pl.Int64, "kind": pl.Utf8}, orient="row")


def related(subject_ids: Sequence[int] | None, members: pl.DataFrame) -> pl.DataFrame:
    """Pairs of organisations sharing a legal representative or principal, where the other
    organisation is one of ``members`` (only those pairs can count)."""
    pairs = SubjectRelation.objects.all()
    if subject_ids is not None:
        persons = set()
        for chunk in chunked(list(subject_ids), 5000):
            persons.update(
                SubjectRelation.objects.filter(organisation_id__in=chunk).values_list(
                    "person_id", flat=True
                )
            )
        pairs = pairs.filter(person_id__in=persons)
    frame = pl.DataFrame(
        list(pairs.values_list("organisation_id", "person_id")),
        schema={"org": pl.Int64, "person": pl.Int64},
        orient="row",
    ).unique()
    listed = frame.join(
        members.select(pl.col("subject_id").alias("org")).unique(), on="org", how="semi"
    )
    return (
        frame.join(listed, on="person", suffix="_other")
        .filter(pl.col("org") != pl.col("org_other"))
        .select(pl.col("org").alias("subject_id"), pl.col("org_other").alias("other_id"))
        .unique()
    )


def _since(as_of: date, months: int) -> date:
    return add_months(as_of, -months)


def load(
    spec: ModelSpec,
    as_of: date,
    subject_ids: Sequence[int] | None = None,
    progress: Progress | None = None,
) -> Inputs:
    """Everything the model reads, for all market subjects or for ``subject_ids``."""
    rule_map = rules()
    since = _since(as_of, spec.max_window_months)
    scored = subjects(subject_ids)
    ids = None if subject_ids is None else scored.get_column("subject_id").to_list()
    members = list_members()
    related_kinds = sorted({k for i in spec.indicators if i.source == "related" for k in i.lists})
    return Inputs(
        as_of=as_of,
        subjects=scored,
        events=events(rule_ids_needed(spec, rule_map), since, ids, progress),
        records=records(spec, as_of, ids),
        lists=members,
        related=related(ids, members.filter(pl.col("kind").is_in(related_kinds)))
        if related_kinds
        else pl.DataFrame(schema={"subject_id": pl.Int64, "other_id": pl.Int64}),
        rules=rule_map,
    )
