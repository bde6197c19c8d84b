import json
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.errors import DomainError
from creditplus.records.bulkload import COUNTS, load_directory, restore_indexes
from creditplus.records.models import DeferredIndex


class Command(AuditedCommand):
    help = (
        "批量载入一个目录中的部门文件（目录含 manifest.json，格式同 demo_data --out）："
        "每个文件一个批次，校验与 ingest 相同；大批量时索引在载入后一次性重建。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("dir", nargs="?", help="文件目录（含 manifest.json）")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON 结果")
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="不删除、不重建索引（向正在服务的站点补录时使用；较慢）",
        )
        parser.add_argument(
            "--restore-indexes",
            action="store_true",
            help="只重建中断的批量载入留下的索引（并恢复自动清理），不载入文件",
        )

    def handle(self, *args: Any, dir: str | None, **options: Any) -> None:
        if options["restore_indexes"]:
            if dir or options["keep_indexes"]:
                raise DomainError(
                    "restore_indexes_alone",
                    _("--restore-indexes 只重建索引：不能同时给出文件目录或 --keep-indexes"),
                    "restore_indexes",
                )
            self._restore(options["json"])
            return
        if not dir:
            raise DomainError(
                "directory_required", _("请给出文件目录，或使用 --restore-indexes"), "dir"
            )
        directory = Path(dir)
        if not directory.is_dir():
            raise DomainError(
                "directory_not_found", _("目录不存在：%(dir)s") % {"dir": dir[:200]}, "dir"
            )
        summary = load_directory(
            directory,
            actor=self.actor_name,
            show_progress=not options["json"] and self.stderr.isatty(),
            stream=self.stderr._out,
            defer_indexes=False if options["keep_indexes"] else None,
        )
        for failed in summary["failed"]:
            self.stderr.write(f"文件被拒收 [{failed['code']}] {failed['path']}")
        self.stdout.write(
            f"已载入 {summary['files']} 个文件：提交 {summary['submitted']}，新增 {summary['accepted']}，"
            f"更新 {summary['updated']}，未变 {summary['unchanged']}，拒收 {summary['rejected']}"
            f"（{summary['seconds']:.1f} 秒，{summary['rows_per_second']} 行/秒）"
        )
        if options["json"]:
            keys = ("files", *COUNTS, "seconds", "replayed", "failed", "indexes_deferred")
            keys += ("index_seconds", "consumer_seconds")
            self.stdout.write(json.dumps({k: summary[k] for k in keys}, ensure_ascii=False))

    def _restore(self, as_json: bool) -> None:
        pending = DeferredIndex.objects.count()
        seconds = restore_indexes()
        self.stdout.write(f"已重建 {pending} 个索引（{seconds:.1f} 秒）")
        if as_json:
            self.stdout.write(json.dumps({"restored": pending, "seconds": round(seconds, 2)}))
