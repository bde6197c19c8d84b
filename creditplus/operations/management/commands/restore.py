from pathlib import Path
from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.operations import backup


class Command(AuditedCommand):
    help = (
        "把 creditplus backup 的备份恢复到空数据库（先按 DATABASE_URL 新建），然后核验："
        "审计日志哈希链与清单的链头一致、各表行数一致、事件消费进度一致。"
        "恢复后如代码较新，请再运行 creditplus migrate。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path, help="备份文件或目录（旁边须有同名 .json 清单）")
        parser.add_argument("--files", action="store_true", help="同时恢复上传文件与开放数据")

    def handle(self, *args: Any, **options: Any) -> None:
        checked = backup.restore(options["file"], with_files=options["files"])
        self.stdout.write(
            f"恢复完成并已核验：{sum(checked.counts.values()):,} 行与清单一致，"
            f"审计日志 {checked.audit_rows:,} 行完好，链头 {checked.audit_head[:16]}…"
        )
