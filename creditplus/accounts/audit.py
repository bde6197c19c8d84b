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
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from creditplus.accounts.models import GENESIS_HASH, AuditEvent


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


def _jsonable(value: Any) -> Any:
    # Store exactly what a JSON round trip gives back, so the hash recomputes identically.
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))


def _lock_chain() -> None:
    # Appends must be serialised or two rows would claim the same predecessor. PostgreSQL:
    # a transaction-scoped advisory lock. SQLite: transactions are BEGIN IMMEDIATE
    # (settings), so the writer already holds the database's only write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7140911)")


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
) -> AuditEvent:
    """Append one audit row for ``action`` (e.g. ``"token.issue"``, ``"audit.view"``).

    Call it inside the transaction of the change it describes, so both commit together.
    """
    ctx = current_context()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    with transaction.atomic():
        _lock_chain()
        prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            created_at=timezone.now(),
            actor_id=ctx.actor_id,
            actor_name=ctx.actor_name[:150],
            department=ctx.department,
            token=ctx.token,
            request_id=ctx.request_id,
            ip=ctx.ip,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:200],
            subject=subject,
            purpose=purpose[:500],
            before=_jsonable(before),
            after=_jsonable(after),
            prev_hash=prev or GENESIS_HASH,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class Change:
    """One object's change, for :func:`record_many`."""

    obj: models.Model
    subject: str = ""
    after: Any = None
    before: Any = None
    purpose: str = ""


def record_many(action: str, changes: list[Change]) -> int:
    """Append one audit row per change in a single locked write (bulk transitions such as
    imported list entries); the rows chain exactly as if :func:`record` were called in turn."""
    if not changes:
        return 0
    ctx = current_context()
    with transaction.atomic():
        _lock_chain()
        prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev = prev or GENESIS_HASH
        now = timezone.now()
        rows = []
        for change in changes:
            event = AuditEvent(
                created_at=now,
                actor_id=ctx.actor_id,
                actor_name=ctx.actor_name[:150],
                department=ctx.department,
                token=ctx.token,
                request_id=ctx.request_id,
                ip=ctx.ip,
                action=action,
                object_type=change.obj._meta.label_lower,
                object_id=str(change.obj.pk),
                object_repr=str(change.obj)[:200],
                subject=change.subject,
                purpose=change.purpose[:500],
                before=_jsonable(change.before),
                after=_jsonable(change.after),
                prev_hash=prev,
            )
            event.hash = prev = event.compute_hash()
            rows.append(event)
        AuditEvent.objects.bulk_create(rows, batch_size=500)
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
