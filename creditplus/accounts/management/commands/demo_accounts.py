from typing import Any

from creditplus.accounts import services
from creditplus.accounts.management.commands._base import AuditedCommand


class Command(AuditedCommand):
    help = "创建演示账号（仅开发环境），每个角色一个（含企业账号 qiye），并打印账号、角色和可以试用的功能。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default="xinyong+2026", help="演示账号的统一密码")

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        accounts = services.create_demo_accounts(password)
        self.stdout.write(f"演示账号（密码均为 {password}）：")
        for username, label, try_ in accounts:
            self.stdout.write(f"  {username:<12} {label:<10} {try_}")
