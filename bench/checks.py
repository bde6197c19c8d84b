"""Credit-check benchmark: POST /api/v1/checks against the production server set-up
(gunicorn, several workers, DEBUG off, CREDITPLUS_ENV=production with throwaway secrets) on a
Pudong-scale database, with the load generator on the same machine; then a bulk check of
10,000 identifiers.

    .venv/bin/python bench/checks.py --subjects 300000                     # SQLite
    scripts/with-postgres.sh .venv/bin/python bench/checks.py --db postgres  # PostgreSQL
    .venv/bin/python bench/checks.py --subjects 2000 --seconds 2 --workers 2  # smoke size

Target (issue): ≥ 1,000 checks/s with p99 ≤ 20 ms over loopback, every check recorded and
audited; a bulk check of 10,000 identifiers ≤ 2 s.

Steps, per database (each on a fresh database; database work happens in child processes):

1. prepare (child): ``migrate``, ``load_reference``, N organisation subjects with valid
   unified social credit codes (bulk insert), ~3 % of them published members of the lists
   YZSX / SXBZX / SSWF (bulk insert), ``ANALYZE``, an API token for CZJ.
2. server: ``gunicorn creditplus.wsgi`` with ``--workers`` (and ``--threads``) on a free
   loopback port; wait for /healthz.
3. load: ``--clients`` processes × ``--client-threads`` threads, each with its own keep-alive
   ``http.client`` connection (closed loop; gunicorn's sync workers close it after each
   response, so the client reconnects — threaded workers, ``--threads`` > 1, keep it), POST
   /api/v1/checks for random codes (90 %
   registered subjects, 10 % valid but unknown codes), matter ZFCG, for ``--warmup`` +
   ``--seconds``; latency of every request; CPU used by server, clients and database.
4. verify (child): CreditCheck rows and AuditEvent rows "check.subject" both equal the number
   of successful requests; the audit chain verifies.
5. bulk: ``checks.check_many`` for ``--bulk-size`` codes in-process, ``--bulk-reps`` times
   (median), and the same through POST /api/v1/checks/bulk.
6. per-request cost (child): the WSGI application called in-process, one request at a time:
   ms per check and the SQL it runs.
7. profile (``--profile auto``: when below target): the load again, with one gunicorn worker
   under cProfile and a timer on every SQL statement; where that worker's time goes.

A human summary, then one line ``RESULT {json}`` per database, goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
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
from gunicorn_profile import SQL_LABELS
from harness import percentile, pg_conninfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MATTER = "ZFCG"
LIST_TYPES = ("YZSX", "SXBZX", "SSWF")
TARGET_RATE = 1000.0
TARGET_P99_MS = 20.0
TARGET_BULK_S = 2.0

# --------------------------------------------------------------------------- children


def make_usccs(count: int, seed: int) -> list[str]:
    """``count`` distinct valid codes 91 310115 <organisation code> <check>: enterprises
    registered in Pudong, check characters from the demo generator's identifier code."""
    import numpy as np
    import polars as pl

    from creditplus.records.demo.identifiers import org_check_chars, with_uscc_check

    rng = np.random.default_rng(seed)
    nums = np.unique(rng.integers(0, 10**8, size=int(count * 1.2) + 1000))
    while len(nums) < count:  # practically never
        nums = np.unique(np.concatenate([nums, rng.integers(0, 10**8, size=count)]))
    rng.shuffle(nums)
    org8 = [f"{n:08d}" for n in nums[:count].tolist()]
    m8 = np.frombuffer("".join(org8).encode(), np.uint8).reshape(-1, 8)
    checks = org_check_chars(m8).tobytes().decode()
    bodies = pl.Series([f"91310115{o}{c}" for o, c in zip(org8, checks, strict=True)])
    return with_uscc_check(bodies).to_list()


def child_prepare(args: argparse.Namespace) -> None:
    harness.django_setup()
    import random
    from datetime import timedelta
    from io import StringIO

    import polars as pl
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from stdnum.cn import uscc as stdnum_uscc

    from creditplus.accounts.models import Department
    from creditplus.accounts.services import issue_token
    from creditplus.bulk import fetch_frame, insert_frame, timestamp_text
    from creditplus.catalog.choices import SubjectKind
    from creditplus.identifiers import uscc_checks
    from creditplus.lists.choices import EntryOrigin, EntryStatus, ListOrigin
    from creditplus.lists.models import ListEntry, ListType
    from creditplus.subjects.models import Subject

    work = Path(args.work)
    t0 = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())
    setup_seconds = time.monotonic() - t0

    n = args.subjects
    unknown_n = max(500, n // 10)
    t = time.monotonic()
    codes = make_usccs(n + unknown_n, args.seed)
    existing, unknown = codes[:n], codes[n:]
    checked = uscc_checks(pl.Series("code", codes))
    bad = checked.filter(checked["error"].is_not_null()).height
    rng = random.Random(args.seed)
    oracle = rng.sample(codes, min(2000, len(codes)))
    if bad or not all(stdnum_uscc.is_valid(c) for c in oracle):
        sys.exit(f"generated invalid codes: {bad} rejected by uscc_checks")
    generate_seconds = time.monotonic() - t

    now = timezone.now()
    stamp = timestamp_text(now)
    subjects = pl.DataFrame(
        {
            "kind": pl.Series([SubjectKind.LEGAL.value] * n, dtype=pl.String),
            "uscc": pl.Series(existing, dtype=pl.String),
            "id_cipher": "",
            "id_masked": "",
            "name": pl.Series([f"浦东基准测试{i:06d}号科技有限公司" for i in range(n)]),
            "legal_rep_name": "",
            "enterprise_type": "有限责任公司",
            "industry": "软件和信息技术服务业",
            "address": "上海市浦东新区张江路1号",
            "status": "存续",
            "business_scope": "",
            "registered": True,
            "created_at": stamp,
            "changed_at": stamp,
        }
    )
    fields = {f.name: f.column for f in Subject._meta.concrete_fields}
    subjects = subjects.rename({c: fields[c] for c in subjects.columns})
    t = time.monotonic()
    with transaction.atomic():
        insert_frame(Subject._meta.db_table, subjects)
    subjects_seconds = time.monotonic() - t

    # ~3 % of the subjects are members of a list; a tenth of those of a second one.
    ids = fetch_frame(f"SELECT id FROM {connection.ops.quote_name(Subject._meta.db_table)}")[
        "id"
    ].to_list()
    members = rng.sample(ids, max(1, round(len(ids) * 0.03)))
    types = {t.code: t for t in ListType.objects.filter(code__in=LIST_TYPES)}
    fallback = Department.objects.get(code="SCJG")
    today = timezone.localdate()
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "list_type_id",
            "subject_id",
            "origin",
            "status",
            "department_id",
            "reason",
            "basis",
            "decision_no",
            "source_key",
            "proposed_at",
            "proposed_by",
            "decided_on",
            "published_on",
            "restoration_from",
            "publish_until",
            "end_reason",
            "updated_at",
        )
    }
    for i, subject_id in enumerate(members):
        chosen = rng.sample(LIST_TYPES, 2 if rng.random() < 0.1 else 1)
        for code in chosen:
            list_type = types[code]
            decided = today - timedelta(days=rng.randint(1, 700))
            external = list_type.origin == ListOrigin.EXTERNAL
            rows["list_type_id"].append(list_type.pk)
            rows["subject_id"].append(subject_id)
            # Imported entries are unique per (list, source_key) while live, so each gets
            # its own source key; district entries keep the empty one.
            rows["origin"].append(EntryOrigin.IMPORTED.value if external else "manual")
            rows["status"].append(EntryStatus.PUBLISHED.value)
            rows["department_id"].append(list_type.deciding_department_id or fallback.pk)
            rows["reason"].append("基准测试：严重失信行为")
            rows["basis"].append("《基准测试认定办法》第三条")
            rows["decision_no"].append(f"浦基准〔{decided.year}〕{i:06d}号")
            rows["source_key"].append(f"BENCH-{code}-{subject_id}" if external else "")
            rows["proposed_at"].append(stamp)
            rows["proposed_by"].append("bench")
            rows["decided_on"].append(decided.isoformat())
            rows["published_on"].append(decided.isoformat())
            rows["restoration_from"].append((decided + timedelta(days=365)).isoformat())
            rows["publish_until"].append((decided + timedelta(days=3 * 365)).isoformat())
            rows["end_reason"].append("")
            rows["updated_at"].append(stamp)
    entries = pl.DataFrame(rows)
    fields = {f.name: f.column for f in ListEntry._meta.concrete_fields} | {
        f.attname: f.column for f in ListEntry._meta.concrete_fields
    }
    entries = entries.rename({c: fields[c] for c in entries.columns})
    t = time.monotonic()
    with transaction.atomic():
        insert_frame(ListEntry._meta.db_table, entries)
    entries_seconds = time.monotonic() - t

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    token = issue_token("CZJ", "bench").key
    (work / "token.txt").write_text(token, encoding="utf-8")
    (work / "codes.json").write_text(
        json.dumps({"existing": existing, "unknown": unknown}), encoding="utf-8"
    )
    harness.emit(
        {
            "database": connection.vendor,
            "subjects": Subject.objects.count(),
            "list_entries": ListEntry.objects.members().count(),
            "listed_subjects": len(members),
            "setup_seconds": round(setup_seconds, 1),
            "generate_seconds": round(generate_seconds, 1),
            "subjects_insert_seconds": round(subjects_seconds, 1),
            "entries_insert_seconds": round(entries_seconds, 2),
        }
    )


def _bulk_codes(codes: dict[str, list[str]], size: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    known = round(size * 0.9)
    pick = rng.sample if len(codes["existing"]) >= known else rng.choices
    out = list(pick(codes["existing"], k=known))
    out += rng.choices(codes["unknown"], k=size - known)
    rng.shuffle(out)
    return out


def child_verify(args: argparse.Namespace) -> None:
    """Count what the load wrote, verify the audit chain, then time check_many."""
    harness.django_setup()
    import statistics

    from creditplus.accounts import audit
    from creditplus.accounts.models import ApiToken, AuditEvent
    from creditplus.sanctions import checks
    from creditplus.sanctions.models import CreditCheck

    recorded = CreditCheck.objects.filter(batch="").count()
    audited = AuditEvent.objects.filter(action="check.subject").count()
    t = time.monotonic()
    chain = audit.verify()
    verify_seconds = time.monotonic() - t

    codes = json.loads((Path(args.work) / "codes.json").read_text(encoding="utf-8"))
    token = ApiToken.objects.select_related("user__department").get(name="bench")
    user = token.user
    ctx = audit.context_for_user(user, token=token.name, request_id="bench-bulk")
    times, hits = [], []
    with audit.audit_context(ctx):
        for rep in range(args.bulk_reps):
            batch = _bulk_codes(codes, args.bulk_size, seed=1000 + rep)
            t = time.monotonic()
            result = checks.check_many(user, batch, MATTER, "基准测试：批量核查")
            times.append(time.monotonic() - t)
            hits.append(result.hits)
            assert result.checked == len(batch)
    bulk_recorded = CreditCheck.objects.exclude(batch="").count()
    bulk_audited = AuditEvent.objects.filter(action="check.subject").count() - audited
    median = statistics.median(times)
    bulk_profile = None
    if args.profile == "always" or (args.profile == "auto" and median > TARGET_BULK_S):
        with audit.audit_context(ctx):
            bulk_profile = _profile_bulk(user, _bulk_codes(codes, args.bulk_size, seed=999))
    harness.emit(
        {
            "bulk_profile": bulk_profile,
            "recorded_checks": recorded,
            "audited_checks": audited,
            "audit_chain_ok": chain.ok,
            "audit_events_verified": chain.checked,
            "audit_verify_seconds": round(verify_seconds, 2),
            "bulk_seconds": [round(x, 3) for x in times],
            "bulk_seconds_median": round(median, 3),
            "bulk_hits": hits,
            "bulk_recorded_ok": bulk_recorded == bulk_audited == args.bulk_size * args.bulk_reps,
        }
    )


BULK_FUNCTIONS = [
    ("check_many, total", "creditplus/sanctions/checks.py", "check_many"),
    ("  identifier validation (Polars)", "creditplus/identifiers.py", "uscc_checks"),
    (
        "  identifier validation (Polars)",
        "creditplus/identifiers.py",
        "resident_id_checks",
    ),
    ("  lookup (subjects, memberships, grades)", "creditplus/sanctions/checks.py", "lookup"),
    ("  _answer (per distinct answer)", "creditplus/sanctions/checks.py", "_answer"),
    ("  model instances (__init__, all models)", "django/db/models/base.py", "__init__"),
    ("  reserve_ids (check ids)", "creditplus/bulk.py", "reserve_ids"),
    ("  insert_rows (check rows, then audit rows)", "creditplus/bulk.py", "insert_rows"),
    ("  audit.record_many", "creditplus/accounts/audit.py", "record_many"),
    ("    audit._append (under the chain lock)", "creditplus/accounts/audit.py", "_append"),
    ("    AuditEvent.canonical (row JSON)", "creditplus/accounts/models.py", "canonical"),
    ("    AuditEvent.chain_hash (HMAC)", "creditplus/accounts/models.py", "chain_hash"),
    ("  transaction exit (commit)", "django/db/transaction.py", "__exit__"),
]


def _profile_bulk(user: Any, codes: list[str]) -> dict[str, Any]:
    """One more check_many under cProfile, with every SQL statement timed."""
    import cProfile
    import pstats
    import re

    from django.db import connection

    from creditplus.sanctions import checks

    pattern = re.compile(r'^\s*(\w+).*?(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.S | re.I)
    sql: dict[str, list[float]] = {}

    def timer(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            m = pattern.match(query)
            key = f"{m.group(1).upper()} {m.group(2)}" if m else query.split()[0].upper()
            key = next((label for part, label in SQL_LABELS if part in query), key)
            entry = sql.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - t

    prof = cProfile.Profile()
    t = time.perf_counter()
    with connection.execute_wrapper(timer):
        prof.enable()
        checks.check_many(user, codes, MATTER, "基准测试：批量核查（剖析）")
        prof.disable()
    wall = time.perf_counter() - t
    stats = pstats.Stats(prof)
    functions = []
    for label, suffix, name in BULK_FUNCTIONS:
        cum, calls = 0.0, 0
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
            if func == name and filename.replace("\\", "/").endswith(suffix):
                cum += ct
                calls += nc
        if calls:
            functions.append({"what": label, "seconds": round(cum, 3), "calls": calls})
    return {
        "codes": len(codes),
        "seconds_under_profiler": round(wall, 3),
        "functions": functions,
        "sql": {
            k: {"statements": n, "seconds": round(s, 3)}
            for k, (n, s) in sorted(sql.items(), key=lambda kv: -kv[1][1])
        },
        "top_self_time": [
            {
                "function": f"{Path(fn).name}:{ln}({func})" if fn != "~" else func,
                "seconds": round(tt, 3),
            }
            for (fn, ln, func), (_cc, _nc, tt, _ct, _callers) in sorted(
                stats.stats.items(), key=lambda kv: kv[1][2], reverse=True
            )[:12]
        ],
    }


def child_cost(args: argparse.Namespace) -> None:
    """The WSGI application called in-process, one request at a time (no HTTP, no
    concurrency): CPU cost and SQL of one check."""
    harness.django_setup()
    import io
    import random
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from creditplus.lists.models import ListEntry
    from creditplus.wsgi import application

    work = Path(args.work)
    token = (work / "token.txt").read_text(encoding="utf-8")
    codes = json.loads((work / "codes.json").read_text(encoding="utf-8"))
    listed = (
        ListEntry.objects.members().values_list("subject__uscc", flat=True).order_by("id").first()
    )

    def call(code: str) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"subject": code, "matter": MATTER, "purpose": "基准测试"}).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/checks",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        chunks = application(environ, lambda s, h, exc=None: status.append(s))
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return int(status[0].split()[0]), json.loads(data)

    call(codes["existing"][0])  # warm caches, imports, connection
    queries = {}
    for label, code in [
        ("listed", listed),
        ("registered", codes["existing"][1]),
        ("unknown", codes["unknown"][0]),
    ]:
        connection.ensure_connection()
        with CaptureQueriesContext(connection) as captured:
            status, answer = call(code)
        queries[label] = {
            "status": status,
            "lists": len(answer.get("lists", [])),
            "measures": len(answer.get("measures", [])),
            "sql": [q["sql"][:160] for q in captured.captured_queries],
        }
    rng = random.Random(7)
    wall, cpu = [], []
    for _ in range(args.cost_requests):
        code = rng.choice(codes["existing"] if rng.random() < 0.9 else codes["unknown"])
        w, c = time.perf_counter(), time.process_time()
        call(code)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    harness.emit(
        {
            "inprocess_requests": len(wall),
            "inprocess_ms_per_check": round(statistics.mean(wall) * 1000, 2),
            "inprocess_cpu_ms_per_check": round(statistics.mean(cpu) * 1000, 2),
            "queries": queries,
        }
    )


# --------------------------------------------------------------------------- load generator


def _client(job: tuple) -> dict[str, Any]:
    """One load-generator process: ``threads`` closed-loop clients, each with its own
    keep-alive connection."""
    import http.client
    import random

    port, token, codes_path, start_at, measure_from, end_at, threads, seed, baseline = job
    codes = json.loads(Path(codes_path).read_text(encoding="utf-8"))
    existing, unknown = codes["existing"], codes["unknown"]
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    results: list[list[tuple[float, float, int, bool]]] = [[] for _ in range(threads)]

    def run(slot: int) -> None:
        rng = random.Random(seed * 1000 + slot)
        out = results[slot]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            began = time.time()
            if began >= end_at:
                break
            known = rng.random() < 0.9
            code = rng.choice(existing if known else unknown)
            body = json.dumps({"subject": code, "matter": MATTER, "purpose": "基准测试：政府采购"})
            t0 = time.perf_counter()
            try:
                if baseline:
                    conn.request("GET", "/healthz")
                else:
                    conn.request("POST", "/api/v1/checks", body, headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, data = -1, b""
            latency = time.perf_counter() - t0
            right = True
            if status == 200 and not baseline:
                answer = json.loads(data)
                right = answer.get("found") is known and answer.get("subject") == code
            out.append((began, latency, status, right))
        conn.close()

    cpu0 = os.times()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    # CPU used by this client process inside the measurement window
    while time.time() < measure_from:
        time.sleep(0.01)
    cpu_a = os.times()
    for w in workers:
        w.join()
    cpu_b = os.times()
    del cpu0
    rows = [r for slot in results for r in slot]
    return {
        "rows": rows,
        "cpu_window": (cpu_b.user + cpu_b.system) - (cpu_a.user + cpu_a.system),
    }


def run_load(
    args: argparse.Namespace,
    port: int,
    work: Path,
    seconds: float,
    warmup: float,
    baseline: bool = False,
) -> dict[str, Any]:
    """Closed-loop load on POST /api/v1/checks (or, ``baseline``, on GET /healthz: one
    ``SELECT 1`` through the same server, middleware and client — the set-up's floor)."""
    import multiprocessing as mp

    token = (work / "token.txt").read_text(encoding="utf-8")
    start_at = time.time() + 1.5  # let the client processes start and load the codes
    measure_from = start_at + warmup
    end_at = measure_from + seconds
    jobs = [
        (
            port,
            token,
            str(work / "codes.json"),
            start_at,
            measure_from,
            end_at,
            args.client_threads,
            i + 1,
            baseline,
        )
        for i in range(args.clients)
    ]
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.clients) as pool:
        pending = pool.map_async(_client, jobs)
        while time.time() < measure_from:
            time.sleep(0.01)
        cpu_before = cpu_snapshot(args._server_pid)
        pg_sampler = PgSampler(args._pg_url) if args._pg_url and not baseline else None
        while time.time() < end_at:
            time.sleep(0.01)
        if pg_sampler:
            pg_sampler.stop()
        cpu_after = cpu_snapshot(args._server_pid)
        parts = pending.get(timeout=seconds + warmup + 120)
    rows = [r for p in parts for r in p["rows"]]
    window = [r for r in rows if measure_from <= r[0] < end_at]
    ok = [r for r in window if r[2] == 200]
    lat = sorted(r[1] * 1000 for r in ok)
    statuses: dict[str, int] = {}
    for r in window:
        if r[2] != 200:
            statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    elapsed = cpu_after["wall"] - cpu_before["wall"]
    cpu = {
        k: round((cpu_after[k] - cpu_before[k]) / elapsed, 2)
        for k in ("server", "postgres", "machine_busy")
    }
    cpu["clients"] = round(sum(p["cpu_window"] for p in parts) / elapsed, 2)
    # kernel time for loopback TCP not charged to a process, and anything else running
    cpu["unattributed"] = round(
        cpu["machine_busy"] - cpu["server"] - cpu["postgres"] - cpu["clients"], 2
    )
    cpu["cores"] = os.cpu_count()
    # CPU per check: less sensitive than throughput to whatever else shares the machine, and
    # it gives the ceiling of this set-up on this machine's cores.
    per_check = {
        k: round(cpu[k] * seconds * 1000 / max(1, len(ok)), 2)
        for k in ("server", "postgres", "clients")
    }
    total_ms = sum(per_check.values())
    per_check["ceiling_checks_per_second"] = (
        round(cpu["cores"] * 1000 / total_ms) if total_ms else 0
    )
    return {
        "seconds": seconds,
        "concurrency": args.clients * args.client_threads,
        "checks": len(ok),
        "checks_per_second": round(len(ok) / seconds, 1),
        "p50_ms": round(percentile(lat, 50), 2),
        "p95_ms": round(percentile(lat, 95), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "max_ms": round(lat[-1], 2) if lat else 0.0,
        "errors": len(window) - len(ok),
        "error_statuses": statuses,
        "wrong_answers": sum(1 for r in ok if not r[3]),
        "successful_total": sum(1 for r in rows if r[2] == 200),
        "requests_total": len(rows),
        "cpu_cores_used": cpu,
        "cpu_ms_per_check": per_check,
        "pg_backends": pg_sampler.summary() if pg_sampler else None,
    }


def background_cores(seconds: float = 2.0) -> float:
    """Cores kept busy by other work on the machine while the server is idle: the
    benchmark shares two cores with whatever else runs, so it reports this."""
    a = cpu_snapshot(-1)
    time.sleep(seconds)
    b = cpu_snapshot(-1)
    return round((b["machine_busy"] - a["machine_busy"]) / (b["wall"] - a["wall"]), 2)


def _proc_stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, utime+stime in ticks, comm) of a process from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), comm


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn master and workers, of PostgreSQL's processes, and
    of the whole machine (busy time over all cores)."""
    tick = os.sysconf("SC_CLK_TCK")
    server = postgres = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat is None:
            continue
        ppid, ticks, comm = stat
        if int(entry) == server_pid or ppid == server_pid:
            server += ticks
        elif comm == "postgres":
            postgres += ticks
    line = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(x) for x in line]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return {
        "wall": time.monotonic(),
        "server": server / tick,
        "postgres": postgres / tick,
        "machine_busy": busy / tick,
    }


class PgSampler:
    """Samples pg_stat_activity ten times a second: how many of the server's sessions are
    running a statement, waiting for a lock (the audit chain's advisory lock), idle in a
    transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[dict[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(pg_conninfo(self.url), autocommit=True) as conn:
            pid = conn.info.backend_pid
            while not self._stop.wait(0.1):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> %s AND backend_type = 'client backend'",
                    [pid],
                ).fetchall()
                sample = {"sessions": len(rows), "active": 0, "lock_wait": 0, "idle_in_tx": 0}
                for state, wtype, _event in rows:
                    if state == "active":
                        sample["active"] += 1
                        if wtype == "Lock":
                            sample["lock_wait"] += 1
                    elif state and state.startswith("idle in transaction"):
                        sample["idle_in_tx"] += 1
                self.samples.append(sample)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self) -> dict[str, float]:
        if not self.samples:
            return {}
        n = len(self.samples)
        return {
            "samples": n,
            **{
                f"mean_{k}": round(sum(s[k] for s in self.samples) / n, 2)
                for k in ("sessions", "active", "lock_wait", "idle_in_tx")
            },
        }


# --------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    args: argparse.Namespace, env: dict[str, str], work: Path, config: Path | None = None
) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    log = (work / "gunicorn.log").open("a")
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "creditplus.wsgi:application",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    if config is not None:
        cmd += ["--config", str(config)]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            sys.exit("gunicorn did not start:\n" + (work / "gunicorn.log").read_text()[-3000:])
        time.sleep(0.2)
    # Every worker imports the application lazily on its first request: touch them all.
    for _ in range(args.workers * 4):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
    return proc, port


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: workers finish and run worker_exit
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def http_bulk(port: int, work: Path, size: int, reps: int) -> dict[str, Any]:
    import http.client
    import statistics

    token = (work / "token.txt").read_text(encoding="utf-8")
    codes = json.loads((work / "codes.json").read_text(encoding="utf-8"))
    times, ok = [], True
    for rep in range(reps):
        body = json.dumps(
            {
                "subjects": _bulk_codes(codes, size, seed=2000 + rep),
                "matter": MATTER,
                "purpose": "基准测试：批量核查",
            }
        )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        t = time.monotonic()
        conn.request(
            "POST",
            "/api/v1/checks/bulk",
            body,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        data = resp.read()
        times.append(time.monotonic() - t)
        conn.close()
        ok = ok and resp.status == 200 and json.loads(data)["checked"] == size
    return {
        "bulk_http_seconds": [round(x, 3) for x in times],
        "bulk_http_seconds_median": round(statistics.median(times), 3),
        "bulk_http_ok": ok,
        "bulk_http_response_mib": round(len(data) / 2**20, 2),
    }


# --------------------------------------------------------------------------- profile analysis

KEY_FUNCTIONS = [
    # (label, file suffix, function name)
    ("whole request in the app (WSGIHandler.__call__)", "django/core/handlers/wsgi.py", "__call__"),
    (
        "Django handler + middleware chain (incl. the view)",
        "django/core/handlers/base.py",
        "get_response",
    ),
    ("ninja: auth + parse + validate + view + serialise", "ninja/operation.py", "run"),
    (
        "  Bearer auth: authenticate_token (token lookup)",
        "creditplus/accounts/services.py",
        "authenticate_token",
    ),
    ("  view: check_subject body", "creditplus/sanctions/checks.py", "check_subject"),
    ("    matter_rules (one statement)", "creditplus/sanctions/checks.py", "matter_rules"),
    ("    lookup (subject, memberships, grade)", "creditplus/sanctions/checks.py", "lookup"),
    ("    insert_row (check row, audit row)", "creditplus/bulk.py", "insert_row"),
    ("    audit.record (chain head + insert)", "creditplus/accounts/audit.py", "record"),
    ("      _lock_chain (pg advisory lock)", "creditplus/accounts/audit.py", "_lock_chain"),
    ("      AuditEvent.chain_hash (HMAC)", "creditplus/accounts/models.py", "chain_hash"),
    ("  transaction exit (commit / release savepoint)", "django/db/transaction.py", "__exit__"),
    (
        "  BEGIN IMMEDIATE (SQLite write lock)",
        "django/db/backends/sqlite3/base.py",
        "_start_transaction_under_autocommit",
    ),
    ("  response serialisation (ninja renderer)", "ninja/renderers.py", "render"),
    ("  response validation (pydantic schema)", "ninja/operation.py", "_result_to_response"),
    ("connection open (per request on SQLite)", "django/db/backends/base/base.py", "connect"),
    ("connection close (request_finished)", "django/db/__init__.py", "close_old_connections"),
]


def _component(filename: str, func: str) -> str:
    f = filename.replace("\\", "/")
    if filename == "~":
        if "sqlite" in func.lower() or "psycopg" in func or "wait" in func or "poll" in func:
            return "database driver (incl. waiting for the DB / locks)"
        if "json" in func:
            return "json (C)"
        return "other builtins"
    for key, label in (
        ("/psycopg", "database driver (incl. waiting for the DB / locks)"),
        ("/sqlite3/", "django sqlite backend"),
        ("/ninja/", "django-ninja"),
        ("/pydantic", "pydantic"),
        ("/django/db/", "django ORM"),
        ("/django/", "django (request/middleware/other)"),
        ("/creditplus/", "creditplus application code"),
        ("/json/", "json"),
        ("/gunicorn/", "gunicorn"),
    ):
        if key in f:
            return label
    return "other python"


def analyse_profile(prof_dir: Path, database: str) -> dict[str, Any]:
    import pstats

    summary = json.loads((prof_dir / "worker.json").read_text())
    stats = pstats.Stats(str(prof_dir / "worker.prof"))
    requests = max(1, summary["requests"])
    key = []
    for label, suffix, name in KEY_FUNCTIONS:
        cum, calls = 0.0, 0
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
            if func == name and filename.replace("\\", "/").endswith(suffix):
                if name == "__call__" and "WSGIHandler" not in _source_line(filename, _line):
                    continue
                cum += ct
                calls += nc
        if calls:
            key.append(
                {
                    "what": label,
                    "ms_per_request": round(cum * 1000 / requests, 3),
                    "calls_per_request": round(calls / requests, 2),
                }
            )
    components: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        c = _component(filename, func)
        components[c] = components.get(c, 0.0) + tt
    total = sum(components.values()) or 1.0
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    sql = {
        k: {"per_request": round(n / requests, 2), "ms_per_request": round(s * 1000 / requests, 3)}
        for k, (n, s) in sorted(summary["sql"].items(), key=lambda kv: -kv[1][1])
    }
    span = (summary["last"] or 0) - (summary["first"] or 0)
    return {
        "database": database,
        "requests_profiled": summary["requests"],
        "wall_ms_per_request": round(summary["wall"] * 1000 / requests, 3),
        "cpu_ms_per_request": round(summary["cpu"] * 1000 / requests, 3),
        "busy_fraction": round(summary["wall"] / span, 2) if span > 0 else None,
        "key_functions": key,
        "self_time_by_component": {
            k: f"{v / total:.0%}" for k, v in sorted(components.items(), key=lambda kv: -kv[1])
        },
        "top_self_time": [
            {
                "function": f"{Path(fn).name}:{ln}({func})" if fn != "~" else func,
                "ms_per_request": round(tt * 1000 / requests, 3),
            }
            for (fn, ln, func), (_cc, _nc, tt, _ct, _callers) in top
        ],
        "sql_per_request": sql,
        "sql_ms_per_request_total": round(
            sum(s for _n, s in summary["sql"].values()) * 1000 / requests, 3
        ),
    }


def _source_line(filename: str, line: int) -> str:
    """The class a method belongs to, roughly: the source around the line."""
    try:
        lines = Path(filename).read_text().splitlines()
    except OSError:
        return ""
    for i in range(line - 1, -1, -1):
        if lines[i].startswith("class "):
            return lines[i]
    return ""


# --------------------------------------------------------------------------- orchestration


def _child(step: str, args: argparse.Namespace, env: dict[str, str], work: Path) -> dict:
    """One step in a fresh process (harness.run_child), with this run's options."""
    options = ("subjects", "seed", "bulk_size", "bulk_reps", "cost_requests", "profile")
    argv = ["--work", str(work)]
    for name in options:
        argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return harness.run_child(__file__, step, argv, env)


def run_database(args: argparse.Namespace, name: str, url: str, work: Path) -> dict[str, Any]:
    env = harness.bench_env(url, work, production=True)
    print(f"== {name}: preparing {args.subjects} subjects", flush=True)
    t = time.monotonic()
    prep = _child("prepare", args, env, work)
    print(
        f"   {prep['subjects']} subjects, {prep['list_entries']} list entries "
        f"({prep['listed_subjects']} subjects listed) in {time.monotonic() - t:.0f} s "
        f"(migrate+reference {prep['setup_seconds']} s, subject insert "
        f"{prep['subjects_insert_seconds']} s)",
        flush=True,
    )
    args._pg_url = url if name == "postgres" else None
    proc, port = start_server(args, env, work)
    args._server_pid = proc.pid
    try:
        print(
            f"== {name}: gunicorn --workers {args.workers} --threads {args.threads} on :{port}; "
            f"{args.clients} client processes × {args.client_threads} threads; "
            f"warm-up {args.warmup} s, measure {args.seconds} s",
            flush=True,
        )
        background = background_cores()
        if background > 0.2:
            print(
                f"   warning: {background} cores busy with other work before the load starts",
                flush=True,
            )
        load = run_load(args, port, work, args.seconds, args.warmup)
        load["background_cores_before_load"] = background
        print(
            f"   {load['checks_per_second']} checks/s; p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, "
            f"p99 {load['p99_ms']} ms, max {load['max_ms']} ms; errors {load['errors']}, "
            f"wrong answers {load['wrong_answers']}; CPU cores used {load['cpu_cores_used']}",
            flush=True,
        )
        print(
            f"   CPU ms per check {load['cpu_ms_per_check']} (ceiling = cores / CPU per check)",
            flush=True,
        )
        if load["pg_backends"]:
            print(f"   PostgreSQL sessions (mean over samples): {load['pg_backends']}", flush=True)
        verify = _child("verify", args, env, work)
        print(
            f"   recorded {verify['recorded_checks']} / audited {verify['audited_checks']} / "
            f"successful {load['successful_total']}; audit chain ok: {verify['audit_chain_ok']} "
            f"({verify['audit_events_verified']} events)",
            flush=True,
        )
        print(
            f"   bulk check_many of {args.bulk_size}: {verify['bulk_seconds']} s "
            f"(median {verify['bulk_seconds_median']} s)",
            flush=True,
        )
        if verify["bulk_profile"]:
            bp = verify["bulk_profile"]
            print(
                f"   bulk profile ({bp['codes']} codes, {bp['seconds_under_profiler']} s under cProfile):",
                flush=True,
            )
            for f in bp["functions"]:
                print(f"     {f['seconds']:7.3f} s  {f['what']} (×{f['calls']})")
            for k, v in bp["sql"].items():
                print(f"     {v['seconds']:7.3f} s  SQL {k} (×{v['statements']})")
        if args.baseline_seconds > 0:
            floor = run_load(args, port, work, args.baseline_seconds, 1.0, baseline=True)
            load["baseline_healthz"] = {
                k: floor[k]
                for k in ("checks_per_second", "p50_ms", "p99_ms", "errors", "cpu_ms_per_check")
            }
            print(
                f"   baseline GET /healthz (SELECT 1, same server and clients): "
                f"{floor['checks_per_second']} requests/s, p50 {floor['p50_ms']} ms, "
                f"p99 {floor['p99_ms']} ms; CPU ms per request {floor['cpu_ms_per_check']}",
                flush=True,
            )
        bulk_http = http_bulk(port, work, args.bulk_size, args.bulk_reps)
        print(
            f"   bulk POST /api/v1/checks/bulk of {args.bulk_size}: {bulk_http['bulk_http_seconds']} s "
            f"(median {bulk_http['bulk_http_seconds_median']} s, response "
            f"{bulk_http['bulk_http_response_mib']} MiB)",
            flush=True,
        )
    finally:
        stop_server(proc)
    cost = _child("cost", args, env, work)
    print(
        f"   in-process, one at a time: {cost['inprocess_ms_per_check']} ms/check "
        f"({cost['inprocess_cpu_ms_per_check']} ms CPU); SQL per check: "
        + ", ".join(f"{k} {len(v['sql'])}" for k, v in cost["queries"].items()),
        flush=True,
    )
    result = {
        "database": {"sqlite": "sqlite", "postgres": "postgresql"}[name],
        "subjects": prep["subjects"],
        "list_entries": prep["list_entries"],
        "server": f"gunicorn --workers {args.workers} --threads {args.threads}",
        "workers": args.workers,
        "threads": args.threads,
        "clients": args.clients,
        "client_threads": args.client_threads,
        **{k: v for k, v in load.items() if k not in ("successful_total", "requests_total")},
        "successful_requests_total": load["successful_total"],
        "recorded_checks": verify["recorded_checks"],
        "audited_checks": verify["audited_checks"],
        "recorded_equals_successful": verify["recorded_checks"]
        == verify["audited_checks"]
        == load["successful_total"],
        "audit_chain_ok": verify["audit_chain_ok"],
        "bulk_size": args.bulk_size,
        "bulk_seconds_median": verify["bulk_seconds_median"],
        "bulk_seconds": verify["bulk_seconds"],
        "bulk_recorded_ok": verify["bulk_recorded_ok"],
        "bulk_profile": verify["bulk_profile"],
        **bulk_http,
        "inprocess_ms_per_check": cost["inprocess_ms_per_check"],
        "inprocess_cpu_ms_per_check": cost["inprocess_cpu_ms_per_check"],
        "sql_per_check": {k: len(v["sql"]) for k, v in cost["queries"].items()},
    }
    result["target_met"] = {
        "throughput": result["checks_per_second"] >= TARGET_RATE,
        "p99": 0 < result["p99_ms"] <= TARGET_P99_MS,
        "all_recorded": result["recorded_equals_successful"] and result["errors"] == 0,
        "bulk": result["bulk_seconds_median"] <= TARGET_BULK_S,
    }
    below = not all(result["target_met"].values())
    if args.show_sql:
        for label, q in cost["queries"].items():
            print(f"   SQL of one check ({label}, {len(q['sql'])} statements):")
            for s in q["sql"]:
                print(f"     {s}")
    if args.profile == "always" or (args.profile == "auto" and below):
        result["profile"] = run_profile(args, name, env, work)
    return result


def run_profile(
    args: argparse.Namespace, name: str, env: dict[str, str], work: Path
) -> dict[str, Any]:
    prof_dir = Path(tempfile.mkdtemp(prefix="profile-", dir=work))
    config = Path(__file__).with_name("gunicorn_profile.py")
    penv = {**env, "BENCH_PROFILE_DIR": str(prof_dir), "BENCH_PROFILE_SKIP": str(args.profile_skip)}
    print(
        f"== {name}: profile — the same load for {args.profile_seconds} s, one worker under "
        f"cProfile (slower than the others, so its figures are relative)",
        flush=True,
    )
    proc, port = start_server(args, penv, work, config=config)
    args._server_pid = proc.pid
    try:
        load = run_load(args, port, work, args.profile_seconds, 1.0)
    finally:
        stop_server(proc)
    if not (prof_dir / "worker.prof").exists():
        print("   (no profile written)")
        return {}
    profile = analyse_profile(prof_dir, name)
    profile["load_during_profile"] = {
        k: load[k] for k in ("checks_per_second", "p50_ms", "p99_ms", "errors")
    }
    print(
        f"   profiled worker: {profile['requests_profiled']} requests, "
        f"{profile['wall_ms_per_request']} ms wall / {profile['cpu_ms_per_request']} ms CPU per "
        f"request (under cProfile), busy {profile['busy_fraction']}",
        flush=True,
    )
    print("   where the request's time goes (inclusive, ms per request):")
    for k in profile["key_functions"]:
        print(f"     {k['ms_per_request']:8.3f}  {k['what']}  (×{k['calls_per_request']})")
    print("   SQL statements per request (count, ms incl. driver):")
    for k, v in profile["sql_per_request"].items():
        print(f"     {v['per_request']:5.2f} × {v['ms_per_request']:7.3f} ms  {k}")
    print(f"   self time by component: {profile['self_time_by_component']}")
    print("   top self time:")
    for t in profile["top_self_time"][:10]:
        print(f"     {t['ms_per_request']:7.3f} ms  {t['function']}")
    return profile


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=300_000)
    parser.add_argument(
        "--db",
        choices=["auto", "sqlite", "postgres", "both"],
        default="auto",
        help="auto: PostgreSQL when DATABASE_URL is one, else SQLite",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load duration")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--client-threads", type=int, default=4, help="connections per process")
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=5.0,
        help="load on GET /healthz afterwards, for comparison (0: skip)",
    )
    parser.add_argument("--bulk-size", type=int, default=10_000)
    parser.add_argument("--bulk-reps", type=int, default=3)
    parser.add_argument("--cost-requests", type=int, default=300)
    parser.add_argument("--profile", choices=["auto", "always", "never"], default="auto")
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument(
        "--profile-skip", type=int, default=50, help="requests of the profiled worker not profiled"
    )
    parser.add_argument("--show-sql", action="store_true", help="print the SQL of one check")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--work", default=None, help="working directory (default: a temp dir)")
    parser.add_argument("--child", choices=["prepare", "verify", "cost"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"prepare": child_prepare, "verify": child_verify, "cost": child_cost}[args.child](args)
        return
    base = Path(args.work or tempfile.mkdtemp(prefix="creditplus-checks-bench-"))
    results = []
    for name, target in harness.databases(args.db, base, "checks_bench"):
        work = base / name
        work.mkdir(parents=True, exist_ok=True)
        for stale in ("token.txt", "codes.json", "gunicorn.log"):
            (work / stale).unlink(missing_ok=True)
        results.append(run_database(args, name, target, work))

    print()
    print("== summary (target: ≥ 1000 checks/s, p99 ≤ 20 ms, all recorded; bulk 10k ≤ 2 s)")
    for r in results:
        print(
            f"{r['database']}: {r['subjects']} subjects, {r['server']}, {r['concurrency']} connections: "
            f"{r['checks_per_second']} checks/s, p50 {r['p50_ms']} / p95 {r['p95_ms']} / "
            f"p99 {r['p99_ms']} / max {r['max_ms']} ms, {r['errors']} errors; recorded "
            f"{r['recorded_checks']} = audited {r['audited_checks']} = successful "
            f"{r['successful_requests_total']}: {r['recorded_equals_successful']}; bulk "
            f"{r['bulk_size']}: {r['bulk_seconds_median']} s in-process, "
            f"{r['bulk_http_seconds_median']} s over HTTP; target met: {r['target_met']}"
        )
    harness.print_results(results)


if __name__ == "__main__":
    main()
