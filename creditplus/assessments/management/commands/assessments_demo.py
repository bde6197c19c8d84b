from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.assessments.demo import prepare_demo


class Command(AuditedCommand):
    help = (
        "演示数据（仅开发环境）：信用张江——演示银行与信贷审批员 yinhang、企业演示账号 qiye 的"
        "自评、银行他评（含一处不一致）、企业对银行的报告授权与银行查阅、融资对接名单。"
        "需先运行 demo_accounts 与 lists_demo。可重复执行。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for line in prepare_demo():
            self.stdout.write(line)
