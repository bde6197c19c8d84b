"""The evaluation and statistics on Apache Spark, over Parquet snapshots.

The same model definition (the YAML file, as :class:`ModelSpec`) that drives the Polars
engine (:mod:`creditplus.evaluation.engine`) is compiled here into Spark DataFrame
operations, step for step: indicators, half-life weights, caps, rounding, overrides, grades
and per-indicator contributions. Which rules an indicator reads is decided once, in Python,
by the definition's own matching, so a rule added to the YAML works in both engines or fails
in both. Subjects are keyed by their national identifier, so snapshots of several districts
are read together (:mod:`creditplus.evaluation.snapshot`).

Runs in local mode (``local[2]``) on one machine and unchanged on a cluster
(``--master spark://host:7077`` or ``yarn``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from creditplus.evaluation.definition import ModelSpec
from creditplus.evaluation.engine import (
    DAYS_PER_MONTH,
    RANK,
    Rule,
    _cutoff,
    _override_rule,
    epoch_day,
)

LETTERS = ("A", "B", "C", "D")


def session(master: str = "local[2]", app: str = "creditplus") -> Any:
    """A Spark session; on one machine ``local[N]`` uses N cores."""
    from pyspark.sql import SparkSession

    # One machine: a few shuffle partitions per core; a cluster: Spark's own default.
    shuffle = "4" if master.startswith("local") else "200"
    spark = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", shuffle)
        .config("spark.sql.adaptive.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkInputs:
    """The snapshot tables of one or more districts, as Spark DataFrames."""

    def __init__(self, spark: Any, dirs: Sequence[Path]) -> None:
        def table(name: str) -> Any:
            return spark.read.parquet(*[str(Path(d) / name) for d in dirs])

        self.spark = spark
        self.subjects = table("subjects").dropDuplicates(["subject"])
        self.events = table("events")
        self.records = table("records")
        self.lists = table("lists")
        self.related = table("related")
        self.batches = table("batches")
        rules = spark.read.parquet(str(Path(dirs[0]) / "rules")).collect()
        self.rules = {r["rule"]: Rule(r["rule"], r["kind"], r["severity"]) for r in rules}


def _small(spark: Any, rows: list[tuple], schema: str) -> Any:
    from pyspark.sql import functions as F

    return F.broadcast(spark.createDataFrame(rows, schema))


def _event_features(spec: ModelSpec, data: SparkInputs, as_of: date, today: int) -> Any:
    from pyspark.sql import functions as F

    indicators = [i for i in spec.indicators if i.source == "events"]
    pairs = [(code, i.code) for i in indicators for code in data.rules if i.matches_rule(code)]
    if not pairs:
        return None
    mapping = _small(data.spark, pairs, "rule string, ind string")
    params = _small(
        data.spark,
        [
            (
                i.code,
                _cutoff(as_of, i.window_months),
                i.half_life_months * DAYS_PER_MONTH if i.half_life_months else None,
                float(i.points),
            )
            for i in indicators
        ],
        "ind string, cutoff long, half_life double, points double",
    )
    age = (F.lit(today) - F.col("day")).cast("double")
    weight = F.when(F.col("half_life").isNull(), F.lit(1.0)).otherwise(
        F.pow(F.lit(0.5), age / F.col("half_life"))
    )
    return (
        data.events.join(mapping, "rule")
        .join(params, "ind")
        .where((F.col("day") > F.col("cutoff")) & (F.col("day") <= today))
        .groupBy("subject", "ind")
        .agg(
            F.count(F.lit(1)).cast("double").alias("n"),
            F.sum(weight * F.col("points")).alias("raw"),
        )
    )


def _record_features(spec: ModelSpec, data: SparkInputs, as_of: date, today: int) -> list[Any]:
    from pyspark.sql import functions as F

    frames = []
    for ind in (i for i in spec.indicators if i.source == "records"):
        rows = data.records.where(
            F.col("item").isin(list(ind.items))
            & (F.col("day") > _cutoff(as_of, ind.window_months))
            & (F.col("day") <= today)
        )
        if ind.measure == "amount":
            value = F.sum(F.coalesce(F.col("amount"), F.lit(0.0)))
        else:
            value = F.count(F.lit(1))
        frames.append(
            rows.groupBy("subject")
            .agg(value.cast("double").alias("n"))
            .where(F.col("n") != 0)
            .select(
                "subject", F.lit(ind.code).alias("ind"), "n", (F.col("n") * ind.points).alias("raw")
            )
        )
    return frames


def _subject_features(spec: ModelSpec, data: SparkInputs, as_of: date) -> list[Any]:
    from pyspark.sql import functions as F

    frames = []
    s = data.subjects
    for ind in (i for i in spec.indicators if i.source == "subject"):
        if ind.bands:
            est = F.col("established")
            later = (F.month(est) > as_of.month) | (
                (F.month(est) == as_of.month) & (F.dayofmonth(est) > as_of.day)
            )
            years = F.lit(as_of.year) - F.year(est) - later.cast("int")
            points = F.lit(None).cast("double")
            for band in reversed(ind.bands):  # as the Polars engine: the first band wins
                points = F.when(F.col("n") >= band.min, F.lit(float(band.points))).otherwise(points)
            frame = (
                s.where(est.isNotNull())
                .select("subject", years.cast("double").alias("n"))
                .withColumn("raw", points)
                .where(F.col("raw").isNotNull())
            )
        else:
            frame = s.where(F.col("status").isin(list(ind.status_in))).select(
                "subject", F.lit(1.0).alias("n"), F.lit(float(ind.points)).alias("raw")
            )
        frames.append(frame.select("subject", F.lit(ind.code).alias("ind"), "n", "raw"))
    return frames


def _list_features(spec: ModelSpec, data: SparkInputs) -> list[Any]:
    from pyspark.sql import functions as F

    frames = []
    for ind in (i for i in spec.indicators if i.source in ("lists", "related")):
        members = data.lists.where(F.col("kind").isin(list(ind.lists)))
        if ind.source == "lists":
            counted = members.groupBy("subject").agg(F.count(F.lit(1)).cast("double").alias("n"))
        else:
            others = members.select(F.col("subject").alias("other")).distinct()
            counted = (
                data.related.join(others, "other")
                .groupBy("subject")
                .agg(F.countDistinct("other").cast("double").alias("n"))
            )
        frames.append(
            counted.select(
                "subject", F.lit(ind.code).alias("ind"), "n", (F.col("n") * ind.points).alias("raw")
            )
        )
    return frames


def contributions(spec: ModelSpec, data: SparkInputs, as_of: date) -> Any:
    """Per subject and indicator: the value ``n`` and the (capped, rounded) points."""
    from functools import reduce

    from pyspark.sql import functions as F

    today = epoch_day(as_of)
    frames = [
        f
        for f in (
            _event_features(spec, data, as_of, today),
            *_record_features(spec, data, as_of, today),
            *_subject_features(spec, data, as_of),
            *_list_features(spec, data),
        )
        if f is not None
    ]
    empty = data.spark.createDataFrame([], "subject string, ind string, n double, raw double")
    long = reduce(lambda a, b: a.unionByName(b), frames, empty)
    caps = _small(
        data.spark,
        [(i.code, i.cap, k) for k, i in enumerate(spec.indicators)],
        "ind string, cap double, order long",
    )
    limited = (
        F.when(F.col("cap").isNull(), F.col("raw"))
        .when(F.col("cap") < 0, F.greatest("raw", "cap"))
        .otherwise(F.least("raw", "cap"))
    )
    rounded = F.signum(limited) * F.floor(F.abs(limited) + 0.5)
    return (
        long.join(caps, "ind")
        .withColumn("points", rounded.cast("long"))
        .where(F.col("points") != 0)
        .select("subject", "ind", "order", "n", "points")
    )


def _n_text(n: Any) -> Any:
    """The value as the Polars engine writes it (:func:`creditplus.evaluation.engine.number_text`): whole numbers
    as integers, others to two decimals without trailing zeros, computed from whole cents so
    that both engines give the same digits."""
    from pyspark.sql import functions as F

    cents = F.floor(F.abs(n) * 100 + 0.5).cast("long")
    sign = F.when(n < 0, F.lit("-")).otherwise(F.lit(""))
    frac = F.lpad((cents % 100).cast("string"), 2, "0")
    decimal = F.concat(
        sign,
        (cents / 100).cast("long").cast("string"),
        F.lit("."),
        F.regexp_replace(frac, "0$", ""),
    )
    return F.when(n == F.round(n, 0), n.cast("long").cast("string")).otherwise(decimal)


def _override_holds(spec: ModelSpec, data: SparkInputs, as_of: date, today: int) -> dict[str, Any]:
    """For each override, the subjects for which its condition holds (a one-column frame)."""
    from pyspark.sql import functions as F

    result = {}
    for o in spec.overrides:
        holds = None
        if o.lists:
            holds = data.lists.where(F.col("kind").isin(list(o.lists))).select("subject").distinct()
        if o.event_kinds or o.event_severities:
            codes = [c for c, rule in data.rules.items() if _override_rule(o, rule)]
            ids = (
                data.events.where(
                    F.col("rule").isin(codes)
                    & (F.col("day") > _cutoff(as_of, o.within_months))
                    & (F.col("day") <= today)
                )
                .select("subject")
                .distinct()
            )
            holds = ids if holds is None else holds.join(ids, "subject", "semi")
        if o.no_negative_within_months:
            negative = [c for c, rule in data.rules.items() if rule.kind == "untrustworthy"]
            tainted = data.events.where(
                F.col("rule").isin(negative)
                & (F.col("day") > _cutoff(as_of, o.no_negative_within_months))
                & (F.col("day") <= today)
            ).select("subject")
            base = holds if holds is not None else data.subjects.select("subject")
            holds = base.join(tainted, "subject", "left_anti")
        if holds is None:
            holds = data.spark.createDataFrame([], "subject string")
        result[o.code] = holds.distinct()
    return result


def score(spec: ModelSpec, data: SparkInputs, as_of: date) -> Any:
    """One row per subject: ``subject, score, grade, base_grade, overrides, contributions``,
    the same columns and values as the Polars engine's :func:`engine.score`."""
    from pyspark.sql import functions as F

    parts = contributions(spec, data, as_of)
    item = F.format_string('["%s",%s,%d]', F.col("ind"), _n_text(F.col("n")), F.col("points"))
    per_subject = parts.groupBy("subject").agg(
        F.sum("points").alias("total"),
        F.sort_array(
            F.collect_list(F.struct(-F.abs(F.col("points")), F.col("order"), item.alias("item")))
        ).alias("items"),
    )
    frame = data.subjects.select("subject").join(per_subject, "subject", "left")
    value = F.least(
        F.greatest(F.lit(spec.base) + F.coalesce(F.col("total"), F.lit(0)), F.lit(0)), F.lit(1000)
    )
    frame = frame.withColumn("score", value.cast("long")).withColumn(
        "contributions",
        F.when(F.col("items").isNull(), F.lit("[]")).otherwise(
            F.concat(
                F.lit("["), F.array_join(F.transform("items", lambda x: x["item"]), ","), F.lit("]")
            )
        ),
    )
    base_rank = F.lit(3)
    for band in reversed(spec.grades):
        base_rank = F.when(F.col("score") >= band.min, F.lit(RANK[band.grade])).otherwise(base_rank)
    frame = frame.withColumn("base_rank", base_rank)
    rank = F.col("base_rank")
    flags = []
    holds = _override_holds(spec, data, as_of, epoch_day(as_of))
    for o in (*[o for o in spec.overrides if o.floor], *[o for o in spec.overrides if o.cap]):
        flag = f"o_{o.code}"
        frame = frame.join(holds[o.code].withColumn(flag, F.lit(True)), "subject", "left")
        bound = F.lit(RANK[o.floor or o.cap])  # type: ignore[index]
        on = F.coalesce(F.col(flag), F.lit(False))
        rank = F.when(on, F.least(rank, bound) if o.floor else F.greatest(rank, bound)).otherwise(
            rank
        )
        flags.append(F.when(on, F.lit(o.code)))
    letters = F.array(*[F.lit(x) for x in LETTERS])
    return frame.select(
        "subject",
        "score",
        F.element_at(letters, rank + 1).alias("grade"),
        F.element_at(letters, F.col("base_rank") + 1).alias("base_grade"),
        (F.concat_ws(",", *flags) if flags else F.lit("")).alias("overrides"),
        "contributions",
    )


def grade_distribution(scores: Any) -> dict[str, int]:
    counts = {g: 0 for g in LETTERS}
    for row in scores.groupBy("grade").count().collect():
        counts[row["grade"]] = row["count"]
    return counts


def quality(data: SparkInputs) -> list[dict[str, Any]]:
    """Data quality per department and item (submitted, rejected, timeliness, error and
    timely rates) over the snapshots' finished batches, as ``quality_figures`` computes it."""
    from pyspark.sql import functions as F

    rows = (
        data.batches.groupBy("department", "item")
        .agg(
            F.sum("submitted").alias("submitted"),
            F.sum("rejected").alias("rejected"),
            F.sum("timely").alias("timely"),
            F.sum("late").alias("late"),
            F.count(F.lit(1)).alias("batches"),
        )
        .collect()
    )
    result = []
    for r in rows:
        src = r.asDict()
        # Rates are rounded here, in Python, exactly as records.services does (a few rows).
        src["error_rate"] = (
            round(src["rejected"] / src["submitted"], 4) if src["submitted"] else 0.0
        )
        on_time = src["timely"] + src["late"]
        src["timely_rate"] = round(src["timely"] / on_time, 4) if on_time else None
        result.append(src)
    return sorted(result, key=lambda s: (-s["submitted"], s["department"], s["item"]))


def evaluate(
    spec: ModelSpec, dirs: Sequence[Path], as_of: date, out: Path, master: str = "local[2]"
) -> dict[str, Any]:
    """Score every subject of the snapshots and write the scores as Parquet to ``out``;
    returns the summary (evaluated, grades) the Polars engine's command prints."""
    spark = session(master)
    data = SparkInputs(spark, dirs)
    scores = score(spec, data, as_of).cache()
    scores.write.mode("overwrite").parquet(str(out))
    summary = {"evaluated": scores.count(), "grades": grade_distribution(scores)}
    scores.unpersist()
    return summary
