"""The audit log is append-only and its HMAC chain reveals altered, inserted and deleted rows."""

from __future__ import annotations

import contextlib
import json
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from creditplus.accounts import audit
from creditplus.accounts.models import AuditEvent
from tests.server import run_python, throwaway_database

pytestmark = pytest.mark.django_db

SQLITE_TRIGGERS = {
    "accounts_auditevent_no_update": "UPDATE",
    "accounts_auditevent_no_delete": "DELETE",
}


@contextlib.contextmanager
def append_only_triggers_disabled():
    """Act as an intruder with owner rights on the table (the test transaction undoes it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
        else:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER USER")
        else:
            for name, op in SQLITE_TRIGGERS.items():
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE {op} ON accounts_auditevent "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only'); END"
                )


def leave_id_gap(size: int = 10) -> None:
    """Make the next audit id jump, as PostgreSQL does after rolled-back inserts."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('accounts_auditevent', 'id'), "
                "(SELECT max(id) FROM accounts_auditevent) + %s)",
                [size],
            )
        else:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = 'accounts_auditevent'",
                [size],
            )


def write_events(n: int) -> list[AuditEvent]:
    return [
        audit.record(
            "test.write", object_type="test", object_id=str(i), after={"n": i, "名称": "测试"}
        )
        for i in range(n)
    ]


def verify_fails_at(event_id: int) -> str:
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify")
    message = str(excinfo.value)
    assert f"id={event_id}" in message
    return message


def test_intact_chain_verifies():
    events = write_events(5)
    call_command("audit", "verify")
    result = audit.verify()
    assert result.ok
    assert result.head_hash == events[-1].hash
    assert events[1].prev_hash == events[0].hash


def test_each_write_links_to_the_previous_row():
    first, second = write_events(2)
    assert second.prev_hash == first.hash
    assert second.hash == second.compute_hash()


def test_an_altered_row_is_detected():
    events = write_events(5)
    target = events[2]
    with append_only_triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE accounts_auditevent SET purpose = %s WHERE id = %s", ["改写", target.pk]
        )
    message = verify_fails_at(target.pk)
    assert "篡改" in message


def test_a_deleted_row_is_detected_at_its_successor():
    events = write_events(5)
    with append_only_triggers_disabled() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [events[2].pk])
    message = verify_fails_at(events[3].pk)
    assert "删除" in message


def test_a_row_inserted_in_the_middle_is_detected():
    before = write_events(3)
    leave_id_gap()
    after = write_events(2)
    forged_id = before[-1].pk + 1
    assert forged_id < after[0].pk
    # The intruder copies a real row's link but cannot compute the keyed hash.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_auditevent (id, created_at, actor_id, actor_name, department, "
            "token, request_id, ip, action, object_type, object_id, object_repr, subject, purpose, "
            "before, after, prev_hash, hash) VALUES (%s, %s, NULL, 'intruder', '', '', '', '', "
            "'test.write', 'test', 'x', '', '', '', NULL, %s, %s, %s)",
            [forged_id, before[-1].created_at, json.dumps({"n": 99}), before[-1].hash, "f" * 64],
        )
    verify_fails_at(forged_id)


def test_a_truncated_tail_is_detected_against_a_recorded_head():
    events = write_events(3)
    head = audit.verify().head_hash
    call_command("audit", "verify", "--head", head)
    with append_only_triggers_disabled() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [events[-1].pk])
    with pytest.raises(CommandError, match="链头哈希"):
        call_command("audit", "verify", "--head", head)


@pytest.mark.parametrize(
    "statement", ["UPDATE accounts_auditevent SET purpose = 'x'", "DELETE FROM accounts_auditevent"]
)
def test_the_database_refuses_update_and_delete(statement):
    write_events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)


def test_the_orm_refuses_update_and_delete():
    (event,) = write_events(1)
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(purpose="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_the_context_names_the_actor_and_request():
    with audit.audit_context(actor_name="tester", department="SCJG", request_id="req-12345678"):
        event = audit.record("test.write", purpose="核查")
    assert (event.actor_name, event.department, event.request_id, event.purpose) == (
        "tester",
        "SCJG",
        "req-12345678",
        "核查",
    )


def test_postgresql_refuses_truncate():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    write_events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE accounts_auditevent")


def test_bulk_appends_chain_like_single_ones(reference):
    from creditplus.accounts.models import Department

    audit.record("test.single", obj=Department.objects.get(code="SW"))
    departments = list(Department.objects.order_by("code")[:5])
    with audit.audit_context(actor_name="cli:test"):
        n = audit.record_many(
            "test.bulk", [audit.Change(obj=d, after={"code": d.code}) for d in departments]
        )
    audit.record("test.single", obj=Department.objects.get(code="FY"))
    assert n == 5
    rows = list(AuditEvent.objects.filter(action="test.bulk").order_by("id"))
    assert [r.object_id for r in rows] == [str(d.pk) for d in departments]
    assert {r.actor_name for r in rows} == {"cli:test"}
    assert audit.verify().ok


def test_appended_rows_hash_as_the_model_recomputes_them_from_the_database(reference):
    """The append paths hash rows without model instances (one plain INSERT, or COPY for
    many): what they store is what the model recomputes from the stored row."""
    from datetime import date
    from decimal import Decimal

    from creditplus.accounts.models import Department

    shared = {"名称": "测试", "n": 1, "on": date(2026, 11, 27), "amount": Decimal("1.50")}
    shared["nested"] = [1, None, True, {"b": 2, "a": 'x,"y"\n'}]
    context = {
        "actor_id": 7,
        "actor_name": "张三",
        "department": "SCJG",
        "token": "采购系统",
        "request_id": "req-abcdefgh",
        "ip": "127.0.0.1",
    }
    with audit.audit_context(**context):
        single = audit.record(
            "test.single",
            obj=Department.objects.get(code="SW"),
            subject="91310115MA1K3BTP2B",
            purpose="核查" * 300,
            before={"x": 1},
            after=shared,
        )
        changes = [
            audit.Change(
                object_type="test",
                object_id=str(i),
                object_repr=f"#{i}",
                subject="s",
                after=shared,
                before=None if i % 2 else {"i": i},
            )
            for i in range(5)
        ]
        changes.append(audit.Change(obj=Department.objects.get(code="FY"), after={"k": "v"}))
        assert audit.record_many("test.bulk", changes) == 6
    stored = AuditEvent.objects.get(pk=single.pk)
    assert stored.hash == single.hash == stored.compute_hash()
    assert stored.purpose == "核查" * 250 and stored.object_repr == "区税务局"
    rows = list(AuditEvent.objects.filter(action__startswith="test.").order_by("id"))
    assert [r.action for r in rows] == ["test.single"] + ["test.bulk"] * 6
    assert all(r.hash == r.compute_hash() for r in rows)
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    assert (
        rows[1].after
        == rows[0].after
        == {
            "名称": "测试",
            "n": 1,
            "on": "2026-11-27",
            "amount": "1.50",
            "nested": [1, None, True, {"a": 'x,"y"\n', "b": 2}],
        }
    )
    assert rows[2].before is None and rows[1].before == {"i": 0}
    assert {(r.actor_id, r.actor_name, r.department, r.token) for r in rows} == {
        (7, "张三", "SCJG", "采购系统")
    }
    assert rows[-1].object_type == "accounts.department" and rows[-1].object_repr == "区人民法院"
    assert audit.verify().ok
    # the bulk path's serialisation is the model's, value for value
    values = [{n: getattr(r, n) for n in AuditEvent.HASHED_FIELDS} for r in rows]
    values.append({**values[0], "after": {"z": [1.5, "é\u2028"], "a": {"y": None, "b": "\\"}}})
    assert AuditEvent.canonical_many(values) == [AuditEvent.canonical(v) for v in values]


def test_a_value_shared_by_every_row_is_encoded_as_each_row_alone_would_be(reference):
    """``canonical_many`` writes a value all rows share into its template once: braces and
    quotes in it must come out as they are."""
    from datetime import UTC, datetime

    shared = {"note": '{"}{x}', "n": [1, {"b": None}]}
    at = datetime(2026, 12, 6, 1, 2, 3, 4, tzinfo=UTC)
    rows = [
        {name: "" for name in AuditEvent.HASHED_FIELDS}
        | {"created_at": at, "actor_id": None, "after": shared, "before": None}
        | {"object_id": str(i), "subject": "{}" * i}
        for i in range(3)
    ]
    assert AuditEvent.canonical_many(rows) == [AuditEvent.canonical(r) for r in rows]
    assert AuditEvent.canonical_many([]) == []


@given(
    st.dictionaries(
        st.text(max_size=4),
        st.one_of(st.text(max_size=4), st.integers(), st.booleans(), st.none(), st.dates()),
        max_size=6,
    )
)
def test_a_flat_value_is_taken_as_its_json_round_trip_gives_it(value):
    """Bulk appends take flat dicts without a JSON round trip: same values, same key order."""
    expected = json.loads(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))
    taken = audit._jsonable(value)
    assert taken == expected and list(taken) == list(expected)


@pytest.mark.slow
def test_concurrent_appends_from_several_connections_form_one_chain(tmp_path):
    """Four connections append at once, single rows and batches, on a committed database
    (tests/accounts/concurrent_appends.py): every row has a predecessor of its own. On
    PostgreSQL the head is read after the chain's lock is granted, in the same call; a head
    read from a snapshot older than the lock would fork the chain."""
    with throwaway_database(tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url, "CREDITPLUS_VAR_DIR": str(tmp_path)}
        run_python(env, "-m", "creditplus", "migrate", "--noinput", "-v0")
        out = run_python(env, "-m", "tests.accounts.concurrent_appends")
    result = json.loads(out.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["rows"] == 4 * (20 + 5 * 3)
    assert result["distinct_predecessors"] == result["rows"]
    assert result["verified"]


def test_postgresql_without_the_head_function_takes_the_lock_then_reads_the_head():
    """A database restored from a backup taken before migration accounts.0005 (or served by
    code updated before ``migrate``) has no head function: appends still take the chain's
    lock and then read the head, in two statements, as before."""
    if connection.vendor != "postgresql":
        pytest.skip("the function is PostgreSQL's")
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.test.utils import CaptureQueriesContext

    def forget() -> None:  # what this connection learnt about the function
        vars(connections[DEFAULT_DB_ALIAS]).pop("_creditplus_locked_head", None)

    write_events(1)
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("DROP FUNCTION accounts_auditevent_locked_head()")
    forget()
    try:
        assert audit.locked_head_sql() is None
        with CaptureQueriesContext(connection) as captured:
            write_events(2)
        statements = [q["sql"] for q in captured.captured_queries]
        assert sum("pg_advisory_xact_lock(7140911)" in s for s in statements) == 2
        assert not any(s.startswith("SELECT accounts_auditevent_locked_head") for s in statements)
        assert audit.verify().ok
    finally:
        forget()
