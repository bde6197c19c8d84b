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
            "--floor",
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
    vendor = {"sqlite": "sqlite", "postgres": "postgresql"}[db]
    assert [(r["database"], r["path"]) for r in results] == [(vendor, "full"), (vendor, "floor")]
    result, floor = results
    assert result["rows"] == result["accepted"] + result["rejected"] > 0
    assert result["rows_per_second"] > 0 and result["bare_insert_rows_per_second"] > 0
    # The event consumers' time is part of the full figure and reported on its own too.
    assert 0 <= result["consumer_seconds"] <= result["seconds"]
    assert result["rows_per_second_before_consumers"] >= result["rows_per_second"]
    assert result["daily_batch_rows"] > 0 and result["peak_rss_mib"] > 0
    # The floor stores every row the full path accepted (it checks nothing), and times its parts.
    assert floor["rows"] == result["rows"]
    assert result["accepted"] <= floor["stored"] <= floor["rows"]
    assert floor["rows_per_second"] > 0
    parts = floor["read_seconds"] + floor["shape_seconds"] + floor["store_seconds"]
    assert parts <= floor["seconds"] + 0.02  # each figure is rounded to 10 ms
