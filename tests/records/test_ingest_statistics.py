"""PostgreSQL plans from its statistics, and in a bulk load they lag far behind an item's
current records (a load adds a whole item in minutes; a batch's own rows are invisible to
autovacuum). The key comparison must not depend on them: it probes the unique index of
current keys once per key, so that a stale estimate cannot turn it into a comparison of
every row with every key (docs/ingest.md: minutes per chunk at Pudong scale)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from django.db import connection

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import ingest
from creditplus.records.ingest import IngestOptions, current_versions, ingest_file
from creditplus.records.models import CreditRecord
from tests.records.files import csv_bytes, penalty

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]
TABLE = CreditRecord._meta.db_table


def _estimate(item_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {TABLE} WHERE item_id = %s AND is_current",
            [item_id],
        )
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def _copies(record: CreditRecord, n: int, item_id: int) -> None:
    """``n`` more current records of item ``item_id``, each under its own key, like
    ``record`` otherwise (as a load leaves them, with nothing analysed since)."""
    skipped = ("id", "natural_key", "item_id")
    columns = [f.column for f in CreditRecord._meta.concrete_fields if f.column not in skipped]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} ({listed}, item_id, natural_key) "
            f"SELECT {listed}, %s, natural_key || '-' || %s || '-' || g "
            f"FROM {TABLE}, generate_series(1, %s) AS g WHERE id = %s",
            [item_id, item_id, n, record.pk],
        )


def _plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plans of the statements ``current_versions`` runs from now on."""
    plans: list[str] = []
    fetch = ingest.fetch_frame

    def explained(sql: str, params: list, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return fetch(sql, params, **kwargs)

    monkeypatch.setattr(ingest, "fetch_frame", explained)
    return plans


@pytest.fixture
def record(reference) -> CreditRecord:
    """One of three records of 行政处罚 (CF), ingested by 区市场监管局."""
    item = CatalogItem.objects.get(code="CF")
    options = IngestOptions(
        item=item, department=Department.objects.get(code="SCJG"), file_name="few.csv"
    )
    ingest_file(csv_bytes([penalty(n) for n in range(1, 4)]), options)
    return CreditRecord.objects.filter(item=item).first()


def test_the_key_comparison_probes_the_unique_index_whatever_the_statistics_say(
    record, monkeypatch
):
    item = record.item
    # The statistics know many records of another item and next to none of this one; then
    # this one's arrive (as in a bulk load, item after item). With that many, the unique
    # index of (item, key) is the larger and the planner, believing in a handful of this
    # item's rows, prefers to walk them in the smaller index of (item, received).
    _copies(record, 200_000, CatalogItem.objects.exclude(pk=item.pk).first().pk)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    _copies(record, 30_000, item.pk)
    assert _estimate(item.pk) < 100  # the planner still believes in a handful of rows
    keys = [f"{record.natural_key}-{item.pk}-{n}" for n in range(1, 2001)]
    keys += [f"absent-{n}" for n in range(500)]
    plans = _plans(monkeypatch)

    found = current_versions(pl.Series(keys), item)

    assert sorted(found.get_column("natural_key").to_list()) == sorted(keys[:2000])
    assert found.get_column("old_id").n_unique() == 2000
    # Once per key: the keys drive a nested loop into the unique index of current keys. On
    # the stale estimate a join scanned the item's rows and compared each with every key
    # ("Join Filter"), and a per-key subquery with the item as a constant walked all of the
    # item's rows in record_item_received for each key ("Filter" on natural_key).
    (plan,) = plans
    assert "Nested Loop" in plan and "Function Scan on unnest" in plan
    assert "one_current_version" in plan
    assert "record_item_received" not in plan and "Join Filter" not in plan


def test_the_comparison_sees_the_batchs_own_rows_and_only_current_versions(record):
    item = record.item
    _copies(record, 50, item.pk)
    with connection.cursor() as cursor:  # an earlier version of one of them, no longer current
        cursor.execute(
            f"UPDATE {TABLE} SET is_current = false WHERE natural_key = %s",
            [f"{record.natural_key}-{item.pk}-1"],
        )
    keys = [f"{record.natural_key}-{item.pk}-{n}" for n in range(1, 51)] + [record.natural_key]
    found = current_versions(pl.Series(keys + keys[:10]), item)  # duplicates asked once
    assert sorted(found.get_column("natural_key").to_list()) == sorted(keys[1:])
