"""The scheduled-job benchmark keeps working: at a tiny size on SQLite it builds the database,
ingests the daily batch, runs every scheduled job once and prints the table and a RESULT line.
(Its figures come from full-size runs; nothing here is timed against the targets.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from creditplus.operations.schedule import SCHEDULE
from tests.server import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs on its own SQLite database; covered by the SQLite run",
    ),
]


def test_the_jobs_benchmark_runs_every_scheduled_job_and_reports(tmp_path):
    out = subprocess.run(
        [
            *(sys.executable, "bench/jobs.py", "--db", "sqlite", "--subjects", "500"),
            *("--rows", "1000", "--work", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = [json.loads(x[7:]) for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert len(results) == 1, out.stdout[-3000:]
    r = results[0]
    assert r["database"] == "sqlite" and r["subjects"] == 500 and r["records"] > 10_000
    assert [j["job"] for j in r["jobs"]] == [j.name for j in SCHEDULE]
    assert [j["job"] for j in r["prepare"]] == [
        "portal_statistics",
        "opendata_publish",
        "evaluate_all",
    ]
    assert "提交 1000，新增 1000" in r["batch"]["summary"] and r["batch"]["rows"] > 1000
    jobs = {j["job"]: j for j in r["jobs"]}
    for j in r["jobs"]:
        assert j["seconds"] > 0 and 50 < j["peak_rss_mib"] < 2048 and j["rows"] >= 1, j
    # The daily publication compares with the day before's, and the statistics recount only
    # the batch's subjects.
    assert "首次发布" not in jobs["opendata_publish"]["summary"]
    assert "行政处罚" in jobs["portal_statistics"]["summary"]
    assert jobs["evaluate_changed"]["rows"] > 0
    table = out.stdout.split("RESULT ", 1)[0]
    assert "job                      |  seconds |   CPU s |  peak RSS | rows touched" in table
    for name in ("daily batch (ingest)", "integrity_compute", "audit_verify"):
        assert name in table
