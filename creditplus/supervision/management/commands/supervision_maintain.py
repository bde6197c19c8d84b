from typing import Any

from django.db import transaction

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.supervision.dual_notice import notify_new_registrations
from creditplus.supervision.services import (
    remind_overdue_commitments,
    track_restoration_commitments,
)


class Command(ScheduledCommand):
    help = (
        "信用监管维护：新设立市场主体的双告知，把准予修复的信用修复承诺纳入承诺核查，"
        "催办逾期未核查的信用承诺。"
        "可重复执行，建议每小时由 cron 调用。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # One transaction: a run killed midway changes nothing and the next one does it all.
        with transaction.atomic():
            notices = notify_new_registrations()
            tracked = track_restoration_commitments()
            reminded = remind_overdue_commitments()
        self.stdout.write(
            f"双告知 {notices} 项；新纳入核查的信用修复承诺 {tracked} 项；"
            f"新催办逾期未核查承诺 {reminded} 项"
        )
