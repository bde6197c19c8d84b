"""Ingest benchmark: generate the department files, bulk-load them (`creditplus load`: the
full validated path, one batch per file, deferred index builds), run the event consumers
and a full `evaluate --all`, and print each stage's time and share; the ratio of the load's
rate to a bare insert of the same record rows into the same table without secondary indexes
(COPY on PostgreSQL, executemany on SQLite), measured in the same run; and a 10,000-row
daily batch (ingest plus consumers) into the loaded database and, in the same run, into a
``--reference-subjects`` (30,000) database, each followed by the same rows again under new
decision numbers (hot: the first batch's pages in memory).

    .venv/bin/python bench/ingest.py --subjects 30000 --db sqlite
    .venv/bin/python bench/ingest.py --scale pudong --db sqlite        # 300,000 subjects, ~16.7 M rows
    scripts/with-postgres.sh .venv/bin/python bench/ingest.py --scale pudong --db postgres

Each database run happens in child processes on fresh databases. Results go to stdout as a
stage table and one line "RESULT {json}" per database.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import harness

if TYPE_CHECKING:
    import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DAILY_ROWS = 10_000
BARE_CHUNK = 200_000


def setup_child() -> None:
    """Django on the child's fresh database, migrated, with the reference data."""
    harness.django_setup()
    from io import StringIO

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())


def child_load(args: argparse.Namespace) -> None:
    """Bulk load, consumers (run by the load after its last file), evaluate --all, the daily
    batch, then the bare insert of the stored record rows."""
    setup_child()
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from creditplus.records.bulkload import load_directory
    from creditplus.records.models import CreditEvent

    memory = harness.MemoryTrace()
    started, cpu = time.monotonic(), time.process_time()
    summary = load_directory(Path(args.data))
    loaded = time.monotonic()
    load_seconds = loaded - started - summary["consumer_seconds"]
    # This process's CPU, consumers included (SQLite works inside it; PostgreSQL's server does not count here).
    load_cpu = time.process_time() - cpu
    t = time.monotonic()
    call_command("evaluate", "--all", stdout=StringIO())
    evaluate_seconds = time.monotonic() - t
    # Which stage set the peak: after the last file the load builds the indexes it dropped,
    # then runs the consumers.
    consumers_from = loaded - summary["consumer_seconds"]
    indexes_from = consumers_from - summary["index_seconds"]
    stage_peaks = {
        "files": memory.peak(started, indexes_from),
        "indexes": memory.peak(indexes_from, consumers_from),
        "consumers": memory.peak(consumers_from, loaded),
        "evaluate": memory.peak(loaded, time.monotonic()),
    }
    # The load's peak (files, consumers, evaluate --all); the benchmark's own steps after
    # it (the bare insert reads 200,000 stored rows at a time as Python tuples) count apart.
    # The kernel's high-water mark and the sampled resident size are two counters, each
    # rounded to MiB: a sample may read a MiB above it (seen at a tiny size), so the peak is
    # the higher of them.
    load_peak = max(harness.peak_mib(), *stage_peaks.values())
    # The day after the load, before the bare insert: copying 16.7 M rows into a scratch
    # table and dropping it evicts the page cache as nothing in a site's life does.
    daily = daily_batch(Path(args.daily))
    bare_rows, bare_seconds = bare_insert()
    events = CreditEvent.objects.count()
    index_mib = random_key_index_mib()
    harness.emit(
        {
            "database": connection.vendor,
            **{k: summary[k] for k in ("files", "submitted", "accepted", "updated", "rejected")},
            "load_seconds": round(load_seconds, 2),
            "load_consumers_cpu_seconds": round(load_cpu, 2),
            "index_seconds": summary["index_seconds"],
            "indexes_deferred": summary["indexes_deferred"],
            "consumer_seconds": summary["consumer_seconds"],
            "evaluate_seconds": round(evaluate_seconds, 2),
            "events": events,
            "bare_rows": bare_rows,
            "bare_seconds": round(bare_seconds, 3),
            **daily,
            "random_key_index_mib": index_mib,
            "peak_rss_mib": load_peak,
            "peak_rss_mib_by_stage": stage_peaks,
            "peak_rss_mib_with_benchmark_steps": max(load_peak, harness.peak_mib()),
        }
    )


def child_reference(args: argparse.Namespace) -> None:
    """The reference database: the smaller district loaded (not timed), then its daily batch."""
    setup_child()
    from creditplus.records.bulkload import load_directory

    load_directory(Path(args.data))
    harness.emit(daily_batch(Path(args.daily)))


def bare_insert() -> tuple[int, float]:
    """Copy every stored record row into a table shaped like the records table but without
    any index, through the same bulk interface as ingest (``insert_frame``); only the
    inserts are timed (reading the rows back is not)."""
    from django.db import connection, transaction

    from creditplus.bulk import fetch_frame, insert_frame

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare")
        if connection.vendor == "postgresql":
            cursor.execute("CREATE TABLE bench_bare (LIKE records_creditrecord INCLUDING DEFAULTS)")
        else:
            cursor.execute("CREATE TABLE bench_bare AS SELECT * FROM records_creditrecord WHERE 0")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM records_creditrecord")
        top = cursor.fetchone()[0]
    rows, seconds = 0, 0.0
    for start in range(0, top, BARE_CHUNK):
        frame = fetch_frame(
            "SELECT * FROM records_creditrecord WHERE id > %s AND id <= %s",
            [start, start + BARE_CHUNK],
        )
        t = time.monotonic()
        with transaction.atomic():
            rows += insert_frame("bench_bare", frame)
        seconds += time.monotonic() - t
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_bare")
    return rows, seconds


def random_key_index_mib() -> dict[str, float]:
    """Each random-key index's size in MiB (SQLite: ``dbstat``, which reads the index): the
    indexes a daily batch writes at random places (one leaf per row in each, at Pudong
    scale), so the memory that keeps their pages in cache is what keeps the batch "hot"."""
    from itertools import chain

    from django.db import connection

    from creditplus.records.bulkload import DEFERRED_INDEXES

    sizes = {}
    with connection.cursor() as cursor:
        for name in ("one_current_version", *chain(*DEFERRED_INDEXES.values())):
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_relation_size(%s::regclass)", [name])
            else:
                cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = %s", [name])
            sizes[name] = round((cursor.fetchone()[0] or 0) / 2**20, 3)
    return sizes


def daily_batch(directory: Path) -> dict:
    """A day's batch as a department sends it: `ingest` (one batch), then its consumers; the
    database's pages as the steps before left them. Then the same rows again under new
    decision numbers ("hot": what the first batch read is still in memory), so that the
    run tells the cost of the work apart from the cost of reading pages from the disk."""
    import polars as pl

    from creditplus.records import consumers
    from creditplus.records.bulkload import read_manifest
    from creditplus.records.ingest import IngestOptions, ingest_file

    (f,) = read_manifest(directory)
    content = f.path.read_bytes()
    again = renumbered(pl.read_csv(content, infer_schema_length=0), "-次日").write_csv()
    figures: dict = {}
    for name, data in [("daily_batch", content), ("daily_batch_hot", again.encode())]:
        t = time.monotonic()
        options = IngestOptions(
            item=f.item, department=f.department, file_name=f"{name}.csv", run_consumers=False
        )
        batch = ingest_file(data, options)
        ingest_seconds = time.monotonic() - t
        consumers.run_all()
        figures[f"{name}_seconds"] = round(time.monotonic() - t, 3)
        figures[f"{name}_consumer_seconds"] = round(time.monotonic() - t - ingest_seconds, 3)
        figures[f"{name}_warm_up"] = batch.stats["warm_up"]
        figures.setdefault("daily_batch_rows", batch.submitted)
        figures.setdefault("daily_batch_accepted", batch.accepted)
    return figures


def renumbered(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
    """Penalty rows under new decision document numbers: new records about the same subjects."""
    import polars as pl

    doc = "CF_WSH" if "CF_WSH" in frame.columns else "行政处罚决定书文号"
    return frame.with_columns(pl.col(doc) + suffix)


def make_daily_batch(data: Path, daily: Path, rows: int) -> None:
    """A day's penalties: rows like the generated ones about the same subjects, with new
    decision document numbers (so they are new records, as a daily batch's would be)."""
    import polars as pl

    from creditplus.records.readers import read_table

    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    penalties = [f for f in manifest["files"] if f["item"] == "CF" and f["format"] != "xlsx"]
    by_department: dict[str, int] = {}
    for f in penalties:
        by_department[f["department"]] = by_department.get(f["department"], 0) + f["rows"]
    department = max(by_department, key=by_department.__getitem__)  # the busiest department
    frames: list[pl.DataFrame] = []
    for f in (f for f in penalties if f["department"] == department):
        frame = read_table((data / f["path"]).read_bytes(), f["path"]).frame
        frames.append(renumbered(frame, "-日报"))
        if sum(x.height for x in frames) >= rows:
            break
    batch = pl.concat(frames, how="diagonal").head(rows)
    daily.mkdir(parents=True, exist_ok=True)
    batch.write_csv(daily / "daily.csv")
    files = [{"path": "daily.csv", "item": "CF", "department": department, "rows": batch.height}]
    (daily / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")


def prepare(work: Path, subjects: int) -> tuple[Path, Path, float]:
    """The generated files of ``subjects`` subjects and their daily batch (kept in ``work``
    between runs); the seconds generating took (0 when reused)."""
    from datetime import date

    from creditplus.records.demo import generate

    data, daily = work / f"data-{subjects}", work / f"daily-{subjects}"
    seconds = 0.0
    if not (data / "manifest.json").exists():
        t = time.monotonic()
        files = generate(data, subjects, today=date(2026, 11, 1))
        seconds = time.monotonic() - t
        print(
            f"generated {sum(f.rows for f in files)} rows in {len(files)} files in {seconds:.1f} s"
        )
    if not (daily / "manifest.json").exists():
        make_daily_batch(data, daily, DAILY_ROWS)
    return data, daily, seconds


def summarise(
    run: dict, reference: dict, subjects: int, reference_subjects: int, gen: float
) -> dict:
    """The stage table on stdout, and the RESULT figures."""
    stages = {
        "generate": gen,
        "load": run["load_seconds"],
        "consumers": run["consumer_seconds"],
        "evaluate --all": run["evaluate_seconds"],
    }
    total = sum(stages.values()) or 1.0
    print(f"{run['database']}: {subjects} subjects, {run['files']} files, {run['submitted']} rows")
    print(f"  {'stage':<16}{'seconds':>10}{'share':>8}")
    for name, seconds in stages.items():
        print(f"  {name:<16}{seconds:>10.1f}{seconds / total:>8.1%}")
    print(f"  {'(index build)':<16}{run['index_seconds']:>10.1f}   (part of load)")
    print(f"  {'total':<16}{total:>10.1f}")
    rate = run["submitted"] / max(run["load_seconds"], 1e-9)
    bare = run["bare_rows"] / max(run["bare_seconds"], 1e-9)
    daily_ratio = run["daily_batch_seconds"] / max(reference["daily_batch_seconds"], 1e-9)
    hot_ratio = run["daily_batch_hot_seconds"] / max(reference["daily_batch_hot_seconds"], 1e-9)
    result = {
        "database": run["database"],
        "path": "bulk",
        "subjects": subjects,
        "files": run["files"],
        "rows": run["submitted"],
        "accepted": run["accepted"],
        "updated": run["updated"],
        "rejected": run["rejected"],
        "seconds": round(run["load_seconds"] + run["consumer_seconds"], 2),
        "rows_per_second": round(rate),
        "stages": {k: round(v, 2) for k, v in stages.items()},
        "load_consumers_cpu_seconds": run["load_consumers_cpu_seconds"],
        "index_seconds": run["index_seconds"],
        "indexes_deferred": run["indexes_deferred"],
        "consumer_seconds": run["consumer_seconds"],
        "events": run["events"],
        "consumer_events_per_second": round(run["events"] / max(run["consumer_seconds"], 1e-9)),
        "bare_insert_rows_per_second": round(bare),
        "ratio_to_bare_insert": round(rate / bare, 3),
        **{k: v for k, v in run.items() if k.startswith("daily_batch")},
        "reference_subjects": reference_subjects,
        "reference_daily_batch_seconds": reference["daily_batch_seconds"],
        "reference_daily_batch_warm_up": reference["daily_batch_warm_up"],
        "daily_ratio_to_reference": round(daily_ratio, 2),
        "reference_daily_batch_hot_seconds": reference["daily_batch_hot_seconds"],
        "daily_hot_ratio_to_reference": round(hot_ratio, 2),
        "random_key_index_mib": run["random_key_index_mib"],
        "peak_rss_mib": run["peak_rss_mib"],
        "peak_rss_mib_by_stage": run["peak_rss_mib_by_stage"],
        "peak_rss_mib_with_benchmark_steps": run["peak_rss_mib_with_benchmark_steps"],
        "load_average": harness.load_average(),
        "proactive_reclaim": harness.proactive_reclaim(),
    }
    print(
        f"  load {result['rows_per_second']} rows/s, bare insert {result['bare_insert_rows_per_second']} "
        f"rows/s: ratio {result['ratio_to_bare_insert']}; consumers {result['consumer_events_per_second']} "
        f"events/s; daily batch of {run['daily_batch_rows']} rows {run['daily_batch_seconds']} s "
        f"(consumers {run['daily_batch_consumer_seconds']} s), into {reference_subjects} subjects "
        f"{reference['daily_batch_seconds']} s: ×{result['daily_ratio_to_reference']}; the same "
        f"rows again, hot, {run['daily_batch_hot_seconds']} s against "
        f"{reference['daily_batch_hot_seconds']} s: ×{result['daily_hot_ratio_to_reference']}; "
        f"random-key indexes {run['random_key_index_mib']} MiB; "
        f"peak memory {run['peak_rss_mib']} MiB (load, consumers, evaluate; "
        f"{run['peak_rss_mib_with_benchmark_steps']} MiB with the bare insert and daily batch); "
        f"sampled peak by stage {run['peak_rss_mib_by_stage']} MiB; "
        f"the kernel's proactive reclaim of idle memory: {result['proactive_reclaim']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=3000)
    parser.add_argument("--scale", choices=["tiny", "small", "medium", "pudong"])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--reference-subjects", type=int, default=30_000)
    parser.add_argument(
        "--work", default=None, help="directory for generated files (kept between runs)"
    )
    parser.add_argument("--child", choices=["load", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--daily", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_load(args) if args.child == "load" else child_reference(args)
        return

    from creditplus.records.demo import SCALES

    subjects = SCALES[args.scale] if args.scale else args.subjects
    reference_subjects = min(args.reference_subjects, subjects)
    work = Path(args.work or tempfile.mkdtemp(prefix="creditplus-bench-"))
    data, daily, gen = prepare(work, subjects)
    ref_data, ref_daily, _gen = prepare(work, reference_subjects)
    results = []
    for name in harness.database_names(args.db):
        env = harness.bench_env(harness.fresh_database(name, work, "bench"), work)
        run = harness.run_child(__file__, "load", ["--data", str(data), "--daily", str(daily)], env)
        reference = run  # at or below the reference size, the run is its own reference
        if reference_subjects < subjects:
            env = harness.bench_env(harness.fresh_database(name, work, "reference"), work)
            argv = ["--data", str(ref_data), "--daily", str(ref_daily)]
            reference = harness.run_child(__file__, "reference", argv, env)
        results.append(summarise(run, reference, subjects, reference_subjects, gen))
    harness.print_results(results)


if __name__ == "__main__":
    main()
