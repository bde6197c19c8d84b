"""Helpers the benchmarks share: throwaway PostgreSQL databases and percentiles.

The benchmarks run as scripts (``python bench/NAME.py``), so this module is imported by its
plain name from the benchmark's own directory.
"""

from __future__ import annotations


def pg_conninfo(url: str, dbname: str | None = None) -> str:
    """A libpq connection string for ``url``, optionally to another database on the server."""
    import dj_database_url

    cfg = dj_database_url.parse(url)
    info = (
        f"host={cfg['HOST']} port={cfg['PORT']} user={cfg['USER']} dbname={dbname or cfg['NAME']}"
    )
    if cfg.get("PASSWORD"):
        info += f" password={cfg['PASSWORD']}"
    return info


def drop_postgres(url: str) -> None:
    """Drop the database of ``url`` if it exists (closing its connections)."""
    import dj_database_url
    import psycopg

    name = dj_database_url.parse(url)["NAME"]
    with psycopg.connect(pg_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    """Drop and re-create the database of ``url``: every run starts empty."""
    import dj_database_url
    import psycopg

    drop_postgres(url)
    name = dj_database_url.parse(url)["NAME"]
    with psycopg.connect(pg_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of ``values`` by nearest rank (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]
