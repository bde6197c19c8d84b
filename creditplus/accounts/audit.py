"""The tamper-evident audit log: who did or read what, for which purpose.

Transition functions call :func:`record` explicitly inside their transaction (never via
signals, which bulk updates and commands bypass). Who is acting comes from an
:class:`AuditContext` that the request middleware, the API authentication and the
management commands set, so services need not pass the request around.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone

from creditplus.accounts.models import GENESIS_HASH, AuditEvent
from creditplus.bulk import hot_cursor, insert_row, insert_rows, loaded


@dataclass(frozen=True)
class AuditContext:
    """Who is acting, on whose behalf, within which request."""

    actor_id: int | None = None
    actor_name: str = "system"
    department: str = ""
    token: str = ""
    request_id: str = ""
    ip: str = ""


_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "creditplus_audit_context",
    default=AuditContext(),  # noqa: B039 — frozen dataclass, immutable
)


def current_context() -> AuditContext:
    """The acting party for audit rows written now."""
    return _context.get()


def context_for_user(user: Any, **extra: str) -> AuditContext:
    """Build a context for ``user`` (anonymous users are recorded as 公众)."""
    base = current_context()
    if user is None or not getattr(user, "is_authenticated", False):
        return replace(base, actor_id=None, actor_name="anonymous", department="", **extra)
    dept = getattr(user, "department", None)
    return replace(
        base,
        actor_id=user.pk,
        actor_name=user.get_username(),
        department=dept.code if dept else "",
        **extra,
    )


@contextlib.contextmanager
def audit_context(ctx: AuditContext | None = None, **changes: Any) -> Iterator[AuditContext]:
    """Act as ``ctx`` (or the current context with ``changes``) inside the block."""
    new = ctx if ctx is not None else replace(current_context(), **changes)
    token = _context.set(new)
    try:
        yield new
    finally:
        _context.reset(token)


def set_context(ctx: AuditContext) -> None:
    """Replace the context for the rest of this request (used by API authentication)."""
    _context.set(ctx)


# Values a JSON round trip gives back unchanged (bool is an int; floats may be NaN), and
# dates, which come back as their ISO text.
_AS_IS = frozenset({str, int, bool, type(None), date})


def _jsonable(value: Any, same: dict[str, Any] | None = None) -> Any:
    """What a JSON round trip of ``value`` gives back (stored so, the hash recomputes
    identically). ``same``: JSON text → the value given for it before, so that equal values
    of a bulk append share one object (decoded and, in ``canonical_many``, encoded once)."""
    if value is None:
        return None
    if type(value) is dict and all(type(k) is str and type(v) in _AS_IS for k, v in value.items()):
        # A flat dict of text and numbers (most bulk rows' ``after``): the round trip would
        # only sort its keys, and dates would become their ISO text (``default=str``).
        return {k: v.isoformat() if type(v) is date else v for k, v in sorted(value.items())}
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if same is None:
        return json.loads(text)
    if text not in same:
        same[text] = json.loads(text)
    return same[text]


def _head() -> str:
    """The newest row's hash."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with hot_cursor() as cursor:
        cursor.execute(f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row else GENESIS_HASH


# PostgreSQL: the chain's lock and then its head, in one call (migration accounts.0005).
_LOCKED_HEAD = "accounts_auditevent_locked_head()"


def locked_head_sql() -> str | None:
    """The SQL expression that takes the chain's lock and returns its head — for a hot write
    to return from its own statement and pass to ``record(locked_head=...)`` — or None:
    SQLite, or a PostgreSQL database without the function yet (a backup from before
    migration accounts.0005 being restored, or code updated before ``migrate``). Asked once
    per connection."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return None
    db.ensure_connection()
    known = getattr(db, "_creditplus_locked_head", None)
    if known is None or known[0] is not db.connection:
        with hot_cursor() as cursor:
            cursor.execute(f"SELECT to_regprocedure('{_LOCKED_HEAD}') IS NOT NULL")
            known = db._creditplus_locked_head = (db.connection, cursor.fetchone()[0])
    return _LOCKED_HEAD if known[1] else None


def _locked_head() -> str:
    """The newest row's hash, read under the chain's lock (held until the transaction ends).
    Appends must be serialised or two rows would claim the same predecessor. PostgreSQL: a
    transaction-scoped advisory lock, then the read on a snapshot taken after it — in one
    call where the database has the function. SQLite: transactions are BEGIN IMMEDIATE
    (settings), so the writer already holds the database's only write lock."""
    if connection.vendor != "postgresql":
        return _head()
    sql = locked_head_sql()
    with hot_cursor() as cursor:
        if sql is None:
            cursor.execute("SELECT pg_advisory_xact_lock(7140911)")  # the function's own key
            return _head()
        cursor.execute(f"SELECT {sql}")
        head = cursor.fetchone()[0]
    return head or GENESIS_HASH


def head() -> str:
    """The audit chain's current head hash (what a backup manifest or a monitor records)."""
    return _head()


def _row(
    ctx: AuditContext,
    action: str,
    *,
    object_type: str,
    object_id: str,
    object_repr: str,
    subject: str,
    purpose: str,
    before: Any,
    after: Any,
) -> dict[str, Any]:
    """One audit row's values (field name → value as the database gives it back: ``before``
    and ``after`` already through :func:`_jsonable`); its time and hashes are set when it is
    appended."""
    return {
        "actor_id": ctx.actor_id,
        "actor_name": ctx.actor_name[:150],
        "department": ctx.department,
        "token": ctx.token,
        "request_id": ctx.request_id,
        "ip": ctx.ip,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr[:200],
        "subject": subject,
        "purpose": purpose[:500],
        "before": before,
        "after": after,
    }


def _append(rows: list[dict[str, Any]], locked_head: str | None = None) -> None:
    """Chain ``rows`` to the head and insert them: one lock, one read of the head, then one
    plain INSERT (one row) or ``insert_rows`` (COPY on PostgreSQL) — no model instances. Ids
    rise in insertion order on both databases, so the chain's order is the id order that
    ``verify`` walks; the time is taken under the lock, so it rises in that order too."""
    # No savepoint: an audit failure must fail the change it describes, as a whole.
    with transaction.atomic(savepoint=False):
        prev = _locked_head() if locked_head is None else locked_head or GENESIS_HASH
        now = timezone.now()
        for row in rows:
            row["created_at"] = now
        key = settings.AUDIT_KEY.encode()
        for row, content in zip(rows, AuditEvent.canonical_many(rows), strict=True):
            row["prev_hash"] = prev
            row["hash"] = prev = AuditEvent.chain_hash(prev, content, key)
        if len(rows) == 1:
            rows[0]["id"] = insert_row(AuditEvent, rows[0])
        else:
            insert_rows(AuditEvent, rows)


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    subject: str = "",
    purpose: str = "",
    before: Any = None,
    after: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    locked_head: str | None = None,
) -> AuditEvent:
    """Append one audit row for ``action`` (e.g. ``"token.issue"``, ``"audit.view"``).

    Call it inside the transaction of the change it describes, so both commit together.
    ``locked_head``: what :func:`locked_head_sql` returned from the statement just before,
    in this transaction (a hot write's own statement took the chain's lock and read its
    head; nothing appended since), "" for an empty chain.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    row = _row(
        current_context(),
        action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        subject=subject,
        purpose=purpose,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    _append([row], locked_head)
    return loaded(AuditEvent, **row)


@dataclass(frozen=True)
class Change:
    """One object's change, for :func:`record_many`: the object itself, or (for thousands of
    rows written without instances) its ``object_type``, ``object_id`` and ``object_repr``."""

    obj: models.Model | None = None
    subject: str = ""
    after: Any = None
    before: Any = None
    purpose: str = ""
    object_type: str = ""
    object_id: str = ""
    object_repr: str = ""


def record_many(action: str, changes: list[Change]) -> int:
    """Append one audit row per change in a single locked write (bulk transitions such as
    imported list entries, bulk credit checks); the rows chain exactly as if :func:`record`
    were called in turn."""
    if not changes:
        return 0
    ctx = current_context()
    shared: dict[int, Any] = {}  # one JSON text per distinct before/after object
    same: dict[str, Any] = {}  # one decoded value per distinct JSON text

    def jsonable(value: Any) -> Any:
        if value is None:
            return None
        if id(value) not in shared:
            shared[id(value)] = _jsonable(value, same)
        return shared[id(value)]

    rows = [
        _row(
            ctx,
            action,
            object_type=change.object_type or change.obj._meta.label_lower,
            object_id=change.object_id or str(change.obj.pk),
            object_repr=change.object_repr or str(change.obj)[:200],
            subject=change.subject,
            purpose=change.purpose,
            before=jsonable(change.before),
            after=jsonable(change.after),
        )
        for change in changes
    ]
    _append(rows)
    return len(rows)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain check: ``bad_id`` is the first row that fails, if any."""

    checked: int
    head_hash: str
    bad_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_id is None


def verify(chunk_size: int = 5000) -> VerifyResult:
    """Walk the chain in id order and report the first altered, inserted or deleted row."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size):
        if event.hash != event.compute_hash():
            return VerifyResult(
                checked,
                expected_prev,
                event.pk,
                "内容与哈希不符（该行被篡改或被插入）",
            )
        if event.prev_hash != expected_prev:
            return VerifyResult(
                checked,
                expected_prev,
                event.pk,
                "与前一行的链接断开（此前有行被删除或插入）",
            )
        expected_prev = event.hash
        checked += 1
    return VerifyResult(checked, expected_prev)
