"""Soak benchmark (issue 16): the production set-up under the district's mixed load for a long
time — are the answers still fast and right at the end, and does memory stay flat?

    python bench/soak.py [--minutes 30] [--subjects 10000] [--db auto|sqlite|postgres]

1. build: a fresh database (harness), ``migrate``, ``load_reference``, ``demo_data --subjects
   N --load`` (the normal ingest path), a credit-check token (区财政局) and an upload token
   (区市场监管局), and a sample of registered subjects for the load.
2. serve: ``gunicorn creditplus.wsgi -k gthread`` with ``--workers``/``--threads`` and
   keep-alive, CREDITPLUS_ENV=production (harness.bench_env), loopback as the trusted proxy;
   one ``creditplus db_worker`` beside it for the uploaded files.
3. load: ``locust --headless`` with bench/soak_locust.py for ``--minutes``: public search and
   subject pages, credit checks, a daily batch upload every ``--upload-every`` seconds. Meanwhile
   the scheduled jobs (creditplus/operations/schedule.py) run as child processes when due,
   counted from the start (a job at minute 7 of every hour runs 7 minutes in, then hourly;
   ``--schedule-scale 60`` makes an hour a minute), and the RSS of the gunicorn processes and
   of the worker is sampled every ``--sample-every`` seconds.
4. report: throughput, p50/p99 and failures per route (locust's CSV stats), the jobs' runs,
   the uploads' outcome, RSS first/last/max and slope (MB per hour, least squares), and
   ``creditplus audit verify``. A RESULT line at the end.

Not part of ``make test`` (tests/bench/test_soak_bench.py runs it for ~30 s at a tiny size).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import harness
import psutil

sys.path.insert(0, str(harness.ROOT))
from creditplus.operations.schedule import SCHEDULE, Job

BIN = Path(sys.executable).parent
CLI = str(BIN / "creditplus")
LOCUSTFILE = Path(__file__).with_name("soak_locust.py")


def creditplus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [CLI, *args], env=env, cwd=harness.ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"creditplus {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done


# --------------------------------------------------------------------------- 1. build

SETUP = """
import json, random
from creditplus.accounts.services import issue_token
from creditplus.subjects.models import Subject
codes = list(Subject.objects.filter(kind="legal").exclude(uscc="")
             .values_list("uscc", "name")[:{sample}])
random.Random(16).shuffle(codes)
print(json.dumps({{"check": issue_token("CZJ", "soak-checks").key,
                  "upload": issue_token("SCJG", "soak-upload").key, "codes": codes}}))
"""


def build(env: dict[str, str], work: Path, subjects: int) -> dict[str, Any]:
    started = time.monotonic()
    creditplus(env, "migrate", "-v", "0")
    creditplus(env, "load_reference")
    creditplus(env, "demo_data", "--subjects", str(subjects), "--out", str(work / "demo"), "--load")
    out = creditplus(env, "shell", "-c", SETUP.format(sample=5000)).stdout
    setup = json.loads(out.strip().splitlines()[-1])
    if not setup["codes"]:
        sys.exit("no registered legal persons to load with")
    codes = work / "codes.txt"
    codes.write_text("".join(f"{code}\t{name}\n" for code, name in setup["codes"]))
    return {**setup, "codes": str(codes), "build_seconds": round(time.monotonic() - started, 1)}


# --------------------------------------------------------------------------- 2. serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_services(
    args: argparse.Namespace, env: dict[str, str], work: Path
) -> tuple[subprocess.Popen, subprocess.Popen, int]:
    port = free_port()
    log = (work / "gunicorn.log").open("a")
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "creditplus.wsgi", "-k", "gthread", "-w", str(args.workers),
         "--threads", str(args.threads), "--keep-alive", "30", "--timeout", "120",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        env=env, cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [CLI, "db_worker", "--no-reload"],
        env=env,
        cwd=harness.ROOT,
        stdout=(work / "worker.log").open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if web.poll() is not None or time.monotonic() > deadline:
            stop(web)
            stop(worker)
            sys.exit("gunicorn did not start:\n" + (work / "gunicorn.log").read_text()[-3000:])
        time.sleep(0.3)
    return web, worker, port


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --------------------------------------------------------------------------- 3. load


def first_due(job: Job) -> float:
    """Seconds from the start to the job's first run: its minute (and hour) within its
    interval, as cron would place it in a run started at the top of the day."""
    minute, hour, *_ = job.cron.split()
    offset = 0 if minute.startswith("*/") else int(minute) * 60
    if hour != "*":
        offset += int(hour) * 3600
    return float(offset)


class Scheduler(threading.Thread):
    """Runs each scheduled command as a child process when due (overlaps allowed, as cron
    allows them; the commands themselves refuse to run twice at once)."""

    def __init__(self, env: dict[str, str], work: Path, scale: float, seconds: float):
        super().__init__(daemon=True)
        self.env, self.scale, self.seconds = env, scale, seconds
        self.backups = work / "backups"
        self.runs: dict[str, list[dict[str, Any]]] = {j.name: [] for j in SCHEDULE}
        self.children: list[tuple[Job, float, subprocess.Popen, Path]] = []
        self.logs = work / "jobs"
        self.logs.mkdir(exist_ok=True)
        self.stopping = threading.Event()

    def argv(self, job: Job) -> list[str]:
        return [self.backups.as_posix() if a == "/var/backups/creditplus" else a for a in job.argv]

    def run(self) -> None:
        start = time.monotonic()
        due = {j.name: first_due(j) / self.scale for j in SCHEDULE}
        while not self.stopping.wait(0.5):
            now = time.monotonic() - start
            for job in SCHEDULE:
                if now >= due[job.name] and now < self.seconds:
                    due[job.name] += job.interval.total_seconds() / self.scale
                    # Output to a file: a pipe nobody reads would stall a chatty job.
                    log = self.logs / f"{job.name}-{now:.0f}.log"
                    with log.open("w") as out:
                        proc = subprocess.Popen(
                            [CLI, *self.argv(job)], env=self.env, cwd=harness.ROOT,
                            stdout=out, stderr=subprocess.STDOUT,
                        )  # fmt: skip
                    self.children.append((job, time.monotonic(), proc, log))
            self.reap()

    def reap(self, wait: bool = False) -> None:
        for entry in list(self.children):
            job, started, proc, log = entry
            if wait:
                proc.wait()
            if proc.poll() is not None:
                lines = log.read_text(errors="replace").strip().splitlines() or [""]
                self.runs[job.name].append(
                    {"seconds": round(time.monotonic() - started, 1), "exit": proc.returncode,
                     "error": lines[-1][-300:] if proc.returncode else ""}
                )  # fmt: skip
                self.children.remove(entry)


def process_rss(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def sample_rss(
    web: subprocess.Popen, worker: subprocess.Popen, every: float, until: float, out: list
) -> None:
    """RSS of the gunicorn master and workers (summed) and of the db_worker, until ``until``."""
    start = time.monotonic()
    while time.monotonic() < until:
        try:
            workers = [c.pid for c in psutil.Process(web.pid).children()]
        except psutil.NoSuchProcess:
            return
        out.append(
            {"t": round(time.monotonic() - start, 1), "workers": len(workers),
             "gunicorn_mb": round(process_rss([web.pid, *workers]), 1),
             "db_worker_mb": round(process_rss([worker.pid]), 1)}
        )  # fmt: skip
        time.sleep(every)


def write_samples(path: Path, samples: list[dict[str, Any]]) -> None:
    """The RSS samples over time, for a chart (docs/soak.md)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("seconds,workers,gunicorn_mb,db_worker_mb\n")
        for s in samples:
            out.write(f"{s['t']},{s['workers']},{s['gunicorn_mb']},{s['db_worker_mb']}\n")


def run_locust(args: argparse.Namespace, env: dict[str, str], work: Path, port: int) -> None:
    seconds = round(args.minutes * 60)
    done = subprocess.run(
        [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "-u", str(args.users),
         "-r", str(args.spawn_rate), "--run-time", f"{seconds}s", "--host",
         f"http://127.0.0.1:{port}", "--csv", str(work / "locust"), "--only-summary",
         "--stop-timeout", "30", "--loglevel", "WARNING"],
        env=env, cwd=harness.ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    (work / "locust.log").write_text(done.stdout + done.stderr)
    if not (work / "locust_stats.csv").exists():
        sys.exit("locust wrote no statistics:\n" + (done.stdout + done.stderr)[-3000:])


# --------------------------------------------------------------------------- 4. report


def ms(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def routes(work: Path) -> list[dict[str, Any]]:
    """Locust's per-route statistics (the Aggregated row last)."""
    with (work / "locust_stats.csv").open() as f:
        return [
            {"route": f"{r['Type']} {r['Name']}".strip(), "requests": int(r["Request Count"]),
             "failures": int(r["Failure Count"]), "rps": round(float(r["Requests/s"]), 2),
             "p50_ms": ms(r["50%"]), "p99_ms": ms(r["99%"])}
            for r in csv.DictReader(f)
        ]  # fmt: skip


def failures(work: Path) -> list[dict[str, Any]]:
    path = work / "locust_failures.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return [dict(r) for r in csv.DictReader(f)][:20]


def slope_mb_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if not var:
        return 0.0
    return round(sum((t - mean_t) * (m - mean_m) for t, m in points) / var * 3600, 1)


def rss_summary(samples: list[dict[str, Any]], key: str) -> dict[str, float]:
    # The first minute is warm-up (workers import the app on their first requests).
    warm = [s for s in samples if s["t"] >= min(60.0, samples[-1]["t"] / 4)] or samples
    values = [s[key] for s in warm]
    return {"first": values[0], "last": values[-1], "max": max(values),
            "slope_mb_per_hour": slope_mb_per_hour([(s["t"], s[key]) for s in warm])}  # fmt: skip


UPLOADS = """
import json
from django.db.models import Count
from creditplus.records.models import UploadJob
print(json.dumps(dict(UploadJob.objects.values_list("status").annotate(n=Count("pk")))))
"""


def uploads(env: dict[str, str]) -> dict[str, int]:
    """The upload jobs by status (queued, running, done, failed)."""
    return json.loads(creditplus(env, "shell", "-c", UPLOADS).stdout.strip().splitlines()[-1])


def finish(env: dict[str, str]) -> dict[str, Any]:
    verify = subprocess.run(
        [CLI, "audit", "verify"], env=env, cwd=harness.ROOT, capture_output=True, text=True
    )
    return {"uploads": uploads(env), "audit_ok": verify.returncode == 0,
            "audit": (verify.stdout + verify.stderr).strip().splitlines()[-1:]}  # fmt: skip


def report(result: dict[str, Any]) -> None:
    print(f"\n== soak: {result['minutes']} min, {result['database']}, {result['server']}, "
          f"{result['users']} users; load ~{result['load_average']}")  # fmt: skip
    print(f"{'route':46} {'requests':>9} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for r in result["routes"]:
        print(f"{r['route'][:46]:46} {r['requests']:>9} {r['failures']:>5} {r['rps']:>7} "
              f"{r['p50_ms']:>7.0f} {r['p99_ms']:>7.0f}")  # fmt: skip
    for name, runs in result["jobs"].items():
        if runs["runs"]:
            print(f"  job {name}: {runs['runs']} runs, {runs['failed']} failed, "
                  f"max {runs['max_seconds']} s")  # fmt: skip
    for key in ("gunicorn_mb", "db_worker_mb"):
        s = result["rss"][key]
        print(f"  RSS {key}: first {s['first']}, last {s['last']}, max {s['max']}, "
              f"slope {s['slope_mb_per_hour']} MB/h")  # fmt: skip
    print(f"  uploads: {result['uploads']}; audit verify: {'ok' if result['audit_ok'] else 'FAILED'}"
          f" {result['audit']}; errors: {result['errors']}")  # fmt: skip


def soak(args: argparse.Namespace, name: str, url: str, work: Path) -> dict[str, Any]:
    env = harness.bench_env(url, work, production=True)
    env["CREDITPLUS_TRUSTED_PROXIES"] = "127.0.0.1"  # the load's X-Forwarded-For is its client
    print(f"== {name}: build {args.subjects} subjects", flush=True)
    built = build(env, work, args.subjects)
    web, worker, port = start_services(args, env, work)
    seconds = args.minutes * 60
    scheduler = Scheduler(env, work, args.schedule_scale, seconds)
    samples: list[dict[str, Any]] = []
    sampler = threading.Thread(
        target=sample_rss,
        args=(web, worker, args.sample_every, time.monotonic() + seconds, samples),
    )
    print(f"== {name}: load for {args.minutes} min on :{port}", flush=True)
    try:
        scheduler.start()
        sampler.start()
        load_env = {**env, "SOAK_CODES": built["codes"], "SOAK_CHECK_TOKEN": built["check"],
                    "SOAK_UPLOAD_TOKEN": built["upload"], "SOAK_UPLOAD_ROWS": str(args.upload_rows),
                    "SOAK_UPLOAD_EVERY": str(args.upload_every), "SOAK_RUN": f"soak{os.getpid()}"}  # fmt: skip
        run_locust(args, load_env, work, port)
        scheduler.stopping.set()
        scheduler.join()
        scheduler.reap(wait=True)
        sampler.join()
        write_samples(work / "rss.csv", samples)
        deadline = time.monotonic() + 600  # the last upload's ingest
        while time.monotonic() < deadline and {"queued", "running"} & set(uploads(env)):
            time.sleep(2)
    finally:
        stop(web)
        stop(worker)
    end = finish(env)
    stats = routes(work)
    total = next((r for r in stats if r["route"].endswith("Aggregated")), None)
    jobs = {
        n: {"runs": len(r), "failed": sum(1 for x in r if x["exit"]),
            "max_seconds": max((x["seconds"] for x in r), default=0),
            "errors": sorted({x["error"] for x in r if x["error"]})}
        for n, r in scheduler.runs.items()
    }  # fmt: skip
    failed_jobs = sum(j["failed"] for j in jobs.values())
    failed_uploads = end["uploads"].get("failed", 0)
    return {
        "benchmark": "soak", "database": name, "minutes": args.minutes,
        "subjects": args.subjects, "users": args.users,
        "server": f"gunicorn gthread -w {args.workers} --threads {args.threads}",
        "load_average": harness.load_average(), "build_seconds": built["build_seconds"],
        "throughput_rps": total["rps"] if total else 0.0,
        "requests": total["requests"] if total else 0, "routes": stats,
        "errors": (total["failures"] if total else 0) + failed_jobs + failed_uploads,
        "failures": failures(work), "jobs": jobs, "uploads": end["uploads"],
        "rss": {k: rss_summary(samples, k) for k in ("gunicorn_mb", "db_worker_mb")},
        "rss_samples": len(samples), "audit_ok": end["audit_ok"], "audit": end["audit"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--db", default="auto", choices=["auto", "sqlite", "postgres", "both"])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--users", type=int, default=40, help="locust users (public and departments)"
    )
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--upload-every", type=float, default=180, help="seconds between uploads")
    parser.add_argument("--upload-rows", type=int, default=500)
    parser.add_argument("--schedule-scale", type=float, default=1.0)
    parser.add_argument("--sample-every", type=float, default=10)
    parser.add_argument("--work", type=Path, default=None, help="kept after the run if given")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="soak-"))
    results = []
    for name, url in harness.databases(args.db, work, "soak"):
        (work / name).mkdir(parents=True, exist_ok=True)
        result = soak(args, name, url, work / name)
        report(result)
        results.append(result)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    harness.print_results(results)


if __name__ == "__main__":
    main()
