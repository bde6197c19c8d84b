"""Subject search benchmark: the public name search (``search_public``) on a Pudong-scale
subject registry, against the plain ``LIKE '%q%'`` scan it replaced.

    .venv/bin/python bench/search.py                                           # SQLite, 300,000
    scripts/with-postgres.sh .venv/bin/python bench/search.py --db postgres    # PostgreSQL
    .venv/bin/python bench/search.py --subjects 3000 --reps 3 --fragments 4    # smoke size

Target (issue): a search answers in well under a second at 300,000 subjects, on SQLite and on
PostgreSQL; a 2–3 character query finds 上海张江高科技园区开发股份有限公司.

Steps, in one child process (``harness.run_child``) on a throwaway database (SQLite: a file
under ``--work``; PostgreSQL: a sibling database "<name>_search_bench", never the configured
one):

1. build: ``migrate`` (the name indexes of migration subjects 0002: the ordered name index;
   FTS5 trigram table and triggers on SQLite, pg_trgm GIN index on PostgreSQL), then the
   subjects of the data builder (``builder.subject_frames``: the generator's organisations,
   row 0 the Zhangjiang company, and natural persons, whose names must never be found),
   bulk-inserted as ingest does; ``ANALYZE``.
2. write cost of the indexes: ``--batch`` more organisations inserted and committed with the
   indexes and without them, ``--batch-reps`` times alternately (median), the rows deleted
   after each; and the time to build the indexes over the existing rows (the migration).
3. queries: ``--fragments`` random 2-, 3- and 4-character Chinese fragments of real names,
   plus fixed ones (张江…, the very common 公司 / 有限公司, a full name, a code, no match,
   deep pages), each run as ``GET /api/v1/subjects?q=`` runs it (``search_page``: the count
   and one page of 20), once to warm up, then ``--reps`` times: latency p50 / p95 / p99 /
   max per class, the slowest queries, the plans of a few.
4. baseline: the same queries the way search worked before (``name LIKE '%q%'`` ordered by
   name, count then page) with the new indexes dropped. Counts must agree.

A human summary, then one line ``RESULT {json}``, goes to stdout.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import harness
from builder import insert_chunks, subject_frames
from harness import say

TARGET_MS = 1000.0
PAGE_SIZE = 20
CJK = re.compile(r"^[\u4e00-\u9fff]+$")
ZHANGJIANG = "上海张江高科技园区开发股份有限公司"
NO_MATCH = ["龘靐", "龘靐齉", "龘靐齉齾"]
FIXED = ["张江", "张江高", "张江高科", "公司", "有限公司", *NO_MATCH]
FIXED_QUERIES = [  # (class, query, page)
    ("2 chars", "张江", 1), ("3 chars", "张江高", 1), ("4 chars", "张江高科", 1),
    ("common", "公司", 1), ("common", "有限公司", 1), ("full name", ZHANGJIANG, 1),
    ("deep page", "有限公司", 1000),  # the deepest page the API serves (offset 19,980)
    ("deep page", "公司", 500), ("deep page", "张江", 100),
    *(("no match", q, 1) for q in NO_MATCH),
]  # fmt: skip
CLASSES = ["2 chars", "3 chars", "4 chars", "common", "full name", "code", "no match"]
CLASSES += ["deep page", "all"]


# --------------------------------------------------------------------------- database


def _insert(frame: Any) -> None:
    insert_chunks("subjects_subject", frame, 50_000)


def _migration() -> Any:
    import importlib

    return importlib.import_module("creditplus.subjects.migrations.0002_name_search")


def _order_index() -> Any:
    from creditplus.subjects.models import Subject
    from creditplus.subjects.queries import ORDER_INDEX

    return next(i for i in Subject._meta.indexes if i.name == ORDER_INDEX)


def _drop_indexes() -> None:
    """Drop the name search's indexes as migration 0002 would when reversed: the trigram
    index (SQLite: its FTS5 table and triggers) and the ordered name index."""
    from django.db import connection

    from creditplus.subjects.models import Subject

    with connection.schema_editor() as editor:
        _migration().backward(None, editor)
        editor.remove_index(Subject, _order_index())


def _create_indexes() -> dict[str, float]:
    """Create the name search's indexes over the rows present, as migration 0002 does on an
    existing database; seconds for each."""
    from django.db import connection

    from creditplus.subjects.models import Subject

    took = {}
    for name, step in (
        ("trigram", lambda editor: _migration().forward(None, editor)),
        ("order", lambda editor: editor.add_index(Subject, _order_index())),
    ):
        t = time.perf_counter()
        with connection.schema_editor() as editor:
            step(editor)
        took[name] = round(time.perf_counter() - t, 2)
    return took


def _write_cost(frame: Any, with_index: bool) -> tuple[float, dict[str, float]]:
    """Seconds to bulk-insert ``frame`` and commit, with the name indexes or without them;
    the rows are deleted afterwards (and the indexes, if dropped, rebuilt: timed too)."""
    from django.db import connection, transaction

    if not with_index:
        _drop_indexes()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM subjects_subject")
        last = cursor.fetchone()[0]
    t = time.perf_counter()
    with transaction.atomic():
        _insert(frame)
    seconds = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM subjects_subject WHERE id > %s", [last])
    build = _create_indexes() if not with_index else {}
    if connection.vendor == "postgresql":
        harness.analyze("subjects_subject")
    return seconds, build


# --------------------------------------------------------------------------- queries


def _queries(names: list[str], usccs: list[str], fragments: int, seed: int) -> list[tuple]:
    """(class, query) pairs: random Chinese fragments of real names, and fixed queries."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for length in (2, 3, 4):
        seen: set[str] = set()
        while len(seen) < fragments:
            name = rng.choice(names)
            if len(name) < length:
                continue
            start = rng.randrange(len(name) - length + 1)
            piece = name[start : start + length]
            if CJK.match(piece) and piece not in seen and piece not in FIXED:
                seen.add(piece)
                out.append((f"{length} chars", piece, 1))
    picked = [rng.choice(names), usccs[0], rng.choice(usccs)]
    out += [("full name", picked[0], 1), ("code", picked[1], 1), ("code", picked[2], 1)]
    return out + FIXED_QUERIES


def _indexed(q: str, page: int = 1) -> tuple[int, list[int]]:
    """What ``GET /api/v1/subjects?q=`` does: the count and one page."""
    from creditplus.subjects.queries import search_page

    found = search_page(q, page, PAGE_SIZE)
    return found.count, [s.id for s in found.results]


def _baseline(q: str, page: int = 1) -> tuple[int, list[int]]:
    """The same, the way search worked before the name indexes: a code, else
    ``name LIKE '%q%'`` ordered by name."""
    from creditplus.identifiers import check_uscc
    from creditplus.subjects.queries import public_subjects

    q = q.strip()
    qs = public_subjects()
    if len(q) == 18 and check_uscc(q).ok:
        qs = qs.filter(uscc=q.upper())
    else:
        qs = qs.filter(name__contains=q).order_by("name", "id")
    start = (page - 1) * PAGE_SIZE
    rows = qs.only("uscc", "name", "kind", "legal_rep_name", "status")[start : start + PAGE_SIZE]
    return qs.count(), [s.id for s in rows]


# --------------------------------------------------------------------------- the child


def _build(args: argparse.Namespace) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Migrate and insert the population: (organisations, persons, the write-cost batch,
    figures of the build)."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from creditplus.bulk import timestamp_text
    from creditplus.records.demo import build_population

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_seconds = time.perf_counter() - t
    version = harness.database_version()
    say(f"{connection.vendor}: {version}; migrate {migrate_seconds:.1f} s")
    t = time.perf_counter()
    pop = build_population(args.subjects + args.batch, args.seed, date(2026, 11, 1))
    frames = subject_frames(pop, 1, args.seed, timestamp_text(timezone.now()))
    # the database numbers the rows: the batch's ids follow whatever is there
    organisations, people = (f.drop("id") for f in frames[:2])
    extra, organisations = organisations.slice(args.subjects), organisations.head(args.subjects)
    generate_seconds = time.perf_counter() - t
    t = time.perf_counter()
    with transaction.atomic():
        _insert(organisations)
        _insert(people)
    insert_seconds = time.perf_counter() - t
    harness.analyze("subjects_subject")
    say(
        f"built {organisations.height:,} organisations + {people.height:,} persons "
        f"(generate {generate_seconds:.1f} s, bulk insert with the indexes {insert_seconds:.1f} s)"
    )
    return organisations, people, extra, {"version": version, "insert_seconds": insert_seconds}


def _write_costs(extra: Any, reps: int, total: int) -> dict[str, Any]:
    """An ingest-sized batch of new subjects inserted with and without the name indexes."""
    with_index, without_index, builds = [], [], []
    for _ in range(reps):
        with_index.append(_write_cost(extra, True)[0])
        seconds, build = _write_cost(extra, False)
        without_index.append(seconds)
        builds.append(build)
    w, wo = statistics.median(with_index), statistics.median(without_index)
    build = {k: statistics.median(b[k] for b in builds) for k in builds[0]}
    say(
        f"bulk insert of {extra.height:,} more: {w:.2f} s with the indexes, {wo:.2f} s without "
        f"({(w / wo - 1) * 100:+.0f} %); building them over {total:,} rows: trigram "
        f"{build['trigram']} s, ordered {build['order']} s"
    )
    return {
        "batch_rows": extra.height,
        "batch_seconds_with_index": round(w, 3),
        "batch_seconds_without_index": round(wo, 3),
        "batch_slowdown_percent": round((w / wo - 1) * 100, 1),
        "batch_overhead_us_per_row": round((w - wo) / extra.height * 1e6, 1),
        "index_build_seconds": build,
    }


def _correctness(people: Any, queries: list[tuple], fragments: int) -> dict[str, Any]:
    """What the benchmark checks besides time: persons never found, the Zhangjiang company
    found by its fragments, the fast plans of search_page agree with the plain queryset."""
    from creditplus.subjects.queries import search_page, search_public

    persons_found = 0
    for name in people["name"].head(20).to_list():
        persons_found += sum(s.is_person for s in search_page(name, 1, 50).results)
        persons_found += search_public(name).filter(kind="person").count()
    zhangjiang = {
        q: search_public(q).filter(name=ZHANGJIANG).exists()
        for q in ("张江", "张江高", "张江高科", ZHANGJIANG)
    }
    picked = ["张江", "张江高", "公司", "有限公司", *(queries[i * fragments][1] for i in range(3))]
    agree = all(
        (found := search_page(q, 2, 20)).count == search_public(q).count()
        and [x.id for x in found.results]
        == list(search_public(q)[20:40].values_list("id", flat=True))
        for q in picked
    )
    return {
        "zhangjiang_found": zhangjiang,
        "persons_found": persons_found,
        "page_agrees_with_queryset": agree,
    }


def _latency(title: str, queries: list[tuple], search: Any, reps: int) -> tuple[dict, dict, list]:
    """Each query once to warm up, then ``reps`` times: (latency per class, counts per
    query, the slowest queries); the latencies are printed too."""
    by_class: dict[str, list[float]] = {}
    counts: dict[tuple[str, int], int] = {}
    per_query = []
    for cls, q, page in queries:
        counts[q, page], _ = search(q, page)
        samples = []
        for _ in range(reps):
            t = time.perf_counter()
            search(q, page)
            samples.append((time.perf_counter() - t) * 1000)
        by_class.setdefault(cls, []).extend(samples)
        by_class.setdefault("all", []).extend(samples)
        label = q if page == 1 else f"{q} p.{page}"
        per_query.append((statistics.median(samples), cls, label, counts[q, page]))
    latency = {cls: harness.latency_summary(by_class[cls]) for cls in CLASSES}
    say(f"{title}, {len(queries)} queries × {reps}:")
    for cls, s in latency.items():
        say(
            f"  {cls:10} p50 {s['p50_ms']:8.2f}  p95 {s['p95_ms']:8.2f}  "
            f"p99 {s['p99_ms']:8.2f}  max {s['max_ms']:8.2f} ms"
        )
    return latency, counts, sorted(per_query, reverse=True)


def _slowest(slowest: list) -> list[dict[str, Any]]:
    return [
        {"q": q, "class": cls, "hits": c, "median_ms": round(ms, 2)}
        for ms, cls, q, c in slowest[:5]
    ]


def child_run(args: argparse.Namespace) -> None:
    harness.django_setup()
    from django.db import connection

    from creditplus.subjects.models import Subject

    organisations, people, extra, built = _build(args)
    total = Subject.objects.count()
    costs = _write_costs(extra, args.batch_reps, total)
    names, usccs = organisations["name"].to_list(), organisations["uscc"].to_list()
    queries = _queries(names, usccs, args.fragments, args.seed)
    checks = _correctness(people, queries, args.fragments)
    plans = {q: harness.query_plans(_indexed, q) for q in ("张江", "张江高科", "公司", "有限公司")}
    title = "indexed search (count + one page of 20)"
    latency, counts, slowest = _latency(title, queries, _indexed, args.reps)
    say("  slowest: " + "; ".join(f"{q} ({c:,} hits) {ms:.1f} ms" for ms, _, q, c in slowest[:5]))
    _drop_indexes()  # the baseline had neither the trigram index nor the ordered one
    harness.analyze("subjects_subject", vacuum=False)
    title = "baseline LIKE scan"
    base_latency, base_counts, base_slowest = _latency(
        title, queries, _baseline, args.baseline_reps
    )
    mismatched = {
        f"{q} p.{p}": (n, base_counts[q, p])
        for (q, p), n in counts.items()
        if n != base_counts[q, p]
    }
    harness.emit(
        {
            "database": connection.vendor,
            "version": built["version"],
            "subjects": total,
            "organisations": organisations.height,
            "persons": people.height,
            "insert_seconds": round(built["insert_seconds"], 1),
            **costs,
            "queries": len(queries),
            "reps": args.reps,
            "latency": latency,
            "baseline_latency": base_latency,
            "slowest": _slowest(slowest),
            "baseline_slowest": _slowest(base_slowest),
            "hits": {q: n for (q, p), n in counts.items() if p == 1 and (q in FIXED or len(q) > 4)},
            **checks,
            "counts_match_baseline": not mismatched,
            "count_mismatches": dict(list(mismatched.items())[:10]),
            "plans": plans,
            "load_average": harness.load_average(),
            "target_met": latency["all"]["max_ms"] < TARGET_MS
            and all(checks["zhangjiang_found"].values())
            and not checks["persons_found"]
            and checks["page_agrees_with_queryset"]
            and not mismatched,
        }
    )


# --------------------------------------------------------------------------- the parent


OPTIONS = (  # the child's options: (name, default, help)
    ("subjects", 300_000, "organisations"),
    ("fragments", 30, "random fragments per length"),
    ("reps", 20, "timed runs of each query"),
    ("baseline_reps", 3, "timed runs, baseline"),
    ("batch", 30_000, "rows of the write-cost batch"),
    ("batch_reps", 3, "write-cost runs (median)"),
    ("seed", 20171115, "random seed"),
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    harness.add_database_option(parser, both=False)
    for name, default, text in OPTIONS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default, help=text)
    parser.add_argument("--work", default=None, help="working directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--child", choices=["run"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_run(args)
        return

    (db,) = harness.database_names(args.db)
    work = Path(args.work or tempfile.mkdtemp(prefix="creditplus-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    target = harness.fresh_database(db, work, "search_bench")
    argv = [f"--{name.replace('_', '-')}={getattr(args, name)}" for name, _, _ in OPTIONS]
    try:
        r = harness.run_child(__file__, "run", argv, harness.bench_env(target, work), indent="")
    finally:
        if not args.keep:
            harness.drop_database(target)
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    lat = r["latency"]
    say(
        f"== summary ({r['database']}, {r['subjects']:,} subjects; target: every search "
        f"well under {TARGET_MS:.0f} ms): worst {lat['all']['max_ms']} ms, p99 "
        f"{lat['all']['p99_ms']} ms (baseline LIKE p99 {r['baseline_latency']['all']['p99_ms']} "
        f"ms); bulk insert {r['batch_slowdown_percent']:+} % with the index; target met: "
        f"{r['target_met']}"
    )
    harness.print_results([r])


if __name__ == "__main__":
    main()
