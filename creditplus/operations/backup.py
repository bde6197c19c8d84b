"""Backup and restore of the credit database, each with a manifest that proves the copy.

A backup is one consistent snapshot taken while the site and ingests run: SQLite through its
online backup API into one file, PostgreSQL through ``pg_dump`` in its directory format (one
file per table, dumped by parallel workers) on a snapshot exported from a repeatable-read
transaction. The manifest's row counts, audit chain head and consumer
cursors are read *from that same snapshot*, so a restore can be checked against them: the
audit chain verifies up to the recorded head, the counts match, and the consumers resume
from their cursors (what they had done is in the copy, so nothing is done twice).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import AuditEvent
from creditplus.errors import DomainError
from creditplus.files import sha256_of
from creditplus.records.models import ConsumerCursor

MANIFEST_VERSION = 1
# pg_dump's parallel workers: one per core this process may use (each keeps a PostgreSQL
# backend busy, and each is one more database connection), at most 4.
DUMP_WORKERS = max(1, min(4, len(os.sched_getaffinity(0))))
# Uploaded files and generated open data under CREDITPLUS_VAR_DIR.
FILE_DIRS = ("media", "opendata")
Query = Callable[[str], Any]


@dataclass(frozen=True)
class Verification:
    counts: dict[str, int]
    audit_rows: int
    audit_head: str


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def main_tables() -> list[str]:
    """Every table of the platform's own apps (and its users), in a stable order."""
    tables = {
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.managed
        and not model._meta.proxy
        and model.__module__.startswith("creditplus.")
    }
    return sorted(tables)


def _state(query: Query, tables: list[str]) -> dict[str, Any]:
    """Counts, audit head and cursors, read through ``query`` (one snapshot)."""
    audit_table = AuditEvent._meta.db_table
    cursor_table = ConsumerCursor._meta.db_table
    head = query(f'SELECT hash FROM "{audit_table}" ORDER BY id DESC LIMIT 1')
    return {
        "counts": {t: query(f'SELECT count(*) FROM "{t}"')[0][0] for t in tables},
        "audit_head": head[0][0] if head else audit.GENESIS_HASH,
        # name → [writing transaction, event id]: where each consumer resumes.
        "cursors": {
            name: [tx, event]
            for name, tx, event in query(
                f'SELECT name, last_tx, last_event_id FROM "{cursor_table}" ORDER BY name'
            )
        },
    }


def backup_digest(path: Path) -> str:
    """The backup's SHA-256: of the file, or for a directory (PostgreSQL) of its listing as
    ``sha256sum`` prints it, names in byte order, so that
    ``(cd DIR && LC_ALL=C sha256sum * | sha256sum)`` gives it too."""
    if not path.is_dir():
        return sha256_of(path)
    parts = sorted(p for p in path.iterdir() if p.is_file())
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # hashlib releases the GIL
        listing = "".join(
            f"{digest}  {p.name}\n"
            for p, digest in zip(parts, pool.map(sha256_of, parts), strict=True)
        )
    return hashlib.sha256(listing.encode()).hexdigest()


def backup_size(path: Path) -> int:
    """The backup's bytes (its files' for a directory)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def _remove(path: Path) -> None:
    """Remove a backup file or directory; never raises (it runs while another error does)."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _owner_only(path: Path) -> None:
    """A backup holds every record and the audit log: readable by its owner only."""
    path.chmod(0o700 if path.is_dir() else 0o600)
    if path.is_dir():
        for part in path.iterdir():
            part.chmod(0o600)


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest whole or not at all: a backup without one is never restored."""
    target = manifest_path(out)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, ensure_ascii=False, indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def backup(out: Path, *, with_files: bool = False) -> dict[str, Any]:
    """Write a backup to ``out`` and its manifest to ``out.json``; returns the manifest."""
    out = out.resolve()
    if out.exists():
        raise DomainError(
            "backup_exists",
            _("%(path)s 已存在：备份不会覆盖已有的文件或目录，请换一个名字") % {"path": out},
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    _remove(partial)
    tables = main_tables()
    try:
        if connection.vendor == "sqlite":
            state = _backup_sqlite(partial, tables)
        else:
            state = _backup_postgres(partial, tables)
        digest = backup_digest(partial)
        _owner_only(partial)
        os.replace(partial, out)
    except BaseException:
        _remove(partial)  # nothing half-written is left to mistake for a backup
        raise
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "created_at": timezone.now().isoformat(),
        "database": connection.vendor,
        "file": out.name,
        "sha256": digest,
        "bytes": backup_size(out),
        **state,
    }
    if with_files:
        manifest["files"] = _archive_files(out)
    _write_manifest(out, manifest)
    return manifest


def _backup_sqlite(target: Path, tables: list[str]) -> dict[str, Any]:
    # One backup step copies every page inside one read transaction: a consistent snapshot
    # of what was committed, while writers go on in the WAL.
    source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        present = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return _state(lambda sql: copy.execute(sql).fetchall(), [t for t in tables if t in present])
    finally:
        copy.close()
        source.close()


def _pg_settings() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or ""}
    if db.get("HOST"):
        env["PGHOST"] = str(db["HOST"])
    if db.get("PORT"):
        env["PGPORT"] = str(db["PORT"])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: the newest installed server's, else the one on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    found = str(candidates[-1]) if candidates else shutil.which(name)
    if not found:
        raise DomainError(
            "pg_tool_missing",
            _("找不到 %(tool)s：请安装 PostgreSQL 客户端工具（postgresql-client）")
            % {"tool": name},
        )
    return found


def _backup_postgres(target: Path, tables: list[str]) -> dict[str, Any]:
    import psycopg

    env = _pg_settings()
    with psycopg.connect("", **_libpq(env)) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        # The counts share the cores with the dump: no parallel workers, no JIT compilation.
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        conn.execute("SET LOCAL jit = off")
        # pg_dump reads the very snapshot the counts below read, at the same time. Reading
        # and compressing the rows is all of its cost, and it keeps both cores busy: the
        # directory format's workers dump tables side by side (the records table in one, the
        # rest in the other), at compression level 1 (at Pudong scale the default level took
        # 92 s; level 1 in one process 31-35 s; two workers 27-28 s). pg_dump fsyncs the files.
        with (
            tempfile.TemporaryFile() as errors,  # read after the end: never a full pipe
            subprocess.Popen(
                [
                    pg_tool("pg_dump"),
                    "-Fd",
                    f"-j{DUMP_WORKERS}",
                    "-Z1",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(target),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # its workers too can be killed as one group
            ) as dump,
        ):
            try:
                state = _state(lambda sql: conn.execute(sql).fetchall(), tables)
                dump.wait()
            except BaseException:
                # Else it and its workers would hold the snapshot and table locks to the end.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(dump.pid, signal.SIGKILL)
                raise
            if dump.returncode:
                errors.seek(0)
                detail = errors.read().decode(errors="replace").strip()[-300:]
                raise DomainError(
                    "backup_failed",
                    _("pg_dump 失败（退出码 %(code)s）：%(err)s")
                    % {"code": dump.returncode, "err": detail},
                )
        conn.rollback()
    return state


def _libpq(env: dict[str, str]) -> dict[str, str]:
    keys = {"PGDATABASE": "dbname", "PGUSER": "user", "PGHOST": "host", "PGPORT": "port"}
    params = {v: env[k] for k, v in keys.items() if env.get(k)}
    if env.get("PGPASSWORD"):
        params["password"] = env["PGPASSWORD"]
    return params


def _archive_files(out: Path) -> dict[str, Any]:
    archive = out.with_name(out.name + ".files.tar.gz")
    members = 0
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name in FILE_DIRS:
            folder = Path(settings.VAR_DIR) / name
            if folder.is_dir():
                tar.add(folder, arcname=name)
                members += sum(1 for p in folder.rglob("*") if p.is_file())
    _owner_only(archive)
    return {"file": archive.name, "sha256": sha256_of(archive), "count": members}


def read_manifest(path: Path) -> dict[str, Any]:
    """The backup's manifest, after checking that the file is the one it describes."""
    mpath = manifest_path(path)
    if not path.exists() or not mpath.is_file():
        raise DomainError(
            "backup_missing",
            _("找不到备份文件或其清单：需要 %(file)s 和 %(manifest)s")
            % {"file": path, "manifest": mpath.name},
        )
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    if backup_digest(path) != manifest.get("sha256"):
        raise DomainError(
            "backup_checksum", _("备份文件的 SHA-256 与清单不符：文件已损坏或被改动，不能恢复")
        )
    if manifest.get("database") != connection.vendor:
        raise DomainError(
            "backup_database_kind",
            _("这是 %(kind)s 数据库的备份，不能恢复到 %(target)s 数据库")
            % {"kind": manifest.get("database"), "target": connection.vendor},
        )
    return manifest


def restore(path: Path, *, with_files: bool = False) -> Verification:
    """Restore the backup at ``path`` into the (empty) configured database, verify it against
    its manifest, and record the restore in the audit log (after verifying, so the check sees
    exactly the chain the backup held)."""
    path = path.resolve()
    manifest = read_manifest(path)
    connection.close()
    if connection.vendor == "sqlite":
        _restore_sqlite(path)
    else:
        _restore_postgres(path)
    connection.close()
    checked = verify_restored(manifest)
    if with_files and manifest.get("files"):
        _extract_files(path, manifest["files"])
    audit.record(
        "system.restore",
        object_type="backup",
        object_id=manifest["file"][:64],
        after={
            "sha256": manifest["sha256"],
            "created_at": manifest["created_at"],
            "audit_head": manifest["audit_head"],
            "rows": sum(checked.counts.values()),
        },
    )
    return checked


def _not_empty() -> DomainError:
    return DomainError(
        "restore_target_not_empty",
        _("目标数据库不是空的：恢复只能写入新建的空数据库，以免覆盖现有数据"),
    )


def _restore_sqlite(path: Path) -> None:
    target = Path(settings.DATABASES["default"]["NAME"])
    if target.exists():
        with sqlite3.connect(target) as probe:
            if probe.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]:
                raise _not_empty()
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        copy.close()
        source.close()


def _restore_postgres(path: Path) -> None:
    import psycopg

    env = _pg_settings()
    with psycopg.connect("", **_libpq(env)) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    if tables:
        raise _not_empty()
    done = subprocess.run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            env["PGDATABASE"],
            str(path),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise DomainError(
            "restore_failed", _("pg_restore 失败：%(err)s") % {"err": done.stderr.strip()[:300]}
        )


def verify_restored(manifest: dict[str, Any]) -> Verification:
    """The restored database against the manifest: audit chain, head, counts, cursors."""
    chain = audit.verify()
    if not chain.ok:
        raise DomainError(
            "restore_audit_broken",
            _("恢复后的审计日志哈希链校验失败（id=%(id)s）：%(problem)s")
            % {"id": chain.bad_id, "problem": chain.problem},
        )
    if chain.head_hash != manifest["audit_head"]:
        raise DomainError(
            "restore_audit_head", _("恢复后的审计日志链头与备份清单不符：备份不完整或被改动")
        )
    with connection.cursor() as cursor:

        def query(sql: str) -> Any:
            cursor.execute(sql)
            return cursor.fetchall()

        state = _state(query, list(manifest["counts"]))
    wrong = {
        t: (n, state["counts"].get(t))
        for t, n in manifest["counts"].items()
        if state["counts"][t] != n
    }
    if wrong:
        detail = "，".join(f"{t} 应为 {a} 实为 {b}" for t, (a, b) in list(wrong.items())[:5])
        raise DomainError("restore_counts", _("恢复后的行数与备份清单不符：%(d)s") % {"d": detail})
    if state["cursors"] != manifest["cursors"]:
        raise DomainError("restore_cursors", _("恢复后的事件消费进度与备份清单不符"))
    return Verification(state["counts"], chain.checked, chain.head_hash)


def _extract_files(path: Path, files: dict[str, Any]) -> None:
    archive = path.with_name(files["file"])
    if sha256_of(archive) != files["sha256"]:
        raise DomainError("backup_checksum", _("文件备份的 SHA-256 与清单不符，不能恢复"))
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(settings.VAR_DIR, filter="data")


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` complete backups made by ``backup --dir`` (with
    their manifests and file archives), and any backup there without its manifest (it can
    never be restored); returns what was removed."""
    backups = sorted(directory.glob("creditplus-*.backup"), reverse=True)
    kept = [b for b in backups if manifest_path(b).is_file()][:keep]
    removed = [b for b in backups if b not in kept]
    for old in removed:
        for p in (old, manifest_path(old), old.with_name(old.name + ".files.tar.gz")):
            _remove(p)
    return removed


def remove_leftovers(directory: Path) -> list[Path]:
    """What killed runs of ``backup --dir`` left in ``directory`` (their ``.partial`` files
    and directories, each under its own dated name); returns what was removed. Runs are one
    at a time (a scheduled command), so none of these is still being written."""
    leftovers = sorted(directory.glob("creditplus-*.partial"))
    for leftover in leftovers:
        _remove(leftover)
    return leftovers


def dated_name(now: datetime | None = None) -> str:
    now = timezone.localtime(now or timezone.now())
    return f"creditplus-{now:%Y%m%d-%H%M%S}.backup"
