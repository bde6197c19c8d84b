"""Serving the application for HTTP benchmarks: the production WSGI set-ups (granian, gunicorn
gthread, both with keep-alive), started on a free loopback port and stopped with their workers,
and the CPU time a process tree has used (/proc), e.g. a server's master and workers, or the
PostgreSQL server's backends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import harness

ROOT = Path(__file__).resolve().parent.parent


def server_command(server: str, workers: int, threads: int, port: int | str) -> list[str]:
    """The command of a production WSGI set-up with keep-alive: ``granian`` or ``gunicorn``."""
    if server == "granian":  # keep-alive is on by default
        return [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers)),
            *("--blocking-threads", str(threads), "--log-level", "warning"),
            "creditplus.wsgi:application",
        ]
    return [
        *(sys.executable, "-m", "gunicorn", "creditplus.wsgi:application", "-k", "gthread"),
        *("--workers", str(workers), "--threads", str(threads), "--keep-alive", "30"),
        *("--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"),
    ]


def start_server(command: list[str], env: dict[str, str], work: Path) -> tuple[Any, int]:
    """Start ``command`` (``{port}`` in it: a free loopback port) in its own process group;
    return it and the port once ``/healthz`` answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (work / "server.log").open("a")
    cmd = [part.replace("{port}", str(port)) for part in command]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            sys.exit("the server did not start:\n" + (work / "server.log").read_text()[-3000:])
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, CPU ticks used: user + system, CPU ticks of its children that ended and
    were waited for) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by process ``root`` and all its descendants, ended ones too."""
    procs = {int(p): stat(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, info in procs.items():
        if info:
            children.setdefault(info[0], []).append(pid)
    # Children that ended count too (PostgreSQL's backends and autovacuum workers come and go):
    # their time is the root's children time once it has waited for them.
    total, todo = procs[root][2] if procs.get(root) else 0, [root]
    while todo:
        pid = todo.pop()
        total += procs[pid][1] if procs.get(pid) else 0
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def postmaster_pid(url: str | None) -> int | None:
    """The PostgreSQL server's main process (its backends' CPU is the database's share)."""
    if not url:
        return None
    import psycopg

    with psycopg.connect(harness.pg_conninfo(url)) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        return stat(backend)[0]
