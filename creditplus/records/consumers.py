"""Consumers of behavior events (lists, evaluation, monitoring…), without importing them.

`records` is the backbone and must not import the apps that use it. Those apps register a
function here at start-up; after each batch commits, and again whenever their maintenance
commands run, every consumer reads the events after its own cursor. A crash between the two
loses nothing: the cursor only advances when the consumer has finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from creditplus.records.models import ConsumerCursor, CreditEvent

logger = logging.getLogger(__name__)
Consumer = Callable[[list[int]], None]
_registry: dict[str, Consumer] = {}
BATCH = 10_000


def register(name: str, consumer: Consumer) -> None:
    """Register ``consumer`` (called with lists of new CreditEvent ids) under ``name``."""
    _registry[name] = consumer


def unregister(name: str) -> None:
    _registry.pop(name, None)


def run(name: str) -> int:
    """Feed consumer ``name`` the events after its cursor; returns how many it processed."""
    consumer = _registry[name]
    total = 0
    while True:
        with transaction.atomic():
            cursor, _ = ConsumerCursor.objects.select_for_update().get_or_create(name=name)
            ids = list(
                CreditEvent.objects.filter(pk__gt=cursor.last_event_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                return total
            consumer(ids)
            cursor.last_event_id = ids[-1]
            cursor.save(update_fields=["last_event_id", "updated_at"])
        total += len(ids)


def run_all() -> None:
    """Run every registered consumer; one failing consumer does not stop the others."""
    for name in list(_registry):
        try:
            run(name)
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
    oldest of them was written."""
    cursor = ConsumerCursor.objects.filter(name=name).values_list("last_event_id", flat=True)
    unread = CreditEvent.objects.filter(pk__gt=cursor.first() or 0)
    count = unread.order_by().values("pk")[:LAG_LIMIT].count()
    oldest = unread.order_by("pk").values_list("created_at", flat=True).first()
    return count, oldest
