"""Realistic demo data files for the ingest pipeline, at any scale.

``generate(out_dir, subjects)`` writes one file (or several parts) per catalog item and
provider department — the files the 26 departments would upload — plus ``manifest.json``.
Everything is driven by the catalog YAML files present at run time: field types, code
tables, ``required``/``required_if``, date order, the subject mapping and the natural key.
Realism comes from hooks keyed on field labels and code tables (document numbers, penalty
categories and fines, permits, addresses, business scopes…), with a plain fallback for
fields no hook knows.

The work is vectorized (NumPy for random draws and check characters, Polars for strings
and writing) and streamed: one chunk of at most ``CHUNK_ROWS`` rows is built and written at
a time. Output is deterministic for a given seed, subject count, ``today`` and catalog.

About 2–3 % of the rows of most files are deliberately invalid, with exactly one problem
each (``BAD_KINDS``); the manifest counts them per file and per kind.

The package: this module holds the knobs, the plan (which files, in which format) and the
run (``generate``), so that the knobs are read here at call time; the parts are
``words`` (name, word and case tables), ``identifiers`` (check characters), ``series``
(vectorized helpers), ``catalog`` (reference data, items and streams), ``population``
(subjects and persons), ``records`` (a chunk of rows, with its ``values`` and ``bad_rows``)
and ``writers`` (CSV, XLSX, JSON). Names with a leading underscore are private to the package.

With ``workers`` > 1 the streams go to a process pool started with "spawn": every worker
imports this package afresh and builds the population itself (``_worker_init``), so the
worker functions must stay importable at module level, knobs patched at run time do not
reach the workers, and a script that calls ``generate`` must do so under
``if __name__ == "__main__":`` (spawn imports the parent's main module again).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from .bad_rows import BAD_KINDS
from .catalog import REFERENCE_DIR, Item, Stream, load_reference
from .identifiers import (
    USCC_ALPHABET,
    org_check_chars,
    uscc_check_values,
    with_ric_check,
    with_uscc_check,
)
from .population import ZHANGJIANG, Population, build_population
from .records import _Chunk, _eligible, _Pools, person_share, risk_order, subject_pool
from .series import EPOCH
from .words import _DEPT_HINTS, DJZT_WEIGHTS
from .writers import _Writer, write_xlsx

__all__ = [
    "BAD_KINDS",
    "CHUNK_ROWS",
    "DJZT_WEIGHTS",
    "EPOCH",
    "FORMATS",
    "MAX_FILE_ROWS",
    "MAX_JSON_ROWS",
    "MAX_XLSX_ROWS",
    "MAX_XLSX_TOTAL",
    "MIN_FILE_ROWS",
    "PARALLEL_ROWS",
    "RECORDS_PER_SUBJECT",
    "REFERENCE_DIR",
    "SCALES",
    "USCC_ALPHABET",
    "ZHANGJIANG",
    "DemoFile",
    "Item",
    "Population",
    "Stream",
    "build_population",
    "generate",
    "load_reference",
    "org_check_chars",
    "person_share",
    "risk_order",
    "subject_pool",
    "uscc_check_values",
    "with_ric_check",
    "with_uscc_check",
    "write_xlsx",
]

SCALES = {"tiny": 300, "small": 3_000, "medium": 30_000, "pudong": 300_000}
RECORDS_PER_SUBJECT = 56  # 16.9M records for 300,000 subjects
MAX_FILE_ROWS = 1_000_000
MAX_XLSX_ROWS = 50_000
MAX_XLSX_TOTAL = 400_000  # xlsx rows in one run; beyond that CSV
MAX_JSON_ROWS = 300_000
CHUNK_ROWS = 100_000
PARALLEL_ROWS = 1_000_000  # above this many rows, use two processes
MIN_FILE_ROWS = 5
FORMATS = ("csv-utf8", "csv-utf8-bom", "csv-gb18030", "xlsx", "json")


@dataclass
class DemoFile:
    path: str  # relative to out_dir
    item: str  # catalog item code
    department: str  # department code
    format: str  # csv-utf8 | csv-utf8-bom | csv-gb18030 | xlsx | json
    headers: str  # "labels" (Chinese labels) or "codes" (field codes)
    rows: int
    bad_rows: int  # rows deliberately invalid
    bad_kinds: dict[str, int] = field(default_factory=dict)  # BAD_KINDS → rows


# --------------------------------------------------------------------------- plan


def _providers(item: Item, departments: list[dict], total: int) -> list[tuple[dict, int]]:
    by_code = {d["code"]: d for d in departments}
    prov = item.spec.get("providers", "*")
    col = 4 if item.code == "XK" else 3
    hint = lambda code: _DEPT_HINTS.get(code, ("", "", 0.0, 1.0, 1.0))[col]  # noqa: E731
    if prov in ("*", ["*"]):
        floor = 0.01 if item.code in ("XK", "CF") else 2
        chosen = [(d, hint(d["code"])) for d in departments if hint(d["code"]) >= floor]
    else:
        codes = [prov] if isinstance(prov, str) else list(prov)
        chosen = [(by_code[c], max(hint(c), 0.5)) for c in codes if c in by_code]
    wsum = sum(w for _, w in chosen)
    return [(d, max(MIN_FILE_ROWS, round(total * w / wsum))) for d, w in chosen]


def _plan(
    items: list[Item], departments: list[dict], pop: Population, subjects: int, seed: int
) -> list[Stream]:
    """Streams (item × provider) with rows, format, header style and file parts."""
    eligible = {it.code: _eligible(it, pop).size for it in items}
    fixed = sum(eligible[it.code] for it in items if it.per_subject)
    budget = max(subjects * RECORDS_PER_SUBJECT - fixed, 0)
    wsum = sum(it.weight() for it in items if not it.per_subject) or 1.0
    streams: list[Stream] = []
    for it in items:
        total = eligible[it.code] if it.per_subject else round(budget * it.weight() / wsum)
        provs = _providers(it, departments, total)
        if it.per_subject:  # every eligible subject exactly once, split among the providers
            start = 0
            for k, (d, _) in enumerate(provs):
                share = total - start if k == len(provs) - 1 else total // len(provs)
                streams.append(Stream(it, d, share, subject_slice=(start, start + share)))
                start += share
        else:
            streams += [Stream(it, d, rows) for d, rows in provs]
    streams = [s for s in streams if s.rows > 0]
    rng = np.random.default_rng([seed, 2])
    pattern = [
        "csv-utf8",
        "csv-utf8-bom",
        "xlsx",
        "csv-gb18030",
        "json",
        "csv-utf8",
        "xlsx",
        "csv-utf8-bom",
        "csv-utf8",
        "csv-gb18030",
    ]
    offset = int(rng.integers(0, len(pattern)))
    xlsx_rows, xlsx_cap = 0, min(MAX_XLSX_TOTAL, sum(s.rows for s in streams) // 20)
    for n, s in enumerate(streams):
        fmt = pattern[(n + offset) % len(pattern)]
        if fmt == "xlsx" and (
            s.rows > 3 * MAX_XLSX_ROWS or xlsx_rows + s.rows > max(xlsx_cap, 2_000)
        ):
            fmt = "csv-utf8-bom"  # what Excel users save when the sheet is too big
        if fmt == "json" and s.rows > MAX_JSON_ROWS:
            fmt = "csv-utf8"
        xlsx_rows += s.rows if fmt == "xlsx" else 0
        s.format = fmt
        s.headers = "labels" if (rng.random() < 0.6 and s.item.labels_unique) else "codes"
        dates = ["%Y-%m-%d"] * 8 + ["%Y/%m/%d", "%Y%m%d"]
        s.date_fmt = "%Y-%m-%d" if fmt == "json" else str(rng.choice(dates))
        s.labels_for_codes = bool(rng.random() < 0.15)
        s.separator = str(rng.choice([";", ";", ";", "、", "；"]))
        s.bad_rate = 0.0 if rng.random() < 0.15 else float(rng.uniform(0.02, 0.03))
        if "person" in s.item.kinds:
            s.person_share = person_share(s.dept["code"])
        limit = min(MAX_XLSX_ROWS, MAX_FILE_ROWS) if fmt == "xlsx" else MAX_FILE_ROWS
        parts = max(1, math.ceil(s.rows / limit))
        ext = {"xlsx": "xlsx", "json": "json"}.get(fmt, "csv")
        for p in range(parts):
            rows = s.rows // parts + (1 if p < s.rows % parts else 0)
            suffix = f"-{p + 1}" if parts > 1 else ""
            s.files.append((f"{s.item.code}/{s.item.code}-{s.dept['code']}{suffix}.{ext}", rows))
    return streams


# --------------------------------------------------------------------------- entry point


def _chunks(
    stream: Stream, pools: _Pools, pop: Population, seed: int, today: date, first_stream: bool
) -> Iterator[tuple[int, int, pl.DataFrame, np.ndarray]]:
    """(file index, rows planned, data, bad kind per row) for every chunk of a stream."""
    state: dict = {}
    it = stream.item
    for part, (_, rows) in enumerate(stream.files):
        done = 0
        while done < rows:
            n = min(CHUNK_ROWS, rows - done)
            crc = [zlib.crc32(it.code.encode()), zlib.crc32(stream.dept["code"].encode())]
            rng = np.random.default_rng([seed, 4, *crc, part, done])
            first = first_stream and part == 0 and done == 0
            df, bad = _Chunk(stream, pools, pop, state, n, rng, today, first).build()
            if it.natural_key and not it.keyed_by_construction:
                keep = _new_keys(df, it.natural_key, state)
                df, bad = df.filter(pl.Series(keep)), bad[keep]
            yield part, n, df, bad
            done += n


def _new_keys(df: pl.DataFrame, key: list[str], state: dict) -> np.ndarray:
    """Rows whose natural key is new to this stream (rows with an empty key part are kept)."""
    complete = df.select(pl.all_horizontal(pl.col(key).is_not_null())).to_series()
    h = df.select(pl.struct(key).hash(7)).to_series()
    seen: pl.Series = state.get("seen", pl.Series([], dtype=pl.UInt64))
    keep = ~complete | (h.is_first_distinct() & ~h.is_in(seen.implode()))
    state["seen"] = pl.concat([seen, h.filter(complete & keep)])
    return keep.to_numpy()


def _write_stream(
    out_dir: Path,
    s: Stream,
    pools: _Pools,
    pop: Population,
    seed: int,
    today: date,
    first_stream: bool,
    advance: Callable[[int], None],
) -> list[DemoFile]:
    """Generate and write one stream's files; ``advance(rows)`` after every chunk."""
    it = s.item
    key = "label" if s.headers == "labels" else "code"
    names = {f["code"]: str(f.get(key) or f["code"]) for f in it.fields}
    files: list[DemoFile] = []
    current, writer, meta = -1, None, None
    for part, n, df, bad in _chunks(s, pools, pop, seed, today, first_stream):
        if part != current:
            if writer:
                writer.close()
            current, rel = part, s.files[part][0]
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            writer = _Writer(out_dir / rel, s.format, it.name)
            meta = DemoFile(rel, it.code, s.dept["code"], s.format, s.headers, 0, 0, {})
            files.append(meta)
        writer.write(df.rename(names))
        meta.rows += df.height
        kinds, counts = np.unique(bad[bad >= 0], return_counts=True)
        meta.bad_rows += int(counts.sum())
        for k, c in zip(kinds.tolist(), counts.tolist(), strict=True):
            meta.bad_kinds[BAD_KINDS[k]] = meta.bad_kinds.get(BAD_KINDS[k], 0) + c
        advance(n)
    if writer:
        writer.close()
    return files


_WORKER: dict = {}


def _worker_init(subjects: int, seed: int, today: date) -> None:
    _WORKER.update(pop=build_population(subjects, seed, today), pools={})


def _worker_run(
    out_dir: Path, s: Stream, seed: int, today: date, first_stream: bool
) -> list[DemoFile]:
    pop, pools = _WORKER["pop"], _WORKER["pools"]
    if s.item.code not in pools:
        pools[s.item.code] = _Pools(s.item, pop, seed)
    return _write_stream(
        out_dir, s, pools[s.item.code], pop, seed, today, first_stream, lambda n: None
    )


def generate(
    out_dir: Path,
    subjects: int = 3_000,
    *,
    scale: str | None = None,
    seed: int = 20171115,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[DemoFile]:
    """Write demo files for every catalog item and provider department, plus manifest.json.

    ``scale`` names a preset of ``SCALES`` (tiny, small, medium, pudong) and then replaces
    ``subjects``. About ``subjects × 56`` records are written (16.9M for pudong).
    ``workers`` processes share the streams (default: 2 for runs above ``PARALLEL_ROWS``
    rows when the machine has 2 cores, else 1); the bytes written do not depend on it.
    """
    if scale is not None:
        subjects = SCALES[scale]
    today = today or date.today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs, departments, tables = load_reference()
    items = [Item(spec, tables) for spec in specs]
    pop = build_population(subjects, seed, today)
    streams = _plan(items, departments, pop, subjects, seed)
    total, persons = sum(s.rows for s in streams), pop.persons.height
    firsts, seen = [], set()
    for s in streams:
        firsts.append(s.item.code not in seen)
        seen.add(s.item.code)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if total > PARALLEL_ROWS else 1
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    results: list[list[DemoFile]] = [[] for _ in streams]
    if workers <= 1:
        pools: dict[str, _Pools] = {}
        for k, s in enumerate(streams):
            if s.item.code not in pools:
                pools[s.item.code] = _Pools(s.item, pop, seed)
            results[k] = _write_stream(
                out_dir, s, pools[s.item.code], pop, seed, today, firsts[k], advance
            )
    else:
        del pop  # each worker builds the same population itself
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(subjects, seed, today)
        ) as pool_:
            order = sorted(range(len(streams)), key=lambda k: -streams[k].rows)  # largest first
            futures = {
                pool_.submit(_worker_run, out_dir, streams[k], seed, today, firsts[k]): k
                for k in order
            }
            for future in as_completed(futures):
                k = futures[future]
                results[k] = future.result()
                advance(streams[k].rows)
    files = [f for r in results for f in r]
    manifest = {
        "seed": seed,
        "subjects": subjects,
        "persons": persons,
        "today": today.isoformat(),
        "scale": scale,
        "records": sum(f.rows for f in files),
        "bad_rows": sum(f.bad_rows for f in files),
        "files": [asdict(f) for f in files],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    (out_dir / "manifest.json").write_text(text + "\n", encoding="utf-8")
    return files
