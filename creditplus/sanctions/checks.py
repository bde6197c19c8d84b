"""信用核查: a department checks a subject while handling a matter of the application list;
the answer (lists, grade, measures that apply to the matter) is recorded and audited, and
the department later reports what it did with it, which closes the matching tasks.

Checks are the platform's hottest path (departments' systems call them while handling
every matter), so they read with a few plain statements instead of the ORM — whose query
building cost more than the queries — and cache nothing: the matter's rules, the subject's
memberships and grade and the caller's token are read afresh on every check, so a reloaded
application list, a restoration or a revoked token applies to the very next check. All
reads happen before the write transaction, which holds only the check row and its audit
row (on SQLite the database's write lock is held for well under a millisecond, and check
writers queue for it instead of polling; on PostgreSQL the statements are prepared once per
connection).
"""

from __future__ import annotations

import functools
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm
from creditplus.bulk import (
    chunked,
    hot_cursor,
    insert_row,
    insert_rows,
    loaded,
    reserve_ids,
    sqlite_write_turn,
)
from creditplus.catalog.models import Matter
from creditplus.errors import DomainError, Forbidden, NotFound
from creditplus.evaluation.choices import ModelStatus
from creditplus.evaluation.models import EvaluationModel, Score
from creditplus.identifiers import check_resident_id, resident_id_checks, uscc_checks
from creditplus.lists.choices import MEMBER_STATUSES
from creditplus.lists.models import ListEntry, ListType
from creditplus.sanctions.choices import (
    FEEDBACK_OUTCOMES,
    IN_FORCE,
    MeasureTrigger,
    Target,
    TaskOrigin,
    TaskStatus,
)
from creditplus.sanctions.models import CreditCheck, Measure, SanctionTask
from creditplus.sanctions.services import CheckHit, close_case_if_done, create_check_tasks
from creditplus.subjects.models import Subject
from creditplus.subjects.pii import lookup_hash, mask_id_number

MAX_BULK = 10_000
ON_APPLICATION = MeasureTrigger.ON_APPLICATION.value
CHECK_ACTION = "check.subject"
_CHUNK = 500  # identifiers per statement on SQLite: well below its parameter limit


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: Any) -> str:
    return _q(model._meta.db_table)


def _literals(values: Sequence[str]) -> str:
    """Our own choice constants as SQL literals. Bound parameters would do, but SQLite then
    re-prepares the statement on every call when a partial index's condition might match one
    (the active evaluation model's), which tripled a check's lookup time."""
    assert all(v.replace("_", "").isalnum() and v.isascii() for v in values), values
    return ", ".join(f"'{v}'" for v in values)


# --------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class MatterRules:
    """What a check for one matter looks at, from the measure catalog alone (one rule): the
    list types of the active measures that cover the matter or its generic matter (the lists
    the matter checks), and of those the measures in force, by list type."""

    matter_id: int
    matter: str
    list_ids: frozenset[int]
    measures_by_type: dict[int, list[dict[str, str]]]
    # measure code → its id and list types: where the tasks of a hit come from
    measure_ids: dict[str, int] = field(default_factory=dict)
    types_of: dict[str, frozenset[int]] = field(default_factory=dict)


@functools.cache
def _rules_sql() -> str:
    applies = Measure._meta.get_field("matters")
    lists = Measure._meta.get_field("list_types")
    return f"""
        SELECT mt.id, mt.code, ms.id, ms.code, ms.name, ms.kind, ms.basis, ms.{_q("trigger")},
               CASE WHEN ms.status IN ({_literals(IN_FORCE)}) THEN 1 ELSE 0 END,
               ml.{_q(lists.m2m_reverse_name())}
        FROM {_table(Matter)} mt
        LEFT JOIN {_q(applies.m2m_db_table())} mm  -- Measure…covering(matter)
             ON mm.{_q(applies.m2m_reverse_name())} IN (mt.id, mt.parent_id)
        LEFT JOIN {_table(Measure)} ms ON ms.id = mm.{_q(applies.m2m_column_name())} AND ms.is_active
        LEFT JOIN {_q(lists.m2m_db_table())} ml ON ml.{_q(lists.m2m_column_name())} = ms.id
        WHERE mt.code = %s AND mt.is_active"""


def matter_rules(code: str) -> MatterRules:
    """The rules of an active matter of the application list (one statement), or the error
    ``matter_unknown``."""
    with hot_cursor() as cursor:
        cursor.execute(_rules_sql(), [code.strip().upper()])
        rows = cursor.fetchall()
    if not rows:
        raise DomainError(
            "matter_unknown", _("应用清单中没有该事项：%(c)s") % {"c": code}, "matter"
        )
    matter_id, matter = rows[0][:2]
    list_ids: set[int] = set()
    by_type: dict[int, list[dict[str, str]]] = defaultdict(list)
    ids: dict[str, int] = {}
    types_of: dict[str, set[int]] = defaultdict(set)
    for *_matter, m_id, m_code, name, kind, basis, trigger, in_force, list_type in rows:
        if m_code is None or list_type is None:
            continue
        list_ids.add(list_type)
        ids[m_code] = m_id
        types_of[m_code].add(list_type)
        if in_force:  # Measure…in_force()
            by_type[list_type].append(
                {
                    "code": m_code,
                    "name": name,
                    "kind": kind,
                    "legal_basis": basis,
                    "trigger": trigger,
                }
            )
    return MatterRules(
        matter_id=matter_id,
        matter=matter,
        list_ids=frozenset(list_ids),
        measures_by_type=dict(by_type),
        measure_ids=ids,
        types_of={code: frozenset(types) for code, types in types_of.items()},
    )


@dataclass
class Found:
    """A subject found for an identifier: its grade under the active evaluation model (None
    when not scored, e.g. persons) and its list memberships (ListEntry.objects.members()),
    ordered by list type."""

    id: int
    name: str
    grade: str | None
    lists: list[dict[str, Any]] = field(default_factory=list)


LOOKUP_COLUMNS = ("uscc", "id_hash", "id")


@functools.cache
def _lookup_sql(column: str, size: int) -> str:
    """``size`` values in an IN list; on PostgreSQL one value (a single check) compared with
    ``=``, any other number in one array parameter (a bulk check's 10,000 identifiers). The
    single check's prepared statement then runs on a generic plan: with ``= ANY`` PostgreSQL
    planned it afresh on every call, ~0.3 ms of its CPU, ten times the statement's run."""
    assert column in LOOKUP_COLUMNS
    if connection.vendor == "postgresql":
        where = f"s.{_q(column)} = %s" if size == 1 else f"s.{_q(column)} = ANY(%s)"
    else:
        where = f"s.{_q(column)} IN ({', '.join(['%s'] * size)})"
    return f"""
        SELECT s.{_q(column)}, s.id, s.name,
               (SELECT sc.grade FROM {_table(Score)} sc
                WHERE sc.subject_id = s.id AND sc.model_id =
                      (SELECT m.id FROM {_table(EvaluationModel)} m
                       WHERE m.status = {_literals([ModelStatus.ACTIVE])})),
               t.id, e.id, e.proposed_at, t.code, t.name, t.kind, e.decided_on, e.publish_until,
               e.decision_no, d.name
        FROM {_table(Subject)} s
        LEFT JOIN {_table(ListEntry)} e  -- ListEntry.objects.members()
             ON e.subject_id = s.id AND e.status IN ({_literals(MEMBER_STATUSES)})
        LEFT JOIN {_table(ListType)} t ON t.id = e.list_type_id
        LEFT JOIN {_table(Department)} d ON d.id = e.department_id
        WHERE {where}
        ORDER BY s.id, t.code, e.id"""


def _day(value: Any) -> str | None:
    return str(value)[:10] if value else None  # a date, or SQLite's ISO text of one


def lookup(column: str, values: Sequence[Any]) -> dict[Any, Found]:
    """Subjects whose ``column`` (uscc, id_hash or id) is one of ``values``, with their
    grade and memberships: one statement (SQLite: per 500 values)."""
    found: dict[Any, Found] = {}
    unique = sorted(set(values))
    # One identifier: a single check, prepared on PostgreSQL; many: a bulk check's chunks.
    single = len(unique) == 1
    array = connection.vendor == "postgresql" and not single
    with hot_cursor() if single else connection.cursor() as cursor:
        for chunk in chunked(unique, MAX_BULK if array else _CHUNK):
            sql = _lookup_sql(column, 0 if array else len(chunk))
            cursor.execute(sql, [list(chunk)] if array else list(chunk))
            for key, pk, name, grade, type_id, entry_id, proposed_at, *entry in cursor.fetchall():
                subject = found.get(key)
                if subject is None:
                    subject = found[key] = Found(pk, name, grade)
                if type_id is not None:
                    code, type_name, kind, since, until, decision_no, department = entry
                    subject.lists.append(
                        {
                            # internal (not in the answer): where a triggered task attaches
                            "type_id": type_id,
                            "entry_id": entry_id,
                            "proposed_at": proposed_at,
                            "list_type": code,
                            "name": type_name,
                            "kind": kind,
                            "since": _day(since),
                            "until": _day(until),
                            "decision_no": decision_no,
                            "department": department,
                        }
                    )
    return found


def _answer(rules: MatterRules, subject: Found | None) -> dict[str, Any]:
    entries = subject.lists if subject else []
    lists = [
        {
            **{k: v for k, v in e.items() if k not in _INTERNAL},
            "required_by_matter": e["type_id"] in rules.list_ids,
        }
        for e in entries
    ]
    seen: dict[str, dict[str, str]] = {}
    for e in entries:
        for m in rules.measures_by_type.get(e["type_id"], []):
            seen.setdefault(m["code"], m)
    return {
        "matter": rules.matter,
        "lists": lists,
        "grade": subject.grade if subject else None,  # active model; None when not scored
        "measures": [dict(m) for m in sorted(seen.values(), key=lambda m: m["code"])],
    }


_INTERNAL = ("type_id", "entry_id", "proposed_at")


def _triggered(answer: dict[str, Any]) -> tuple[str, ...]:
    """The answer's on-application measures: they become the checking department's tasks."""
    return tuple(m["code"] for m in answer["measures"] if m["trigger"] == ON_APPLICATION)


def _hit(check_id: int, subject: Found, rules: MatterRules, codes: Sequence[str]) -> CheckHit:
    """The tasks of a check: each triggered measure with the membership that brought it in —
    of the subject's entries on one of the measure's list types, the latest proposed (the
    order of ListEntry.objects)."""
    latest = sorted(subject.lists, key=lambda e: (e["proposed_at"], e["entry_id"]), reverse=True)
    tasks = []
    for code in codes:
        types = rules.types_of.get(code, frozenset())
        entry = next((e for e in latest if e["type_id"] in types), None)
        if entry is not None:
            tasks.append((rules.measure_ids[code], entry["entry_id"]))
    return CheckHit(check_id, subject.id, subject.name, tuple(tasks))


def _department_of(user: Any) -> Any:
    require_perm(user, "sanctions.add_creditcheck")
    if not user.department_id:
        raise Forbidden(_("信用核查须以部门身份进行"))
    return user.department


def _identify(code: str) -> tuple[str, str, str]:
    """(lookup column, lookup value, identifier to store): never the clear resident ID."""
    code = code.strip().upper()
    if len(code) == 18 and check_resident_id(code).ok:
        return "id_hash", lookup_hash(code), mask_id_number(code)
    return "uscc", code, code[:32]


def _number(pk: int) -> str:
    return f"HC{pk:08d}"  # CreditCheck.number, without an instance per row


# --------------------------------------------------------------------------- checks


def check_subject(user: Any, code: str, matter_code: str, purpose: str) -> CreditCheck:
    """One credit check, recorded and audited. An unknown subject is answered (no lists)."""
    department = _department_of(user)
    if not purpose.strip():
        raise DomainError("purpose_required", _("请填写核查用途"), "purpose")
    if not code.strip():
        raise DomainError("subject_required", _("请填写统一社会信用代码或身份证号码"), "subject")
    rules = matter_rules(matter_code)
    column, value, identifier = _identify(code)
    subject = lookup(column, [value]).get(value)
    answer = _answer(rules, subject)
    ctx = audit.current_context()
    values = _check_defaults() | {
        "department_id": department.pk,
        "actor_name": ctx.actor_name,
        "token": ctx.token,
        "subject_id": subject.id if subject else None,
        "identifier": identifier,
        "matter_id": rules.matter_id,
        "purpose": purpose.strip()[:300],
        "answer": answer,
        "hit": bool(answer["lists"]),
        "created_at": timezone.now(),
    }
    after = {"matter": rules.matter, "hit": values["hit"], "measures": len(answer["measures"])}
    triggered = _triggered(answer)
    if subject and triggered:
        after["tasks"] = list(triggered)  # the audit row of the check covers its tasks
    # The write: the check row and its audit row, committed together or not at all (and,
    # only when the answer lists on-application measures, the tasks they become).
    with sqlite_write_turn(), transaction.atomic():
        head = None
        if chain := audit.locked_head_sql():  # PostgreSQL: the row, then the chain's head
            pk, head = insert_row(CreditCheck, values, also=chain)
            head = head or ""
        else:
            pk = insert_row(CreditCheck, values)
        audit.record(
            CHECK_ACTION,
            object_type=CreditCheck._meta.label_lower,
            object_id=str(pk),
            object_repr=_number(pk),
            subject=identifier,
            purpose=purpose,
            after=after,
            locked_head=head,
        )
        if subject and triggered:
            create_check_tasks(
                [_hit(pk, subject, rules, triggered)], department.pk, rules.matter_id
            )
    check = loaded(CreditCheck, id=pk, **values)
    check.department = department
    return check


@functools.cache
def _check_defaults() -> dict[str, Any]:
    """A check row's field defaults (constants all), for a row written without an instance."""
    fields = [f for f in CreditCheck._meta.concrete_fields if not f.primary_key]
    assert not any(f.has_default() and callable(f.default) for f in fields)
    return {f.attname: f.get_default() for f in fields}


@dataclass
class BulkResult:
    batch: str
    checked: int
    hits: int
    rows: list[dict[str, Any]]


@dataclass
class _Inputs:
    """A bulk check's identifiers as given (stripped) and upper-cased, with what each is:
    a valid resident ID (``person``), a valid unified social credit code (``org``), or
    neither — then it is taken as a name (old records without codes)."""

    originals: list[str]
    upper: list[str]
    person: list[bool]
    org: list[bool]


def _classify(codes: list[str]) -> _Inputs:
    """Validate every identifier at once (Polars): one pass per identifier kind."""
    originals = [c.strip() for c in codes]
    raw = pl.Series("code", [c.upper() for c in originals], dtype=pl.String)
    people = resident_id_checks(raw, today=timezone.localdate())
    organisations = uscc_checks(raw)
    return _Inputs(
        originals=originals,
        upper=raw.to_list(),
        person=(people["error"].is_null() & people["value"].is_not_null()).to_list(),
        org=(organisations["error"].is_null() & organisations["value"].is_not_null()).to_list(),
    )


def _find_all(inputs: _Inputs) -> tuple[list[Found | None], dict[str, list[dict[str, str]]]]:
    """The subject found for each input (or None), and the candidates for unmatched names:
    one lookup per identifier kind (resident IDs by keyed hash, codes, exact names)."""
    triples = list(zip(inputs.upper, inputs.person, inputs.org, strict=True))
    hashes = {c: lookup_hash(c) for c, person, _org in triples if person}
    by_hash = lookup("id_hash", list(hashes.values()))
    by_uscc = lookup("uscc", [c for c, _person, org in triples if org])
    names = [o for o, (_c, p, g) in zip(inputs.originals, triples, strict=True) if not (p or g)]
    by_name, candidates = match_names(names)
    by_id = lookup("id", [s.pk for s in by_name.values()])
    found: list[Found | None] = []
    for original, (code, person, org) in zip(inputs.originals, triples, strict=True):
        if person:
            found.append(by_hash.get(hashes[code]))
        elif org:
            found.append(by_uscc.get(code))
        else:
            named = by_name.get(original)
            found.append(by_id.get(named.pk) if named else None)
    return found, candidates


def _bulk_rows(
    rules: MatterRules,
    inputs: _Inputs,
    found: list[Found | None],
    candidates: dict[str, list[dict[str, str]]],
    check_values: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(check rows to write, rows of the answer), one of each per input, in input order."""
    checks, rows = [], []
    # Subjects on no list share one answer per grade (the answer is never changed after).
    unlisted: dict[str | None, dict[str, Any]] = {}
    for i, subject in enumerate(found):
        code, person, org = inputs.upper[i], inputs.person[i], inputs.org[i]
        identifier = mask_id_number(code) if person else code[:32]
        if subject is None or not subject.lists:
            grade = subject.grade if subject else None
            answer = unlisted.get(grade) or unlisted.setdefault(grade, _answer(rules, subject))
        else:
            answer = _answer(rules, subject)
        checks.append(
            {
                **check_values,
                "subject_id": subject.id if subject else None,
                "identifier": identifier,
                "answer": answer,
                "hit": bool(answer["lists"]),
            }
        )
        rows.append(
            {
                "subject": identifier,
                "valid": bool(person or org),
                "found": subject is not None,
                "match": (("code" if person or org else "name") if subject else None),
                "name": subject.name if subject and not person else "",
                # Similar names for a person to confirm; never applied automatically.
                "candidates": candidates.get(inputs.originals[i], []),
                **answer,
            }
        )
    return checks, rows


def _write_bulk(
    checks: list[dict[str, Any]],
    found: list[Found | None],
    rules: MatterRules,
    department_id: int,
    purpose: str,
) -> list[int]:
    """One transaction: every check row, its audit row, and the tasks that on-application
    measures become (``insert_rows``: COPY on PostgreSQL; no model instances). Their ids."""
    batch = checks[0]["batch"]
    after = {hit: {"matter": rules.matter, "hit": hit, "batch": batch} for hit in (False, True)}
    triggered = [
        _triggered(c["answer"]) if subject else () for c, subject in zip(checks, found, strict=True)
    ]
    with sqlite_write_turn(), transaction.atomic():
        # SQLite: the ids after the table's counter, safe under the write lock taken at BEGIN
        # IMMEDIATE; PostgreSQL: drawn from the sequence.
        ids = reserve_ids(CreditCheck._meta.db_table, len(checks)).to_list()
        for pk, check in zip(ids, checks, strict=True):
            check["id"] = pk
        insert_rows(CreditCheck, checks)
        audit.record_many(
            CHECK_ACTION,
            [
                audit.Change(
                    object_type=CreditCheck._meta.label_lower,
                    object_id=str(c["id"]),
                    object_repr=_number(c["id"]),
                    subject=c["identifier"],
                    purpose=purpose,
                    # The audit row of a check covers the tasks it triggers.
                    after={**after[True], "tasks": list(codes)} if codes else after[c["hit"]],
                )
                for c, codes in zip(checks, triggered, strict=True)
            ],
        )
        hits = [
            _hit(c["id"], subject, rules, codes)
            for c, subject, codes in zip(checks, found, triggered, strict=True)
            if codes
        ]
        create_check_tasks(hits, department_id, rules.matter_id)
    return ids


def check_many(user: Any, codes: list[str], matter_code: str, purpose: str) -> BulkResult:
    """批量核查: up to 10,000 identifiers for one matter (e.g. all bidders), vectorized:
    validate them all at once, look subjects up per identifier kind (one statement per 500
    identifiers), then write all check rows and their audit rows in one transaction."""
    department = _department_of(user)
    if not purpose.strip():
        raise DomainError("purpose_required", _("请填写核查用途"), "purpose")
    if not codes:
        raise DomainError("subject_required", _("请提供要核查的代码"), "subjects")
    if len(codes) > MAX_BULK:
        raise DomainError("too_many", _("一次最多核查 %(n)d 个主体") % {"n": MAX_BULK}, "subjects")
    rules = matter_rules(matter_code)
    inputs = _classify(codes)
    found, candidates = _find_all(inputs)
    ctx = audit.current_context()
    batch = f"PL{timezone.now():%Y%m%d%H%M%S}{secrets.token_hex(3)}"
    shared = {
        "department_id": department.pk,
        "actor_name": ctx.actor_name,
        "token": ctx.token,
        "matter_id": rules.matter_id,
        "purpose": purpose.strip()[:300],
        "batch": batch,
        "created_at": timezone.now(),
    }
    checks, rows = _bulk_rows(rules, inputs, found, candidates, shared)
    ids = _write_bulk(checks, found, rules, department.pk, purpose)
    for pk, row in zip(ids, rows, strict=True):
        row["check"] = pk
    return BulkResult(
        batch=batch, checked=len(checks), hits=sum(c["hit"] for c in checks), rows=rows
    )


def normalize_name(name: str) -> str:
    """A subject name as registered: NFKC, no spaces, Chinese (full-width) parentheses."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(text.split())
    return text.replace("(", "（").replace(")", "）")


MAX_FUZZY = 200


def match_names(names: list[str]) -> tuple[dict[str, Subject], dict[str, list[dict[str, str]]]]:
    """Exact matches on the normalized name (only when exactly one organisation has it), and
    for the others up to five similar names as candidates (only the first 200 names)."""
    normalized = {n: normalize_name(n) for n in names if n}
    by_norm: dict[str, list[Subject]] = defaultdict(list)
    values = list(set(normalized.values()))
    for i in range(0, len(values), 900):
        for subject in (
            Subject.objects.organisations()
            .filter(name__in=values[i : i + 900])
            .only("id", "uscc", "name")
        ):
            by_norm[subject.name].append(subject)
    exact = {n: by_norm[v][0] for n, v in normalized.items() if len(by_norm.get(v, [])) == 1}
    candidates: dict[str, list[dict[str, str]]] = {}
    for name in [n for n in normalized if n not in exact][:MAX_FUZZY]:
        core = normalized[name]
        for suffix in ("有限责任公司", "股份有限公司", "有限公司", "公司"):
            core = core.removesuffix(suffix)
        if len(core) < 2:
            continue
        similar = Subject.objects.organisations().filter(name__contains=core).only("uscc", "name")
        candidates[name] = [{"code": s.uscc or "", "name": s.name} for s in similar[:5]]
    return exact, candidates


@transaction.atomic
def report_use(
    check: CreditCheck, user: Any, *, outcome: str, note: str = "", document_no: str = ""
) -> CreditCheck:
    """The department reports what it did with a check's answer. That report is the feedback
    of the tasks the check triggered (on-application measures), whatever the outcome; when it
    applied the measures, its matching pending standing tasks for that subject close as
    applied too."""
    department = _department_of(user)
    check = CreditCheck.objects.select_for_update().get(pk=check.pk)
    if check.department_id != department.pk:
        raise NotFound()
    if check.reported_at:
        raise DomainError("check_reported", _("该核查结果已反馈"), status=409)
    if outcome not in FEEDBACK_OUTCOMES:
        raise DomainError("outcome_invalid", _("请选择结果使用情况"), "outcome")
    if outcome == TaskStatus.APPLIED and not document_no.strip():
        raise DomainError("document_required", _("已采取措施的，请填写文书号"), "document_no")
    check.reported_at = timezone.now()
    check.report_outcome = outcome
    check.report_note = note.strip()
    check.document_no = document_no.strip()
    check.save()
    tasks = list(
        SanctionTask.objects.select_for_update().filter(
            credit_check=check, origin=TaskOrigin.CHECK, status=TaskStatus.PENDING
        )
    )
    codes = [m["code"] for m in check.answer.get("measures", [])]
    if outcome == TaskStatus.APPLIED and check.subject_id and codes:
        tasks += SanctionTask.objects.select_for_update().filter(
            case__subject_id=check.subject_id,
            department=department,
            measure__code__in=codes,
            origin=TaskOrigin.ENTRY,
            target=Target.SUBJECT,  # the legal representative's tasks need their own check
            status=TaskStatus.PENDING,
        )
    for task in tasks:
        task.status = outcome
        task.matter_id = check.matter_id
        task.document_no = check.document_no
        task.outcome_note = note.strip() or _("信用核查结果使用反馈：%(o)s") % {
            "o": TaskStatus(outcome).label
        }
        task.fed_back_at = check.reported_at
        task.fed_back_by = audit.current_context().actor_name
        task.credit_check = check
        task.save()
        close_case_if_done(task.case)
    audit.record(
        "check.report",
        obj=check,
        subject=check.identifier,
        after={"outcome": outcome, "tasks_closed": len(tasks)},
    )
    return check
