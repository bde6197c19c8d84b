"""The benchmarks' data builder: a Pudong-scale database (300,000 market subjects, ~16.9M
credit records, ~8M behavior events, list memberships) built directly, not through ingest
(loading 16.9M rows through the validated ingest path takes hours, see docs/benchmarks.md).

    from builder import pudong_database
    db = pudong_database("sqlite", work, subjects=30_000)   # {"url": …, "today": …, …}

    .venv/bin/python bench/builder.py --subjects 30000 --work var/bench   # build (or reuse) only

The build runs in a child process (``harness.run_child``): ``migrate`` and
``load_reference``, then subjects, legal-representative relations, ingest batches, credit
records, behavior events and list memberships bulk-inserted (``creditplus.bulk.insert_frame``:
COPY on PostgreSQL, executemany on SQLite) with the volumes and shapes of the demo generator:

- subjects: the generator's population (``build_population``: organisations with valid
  USCCs, establishment dates, registration statuses; the natural-person pool); each
  organisation's legal representative is a person of that pool, shared like the generator's
  ``rep`` (a few persons represent many companies);
- records: per item and provider department, the generator's plan (``generate`` run at a
  small size and scaled, :func:`make_plan`), subjects drawn like the generator (penalties
  from the riskiest share of the organisations, honours from the soundest), decision dates
  over the last five years, amounts for items with an amount;
- events: for records of items with behavior rules, one rule of the item (serious rules
  rarer), with the publicity dates the rule gives; a few percent retracted or restored;
- list memberships: published entries of black / watch / red lists (riskiest / soundest
  organisations), so that grade overrides and the related-organisation indicator work.

Secondary indexes of the two big tables are dropped during the load and re-created after
it, then ``ANALYZE``. SQLite: the build is cached under ``work`` by (subjects, seed) and each
call gets a fresh copy of it (``rebuild`` builds it again; the cache does not notice changed
reference data or generator code). PostgreSQL: built each time in a sibling database
``<name>_pudong`` of the configured one. At 300,000 subjects the build takes ~13 min on
SQLite (4.7 GiB; a cached build is copied in ~20 s) and ~8 min on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import harness

ROOT = harness.ROOT
sys.path.insert(0, str(ROOT))

CHUNK_ROWS = 500_000  # rows built and inserted at a time
BATCH_ROWS = 1_000_000  # rows per ingest batch (the generator's largest file)

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


# --------------------------------------------------------------------------- frames


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


# --------------------------------------------------------------------------- the child


class _Build:
    """What the build's steps share: the population, ids, reference rows and timings."""

    def __init__(self, args: argparse.Namespace) -> None:
        from django.utils import timezone

        from creditplus.bulk import timestamp_text

        self.seed = args.seed
        self.subjects = args.subjects
        self.today = date.fromisoformat(args.today)
        self.t_day = (self.today - date(1970, 1, 1)).days
        self.stamp = timestamp_text(timezone.now())
        self.timings: dict[str, float] = {}
        self.clock = time.monotonic()
        self.next_record = self.next_event = 1
        self.records = self.events = 0

    def populate(self) -> None:
        """The generator's population and its risk order of the organisations."""
        import numpy as np

        from creditplus.records.demo import build_population

        self.pop = build_population(self.subjects, self.seed, self.today)
        self.risk = np.random.default_rng([self.seed, 7]).permutation(self.pop.orgs.height)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = round(now - self.clock, 1)
        self.clock = now


def _setup_database() -> None:
    """Migrate, load the reference data, tune the connection for a throwaway bulk load."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=StringIO())
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # no journal to speak of, a big page cache
            cursor.execute("PRAGMA journal_mode=DELETE")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1048576")
        else:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("SET synchronous_commit = off")


def _insert_subjects(b: _Build) -> None:
    from django.db import connection, transaction

    from creditplus.bulk import insert_frame
    from creditplus.subjects.models import Subject, SubjectRelation

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Subject._meta.db_table}")
        first_id = cursor.fetchone()[0] + 1
    organisations, people, relations = _subject_frames(b.pop, first_id, b.seed, b.stamp)
    b.org_ids, b.person_ids = organisations["id"].to_numpy(), people["id"].to_numpy()
    with transaction.atomic():
        for frame in (organisations, people):
            for start in range(0, frame.height, CHUNK_ROWS):
                insert_frame(Subject._meta.db_table, frame.slice(start, CHUNK_ROWS))
        insert_frame(SubjectRelation._meta.db_table, relations)
    n_org, n_person = organisations.height, people.height
    harness.say(f"subjects: {n_org:,} organisations, {n_person:,} persons, {n_org:,} relations")


def _item_pool(b: _Build, it: Any) -> Any:
    """The item's subjects (rows of the organisations), as the generator's _Pools draws them."""
    import numpy as np

    from creditplus.records.demo.records import _CONCENTRATION, _eligible

    pool = _eligible(it, b.pop)
    pool = pool[np.random.default_rng([b.seed, 11, _crc(it.code)]).permutation(pool.size)]
    end, share = _CONCENTRATION.get(it.code, ("", 1.0))
    if end and not it.per_subject and pool.size:
        order = np.argsort(b.risk[pool], kind="stable")
        if end == "sound":
            order = order[::-1]
        pool = pool[order[: max(20, int(pool.size * share))]]
    if it.per_subject and 0 in pool:
        pool = np.concatenate([[0], pool[pool != 0]])
    return pool


class _ItemShape:
    """One catalogue item as the build needs it: pool, codes, rules, publicity."""

    def __init__(self, b: _Build, it: Any, item: Any, rules: list[Any]) -> None:
        import numpy as np

        from creditplus.catalog.models import CodeTable
        from creditplus.records.ingest import _category_field

        spec = item.spec
        self.it, self.item, self.code = it, item, it.code
        self.pool = _item_pool(b, it)
        self.skew = 1.0 if not it.keyed_by_construction else 1.6 if it.penalty_field else 1.25
        category = _category_field(spec)
        table = CodeTable.objects.get(code=spec.field(category).code_table) if category else None
        self.codes = np.array([str(v["code"]) for v in table.values] if table else [])
        self.has_amount = any(f.type == "decimal" for f in spec.fields)
        self.rules = _Rules(rules)
        self.published = (
            bool(spec.publicity.get("published", True)),
            bool(spec.publicity.get("persons_published", True)),
        )
        self.sliced = 0  # per-subject items: pool rows used so far

    def counts(self, streams: list[tuple[str, int]], scale: float) -> list[int]:
        """Rows per stream: one per eligible subject (split like the plan), or scaled."""
        if not self.it.per_subject:
            return [max(1, round(rows * scale)) for _, rows in streams]
        total = sum(rows for _, rows in streams)
        counts = [self.pool.size * rows // total for _, rows in streams]
        counts[-1] = self.pool.size - sum(counts[:-1])
        return counts

    def person_share(self, dept: str) -> float:
        from creditplus.records.demo.words import _DEPT_HINTS

        if "person" not in self.it.kinds:
            return 0.0
        return max(_DEPT_HINTS.get(dept, ("", "", 0.05, 0, 0))[2], 0.05)


def _chunk_subjects(b: _Build, shape: _ItemShape, rng: Any, n: int, dept: str) -> tuple:
    """(organisation rows, is-person mask, person rows, epoch decision days) of ``n`` records,
    like the generator's _Chunk.subjects and its dates."""
    import numpy as np

    pool = shape.pool
    if shape.it.per_subject:
        org = pool[shape.sliced : shape.sliced + n]
        shape.sliced += n
        is_person = np.zeros(n, bool)
    elif pool.size:
        org = pool[(pool.size * rng.random(n) ** shape.skew).astype(np.int64)]
        is_person = rng.random(n) < shape.person_share(dept)
    else:
        org, is_person = np.zeros(n, np.int64), np.ones(n, bool)
    who = rng.integers(0, b.pop.persons.height, n)
    if shape.it.per_subject:  # the latest registration act
        est = b.est_days[org]
        days = est + ((b.t_day - est) * rng.random(n) ** 0.4).astype(np.int64)
    else:  # the last five years, working days
        days = b.t_day - (5 * 365.25 * rng.random(n) ** 1.3).astype(np.int64)
        weekday = (days + 3) % 7
        days = days - np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
    return org, is_person, who, days


def _record_frame(
    b: _Build, shape: _ItemShape, rng: Any, chunk: tuple, batch: Any, first_row: int
) -> Any:
    import numpy as np
    import polars as pl

    org, is_person, who, days = chunk
    n = org.size
    ids = pl.Series(np.arange(b.next_record, b.next_record + n, dtype=np.int64))
    b.next_record += n
    amount = (
        pl.Series(np.round(np.exp(rng.normal(0.0, 1.3, n)), 2)).cast(pl.Utf8)
        if shape.has_amount
        else pl.Series([None] * n, dtype=pl.Utf8)
    )
    codes = shape.codes
    category = pl.Series(codes[rng.integers(0, codes.size, n)]) if codes.size else [""] * n
    names = pl.when(pl.Series(is_person)).then(b.person_names.gather(who))
    return pl.DataFrame(
        {
            "id": ids,
            "item_id": shape.item.pk,
            "subject_id": np.where(is_person, b.person_ids[who], b.org_ids[org]),
            "department_id": batch.department_id,
            "batch_id": batch.pk,
            "row_no": np.arange(first_row + 1, first_row + n + 1),
            "natural_key": f"{shape.code}-" + ids.cast(pl.Utf8),
            "version": 1,
            "is_current": True,
            "status": "active",
            "subject_name": pl.select(names.otherwise(b.org_names.gather(org))).to_series(),
            "decision_date": _dates(days),
            "category": pl.Series(category, dtype=pl.Utf8),
            "amount": amount,
            "flags": "",
            "data": "{}",
            "received_at": b.stamp,
        }
    )


def _insert_batch(b: _Build, shape: _ItemShape, dept: str, dept_id: int, part: int, rows: int):
    """One ingest batch (a generator file) of ``rows`` records and their events."""
    import numpy as np
    from django.db import transaction

    from creditplus.bulk import insert_frame
    from creditplus.records.choices import BatchSource, BatchStatus
    from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch

    code = shape.code
    batch = IngestBatch.objects.create(
        department_id=dept_id,
        item=shape.item,
        source=BatchSource.CLI,
        file_name=f"{code}/{code}-{dept}-{part // BATCH_ROWS + 1}.csv",
        file_format="csv-utf8",
        encoding="utf-8",
        status=BatchStatus.DONE,
        submitted=rows,
        accepted=rows,
        created_by="bench",
    )
    for chunk_start in range(0, rows, CHUNK_ROWS):
        n = min(CHUNK_ROWS, rows - chunk_start)
        rng = np.random.default_rng([b.seed, 12, _crc(code), _crc(dept), part + chunk_start])
        chunk = _chunk_subjects(b, shape, rng, n, dept)
        records = _record_frame(b, shape, rng, chunk, batch, chunk_start)
        events = None
        if shape.rules.count:
            days, is_person = chunk[3], chunk[1]
            events = _event_frame(
                shape.rules,
                rng,
                records,
                days,
                is_person,
                b.next_event,
                b.t_day,
                shape.published,
                b.stamp,
            )
            b.next_event += events.height
        with transaction.atomic():
            insert_frame(CreditRecord._meta.db_table, records)
            if events is not None:
                insert_frame(CreditEvent._meta.db_table, events)
        b.records += n
        b.events += 0 if events is None else events.height


def _insert_records(b: _Build, plan: dict[str, Any]) -> None:
    """Records and events, item by item, with the generator's volumes and subjects."""
    import polars as pl

    from creditplus.accounts.models import Department
    from creditplus.catalog.models import BehaviorRule, CatalogItem
    from creditplus.records.demo import Item, load_reference

    scale = b.subjects / plan["subjects"]
    specs, _, tables = load_reference()
    demo_items = {str(s["code"]): Item(s, tables) for s in specs}
    items = {i.code: i for i in CatalogItem.objects.all()}
    departments = dict(Department.objects.values_list("code", "pk"))
    rules_by_item: dict[str, list[Any]] = {}
    for rule in BehaviorRule.objects.active().select_related("item").order_by("priority", "code"):
        rules_by_item.setdefault(rule.item.code, []).append(rule)
    b.org_names = b.pop.orgs["name"].str.slice(0, 200)
    b.person_names = b.pop.persons["pname"]
    b.est_days = b.pop.orgs["est"].cast(pl.Int32).to_numpy()
    for code, streams in plan["items"].items():
        shape = _ItemShape(b, demo_items[code], items[code], rules_by_item.get(code, []))
        records, events = b.records, b.events
        for (dept, _), rows in zip(streams, shape.counts(streams, scale), strict=True):
            for part in range(0, rows, BATCH_ROWS):  # a batch per generator file
                _insert_batch(b, shape, dept, departments[dept], part, min(BATCH_ROWS, rows - part))
        harness.say(
            f"{code}: {b.records - records:,} records, {b.events - events:,} events "
            f"({time.monotonic() - b.clock:.0f} s so far)"
        )


def _finish(b: _Build, indexes: list[tuple[str, str]]) -> int:
    """Indexes back, list memberships, sequences moved on, statistics; the list entries."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from creditplus.bulk import insert_frame
    from creditplus.lists.models import ListEntry
    from creditplus.records.models import CreditEvent, CreditRecord
    from creditplus.subjects.models import Subject, SubjectRelation

    with connection.cursor() as cursor:
        for _, sql in indexes:
            cursor.execute(sql)
    harness.say(f"indexes re-created: {', '.join(name for name, _ in indexes)}")
    b.lap("indexes")
    entries = _list_entry_frame(b.org_ids, b.risk, b.seed, b.today, b.stamp)
    with transaction.atomic():
        insert_frame(ListEntry._meta.db_table, entries)
    with connection.cursor() as cursor:  # explicit ids were inserted: move the sequences on
        models = [Subject, SubjectRelation, CreditRecord, CreditEvent, ListEntry]
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
    b.lap("lists")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA journal_mode=WAL")
        else:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would have: visibility map, stats
    b.lap("analyze")
    return entries.height


def child_build(args: argparse.Namespace) -> None:
    """Build the Pudong-scale database directly (see the module docstring)."""
    harness.django_setup()
    from django.db import connection

    from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch

    b = _Build(args)
    _setup_database()
    b.lap("setup")
    b.populate()
    _insert_subjects(b)
    b.lap("subjects")
    indexes = _index_statements([CreditRecord._meta.db_table, CreditEvent._meta.db_table])
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    _insert_records(b, json.loads(Path(args.plan).read_text(encoding="utf-8")))
    b.lap("records_and_events")
    list_entries = _finish(b, indexes)
    harness.emit(
        {
            "database": connection.vendor,
            "subjects": b.pop.orgs.height,
            "persons": b.pop.persons.height,
            "relations": b.pop.orgs.height,
            "records": b.records,
            "events": b.events,
            "list_entries": list_entries,
            "batches": IngestBatch.objects.count(),
            "today": b.today.isoformat(),
            "timings": b.timings,
            "peak_rss_mib": harness.peak_mib(),
        }
    )


# --------------------------------------------------------------------------- the parent


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


def _build(db: str, url: str, work: Path, subjects: int, seed: int, today: str) -> dict:
    """Build into ``url`` in a child process; the child's report with the build's seconds."""
    plan = make_plan(work, seed, date.fromisoformat(today), _plan_subjects(subjects))
    print(f"== {db}: building {subjects:,} subjects", flush=True)
    argv = ["--subjects", str(subjects), "--seed", str(seed), "--today", today]
    t = time.monotonic()
    build = harness.run_child(
        __file__, "build", [*argv, "--plan", str(plan)], harness.bench_env(url, work), "     "
    )
    build["seconds"] = round(time.monotonic() - t, 1)
    build["cached"] = False
    return build


def _plan_subjects(subjects: int) -> int:
    """The size of the generator run that gives the volumes: 3,000 subjects (enough for every
    item's share), less for a smoke-size build."""
    return max(300, min(3000, subjects // 5))


def _sqlite_build(work: Path, subjects: int, seed: int, today: str | None, rebuild: bool):
    """(cached SQLite file, build report): built again when asked or missing."""
    cache = work / f"pudong-{subjects}-{seed}.sqlite3"
    meta_path = cache.with_suffix(".json")
    if rebuild or not (cache.exists() and meta_path.exists()):
        building = cache.with_suffix(".building")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        today = today or date.today().isoformat()
        build = _build("sqlite", f"sqlite:///{building}", work, subjects, seed, today)
        for suffix in ("-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        building.replace(cache)
        meta_path.write_text(json.dumps(build, ensure_ascii=False), encoding="utf-8")
        return cache, build
    build = json.loads(meta_path.read_text(encoding="utf-8")) | {"cached": True}
    if today and today != build["today"]:
        sys.exit(f"the cached database {cache} was built for {build['today']}: rebuild it")
    print(f"== sqlite: cached database {cache} (built in {build['seconds']} s)", flush=True)
    return cache, build


def pudong_database(
    db: str,
    work: Path,
    *,
    subjects: int = 300_000,
    seed: int = 20171115,
    today: str | None = None,
    rebuild: bool = False,
) -> dict:
    """A fresh working copy of the Pudong-scale database on ``db`` (``sqlite`` or
    ``postgres``, the latter a sibling of DATABASE_URL's database): {"url", "today",
    "subjects", "records", "events", "build": the build's report}. ``today`` defaults to
    the cached build's date (SQLite), else to today."""
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if db == "sqlite":
        cache, build = _sqlite_build(work, subjects, seed, today, rebuild)
        target = work / f"pudong-run-{subjects}-{seed}.sqlite3"
        harness.remove_sqlite(target)
        t = time.monotonic()
        shutil.copyfile(cache, target)
        os.sync()  # no write-back of the copy during the first measurement
        build["copy_seconds"] = round(time.monotonic() - t, 1)
        url = f"sqlite:///{target}"
    elif db == "postgres":
        url = harness.fresh_database("postgres", work, "pudong")
        build = _build("postgres", url, work, subjects, seed, today or date.today().isoformat())
    else:
        raise ValueError(f"unknown database {db!r}: sqlite or postgres")
    return {
        "url": url,
        "today": build["today"],
        "subjects": build["subjects"],
        "records": build["records"],
        "events": build["events"],
        "build": build,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["auto", "sqlite", "postgres", "both"], default="auto")
    parser.add_argument("--subjects", type=int, default=300_000, help="market subjects")
    parser.add_argument("--seed", type=int, default=20171115)
    parser.add_argument("--today", help="YYYY-MM-DD (default: today, or the cached build's)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite database")
    parser.add_argument("--work", default=None, help="cache and working directory (var/bench)")
    parser.add_argument("--child", choices=["build"], help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_build(args)
        return
    work = Path(args.work or ROOT / "var" / "bench")
    results = []
    for name in harness.database_names(args.db):
        db = pudong_database(
            name,
            work,
            subjects=args.subjects,
            seed=args.seed,
            today=args.today,
            rebuild=args.rebuild,
        )
        results.append({"database": name, **db})
    harness.print_results(results)


if __name__ == "__main__":
    main()
