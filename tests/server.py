"""A real creditplus server in a subprocess, on its own throwaway database.

Browser tests and other end-to-end tests talk to it over loopback. It uses a separate
database (a temporary SQLite file, or a temporary database on the test PostgreSQL cluster),
so that committed data never touches the transaction-per-test database of pytest-django.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class AppServer:
    url: str
    env: dict[str, str]

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a `creditplus` command against this server's database."""
        return subprocess.run(
            [sys.executable, "-m", "creditplus", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_python(env: dict[str, str], *args: str) -> str:
    """Run ``python ARGS`` from the project's root with ``env`` (e.g. pointing at a throwaway
    database); a failure fails the test with the end of its stderr. Returns its stdout."""
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@contextmanager
def throwaway_database(tmp: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp / 'server.sqlite3'}"
        return
    import psycopg

    cfg = dj_database_url.parse(url)
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    admin = f"host={cfg['HOST']} port={cfg['PORT']} user={cfg['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def app_server(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """Migrate a fresh database, load reference data, and serve it until the block ends.
    ``extra_env`` adds settings of this server only (e.g. its rate limits)."""
    with throwaway_database(tmp) as database_url:
        port = _free_port()
        env = {
            **os.environ,
            **(extra_env or {}),
            "DATABASE_URL": database_url,
            "CREDITPLUS_VAR_DIR": str(tmp),
        }
        server = AppServer(f"http://127.0.0.1:{port}", env)
        server.manage("migrate", "--noinput", "-v0")
        server.manage("load_reference")
        log = (tmp / "server.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "creditplus", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(server.url + "/healthz", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((tmp / "server.log").read_text()) from None
                    time.sleep(0.3)
            yield server
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
