"""The search benchmark keeps working: run it at a tiny size on SQLite (build, write cost of
the indexes, indexed search, baseline) and check what it reports. (Its figures come from
full-size runs; nothing here is timed against the target.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

# The benchmark makes its own SQLite database: the PostgreSQL run of the suite would only
# repeat it (full PostgreSQL runs: scripts/with-postgres.sh … bench/search.py --db postgres).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs on its own SQLite database; covered by the SQLite run",
    ),
]


def test_the_search_benchmark_runs_and_reports(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "bench/search.py",
            "--db",
            "sqlite",
            "--subjects",
            "2000",
            "--fragments",
            "3",
            "--reps",
            "2",
            "--baseline-reps",
            "1",
            "--batch",
            "200",
            "--batch-reps",
            "1",
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
    assert r["database"] == "sqlite" and r["organisations"] == 2000
    assert r["subjects"] == r["organisations"] + r["persons"]
    latency = r["latency"]
    assert set(latency) == set(r["baseline_latency"]) >= {"2 chars", "3 chars", "4 chars", "all"}
    assert 0 < latency["all"]["p50_ms"] <= latency["all"]["p99_ms"] <= latency["all"]["max_ms"]
    assert r["batch_seconds_with_index"] > 0 and r["batch_seconds_without_index"] > 0
    assert set(r["index_build_seconds"]) == {"trigram", "order"}
    # what the benchmark checks besides time
    assert all(r["zhangjiang_found"].values()) and len(r["zhangjiang_found"]) == 4
    assert r["persons_found"] == 0
    assert r["counts_match_baseline"] and r["page_agrees_with_queryset"]
    assert r["hits"]["上海张江高科技园区开发股份有限公司"] == 1
    assert any("subjects_subject_name_fts" in step for step in r["plans"]["张江高科"])
    assert r["target_met"]
    # the benchmark cleans up its database unless told to keep it
    assert not list(tmp_path.glob("*.sqlite3"))
