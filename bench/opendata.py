"""Open data publication benchmark: the first full publication, then a daily one after a
10,000-row batch, each in a child process (CPU seconds and peak RSS of that child).

    .venv/bin/python bench/opendata.py --var /tmp/od            # a COPY of a database
    DATABASE_URL=postgres://…/bench .venv/bin/python bench/opendata.py --var /tmp/od   # PostgreSQL

``--var`` is a ``CREDITPLUS_VAR_DIR`` holding a benchmark database (SQLite:
``creditplus.sqlite3``, e.g. a copy of the one ``bench/evaluate.py`` caches, or of a
``demo_data --load`` one; PostgreSQL: ``DATABASE_URL``). It deletes the open data
publications and state of that database first: never point it at a real one.

Steps: (1) ``opendata_publish --date <yesterday>`` (full: nothing published before);
(2) a daily batch through the ingest path: ``--batch`` current 行政许可 records re-submitted
by their departments, half as new licenses (another document number), half as corrections
(another 许可内容); (3) ``opendata_publish`` (today: reads only what changed). Prints a
table and one line ``RESULT {json}``. Targets (issue 20, Pudong scale, quiet machine): full
≤ 5 min at ≤ 2 GiB peak, daily ≤ 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "django"]


def run_child(name: str, argv: list[str], env: dict[str, str]) -> dict:
    """Run ``argv`` as a child; its wall and CPU seconds and peak RSS (MiB)."""
    started = time.monotonic()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    out = child.stdout.read().decode() if child.stdout else ""
    err = child.stderr.read().decode() if child.stderr else ""
    if status:
        sys.exit(f"{name} failed ({status}):\n{out}\n{err[-3000:]}")
    return {
        "step": name,
        "seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "output": out.strip().splitlines()[-1] if out.strip() else "",
    }


def child_batch(rows: int) -> None:
    """Submit ``rows`` current licenses again through the ingest path (in this process)."""
    import django

    django.setup()
    from collections import defaultdict

    from creditplus.accounts.models import Department
    from creditplus.catalog.models import CatalogItem
    from creditplus.records.choices import BatchSource
    from creditplus.records.ingest import IngestOptions, ingest_rows
    from creditplus.records.models import CreditRecord
    from creditplus.subjects.pii import unseal

    item = CatalogItem.objects.get(code="XK")
    latest = (
        CreditRecord.objects.current()
        .filter(item=item)
        .order_by("-id")
        .values_list("department_id", "data")[:rows]
    )
    by_department = defaultdict(list)
    for n, (department, data) in enumerate(latest.iterator(chunk_size=5000)):
        values = {
            k: unseal(v) if isinstance(v, str) and v.startswith("s1:") else v
            for k, v in json.loads(data).items()
        }
        if n % 2:
            values["XK_NR"] = f"{values.get('XK_NR') or ''}（变更）"
        else:
            values["XK_WSH"] = f"{values['XK_WSH']}-B{n}"
        by_department[department].append(values)
    stamp = time.strftime("%Y%m%d%H%M%S")
    for department, batch in by_department.items():
        result = ingest_rows(
            batch,
            IngestOptions(
                item=item,
                department=Department.objects.get(pk=department),
                source=BatchSource.API,
                external_id=f"bench-opendata-{stamp}-{department}",
                actor="bench",
            ),
        )
        print(f"{department}: {result.counts()}")


def clear_opendata() -> None:
    import django

    django.setup()
    import shutil

    from django.conf import settings

    from creditplus.opendata.models import Publication, PublishedItem

    PublishedItem.objects.all().delete()
    Publication.objects.all().delete()
    shutil.rmtree(Path(settings.VAR_DIR) / "opendata", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var", required=True, help="CREDITPLUS_VAR_DIR of a benchmark copy")
    parser.add_argument("--batch", type=int, default=10_000, help="rows of the daily batch")
    parser.add_argument("--child", choices=["batch", "clear"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = os.environ | {
        "CREDITPLUS_VAR_DIR": str(Path(args.var).resolve()),
        "DJANGO_SETTINGS_MODULE": "creditplus.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if args.child:
        os.environ.update(env)
        clear_opendata() if args.child == "clear" else child_batch(args.batch)
        return
    os.environ.update(env)
    import django

    django.setup()
    from django.utils import timezone

    yesterday = timezone.localdate() - timedelta(days=1)
    me = [sys.executable, __file__, "--var", args.var, "--batch", str(args.batch)]
    run_child("clear", [*me, "--child", "clear"], env)
    results = [
        run_child("full", [*CLI, "opendata_publish", "--date", yesterday.isoformat()], env),
        run_child("batch", [*me, "--child", "batch"], env),
        run_child("daily", [*CLI, "opendata_publish"], env),
    ]
    load = os.getloadavg()[0]
    print(f"shared machine, load {load:.1f}")
    print(f"{'step':<6} | {'seconds':>8} | {'CPU s':>7} | {'peak RSS':>9}")
    for r in results:
        print(
            f"{r['step']:<6} | {r['seconds']:>8} | {r['cpu_seconds']:>7} | {r['peak_rss_mib']:>5} MiB"
        )
    for r in results:
        print(r["output"])
    print("RESULT " + json.dumps({"load": load, "steps": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
