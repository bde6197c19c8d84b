"""Time the demo data generator: ``python bench/demo_generate.py --subjects 30000``.

Prints the seconds taken and the rows written per second. Files go to a temporary
directory that is removed afterwards, unless ``--out`` names one to keep.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from creditplus.records import demo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=20171115)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: auto)")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 11, 15))
    parser.add_argument("--out", type=Path, help="keep the files in this directory")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="creditplus-demo-"))
    try:
        started = time.perf_counter()
        files = demo.generate(
            out, args.subjects, seed=args.seed, today=args.today, workers=args.workers
        )
        seconds = time.perf_counter() - started
        rows = sum(f.rows for f in files)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(
            f"subjects={args.subjects} files={len(files)} rows={rows} "
            f"bad={sum(f.bad_rows for f in files)} size={size / 2**20:.0f}MiB"
        )
        print(f"seconds={seconds:.1f} rows_per_second={rows / seconds:,.0f}")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
