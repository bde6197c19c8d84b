"""The bad-file corpus (tests/data/bad/) through `creditplus ingest` in a child process, as
an operator would run it: each file gets its code, the child's peak memory stays bounded,
and no record is written (issue 16, "keep it so")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.bad.corpus import CORPUS, write
from tests.records.files import csv_bytes, penalty
from tests.server import throwaway_database

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("creditplus"))
ROOT = Path(__file__).resolve().parents[2]
# A child ingesting a one-row file peaks at about 185 MB (Django, Polars); the zip bomb
# unbounded took 5 GB.
MAX_RSS_MB = 450


# Linux counts a process's memory before exec into its peak, so a child forked straight from
# a large pytest worker would report the worker's size. A small Python process forks the CLI
# instead and reports the CLI's own peak (wait4).
MEASURE = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_pid, status, usage = os.wait4(pid, 0)\n"
    "sys.stderr.write(f'\\nMAXRSS {usage.ru_maxrss}\\n')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run(env: dict[str, str], *args: str) -> tuple[str, float]:
    """Run the CLI; its stdout and its own peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, CLI, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr[-2000:])
    peak = int(done.stderr.rsplit("MAXRSS ", 1)[1].split()[0])
    return done.stdout, peak / 1024


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """A migrated database with reference data for the children, of their own (a fresh
    SQLite file, or a throwaway database on the run's PostgreSQL cluster): one per xdist
    worker, never pytest-django's."""
    var = tmp_path_factory.mktemp("corpus-var")
    with throwaway_database(var) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CREDITPLUS_VAR_DIR": str(var),
            "PYTHONPATH": str(ROOT),
        }
        run(env, "migrate", "-v", "0")
        run(env, "load_reference")
        yield env


def shell(env: dict[str, str], code: str) -> object:
    out, _rss = run(env, "shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("bad", CORPUS, ids=[b.name for b in CORPUS])
def test_each_bad_file_gets_its_code_in_bounded_memory_and_writes_nothing(
    bad, cli_env, tmp_path_factory
):
    path = write(tmp_path_factory.getbasetemp() / "bad")[CORPUS.index(bad)]
    out, rss = run(cli_env, "ingest", str(path), "--item", "CF", "--dept", "SCJG", "--json")
    line = json.loads(out.strip().splitlines()[-1])
    assert rss < MAX_RSS_MB, f"{bad.name}: peak RSS {rss:.0f} MB"
    if bad.whole_file:
        assert (line["status"], line["error_code"]) == ("failed", bad.code), line
        assert line["submitted"] == 0
    else:
        assert line["status"] == "done" and line["rejected"] == line["submitted"] > 0, line
    found = shell(
        cli_env,
        "import json; from creditplus.records.models import CreditRecord, RowError; "
        f"b = {line['batch']}; print(json.dumps([CreditRecord.objects.filter(batch_id=b).count(), "
        "sorted(set(RowError.objects.filter(batch_id=b).values_list('code', flat=True)))]))",
    )
    records, codes = found
    assert records == 0
    assert (bad.code in codes) if not bad.whole_file else codes == []


def test_a_large_batch_leaves_the_sqlite_wal_truncated(cli_env, tmp_path):
    if "postgres" in cli_env.get("DATABASE_URL", ""):
        pytest.skip("SQLite's write-ahead log")
    path = tmp_path / "three.csv"
    path.write_bytes(
        csv_bytes([penalty(n, **{"行政处罚决定书文号": f"WAL-{n}"}) for n in (1, 2, 3)])
    )
    wal_size = shell(
        cli_env,
        "import json; from pathlib import Path; from django.conf import settings; "
        "from creditplus.records import ingest as m; m.WAL_CHECKPOINT_ROWS = 3; "
        "from creditplus.accounts.models import Department; "
        "from creditplus.catalog.models import CatalogItem; "
        f"b = m.ingest_file(Path({str(path)!r}).read_bytes(), m.IngestOptions("
        "item=CatalogItem.objects.get(code='CF'), department=Department.objects.get(code='SCJG'),"
        " file_name='three.csv')); assert b.accepted == 3, b.error_message; "
        "wal = Path(str(settings.DATABASES['default']['NAME']) + '-wal'); "
        "print(json.dumps(wal.stat().st_size))",
    )
    assert wal_size == 0
