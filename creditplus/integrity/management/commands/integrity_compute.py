from datetime import date
from typing import Any

from django.db import transaction

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.integrity import services


class Command(ScheduledCommand):
    help = (
        "政务诚信评价：计算一个评价周期（如 2026Q3 或 2026）各部门由平台数据得出的指标得分。"
        "周期不存在时创建；可重复执行，重新计算替换本周期的计算得分。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--period", help="评价周期编码，如 2026Q3 或 2026（默认：当前季度，供定时任务使用）"
        )
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="计算基准日（默认今天）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # One transaction: a run killed midway leaves neither a new period nor scores.
        with transaction.atomic():
            period = services.ensure_period(options["period"] or services.current_quarter())
            n = services.compute_period(period, as_of=options["as_of"])
        self.stdout.write(
            self.style.SUCCESS(f"评价周期 {period.code}：已计算 {n} 项部门指标得分。")
        )
