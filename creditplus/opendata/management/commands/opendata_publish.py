from datetime import date
from typing import Any

from tqdm import tqdm

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.opendata.services import publish

STAGES = {"XK": "行政许可", "CF": "行政处罚", "lists": "红黑名单", "write": "写入文件"}


class Command(ScheduledCommand):
    help = (
        "数据开放：生成某日的双公示和红黑名单全量文件（CSV/JSON）、相对上一期的增量文件"
        "（新增/变更/移出）和 manifest.json，写入 VAR_DIR/opendata/<日期>/。"
        "同一日期可重复执行，结果相同；建议每天 01:00 由 cron 调用。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--date", type=date.fromisoformat, help="数据日期 YYYY-MM-DD（默认：今天）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bar = tqdm(total=0, unit="条", file=self.stderr._out, disable=not self.stderr.isatty())

        def progress(stage: str, done: int, total: int) -> None:
            bar.set_description(STAGES.get(stage, stage))
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            result = publish(options["date"], progress=progress)
        finally:
            bar.close()
        self.stdout.write(result.summary())
