"""The set-based event consumers decide per batch of events: processing a whole stream of
batches in one consumer run — in one window of events or in windows of one event (a bulk
load reads its backlog in large windows) — gives the same list entries, sanction cases and
tasks, and monitoring alerts as running the consumers after every batch (property test over random
streams on a small world: three organisations, one watched; serious, general and minor
penalties and court records, dated across the triggers' periods)."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditplus.lists.models import ListEntry
from creditplus.records import consumers
from creditplus.sanctions.models import Alert, SanctionCase, SanctionTask
from creditplus.sanctions.monitoring import subscribe
from creditplus.subjects.models import Subject
from tests.lists.fixtures import NAMES, ingest_item
from tests.records.files import ORG_USCC

pytestmark = pytest.mark.django_db

# One element of a stream: (what, subject 0–2, days before today).
batch_item = st.tuples(
    st.sampled_from(["serious", "general", "minor", "court"]),
    st.integers(0, 2),
    st.integers(0, 900),
)


def run_consumers(window: int = consumers.BATCH) -> None:
    consumers.run("lists", window)
    consumers.run("monitoring", window)


def outcome() -> dict[str, list[tuple]]:
    """What the consumers decided, by natural keys (ids and clock times differ per world).
    An automatic proposal's evidence, reason and department (that of its latest evidence)
    are the events in force when it was made, so they depend on the batching by design."""
    entries = ListEntry.objects.values_list(
        "list_type__code",
        "subject__uscc",
        "origin",
        "status",
        "source_key",
        "department__code",
        "decided_on",
        "publish_until",
        "restoration_from",
    )
    return {
        "entries": sorted((*e[:5], e[5] if e[2] == "imported" else "", *e[6:]) for e in entries),
        "cases": sorted(
            SanctionCase.objects.values_list(
                "entry__list_type__code", "subject__uscc", "origin", "status"
            )
        ),
        "tasks": sorted(
            SanctionTask.objects.values_list(
                "case__entry__list_type__code",
                "case__subject__uscc",
                "measure__code",
                "department__code",
                "target",
                "status",
            )
        ),
        "alerts": sorted(
            Alert.objects.values_list("department__code", "subject__uscc", "kind", "title")
        ),
    }


def world(
    stream: list[tuple[str, int, int]], *, each: bool, window: int = consumers.BATCH
) -> dict[str, list[tuple]]:
    """Ingest ``stream`` and run the consumers after each batch or once at the end (reading
    ``window`` events at a time); the outcome, then everything rolled back."""
    with transaction.atomic():
        for n, item in enumerate(stream, start=1):
            ingest_item(n, item)
            if each:
                run_consumers()
        if not each:
            run_consumers(window)
        result = outcome()
        transaction.set_rollback(True)
    return result


@pytest.fixture
def watched(reference, officer):
    """The three organisations; the first watched by 区市场监管局 (its alerts)."""
    for uscc, name in zip(ORG_USCC, NAMES, strict=False):
        Subject.objects.create(kind="legal", uscc=uscc, name=name, registered=True)
    subscribe(officer, [ORG_USCC[0]])


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=st.lists(batch_item, min_size=1, max_size=6))
def test_one_consumer_run_decides_as_runs_after_every_batch(watched, stream):
    once = world(stream, each=False)
    assert once == world(stream, each=True)
    assert once == world(stream, each=False, window=1)


def test_the_worlds_differ_when_the_stream_makes_proposals(watched):
    """The oracle is not vacuous: a stream with a serious penalty and three general ones
    yields a blacklist proposal, a watch-list proposal, an imported court entry with its
    case, and alerts for the watched subject."""
    stream = [("serious", 0, 10), ("general", 1, 20), ("general", 1, 30), ("court", 0, 5)]
    result = world(stream, each=False)
    assert {(e[0], e[1], e[2]) for e in result["entries"]} >= {
        ("YZSX", ORG_USCC[0], "auto"),
        ("ZDGZ", ORG_USCC[1], "auto"),
        ("SXBZX", ORG_USCC[0], "imported"),
    }
    assert result["cases"] and result["alerts"]
    assert result == world(stream, each=True)
