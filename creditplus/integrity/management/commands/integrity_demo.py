from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.integrity.demo import prepare_demo


class Command(AuditedCommand):
    help = (
        "演示数据（仅开发环境）：本季度政务诚信评价周期的计算得分，以及第三方评估机构"
        "演示账号 pinggu 对部分部门录入的评估得分。可重复执行。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for line in prepare_demo():
            self.stdout.write(line)
