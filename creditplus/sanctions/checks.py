"""信用核查: a department checks a subject while handling a matter of the application list;
the answer (lists, grade, measures that apply to the matter) is recorded and audited, and
the department later reports what it did with it, which closes the matching tasks."""

from __future__ import annotations

import secrets
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.permissions import require_perm
from creditplus.catalog.models import Matter
from creditplus.errors import DomainError, Forbidden, NotFound
from creditplus.evaluation.services import current_grades
from creditplus.lists.models import ListEntry
from creditplus.sanctions.choices import FEEDBACK_OUTCOMES, Target, TaskStatus
from creditplus.sanctions.models import CreditCheck, Measure, SanctionTask
from creditplus.sanctions.services import close_case_if_done
from creditplus.subjects.identifiers import check_resident_id, resident_id_checks, uscc_checks
from creditplus.subjects.models import Subject
from creditplus.subjects.pii import lookup_hash, mask_id_number

MAX_BULK = 10_000


@dataclass(frozen=True)
class MatterRules:
    """What a check for one matter looks at, precomputed once per call."""

    matter: Matter
    list_codes: frozenset[str]
    measures_by_type: dict[int, list[Measure]]


def _matter(code: str) -> Matter:
    matter = Matter.objects.filter(code=code.strip().upper(), is_active=True).first()
    if matter is None:
        raise DomainError(
            "matter_unknown", _("应用清单中没有该事项：%(c)s") % {"c": code}, "matter"
        )
    return matter


def _rules(matter: Matter) -> MatterRules:
    measures_by_type: dict[int, list[Measure]] = defaultdict(list)
    for measure in Measure.objects.in_force().filter(matters=matter).prefetch_related("list_types"):
        for list_type in measure.list_types.all():
            measures_by_type[list_type.pk].append(measure)
    return MatterRules(
        matter=matter,
        list_codes=frozenset(matter.checks.get("lists", [])),
        measures_by_type=dict(measures_by_type),
    )


def _answer(rules: MatterRules, entries: list[ListEntry], grade: str | None) -> dict[str, Any]:
    lists = [
        {
            "list_type": e.list_type.code,
            "name": e.list_type.name,
            "kind": e.list_type.kind,
            "since": e.decided_on.isoformat() if e.decided_on else None,
            "until": e.publish_until.isoformat() if e.publish_until else None,
            "decision_no": e.decision_no,
            "department": e.department.name,
            "required_by_matter": e.list_type.code in rules.list_codes,
        }
        for e in entries
    ]
    seen: dict[str, dict[str, str]] = {}
    for e in entries:
        for m in rules.measures_by_type.get(e.list_type_id, []):
            seen.setdefault(
                m.code, {"code": m.code, "name": m.name, "kind": m.kind, "legal_basis": m.basis}
            )
    return {
        "matter": rules.matter.code,
        "lists": lists,
        "grade": grade,  # of the active evaluation model; None when not scored (persons)
        "measures": sorted(seen.values(), key=lambda m: m["code"]),
    }


def _department_of(user: Any) -> Any:
    require_perm(user, "sanctions.add_creditcheck")
    if not user.department_id:
        raise Forbidden(_("信用核查须以部门身份进行"))
    return user.department


def _identify(code: str) -> tuple[str, str, str]:
    """(kind, lookup value, identifier to store): never the clear resident ID."""
    code = code.strip().upper()
    if len(code) == 18 and check_resident_id(code).ok:
        return "person", lookup_hash(code), mask_id_number(code)
    return "uscc", code, code[:32]


@transaction.atomic
def check_subject(user: Any, code: str, matter_code: str, purpose: str) -> CreditCheck:
    """One credit check, recorded and audited. An unknown subject is answered (no lists)."""
    department = _department_of(user)
    if not purpose.strip():
        raise DomainError("purpose_required", _("请填写核查用途"), "purpose")
    if not code.strip():
        raise DomainError("subject_required", _("请填写统一社会信用代码或身份证号码"), "subject")
    rules = _rules(_matter(matter_code))
    kind, value, identifier = _identify(code)
    subject = (
        Subject.objects.filter(id_hash=value)
        if kind == "person"
        else Subject.objects.filter(uscc=value)
    ).first()
    entries = (
        list(
            ListEntry.objects.members()
            .filter(subject=subject)
            .select_related("list_type", "department")
            .order_by("list_type__code")
        )
        if subject
        else []
    )
    grade = current_grades([subject.pk]).get(subject.pk) if subject else None
    answer = _answer(rules, entries, grade)
    ctx = audit.current_context()
    check = CreditCheck.objects.create(
        department=department,
        actor_name=ctx.actor_name,
        token=ctx.token,
        subject=subject,
        identifier=identifier,
        matter=rules.matter,
        purpose=purpose.strip()[:300],
        answer=answer,
        hit=bool(entries),
        created_at=timezone.now(),
    )
    audit.record(
        "check.subject",
        obj=check,
        subject=subject.code if subject else identifier,
        purpose=purpose,
        after={"matter": rules.matter.code, "hit": check.hit, "measures": len(answer["measures"])},
    )
    return check


@dataclass
class BulkResult:
    batch: str
    checked: int
    hits: int
    rows: list[dict[str, Any]]


@transaction.atomic
def check_many(user: Any, codes: list[str], matter_code: str, purpose: str) -> BulkResult:
    """批量核查: up to 10,000 identifiers for one matter (e.g. all bidders), vectorized: one
    query per identifier kind, one insert of all check rows, one audit row per check."""
    department = _department_of(user)
    if not purpose.strip():
        raise DomainError("purpose_required", _("请填写核查用途"), "purpose")
    if not codes:
        raise DomainError("subject_required", _("请提供要核查的代码"), "subjects")
    if len(codes) > MAX_BULK:
        raise DomainError("too_many", _("一次最多核查 %(n)d 个主体") % {"n": MAX_BULK}, "subjects")
    rules = _rules(_matter(matter_code))
    originals = [c.strip() for c in codes]
    raw = pl.Series("code", [c.upper() for c in originals], dtype=pl.String)
    people = resident_id_checks(raw, today=timezone.localdate())
    organisations = uscc_checks(raw)
    frame = pl.DataFrame(
        {
            "code": raw,
            "is_person": people["error"].is_null() & people["value"].is_not_null(),
            "is_uscc": organisations["error"].is_null() & organisations["value"].is_not_null(),
        }
    )
    persons = frame.filter(pl.col("is_person"))["code"].to_list()
    hashes = {c: lookup_hash(c) for c in persons}
    usccs = frame.filter(pl.col("is_uscc"))["code"].to_list()
    by_code: dict[str, Subject] = {}
    for i in range(0, len(usccs), 900):
        for s in Subject.objects.filter(uscc__in=usccs[i : i + 900]).only("id", "uscc", "name"):
            by_code[s.uscc] = s
    hash_values = list(hashes.values())
    by_hash: dict[str, Subject] = {}
    for i in range(0, len(hash_values), 900):
        for s in Subject.objects.filter(id_hash__in=hash_values[i : i + 900]).only(
            "id", "id_hash", "id_masked", "name"
        ):
            by_hash[s.id_hash] = s
    found = {c: (by_hash.get(hashes[c]) if c in hashes else by_code.get(c)) for c in frame["code"]}
    # Inputs that are no valid code are taken as names (old records without codes).
    names = [
        o
        for o, person, org in zip(originals, frame["is_person"], frame["is_uscc"], strict=True)
        if not (person or org)
    ]
    by_name, candidates = match_names(names)
    for name, subject in by_name.items():
        found[name.upper()] = subject
    subject_ids = list({s.pk for s in found.values() if s})
    entries: dict[int, list[ListEntry]] = defaultdict(list)
    for i in range(0, len(subject_ids), 900):
        for e in (
            ListEntry.objects.members()
            .filter(subject_id__in=subject_ids[i : i + 900])
            .select_related("list_type", "department")
            .order_by("list_type__code")
        ):
            entries[e.subject_id].append(e)
    grades = current_grades(subject_ids)
    batch = f"PL{timezone.now():%Y%m%d%H%M%S}{secrets.token_hex(3)}"
    ctx = audit.current_context()
    now = timezone.now()
    checks, rows = [], []
    rows_in = zip(originals, frame.select("code", "is_person", "is_uscc").iter_rows(), strict=True)
    for original, (code, valid_person, valid_uscc) in rows_in:
        subject = found.get(code)
        identifier = mask_id_number(code) if valid_person else code[:32]
        hits = entries.get(subject.pk, []) if subject else []
        answer = _answer(rules, hits, grades.get(subject.pk) if subject else None)
        checks.append(
            CreditCheck(
                department=department,
                actor_name=ctx.actor_name,
                token=ctx.token,
                subject=subject,
                identifier=identifier,
                matter=rules.matter,
                purpose=purpose.strip()[:300],
                batch=batch,
                answer=answer,
                hit=bool(hits),
                created_at=now,
            )
        )
        rows.append(
            {
                "subject": identifier,
                "valid": bool(valid_person or valid_uscc),
                "found": subject is not None,
                "match": (("code" if valid_person or valid_uscc else "name") if subject else None),
                "name": subject.name if subject and not valid_person else "",
                # Similar names for a person to confirm; never applied automatically.
                "candidates": candidates.get(original, []),
                **answer,
            }
        )
    checks = CreditCheck.objects.bulk_create(checks, batch_size=1000)
    audit.record_many(
        "check.subject",
        [
            audit.Change(
                obj=c,
                subject=c.identifier,
                purpose=purpose,
                after={"matter": rules.matter.code, "hit": c.hit, "batch": batch},
            )
            for c in checks
        ],
    )
    for check, row in zip(checks, rows, strict=True):
        row["check"] = check.pk
    return BulkResult(batch=batch, checked=len(checks), hits=sum(c.hit for c in checks), rows=rows)


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
    """The department reports what it did with a check's answer. When it applied the
    measures, its matching pending tasks for that subject are closed as applied."""
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
    closed = 0
    codes = [m["code"] for m in check.answer.get("measures", [])]
    if outcome == TaskStatus.APPLIED and check.subject_id and codes:
        tasks = SanctionTask.objects.select_for_update().filter(
            case__subject_id=check.subject_id,
            department=department,
            measure__code__in=codes,
            target=Target.SUBJECT,  # the legal representative's tasks need their own check
            status=TaskStatus.PENDING,
        )
        for task in tasks:
            task.status = TaskStatus.APPLIED
            task.matter_id = check.matter_id
            task.document_no = check.document_no
            task.outcome_note = note.strip() or _("信用核查后实施")
            task.fed_back_at = check.reported_at
            task.fed_back_by = audit.current_context().actor_name
            task.credit_check = check
            task.save()
            closed += 1
            close_case_if_done(task.case)
    audit.record(
        "check.report",
        obj=check,
        subject=check.identifier,
        after={"outcome": outcome, "tasks_closed": closed},
    )
    return check
