"""Loading a directory of department files (demo data, benchmarks) through the normal
ingest path, registration data first so that subjects get their registered names."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records.choices import BatchSource
from creditplus.records.ingest import IngestOptions, ingest_file


def load_demo_files(
    out_dir: Path,
    files: list[dict[str, Any]],
    *,
    seed: int,
    actor: str = "",
    show_progress: bool = False,
    stream: IO[str] | None = None,
) -> dict[str, Any]:
    """Ingest every file of a demo manifest; each file is one batch whose batch id is derived
    from the seed and the file, so loading twice ingests nothing twice."""
    items = {i.code: i for i in CatalogItem.objects.all()}
    departments = {d.code: d for d in Department.objects.all()}
    ordered = sorted(files, key=lambda f: (f["item"] != "DJ", f["path"]))
    totals = dict.fromkeys(("submitted", "accepted", "updated", "unchanged", "rejected"), 0)
    started = time.monotonic()
    bar = tqdm(
        total=sum(f["rows"] for f in ordered),
        unit="行",
        desc="归集",
        disable=not show_progress,
        file=stream,
    )
    for f in ordered:
        batch = ingest_file(
            (out_dir / f["path"]).read_bytes(),
            IngestOptions(
                item=items[f["item"]],
                department=departments[f["department"]],
                source=BatchSource.CLI,
                file_name=Path(f["path"]).name,
                external_id=_batch_id(seed, f["path"]),
                actor=actor,
            ),
        )
        for key in totals:
            totals[key] += getattr(batch, key)
        bar.update(f["rows"])
    bar.close()
    seconds = time.monotonic() - started
    return {
        **totals,
        "files": len(ordered),
        "seconds": seconds,
        "rows_per_second": totals["submitted"] / seconds if seconds else 0.0,
    }


def _batch_id(seed: int, path: str) -> str:
    return f"demo-{seed}-{hashlib.sha1(path.encode()).hexdigest()[:20]}"  # noqa: S324 — an id, not security
