"""Four connections appending to the audit chain at once, on a committed database (run as a
subprocess by test_audit_chain.py); on PostgreSQL two of them as the credit check does, with
the lock and the head taken by the statement of their own row. Prints, as JSON, what the
chain holds afterwards."""

from __future__ import annotations

import json
import threading

import django

django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from creditplus.accounts import audit  # noqa: E402
from creditplus.accounts.models import AuditEvent, Notification  # noqa: E402
from creditplus.bulk import insert_row  # noqa: E402

errors: list[str] = []
start = threading.Barrier(4)


def appender(worker: int) -> None:
    try:
        start.wait()
        for i in range(25):
            with transaction.atomic():
                if i % 5 == 4:  # a batch of three
                    changes = [
                        audit.Change(object_type="test", object_id=f"{worker}-{i}-{k}")
                        for k in range(3)
                    ]
                    audit.record_many("test.concurrent", changes)
                elif worker % 2 and connection.vendor == "postgresql":
                    # a hot write: its own row's statement takes the lock and reads the head
                    row = {"role": "test", "title": f"{worker}-{i}", "created_at": timezone.now()}
                    pk, head = insert_row(Notification, row, also=audit.locked_head_sql())
                    audit.record(
                        "test.concurrent",
                        object_type="test",
                        object_id=str(pk),
                        locked_head=head or "",
                    )
                else:
                    audit.record("test.concurrent", object_type="test", object_id=f"{worker}-{i}")
    except Exception as exc:  # reported in the output
        errors.append(repr(exc))
    finally:
        connections.close_all()


threads = [threading.Thread(target=appender, args=(w,)) for w in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
rows = AuditEvent.objects.filter(action="test.concurrent")
print(
    json.dumps(
        {
            "errors": errors,
            "rows": rows.count(),
            "distinct_predecessors": rows.values("prev_hash").distinct().count(),
            "verified": audit.verify().ok,
        }
    )
)
