from typing import Any

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.lists.maintenance import maintain


class Command(ScheduledCommand):
    help = (
        "名单维护：处理新的信用行为（外部名单导入、自动提议），移出期满或被来源部门移出的名单，"
        "督办逾期异议。可重复执行，建议每小时由 cron 调用一次。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = maintain()
        self.stdout.write(result.summary())
