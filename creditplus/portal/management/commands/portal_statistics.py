from typing import Any

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.portal.public import refresh_statistics


class Command(ScheduledCommand):
    help = (
        "计算并保存信用浦东首页的统计数据（各部门归集量、双公示条数、名单规模、信用等级分布）。"
        "定时运行（cron，每 10 分钟）；只重新计数上次运行以来有变化的主体；网站只读取保存的结果。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        snapshot = refresh_statistics()
        dual = snapshot.figures["dual"]
        self.stdout.write(
            f"首页统计已更新（{snapshot.seconds:.1f} 秒）：行政许可 {dual['licenses']} 条，"
            f"行政处罚 {dual['penalties']} 条，名单 {snapshot.figures['lists_total']} 条；"
            f"重新计数主体 {snapshot.subjects_recounted} 个"
        )
