"""Bulk database I/O for the hot paths (ingest, evaluation): Polars frames in and out.

SQLite gets ``executemany`` on one prepared statement; PostgreSQL gets ``COPY … FROM STDIN``
fed with CSV that Polars writes. Both run on Django's connection, so they take part in the
surrounding ``transaction.atomic()`` — a batch still commits wholly or not at all.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl
from django.db import connection


def insert_frame(table: str, frame: pl.DataFrame, columns: Sequence[str] | None = None) -> int:
    """Insert every row of ``frame`` into ``table`` (columns named as in the frame)."""
    if frame.height == 0:
        return 0
    columns = list(columns or frame.columns)
    frame = frame.select(columns)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            frame.write_csv(
                buffer,
                include_header=False,
                null_value="\\N",
                quote_style="non_numeric",
                datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z",
            )
            sql = f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            with cursor.cursor.copy(sql) as copy:
                copy.write(buffer.getvalue())
        else:
            # The driver's own cursor: Django's debug wrapper would format every row as SQL.
            marks = ", ".join(["?"] * len(columns))
            cursor.cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({marks})",
                frame.iter_rows(),
            )
    return frame.height


def fetch_frame(
    sql: str, params: Sequence[Any] = (), schema: dict[str, Any] | None = None
) -> pl.DataFrame:
    """Run a query and return its rows as a Polars frame."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    if schema is None:
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return pl.DataFrame(rows, schema={n: schema.get(n) for n in names}, orient="row")


def fetch_integers(sql: str) -> np.ndarray:
    """The one integer column of ``sql`` as a NumPy array, without a Python object per row:
    the database joins the values into one text (``group_concat`` / ``string_agg``) that
    NumPy parses — 3× faster than fetching rows on SQLite, and on PostgreSQL faster than
    COPY, whose driver yields one message per row. ``sql`` must be trusted text (no
    parameters), and its column must be named ``v``."""
    join = "string_agg(v::text, ',')" if connection.vendor == "postgresql" else "group_concat(v)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {join} FROM ({sql}) AS packed")
        text = cursor.fetchone()[0]
    if not text:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


def fetch_csv(sql: str, columns: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``sql`` (trusted text; numeric or simple text columns without commas,
    quotes or line breaks, named as in ``columns``) as a Polars frame of that schema, read
    the same way as :func:`fetch_integers`: one joined text instead of a tuple per row."""
    names = list(columns)
    if connection.vendor == "postgresql":
        line = " || ',' || ".join(f"coalesce({n}::text, '')" for n in names)
        join = f"string_agg({line}, E'\\n')"
    else:
        line = " || ',' || ".join(f"coalesce({n}, '')" for n in names)
        join = f"group_concat({line}, char(10))"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {join} FROM ({sql}) AS packed")
        text = cursor.fetchone()[0]
    if not text:
        return pl.DataFrame(schema=columns)
    return pl.read_csv(
        io.BytesIO(text.encode()), has_header=False, new_columns=names, schema=columns
    )


def chunked(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of ``values`` of at most ``size`` items."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def fetch_in(
    sql_template: str,
    values: Sequence[Any],
    *,
    extra: Sequence[Any] = (),
    size: int = 5000,
    schema: dict[str, Any] | None = None,
) -> pl.DataFrame:
    """Run ``sql_template`` (with one ``{in}`` placeholder) for ``values`` in chunks that
    stay below the databases' parameter limits, and concatenate the results."""
    frames = []
    for chunk in chunked(list(values), size):
        marks = ", ".join(["%s"] * len(chunk))
        frames.append(fetch_frame(sql_template.format(**{"in": marks}), [*extra, *chunk], schema))
    if not frames:
        return fetch_frame(sql_template.format(**{"in": "NULL"}), list(extra), schema)
    return pl.concat(frames, how="vertical_relaxed")


def timestamp_text(value: Any) -> str:
    """A timezone-aware datetime as the text each backend's bulk path stores it as."""
    from datetime import UTC

    utc = value.astimezone(UTC)
    if connection.vendor == "postgresql":
        return utc.isoformat()
    return utc.replace(tzinfo=None).isoformat(sep=" ")


def reserve_ids(table: str, count: int) -> pl.Series:
    """Allocate ``count`` primary keys of ``table`` for rows about to be bulk-inserted.

    SQLite: the next ids after the table's AUTOINCREMENT counter — safe because ingest holds
    the database's write lock (BEGIN IMMEDIATE) until it commits. PostgreSQL: values drawn
    from the table's sequence, which no concurrent session can draw as well.
    """
    if count == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return pl.Series("id", [r[0] for r in cursor.fetchall()], dtype=pl.Int64)
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        start = max(row[0] if row else 0, cursor.fetchone()[0]) + 1
    return pl.int_range(start, start + count, eager=True, dtype=pl.Int64).alias("id")
