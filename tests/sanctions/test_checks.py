"""Credit checks (信用核查) on their fast path: the answer is the one the domain querysets
give, every check is recorded and audited exactly once, all reads happen before the write
transaction, and nothing is cached — a revoked token, a deactivated account, a removed
permission, a moved account or a reloaded matter rule applies to the very next check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditplus import bulk
from creditplus.accounts import audit
from creditplus.accounts.choices import Role
from creditplus.accounts.models import ApiToken, AuditEvent, Department, User
from creditplus.accounts.services import issue_token, revoke_token
from creditplus.catalog.models import Matter
from creditplus.catalog.services import upsert_reference
from creditplus.errors import DomainError
from creditplus.evaluation import services as evaluation
from creditplus.evaluation.choices import RunMode
from creditplus.lists.choices import EntryOrigin, EntryStatus
from creditplus.lists.models import ListEntry, ListType
from creditplus.sanctions import checks
from creditplus.sanctions.models import CreditCheck, Measure, SanctionCase
from creditplus.subjects.models import Subject
from creditplus.subjects.pii import lookup_hash, mask_id_number
from tests.conftest import client_for
from tests.factories import make_organisations, valid_uscc
from tests.sanctions.conftest import PROCUREMENT

pytestmark = pytest.mark.django_db

PERSON_ID = "360426199101010071"  # a valid resident ID number
UNKNOWN_USCC = "91310115MA1K3BTP2B"


@pytest.fixture
def czj_key(reference) -> str:
    return issue_token("CZJ", "采购系统").key


def member_of(
    entry: ListEntry, subject: Subject, list_code: str, status: str = EntryStatus.PUBLISHED
) -> ListEntry:
    """A copy of a published entry: ``subject`` is a member of ``list_code`` too (or, with
    another ``status``, was or may become one)."""
    copy = ListEntry.objects.get(pk=entry.pk)
    copy.pk = None
    copy.status = status
    copy.subject = subject
    copy.list_type = ListType.objects.get(code=list_code)
    if copy.list_type.origin == "external":
        copy.origin = EntryOrigin.IMPORTED
        copy.source_key = f"TEST-{list_code}-{subject.pk}"
    copy.save()
    return copy


def expected_answer(subject: Subject | None, matter_code: str = "ZFCG") -> dict:
    """The answer computed with the ORM and the domain querysets — what the fast path must
    give (ListEntry…members(), Measure…in_force(), the active model's grade)."""
    matter = Matter.objects.get(code=matter_code, is_active=True)
    entries = (
        list(
            ListEntry.objects.members()
            .filter(subject=subject)
            .select_related("list_type", "department")
            .order_by("list_type__code", "id")
        )
        if subject
        else []
    )
    measures = {}
    covering = Measure.objects.filter(is_active=True).covering(matter)
    for measure in covering.in_force().prefetch_related("list_types"):
        if {t.pk for t in measure.list_types.all()} & {e.list_type_id for e in entries}:
            measures[measure.code] = {
                "code": measure.code,
                "name": measure.name,
                "kind": measure.kind,
                "legal_basis": measure.basis,
                "trigger": measure.trigger,
            }
    # The lists the matter checks: those of the active measures that cover it (one rule).
    required = set(covering.values_list("list_types__code", flat=True))
    grades = evaluation.current_grades([subject.pk]) if subject else {}
    return {
        "matter": matter.code,
        "lists": [
            {
                "list_type": e.list_type.code,
                "name": e.list_type.name,
                "kind": e.list_type.kind,
                "since": e.decided_on.isoformat() if e.decided_on else None,
                "until": e.publish_until.isoformat() if e.publish_until else None,
                "decision_no": e.decision_no,
                "department": e.department.name,
                "required_by_matter": e.list_type.code in required,
            }
            for e in entries
        ],
        "grade": grades.get(subject.pk) if subject else None,
        "measures": [measures[c] for c in sorted(measures)],
    }


def post_check(key: str, subject: str, matter: str = "ZFCG", purpose: str = "供应商资格审查"):
    return client_for(None).post(
        "/api/v1/checks",
        data=json.dumps({"subject": subject, "matter": matter, "purpose": purpose}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def verify_chain() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)  # raises CommandError on a broken chain
    return out.getvalue()


def test_the_answer_is_the_one_the_domain_querysets_give(published, procurement_officer):
    subject = published.subject
    member_of(published, subject, "SXBZX")  # a second list, imported from the court
    member_of(published, subject, "SSWF", EntryStatus.REMOVED)  # no longer a member
    member_of(published, subject, "ZDGZ", EntryStatus.NOTICED)  # not yet a member
    evaluation.evaluate(mode=RunMode.ALL, as_of=timezone.localdate())  # grades
    person = Subject.objects.create(
        kind="person",
        id_hash=lookup_hash(PERSON_ID),
        id_masked=mask_id_number(PERSON_ID),
        name="张三",
    )
    member_of(published, person, "YZSX")
    clean = Subject.objects.create(kind="legal", uscc=valid_uscc(4242), name="上海清白有限公司")

    cases = [(subject.uscc, subject), (PERSON_ID, person), (clean.uscc, clean)]
    cases.append((UNKNOWN_USCC, None))
    for code, expected_subject in cases:
        for matter in ("ZFCG", "SPXK"):
            check = checks.check_subject(procurement_officer, code, matter, "资格审查")
            assert check.answer == expected_answer(expected_subject, matter), (code, matter)
            assert check.subject_id == (expected_subject.pk if expected_subject else None)
            assert check.hit == bool(check.answer["lists"])
    answer = checks.check_subject(procurement_officer, subject.uscc, "ZFCG", "资格审查").answer
    assert [x["list_type"] for x in answer["lists"]] == ["SXBZX", "YZSX"]
    assert PROCUREMENT in [m["code"] for m in answer["measures"]] and answer["grade"] == "D"

    bulk = checks.check_many(procurement_officer, [c for c, _ in cases], "ZFCG", "投标人审查")
    for (code, expected_subject), row in zip(cases, bulk.rows, strict=True):
        stored = CreditCheck.objects.get(pk=row["check"])
        assert stored.answer == expected_answer(expected_subject), code
        assert {k: row[k] for k in stored.answer} == stored.answer
        assert stored.subject_id == (expected_subject.pk if expected_subject else None)
    assert bulk.rows[1]["subject"] == "3604**********0071"  # never the clear ID


def test_every_check_is_recorded_and_audited_once_with_who_matter_purpose_and_answer(
    published, czj_key
):
    before = AuditEvent.objects.count()
    response = post_check(czj_key, published.subject.uscc, purpose="供应商资格审查 ZB-2026-17")
    assert response.status_code == 200, response.content
    body = response.json()
    check = CreditCheck.objects.select_related("department", "matter").get(pk=body["check"])
    assert check.department.code == "CZJ" and check.token == "采购系统"
    assert check.actor_name == "sys.CZJ.采购系统" and check.matter.code == "ZFCG"
    assert check.purpose == "供应商资格审查 ZB-2026-17" and check.identifier == body["subject"]
    assert check.answer == {k: body[k] for k in ("matter", "lists", "grade", "measures")}
    assert check.hit and check.created_at <= timezone.now()
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.get(action="check.subject", object_id=str(check.pk))
    assert event.object_type == "sanctions.creditcheck" and event.object_repr == check.number
    assert (event.actor_name, event.department, event.token) == (
        "sys.CZJ.采购系统",
        "CZJ",
        "采购系统",
    )
    assert event.request_id == response["X-Request-ID"]
    assert event.subject == published.subject.uscc and event.purpose == check.purpose
    assert event.after == {
        "matter": "ZFCG",
        "hit": True,
        "measures": len(body["measures"]),
        "tasks": [PROCUREMENT],  # the on-application measure's task, written with the check
    }
    assert "审计日志完好" in verify_chain()


def test_a_check_reads_everything_before_it_opens_its_write_transaction(
    published, procurement_officer
):
    checks.check_subject(procurement_officer, published.subject.uscc, "ZFCG", "预热")  # perms
    with CaptureQueriesContext(connection) as captured:
        checks.check_subject(procurement_officer, published.subject.uscc, "ZFCG", "资格审查")
    statements = [q["sql"].split()[0].upper() + " " + q["sql"] for q in captured.captured_queries]
    opened = next(i for i, s in enumerate(statements) if s.startswith(("SAVEPOINT", "BEGIN")))
    reads, write = statements[:opened], statements[opened + 1 :]
    assert len(reads) == 2  # the matter's rules; the subject with its memberships and grade
    assert all(s.startswith("SELECT") for s in reads)
    chain_head(write)
    # The check row and its audit row; then, only because the answer lists an on-application
    # measure (CJ-01), the task it triggers (with its case and audit row), in the same commit.
    assert [s.split()[0] for s in write[:2]] == ["INSERT", "INSERT"]
    assert '"sanctions_creditcheck"' in write[0] and '"accounts_auditevent"' in write[1]
    assert write[-1].startswith("RELEASE")
    check = CreditCheck.objects.latest("id")
    assert check.tasks.get().measure.code == PROCUREMENT

    # A check that triggers no task (a matter none of whose measures covers the list) writes
    # exactly the check row and its audit row, as before.
    with CaptureQueriesContext(connection) as captured:
        checks.check_subject(procurement_officer, published.subject.uscc, "LSTD", "绿色通道")
    statements = [q["sql"].split()[0].upper() + " " + q["sql"] for q in captured.captured_queries]
    opened = next(i for i, s in enumerate(statements) if s.startswith(("SAVEPOINT", "BEGIN")))
    write = statements[opened + 1 :]
    assert len(statements[:opened]) == 2
    chain_head(write)
    assert [s.split()[0] for s in write] == ["INSERT", "INSERT", "RELEASE"]


def chain_head(write: list[str]) -> None:
    """Between the check row and its audit row, the audit chain's head is read (and taken
    out of ``write``). PostgreSQL: the check row's own statement takes the chain's lock and
    returns the head read after it; SQLite: a read of its own (BEGIN IMMEDIATE holds the
    database's write lock already)."""
    if connection.vendor == "postgresql":
        assert write[0].startswith("INSERT") and "accounts_auditevent_locked_head()" in write[0]
    else:
        assert write.pop(1).startswith('SELECT SELECT hash FROM "accounts_auditevent"')


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan cache")
def test_a_checks_prepared_statements_are_planned_once_not_on_every_call(published, czj_key):
    """PostgreSQL plans a prepared statement's first five runs for their parameters, then
    keeps a generic plan unless it looks dearer. A statement it re-plans on every call (the
    subject lookup with ``= ANY`` of a one-element array did) costs a check ~0.3 ms of the
    database's CPU. Through the whole stack, as the departments' systems call it."""

    def plans() -> dict[str, tuple[int, int]]:
        with connection.cursor() as cursor:  # this connection's, earlier tests' ones too
            cursor.execute(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            )
            return {sql: (generic, custom) for sql, generic, custom in cursor.fetchall()}

    before = plans()
    codes = [published.subject.uscc, UNKNOWN_USCC, PERSON_ID]
    for i in range(12):
        assert post_check(czj_key, codes[i % 3]).status_code == 200
    ran = {
        sql: (generic - before.get(sql, (0, 0))[0], custom - before.get(sql, (0, 0))[1])
        for sql, (generic, custom) in plans().items()
        if (generic, custom) != before.get(sql)
    }
    # token; rules; subject lookup (by code, by resident ID); check row; audit row
    assert len(ran) >= 6
    # the lookup by code ran 8 times, the token, rules and rows 12: more than five of them
    # planned for their parameters in this test alone is a statement planned on every call
    replanned = [" ".join(sql.split())[:80] for sql, (_g, custom) in ran.items() if custom > 5]
    assert replanned == []


def test_a_triggered_task_comes_from_what_the_check_read_and_joins_the_latest_membership(
    published, procurement_officer
):
    # The subject is on a second list that also carries the procurement measure, proposed
    # later: the task attaches to that membership's case (the order of ListEntry.objects).
    measure = Measure.objects.get(code=PROCUREMENT)
    other = measure.list_types.exclude(pk=published.list_type_id).order_by("code").first()
    newer = member_of(published, published.subject, other.code)
    ListEntry.objects.filter(pk=newer.pk).update(proposed_at=timezone.now())
    checks.check_subject(procurement_officer, published.subject.uscc, "ZFCG", "预热")
    with CaptureQueriesContext(connection) as captured:
        check = checks.check_subject(procurement_officer, published.subject.uscc, "ZFCG", "审查")
    sql = [q["sql"] for q in captured.captured_queries]
    opened = next(i for i, s in enumerate(sql) if s.split()[0].upper() in ("SAVEPOINT", "BEGIN"))
    # inside the write transaction nothing reads the measure catalog or the memberships again
    assert not [s for s in sql[opened:] if '"sanctions_measure"' in s or '"lists_listentry"' in s]
    task = check.tasks.get()
    assert task.measure == measure and task.case.entry_id == newer.pk


def test_a_failed_audit_append_leaves_no_check_row(published, procurement_officer, monkeypatch):
    def broken(rows, locked_head=None):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "_append", broken)
    before = CreditCheck.objects.count()
    with pytest.raises(RuntimeError):
        checks.check_subject(procurement_officer, published.subject.uscc, "ZFCG", "资格审查")
    with pytest.raises(RuntimeError):
        checks.check_many(procurement_officer, [published.subject.uscc], "ZFCG", "资格审查")
    assert CreditCheck.objects.count() == before


def test_a_revoked_token_is_refused_by_the_next_check(published, czj_key):
    assert post_check(czj_key, published.subject.uscc).status_code == 200
    revoke_token(ApiToken.objects.get(name="采购系统"))
    before = CreditCheck.objects.count()
    refused = post_check(czj_key, published.subject.uscc)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert CreditCheck.objects.count() == before


def test_a_deactivated_system_account_is_refused_by_the_next_check(published, czj_key):
    assert post_check(czj_key, published.subject.uscc).status_code == 200
    User.objects.filter(username="sys.CZJ.采购系统").update(is_active=False)
    assert post_check(czj_key, published.subject.uscc).status_code == 401


def test_a_permission_taken_from_the_role_applies_to_the_next_check(published, czj_key):
    assert post_check(czj_key, published.subject.uscc).status_code == 200
    Group.objects.get(name=Role.DEPT_OFFICER).permissions.remove(
        Permission.objects.get(codename="add_creditcheck", content_type__app_label="sanctions")
    )
    refused = post_check(czj_key, published.subject.uscc)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_a_moved_account_checks_for_its_new_department(published, czj_key):
    User.objects.filter(username="sys.CZJ.采购系统").update(
        department=Department.objects.get(code="SW")
    )
    response = post_check(czj_key, published.subject.uscc)
    assert response.status_code == 200, response.content
    assert CreditCheck.objects.get(pk=response.json()["check"]).department.code == "SW"
    event = AuditEvent.objects.get(action="check.subject", object_id=str(response.json()["check"]))
    assert event.department == "SW"


def test_a_reloaded_matter_rule_applies_to_the_next_check(published, czj_key):
    def answer() -> dict:
        response = post_check(czj_key, published.subject.uscc)
        assert response.status_code == 200, response.content
        return response.json()

    assert PROCUREMENT in [m["code"] for m in answer()["measures"]]
    measure = Measure.objects.get(code=PROCUREMENT)
    version = measure.source_version + 1
    # The measure file's next version names no matter for the measure …
    upsert_reference(Measure, {"code": PROCUREMENT}, version, {}, m2m={"matters": []})
    assert PROCUREMENT not in [m["code"] for m in answer()["measures"]]
    # … then names it again, but the measure is no longer in force.
    upsert_reference(
        Measure,
        {"code": PROCUREMENT},
        version + 1,
        {"status": "not_started"},
        m2m={"matters": [Matter.objects.get(code="ZFCG")]},
    )
    assert PROCUREMENT not in [m["code"] for m in answer()["measures"]]
    upsert_reference(Measure, {"code": PROCUREMENT}, version + 2, {"status": "implemented"})
    assert PROCUREMENT in [m["code"] for m in answer()["measures"]]

    matter = Matter.objects.get(code="ZFCG")
    # The lists a matter checks follow the measures that cover it: once none names YZSX, the
    # next check no longer requires it.
    assert answer()["lists"][0]["required_by_matter"] is True
    for m in Measure.objects.covering(matter):
        upsert_reference(
            Measure,
            {"code": m.code},
            m.source_version + 1,
            {},
            m2m={"list_types": list(m.list_types.exclude(code="YZSX"))},
        )
    assert answer()["lists"][0]["required_by_matter"] is False
    assert answer()["measures"] == []
    upsert_reference(Matter, {"code": "ZFCG"}, matter.source_version + 2, {"is_active": False})
    refused = post_check(czj_key, published.subject.uscc)
    assert refused.status_code == 400 and refused.json()["code"] == "matter_unknown"


def test_a_bulk_check_writes_one_check_row_and_one_audit_event_per_identifier(
    published, procurement_officer
):
    name = published.subject.name
    codes = [published.subject.uscc, UNKNOWN_USCC, published.subject.uscc, name, "不是代码"]
    codes += [PERSON_ID, valid_uscc(77)]
    events = AuditEvent.objects.count()
    with audit.audit_context(audit.context_for_user(procurement_officer)):
        result = checks.check_many(procurement_officer, codes, "ZFCG", "投标人资格审查")
    assert result.checked == len(codes) and result.hits == 3
    ids = [row["check"] for row in result.rows]
    assert len(set(ids)) == len(codes)
    stored = {c.pk: c for c in CreditCheck.objects.filter(batch=result.batch)}
    assert sorted(stored) == sorted(ids)
    for pk, row in zip(ids, result.rows, strict=True):
        assert stored[pk].identifier == row["subject"] and stored[pk].hit == bool(row["lists"])
        assert stored[pk].purpose == "投标人资格审查" and stored[pk].department.code == "CZJ"
        assert stored[pk].actor_name == "czj_officer"
    assert [r["match"] for r in result.rows] == ["code", None, "code", "name", None, None, None]
    assert AuditEvent.objects.count() == events + len(codes)
    audited = AuditEvent.objects.filter(action="check.subject", object_id__in=map(str, ids))
    assert sorted(int(e.object_id) for e in audited) == sorted(ids)
    for event in audited:
        check = stored[int(event.object_id)]
        assert event.subject == check.identifier and event.object_repr == check.number
        tasks = {"tasks": [PROCUREMENT]} if check.hit and check.subject_id else {}
        assert event.after == {"matter": "ZFCG", "hit": check.hit, "batch": result.batch, **tasks}
        assert event.actor_name == "czj_officer" and event.department == "CZJ"
    # The ids taken for the batch are the table's: a later single check follows them.
    later = checks.check_subject(procurement_officer, UNKNOWN_USCC, "ZFCG", "资格审查")
    assert later.pk > max(ids)
    assert f"审计日志完好：{AuditEvent.objects.count()} 行" in verify_chain()


def test_bulk_check_refusals(procurement_officer):
    with pytest.raises(DomainError) as exc:
        checks.check_many(procurement_officer, ["x"] * (checks.MAX_BULK + 1), "ZFCG", "核查")
    assert exc.value.code == "too_many"
    with pytest.raises(DomainError) as exc:
        checks.check_many(procurement_officer, [UNKNOWN_USCC], "NOPE", "核查")
    assert exc.value.code == "matter_unknown"
    assert not CreditCheck.objects.exists()


def test_sqlite_writers_of_checks_queue_for_the_write_lock():
    """Check writers take turns on a lock file beside the database (woken at once when it is
    released, instead of polling SQLite's lock with growing sleeps), across processes."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has no database-wide write lock")
    path = f"{connection.settings_dict['NAME']}-writers.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({path!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(0.5)\n"
            "print(time.time(), flush=True)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    turns: list[float] = []

    def take_turn() -> None:  # a thread: its own connection, outside the test's transaction
        with bulk.sqlite_write_turn():
            turns.append(time.time())

    worker = threading.Thread(target=take_turn)
    try:
        worker.start()
        worker.join(timeout=10)
        released = float(holder.stdout.readline())
        holder.wait(timeout=10)
    finally:
        os.unlink(path)  # the test database goes, so does its lock file
    assert turns and turns[0] >= released


def test_checked_members_without_a_case_get_one_each(published, procurement_officer):
    """Members whose entry has no case yet (a bulk check's several, a single check's one):
    each task goes to a new open case of its entry; the published entry keeps its own."""
    members = [member_of(published, s, "YZSX") for s in make_organisations(3, start=500)]
    result = checks.check_many(
        procurement_officer, [m.subject.uscc for m in members[:2]], "ZFCG", "投标人资格审查"
    )
    assert result.hits == 2
    checks.check_subject(procurement_officer, members[2].subject.uscc, "ZFCG", "资格审查")
    for member in members:
        case = SanctionCase.objects.get(entry=member)
        assert (case.status, case.origin, case.subject_id) == ("open", "auto", member.subject_id)
        assert case.reason == "信用核查触发"
        task = case.tasks.get()
        assert (task.measure.code, task.origin, task.department.code) == (
            PROCUREMENT,
            "check",
            "CZJ",
        )
    assert published.cases.count() == 1
