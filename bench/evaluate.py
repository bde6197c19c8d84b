"""Enterprise credit evaluation benchmark: score every market subject of a Pudong-scale
database (300,000 subjects, ~16.9M credit records, ~8M behavior events), then re-score
1,000 changed subjects incrementally, and check the incremental scores against a full run.

    .venv/bin/python bench/evaluate.py --subjects 300000                       # SQLite
    scripts/with-postgres.sh .venv/bin/python bench/evaluate.py --db postgres    # PostgreSQL
    .venv/bin/python bench/evaluate.py --subjects 2000 --changed 100 --sample 50 --work /tmp/ev
                                                                                 # smoke size

Target (issue): a full evaluation of 300,000 subjects ≤ 30 s on SQLite and on PostgreSQL,
an incremental re-evaluation of 1,000 changed subjects ≤ 2 s, peak memory ≤ 4 GiB.

The database comes from ``builder.pudong_database`` (built directly with the demo
generator's shapes; SQLite cached under ``--work`` by (subjects, seed), ``--rebuild`` builds
it again; PostgreSQL built in a sibling database). Build time is printed apart; it is not
part of any target. Measurements, each in a fresh child process (peak memory = the child's
``ru_maxrss``):

1. full: ``evaluate(mode="all", as_of=today)`` — evaluated, grades, seconds, phases;
2. full, warm: the same again (scores exist: the write phase replaces them);
3. incremental: ``--changed`` random organisations get one new penalty record and event and
   are touched (``touch_subjects``, as ingest does), then ``evaluate(mode="changed")``;
4. verify: a sample (``--sample``) of those subjects: their scores after the incremental run
   equal those of a fresh full run (score, grade, base grade, overrides, contributions);
   all other subjects are compared as well.

Each measurement reports wall-clock and CPU seconds of the child, the phases, a breakdown of
the steps inside them (each extract query, each bulk insert) and the machine's load average
before it: on a shared 2-core machine other work inflates wall-clock times, CPU seconds much
less. A human summary, then one line ``RESULT {json}`` per database, goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date
from pathlib import Path
from typing import Any

import harness
from builder import pudong_database

TARGET_FULL_S = 30.0
TARGET_INCREMENTAL_S = 2.0
TARGET_PEAK_MIB = 4096
SCORE_COLUMNS = ("subject_id", "score", "grade", "base_grade", "overrides", "contributions")


# --------------------------------------------------------------------------- children


def _instrument() -> dict[str, float]:
    """Time the steps inside the phases (which read, which write) without changing them."""
    from creditplus.evaluation import extract, services

    spent: dict[str, float] = {}

    def wrap(module: Any, name: str, label: Any) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            key = label(*args) if callable(label) else label
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - t

        setattr(module, name, timed)

    for name in ("subjects", "events", "records", "list_members", "related"):
        wrap(extract, name, f"extract.{name}")
    wrap(services, "changed_subject_ids", "changed_subject_ids")
    wrap(services, "_current", "write.read_current")
    wrap(services, "insert_frame", lambda table, *rest: f"write.insert {table}")
    return spent


def _evaluate(mode: str, today: date) -> dict[str, Any]:
    """One evaluation run, instrumented; ``cpu_seconds`` (this process, all threads) is less
    sensitive to other work on the machine than the wall-clock ``seconds``."""
    from creditplus.evaluation.services import evaluate

    spent = _instrument()
    cpu = harness.cpu_seconds()
    run = evaluate(mode=mode, as_of=today, actor="bench")
    cpu = harness.cpu_seconds() - cpu
    write = run.phases.get("write", 0.0)
    breakdown = {k: round(v, 3) for k, v in spent.items()}
    inside = sum(v for k, v in spent.items() if k.startswith("write."))
    breakdown["write.delete_and_other"] = round(max(write - inside, 0.0), 3)
    return {
        "evaluated": run.evaluated,
        "grades": run.grades,
        "grade_changes": run.grade_changes,
        "seconds": run.seconds,
        "cpu_seconds": round(cpu, 2),
        "phases": run.phases,
        "breakdown": breakdown,
    }


def _scores(subject_ids: list[int] | None = None) -> Any:
    """The active model's Score rows (all, or of ``subject_ids``) as a frame."""
    import polars as pl
    from django.db import connection

    from creditplus.bulk import fetch_frame, fetch_in
    from creditplus.evaluation.models import EvaluationModel, Score

    model = EvaluationModel.objects.active()
    types = (pl.Int64, pl.Int64, pl.Utf8, pl.Utf8, pl.Utf8, pl.Utf8)
    schema = dict(zip(SCORE_COLUMNS, types, strict=True))
    table = connection.ops.quote_name(Score._meta.db_table)
    sql = f"SELECT {', '.join(SCORE_COLUMNS)} FROM {table} WHERE model_id = %s"
    if subject_ids is None:
        return fetch_frame(sql, [model.pk], schema).sort("subject_id")
    return fetch_in(
        sql + " AND subject_id {in}", subject_ids, extra=[model.pk], schema=schema
    ).sort("subject_id")


def child_full(args: argparse.Namespace) -> None:
    load = harness.load_average()
    harness.django_setup()
    run = _evaluate("all", date.fromisoformat(args.today))
    harness.emit({**run, "load_before": load, "peak_rss_mib": harness.peak_mib()})


def _add_penalties(chosen: Any, today: date) -> None:
    """One new general penalty (record and event) for each of ``chosen`` (id, name), in one
    batch, and the subjects touched, as ingest does."""
    import polars as pl
    from django.db import transaction
    from django.utils import timezone

    from creditplus.accounts.models import Department
    from creditplus.bulk import insert_frame, reserve_ids, timestamp_text
    from creditplus.catalog.calendar import add_months
    from creditplus.catalog.models import BehaviorRule, CatalogItem
    from creditplus.records.choices import BatchSource, BatchStatus
    from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch
    from creditplus.subjects.services import touch_subjects

    n = chosen.height
    item, rule = CatalogItem.objects.get(code="CF"), BehaviorRule.objects.get(code="CF-GENERAL")
    department = Department.objects.get(code="SCJG")
    now = timezone.now()
    stamp, day = timestamp_text(now), today.isoformat()

    def months(m: int) -> pl.Series:
        return pl.Series([add_months(today, m).isoformat() if m else None] * n, dtype=pl.Utf8)

    with transaction.atomic():
        batch = IngestBatch.objects.create(
            department=department, item=item, source=BatchSource.CLI,
            file_name="bench-incremental.csv", status=BatchStatus.DONE,
            submitted=n, accepted=n, created_by="bench",
        )  # fmt: skip
        ids = reserve_ids(CreditRecord._meta.db_table, n)
        records = {
            "id": ids, "item_id": item.pk, "subject_id": chosen["id"],
            "department_id": department.pk, "batch_id": batch.pk, "row_no": range(1, n + 1),
            "natural_key": "CF-INC-" + ids.cast(pl.Utf8), "version": 1, "is_current": True,
            "status": "active", "subject_name": chosen["name"], "decision_date": day,
            "category": "罚款", "amount": "0.5", "flags": "", "data": "{}", "received_at": stamp,
        }  # fmt: skip
        insert_frame(CreditRecord._meta.db_table, pl.DataFrame(records))
        restoration = add_months(today, rule.restoration_after_months).isoformat()
        events = {
            "id": reserve_ids(CreditEvent._meta.db_table, n), "record_id": ids,
            "subject_id": chosen["id"], "rule_id": rule.pk, "kind": rule.kind,
            "severity": rule.severity, "occurred_on": day, "published": rule.published,
            "publish_min_until": months(rule.min_months), "publish_until": months(rule.max_months),
            "restoration_from": restoration, "status": "active", "created_at": stamp,
        }  # fmt: skip
        insert_frame(CreditEvent._meta.db_table, pl.DataFrame(events))
        touch_subjects(chosen["id"].to_list(), now)


def child_incremental(args: argparse.Namespace) -> None:
    """Touch ``--changed`` organisations with one new penalty each, as ingest would, then
    evaluate the changed subjects."""
    harness.django_setup()
    import numpy as np
    import polars as pl

    from creditplus.bulk import fetch_frame
    from creditplus.catalog.choices import SubjectKind
    from creditplus.subjects.models import Subject

    today = date.fromisoformat(args.today)
    t = time.monotonic()
    orgs = fetch_frame(
        f"SELECT id, name FROM {Subject._meta.db_table} WHERE kind <> %s ORDER BY id",
        [SubjectKind.PERSON],
    )
    rng = np.random.default_rng([args.seed, 21])
    chosen = orgs[np.sort(rng.choice(orgs.height, min(args.changed, orgs.height), replace=False))]
    ids = chosen["id"].to_list()
    _add_penalties(chosen, today)
    prepare_seconds = time.monotonic() - t
    Path(args.work, "changed.json").write_text(json.dumps(ids), encoding="utf-8")
    before = _scores(ids)
    load = harness.load_average()
    run = _evaluate("changed", today)
    moved = before.join(_scores(ids), on="subject_id", suffix="_new")
    harness.emit(
        {
            **run,
            "touched": len(ids),
            "prepare_seconds": round(prepare_seconds, 2),
            "touched_scores_changed": moved.filter(pl.col("score") != pl.col("score_new")).height,
            "load_before": load,
            "peak_rss_mib": harness.peak_mib(),
        }
    )


def child_verify(args: argparse.Namespace) -> None:
    """The scores after the incremental run against a fresh full run."""
    harness.django_setup()
    import polars as pl

    changed = json.loads(Path(args.work, "changed.json").read_text(encoding="utf-8"))
    sample = sorted(random.Random(args.seed).sample(changed, min(args.sample, len(changed))))
    incremental = _scores()
    run = _evaluate("all", date.fromisoformat(args.today))
    full = _scores()

    def differ(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
        both = left.join(right, on="subject_id", how="full", suffix="_full", coalesce=True)
        same = pl.all_horizontal(
            [pl.col(c).eq_missing(pl.col(f"{c}_full")) for c in SCORE_COLUMNS[1:]]
        )
        return both.filter(~same)

    picked = pl.col("subject_id").is_in(pl.Series(sample, dtype=pl.Int64).implode())
    picked_incremental = incremental.filter(picked)
    sample_diff = differ(picked_incremental, full.filter(picked))
    all_diff = differ(incremental, full)
    harness.emit(
        {
            "sample": len(sample),
            "sample_found": picked_incremental.height,
            "mismatches": sample_diff.height,
            "mismatch_examples": sample_diff.head(3).to_dicts(),
            "all_compared": full.height,
            "all_mismatches": all_diff.height,
            "all_mismatch_ids": all_diff["subject_id"].head(10).to_list(),
            "full_after_incremental": run,
            "peak_rss_mib": harness.peak_mib(),
        }
    )


# --------------------------------------------------------------------------- parent


def _line(label: str, r: dict[str, Any]) -> str:
    phases = " ".join(f"{k} {v:.2f}" for k, v in r["phases"].items())
    head = f"{r['evaluated']:,} subjects"
    if "touched" in r:
        head = f"{r['touched']:,} touched → {r['evaluated']:,} evaluated"
        phases += f"; {r['touched_scores_changed']:,} scores changed"
    return (
        f"   {label + ':':13}{head} in {r['seconds']:.2f} s (CPU {r['cpu_seconds']:.1f} s) "
        f"({phases}), peak {r['peak_rss_mib']} MiB, load average before {r['load_before']}"
    )


def run_database(args: argparse.Namespace, name: str, work: Path) -> dict[str, Any]:
    db = pudong_database(
        name, work, subjects=args.subjects, seed=args.seed, today=args.today,
        rebuild=args.rebuild, plan_subjects=args.plan_subjects,
    )  # fmt: skip
    build, url, today = db["build"], db["url"], db["today"]
    env = harness.bench_env(url, work)
    size = harness.database_mib(url)
    print(
        f"   {build['subjects']:,} organisations, {build['persons']:,} persons, "
        f"{build['records']:,} records, {build['events']:,} events, "
        f"{build['list_entries']:,} list entries; database {size:,} MiB; build "
        f"{build['seconds']} s {build['timings']}{' (cached)' if build['cached'] else ''}",
        flush=True,
    )
    argv = ["--seed", str(args.seed), "--changed", str(args.changed)]
    argv += ["--sample", str(args.sample), "--today", today, "--work", str(work)]
    runs: dict[str, dict[str, Any]] = {}
    for label, step in (("full", "full"), ("full_warm", "full"), ("incremental", "incremental")):
        runs[label] = harness.run_child(__file__, step, argv, env, indent="     ")
        print(_line(label.replace("_warm", ", warm"), runs[label]), flush=True)
    full, warm, inc = runs["full"], runs["full_warm"], runs["incremental"]
    ver = harness.run_child(__file__, "verify", argv, env, indent="     ")
    print(
        f"   verify:      sample {ver['sample']}: {ver['mismatches']} mismatches; all "
        f"{ver['all_compared']:,} subjects: {ver['all_mismatches']} mismatches "
        f"(full run {ver['full_after_incremental']['seconds']:.2f} s)",
        flush=True,
    )
    if name == "sqlite" and not args.keep_copy:  # the cached database stays
        harness.remove_sqlite(Path(url.removeprefix("sqlite:///")))
    peak = max(r["peak_rss_mib"] for r in (full, warm, inc, ver))
    build_keys = ("seconds", "cached", "timings", "copy_seconds", "peak_rss_mib")
    return {
        "database": {"sqlite": "sqlite", "postgres": "postgresql"}[name],
        **{k: build[k] for k in ("subjects", "persons", "records", "events", "list_entries")},
        "relations": build["relations"],
        "today": today,
        "database_mib": size,
        "build": {k: build.get(k) for k in build_keys},
        **runs,
        "verify": ver,
        "peak_rss_mib": peak,
        "targets": {
            "full_seconds": TARGET_FULL_S,
            "incremental_seconds": TARGET_INCREMENTAL_S,
            "peak_rss_mib": TARGET_PEAK_MIB,
        },
        "target_met": {
            "full": full["seconds"] <= TARGET_FULL_S,
            "full_warm": warm["seconds"] <= TARGET_FULL_S,
            "incremental": inc["seconds"] <= TARGET_INCREMENTAL_S,
            "peak_memory": peak <= TARGET_PEAK_MIB,
            "incremental_covers_touched": inc["evaluated"] >= inc["touched"],
            "verified": ver["mismatches"] == 0 and ver["sample_found"] == ver["sample"],
        },
    }


def _summary(r: dict[str, Any]) -> str:
    met = {k: "ok" if v else "MISSED" for k, v in r["target_met"].items()}
    inc, ver = r["incremental"], r["verify"]
    return (
        f"{r['database']}: {r['subjects']:,} subjects, {r['records']:,} records, "
        f"{r['events']:,} events (build {r['build']['seconds']} s"
        f"{', cached' if r['build']['cached'] else ''}); full {r['full']['seconds']:.2f} s "
        f"{met['full']}; warm {r['full_warm']['seconds']:.2f} s {met['full_warm']}; "
        f"incremental {inc['touched']:,} touched → {inc['evaluated']:,} in "
        f"{inc['seconds']:.2f} s {met['incremental']}; peak {r['peak_rss_mib']:,} MiB "
        f"{met['peak_memory']}; verified sample {ver['sample']}: {ver['mismatches']} "
        f"mismatches ({ver['all_mismatches']} over all subjects)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=300_000, help="market subjects")
    harness.add_database_option(parser)
    parser.add_argument("--changed", type=int, default=1000, help="subjects touched")
    parser.add_argument("--sample", type=int, default=200, help="changed subjects verified")
    parser.add_argument("--seed", type=int, default=20171115)
    parser.add_argument("--today", help="YYYY-MM-DD (default: today, or the cached build's)")
    parser.add_argument(
        "--plan-subjects", type=int, default=None, help="size of the generator run for volumes"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite database")
    parser.add_argument("--work", default=None, help="cache and working directory (var/bench)")
    parser.add_argument(
        "--keep-copy", action="store_true", help="keep the measured copy of the SQLite database"
    )
    parser.add_argument(
        "--child", choices=["full", "incremental", "verify"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        {"full": child_full, "incremental": child_incremental, "verify": child_verify}[args.child](
            args
        )
        return
    work = Path(args.work or harness.ROOT / "var" / "bench").resolve()
    results = [run_database(args, name, work) for name in harness.database_names(args.db)]
    print()
    print(
        f"== summary (target: full ≤ {TARGET_FULL_S:.0f} s, incremental ≤ "
        f"{TARGET_INCREMENTAL_S:.0f} s, peak ≤ {TARGET_PEAK_MIB // 1024} GiB; build not timed)"
    )
    for r in results:
        print(_summary(r))
    harness.print_results(results)


if __name__ == "__main__":
    main()
