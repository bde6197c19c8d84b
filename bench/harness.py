"""The benchmarks' shared harness: database choice, one fresh child process per measured
step, the environment each step runs in, and the one ``RESULT {json}`` line per run.

A benchmark is a script (``python bench/NAME.py``); it imports this module by its plain name
from its own directory. The parent chooses the databases (:func:`databases`), runs each step
in a child process of its own (:func:`run_child`: the child reports with :func:`emit`, every
other line it prints is relayed) so that one step's caches and memory never flatter the next,
and prints a human summary followed by :func:`print_results`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHILD = "CHILD "


# --------------------------------------------------------------------------- children


def django_setup() -> None:
    """Set Django up in a child (its environment comes from :func:`bench_env`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
    import django

    django.setup()


def emit(payload: dict[str, Any]) -> None:
    """A child's result: one line that :func:`run_child` reads back."""
    print(CHILD + json.dumps(payload, ensure_ascii=False), flush=True)


def say(text: str) -> None:
    print(text, flush=True)


def peak_mib() -> int:
    """This process's peak resident memory in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class MemoryTrace:
    """This process's resident memory, sampled every ``interval`` seconds by a daemon thread,
    so that a benchmark can say which of its stages set the peak (``ru_maxrss`` says only
    how high it went). Linux (``/proc/self/statm``)."""

    def __init__(self, interval: float = 0.1) -> None:
        import threading
        import time

        self.samples: list[tuple[float, int]] = []  # (time.monotonic(), MiB)
        page = os.sysconf("SC_PAGE_SIZE")

        def sample() -> None:
            with open("/proc/self/statm") as statm:
                while True:
                    statm.seek(0)
                    resident = int(statm.read().split()[1]) * page
                    self.samples.append((time.monotonic(), round(resident / 2**20)))
                    time.sleep(interval)

        threading.Thread(target=sample, daemon=True, name="memory-trace").start()

    def peak(self, start: float, end: float) -> int:
        """The highest sample taken between ``start`` and ``end`` (monotonic seconds), MiB."""
        return max((mib for t, mib in list(self.samples) if start <= t <= end), default=0)


def cpu_seconds() -> float:
    """CPU seconds of this process so far (all threads): less sensitive than wall-clock time
    to other work on the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> float:
    """The machine's 1-minute load average: other work on a 2-core machine skews timings."""
    return round(os.getloadavg()[0], 2)


DAMON_ADMIN = Path("/sys/kernel/mm/damon/admin/kdamonds")


def proactive_reclaim(root: Path = DAMON_ADMIN) -> str:
    """Whether the kernel's DAMON reclaims memory untouched for a while ("pageout" schemes
    running: "on"; "off"; "none" without DAMON). Some VM hosts run it; it takes idle page
    cache back, so a database read after a quiet minute comes from the disk again
    (docs/ingest.md, the 22nd session's measurements): figures carry it with them."""
    states = []
    for kdamond in sorted(root.glob("[0-9]*")) if root.is_dir() else []:
        actions = {p.read_text().strip() for p in kdamond.glob("contexts/*/schemes/*/action")}
        if "pageout" in actions:
            states.append((kdamond / "state").read_text().strip())
    if not states:
        return "none"
    return "on" if "on" in states else "off"


def database_version() -> str:
    """'SQLite 3.x' or 'PostgreSQL 15.x': the server the child is connected to."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 'SQLite ' || sqlite_version()")
        else:
            cursor.execute("SELECT 'PostgreSQL ' || current_setting('server_version')")
        return cursor.fetchone()[0]


def analyze(table: str, *, vacuum: bool = True) -> None:
    """Fresh planner statistics after a bulk load (SQLite: of the whole database).
    PostgreSQL: VACUUM too, as autovacuum would have (index-only scans need the visibility
    map), unless ``vacuum`` is false."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
        else:
            cursor.execute(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} {table}")


def query_plans(run: Callable[..., Any], *args: Any) -> list[str]:
    """The database's plan of each statement ``run(*args)`` executes, one line each."""
    from django.db import connection

    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run(*args)
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    plans = []
    for sql, params in statements:
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            plans.append(" | ".join(str(r[-1]).strip() for r in cursor.fetchall()))
    return plans


# --------------------------------------------------------------------------- the parent


def bench_env(database_url: str, work: Path, *, production: bool = False) -> dict[str, str]:
    """The environment of a benchmark's children: its own database and var directory, DEBUG
    off; ``production`` adds the production checks with throwaway secrets (a served app)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditplus.settings",
        "DATABASE_URL": database_url,
        "CREDITPLUS_VAR_DIR": str(work),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    if production:
        (work / "static").mkdir(parents=True, exist_ok=True)
        env |= {
            "CREDITPLUS_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "CREDITPLUS_PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CREDITPLUS_AUDIT_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback, as behind a TLS-terminating proxy: no HTTPS redirect.
            "CREDITPLUS_SSL_REDIRECT": "false",
        }
    return env


def run_child(
    script: str, step: str, argv: Sequence[str], env: dict[str, str], indent: str = "  "
) -> dict[str, Any]:
    """Run ``script --child STEP ARGV…`` in a fresh process and return what it emitted;
    its other output is relayed as it comes. A failed step ends the benchmark."""
    cmd = [sys.executable, script, "--child", step, *argv]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    payload = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(CHILD):
            payload = json.loads(line[len(CHILD) :])
        elif line.strip():
            print(f"{indent}[{step}] {line.rstrip()}", flush=True)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0 or payload is None:
        sys.stderr.write(stderr[-5000:])
        sys.exit(f"child step {step} failed (exit {proc.returncode})")
    return payload


def add_database_option(parser: argparse.ArgumentParser, *, both: bool = True) -> None:
    """The ``--db`` option every benchmark takes (see :func:`database_names`)."""
    parser.add_argument(
        "--db",
        choices=["auto", "sqlite", "postgres", *(["both"] if both else [])],
        default="auto",
        help="auto: PostgreSQL when DATABASE_URL is one, else SQLite",
    )


def database_names(choice: str) -> list[str]:
    """The databases to measure: ``choice`` is ``auto`` (PostgreSQL when DATABASE_URL is
    one, else SQLite), ``sqlite``, ``postgres`` or ``both`` (PostgreSQL only when configured)."""
    is_pg = os.environ.get("DATABASE_URL", "").startswith("postgres")
    names = {
        "auto": ["postgres" if is_pg else "sqlite"],
        "sqlite": ["sqlite"],
        "postgres": ["postgres"],
        "both": ["sqlite", "postgres"] if is_pg else ["sqlite"],
    }[choice]
    if "postgres" in names and not is_pg:
        sys.exit("--db postgres needs DATABASE_URL (e.g. run under scripts/with-postgres.sh)")
    return names


def fresh_database(name: str, work: Path, suffix: str) -> str:
    """The URL of an empty database ``name`` (``sqlite`` or ``postgres``). SQLite: a file in
    ``work/sqlite/``. PostgreSQL: never the configured database itself, but a sibling
    database ``<name>_<suffix>`` on the same server, dropped and created again."""
    if name == "sqlite":
        (work / name).mkdir(parents=True, exist_ok=True)
        path = work / name / f"{suffix}.sqlite3"
        remove_sqlite(path)
        return f"sqlite:///{path}"
    base, db = os.environ["DATABASE_URL"].rsplit("/", 1)
    target = f"{base}/{db.split('?')[0]}_{suffix}"
    reset_postgres(target)
    return target


def databases(choice: str, work: Path, suffix: str) -> list[tuple[str, str]]:
    """(name, URL) of each empty database to measure (:func:`database_names`)."""
    return [(name, fresh_database(name, work, suffix)) for name in database_names(choice)]


def database_mib(url: str) -> int:
    """The size of the database of ``url`` in MiB (SQLite: the file and its WAL)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        files = [Path(f"{path}{end}") for end in ("", "-wal")]
        return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20)
    import psycopg

    with psycopg.connect(pg_conninfo(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(row[0] / 2**20)


def drop_database(url: str) -> None:
    """Remove the database of ``url``: an SQLite file (and its WAL), or a PostgreSQL database."""
    if url.startswith("sqlite:///"):
        remove_sqlite(Path(url.removeprefix("sqlite:///")))
    else:
        drop_postgres(url)


def remove_sqlite(path: Path) -> None:
    for end in ("", "-wal", "-shm"):
        Path(f"{path}{end}").unlink(missing_ok=True)


def print_results(results: Sequence[dict[str, Any]]) -> None:
    """The machine-readable end of every benchmark: one ``RESULT {json}`` line per run."""
    for r in results:
        print("RESULT " + json.dumps(r, ensure_ascii=False), flush=True)


# --------------------------------------------------------------------------- PostgreSQL


def pg_conninfo(url: str, dbname: str | None = None) -> str:
    """A libpq connection string for ``url``, optionally to another database on the server."""
    import dj_database_url

    cfg = dj_database_url.parse(url)
    info = (
        f"host={cfg['HOST']} port={cfg['PORT']} user={cfg['USER']} dbname={dbname or cfg['NAME']}"
    )
    if cfg.get("PASSWORD"):
        info += f" password={cfg['PASSWORD']}"
    return info


def drop_postgres(url: str) -> None:
    """Drop the database of ``url`` if it exists (closing its connections)."""
    import dj_database_url
    import psycopg

    name = dj_database_url.parse(url)["NAME"]
    with psycopg.connect(pg_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    """Drop and re-create the database of ``url``: every run starts empty."""
    import dj_database_url
    import psycopg

    drop_postgres(url)
    name = dj_database_url.parse(url)["NAME"]
    with psycopg.connect(pg_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of ``values`` by nearest rank (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


def latency_summary(samples: list[float]) -> dict[str, float]:
    """Count, p50 / p95 / p99 and max of latency samples in milliseconds."""
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "max_ms": round(max(samples), 2),
    }
