"""Consumers of behavior events (lists, evaluation, monitoring…), without importing them.

`records` is the backbone and must not import the apps that use it. Those apps register a
function here at start-up; after each batch commits, and again whenever their maintenance
commands run, every consumer reads the events after its own cursor. A crash between the two
loses nothing: the cursor only advances when the consumer has finished.

Event ids come from a sequence partway through the writing transaction, so on PostgreSQL a
batch that commits later may hold lower ids than one that committed earlier; a cursor on
the id alone would step over them for good. Each event therefore carries the id of the
transaction that wrote it (``CreditEvent.tx``) and consumers read in (tx, id) order, only
below the oldest transaction of this database that is still running: every event below
that horizon is committed (or rolled back) and no new one can appear there, because a new
transaction always gets a higher id. We chose this over serialising event writers with a
lock held to commit: a big batch would then block every other department's upload for
minutes, while the horizon only delays what consumers see. On SQLite writers are
serialised by the database (BEGIN IMMEDIATE), ids follow commit order and ``tx`` is 0.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from creditplus.records.models import ConsumerCursor, CreditEvent

logger = logging.getLogger(__name__)


class EventWindow(NamedTuple):
    """The events a consumer is handed at once: ``size`` events from ``first`` to ``last``
    (each a (tx, id) pair) in (tx, id) order. Bounds, not ids: a bulk load's backlog is
    millions of events, and :func:`in_window` selects them from the bounds alone."""

    first: tuple[int, int]
    last: tuple[int, int]
    size: int


Consumer = Callable[[EventWindow], None]
_registry: dict[str, Consumer] = {}
BATCH = 10_000
# A bulk load's backlog is read in windows this large. Each window's decisions re-read the
# whole history of the subjects it touches, and a load's files scatter a subject's events
# over many windows: fewer, larger windows read that history fewer times (docs/consumers.md).
# On SQLite a window holds the write lock while it is decided (~10 s at Pudong scale).
BULK_BATCH = 500_000


def register(name: str, consumer: Consumer) -> None:
    """Register ``consumer`` (called with windows of new events) under ``name``."""
    _registry[name] = consumer


def unregister(name: str) -> None:
    _registry.pop(name, None)


def run(name: str, batch: int = BATCH) -> int:
    """Feed consumer ``name`` the events after its cursor, ``batch`` events per call and
    transaction; returns how many it processed."""
    consumer = _registry[name]
    total = 0
    while True:
        with transaction.atomic():
            cursor, _ = ConsumerCursor.objects.select_for_update().get_or_create(name=name)
            window = _next_window(cursor.last_tx, cursor.last_event_id, batch)
            if window is None:
                return total
            with _without_cyclic_gc():
                consumer(window)
            cursor.last_tx, cursor.last_event_id = window.last
            cursor.save(update_fields=["last_tx", "last_event_id", "updated_at"])
        total += window.size


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Python's cyclic garbage collector off while a window is decided: a window builds
    hundreds of thousands of instances and rows, and each full collection walks all of them
    again (2.5 of the lists consumer's 12.6 CPU s at 30,000 subjects, 18 full collections).
    Reference counting still frees them; what forms cycles waits for the collector to be
    back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _next_window(last_tx: int, last_id: int, batch: int) -> EventWindow | None:
    """The next ``batch`` committed events after the cursor, by their bounds: a row or two
    read at an offset per range (and a count where fewer are left), where reading the ids
    took 0.11 s per 250,000 events (16 M rows for the two consumers of a Pudong-scale
    load)."""
    committed = _committed()
    first: tuple[int, int] | None = None
    last, size = (last_tx, last_id), 0
    for unread in _after(last_tx, last_id):
        bounds = unread.filter(committed).values_list("tx", "pk")
        wanted = batch - size
        # A full window needs only the row at its end: counting first cost PostgreSQL
        # 72 ms a window at Pudong scale, the ordered read at the offset 20 ms.
        end = list(bounds[wanted - 1 : wanted])
        found = wanted if end else bounds.order_by().values("pk")[:wanted].count()
        if not found:
            continue
        first = first or bounds[0]
        last, size = end[0] if end else bounds[found - 1], size + found
        if size == batch:
            break
    return EventWindow(first, last, size) if first else None


def _after(last_tx: int, last_id: int) -> tuple[QuerySet[CreditEvent], QuerySet[CreditEvent]]:
    """The events after (``last_tx``, ``last_id``) in (tx, id) order, as two ranges of the
    (tx, id) index read in turn: the rest of the cursor's transaction, then the later ones.
    As one condition (``tx > t OR (tx = t AND id > i)``) SQLite walked every event of the
    transaction from its first (0.39 s per read at Pudong scale, where all events have tx 0)."""
    events = CreditEvent.objects.order_by("tx", "pk")
    return events.filter(tx=last_tx, pk__gt=last_id), events.filter(tx__gt=last_tx)


def in_window(window: EventWindow) -> Q:
    """Exactly the events of a consumer's window, as ranges of the (tx, id) index. Its id
    range alone is not enough on PostgreSQL, where a later transaction's events may hold ids
    inside it (they belong to a later window, and would be handled twice)."""
    (first_tx, first), (last_tx, last) = window.first, window.last
    if first_tx == last_tx:  # one transaction (always on SQLite, where tx is 0)
        return Q(tx=first_tx, pk__gte=first, pk__lte=last)
    return (
        Q(tx=first_tx, pk__gte=first)
        | Q(tx__gt=first_tx, tx__lt=last_tx)
        | Q(tx=last_tx, pk__lte=last)
    )


# The running transactions of this database with an id, other than our own; of those below
# the snapshot's xmax (the xip list, 64-bit), the oldest. Transactions at or above xmax are
# excluded by the LEAST anyway, and a transaction that gets its id after this statement
# gets one above xmax. Other databases of the cluster (e.g. parallel test databases) do not
# hold the horizon back.
_HORIZON_SQL = """
SELECT LEAST(
    pg_snapshot_xmax(s.snap)::text::bigint,
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s.snap) AS x
     WHERE x::text::bigint % 4294967296 IN (
        SELECT backend_xid::text::bigint FROM pg_stat_activity
        WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL))),
    pg_current_xact_id_if_assigned()::text::bigint
FROM (SELECT pg_current_snapshot() AS snap) AS s
"""


def _committed() -> Q:
    """Events whose writing transaction has ended (or is our own, whose rows we see)."""
    if connection.vendor != "postgresql":
        return Q()
    with connection.cursor() as cur:
        # pg_stat_activity is otherwise read once per transaction and then cached.
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(_HORIZON_SQL)
        horizon, own = cur.fetchone()
    # Our own events (a consumer run inside the writing transaction, as in tests) are
    # visible to us; production runs consumers after commit, outside any transaction.
    return Q(tx__lt=horizon) | Q(tx=own) if own is not None else Q(tx__lt=horizon)


def run_all(batch: int = BATCH) -> None:
    """Run every registered consumer; one failing consumer does not stop the others."""
    for name in list(_registry):
        try:
            run(name, batch)
        except Exception:
            logger.exception("event consumer %s failed; it will resume from its cursor", name)


# The health report counts a consumer's backlog only up to this many events.
LAG_LIMIT = 1_000_000


def names() -> list[str]:
    """Every consumer: those registered in this process and those with a cursor."""
    stored = ConsumerCursor.objects.values_list("name", flat=True)
    return sorted(set(_registry) | set(stored))


def lag(name: str) -> tuple[int, datetime | None]:
    """Events consumer ``name`` has not read yet (counted up to LAG_LIMIT), and when the
    next of them to be read — the one that has waited longest — was written."""
    last_tx, last_id = ConsumerCursor.objects.filter(name=name).values_list(
        "last_tx", "last_event_id"
    ).first() or (0, 0)
    same, later = _after(last_tx, last_id)
    count = same.order_by().values("pk")[:LAG_LIMIT].count()
    count += later.order_by().values("pk")[: LAG_LIMIT - count].count() if count < LAG_LIMIT else 0
    oldest = same.values_list("created_at", flat=True).first()
    if oldest is None:
        oldest = later.values_list("created_at", flat=True).first()
    return count, oldest
