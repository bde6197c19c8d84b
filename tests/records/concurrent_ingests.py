"""Two ingests whose transactions overlap, on a committed database (run as a subprocess by
test_event_cursor.py): batch A writes its first chunk's events, then waits; batch B is
ingested and commits (its consumers run); then A finishes. Prints, as JSON, every event id,
the ids a registered consumer was given, and the events another selected window by window."""

from __future__ import annotations

import json
import threading

import django

django.setup()

from django.db import connection  # noqa: E402

from creditplus.accounts.models import Department  # noqa: E402
from creditplus.catalog.models import CatalogItem  # noqa: E402
from creditplus.records import consumers, ingest  # noqa: E402
from creditplus.records.models import CreditEvent  # noqa: E402
from tests.factories import valid_uscc  # noqa: E402
from tests.records.files import penalty  # noqa: E402

consumed: list[int] = []


def window_ids(window: consumers.EventWindow) -> list[int]:
    """The ids of a window's events, in the order a consumer reads them."""
    selected = CreditEvent.objects.filter(consumers.in_window(window)).order_by("tx", "pk")
    return list(selected.values_list("pk", flat=True))


consumers.register("probe", lambda window: consumed.extend(window_ids(window)))
# Batch A goes through in two chunks; it pauses after the first chunk's events are written.
ingest.CHUNK_ROWS = 2
a_paused = threading.Event()
b_done = threading.Event()
failures: list[BaseException] = []


def rows(start: int, count: int) -> list[dict]:
    return [
        penalty(
            n, **{"统一社会信用代码": valid_uscc(n), "行政相对人名称": f"上海并发{n}号有限公司"}
        )
        for n in range(start, start + count)
    ]


def options(progress=None) -> ingest.IngestOptions:
    return ingest.IngestOptions(
        item=CatalogItem.objects.get(code="CF"),
        department=Department.objects.get(code="SCJG"),
        progress=progress,
    )


seen: list[tuple[str, int]] = []


def pause_after_first_chunk(stage: str, done: int, total: int) -> None:
    # ("write", 2) comes first when the first chunk's rows and events are written (inside
    # the transaction), again as the second chunk's write starts.
    seen.append((stage, done))
    if ("write", ingest.CHUNK_ROWS) in seen and not a_paused.is_set():
        a_paused.set()
        if not b_done.wait(60):
            raise TimeoutError("batch B did not finish")


def run(target) -> None:
    try:
        target()
    except BaseException as exc:  # reported by the main thread
        failures.append(exc)
        a_paused.set()
    finally:
        connection.close()


def batch_a() -> None:
    ingest.ingest_rows(rows(100, 4), options(pause_after_first_chunk))


def batch_b() -> None:
    try:
        ingest.ingest_rows(rows(200, 1), options())
    finally:
        b_done.set()


a = threading.Thread(target=run, args=(batch_a,))
a.start()
if not a_paused.wait(120):
    raise SystemExit("batch A did not reach its first chunk")
b = threading.Thread(target=run, args=(batch_b,))
b.start()
b.join(120)
a.join(120)
if failures:
    raise failures[0]
consumers.run_all()

# The same events in windows of three, as a consumer selects them (ids 1, 2, 4 of A, then 5
# of A and 3 of B): each event once, though B's id lies inside the first window's id range.
selected: list[int] = []
consumers.register("window-probe", lambda window: selected.extend(window_ids(window)))
consumers.run("window-probe", 3)
print(
    json.dumps(
        {
            "events": sorted(CreditEvent.objects.values_list("pk", flat=True)),
            "consumed": consumed,
            "selected": selected,
        }
    )
)
