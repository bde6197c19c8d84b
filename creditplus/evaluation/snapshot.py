"""Snapshots: what batch work reads, written as Parquet for engines beyond one machine.

``creditplus snapshot --out DIR`` writes the market subjects, their active behavior events,
current records, list memberships and related-party pairs, the behavior rules and the ingest
batches, keyed by the subject's national identifier (the USCC), so that the snapshots of
several districts can be read together by a city-level run. Each table is split into
``part-NN.parquet`` files by a stable hash of that key (a cluster then splits the work
evenly and co-locates a subject's rows), written chunk by chunk so that memory follows the
chunk and not the database. ``manifest.json`` lists every file with its rows and SHA-256.

The same snapshot feeds the Polars engine (:func:`polars_inputs`) and the Spark engine
(:mod:`creditplus.evaluation.spark`), so the two can be compared on identical input.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.bulk import fetch_csv, fetch_integers
from creditplus.catalog.choices import SubjectKind
from creditplus.catalog.models import BehaviorRule, CatalogItem
from creditplus.evaluation.engine import Inputs, Rule
from creditplus.files import sha256_of
from creditplus.lists.choices import MEMBER_STATUSES
from creditplus.lists.models import ListEntry
from creditplus.records.choices import BatchStatus, EventStatus, RecordStatus
from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch
from creditplus.subjects.models import Subject, SubjectRelation

SCHEMA_VERSION = 1
PARTITIONS = 16
CHUNK_IDS = 1_000_000  # table ids read per chunk (bounds memory at Pudong scale)
TABLES = ("subjects", "events", "records", "lists", "related", "rules", "batches")
Progress = Callable[[str], None]


def partition_of(key: str, partitions: int = PARTITIONS) -> int:
    """Stable across processes, versions and districts (unlike a language's own hash)."""
    return zlib.crc32(key.encode()) % partitions


class PartitionedWriter:
    """One open Parquet writer per partition of a table; rows arrive chunk by chunk."""

    def __init__(self, folder: Path, partitions: int) -> None:
        self.folder = folder
        self.partitions = partitions
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.schema: Any = None
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, frame: pl.DataFrame) -> None:
        """``frame`` has a ``part`` column, which is dropped from the files."""
        for (part,), rows in frame.partition_by("part", as_dict=True).items():
            table = rows.drop("part").to_arrow()
            if self.schema is None:
                self.schema = table.schema
            writer = self.writers.get(part)
            if writer is None:
                path = self.folder / f"part-{part:02d}.parquet"
                writer = self.writers[part] = pq.ParquetWriter(path, self.schema)
            writer.write_table(table.cast(self.schema))

    def close(self, empty: pl.DataFrame | None) -> None:
        for writer in self.writers.values():
            writer.close()
        if not self.writers and empty is not None:  # readers need a file to see the schema
            pq.write_table(empty.drop("part").to_arrow(), self.folder / "part-00.parquet")


@dataclass
class _Keys:
    """Local subject ids → national key and partition (market subjects only)."""

    frame: pl.DataFrame  # subject_id, subject, part

    def attach(self, rows: pl.DataFrame, column: str = "subject_id", name: str = "subject"):
        keys = self.frame.rename({"subject_id": column, "subject": name})
        if name != "subject":
            keys = keys.drop("part")
        return rows.join(keys, on=column, how="inner").drop(column)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _day(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def _id_ranges(table: str, chunk: int) -> Iterator[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT (SELECT MIN(id) FROM {table}), (SELECT MAX(id) FROM {table})")
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low - 1, high, chunk):
        yield start, min(start + chunk, high)


def _keys(partitions: int) -> _Keys:
    table = _q(Subject._meta.db_table)
    frame = fetch_csv(
        f"SELECT id AS subject_id, coalesce(uscc, 'H:' || id_hash) AS subject, "
        f"{_day('established_on')} AS est, status FROM {table} "
        f"WHERE kind <> '{SubjectKind.PERSON}'",
        {"subject_id": pl.Int64, "subject": pl.Utf8, "est": pl.Int32, "status": pl.Utf8},
    )
    parts = [partition_of(k, partitions) for k in frame["subject"].to_list()]
    return _Keys(frame.with_columns(pl.Series("part", parts, dtype=pl.Int32)))


def write_snapshot(
    out: Path,
    *,
    partitions: int = PARTITIONS,
    chunk: int = CHUNK_IDS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write a snapshot of the configured database to ``out``; returns its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    keys = _keys(partitions)
    steps: list[tuple[str, Callable[[], Iterator[pl.DataFrame]], pl.DataFrame]] = [
        ("subjects", lambda: _subjects(keys), _empty("subjects")),
        ("events", lambda: _events(keys, chunk), _empty("events")),
        ("records", lambda: _records(keys, chunk), _empty("records")),
        ("lists", lambda: _lists(keys), _empty("lists")),
        ("related", lambda: _related(keys), _empty("related")),
    ]
    for name, frames, empty in steps:
        writer = PartitionedWriter(out / name, partitions)
        for frame in frames():
            writer.write(frame.select(empty.columns).cast(dict(empty.schema)))
        writer.close(empty)
        if progress:
            progress(name)
    (out / "rules").mkdir(exist_ok=True)
    _rules().write_parquet(out / "rules" / "part-00.parquet")
    (out / "batches").mkdir(exist_ok=True)
    _batches().write_parquet(out / "batches" / "part-00.parquet")
    manifest = _manifest(out, partitions)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


_SCHEMAS: dict[str, dict[str, Any]] = {
    "subjects": {"subject": pl.Utf8, "established": pl.Date, "status": pl.Utf8, "part": pl.Int32},
    "events": {"subject": pl.Utf8, "rule": pl.Utf8, "day": pl.Int32, "part": pl.Int32},
    "records": {
        "subject": pl.Utf8,
        "item": pl.Utf8,
        "department": pl.Utf8,
        "day": pl.Int32,
        "amount": pl.Float64,
        "part": pl.Int32,
    },
    "lists": {"subject": pl.Utf8, "kind": pl.Utf8, "part": pl.Int32},
    "related": {"subject": pl.Utf8, "other": pl.Utf8, "part": pl.Int32},
}


BATCHES_SCHEMA = {
    "department": pl.Utf8,
    "item": pl.Utf8,
    "month": pl.Utf8,
    "submitted": pl.Int64,
    "rejected": pl.Int64,
    "timely": pl.Int64,
    "late": pl.Int64,
}


def _empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMAS[name])


def _subjects(keys: _Keys) -> Iterator[pl.DataFrame]:
    yield keys.frame.select(
        "subject",
        pl.col("est").cast(pl.Date).alias("established"),
        pl.col("status").fill_null(""),
        "part",
    )


def _codes(model: Any, id_name: str, code_name: str) -> pl.DataFrame:
    """A reference table's ids and codes, to turn local ids into portable codes."""
    return pl.DataFrame(
        list(model.objects.values_list("pk", "code")),
        schema={id_name: pl.Int64, code_name: pl.Utf8},
        orient="row",
    )


def _events(keys: _Keys, chunk: int) -> Iterator[pl.DataFrame]:
    rules = _codes(BehaviorRule, "rule_id", "rule")
    table = _q(CreditEvent._meta.db_table)
    shift = "CAST(subject_id AS BIGINT)" if connection.vendor == "postgresql" else "subject_id"
    for low, high in _id_ranges(table, chunk):
        packed = fetch_integers(
            f"SELECT ({shift} << 28) | (rule_id << 16) | {_day('occurred_on')} AS v FROM {table} "
            f"WHERE status = '{EventStatus.ACTIVE}' AND id > {low} AND id <= {high}"
        )
        frame = pl.DataFrame(
            {
                "subject_id": packed >> 28,
                "rule_id": (packed >> 16) & 0xFFF,
                "day": (packed & 0xFFFF).astype(np.int32),
            }
        )
        yield keys.attach(frame.join(rules, on="rule_id").drop("rule_id"))


def _records(keys: _Keys, chunk: int) -> Iterator[pl.DataFrame]:
    items = _codes(CatalogItem, "item_id", "item")
    departments = _codes(Department, "department_id", "department")
    table = _q(CreditRecord._meta.db_table)
    true = "TRUE" if connection.vendor == "postgresql" else "1"
    for low, high in _id_ranges(table, chunk):
        frame = fetch_csv(
            f"SELECT subject_id, item_id, department_id, {_day('decision_date')} AS day, amount "
            f"FROM {table} WHERE is_current = {true} AND status = '{RecordStatus.ACTIVE}' "
            f"AND id > {low} AND id <= {high}",
            {
                "subject_id": pl.Int64,
                "item_id": pl.Int64,
                "department_id": pl.Int64,
                "day": pl.Int32,
                "amount": pl.Float64,
            },
        )
        frame = frame.join(items, on="item_id").join(departments, on="department_id", how="left")
        yield keys.attach(frame.drop("item_id", "department_id"))


def _lists(keys: _Keys) -> Iterator[pl.DataFrame]:
    rows = ListEntry.objects.filter(status__in=MEMBER_STATUSES).values_list(
        "subject_id", "list_type__kind"
    )
    frame = pl.DataFrame(list(rows), schema={"subject_id": pl.Int64, "kind": pl.Utf8}, orient="row")
    yield keys.attach(frame)


def _related(keys: _Keys) -> Iterator[pl.DataFrame]:
    """Every pair of organisations that share a legal representative or principal."""
    links = pl.DataFrame(
        list(SubjectRelation.objects.values_list("organisation_id", "person_id")),
        schema={"org": pl.Int64, "person": pl.Int64},
        orient="row",
    ).unique()
    pairs = (
        links.join(links, on="person", suffix="_other")
        .filter(pl.col("org") != pl.col("org_other"))
        .select(pl.col("org").alias("subject_id"), pl.col("org_other").alias("other_id"))
        .unique()
    )
    yield keys.attach(keys.attach(pairs), column="other_id", name="other")


def _rules() -> pl.DataFrame:
    return pl.DataFrame(
        list(BehaviorRule.objects.values_list("code", "kind", "severity")),
        schema={"rule": pl.Utf8, "kind": pl.Utf8, "severity": pl.Utf8},
        orient="row",
    )


def _batches() -> pl.DataFrame:
    """Finished ingest batches: what the data-quality statistics read."""
    rows = []
    for b in (
        IngestBatch.objects.filter(status=BatchStatus.DONE)
        .select_related("department", "item")
        .only("created_at", "submitted", "rejected", "stats", "department__code", "item__code")
        .iterator()
    ):
        t = (b.stats or {}).get("timeliness") or {}
        month = timezone.localtime(b.created_at).strftime("%Y-%m")
        rows.append(
            (
                b.department.code,
                b.item.code,
                month,
                b.submitted,
                b.rejected,
                t.get("timely", 0),
                t.get("late", 0),
            )
        )
    return pl.DataFrame(rows, schema=BATCHES_SCHEMA, orient="row")


def _manifest(out: Path, partitions: int) -> dict[str, Any]:
    files = {}
    tables = {}
    for name in TABLES:
        rows = 0
        for path in sorted((out / name).glob("*.parquet")):
            n = pq.ParquetFile(path).metadata.num_rows
            files[str(path.relative_to(out))] = {"rows": n, "sha256": sha256_of(path)}
            rows += n
        tables[name] = rows
    return {
        "schema_version": SCHEMA_VERSION,
        "as_of": timezone.now().isoformat(),
        "district": str(settings.DISTRICT_NAME),
        "subject_key": "uscc",
        "partitions": partitions,
        "tables": tables,
        "files": files,
    }


def read_table(dirs: Sequence[Path], name: str) -> pl.DataFrame:
    """One table of one or more snapshots (several districts read together)."""
    return pl.concat([pl.read_parquet(Path(d) / name / "*.parquet") for d in dirs])


def polars_inputs(dirs: Sequence[Path], as_of: date) -> tuple[Inputs, pl.DataFrame]:
    """The Polars engine's inputs from snapshots, and the ``subject_id → subject`` keys its
    integer ids stand for (ids are assigned here, in key order)."""
    subjects = read_table(dirs, "subjects").unique("subject", keep="first").sort("subject")
    keys = subjects.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("subject_id"), "subject")
    rules_frame = read_table(dirs[:1], "rules").sort("rule")
    rule_ids = {code: i for i, code in enumerate(rules_frame["rule"].to_list(), start=1)}
    rules = {
        rule_ids[code]: Rule(code, kind, severity)
        for code, kind, severity in rules_frame.iter_rows()
    }
    rule_map = pl.DataFrame(
        {"rule": list(rule_ids), "rule_id": list(rule_ids.values())},
        schema={"rule": pl.Utf8, "rule_id": pl.Int64},
    )

    def keyed(frame: pl.DataFrame, column: str = "subject", to: str = "subject_id") -> pl.DataFrame:
        return frame.join(keys.rename({"subject": column, "subject_id": to}), on=column).drop(
            column
        )

    events = keyed(read_table(dirs, "events")).join(rule_map, on="rule").drop("rule")
    records = keyed(read_table(dirs, "records"))
    related = keyed(keyed(read_table(dirs, "related")), column="other", to="other_id")
    inputs = Inputs(
        as_of=as_of,
        subjects=keyed(subjects).select("subject_id", "established", "status"),
        events=events.select("subject_id", "rule_id", pl.col("day").cast(pl.Int64)),
        records=records.select("subject_id", "item", pl.col("day").cast(pl.Int64), "amount"),
        lists=keyed(read_table(dirs, "lists")).select("subject_id", "kind"),
        related=related.select("subject_id", "other_id"),
        rules=rules,
    )
    return inputs, keys
