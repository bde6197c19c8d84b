from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.supervision.demo import prepare_demo


class Command(AuditedCommand):
    help = (
        "演示数据（仅开发环境）：区市场监管局的一次双随机抽查（含检查结果）、几份信用承诺"
        "（一份违诺）和演示登记数据的双告知。可重复执行。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for line in prepare_demo():
            self.stdout.write(line)
