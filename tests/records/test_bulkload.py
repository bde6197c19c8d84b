"""`creditplus load DIR`: the bulk-load path keeps every guarantee of `ingest`. The same demo
files (with their deliberate bad rows, then changed and foreign rows) give the same stored
result through `load` as through `ingest_file` one by one; a load killed with SIGKILL and run
again leaves exactly what an uninterrupted load leaves; bad files get ingest's codes. Each
database is a real one of its own, filled by real processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from django.db import connection

from tests.server import ROOT, throwaway_database

SEED = 7
SUBJECTS = 60
# Forces the deferred index build at this size (a real load needs 200,000 rows).
DEFER = {"CREDITPLUS_BULK_INDEX_MIN_ROWS": "0"}
# PostgreSQL writes two files at once (SQLite ignores it): what it stores is what `ingest`
# of the same files one by one stores.
SIDE_BY_SIDE = {"CREDITPLUS_LOAD_WORKERS": "2"}
COUNTS = ("submitted", "accepted", "updated", "unchanged", "rejected")


def _env(url: str, var: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        **SIDE_BY_SIDE,
        **(extra or {}),
        "DATABASE_URL": url,
        "CREDITPLUS_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "creditplus.settings",
    }


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _fresh(env: dict[str, str]) -> None:
    _run(env, sys.executable, "-m", "creditplus", "migrate", "-v0")
    _run(env, sys.executable, "-m", "creditplus", "load_reference")


def _load(env: dict[str, str], directory: Path) -> dict:
    out = _run(env, sys.executable, "-m", "creditplus", "load", str(directory), "--json")
    return json.loads(out.strip().splitlines()[-1])


def _snapshot(env: dict[str, str]) -> dict:
    return json.loads(_run(env, sys.executable, "-m", "tests.records.bulk_snapshot", "snapshot"))


def _query(url: str, sql: str) -> list[tuple]:
    """A read straight through the driver: polled many times a second while a load runs."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(sql).fetchall()


def _write_updates(data: Path, updates: Path) -> None:
    """A second delivery: one department's penalties again, four rows changed and four the
    same (new versions; unchanged), and the four same rows sent by another penalty
    department (refused: another authority's decisions)."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    penalties = [
        f
        for f in manifest["files"]
        if (f["item"], f["format"], f["headers"]) == ("CF", "csv-utf8", "codes") and f["rows"] >= 8
    ]
    own, other = penalties[0], penalties[1]
    frame = pl.read_csv(data / own["path"], infer_schema=False).head(8)
    changed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 4)
        .then(pl.col("CF_SY") + "（更正）")
        .otherwise(pl.col("CF_SY"))
        .alias("CF_SY")
    )
    updates.mkdir()
    changed.write_csv(updates / "update.csv")
    frame.tail(4).write_csv(updates / "foreign.csv")
    files = [
        {"path": "update.csv", "item": "CF", "department": own["department"], "rows": 8},
        {"path": "foreign.csv", "item": "CF", "department": other["department"], "rows": 4},
    ]
    (updates / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bulk")
    data, updates = base / "data", base / "updates"
    code = f"from creditplus.records.demo import generate; generate({str(data)!r}, {SUBJECTS}, seed={SEED})"
    _run({**os.environ, "DJANGO_SETTINGS_MODULE": "creditplus.settings"}, sys.executable, "-c",
         "import django; django.setup(); " + code)  # fmt: skip
    _write_updates(data, updates)
    return data, updates


@pytest.fixture(scope="module")
def bulk_loaded(demo, tmp_path_factory) -> dict:
    """What an uninterrupted bulk load of the demo files, then of the updates, stores."""
    data, updates = demo
    var = tmp_path_factory.mktemp("bulk-db")
    with throwaway_database(var) as url:
        env = _env(url, var, DEFER)
        _fresh(env)
        first = _load(env, data)
        assert first["indexes_deferred"] is True
        second = _load(env, updates)
        assert second["submitted"] == 12 and second["updated"] >= 1 and second["rejected"] >= 1
        snap = _snapshot(env)
        # Every deferred index is back, and nothing is left to build.
        assert _query(url, "SELECT count(*) FROM records_deferredindex") == [(0,)]
        again = _load(env, data)  # the same batch ids: every file is replayed
        assert again["replayed"] == again["files"] and first["replayed"] == 0
        assert {k: again[k] for k in COUNTS} == {k: first[k] for k in COUNTS}
        assert _snapshot(env) == snap
        yield {"snapshot": snap, "first": first}


def _comparable(snapshot: dict) -> dict:
    """On PostgreSQL these loads write files side by side (largest first) and the subjects a
    killed file created stay: a new subject counts for the batch that named it first (not at
    all if that was as a legal representative), so a batch's ``new_subjects`` follows the
    order in which files ran. The subjects themselves are compared in full."""
    if connection.vendor != "postgresql":
        return snapshot
    batches = [
        [*b[:-1], {k: v for k, v in b[-1].items() if k != "new_subjects"}]
        for b in snapshot["batches"]
    ]
    return {**snapshot, "batches": batches}


@pytest.mark.slow
def test_bulk_load_stores_what_ingest_stores(demo, bulk_loaded, tmp_path):
    data, updates = demo
    with throwaway_database(tmp_path) as url:
        env = _env(url, tmp_path)
        _fresh(env)
        _run(
            env,
            sys.executable,
            "-m",
            "tests.records.bulk_snapshot",
            "ingest",
            str(data),
            str(updates),
        )
        ingested = _snapshot(env)
    loaded = bulk_loaded["snapshot"]
    ingested, loaded = _comparable(ingested), _comparable(loaded)
    for part in ("subjects", "records", "events", "rejected", "batches", "audit"):
        assert ingested[part] == loaded[part], part
    first = bulk_loaded["first"]
    assert first["files"] == len(json.loads((data / "manifest.json").read_text())["files"])
    assert first["submitted"] == first["accepted"] + first["rejected"] > 0
    assert set(first) >= {
        "files",
        "submitted",
        "accepted",
        "updated",
        "unchanged",
        "rejected",
        "seconds",
    }
    # Changed rows became second versions, the first ones kept; other departments' rows
    # were refused as ingest refuses them.
    assert {r[2] for r in loaded["records"]} == {1, 2}
    assert {r[3] for r in loaded["rejected"]} >= {"authority_not_allowed", "uscc_check"}


# PostgreSQL: the records tables' autovacuum options (a bulk load's "off", until rebuilt).
AUTOVACUUM_OPTIONS = (
    "SELECT option FROM pg_class, unnest(reloptions) AS option WHERE relname IN "
    "('records_creditrecord', 'records_creditevent') AND option LIKE 'autovacuum_enabled=%'"
)

EVENTS_VACUUMED = (
    "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'records_creditevent'"
)


@pytest.mark.slow
def test_a_killed_bulk_load_rerun_leaves_what_an_uninterrupted_one_leaves(
    demo, bulk_loaded, tmp_path
):
    data, updates = demo
    with throwaway_database(tmp_path) as url:
        env = _env(url, tmp_path, DEFER)
        _fresh(env)
        load = [sys.executable, "-m", "creditplus", "load", str(data), "--json"]
        proc = subprocess.Popen(
            load, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 300
        while _query(url, "SELECT count(*) FROM records_ingestbatch")[0][0] < 5:
            assert proc.poll() is None, "the load finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        # Killed mid-load: whole batches only, and the dropped indexes remembered.
        batches = _query(url, "SELECT count(*) FROM records_ingestbatch")[0][0]
        assert 5 <= batches < bulk_loaded["first"]["files"]
        assert _query(url, "SELECT count(*) FROM records_deferredindex")[0][0] == 3
        assert _query(
            url,
            "SELECT count(*) FROM records_ingestbatch WHERE "
            "submitted <> accepted + updated + unchanged + rejected",
        ) == [(0,)]

        if url.startswith("postgres"):
            assert _query(url, AUTOVACUUM_OPTIONS) == [("autovacuum_enabled=off",)] * 2

        _load(env, data)
        _load(env, updates)
        assert _comparable(_snapshot(env)) == _comparable(bulk_loaded["snapshot"])
        assert _query(url, "SELECT count(*) FROM records_deferredindex") == [(0,)]
        if url.startswith("postgres"):
            assert _query(url, AUTOVACUUM_OPTIONS) == []  # the server's setting again
            # The events vacuumed by the load itself (not left to autovacuum): the list
            # triggers count them from their index alone only once the pages are all-visible.
            assert _query(url, EVENTS_VACUUMED) == [(True,)]


@pytest.mark.django_db
def test_bad_files_get_the_codes_ingest_gives(reference, tmp_path):
    from creditplus.accounts.models import Department
    from creditplus.catalog.models import CatalogItem
    from creditplus.records.bulkload import load_directory
    from creditplus.records.ingest import IngestOptions, ingest_file
    from tests.data.bad.corpus import CORPUS

    small = [b for b in CORPUS if b.name not in ("zip_bomb.xlsx", "field_1mb.csv")]
    files = []
    for bad in small:
        bad.build(tmp_path / bad.name)
        files.append({"path": bad.name, "item": "CF", "department": "SCJG"})
    (tmp_path / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")
    item, dept = CatalogItem.objects.get(code="CF"), Department.objects.get(code="SCJG")
    by_ingest = {}
    for bad in small:
        options = IngestOptions(item=item, department=dept, file_name=bad.name)
        batch = ingest_file((tmp_path / bad.name).read_bytes(), options)
        by_ingest[bad.name] = (batch.error_code, batch.rejected, batch.submitted)
    summary = load_directory(tmp_path)
    from creditplus.records.models import IngestBatch

    loaded = IngestBatch.objects.exclude(external_id="")
    by_load = {b.file_name: (b.error_code, b.rejected, b.submitted) for b in loaded}
    assert by_load == by_ingest
    whole = {b.name: b.code for b in small if b.whole_file}
    assert {f["path"]: f["code"] for f in summary["failed"]} == whole


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's page cache")
def test_a_bulk_load_takes_its_own_sqlite_page_cache(reference, tmp_path, settings):
    """A load runs with CREDITPLUS_SQLITE_LOAD_CACHE_MB (it sets the load's peak memory at
    Pudong scale), not daily ingest's CREDITPLUS_SQLITE_INGEST_CACHE_MB."""
    from creditplus.records.bulkload import load_directory
    from creditplus.records.models import CreditRecord
    from tests.records.files import csv_bytes, penalty

    settings.SQLITE_LOAD_CACHE_MB, settings.SQLITE_INGEST_CACHE_MB = 7, 9
    (tmp_path / "cf.csv").write_bytes(csv_bytes([penalty(1), penalty(2)]))
    manifest = {"files": [{"path": "cf.csv", "item": "CF", "department": "SCJG"}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    sent = []

    def remember(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(remember):
        load_directory(tmp_path)
    assert CreditRecord.objects.count() == 2
    assert "PRAGMA cache_size = -7168" in sent
    assert "PRAGMA cache_size = -9216" not in sent


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("manifest", "code"),
    [
        (None, "manifest_missing"),
        ("{not json", "manifest_invalid"),
        (
            {"files": [{"path": "../outside.csv", "item": "CF", "department": "SCJG"}]},
            "manifest_path_invalid",
        ),
        ({"files": [{"path": "a.csv", "item": "NOPE", "department": "SCJG"}]}, "item_unknown"),
        ({"files": [{"path": "a.csv", "item": "CF", "department": "NOPE"}]}, "department_unknown"),
    ],
)
def test_a_bad_manifest_is_refused_before_anything_is_written(reference, tmp_path, manifest, code):
    from creditplus.errors import DomainError
    from creditplus.records.bulkload import load_directory
    from creditplus.records.models import IngestBatch

    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "outside.csv").write_text("x\n1\n", encoding="utf-8")
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (directory / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as raised:
        load_directory(directory)
    assert raised.value.code == code and raised.value.message
    assert not IngestBatch.objects.exists()


def autovacuum_options() -> dict[str, str]:
    """PostgreSQL: the tables with an autovacuum_enabled option, and its value."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, option FROM pg_class, unnest(reloptions) AS option "
            "WHERE option LIKE 'autovacuum\\_enabled=%%'"
        )
        return dict(cursor.fetchall())


def autovacuum_off() -> set[str]:
    return {table for table, option in autovacuum_options().items() if option.endswith("=off")}


def _interrupt_at_second_call():
    calls = []

    def progress(name: str) -> None:
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt

    return progress


@pytest.mark.django_db
def test_deferred_indexes_are_dropped_with_their_definitions_and_rebuilt(reference):
    from django.db import connection, transaction

    from creditplus.records.bulkload import (
        DEFERRED_INDEXES,
        drop_deferred_indexes,
        index_definition,
        restore_indexes,
        should_defer,
    )
    from creditplus.records.models import DeferredIndex

    names = [n for group in DEFERRED_INDEXES.values() for n in group]
    before = {n: index_definition(n) for n in names}
    assert all(before.values())
    # Dropping is one transaction with storing the definitions: rolled back, nothing changes.
    with pytest.raises(RuntimeError), transaction.atomic():
        drop_deferred_indexes()
        raise RuntimeError
    assert {n: index_definition(n) for n in names} == before
    assert not DeferredIndex.objects.exists()
    assert autovacuum_off() == set()
    assert sorted(drop_deferred_indexes()) == sorted(names)
    assert not any(index_definition(n) for n in names)
    assert drop_deferred_indexes() == []  # already dropped: the stored definitions stay
    assert DeferredIndex.objects.count() == len(names)
    if connection.vendor == "postgresql":  # no autovacuum while the load writes the tables
        assert autovacuum_off() == set(DEFERRED_INDEXES)
    # Killed while rebuilding, after the records table's first index: that table keeps its
    # autovacuum off until its last one is built, and the next rebuild finishes both.
    with pytest.raises(KeyboardInterrupt):
        restore_indexes(progress=_interrupt_at_second_call())
    assert DeferredIndex.objects.count() == len(names) - 1
    if connection.vendor == "postgresql":
        assert autovacuum_off() == set(DEFERRED_INDEXES)
    restore_indexes()
    assert {n: index_definition(n) for n in names} == before
    assert not DeferredIndex.objects.exists()
    assert autovacuum_options() == {}  # reset to the server's setting, not merely "on"
    # A daily-sized batch never rebuilds indexes.
    assert not should_defer(10_000)
    assert should_defer(1_000_000)


@pytest.mark.django_db
def test_load_restore_indexes_rebuilds_what_a_killed_load_left(reference):
    from io import StringIO

    from django.core.management import call_command

    from creditplus.records.bulkload import drop_deferred_indexes, index_definition
    from creditplus.records.models import DeferredIndex

    dropped = drop_deferred_indexes()
    out = StringIO()
    call_command("load", "--restore-indexes", "--json", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["restored"] == len(dropped) == 3
    assert all(index_definition(n) for n in dropped) and not DeferredIndex.objects.exists()
    assert autovacuum_options() == {}
    # Arguments that make no sense are refused with a code, and nothing is rebuilt or loaded.
    for argv, code in (
        ((), "directory_required"),
        (("--restore-indexes", "."), "restore_indexes_alone"),
        (("--restore-indexes", "--keep-indexes"), "restore_indexes_alone"),
        (("/nonexistent/load-dir",), "directory_not_found"),
    ):
        err = StringIO()
        with pytest.raises(SystemExit):
            call_command("load", *argv, stderr=err)
        assert f"[{code}]" in err.getvalue()
