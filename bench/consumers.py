"""Event-consumer benchmark: load a generated district with the consumers switched off, then
run every registered consumer (lists, monitoring) over all the events the load wrote, in a
child process of its own, and print events/s per consumer in CPU seconds of that child
(the machine is shared: wall time is noise), the statements each consumer sent and what it
wrote (entries, cases, tasks, alerts).

    .venv/bin/python bench/consumers.py --subjects 30000 --db sqlite
    scripts/with-postgres.sh .venv/bin/python bench/consumers.py --subjects 30000 --db postgres
    .venv/bin/python bench/consumers.py --scale pudong --db sqlite --work /var/tmp/cb

``--work DIR`` keeps the generated files and, for SQLite, the loaded database (the consumer
step runs on a copy), so a second run measures only the consumers. ``--profile FILE`` writes
a cProfile of the consumer step.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_load(args: argparse.Namespace) -> None:
    """Migrate, load the reference data and every file, with no consumer registered, so that
    all the events wait behind the consumers' cursors."""
    from io import StringIO

    harness.django_setup()
    from django.core.management import call_command

    from creditplus.records import consumers
    from creditplus.records.bulkload import load_directory

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())
    for name in list(consumers.names()):
        consumers.unregister(name)
    t = time.monotonic()
    summary = load_directory(Path(args.data))  # consumers unregistered: the load only
    harness.emit({"rows": summary["submitted"], "seconds": round(time.monotonic() - t, 1)})


def child_consume(args: argparse.Namespace) -> None:
    """Run each consumer over the whole backlog; CPU seconds and statements per consumer.
    The loaded database is migrated first (outside the measurement): a kept load may be
    older than the code."""
    harness.django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from creditplus.lists.models import ListEntry
    from creditplus.records import consumers
    from creditplus.records.models import CreditEvent
    from creditplus.sanctions.models import Alert, SanctionCase, SanctionTask

    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    events = CreditEvent.objects.count()
    batch = args.batch or consumers.BULK_BATCH  # what a bulk load's consumers read at once
    result: dict[str, object] = {"database": connection.vendor, "events": events, "batch": batch}
    with connection.execute_wrapper(count):
        for name in ("lists", "monitoring"):
            statements[0] = 0
            cpu, wall = cpu_seconds(), time.monotonic()
            if profiler:
                profiler.enable()
            processed = consumers.run(name, batch)
            if profiler:
                profiler.disable()
            cpu, wall = cpu_seconds() - cpu, time.monotonic() - wall
            result[name] = {
                "events": processed,
                "cpu_seconds": round(cpu, 2),
                "wall_seconds": round(wall, 2),
                "events_per_cpu_second": round(processed / cpu) if cpu else None,
                "statements": statements[0],
            }
    if profiler:
        profiler.dump_stats(args.profile)
    result["written"] = {
        "entries": ListEntry.objects.count(),
        "cases": SanctionCase.objects.count(),
        "tasks": SanctionTask.objects.count(),
        "alerts": Alert.objects.count(),
    }
    result["digest"] = outcome_digest()
    result["load_average"] = harness.load_average()
    harness.emit(result)


def outcome_digest() -> dict[str, str]:
    """SHA-256 (16 hex digits) of what the consumers wrote, by natural keys and in sorted
    order, so that two runs (e.g. two versions of the code on the same load) compare."""
    import hashlib

    from creditplus.lists.models import ListEntry, ListTransition
    from creditplus.sanctions.models import Alert, SanctionCase, SanctionTask

    evidence: dict[int, list[int]] = {}
    for entry_id, record_id in ListEntry.evidence.through.objects.values_list(
        "listentry_id", "creditrecord_id"
    ):
        evidence.setdefault(entry_id, []).append(record_id)
    key = ("list_type_id", "subject_id", "source_key")
    queries = {
        "entries": [
            (*row[1:], sorted(evidence.get(row[0], [])))
            for row in ListEntry.objects.values_list(
                "pk",
                *key,
                "origin",
                "status",
                "department_id",
                "decided_on",
                "publish_until",
                "restoration_from",
                "reason",
                "source_record_id",
            )
        ],
        "transitions": ListTransition.objects.values_list(
            *(f"entry__{k}" for k in key), "action", "to_status", "note"
        ),
        "cases": SanctionCase.objects.values_list(
            *(f"entry__{k}" for k in key), "origin", "status", "reason"
        ),
        "tasks": SanctionTask.objects.values_list(
            *(f"case__entry__{k}" for k in key),
            "measure_id",
            "department_id",
            "target",
            "target_name",
            "status",
            "due_on",
        ),
        "alerts": Alert.objects.values_list("department_id", "subject_id", "kind", "title"),
    }
    return {
        name: hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()[:16]
        for name, rows in queries.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=3000)
    parser.add_argument("--scale", choices=["tiny", "small", "medium", "pudong"])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--work", default=None, help="kept between runs (files, SQLite load)")
    parser.add_argument("--profile", default="", help="cProfile output of the consumer step")
    parser.add_argument(
        "--batch", type=int, default=None, help="events per consumer call (default: bulk load's)"
    )
    parser.add_argument("--child", choices=["load", "consume"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (child_load if args.child == "load" else child_consume)(args)
        return

    from datetime import date

    from creditplus.records.demo import SCALES, generate

    subjects = SCALES[args.scale] if args.scale else args.subjects
    work = Path(args.work or tempfile.mkdtemp(prefix="creditplus-consumers-"))
    data = work / f"data-{subjects}"
    if not (data / "manifest.json").exists():
        generate(data, subjects, today=date(2026, 11, 1))
    script = str(Path(__file__).resolve())
    if args.db == "sqlite":
        loaded = work / "sqlite" / f"loaded-{subjects}.sqlite3"
        if not loaded.exists():
            url = harness.fresh_database("sqlite", work, f"loading-{subjects}")
            load = harness.run_child(
                script, "load", ["--data", str(data)], harness.bench_env(url, work)
            )
            harness.say(f"loaded {load['rows']} rows in {load['seconds']} s")
            Path(url.removeprefix("sqlite:///")).rename(loaded)
        url = harness.fresh_database("sqlite", work, "consume")
        shutil.copyfile(loaded, url.removeprefix("sqlite:///"))
    else:
        url = harness.fresh_database("postgres", work, "consumers")
        load = harness.run_child(
            script, "load", ["--data", str(data)], harness.bench_env(url, work)
        )
        harness.say(f"loaded {load['rows']} rows in {load['seconds']} s")
    extra = ["--profile", os.path.abspath(args.profile)] if args.profile else []
    extra += ["--batch", str(args.batch)] if args.batch else []
    result = harness.run_child(script, "consume", extra, harness.bench_env(url, work))
    result["subjects"] = subjects
    for name in ("lists", "monitoring"):
        r = result[name]
        harness.say(
            f"{name}: {r['events']} events in {r['cpu_seconds']} CPU s "
            f"({r['events_per_cpu_second']} events/CPU s), {r['statements']} statements"
        )
    harness.say(f"written: {result['written']}; load average {result['load_average']}")
    harness.say(f"digest of what was written: {result['digest']}")
    harness.print_results([result])


if __name__ == "__main__":
    main()
