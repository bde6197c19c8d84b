"""kill -9 in the middle of an ingest leaves no partial batch; running it again completes it
without duplicates. Runs `creditplus ingest` as a real process on its own database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from creditplus.identifiers import uscc_check_char
from tests.server import ROOT, throwaway_database

pytestmark = pytest.mark.slow
ROWS = 120_000
SUBJECTS = 3_000


def write_penalties(path: Path) -> None:
    """A large, valid 行政处罚 file (field codes as headers)."""
    codes = []
    for i in range(SUBJECTS):
        first17 = f"91310115{i:08d}0"[:17]
        codes.append(first17 + uscc_check_char(first17))
    n = pl.int_range(0, ROWS, eager=True)
    frame = pl.DataFrame(
        {
            "CF_XDR_MC": [f"上海测试{i % SUBJECTS}号有限公司" for i in range(ROWS)],
            "CF_XDR_LB": ["法人及非法人组织"] * ROWS,
            "CF_XDR_SHXYM": [codes[i % SUBJECTS] for i in range(ROWS)],
            "CF_WSH": ("沪浦市监处〔2025〕" + n.cast(pl.Utf8) + "号"),
            "CF_WFXW": ["虚假宣传"] * ROWS,
            "CF_SY": ["发布虚假广告"] * ROWS,
            "CF_YJ": ["《广告法》第五十五条"] * ROWS,
            "CF_CFLB": ["罚款"] * ROWS,
            "CF_NR": ["罚款"] * ROWS,
            "CF_NR_FK": ["1.5"] * ROWS,
            "CF_JDRQ": ["2025-06-01"] * ROWS,
            "CF_YXQ": ["2026-06-01"] * ROWS,
            "CF_CFJG": ["区市场监管局"] * ROWS,
            "CF_CFJGDM": ["11310115002425387A"] * ROWS,
            "CF_SJLY": ["区市场监管局"] * ROWS,
            "CF_SJLYDM": ["11310115002425387A"] * ROWS,
        }
    )
    frame.write_csv(path)


def count(env: dict[str, str], sql: str) -> int:
    code = (
        "import django, sys; django.setup(); from django.db import connection\n"
        "with connection.cursor() as c:\n    c.execute(sys.argv[1]); print(c.fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, sql],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def writing_started(env: dict[str, str], tmp: Path, wal_before: int) -> bool:
    if env["DATABASE_URL"].startswith("sqlite"):
        wal = tmp / "server.sqlite3-wal"
        return wal.exists() and wal.stat().st_size > wal_before + 4_000_000
    # Straight through the driver, not count()'s Python process with Django (a second or
    # more on a busy machine): polled while the ingest runs, the poll must be quick, or
    # the ingest may have committed before the caller acts on the answer.
    import psycopg

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        (locks,) = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'records_creditrecord' AND l.mode = 'RowExclusiveLock'"
        ).fetchone()
    return locks > 0


def test_a_killed_ingest_leaves_nothing_and_a_rerun_completes_it(tmp_path):
    with throwaway_database(tmp_path) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CREDITPLUS_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "creditplus.settings",
        }
        manage = [sys.executable, "-m", "creditplus"]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [*manage, "load_reference"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        data = tmp_path / "penalties.csv"
        write_penalties(data)
        wal = tmp_path / "server.sqlite3-wal"
        wal_before = wal.stat().st_size if wal.exists() else 0
        ingest = [*manage, "ingest", str(data), "--item", "CF", "--dept", "SCJG", "--json"]

        proc = subprocess.Popen(
            ingest, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 300
        while not writing_started(env, tmp_path, wal_before):
            assert proc.poll() is None, (
                "ingest finished before it could be killed: make the file larger"
            )
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

        for table in (
            "records_ingestbatch",
            "records_creditrecord",
            "records_creditevent",
            "subjects_subject",
        ):
            assert count(env, f"SELECT count(*) FROM {table}") == 0, table

        done = subprocess.run(ingest, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        assert f'"accepted": {ROWS}' in done.stdout.splitlines()[-1]
        assert count(env, "SELECT count(*) FROM records_creditrecord") == ROWS
        assert count(env, "SELECT count(DISTINCT natural_key) FROM records_creditrecord") == ROWS
        assert count(env, "SELECT count(*) FROM subjects_subject") == SUBJECTS
        assert count(env, "SELECT count(*) FROM records_ingestbatch") == 1

        again = subprocess.run(
            ingest, env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert f'"unchanged": {ROWS}' in again.stdout.splitlines()[-1]
        assert count(env, "SELECT count(*) FROM records_creditrecord") == ROWS
