from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.sanctions.services import remind_overdue


class Command(AuditedCommand):
    help = "联合奖惩维护：催办逾期未反馈的实施任务并列入信用办督办清单。可重复执行（每个任务只催办一次）。"

    def handle(self, *args: Any, **options: Any) -> None:
        n = remind_overdue()
        self.stdout.write(f"新催办逾期任务 {n} 项")
