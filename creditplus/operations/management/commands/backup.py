import signal
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.operations import backup


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class Command(ScheduledCommand):
    help = (
        "在线备份数据库（网站和归集可继续运行）：SQLite 用在线备份接口写一个文件，"
        "PostgreSQL 用 pg_dump 目录格式（多进程并行，-Z1）写一个目录。"
        "旁边写清单 FILE.json（各表行数、审计链头、事件消费进度、SHA-256）。"
        "--files 同时备份上传文件与开放数据。恢复：creditplus restore FILE。"
    )

    def add_arguments(self, parser: Any) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--out", type=Path, help="备份路径（不能已存在）")
        where.add_argument("--dir", type=Path, help="备份目录：每份备份按时间命名（定时任务使用）")
        parser.add_argument("--keep", type=int, default=0, help="与 --dir 一起：只保留最新 N 份")
        parser.add_argument("--files", action="store_true", help="同时备份上传文件与开放数据")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["keep"] and not options["dir"]:
            raise CommandError("--keep 只能与 --dir 一起使用")
        out = options["out"] or options["dir"] / backup.dated_name()
        if options["dir"]:
            for leftover in backup.remove_leftovers(options["dir"]):
                self.stdout.write(f"已删除中断的备份残留 {leftover.name}")
        # A stop (cron, systemd) ends the run like an interrupt: pg_dump is killed and the
        # half-written backup removed, instead of a dump running on without us.
        main = threading.current_thread() is threading.main_thread()  # only it may set one
        previous = signal.signal(signal.SIGTERM, _stop) if main else None
        try:
            manifest = backup.backup(out, with_files=options["files"])
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
        rows = sum(manifest["counts"].values())
        self.run_log.figures = {"file": str(out), "rows": rows}
        if options["dir"] and options["keep"]:
            for old in backup.prune(options["dir"], options["keep"]):
                self.stdout.write(f"已删除旧备份 {old.name}")
        self.stdout.write(
            f"备份完成：{out}（{manifest['bytes'] / 2**20:,.1f} MiB，{rows:,} 行，"
            f"审计链头 {manifest['audit_head'][:16]}…，SHA-256 {manifest['sha256'][:16]}…）"
        )
