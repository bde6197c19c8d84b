"""The ingest warm-up (records.ingest.warm_pages): before a batch takes its write lock, a few
connections read side by side the pages it will read and write at random, if a sample says
they are on disk. It reads only what the batch touches, each structure by its index, on
connections of its own that it closes, and it changes nothing that the batch stores."""

from __future__ import annotations

import threading

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem, CodeTable
from creditplus.identifiers import uscc_check_char
from creditplus.records import ingest
from creditplus.records.ingest import IngestOptions, ingest_file
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.records.readers import read_table
from creditplus.records.validation import RowValidator
from tests.records.files import PERSON_ID, csv_bytes, penalty

pytestmark = pytest.mark.django_db
SUBJECTS = 40


def _uscc(n: int) -> str:
    first17 = f"91310115{n:08d}0"[:17]
    return first17 + uscc_check_char(first17)


def _rows(suffix: str) -> list[dict[str, str]]:
    """A penalty for each of SUBJECTS companies; every fourth names its legal representative
    by ID number."""
    return [
        penalty(
            n,
            **{
                "统一社会信用代码": _uscc(n),
                "行政处罚决定书文号": f"沪浦市监处〔2025〕{n}号{suffix}",
                "处罚决定日期": f"2025-06-{n % 28 + 1:02d}",
                "法定代表人证件类型": "身份证" if n % 4 == 0 else "",
                "法定代表人证件号码": PERSON_ID if n % 4 == 0 else "",
            },
        )
        for n in range(1, SUBJECTS + 1)
    ]


@pytest.fixture
def item(reference) -> CatalogItem:
    return CatalogItem.objects.get(code="CF")


def _options(item: CatalogItem, name: str) -> IngestOptions:
    return IngestOptions(item=item, department=Department.objects.get(code="SCJG"), file_name=name)


def _validated(item: CatalogItem, content: bytes):
    """The rows of ``content`` as the batch writes them (its first validated chunk)."""
    frame, _ = ingest.map_headers(read_table(content, "next.csv"), item.spec)
    tables = {t.code: t.lookup() for t in CodeTable.objects.all()}
    validator = RowValidator(item.spec, tables, timezone.localdate())
    return next(ingest.validated_ahead(frame, validator, item.spec, lambda *a: None)).valid


@pytest.fixture
def next_batch(item):
    """Yesterday's batch stored; today's rows about the same companies, validated."""
    batch = ingest_file(csv_bytes(_rows("")), _options(item, "yesterday.csv"))
    assert batch.accepted == SUBJECTS, batch.error_message
    return _validated(item, csv_bytes(_rows("-2")))


def test_it_reads_each_structure_the_batch_touches_by_its_index(item, next_batch):
    with CaptureQueriesContext(connection) as queries:
        found = ingest._read_pages(next_batch, item)
    assert found == SUBJECTS
    if connection.vendor != "sqlite":
        return
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    text = "\n".join(plans)
    for index in (
        "one_current_version",
        "record_subject_item",
        "record_item_date",
        "event_subject_kind",
        "sqlite_autoindex_subjects_subjectrelation_1",
    ):
        assert f"INDEX {index}" in text, text
    # Never a whole table, and the newest entry of a range without sorting it.
    assert "SCAN records_" not in text and "SCAN subjects_subject " not in text, text
    assert "TEMP B-TREE" not in text, text


def test_it_reads_side_by_side_on_connections_of_its_own_and_closes_them(
    item, next_batch, monkeypatch, settings
):
    monkeypatch.setattr(ingest, "WARM_MIN_ROWS", 1)
    monkeypatch.setattr(ingest, "WARM_COLD_RATIO", 0)  # the sample always says "on disk"
    monkeypatch.setattr(ingest, "WARM_COLD_ROW_SECONDS", 0)
    settings.INGEST_WARM_CONNECTIONS = 4
    calls: list[tuple[str, object]] = []
    read = ingest._read_pages

    main = threading.current_thread().name
    together = threading.Barrier(4, timeout=60)  # broken unless four parts run at once

    def recorded(part, item):
        calls.append((threading.current_thread().name, connections[DEFAULT_DB_ALIAS]))
        if threading.current_thread().name != main:
            together.wait()
        return read(part, item)

    monkeypatch.setattr(ingest, "_read_pages", recorded)
    ingest.warm_pages(next_batch, item)
    assert not together.broken
    # The sample, twice on the batch's connection; then the parts side by side.
    assert [name for name, _ in calls[:2]] == [main, main]
    workers = [name for name, _ in calls[2:]]
    assert len(workers) == 4 and main not in workers
    assert calls[0][1] is connections[DEFAULT_DB_ALIAS]
    assert connection.connection is not None  # the batch's own stays open
    # Each worker's own connection is closed when it is done (none left to idle threads).
    assert all(
        wrapper is not calls[0][1] and wrapper.connection is None for _, wrapper in calls[2:]
    )


def test_a_failing_warm_up_costs_only_its_gain(item, next_batch, monkeypatch, settings, caplog):
    monkeypatch.setattr(ingest, "WARM_MIN_ROWS", 1)
    monkeypatch.setattr(ingest, "WARM_COLD_RATIO", 0)
    monkeypatch.setattr(ingest, "WARM_COLD_ROW_SECONDS", 0)
    settings.INGEST_WARM_CONNECTIONS = 2
    main = threading.current_thread().name
    read = ingest._read_pages
    workers: list[object] = []

    def failing(part, item):
        if threading.current_thread().name == main:
            return read(part, item)
        workers.append(connections[DEFAULT_DB_ALIAS])
        read(part, item)  # the worker's connection is open now
        raise DatabaseError("the warm-up's connection went away")

    monkeypatch.setattr(ingest, "_read_pages", failing)
    assert ingest.warm_pages(next_batch, item) == 0
    assert len(workers) == 2 and all(w.connection is None for w in workers)
    assert "ingest warm-up failed" in caplog.text
    # The batch itself goes on as if there had been no warm-up.
    batch = ingest_file(csv_bytes(_rows("-3")), _options(item, "today.csv"))
    assert batch.accepted == SUBJECTS


def test_a_sample_in_memory_means_no_warm_up(item, next_batch, monkeypatch, settings):
    monkeypatch.setattr(ingest, "WARM_MIN_ROWS", 1)
    monkeypatch.setattr(ingest, "WARM_COLD_RATIO", 1_000)  # no first read is that much slower
    settings.INGEST_WARM_CONNECTIONS = 4
    threads: list[str] = []
    read = ingest._read_pages

    def recorded(part, item):
        threads.append(threading.current_thread().name)
        return read(part, item)

    monkeypatch.setattr(ingest, "_read_pages", recorded)
    assert ingest.warm_pages(next_batch, item) == 0
    assert threads == [threading.current_thread().name] * 2  # the sample only, twice


def test_a_warmed_batch_stores_what_an_unwarmed_one_stores(item, monkeypatch, settings):
    ingest_file(csv_bytes(_rows("")), _options(item, "yesterday.csv"))
    monkeypatch.setattr(ingest, "WARM_MIN_ROWS", 1)
    monkeypatch.setattr(ingest, "WARM_COLD_RATIO", 0)
    monkeypatch.setattr(ingest, "WARM_COLD_ROW_SECONDS", 0)
    reads: list[int] = []
    read = ingest._read_pages
    monkeypatch.setattr(
        ingest, "_read_pages", lambda part, item: reads.append(1) or read(part, item)
    )
    stored = {}
    for warm, suffix in ((0, "-cold"), (4, "-warm")):
        settings.INGEST_WARM_CONNECTIONS = warm
        batch = ingest_file(csv_bytes(_rows(suffix)), _options(item, f"{suffix}.csv"))
        counts = batch.counts()
        del counts["batch"]
        stored[warm] = (
            counts,
            sorted(
                CreditRecord.objects.filter(batch=batch).values_list(
                    "subject_id", "version", "status", "is_current"
                )
            ),
            sorted(
                CreditEvent.objects.filter(record__batch=batch).values_list("subject_id", "kind")
            ),
        )
    assert len(reads) == 2 + 4  # the warmed batch's sample twice and four parts; none when off
    assert stored[0] == stored[4]
    assert stored[0][0]["accepted"] == SUBJECTS and stored[0][2]
