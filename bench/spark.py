"""Benchmark: the evaluation beyond one machine — Spark (local mode) against Polars.

Generates a synthetic snapshot directly as Parquet (default: 10× Pudong, 3,000,000 subjects
and ~80 M behavior events), chunk by chunk in bounded memory, in the format
``creditplus snapshot`` writes; then scores it with the Spark engine in local mode and with
the Polars engine, each in a child process whose peak RSS is measured. Prints one RESULT line
in all. No time target on a 2-core machine: the figures project a cluster run (README,
"Beyond one machine").

    python bench/spark.py                       # 3 M subjects, both engines
    python bench/spark.py --subjects 300000     # Pudong scale
    python bench/spark.py --engines spark --master local[2]
    python bench/spark.py --subjects 300000 --reuse   # the snapshot generated before

Each engine's child reports wall-clock and CPU seconds (the JVM's included) and peak RSS;
with both engines, ``RESULT compare`` counts the subjects whose scores differ (target 0).
``CREDITPLUS_SPARK_DRIVER_MEMORY`` sets the local driver's heap (e.g. 8g at 3 M subjects).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
AS_OF = date(2026, 12, 1)
CHUNK = 250_000  # subjects generated and written at a time
DAY0 = (AS_OF - date(1970, 1, 1)).days


def _rules() -> pl.DataFrame:
    import yaml

    data = yaml.safe_load((ROOT / "creditplus/reference_data/behavior_rules.yaml").read_text())
    return pl.DataFrame(
        [(r["code"], r["kind"], r["severity"]) for r in data["rules"]],
        schema={"rule": pl.Utf8, "kind": pl.Utf8, "severity": pl.Utf8},
        orient="row",
    )


def _keys(rng: np.random.Generator, first: int, n: int) -> pl.Series:
    from creditplus.records.demo.identifiers import with_uscc_check

    bodies = pl.Series([f"91310000{first + i:09d}" for i in range(n)])
    return with_uscc_check(bodies)


def generate(out: Path, subjects: int, events_per_subject: float, seed: int = 7) -> dict:
    """Write a snapshot of ``subjects`` synthetic subjects; returns the table row counts."""
    from creditplus.evaluation.snapshot import (
        BATCHES_SCHEMA,
        PARTITIONS,
        PartitionedWriter,
        partition_of,
    )

    rules = _rules()
    rule_codes = rules["rule"].to_numpy()
    writers = {
        name: PartitionedWriter(out / name, PARTITIONS)
        for name in ("subjects", "events", "records", "lists", "related")
    }
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(writers, 0)
    for first in range(0, subjects, CHUNK):
        n = min(CHUNK, subjects - first)
        keys = _keys(rng, first, n)
        part = pl.Series("part", [partition_of(k) for k in keys.to_list()], dtype=pl.Int32)
        base = pl.DataFrame({"subject": keys, "part": part})
        frames = {
            "subjects": base.with_columns(
                pl.Series("established", DAY0 - rng.integers(30, 12000, n)).cast(pl.Date),
                pl.Series(
                    "status",
                    rng.choice(["存续", "在业", "吊销", "注销"], n, p=[0.8, 0.17, 0.02, 0.01]),
                ),
            ),
            "events": _events(rng, base, rule_codes, events_per_subject),
            "records": _records(rng, base),
            "lists": base.sample(fraction=0.03, seed=seed + first).with_columns(
                pl.Series(
                    "kind",
                    rng.choice(["black", "watch", "red"], int(n * 0.03) or 1)[: int(n * 0.03)],
                )
            )
            if n >= 100
            else base.head(0).with_columns(pl.lit("").alias("kind")),
            "related": _related(rng, base),
        }
        for name, frame in frames.items():
            writers[name].write(frame)
            counts[name] += frame.height
        print(f"  generated {first + n:,}/{subjects:,} subjects", file=sys.stderr)
    for writer in writers.values():
        writer.close(None)
    (out / "rules").mkdir(exist_ok=True)
    rules.write_parquet(out / "rules" / "part-00.parquet")
    (out / "batches").mkdir(exist_ok=True)
    pl.DataFrame(schema=BATCHES_SCHEMA).write_parquet(out / "batches" / "part-00.parquet")
    return counts


def _events(rng, base: pl.DataFrame, rule_codes, per_subject: float) -> pl.DataFrame:
    n = rng.poisson(per_subject, base.height)
    owners = np.repeat(np.arange(base.height), n)
    total = owners.size
    return pl.DataFrame(
        {
            "subject": base["subject"].gather(owners),
            "rule": rule_codes[rng.integers(0, rule_codes.size, total)],
            "day": (DAY0 - rng.integers(0, 5 * 365, total)).astype(np.int32),
            "part": base["part"].gather(owners),
        }
    )


def _records(rng, base: pl.DataFrame) -> pl.DataFrame:
    owners = rng.integers(0, base.height, base.height // 2)
    return pl.DataFrame(
        {
            "subject": base["subject"].gather(owners),
            "item": rng.choice(["CF", "XK", "SSQF", "QSJS"], owners.size),
            "department": "SCJG",
            "day": (DAY0 - rng.integers(0, 3 * 365, owners.size)).astype(np.int32),
            "amount": rng.gamma(1.5, 3.0, owners.size).round(2),
            "part": base["part"].gather(owners),
        }
    )


def _related(rng, base: pl.DataFrame) -> pl.DataFrame:
    a = rng.integers(0, base.height, base.height // 10)
    b = rng.integers(0, base.height, a.size)
    keep = a != b
    return pl.DataFrame(
        {
            "subject": base["subject"].gather(a[keep]),
            "other": base["subject"].gather(b[keep]),
            "part": base["part"].gather(a[keep]),
        }
    )


def _spec():
    import yaml

    from creditplus.evaluation.definition import parse

    model = yaml.safe_load(
        (ROOT / "creditplus/reference_data/evaluation/CPE-2026.yaml").read_text()
    )
    return parse(model)


def child(engine: str, snapshot: Path, master: str) -> None:
    """One engine's run (in its own process, so its peak memory is its own)."""
    spec = _spec()
    started = time.perf_counter()
    if engine == "spark":
        from creditplus.evaluation import spark

        summary = spark.evaluate(spec, [snapshot], AS_OF, snapshot / "scores-spark", master)
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        spark.session(master).stop()
        gateway.shutdown()
        # The JVM outlives a stopped session while this process lives: end it and reap it,
        # so that its peak memory and CPU time count as this process's child's.
        gateway.proc.terminate()
        gateway.proc.wait(timeout=120)
    else:
        from creditplus.evaluation import engine as polars_engine
        from creditplus.evaluation.snapshot import polars_inputs

        inputs, keys = polars_inputs([snapshot], AS_OF)
        scores = polars_engine.score(spec, inputs)
        summary = {
            "evaluated": scores.height,
            "grades": dict(scores.group_by("grade").len().iter_rows()),
        }
        scores.join(keys, on="subject_id").drop("subject_id").write_parquet(
            snapshot / "scores-polars.parquet"
        )
    summary["seconds"] = round(time.perf_counter() - started, 1)
    # This process and (Spark) its JVM run side by side: their peaks added bound the footprint.
    own, jvm = (
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    summary["peak_rss_mib"] = round((own + jvm) / 1024)
    print(json.dumps(summary))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(engine: str, snapshot: Path, master: str) -> dict:
    cpu = _cpu()
    done = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--out", str(snapshot), "--master", master],
        capture_output=True,
        text=True,
    )
    cpu = round(_cpu() - cpu, 1)  # the child's and its JVM's CPU seconds: robust to a busy machine
    if done.returncode:
        return {
            "engine": engine,
            "error": done.stderr.strip().splitlines()[-1:],
        }
    return {
        "engine": engine,
        **json.loads(done.stdout.strip().splitlines()[-1]),
        "cpu_seconds": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=3_000_000)
    parser.add_argument("--events-per-subject", type=float, default=26.7)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "spark-snapshot")
    parser.add_argument("--engines", default="spark,polars")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--reuse", action="store_true", help="keep an existing snapshot")
    parser.add_argument("--child", choices=["spark", "polars"])
    args = parser.parse_args()
    import django

    django.setup()
    if args.child:
        return child(args.child, args.out, args.master)
    import shutil

    counts_file = args.out / "counts.json"
    if args.reuse and counts_file.exists():
        counts = json.loads(counts_file.read_text())
    else:
        shutil.rmtree(args.out, ignore_errors=True)
        started = time.perf_counter()
        counts = generate(args.out, args.subjects, args.events_per_subject)
        counts_file.write_text(json.dumps(counts))
        print(f"snapshot: {counts} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    result: dict = {"subjects": counts["subjects"], "events": counts["events"], "engines": {}}
    for engine in args.engines.split(","):
        figures = run(engine, args.out, args.master)
        result["engines"][engine] = figures
        print(f"{engine}: {json.dumps(figures, ensure_ascii=False)}", flush=True)
    if {"spark", "polars"} <= set(result["engines"]):
        result["compare"] = compare(args.out)
    print("RESULT " + json.dumps(result, ensure_ascii=False))


def compare(snapshot: Path) -> dict:
    """Subjects whose score, grades, overrides or contributions differ between the engines."""
    spark_scores = pl.read_parquet(snapshot / "scores-spark" / "*.parquet")
    polars_scores = pl.read_parquet(snapshot / "scores-polars.parquet")
    columns = ["score", "grade", "base_grade", "overrides", "contributions"]
    joined = polars_scores.cast({"score": pl.Int64}).join(
        spark_scores, on="subject", how="full", suffix="_spark", coalesce=True
    )
    differ = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_spark")) for c in columns)
    return {
        "subjects": joined.height,
        "mismatches": joined.filter(differ).height,
    }


if __name__ == "__main__":
    main()
