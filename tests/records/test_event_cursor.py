"""Event consumers never skip events of a transaction that commits after a later one
(issue 16, finding 3), nor select one twice: two real ingests overlap on a committed
PostgreSQL database. And they read in (tx, id) order from their cursor."""

from __future__ import annotations

import json
import os

import pytest

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import ConsumerCursor, CreditEvent
from tests.records.files import penalty
from tests.server import run_python, throwaway_database


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers (BEGIN IMMEDIATE holds the only write lock from the "
    "first write to commit), so event ids always follow commit order there",
)
def test_overlapping_ingests_lose_no_event(tmp_path):
    with throwaway_database(tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url, "CREDITPLUS_VAR_DIR": str(tmp_path)}

        run_python(env, "-m", "creditplus", "migrate", "--noinput", "-v0")
        run_python(env, "-m", "creditplus", "load_reference")
        out = run_python(env, "-m", "tests.records.concurrent_ingests")
        result = json.loads(out.strip().splitlines()[-1])
    # A's first chunk holds lower ids than B's events but committed after them.
    assert len(result["events"]) == 5
    assert sorted(result["consumed"]) == result["events"]
    # Windows of three events select each event once (by id range alone, B's would be twice).
    assert sorted(result["selected"]) == result["events"]


@pytest.mark.django_db
def test_cursor_reads_its_transaction_then_later_ones_in_order(reference):
    """The unread events are read as two index ranges (the rest of the cursor's transaction,
    then later transactions) and handed over in (tx, id) order, windows spanning both."""
    options = IngestOptions(
        item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
    )
    ingest_rows([penalty(n) for n in range(1, 8)], options)
    ids = list(CreditEvent.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 7
    # Transactions as PostgreSQL may number them: a later id in an earlier transaction.
    for pk, tx in zip(ids, [5, 5, 3, 7, 3, 5, 7], strict=True):
        CreditEvent.objects.filter(pk=pk).update(tx=tx)
    ConsumerCursor.objects.update_or_create(
        name="order-probe", defaults={"last_tx": 5, "last_event_id": ids[0]}
    )
    assert consumers.lag("order-probe")[0] == 4  # ids[1], ids[5] (tx 5), ids[3], ids[6] (tx 7)
    windows: list[consumers.EventWindow] = []
    consumers.register("order-probe", windows.append)
    try:
        assert consumers.run("order-probe", 3) == 4
    finally:
        consumers.unregister("order-probe")
    assert windows == [((5, ids[1]), (7, ids[3]), 3), ((7, ids[6]), (7, ids[6]), 1)]
    # Each window selects exactly its events, though their ids interleave across them.
    selected = [
        list(
            CreditEvent.objects.filter(consumers.in_window(w))
            .order_by("tx", "pk")
            .values_list("pk", flat=True)
        )
        for w in windows
    ]
    assert selected == [[ids[1], ids[5], ids[3]], [ids[6]]]
    assert consumers.lag("order-probe") == (0, None)


@pytest.mark.django_db
def test_a_window_is_decided_without_the_cyclic_collector_which_comes_back_after(reference):
    """The cyclic garbage collector is off while a consumer decides a window (its full
    collections walked every object the window built) and on again afterwards, also when
    the consumer fails and its window is rolled back."""
    import gc

    options = IngestOptions(
        item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
    )
    ingest_rows([penalty(n) for n in range(1, 3)], options)
    seen: list[bool] = []

    def probe(window: consumers.EventWindow) -> None:
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise RuntimeError("a consumer that fails")

    assert gc.isenabled()
    consumers.register("gc-probe", probe)
    try:
        with pytest.raises(RuntimeError):
            consumers.run("gc-probe", 1)  # the first window goes through, the second fails
    finally:
        consumers.unregister("gc-probe")
    assert gc.isenabled() and seen == [False, False]
    assert consumers.lag("gc-probe")[0] == 1  # the failed window stays unread
