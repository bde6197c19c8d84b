"""Two batches that run side by side (a bulk load on PostgreSQL) name the same new persons:
inside ``registry_writes_apart`` each creates what it finds missing on a connection of its
own, committed at once, so neither waits for the other's open transaction, neither fails on
the unique keys, and each person exists once — also when both batches then roll back."""

from __future__ import annotations

import threading

import polars as pl
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from creditplus.subjects.models import Subject
from creditplus.subjects.services import registry_writes_apart, resolve_subjects

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer"),
]

NUMBERS = [f"3101151990010{n:05d}" for n in range(40)]


class RolledBack(Exception):
    pass


@pytest.fixture
def committed_apart():
    """Removes what the test committed outside its own transaction (the persons)."""
    yield
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with own.cursor() as cursor:
            cursor.execute("DELETE FROM subjects_subject WHERE kind = 'person'")
    finally:
        own.close()


def _persons(numbers: list[str], name: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kind": ["person"] * len(numbers),
            "uscc": [None] * len(numbers),
            "id_type": ["身份证"] * len(numbers),
            "id_number": numbers,
            "name": [name] * len(numbers),
        },
        schema={k: pl.Utf8 for k in ("kind", "uscc", "id_type", "id_number", "name")},
    )


def _batch(numbers: list[str], both_resolved: threading.Barrier, created: list[int]) -> None:
    """A batch's transaction that resolves its persons, waits until the other batch has
    resolved its own inside its open transaction, then fails."""
    try:
        with registry_writes_apart(), transaction.atomic():
            resolved, count = resolve_subjects(_persons(numbers, "张三"))
            assert resolved.get_column("subject_id").null_count() == 0
            created.append(count)
            both_resolved.wait(timeout=20)  # neither waits for the other's commit
            raise RolledBack
    except RolledBack:
        pass
    finally:
        connection.close()


def test_side_by_side_batches_create_each_new_person_once_without_waiting(committed_apart):
    # Overlapping halves, in opposite orders: the inserts meet on both sides.
    first, second = NUMBERS[:30], list(reversed(NUMBERS[10:]))
    both_resolved, created = threading.Barrier(2), []
    threads = [
        threading.Thread(target=_batch, args=(numbers, both_resolved, created))
        for numbers in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not both_resolved.broken
    assert len(created) == 2 and sum(created) == len(NUMBERS)
    # Committed apart: the persons outlive their batches' rollback, each once.
    assert Subject.objects.filter(kind="person").count() == len(NUMBERS)
