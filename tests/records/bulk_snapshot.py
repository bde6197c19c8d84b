"""Run in a child process on a database of its own (``python -m tests.records.bulk_snapshot``):

    snapshot            print what the database stores, as JSON without ids or times
    ingest DIR [DIR…]   ingest every manifest file of each DIR one by one through
                        ``ingest_file``, as `creditplus ingest` does (consumers after each)

The bulk-load tests compare the snapshots of databases filled in different ways."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def snapshot() -> dict[str, Any]:
    from creditplus.accounts.models import AuditEvent
    from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch, RowError
    from creditplus.subjects.models import Subject

    def rows(queryset: Any, *fields: str) -> list[list[Any]]:
        plain = json.loads(json.dumps(list(map(list, queryset.values_list(*fields))), default=str))
        return sorted(plain, key=lambda row: json.dumps(row, sort_keys=True))

    return {
        "subjects": rows(
            Subject.objects,
            *("kind", "uscc", "reg_no", "id_hash", "id_masked", "name", "legal_rep_name"),
            *("enterprise_type", "industry", "address", "registered_capital", "status"),
            "registered",
        ),
        "records": rows(
            CreditRecord.objects,
            *("item__code", "natural_key", "version", "is_current", "status", "subject__uscc"),
            *("subject__id_hash", "department__code", "batch__file_name", "row_no"),
            *("subject_name", "decision_date", "end_date", "category", "amount", "flags"),
            "data",
        ),
        "events": rows(
            CreditEvent.objects,
            *("record__item__code", "record__natural_key", "record__version", "rule__code"),
            *("subject__uscc", "subject__id_hash", "kind", "severity", "occurred_on"),
            *("published", "publish_min_until", "publish_until", "restoration_from", "status"),
        ),
        "rejected": rows(
            RowError.objects, "batch__file_name", "row_no", "field", "code", "message", "raw"
        ),
        "batches": rows(
            IngestBatch.objects,
            *("file_name", "item__code", "department__code", "status", "error_code"),
            *("submitted", "accepted", "updated", "unchanged", "rejected"),
            *("file_format", "encoding", "file_sha256", "stats"),
        ),
        # The batch's counts; not its id, which differs where a killed batch drew one from a
        # PostgreSQL sequence.
        "audit": sorted(
            (
                [action, {k: v for k, v in (after or {}).items() if k != "batch"}]
                for action, after in AuditEvent.objects.filter(
                    action__startswith="ingest."
                ).values_list("action", "after")
            ),
            key=lambda row: json.dumps(row, sort_keys=True),
        ),
    }


def ingest(directories: list[str]) -> None:
    from creditplus.records.bulkload import read_manifest
    from creditplus.records.ingest import IngestOptions, ingest_file

    for directory in directories:
        files = read_manifest(Path(directory))
        for f in sorted(files, key=lambda f: (f.item.code != "DJ", str(f.path))):
            ingest_file(
                f.path.read_bytes(),
                IngestOptions(
                    item=f.item, department=f.department, file_name=f.path.name, actor="t"
                ),
            )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
    import django

    django.setup()
    if sys.argv[1] == "snapshot":
        print(json.dumps(snapshot(), ensure_ascii=False))
    else:
        ingest(sys.argv[2:])
