"""Scoring as vectorized Polars: inputs extracted from the database → one row per subject
with score, grade and per-indicator contributions. No database access here, so the same
code scores 300,000 subjects in a batch and one subject in a test.

Dates are epoch days (``int``). An event of an indicator with a half-life weighs
``0.5 ** (age_days / (half_life_months × 30.4375))``; each indicator's points are
``points × (weighted count or amount)``, limited by its cap and rounded to whole points
(half away from zero), so the score is ``base + Σ points`` clipped to 0–1000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from creditplus.catalog.calendar import add_months
from creditplus.evaluation.definition import Indicator, ModelSpec

EPOCH = date(1970, 1, 1)
DAYS_PER_MONTH = 30.4375
RANK = {"A": 0, "B": 1, "C": 2, "D": 3}
CONTRIBUTION_SCHEMA = {"subject_id": pl.Int64, "ind": pl.Utf8, "n": pl.Float64, "raw": pl.Float64}


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    severity: str


@dataclass
class Inputs:
    """What the scoring reads, as frames (see :mod:`creditplus.evaluation.extract`)."""

    as_of: date
    subjects: pl.DataFrame  # subject_id, established (Date, null), status
    events: pl.DataFrame  # subject_id, rule_id, day
    records: pl.DataFrame  # subject_id, item, day, amount
    lists: pl.DataFrame  # subject_id, kind
    related: pl.DataFrame  # subject_id, other_id: organisations sharing a person
    rules: dict[int, Rule]


def rule_ids_needed(spec: ModelSpec, rules: dict[int, Rule]) -> list[int]:
    """The behavior rules whose events the model reads (indicators and overrides)."""
    needed = set()
    for rule_id, rule in rules.items():
        if any(i.source == "events" and i.matches_rule(rule.code) for i in spec.indicators):
            needed.add(rule_id)
        for o in spec.overrides:
            if _override_rule(o, rule) or (
                o.no_negative_within_months and rule.kind == "untrustworthy"
            ):
                needed.add(rule_id)
    return sorted(needed)


def _override_rule(o, rule: Rule) -> bool:
    if not (o.event_kinds or o.event_severities):
        return False
    return (not o.event_kinds or rule.kind in o.event_kinds) and (
        not o.event_severities or rule.severity in o.event_severities
    )


def _cutoff(as_of: date, months: int) -> int:
    """Events on or before this epoch day are outside a window of ``months``."""
    return epoch_day(add_months(as_of, -months))


def _event_features(spec: ModelSpec, inputs: Inputs, today: int) -> pl.DataFrame:
    indicators = [i for i in spec.indicators if i.source == "events"]
    pairs = [
        (rule_id, i.code)
        for i in indicators
        for rule_id, rule in inputs.rules.items()
        if i.matches_rule(rule.code)
    ]
    if not pairs or inputs.events.height == 0:
        return pl.DataFrame(schema=CONTRIBUTION_SCHEMA)
    mapping = pl.DataFrame(
        {"rule_id": [p[0] for p in pairs], "ind": [p[1] for p in pairs]},
        schema={"rule_id": pl.Int64, "ind": pl.Utf8},
    )
    params = _params(indicators, inputs.as_of)
    age = pl.lit(today) - pl.col("day")
    weight = (
        pl.when(pl.col("half_life").is_null())
        .then(pl.lit(1.0))
        .otherwise(pl.lit(0.5).pow(age.cast(pl.Float64) / pl.col("half_life")))
    )
    return (
        inputs.events.lazy()
        .join(mapping.lazy(), on="rule_id")
        .join(params.lazy(), on="ind")
        .filter((pl.col("day") > pl.col("cutoff")) & (pl.col("day") <= today))
        .group_by("subject_id", "ind")
        .agg(pl.len().cast(pl.Float64).alias("n"), (weight * pl.col("points")).sum().alias("raw"))
        .collect()
    )


def _params(indicators: list[Indicator], as_of: date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ind": [i.code for i in indicators],
            "cutoff": [_cutoff(as_of, i.window_months) for i in indicators],
            "half_life": [
                i.half_life_months * DAYS_PER_MONTH if i.half_life_months else None
                for i in indicators
            ],
            "points": [float(i.points) for i in indicators],
        },
        schema={"ind": pl.Utf8, "cutoff": pl.Int64, "half_life": pl.Float64, "points": pl.Float64},
    )


def _record_features(spec: ModelSpec, inputs: Inputs, today: int) -> list[pl.DataFrame]:
    frames = []
    for ind in (i for i in spec.indicators if i.source == "records"):
        rows = inputs.records.filter(
            pl.col("item").is_in(list(ind.items))
            & (pl.col("day") > _cutoff(inputs.as_of, ind.window_months))
            & (pl.col("day") <= today)
        )
        value = pl.col("amount").fill_null(0).sum() if ind.measure == "amount" else pl.len()
        frames.append(
            rows.group_by("subject_id")
            .agg(value.cast(pl.Float64).alias("n"))
            .filter(pl.col("n") != 0)
            .with_columns(pl.lit(ind.code).alias("ind"), (pl.col("n") * ind.points).alias("raw"))
        )
    return frames


def _subject_features(spec: ModelSpec, inputs: Inputs) -> list[pl.DataFrame]:
    frames = []
    as_of = inputs.as_of
    s = inputs.subjects
    for ind in (i for i in spec.indicators if i.source == "subject"):
        if ind.bands:
            est = pl.col("established")
            years = (
                pl.lit(as_of.year)
                - est.dt.year()
                - (
                    (est.dt.month() > as_of.month)
                    | ((est.dt.month() == as_of.month) & (est.dt.day() > as_of.day))
                ).cast(pl.Int32)
            )
            points = pl.lit(None, dtype=pl.Float64)
            for band in reversed(ind.bands):  # highest band is tried first, so applied last
                points = pl.when(pl.col("n") >= band.min).then(float(band.points)).otherwise(points)
            frame = (
                s.filter(est.is_not_null())
                .select("subject_id", years.cast(pl.Float64).alias("n"))
                .with_columns(points.alias("raw"))
                .filter(pl.col("raw").is_not_null())
            )
        else:
            frame = s.filter(pl.col("status").is_in(list(ind.status_in))).select(
                "subject_id", pl.lit(1.0).alias("n"), pl.lit(float(ind.points)).alias("raw")
            )
        frames.append(frame.with_columns(pl.lit(ind.code).alias("ind")))
    return frames


def _list_features(spec: ModelSpec, inputs: Inputs) -> list[pl.DataFrame]:
    frames = []
    for ind in (i for i in spec.indicators if i.source in ("lists", "related")):
        members = inputs.lists.filter(pl.col("kind").is_in(list(ind.lists)))
        if ind.source == "lists":
            counted = members.group_by("subject_id").agg(pl.len().cast(pl.Float64).alias("n"))
        else:
            counted = (
                inputs.related.join(
                    members.select(pl.col("subject_id").alias("other_id")).unique(), on="other_id"
                )
                .group_by("subject_id")
                .agg(pl.col("other_id").n_unique().cast(pl.Float64).alias("n"))
            )
        frames.append(
            counted.with_columns(
                pl.lit(ind.code).alias("ind"), (pl.col("n") * ind.points).alias("raw")
            )
        )
    return frames


def contributions(spec: ModelSpec, inputs: Inputs) -> pl.DataFrame:
    """Per subject and indicator: the value ``n`` (count, amount or years) and the points."""
    today = epoch_day(inputs.as_of)
    frames = [
        _event_features(spec, inputs, today),
        *_record_features(spec, inputs, today),
        *_subject_features(spec, inputs),
        *_list_features(spec, inputs),
    ]
    long = pl.concat(
        [f.select(list(CONTRIBUTION_SCHEMA)).cast(CONTRIBUTION_SCHEMA) for f in frames]
    )
    caps = pl.DataFrame(
        {
            "ind": [i.code for i in spec.indicators],
            "cap": [i.cap for i in spec.indicators],
            "order": list(range(len(spec.indicators))),
        },
        schema={"ind": pl.Utf8, "cap": pl.Float64, "order": pl.Int64},
    )
    limited = (
        pl.when(pl.col("cap").is_null())
        .then(pl.col("raw"))
        .when(pl.col("cap") < 0)
        .then(pl.max_horizontal("raw", "cap"))
        .otherwise(pl.min_horizontal("raw", "cap"))
    )
    rounded = limited.sign() * (limited.abs() + 0.5).floor()
    return (
        long.join(caps, on="ind")
        .with_columns(rounded.cast(pl.Int64).alias("points"))
        .filter(pl.col("points") != 0)
        .select("subject_id", "ind", "order", "n", "points")
    )


def number_text(n: pl.Expr) -> pl.Expr:
    """A contribution's value as text: whole numbers as integers, others to two decimals
    without a trailing zero. Built from whole cents (half away from zero) rather than a
    library's float formatting, so that the Spark engine writes the very same digits."""
    cents = (n.abs() * 100 + 0.5).floor().cast(pl.Int64)
    sign = pl.when(n < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    frac = (cents % 100).cast(pl.Utf8).str.zfill(2).str.replace(r"0$", "")
    decimal = pl.concat_str(sign, (cents // 100).cast(pl.Utf8), pl.lit("."), frac)
    return pl.when(n == n.round(0)).then(n.cast(pl.Int64).cast(pl.Utf8)).otherwise(decimal)


def _override_holds(spec: ModelSpec, inputs: Inputs, today: int) -> dict[str, pl.Series]:
    """For each override, the subjects for which its condition holds."""
    result = {}
    for o in spec.overrides:
        holds: pl.Series | None = None

        def both(ids: pl.Series, holds: pl.Series | None) -> pl.Series:
            return ids if holds is None else holds.filter(holds.is_in(ids.implode()))

        if o.lists:
            holds = both(
                inputs.lists.filter(pl.col("kind").is_in(list(o.lists)))["subject_id"].unique(),
                holds,
            )
        if o.event_kinds or o.event_severities:
            rule_ids = [r for r, rule in inputs.rules.items() if _override_rule(o, rule)]
            ids = inputs.events.filter(
                pl.col("rule_id").is_in(rule_ids)
                & (pl.col("day") > _cutoff(inputs.as_of, o.within_months))
                & (pl.col("day") <= today)
            )["subject_id"].unique()
            holds = both(ids, holds)
        if o.no_negative_within_months:
            negative = [r for r, rule in inputs.rules.items() if rule.kind == "untrustworthy"]
            tainted = inputs.events.filter(
                pl.col("rule_id").is_in(negative)
                & (pl.col("day") > _cutoff(inputs.as_of, o.no_negative_within_months))
                & (pl.col("day") <= today)
            )["subject_id"].unique()
            base = holds if holds is not None else inputs.subjects["subject_id"]
            holds = base.filter(~base.is_in(tainted.implode()))
        result[o.code] = (holds if holds is not None else pl.Series([], dtype=pl.Int64)).cast(
            pl.Int64
        )
    return result


def score(spec: ModelSpec, inputs: Inputs, parts: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per subject of ``inputs.subjects``: ``subject_id, score, grade, base_grade,
    overrides`` (comma-separated codes whose condition holds) and ``contributions`` (JSON
    ``[[indicator, n, points], …]``, largest effect first)."""
    today = epoch_day(inputs.as_of)
    if parts is None:
        parts = contributions(spec, inputs)
    n_text = number_text(pl.col("n"))
    per_subject = (
        parts.sort("subject_id", pl.col("points").abs(), "order", descending=[False, True, False])
        .with_columns(
            pl.format('["{}",{},{}]', pl.col("ind"), n_text, pl.col("points")).alias("item")
        )
        .group_by("subject_id", maintain_order=True)
        .agg(
            pl.col("points").sum().alias("total"),
            pl.format("[{}]", pl.col("item").str.join(",")).alias("contributions"),
        )
    )
    frame = inputs.subjects.select("subject_id").join(per_subject, on="subject_id", how="left")
    value = (pl.lit(spec.base) + pl.col("total").fill_null(0)).clip(0, 1000)
    base_rank = pl.lit(3)
    for band in reversed(spec.grades):
        base_rank = pl.when(pl.col("score") >= band.min).then(RANK[band.grade]).otherwise(base_rank)
    frame = frame.with_columns(
        value.cast(pl.Int64).alias("score"), pl.col("contributions").fill_null("[]")
    ).with_columns(base_rank.alias("base_rank"))
    rank = pl.col("base_rank")
    override_cols = []
    holds = _override_holds(spec, inputs, today)
    for o in (*[o for o in spec.overrides if o.floor], *[o for o in spec.overrides if o.cap]):
        flag = pl.col("subject_id").is_in(holds[o.code].implode())
        bound = RANK[o.floor or o.cap]  # type: ignore[index]
        if o.floor:
            rank = pl.when(flag).then(pl.min_horizontal(rank, pl.lit(bound))).otherwise(rank)
        else:
            rank = pl.when(flag).then(pl.max_horizontal(rank, pl.lit(bound))).otherwise(rank)
        override_cols.append(pl.when(flag).then(pl.lit(o.code)))
    letters = pl.Series(["A", "B", "C", "D"])
    frame = frame.with_columns(
        rank.alias("rank"),
        (
            pl.concat_str(override_cols, separator=",", ignore_nulls=True)
            if override_cols
            else pl.lit("")
        )
        .fill_null("")
        .alias("overrides"),
    )
    return frame.select(
        "subject_id",
        pl.col("score").cast(pl.Int16),
        pl.col("rank").replace_strict(list(range(4)), letters.to_list()).alias("grade"),
        pl.col("base_rank").replace_strict(list(range(4)), letters.to_list()).alias("base_grade"),
        "overrides",
        "contributions",
    )
