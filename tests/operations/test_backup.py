"""A backup taken while a large ingest runs restores into a fresh database that matches its
manifest: the audit chain verifies up to the recorded head, the counts match, the consumers
resume without doing anything twice, and the interrupted ingest can be re-run to the end.
Real processes on real databases (SQLite file, or a database on the test PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from django.db import connection

from creditplus.errors import DomainError
from creditplus.operations import backup as database_backup
from tests.records.test_kill_and_rerun import ROWS, count, write_penalties, writing_started
from tests.server import ROOT, throwaway_database

pytestmark = pytest.mark.slow
# Tables the consumers write from behavior events: a re-run after a restore must add nothing.
DERIVED = ("lists_listentry", "sanctions_sanctioncase", "sanctions_sanctiontask", "sanctions_alert")


def environment(url: str, var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CREDITPLUS_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "creditplus.settings",
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "creditplus", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


# A backup process that has started Django and waits for its cue, so that it runs within
# milliseconds of the ingest's first write rather than after Python's start-up.
WAITING_BACKUP = """
import sys, time, pathlib, django
django.setup()
from django.core.management import call_command
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.01)
call_command("backup", "--out", sys.argv[2])
"""


def serious_penalties(path: Path) -> None:
    """A few revoked licenses (serious untrustworthy behavior) for the consumers to act on."""
    write_penalties(path)
    frame = pl.read_csv(path, n_rows=50).with_columns(
        pl.lit("吊销许可证件").alias("CF_CFLB"),
        pl.lit("").alias("CF_NR_FK"),
        pl.lit("食品经营许可证 JY1").alias("CF_NR_ZKDX"),
        pl.format("撤销{}", pl.col("CF_WSH")).alias("CF_WSH"),
    )
    frame.write_csv(path)


def test_backup_during_an_ingest_restores_to_its_manifest(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        throwaway_database(tmp_path / "a") as source_url,
        throwaway_database(tmp_path / "b") as target_url,
    ):
        source = environment(source_url, tmp_path / "a")
        assert manage(source, "migrate", "-v0").returncode == 0
        assert manage(source, "load_reference").returncode == 0
        seed = tmp_path / "seed.csv"
        serious_penalties(seed)
        seeded = manage(source, "ingest", str(seed), "--item", "CF", "--dept", "SCJG", "--json")
        assert seeded.returncode == 0, seeded.stderr

        big = tmp_path / "penalties.csv"
        write_penalties(big)
        ingest = [
            sys.executable,
            "-m",
            "creditplus",
            "ingest",
            str(big),
            "--item",
            "CF",
            "--dept",
            "SCJG",
            "--json",
        ]
        wal = tmp_path / "a" / "server.sqlite3-wal"
        wal_before = wal.stat().st_size if wal.exists() else 0
        backup_file = tmp_path / "backups" / "creditplus.backup"
        go = tmp_path / "go"
        backup = subprocess.Popen(
            [sys.executable, "-c", WAITING_BACKUP, str(go), str(backup_file)],
            env=source,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc = subprocess.Popen(
            ingest, env=source, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 300
            while not writing_started(source, tmp_path / "a", wal_before):
                assert proc.poll() is None, "the ingest ended before the backup: make it larger"
                assert time.monotonic() < deadline
                time.sleep(0.05)
            go.touch()
            _, errors = backup.communicate(timeout=600)
            assert backup.returncode == 0, errors
        finally:
            proc.send_signal(signal.SIGKILL)  # the ingest dies: the restore must not need it
            proc.wait()

        manifest = json.loads(backup_file.with_name("creditplus.backup.json").read_text())
        assert {"counts", "audit_head", "cursors", "sha256"} <= set(manifest)
        # The backup holds the committed seed, nothing of the running batch.
        assert manifest["counts"]["records_ingestbatch"] == 1
        assert manifest["counts"]["records_creditrecord"] == 50
        assert manifest["counts"]["records_creditevent"] >= 50
        assert manifest["cursors"] and all(event > 0 for _tx, event in manifest["cursors"].values())

        target = environment(target_url, tmp_path / "b")
        restored = manage(target, "restore", str(backup_file))
        assert restored.returncode == 0, restored.stderr
        assert "恢复完成并已核验" in restored.stdout
        verified = manage(target, "audit", "verify", "--head", manifest["audit_head"])
        assert verified.returncode == 0, verified.stderr
        for table, n in manifest["counts"].items():
            if table not in (
                "accounts_auditevent",
                "accounts_jobrun",
            ):  # restore and audit add rows
                assert count(target, f"SELECT count(*) FROM {table}") == n, table

        derived = {t: count(target, f"SELECT count(*) FROM {t}") for t in DERIVED}
        assert manage(target, "lists_maintain").returncode == 0
        assert manage(target, "sanctions_maintain").returncode == 0
        assert {t: count(target, f"SELECT count(*) FROM {t}") for t in DERIVED} == derived
        cursors = count(target, "SELECT sum(last_event_id) FROM records_consumercursor")
        assert cursors == sum(event for _tx, event in manifest["cursors"].values())

        again = manage(target, "ingest", str(big), "--item", "CF", "--dept", "SCJG", "--json")
        assert again.returncode == 0, again.stderr
        result = json.loads(again.stdout.splitlines()[-1])
        assert result["accepted"] + result["updated"] + result["unchanged"] == ROWS
        seeded_rows = manifest["counts"]["records_creditrecord"]
        current = "SELECT count(*) FROM records_creditrecord WHERE is_current"
        assert count(target, current) == ROWS + seeded_rows
        keys = "SELECT count(DISTINCT natural_key) FROM records_creditrecord"
        assert count(target, keys) == ROWS + seeded_rows

        # A second restore into the now-filled database is refused.
        refused = manage(target, "restore", str(backup_file))
        assert refused.returncode == 2 and "restore_target_not_empty" in refused.stderr


def stand_in_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Make the backup run ``script`` (a real program) as its pg_dump; PostgreSQL only."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump is PostgreSQL's")
    program = tmp_path / "bin" / "pg_dump"
    program.parent.mkdir()
    program.write_text(script)
    program.chmod(0o755)
    monkeypatch.setattr(database_backup, "pg_tool", lambda name: str(program))


# A dump program that writes more to stderr than a pipe holds (a real pg_dump does with many
# warnings), starts its output directory, and fails: the backup must neither hang nor keep
# anything.
FAILING_DUMP = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = "-f" ] && out="$2"; shift; done
mkdir -p "$out" && head -c 100000 /dev/zero > "$out/toc.dat"
head -c 200000 /dev/zero | tr '\\0' 'w' >&2
echo "pg_dump: error: connection lost" >&2
exit 1
"""


@pytest.mark.django_db
def test_a_failed_dump_leaves_neither_a_backup_nor_a_manifest(tmp_path, monkeypatch):
    stand_in_dump(tmp_path, monkeypatch, FAILING_DUMP)
    out = tmp_path / "backups" / "creditplus.backup"
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            database_backup.backup(out)
        except BaseException as error:
            outcome.append(error)

    backing_up = threading.Thread(target=run, daemon=True)
    backing_up.start()
    backing_up.join(timeout=120)
    assert not backing_up.is_alive(), "the backup hung on the failed dump"
    (failed,) = outcome
    assert isinstance(failed, DomainError) and failed.code == "backup_failed"
    assert "connection lost" in failed.message and "退出码 1" in failed.message
    assert sorted(out.parent.iterdir()) == []


def _largest_part(path: Path) -> Path:
    return max(path.iterdir(), key=lambda p: p.stat().st_size) if path.is_dir() else path


@pytest.mark.django_db
def test_a_backup_proves_itself_and_a_changed_byte_is_refused(tmp_path):
    out = tmp_path / "creditplus.backup"
    manifest = database_backup.backup(out)
    # PostgreSQL's is pg_dump's directory format, one file per table (parallel workers);
    # its SHA-256 is that of the sha256sum listing, so an operator can check it by hand.
    assert out.is_dir() == (connection.vendor == "postgresql")
    if out.is_dir():
        names = sorted(p.name for p in out.iterdir())
        listing = subprocess.run(
            ["sha256sum", *names], cwd=out, capture_output=True, check=True
        ).stdout
        by_hand = subprocess.run(
            ["sha256sum"], input=listing, capture_output=True, check=True
        ).stdout.split()[0]
        assert "toc.dat" in names and len(names) > 10
    else:
        by_hand = subprocess.run(["sha256sum", out], capture_output=True, check=True).stdout
        by_hand = by_hand.split()[0]
    assert manifest["sha256"] == by_hand.decode()
    assert manifest["bytes"] == database_backup.backup_size(out) > 0
    # Every record and the audit log: for the owner only.
    assert out.stat().st_mode & 0o777 == (0o700 if out.is_dir() else 0o600)
    assert database_backup.manifest_path(out).stat().st_mode & 0o777 == 0o600
    assert database_backup.read_manifest(out)["sha256"] == manifest["sha256"]

    part = _largest_part(out)
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(DomainError) as refused:
        database_backup.read_manifest(out)
    assert refused.value.code == "backup_checksum"


@pytest.mark.django_db
def test_a_backup_never_overwrites_what_is_there(tmp_path):
    out = tmp_path / "creditplus.backup"
    out.write_text("an older backup")
    with pytest.raises(DomainError) as refused:
        database_backup.backup(out)
    assert refused.value.code == "backup_exists" and "已存在" in refused.value.message
    assert out.read_text() == "an older backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["creditplus.backup"]


@pytest.mark.django_db
def test_the_leftover_of_a_killed_backup_is_replaced_by_the_next_one(tmp_path):
    out = tmp_path / "creditplus.backup"
    leftover = tmp_path / "creditplus.backup.partial"
    leftover.mkdir()  # what a backup killed with -9 leaves (a directory on PostgreSQL)
    (leftover / "toc.dat").write_text("half a dump")
    manifest = database_backup.backup(out)
    assert not leftover.exists()
    assert database_backup.read_manifest(out)["sha256"] == manifest["sha256"]


def test_prune_removes_old_backups_whole_files_and_directories(tmp_path):
    def dated(stamp: str, directory: bool, manifest: bool = True) -> Path:
        path = tmp_path / f"creditplus-{stamp}.backup"
        if directory:
            path.mkdir()
            (path / "toc.dat").write_text("toc")
        else:
            path.write_text("sqlite")
        if manifest:
            database_backup.manifest_path(path).write_text("{}")
        path.with_name(path.name + ".files.tar.gz").write_text("files")
        return path

    old = [dated("20261201-013000", True), dated("20261202-013000", False)]
    kept = [dated("20261203-013000", True), dated("20261204-013000", True)]
    # Renamed into place, then killed before its manifest: never restorable, never counted.
    unfinished = dated("20261205-013000", True, manifest=False)
    assert database_backup.prune(tmp_path, keep=2) == [unfinished, *old[::-1]]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        name for k in kept for name in (k.name, k.name + ".json", k.name + ".files.tar.gz")
    )


def test_what_killed_runs_left_is_removed_and_only_that(tmp_path):
    half_dump = tmp_path / "creditplus-20261204-013000.backup.partial"
    half_dump.mkdir()
    (half_dump / "4641.dat.gz").write_bytes(b"half")
    half_manifest = tmp_path / "creditplus-20261203-013000.backup.json.partial"
    half_manifest.write_text("{")
    other = tmp_path / "notes.partial"
    other.write_text("not a backup's")
    assert database_backup.remove_leftovers(tmp_path) == [half_manifest, half_dump]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.partial"]


# The workers of a parallel pg_dump must read the snapshot the manifest's counts read, not
# one of their own: a row committed after the snapshot was exported is in neither.
@pytest.mark.django_db
def test_a_row_committed_during_the_backup_is_in_neither_the_dump_nor_the_counts(
    tmp_path, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump's snapshot is PostgreSQL's")
    import psycopg

    params = database_backup._libpq(database_backup._pg_settings())
    table = "records_consumercursor"
    insert = (
        f"INSERT INTO {table} (name, last_tx, last_event_id, updated_at) VALUES (%s, 0, 0, now())"
    )
    counted = database_backup._state

    def commit_then_count(query, tables):
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute(insert, ["probe-after-snapshot"])
        return counted(query, tables)

    monkeypatch.setattr(database_backup, "_state", commit_then_count)
    try:
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute(insert, ["probe-before-snapshot"])
            before = other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        out = tmp_path / "creditplus.backup"
        manifest = database_backup.backup(out)
        dumped = subprocess.run(
            [
                database_backup.pg_tool("pg_restore"),
                "--data-only",
                "-t",
                table,
                "-f",
                "-",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute(f"DELETE FROM {table} WHERE name LIKE 'probe-%%'")
    assert "probe-before-snapshot" in dumped
    assert "probe-after-snapshot" not in dumped
    assert manifest["counts"][table] == before


# A dump that starts its output, forks a worker (as pg_dump -j does) and runs on: a stop
# (SIGTERM from cron or systemd) must end both and leave nothing behind.
SLOW_DUMP = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = "-f" ] && out="$2"; shift; done
mkdir -p "$out" && echo toc > "$out/toc.dat"
sleep 300 &
echo $$ $! > "$out/../pids"
wait
"""


@pytest.mark.django_db
def test_a_stopped_backup_stops_its_dump_and_keeps_nothing(tmp_path, monkeypatch):
    from django.core.management import call_command

    stand_in_dump(tmp_path, monkeypatch, SLOW_DUMP)
    backups = tmp_path / "backups"
    pids = backups / "pids"

    def stop_when_dumping() -> None:
        deadline = time.monotonic() + 60
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_dumping, daemon=True).start()
    with pytest.raises(SystemExit) as stopped:
        call_command("backup", "--dir", str(backups))
    assert stopped.value.code == 128 + signal.SIGTERM
    dump, worker = (int(p) for p in pids.read_text().split())
    for pid in (dump, worker):
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the dump or its worker runs on after the stop"
    assert sorted(p.name for p in backups.iterdir()) == ["pids"]


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
