"""Credit-check benchmark: POST /api/v1/checks driven by Debian's ``wrk`` (bench/checks.lua)
against the production set-up — granian (2 workers × 1 thread, keep-alive), then for
comparison gunicorn ``-k gthread -w 2 --threads 1 --keep-alive 30`` (``--servers``), DEBUG off,
CREDITPLUS_ENV=production — next to ``GET /healthz`` on the same server in the same run, at 8
and 1 connections; then a bulk check of 10,000 codes.

    .venv/bin/python bench/checks.py --subjects 300000                           # SQLite
    scripts/with-postgres.sh .venv/bin/python bench/checks.py --db postgres       # PostgreSQL

Server CPU per request comes from the server processes' CPU time (/proc: master and workers;
PostgreSQL's backends apart): steadier than throughput on a shared machine. Every answered
check must be recorded and audited once, and the audit chain verify. ``--py-spy`` records a
flame graph of one worker under load. One ``RESULT {json}`` line per database ends stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import harness
import serving

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("checks.lua")
MATTER = "ZFCG"
LIST_TYPES = ("YZSX", "SXBZX", "SSWF")
TARGETS = {"rate": 1000.0, "p99_8_ms": 20.0, "p99_1_ms": 5.0, "server_cpu_ms": 1.5, "bulk_s": 2.0}


# --------------------------------------------------------------------------- children


def make_usccs(count: int, seed: int) -> list[str]:
    """``count`` distinct valid codes 91310115<organisation code><check> (Pudong firms)."""
    import numpy as np
    import polars as pl

    from creditplus.records.demo.identifiers import org_check_chars, with_uscc_check

    rng = np.random.default_rng(seed)
    nums = np.unique(rng.integers(0, 10**8, size=int(count * 1.2) + 1000))
    rng.shuffle(nums)
    org8 = [f"{n:08d}" for n in nums[:count].tolist()]
    checks = org_check_chars(np.frombuffer("".join(org8).encode(), np.uint8).reshape(-1, 8))
    bodies = [f"91310115{o}{c}" for o, c in zip(org8, checks.tobytes().decode(), strict=True)]
    return with_uscc_check(pl.Series(bodies)).to_list()


def _entries(members: list[int], rng: random.Random) -> Any:
    """Published list entries for ``members``: one list each, a tenth of them two."""
    from datetime import timedelta

    import polars as pl
    from django.utils import timezone

    from creditplus.accounts.models import Department
    from creditplus.lists.choices import ListOrigin
    from creditplus.lists.models import ListEntry, ListType

    types = {t.code: t for t in ListType.objects.filter(code__in=LIST_TYPES)}
    fallback = Department.objects.get(code="SCJG").pk
    today, now = timezone.localdate(), timezone.now()
    picks = [
        (s, types[c], today - timedelta(days=rng.randint(1, 700)))
        for s in members
        for c in rng.sample(LIST_TYPES, 2 if rng.random() < 0.1 else 1)
    ]
    external = [t.origin == ListOrigin.EXTERNAL for _s, t, _d in picks]
    decided = pl.Series([d for _s, _t, d in picks])
    frame = pl.DataFrame(
        {
            "list_type_id": [t.pk for _s, t, _d in picks],
            "subject_id": [s for s, _t, _d in picks],
            "origin": ["imported" if x else "manual" for x in external],
            "department_id": [t.deciding_department_id or fallback for _s, t, _d in picks],
            "decision_no": [f"浦基准〔2026〕{i:06d}号" for i in range(len(picks))],
            # imported entries are unique per (list, source_key) while live
            "source_key": [
                f"BENCH-{t.code}-{s}" if x else ""
                for (s, t, _d), x in zip(picks, external, strict=True)
            ],
            "decided_on": decided,
            "published_on": decided,
            "restoration_from": decided + timedelta(days=365),
            "publish_until": decided + timedelta(days=3 * 365),
        }
    ).with_columns(
        status=pl.lit("published"),
        reason=pl.lit("基准测试：严重失信行为"),
        basis=pl.lit("《基准测试认定办法》第三条"),
        proposed_by=pl.lit("bench"),
        end_reason=pl.lit(""),
        proposed_at=pl.lit(now),
        updated_at=pl.lit(now),
    )
    columns = {f.attname: f.column for f in ListEntry._meta.concrete_fields}
    return frame.rename(lambda c: columns[c])


def child_prepare(args: argparse.Namespace) -> None:
    harness.django_setup()
    from io import StringIO

    import polars as pl
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from creditplus.accounts.services import issue_token
    from creditplus.bulk import fetch_frame, insert_frame
    from creditplus.lists.models import ListEntry
    from creditplus.subjects.models import Subject

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())
    n, rng = args.subjects, random.Random(args.seed)
    codes = make_usccs(n + max(500, n // 10), args.seed)
    existing, unknown = codes[:n], codes[n:]
    now = timezone.now()
    subjects = pl.DataFrame(
        {
            "kind": "legal",
            "uscc": existing,
            "name": [f"浦东基准测试{i:06d}号科技有限公司" for i in range(n)],
            "enterprise_type": "有限责任公司",
            "address": "上海市浦东新区张江路1号",
            "status": "存续",
            "registered": True,
            "created_at": now,
            "changed_at": now,
        }
    )
    for f in Subject._meta.concrete_fields:  # every other (non-null) text column is empty
        text = f.get_internal_type() in ("CharField", "TextField")
        if f.column not in subjects.columns and text and not f.null:
            subjects = subjects.with_columns(pl.lit("").alias(f.column))
    table = connection.ops.quote_name(Subject._meta.db_table)
    with transaction.atomic():
        insert_frame(Subject._meta.db_table, subjects)
        ids = fetch_frame(f"SELECT id FROM {table}")["id"].to_list()
        members = rng.sample(ids, max(1, round(len(ids) * 0.03)))
        insert_frame(ListEntry._meta.db_table, _entries(members, rng))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    work = Path(args.work)
    (work / "token.txt").write_text(issue_token("CZJ", "bench").key, encoding="utf-8")
    (work / "codes.json").write_text(json.dumps({"existing": existing, "unknown": unknown}))
    # wrk's codes: 90 % registered subjects, 10 % valid codes of nobody
    sample = rng.sample(existing, min(len(existing), 9000))
    sample += unknown[: len(sample) // 9]
    (work / "codes.txt").write_text("\n".join(sample) + "\n")
    harness.emit(
        {
            "subjects": Subject.objects.count(),
            "list_entries": ListEntry.objects.members().count(),
            "listed_subjects": len(members),
        }
    )


def _bulk_codes(codes: dict[str, list[str]], size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    known = round(size * 0.9)
    pick = rng.sample if len(codes["existing"]) >= known else rng.choices
    out = list(pick(codes["existing"], k=known)) + rng.choices(codes["unknown"], k=size - known)
    rng.shuffle(out)
    return out


def child_verify(args: argparse.Namespace) -> None:
    """What the load wrote (checks = audit rows), the audit chain, then check_many timed."""
    harness.django_setup()
    import statistics

    from creditplus.accounts import audit
    from creditplus.accounts.models import ApiToken, AuditEvent
    from creditplus.sanctions import checks
    from creditplus.sanctions.models import CreditCheck

    # every check row (single, and bulk over HTTP) has its one audit row
    recorded = CreditCheck.objects.count()
    audited = AuditEvent.objects.filter(action="check.subject").count()
    single = CreditCheck.objects.filter(batch="").count()
    chain = audit.verify()
    codes = json.loads((Path(args.work) / "codes.json").read_text())
    user = ApiToken.objects.select_related("user__department").get(name="bench").user
    times, cpu = [], []
    with audit.audit_context(audit.context_for_user(user, token="bench", request_id="bulk")):
        for rep in range(args.bulk_reps):
            batch = _bulk_codes(codes, args.bulk_size, seed=1000 + rep)
            t, c = time.perf_counter(), time.process_time()
            assert checks.check_many(user, batch, MATTER, "基准测试").checked == len(batch)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # without the database's share
    bulk_written = CreditCheck.objects.count() - recorded
    bulk_audited = AuditEvent.objects.filter(action="check.subject").count() - audited
    harness.emit(
        {
            "recorded_checks": recorded,
            "audited_checks": audited,
            "single_checks": single,
            "audit_chain_ok": chain.ok,
            "bulk_seconds_median": round(statistics.median(times), 3),
            "bulk_cpu_seconds_median": round(statistics.median(cpu), 3),
            "bulk_recorded_ok": bulk_written == bulk_audited == args.bulk_size * args.bulk_reps,
            "sql_per_check": _statements(Path(args.work)),
        }
    )


def _statements(work: Path) -> dict[str, int]:
    """The SQL statements of one check through the whole stack (Django's test client)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from creditplus.lists.models import ListEntry

    codes = json.loads((work / "codes.json").read_text())
    listed = ListEntry.objects.members().values_list("subject__uscc", flat=True).first()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {(work / 'token.txt').read_text()}")
    out = {}
    for label, code in [
        ("warm-up", codes["existing"][0]),
        ("listed", listed),
        ("registered", codes["existing"][1]),
        ("unknown", codes["unknown"][0]),
    ]:
        body = {"subject": code, "matter": MATTER, "purpose": "基准测试"}
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/v1/checks", body, "application/json")
        assert response.status_code == 200, response.content
        out[label] = len(queries.captured_queries)
    del out["warm-up"]
    return out


# --------------------------------------------------------------------------- measuring


def run_wrk(args: argparse.Namespace, port: int, work: Path, mode: str, conns: int) -> dict:
    """One wrk run; CPU per request of the server (and PostgreSQL) over the same window."""
    env = {**os.environ, "BENCH_MODE": mode, "BENCH_CODES": str(work / "codes.txt")}
    env |= {"BENCH_TOKEN": (work / "token.txt").read_text(), "BENCH_MATTER": MATTER}
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{args.seconds}s", "--latency", "-s", str(LUA)]
    cmd.append(f"http://127.0.0.1:{port}")
    before = [
        serving.tree_cpu(args.server_pid),
        serving.tree_cpu(args.pg_pid) if args.pg_pid else 0.0,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    after = [
        serving.tree_cpu(args.server_pid),
        serving.tree_cpu(args.pg_pid) if args.pg_pid else 0.0,
    ]
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    w = json.loads(line[4:])
    n = max(1, w["requests"])
    if mode == "checks":
        args.successful += w["found"] + w["not_found"]
        args.in_flight += conns  # at most one unanswered request per connection at the end
    return {
        "route": "GET /healthz" if mode == "healthz" else "POST /api/v1/checks",
        "connections": conns,
        "requests": w["requests"],
        "per_second": round(w["requests"] / (w["duration_us"] / 1e6), 1),
        "p50_ms": round(w["p50_us"] / 1000, 2),
        "p90_ms": round(w["p90_us"] / 1000, 2),
        "p99_ms": round(w["p99_us"] / 1000, 2),
        "max_ms": round(w["max_us"] / 1000, 2),
        "errors": w["socket_errors"] + w["not_200"],
        **({"found": w["found"], "not_found": w["not_found"]} if mode == "checks" else {}),
        "server_cpu_ms": round((after[0] - before[0]) * 1000 / n, 3),
        "postgres_cpu_ms": round((after[1] - before[1]) * 1000 / n, 3) if args.pg_pid else None,
    }


def py_spy(args: argparse.Namespace, port: int, work: Path, name: str) -> str:
    """A flame graph of one worker while wrk loads the check (py-spy needs ptrace: root)."""
    worker = next(
        pid
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
        if (serving.stat(pid) or (0, 0))[0] == args.server_pid
    )
    raw = args.py_spy == "raw"  # collapsed stacks, one per line: readable as text
    out = str(work / f"profile-{name}.{'txt' if raw else 'svg'}")
    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    # --gil: the thread holding the GIL, i.e. where the worker's CPU time goes
    cmd = [spy_bin, "record", "--gil", "--pid", str(worker), "-d", str(args.seconds), "-o", out]
    cmd += ["--format", "raw" if raw else "flamegraph"]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_wrk(args, port, work, "checks", 8)
    spy.wait()
    return out


def http_bulk(port: int, work: Path, size: int) -> dict[str, Any]:
    codes = json.loads((work / "codes.json").read_text())
    body = {"subjects": _bulk_codes(codes, size, seed=2000), "matter": MATTER, "purpose": "基准"}
    headers = {"Authorization": f"Bearer {(work / 'token.txt').read_text()}"}
    url = f"http://127.0.0.1:{port}/api/v1/checks/bulk"
    headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    t = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        checked = json.loads(response.read())["checked"]
    return {"bulk_http_seconds": round(time.perf_counter() - t, 3), "bulk_http_ok": checked == size}


# --------------------------------------------------------------------------- orchestration


def _child(step: str, args: argparse.Namespace, env: dict[str, str], work: Path) -> dict:
    argv = ["--work", str(work), "--subjects", str(args.subjects), "--seed", str(args.seed)]
    argv += ["--bulk-size", str(args.bulk_size), "--bulk-reps", str(args.bulk_reps)]
    return harness.run_child(__file__, step, argv, env)


def _show(r: dict[str, Any]) -> None:
    pg = f", PostgreSQL {r['postgres_cpu_ms']} ms" if r["postgres_cpu_ms"] is not None else ""
    print(
        f"   {r['route']:20} {r['connections']} conn: {r['per_second']:8.1f}/s, p50 "
        f"{r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms, errors {r['errors']}; "
        f"server CPU {r['server_cpu_ms']} ms per request{pg}",
        flush=True,
    )


def serve_and_load(args: argparse.Namespace, env: dict, work: Path, name: str) -> dict:
    """One server set-up (``args.server``) under wrk: its runs, and with the first set-up
    the py-spy profile and the bulk check over HTTP."""
    command = serving.server_command(args.server, args.workers, args.threads, "{port}")
    proc, port = serving.start_server(command, env, work)
    args.server_pid, out = proc.pid, {"runs": []}
    try:
        print(f"== {name}: {' '.join(command[2:])}", flush=True)
        print(f"   machine load {harness.load_average()} before the runs", flush=True)
        run_wrk(args, port, work, "checks", max(args.connections))  # warm-up, not reported
        for conns in args.connections:
            for mode in ("healthz", "checks"):
                out["runs"].append(
                    {"server": args.server, **run_wrk(args, port, work, mode, conns)}
                )
                _show(out["runs"][-1])
        if args.server == args.servers[0]:
            if args.py_spy:
                out["profile"] = py_spy(args, port, work, name)
                print(f"   py-spy profile of one worker: {out['profile']}", flush=True)
            out |= http_bulk(port, work, args.bulk_size)
    finally:
        serving.stop_server(proc)
    return out


def socket_url(url: str) -> str:
    """``url`` through the server's Unix socket (scripts/with-postgres.sh exports its
    directory): how an application on the database's own machine should connect
    (docs/deploy.md) — a TCP round trip over loopback costs both sides more CPU."""
    directory = os.environ.get("PG_SOCKET_DIR")
    if not directory:
        sys.exit("--pg-via socket: PG_SOCKET_DIR is not set (scripts/with-postgres.sh sets it)")
    scheme, rest = url.split("://", 1)
    user, host_db = rest.split("@", 1)
    port = host_db.split("/", 1)[0].rsplit(":", 1)[1]
    return f"{scheme}://{user}@{quote(directory, safe='')}:{port}/{host_db.split('/', 1)[1]}"


def run_database(args: argparse.Namespace, name: str, url: str, work: Path) -> dict[str, Any]:
    env = harness.bench_env(url, work, production=True)
    print(f"== {name}: preparing {args.subjects} subjects", flush=True)
    prep = _child("prepare", args, env, work)
    args.pg_pid = serving.postmaster_pid(url) if name == "postgres" else None
    args.successful = args.in_flight = 0  # over every wrk run of the check, warm-ups included
    runs, loaded = [], {}
    for server in args.servers:
        args.server = server
        loaded |= serve_and_load(args, env, work, name)
        runs += loaded.pop("runs")
    verify = _child("verify", args, env, work)
    sql = verify["sql_per_check"]
    # the targets are judged on the first (the chosen) set-up
    checks = [r for r in runs if r["route"] != "GET /healthz" and r["server"] == args.servers[0]]
    by_conns = {r["connections"]: r for r in checks}
    result = {
        "database": {"sqlite": "sqlite", "postgres": "postgresql"}[name],
        **({"pg_via": args.pg_via} if name == "postgres" else {}),
        **prep,
        "servers": {
            s: " ".join(serving.server_command(s, args.workers, args.threads, "PORT")[2:])
            for s in args.servers
        },
        "load_average": harness.load_average(),
        "runs": runs,
        **verify,
        **loaded,
    }
    # wrk stops counting at its deadline while the server may still finish (and record) the
    # requests in flight: at most one per connection and run
    result["successful_checks"] = args.successful
    unanswered = verify["single_checks"] - args.successful
    result["all_recorded"] = (
        verify["recorded_checks"] == verify["audited_checks"]
        and 0 <= unanswered <= args.in_flight
        and verify["audit_chain_ok"]
    )
    result["target_met"] = {
        "throughput_8": by_conns.get(8, {}).get("per_second", 0) >= TARGETS["rate"],
        "p99_8": by_conns.get(8, {}).get("p99_ms", 1e9) <= TARGETS["p99_8_ms"],
        "p99_1": by_conns.get(1, {}).get("p99_ms", 1e9) <= TARGETS["p99_1_ms"],
        "server_cpu": max(r["server_cpu_ms"] for r in checks) <= TARGETS["server_cpu_ms"],
        "bulk": verify["bulk_seconds_median"] <= TARGETS["bulk_s"],
    }
    print(
        f"   {args.successful} checks answered, {verify['single_checks']} recorded; all checks "
        f"{verify['recorded_checks']} = audit rows {verify['audited_checks']}, chain ok "
        f"{verify['audit_chain_ok']}; bulk {args.bulk_size}: {verify['bulk_seconds_median']} s "
        f"({verify['bulk_cpu_seconds_median']} s CPU) in-process, {loaded['bulk_http_seconds']} s over HTTP; SQL per check {sql}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=300_000)
    parser.add_argument("--db", choices=["auto", "sqlite", "postgres", "both"], default="auto")
    parser.add_argument(
        "--servers",
        default="granian,gunicorn",
        type=lambda s: s.split(","),
        help="set-ups measured one after the other, the first judged against the targets",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--seconds", type=int, default=20, help="each wrk run")
    parser.add_argument(
        "--connections", default="8,1", type=lambda s: [int(x) for x in s.split(",")]
    )
    parser.add_argument(
        "--pg-via",
        choices=["socket", "tcp"],
        default="socket",
        help="PostgreSQL: through its Unix socket (the same machine) or TCP on loopback",
    )
    parser.add_argument("--bulk-size", type=int, default=10_000)
    parser.add_argument("--bulk-reps", type=int, default=3)
    parser.add_argument(
        "--py-spy",
        nargs="?",
        const="flamegraph",
        choices=["flamegraph", "raw"],
        help="profile one worker: a flame graph (SVG), or raw collapsed stacks (text)",
    )
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--work", default=None, help="working directory (default: a temp dir)")
    parser.add_argument("--child", choices=["prepare", "verify"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return (child_prepare if args.child == "prepare" else child_verify)(args)
    if set(args.servers) - {"granian", "gunicorn"}:
        parser.error("--servers: granian and/or gunicorn")
    if not shutil.which("wrk"):
        sys.exit("wrk not found: scripts/ensure-system-deps.sh wrk")
    base = Path(args.work or tempfile.mkdtemp(prefix="creditplus-checks-bench-"))
    results = []
    for name, url in harness.databases(args.db, base, "checks_bench"):
        (base / name).mkdir(parents=True, exist_ok=True)
        if name == "postgres" and args.pg_via == "socket":
            url = socket_url(url)
        results.append(run_database(args, name, url, base / name))
    print("\n== summary (targets: ≥ 1000 checks/s and p99 ≤ 20 ms at 8 connections, p99 ≤ 5 ms")
    print("   at 1, ≤ 1.5 ms server CPU per check, bulk of 10,000 ≤ 2 s)")
    for r in results:
        print(f"{r['database']}: {r['subjects']} subjects, {args.servers[0]}: {r['target_met']}")
    harness.print_results(results)


if __name__ == "__main__":
    main()
