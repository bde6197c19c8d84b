from typing import Any

from django.db import transaction

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.records import consumers
from creditplus.sanctions import monitoring
from creditplus.sanctions.services import close_on_application_tasks, remind_overdue


class Command(ScheduledCommand):
    help = (
        "联合奖惩与信用预警维护：关闭改为办理时核查触发（或由平台自动实施）的措施的待反馈任务"
        "（注明原因并审计，不删除），催办逾期任务，处理新的严重失信记录预警，发送到期的预警回调"
        "（失败按退避重试），发出每日预警汇总。可重复执行，建议每 5 分钟由 cron 调用。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # One transaction for the database work: a run killed midway changes nothing and
        # the next one does it all. Webhook calls leave the machine: they go after it.
        with transaction.atomic():
            # First: a task closed as no longer owed must not be reminded as overdue.
            closed = close_on_application_tasks()
            reminded = remind_overdue()
            consumers.run("monitoring")
            digests = monitoring.send_digests()
        deliveries = monitoring.deliver_webhooks()
        self.stdout.write(
            f"关闭改为办理时核查触发或平台自动实施的任务 {closed} 项；"
            f"新催办逾期任务 {reminded} 项；预警回调 送达 {deliveries['delivered']}、"
            f"待重试 {deliveries['pending']}、失败 {deliveries['failed']}；每日汇总 {digests} 个部门"
        )
