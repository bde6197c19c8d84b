"""The project's one CSV writer. Every CSV it hands out (downloads, rejected rows, open data)
is UTF-8 with a BOM, so that spreadsheet software reads the Chinese, and has every text cell
that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) quoted with a leading apostrophe: CSV injection (CWE-1236)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import IO, Any

import polars as pl

BOM = b"\xef\xbb\xbf"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = "^[" + "".join(re.escape(c) for c in FORMULA_START) + "]"


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheet software will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> tuple[bytes, int]:
    """``header`` and ``rows`` as CSV bytes (BOM, every cell guarded), and the row count."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in header])
    n = 0
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        n += 1
    return BOM + out.getvalue().encode("utf-8"), n


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`csv_cell`'s rule over a whole frame's text columns, vectorized (open data)."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_RE))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.Utf8
    )


def csv_lines(frame: pl.DataFrame) -> pl.Series:
    """Each row of ``frame`` (text columns) as the line :func:`write_frame` writes for it:
    guarded like :func:`formula_safe`, quoted where Polars quotes (an empty text, a comma, a
    quote, a line break), null as nothing, and ``\n`` at the end. Kept per row, lines let a
    file be put together from unchanged rows' bytes and new rows (open data's daily run);
    ``tests/test_csvfiles.py`` holds this to ``write_frame`` byte for byte."""

    def cell(name: str) -> pl.Expr:
        col = pl.col(name)
        return (
            pl.when(col.is_null())
            .then(pl.lit(""))
            .when((col == "") | col.str.contains('[",\r\n]'))
            .then(pl.lit('"') + col.str.replace_all('"', '""', literal=True) + pl.lit('"'))
            .otherwise(col)
        )

    safe = formula_safe(frame)
    return safe.select(
        pl.concat_str([cell(c) for c in safe.columns], separator=",") + pl.lit("\n")
    ).to_series()


def write_frame(handle: IO[bytes], frame: pl.DataFrame, *, first: bool = True) -> None:
    """Append ``frame`` to an open binary file as guarded CSV; ``first`` writes the BOM and
    the header (a large frame is written in slices, the first one with them)."""
    formula_safe(frame).write_csv(handle, include_bom=first, include_header=first)
