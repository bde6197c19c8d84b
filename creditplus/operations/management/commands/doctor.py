import json
from typing import Any

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.operations import doctor


class Command(ScheduledCommand):
    help = (
        "运行状况检查：数据库大小与增长、事件消费积压、各定时任务上次成功运行、后台任务、"
        "审计日志链头与校验、磁盘空间、生产配置。每项给出 正常/警告/异常 和说明；"
        "有异常时退出状态为 1。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="输出 JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        result = doctor.report()
        # The next runs compare with this size to show the database's growth.
        self.run_log.figures = {"database_bytes": doctor.database_size()["bytes"]}
        counts = {s: sum(f.status == s for f in result.findings) for s in doctor.Status}
        summary = (
            f"总体：{result.status.label}（{counts[doctor.Status.WARNING]} 项警告，"
            f"{counts[doctor.Status.ERROR]} 项异常）"
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            style = {
                doctor.Status.OK: self.style.SUCCESS,
                doctor.Status.WARNING: self.style.WARNING,
                doctor.Status.ERROR: self.style.ERROR,
            }
            for f in result.findings:
                self.stdout.write(
                    f"{style[f.status](f'[{f.status.label}]')} {f.title}：{f.explanation}"
                )
        self.run_log.summary = summary
        if not options["json"]:
            self.stdout.write(summary)
        if result.status == doctor.Status.ERROR:
            raise SystemExit(1)
