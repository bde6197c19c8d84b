"""Vectorized helpers: weighted draws, Polars string series, dates as day numbers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl

from .identifiers import _USCC_BYTES, _strings

EPOCH = date(1970, 1, 1)


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    p = np.asarray(weights, np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _pick(values, idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(idx)


def _when(mask, then, otherwise=None) -> pl.Series:
    """Row-wise choice between two Series/values (null where no ``otherwise``)."""
    mask = pl.Series(mask) if isinstance(mask, np.ndarray) else mask
    then = then if isinstance(then, pl.Series) else pl.lit(then)
    expr = pl.when(mask).then(then)
    if otherwise is not None:
        other = otherwise if isinstance(otherwise, pl.Series) else pl.lit(otherwise)
        expr = expr.otherwise(other)
    return pl.select(expr.alias("v")).to_series()


def _const(value, n: int) -> pl.Series:
    return pl.repeat(value, n, dtype=pl.String, eager=True)


def _digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return pl.Series(rng.integers(0, 10**width, n)).cast(pl.String).str.zfill(width)


def _alnum(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return _strings(_USCC_BYTES[rng.integers(0, 31, (n, width))])


def _days(d: date) -> int:
    return (d - EPOCH).days


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, np.int32)).cast(pl.Date)


def _day_numbers(d: pl.Series) -> np.ndarray:
    return d.cast(pl.Int32).fill_null(0).to_numpy().astype(np.int64)


def _shift(d: pl.Series, days: np.ndarray) -> pl.Series:
    return (d.cast(pl.Int32) + pl.Series(np.asarray(days, np.int32))).cast(pl.Date)


def _add_months(base: pl.Series, months: np.ndarray) -> pl.Series:
    """``base`` + months − 1 day: the last day of a validity that starts on ``base``."""
    df = pl.DataFrame({"d": base, "by": pl.Series(months).cast(pl.String) + "mo"})
    return df.select(pl.col("d").dt.offset_by(pl.col("by")).dt.offset_by("-1d")).to_series()


def _unique(make: Callable[[int], pl.DataFrame], n: int, taken: set[str], key: str) -> pl.DataFrame:
    """Draw rows with ``make`` until ``n`` rows have a ``key`` value unique and not taken."""
    got: list[pl.DataFrame] = []
    have = 0
    seen = pl.Series(sorted(taken), dtype=pl.String)
    for _ in range(100):
        if have >= n:
            break
        cand = make(max(64, int((n - have) * 1.3)))
        cand = cand.filter(~pl.col(key).is_in(seen.implode()) & pl.col(key).is_first_distinct())
        cand = cand.head(n - have)
        got.append(cand)
        have += cand.height
        seen = pl.concat([seen, cand[key]])
    if have < n:
        raise RuntimeError(f"could not draw {n} unique values of {key}")
    out = pl.concat(got)
    taken.update(out[key].to_list())
    return out
