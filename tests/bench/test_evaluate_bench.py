"""The evaluation benchmark keeps working: run it at a tiny size on SQLite (build the database,
full runs, incremental run, verification against a full run) and check what it reports.
(Its figures come from full-size runs; nothing here is timed against the target.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

# The benchmark makes its own SQLite database: the PostgreSQL run of the suite would only
# repeat it (full PostgreSQL runs: scripts/with-postgres.sh … bench/evaluate.py --db postgres).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs on its own SQLite database; covered by the SQLite run",
    ),
]

SUBJECTS = 1500
CHANGED = 60


def test_the_evaluation_benchmark_runs_and_reports(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "bench/evaluate.py",
            "--db",
            "sqlite",
            "--subjects",
            str(SUBJECTS),
            "--plan-subjects",
            "300",
            "--changed",
            str(CHANGED),
            "--sample",
            "40",
            "--work",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = [
        json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert len(results) == 1, out.stdout[-3000:]
    r = results[0]
    assert r["database"] == "sqlite"
    # the database was built like the demo data: organisations, persons, records, events, lists
    assert r["subjects"] == SUBJECTS and r["persons"] > 0 and r["relations"] == SUBJECTS
    assert r["records"] > 40 * SUBJECTS and 0 < r["events"] < r["records"]
    assert r["list_entries"] > 0 and r["build"]["cached"] is False
    for run in (r["full"], r["full_warm"]):
        assert run["evaluated"] == SUBJECTS  # every organisation, no natural person
        assert sum(run["grades"].values()) == SUBJECTS
        assert set(run["phases"]) == {"extract", "features", "score", "write"}
        assert run["seconds"] > 0 and run["peak_rss_mib"] > 0
        assert {"extract.events", "extract.records", "write.insert evaluation_score"} <= set(
            run["breakdown"]
        )
    # every grade occurs: the overrides (lists, serious events) and the indicators work
    assert all(n > 0 for n in r["full"]["grades"].values())
    inc = r["incremental"]
    assert inc["touched"] == CHANGED
    assert inc["evaluated"] >= CHANGED
    assert set(inc["phases"]) == {"extract", "features", "score", "write"}
    assert inc["touched_scores_changed"] > 0  # the new penalty lowered their scores
    ver = r["verify"]
    assert ver["sample"] == ver["sample_found"] == 40
    assert ver["mismatches"] == 0, ver["mismatch_examples"]
    assert ver["all_compared"] == SUBJECTS and ver["all_mismatches"] == 0
    assert r["target_met"]["verified"] and r["target_met"]["incremental_covers_touched"]
    assert set(r["targets"]) == {"full_seconds", "incremental_seconds", "peak_rss_mib"}
