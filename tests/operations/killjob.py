"""Run one management command in this process and kill it with SIGKILL right before its
``--kill-at``-th write statement (INSERT, UPDATE, DELETE; the run record not counted)
reaches the database — midway
through its work, wherever that is — or, with ``--kill-at 0``, let it finish and print how
many write statements it made. Used by test_kill_jobs.py as a real child process:

    python -m tests.operations.killjob --kill-at N -- lists_maintain
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kill-at", type=int, required=True)
    parser.add_argument("argv", nargs="+")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    writes = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal writes
        # The run record (accounts_jobrun) is written after the work: not counted.
        if sql.lstrip().upper().startswith(WRITES) and "accounts_jobrun" not in sql:
            writes += 1
            if writes == args.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        call_command(*args.argv)
    print(f"WRITES {writes}", flush=True)


if __name__ == "__main__":
    main()
