"""The ingest benchmark keeps working: run it at a tiny size on the database under test.
(Its figures are recorded in the README from full-size runs; nothing here is timed.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

pytestmark = pytest.mark.slow


def test_the_ingest_benchmark_runs_and_reports(tmp_path):
    db = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    out = subprocess.run(
        [
            sys.executable,
            "bench/ingest.py",
            "--subjects",
            "60",
            "--db",
            db,
            "--work",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    results = [
        json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert [r["database"] for r in results] == [{"sqlite": "sqlite", "postgres": "postgresql"}[db]]
    result = results[0]
    assert result["rows"] == result["accepted"] + result["rejected"] > 0
    assert result["rows_per_second"] > 0 and result["bare_insert_rows_per_second"] > 0
    # The event consumers' time is part of the full figure and reported on its own too.
    assert 0 <= result["consumer_seconds"] <= result["seconds"]
    assert result["rows_per_second_before_consumers"] >= result["rows_per_second"]
    assert result["daily_batch_rows"] > 0 and result["peak_rss_mib"] > 0
