from typing import Any

from creditplus.accounts import services
from creditplus.accounts.management.commands._base import AuditedCommand


class Command(AuditedCommand):
    help = "为部门业务系统签发接口令牌；令牌只显示这一次。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dept", required=True, help="部门编码或统一社会信用代码")
        parser.add_argument("--name", required=True, help="令牌名称，例如 执法办案系统")

    def handle(self, *args: Any, dept: str, name: str, **options: Any) -> None:
        issued = services.issue_token(dept, name)
        self.stderr.write(
            f"已为 {issued.token.department} 签发令牌「{issued.token.name}」，请妥善保存，"
            "它不会再次显示："
        )
        self.stdout.write(issued.key)
