"""Enterprise credit evaluation benchmark: score every market subject of a Pudong-scale
database (300,000 subjects, ~16.9M credit records, ~8M behavior events), then re-score
1,000 changed subjects incrementally, and check the incremental scores against a full run.

    .venv/bin/python bench/evaluate.py --subjects 300000                       # SQLite
    scripts/with-postgres.sh .venv/bin/python bench/evaluate.py --db postgres    # PostgreSQL
    .venv/bin/python bench/evaluate.py --subjects 2000 --changed 100 --sample 50 --work /tmp/ev
                                                                                 # smoke size

Target (issue): a full evaluation of 300,000 subjects ≤ 30 s on SQLite and on PostgreSQL,
an incremental re-evaluation of 1,000 changed subjects ≤ 2 s, peak memory ≤ 4 GiB.

The database is built directly, not through ingest (loading 16.9M rows through the validated
ingest path takes hours, see the README): ``migrate`` and ``load_reference``, then subjects,
legal-representative relations, ingest batches, credit records, behavior events and list
memberships bulk-inserted (``creditplus.bulk.insert_frame``: COPY on PostgreSQL,
executemany on SQLite) with the volumes and shapes of the demo generator at that scale:

- subjects: the generator's population (``build_population``: organisations with valid
  USCCs, establishment dates, registration statuses; the natural-person pool); each
  organisation's legal representative is a person of that pool, shared like the generator's
  ``rep`` (a few persons represent many companies);
- records: per item and provider department, the generator's plan (``generate`` run at
  ``--plan-subjects`` and scaled), subjects drawn like the generator (``_CONCENTRATION``:
  penalties from the riskiest share of the organisations, honours from the soundest), decision
  dates over the last five years, amounts for items with an amount;
- events: for records of items with behavior rules, one rule of the item (serious rules
  rarer), with the publicity dates the rule gives; a few percent retracted or restored;
- list memberships: published entries of black / watch / red lists (riskiest / soundest
  organisations), so that grade overrides and the related-organisation indicator work.

Secondary indexes of the two big tables are dropped during the load and re-created after
it, then ``ANALYZE``. The SQLite database is cached under ``--work`` (default ``var/bench``)
by (subjects, seed) and copied for each run (``--rebuild`` builds it again); PostgreSQL is
built each time in a sibling database "<name>_evaluate_bench". Build time is printed apart;
it is not part of any target.

Measurements, each in a fresh child process (peak memory = the child's ``ru_maxrss``):

1. full: ``evaluate(mode="all", as_of=today)`` — evaluated, grades, seconds, phases;
2. full, warm: the same again (scores exist: the write phase replaces them);
3. incremental: ``--changed`` random organisations get one new penalty record and event and
   are touched (``touch_subjects``, as ingest does), then ``evaluate(mode="changed")``;
4. verify: a sample (``--sample``) of those subjects: their scores after the incremental run
   equal those of a fresh full run (score, grade, base grade, overrides, contributions);
   all other subjects are compared as well.

Each measurement reports wall-clock and CPU seconds of the child, the phases, a breakdown of
the steps inside them (each extract query, each bulk insert) and the machine's load average
before it: on a shared 2-core machine other work inflates wall-clock times, CPU seconds much
less. At 300,000 subjects the build takes ~13 min on SQLite (4.7 GiB; a cached build is
copied in ~20 s) and ~8 min on PostgreSQL. The cache does not notice changed reference data
or generator code: use ``--rebuild`` then.

A human summary, then one line ``RESULT {json}`` per database, goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import zlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import harness
from harness import pg_conninfo, reset_postgres

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_FULL_S = 30.0
TARGET_INCREMENTAL_S = 2.0
TARGET_PEAK_MIB = 4096
CHUNK_ROWS = 500_000  # rows built and inserted at a time
BATCH_ROWS = 1_000_000  # rows per ingest batch (the generator's largest file)
SCORE_COLUMNS = ("subject_id", "score", "grade", "base_grade", "overrides", "contributions")

# Relative frequency of a behavior rule among an item's records, by severity; trustworthy
# rules are as frequent as general ones. Items whose rules do not cover every record (no rule
# without conditions) also get neutral records (HJXY blue, HGXY general enterprises…).
RULE_WEIGHTS = {"serious": 0.5, "general": 6.0, "minor": 3.0}
TRUSTWORTHY_WEIGHT = 6.0
NEUTRAL_WEIGHT = 6.0
RETRACTED_SHARE = 0.015
RESTORED_SHARE = 0.025  # of the events whose restoration date has passed
# List memberships: share of the organisations, and from which end of the risk order.
LISTS = {
    "black": (0.006, "risky", 0.05),
    "watch": (0.004, "risky", 0.15),
    "red": (0.003, "sound", 0.05),
}
DOCUMENT_TYPES = {0: "身份证", 1: "港澳居民来往内地通行证", 2: "护照"}


# --------------------------------------------------------------------------- children


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def _dates(days: Any) -> Any:
    """Epoch days (NumPy) as ISO date strings (Polars), the text both databases accept."""
    import polars as pl

    return pl.Series(days).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")


def _index_statements(tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the secondary indexes of ``tables`` that back no
    constraint (so they can be dropped for a bulk load and built again after it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                f"AND tbl_name IN ({marks}) AND sql IS NOT NULL",
                tables,
            )
        else:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
                [tables],
            )
        return list(cursor.fetchall())


def _subject_frames(pop: Any, first_id: int, seed: int, stamp: str) -> tuple[Any, Any, Any]:
    """(organisations, persons, legal-representative relations) as rows of the subject and
    relation tables; ids are consecutive from ``first_id``, organisations first."""
    import numpy as np
    import polars as pl

    from creditplus.records.demo.words import _DJZT_WEIGHTS
    from creditplus.subjects import pii
    from creditplus.subjects.services import person_key

    orgs, persons = pop.orgs, pop.persons
    n_org, n_person = orgs.height, persons.height
    org_ids = np.arange(n_org, dtype=np.int64) + first_id
    person_ids = np.arange(n_person, dtype=np.int64) + first_id + n_org
    rng = np.random.default_rng([seed, 101])
    statuses = list(_DJZT_WEIGHTS)
    weights = np.array([_DJZT_WEIGHTS[s] for s in statuses])
    status = np.array(statuses)[rng.choice(len(statuses), n_org, p=weights / weights.sum())]
    status[0] = "存续"  # the Zhangjiang company
    none = pl.Series([None] * n_org, dtype=pl.Utf8)
    organisations = pl.DataFrame(
        {
            "id": org_ids,
            "kind": orgs["kind"],
            "uscc": orgs["uscc"],
            "id_hash": none,
            "id_cipher": "",
            "id_masked": "",
            "name": orgs["name"].str.slice(0, 200),
            "legal_rep_name": persons["pname"].gather(orgs["rep"]),
            "enterprise_type": orgs["form"].str.slice(0, 64),
            "industry": orgs["industry"],
            "address": orgs["address"].str.slice(0, 300),
            "registered_capital": (orgs["capital"] / 10_000).round(2).cast(pl.Utf8),
            "established_on": orgs["est"].dt.strftime("%Y-%m-%d"),
            "status": pl.Series(status, dtype=pl.Utf8),
            "business_scope": orgs["scope"],
            "registered": True,
            "created_at": stamp,
            "changed_at": stamp,
        }
    )
    documents = persons["pdoc"].replace_strict(DOCUMENT_TYPES, return_dtype=pl.Utf8).to_list()
    pids = persons["pid"].to_list()
    nothing = pl.Series([None] * n_person, dtype=pl.Utf8)
    people = pl.DataFrame(
        {
            "id": person_ids,
            "kind": "person",
            "uscc": nothing,
            "id_hash": [
                pii.lookup_hash(person_key(t, p)) for t, p in zip(documents, pids, strict=True)
            ],
            "id_cipher": [pii.encrypt(p) for p in pids],
            "id_masked": [p[:4] + "*" * 10 + p[-4:] for p in pids],
            "name": persons["pname"],
            "legal_rep_name": "",
            "enterprise_type": "",
            "industry": "",
            "address": "",
            "registered_capital": nothing,
            "established_on": nothing,
            "status": "",
            "business_scope": "",
            "registered": False,
            "created_at": stamp,
            "changed_at": stamp,
        }
    )
    relations = pl.DataFrame(
        {
            "organisation_id": org_ids,
            "person_id": person_ids[orgs["rep"].to_numpy()],
            "role": "legal_rep",
            "since": none,
            "created_at": stamp,
        }
    )
    return organisations, people, relations


class _Rules:
    """An item's behavior rules as arrays, and how often each applies to a record."""

    def __init__(self, rules: list[Any]) -> None:
        import numpy as np

        self.count = len(rules)
        weights = [
            TRUSTWORTHY_WEIGHT if r.kind == "trustworthy" else RULE_WEIGHTS[r.severity]
            for r in rules
        ]
        if len(rules) > 1 and all(r.conditions for r in rules):
            weights.append(NEUTRAL_WEIGHT)  # no rule without conditions: some records match none
        self.options = len(weights)
        self.p = np.array(weights) / sum(weights) if weights else None
        self.rule_id = np.array([r.pk for r in rules], dtype=np.int64)
        self.kind = np.array([r.kind for r in rules] or [""])
        self.severity = np.array([r.severity for r in rules] or [""])
        self.published = np.array([r.published for r in rules] or [False])
        self.min_m = np.array([r.min_months for r in rules] or [0])
        self.max_m = np.array([r.max_months for r in rules] or [0])
        self.rest_m = np.array([r.restoration_after_months for r in rules] or [0])
        self.restorable = np.array(
            [r.kind == "untrustworthy" and r.restoration_allowed for r in rules] or [False]
        )


def _event_frame(
    rules: _Rules,
    rng: Any,
    records: Any,
    days: Any,
    is_person: Any,
    first_id: int,
    t_day: int,
    published: tuple[bool, bool],
    stamp: str,
) -> Any:
    """Behavior events of ``records`` (decided on epoch ``days``): one rule each, or none
    for neutral records; publicity dates as the rule gives them (as ingest computes them)."""
    import numpy as np
    import polars as pl

    pick = rng.choice(rules.options, records.height, p=rules.p)
    keep = pick < rules.count
    r = pick[keep]
    occurred = pl.Series(days[keep]).cast(pl.Int32).cast(pl.Date)
    months = pl.DataFrame(
        {
            "occurred": occurred,
            "min_m": rules.min_m[r],
            "max_m": rules.max_m[r],
            "rest_m": rules.rest_m[r],
        }
    )

    def plus(col: str) -> pl.Expr:
        return pl.col("occurred").dt.offset_by(pl.format("{}mo", pl.col(col)))

    dated = months.select(
        pl.when(pl.col("min_m") > 0).then(plus("min_m")).alias("min_until"),
        pl.when(pl.col("max_m") > 0).then(plus("max_m")).alias("until"),
        plus("rest_m").alias("restoration"),
    )
    restorable = rules.restorable[r] & (dated["restoration"].cast(pl.Int32).to_numpy() <= t_day)
    u = rng.random(r.size)
    status = np.where(
        u < RETRACTED_SHARE,
        "retracted",
        np.where(restorable & (u < RETRACTED_SHARE + RESTORED_SHARE), "restored", "active"),
    )
    item_published, persons_published = published
    iso = "%Y-%m-%d"
    return pl.DataFrame(
        {
            "id": np.arange(first_id, first_id + r.size, dtype=np.int64),
            "record_id": records["id"].filter(pl.Series(keep)),
            "subject_id": records["subject_id"].filter(pl.Series(keep)),
            "rule_id": rules.rule_id[r],
            "kind": rules.kind[r],
            "severity": rules.severity[r],
            "occurred_on": occurred.dt.strftime(iso),
            "published": rules.published[r]
            & item_published
            & (~is_person[keep] | persons_published),
            "publish_min_until": dated["min_until"].dt.strftime(iso),
            "publish_until": dated["until"].dt.strftime(iso),
            "restoration_from": dated["restoration"].dt.strftime(iso),
            "status": status,
            "created_at": stamp,
        }
    )


def _list_entry_frame(org_ids: Any, risk: Any, seed: int, today: date, stamp: str) -> Any:
    """Published list memberships: black and watch lists from the riskiest organisations,
    red lists from the soundest; one entry per organisation and list kind."""
    import numpy as np
    import polars as pl

    from creditplus.accounts.models import Department
    from creditplus.lists.models import ListType

    types = list(ListType.objects.filter(kind__in=list(LISTS)).order_by("code"))
    fallback = Department.objects.get(code="SCJG").pk
    riskiest = np.argsort(risk, kind="stable")  # organisation rows, riskiest first
    n_org = riskiest.size
    rng = np.random.default_rng([seed, 13])
    rows: list[dict[str, Any]] = []
    for kind, (share_listed, end, share_pool) in LISTS.items():
        of_kind = [t for t in types if t.kind == kind]
        if not of_kind:
            continue
        ranked = riskiest if end == "risky" else riskiest[::-1]
        candidates = ranked[: max(20, int(n_org * share_pool))]
        size = min(candidates.size, max(3, round(n_org * share_listed)))
        for k, row in enumerate(rng.choice(candidates, size, replace=False).tolist()):
            list_type = of_kind[int(rng.integers(0, len(of_kind)))]
            decided = date.fromordinal(today.toordinal() - int(rng.integers(1, 700)))
            external = list_type.origin == "external"
            subject_id = int(org_ids[row])
            rows.append(
                {
                    "list_type_id": list_type.pk,
                    "subject_id": subject_id,
                    "origin": "imported" if external else "manual",
                    "status": "published",
                    "department_id": list_type.deciding_department_id or fallback,
                    "reason": "基准测试：列入名单",
                    "basis": "《基准测试认定办法》第三条",
                    "decision_no": f"浦基准〔{decided.year}〕{kind}{k:06d}号",
                    "source_key": f"BENCH-{list_type.code}-{subject_id}" if external else "",
                    "proposed_at": stamp,
                    "proposed_by": "bench",
                    "decided_on": decided.isoformat(),
                    "published_on": decided.isoformat(),
                    "restoration_from": (decided + timedelta(days=365)).isoformat(),
                    "publish_until": (decided + timedelta(days=3 * 365)).isoformat(),
                    "end_reason": "",
                    "updated_at": stamp,
                }
            )
    return pl.DataFrame(rows)


def child_build(args: argparse.Namespace) -> None:
    """Build the Pudong-scale database directly (see the module docstring)."""
    harness.django_setup()
    from io import StringIO

    import numpy as np
    import polars as pl
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from creditplus.accounts.models import Department
    from creditplus.bulk import insert_frame, timestamp_text
    from creditplus.catalog.models import BehaviorRule, CatalogItem, CodeTable
    from creditplus.lists.models import ListEntry
    from creditplus.records.choices import BatchSource, BatchStatus
    from creditplus.records.demo import Item, build_population, load_reference
    from creditplus.records.demo.records import _CONCENTRATION, _eligible
    from creditplus.records.demo.words import _DEPT_HINTS
    from creditplus.records.ingest import _category_field
    from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch
    from creditplus.subjects.models import Subject, SubjectRelation

    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 1)
        clock = now

    sqlite = connection.vendor == "sqlite"
    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())
    with connection.cursor() as cursor:
        if sqlite:  # a throwaway build: no journal to speak of, a big page cache for indexes
            cursor.execute("PRAGMA journal_mode=DELETE")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1048576")
        else:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("SET synchronous_commit = off")
    lap("setup")

    # --- subjects: the generator's population
    today = date.fromisoformat(args.today)
    t_day = (today - date(1970, 1, 1)).days
    stamp = timestamp_text(timezone.now())
    seed = args.seed
    pop = build_population(args.subjects, seed, today)
    orgs, persons = pop.orgs, pop.persons
    n_org, n_person = orgs.height, persons.height
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Subject._meta.db_table}")
        first_id = cursor.fetchone()[0] + 1
    organisations, people, relations = _subject_frames(pop, first_id, seed, stamp)
    org_ids, person_ids = organisations["id"].to_numpy(), people["id"].to_numpy()
    with transaction.atomic():
        for frame in (organisations, people):
            for start in range(0, frame.height, CHUNK_ROWS):
                insert_frame(Subject._meta.db_table, frame.slice(start, CHUNK_ROWS))
        insert_frame(SubjectRelation._meta.db_table, relations)
    harness.say(f"subjects: {n_org:,} organisations, {n_person:,} persons, {n_org:,} relations")
    lap("subjects")

    # --- records and events, item by item, with the generator's volumes and subjects
    plan = json.loads(Path(args.plan).read_text(encoding="utf-8"))
    scale = args.subjects / plan["subjects"]
    specs, _, tables = load_reference()
    demo_items = {str(s["code"]): Item(s, tables) for s in specs}
    items = {i.code: i for i in CatalogItem.objects.all()}
    departments = dict(Department.objects.values_list("code", "pk"))
    rules_by_item: dict[str, list[BehaviorRule]] = {}
    for rule in BehaviorRule.objects.active().select_related("item").order_by("priority", "code"):
        rules_by_item.setdefault(rule.item.code, []).append(rule)
    risk = np.random.default_rng([seed, 7]).permutation(n_org)  # the generator's risk order
    org_names = orgs["name"].str.slice(0, 200)
    person_names = persons["pname"]
    est_days = orgs["est"].cast(pl.Int32).to_numpy()
    record_table = CreditRecord._meta.db_table
    event_table = CreditEvent._meta.db_table
    indexes = _index_statements([record_table, event_table])
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    next_record = next_event = 1
    n_records = n_events = 0
    for code, streams in plan["items"].items():
        it, item = demo_items[code], items[code]
        spec = item.spec
        # the item's subject pool, as the generator's _Pools draws it
        pool = _eligible(it, pop)
        pool = pool[np.random.default_rng([seed, 11, _crc(code)]).permutation(pool.size)]
        end, share = _CONCENTRATION.get(code, ("", 1.0))
        if end and not it.per_subject and pool.size:
            order = np.argsort(risk[pool], kind="stable")
            if end == "sound":
                order = order[::-1]
            pool = pool[order[: max(20, int(pool.size * share))]]
        if it.per_subject and 0 in pool:
            pool = np.concatenate([[0], pool[pool != 0]])
        if it.per_subject:  # one record per eligible subject, split like the plan
            total = sum(rows for _, rows in streams)
            counts = [pool.size * rows // total for _, rows in streams]
            counts[-1] = pool.size - sum(counts[:-1])
        else:
            counts = [max(1, round(rows * scale)) for _, rows in streams]
        skew = 1.0 if not it.keyed_by_construction else 1.6 if it.penalty_field else 1.25
        category = _category_field(spec)
        codes = np.array(
            [
                str(v["code"])
                for v in CodeTable.objects.get(code=spec.field(category).code_table).values
            ]
            if category
            else []
        )
        has_amount = any(f.type == "decimal" for f in spec.fields)
        rules = _Rules(rules_by_item.get(code, []))
        published = (
            bool(spec.publicity.get("published", True)),
            bool(spec.publicity.get("persons_published", True)),
        )
        item_records = item_events = sliced = 0
        for (dept, _), rows in zip(streams, counts, strict=True):
            person_share = (
                max(_DEPT_HINTS.get(dept, ("", "", 0.05, 0, 0))[2], 0.05)
                if "person" in it.kinds
                else 0.0
            )
            for part_start in range(0, rows, BATCH_ROWS):  # a batch per generator file
                part_rows = min(BATCH_ROWS, rows - part_start)
                batch = IngestBatch.objects.create(
                    department_id=departments[dept],
                    item=item,
                    source=BatchSource.CLI,
                    file_name=f"{code}/{code}-{dept}-{part_start // BATCH_ROWS + 1}.csv",
                    file_format="csv-utf8",
                    encoding="utf-8",
                    status=BatchStatus.DONE,
                    submitted=part_rows,
                    accepted=part_rows,
                    created_by="bench",
                )
                for chunk_start in range(0, part_rows, CHUNK_ROWS):
                    n = min(CHUNK_ROWS, part_rows - chunk_start)
                    rng = np.random.default_rng(
                        [seed, 12, _crc(code), _crc(dept), part_start + chunk_start]
                    )
                    # subjects, like the generator's _Chunk.subjects
                    if it.per_subject:
                        org = pool[sliced : sliced + n]
                        sliced += n
                        is_person = np.zeros(n, bool)
                    elif pool.size:
                        org = pool[(pool.size * rng.random(n) ** skew).astype(np.int64)]
                        is_person = rng.random(n) < person_share
                    else:
                        org, is_person = np.zeros(n, np.int64), np.ones(n, bool)
                    who = rng.integers(0, n_person, n)
                    # decision dates: the latest registration act, or the last five years
                    if it.per_subject:
                        est = est_days[org]
                        days = est + ((t_day - est) * rng.random(n) ** 0.4).astype(np.int64)
                    else:
                        days = t_day - (5 * 365.25 * rng.random(n) ** 1.3).astype(np.int64)
                        weekday = (days + 3) % 7
                        days = days - np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
                    ids = pl.Series(np.arange(next_record, next_record + n, dtype=np.int64))
                    next_record += n
                    amount = (
                        pl.Series(np.round(np.exp(rng.normal(0.0, 1.3, n)), 2)).cast(pl.Utf8)
                        if has_amount
                        else pl.Series([None] * n, dtype=pl.Utf8)
                    )
                    category_values = (
                        pl.Series(codes[rng.integers(0, codes.size, n)])
                        if codes.size
                        else pl.Series([""] * n)
                    )
                    records = pl.DataFrame(
                        {
                            "id": ids,
                            "item_id": item.pk,
                            "subject_id": np.where(is_person, person_ids[who], org_ids[org]),
                            "department_id": departments[dept],
                            "batch_id": batch.pk,
                            "row_no": np.arange(chunk_start + 1, chunk_start + n + 1),
                            "natural_key": f"{code}-" + ids.cast(pl.Utf8),
                            "version": 1,
                            "is_current": True,
                            "status": "active",
                            "subject_name": pl.select(
                                pl.when(pl.Series(is_person))
                                .then(person_names.gather(who))
                                .otherwise(org_names.gather(org))
                            ).to_series(),
                            "decision_date": _dates(days),
                            "category": category_values,
                            "amount": amount,
                            "flags": "",
                            "data": "{}",
                            "received_at": stamp,
                        }
                    )
                    events = None
                    if rules.count:
                        events = _event_frame(
                            rules,
                            rng,
                            records,
                            days,
                            is_person,
                            next_event,
                            t_day,
                            published,
                            stamp,
                        )
                        next_event += events.height
                    with transaction.atomic():
                        insert_frame(record_table, records)
                        if events is not None:
                            insert_frame(event_table, events)
                    item_records += n
                    item_events += 0 if events is None else events.height
        n_records += item_records
        n_events += item_events
        harness.say(
            f"{code}: {item_records:,} records, {item_events:,} events "
            f"({time.monotonic() - clock:.0f} s so far)"
        )
    lap("records_and_events")
    with connection.cursor() as cursor:
        for _, sql in indexes:
            cursor.execute(sql)
    harness.say(f"indexes re-created: {', '.join(name for name, _ in indexes)}")
    lap("indexes")

    entries = _list_entry_frame(org_ids, risk, seed, today, stamp)
    with transaction.atomic():
        insert_frame(ListEntry._meta.db_table, entries)
    with connection.cursor() as cursor:  # explicit ids were inserted: move the sequences on
        models = [Subject, SubjectRelation, CreditRecord, CreditEvent, ListEntry]
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
    lap("lists")
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA journal_mode=WAL")
        else:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would have: visibility map, stats
    lap("analyze")
    harness.emit(
        {
            "database": connection.vendor,
            "subjects": n_org,
            "persons": n_person,
            "relations": n_org,
            "records": n_records,
            "events": n_events,
            "list_entries": entries.height,
            "batches": IngestBatch.objects.count(),
            "today": today.isoformat(),
            "timings": timings,
            "peak_rss_mib": harness.peak_mib(),
        }
    )


def _instrument() -> dict[str, float]:
    """Time the steps inside the phases (which read, which write) without changing them."""
    from creditplus.evaluation import extract, services

    spent: dict[str, float] = {}

    def wrap(module: Any, name: str, label: Any) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            key = label(*args) if callable(label) else label
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - t

        setattr(module, name, timed)

    for name in ("subjects", "events", "records", "list_members", "related"):
        wrap(extract, name, f"extract.{name}")
    wrap(services, "changed_subject_ids", "changed_subject_ids")
    wrap(services, "_current", "write.read_current")
    wrap(services, "insert_frame", lambda table, *rest: f"write.insert {table}")
    return spent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_summary(run: Any, spent: dict[str, float], cpu: float) -> dict[str, Any]:
    """The run's figures; ``cpu_seconds`` (this process, all threads) is less sensitive to
    other work on the machine than the wall-clock ``seconds``."""
    write = run.phases.get("write", 0.0)
    breakdown = {k: round(v, 3) for k, v in spent.items()}
    inside = sum(v for k, v in spent.items() if k.startswith("write."))
    breakdown["write.delete_and_other"] = round(max(write - inside, 0.0), 3)
    return {
        "evaluated": run.evaluated,
        "grades": run.grades,
        "grade_changes": run.grade_changes,
        "seconds": run.seconds,
        "cpu_seconds": round(cpu, 2),
        "phases": run.phases,
        "breakdown": breakdown,
    }


def _scores(subject_ids: list[int] | None = None) -> Any:
    """The active model's Score rows (all, or of ``subject_ids``) as a frame."""
    import polars as pl
    from django.db import connection

    from creditplus.bulk import fetch_frame, fetch_in
    from creditplus.evaluation.models import EvaluationModel, Score

    model = EvaluationModel.objects.active()
    schema = {
        "subject_id": pl.Int64,
        "score": pl.Int64,
        "grade": pl.Utf8,
        "base_grade": pl.Utf8,
        "overrides": pl.Utf8,
        "contributions": pl.Utf8,
    }
    sql = (
        f"SELECT {', '.join(SCORE_COLUMNS)} FROM {connection.ops.quote_name(Score._meta.db_table)} "
        f"WHERE model_id = %s"
    )
    if subject_ids is None:
        return fetch_frame(sql, [model.pk], schema).sort("subject_id")
    return fetch_in(
        sql + " AND subject_id IN ({in})", subject_ids, extra=[model.pk], schema=schema
    ).sort("subject_id")


def child_full(args: argparse.Namespace) -> None:
    load = harness.load_average()
    harness.django_setup()
    from creditplus.evaluation.services import evaluate

    spent = _instrument()
    cpu = _cpu()
    run = evaluate(mode="all", as_of=date.fromisoformat(args.today), actor="bench")
    cpu = _cpu() - cpu
    harness.emit(
        {**_run_summary(run, spent, cpu), "load_before": load, "peak_rss_mib": harness.peak_mib()}
    )


def child_incremental(args: argparse.Namespace) -> None:
    """Touch ``--changed`` organisations with one new penalty each, as ingest would, then
    evaluate the changed subjects."""
    harness.django_setup()
    import numpy as np
    import polars as pl
    from django.db import transaction
    from django.utils import timezone

    from creditplus.accounts.models import Department
    from creditplus.bulk import fetch_frame, insert_frame, reserve_ids, timestamp_text
    from creditplus.catalog.calendar import add_months
    from creditplus.catalog.choices import SubjectKind
    from creditplus.catalog.models import BehaviorRule, CatalogItem
    from creditplus.evaluation.services import evaluate
    from creditplus.records.choices import BatchSource, BatchStatus
    from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch
    from creditplus.subjects.models import Subject
    from creditplus.subjects.services import touch_subjects

    today = date.fromisoformat(args.today)
    t = time.monotonic()
    orgs = fetch_frame(
        f"SELECT id, name FROM {Subject._meta.db_table} WHERE kind <> %s ORDER BY id",
        [SubjectKind.PERSON],
    )
    rng = np.random.default_rng([args.seed, 21])
    rows = np.sort(rng.choice(orgs.height, min(args.changed, orgs.height), replace=False))
    chosen = orgs[rows]
    ids = chosen["id"].to_list()
    n = len(ids)
    item = CatalogItem.objects.get(code="CF")
    rule = BehaviorRule.objects.get(code="CF-GENERAL")
    department = Department.objects.get(code="SCJG")
    now = timezone.now()
    stamp = timestamp_text(now)
    day = today.isoformat()

    def months(m: int) -> pl.Series:
        return pl.Series(
            [add_months(today, m).isoformat() if m else None] * len(ids), dtype=pl.Utf8
        )

    with transaction.atomic():
        batch = IngestBatch.objects.create(
            department=department,
            item=item,
            source=BatchSource.CLI,
            file_name="bench-incremental.csv",
            status=BatchStatus.DONE,
            submitted=n,
            accepted=n,
            created_by="bench",
        )
        record_ids = reserve_ids(CreditRecord._meta.db_table, n)
        insert_frame(
            CreditRecord._meta.db_table,
            pl.DataFrame(
                {
                    "id": record_ids,
                    "item_id": item.pk,
                    "subject_id": chosen["id"],
                    "department_id": department.pk,
                    "batch_id": batch.pk,
                    "row_no": range(1, n + 1),
                    "natural_key": "CF-INC-" + record_ids.cast(pl.Utf8),
                    "version": 1,
                    "is_current": True,
                    "status": "active",
                    "subject_name": chosen["name"],
                    "decision_date": day,
                    "category": "罚款",
                    "amount": "0.5",
                    "flags": "",
                    "data": "{}",
                    "received_at": stamp,
                }
            ),
        )
        insert_frame(
            CreditEvent._meta.db_table,
            pl.DataFrame(
                {
                    "id": reserve_ids(CreditEvent._meta.db_table, n),
                    "record_id": record_ids,
                    "subject_id": chosen["id"],
                    "rule_id": rule.pk,
                    "kind": rule.kind,
                    "severity": rule.severity,
                    "occurred_on": day,
                    "published": rule.published,
                    "publish_min_until": months(rule.min_months),
                    "publish_until": months(rule.max_months),
                    "restoration_from": add_months(
                        today, rule.restoration_after_months
                    ).isoformat(),
                    "status": "active",
                    "created_at": stamp,
                }
            ),
        )
        touch_subjects(ids, now)
    prepare_seconds = time.monotonic() - t
    Path(args.work, "changed.json").write_text(json.dumps(ids), encoding="utf-8")
    before = _scores(ids)
    load = harness.load_average()
    spent = _instrument()
    cpu = _cpu()
    run = evaluate(mode="changed", as_of=today, actor="bench")
    cpu = _cpu() - cpu
    after = _scores(ids)
    moved = before.join(after, on="subject_id", suffix="_new").filter(
        pl.col("score") != pl.col("score_new")
    )
    harness.emit(
        {
            **_run_summary(run, spent, cpu),
            "touched": n,
            "prepare_seconds": round(prepare_seconds, 2),
            "touched_scores_changed": moved.height,
            "load_before": load,
            "peak_rss_mib": harness.peak_mib(),
        }
    )


def child_verify(args: argparse.Namespace) -> None:
    """The scores after the incremental run against a fresh full run."""
    harness.django_setup()
    import random

    import polars as pl

    from creditplus.evaluation.services import evaluate

    changed = json.loads(Path(args.work, "changed.json").read_text(encoding="utf-8"))
    sample = sorted(random.Random(args.seed).sample(changed, min(args.sample, len(changed))))
    incremental = _scores()
    spent = _instrument()
    cpu = _cpu()
    run = evaluate(mode="all", as_of=date.fromisoformat(args.today), actor="bench")
    cpu = _cpu() - cpu
    full = _scores()

    def differ(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
        both = left.join(right, on="subject_id", how="full", suffix="_full", coalesce=True)
        same = pl.all_horizontal(
            [pl.col(c).eq_missing(pl.col(f"{c}_full")) for c in SCORE_COLUMNS[1:]]
        )
        return both.filter(~same)

    ids = pl.Series(sample, dtype=pl.Int64).implode()
    picked_incremental = incremental.filter(pl.col("subject_id").is_in(ids))
    picked_full = full.filter(pl.col("subject_id").is_in(ids))
    sample_diff = differ(picked_incremental, picked_full)
    all_diff = differ(incremental, full)
    harness.emit(
        {
            "sample": len(sample),
            "sample_found": picked_incremental.height,
            "mismatches": sample_diff.height,
            "mismatch_examples": sample_diff.head(3).to_dicts(),
            "all_compared": full.height,
            "all_mismatches": all_diff.height,
            "all_mismatch_ids": all_diff["subject_id"].head(10).to_list(),
            "full_after_incremental": _run_summary(run, spent, cpu),
            "peak_rss_mib": harness.peak_mib(),
        }
    )


# --------------------------------------------------------------------------- parent


def make_plan(work: Path, seed: int, today: date, subjects: int) -> Path:
    """Each item's rows per provider department, from the demo generator run at a small size
    (its files are discarded; only the manifest's volumes are kept)."""
    path = work / f"plan-{subjects}-{seed}.json"
    if path.exists():
        return path
    from creditplus.records.demo import generate

    t = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="creditplus-plan-") as tmp:
        generate(Path(tmp), subjects, seed=seed, today=today, workers=1)
        manifest = json.loads((Path(tmp) / "manifest.json").read_text(encoding="utf-8"))
    items: dict[str, dict[str, int]] = {}
    for f in manifest["files"]:
        per_dept = items.setdefault(f["item"], {})
        per_dept[f["department"]] = per_dept.get(f["department"], 0) + f["rows"]
    plan = {
        "subjects": subjects,
        "seed": seed,
        "records": manifest["records"],
        "items": {code: sorted(d.items()) for code, d in sorted(items.items())},
    }
    path.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        f"   plan: demo generator at {subjects:,} subjects ({manifest['records']:,} rows) "
        f"in {time.monotonic() - t:.1f} s",
        flush=True,
    )
    return path


def run_child(step: str, args: argparse.Namespace, env: dict[str, str], extra: list[str]) -> dict:
    """One step in a fresh process (harness.run_child), with this run's options."""
    argv = ["--subjects", str(args.subjects), "--seed", str(args.seed)]
    argv += ["--changed", str(args.changed), "--sample", str(args.sample), *extra]
    return harness.run_child(__file__, step, argv, env, indent="     ")


def _db_size_mib(name: str, url: str) -> int:
    if name == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return round(
            sum(
                Path(f"{path}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{path}{s}").exists()
            )
            / 2**20
        )
    import psycopg

    with psycopg.connect(pg_conninfo(url)) as conn:
        return round(
            conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20
        )


def _phases(r: dict[str, Any]) -> str:
    return " ".join(f"{k} {v:.2f}" for k, v in r["phases"].items())


def run_database(args: argparse.Namespace, name: str, url: str, work: Path) -> dict[str, Any]:
    today = args.today
    build: dict[str, Any]
    if name == "sqlite":
        cache = work / f"evaluate-{args.subjects}-{args.seed}.sqlite3"
        meta_path = cache.with_suffix(".json")
        if args.rebuild or not (cache.exists() and meta_path.exists()):
            today = today or date.today().isoformat()
            plan = make_plan(work, args.seed, date.fromisoformat(today), args.plan_subjects)
            building = cache.with_suffix(".building")
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{building}{suffix}").unlink(missing_ok=True)
            print(f"== sqlite: building {args.subjects:,} subjects into {cache}", flush=True)
            t = time.monotonic()
            build = run_child(
                "build",
                args,
                harness.bench_env(f"sqlite:///{building}", work),
                ["--today", today, "--plan", str(plan), "--work", str(work)],
            )
            build["seconds"] = round(time.monotonic() - t, 1)
            for suffix in ("-wal", "-shm"):
                Path(f"{building}{suffix}").unlink(missing_ok=True)
            building.replace(cache)
            meta_path.write_text(json.dumps(build, ensure_ascii=False), encoding="utf-8")
            build["cached"] = False
        else:
            build = json.loads(meta_path.read_text(encoding="utf-8"))
            build["cached"] = True
            if today and today != build["today"]:
                sys.exit(f"the cached database was built for {build['today']}: use --rebuild")
            print(f"== sqlite: cached database {cache} (built in {build['seconds']} s)", flush=True)
        today = build["today"]
        target = work / f"evaluate-run-{args.subjects}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        t = time.monotonic()
        shutil.copyfile(cache, target)
        os.sync()  # no write-back of the copy during the first measurement
        build["copy_seconds"] = round(time.monotonic() - t, 1)
        url = f"sqlite:///{target}"
    else:
        today = today or date.today().isoformat()
        plan = make_plan(work, args.seed, date.fromisoformat(today), args.plan_subjects)
        reset_postgres(url)
        print(f"== postgres: building {args.subjects:,} subjects", flush=True)
        t = time.monotonic()
        build = run_child(
            "build",
            args,
            harness.bench_env(url, work),
            ["--today", today, "--plan", str(plan), "--work", str(work)],
        )
        build["seconds"] = round(time.monotonic() - t, 1)
        build["cached"] = False
    env = harness.bench_env(url, work)
    size = _db_size_mib(name, url)
    print(
        f"   {build['subjects']:,} organisations, {build['persons']:,} persons, "
        f"{build['records']:,} records, {build['events']:,} events, "
        f"{build['list_entries']:,} list entries; database {size:,} MiB; build "
        f"{build['seconds']} s {build['timings']}{' (cached)' if build['cached'] else ''}",
        flush=True,
    )
    common = ["--today", today, "--work", str(work)]
    full = run_child("full", args, env, common)
    print(
        f"   full:        {full['evaluated']:,} subjects in {full['seconds']:.2f} s "
        f"(CPU {full['cpu_seconds']:.1f} s) "
        f"({_phases(full)}), peak {full['peak_rss_mib']} MiB, grades {full['grades']}, "
        f"load average before {full['load_before']}",
        flush=True,
    )
    warm = run_child("full", args, env, common)
    print(
        f"   full, warm:  {warm['evaluated']:,} subjects in {warm['seconds']:.2f} s "
        f"(CPU {warm['cpu_seconds']:.1f} s) "
        f"({_phases(warm)}), peak {warm['peak_rss_mib']} MiB, load average before "
        f"{warm['load_before']}",
        flush=True,
    )
    inc = run_child("incremental", args, env, common)
    print(
        f"   incremental: {inc['touched']:,} touched → {inc['evaluated']:,} evaluated in "
        f"{inc['seconds']:.2f} s ({_phases(inc)}), {inc['touched_scores_changed']:,} scores "
        f"changed, peak {inc['peak_rss_mib']} MiB, load average before {inc['load_before']}",
        flush=True,
    )
    ver = run_child("verify", args, env, common)
    print(
        f"   verify:      sample {ver['sample']}: {ver['mismatches']} mismatches; all "
        f"{ver['all_compared']:,} subjects: {ver['all_mismatches']} mismatches "
        f"(full run {ver['full_after_incremental']['seconds']:.2f} s)",
        flush=True,
    )
    if name == "sqlite" and not args.keep_copy:  # the cached database stays
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
    peak = max(full["peak_rss_mib"], warm["peak_rss_mib"], inc["peak_rss_mib"], ver["peak_rss_mib"])
    return {
        "database": {"sqlite": "sqlite", "postgres": "postgresql"}[name],
        "subjects": build["subjects"],
        "persons": build["persons"],
        "records": build["records"],
        "events": build["events"],
        "list_entries": build["list_entries"],
        "relations": build["relations"],
        "today": today,
        "database_mib": size,
        "build": {
            k: build.get(k)
            for k in ("seconds", "cached", "timings", "copy_seconds", "peak_rss_mib")
        },
        "full": full,
        "full_warm": warm,
        "incremental": inc,
        "verify": ver,
        "peak_rss_mib": peak,
        "targets": {
            "full_seconds": TARGET_FULL_S,
            "incremental_seconds": TARGET_INCREMENTAL_S,
            "peak_rss_mib": TARGET_PEAK_MIB,
        },
        "target_met": {
            "full": full["seconds"] <= TARGET_FULL_S,
            "full_warm": warm["seconds"] <= TARGET_FULL_S,
            "incremental": inc["seconds"] <= TARGET_INCREMENTAL_S,
            "peak_memory": peak <= TARGET_PEAK_MIB,
            "incremental_covers_touched": inc["evaluated"] >= inc["touched"],
            "verified": ver["mismatches"] == 0 and ver["sample_found"] == ver["sample"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=300_000, help="market subjects")
    parser.add_argument(
        "--db",
        choices=["auto", "sqlite", "postgres", "both"],
        default="auto",
        help="auto: PostgreSQL when DATABASE_URL is one, else SQLite",
    )
    parser.add_argument("--changed", type=int, default=1000, help="subjects touched")
    parser.add_argument("--sample", type=int, default=200, help="changed subjects verified")
    parser.add_argument("--seed", type=int, default=20171115)
    parser.add_argument("--today", help="YYYY-MM-DD (default: today, or the cached build's)")
    parser.add_argument(
        "--plan-subjects", type=int, default=3000, help="size of the generator run for volumes"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite database")
    parser.add_argument("--work", default=None, help="cache and working directory (var/bench)")
    parser.add_argument(
        "--keep-copy", action="store_true", help="keep the measured copy of the SQLite database"
    )
    parser.add_argument(
        "--child", choices=["build", "full", "incremental", "verify"], help=argparse.SUPPRESS
    )
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {
            "build": child_build,
            "full": child_full,
            "incremental": child_incremental,
            "verify": child_verify,
        }[args.child](args)
        return
    url = os.environ.get("DATABASE_URL", "")
    wanted = harness.database_names(args.db)
    work = Path(args.work or ROOT / "var" / "bench").resolve()
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in wanted:
        if name == "sqlite":
            results.append(run_database(args, name, "", work))
        else:
            # Never the configured database itself: a sibling "<name>_evaluate_bench".
            target = (
                url.rsplit("/", 1)[0]
                + "/"
                + url.rsplit("/", 1)[1].split("?")[0]
                + "_evaluate_bench"
            )
            results.append(run_database(args, name, target, work))

    print()
    print(
        f"== summary (target: full ≤ {TARGET_FULL_S:.0f} s, incremental ≤ "
        f"{TARGET_INCREMENTAL_S:.0f} s, peak ≤ {TARGET_PEAK_MIB // 1024} GiB; build not timed)"
    )
    for r in results:
        met = r["target_met"]
        print(
            f"{r['database']}: {r['subjects']:,} subjects, {r['records']:,} records, "
            f"{r['events']:,} events (build {r['build']['seconds']} s"
            f"{', cached' if r['build']['cached'] else ''}); full {r['full']['seconds']:.2f} s "
            f"[{_phases(r['full'])}] {'ok' if met['full'] else 'MISSED'}; warm "
            f"{r['full_warm']['seconds']:.2f} s {'ok' if met['full_warm'] else 'MISSED'}; "
            f"incremental {r['incremental']['touched']:,} touched → "
            f"{r['incremental']['evaluated']:,} in {r['incremental']['seconds']:.2f} s "
            f"{'ok' if met['incremental'] else 'MISSED'}; peak {r['peak_rss_mib']:,} MiB "
            f"{'ok' if met['peak_memory'] else 'MISSED'}; verified sample "
            f"{r['verify']['sample']}: {r['verify']['mismatches']} mismatches "
            f"({r['verify']['all_mismatches']} over all subjects)"
        )
    harness.print_results(results)


if __name__ == "__main__":
    main()
