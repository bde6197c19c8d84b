"""PostgreSQL plans an ingest's key comparison from its statistics. When they lag far behind
an item's current records (a bulk load adds a whole item in minutes; a batch's own rows are
invisible to autovacuum), the comparison first analyses the table, so that it probes the
unique index once per key instead of comparing every row with every key (docs/ingest.md:
minutes per chunk at Pudong scale)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from django.db import connection

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records.ingest import (
    IngestOptions,
    current_versions,
    ingest_file,
    refresh_stale_statistics,
)
from creditplus.records.models import CreditRecord
from tests.records.files import csv_bytes, penalty

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the estimate and ANALYZE are PostgreSQL's"
    ),
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


def _comparison_plan(item_id: int, keys: list[str]) -> str:
    """The plan of the statement ``current_versions`` runs, for ``keys``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN SELECT id FROM {TABLE} WHERE item_id = %s AND is_current "
            "AND natural_key IN (SELECT unnest(%s::text[]))",
            [item_id, keys],
        )
        return "\n".join(row[0] for row in cursor.fetchall())


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


@pytest.fixture
def record(reference) -> CreditRecord:
    """One of three records of 行政处罚 (CF), ingested by 区市场监管局."""
    item = CatalogItem.objects.get(code="CF")
    options = IngestOptions(
        item=item, department=Department.objects.get(code="SCJG"), file_name="few.csv"
    )
    ingest_file(csv_bytes([penalty(n) for n in range(1, 4)]), options)
    return CreditRecord.objects.filter(item=item).first()


def test_stale_statistics_are_refreshed_before_the_key_comparison(record):
    item = record.item
    # The statistics know many records of another item and next to none of this one; then
    # this one's arrive (as in a bulk load, item after item).
    _copies(record, 30_000, CatalogItem.objects.exclude(pk=item.pk).first().pk)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    _copies(record, 30_000, item.pk)
    keys = [f"{record.natural_key}-{item.pk}-{n}" for n in range(1, 2001)]
    assert _estimate(item.pk) < 100  # the planner still believes in a handful of rows
    # ... and so plans the Pudong run's rows × keys join, not the unique index.
    assert "one_current_version" not in _comparison_plan(item.pk, keys)

    assert refresh_stale_statistics(item.pk) is True
    assert _estimate(item.pk) > 20_000
    assert "one_current_version" in _comparison_plan(item.pk, keys)
    assert refresh_stale_statistics(item.pk) is False  # fresh: no second analysis
    found = current_versions(pl.Series(keys[:5]), item)
    assert sorted(found.get_column("natural_key").to_list()) == sorted(keys[:5])


def test_fresh_statistics_cost_no_analysis(record):
    assert refresh_stale_statistics(record.item_id) is False


def test_an_analysis_held_by_another_batch_is_not_waited_for(record):
    import time

    import psycopg

    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        host=db["HOST"],
        port=db["PORT"],
        password=db["PASSWORD"],
    )
    try:
        # Another batch's analysis, in its transaction: it holds the lock to that batch's end.
        other.execute(f"ANALYZE {TABLE}")
        item = record.item
        _copies(record, 30_000, item.pk)
        assert _estimate(item.pk) < 10_000  # stale: the check wants an analysis
        started = time.monotonic()
        assert refresh_stale_statistics(item.pk) is False
        assert time.monotonic() - started < 5
        # This batch's transaction goes on: its next statements work.
        assert current_versions(pl.Series([record.natural_key]), item).height == 1
    finally:
        other.rollback()
        other.close()
