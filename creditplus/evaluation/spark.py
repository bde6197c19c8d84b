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
    """A Spark session; on one machine ``local[N]`` uses N cores. In local mode the driver
    does all the work, so its heap (``settings.SPARK_DRIVER_MEMORY``) bounds what it holds
    before spilling."""
    from django.conf import settings
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
        .config("spark.driver.memory", settings.SPARK_DRIVER_MEMORY)
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


def _window(as_of: date, months: int, today: int) -> Any:
    """The window of ``months`` up to ``as_of``, as a condition on the ``day`` column."""
    from pyspark.sql import functions as F

    return (F.col("day") > _cutoff(as_of, months)) & (F.col("day") <= today)


def _event_columns(spec: ModelSpec, data: SparkInputs, as_of: date) -> Any:
    """One pass over the events, grouped by subject once: each event indicator's count
    (``n_K``) and weighted points (``raw_K``), each override's event condition (``ev_O``) and
    its negative events (``neg_O``). Which rules count is decided in Python by the
    definition's own matching; a pass per indicator and a join per override cost Spark a
    scan and a shuffle each."""
    from pyspark.sql import functions as F

    today = epoch_day(as_of)
    aggs, codes_seen = [], set()
    for k, ind in enumerate(spec.indicators):
        codes = [c for c in data.rules if ind.source == "events" and ind.matches_rule(c)]
        if not codes:
            continue
        hit = F.col("rule").isin(codes) & _window(as_of, ind.window_months, today)
        weight = F.lit(1.0)
        if ind.half_life_months:
            age = (F.lit(today) - F.col("day")).cast("double")
            weight = F.pow(F.lit(0.5), age / F.lit(ind.half_life_months * DAYS_PER_MONTH))
        aggs.append(F.count(F.when(hit, 1)).cast("double").alias(f"n_{k}"))
        aggs.append(F.sum(F.when(hit, weight * float(ind.points))).alias(f"raw_{k}"))
        codes_seen.update(codes)
    negative = [c for c, rule in data.rules.items() if rule.kind == "untrustworthy"]
    for j, o in enumerate(spec.overrides):
        if o.event_kinds or o.event_severities:
            codes = [c for c, rule in data.rules.items() if _override_rule(o, rule)]
            hit = F.col("rule").isin(codes) & _window(as_of, o.within_months, today)
            aggs.append(F.max(F.when(hit, True)).alias(f"ev_{j}"))
            codes_seen.update(codes)
        if o.no_negative_within_months:
            hit = F.col("rule").isin(negative) & _window(as_of, o.no_negative_within_months, today)
            aggs.append(F.max(F.when(hit, True)).alias(f"neg_{j}"))
            codes_seen.update(negative)
    if not aggs:
        return None
    rows = data.events.where(F.col("rule").isin(sorted(codes_seen)) & (F.col("day") <= today))
    return rows.groupBy("subject").agg(*aggs)


def _record_columns(spec: ModelSpec, data: SparkInputs, as_of: date) -> Any:
    """One pass over the records: each record indicator's count or amount (``n_K``)."""
    from pyspark.sql import functions as F

    today = epoch_day(as_of)
    aggs, items = [], set()
    for k, ind in enumerate(spec.indicators):
        if ind.source != "records":
            continue
        hit = F.col("item").isin(list(ind.items)) & _window(as_of, ind.window_months, today)
        if ind.measure == "amount":
            value = F.sum(F.when(hit, F.coalesce(F.col("amount"), F.lit(0.0))))
        else:
            value = F.count(F.when(hit, 1))
        aggs.append(value.cast("double").alias(f"n_{k}"))
        items.update(ind.items)
    if not aggs:
        return None
    rows = data.records.where(F.col("item").isin(sorted(items)) & (F.col("day") <= today))
    return rows.groupBy("subject").agg(*aggs)


def _list_columns(spec: ModelSpec, data: SparkInputs) -> list[Any]:
    """Memberships per subject (list indicators ``n_K``, override conditions ``ls_O``) and
    listed related parties per subject (related indicators ``n_K``): one grouping each."""
    from pyspark.sql import functions as F

    own, related = [], []
    for k, ind in enumerate(spec.indicators):
        listed = F.col("kind").isin(list(ind.lists))
        if ind.source == "lists":
            own.append(F.count(F.when(listed, 1)).cast("double").alias(f"n_{k}"))
        elif ind.source == "related":
            distinct = F.countDistinct(F.when(listed, F.col("other")))
            related.append(distinct.cast("double").alias(f"n_{k}"))
    for j, o in enumerate(spec.overrides):
        if o.lists:
            own.append(F.max(F.when(F.col("kind").isin(list(o.lists)), True)).alias(f"ls_{j}"))
    frames = []
    if own:
        frames.append(data.lists.groupBy("subject").agg(*own))
    if related:
        members = data.lists.select(F.col("subject").alias("other"), "kind").distinct()
        frames.append(data.related.join(members, "other").groupBy("subject").agg(*related))
    return frames


def _raw(spec: ModelSpec, k: int, as_of: date) -> tuple[Any, Any]:
    """Indicator ``k``'s value ``n`` and raw points on the joined per-subject row (null when
    the subject has none, as the Polars engine has no row for it)."""
    from pyspark.sql import functions as F

    ind = spec.indicators[k]
    if ind.source == "events":
        return F.col(f"n_{k}"), F.when(F.col(f"n_{k}") > 0, F.col(f"raw_{k}"))
    if ind.source != "subject":
        n = F.col(f"n_{k}")
        return n, F.when(n != 0, n * float(ind.points))
    if not ind.bands:
        listed = F.col("status").isin(list(ind.status_in))
        return F.lit(1.0), F.when(listed, F.lit(float(ind.points)))
    est = F.col("established")
    later = (F.month(est) > as_of.month) | (
        (F.month(est) == as_of.month) & (F.dayofmonth(est) > as_of.day)
    )
    years = (F.lit(as_of.year) - F.year(est) - later.cast("int")).cast("double")
    points = F.lit(None).cast("double")
    for band in reversed(ind.bands):  # as the Polars engine: the first band wins
        points = F.when(years >= band.min, F.lit(float(band.points))).otherwise(points)
    return years, F.when(est.isNotNull(), points)


def _points(raw: Any, cap: float | None) -> Any:
    """Raw points limited by the cap and rounded half away from zero; 0 when absent."""
    from pyspark.sql import functions as F

    limited = raw
    if cap is not None:
        # Spark's greatest/least skip nulls: an absent indicator must stay absent.
        bounded = F.greatest(raw, F.lit(cap)) if cap < 0 else F.least(raw, F.lit(cap))
        limited = F.when(raw.isNotNull(), bounded)
    rounded = F.signum(limited) * F.floor(F.abs(limited) + 0.5)
    return F.coalesce(rounded.cast("long"), F.lit(0).cast("long"))


def _per_subject(spec: ModelSpec, data: SparkInputs, as_of: date) -> Any:
    """Every subject with its indicator columns: the subjects joined with one aggregate per
    source (each already grouped by subject, so the joins move little)."""
    frame = data.subjects.select("subject", "established", "status")
    parts = [
        _event_columns(spec, data, as_of),
        _record_columns(spec, data, as_of),
        *_list_columns(spec, data),
    ]
    for part in parts:
        if part is not None:
            frame = frame.join(part, "subject", "left")
    present = set(frame.columns)
    return frame, present


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


def _contributions(spec: ModelSpec, frame: Any, present: set[str], as_of: date) -> Any:
    """The total points and the contributions JSON (largest effect first, then model order),
    computed on each subject's row."""
    from pyspark.sql import functions as F

    items, total = [], F.lit(0).cast("long")
    for k, ind in enumerate(spec.indicators):
        if ind.source in ("events", "records", "lists", "related") and f"n_{k}" not in present:
            continue
        n, raw = _raw(spec, k, as_of)
        points = _points(raw, ind.cap)
        text = F.format_string('["%s",%s,%d]', F.lit(ind.code), _n_text(n), points)
        entry = F.struct((-F.abs(points)).alias("key"), F.lit(k).alias("order"), text.alias("item"))
        items.append(F.when(points != 0, entry))
        total = total + points
    if not items:
        return frame.withColumn("total", F.lit(0)).withColumn("contributions", F.lit("[]"))
    ordered = F.sort_array(F.filter(F.array(*items), lambda x: x.isNotNull()))
    text = F.concat(
        F.lit("["), F.array_join(F.transform(ordered, lambda x: x["item"]), ","), F.lit("]")
    )
    return frame.withColumn("total", total).withColumn("contributions", text)


def _override_flag(o: Any, j: int, present: set[str]) -> Any:
    """Whether override ``j``'s condition holds: every condition it names (lists, events,
    no negative events) holds; an override naming none holds for no one."""
    from pyspark.sql import functions as F

    def has(column: str) -> Any:
        return F.coalesce(F.col(column), F.lit(False)) if column in present else F.lit(False)

    conditions = []
    if o.lists:
        conditions.append(has(f"ls_{j}"))
    if o.event_kinds or o.event_severities:
        conditions.append(has(f"ev_{j}"))
    if o.no_negative_within_months:
        conditions.append(~has(f"neg_{j}"))
    if not conditions:
        return F.lit(False)
    flag = conditions[0]
    for condition in conditions[1:]:
        flag = flag & condition
    return flag


def score(spec: ModelSpec, data: SparkInputs, as_of: date) -> Any:
    """One row per subject: ``subject, score, grade, base_grade, overrides, contributions``,
    the same columns and values as the Polars engine's :func:`engine.score`."""
    from pyspark.sql import functions as F

    frame, present = _per_subject(spec, data, as_of)
    frame = _contributions(spec, frame, present, as_of)
    value = F.least(F.greatest(F.lit(spec.base) + F.col("total"), F.lit(0)), F.lit(1000))
    frame = frame.withColumn("score", value.cast("long"))
    base_rank = F.lit(3)
    for band in reversed(spec.grades):
        base_rank = F.when(F.col("score") >= band.min, F.lit(RANK[band.grade])).otherwise(base_rank)
    frame = frame.withColumn("base_rank", base_rank)
    rank, flags = F.col("base_rank"), []
    numbered = list(enumerate(spec.overrides))
    for j, o in [p for p in numbered if p[1].floor] + [p for p in numbered if p[1].cap]:
        on = _override_flag(o, j, present)
        bound = F.lit(RANK[o.floor or o.cap])  # type: ignore[index]
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
