from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.lists.demo import prepare_demo


class Command(AuditedCommand):
    help = (
        "演示数据（仅开发环境）：创建企业演示账号 qiye 并绑定到一个有失信提议的企业，"
        "由区市场监管局演示账号完成一条名单的告知、认定和公示。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default="xinyong+2026", help="企业演示账号的密码")

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        for line in prepare_demo(password):
            self.stdout.write(line)
