"""The credit-check benchmark keeps working: run it at a tiny size on SQLite (a real gunicorn
server loaded by wrk, verification, bulk, statements per check) and check what it reports.
(Its figures come from full-size runs; nothing here is timed against the target.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

# The benchmark makes its own SQLite database: the PostgreSQL run of the suite would only
# repeat it (full PostgreSQL runs: scripts/with-postgres.sh … bench/checks.py --db postgres).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs on its own SQLite database; covered by the SQLite run",
    ),
]


def test_the_checks_benchmark_runs_and_reports(tmp_path):
    out = subprocess.run(
        [
            *(sys.executable, "bench/checks.py", "--db", "sqlite", "--subjects", "2000"),
            *("--seconds", "2", "--connections", "4,1", "--bulk-size", "300", "--bulk-reps", "1"),
            *("--work", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = [
        json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert len(results) == 1, out.stdout[-3000:]
    r = results[0]
    assert r["database"] == "sqlite"
    # the chosen set-up and the one it was chosen over, both with keep-alive
    assert "--interface wsgi" in r["servers"]["granian"]
    assert "-k gthread" in r["servers"]["gunicorn"]
    assert "--keep-alive 30" in r["servers"]["gunicorn"]
    assert r["subjects"] == 2000 and r["list_entries"] > 0
    # wrk ran /healthz and the check at each connection count on each server, without errors
    runs = {(x["server"], x["route"], x["connections"]): x for x in r["runs"]}
    routes = ("GET /healthz", "POST /api/v1/checks")
    servers = ("granian", "gunicorn")
    assert set(runs) == {(s, route, c) for s in servers for route in routes for c in (4, 1)}
    for run in r["runs"]:
        assert run["requests"] > 0 and run["errors"] == 0, run
        assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]
        assert run["server_cpu_ms"] > 0 and run["postgres_cpu_ms"] is None
    check = runs[("granian", "POST /api/v1/checks", 1)]
    # 90 % of the codes are registered subjects, the rest nobody's: both kinds were answered
    assert check["found"] > 0 and check["not_found"] > 0
    # every answered check was recorded and audited, once, and the chain verifies
    assert r["successful_checks"] > 0 and r["all_recorded"] and r["audit_chain_ok"]
    assert r["bulk_seconds_median"] > 0 and r["bulk_recorded_ok"] and r["bulk_http_ok"]
    assert 0 < r["bulk_cpu_seconds_median"]
    # token with user and permissions, matter rules, subject lookup; BEGIN, check row, chain head, audit
    # row, COMMIT: no query per list, measure or permission creeps back in. A hit on a
    # listed subject also writes the on-application measure's task (issue 18): a few more.
    sql = r["sql_per_check"]
    assert sql["unknown"] <= 10 and sql["registered"] <= 10 and sql["listed"] <= 14, sql
    assert set(r["target_met"]) == {"throughput_8", "p99_8", "p99_1", "server_cpu", "bulk"}


def test_postgresql_is_reached_through_its_socket_by_default(monkeypatch):
    """PostgreSQL runs connect through the server's Unix socket (--pg-via socket, the
    default), as an application on the database's own machine should (docs/deploy.md)."""
    import importlib.util

    import dj_database_url

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("checks_bench", ROOT / "bench" / "checks.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setenv("PG_SOCKET_DIR", "/tmp/creditplus-pg.AbC123")
    url = bench.socket_url("postgres://postgres@127.0.0.1:5433/creditplus_checks_bench")
    cfg = dj_database_url.parse(url)
    assert (cfg["HOST"], cfg["PORT"], cfg["USER"]) == (
        "/tmp/creditplus-pg.AbC123",
        5433,
        "postgres",
    )
    assert cfg["NAME"] == "creditplus_checks_bench"
    monkeypatch.delenv("PG_SOCKET_DIR")
    with pytest.raises(SystemExit, match="PG_SOCKET_DIR"):
        bench.socket_url("postgres://postgres@127.0.0.1:5433/creditplus_checks_bench")
