"""Ingest benchmark: generate department files, ingest them through the full validated path
(parse, validate, deduplicate, store, index) and print rows/s and peak memory, next to a bare
insert of the same rows into an unindexed table, then time a 10,000-row daily batch into the
loaded database. With ``--floor`` it also loads the same files a second time, on a fresh
database, through the store-and-index floor (see ``child_floor``): the work the full path
cannot avoid, which bounds its rate from above.

    .venv/bin/python bench/ingest.py --subjects 3000            # SQLite (+ PostgreSQL if DATABASE_URL is one)
    .venv/bin/python bench/ingest.py --scale pudong --db sqlite  # 300,000 subjects, ~16.9M records
    scripts/with-postgres.sh .venv/bin/python bench/ingest.py --subjects 30000 --db postgres
    .venv/bin/python bench/ingest.py --subjects 30000 --db sqlite --floor

Each database run happens in a child process on a fresh database. Results go to stdout as
lines "RESULT {json}" (one per database and path, "full" or "floor") after a human-readable
summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_child(args: argparse.Namespace) -> tuple[Path, dict]:
    """Django on the child's fresh database, migrated, with the reference data; the files'
    directory and manifest."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())
    data = Path(args.data)
    return data, json.loads((data / "manifest.json").read_text(encoding="utf-8"))


def child(args: argparse.Namespace) -> None:
    data, manifest = setup_child(args)
    import polars as pl
    from django.db import connection, transaction

    from creditplus.bulk import insert_frame
    from creditplus.records.loading import load_demo_files
    from creditplus.records.readers import read_table

    files = manifest["files"]

    started = time.monotonic()
    summary = load_demo_files(data, files, seed=manifest["seed"])
    full_seconds = time.monotonic() - started

    # Bare insert of the same rows: parse each file and insert its raw strings into an
    # unindexed table with the same bulk path (executemany / COPY), no validation.
    biggest = max(files, key=lambda f: f["rows"])
    table = read_table((data / biggest["path"]).read_bytes(), biggest["path"])
    frame = table.frame
    columns = [f"c{i}" for i in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, columns, strict=True)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare")
        cursor.execute(f"CREATE TABLE bench_bare ({', '.join(c + ' text' for c in columns)})")
    t = time.monotonic()
    with transaction.atomic():
        insert_frame("bench_bare", frame)
    bare_seconds = time.monotonic() - t
    bare_rate = frame.height / bare_seconds

    # A daily batch: 10,000 new penalty rows into the loaded database.
    daily = Path(args.daily)
    t = time.monotonic()
    daily_summary = load_demo_files(
        daily, json.loads((daily / "manifest.json").read_text())["files"], seed=-1
    )
    daily_seconds = time.monotonic() - t

    rate = summary["submitted"] / full_seconds
    result = {
        "database": connection.vendor,
        "path": "full",
        "subjects": manifest["subjects"],
        "rows": summary["submitted"],
        "accepted": summary["accepted"],
        "rejected": summary["rejected"],
        "seconds": round(full_seconds, 2),
        "rows_per_second": round(rate),
        # The event consumers (lists, monitoring) are part of storing: included above, and
        # shown on their own, with the rate of the ingest without them.
        "consumer_seconds": round(summary["consumer_seconds"], 2),
        "rows_per_second_before_consumers": round(
            summary["submitted"] / (full_seconds - summary["consumer_seconds"])
        ),
        "bare_insert_rows_per_second": round(bare_rate),
        "ratio_to_bare_insert": round(rate / bare_rate, 3),
        "daily_batch_rows": daily_summary["submitted"],
        "daily_batch_seconds": round(daily_seconds, 2),
        "daily_batch_consumer_seconds": round(daily_summary["consumer_seconds"], 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(
        f"{result['database']}: {result['rows']} rows in {result['seconds']} s = {result['rows_per_second']} rows/s "
        f"(of which event consumers {result['consumer_seconds']} s; "
        f"{result['rows_per_second_before_consumers']} rows/s without them) "
        f"(bare insert {result['bare_insert_rows_per_second']} rows/s, ratio {result['ratio_to_bare_insert']}); "
        f"daily batch of {result['daily_batch_rows']} rows in {result['daily_batch_seconds']} s "
        f"(consumers {result['daily_batch_consumer_seconds']} s); "
        f"peak memory {result['peak_rss_mib']} MiB"
    )
    harness.print_results([result])
    del pl


def child_floor(args: argparse.Namespace) -> None:
    """The store-and-index floor: the same files into the same tables through the same bulk
    path (``insert_frame``), keeping only what storing cannot do without — reading each file,
    the record row with its natural key and JSON, its subject, its behavior events, the batch,
    the indexes and the commit — and none of the checking: no row validation (unparseable
    dates and amounts become empty, rows that cannot be stored are dropped), no comparison
    with stored versions (keys already stored are skipped, remembered in memory), no sealing
    of personal fields, no consumers. The full validated path does all of this and more, so
    its rate cannot exceed this one on the same machine."""
    data, manifest = setup_child(args)
    from datetime import date

    import polars as pl
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from creditplus.accounts.models import Department
    from creditplus.bulk import insert_frame, reserve_ids, timestamp_text
    from creditplus.catalog.models import CatalogItem
    from creditplus.records.ingest import _record_rows, behavior_events, map_headers
    from creditplus.records.loading import WAL_CHECKPOINT_PAGES
    from creditplus.records.models import IngestBatch
    from creditplus.records.readers import read_table
    from creditplus.records.validation import natural_keys

    files = sorted(manifest["files"], key=lambda f: (f["item"] != "DJ", f["path"]))
    items = {i.code: i for i in CatalogItem.objects.all()}
    departments = {d.code: d for d in Department.objects.all()}
    if connection.vendor == "sqlite":  # as records.loading does for a multi-file load
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = -{settings.SQLITE_INGEST_CACHE_MB * 1024}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    subjects = pl.DataFrame(schema={"key": pl.Utf8, "subject_id": pl.Int64})
    stored: dict[int, pl.DataFrame] = {}
    now, today = timezone.now(), date(2026, 11, 1)
    stamp = timestamp_text(now)
    seconds = dict.fromkeys(("read", "shape", "store"), 0.0)
    submitted = stored_rows = 0
    started = time.monotonic()
    for f in files:
        t = time.monotonic()
        table = read_table((data / f["path"]).read_bytes(), f["path"])
        seconds["read"] += time.monotonic() - t
        t = time.monotonic()
        item, spec = items[f["item"]], items[f["item"]].spec
        s = spec.subject
        frame, _ignored = map_headers(table, spec)
        frame = frame.with_columns(
            [
                pl.col(x.code).str.to_date(strict=False).dt.strftime("%Y-%m-%d")
                for x in spec.fields
                if x.type == "date"
            ]
            + [
                pl.col(x.code).cast(pl.Float64, strict=False).abs().cast(pl.Utf8)
                for x in spec.fields
                if x.type == "decimal"
            ]
        )
        key = pl.coalesce(
            [pl.col(c) for c in (s.uscc, s.id_number) if c] + [pl.lit(None, pl.Utf8)]
        ).str.slice(0, 18)
        frame = frame.with_columns(
            natural_keys(frame, spec).alias("natural_key"),
            key.alias("key"),
            pl.col(s.name).fill_null(""),
            pl.lit("legal").alias("__kind"),
            pl.lit(None, pl.Int64).alias("old_version"),
            pl.lit("").alias("flags"),
        )
        frame = frame.filter(
            pl.col("key").is_not_null() & (pl.col("natural_key").str.len_chars() <= 255)
        ).unique("natural_key", keep="first", maintain_order=True)
        if item.pk in stored:
            frame = frame.join(stored[item.pk], on="natural_key", how="anti")
        keys = frame.select("natural_key")
        stored[item.pk] = pl.concat([stored[item.pk], keys]) if item.pk in stored else keys
        frame = frame.join(subjects, on="key", how="left")
        new = frame.filter(pl.col("subject_id").is_null()).unique("key", maintain_order=True)
        new = new.with_columns(reserve_ids("subjects_subject", new.height).alias("new_id"))
        subjects = pl.concat([subjects, new.select("key", pl.col("new_id").alias("subject_id"))])
        frame = frame.join(new.select("key", "new_id"), on="key", how="left").with_columns(
            pl.coalesce("subject_id", "new_id").alias("subject_id"),
            reserve_ids("records_creditrecord", frame.height).alias("record_id"),
            pl.struct([x.code for x in spec.fields]).struct.json_encode().alias("data"),
        )
        subject_rows = new.select(
            pl.col("new_id").alias("id"),
            pl.lit("legal").alias("kind"),
            pl.col("key").alias("uscc"),
            pl.col(s.name).str.slice(0, 200).alias("name"),
            *[
                pl.lit("").alias(c)
                for c in (
                    "id_cipher", "id_masked", "legal_rep_name", "enterprise_type",
                    "industry", "address", "status", "business_scope",
                )
            ],
            pl.lit(False).alias("registered"),
            pl.lit(stamp).alias("created_at"),
            pl.lit(stamp).alias("changed_at"),
        )  # fmt: skip
        seconds["shape"] += time.monotonic() - t
        t = time.monotonic()
        with transaction.atomic():
            batch = IngestBatch.objects.create(
                department=departments[f["department"]],
                item=item,
                external_id=f"floor:{f['path']}",
                file_name=f["path"],
                status="done",
                submitted=frame.height,
                accepted=frame.height,
            )
            insert_frame("subjects_subject", subject_rows)
            insert_frame(
                "records_creditrecord",
                _record_rows(frame, spec, batch, departments[f["department"]], now),
            )
            insert_frame("records_creditevent", behavior_events(frame, spec, item, today, now))
        seconds["store"] += time.monotonic() - t
        submitted += f["rows"]
        stored_rows += frame.height
    total = time.monotonic() - started
    result = {
        "database": connection.vendor,
        "path": "floor",
        "rows": submitted,
        "stored": stored_rows,
        "seconds": round(total, 2),
        "rows_per_second": round(submitted / total),
        **{f"{k}_seconds": round(v, 2) for k, v in seconds.items()},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(
        f"{result['database']} floor: {submitted} rows ({stored_rows} stored) in {result['seconds']} s "
        f"= {result['rows_per_second']} rows/s (read {result['read_seconds']} s, shape "
        f"{result['shape_seconds']} s, store and index incl. commit {result['store_seconds']} s); "
        f"peak memory {result['peak_rss_mib']} MiB"
    )
    harness.print_results([result])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=3000)
    parser.add_argument("--scale", choices=["tiny", "small", "medium", "pudong"])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--work", default=None, help="directory for generated files (kept between runs)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also load the files through the store-and-index floor, on a fresh database",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--daily", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_floor(args) if args.floor else child(args)
        return

    from datetime import date

    from creditplus.records.demo import SCALES, generate

    subjects = SCALES[args.scale] if args.scale else args.subjects
    work = Path(args.work or tempfile.mkdtemp(prefix="creditplus-bench-"))
    data = work / f"data-{subjects}"
    if not (data / "manifest.json").exists():
        t = time.monotonic()
        files = generate(data, subjects, today=date(2026, 11, 1))
        print(
            f"generated {sum(f.rows for f in files)} rows in {len(files)} files in {time.monotonic() - t:.1f} s"
        )
    daily = work / f"daily-{subjects}"
    if not (daily / "manifest.json").exists():
        make_daily_batch(data, daily, rows=10_000)

    runs = [[]] + ([["--floor"]] if args.floor else [])
    for name in harness.database_names(args.db):
        for extra in runs:
            env = harness.bench_env(harness.fresh_database(name, work, "bench"), work)
            step = [sys.executable, __file__, "--child", "--data", str(data)]
            subprocess.run([*step, "--daily", str(daily), *extra], env=env, check=True)


def make_daily_batch(data: Path, daily: Path, rows: int) -> None:
    """A day's penalties: rows like the generated ones, with new decision document numbers
    (so they are new records, as a department's daily batch would be)."""
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
        doc = "CF_WSH" if "CF_WSH" in frame.columns else "行政处罚决定书文号"
        frames.append(frame.with_columns(pl.col(doc) + "-日报"))
        if sum(x.height for x in frames) >= rows:
            break
    batch = pl.concat(frames, how="diagonal").head(rows)
    daily.mkdir(parents=True, exist_ok=True)
    batch.write_csv(daily / "daily.csv")
    files = [
        {
            "path": "daily.csv",
            "item": "CF",
            "department": department,
            "format": "csv-utf8",
            "headers": "mixed",
            "rows": batch.height,
            "bad_rows": 0,
        }
    ]
    (daily / "manifest.json").write_text(
        json.dumps({"seed": -1, "subjects": 0, "files": files}), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
