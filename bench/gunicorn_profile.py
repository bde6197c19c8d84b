"""gunicorn config of bench/checks.py's profile run (``--config bench/gunicorn_profile.py``):
one worker (the first to start) runs every request under cProfile and times each SQL
statement; both are written out when the worker exits. checks.py reads SQL_LABELS too."""

import cProfile
import json
import os
import re
import threading
import time

# The credit check's own statements, by a fragment of their text (profiles name them so).
SQL_LABELS = (
    ("pg_advisory_xact_lock", "SELECT pg_advisory_xact_lock (audit chain lock)"),
    ('"accounts_apitoken" t', "SELECT token + user + department (auth)"),
    ('"auth_permission" p', "SELECT permissions of the token's user (auth)"),
    ('"catalog_matter" mt', "SELECT matter rules (matter + measures in force)"),
    ('"subjects_subject" s', "SELECT subjects + memberships + grades (lookup)"),
    ("SELECT hash FROM", "SELECT audit chain head"),
)


OUT = os.environ.get("BENCH_PROFILE_DIR", "")  # set by checks.py for the profile run
SKIP = int(os.environ.get("BENCH_PROFILE_SKIP", "50"))
_state = None
_SQL = re.compile(r'^\s*(\w+).*?(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.S | re.I)


def _kind(sql):
    for fragment, label in SQL_LABELS:
        if fragment in sql:
            return label
    m = _SQL.match(sql)
    return f"{m.group(1).upper()} {m.group(2)}" if m else sql.split()[0].upper()


def post_worker_init(worker):
    global _state
    try:
        os.close(os.open(os.path.join(OUT, "claimed"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    from django.db import connections

    local = threading.local()
    state = _state = {
        "profiles": [],
        "requests": 0,
        "seen": 0,
        "wall": 0.0,
        "cpu": 0.0,
        "sql": {},
        "first": None,
        "last": None,
        "lock": threading.Lock(),
    }

    def timer(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            k = _kind(sql)
            n, s = state["sql"].get(k, (0, 0.0))
            state["sql"][k] = (n + 1, s + time.perf_counter() - t)

    app = worker.wsgi

    def profiled(environ, start_response):
        with state["lock"]:
            state["seen"] += 1
            warm = state["seen"] > SKIP
        if not warm:  # the first requests import modules and fill caches: not profiled
            return app(environ, start_response)
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile()
            with state["lock"]:
                state["profiles"].append(prof)
        conn = connections["default"]
        if timer not in conn.execute_wrappers:
            conn.execute_wrappers.append(timer)
        w, c = time.perf_counter(), time.thread_time()
        prof.enable()
        try:
            return app(environ, start_response)
        finally:
            prof.disable()
            with state["lock"]:
                state["requests"] += 1
                state["wall"] += time.perf_counter() - w
                state["cpu"] += time.thread_time() - c
                state["first"] = state["first"] or w
                state["last"] = time.perf_counter()

    worker.wsgi = profiled


def worker_exit(server, worker):
    if _state is None:
        return
    import pstats

    stats = None
    for prof in _state["profiles"]:
        if stats is None:
            stats = pstats.Stats(prof)
        else:
            stats.add(prof)
    if stats is not None:
        stats.dump_stats(os.path.join(OUT, "worker.prof"))
    summary = {k: v for k, v in _state.items() if k not in ("profiles", "lock")}
    with open(os.path.join(OUT, "worker.json"), "w") as f:
        json.dump(summary, f)
