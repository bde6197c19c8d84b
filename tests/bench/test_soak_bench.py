"""The soak benchmark keeps working: run it for 30 seconds at a tiny size on SQLite (production
gunicorn, db_worker, locust, the schedule compressed 60 times) and check what it reports. Its
figures come from the 30-minute run on a quiet machine; nothing here is timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs on its own SQLite database; covered by the SQLite run",
    ),
]


def test_the_soak_benchmark_runs_and_reports(tmp_path):
    out = subprocess.run(
        [sys.executable, "bench/soak.py", "--db", "sqlite", "--minutes", "0.5",
         "--subjects", "100", "--users", "6", "--workers", "2", "--threads", "2",
         "--upload-every", "10", "--upload-rows", "50", "--schedule-scale", "60",
         "--sample-every", "2", "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = [line[7:] for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, out.stdout[-3000:]
    r = json.loads(lines[0])
    assert (r["benchmark"], r["database"], r["minutes"]) == ("soak", "sqlite", 0.5)
    routes = {x["route"]: x for x in r["routes"]}
    for route in ("GET /subjects/{code}/", "GET /search?q=", "POST /api/v1/checks",
                  "POST /api/v1/batches/file", "Aggregated"):  # fmt: skip
        assert routes[route]["requests"] > 0 and routes[route]["p99_ms"] > 0, route
    assert r["throughput_rps"] > 0 and r["errors"] == 0, r["failures"]
    # The schedule, 60 times faster: sanctions_maintain every 5 s, lists_maintain at 7 s.
    assert r["jobs"]["sanctions_maintain"]["runs"] >= 3 and r["jobs"]["lists_maintain"]["runs"]
    assert r["uploads"].get("done", 0) >= 2 and not r["uploads"].get("failed")
    assert r["rss_samples"] >= 5
    kept = (tmp_path / "sqlite" / "rss.csv").read_text().splitlines()
    assert (
        kept[0] == "seconds,workers,gunicorn_mb,db_worker_mb" and len(kept) == r["rss_samples"] + 1
    )
    for key in ("gunicorn_mb", "db_worker_mb"):
        assert 0 < r["rss"][key]["first"] <= r["rss"][key]["max"]
    assert r["audit_ok"] is True
    assert "== soak:" in out.stdout and "audit verify: ok" in out.stdout
